"""What the forms know of types and values, without any widget: the fields a type has,
the types a folder may hold, and values as text and back."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from realnet.core.errors import RealnetError
from realnet.core.types import ANY_CHILD, AttributeDef

#: Keys of what a form shows errors on, besides attribute names.
TYPE_FIELD = ":type"
NAME_FIELD = ":name"
EXTRA_FIELD = ":extra"
FORM_ERROR = ":form"

_NAMED_ATTRIBUTE = re.compile(r"attribute '([^']*)'")
PLACEHOLDERS = {
    "datetime": "ISO 8601, e.g. 2026-01-31T09:30:00+00:00",
    "ref": "an absolute path, e.g. /projects/notes",
    "int": "an integer",
    "float": "a number",
    "json": "JSON, e.g. {\"a\": 1}",
}


def attribute_named(message: str) -> str | None:
    """The attribute an error message is about (``…: attribute 'port' expects …``), if any."""
    match = _NAMED_ATTRIBUTE.search(message)
    return match.group(1) if match else None


@dataclass(frozen=True, slots=True)
class TypeShape:
    """What a form needs of one type, read once off the screen's loop."""

    name: str
    attributes: tuple[AttributeDef, ...]
    open: bool


def type_shape(context: Any, type_name: str) -> TypeShape:
    types = context.types
    return TypeShape(type_name, tuple(types.attributes(type_name).values()), types.is_open(type_name))


def creatable_types(context: Any, parent_type: str) -> list[str]:
    """The types a folder of ``parent_type`` may hold and that can be created: abstract
    types are left out, and an allowed abstract type stands for its subtypes."""
    types = context.types
    if parent_type not in types:
        return []
    allowed = types.allowed_children(parent_type)
    names = []
    for typedef in types:
        if ANY_CHILD not in allowed and not any(types.is_a(typedef.name, a) for a in allowed):
            continue
        try:
            types.check_creatable(typedef.name, where=typedef.name)
        except RealnetError:
            continue
        names.append(typedef.name)
    return sorted(names)


def _looks_like_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def value_text(attr: AttributeDef, value: Any) -> str:
    """A stored value as the text the form shows (and that converts back to it)."""
    if value is None:
        return ""
    if attr.kind == "json":
        return json.dumps(value, ensure_ascii=False)
    if attr.kind == "bool":
        return "true" if value else "false"
    return str(value)


def extra_value_text(value: Any) -> str:
    """An undeclared attribute of an open type as ``key=`` text: text that would read back
    as JSON (``5433``, ``true``) is quoted, so that it stays text."""
    if isinstance(value, str) and not _looks_like_json(value):
        return value
    return json.dumps(value, ensure_ascii=False)


def parse_extra(text: str) -> dict[str, str]:
    """``key=value`` lines (blank lines skipped) into a mapping; ValueError names the line."""
    values: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"line {number}: expected key=value, got {line.strip()!r}")
        values[key.strip()] = value.strip()
    return values
