"""File content: put (upload), fetch (download, verified), storage gc.

Bytes stream in 1 MiB chunks both ways, so memory stays flat for any size; a rich
progress bar shows on a terminal, nothing extra in a pipe. The local side of each
is in ``upload``, ``download`` and ``transfer``.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import click

from realnet.commands.common import output_option, parents_option, session_of
from realnet.commands.download import close_content, download, local_destination, stream_verified
from realnet.commands.output import ItemList, Record, Text
from realnet.commands.progress import byte_progress, shown
from realnet.commands.session import Session
from realnet.commands.upload import put_file, put_tree, read_chunks
from realnet.core import paths
from realnet.core.errors import NotFound, RealnetError

#: Imported from here by other commands (``admin``, ``navigate``).
__all__ = ["byte_progress", "register", "stream_verified"]


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
        raise NotFound(shown(target), "no such folder")
    if not session.context.can_hold_children(existing):
        raise RealnetError(f"{shown(target)}: not a folder (a {existing.type})")
    raise click.UsageError(f"put -: name the file to create in {shown(target)} (stdin has no name)")


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
            item = session.context.put_content(resolved, read_chunks(stream, None, None),
                                               content_type=content_type, parents=parents)
            items = [item]
        elif source.is_dir():
            if not recursive:
                raise RealnetError(f"{source}: is a directory (use -r to put a folder tree)")
            items = put_tree(session, source, _target_for(session, source.resolve().name, target),
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
            local = local_destination(destination, item.name, force=force)
        except BaseException:
            close_content(chunks)
            raise
        written = download(session, item, chunks, local)
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
