"""What each request op does, through the same :class:`Context` (and so the same permission
checks) as every other face. Runs on a store thread, inside the transaction that also
records the request id."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from realnet.core import paths
from realnet.core.errors import Conflict

if TYPE_CHECKING:
    from realnet.core.context import Context
    from realnet.core.item import ChildrenPage, Item
    from realnet.runners.sqs.protocol import Request
    from realnet.runners.sqs.refs import ObjectRefs


def apply(context: Context, request: Request, refs: ObjectRefs) -> Any:
    """The op's result, as the reply's ``result``."""
    f, path = request.fields, paths.normalize(request.path)
    op = request.op
    if op == "get":
        item = context.reveal(path) if f.get("reveal") else context.get(path)
        return item.to_dict() if f.get("reveal") else _shown(context, item)
    if op == "list":
        return _list(context, path, f)
    if op == "create":
        item = context.create(path, f["type"], f.get("attributes") or {}, parents=bool(f.get("parents")),
                              from_text=bool(f.get("from_text")))
        return _shown(context, item)
    if op == "update":
        expected = f.get("version")
        if expected is not None:
            _check_version(context, path, expected)
        item = context.update(path, f.get("attributes") or {}, unset=f.get("unset") or [],
                              expected_version=expected, from_text=bool(f.get("from_text")))
        return _shown(context, item)
    if op == "delete":
        if f.get("version") is not None:
            _check_version(context, path, f["version"])
        return {"removed": context.delete(path, recursive=bool(f.get("recursive")))}
    if op == "action":
        relocate = context.move if f["action"] == "move" else context.copy
        return _shown(context, relocate(path, paths.normalize(f["target"]), parents=bool(f.get("parents"))))
    if op == "put":
        return _shown(context, refs.put(context, path, f["from"], content_type=f.get("content_type"),
                                        parents=bool(f.get("parents"))))
    if op == "fetch":
        return refs.fetch(context, path, f["to"])
    raise AssertionError(f"op {op} passed the schema but has no handler")


def _shown(context: Context, item: Item) -> dict[str, Any]:
    return context.shown(item).to_dict()


def _check_version(context: Context, path: str, expected: int) -> None:
    current = context.get(path)
    if current.version != expected:
        raise Conflict(f"{path}: version {expected} is stale (current version is {current.version})")


def _list(context: Context, path: str, f: dict[str, Any]) -> dict[str, Any]:
    limit, cursor = f.get("limit", 100), f.get("cursor")
    type_name, name_glob = f.get("type"), f.get("name")
    page: ChildrenPage
    if type_name or name_glob:
        page = context.find(path, type_name=type_name, name_glob=name_glob, max_depth=1,
                            limit=limit, cursor=cursor)
    else:
        page = context.list(path, order=f.get("order") or "name", limit=limit, cursor=cursor)
    return {"items": [_shown(context, item) for item in page.items], "next_cursor": page.next_cursor}
