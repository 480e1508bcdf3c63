"""The cluster screen: one kind in one namespace of a mounted cluster, live.

The first page of the listing (the API's ``limit``) shows as soon as the cluster answers;
more pages come as the cursor goes down. From the list's ``resourceVersion`` a watch
(:class:`~realnet.tui.cluster.live.WatchLoop`, its own thread) brings each change, which
updates, adds or removes one row. Every request runs off the UI thread; a cluster that
does not answer is said so on the screen, which stays usable (Esc goes back to the tree).
"""

from __future__ import annotations

import time
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input, Static

from realnet.core.errors import RealnetError
from realnet.providers.kubernetes.kinds import Kind
from realnet.providers.kubernetes.watch import ListPage, WatchEvent
from realnet.tui.cluster.live import WatchLoop
from realnet.tui.cluster.model import ALL_NAMESPACES, Filter, Row, Rows, headings, parse_filter, row_of
from realnet.tui.cluster.object_keys import ObjectKeys
from realnet.tui.cluster.source import ClusterSource, ClusterStart

#: Objects per request: the first page paints at once whatever the kind's size.
PAGE_SIZE = 500
#: Load the next page when the cursor is this close to the last row shown.
NEAR_END = 60
ALL_KEY = "\0all"
WRITE_ACTIONS = frozenset({"delete", "scale", "restart"})
NAMESPACE_WORDS = ("ns", "namespace", "namespaces")

KEYS: tuple[tuple[str, str, str, bool], ...] = (
    # key, action, description, writes
    ("colon", "prompt_kind", "Kind", False),
    ("slash", "prompt_filter", "Filter", False),
    ("n", "namespaces", "Namespace", False),
    ("d", "describe", "Describe", False),
    ("y", "yaml", "YAML", False),
    ("l", "logs", "Logs", False),
    ("ctrl+d", "delete", "Delete", True),
    ("s", "scale", "Scale", True),
    ("r", "restart", "Restart", True),
    ("ctrl+r", "reload", "Reload", False),
    ("escape", "back", "Back", False),
    ("question_mark", "help", "Help", False),
)


class ClusterTable(DataTable[str]):
    """The rows shown, keyed by ``namespace/name``."""


class ClusterScreen(ObjectKeys, Screen[None]):
    #: The app's tree keys are off while this screen (or a view over it) shows.
    OWNS_KEYS = True
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(key, action, text, key_display={"colon": ":", "slash": "/", "question_mark": "?"}.get(key))
        for key, action, text, _ in KEYS]
    DEFAULT_CSS = """
    ClusterScreen #cluster-title { height: 1; background: $accent; color: $text; padding: 0 1; }
    ClusterScreen #cluster-table { height: 1fr; }
    ClusterScreen #cluster-message { height: auto; display: none; padding: 1 2; color: $error;
                                     border: round $error; }
    ClusterScreen #cluster-message.-shown { display: block; }
    ClusterScreen #cluster-prompt { display: none; }
    ClusterScreen #cluster-prompt.-shown { display: block; }
    ClusterScreen #cluster-status { height: 1; color: $text-muted; padding: 0 1; }
    ClusterScreen #cluster-status.-trouble { color: $warning; }
    """

    # -- messages from workers and the watch thread (past-tense facts) ---------------------
    class PageLoaded(Message):
        def __init__(self, generation: int, kind: Kind, rows: list[Row], page: ListPage, first: bool) -> None:
            super().__init__()
            self.generation, self.kind, self.rows, self.page, self.first = generation, kind, rows, page, first

    class LoadFailed(Message):
        def __init__(self, generation: int, text: str, unknown_kind: bool = False) -> None:
            super().__init__()
            self.generation, self.text, self.unknown_kind = generation, text, unknown_kind

    class ObjectChanged(Message):
        def __init__(self, generation: int, change: str, row: Row, stamp: float) -> None:
            super().__init__()
            self.generation, self.change, self.row, self.stamp = generation, change, row, stamp

    class Relisted(Message):
        def __init__(self, generation: int, rows: list[Row], page: ListPage) -> None:
            super().__init__()
            self.generation, self.rows, self.page = generation, rows, page

    class WatchState(Message):
        def __init__(self, generation: int, text: str, trouble: bool) -> None:
            super().__init__()
            self.generation, self.text, self.trouble = generation, text, trouble

    class AccessKnown(Message):
        """What the cluster lets this identity change in the kind shown."""

        def __init__(self, generation: int, allowed: frozenset[str]) -> None:
            super().__init__()
            self.generation, self.allowed = generation, allowed

    def __init__(self, source: ClusterSource, start: ClusterStart, *, read_only: bool = False) -> None:
        super().__init__()
        self.source = source
        self.kind_name = start.kind
        self.namespace: str | None = start.namespace
        self.select = start.select
        self.forced_read_only = read_only
        self.kind: Kind | None = None
        self.filter = Filter()
        self.rows = Rows()
        self.next_token: str | None = None
        self.resource_version = ""
        self.fetching = False
        self.generation = 0
        self.watch: WatchLoop | None = None
        self.status_text = ""
        self.message_text = ""
        #: The kind to come back to after choosing a namespace.
        self.return_kind = "pods"
        self.prompt_mode: str | None = None
        #: The writes the cluster allows on the kind shown (None: not known yet).
        self.writes_allowed: frozenset[str] | None = None
        #: When the last watch event reached the table (for the benchmark).
        self.last_change: tuple[str, float] | None = None

    # -- layout --------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Static("", id="cluster-title", markup=False)
        yield Static("", id="cluster-message", markup=False)
        yield ClusterTable(id="cluster-table", cursor_type="row", zebra_stripes=True)
        yield Input(id="cluster-prompt")
        yield Static("", id="cluster-status", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.table.focus()
        self.load()

    def on_unmount(self) -> None:
        self._stop_watch()

    @property
    def table(self) -> ClusterTable:
        return self.query_one(ClusterTable)

    @property
    def read_only(self) -> bool:
        return self.forced_read_only or self.source.read_only

    # -- loading -------------------------------------------------------------------------
    def load(self) -> None:
        """List the kind again from its first page, and watch it from there."""
        self._stop_watch()
        self.generation += 1
        self.writes_allowed = None
        self.fetching = True
        self.next_token = None
        self._say(f"listing {self.kind_name}…")
        self._fetch(self.generation, self.kind_name, self.namespace, self.filter.selector, None)
        self._title()

    @work(thread=True, group="cluster-list")
    def _fetch(self, generation: int, kind_name: str, namespace: str | None, selector: str | None,
               token: str | None) -> None:
        try:
            kind = self.source.kind(kind_name)
        except RealnetError as e:
            self.post_message(self.LoadFailed(generation, str(e), unknown_kind=True))
            return
        try:
            page = self.source.page(kind, namespace, limit=PAGE_SIZE, token=token, selector=selector)
        except RealnetError as e:
            self.post_message(self.LoadFailed(generation, str(e)))
            return
        rows = self._rows_of(kind, namespace, page)
        self.post_message(self.PageLoaded(generation, kind, rows, page, token is None))

    def _rows_of(self, kind: Kind, namespace: str | None, page: ListPage) -> list[Row]:
        columns = headings(kind.kind, every_namespace=kind.namespaced and namespace is None)
        return [row_of(kind.kind, obj, columns) for obj in page.objects]

    @on(PageLoaded)
    def _page_loaded(self, event: PageLoaded) -> None:
        event.stop()
        if event.generation != self.generation:
            return
        self.fetching = False
        self.next_token = event.page.next_token
        if event.first:
            self.kind = event.kind
            self.kind_name = event.kind.name
            self._show_message("")
            self.rows.replace(event.rows, complete=self.next_token is None)
            self._columns()
            self._rebuild(select=self.select)
            self.select = None
            self.resource_version = event.page.resource_version
            self._start_watch(event.kind, event.page.resource_version)
            self.refresh_bindings()  # the mount's own read-only is known once it answered
            if not self.read_only:
                self._review(self.generation, event.kind, self.namespace)
        else:
            added = self.rows.extend(event.rows, complete=self.next_token is None)
            table = self.table
            for row in added:
                if self.filter.matches(row.name):
                    table.add_row(*row.cells, key=row.key)
        self._title()
        self._say(self._listing_state())
        self._maybe_more()

    @on(LoadFailed)
    def _load_failed(self, event: LoadFailed) -> None:
        event.stop()
        if event.generation != self.generation:
            return
        self.fetching = False
        if event.unknown_kind and self.kind is not None:
            self.notify(event.text, severity="error", timeout=6)
            self.kind_name = self.kind.name  # stay on what was shown
            self._title()
            self._say(self._listing_state())
            return
        self.table.clear()
        self.rows.replace([], complete=True)
        self._show_message(f"{event.text}\n\nEsc: back to the tree · Ctrl+R: try again")
        self._say("the cluster did not answer", trouble=True)

    @work(thread=True, group="cluster-access")
    def _review(self, generation: int, kind: Kind, namespace: str | None) -> None:
        try:
            allowed = self.source.writes_allowed(kind, namespace)
        except RealnetError:
            return  # a refusal will say so when a key is pressed
        self.post_message(self.AccessKnown(generation, allowed))

    @on(AccessKnown)
    def _access_known(self, event: AccessKnown) -> None:
        event.stop()
        if event.generation == self.generation:
            self.writes_allowed = event.allowed
            self.refresh_bindings()

    def _maybe_more(self) -> None:
        """The next page when the cursor nears the end of what is shown (or too few rows
        match the filter to fill the screen)."""
        if self.fetching or self.next_token is None or self.kind is None:
            return
        table = self.table
        if table.row_count - table.cursor_row > NEAR_END:
            return
        self.fetching = True
        self._fetch(self.generation, self.kind.name, self.namespace, self.filter.selector, self.next_token)

    # -- the table ------------------------------------------------------------------------
    def _columns(self) -> None:
        table = self.table
        table.clear(columns=True)
        assert self.kind is not None
        every = self.kind.namespaced and self.namespace is None
        for key, heading in headings(self.kind.kind, every_namespace=every):
            table.add_column(heading, key=key)

    def _picking_namespace(self) -> bool:
        return self.kind is not None and self.kind.plural == "namespaces"

    def _rebuild(self, *, select: str | None = None) -> None:
        """Show the loaded rows that pass the filter, the cursor staying on its object."""
        table = self.table
        current = select or self.current_key()
        table.clear()
        if self._picking_namespace():
            table.add_row(*self._all_cells(), key=ALL_KEY)
        keep = self.filter.matches
        for row in self.rows.ordered():
            if keep(row.name):
                table.add_row(*row.cells, key=row.key)
        if current is not None:
            key = current if "/" in current or current == ALL_KEY else self._key_for_name(current)
            if key is not None and key in table.rows:
                table.move_cursor(row=table.get_row_index(key))

    def _all_cells(self) -> list[str]:
        return [ALL_NAMESPACES, *([""] * (len(self.table.columns) - 1))]

    def _key_for_name(self, name: str) -> str | None:
        return next((r.key for r in self.rows.ordered() if r.name == name), None)

    def current_key(self) -> str | None:
        table = self.table
        if not table.row_count:
            return None
        try:
            return str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)
        except Exception:  # a cursor outside the rows (while rebuilding) is on no key
            return None

    def current_row(self) -> Row | None:
        key = self.current_key()
        return self.rows.rows.get(key) if key else None

    def shown_names(self) -> list[str]:
        """The names in the table, top to bottom (the namespace picker's ``all`` too)."""
        out = []
        for row_key in self.table.rows:
            key = str(row_key.value)
            out.append(ALL_NAMESPACES if key == ALL_KEY else key.partition("/")[2])
        return out

    @on(DataTable.RowHighlighted)
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        self._maybe_more()

    @on(DataTable.RowSelected)
    def _selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if self._picking_namespace():
            key = str(event.row_key.value)
            self.namespace = None if key == ALL_KEY else key.partition("/")[2]
            self.kind_name = self.return_kind
            self.filter = Filter()
            self.load()
        else:
            self.action_describe()

    # -- live -------------------------------------------------------------------------------
    def _start_watch(self, kind: Kind, version: str) -> None:
        generation = self.generation
        namespace = self.namespace

        def changed(event: WatchEvent) -> None:
            columns = headings(kind.kind, every_namespace=kind.namespaced and namespace is None)
            row = row_of(kind.kind, event.object, columns)
            self.post_message(self.ObjectChanged(generation, event.type, row, time.perf_counter()))

        def relisted(page: ListPage) -> None:
            self.post_message(self.Relisted(generation, self._rows_of(kind, namespace, page), page))

        def state(text: str, trouble: bool) -> None:
            self.post_message(self.WatchState(generation, text, trouble))

        self.watch = WatchLoop(self.source, kind, namespace, self.filter.selector, version,
                               page_size=PAGE_SIZE, on_event=changed, on_relisted=relisted,
                               on_state=state).start()

    def _stop_watch(self) -> None:
        if self.watch is not None:
            self.watch.stop()
            self.watch = None

    @on(ObjectChanged)
    def _object_changed(self, event: ObjectChanged) -> None:
        event.stop()
        if event.generation != self.generation:
            return
        row = event.row
        done = self.rows.apply(event.change, row)
        table = self.table
        if done == "removed" and row.key in table.rows:
            table.remove_row(row.key)
        elif done == "changed" and row.key in table.rows:
            for column, value in zip(table.columns, row.cells, strict=False):
                table.update_cell(row.key, column, value)
        elif done == "added" and self.filter.matches(row.name):
            if self.rows.last_key() == row.key:
                table.add_row(*row.cells, key=row.key)
            else:
                self._rebuild()
        self.last_change = (row.key, event.stamp)
        self._say(self._listing_state())

    @on(Relisted)
    def _relisted(self, event: Relisted) -> None:
        event.stop()
        if event.generation != self.generation:
            return
        self.next_token = event.page.next_token
        self.resource_version = event.page.resource_version
        self.rows.replace(event.rows, complete=self.next_token is None)
        self._show_message("")
        self._rebuild()
        self._say(f"reconnected {time.strftime('%H:%M:%S')}: listed again, watching · "
                  + self._listing_state())

    @on(WatchState)
    def _watch_state(self, event: WatchState) -> None:
        event.stop()
        if event.generation == self.generation:
            self._say(event.text, trouble=event.trouble)

    # -- what the screen says ------------------------------------------------------------------
    def _listing_state(self) -> str:
        shown = self.table.row_count - (1 if self._picking_namespace() else 0)
        loaded = len(self.rows.rows)
        more = ", more below" if self.next_token else ""
        filtered = f" ({shown:,} match {self.filter.text!r})" if self.filter.text else ""
        return f"{loaded:,} {self.kind_name} loaded{more}{filtered} · live"

    def _say(self, text: str, *, trouble: bool = False) -> None:
        self.status_text = text
        status = self.query_one("#cluster-status", Static)
        status.update(text)
        status.set_class(trouble, "-trouble")

    def _show_message(self, text: str) -> None:
        self.message_text = text
        message = self.query_one("#cluster-message", Static)
        message.update(text)
        message.set_class(bool(text), "-shown")

    def _title(self) -> None:
        where = "every namespace" if self.namespace is None else self.namespace
        if self.kind is not None and not self.kind.namespaced:
            where = "cluster"
        parts = [f"{self.source.mount}", f"{self.kind_name}", f"in {where}"]
        if self.filter.text:
            parts.append(f"/{self.filter.text}")
        if self.read_only:
            parts.append("READ-ONLY")
        self.query_one("#cluster-title", Static).update("  ".join(parts))

    # -- keys ------------------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action not in WRITE_ACTIONS:
            return True
        if self.read_only:
            return False
        return self.writes_allowed is None or action in self.writes_allowed

    def _refuse_if_read_only(self) -> bool:
        if self.read_only:
            self.notify("read-only: nothing can be changed here", severity="warning")
            return True
        return False

    def _prompt(self, mode: str, value: str, placeholder: str) -> None:
        self.prompt_mode = mode
        prompt = self.query_one("#cluster-prompt", Input)
        prompt.placeholder = placeholder
        prompt.value = value
        prompt.add_class("-shown")
        prompt.focus()

    def _close_prompt(self) -> None:
        self.prompt_mode = None
        prompt = self.query_one("#cluster-prompt", Input)
        prompt.remove_class("-shown")
        self.table.focus()

    def action_prompt_kind(self) -> None:
        self._prompt("kind", "", ":kind — pods, po, deploy, svc, cm, ns, a custom resource…")

    def action_prompt_filter(self) -> None:
        self._prompt("filter", self.filter.text,
                     "/regex  ·  !regex (the others)  ·  -l app=web (label selector)")

    @on(Input.Submitted, "#cluster-prompt")
    def _prompted(self, event: Input.Submitted) -> None:
        event.stop()
        mode, text = self.prompt_mode, event.value.strip()
        self._close_prompt()
        if mode == "kind":
            self.jump(text.lstrip(":"))
        elif mode == "filter":
            self.apply_filter(text.lstrip("/") if text.startswith("/") else text)

    def jump(self, text: str) -> None:
        """``:po``, ``:deploy``, ``:ns`` (the namespace picker) …"""
        if not text:
            return
        if text.lower() in NAMESPACE_WORDS:
            self.action_namespaces()
            return
        self.kind_name = text
        self.filter = Filter()
        self.load()

    def apply_filter(self, text: str) -> None:
        try:
            wanted = parse_filter(text)
        except RealnetError as e:
            self.notify(str(e), severity="error", timeout=6)
            return
        reload = wanted.selector != self.filter.selector
        self.filter = wanted
        if reload:
            self.load()
            return
        self._rebuild()
        self._title()
        self._say(self._listing_state())
        self._maybe_more()

    def action_namespaces(self) -> None:
        if not self._picking_namespace():
            self.return_kind = self.kind.name if self.kind is not None and self.kind.namespaced else "pods"
        self.kind_name = "namespaces"
        self.filter = Filter()
        self.load()

    def action_reload(self) -> None:
        self.load()

    def action_back(self) -> None:
        if self.prompt_mode is not None:
            self._close_prompt()
        elif self.filter.text:
            self.apply_filter("")
        else:
            self.app.pop_screen()

    def action_help(self) -> None:
        from realnet.tui.help import HelpScreen

        shown = {"colon": ":", "slash": "/", "question_mark": "?"}
        rows = [(shown.get(k, k), text, writes) for k, _, text, writes in KEYS]
        rows += [("Enter", "Describe (on a namespace: show that namespace)", False),
                 ("↑ ↓ PgUp PgDn", "Move; more rows load as the cursor goes down", False)]
        self.app.push_screen(HelpScreen(rows, read_only=self.read_only))
