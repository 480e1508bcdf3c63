"""The mount table: one provider in front of the store and everything mounted in it.

A mount is an item of the store whose type's resource opens a provider (a document, a
local folder). Every path below a mount goes to that mount's provider; everything
else, the mount items themselves included, to the store. The mounts are read from the
store once and kept until the ``mounts_generation`` counter moves, which every change
to a mount item (made here, so nothing can bypass it) moves in the same transaction.

Reading a mount item shows the store's item with the values the mounted source keeps
at its top (a document's top-level values) beside the mount's own settings; changing
one sends each attribute where it lives. A search from above a mount continues into
it, merged in path order; the cursor is the last path, which every provider accepts.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, Protocol

from realnet.core import paths
from realnet.core.access import Visibility
from realnet.core.errors import Conflict, RealnetError, StoreError, ValidationError
from realnet.core.item import ChildrenPage, Item, ItemDraft
from realnet.providers.base import Provider
from realnet.providers.mounted import MountedProvider
from realnet.providers.sql import cursors

MOUNTS_GENERATION = "mounts_generation"


def combined_version(own: int, source: int) -> int:
    """One version for a mount item from its own and its source's (48 bits, like theirs)."""
    digest = hashlib.blake2b(f"{own}:{source}".encode(), digest_size=6).digest()
    return int.from_bytes(digest, "big") or 1


class MountCatalogue(Protocol):
    """What the mount table needs to know of types (the context provides it)."""

    def mount_types(self) -> frozenset[str]: ...
    def settings_of(self, type_name: str) -> frozenset[str]: ...
    def open_mount(self, item: Item) -> MountedProvider: ...


class MountTable(Provider):
    def __init__(self, store: Provider, catalogue: MountCatalogue) -> None:
        self.store = store
        self.catalogue = catalogue
        self.capabilities = store.capabilities
        self.label = store.label
        self._mounts: dict[str, Item] | None = None
        self._generation = -1
        self._opened: dict[str, tuple[Item, MountedProvider]] = {}
        self._depth = 0
        self._enlisted: list[MountedProvider] = []
        self._after_commit: list[Callable[[], None]] = []

    def __getattr__(self, name: str) -> Any:
        # What only the store has (its schema version, its file) reads through the table.
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.store, name)

    # -- the table ------------------------------------------------------------------------
    def mounts(self) -> dict[str, Item]:
        """Mount path → mount item, as the store has them now."""
        if self._mounts is None:
            generation = self.store.generation(MOUNTS_GENERATION)  # read first: a later change moves it
            # A store that never had a mount need not load its types to know it has none.
            types = sorted(self.catalogue.mount_types()) if generation else []
            found: dict[str, Item] = {}
            cursor = None
            while types:
                page = self.store.search(paths.ROOT, types=types, limit=1000, cursor=cursor)
                found.update((i.path, i) for i in page.items)
                if (cursor := page.next_cursor) is None:
                    break
            self._mounts, self._generation = found, generation
        return self._mounts

    def refresh(self, generations: Mapping[str, int]) -> None:
        """Start a request: forget the table if another session changed a mount."""
        if self._depth == 0 and generations.get(MOUNTS_GENERATION, 0) != self._generation:
            self._mounts = None

    def forget(self) -> None:
        self._mounts = None

    def mount_of(self, path: str) -> Item | None:
        """The mount that ``path`` lies strictly below, if any."""
        mounts = self.mounts()
        if not mounts or path == paths.ROOT:
            return None
        current = paths.parent_of(path)
        while True:
            mount = mounts.get(current)
            if mount is not None:
                return mount
            if current == paths.ROOT:
                return None
            current = paths.parent_of(current)

    def provider_of(self, mount: Item) -> MountedProvider:
        opened = self._opened.get(mount.path)
        if opened is not None and opened[0] == mount:
            return opened[1]
        provider = self.catalogue.open_mount(mount)
        self._opened[mount.path] = (mount, provider)
        return provider

    def owner_of(self, path: str) -> Provider:
        """The provider that holds the item at ``path``."""
        mount = self.mount_of(path)
        return self.store if mount is None else self.provider_of(mount)

    def content_owner(self, path: str) -> Provider:
        """Whose items a copy of ``path`` reads: a mount item's are its mount's."""
        mounts = self.mounts()
        if path in mounts:
            return self.provider_of(mounts[path])
        return self.owner_of(path)

    def folder_type_at(self, path: str) -> str:
        """The type of a folder made at ``path`` (by ``-p``): an object inside a document."""
        owner = self.owner_of(path)
        return owner.folder_type if isinstance(owner, MountedProvider) else "Folder"

    def is_mount(self, path: str) -> bool:
        return path in self.mounts()

    def _mounts_within(self, path: str) -> list[Item]:
        return [m for p, m in sorted(self.mounts().items()) if paths.is_within(p, path)]

    def _writing(self, provider: Provider) -> Provider:
        """``provider``, joined to the transaction in progress if it is a mount's."""
        if self._depth and isinstance(provider, MountedProvider) and provider not in self._enlisted:
            provider.begin()
            self._enlisted.append(provider)
        return provider

    def _moved(self) -> None:
        self.store.bump_generation(MOUNTS_GENERATION)
        self._mounts = None

    # -- reading ----------------------------------------------------------------------------
    def _with_top_values(self, item: Item) -> Item:
        """A mount item as faces see it: with the source's top-level values, and a version
        that moves when either the mount or its source changes."""
        if item.path not in self.mounts():
            return item
        try:
            provider = self.provider_of(self.mounts()[item.path])
            values = provider.root_attributes()
            source_version = provider.root_version()
        except RealnetError:
            return item  # a missing or broken source: the mount itself still shows, and can go
        if source_version is None:
            return item
        settings = self.catalogue.settings_of(item.type)
        merged = {k: v for k, v in values.items() if k not in settings}
        merged.update(item.attributes)
        return item._replace(attributes=merged, version=combined_version(item.version, source_version))

    def get(self, path: str) -> Item:
        owner = self.owner_of(path)
        if owner is self.store:
            return self._with_top_values(self.store.get(path))
        return owner.get(path)

    def get_for_update(self, path: str) -> Item:
        owner = self.owner_of(path)
        if owner is self.store:
            return self._with_top_values(self.store.get_for_update(path))
        return owner.get_for_update(path)

    def get_many(self, paths_: Sequence[str]) -> dict[str, Item]:
        if not self.mounts():
            return self.store.get_many(paths_)
        found: dict[str, Item] = {}
        mine = []
        for path in paths_:
            owner = self.owner_of(path)
            if owner is self.store:
                mine.append(path)
            else:
                found.update(owner.get_many([path]))
        for path, item in self.store.get_many(mine).items():
            found[path] = self._with_top_values(item)
        return found

    def _lister(self, path: str) -> Provider:
        """Who lists the children of ``path``: a mount's provider for the mount itself."""
        mounts = self.mounts()
        if path in mounts:
            return self.provider_of(mounts[path])
        return self.owner_of(path)

    def children(self, path: str, **options: Any) -> ChildrenPage:
        return self._lister(path).children(path, **options)

    def count_children(self, path: str) -> int:
        return self._lister(path).count_children(path)

    def search(self, root: str, *, types: Sequence[str] | None = None, name_glob: str | None = None,
               max_depth: int | None = None, limit: int = 1000, cursor: str | None = None,
               visible: Visibility | None = None) -> ChildrenPage:
        options = {"types": types, "name_glob": name_glob, "limit": limit, "visible": visible}
        lister = self._lister(root)
        if lister is not self.store:
            return lister.search(root, max_depth=max_depth, cursor=cursor, **options)
        inside = self._mounts_within(root)
        page = self.store.search(root, max_depth=max_depth, cursor=cursor, **options)
        if not inside:
            return page
        after = cursors.decode(cursor, 1)[0] if cursor is not None else None
        merged = list(page.items)
        more = page.next_cursor is not None
        base_depth = paths.depth_of(root)
        for mount in inside:
            depth = None if max_depth is None else max_depth - (paths.depth_of(mount.path) - base_depth)
            if depth is not None and depth <= 0:
                continue
            try:
                provider = self.provider_of(mount)
                if not provider.searched_from_above:
                    continue
                part = provider.search(mount.path, max_depth=depth,
                                       cursor=cursor if after is not None and after > mount.path else None,
                                       **options)
            except RealnetError:
                continue  # a source that cannot be read hides nothing else of the search
            merged += part.items
            more = more or part.next_cursor is not None
        merged.sort(key=lambda i: i.path)
        if len(merged) > limit:
            merged, more = merged[:limit], True
        next_cursor = cursors.encode([merged[-1].path]) if more and merged else None
        return ChildrenPage(items=tuple(merged), next_cursor=next_cursor)

    def count_subtree(self, path: str, *, visible: Visibility | None = None) -> int:
        lister = self._lister(path)
        if lister is not self.store:
            return lister.count_subtree(path, visible=visible)
        count = self.store.count_subtree(path, visible=visible)
        for mount in self._mounts_within(path):
            try:
                provider = self.provider_of(mount)
                if provider.searched_from_above:
                    count += provider.count_subtree(mount.path, visible=visible)
            except RealnetError:
                continue
        return count

    # -- the store's own business -------------------------------------------------------
    def acl_entries(self, principals: Iterable[str] | None = None) -> dict[str, tuple[Any, ...]]:
        return self.store.acl_entries(principals)

    def acl_generation(self) -> int:
        return self.store.acl_generation()

    def reassign_owner(self, old: str, new: str) -> int:
        return self.store.reassign_owner(old, new)

    def generation(self, key: str) -> int:
        return self.store.generation(key)

    def generations(self) -> dict[str, int]:
        return self.store.generations()

    def bump_generation(self, key: str) -> None:
        self.store.bump_generation(key)

    def change_marker(self) -> Hashable | None:
        # A mounted file or cluster changes without the store knowing: nothing may be kept.
        return None if self.mounts() else self.store.change_marker()

    def referenced_keys(self, keys: Sequence[str]) -> set[str]:
        return self.store.referenced_keys(keys)

    def request_outcome(self, principal: str, request_id: str) -> str | None:
        return self.store.request_outcome(principal, request_id)

    def record_request(self, principal: str, request_id: str, outcome: str) -> bool:
        return self.store.record_request(principal, request_id, outcome)

    def forget_requests(self, older_than_seconds: int) -> int:
        return self.store.forget_requests(older_than_seconds)

    def lock(self, name: str) -> None:
        self.store.lock(name)

    def close(self) -> None:
        self._opened.clear()
        self.store.close()

    def set_acl(self, path: str, entries: Sequence[Mapping[str, Any]]) -> Item:
        return self.owner_of(path).set_acl(path, entries)

    # -- writing -----------------------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[None]:
        """The store's transaction; mounts changed inside it are prepared before the store
        commits and committed after it, so a refusal anywhere leaves everything unchanged."""
        self._depth += 1
        outermost = self._depth == 1
        try:
            with self.store.transaction():
                yield
                if outermost:
                    for provider in self._enlisted:
                        provider.prepare()
        except BaseException:
            if outermost:
                enlisted, self._enlisted = self._enlisted, []
                for provider in enlisted:
                    provider.rollback()
                self._mounts = None
                self._after_commit.clear()
            raise
        finally:
            self._depth -= 1
        if outermost:
            enlisted, self._enlisted = self._enlisted, []
            for provider in enlisted:
                provider.commit()
            actions, self._after_commit = self._after_commit, []
            for action in actions:
                action()

    def after_commit(self, action: Callable[[], None]) -> None:
        """Run ``action`` once the transaction in progress has committed (now, if none is):
        what cannot be taken back — removing stored bytes — waits for the change that
        makes it right, and is dropped if that change is rolled back."""
        if self._depth:
            self._after_commit.append(action)
        else:
            action()

    def create(self, draft: ItemDraft) -> Item:
        owner = self._writing(self.owner_of(draft.path))
        if owner is not self.store:
            return owner.create(draft)
        if draft.type in self.catalogue.mount_types():
            self._refuse_top_values(draft.type, draft.attributes, draft.path)
            with self.transaction():
                item = self.store.create(draft)
                self._moved()
            return item
        return self.store.create(draft)

    def _refuse_top_values(self, type_name: str, attributes: Mapping[str, Any], where: str) -> None:
        extra = set(attributes) - self.catalogue.settings_of(type_name)
        if extra:
            raise ValidationError(f"{where}: only the mount's settings can be given when mounting "
                                  f"(not {', '.join(sorted(extra))}); set the document's values afterwards")

    def insert_many(self, drafts: Iterable[ItemDraft]) -> int:
        drafts = list(drafts)
        if not self.mounts() and not any(d.type in self.catalogue.mount_types() for d in drafts):
            return self.store.insert_many(drafts)
        count = 0
        with self.transaction():
            for draft in drafts:
                self.create(draft)
                count += 1
        return count

    def update(self, path: str, attributes: Mapping[str, Any], *,
               expected_version: int | None = None) -> Item:
        owner = self._writing(self.owner_of(path))
        if owner is not self.store:
            return owner.update(path, attributes, expected_version=expected_version)
        mount = self.mounts().get(path)
        if mount is None:
            return self.store.update(path, attributes, expected_version=expected_version)
        settings = self.catalogue.settings_of(mount.type)
        own = {k: v for k, v in attributes.items() if k in settings}
        top = {k: v for k, v in attributes.items() if k not in settings}
        with self.transaction():
            stored = self.store.get_for_update(path)
            provider = self._writing(self.provider_of(mount))
            try:
                source_version, readable = provider.root_version(), True
            except RealnetError:
                if top:
                    raise
                # A source that cannot be read shows no values (as _with_top_values): the
                # mount's own settings still change, to point it at another file, say.
                source_version, readable = None, False
            current = stored.version if source_version is None \
                else combined_version(stored.version, source_version)
            if expected_version is not None and expected_version != current:
                raise Conflict(f"{path}: version {expected_version} is stale (current version is "
                               f"{current}); read the item again and retry")
            if own != dict(stored.attributes):
                self.store.update(path, own, expected_version=stored.version)
                self._moved()
            if readable:
                provider.set_root_attributes(top, expected_version=source_version)
        return self.get(path)

    def delete(self, path: str, *, recursive: bool = False) -> int:
        owner = self._writing(self.owner_of(path))
        if owner is not self.store:
            return owner.delete(path, recursive=recursive)
        inside = self._mounts_within(path)
        if not inside:
            return self.store.delete(path, recursive=recursive)
        with self.transaction():
            count = self.store.delete(path, recursive=recursive)
            self._moved()
        return count

    def move(self, source: str, target: str) -> Item:
        owner = self.owner_of(source)
        if owner is not self.owner_of(target):
            raise StoreError(f"{source}: moving to {target} crosses providers; the tree copies then "
                             "deletes instead")
        self._writing(owner)
        if owner is not self.store or not self._mounts_within(source):
            return owner.move(source, target)
        with self.transaction():
            item = self.store.move(source, target)
            self._moved()
        return item

    def copy(self, source: str, target: str, *, owner: str) -> Item:
        holder = self.content_owner(source)
        if holder is not self.owner_of(target):
            raise StoreError(f"{source}: copying to {target} crosses providers; the tree copies item "
                             "by item instead")
        self._writing(holder)
        if holder is not self.store or not self._mounts_within(source):
            return holder.copy(source, target, owner=owner)
        with self.transaction():
            item = self.store.copy(source, target, owner=owner)
            self._moved()
        return item


def crossing(table: Provider, source: str, target: str, *, copy: bool) -> bool:
    """Whether moving or copying ``source`` to ``target`` goes from one provider to another."""
    if not isinstance(table, MountTable):
        return False
    if copy:
        return table.content_owner(source) is not table.owner_of(target)
    return table.owner_of(source) is not table.owner_of(target)

