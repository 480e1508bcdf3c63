"""Content in a local folder (the default): ``<root>/<k0k1>/<key>``.

A write goes to ``<root>/incoming/<key>.part``, is flushed to disk, then renamed into
place: the rename is atomic, so a crash leaves only a ``.part`` file that ``gc`` removes.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from realnet.core.errors import NotFound, StoreError
from realnet.storage.base import (
    CHUNK,
    KEY,
    BackgroundSha256,
    ContentStore,
    Stored,
    check_key,
    new_key,
)

INCOMING = "incoming"


class LocalContent(ContentStore):
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.label = f"local:{self.root}"

    def _path(self, key: str) -> Path:
        key = check_key(key)
        return self.root / key[:2] / key

    def check(self) -> None:
        try:
            (self.root / INCOMING).mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as e:
            raise StoreError(f"REALNET_STORAGE_PATH={self.root}: cannot use as the content folder "
                             f"({e.strerror})") from None

    def write(self, chunks: Iterable[bytes], *, content_type: str | None = None) -> Stored:
        self.check()
        key = new_key()
        part = self.root / INCOMING / f"{key}.part"
        size = 0
        try:
            with BackgroundSha256() as digest:
                try:
                    out = part.open("xb", buffering=0)
                except OSError as e:
                    raise self._unusable(e) from None
                with out:
                    for chunk in chunks:
                        digest.update(chunk)
                        size += len(chunk)
                        _write_all(out, chunk, self)
                    _durable(out, self)
                final = self._path(key)
                try:
                    final.parent.mkdir(exist_ok=True, mode=0o700)
                    os.replace(part, final)
                except OSError as e:
                    raise self._unusable(e) from None
        except BaseException:
            part.unlink(missing_ok=True)
            raise
        return Stored(key, size, digest.hexdigest())

    def read(self, key: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        path = self._path(key)
        try:
            handle = path.open("rb")
        except FileNotFoundError:
            raise NotFound(f"content {key}", "missing from the content folder") from None
        except OSError as e:
            raise self._unusable(e) from None
        return _chunks(handle, start, end)

    def delete(self, key: str) -> None:
        path = self._path(key)
        try:
            path.unlink(missing_ok=True)
        except OSError as e:
            raise self._unusable(e) from None

    def _unusable(self, error: OSError) -> StoreError:
        return StoreError(f"REALNET_STORAGE_PATH={self.root}: cannot use as the content folder "
                          f"({error.strerror or error})")

    def keys(self, older_than: float) -> Iterator[str]:
        if not self.root.is_dir():
            return
        for folder in sorted(self.root.iterdir()):
            if len(folder.name) != 2 or not folder.is_dir():
                continue
            for entry in sorted(folder.iterdir()):
                if KEY.fullmatch(entry.name) and entry.stat().st_mtime < older_than:
                    yield entry.name

    def sweep_incomplete(self, older_than: float) -> int:
        removed = 0
        incoming = self.root / INCOMING
        if incoming.is_dir():
            for entry in incoming.iterdir():
                if entry.name.endswith(".part") and entry.stat().st_mtime < older_than:
                    entry.unlink(missing_ok=True)
                    removed += 1
        return removed


def _write_all(out, chunk: bytes, store: LocalContent) -> None:
    """Unbuffered writes may be short; a full disk is a StoreError naming the setting."""
    view = memoryview(chunk)
    try:
        while view:
            view = view[out.write(view):]
    except OSError as e:
        raise store._unusable(e) from None


def _durable(out, store: LocalContent) -> None:
    try:
        os.fsync(out.fileno())
    except OSError as e:
        raise store._unusable(e) from None


def _chunks(handle, start: int, end: int | None) -> Iterator[bytes]:
    with handle:
        handle.seek(start)
        left = None if end is None else max(0, end - start)
        while left is None or left > 0:
            chunk = handle.read(CHUNK if left is None else min(CHUNK, left))
            if not chunk:
                return
            if left is not None:
                left -= len(chunk)
            yield chunk
