"""Changing the tree: create set rm mv cp."""

from __future__ import annotations

import click

from realnet.commands.common import (
    expand,
    output_option,
    parents_option,
    parse_assignments,
    session_of,
)
from realnet.commands.output import ItemDetail, Record, Text
from realnet.commands.session import Session
from realnet.core.errors import UsageError
from realnet.core.item import Item


def register(group: click.Group) -> None:
    @group.command("create")
    @click.argument("path")
    @click.option("-t", "--type", "type_name", required=True, help="Type of the new item.")
    @click.option("-a", "--attr", "attrs", metavar="NAME=VALUE", multiple=True,
                  help="Set an attribute; repeat as needed.")
    @parents_option
    @output_option
    @click.pass_context
    def create(ctx, path, type_name, attrs, parents, output):
        """Create an item of a type, with attributes."""
        session = session_of(ctx)
        values = parse_assignments(attrs, flag="--attr")
        item = session.context.create(session.resolve_new(path), type_name, values,
                                      from_text=True, parents=parents)
        _report(session, item, output, f"created {item.path}")

    @group.command("set")
    @click.argument("path")
    @click.argument("assignments", metavar="NAME=VALUE...", nargs=-1)
    @click.option("--unset", metavar="NAME", multiple=True,
                  help="Remove an attribute; repeat as needed.")
    @click.option("--if-version", type=int, help="Fail unless the item is still at this version.")
    @output_option
    @click.pass_context
    def set_(ctx, path, assignments, unset, if_version, output):
        """Change attributes of an item."""
        session = session_of(ctx)
        changes = parse_assignments(assignments, flag="set")
        if not changes and not unset:
            raise UsageError("set: expected NAME=VALUE or --unset NAME")
        item = session.context.update(session.resolve(path), changes, unset=unset,
                                      expected_version=if_version, from_text=True)
        _report(session, item, output, f"updated {item.path} (version {item.version})")

    @group.command("rm")
    @click.argument("targets", metavar="PATH...", nargs=-1, required=True)
    @click.option("-r", "--recursive", is_flag=True, help="Delete folders with everything in them.")
    @click.option("-f", "--force", is_flag=True, help="Do not ask (required without a terminal).")
    @click.option("--purge-data", is_flag=True,
                  help="With -r on a WordPress site: delete its data volumes too.")
    @output_option
    @click.pass_context
    def rm(ctx, targets, recursive, force, purge_data, output):
        """Delete items; -r for a subtree (asks first on a terminal)."""
        session = session_of(ctx)
        if purge_data and not recursive:
            raise UsageError("--purge-data: only with -r (it removes a WordPress site with its data)")
        context = session.context
        resolved = list(dict.fromkeys(p for pattern in targets for p in expand(session, pattern)))
        for path in resolved:
            context.get(path)
        if recursive:
            below = sum(context.count_below(p) for p in resolved)
            beyond = [n for p in resolved if (n := context.deletes_beyond(p, purge_data=purge_data))]
            if below or beyond:
                listed = ", ".join(resolved[:3]) + (" …" if len(resolved) > 3 else "")
                what = "; ".join([*([f"{below} item(s) below"] if below else []), *dict.fromkeys(beyond)])
                session.confirm(f"delete {listed} ({what})?", force=force, refusal=f"{listed} ({what})")
        if purge_data:  # an action: only a cluster's provider knows about data volumes
            with context.transaction():
                removed = sum(context.action(p, "remove", recursive=True, purge_data=True) for p in resolved)
        else:  # one transaction, also through a remote server: all of them or none
            removed = context.delete_many(resolved, recursive=recursive)
        if output == "table":
            session.emit(Text(f"removed {removed} item(s)"))
        else:
            session.emit(Record({"removed": removed, "paths": resolved}), output)

    @group.command("mv")
    @click.argument("source")
    @click.argument("target")
    @parents_option
    @output_option
    @click.pass_context
    def mv(ctx, source, target, parents, output):
        """Move or rename an item with its subtree (into TARGET if it is a folder)."""
        session = session_of(ctx)
        item = session.context.move(session.resolve(source), session.resolve(target),
                                    parents=parents)
        _report(session, item, output, f"moved to {item.path}")

    @group.command("cp")
    @click.argument("source")
    @click.argument("target")
    @click.option("-r", "--recursive", is_flag=True,
                  help="Accepted for habit: cp always copies the whole subtree.")
    @parents_option
    @output_option
    @click.pass_context
    def cp(ctx, source, target, recursive, parents, output):
        """Copy an item with its subtree (into TARGET if it is a folder), also from one
        provider to another (a document into the store, the store onto a mounted folder)."""
        session = session_of(ctx)
        item = session.context.copy(session.resolve(source), session.resolve(target),
                                    parents=parents)
        _report(session, item, output, f"copied to {item.path}")


def _report(session: Session, item: Item, output: str, message: str) -> None:
    if output == "table":
        session.emit(Text(message))
    else:
        session.emit(ItemDetail(item), output)
