"""One interface for the bytes of file items, whatever keeps them.

Keys are made here (random, 128 bits), never from item names, so no name can reach
outside the store. Writing streams in chunks and computes the SHA-256 on the way; the
content becomes visible under its key only once complete, so a reader never sees part
of it, and a failed write leaves at most an unreferenced remnant that ``gc`` removes.
"""

from __future__ import annotations

import hashlib
import queue
import re
import threading
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from realnet.core.errors import ValidationError

CHUNK = 1024 * 1024
KEY = re.compile(r"[0-9a-f]{32}")  # used with fullmatch: '$' would let a trailing newline in


@dataclass(frozen=True, slots=True)
class Stored:
    key: str
    size: int
    sha256: str


class BackgroundSha256:
    """SHA-256 computed on a helper thread while the caller moves the bytes: hashlib
    releases the GIL, so hashing overlaps the reads and writes around it instead of
    adding to them. Chunks must not change after ``update`` (bytes never do)."""

    def __init__(self, depth: int = 8) -> None:
        self._chunks: queue.Queue[bytes | None] = queue.Queue(depth)
        self._digest = hashlib.sha256()
        self._thread = threading.Thread(target=self._run, name="realnet-sha256", daemon=True)
        self._thread.start()
        self._result: str | None = None

    def _run(self) -> None:
        while (chunk := self._chunks.get()) is not None:
            self._digest.update(chunk)

    def update(self, chunk: bytes) -> None:
        self._chunks.put(chunk if type(chunk) is bytes else bytes(chunk))

    def hexdigest(self) -> str:
        if self._result is None:
            self._chunks.put(None)
            self._thread.join()
            self._result = self._digest.hexdigest()
        return self._result

    def __enter__(self) -> BackgroundSha256:
        return self

    def __exit__(self, *exc: object) -> None:
        self.hexdigest()  # stops the thread, also on an error


def write_hashed(out: Any, chunks: Iterable[bytes], *, unwritable: Callable[[OSError], BaseException],
                 on_chunk: Callable[[int], object] | None = None) -> tuple[int, str]:
    """Write ``chunks`` to the unbuffered file ``out``, hashing them on a helper thread:
    their size and SHA-256. A write error becomes ``unwritable(error)``; an error of the
    chunks themselves passes as it is."""
    size = 0
    with BackgroundSha256() as digest:
        for chunk in chunks:
            digest.update(chunk)
            size += len(chunk)
            view = memoryview(chunk)
            try:
                while view:  # unbuffered writes may be short
                    view = view[out.write(view):]
            except OSError as e:
                raise unwritable(e) from None
            if on_chunk is not None:
                on_chunk(len(chunk))
    return size, digest.hexdigest()


class HashingReader:
    """A file object over content chunks (for tarfile, for boto3's managed upload) that
    hashes and counts the bytes passing through it; :meth:`_took` may check each chunk."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self.chunks = chunks
        self.pending = bytearray()
        self.digest = hashlib.sha256()
        self.count = 0

    def _took(self, chunk: bytes) -> None:
        """Called for each chunk once it is hashed and counted."""

    def _pull(self) -> bool:
        chunk = next(self.chunks, None)
        if chunk is None:
            return False
        self.digest.update(chunk)
        self.count += len(chunk)
        self._took(chunk)
        self.pending += chunk
        return True

    def read(self, size: int = -1) -> bytes:
        while (size < 0 or len(self.pending) < size) and self._pull():
            pass
        taken = bytes(self.pending if size < 0 else self.pending[:size])
        del self.pending[:len(taken)]
        return taken


def new_key() -> str:
    return uuid.uuid4().hex


def check_key(key: str) -> str:
    """A key as this store makes them; anything else (from a tampered item) is refused."""
    if not isinstance(key, str) or not KEY.fullmatch(key):
        raise ValidationError(f"storage key {str(key)[:40]!r}: not a key this store issued")
    return key


class ContentStore(ABC):
    """Where the bytes of file items live."""

    label: str = "content"

    @abstractmethod
    def write(self, chunks: Iterable[bytes], *, content_type: str | None = None) -> Stored:
        """Store the bytes under a new key; visible only once complete."""

    @abstractmethod
    def read(self, key: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """The bytes ``start`` to ``end`` (exclusive; None: to the end), in chunks."""

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove the content; a key that is already gone is fine."""

    @abstractmethod
    def keys(self, older_than: float) -> Iterator[str]:
        """Keys of complete content written before ``older_than`` (a Unix time): what garbage
        collection may consider (newer content may belong to a write still in progress)."""

    @abstractmethod
    def sweep_incomplete(self, older_than: float) -> int:
        """Remove what writes that never finished left behind before ``older_than``."""

    def check(self) -> None:  # noqa: B027 - stores that need no check
        """Raise a StoreError naming the setting to fix when the store cannot be used."""

    def close(self) -> None:  # noqa: B027 - stores that hold nothing
        """Release connections."""
