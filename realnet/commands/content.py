"""File content: put (upload), fetch (download, verified), storage gc.

Bytes stream in 1 MiB chunks both ways, so memory stays flat for any size; a rich
progress bar shows on a terminal, nothing extra in a pipe.
"""

from __future__ import annotations

import hashlib
import os
import stat
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import click

from realnet.commands.common import output_option, parents_option, session_of
from realnet.commands.output import ItemList, Record, Text
from realnet.commands.session import Session
from realnet.core import paths
from realnet.core.errors import NotFound, RealnetError, StoreError

CHUNK = 1024 * 1024


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


def _open_local(source: Path) -> Any:
    """The local file's bytes (a ``FileBytes``: the local content store copies them in the
    kernel), or a one-line error naming the file."""
    from realnet.storage.filebytes import FileBytes

    def unreadable(error: OSError) -> RealnetError:
        return RealnetError(f"{source}: cannot read ({error.strerror or error}); nothing was stored")

    try:
        fd = os.open(source, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        raise NotFound(str(source), "no such local file") from None
    except PermissionError:
        raise RealnetError(f"{source}: permission denied (cannot read this local file)") from None
    except OSError as e:
        raise RealnetError(f"{source}: cannot read ({e.strerror})") from None
    if stat.S_ISDIR(os.fstat(fd).st_mode):
        os.close(fd)
        raise RealnetError(f"{source}: is a directory (use -r to put a folder tree)")
    return FileBytes(fd, unreadable=unreadable)


def put_file(session: Session, source: Path, target: str, *, content_type: str | None,
             parents: bool) -> Any:
    content = _open_local(source)
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
            stream = sys.stdin.buffer
            item = session.context.put_content(session.resolve_new(target),
                                               _read_chunks(stream, None, None),
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
    @click.argument("destination", required=False, type=click.Path(path_type=Path, allow_dash=True))
    @click.option("-f", "--force", is_flag=True, help="Overwrite an existing local file.")
    @output_option
    @click.pass_context
    def fetch(ctx, path, destination, force, output):
        """Download a File item's content to a local file (or '-' for stdout), checking size and sha256."""
        session = session_of(ctx)
        resolved = session.resolve(path)
        item, chunks = session.context.read_content(resolved)
        if destination is not None and str(destination) == "-":
            stream_verified(session, item, chunks)
            return
        local = Path(destination) if destination is not None else Path(item.name)
        if local.is_dir():
            local = local / item.name
        if local.exists() and not local.is_file():  # a device, a pipe: renaming over it would replace it
            raise RealnetError(f"{local}: not a regular file; fetch writes files ('-' for standard output)")
        if local.exists() and not force:
            raise RealnetError(f"{local}: exists (use -f to overwrite)")
        written = _download(session, item, chunks, local)
        session.emit(Record({"path": item.path, "file": str(local), "size": written,
                             "sha256": item.attributes.get("sha256")},
                            message=f"fetched {item.path} to {local} ({written:,} bytes, verified)"), output)

    @group.group("storage")
    def storage():
        """Content storage: gc removes content no item names any more."""

    @storage.command("gc")
    @click.option("--grace", type=click.FloatRange(0), default=3600.0, show_default=True,
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


def _put_tree(session: Session, source: Path, target: str, *, content_type: str | None,
              parents: bool) -> list[Any]:
    context = session.context
    items = []
    if context._exists_for_me(target) is None:
        context.create(target, "Folder", parents=parents)
    for folder, dirs, files in os.walk(source, followlinks=False):
        for name in [d for d in dirs if (Path(folder) / d).is_symlink()]:
            session.note(f"{Path(folder) / name}: a symbolic link, not followed")
            dirs.remove(name)
        dirs.sort()
        relative = Path(folder).relative_to(source)
        base = target if str(relative) == "." else paths.join(target, "/".join(relative.parts))
        for name in dirs:
            if context._exists_for_me(paths.join(base, name)) is None:
                context.create(paths.join(base, name), "Folder")
        for name in sorted(files):
            local = Path(folder) / name
            if local.is_symlink():
                session.note(f"{local}: a symbolic link, not followed")
                continue
            items.append(put_file(session, local, paths.join(base, name), content_type=content_type,
                                  parents=False))
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



def _download(session: Session, item: Any, chunks: Iterator[bytes], local: Path) -> int:
    """Write to a temporary file beside ``local``, verify, then rename into place.

    Bytes of a local file (the local content store, a mounted folder) are copied in the
    kernel; either way the SHA-256 checked is of what was written."""
    from realnet.storage.filebytes import FileBytes

    expected_size = item.attributes.get("size")
    expected_sha = item.attributes.get("sha256")
    partial = local.with_name(f".{local.name}.realnet-part")
    try:
        with partial.open("wb+", buffering=0) as out, \
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
        os.replace(partial, local)
    except OSError as e:
        raise RealnetError(f"{local}: cannot write ({e.strerror})") from None
    finally:
        with suppress(OSError):
            partial.unlink()
    return written

