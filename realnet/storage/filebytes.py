"""The bytes of a local file: read in chunks, or copied into another local file in the kernel.

A ``put`` from a local file into the local content folder, and a ``fetch`` from there to
a local file, need not bring the bytes through Python at all: ``copy_file_range`` (else
``sendfile``, else plain reads and writes) moves them inside the kernel, while a helper
thread reads back each stretch as soon as it is written and hashes it. So the SHA-256 is
of the bytes as they now lie in the destination, and hashing, the one step that costs
CPU, overlaps the copy (and, for a put, the ``fsync`` after it).

Anything else that takes content (S3, HTTP, an archive) iterates a :class:`FileBytes`
like any other stream of chunks.
"""

from __future__ import annotations

import errno
import hashlib
import mmap
import os
import queue
import stat
import threading
from collections.abc import Callable

CHUNK = 1024 * 1024
#: Bytes per kernel copy call: how often progress moves, and how far the hash trails the copy.
STEP = 8 * CHUNK
#: Errors of the destination rather than the source (the same call touches both).
WRITE_FAULTS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS})
#: The kernel cannot copy between these two files this way: try the next way.
NO_KERNEL_COPY = frozenset({errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP, errno.ENOTSUP,
                            errno.ETXTBSY})

ErrorOf = Callable[[OSError], BaseException]


def _as_is(error: OSError) -> BaseException:
    return error


class FileBytes:
    """Bytes ``start``..``end`` (None: to the end) of an open file descriptor, which this
    object owns and closes once they are read, copied or :meth:`close`\\ d.

    ``unreadable`` turns a read error into the error to raise (it names the file);
    ``on_chunk`` is told the size of every chunk read or stretch copied (a progress bar)."""

    def __init__(self, fd: int, start: int = 0, end: int | None = None, *, unreadable: ErrorOf = _as_is,
                 on_chunk: Callable[[int], object] | None = None) -> None:
        self.fd = fd
        self.position = start
        self.left = None if end is None else max(0, end - start)
        self.unreadable = unreadable
        self.on_chunk = on_chunk
        self.closed = False
        try:
            self.regular = stat.S_ISREG(os.fstat(fd).st_mode)
        except OSError as e:
            self.close()
            raise unreadable(e) from None
        if start and not self.regular:
            self.close()
            raise self.unreadable(OSError(errno.ESPIPE, "cannot start reading part-way into a stream"))

    # -- as a stream of chunks ---------------------------------------------------------
    def __iter__(self) -> FileBytes:
        return self

    def __next__(self) -> bytes:
        if self.closed:
            raise StopIteration
        size = CHUNK if self.left is None else min(CHUNK, self.left)
        try:
            chunk = os.pread(self.fd, size, self.position) if self.regular else os.read(self.fd, size)
        except OSError as e:
            self.close()
            raise self.unreadable(e) from None
        if not chunk:
            self.close()
            raise StopIteration
        self._moved(len(chunk))
        return chunk

    def _moved(self, size: int) -> None:
        self.position += size
        if self.left is not None:
            self.left -= size
        if self.on_chunk is not None:
            self.on_chunk(size)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            os.close(self.fd)

    def __del__(self) -> None:
        if not getattr(self, "closed", True):
            self.close()

    # -- into another file ---------------------------------------------------------------
    def copy_into(self, out: int, *, unwritable: ErrorOf = _as_is, write_back: bool = False) -> WrittenSha256:
        """Copy the bytes not yet read into ``out`` (a new, empty file) from its offset 0.

        Returns at once when the last byte is written; the result's ``hexdigest()`` waits
        for the hash of what was written, so the caller may ``fsync`` meanwhile.
        ``write_back``: start writing to disk while copying, so that an ``fsync`` after
        the copy has little left to wait for."""
        digest = WrittenSha256(out)
        flusher = WriteBack(out) if write_back else None
        try:
            self._copy(out, digest, unwritable, flusher)
        except BaseException:
            digest.abandon()
            raise
        finally:
            self.close()
            if flusher is not None:
                flusher.stop()
        return digest

    def _copy(self, out: int, digest: WrittenSha256, unwritable: ErrorOf, flusher: WriteBack | None) -> None:
        way = "copy_file_range" if self.regular else "read"
        while self.left is None or self.left > 0:
            count = STEP if self.left is None else min(STEP, self.left)
            try:
                copied = _copy_step(way, self.fd, self.position, out, digest.size, count, self.regular)
            except OSError as e:
                if way != "read" and e.errno in NO_KERNEL_COPY:
                    way = "sendfile" if way == "copy_file_range" else "read"
                    continue
                raise (unwritable(e) if e.errno in WRITE_FAULTS else self.unreadable(e)) from None
            if not copied:
                if way != "read" and digest.size == 0:
                    way = "read"  # /proc and the like: "size 0" yet bytes to read
                    continue
                return
            digest.add(digest.size, copied)
            if flusher is not None:
                flusher.poke()
            self._moved(copied)


def _copy_step(way: str, source: int, position: int, out: int, offset: int, count: int,
               regular: bool) -> int:
    """Copy up to ``count`` bytes at ``position`` of ``source`` to ``offset`` of ``out``."""
    if way == "copy_file_range":
        return os.copy_file_range(source, out, count, position, offset)
    if way == "sendfile":
        os.lseek(out, offset, os.SEEK_SET)  # sendfile writes at the file's own offset
        return os.sendfile(out, source, position, count)
    data = os.pread(source, count, position) if regular else os.read(source, count)
    view = memoryview(data)
    while view:  # a write may be short
        view = view[os.pwrite(out, view, offset + len(data) - len(view)):]
    return len(data)


class WrittenSha256:
    """SHA-256 and size of the stretches of a file reported written (``add``), each read
    back and hashed on a helper thread; hashlib and the reads release the GIL."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.size = 0
        self._stretches: queue.SimpleQueue[tuple[int, int] | None] = queue.SimpleQueue()
        self._digest = hashlib.sha256()
        self._error: OSError | None = None
        self._abandoned = False
        self._result: str | None = None
        self._thread = threading.Thread(target=self._run, name="realnet-sha256", daemon=True)
        self._thread.start()

    def add(self, offset: int, length: int) -> None:
        if length > 0:
            self.size = max(self.size, offset + length)
            self._stretches.put((offset, length))

    def _run(self) -> None:
        try:
            while (stretch := self._stretches.get()) is not None and not self._abandoned:
                self._hash(*stretch)
        except Exception as e:  # any failure must reach hexdigest, not vanish with the thread
            self._error = e if isinstance(e, OSError) else OSError(errno.EIO, str(e))

    def _hash(self, offset: int, length: int) -> None:
        """Hash a stretch through a memory map of it: reading the page cache into a buffer
        would cost as much again as the hash itself."""
        base = offset - offset % mmap.ALLOCATIONGRANULARITY
        try:
            mapped = mmap.mmap(self.fd, length + offset - base, access=mmap.ACCESS_READ, offset=base)
        except (OSError, ValueError):  # a file system that cannot map files
            self._read_and_hash(offset, length)
            return
        with mapped, memoryview(mapped) as view:
            for start in range(offset - base, offset - base + length, CHUNK):
                self._digest.update(view[start:min(start + CHUNK, offset - base + length)])

    def _read_and_hash(self, offset: int, length: int) -> None:
        buffer = memoryview(bytearray(min(CHUNK, length)))
        while length:
            read = os.preadv(self.fd, [buffer[:min(CHUNK, length)]], offset)
            if not read:
                raise OSError(errno.EIO, "the file is shorter than what was written to it")
            self._digest.update(buffer[:read])
            offset, length = offset + read, length - read

    def hexdigest(self) -> str:
        """The digest of everything added; raises the OSError that reading it back met."""
        if self._result is None:
            self._stretches.put(None)
            self._thread.join()
            if self._error is not None:
                raise self._error
            self._result = self._digest.hexdigest()
        return self._result

    def abandon(self) -> None:
        """Stop without hashing what is still queued."""
        self._abandoned = True
        self._stretches.put(None)
        self._thread.join()


class WriteBack:
    """Writes a file's new bytes to disk on a helper thread while more are being written
    (``poke`` after each stretch): the fsync that ends a durable write then waits only for
    the last of them. Errors are left to that fsync, which meets them again."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self._more = threading.Event()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="realnet-writeback", daemon=True)
        self._thread.start()

    def poke(self) -> None:
        self._more.set()

    def _run(self) -> None:
        while True:
            self._more.wait()
            self._more.clear()
            if self._stopping:
                return
            try:
                os.fdatasync(self.fd)
            except OSError:
                return

    def stop(self) -> None:
        self._stopping = True
        self._more.set()
        self._thread.join()
