"""File content: put (upload), fetch (download, verified), storage gc.

Bytes stream in 1 MiB chunks both ways, so memory stays flat for any size; a rich
progress bar shows on a terminal, nothing extra in a pipe.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
import signal
import stat
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from realnet.commands.common import output_option, parents_option, session_of
from realnet.commands.output import ItemList, Record, Text
from realnet.commands.session import Session
from realnet.core import paths
from realnet.core.errors import InvalidName, NotFound, RealnetError, StoreError

CHUNK = 1024 * 1024
#: What error lines must not print raw: control characters (a newline would split the
#: line) and the surrogates Python keeps bytes that are not UTF-8 in.
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
#: Kinds of local files that ``put -r`` refuses: reading a pipe may wait for ever, and none
#: of them has bytes to keep.
_SPECIAL = {stat.S_IFIFO: "a named pipe (FIFO)", stat.S_IFSOCK: "a socket",
            stat.S_IFCHR: "a character device", stat.S_IFBLK: "a block device"}


def _shown(path: object) -> str:
    """A local path or a name as an error line can show it: on one line, printable."""
    def escape(found: re.Match[str]) -> str:
        code = ord(found.group())
        return f"\\x{code - 0xDC00:02x}" if 0xDC80 <= code <= 0xDCFF else repr(found.group())[1:-1]

    return _UNPRINTABLE.sub(escape, str(path))


def _read_chunks(handle: Any, progress: Any, task: Any, source: object = "stdin") -> Iterator[bytes]:
    while True:
        try:
            chunk = handle.read(CHUNK)
        except OSError as e:
            raise RealnetError(f"{source}: cannot read ({e.strerror or e}); nothing was stored") from None
        if not chunk:
            return
        if progress is not None:
            progress.advance(task, len(chunk))
        yield chunk


@contextmanager
def _progress(session: Session, label: str, total: int | None) -> Iterator[tuple[Any, Any]]:
    """A progress bar on a terminal (stderr), none in a pipe."""
    if not (session.interactive and session.stderr.isatty()):
        yield None, None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
               TimeRemainingColumn())
    with Progress(*columns, console=Console(file=session.stderr), transient=True) as progress:
        yield progress, progress.add_task(label, total=total)


class ByteProgress:
    """What the core's long transfers report to (``realnet.core.archive.Progress``)."""

    def __init__(self, progress: Any, task: Any) -> None:
        self.progress, self.task = progress, task

    def total(self, size: int) -> None:
        if self.progress is not None:
            self.progress.update(self.task, total=size)

    def advance(self, size: int) -> None:
        if self.progress is not None:
            self.progress.advance(self.task, size)


@contextmanager
def byte_progress(session: Session, label: str) -> Iterator[ByteProgress]:
    """A progress bar whose total is told later; none in a pipe."""
    with _progress(session, label, None) as (progress, task):
        yield ByteProgress(progress, task)


def _open_local(source: Path, *, regular_only: bool = False) -> Any:
    """The local file's bytes (a ``FileBytes``: the local content store copies them in the
    kernel), or a one-line error naming the file. ``regular_only`` (a file of a ``put -r``
    tree, checked to be one before): opened without following a link or waiting on a pipe,
    and refused unless it is still a regular file."""
    from realnet.storage.filebytes import FileBytes

    shown = _shown(source)

    def unreadable(error: OSError) -> RealnetError:
        return RealnetError(f"{shown}: cannot read ({error.strerror or error}); nothing was stored")

    flags = os.O_RDONLY | os.O_CLOEXEC | (os.O_NOFOLLOW | os.O_NONBLOCK if regular_only else 0)
    try:
        fd = os.open(source, flags)
    except FileNotFoundError:
        raise NotFound(shown, "no such local file") from None
    except PermissionError:
        raise RealnetError(f"{shown}: permission denied (cannot read this local file)") from None
    except OSError as e:
        raise RealnetError(f"{shown}: cannot read ({e.strerror})") from None
    mode = os.fstat(fd).st_mode
    if stat.S_ISDIR(mode):
        os.close(fd)
        raise RealnetError(f"{shown}: is a directory (use -r to put a folder tree)")
    if regular_only and not stat.S_ISREG(mode):
        os.close(fd)
        raise RealnetError(f"{shown}: is no longer a regular file (it changed while being put)")
    return FileBytes(fd, unreadable=unreadable)


def put_file(session: Session, source: Path, target: str, *, content_type: str | None,
             parents: bool, regular_only: bool = False) -> Any:
    content = _open_local(source, regular_only=regular_only)
    try:
        size = os.fstat(content.fd).st_size if content.regular else None
        with _progress(session, f"put {source.name}", size) as (progress, task):
            if progress is not None:
                content.on_chunk = lambda moved: progress.advance(task, moved)
            return session.context.put_content(target, content, content_type=content_type, parents=parents)
    finally:
        content.close()


def _target_for(session: Session, source_name: str, target: str | None) -> str:
    context = session.context
    if target is None:
        return paths.join(session.cwd, source_name)
    resolved = session.resolve_new(target) if not target.endswith("/") else session.resolve(target)
    existing = context._exists_for_me(resolved)
    if target.endswith("/") or (existing is not None and context.can_hold_children(existing)):
        return paths.join(resolved, source_name)
    return resolved


def _stdin_target(session: Session, target: str) -> str:
    """The item stdin goes to. A trailing slash names a folder, as for a file, but stdin
    has no name to give the new file in it."""
    if not target.endswith("/"):
        return session.resolve_new(target)
    existing = session.context._exists_for_me(session.resolve(target))
    if existing is None:
        raise NotFound(_shown(target), "no such folder")
    if not session.context.can_hold_children(existing):
        raise RealnetError(f"{_shown(target)}: not a folder (a {existing.type})")
    raise click.UsageError(f"put -: name the file to create in {_shown(target)} (stdin has no name)")


def _grace(ctx: click.Context, param: click.Parameter, value: float) -> float:
    if not math.isfinite(value):  # FloatRange lets NaN through, and NaN compares as no age
        raise click.BadParameter(f"{value} is not a number of seconds", ctx=ctx, param=param)
    return value


def register(group: click.Group) -> None:
    @group.command("put")
    # readable=False: an unreadable file gets this command's own one-line error, exit 1.
    @click.argument("source", type=click.Path(path_type=Path, dir_okay=True, allow_dash=True, readable=False))
    @click.argument("target", required=False)
    @click.option("-r", "--recursive", is_flag=True, help="Put a local folder with everything in it.")
    @click.option("--content-type", help="MIME type (default: guessed from the name).")
    @parents_option
    @output_option
    @click.pass_context
    def put(ctx, source, target, recursive, content_type, parents, output):
        """Upload a local file (or '-' for stdin) as a File item; replaces the content of an existing one."""
        session = session_of(ctx)
        if str(source) == "-":
            if target is None:
                raise click.UsageError("put -: name the target item when reading stdin")
            resolved = _stdin_target(session, target)
            stream = sys.stdin.buffer
            item = session.context.put_content(resolved, _read_chunks(stream, None, None),
                                               content_type=content_type, parents=parents)
            items = [item]
        elif source.is_dir():
            if not recursive:
                raise RealnetError(f"{source}: is a directory (use -r to put a folder tree)")
            items = _put_tree(session, source, _target_for(session, source.resolve().name, target),
                              content_type=content_type, parents=parents)
        else:
            items = [put_file(session, source, _target_for(session, source.name, target),
                              content_type=content_type, parents=parents)]
        if output == "table":
            for item in items:
                sha = item.attributes.get("sha256")  # a file on a mounted folder has none
                digest = f", sha256 {sha[:12]}…" if isinstance(sha, str) else ""
                session.emit(Text(f"put {item.path} ({item.attributes.get('size', 0):,} bytes{digest})"))
        else:
            session.emit(ItemList(tuple(items)), output)

    @group.command("fetch")
    @click.argument("path")
    # A string, not a Path: Path drops the trailing slash that says "a folder".
    @click.argument("destination", required=False, type=click.Path(allow_dash=True))
    @click.option("-f", "--force", is_flag=True, help="Overwrite an existing local file.")
    @output_option
    @click.pass_context
    def fetch(ctx, path, destination, force, output):
        """Download a File item's content to a local file (or '-' for stdout), checking size and sha256."""
        session = session_of(ctx)
        resolved = session.resolve(path)
        item, chunks = session.context.read_content(resolved)
        if destination == "-":
            stream_verified(session, item, chunks)
            return
        try:
            local = _destination(destination, item.name, force=force)
        except BaseException:
            _close(chunks)
            raise
        written = _download(session, item, chunks, local)
        session.emit(Record({"path": item.path, "file": str(local), "size": written,
                             "sha256": item.attributes.get("sha256")},
                            message=f"fetched {item.path} to {local} ({written:,} bytes, verified)"), output)

    @group.group("storage")
    def storage():
        """Content storage: gc removes content no item names any more."""

    @storage.command("gc")
    @click.option("--grace", type=click.FloatRange(0), default=3600.0, show_default=True, callback=_grace,
                  help="Leave content younger than this many seconds (a write may be finishing).")
    @output_option
    @click.pass_context
    def storage_gc(ctx, grace, output):
        """Remove content that no item names, and what interrupted uploads left behind."""
        from realnet.core.content import collect_garbage

        session = session_of(ctx)
        report = collect_garbage(session.context, grace=grace)
        session.emit(Record(report, message=f"checked {report['checked']} stored object(s); removed "
                                            f"{report['removed']} unused and {report['incomplete_removed']} "
                                            "incomplete"), output)


@dataclass
class _Tree:
    """What ``put -r`` will upload, relative to the source folder: folders (each after
    its parent) and regular files, in name order."""

    folders: list[tuple[str, ...]] = field(default_factory=list)
    files: list[tuple[Path, tuple[str, ...]]] = field(default_factory=list)


def _plan_tree(session: Session, source: Path) -> _Tree:
    """The whole local tree, checked before anything is created: a named pipe would block
    the upload, a socket or device fail it, and a name no item can have or a folder that
    cannot be read stop it half way. The first such entry is refused; links are noted and
    not followed."""
    tree = _Tree()
    pending: list[tuple[Path, tuple[str, ...]]] = [(source, ())]
    while pending:
        folder, parts = pending.pop()
        try:
            with os.scandir(folder) as listing:
                entries = sorted(listing, key=lambda entry: entry.name)
        except OSError as e:
            raise RealnetError(f"{_shown(folder)}: cannot read this folder ({e.strerror}); "
                               "nothing was put") from None
        below: list[tuple[Path, tuple[str, ...]]] = []
        for entry in entries:
            local = Path(entry.path)
            try:
                mode = entry.stat(follow_symlinks=False).st_mode
            except OSError as e:
                raise RealnetError(f"{_shown(local)}: cannot read ({e.strerror}); nothing was put") from None
            if stat.S_ISLNK(mode):
                session.note(f"{_shown(local)}: a symbolic link, not followed")
                continue
            try:
                paths.check_name(entry.name, where=_shown(local))
            except InvalidName as e:
                raise InvalidName(f"{e}; nothing was put") from None
            if stat.S_ISDIR(mode):
                tree.folders.append((*parts, entry.name))
                below.append((local, (*parts, entry.name)))
            elif stat.S_ISREG(mode):
                if not os.access(local, os.R_OK):
                    raise RealnetError(f"{_shown(local)}: permission denied (cannot read this local file); "
                                       "nothing was put")
                tree.files.append((local, (*parts, entry.name)))
            else:
                kind = _SPECIAL.get(stat.S_IFMT(mode), "not a regular file")
                raise RealnetError(f"{_shown(local)}: {kind}; put -r takes regular files and folders only, "
                                   "nothing was put")
        pending.extend(reversed(below))
    return tree


def _refuse_into_itself(session: Session, source: Path, target: str) -> None:
    """A tree put into a mounted folder that is the source or lies inside it would walk
    what it writes (``cp -r`` refuses the same)."""
    context = session.context
    if "FileTree" not in context.types:
        return
    # The mount item above the target names the real folder, whatever provider serves it.
    # (Against a remote Realnet that folder is on the server; the same path here is
    # almost surely the same folder, and refusing is the safe side.)
    steps: list[str] = []
    at = target
    while True:
        item = context._exists_for_me(at)
        if item is not None and context.types.is_a(item.type, "FileTree") \
                and isinstance(item.attributes.get("path"), str):
            real = os.path.realpath(os.path.join(item.attributes["path"], *reversed(steps)))
            break
        if at == paths.ROOT:
            return
        steps.append(paths.name_of(at))
        at = paths.parent_of(at)
    origin = os.path.realpath(source)
    if real == origin or real.startswith(origin.rstrip(os.sep) + os.sep):
        raise RealnetError(f"cannot put {_shown(source)} into itself ({_shown(target)} is the folder "
                           f"{_shown(real)}); nothing was put")


def _put_tree(session: Session, source: Path, target: str, *, content_type: str | None,
              parents: bool) -> list[Any]:
    _refuse_into_itself(session, source, target)
    tree = _plan_tree(session, source)
    context = session.context
    items = []
    if context._exists_for_me(target) is None:
        context.create(target, "Folder", parents=parents)
    for parts in tree.folders:
        folder = paths.join(target, "/".join(parts))
        if context._exists_for_me(folder) is None:
            context.create(folder, "Folder")
    for local, parts in tree.files:
        items.append(put_file(session, local, paths.join(target, "/".join(parts)), content_type=content_type,
                              parents=False, regular_only=True))
    return items


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



def _destination(given: str | None, name: str, *, force: bool) -> Path:
    """The local file a fetch writes: ``given``, or ``name`` in it when it is a folder (or
    here). Anything already there, a link too (even one leading nowhere), needs ``force``;
    what is not a file (a device, a pipe), nor a link to one, is never replaced."""
    local = Path(name) if given is None else Path(given)
    if given is not None and given.endswith("/") and not local.is_dir():
        if os.path.lexists(local):
            raise RealnetError(f"{_shown(given)}: not a folder")
        raise NotFound(_shown(given), "no such folder")
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
        raise RealnetError(f"{_shown(local)}: cannot write ({e.strerror})") from None
    if not (stat.S_ISREG(mode) or stat.S_ISLNK(mode)):
        raise RealnetError(f"{_shown(local)}: not a regular file; fetch writes files "
                           "('-' for standard output)")
    if not force:
        raise RealnetError(f"{_shown(local)}: exists (use -f to overwrite)")
    return local


def _close(chunks: Any) -> None:
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


def _download(session: Session, item: Any, chunks: Iterator[bytes], local: Path) -> int:
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
                    _progress(session, f"fetch {item.name}", expected_size) as (bar, task):
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
            raise RealnetError(f"{_shown(local)}: cannot write ({e.strerror})") from None
        finally:
            _close(chunks)
            if partial is not None:
                with suppress(OSError):
                    os.unlink(partial)
    return written
