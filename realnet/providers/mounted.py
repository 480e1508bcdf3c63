"""What every mounted provider shares: the mount it serves, read-only refusal, and the
two-step transactions the mount table drives.

A mounted provider holds the subtree below a mount item of the main store. Its items
belong to the mount's owner and carry no ACL entries of their own: permissions come
from the mount and the folders above it, so the guard treats them like any other item.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from realnet.core import paths
from realnet.core.access import Visibility
from realnet.core.errors import NotFound, ReadOnly, StoreError, ValidationError
from realnet.core.item import ChildrenPage, Item, ItemDraft
from realnet.providers.base import Provider
from realnet.providers.listing import page_children, page_search


class MountedProvider(Provider):
    """The subtree below ``mount``; paths given and returned are paths of the whole tree."""

    #: What the mount holds, for messages: "YAML document", "folder".
    kind = "mount"
    #: The type of the folders ``-p`` makes here.
    folder_type = "Folder"
    #: Whether a search or count from above the mount goes into it (not into a cluster,
    #: which may hold hundreds of thousands of objects: search it from its own path).
    searched_from_above = True
    #: Whether changes reach the source as they are made (a folder on disk has no
    #: transactions) instead of when the store commits: a move out of such a mount removes
    #: the source only after the copy has committed, so a failure cannot lose both.
    changes_at_once = False

    def __init__(self, mount: Item, *, source: str, read_only: bool) -> None:
        self.mount = mount
        self.base = mount.path
        self.source = source
        self.read_only = read_only
        self.label = f"{self.kind} {source}"
        if read_only:
            self.capabilities = self.capabilities | {"read-only"}
        self._in_transaction = False

    # -- helpers for subclasses ------------------------------------------------------
    def segments(self, path: str) -> list[str]:
        """The names of ``path`` below the mount ([] for the mount itself)."""
        if path == self.base:
            return []
        if not paths.is_within(path, self.base):
            raise StoreError(f"{path}: not below the mount {self.base}")
        return paths.split(path[len(self.base):])

    def check_writable(self, path: str) -> None:
        if self.read_only:
            raise ReadOnly(f"{path}: {self.base} is a read-only mount of {self.source}")

    def item_id(self, path: str) -> str:
        return f"{self.mount.id}:{path[len(self.base):] or '/'}"

    def make_item(self, path: str, type_name: str, attributes: Mapping[str, Any], *, version: int,
                  updated: str) -> Item:
        parent = paths.parent_of(path)
        parent_id = self.mount.id if parent == self.base else self.item_id(parent)
        return Item(id=self.item_id(path), path=path, type=type_name, parent_id=parent_id,
                    owner=self.mount.owner, attributes=attributes, version=version,
                    created=updated, updated=updated)

    # -- what a subclass provides ----------------------------------------------------
    def child_items(self, path: str) -> list[Item]:
        """Every direct child of ``path`` (the mount itself included)."""
        raise NotImplementedError

    def all_items(self, root: str, max_depth: int | None) -> Iterator[Item]:
        """Every item below ``root`` (down to ``max_depth`` levels), in any order."""
        stack = [(root, 0)]
        while stack:
            current, depth = stack.pop()
            if max_depth is not None and depth >= max_depth:
                continue
            for child in self.child_items(current):
                yield child
                if self.has_children(child):
                    stack.append((child.path, depth + 1))

    def has_children(self, item: Item) -> bool:
        """Whether ``item`` can hold children (a folder, an object), so a walk looks inside."""
        return True

    def root_attributes(self) -> dict[str, Any]:
        """Values the mounted source keeps at its top (a document's top-level values)."""
        return {}

    def root_version(self) -> int | None:
        """The version of what the source keeps at its top, if it keeps anything there."""
        return None

    def set_root_attributes(self, attributes: Mapping[str, Any], *,
                            expected_version: int | None = None) -> None:
        if attributes:
            names = ", ".join(sorted(attributes))
            raise ValidationError(f"{self.base}: a {self.kind} mount has no attributes {names}")

    def root_node(self) -> Item:
        """The mount's top as a plain item, for copies out of the mount."""
        raise NotImplementedError

    def accept(self, draft: ItemDraft) -> ItemDraft:
        """An item copied in from elsewhere, as this source can hold it (or a clear error)."""
        return draft

    def left_behind(self, path: str) -> list[str]:
        """What moving ``path`` out of the mount would lose or leave behind, described for a
        message: the move copies items, so what the source keeps but shows as no item
        would be deleted without a copy."""
        return []

    #: Action name → the permission it needs on the item it is done to.
    actions: Mapping[str, str] = {}

    def action(self, path: str, name: str, **params: Any) -> Any:
        raise ValidationError(f"{path}: no action {name!r} here")

    def read_content(self, path: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        raise ValidationError(f"{path}: a {self.kind} holds no file content")

    def write_content(self, path: str, chunks: Iterable[bytes], *, content_type: str | None = None,
                      ) -> Item:
        raise ValidationError(f"{path}: a {self.kind} holds no file content")

    # -- transactions: the mount table prepares every touched mount before the main
    #    store commits, and commits them after it ---------------------------------------
    def begin(self) -> None:
        self._in_transaction = True

    def prepare(self) -> None:
        """Make the pending changes durable but not yet visible; refuse if the source
        changed meanwhile."""

    def commit(self) -> None:
        self._in_transaction = False

    def rollback(self) -> None:
        self._in_transaction = False

    @contextmanager
    def transaction(self) -> Iterator[None]:
        if self._in_transaction:
            yield
            return
        self.begin()
        try:
            yield
            self.prepare()
        except BaseException:
            self.rollback()
            raise
        self.commit()

    # -- the provider interface, in terms of the above ---------------------------------
    def get_many(self, paths_: Sequence[str]) -> dict[str, Item]:
        found = {}
        for path in paths_:
            try:
                found[path] = self.get(path)
            except NotFound:
                continue
        return found

    def children(self, path: str, *, order: str = "name", limit: int = 100, cursor: str | None = None,
                 name_prefix: str | None = None, visible: Visibility | None = None) -> ChildrenPage:
        return page_children(self.child_items(path), order=order, limit=limit, cursor=cursor,
                             name_prefix=name_prefix, visible=visible)

    def count_children(self, path: str) -> int:
        return len(self.child_items(path))

    def search(self, root: str, *, types: Sequence[str] | None = None, name_glob: str | None = None,
               max_depth: int | None = None, limit: int = 1000, cursor: str | None = None,
               visible: Visibility | None = None) -> ChildrenPage:
        if root != self.base:
            self.get(root)
        return page_search(self.all_items(root, max_depth), root, types=types, name_glob=name_glob,
                           max_depth=max_depth, limit=limit, cursor=cursor, visible=visible)

    def count_subtree(self, path: str, *, visible: Visibility | None = None) -> int:
        if visible is None:
            return sum(1 for _ in self.all_items(path, None))
        return len(page_search(self.all_items(path, None), path, limit=10**9, visible=visible))

    def acl_entries(self, principals: Iterable[str] | None = None) -> dict[str, tuple[Any, ...]]:
        return {}

    def acl_generation(self) -> int:
        return 0

    def set_acl(self, path: str, entries: Sequence[Mapping[str, Any]]) -> Item:
        raise ValidationError(f"{path}: items inside a mount take their permissions from the mount; "
                              f"set the ACL on {self.base} or above")

    def insert_many(self, drafts: Iterable[ItemDraft]) -> int:
        count = 0
        with self.transaction():
            for draft in drafts:
                self.create(draft)
                count += 1
        return count


def keep_owner(fd: int, previous: os.stat_result) -> None:
    """Give a file written to replace another (``fd``) the owner and group the replaced
    one had, as far as this process may: root keeps a service's file its own; anyone
    else may at least keep a group they belong to. Not being allowed is no failure."""
    for uid, gid in ((previous.st_uid, previous.st_gid), (-1, previous.st_gid)):
        try:
            os.fchown(fd, uid, gid)
            return
        except OSError:
            continue
