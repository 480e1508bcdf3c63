"""Exports that carry file content: a tar archive (optionally gzip-compressed).

Layout, in this order, so that both sides can stream it::

    realnet-export.json      the export document (as ``transfer``), file entries without storage keys
    content/<sha256>         the bytes of each distinct content, once, in the document's order

Export reads every file's bytes through the permission layer and checks them against
the size and sha256 the item records, so a damaged store never yields an archive that
looks sound. Import checks the whole document first, then writes each content member to
the content store, checking it against the document, and inserts the items in one
transaction only once every byte is in place; on any failure the content it wrote is
removed again, so an import leaves all or nothing.
"""

from __future__ import annotations

import io
import json
import tarfile
import time
import zlib
from collections.abc import Iterator
from contextlib import suppress
from typing import IO, TYPE_CHECKING, Any, Protocol

from realnet.core.content import FILE_TYPE, read_bytes
from realnet.core.errors import NotFound, RealnetError, StoreError, ValidationError
from realnet.core.item import Item
from realnet.core.transfer import (
    SHA256,
    ImportPlan,
    commit_import,
    export_document,
    exported_items,
    plan_import,
)
from realnet.storage.base import HashingReader

if TYPE_CHECKING:
    from realnet.core.context import Context

DOCUMENT = "realnet-export.json"
CONTENT = "content/"
CHUNK = 1024 * 1024
GZIP_MAGIC = b"\x1f\x8b"


class Progress(Protocol):
    def total(self, size: int) -> None: ...
    def advance(self, size: int) -> None: ...


class _Quiet:
    def total(self, size: int) -> None:
        pass

    def advance(self, size: int) -> None:
        pass


def is_archive(head: bytes) -> bool:
    """Whether the first bytes (at least 512, unless the input is shorter) start an archive."""
    return head.startswith(GZIP_MAGIC) or head[257:262] == b"ustar"


# -- export ---------------------------------------------------------------------------------


def export_archive(context: Context, path: str, out: IO[bytes], *, compress: bool = False,
                   progress: Progress | None = None) -> dict[str, int]:
    """Write the subtree at ``path`` with its file content as a tar archive to ``out``."""
    progress = progress or _Quiet()
    items = exported_items(context, path)
    document = export_document(context, items)
    files: dict[str, Item] = {}  # sha256 -> an item holding those bytes
    for item, entry in zip(items, document["items"], strict=True):
        if not context.types.is_a(item.type, FILE_TYPE):
            continue
        entry["attributes"].pop("storage_key", None)
        sha = item.attributes.get("sha256")
        if item.attributes.get("storage_key") and isinstance(sha, str) and SHA256.fullmatch(sha):
            files.setdefault(sha, item)
        else:  # no content (or none this store can vouch for): the entry travels without it
            entry["attributes"].pop("sha256", None)
    progress.total(sum(int(item.attributes.get("size") or 0) for item in files.values()))
    now = time.time()
    with tarfile.open(fileobj=out, mode="w|gz" if compress else "w|", format=tarfile.PAX_FORMAT,
                      copybufsize=CHUNK) as tar:
        data = json.dumps(document, ensure_ascii=False, indent=1).encode()
        tar.addfile(_member(DOCUMENT, len(data), now), io.BytesIO(data))
        for sha, item in files.items():
            size = int(item.attributes.get("size") or 0)
            try:
                reader = _VerifiedReader(item, read_bytes(context, item), sha, size, progress)
                tar.addfile(_member(CONTENT + sha, size, now), reader)
                reader.finish()
            except (NotFound, StoreError) as e:
                if str(e).startswith(item.path):
                    raise
                raise StoreError(f"{item.path}: cannot read its content ({e}); "
                                 "no archive was written") from None
    return {"items": len(items), "files": len(files)}


def _member(name: str, size: int, mtime: float) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = size, int(mtime), 0o600
    return info


class _VerifiedReader(HashingReader):
    """A file object over a content stream that gives exactly ``size`` bytes or fails."""

    def __init__(self, item: Item, chunks: Iterator[bytes], sha: str, size: int,
                 progress: Progress) -> None:
        super().__init__(chunks)
        self.item, self.sha, self.size, self.progress = item, sha, size, progress

    def _took(self, chunk: bytes) -> None:
        if self.count > self.size:
            raise self._damaged()
        self.progress.advance(len(chunk))

    def read(self, size: int = -1) -> bytes:
        taken = super().read(size)
        if 0 <= len(taken) < size and self.count != self.size:
            raise self._damaged()
        return taken

    def finish(self) -> None:
        if next(self.chunks, None) is not None or self.count != self.size \
                or self.digest.hexdigest() != self.sha:
            raise self._damaged()

    def _damaged(self) -> StoreError:
        return StoreError(f"{self.item.path}: the stored content does not match its size and sha256; "
                          "no archive was written")


# -- import ---------------------------------------------------------------------------------


def import_archive(context: Context, stream: IO[bytes], path: str, *, source: str,
                   progress: Progress | None = None) -> tuple[Item, int]:
    """Read an archive ``export_archive`` wrote and create its subtree at (or in) ``path``."""
    from realnet.core.content import store_of

    progress = progress or _Quiet()
    store = store_of(context)
    written: list[str] = []
    try:
        try:
            with tarfile.open(fileobj=stream, mode="r|*", copybufsize=CHUNK) as tar:
                plan = _read_plan(context, tar, path, source)
                wanted = _wanted(plan, source)
                progress.total(sum(size for size, _ in wanted.values()))
                keys = _store_members(tar, store, wanted, written, source, progress)
        except (tarfile.TarError, EOFError, zlib.error, OSError) as e:
            raise ValidationError(f"{source}: not a complete archive ({_reason(e)})") from None
        missing = sorted(set(wanted) - keys.keys())
        if missing:
            raise ValidationError(f"{source}: content/{missing[0]} is missing from the archive")
        for index, (sha, size) in plan.content.items():
            draft = plan.drafts[index]
            attributes = {**draft.attributes, "sha256": sha, "size": size, "storage_key": keys[sha]}
            plan.drafts[index] = draft._replace(attributes=attributes)
        return commit_import(context, plan)
    except BaseException:
        for key in written:
            with suppress(RealnetError):  # what stays behind, gc removes
                store.delete(key)
        raise


def _wanted(plan: ImportPlan, source: str) -> dict[str, tuple[int, str | None]]:
    """Each content the items name: its size, and a content type to store it with."""
    wanted: dict[str, tuple[int, str | None]] = {}
    for index, (sha, size) in plan.content.items():
        known = wanted.get(sha)
        if known is not None and known[0] != size:
            draft = plan.drafts[index]
            raise ValidationError(f"{source}: {draft.path} says {size} bytes for sha256 {sha[:12]}…, "
                                  f"another item says {known[0]}")
        if known is None:
            kind = plan.drafts[index].attributes.get("content_type")
            wanted[sha] = (size, kind if isinstance(kind, str) else None)
    return wanted


def _read_plan(context: Context, tar: tarfile.TarFile, path: str, source: str) -> ImportPlan:
    first = tar.next()
    if first is None or first.name != DOCUMENT or not first.isreg():
        raise ValidationError(f"{source}: the archive must start with {DOCUMENT}")
    handle = tar.extractfile(first)
    assert handle is not None  # a regular member
    try:
        document = json.loads(handle.read())
    except (ValueError, UnicodeDecodeError) as e:
        raise ValidationError(f"{source}: {DOCUMENT} is not valid JSON ({e})") from None
    except RecursionError:
        raise ValidationError(f"{source}: {DOCUMENT} is JSON nested too deeply to read") from None
    return plan_import(context, document, path, source=source, with_content=True)


def _store_members(tar: tarfile.TarFile, store: Any, wanted: dict[str, tuple[int, str | None]],
                   written: list[str],
                   source: str, progress: Progress) -> dict[str, str]:
    keys: dict[str, str] = {}  # sha256 -> the new storage key
    while (member := tar.next()) is not None:  # iterating would start again at the document
        name = member.name
        sha = name[len(CONTENT):] if name.startswith(CONTENT) else ""
        where = f"{source}: member {name[:80]!r}"
        if not SHA256.fullmatch(sha) or not member.isreg():
            raise ValidationError(f"{where}: expected only regular files named {CONTENT}<sha256>")
        if sha not in wanted:
            raise ValidationError(f"{where}: no item in the archive has this content")
        if sha in keys:
            raise ValidationError(f"{where}: appears twice")
        size, content_type = wanted[sha]
        if member.size != size:
            raise ValidationError(f"{where}: {member.size} bytes, but the items say {size}")
        handle = tar.extractfile(member)
        assert handle is not None  # a regular member
        stored = store.write(_chunks(handle, progress), content_type=content_type)
        written.append(stored.key)
        if stored.sha256 != sha or stored.size != size:
            raise ValidationError(f"{where}: its bytes do not match their sha256")
        keys[sha] = stored.key
    return keys


def _chunks(handle: IO[bytes], progress: Progress) -> Iterator[bytes]:
    while chunk := handle.read(CHUNK):
        progress.advance(len(chunk))
        yield chunk


def _reason(error: BaseException) -> str:
    text = str(error) or type(error).__name__
    return text.splitlines()[0][:120]
