"""RealnetApp: the tree, the children table, the detail pane, forms and runners, wired.

The app is given a session (the context it works through, the runner manager); it
never opens a store itself. Widgets do their own store work in thread workers and
post past-tense messages; this module routes them and turns every failure into one
line on the screen (:meth:`RealnetApp._show_failure`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass
from typing import ClassVar

from textual import on
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.containers import Container, Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Header

from realnet.commands.session import Session
from realnet.core import paths
from realnet.core.errors import RealnetError
from realnet.core.item import Item
from realnet.tui.backend import Backend
from realnet.tui.detail import DetailPane
from realnet.tui.footer import ModeFooter
from realnet.tui.help import HelpScreen
from realnet.tui.messages import ClusterChosen, Failed, FolderChosen
from realnet.tui.palette import GoToScreen, PathProvider
from realnet.tui.table import ChildrenTable, ChildrenView
from realnet.tui.tree import ResourceTree


@dataclass(frozen=True, slots=True)
class Key:
    key: str
    action: str
    description: str
    display: str | None = None
    show: bool = True
    #: Changes the tree: off in read-only mode.
    writes: bool = False


KEYS: tuple[Key, ...] = (
    Key("q", "quit", "Quit"),
    Key("question_mark", "help", "Help", "?"),
    Key("n", "new_item", "New", writes=True),
    Key("e", "edit_item", "Edit", writes=True),
    Key("d", "delete_item", "Delete", writes=True),
    Key("r", "toggle_runners", "Runners"),
    Key("backspace", "go_up", "Up", "bksp"),
    Key("g", "go_to", "Go to path", show=False),
    Key("1", "sort('name')", "Sort by name (again: descending)", show=False),
    Key("2", "sort('type')", "Sort by type (again: descending)", show=False),
    Key("3", "sort('size')", "Size: the store does not sort by it", show=False),
    Key("4", "sort('updated')", "Sort by updated (again: descending)", show=False),
    Key("5", "sort('owner')", "Owner: the store does not sort by it", show=False),
)
#: Keys that belong to widgets, listed in the help beside the app's own.
OTHER_KEYS: tuple[tuple[str, str], ...] = (
    ("/", "Filter the children by name (a glob; *text* when it has none); Esc clears"),
    ("Enter", "Open the folder under the cursor (table); expand a node or load '… more' (tree)"),
    ("Tab / Shift+Tab", "Move between the tree, the table and the detail pane"),
    ("↑ ↓ PgUp PgDn Home End", "Move the cursor; the table loads more rows as you go down"),
    ("Ctrl+P", "Command palette: go to a path (type /…), new, edit, delete, runners, quit"),
)
WRITE_ACTIONS = frozenset(k.action for k in KEYS if k.writes)
#: The keys that work on the tree and its table: off while the cluster screen shows.
TREE_ACTIONS = frozenset(k.action.split("(")[0] for k in KEYS) - {"quit", "help"}


class RealnetApp(App[int]):
    """The dashboard over ``session.context`` (and ``session.runners``)."""

    TITLE = "Realnet"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(k.key, k.action, k.description, show=k.show, key_display=k.display) for k in KEYS]
    COMMANDS = App.COMMANDS | {PathProvider}
    CSS = """
    #main { height: 1fr; }
    #tree { width: 30%; min-width: 20; max-width: 44; border-right: vkey $panel-lighten-2; }
    #right { width: 1fr; }
    #listing { height: 1fr; }
    #listing-status { height: 1; color: $text-muted; padding: 0 1; }
    #children { height: 1fr; }
    #filter { height: 3; }
    #detail { height: 40%; min-height: 6; border-top: hkey $panel-lighten-2; padding: 0 1; }
    #runners-dock { height: 14; dock: bottom; display: none; border-top: hkey $accent; }
    #runners-dock.-open { display: block; }
    """

    def __init__(self, session: Session, *, read_only: bool = False, start: str | None = None) -> None:
        super().__init__()
        self.session = session
        self.read_only = read_only
        #: The folder to open first (``realnet tui /clusters/dev``); else the first section.
        self.start = start
        self.backend = Backend(session.context)
        self.owns_runners = False
        self.sub_title = f"{session.principal}@{session.store_label}" + ("  READ-ONLY" if read_only else "")

    # -- layout ------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="main"):
            yield ResourceTree(self.backend, id="tree")
            with Vertical(id="right"):
                yield ChildrenView(self.backend, id="listing")
                yield DetailPane(self.backend, id="detail")
        yield Container(id="runners-dock")
        yield ModeFooter(read_only=self.read_only)

    def on_mount(self) -> None:
        if self.session.runners is None:
            from realnet.runners.manager import RunnerManager

            self.session.runners = RunnerManager()
            self.owns_runners = True
        self.table.focus()

    @property
    def main_screen(self) -> Screen:
        """The tree's screen, also while the cluster screen shows over it."""
        return self.screen_stack[0] if self.screen_stack else self.screen

    @property
    def tree(self) -> ResourceTree:
        return self.main_screen.query_one(ResourceTree)

    @property
    def table(self) -> ChildrenTable:
        return self.main_screen.query_one(ChildrenTable)

    @property
    def detail(self) -> DetailPane:
        return self.main_screen.query_one(DetailPane)

    # -- what the parts report -----------------------------------------------------------
    @on(Failed)
    def _show_failure(self, event: Failed) -> None:
        """Every failure of every part ends here: one line, never a traceback."""
        event.stop()
        self.notify(event.text, severity="error", timeout=6)

    @on(FolderChosen)
    def _folder_chosen(self, event: FolderChosen) -> None:
        event.stop()
        self.open_folder(event.path, select=event.select)

    def open_folder(self, path: str, *, select: str | None = None) -> None:
        self.table.show(path, select=select)
        if not self.tree.has_focus:
            self.tree.follow(path)
        self._open_cluster_at(path)

    def _open_cluster_at(self, path: str) -> None:
        """A folder in a Kubernetes cluster mount opens the cluster screen over the tree."""
        from realnet.tui.cluster import cluster_start

        backend = self.backend

        def find() -> None:
            try:
                start = cluster_start(backend, path)
            except RealnetError:
                return  # the table says what is wrong with the folder
            if start is not None:
                self.post_message(ClusterChosen(start))

        self.run_worker(find, thread=True, group="cluster-check", exclusive=True)

    @on(ClusterChosen)
    def _cluster_chosen(self, event: ClusterChosen) -> None:
        from realnet.tui.cluster import ClusterSource
        from realnet.tui.cluster.screen import ClusterScreen

        event.stop()
        if isinstance(self.screen, ClusterScreen):
            return
        source = ClusterSource(self.backend, event.start.mount)
        self.push_screen(ClusterScreen(source, event.start, read_only=self.read_only))

    @on(ResourceTree.SectionsLoaded)
    def _sections(self, event: ResourceTree.SectionsLoaded) -> None:
        if self.table.path is None and (self.start or event.sections):
            self.open_folder(self.start or event.sections[0].root)

    @on(ChildrenTable.ItemHighlighted)
    def _item_highlighted(self, event: ChildrenTable.ItemHighlighted) -> None:
        event.stop()
        if not self.screen_stack:  # the app is closing: no pane to show it in
            return
        self.detail.show(event.item.path if event.item is not None else event.folder)

    # -- read-only -----------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if getattr(self.screen, "OWNS_KEYS", False) and action in TREE_ACTIONS:
            return False  # the cluster screen and its views: their keys, not the tree's
        return not (self.read_only and action in WRITE_ACTIONS)

    # -- actions -------------------------------------------------------------------------
    def action_help(self) -> None:
        rows = [(k.display or k.key, k.description, k.writes) for k in KEYS]
        rows += [(key, text, False) for key, text in OTHER_KEYS]
        self.push_screen(HelpScreen(rows, read_only=self.read_only))

    def action_sort(self, column: str) -> None:
        self.table.sort_by(column)

    def action_go_up(self) -> None:
        current = self.table.path
        if current is None or current == paths.ROOT:
            return
        self.open_folder(paths.parent_of(current), select=paths.name_of(current))

    def action_go_to(self) -> None:
        def chosen(path: str | None) -> None:
            if path:
                self.go_to(path)

        self.push_screen(GoToScreen(self.table.path or paths.ROOT), chosen)

    def go_to(self, text: str) -> None:
        """Show ``text`` (absolute, or relative to the folder shown): a folder opens, any
        other item shows in its folder with the cursor on it."""
        try:
            path = paths.resolve(text, self.table.path or paths.ROOT)
        except RealnetError as e:
            self.post_message(Failed(e, text))
            return
        backend = self.backend

        def find() -> None:
            try:
                item = backend.get(path)
                holds = backend.can_hold_children(item)
            except RealnetError as e:
                self.post_message(Failed(e))
                return
            if holds:
                self.post_message(FolderChosen(item.path))
            else:
                self.post_message(FolderChosen(paths.parent_of(item.path), select=item.name))

        self.run_worker(find, thread=True, group="go-to", exclusive=True)

    def _target(self) -> Item | None:
        item = self.table.current_item()
        if item is None:
            self.notify("no item under the cursor", severity="warning")
        return item

    def _writable(self) -> bool:
        if self.read_only:  # the keys are off; this also holds for any other way in
            self.notify("read-only: nothing can be changed here", severity="warning")
            return False
        return True

    def action_new_item(self) -> None:
        from realnet.tui.forms import ItemForm

        folder = self.table.path
        if not self._writable() or folder is None:
            return
        self.push_screen(ItemForm(self.backend.context, parent=folder), self._created)

    async def action_edit_item(self) -> None:
        from realnet.tui.forms import ItemForm

        if not self._writable() or (target := self._target()) is None:
            return
        try:
            item = await asyncio.to_thread(self.backend.get, target.path)  # as it is now
        except RealnetError as e:
            self.post_message(Failed(e))
            return
        self.push_screen(ItemForm(self.backend.context, item=item), self._edited)

    def _created(self, item: Item | None) -> None:
        if item is None:
            return
        self.notify(f"created {item.path}")
        parent = paths.parent_of(item.path)
        self.tree.reload(parent)  # its folders, the new one among them
        if parent == self.table.path:
            self.table.show(parent, select=item.name)

    def _edited(self, item: Item | None) -> None:
        if item is None:
            return
        self.notify(f"saved {item.path} (version {item.version})")
        self.table.reload()
        self.detail.reload()

    async def action_delete_item(self) -> None:
        if not self._writable() or (target := self._target()) is None:
            return
        try:
            count = await asyncio.to_thread(self.backend.count_below, target.path)
        except RealnetError as e:
            self.post_message(Failed(e))
            return

        async def confirmed(yes: bool | None) -> None:
            if not yes:
                return
            try:
                removed = await asyncio.to_thread(self.backend.delete, target.path)
            except RealnetError as e:
                self.post_message(Failed(e))
                return
            self.notify(f"deleted {target.path} ({removed} item(s))")
            self.tree.forget(target.path)
            self.table.reload()  # the cursor's new row shows in the detail pane

        from realnet.tui.confirm import ConfirmDelete

        self.push_screen(ConfirmDelete(target.path, count), confirmed)

    def action_toggle_runners(self) -> None:
        dock = self.query_one("#runners-dock", Container)
        if not dock.children:
            from realnet.tui.runners_panel import RunnersPanel

            dock.mount(RunnersPanel(self.session, read_only=self.read_only))
        dock.toggle_class("-open")
        if dock.has_class("-open"):
            self.call_after_refresh(self._focus_runners)
        elif self.focused is None or dock in self.focused.ancestors:
            self.table.focus()

    def _focus_runners(self) -> None:
        dock = self.query_one("#runners-dock", Container)
        target = next((w for w in dock.query("*") if w.focusable), None)
        if target is not None:
            target.focus()

    async def stop_own_runners(self) -> None:
        """Runners started here stop with the dashboard, unless a shell owns them."""
        manager = self.session.runners
        if self.owns_runners and manager is not None and manager.running():
            await manager.stop_all()

    # -- the command palette -------------------------------------------------------------
    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield SystemCommand("Go to path", "Open a folder or show an item (also: type /… here)",
                            self.action_go_to)
        if not self.read_only:
            yield SystemCommand("New item", "Create an item in the folder shown", self.action_new_item)
            yield SystemCommand("Edit item", "Edit the item under the cursor", self.action_edit_item)
            yield SystemCommand("Delete item", "Delete the item under the cursor (asks first)",
                                self.action_delete_item)
        yield SystemCommand("Toggle runners panel", "Start and stop the HTTP and SQS runners",
                            self.action_toggle_runners)
        yield SystemCommand("Help", "Every key", self.action_help)
        yield SystemCommand("Quit", "Leave the dashboard", self.action_quit)
