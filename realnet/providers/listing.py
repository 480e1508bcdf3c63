"""Paging, ordering and searching over items held in memory (documents, local folders).

The cursors are the ones the SQL stores issue (the sort key of the last row, encoded),
so that a search that spans the store and its mounts can hand one cursor to each.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from fnmatch import fnmatchcase

from realnet.core import paths
from realnet.core.access import Visibility
from realnet.core.item import ChildrenPage, Item
from realnet.providers.sql import cursors


def visible_to(item: Item, visible: Visibility | None) -> bool:
    if visible is None:
        return True
    owned = visible.owner is not None and item.owner == visible.owner
    return owned or item.path in visible.ways or any(paths.is_within(item.path, r) for r in visible.roots)


def _sort_key(column: str):
    if column == "name":
        return lambda i: i.name
    return lambda i: (getattr(i, column), i.name)


def page_children(items: Iterable[Item], *, order: str = "name", limit: int = 100,
                  cursor: str | None = None, name_prefix: str | None = None,
                  visible: Visibility | None = None) -> ChildrenPage:
    """One page of ``items`` (siblings) in ``order``, after ``cursor``."""
    key, descending = cursors.parse_order(order)
    column = cursors.ORDER_COLUMNS[key]
    chosen = [i for i in items if (name_prefix is None or i.name.startswith(name_prefix))
              and visible_to(i, visible)]
    sort_key = _sort_key(column)
    chosen.sort(key=sort_key, reverse=descending)
    if cursor is not None:
        if column == "name":
            (last,) = cursors.decode(cursor, 1)
            after = last
        else:
            after = tuple(cursors.decode(cursor, 2, timestamp=column == "updated"))
        chosen = [i for i in chosen if (sort_key(i) < after if descending else sort_key(i) > after)]
    page = chosen[:limit]
    next_cursor = None
    if len(chosen) > limit and page:
        last_item = page[-1]
        values = [last_item.name] if column == "name" else [getattr(last_item, column), last_item.name]
        next_cursor = cursors.encode(values)
    return ChildrenPage(items=tuple(page), next_cursor=next_cursor)


def glob_matches(name: str, pattern: str) -> bool:
    """The stores' GLOB: case-sensitive, ``[!…]`` or ``[^…]`` negates a class."""
    return fnmatchcase(name, pattern.replace("[^", "[!"))


def page_search(items: Iterable[Item], root: str, *, types: Sequence[str] | None = None,
                name_glob: str | None = None, max_depth: int | None = None, limit: int = 1000,
                cursor: str | None = None, visible: Visibility | None = None) -> ChildrenPage:
    """One page, in path order, of the ``items`` below ``root`` that match."""
    after = cursors.decode(cursor, 1)[0] if cursor is not None else None
    base_depth = paths.depth_of(root)
    wanted = set(types) if types is not None else None
    chosen = sorted(
        (i for i in items
         if i.path != root
         and (after is None or i.path > after)
         and (wanted is None or i.type in wanted)
         and (max_depth is None or paths.depth_of(i.path) - base_depth <= max_depth)
         and (name_glob is None or glob_matches(i.name, name_glob))
         and visible_to(i, visible)),
        key=lambda i: i.path,
    )
    page = chosen[:limit]
    next_cursor = cursors.encode([page[-1].path]) if len(chosen) > limit else None
    return ChildrenPage(items=tuple(page), next_cursor=next_cursor)


def timestamp(seconds: float) -> str:
    """A file time in the stores' format, so that orders by time compare alike."""
    from datetime import UTC, datetime

    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
