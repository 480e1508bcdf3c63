"""What a row of the children table shows, how a filter reads, how sorting toggles.

Pure functions and values, tested without a screen.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text

from realnet.core.item import Item
from realnet.tui.backend import human_size

#: The table's columns: key, heading. Keys ``1``…``5`` sort by them, in this order.
COLUMNS: tuple[tuple[str, str], ...] = (
    ("name", "name"), ("type", "type"), ("size", "size"), ("updated", "updated"), ("owner", "owner"),
)
#: The orders the store can list children in.
SORTABLE = ("name", "type", "updated")
GLOB_CHARS = frozenset("*?[")


def row_cells(item: Item, holds_children: bool) -> tuple[Text, ...]:
    """The cells of one child: plain Text, so that names are never read as markup."""
    name = Text(item.name + ("/" if holds_children else ""), style="bold" if holds_children else "")
    size = item.attributes.get("size")
    return (
        name,
        Text(item.type),
        Text(human_size(size) if isinstance(size, int) else "", justify="right"),
        Text(short_time(item.updated)),
        Text(item.owner),
    )


def short_time(stamp: str) -> str:
    """``2026-11-26T04:38:30.391064Z`` → ``2026-11-26 04:38``."""
    return stamp[:16].replace("T", " ") if stamp else ""


def name_glob(text: str) -> str | None:
    """The name glob a filter means: as typed when it has glob characters, else ``*text*``."""
    text = text.strip()
    if not text:
        return None
    if GLOB_CHARS.intersection(text):
        return text
    return f"*{text}*"


@dataclass(frozen=True, slots=True)
class Sort:
    """The order of the table: a column of :data:`SORTABLE`, ascending or not."""

    column: str = "name"
    descending: bool = False

    @property
    def order(self) -> str:
        """The ``order`` the context understands (``-name`` for descending)."""
        return f"-{self.column}" if self.descending else self.column

    def pressed(self, column: str) -> Sort:
        """The order after choosing ``column``: ascending first, descending on a second press."""
        if column == self.column:
            return Sort(column, not self.descending)
        return Sort(column, False)

    def heading(self, column: str, label: str) -> Text:
        if column != self.column:
            return Text(f"{label}  ")  # room for the arrow, so the column keeps its width
        return Text(f"{label} {'▼' if self.descending else '▲'}", style="bold")
