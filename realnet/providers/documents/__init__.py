"""A JSON, YAML or XML file mounted as a subtree.

Reading parses the file once and keeps it while the file's fingerprint (inode, size,
modification and change times) stays the same. Every item's version is a digest of
the file's bytes, so an edit based on an older read is refused. A change reads the
file again for writing back, and is made durable in two steps the mount table drives:
``prepare`` writes a temporary file beside the original and fsyncs it, after checking
under a lock that the file still has the bytes the change was based on; ``commit``
renames it into place. A failure anywhere leaves the file as it was.
"""

from __future__ import annotations

import contextlib
import copy
import fcntl
import hashlib
import os
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from realnet.core import paths
from realnet.core.errors import Conflict, NotEmpty, RealnetError, StoreError, ValidationError
from realnet.core.item import Item, ItemDraft
from realnet.providers.documents import nodes
from realnet.providers.documents.codecs import CODECS, Codec
from realnet.providers.listing import timestamp
from realnet.providers.mounted import MountedProvider, keep_owner

#: Parsed documents kept between requests, most recently used last.
_CACHE: OrderedDict[str, Loaded] = OrderedDict()
_CACHE_SIZE = 8
_CACHE_LOCK = threading.Lock()


class Loaded(NamedTuple):
    fingerprint: tuple[int, ...]
    document: Any
    version: int
    updated: str


class Working(NamedTuple):
    document: Any
    version: int
    original: bytes


def _fingerprint(st: os.stat_result) -> tuple[int, ...]:
    return (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _version(data: bytes) -> int:
    # 48 bits: exact in every JSON reader, and a change of bytes always changes it in practice.
    return int.from_bytes(hashlib.blake2b(data, digest_size=6).digest(), "big") or 1


def read_source(source: str) -> tuple[bytes, os.stat_result]:
    """The bytes of a mounted file and its status, with errors that name it."""
    try:
        with open(source, "rb") as f:
            st = os.fstat(f.fileno())
            if not os.path.isfile(source):
                raise StoreError(f"{source}: not a regular file")
            return f.read(), st
    except FileNotFoundError:
        raise StoreError(f"{source}: no such file") from None
    except PermissionError:
        raise StoreError(f"{source}: permission denied (this process cannot read it)") from None
    except IsADirectoryError:
        raise StoreError(f"{source}: a folder, not a file") from None
    except OSError as e:
        raise StoreError(f"{source}: cannot read: {e.strerror}") from None


class DocumentProvider(MountedProvider):
    capabilities = frozenset({"documents"})

    def __init__(self, mount: Item, *, source: str, read_only: bool, codec: Codec,
                 allowed: Callable[[str], object] | None = None) -> None:
        self.kind = codec.kind
        super().__init__(mount, source=source, read_only=read_only)
        self.codec = codec
        self._allowed = allowed
        self._working: Working | None = None
        self._dirty = False
        self._dumped: bytes | None = None
        # (temporary file, locked descriptor, the file it replaces)
        self._pending: tuple[str, int, str] | None = None

    @property
    def real(self) -> str:
        """The file the mount stands for now, resolved at every use: a process that lives
        long (the shell, a server) must not follow a link swapped in since it opened the
        mount out of REALNET_MOUNT_PATHS; a link that moves within them (a Kubernetes
        ConfigMap's) is followed."""
        real = os.path.realpath(self.source)
        if self._allowed is not None:
            self._allowed(real)
        return real

    # -- reading -----------------------------------------------------------------------
    def _loaded(self) -> Loaded:
        real = self.real
        try:
            st = os.stat(real)
        except OSError:
            read_source(self.source)  # raises the error that names the file
            raise
        fingerprint = _fingerprint(st)
        with _CACHE_LOCK:
            cached = _CACHE.get(real)
            if cached is not None and cached.fingerprint == fingerprint:
                _CACHE.move_to_end(real)
                return cached
        data, st = read_source(real)
        try:
            document = self.codec.load(data, self.source)
        except ValidationError as e:
            raise StoreError(str(e)) from None
        loaded = Loaded(_fingerprint(st), document, _version(data), timestamp(st.st_mtime))
        with _CACHE_LOCK:
            _CACHE[real] = loaded
            while len(_CACHE) > _CACHE_SIZE:
                _CACHE.popitem(last=False)
        return loaded

    def _current(self) -> tuple[Any, int, str]:
        """(top node, version, updated): what this transaction changed, else the file."""
        if self._working is not None:
            return self.codec.top(self._working.document), self._version_now(), self._loaded_time()
        loaded = self._loaded()
        return self.codec.top(loaded.document), loaded.version, loaded.updated

    def _version_now(self) -> int:
        """The version the file will have: of the bytes this transaction would write."""
        if self._working is None:
            return self._loaded().version
        if not self._dirty:
            return self._working.version
        if self._dumped is None:
            self._dumped = self._dump()
        return _version(self._dumped)

    def _dump(self) -> bytes:
        assert self._working is not None
        try:
            return self.codec.dump(self._working.document, self._working.original)
        except RecursionError:
            raise self.codec.too_deep(self.source) from None

    def _loaded_time(self) -> str:
        try:
            return timestamp(os.stat(self.real).st_mtime)
        except OSError:
            return timestamp(0)

    def _node(self, top: Any, path: str) -> Any:
        return top if path == self.base else nodes.resolve(top, self.segments(path), path)

    def _item(self, path: str, node: Any, version: int, updated: str) -> Item:
        return self.make_item(path, nodes.type_of(node), nodes.values_of(node), version=version,
                              updated=updated)

    def get(self, path: str) -> Item:
        if path == self.base:
            return self.root_node()
        top, version, updated = self._current()
        return self._item(path, self._node(top, path), version, updated)

    def get_for_update(self, path: str) -> Item:
        """The item as a change starts from: without the values whose keys cannot be named
        as attributes (an empty key, a control character), which a change leaves as they
        are, and which would otherwise make every change of the object fail its checks."""
        item = self.get(path)
        if all(nodes.can_be_attribute(k) for k in item.attributes):
            return item
        return item._replace(attributes={k: v for k, v in item.attributes.items()
                                         if nodes.can_be_attribute(k)})

    def child_items(self, path: str) -> list[Item]:
        top, version, updated = self._current()
        node = self._node(top, path)
        return [self._item(paths.join(path, name), value, version, updated)
                for name, value in nodes.child_entries(node)]

    def root_attributes(self) -> dict[str, Any]:
        top, _, _ = self._current()
        return nodes.values_of(top)

    def root_node(self) -> Item:
        top, version, updated = self._current()
        item = self._item(self.base, top, version, updated)
        return item._replace(id=self.mount.id, parent_id=self.mount.parent_id)

    # -- writing -------------------------------------------------------------------------
    def _edit(self, path: str, expected_version: int | None = None) -> Any:
        """The top of the document to change, read afresh at the first change."""
        self.check_writable(path)
        if self._working is None:
            data, _ = read_source(self.real)
            try:
                document = self.codec.load_for_edit(data, self.source)
            except RecursionError:
                raise self.codec.too_deep(self.source) from None
            self._working = Working(document, _version(data), data)
        current = self._version_now()
        if expected_version is not None and expected_version != current:
            raise Conflict(f"{path}: {self.source} changed since it was read (version {expected_version} "
                           f"is stale; current version is {current}); read it again and retry")
        self._dirty = True
        self._dumped = None  # the caller is about to change the document
        return self.codec.top(self._working.document)

    def _check_values(self, where: str, attributes: Mapping[str, Any]) -> None:
        # What nests deeper than the reader takes would be written, and then never read again.
        room = self.codec.max_depth - len(self.segments(where)) - 1
        limit = f"nested too deeply for {self.source} (more than {self.codec.max_depth} levels)"
        if room < 0:
            raise ValidationError(f"{where}: {limit}")
        for key, value in attributes.items():
            self.codec.check_key(key, where, value=True)
            self.codec.check_value(key, value, where)
            if isinstance(value, dict | list) and nodes.deeper_than(value, room):
                raise ValidationError(f"{where}: attribute '{key}': {limit}")

    folder_type = nodes.OBJECT

    def accept(self, draft: ItemDraft) -> ItemDraft:
        if draft.type == nodes.LIST:
            return draft._replace(attributes={})
        if "storage_key" in draft.attributes or draft.type == "File":
            raise ValidationError(f"{draft.path}: a {self.kind} holds no file content "
                                  f"(a {draft.type} cannot be copied into it)")
        return draft._replace(type=nodes.OBJECT)

    def left_behind(self, path: str) -> list[str]:
        """Objects and lists below ``path`` under keys no item name can show (an empty
        key, one too long): a move out of the document would delete them uncopied."""
        found = []
        stack = [(path, self._node(self._current()[0], path))]
        while stack:
            where, node = stack.pop()
            if not isinstance(node, dict):
                stack.extend((paths.join(where, str(i)), value) for i, value in enumerate(node))
                continue
            for key, value in node.items():
                if not nodes.is_child(value):
                    continue
                name = nodes.name_of_key(key)
                if name is not None:
                    stack.append((paths.join(where, name), value))
                    continue
                text = nodes.key_text(key)
                shown = repr(text) if len(text) <= 40 else f"{text[:20]!r}… ({len(text.encode())} bytes)"
                found.append(f"the key {shown} in {where}")
        return found

    def create(self, draft: ItemDraft) -> Item:
        with self.transaction():
            top = self._edit(draft.path)
            if draft.type == "Folder" and not draft.attributes:  # a parent made by -p
                draft = draft._replace(type=nodes.OBJECT)
            if draft.type not in (nodes.OBJECT, nodes.LIST):
                raise ValidationError(f"{draft.path}: a {self.kind} holds {nodes.OBJECT} and {nodes.LIST} "
                                      f"items only, not a {draft.type}")
            self.codec.check_new(draft.type, draft.path)
            parent_path, name = paths.parent_of(draft.path), paths.name_of(draft.path)
            parent = self._node(top, parent_path)
            self.codec.check_key(nodes.key_for_new(name, draft.path), draft.path, value=False)
            self._check_values(draft.path, draft.attributes)
            nodes.attach(parent, name, nodes.new_child(draft.type, draft.attributes, draft.path), draft.path)
            self._dumped = None
            return self.get(draft.path)

    def update(self, path: str, attributes: Mapping[str, Any], *,
               expected_version: int | None = None) -> Item:
        with self.transaction():
            seen = nodes.values_of(self._node(self._current()[0], path))
            top = self._edit(path, expected_version)
            node = self._node(top, path)
            if not isinstance(node, dict):
                if attributes:
                    raise ValidationError(f"{path}: a {nodes.LIST} has no attributes")
            else:
                self._change(node, path, seen, attributes)
            self._dumped = None
            return self.get(path)

    def _change(self, node: dict, where: str, seen: Mapping[str, Any],
                attributes: Mapping[str, Any]) -> None:
        """Apply what differs from the values as the caller saw them, and only that: a
        value left alone keeps its form in the file (quotes, ``1e3``, a date). Keys that
        cannot be attribute names are never removed: no caller can name them."""
        missing = object()
        changed = {k: v for k, v in attributes.items() if seen.get(k, missing) != v}
        self._check_values(where, changed)
        removed = [k for k in seen if k not in attributes and nodes.can_be_attribute(k)]
        nodes.change_values(node, changed, removed, where)

    def root_version(self) -> int | None:
        return self._current()[1]

    def set_root_attributes(self, attributes: Mapping[str, Any], *,
                            expected_version: int | None = None) -> None:
        with self.transaction():
            seen = nodes.values_of(self._current()[0])
            if seen == dict(attributes):
                return
            top = self._edit(self.base, expected_version)
            if not isinstance(top, dict):
                if attributes:
                    raise ValidationError(f"{self.base}: the top of {self.source} is a list, which has "
                                          "no attributes")
                return
            self._change(top, self.base, seen, attributes)
            self._dumped = None

    def delete(self, path: str, *, recursive: bool = False) -> int:
        with self.transaction():
            top = self._edit(path)
            self._node(top, path)
            count = 1 + sum(1 for _ in self.all_items(path, None))
            if count > 1 and not recursive:
                raise NotEmpty(f"{path}: has {count - 1} item(s) below it (use -r to delete them too)")
            nodes.detach(self._node(top, paths.parent_of(path)), paths.name_of(path))
            self._dumped = None
            return count

    def move(self, source: str, target: str) -> Item:
        return self._relocate(source, target, keep=False)

    def copy(self, source: str, target: str, *, owner: str) -> Item:
        return self._relocate(source, target, keep=True)

    def _relocate(self, source: str, target: str, *, keep: bool) -> Item:
        with self.transaction():
            top = self._edit(target)
            value = self._node(top, source)
            target_parent = self._node(top, paths.parent_of(target))
            name = paths.name_of(target)
            self.codec.check_key(nodes.key_for_new(name, target), target, value=False)
            if keep:
                value = copy.deepcopy(value)
            else:
                nodes.detach(self._node(top, paths.parent_of(source)), paths.name_of(source))
            try:
                nodes.attach(target_parent, name, value, target)
            except RealnetError:
                self._working = None  # the detached value is gone from the copy: read again
                raise
            finally:
                self._dumped = None
            return self.get(target)

    # -- the two steps of a change ----------------------------------------------------
    def prepare(self) -> None:
        if not self._dirty or self._working is None:
            return
        data = self._dumped or self._dump()
        real = self.real
        folder = os.path.dirname(real)
        lock = os.open(real, os.O_RDONLY)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX)
            current, st = read_source(real)
            if _version(current) != self._working.version:
                raise Conflict(f"{self.base}: {self.source} changed on disk while the change was being "
                               "made; nothing was written; read it again and retry")
            fd, temporary = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(real)}.",
                                             suffix=".realnet-tmp")
            try:
                with os.fdopen(fd, "wb") as f:
                    keep_owner(f.fileno(), st)  # a service's config stays readable to the service
                    f.write(data)
                    f.flush()
                    os.fsync(f.fileno())
                os.chmod(temporary, st.st_mode & 0o7777)
            except BaseException:
                os.unlink(temporary)
                raise
        except PermissionError:
            os.close(lock)
            raise StoreError(f"{self.source}: permission denied (cannot write beside it)") from None
        except BaseException:
            os.close(lock)
            raise
        self._pending = (temporary, lock, real)

    def commit(self) -> None:
        pending, self._pending = self._pending, None
        try:
            if pending is not None:
                temporary, lock, real = pending  # the file prepare read and locked
                try:
                    os.replace(temporary, real)
                    _fsync_folder(os.path.dirname(real))
                    with _CACHE_LOCK:
                        # The next read parses the new file with the fast reader again: what
                        # was changed is the writer's document, whose plain values the fast
                        # reader may read otherwise (XML's text "5" for a 5 that was set).
                        _CACHE.pop(real, None)
                finally:
                    os.close(lock)
        finally:
            self._working = None
            self._dirty = False
            self._dumped = None
            super().commit()

    def rollback(self) -> None:
        pending, self._pending = self._pending, None
        if pending is not None:
            temporary, lock, _ = pending
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            os.close(lock)
        self._working = None
        self._dirty = False
        self._dumped = None
        super().rollback()


def _fsync_folder(folder: str) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def open_document(mount: Item, fmt: str, *, source: str, read_only: bool,
                  allowed: Callable[[str], object] | None = None) -> DocumentProvider:
    """The provider of a document mount; ``allowed`` judges the file it resolves to at each use."""
    try:
        codec = CODECS[fmt]
    except KeyError:
        raise ValidationError(f"{mount.path}: no document format {fmt!r}") from None
    return DocumentProvider(mount, source=source, read_only=read_only, codec=codec, allowed=allowed)

