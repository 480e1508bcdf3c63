"""The one place below every face where permissions are checked.

The guard knows who is acting (an :class:`Identity`, its groups read from
``/system/groups``) and every ACL entry in the store (one indexed query, cached
until :meth:`refresh`). A principal that may not read an item gets the same error
as for a missing path, so it cannot learn that the item exists.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from realnet.core import paths
from realnet.core.access import (
    ADMINS,
    ANONYMOUS,
    AUTHENTICATED,
    IDENTITY_GENERATION,
    PUBLIC,
    AclMap,
    Grant,
    Identity,
    Visibility,
    effective,
    read_roots,
)
from realnet.core.errors import NotFound, PermissionDenied
from realnet.core.item import Item

if TYPE_CHECKING:
    from realnet.providers.base import Provider

ACCOUNTS = "/system/accounts"
GROUPS = "/system/groups"


class Guard:
    def __init__(self, provider: Provider, principal: str) -> None:
        self.provider = provider
        self.principal = principal
        self._identity: Identity | None = None
        self._acl: AclMap | None = None
        # (generation, principals, map): reused by later requests while nothing changed.
        self._acl_cache: tuple[int, frozenset[str], AclMap] | None = None
        self._identity_cache: tuple[int, Identity] | None = None
        self._generations: dict[str, int] | None = None

    def refresh(self, generations: dict[str, int] | None = None) -> None:
        """Start afresh (each command and request does). With the store's ``generations``
        just read, groups and ACL entries are kept while their counters have not moved."""
        self._identity = None
        self._acl = None
        self._generations = generations
        if generations is not None and self._identity_cache is not None \
                and self._identity_cache[0] == generations.get(IDENTITY_GENERATION, 0):
            self._identity = self._identity_cache[1]

    @property
    def identity(self) -> Identity:
        if self._identity is None:
            self._identity = self._load_identity()
        return self._identity

    def _load_identity(self) -> Identity:
        if self.principal == ANONYMOUS:
            return Identity(ANONYMOUS, frozenset({PUBLIC}))
        generation = self.provider.generation(IDENTITY_GENERATION)  # read first: a later change moves it
        groups = {AUTHENTICATED, PUBLIC}
        for group in self.provider.walk(GROUPS, max_depth=1):
            if self.principal in (group.attributes.get("members") or ()):
                groups.add(group.name)
        identity = Identity(self.principal, frozenset(groups))
        self._identity_cache = (generation, identity)
        return identity

    @property
    def acl(self) -> AclMap:
        """The ACL entries that can matter to this principal: those naming it or its groups."""
        if self._acl is None:
            known = self._generations
            # Read first: a change after this read moves the counter again.
            generation = known.get("acl_generation", 0) if known is not None \
                else self.provider.acl_generation()
            principals = self.identity.principals
            cached = self._acl_cache
            if cached is not None and cached[0] == generation and cached[1] == principals:
                self._acl = cached[2]
            else:
                self._acl = AclMap(self.provider.acl_entries(principals))
                self._acl_cache = (generation, principals, self._acl)
        return self._acl

    @property
    def is_admin(self) -> bool:
        return self.identity.is_admin

    def permissions(self, item: Item) -> dict[str, Grant]:
        if self.is_admin:
            return effective(self.identity, item.path, item.owner, AclMap())
        return effective(self.identity, item.path, item.owner, self.acl)

    def require(self, item: Item, permission: str, *, shown_path: str | None = None) -> Item:
        """``item`` if the principal holds ``permission`` on it; otherwise the right error."""
        if self.is_admin:
            return item
        granted = self.permissions(item)
        where = shown_path or item.path
        if "read" not in granted:
            raise NotFound(where)
        if permission not in granted:
            raise PermissionDenied(f"{where}: {self.principal} may not {permission} here")
        return item

    def require_admin(self, what: str) -> None:
        if not self.is_admin:
            raise PermissionDenied(f"{what}: only members of '{ADMINS}' may do this")

    def visibility(self, root: str) -> Visibility | None:
        """What listings below ``root`` may show; None when everything there is readable."""
        if self.is_admin:
            return None
        roots = read_roots(self.identity, self.acl)
        if any(paths.is_within(root, top) for top in roots):
            return None
        return Visibility(owner=self.owner, roots=tuple(r for r in roots if paths.is_within(r, root)))

    def listing_visibility(self, folder: str) -> Visibility | None:
        """What a listing of ``folder``'s children may show: :meth:`visibility`, plus the
        children that lead to a read root further down."""
        visible = self.visibility(folder)
        if visible is None:
            return None
        prefix = folder.rstrip("/") + "/"
        ways = sorted({prefix + r[len(prefix):].split("/", 1)[0]
                       for r in visible.roots if r != folder and r.startswith(prefix)})
        return Visibility(visible.owner, visible.roots, tuple(ways)) if ways else visible

    @property
    def owner(self) -> str | None:
        """The owner name whose items the principal holds every permission on; None for
        ``anonymous`` (see :func:`effective`)."""
        return None if self.principal == ANONYMOUS else self.principal
