"""Option declarations and helpers shared by the command modules."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import click

from realnet.commands.output import FORMATS
from realnet.commands.session import Session
from realnet.core import paths
from realnet.core.errors import NotFound, UsageError

output_option = click.option(
    "-o", "--output", type=click.Choice(FORMATS), default="table", show_default=True,
    help="table (rich on a terminal, plain in a pipe), json or yaml.",
)
parents_option = click.option(
    "-p", "--parents", is_flag=True, help="Create missing parent folders."
)


def session_of(ctx: click.Context) -> Session:
    obj = ctx.find_root().obj
    if not isinstance(obj, Session):
        raise RuntimeError("commands need a Session as the click context object")
    return obj


def parse_assignments(pairs: Iterable[str], *, flag: str) -> dict[str, Any]:
    """``["title=Plan", "n=3"]`` → ``{"title": "Plan", "n": "3"}`` (values converted later)."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"{flag} {pair!r}: expected NAME=VALUE")
        out[key.strip()] = value
    return out


def expand(session: Session, pattern: str) -> list[str]:
    """Resolve a path; a glob in its last segment expands to the matching children.

    A path that names an existing item is that item, even when its name holds ``*``,
    ``?`` or ``[``: ``rm 'report[1]'`` must not remove ``report1`` instead."""
    if not paths.has_glob(pattern):
        return [session.resolve(pattern)]
    literal = session.resolve(pattern)
    try:
        session.context.get(literal)
        return [literal]
    except NotFound:
        pass
    head, _, glob = pattern.rpartition("/")
    if paths.has_glob(head):
        raise UsageError(f"{pattern}: wildcards are supported in the last segment only")
    folder = session.cwd if "/" not in pattern else session.resolve(head or paths.ROOT)
    matches: list[str] = []
    cursor = None
    while True:
        page = session.context.find(folder, name_glob=glob, max_depth=1, cursor=cursor)
        matches += [i.path for i in page.items]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    if not matches:
        raise NotFound(pattern, "no item matches")
    return matches
