"""The local side of ``fetch``: content written to stdout, or to a new temporary file that
is verified and renamed into place, and removed on any failure, Ctrl-C, SIGTERM or SIGHUP."""

from __future__ import annotations

import hashlib
import os
import signal
import stat
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from realnet.commands.progress import progress_bar, shown
from realnet.commands.session import Session
from realnet.core.errors import NotFound, RealnetError, StoreError


def stream_verified(session: Session, item: Any, chunks: Iterator[bytes]) -> None:
    """Write a file's bytes to stdout, then fail (exit 1) if they were not the stored ones:
    a pipeline cannot take them back, but it learns that it must not trust them."""
    out = getattr(session.stdout, "buffer", None)
    session.stdout.flush()
    digest = hashlib.sha256()
    written = 0
    for chunk in chunks:
        digest.update(chunk)
        written += len(chunk)
        if out is not None:
            out.write(chunk)
        else:
            session.stdout.write(chunk.decode("utf-8", errors="replace"))
    if out is not None:
        out.flush()
    expected_size, expected_sha = item.attributes.get("size"), item.attributes.get("sha256")
    if (expected_size is not None and written != expected_size) or \
            (expected_sha and digest.hexdigest() != expected_sha):
        raise StoreError(f"{item.path}: the stored content does not match its size and sha256 "
                         "(what was written is not to be trusted)")


def local_destination(given: str | None, name: str, *, force: bool) -> Path:
    """The local file a fetch writes: ``given``, or ``name`` in it when it is a folder (or
    here). Anything already there, a link too (even one leading nowhere), needs ``force``;
    what is not a file (a device, a pipe), nor a link to one, is never replaced."""
    local = Path(name) if given is None else Path(given)
    if given is not None and given.endswith("/") and not local.is_dir():
        if os.path.lexists(local):
            raise RealnetError(f"{shown(given)}: not a folder")
        raise NotFound(shown(given), "no such folder")
    if local.is_dir():
        local = local / name
    try:
        mode = os.lstat(local).st_mode
        if stat.S_ISLNK(mode):
            with suppress(OSError):  # a link leading nowhere (or round in a loop): replaced like a file
                mode = os.stat(local).st_mode
    except FileNotFoundError:
        return local
    except OSError as e:
        raise RealnetError(f"{shown(local)}: cannot write ({e.strerror})") from None
    if not (stat.S_ISREG(mode) or stat.S_ISLNK(mode)):
        raise RealnetError(f"{shown(local)}: not a regular file; fetch writes files "
                           "('-' for standard output)")
    if not force:
        raise RealnetError(f"{shown(local)}: exists (use -f to overwrite)")
    return local


def close_content(chunks: Any) -> None:
    """Let go of content not read after all (an open file, a connection)."""
    with suppress(Exception):
        close = getattr(chunks, "close", None)
        if close is not None:
            close()


class _Stopped(BaseException):
    def __init__(self, number: int) -> None:
        super().__init__(number)
        self.number = number


_ENDING = (signal.SIGTERM, getattr(signal, "SIGHUP", signal.SIGTERM))


@contextmanager
def _signals_end_here() -> Iterator[None]:
    """SIGTERM and SIGHUP end a process without running ``finally``: while a temporary
    file exists they raise instead, so that it is removed, and then end the process as
    they would have. Handlers someone else set are left alone."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught = sorted({n for n in _ENDING if signal.getsignal(n) == signal.SIG_DFL})

    def stop(number: int, frame: Any) -> None:
        raise _Stopped(number)

    for number in caught:
        signal.signal(number, stop)
    try:
        yield
    except _Stopped as stopped:
        for number in caught:
            signal.signal(number, signal.SIG_DFL)
        os.kill(os.getpid(), stopped.number)
        raise SystemExit(128 + stopped.number) from None  # only if the signal did not end us
    finally:
        for number in caught:
            signal.signal(number, signal.SIG_DFL)


@contextmanager
def _signals_held() -> Iterator[None]:
    """Hold SIGTERM and SIGHUP back until the end of the block: one arriving while a
    temporary file is being made is raised once its name is known, so it can be removed."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held = signal.pthread_sigmask(signal.SIG_BLOCK, _ENDING)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)


def _umask() -> int:
    mask = os.umask(0o077)  # the strictest, should another thread create a file meanwhile
    os.umask(mask)
    return mask


def download(session: Session, item: Any, chunks: Iterator[bytes], local: Path) -> int:
    """Write to a new temporary file beside ``local``, verify, then rename into place.

    The temporary file gets a random name of its own, created only if nothing (no link
    either) is there, and readable by its owner alone until complete; so nothing planted at
    its name redirects the bytes, two fetches to one file do not write into each other, and
    its name stays short beside a 255-byte one. Any failure, Ctrl-C or SIGTERM removes it.
    Bytes of a local file (the local content store, a mounted folder) are copied in the
    kernel; either way the SHA-256 checked is of what was written."""
    from realnet.storage.filebytes import FileBytes

    expected_size = item.attributes.get("size")
    expected_sha = item.attributes.get("sha256")
    partial: str | None = None
    with _signals_end_here():
        try:
            with _signals_held():
                fd, partial = tempfile.mkstemp(prefix=".realnet-", suffix=".part", dir=local.parent)
            with open(fd, "wb+", buffering=0) as out, \
                    progress_bar(session, f"fetch {item.name}", expected_size) as (bar, task):
                if isinstance(chunks, FileBytes):
                    if bar is not None:
                        chunks.on_chunk = lambda moved: bar.advance(task, moved)
                    copied = chunks.copy_into(out.fileno())
                    written, sha = copied.size, copied.hexdigest()
                else:
                    from realnet.storage.base import write_hashed

                    advance = (lambda moved: bar.advance(task, moved)) if bar is not None else None
                    written, sha = write_hashed(out, chunks, unwritable=lambda e: e, on_chunk=advance)
                if expected_size is not None and written != expected_size:
                    raise StoreError(f"{item.path}: got {written} bytes, expected {expected_size}; "
                                     "nothing was written")
                if expected_sha and sha != expected_sha:
                    raise StoreError(f"{item.path}: content does not match its sha256; nothing was written")
                os.fchmod(out.fileno(), 0o666 & ~_umask())  # as any new file, now that it is complete
            os.replace(partial, local)
            partial = None
        except OSError as e:
            raise RealnetError(f"{shown(local)}: cannot write ({e.strerror})") from None
        finally:
            close_content(chunks)
            if partial is not None:
                with suppress(OSError):
                    os.unlink(partial)
    return written
