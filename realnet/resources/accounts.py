"""Accounts, groups and tokens, kept as items under ``/system``.

An account is ``/system/accounts/NAME`` (its password hash an encrypted secret
attribute), a group ``/system/groups/NAME`` (with its ``members``), a token
``/system/tokens/DIGEST`` — so a token check is one lookup of an indexed path, and
the token itself is never stored. Every change here is for admins, except that an
account may change its own password.
"""

from __future__ import annotations

import re
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from realnet.core import paths
from realnet.core.access import ADMINS, ALL, ANONYMOUS, BUILTIN_GROUPS, PERMISSIONS
from realnet.core.context import LOCAL_ADMIN
from realnet.core.errors import (
    AlreadyExists,
    Conflict,
    NotFound,
    PermissionDenied,
    RealnetError,
    ValidationError,
)
from realnet.core.guard import ACCOUNTS, GROUPS
from realnet.core.item import Item, ItemDraft

if TYPE_CHECKING:
    from realnet.core.context import Context

TOKENS = "/system/tokens"
HOME = "/home"
NAME = re.compile(r"^[a-z][a-z0-9._-]{0,63}$")
DURATION = re.compile(r"^(\d{1,9})([mhdw])$")
UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
LAST_USE_GRANULARITY = timedelta(minutes=1)


class InvalidToken(RealnetError):
    code = "unauthorized"


@dataclass(frozen=True, slots=True)
class IssuedToken:
    account: str
    label: str
    token: str
    expires: str | None


@dataclass(frozen=True, slots=True)
class TokenGrant:
    account: str
    expires: datetime | None


def _now() -> datetime:
    return datetime.now(UTC)


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")


def _moment(text: str) -> datetime:
    """A stored date-time; one without a zone is taken as UTC."""
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def check_name(name: str, what: str) -> str:
    if not NAME.match(name):
        raise ValidationError(
            f"{what} name {name!r}: expected lower-case letters, digits, '.', '_' or '-' "
            "(starting with a letter, at most 64)"
        )
    return name


MAX_LIFETIME = timedelta(days=36_500)


def parse_duration(text: str, field: str = "--expires") -> timedelta:
    """``30m``, ``12h``, ``30d``, ``8w`` …; errors name ``field`` (the flag, or ``body.expires``)."""
    match = DURATION.match(text.strip().lower())
    if not match or int(match.group(1)) == 0:
        raise ValidationError(f"{field} {text!r}: expected a duration such as 30m, 12h, 30d or 8w")
    try:
        lifetime = timedelta(**{UNITS[match.group(2)]: int(match.group(1))})
    except OverflowError:
        lifetime = MAX_LIFETIME * 2
    if lifetime > MAX_LIFETIME:
        raise ValidationError(f"{field} {text!r}: at most 100 years "
                              f"(without {field} a token never expires)")
    return lifetime


class Directory:
    """User, group and token management over one context, with its permission checks."""

    def __init__(self, context: Context) -> None:
        self.context = context
        self.provider = context.provider

    # -- accounts ------------------------------------------------------------------
    def account(self, name: str) -> Item:
        try:
            return self.provider.get(paths.join(ACCOUNTS, check_name(name, "account")))
        except NotFound:
            raise NotFound(name, "no such account") from None

    def check_account(self, name: str) -> Item:
        """The account ``--as`` and tokens may act as: existing and not disabled."""
        item = self.account(name)
        if item.attributes.get("disabled"):
            raise PermissionDenied(f"{name}: the account is disabled")
        return item

    def add_user(self, name: str, *, password: str | None, email: str | None = None,
                 full_name: str | None = None, kind: str = "person", allow_weak: bool = False) -> Item:
        from realnet.security.passwords import check_policy, hash_password

        self.context.guard.require_admin("user add")
        check_name(name, "account")
        if name == ANONYMOUS:  # a token or login for it would act as the unauthenticated caller
            raise ValidationError(f"{name}: a reserved name (the caller without a token)")
        if name in BUILTIN_GROUPS or self.provider.exists(paths.join(GROUPS, name)):
            raise AlreadyExists(f"{name} (a group of that name exists)")
        attributes: dict[str, Any] = {"kind": kind}
        if email:
            attributes["email"] = email
        if full_name:
            attributes["full_name"] = full_name
        if password is not None:
            check_policy(password, allow_weak=allow_weak)
            attributes["password_hash"] = hash_password(password)
        home = paths.join(HOME, name)
        with self.context.transaction():
            if self.provider.exists(paths.join(ACCOUNTS, name)):
                raise AlreadyExists(name)
            if self.provider.exists(home):  # a new account must not be handed someone else's files
                raise Conflict(f"{home}: the home folder of an earlier account of this name is still there; "
                               f"remove it (rm -r {home}) or move it away first")
            item = self.context.create(paths.join(ACCOUNTS, name), "Account", attributes)
            self.context.create(home, "Folder")
            self.provider.set_acl(home, [{"principal": f"user:{name}", "permissions": list(PERMISSIONS)}])
        return item

    def users(self) -> list[Item]:
        self.context.guard.require_admin("user list")
        return list(self.provider.iter_children(ACCOUNTS))

    def show_user(self, name: str) -> dict[str, Any]:
        if name != self.context.principal:
            self.context.guard.require_admin("user show")
        item = self.account(name)
        groups = sorted(g.name for g in self.provider.iter_children(GROUPS)
                        if name in (g.attributes.get("members") or ()))
        shown = self.context.shown(item)
        return {"name": name, "groups": groups, "home": paths.join(HOME, name),
                **{k: v for k, v in shown.attributes.items() if k != "password_hash"},
                "password": "set" if item.attributes.get("password_hash") else "not set",
                "created": item.created}

    def remove_user(self, name: str, *, remove_home: bool = False) -> dict[str, Any]:
        """Remove the account with its memberships, tokens and ACL entries. Whatever it
        owned passes to the administrator removing it, so that an account made later under
        the same name gets none of it; its home folder stays unless ``remove_home``."""
        self.context.guard.require_admin("user rm")
        if name == self.context.principal:
            raise ValidationError(f"{name}: you cannot remove the account you act as")
        if name == LOCAL_ADMIN:  # the local shell and CLI act as it
            raise ValidationError(f"{name}: the built-in administrator account cannot be removed")
        item = self.account(name)
        home = paths.join(HOME, name)
        with self.context.transaction():
            for group in list(self.provider.iter_children(GROUPS)):
                members = list(group.attributes.get("members") or ())
                if name in members:
                    members.remove(name)
                    self.provider.update(group.path, {**group.attributes, "members": members})
            for token in self._tokens_of(name):
                self.provider.delete(token.path)
            self._drop_acl_entries(f"user:{name}")
            self.provider.delete(item.path)
            reassigned = self.provider.reassign_owner(name, self.context.principal)
        kept = self.provider.exists(home)
        if kept and remove_home:  # after the account is gone: removing it also releases its content
            self.context.delete(home, recursive=True)
            kept = False
        return {"removed": name, "owned_items_passed_to": self.context.principal, "reassigned": reassigned,
                "home": home, "home_kept": kept}

    def _drop_acl_entries(self, principal: str) -> None:
        for path, entries in self.provider.acl_entries([principal]).items():
            if any(e.get("principal") == principal for e in entries):
                self.provider.set_acl(path, [e for e in entries if e.get("principal") != principal])

    def set_password(self, name: str, password: str, *, allow_weak: bool = False) -> None:
        from realnet.security.passwords import check_policy, hash_password

        if name != self.context.principal:
            self.context.guard.require_admin("user passwd")
        if allow_weak:
            self.context.guard.require_admin("--allow-weak")
        check_policy(password, allow_weak=allow_weak)
        item = self.account(name)
        attributes = self.context.seal("Account", {**item.attributes,
                                                   "password_hash": hash_password(password)},
                                       ["password_hash"])
        self.provider.update(item.path, attributes)

    def authenticate(self, name: str, password: str) -> bool:
        """Check a password; an unknown or disabled account costs the same as a wrong password."""
        from realnet.security.passwords import verify_password

        stored = None
        try:
            item = self.check_account(name)
            sealed = item.attributes.get("password_hash")
            if sealed:
                stored = self.context.secrets.open(sealed, where=f"account {name}")  # type: ignore[union-attr]
        except (NotFound, PermissionDenied, ValidationError):
            stored = None
        return verify_password(password, stored) and stored is not None

    # -- groups --------------------------------------------------------------------
    def group(self, name: str) -> Item:
        try:
            return self.provider.get(paths.join(GROUPS, check_name(name, "group")))
        except NotFound:
            raise NotFound(name, "no such group") from None

    def add_group(self, name: str, *, title: str | None = None) -> Item:
        self.context.guard.require_admin("group add")
        check_name(name, "group")
        if self.provider.exists(paths.join(ACCOUNTS, name)):
            raise AlreadyExists(f"{name} (an account of that name exists)")
        attributes = {"title": title} if title else {}
        return self.context.create(paths.join(GROUPS, name), "Group", attributes)

    def groups(self) -> list[Item]:
        self.context.guard.require_admin("group list")
        return list(self.provider.iter_children(GROUPS))

    def remove_group(self, name: str) -> None:
        self.context.guard.require_admin("group rm")
        if name in BUILTIN_GROUPS:
            raise ValidationError(f"{name}: a built-in group cannot be removed")
        item = self.group(name)
        with self.context.transaction():  # its grants must not come back with a new group of that name
            self._drop_acl_entries(f"group:{name}")
            self.provider.delete(item.path)

    def change_membership(self, group: str, account: str, *, add: bool) -> Item:
        self.context.guard.require_admin("group member")
        item = self.group(group)
        self.account(account)
        if group in ("authenticated", "public"):
            raise ValidationError(f"{group}: membership of this group is implicit")
        with self.context.transaction():
            current = self.provider.get_for_update(item.path)
            members = list(current.attributes.get("members") or ())
            if add and account not in members:
                members.append(account)
            elif not add:
                if account not in members:
                    raise NotFound(account, f"not a member of {group}")
                if group == ADMINS and account == self.context.principal:
                    raise ValidationError(f"{account}: you cannot remove yourself from {ADMINS}")
                if group == ADMINS and account == LOCAL_ADMIN:
                    raise ValidationError(f"{account}: the built-in administrator stays in {ADMINS} "
                                          "(the local shell and CLI act as it)")
                members.remove(account)
            updated = self.provider.update(item.path, {**current.attributes, "members": sorted(members)})
        self.context.refresh()
        return updated

    # -- tokens --------------------------------------------------------------------
    def _tokens_of(self, account: str) -> list[Item]:
        return [t for t in self.provider.iter_children(TOKENS) if t.attributes.get("account") == account]

    def _may_manage_tokens(self, account: str, what: str) -> None:
        if account != self.context.principal:
            self.context.guard.require_admin(what)

    def create_token(self, account: str, label: str, *, expires: str | None,
                     expires_field: str = "--expires") -> IssuedToken:
        from realnet.security.tokens import digest, new_token

        self._may_manage_tokens(account, "token create")
        self.check_account(account)
        check_name(label, "token")
        if any(t.attributes.get("label") == label for t in self._tokens_of(account)):
            raise AlreadyExists(f"token {label} of {account}")
        token = new_token()
        until = _stamp(_now() + parse_duration(expires, expires_field)) if expires else None
        attributes = {"account": account, "label": label, "revoked": False}
        if until:
            attributes["expires"] = until
        path = paths.join(TOKENS, digest(token))
        checked = self.context.types.validate("Token", attributes, where=path)
        # Written directly: the permission to do so was checked above. Owned by the local
        # administrator, never by the account: an owner could un-revoke its own token.
        self.provider.create(ItemDraft(path=path, type="Token", owner=LOCAL_ADMIN, attributes=checked))
        return IssuedToken(account, label, token, until)

    def tokens(self, account: str) -> list[dict[str, Any]]:
        self._may_manage_tokens(account, "token list")
        self.account(account)
        return [{"name": t.attributes["label"], "created": t.created,
                 "expires": t.attributes.get("expires"), "last_used": t.attributes.get("last_used"),
                 "revoked": bool(t.attributes.get("revoked"))}
                for t in sorted(self._tokens_of(account), key=lambda t: t.attributes["label"])]

    def revoke_token(self, account: str, label: str) -> None:
        self._may_manage_tokens(account, "token revoke")
        for token in self._tokens_of(account):
            if token.attributes.get("label") == label:
                self.provider.update(token.path, {**token.attributes, "revoked": True})
                return
        raise NotFound(f"token {label} of {account}", "no such token")

    def check_token(self, token: str) -> str:
        """The account a token acts as; one indexed lookup. Refuses every bad token alike."""
        return self.token_grant(token).account

    def token_grant(self, token: str) -> TokenGrant:
        """The account a token acts as and until when; refuses every bad token alike."""
        from realnet.security.tokens import digest, well_formed

        refused = InvalidToken("token: not valid (unknown, malformed, expired or revoked)")
        if not isinstance(token, str) or not well_formed(token):
            raise refused
        try:
            item = self.provider.get(paths.join(TOKENS, digest(token)))
        except NotFound:
            raise refused from None
        attrs = item.attributes
        now = _now()
        if attrs.get("revoked"):
            raise refused
        try:
            expires = _moment(attrs["expires"]) if attrs.get("expires") else None
            last = _moment(attrs["last_used"]) if attrs.get("last_used") else None
        except (TypeError, ValueError):
            raise refused from None
        if expires is not None and expires <= now:
            raise refused
        try:
            self.check_account(attrs["account"])
        except (NotFound, PermissionDenied):
            raise refused from None
        if last is None or now - last > LAST_USE_GRANULARITY:
            # A concurrent check may have recorded it; the token is valid either way.
            with suppress(RealnetError):
                self.provider.update(item.path, {**attrs, "last_used": _stamp(now)})
        return TokenGrant(attrs["account"], expires)


def grant(context: Context, path: str, principal: str, permissions: tuple[str, ...]) -> Item:
    """Add permissions for ``principal`` (``NAME``, ``user:NAME`` or ``group:NAME``) on ``path``."""
    return _change_acl(context, path, principal, set(permissions), add=True)


def revoke(context: Context, path: str, principal: str, permissions: tuple[str, ...] | None) -> Item:
    return _change_acl(context, path, principal, set(permissions or ALL), add=False)


def qualify(context: Context, principal: str) -> str:
    """``alice`` → ``user:alice``; ``editors`` → ``group:editors``; ambiguity is an error."""
    directory = Directory(context)
    if principal.startswith(("user:", "group:")):
        kind, _, name = principal.partition(":")
        (directory.account if kind == "user" else directory.group)(name)
        return principal
    is_user = context.provider.exists(paths.join(ACCOUNTS, principal))
    is_group = context.provider.exists(paths.join(GROUPS, principal))
    if is_user and is_group:
        raise ValidationError(f"{principal}: both an account and a group; write user:{principal} "
                              f"or group:{principal}")
    if not is_user and not is_group:
        raise NotFound(principal, "no such account or group")
    return f"user:{principal}" if is_user else f"group:{principal}"


def _change_acl(context: Context, path: str, principal: str, permissions: set[str], *, add: bool) -> Item:
    target = paths.normalize(path)
    qualified = qualify(context, principal)
    with context.transaction():
        item = context.guard.require(context.provider.get_for_update(target), "admin")
        entries = [dict(e) for e in item.acl]
        entry = next((e for e in entries if e["principal"] == qualified), None)
        if add:
            if entry is None:
                entries.append({"principal": qualified, "permissions": []})
                entry = entries[-1]
            entry["permissions"] = [p for p in PERMISSIONS if p in set(entry["permissions"]) | permissions]
        else:
            if entry is None:
                raise NotFound(f"{target}: {qualified}", "no ACL entry for this principal here")
            entry["permissions"] = [p for p in entry["permissions"] if p not in permissions]
            if not entry["permissions"]:
                entries.remove(entry)
        updated = context.provider.set_acl(target, entries)
    context.refresh()
    return updated
