"""The local side of ``put``: stdin and local files read in 1 MiB chunks (memory stays
flat for any size), and a folder tree walked and checked whole before ``put -r`` creates
anything."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from realnet.commands.progress import progress_bar, shown
from realnet.commands.session import Session
from realnet.core import paths
from realnet.core.errors import InvalidName, NotFound, RealnetError

CHUNK = 1024 * 1024
#: Kinds of local files that ``put -r`` refuses: reading a pipe may wait for ever, and none
#: of them has bytes to keep.
_SPECIAL = {stat.S_IFIFO: "a named pipe (FIFO)", stat.S_IFSOCK: "a socket",
            stat.S_IFCHR: "a character device", stat.S_IFBLK: "a block device"}


def read_chunks(handle: Any, progress: Any, task: Any, source: object = "stdin") -> Iterator[bytes]:
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


def _open_local(source: Path, *, regular_only: bool = False) -> Any:
    """The local file's bytes (a ``FileBytes``: the local content store copies them in the
    kernel), or a one-line error naming the file. ``regular_only`` (a file of a ``put -r``
    tree, checked to be one before): opened without following a link or waiting on a pipe,
    and refused unless it is still a regular file."""
    from realnet.storage.filebytes import FileBytes

    where = shown(source)

    def unreadable(error: OSError) -> RealnetError:
        return RealnetError(f"{where}: cannot read ({error.strerror or error}); nothing was stored")

    flags = os.O_RDONLY | os.O_CLOEXEC | (os.O_NOFOLLOW | os.O_NONBLOCK if regular_only else 0)
    try:
        fd = os.open(source, flags)
    except FileNotFoundError:
        raise NotFound(where, "no such local file") from None
    except PermissionError:
        raise RealnetError(f"{where}: permission denied (cannot read this local file)") from None
    except OSError as e:
        raise RealnetError(f"{where}: cannot read ({e.strerror})") from None
    mode = os.fstat(fd).st_mode
    if stat.S_ISDIR(mode):
        os.close(fd)
        raise RealnetError(f"{where}: is a directory (use -r to put a folder tree)")
    if regular_only and not stat.S_ISREG(mode):
        os.close(fd)
        raise RealnetError(f"{where}: is no longer a regular file (it changed while being put)")
    return FileBytes(fd, unreadable=unreadable)


def put_file(session: Session, source: Path, target: str, *, content_type: str | None,
             parents: bool, regular_only: bool = False) -> Any:
    content = _open_local(source, regular_only=regular_only)
    try:
        size = os.fstat(content.fd).st_size if content.regular else None
        with progress_bar(session, f"put {source.name}", size) as (progress, task):
            if progress is not None:
                content.on_chunk = lambda moved: progress.advance(task, moved)
            return session.context.put_content(target, content, content_type=content_type, parents=parents)
    finally:
        content.close()


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
            raise RealnetError(f"{shown(folder)}: cannot read this folder ({e.strerror}); "
                               "nothing was put") from None
        below: list[tuple[Path, tuple[str, ...]]] = []
        for entry in entries:
            local = Path(entry.path)
            try:
                mode = entry.stat(follow_symlinks=False).st_mode
            except OSError as e:
                raise RealnetError(f"{shown(local)}: cannot read ({e.strerror}); nothing was put") from None
            if stat.S_ISLNK(mode):
                session.note(f"{shown(local)}: a symbolic link, not followed")
                continue
            try:
                paths.check_name(entry.name, where=shown(local))
            except InvalidName as e:
                raise InvalidName(f"{e}; nothing was put") from None
            if stat.S_ISDIR(mode):
                tree.folders.append((*parts, entry.name))
                below.append((local, (*parts, entry.name)))
            elif stat.S_ISREG(mode):
                if not os.access(local, os.R_OK):
                    raise RealnetError(f"{shown(local)}: permission denied (cannot read this local file); "
                                       "nothing was put")
                tree.files.append((local, (*parts, entry.name)))
            else:
                kind = _SPECIAL.get(stat.S_IFMT(mode), "not a regular file")
                raise RealnetError(f"{shown(local)}: {kind}; put -r takes regular files and folders only, "
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
        raise RealnetError(f"cannot put {shown(source)} into itself ({shown(target)} is the folder "
                           f"{shown(real)}); nothing was put")


def put_tree(session: Session, source: Path, target: str, *, content_type: str | None,
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
