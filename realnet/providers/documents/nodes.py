"""A parsed document as a tree: mappings are objects, lists of mappings are lists, and
everything else is a value (an attribute of the object that holds it).

The functions work on any ``dict``/``list`` structure, so the same edit applies to the
fast reader's plain data and to the round-trip reader's comment-keeping one.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from datetime import date, datetime, time
from typing import Any
from urllib.parse import unquote

from realnet.core import paths
from realnet.core.errors import InvalidName, NotFound, RealnetError, ValidationError

OBJECT = "DocumentObject"
LIST = "DocumentList"
_ESCAPED = re.compile(r"[%/\x00-\x1f\x7f]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def is_child(value: Any) -> bool:
    """Objects, and lists of objects (an empty list too: it may get objects), are
    children; the rest are values."""
    if isinstance(value, dict):
        return True
    return isinstance(value, list) and all(isinstance(v, dict) for v in value)


def key_text(key: Any) -> str:
    if isinstance(key, str):
        return str(key)
    if isinstance(key, bool):
        return "true" if key else "false"
    if key is None:
        return "null"
    return str(key)


def name_of_key(key: Any) -> str | None:
    """The item name a key shows as ('/' and '%' escaped), or None if it cannot be one."""
    text = key_text(key)
    name = _ESCAPED.sub(lambda m: f"%{ord(m.group()):02X}", text)
    if name in (".", ".."):
        name = name.replace(".", "%2E")
    try:
        paths.check_name(name)
    except RealnetError:
        return None
    return name


def key_for_new(name: str, where: str) -> str:
    """The key a new child named ``name`` gets; names must be written as they would show."""
    key = unquote(name)
    if name_of_key(key) != name:
        raise InvalidName(f"{where}: '%' in a name must start an escape such as %2F (for '/')")
    return key


def find_key(node: dict, name: str) -> Any:
    """The key of ``node`` that shows as ``name``; KeyError if none."""
    if name in node and "%" not in name:
        return name
    for key in node:
        if name_of_key(key) == name:
            return key
    raise KeyError(name)


def plain(value: Any) -> Any:
    """A value as JSON can carry it (the readers' dates, bytes and subclasses made plain)."""
    if value is None or type(value) in (str, int, float, bool):
        return value
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, dict):
        return {key_text(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [plain(v) for v in value]
    return str(value)


def deeper_than(document: Any, limit: int) -> bool:
    """Whether objects and lists nest more than ``limit`` levels deep in ``document``
    (walked without recursion: the point is to find what recursion cannot take)."""
    stack = [(document, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        for value in node.values() if isinstance(node, dict) else node:
            if isinstance(value, dict | list):
                stack.append((value, depth + 1))
    return False


def can_be_attribute(name: str) -> bool:
    """Whether a key can be named as an attribute (non-empty, no control characters)."""
    return bool(name) and not _CONTROL.search(name)


def values_of(node: Any) -> dict[str, Any]:
    """The attributes of an object: its non-child values, made plain."""
    if not isinstance(node, dict):
        return {}
    return {key_text(k): plain(v) for k, v in node.items() if not is_child(v)}


def type_of(node: Any) -> str:
    return OBJECT if isinstance(node, dict) else LIST


def child_entries(node: Any) -> list[tuple[str, Any]]:
    """(name, value) of each child of an object or list."""
    if isinstance(node, dict):
        out = []
        for key, value in node.items():
            if is_child(value):
                name = name_of_key(key)
                if name is not None:
                    out.append((name, value))
        return out
    return [(str(i), v) for i, v in enumerate(node)]


def resolve(data: Any, segments: list[str], path: str) -> Any:
    """The object or list at ``segments`` below the top; NotFound otherwise."""
    node = data
    for segment in segments:
        if isinstance(node, dict):
            try:
                node = node[find_key(node, segment)]
            except KeyError:
                raise NotFound(path) from None
        else:
            if not segment.isdigit() or (segment != "0" and segment.startswith("0")) \
                    or int(segment) >= len(node):
                raise NotFound(path)
            node = node[int(segment)]
        if not is_child(node):
            raise NotFound(path)
    return node


def set_values(node: dict, attributes: Mapping[str, Any], where: str) -> None:
    """Make the object's values exactly ``attributes`` (see :func:`change_values`)."""
    names = {key_text(k) for k, v in node.items() if not is_child(v)}
    change_values(node, attributes, [n for n in names if n not in attributes], where)


def change_values(node: dict, changed: Mapping[str, Any], removed: list[str], where: str) -> None:
    """Set the ``changed`` values and drop the ``removed`` ones, keeping the order, the
    original keys and, for values equal to what is there, the original objects (quotes,
    dates, ``yes``): a write touches only what the user changed."""
    by_name = {key_text(k): k for k in node}
    own = _own_keys(node) if removed else None
    for name in removed:
        key = by_name.get(name)
        if key is not None and not is_child(node[key]):
            if own is not None and key not in own:
                raise ValidationError(f"{where}: attribute '{name}' comes from a merge key (<<) and "
                                      "cannot be removed here; remove it where it is defined, or "
                                      "set a value of its own here")
            del node[key]
    for name, value in changed.items():
        if isinstance(value, dict) or (isinstance(value, list) and value and is_child(value)):
            raise ValidationError(f"{where}: attribute '{name}': an object value would be a child; "
                                  "create it as an item instead")
        key = by_name.get(name, name)
        if key in node:
            current = node[key]
            if is_child(current) and current:
                raise ValidationError(f"{where}: '{name}' is a child here; an attribute cannot take "
                                      "its name")
            if not is_child(current) and plain(current) == value:
                continue
        node[key] = value


def _own_keys(node: dict) -> set[Any] | None:
    """The keys a mapping holds itself, if some of the keys it shows come from YAML merge
    keys (``<<: *defaults``, kept by ruamel's round-trip mapping); None if none do."""
    if not getattr(node, "merge", None):
        return None
    return {key for key, _ in node.non_merged_items()}  # type: ignore[attr-defined]


def new_child(type_name: str, attributes: Mapping[str, Any], where: str) -> Any:
    if type_name == LIST:
        if attributes:
            raise ValidationError(f"{where}: a {LIST} has no attributes")
        return []
    node: dict = {}
    set_values(node, attributes, where)
    return node


def attach(parent: Any, name: str, value: Any, where: str) -> None:
    """Put ``value`` into ``parent`` under ``name`` (a new key, or the next list index)."""
    if isinstance(parent, dict):
        key = key_for_new(name, where)
        if key in parent or any(key_text(k) == key for k in parent):
            from realnet.core.errors import AlreadyExists

            raise AlreadyExists(where)
        parent[key] = value
        return
    if not isinstance(value, dict):
        raise ValidationError(f"{where}: a {LIST} holds only {OBJECT}s")
    if name != str(len(parent)):
        raise ValidationError(f"{where}: the entries of a list are named 0, 1, 2 …; "
                              f"the next one is {len(parent)}")
    parent.append(value)


def detach(parent: Any, name: str) -> Any:
    """Take the child ``name`` out of ``parent`` (later list entries move up by one)."""
    if isinstance(parent, dict):
        return parent.pop(find_key(parent, name))
    return parent.pop(int(name))
