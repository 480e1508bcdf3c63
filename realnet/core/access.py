"""Who may do what: principals, ACL entries and effective permissions (pure logic).

An ACL entry grants permissions to one principal — ``user:NAME`` or ``group:NAME`` —
on an item and, by inheritance, on its whole subtree (as Zope's local roles are).
Entries only ever add permissions. The owner of an item holds every permission on
it; members of ``admins`` hold every permission everywhere. Everything here works on
plain data so that every face, and the reference model in the tests, share it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from realnet.core import paths
from realnet.core.errors import ValidationError

PERMISSIONS = ("read", "write", "create", "delete", "admin")
ALL = frozenset(PERMISSIONS)
ADMINS = "admins"
AUTHENTICATED = "authenticated"
PUBLIC = "public"
BUILTIN_GROUPS = (ADMINS, AUTHENTICATED, PUBLIC)
ANONYMOUS = "anonymous"
#: Accounts, groups and tokens live below this folder; every write there moves the
#: identity generation, which cached identities and token checks key on.
IDENTITY_ROOT = "/system"
IDENTITY_GENERATION = "identity_generation"


@dataclass(frozen=True, slots=True)
class Identity:
    """A principal as permission checks see it: its name and every group it counts in."""

    name: str
    groups: frozenset[str] = frozenset()

    @property
    def is_admin(self) -> bool:
        return ADMINS in self.groups

    @property
    def principals(self) -> frozenset[str]:
        """The ACL principal names that speak for this identity."""
        out = {f"group:{g}" for g in self.groups}
        if self.name != ANONYMOUS:
            out.add(f"user:{self.name}")
        return frozenset(out)


@dataclass(frozen=True, slots=True)
class Grant:
    """Where one permission comes from, for ``acl PATH``."""

    permission: str
    source: str  # the path that holds the entry, or "owner" / "admins"
    principal: str


@dataclass(frozen=True, slots=True)
class AclMap:
    """Every item that carries ACL entries: path → entries. Small: grants are few."""

    entries: Mapping[str, tuple[Mapping[str, Any], ...]] = field(default_factory=dict)

    def along(self, path: str) -> Iterable[tuple[str, Mapping[str, Any]]]:
        """Entries on ``path`` and on each of its ancestors, nearest first."""
        current = path
        while True:
            for entry in self.entries.get(current, ()):
                yield current, entry
            if current == paths.ROOT:
                return
            current = paths.parent_of(current)


def parse_permissions(text: str) -> tuple[str, ...]:
    """``"read,write"`` → ``("read", "write")``; ``all`` is every permission."""
    words = [w.strip().lower() for w in text.replace(" ", ",").split(",") if w.strip()]
    if words == ["all"]:
        return PERMISSIONS
    unknown = [w for w in words if w not in PERMISSIONS]
    if unknown or not words:
        raise ValidationError(
            f"permissions {text!r}: expected a comma-separated list of {', '.join(PERMISSIONS)} (or all)"
        )
    return tuple(p for p in PERMISSIONS if p in words)


def effective(identity: Identity, path: str, owner: str | None, acl: AclMap) -> dict[str, Grant]:
    """Each permission ``identity`` holds on ``path``, with the entry that grants it."""
    if identity.is_admin:
        return {p: Grant(p, "admins", f"group:{ADMINS}") for p in PERMISSIONS}
    granted: dict[str, Grant] = {}
    if owner is not None and owner == identity.name and identity.name != ANONYMOUS:
        granted = {p: Grant(p, "owner", f"user:{identity.name}") for p in PERMISSIONS}
    principals = identity.principals
    for source, entry in acl.along(path):
        if entry.get("principal") in principals:
            for permission in entry.get("permissions", ()):
                granted.setdefault(permission, Grant(permission, source, entry["principal"]))
    return granted


def read_roots(identity: Identity, acl: AclMap) -> tuple[str, ...]:
    """The tops of the subtrees ``identity`` may read through ACL entries (nested ones dropped)."""
    principals = identity.principals
    roots = sorted(
        path for path, entries in acl.entries.items()
        if any(e.get("principal") in principals and "read" in e.get("permissions", ()) for e in entries)
    )
    kept: list[str] = []
    for root in roots:
        if not any(paths.is_within(root, top) for top in kept):
            kept.append(root)
    return tuple(kept)


@dataclass(frozen=True, slots=True)
class Visibility:
    """What a listing may return: items owned by ``owner`` or lying within one of ``roots``.

    ``owner`` is None for the caller without a token: items recorded as owned by
    ``anonymous`` give nobody owner rights. Providers turn it into a condition of the
    query itself."""

    owner: str | None
    roots: Sequence[str]
    #: Items on the way to a root (a children listing's folders that lead to something the
    #: principal may read): shown by name and type, so that the tree can be walked down to it.
    ways: Sequence[str] = ()


def check_entries(value: Any, where: str) -> tuple[dict[str, Any], ...]:
    """Validate stored or imported ACL entries."""
    if not isinstance(value, list | tuple):
        raise ValidationError(f"{where}: acl must be a list of entries")
    out = []
    for entry in value:
        if not isinstance(entry, Mapping) or set(entry) != {"principal", "permissions"}:
            raise ValidationError(f"{where}: an acl entry is {{principal, permissions}}, got {entry!r}")
        principal = entry["principal"]
        if not isinstance(principal, str) or not principal.startswith(("user:", "group:")):
            raise ValidationError(
                f"{where}: acl principal must be user:NAME or group:NAME, got {principal!r}"
            )
        permissions = entry["permissions"]
        if not isinstance(permissions, list | tuple) or not set(permissions) <= ALL:
            raise ValidationError(f"{where}: acl permissions must be among {', '.join(PERMISSIONS)}")
        out.append({"principal": principal, "permissions": [p for p in PERMISSIONS if p in permissions]})
    return tuple(out)
