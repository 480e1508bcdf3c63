"""Identity and access: whoami user group acl token."""

from __future__ import annotations

import sys

import click

from realnet.commands.common import output_option, session_of
from realnet.commands.output import Record, Table, Text
from realnet.commands.session import Session
from realnet.core.access import PERMISSIONS, parse_permissions
from realnet.core.errors import UsageError, ValidationError


def _directory(session: Session):
    from realnet.resources.accounts import Directory

    return Directory(session.context)


def _read_password(session: Session, from_stdin: bool, *, required: bool) -> str | None:
    if from_stdin:
        line = sys.stdin.readline()
        if not line:
            raise UsageError("--password-stdin: nothing on standard input")
        return line.rstrip("\r\n")
    if not session.interactive:
        if required:
            raise UsageError("password: no terminal to ask on; pass --password-stdin")
        return None
    import getpass

    first = getpass.getpass("password: ")
    if first != getpass.getpass("again: "):
        raise ValidationError("password: the two entries differ; nothing changed")
    return first


class AclGroup(click.Group):
    """``acl PATH`` is short for ``acl show PATH``."""

    def resolve_command(self, ctx, args):
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["show", *args]
        return super().resolve_command(ctx, args)


def register(group: click.Group) -> None:
    @group.command("whoami")
    @output_option
    @click.pass_context
    def whoami(ctx, output):
        """Show who you act as, your groups and your home folder."""
        session = session_of(ctx)
        identity = session.context.guard.identity
        values = {"name": identity.name, "groups": sorted(identity.groups),
                  "admin": identity.is_admin, "home": session.context.home,
                  "store": session.context.provider.label}
        session.emit(Record(values, message=f"{identity.name} ({', '.join(sorted(identity.groups))})"),
                     output)

    # -- user -------------------------------------------------------------------
    @group.group("user")
    def user():
        """Accounts: add, list, show, rm, passwd."""

    @user.command("add")
    @click.argument("name")
    @click.option("--email", help="E-mail address.")
    @click.option("--full-name", help="Full name.")
    @click.option("--service", is_flag=True, help="A service account (uses tokens, not a password).")
    @click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
    @click.option("--allow-weak", is_flag=True, help="Accept a password shorter than 12 characters.")
    @click.pass_context
    def user_add(ctx, name, email, full_name, service, password_stdin, allow_weak):
        """Add an account (asks for a password on a terminal) with a home folder."""
        session = session_of(ctx)
        directory = _directory(session)
        session.context.guard.require_admin("user add")
        password = None if service and not password_stdin else \
            _read_password(session, password_stdin, required=False)
        directory.add_user(name, password=password, email=email, full_name=full_name,
                           kind="service" if service else "person", allow_weak=allow_weak)
        note = "" if password else " (no password: it can use tokens)"
        session.emit(Text(f"added {name}, home /home/{name}{note}"))

    @user.command("list")
    @output_option
    @click.pass_context
    def user_list(ctx, output):
        """List the accounts."""
        session = session_of(ctx)
        rows = tuple((u.name, u.attributes.get("kind", ""), u.attributes.get("email", ""),
                      "disabled" if u.attributes.get("disabled") else "")
                     for u in _directory(session).users())
        session.emit(Table(("name", "kind", "email", "state"), rows), output)

    @user.command("show")
    @click.argument("name")
    @output_option
    @click.pass_context
    def user_show(ctx, name, output):
        """Show one account (never its password)."""
        session = session_of(ctx)
        session.emit(Record(_directory(session).show_user(name)), output)

    @user.command("rm")
    @click.argument("name")
    @click.option("--remove-home", is_flag=True, help="Remove its home folder with everything in it too.")
    @output_option
    @click.pass_context
    def user_rm(ctx, name, remove_home, output):
        """Remove an account, its memberships and its tokens; what it owned passes to you
        (its home folder stays, unless --remove-home)."""
        session = session_of(ctx)
        done = _directory(session).remove_user(name, remove_home=remove_home)
        home = (f"its home {done['home']} stays (rm -r {done['home']} when it is no longer needed)"
                if done["home_kept"] else f"its home {done['home']} is removed")
        session.emit(Record(done, message=f"removed {name}; {done['reassigned']} item(s) it owned now belong "
                                          f"to {done['owned_items_passed_to']}; {home}"), output)

    @user.command("passwd")
    @click.argument("name", required=False)
    @click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
    @click.option("--allow-weak", is_flag=True, help="Accept a password shorter than 12 characters.")
    @click.pass_context
    def user_passwd(ctx, name, password_stdin, allow_weak):
        """Set a password (your own, or anyone's as an admin)."""
        session = session_of(ctx)
        name = name or session.context.principal
        password = _read_password(session, password_stdin, required=True)
        _directory(session).set_password(name, password, allow_weak=allow_weak)
        session.emit(Text(f"password of {name} changed"))

    # -- group ------------------------------------------------------------------
    @group.group("group")
    def group_():
        """Groups: add, list, rm, member add, member rm."""

    @group_.command("add")
    @click.argument("name")
    @click.option("--title", help="A readable title.")
    @click.pass_context
    def group_add(ctx, name, title):
        """Add a group."""
        session = session_of(ctx)
        _directory(session).add_group(name, title=title)
        session.emit(Text(f"added group {name}"))

    @group_.command("list")
    @output_option
    @click.pass_context
    def group_list(ctx, output):
        """List the groups and their members."""
        session = session_of(ctx)
        rows = tuple((g.name, ", ".join(g.attributes.get("members") or ()))
                     for g in _directory(session).groups())
        session.emit(Table(("name", "members"), rows), output)

    @group_.command("rm")
    @click.argument("name")
    @click.pass_context
    def group_rm(ctx, name):
        """Remove a group (its ACL entries stop granting anything)."""
        session = session_of(ctx)
        _directory(session).remove_group(name)
        session.emit(Text(f"removed group {name}"))

    @group_.group("member")
    def member():
        """Add or remove members."""

    @member.command("add")
    @click.argument("group_name", metavar="GROUP")
    @click.argument("account")
    @click.pass_context
    def member_add(ctx, group_name, account):
        """Add an account to a group."""
        session = session_of(ctx)
        _directory(session).change_membership(group_name, account, add=True)
        session.emit(Text(f"{account} is a member of {group_name}"))

    @member.command("rm")
    @click.argument("group_name", metavar="GROUP")
    @click.argument("account")
    @click.pass_context
    def member_rm(ctx, group_name, account):
        """Remove an account from a group."""
        session = session_of(ctx)
        _directory(session).change_membership(group_name, account, add=False)
        session.emit(Text(f"{account} is no longer a member of {group_name}"))

    # -- acl --------------------------------------------------------------------
    @group.group("acl", cls=AclGroup)
    def acl():
        """Permissions: acl PATH shows them; acl grant|revoke change them."""

    @acl.command("show")
    @click.argument("path")
    @click.option("--for", "principal", help="Whose permissions (default: yours).")
    @output_option
    @click.pass_context
    def acl_show(ctx, path, principal, output):
        """Effective permissions on PATH and where each comes from, and the entries there."""
        from realnet.core.access import effective
        from realnet.core.guard import Guard

        session = session_of(ctx)
        context = session.context
        item = context.get(session.resolve(path))
        guard = context.guard
        if principal and principal != context.principal:
            guard.require_admin("acl --for")
            from realnet.resources.accounts import Directory

            Directory(context).account(principal)
            guard = Guard(context.provider, principal)
        granted = effective(guard.identity, item.path, item.owner, guard.acl)
        rows = tuple((p, "yes" if p in granted else "no",
                      f"{granted[p].source} ({granted[p].principal})" if p in granted else "")
                     for p in PERMISSIONS)
        records = [{"permission": p, "granted": p in granted,
                    "source": granted[p].source if p in granted else None,
                    "principal": granted[p].principal if p in granted else None} for p in PERMISSIONS]
        if output == "table":
            session.emit(Text(f"{item.path} for {guard.identity.name}:"))
            session.emit(Table(("permission", "granted", "from"), rows))
            if item.acl and (context.guard.is_admin or context.guard.permissions(item).get("admin")):
                session.emit(Text("entries here: " + "; ".join(
                    f"{e['principal']} {','.join(e['permissions'])}" for e in item.acl)))
        else:
            may_admin = "admin" in context.guard.permissions(item) or context.guard.is_admin
            session.emit({"path": item.path, "principal": guard.identity.name, "permissions": records,
                          "entries": [dict(e) for e in item.acl] if may_admin else None}, output)

    @acl.command("grant")
    @click.argument("path")
    @click.argument("principal")
    @click.argument("permissions")
    @click.pass_context
    def acl_grant(ctx, path, principal, permissions):
        """Grant PERMISSIONS (read,write,create,delete,admin or all) on PATH and its subtree."""
        from realnet.resources.accounts import grant

        session = session_of(ctx)
        item = grant(session.context, session.resolve(path), principal, parse_permissions(permissions))
        session.emit(Text(f"{item.path}: " + "; ".join(
            f"{e['principal']} {','.join(e['permissions'])}" for e in item.acl)))

    @acl.command("revoke")
    @click.argument("path")
    @click.argument("principal")
    @click.argument("permissions", required=False)
    @click.pass_context
    def acl_revoke(ctx, path, principal, permissions):
        """Take PERMISSIONS (default: all) of PRINCIPAL's entry on PATH away."""
        from realnet.resources.accounts import revoke

        session = session_of(ctx)
        chosen = parse_permissions(permissions) if permissions else None
        item = revoke(session.context, session.resolve(path), principal, chosen)
        entries = "; ".join(f"{e['principal']} {','.join(e['permissions'])}" for e in item.acl)
        session.emit(Text(f"{item.path}: {entries or 'no entries'}"))

    # -- token ------------------------------------------------------------------
    @group.group("token")
    def token():
        """API tokens: create (shown once), list, revoke."""

    @token.command("create")
    @click.argument("account")
    @click.option("--name", "label", required=True, help="A name to tell the token by.")
    @click.option("--expires", help="Lifetime such as 30d, 12h, 8w (default: never).")
    @output_option
    @click.pass_context
    def token_create(ctx, account, label, expires, output):
        """Create a token; it is printed once and never stored."""
        session = session_of(ctx)
        issued = _directory(session).create_token(account, label, expires=expires)
        values = {"account": issued.account, "name": issued.label, "token": issued.token,
                  "expires": issued.expires}
        session.emit(Record(values, message=issued.token), output)
        session.note("# store this token now: it cannot be shown again")

    @token.command("list")
    @click.argument("account")
    @output_option
    @click.pass_context
    def token_list(ctx, account, output):
        """List an account's tokens (never the tokens themselves)."""
        session = session_of(ctx)
        records = _directory(session).tokens(account)
        rows = tuple((r["name"], r["created"][:19], (r["expires"] or "never")[:19],
                      (r["last_used"] or "-")[:19], "revoked" if r["revoked"] else "active")
                     for r in records)
        session.emit(Table(("name", "created", "expires", "last used", "state"), rows, records), output)

    @token.command("revoke")
    @click.argument("account")
    @click.argument("label", metavar="NAME")
    @click.pass_context
    def token_revoke(ctx, account, label):
        """Revoke a token for good."""
        session = session_of(ctx)
        _directory(session).revoke_token(account, label)
        session.emit(Text(f"revoked token {label} of {account}"))
