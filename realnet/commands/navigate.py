"""Reading the tree: ls cd pwd get cat tree find."""

from __future__ import annotations

import click

from realnet.commands import output as output_module
from realnet.commands.common import expand, output_option, session_of
from realnet.commands.output import ItemDetail, ItemList, Text, TreeView, Value
from realnet.core import paths
from realnet.core.errors import NotFound, RealnetError, UsageError, ValidationError
from realnet.core.item import ORDERS

TREE_LIMIT = 10_000


_MISSING = object()


def _attribute_at(session, path: str):
    """``/a/b/name`` where ``name`` is an attribute of ``/a/b`` (and no item): its value."""
    if path == "/":
        return _MISSING
    try:
        holder = session.context.shown(session.context.get(paths.parent_of(path)))
    except RealnetError:
        return _MISSING
    return holder.attributes.get(paths.name_of(path), _MISSING)


def _columns(context, items) -> tuple[str, ...]:
    """A listing of items of one type shows that type's columns (``ready``, ``status`` …)."""
    kinds = {i.type for i in items}
    types = getattr(context, "types", None)
    if len(kinds) != 1 or types is None:
        return ()
    (kind,) = kinds
    return types.columns(kind) if kind in types else ()


def _is_file(session, item) -> bool:
    types = getattr(session.context, "types", None)
    try:
        return types is not None and item.type in types and types.is_a(item.type, "File")
    except RealnetError:
        return False


def register(group: click.Group) -> None:
    @group.command("ls")
    @click.argument("path", default=".")
    @click.option("-l", "--long", is_flag=True, help="Type, version and update time too.")
    @click.option("--order", default="name", show_default=True, help=f"One of {', '.join(ORDERS)}.")
    @click.option("--limit", type=click.IntRange(1, 10_000), default=100, show_default=True,
                  help="Page size.")
    @click.option("--cursor", help="Continue a listing where the last page ended.")
    @click.option("-a", "--all", "every", is_flag=True, help="Every page, not just one.")
    @output_option
    @click.pass_context
    def ls(ctx, path, long, order, limit, cursor, every, output):
        """List the children of a folder (PATH may end in a glob: ls /projects/no*)."""
        session = session_of(ctx)
        context = session.context
        if order not in ORDERS:
            raise UsageError(f"--order {order!r}: expected one of {', '.join(ORDERS)}")
        targets = expand(session, path)
        if len(targets) > 1 or targets[0] != session.resolve(path):
            found = [context.get(t) for t in targets]
            session.emit(ItemList(tuple(sorted(found, key=lambda i: i.path)), long=long,
                                  show_path=True), output)
            return
        item = context.listable(targets[0])
        if not context.can_hold_children(item) and context.count_below(item.path) == 0:
            session.emit(ItemList((item,), long=long), output)
            return
        collected = []
        while True:
            page = context.list(item.path, order=order, limit=limit, cursor=cursor)
            collected.extend(page.items)
            cursor = page.next_cursor
            if not every or cursor is None:
                break
        if output == "table":
            session.emit(ItemList(tuple(collected), long=long, columns=_columns(context, collected)), output)
            if cursor:
                session.note(f"# more items: ls {path} --cursor {cursor}  (or --all)")
        else:
            session.emit(ItemList(tuple(collected), long=long, next_cursor=cursor), output)

    @group.command("cd")
    @click.argument("path", default="~")
    @click.pass_context
    def cd(ctx, path):
        """Change the current folder: none for ~, - for the previous one."""
        session = session_of(ctx)
        target = session.resolve(path)
        item = session.context.listable(target)
        if not session.context.can_hold_children(item):
            raise ValidationError(f"{target}: not a folder (a {item.type} holds no children)")
        session.change_folder(item.path)

    @group.command("pwd")
    @click.pass_context
    def pwd(ctx):
        """Print the current folder."""
        session = session_of(ctx)
        session.emit(Text(session.cwd))

    @group.command("get")
    @click.argument("path")
    @click.option("--reveal", is_flag=True, help="Show secret attributes (needs write permission).")
    @output_option
    @click.pass_context
    def get(ctx, path, reveal, output):
        """Show one item: identity, type, version, times and attributes; or, for
        PATH/NAME where NAME is an attribute of PATH, that attribute's value."""
        session = session_of(ctx)
        if reveal:
            item = session.context.reveal(session.resolve(path))
            output_module.emit(ItemDetail(item), output, stream=session.stdout)
            return
        resolved = session.resolve(path)
        try:
            item = session.context.get(resolved)
        except NotFound:
            value = _attribute_at(session, resolved)
            if value is _MISSING:
                raise
            session.emit(Value(value), output)
            return
        session.emit(ItemDetail(item), output)

    @group.command("cat")
    @click.argument("targets", metavar="PATH...", nargs=-1, required=True)
    @click.pass_context
    def cat(ctx, targets):
        """Print the text of items (a Document's body, a Link's target, a File's bytes)."""
        session = session_of(ctx)
        for pattern in targets:
            for path in expand(session, pattern):
                item = session.context.get(path)
                if item.attributes.get("storage_key") or _is_file(session, item):  # bytes, checked
                    from realnet.commands.content import stream_verified

                    stream_verified(session, *session.context.read_content(path))
                    continue
                text = session.context.text(path)
                session.stdout.write(text if text.endswith("\n") or not text else text + "\n")

    @group.command("tree")
    @click.argument("path", default=".")
    @click.option("-L", "--depth", type=click.IntRange(min=1), help="Descend at most this many levels.")
    @output_option
    @click.pass_context
    def tree(ctx, path, depth, output):
        """Show a subtree, level by level."""
        session = session_of(ctx)
        context = session.context
        root = context.listable(session.resolve(path))
        page = context.find(root.path, max_depth=depth, limit=TREE_LIMIT)
        session.emit(TreeView(root, page.items, truncated=page.next_cursor is not None), output)

    @group.command("find")
    @click.argument("path", default=".")
    @click.option("-t", "--type", "type_name", help="Only this type and its subtypes.")
    @click.option("-n", "--name", help="Name glob, e.g. 'no*'.")
    @click.option("-L", "--depth", type=click.IntRange(min=1), help="Descend at most this many levels.")
    @click.option("--limit", type=click.IntRange(1, 100_000), default=1000, show_default=True)
    @click.option("--cursor", help="Continue where the last page ended.")
    @click.option("-l", "--long", is_flag=True, help="Type, version and update time too.")
    @output_option
    @click.pass_context
    def find(ctx, path, type_name, name, depth, limit, cursor, long, output):
        """Search a subtree by type and name."""
        session = session_of(ctx)
        page = session.context.find(session.resolve(path), type_name=type_name, name_glob=name,
                                    max_depth=depth, limit=limit, cursor=cursor)
        if output == "table":
            session.emit(ItemList(page.items, long=long, show_path=True), output)
            if page.next_cursor:
                session.note(f"# more results: --cursor {page.next_cursor}")
        else:
            session.emit(ItemList(page.items, long=long, show_path=True,
                                  next_cursor=page.next_cursor), output)
