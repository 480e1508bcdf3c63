"""The children of one folder: a table that pages through the store as the cursor moves.

The first page (200 rows) shows as soon as the store answers, whatever the folder's
size; the next page is appended when the cursor comes near the last row. Sorting asks
the store again in another order; the filter (``/``) asks it for the names matching a
glob. Every query runs in a thread worker; an answer for a listing that has since been
replaced (another folder, order or filter) is dropped.
"""

from __future__ import annotations

from functools import partial
from typing import ClassVar

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import DataTable, Input, Static

from realnet.core import paths
from realnet.core.errors import RealnetError
from realnet.core.item import Item
from realnet.tui.backend import PAGE_SIZE, Backend
from realnet.tui.messages import Failed, FolderChosen
from realnet.tui.rows import COLUMNS, SORTABLE, Sort, name_glob, row_cells

#: Load the next page when the cursor is this close to the last loaded row.
NEAR_END = 40
#: Show "loading…" when a query takes longer than this.
SLOW_SECONDS = 0.15


class ChildrenTable(DataTable[Text]):
    """The loaded rows of the current listing; ``items[i]`` is row ``i``."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("home", "scroll_top", "First row", show=False),
        Binding("end", "scroll_bottom", "Last loaded row", show=False),
    ]

    class PageLoaded(Message):
        def __init__(self, generation: int, items: list[Item], holds: list[bool],
                     next_cursor: str | None, first: bool) -> None:
            super().__init__()
            self.generation = generation
            self.items = items
            self.holds = holds
            self.next_cursor = next_cursor
            self.first = first

    class ItemHighlighted(Message):
        """The cursor is on ``item`` (None: the folder is empty)."""

        def __init__(self, item: Item | None, folder: str) -> None:
            super().__init__()
            self.item = item
            self.folder = folder

    class Listed(Message):
        """What the listing shows changed (a page arrived, a new query began)."""

    def __init__(self, backend: Backend, **options: object) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **options)  # type: ignore[arg-type]
        self.backend = backend
        self.path: str | None = None
        self.sort = Sort()
        self.glob: str | None = None
        self.items: list[Item] = []
        self.holds: list[bool] = []
        self.next_cursor: str | None = None
        # A page is on its way. (Not Widget.loading: that covers the table with a spinner
        # and takes its focus away.)
        self.fetching = False
        self.generation = 0
        self._select: str | None = None

    def on_mount(self) -> None:
        for key, label in COLUMNS:
            self.add_column(self.sort.heading(key, label), key=key)

    # -- queries -----------------------------------------------------------------------
    def show(self, path: str, *, select: str | None = None) -> None:
        """List ``path`` from its first page (the filter is kept only for the same folder)."""
        if path != self.path:
            self.glob = None
        self.path = path
        self._select = select
        self._query(None)

    def reload(self) -> None:
        """The same listing again, keeping the cursor on the same child if it is still there."""
        if self.path is None:
            return
        current = self.current_item()
        self._select = current.name if current is not None else None
        self._query(None)

    def sort_by(self, column: str) -> None:
        if column not in SORTABLE:
            self.notify(f"the store lists children by {', '.join(SORTABLE)}, not by {column}",
                        severity="warning")
            return
        if self.glob:
            self.notify("a filtered listing is in name order; Esc clears the filter, then sort",
                        severity="warning")
            return
        self.sort = self.sort.pressed(column)
        for key, label in COLUMNS:
            self.columns[key].label = self.sort.heading(key, label)  # type: ignore[index]
        self.refresh()
        self.reload()

    def filter(self, glob: str | None) -> None:
        self.glob = glob
        self._select = None
        self._query(None)

    def _query(self, cursor: str | None) -> None:
        if self.path is None:
            return
        if cursor is None:
            self.generation += 1
            self.next_cursor = None
        generation, path, order, glob = self.generation, self.path, self.sort.order, self.glob
        self.fetching = True
        # Say "loading…" only when the store is slow to answer: a status line that changes
        # twice for every folder opened costs a repaint for nothing.
        self.set_timer(SLOW_SECONDS, partial(self._still_loading, generation))
        backend = self.backend

        def fetch() -> None:
            try:
                page = backend.children(path, order=order, glob=glob, cursor=cursor, limit=PAGE_SIZE)
                holds = [backend.can_hold_children(i) for i in page.items]
            except RealnetError as e:
                self.post_message(Failed(e, path))
                self.post_message(self.PageLoaded(generation, [], [], None, cursor is None))
                return
            self.post_message(self.PageLoaded(generation, list(page.items), holds, page.next_cursor,
                                              cursor is None))

        # A new listing replaces the old one's worker; a next page never cancels anything.
        self.run_worker(fetch, thread=True, group="listing", exclusive=cursor is None)

    def _still_loading(self, generation: int) -> None:
        if self.fetching and generation == self.generation:
            self.post_message(self.Listed())

    @on(PageLoaded)
    def _add_page(self, event: PageLoaded) -> None:
        event.stop()
        if event.generation != self.generation:
            return
        self.fetching = False
        if event.first:
            self.clear()
            self.items, self.holds = [], []
        for item, holds in zip(event.items, event.holds, strict=True):
            self.add_row(*row_cells(item, holds), key=item.path)
        self.items += event.items
        self.holds += event.holds
        self.next_cursor = event.next_cursor
        self.post_message(self.Listed())
        if event.first:
            row = 0
            if self._select is not None:
                names = [i.name for i in self.items]
                row = names.index(self._select) if self._select in names else 0
                self._select = None
            if self.items:
                self.move_cursor(row=row, scroll=True)
            self.post_message(self.ItemHighlighted(self.current_item(), self.path or paths.ROOT))
        self._maybe_more()

    def _maybe_more(self) -> None:
        if self.next_cursor is not None and not self.fetching and \
                self.cursor_row >= len(self.items) - NEAR_END:
            self._query(self.next_cursor)

    # -- the cursor ----------------------------------------------------------------------
    def current_item(self) -> Item | None:
        row = self.cursor_row
        return self.items[row] if 0 <= row < len(self.items) else None

    @on(DataTable.RowHighlighted)
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        if 0 <= event.cursor_row < len(self.items):
            self.post_message(self.ItemHighlighted(self.items[event.cursor_row], self.path or paths.ROOT))
        self._maybe_more()

    @on(events.MouseScrollDown)
    def _wheel(self, event: events.MouseScrollDown) -> None:
        # Scrolling with the wheel does not move the cursor: look at what is in view.
        if self.next_cursor is not None and not self.fetching and \
                self.scroll_y + self.size.height >= len(self.items) - NEAR_END:
            self._query(self.next_cursor)

    @on(DataTable.RowSelected)
    def _selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        row = event.cursor_row
        if 0 <= row < len(self.items) and self.holds[row]:
            self.post_message(FolderChosen(self.items[row].path))

    @on(DataTable.HeaderSelected)
    def _header(self, event: DataTable.HeaderSelected) -> None:
        event.stop()
        if event.column_key.value is not None:
            self.sort_by(event.column_key.value)

    def describe(self) -> str:
        """One line about the listing, for the status line above the table."""
        if self.path is None:
            return ""
        parts = [self.path]
        count = f"{len(self.items):,} shown"
        if self.fetching:
            count = f"{count}, loading more…" if self.items else "loading…"
        elif self.next_cursor is not None:
            count += ", more below"
        parts.append(count)
        if self.glob:
            parts.append(f"filter {self.glob}")
        else:
            parts.append(f"by {self.sort.column} {'▼' if self.sort.descending else '▲'}")
        return "  ·  ".join(parts)


class ChildrenView(Vertical):
    """The status line, the table and the filter input under it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "open_filter", "Filter", key_display="/"),
        Binding("escape", "close_filter", "Clear filter", show=False),
    ]

    def __init__(self, backend: Backend, **options: object) -> None:
        super().__init__(**options)  # type: ignore[arg-type]
        self.backend = backend

    def compose(self) -> ComposeResult:
        yield Static("", id="listing-status", markup=False)
        yield ChildrenTable(self.backend, id="children")
        filter_input = Input(placeholder="name glob (*x* when no glob characters); Enter applies, "
                             "Esc clears", id="filter")
        filter_input.display = False
        yield filter_input

    @property
    def table(self) -> ChildrenTable:
        return self.query_one(ChildrenTable)

    @on(ChildrenTable.Listed)
    def _listed(self, event: ChildrenTable.Listed) -> None:
        event.stop()
        # One line of fixed size: no layout pass for the whole screen.
        self.query_one("#listing-status", Static).update(self.table.describe(), layout=False)

    def action_open_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.display = True
        box.value = self.table.glob or ""
        box.focus()

    def action_close_filter(self) -> None:
        box = self.query_one("#filter", Input)
        if box.display:
            self.table.focus()  # before the input goes: focus never falls to another widget
        box.display = False
        box.value = ""
        if self.table.glob is not None:
            self.table.filter(None)

    @on(Input.Submitted, "#filter")
    def _apply_filter(self, event: Input.Submitted) -> None:
        event.stop()
        box = self.query_one("#filter", Input)
        self.table.focus()  # before the input goes: focus never falls to another widget
        box.display = False
        self.table.filter(name_glob(event.value))
