"""What the dashboard asks of the store, in plain calls that workers run off the UI thread.

No Textual here: every method is blocking, takes a lock so that the workers of the
tree, the table and the detail pane never use the context at the same time, and
returns plain values (pages, items, :class:`Detail`). The widgets call these only
from thread workers; the screen never waits for the store.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from realnet.core import paths
from realnet.core.context import Context
from realnet.core.errors import RealnetError
from realnet.core.item import ChildrenPage, Item

PAGE_SIZE = 200
PREVIEW_BYTES = 4096
APPS_FOLDER = "/apps"
APP_TYPE = "App"
TEXT_SUFFIXES = ("json", "yaml", "yml", "xml")


@dataclass(frozen=True, slots=True)
class Section:
    """A top-level section of the tree: an app of ``/apps`` and the folder it starts at."""

    title: str
    root: str
    app: str | None = None


@dataclass(frozen=True, slots=True)
class Permission:
    permission: str
    source: str
    principal: str


@dataclass(frozen=True, slots=True)
class Detail:
    """Everything the detail pane shows about one item (secrets already redacted)."""

    item: Item
    permissions: tuple[Permission, ...]
    preview: str | None = None
    #: Why there is no preview, or what stands in for one (images: metadata only).
    note: str | None = None
    holds_children: bool = False


def is_text_type(content_type: str) -> bool:
    """``text/*``, JSON, YAML and XML (also ``+json``/``+xml`` suffixes) are previewed."""
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind.startswith("text/"):
        return True
    subtype = kind.rsplit("/", 1)[-1]
    return any(subtype == s or subtype.endswith(("+" + s, "-" + s)) for s in TEXT_SUFFIXES)


def is_image_type(content_type: str) -> bool:
    return content_type.split(";", 1)[0].strip().lower().startswith("image/")


class Backend:
    """The context of one dashboard, used by one worker at a time."""

    def __init__(self, context: Context) -> None:
        self.context = context
        self.lock = threading.RLock()
        self._containers: tuple[Any, tuple[str, ...]] | None = None

    # -- the tree --------------------------------------------------------------------
    def sections(self) -> list[Section]:
        """One section per app under ``/apps`` (its title, its ``root``), those at the root
        of the tree first (the dashboard opens on the first); the root of the tree when there
        are none the principal can see."""
        found: list[Section] = []
        with self.lock:
            self.context.refresh()
            try:
                cursor = None
                while True:
                    page = self.context.list(APPS_FOLDER, limit=PAGE_SIZE, cursor=cursor)
                    types = self.context.types
                    for item in page.items:
                        if item.type in types and types.is_a(item.type, APP_TYPE):
                            root = item.attributes.get("root") or paths.ROOT
                            title = item.attributes.get("title") or item.name
                            found.append(Section(str(title), paths.normalize(str(root)), item.path))
                    cursor = page.next_cursor
                    if cursor is None:
                        break
            except RealnetError:  # no /apps, or not readable: the plain tree is the one section
                found = []
        found.sort(key=lambda section: section.root != paths.ROOT)
        return found or [Section("/", paths.ROOT)]

    def container_types(self) -> tuple[str, ...]:
        """The types whose items may hold children: only those are nodes of the tree."""
        types = self.context.types
        if self._containers is None or self._containers[0] is not types:
            names = tuple(sorted(t.name for t in types if not t.abstract and types.allowed_children(t.name)))
            self._containers = (types, names)
        return self._containers[1]

    def containers(self, path: str, cursor: str | None = None, limit: int = PAGE_SIZE) -> ChildrenPage:
        """The children of ``path`` that can hold children, ``limit`` at a time, by name."""
        with self.lock:
            context = self.context
            folder = context.listable(path)
            return context.provider.search(
                folder.path, types=self.container_types(), max_depth=1, limit=limit, cursor=cursor,
                visible=context.guard.visibility(folder.path))

    # -- the table -------------------------------------------------------------------
    def children(self, path: str, *, order: str = "name", glob: str | None = None,
                 cursor: str | None = None, limit: int = PAGE_SIZE) -> ChildrenPage:
        """One page of ``path``'s children, in ``order``; with ``glob``, the children whose
        names match it (in name order: a search has no other)."""
        with self.lock:
            if cursor is None:
                self.context.refresh()  # a new listing sees permissions as they are now
            if glob:
                return self.context.find(path, name_glob=glob, max_depth=1, limit=limit, cursor=cursor)
            return self.context.list(path, order=order, limit=limit, cursor=cursor)

    def get(self, path: str) -> Item:
        with self.lock:
            return self.context.get(path)

    def can_hold_children(self, item: Item) -> bool:
        with self.lock:
            return self.context.can_hold_children(item)

    def complete(self, folder: str, prefix: str, limit: int = 20) -> list[Item]:
        with self.lock:
            return list(self.context.complete(folder, prefix or None, limit).items)

    # -- the detail pane -------------------------------------------------------------
    def detail(self, path: str) -> Detail:
        with self.lock:
            context = self.context
            raw = context.get(path)
            item = context.shown(raw)
            granted = context.guard.permissions(raw)
            permissions = tuple(Permission(name, g.source, g.principal)
                                for name, g in sorted(granted.items()))
            holds = context.can_hold_children(raw)
            preview, note = self._preview(raw)
        return Detail(item, permissions, preview, note, holds)

    def _preview(self, item: Item) -> tuple[str | None, str | None]:
        types = self.context.types
        if item.type not in types or not types.is_a(item.type, "File"):
            return None, None
        content_type = str(item.attributes.get("content_type") or "application/octet-stream")
        size = item.attributes.get("size")
        if is_image_type(content_type):
            return None, f"image ({content_type}, {_size(size)}): metadata only"
        if not is_text_type(content_type):
            return None, f"{content_type}, {_size(size)}: not shown"
        if size == 0:
            return "", None
        end = min(int(size), PREVIEW_BYTES) if isinstance(size, int) else PREVIEW_BYTES
        try:
            _, chunks = self.context.read_content(item.path, 0, end)
            data = _first(chunks, end)
        except (RealnetError, OSError) as e:  # the pane still shows the item, and why not this
            return None, f"content cannot be read: {e}"
        text = data.decode("utf-8", errors="replace")
        if isinstance(size, int) and size > end:
            return text, f"first {end:,} of {size:,} bytes"
        return text, None

    # -- changes -----------------------------------------------------------------------
    def count_below(self, path: str) -> int:
        with self.lock:
            return self.context.count_below(path)

    def delete(self, path: str) -> int:
        with self.lock:
            return self.context.delete(path, recursive=True)


def _first(chunks: Iterator[bytes], limit: int) -> bytes:
    data = bytearray()
    for chunk in chunks:
        data += chunk
        if len(data) >= limit:
            break
    close = getattr(chunks, "close", None)
    if close is not None:
        close()
    return bytes(data[:limit])


def _size(size: object) -> str:
    return human_size(size) if isinstance(size, int) else "size unknown"


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"  # pragma: no cover - the loop always returns
