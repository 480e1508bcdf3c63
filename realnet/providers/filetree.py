"""A folder of this machine mounted as a subtree: folders are Folders, files are Files.

Nothing outside the mounted folder is ever reached. A symbolic link that leads out of
it is neither listed nor followed; paths are resolved and then opened component by
component with ``O_NOFOLLOW`` from the mounted folder down, so a link swapped in
between the check and the open fails instead of escaping. A link inside shows as what
it leads to, but deleting or renaming it changes the link alone, and a walk (find,
tree) looks into each folder once, so a link back up cannot make it endless. Listing a
large folder reads its names once (cached until the folder changes) and looks at the
files of one page only, so the first page of 100,000 files costs one directory read and
a hundred stats.
"""

from __future__ import annotations

import contextlib
import heapq
import os
import shutil
import stat
import sys
import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from realnet.core import paths
from realnet.core.access import Visibility
from realnet.core.errors import (
    AlreadyExists,
    InvalidPath,
    NotEmpty,
    NotFound,
    RealnetError,
    StoreError,
    ValidationError,
)
from realnet.core.item import ChildrenPage, Item, ItemDraft
from realnet.providers.listing import timestamp, visible_to
from realnet.providers.mounted import MountedProvider, keep_owner
from realnet.providers.sql import cursors

FOLDER, FILE = "Folder", "File"
_LISTINGS: OrderedDict[str, tuple[tuple[int, int], list[str]]] = OrderedDict()
_LISTINGS_SIZE = 64
_LISTINGS_LOCK = threading.Lock()
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
_ON_ERROR = "onexc" if sys.version_info >= (3, 12) else "onerror"  # 3.12 deprecates onerror
_EFFECTIVE = os.access in os.supports_effective_ids


def _valid_name(name: str) -> bool:
    if name.isprintable() and len(name) <= 63 and name not in (".", ".."):
        return True  # the common case, in C: no control characters, surrogates or long names
    try:
        paths.check_name(name)
        name.encode("utf-8")
    except (RealnetError, UnicodeEncodeError):
        return False  # bytes that are not UTF-8, control characters: no item can name it
    return True


def _readable(text: str) -> str:
    """A name from the disk as a message can show it: bytes that are not UTF-8 and control
    characters escaped."""
    text = text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)


class FileTreeProvider(MountedProvider):
    kind = "folder"
    capabilities = frozenset({"content"})
    changes_at_once = True

    def __init__(self, mount: Item, *, source: str, read_only: bool) -> None:
        super().__init__(mount, source=source, read_only=read_only)
        self.root = os.path.realpath(source)

    # -- where things are ----------------------------------------------------------------
    def _shown(self, real: str) -> str:
        if real == self.root:
            return self.source
        return os.path.join(self.source, os.path.relpath(real, self.root))

    def _real(self, path: str) -> str:
        """The real location of ``path``, refused when it would lead out of the folder."""
        real = os.path.realpath(os.path.join(self.root, *self.segments(path)))
        if real != self.root and not real.startswith(self.root + os.sep):
            raise InvalidPath(f"{path}: a symbolic link leads outside the mounted folder {self.source}; "
                              "it is not followed")
        return real

    def _located(self, path: str) -> tuple[str, str]:
        """(real parent folder, name) of ``path``: the last step is not followed, so for a
        link it is the link itself."""
        parent = paths.parent_of(path)
        return (self.root if parent == self.base else self._real(parent)), paths.name_of(path)

    def _parts(self, real: str) -> list[str]:
        return [] if real == self.root else os.path.relpath(real, self.root).split(os.sep)

    def _open_folder(self, real: str) -> int:
        """A descriptor of the folder ``real``, reached without following any link."""
        try:
            fd = os.open(self.root, _DIR_FLAGS & ~os.O_NOFOLLOW)
        except OSError as e:
            raise self._error(e, self.root, self.base) from None
        try:
            for part in self._parts(real):
                next_fd = os.open(part, _DIR_FLAGS, dir_fd=fd)
                os.close(fd)
                fd = next_fd
        except OSError as e:
            os.close(fd)
            raise self._error(e, real, real) from None
        return fd

    def _error(self, error: OSError, real: str, path: str) -> RealnetError:
        shown = self._shown(real)
        if isinstance(error, FileNotFoundError):
            if real == self.root:
                return StoreError(f"{self.source}: the mounted folder does not exist")
            return NotFound(path)
        if isinstance(error, PermissionError):
            return StoreError(f"{shown}: permission denied (this process cannot use it)")
        if error.errno in (getattr(os, "ELOOP", 40), getattr(os, "ENOTDIR", 20)):
            return InvalidPath(f"{path}: changed into a symbolic link while being used; not followed")
        return StoreError(f"{shown}: {error.strerror}")

    def _stat(self, path: str, real: str) -> os.stat_result:
        try:
            return os.stat(real, follow_symlinks=False)
        except OSError as e:
            raise self._error(e, real, path) from None

    def _item(self, path: str, st: os.stat_result) -> Item | None:
        from realnet.core.content import guess_type

        if stat.S_ISDIR(st.st_mode):
            type_name, attributes = FOLDER, {}
        elif stat.S_ISREG(st.st_mode):
            type_name = FILE
            attributes = {"content_type": guess_type(paths.name_of(path)), "size": st.st_size}
        else:
            return None  # sockets, devices, pipes: not items
        return self.make_item(path, type_name, attributes, version=st.st_mtime_ns // 1000 or 1,
                              updated=timestamp(st.st_mtime))

    # -- reading ---------------------------------------------------------------------------
    def get(self, path: str) -> Item:
        if path == self.base:
            return self.root_node()
        real = self._real(path)
        item = self._item(path, self._stat(path, real))
        if item is None:
            raise NotFound(path, "not a regular file or folder")
        return item

    def root_node(self) -> Item:
        st = self._stat(self.base, self.root)
        if not stat.S_ISDIR(st.st_mode):
            raise StoreError(f"{self.source}: not a folder")
        return self.make_item(self.base, FOLDER, {}, version=st.st_mtime_ns // 1000 or 1,
                              updated=timestamp(st.st_mtime))._replace(id=self.mount.id,
                                                                         parent_id=self.mount.parent_id)

    def _names(self, path: str, real: str) -> list[str]:
        """The names in a folder, unsorted and unchecked, read again only when it changed."""
        st = self._stat(path, real)
        if not stat.S_ISDIR(st.st_mode):
            raise ValidationError(f"{path}: a file, not a folder")
        key = (st.st_ino, st.st_mtime_ns)
        with _LISTINGS_LOCK:
            cached = _LISTINGS.get(real)
            if cached is not None and cached[0] == key:
                _LISTINGS.move_to_end(real)
                return cached[1]
        fd = self._open_folder(real)
        try:
            names = os.listdir(fd)
        finally:
            os.close(fd)
        with _LISTINGS_LOCK:
            _LISTINGS[real] = (key, names)
            while len(_LISTINGS) > _LISTINGS_SIZE:
                _LISTINGS.popitem(last=False)
        return names

    def _entry(self, folder: str, real_folder: str, name: str) -> tuple[Item, str, bool] | None:
        """The item the entry ``name`` of a folder shows as, where that really is, and
        whether a link leads there; None when it shows as no item."""
        path = paths.join(folder, name)
        real = os.path.join(real_folder, name)
        try:
            st = os.stat(real, follow_symlinks=False)
            linked = stat.S_ISLNK(st.st_mode)
            if linked:
                real = self._real(path)
                st = os.stat(real, follow_symlinks=False)
        except (OSError, InvalidPath):
            return None  # gone meanwhile, unreadable, or a link that leads out: not shown
        item = self._item(path, st)
        return None if item is None else (item, real, linked)

    def _child(self, folder: str, real_folder: str, name: str) -> Item | None:
        found = self._entry(folder, real_folder, name)
        return None if found is None else found[0]

    def all_items(self, root: str, max_depth: int | None) -> Iterator[Item]:
        """Every item below ``root``, looking into each folder once: a link back up would
        make the walk endless, and links to links grow it exponentially. Folders reached
        without a link are walked before any link is followed, so what lies below ``root``
        shows at its own path rather than only through a link to it."""
        real_root = self.root if root == self.base else self._real(root)
        plain: list[tuple[str, str, int]] = [(root, real_root, 0)]
        linked: list[tuple[str, str, int]] = []
        seen: set[tuple[int, int]] = set()
        while plain or linked:
            folder, real, depth = plain.pop() if plain else linked.pop()
            if max_depth is not None and depth >= max_depth:
                continue
            st = self._stat(folder, real)
            if (st.st_dev, st.st_ino) in seen:
                continue
            seen.add((st.st_dev, st.st_ino))
            for name in sorted(self._names(folder, real)):
                found = self._entry(folder, real, name) if _valid_name(name) else None
                if found is None:
                    continue
                item, real_child, through_link = found
                yield item
                if item.type == FOLDER:
                    (linked if through_link else plain).append((item.path, real_child, depth + 1))

    def _on_disk(self, folder: str, real_folder: str) -> Iterator[tuple[str, tuple[Item, str, bool] | None]]:
        """Everything a real folder holds, all the way down, without following links (what
        removing the folder removes): where each entry is, and what it shows as."""
        stack = [(folder, real_folder)]
        while stack:
            folder, real_folder = stack.pop()
            for name in sorted(self._names(folder, real_folder)):
                found = self._entry(folder, real_folder, name) if _valid_name(name) else None
                yield os.path.join(real_folder, name), found
                if found is not None and found[0].type == FOLDER and not found[2]:
                    stack.append((found[0].path, found[1]))

    def left_behind(self, path: str) -> list[str]:
        """What moving ``path`` out of the mount would lose or leave behind: entries that
        show as no item (the copy cannot carry them), and folders this process may not
        remove entries from."""
        real_parent, name = self._located(path)
        real = os.path.join(real_parent, name)
        folders, found = [real_parent], []
        if stat.S_ISDIR(self._stat(path, real).st_mode):  # a link goes alone, whatever it leads to
            folders.append(real)
            for real_child, entry in self._on_disk(path, real):
                if entry is None:
                    found.append(f"{_readable(self._shown(real_child))} ({self._why_unshown(real_child)})")
                elif entry[0].type == FOLDER and not entry[2]:
                    folders.append(real_child)
        found += [f"{_readable(self._shown(f))} (this process may not remove what it holds)"
                  for f in folders if not os.access(f, os.W_OK | os.X_OK, effective_ids=_EFFECTIVE)]
        return found

    def _why_unshown(self, real: str) -> str:
        if not _valid_name(os.path.basename(real)):
            return "a name no item can have: not UTF-8, control characters or too long"
        if not os.path.islink(real):
            return "neither a file nor a folder"
        target = os.path.realpath(real)
        if target != self.root and not target.startswith(self.root + os.sep):
            return "a link leading out of the mounted folder"
        if not os.path.lexists(target):
            return "a link leading nowhere"
        return "a link to neither a file nor a folder"

    def child_items(self, path: str) -> list[Item]:
        real = self.root if path == self.base else self._real(path)
        items = (self._child(path, real, n) for n in sorted(self._names(path, real)) if _valid_name(n))
        return [i for i in items if i is not None]

    def children(self, path: str, *, order: str = "name", limit: int = 100, cursor: str | None = None,
                 name_prefix: str | None = None, visible: Visibility | None = None) -> ChildrenPage:
        key, descending = cursors.parse_order(order)
        if key != "name":
            return super().children(path, order=order, limit=limit, cursor=cursor,
                                    name_prefix=name_prefix, visible=visible)
        real = self.root if path == self.base else self._real(path)
        candidates = self._names(path, real)
        if name_prefix:
            candidates = [n for n in candidates if n.startswith(name_prefix)]
        if cursor is not None:
            (last,) = cursors.decode(cursor, 1)
            candidates = [n for n in candidates if (n < last if descending else n > last)]
        # A page needs the first names in order, not all of them sorted: a partial
        # selection is linear in the folder's size; widen it if names were skipped.
        select = heapq.nlargest if descending else heapq.nsmallest
        wanted = limit + 1
        while True:
            chosen = select(wanted, candidates)
            page: list[Item] = []
            more = False
            for name in chosen:
                item = self._child(path, real, name) if _valid_name(name) else None
                if item is None or not visible_to(item, visible):
                    continue
                if len(page) == limit:
                    more = True
                    break
                page.append(item)
            if more or len(chosen) < wanted:
                break
            wanted *= 4
        next_cursor = cursors.encode([page[-1].name]) if more and page else None
        return ChildrenPage(items=tuple(page), next_cursor=next_cursor)

    def has_children(self, item: Item) -> bool:
        return item.type == FOLDER

    def count_children(self, path: str) -> int:
        return len(self.child_items(path))

    def read_content(self, path: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        real = self._real(path)
        folder = self._open_folder(os.path.dirname(real))
        try:
            fd = os.open(os.path.basename(real), os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0),
                         dir_fd=folder)
        except OSError as e:
            raise self._error(e, real, path) from None
        finally:
            os.close(folder)
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise ValidationError(f"{path}: a folder, not a file")
        from realnet.storage.filebytes import FileBytes

        return FileBytes(fd, start, end, unreadable=lambda e: self._error(e, real, path))

    # -- writing ------------------------------------------------------------------------
    def _target(self, path: str) -> tuple[str, str]:
        """(real parent folder, name) for a new entry at ``path``."""
        self.check_writable(path)
        return self._located(path)

    def accept(self, draft: ItemDraft) -> ItemDraft:
        if draft.type == FILE or "storage_key" in draft.attributes:
            return draft._replace(type=FILE, attributes={})
        kept = {k: v for k, v in draft.attributes.items() if v not in (None, "")}
        if kept:
            raise ValidationError(f"{draft.path}: a folder on disk cannot keep attributes "
                                  f"({', '.join(sorted(kept))}); only folders and files can be copied here")
        return draft._replace(type=FOLDER, attributes={})

    def create(self, draft: ItemDraft) -> Item:
        real_parent, name = self._target(draft.path)
        if draft.type not in (FOLDER, FILE):
            raise ValidationError(f"{draft.path}: a mounted folder holds {FOLDER} and {FILE} items only, "
                                  f"not a {draft.type}")
        extra = set(draft.attributes) - {"content_type", "size"} if draft.type == FILE \
            else set(draft.attributes)
        if extra:
            raise ValidationError(f"{draft.path}: a {draft.type.lower()} on disk cannot keep attributes "
                                  f"({', '.join(sorted(extra))})")
        folder = self._open_folder(real_parent)
        try:
            if draft.type == FOLDER:
                os.mkdir(name, 0o777, dir_fd=folder)
            else:
                os.close(os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o666,
                                 dir_fd=folder))
        except FileExistsError:
            raise AlreadyExists(draft.path) from None
        except OSError as e:
            raise self._error(e, os.path.join(real_parent, name), draft.path) from None
        finally:
            os.close(folder)
        return self.get(draft.path)

    def update(self, path: str, attributes: Mapping[str, Any], *,
               expected_version: int | None = None) -> Item:
        current = self.get(path)
        self.check_writable(path)
        if dict(attributes) != dict(current.attributes):
            raise ValidationError(f"{path}: files and folders on disk have no attributes to set "
                                  "(size and content type come from the file)")
        return current

    def delete(self, path: str, *, recursive: bool = False) -> int:
        """Delete ``path`` from the disk; a link is removed itself, never what it leads to."""
        self.check_writable(path)
        self.get(path)
        real_parent, name = self._located(path)
        real = os.path.join(real_parent, name)
        is_folder = stat.S_ISDIR(self._stat(path, real).st_mode)
        count = 1
        if is_folder:
            count += sum(1 for _, entry in self._on_disk(path, real) if entry is not None)
            if count > 1 and not recursive:
                raise NotEmpty(f"{path}: has {count - 1} item(s) below it (use -r to delete them too)")
        folder = self._open_folder(real_parent)
        failed: list[tuple[str, OSError]] = []

        def note(function: Any, where: str, error: Any) -> None:
            # Go on with the rest, as rm -r does: after a move, its copy is in place.
            failed.append((where, error[1] if isinstance(error, tuple) else error))

        try:
            if is_folder:
                shutil.rmtree(name, dir_fd=folder, **{_ON_ERROR: note})
            else:
                os.unlink(name, dir_fd=folder)
        except OSError as e:
            raise self._error(e, real, path) from None
        finally:
            os.close(folder)
        if failed:  # the first is the cause: the folders above it then fail as not empty
            where, error = failed[0]
            raise self._error(error, os.path.join(real_parent, where), path)
        return count

    def move(self, source: str, target: str) -> Item:
        """Rename ``source`` on the disk; a link is renamed itself, never what it leads to."""
        self.check_writable(source)
        self.get(source)
        real_parent, name = self._located(source)
        target_parent, target_name = self._target(target)
        real = os.path.join(real_parent, name)
        if os.path.islink(real) and target_parent != real_parent and \
                os.path.realpath(os.path.join(target_parent, os.readlink(real))) != self._real(source):
            raise ValidationError(f"{source}: a symbolic link relative to its folder; at {target} it would "
                                  "lead elsewhere, so it is not moved there")
        from_folder = self._open_folder(real_parent)
        try:
            to_folder = self._open_folder(target_parent)
            try:
                if _lstat_at(target_name, to_folder) is not None:
                    raise AlreadyExists(target)
                os.rename(name, target_name, src_dir_fd=from_folder, dst_dir_fd=to_folder)
            finally:
                os.close(to_folder)
        except OSError as e:
            raise self._error(e, real, source) from None
        finally:
            os.close(from_folder)
        return self.get(target)

    def copy(self, source: str, target: str, *, owner: str) -> Item:
        item = self.get(source)
        real_source = self._real(source)
        real_parent, name = self._target(target)
        destination = os.path.join(real_parent, name)
        if os.path.lexists(destination):
            raise AlreadyExists(target)
        try:
            if item.type == FOLDER:
                shutil.copytree(real_source, destination, symlinks=True)
            else:
                shutil.copy2(real_source, destination, follow_symlinks=False)
        except OSError as e:
            raise self._error(e, real_source, source) from None
        return self.get(target)

    def write_content(self, path: str, chunks: Iterable[bytes], *, content_type: str | None = None) -> Item:
        """Write the bytes beside the file, fsync, and rename over it: all or nothing."""
        real_parent, name = self._target(path)
        folder = self._open_folder(real_parent)
        temporary = f".{name}.{os.getpid()}.{threading.get_ident()}.realnet-tmp"
        try:
            existing = _lstat_at(name, folder)
            if existing is not None and not stat.S_ISREG(existing.st_mode):
                raise ValidationError(f"{path}: not a file (a folder or a link is in the way)")
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o666,
                         dir_fd=folder)
            try:
                with os.fdopen(fd, "wb") as f:
                    if existing is not None:
                        # The new bytes keep who may read and run them: a private key stays
                        # private, a script runnable. Set-ID bits go, as a write to the file
                        # would drop them: these are someone else's bytes now.
                        keep_owner(f.fileno(), existing)
                        os.fchmod(f.fileno(), stat.S_IMODE(existing.st_mode) & 0o777)
                    for chunk in chunks:
                        f.write(chunk)
                    f.flush()
                    os.fsync(f.fileno())
                os.replace(temporary, name, src_dir_fd=folder, dst_dir_fd=folder)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(temporary, dir_fd=folder)
                raise
            os.fsync(folder)
        except OSError as e:
            raise self._error(e, os.path.join(real_parent, name), path) from None
        finally:
            os.close(folder)
        return self.get(path)


def _lstat_at(name: str, folder: int) -> os.stat_result | None:
    try:
        return os.stat(name, dir_fd=folder, follow_symlinks=False)
    except FileNotFoundError:
        return None

