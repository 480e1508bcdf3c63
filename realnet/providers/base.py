"""The provider interface: a handful of primitives every store implements.

Providers store and find items; they know nothing of types or permissions, which
the tree service above them enforces. Every provider raises only
:mod:`realnet.core.errors`, translated from its driver's exceptions at its edge.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Hashable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any

from realnet.core.access import IDENTITY_GENERATION, IDENTITY_ROOT, Visibility
from realnet.core.errors import NotFound, StoreError
from realnet.core.item import ChildrenPage, Item, ItemDraft
from realnet.core.paths import is_within


class Provider(ABC):
    """One store of items. Paths given to a provider are absolute and normalised."""

    #: ``read-only``, ``content``, ``watch`` … — what optional abilities this store has.
    capabilities: frozenset[str] = frozenset()
    #: A short label for prompts and ``info`` (``local``, ``db.example:5432/realnet``).
    label: str = ""

    # -- reading ---------------------------------------------------------------
    @abstractmethod
    def get(self, path: str) -> Item:
        """The item at ``path``; :class:`NotFound` if there is none."""

    def get_for_update(self, path: str) -> Item:
        """Inside a transaction: the item, locked against other writers until it ends.

        Stores whose write transactions are exclusive already can simply read it.
        """
        return self.get(path)

    @abstractmethod
    def get_many(self, paths: Sequence[str]) -> dict[str, Item]:
        """The items that exist among ``paths``, in one round trip."""

    @abstractmethod
    def children(
        self,
        path: str,
        *,
        order: str = "name",
        limit: int = 100,
        cursor: str | None = None,
        name_prefix: str | None = None,
        visible: Visibility | None = None,
    ) -> ChildrenPage:
        """One keyset-paged page of the direct children of ``path`` (only ``visible`` ones)."""

    @abstractmethod
    def count_children(self, path: str) -> int: ...

    @abstractmethod
    def search(
        self,
        root: str,
        *,
        types: Sequence[str] | None = None,
        name_glob: str | None = None,
        max_depth: int | None = None,
        limit: int = 1000,
        cursor: str | None = None,
        visible: Visibility | None = None,
    ) -> ChildrenPage:
        """Items below ``root`` (``root`` itself excluded), ordered by path, paged."""

    @abstractmethod
    def count_subtree(self, path: str, *, visible: Visibility | None = None) -> int:
        """How many items lie below ``path`` (only ``visible`` ones)."""

    @abstractmethod
    def acl_entries(self, principals: Iterable[str] | None = None) -> dict[str, tuple[Any, ...]]:
        """Path → ACL entries of every item that has any (one indexed query); with
        ``principals``, only items with an entry for one of them."""

    @abstractmethod
    def acl_generation(self) -> int:
        """A number that changes whenever any ACL entry may have changed (grants, and
        creating, moving, copying or deleting items that carry entries): readers cache
        what they loaded from :meth:`acl_entries` until it moves."""

    def generation(self, key: str) -> int:
        """A shared counter (0 until first bumped) that caches in every process key on."""
        return 0

    def generations(self) -> dict[str, int]:
        """Every counter, in one read (each request starts with it)."""
        return {}

    def deletes_beyond(self, path: str, *, purge_data: bool = False) -> str | None:
        """What a recursive delete of ``path`` removes besides the items below it (a
        WordPress site's workloads), for ``rm -r`` to ask about; ``None``: nothing."""
        return None

    def change_marker(self) -> Hashable | None:
        """A value that differs after any write committed since it was read, by this
        connection or any other; runners keep answers to reads while it stays the same.
        ``None``: no such value (nothing may be kept)."""
        return None

    def _note_identity_change(self, *changed: str) -> None:
        """Accounts, groups and tokens live under /system: a write there moves the counter
        that cached identities and token checks key on, in the same transaction."""
        if any(is_within(p, IDENTITY_ROOT) or is_within(IDENTITY_ROOT, p) for p in changed):
            self.bump_generation(IDENTITY_GENERATION)

    def bump_generation(self, key: str) -> None:  # noqa: B027 - stores without counters
        """Move the counter ``key`` on; part of the current transaction."""

    def referenced_keys(self, keys: Sequence[str]) -> set[str]:
        """Which of these content storage keys some item still names (one indexed query)."""
        return set()

    def reassign_owner(self, old: str, new: str) -> int:
        """Give every item ``old`` owns to ``new`` (a new version of each); how many."""
        return 0

    # -- request records: what the SQS runner applied, so that a redelivery is not ----
    def request_outcome(self, principal: str, request_id: str) -> str | None:
        """The outcome recorded for a request id of this principal, if any."""
        raise StoreError("this store keeps no request records")

    def record_request(self, principal: str, request_id: str, outcome: str) -> bool:
        """Record a request's outcome, part of the current transaction; False when the id
        is already recorded (by another worker that got there first)."""
        raise StoreError("this store keeps no request records")

    def forget_requests(self, older_than_seconds: int) -> int:
        """Drop the records older than this; returns how many."""
        return 0

    @abstractmethod
    def set_acl(self, path: str, entries: Sequence[Mapping[str, Any]]) -> Item:
        """Replace the ACL entries of one item (a new version)."""

    # -- writing ---------------------------------------------------------------
    @abstractmethod
    def create(self, draft: ItemDraft) -> Item:
        """Insert one item; :class:`AlreadyExists` or :class:`NotFound` (parent)."""

    @abstractmethod
    def insert_many(self, drafts: Iterable[ItemDraft]) -> int:
        """Insert items whose parents come before them, in one transaction."""

    @abstractmethod
    def update(
        self,
        path: str,
        attributes: Mapping[str, Any],
        *,
        expected_version: int | None = None,
    ) -> Item:
        """Replace the attributes; :class:`Conflict` when ``expected_version`` is stale."""

    @abstractmethod
    def delete(self, path: str, *, recursive: bool = False) -> int:
        """Delete an item (and its subtree with ``recursive``); returns the count removed."""

    @abstractmethod
    def move(self, source: str, target: str) -> Item:
        """Move ``source`` and its subtree to the new path ``target``."""

    @abstractmethod
    def copy(self, source: str, target: str, *, owner: str) -> Item:
        """Copy ``source`` and its subtree to the new path ``target``."""

    @abstractmethod
    def transaction(self) -> AbstractContextManager[None]:
        """All writes inside happen together or not at all; nests."""

    def lock(self, name: str) -> None:  # noqa: B027 - optional hook
        """Inside a transaction, hold a store-wide lock called ``name`` until it ends.

        For work that replicas must not do twice at once (initialization). Stores whose
        write transactions are already exclusive need not do anything.
        """

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""

    # -- derived ---------------------------------------------------------------
    def exists(self, path: str) -> bool:
        try:
            self.get(path)
        except NotFound:
            return False
        return True

    def iter_children(self, path: str, *, order: str = "name", page_size: int = 500) -> Iterator[Item]:
        cursor = None
        while True:
            page = self.children(path, order=order, limit=page_size, cursor=cursor)
            yield from page.items
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    def walk(self, root: str, *, max_depth: int | None = None, page_size: int = 1000,
             visible: Visibility | None = None) -> Iterator[Item]:
        """Every (``visible``) item below ``root`` in path order, fetched page by page."""
        cursor = None
        while True:
            page = self.search(root, max_depth=max_depth, limit=page_size, cursor=cursor,
                               visible=visible)
            yield from page.items
            if page.next_cursor is None:
                return
            cursor = page.next_cursor
