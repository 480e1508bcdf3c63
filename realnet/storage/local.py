"""Content in a local folder (the default): ``<root>/<k0k1>/<key>``.

A write goes to ``<root>/incoming/<key>.part``, is flushed to disk, then renamed into
place: the rename is atomic, so a crash leaves only a ``.part`` file that ``gc`` removes.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from realnet.core.content import ContentMissing
from realnet.core.errors import StoreError
from realnet.storage.base import (
    KEY,
    ContentStore,
    Stored,
    check_key,
    new_key,
    write_hashed,
)
from realnet.storage.filebytes import FileBytes

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
        try:
            try:
                out = part.open("xb+", buffering=0)  # read too: the hash reads back what was written
            except OSError as e:
                raise self._unusable(e) from None
            with out:
                if isinstance(chunks, FileBytes):  # a local file: copied in the kernel
                    written = chunks.copy_into(out.fileno(), unwritable=self._unusable, write_back=True)
                    try:
                        _durable(out, self)  # while the last stretches are hashed
                    except BaseException:
                        written.abandon()
                        raise
                    try:
                        size, sha256 = written.size, written.hexdigest()
                    except OSError as e:
                        raise self._unusable(e) from None
                else:
                    size, sha256 = _write_chunks(out, chunks, self)
            final = self._path(key)
            try:
                final.parent.mkdir(exist_ok=True, mode=0o700)
                os.replace(part, final)
            except OSError as e:
                raise self._unusable(e) from None
        except BaseException:
            part.unlink(missing_ok=True)
            raise
        return Stored(key, size, sha256)

    def read(self, key: str, start: int = 0, end: int | None = None) -> FileBytes:
        path = self._path(key)
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            raise ContentMissing(key, "the content folder") from None
        except OSError as e:
            raise self._unusable(e) from None
        return FileBytes(fd, start, end, unreadable=self._unusable)

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


def _write_chunks(out, chunks: Iterable[bytes], store: LocalContent) -> tuple[int, str]:
    """Write and hash the chunks, and make them durable: their size and SHA-256. A full
    disk is a StoreError naming the setting."""
    written = write_hashed(out, chunks, unwritable=store._unusable)
    _durable(out, store)
    return written


def _durable(out, store: LocalContent) -> None:
    try:
        os.fsync(out.fileno())
    except OSError as e:
        raise store._unusable(e) from None
