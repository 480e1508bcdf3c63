"""The bytes of file items, through the same permission checks as everything else.

Content is written to the content store first, under a new key, and the item is
created or updated to name it only once the bytes are complete; the old bytes stay
readable until then. Content no item names any more (replaced, deleted) is removed
after the change commits; a crash in between leaves an unreferenced key that
``storage gc`` finds. Copies of an item share its content until one is replaced.
"""

from __future__ import annotations

import math
import mimetypes
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import suppress
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from realnet.core import paths
from realnet.core.errors import AlreadyExists, NotFound, RealnetError, StoreError, ValidationError
from realnet.core.item import Item, ItemDraft

if TYPE_CHECKING:
    from realnet.core.context import Context
    from realnet.providers.mounted import MountedProvider

FILE_TYPE = "File"
#: Attributes only content writes set: naming another item's key would read its bytes, and
#: a size or digest by hand makes every reader (and HTTP's Content-Length) wrong.
MANAGED = ("storage_key", "sha256", "size")

T = TypeVar("T")


class ContentMissing(NotFound):
    """The bytes an item names are not in the content store: replaced or removed meanwhile
    (a reader then looks at the item again), or lost. Named by the item's path when known;
    the key is only a detail, for whoever looks into the store."""

    def __init__(self, key: str, where: str, path: str | None = None) -> None:
        if path is None:
            super().__init__(f"content {key}", f"missing from {where}")
        else:
            super().__init__(path, f"its content is missing from {where} (storage key {key})")
        self.key, self.where = key, where


class Stored(Protocol):
    key: str
    size: int
    sha256: str


class ContentStore(Protocol):
    label: str

    def write(self, chunks: Iterable[bytes], *, content_type: str | None = None) -> Stored: ...
    def read(self, key: str, start: int = 0, end: int | None = None) -> Iterator[bytes]: ...
    def delete(self, key: str) -> None: ...
    def keys(self, older_than: float) -> Iterator[str]: ...
    def sweep_incomplete(self, older_than: float) -> int: ...


def refuse_managed(context: Context, type_name: str, names: Iterable[str], where: str) -> None:
    if not context.types.is_a(type_name, FILE_TYPE):
        return
    for name in names:
        if name in MANAGED:
            raise ValidationError(f"{where}: attribute '{name}' is set by 'put' with the content, "
                                  "not by hand")


def guess_type(name: str) -> str:
    guessed, _ = mimetypes.guess_type(name, strict=False)
    return guessed or "application/octet-stream"


def put(context: Context, path: str, chunks: Iterable[bytes], *, content_type: str | None = None,
        parents: bool = False) -> Item:
    """Create the file item at ``path``, or replace its content; returns the item."""
    path = paths.normalize(path)
    mounted = _mounted(context, path)
    existing = context.provider.get_many([path]).get(path)
    if mounted is not None:
        return _put_mounted(context, mounted, path, existing, chunks, content_type, parents)
    store = store_of(context)
    if existing is not None:
        current = context.guard.require(existing, "write")
        if not context.types.is_a(current.type, FILE_TYPE):
            raise ValidationError(f"{path}: a {current.type} holds no file content")
    else:
        _may_create(context, path, parents)
    mime = content_type or (existing.attributes.get("content_type") if existing else None) \
        or guess_type(paths.name_of(path))
    stored = store.write(chunks, content_type=mime)
    attributes = {"content_type": mime, "size": stored.size, "sha256": stored.sha256,
                  "storage_key": stored.key}
    try:
        item, replaced = _record(context, path, attributes, parents=parents)
    except BaseException:
        with suppress(Exception):
            store.delete(stored.key)  # nothing names it: the item did not change
        raise
    if replaced:
        release(context, [replaced])
    return item


def _mounted(context: Context, path: str) -> MountedProvider | None:
    """The mounted provider that holds ``path``, if a mount does."""
    from realnet.providers.mounted import MountedProvider

    provider = context.provider.owner_of(path)
    return provider if isinstance(provider, MountedProvider) else None


def _put_mounted(context: Context, provider: MountedProvider, path: str, existing: Item | None,
                 chunks: Iterable[bytes], content_type: str | None, parents: bool) -> Item:
    """Bytes for a file below a mount go to the mounted source itself (a local folder)."""
    if existing is not None:
        current = context.guard.require(existing, "write")
        if not context.types.is_a(current.type, FILE_TYPE):
            raise ValidationError(f"{path}: a {current.type} holds no file content")
    else:
        with context.provider.transaction():
            if parents:
                context._make_parents(path)
            _may_create(context, path, False)
    provider.check_writable(path)
    item = provider.write_content(path, chunks, content_type=content_type)
    context._after_write(path)
    return item


def _may_create(context: Context, path: str, parents: bool) -> None:
    parent = paths.parent_of(path)
    if parents and context._exists_for_me(parent) is None:
        return  # checked again, with the folders made, in the transaction
    try:
        context._check_parent(path, FILE_TYPE)
    except NotFound as e:
        raise NotFound(parent, "parent folder does not exist (use -p to create it)") from e


def _record(context: Context, path: str, attributes: dict[str, Any], *,
            parents: bool) -> tuple[Item, str | None]:
    provider = context.provider
    with provider.transaction():
        current = provider.get_many([path]).get(path)
        if current is None:
            if parents:
                context._make_parents(path)
            _may_create(context, path, False)
            checked = context.types.validate(FILE_TYPE, attributes, where=path)
            context.resource(FILE_TYPE).validate(path, checked)
            try:
                provider.create(ItemDraft(path=path, type=FILE_TYPE, owner=context.principal,
                                          attributes=checked))
            except AlreadyExists:
                raise AlreadyExists(path) from None
            replaced = None
        else:
            context.guard.require(provider.get_for_update(path), "write")
            merged = {**current.attributes, **attributes}
            checked = context.types.validate(current.type, merged, where=path, fill_defaults=False)
            provider.update(path, checked, expected_version=current.version)
            replaced = current.attributes.get("storage_key")
        item = provider.get(path)
    context._after_write(path)
    return item, replaced


def open_read(context: Context, path: str, start: int = 0, end: int | None = None
              ) -> tuple[Item, Iterator[bytes]]:
    """The file item and its bytes ``start``..``end`` (exclusive), for those who may read it."""
    return read_current(context, path, lambda item: read_bytes(context, item, start, end))


def read_current(context: Context, path: str, reader: Callable[[Item], T]) -> tuple[Item, T]:
    """The item at ``path`` and what ``reader`` makes of it. A replacement that commits
    between reading the item and opening its bytes removes those bytes at once: then the
    item is read again and, if it names other content now, that is opened instead, so a
    reader gets the old bytes or the new ones, never an error."""
    item = context.get(path)
    try:
        return item, reader(item)
    except ContentMissing:
        again = context.get(path)
        if again.attributes.get("storage_key") == item.attributes.get("storage_key"):
            raise  # not replaced: the bytes are lost
        return again, reader(again)


def read_bytes(context: Context, item: Item, start: int = 0, end: int | None = None) -> Iterator[bytes]:
    """The bytes of a file item the caller has already read (and so may read)."""
    mounted = _mounted(context, item.path)
    if mounted is not None:
        return mounted.read_content(item.path, start, end)
    key = item.attributes.get("storage_key")
    if not context.types.is_a(item.type, FILE_TYPE) or not key:
        raise ValidationError(f"{item.path}: a {item.type} without content (put some with 'put')")
    try:
        return store_of(context).read(key, start, end)
    except ContentMissing as e:
        raise ContentMissing(e.key, e.where, item.path) from None


def keys_below(context: Context, path: str) -> list[str]:
    """The content keys of ``path`` and every file item below it (in the store: what is
    mounted keeps its bytes where it is)."""
    if _mounted(context, path) is not None:
        return []
    provider = context.store
    files = context.types.subtypes(FILE_TYPE) if FILE_TYPE in context.types else []
    found = [provider.get(path)]
    cursor = None
    while files:
        page = provider.search(path, types=files, limit=5000, cursor=cursor)
        found += page.items
        if (cursor := page.next_cursor) is None:
            break
    return [k for k in (i.attributes.get("storage_key") for i in found) if isinstance(k, str) and k]


def release(context: Context, keys: Sequence[str]) -> None:
    """Remove the content of ``keys`` that no item names any more, once the change that
    stopped naming them has committed: inside a larger transaction (``rm A B``) that may
    still fail and be rolled back, the bytes must stay."""
    store = context.content
    if store is None or not keys:
        return

    def remove_unused() -> None:
        unused = set(keys) - context.provider.referenced_keys(list(set(keys)))
        for key in unused:
            with suppress(RealnetError):  # what stays behind, gc removes
                store.delete(key)

    context.provider.after_commit(remove_unused)


def collect_garbage(context: Context, *, grace: float = 3600.0, now: float | None = None) -> dict[str, int]:
    """Remove content no item names, older than ``grace`` seconds (younger content may
    belong to a write that has not recorded its item yet), and stale incomplete writes."""
    import time

    if not math.isfinite(grace) or grace < 0:
        raise ValidationError(f"storage gc: grace must be a number of seconds, 0 or more (got {grace})")
    context.guard.require_admin("storage gc")
    store = store_of(context)
    # Not before 1970: a grace longer than that keeps everything, and S3 needs a real date.
    limit = max(0.0, (time.time() if now is None else now) - grace)
    candidates = list(store.keys(limit))
    used = set()
    for start in range(0, len(candidates), 1000):
        used |= context.provider.referenced_keys(candidates[start:start + 1000])
    removed = 0
    for key in candidates:
        if key not in used:
            store.delete(key)
            removed += 1
    return {"checked": len(candidates), "removed": removed,
            "incomplete_removed": store.sweep_incomplete(limit)}


def store_of(context: Context) -> ContentStore:
    """The context's content store, or a clear error when none is configured."""
    if context.content is None:
        raise StoreError("file content: no content store is configured")
    return context.content

