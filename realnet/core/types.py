"""Type definitions and the registry that validates items against them."""

from __future__ import annotations

import contextlib
import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from realnet.core import paths
from realnet.core.errors import InvalidName, InvalidPath, UnknownType, ValidationError

KINDS = ("string", "text", "int", "float", "bool", "datetime", "json", "secret", "ref", "enum")
ANY_CHILD = "*"
MAX_STRING = 1024
#: How deeply a JSON value may nest arrays and objects: the HTTP API's limit for a request
#: body. Every reader (a page of rows decoded at once, a face drawing the value) then stays
#: far below Python's recursion limit, whatever stack it runs on.
MAX_JSON_DEPTH = 32
_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")
_INTEGER = re.compile(r"[+-]?[0-9]+")


@dataclass(frozen=True, slots=True)
class AttributeDef:
    name: str
    kind: str = "string"
    required: bool = False
    default: Any = None
    description: str = ""
    values: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind}
        if self.required:
            out["required"] = True
        if self.default is not None:
            out["default"] = self.default
        if self.description:
            out["description"] = self.description
        if self.values:
            out["values"] = list(self.values)
        return out


@dataclass(frozen=True, slots=True)
class TypeDef:
    """One type as declared in an initialization file (own fields only, not inherited)."""

    name: str
    base: str | None = None
    description: str = ""
    module: str | None = None
    abstract: bool = False
    attributes: Mapping[str, AttributeDef] = field(default_factory=dict)
    #: Attributes not declared are allowed too, as JSON values (document nodes).
    open: bool = False
    #: The attributes ``ls -l`` shows for a listing of these items (``ready``, ``status`` …).
    columns: tuple[str, ...] = ()
    children: tuple[str, ...] | None = None
    instances: tuple[Mapping[str, Any], ...] = ()
    icon: str = ""
    views: tuple[str, ...] = ()
    forms: tuple[str, ...] = ()
    source: str = ""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name}
        if self.base:
            out["base"] = self.base
        if self.description:
            out["description"] = self.description
        if self.module:
            out["module"] = self.module
        if self.abstract:
            out["abstract"] = True
        if self.open:
            out["open"] = True
        if self.columns:
            out["columns"] = list(self.columns)
        if self.attributes:
            out["attributes"] = {n: a.to_dict() for n, a in self.attributes.items()}
        if self.children is not None:
            out["children"] = list(self.children)
        if self.instances:
            out["instances"] = [dict(i) for i in self.instances]
        if self.icon:
            out["icon"] = self.icon
        if self.views:
            out["views"] = list(self.views)
        if self.forms:
            out["forms"] = list(self.forms)
        return out


def coerce(attr: AttributeDef, value: Any, *, where: str, from_text: bool) -> Any:
    """Check ``value`` against ``attr``; with ``from_text`` a command-line string is converted."""
    label = f"{where}: attribute '{attr.name}'"
    kind = attr.kind
    if value is None:
        if attr.required:
            raise ValidationError(f"{label} is required")
        return None
    if kind in ("string", "text", "secret", "ref", "enum", "datetime"):
        if not isinstance(value, str):
            raise ValidationError(f"{label} expects {kind} text, got {type(value).__name__}")
        if "\x00" in value:
            raise ValidationError(f"{label} must not contain NUL characters")
        bad = paths.undecodable(value)
        if bad:
            raise ValidationError(f"{label} must be UTF-8 text (found {bad})")
        if kind == "string" and ("\n" in value or len(value) > MAX_STRING):
            raise ValidationError(
                f"{label} expects a single line of at most {MAX_STRING} characters "
                "(use a text attribute for more)"
            )
        if kind == "ref":
            value = _absolute_path(value, label)
        if kind == "enum" and value not in attr.values:
            raise ValidationError(f"{label} expects one of {', '.join(attr.values)}, got {value!r}")
        if kind == "datetime":
            try:
                datetime.fromisoformat(value)
            except ValueError as e:
                raise ValidationError(
                    f"{label} expects an ISO 8601 date-time, got {value!r}"
                ) from e
        return value
    if kind == "int":
        if from_text and isinstance(value, str):
            # int() alone would also take '1_000', ' 7 ' and digits of other scripts.
            if not _INTEGER.fullmatch(value):
                raise ValidationError(f"{label} expects an integer, got {_shortened(value)!r}")
            try:
                return int(value, 10)
            except ValueError as e:  # more digits than Python converts
                raise ValidationError(f"{label} expects an integer of at most 4300 digits") from e
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValidationError(f"{label} expects an integer, got {value!r}")
        return value
    if kind == "float":
        if from_text and isinstance(value, str):
            try:
                value = float(value)
            except ValueError as e:
                raise ValidationError(f"{label} expects a number, got {value!r}") from e
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValidationError(f"{label} expects a number, got {value!r}")
        if not math.isfinite(value):
            raise ValidationError(f"{label} expects a finite number, got {value!r}")
        return float(value)
    if kind == "bool":
        if from_text and isinstance(value, str):
            lowered = value.lower()
            if lowered in ("true", "yes", "on", "1"):
                return True
            if lowered in ("false", "no", "off", "0"):
                return False
            raise ValidationError(f"{label} expects true or false, got {value!r}")
        if not isinstance(value, bool):
            raise ValidationError(f"{label} expects true or false, got {value!r}")
        return value
    if kind == "json":
        if from_text and isinstance(value, str):
            try:
                value = _loads(value, label)
            except json.JSONDecodeError as e:
                raise ValidationError(f"{label} expects JSON: {e.msg} at column {e.colno}") from e
        _check_json(value, label)
        try:
            encoded = json.dumps(value, allow_nan=False)
        except (TypeError, ValueError) as e:
            raise ValidationError(f"{label} expects a JSON value") from e
        if "\\u0000" in encoded:
            raise ValidationError(f"{label} must not contain NUL characters")
        return value
    raise ValidationError(f"{label} has unknown kind {kind!r}")


def _absolute_path(value: str, label: str) -> str:
    """A ref in the one form a path has in the store, so that equal targets compare equal."""
    if not value.startswith("/"):
        raise ValidationError(f"{label} expects an absolute path, got {value!r}")
    try:
        return paths.resolve(value)
    except (InvalidName, InvalidPath) as e:
        raise ValidationError(f"{label}: {e}") from e


def _shortened(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


def _loads(text: str, label: str) -> Any:
    """``json.loads``, where every failure but malformed text is one line about ``label``."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        raise
    except RecursionError:
        raise ValidationError(f"{label} expects JSON nested at most {MAX_JSON_DEPTH} levels deep") from None
    except ValueError as e:  # an integer with more digits than Python converts
        raise ValidationError(f"{label} expects JSON: {str(e).split(';')[0]}") from None


def _check_json(value: Any, label: str) -> None:
    """Refuse what Python holds but the store cannot: nesting deeper than MAX_JSON_DEPTH,
    NaN and infinities (SQLite's JSON functions reject them), text that is not UTF-8."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict | list):
            if depth > MAX_JSON_DEPTH:
                raise ValidationError(f"{label} expects JSON nested at most {MAX_JSON_DEPTH} levels deep")
            children = node.values() if isinstance(node, dict) else node
            stack.extend((child, depth + 1) for child in children)
            if isinstance(node, dict):
                stack.extend((key, depth) for key in node)
        elif isinstance(node, float) and not math.isfinite(node):
            raise ValidationError(f"{label} expects JSON without NaN or Infinity, got {node!r}")
        elif isinstance(node, str):
            bad = paths.undecodable(node)
            if bad:
                raise ValidationError(f"{label} must be UTF-8 text (found {bad})")


def open_value(name: str, value: Any, *, where: str, from_text: bool) -> Any:
    """An undeclared attribute of an open type: any JSON value. From the command line,
    text that parses as JSON is that value (``5433``, ``true``, ``"5433"``), other text
    is itself (``db.example``)."""
    label = f"{where}: attribute '{name}'"
    if not name or "\x00" in name or _CONTROL_CHARS.search(name) or paths.undecodable(name):
        label = paths.escaped(label)
        raise ValidationError(
            f"{label}: an attribute name must be non-empty UTF-8 text, without control characters"
        )
    if from_text and isinstance(value, str):
        with contextlib.suppress(json.JSONDecodeError):
            value = _loads(value, label)
    attr = AttributeDef(name=name, kind="json")
    return coerce(attr, value, where=where, from_text=False)


class TypeRegistry:
    """All known types with inheritance resolved; read-only once built."""

    def __init__(self, types: Iterable[TypeDef]) -> None:
        self._types: dict[str, TypeDef] = {t.name: t for t in types}
        self._attrs: dict[str, dict[str, AttributeDef]] = {}
        self._lineage: dict[str, tuple[str, ...]] = {}

    def __contains__(self, name: object) -> bool:
        return name in self._types

    def __iter__(self):
        return iter(sorted(self._types.values(), key=lambda t: t.name))

    def __len__(self) -> int:
        return len(self._types)

    def get(self, name: str, *, where: str | None = None) -> TypeDef:
        try:
            return self._types[name]
        except KeyError:
            raise UnknownType(where or name, f"unknown type {name!r} (see 'types')") from None

    def lineage(self, name: str) -> tuple[str, ...]:
        """The type and its bases, most specific first; a base no longer defined ends it."""
        cached = self._lineage.get(name)
        if cached is None:
            chain: list[str] = []
            current: str | None = name
            while current in self._types and current not in chain:
                chain.append(current)
                current = self._types[current].base
            cached = self._lineage[name] = tuple(chain)
        return cached

    def is_a(self, name: str, ancestor: str) -> bool:
        return ancestor in self.lineage(name)

    def uses_of(self, name: str) -> list[str]:
        """How the other types refer to type ``name``: as base, child type or instance type."""
        uses = []
        for typedef in self:
            if typedef.name == name:
                continue
            if typedef.base == name:
                uses.append(f"the base of type {typedef.name}")
            if name in (typedef.children or ()):
                uses.append(f"a child type of type {typedef.name}")
            if any(instance.get("type") == name for instance in typedef.instances):
                uses.append(f"the type of an instance of type {typedef.name}")
        return uses

    def subtypes(self, name: str) -> list[str]:
        """``name`` and every type that inherits from it."""
        return sorted(t for t in self._types if self.is_a(t, name))

    def attributes(self, name: str) -> dict[str, AttributeDef]:
        """Own and inherited attributes; a subtype's definition overrides its base's."""
        cached = self._attrs.get(name)
        if cached is None:
            cached = {}
            for type_name in reversed(self.lineage(name)):
                cached.update(self._types[type_name].attributes)
            self._attrs[name] = cached
        return cached

    def columns(self, name: str) -> tuple[str, ...]:
        """The listing columns of a type (its own, or its nearest base's)."""
        for type_name in self.lineage(name):
            if self._types[type_name].columns:
                return self._types[type_name].columns
        return ()

    def is_open(self, name: str) -> bool:
        """Whether items of this type take attributes their type does not declare."""
        return any(self._types[t].open for t in self.lineage(name))

    def allowed_children(self, name: str) -> tuple[str, ...]:
        for type_name in self.lineage(name):
            children = self._types[type_name].children
            if children is not None:
                return children
        return ()

    def module(self, name: str) -> str | None:
        for type_name in self.lineage(name):
            if self._types[type_name].module:
                return self._types[type_name].module
        return None

    def check_child(self, parent_type: str, child_type: str, *, where: str) -> None:
        allowed = self.allowed_children(parent_type)
        if ANY_CHILD in allowed:
            return
        if any(self.is_a(child_type, a) for a in allowed):
            return
        expected = ", ".join(allowed) if allowed else "no children"
        raise ValidationError(
            f"{where}: a {parent_type} cannot hold a {child_type} (allowed: {expected})"
        )

    def check_creatable(self, name: str, *, where: str) -> TypeDef:
        typedef = self.get(name, where=where)
        if typedef.abstract:
            raise ValidationError(f"{where}: type {name} is abstract and cannot be created")
        return typedef

    def validate(
        self,
        type_name: str,
        attributes: Mapping[str, Any],
        *,
        where: str,
        from_text: bool = False,
        fill_defaults: bool = True,
        kept: Iterable[str] = (),
    ) -> dict[str, Any]:
        """Return the attributes checked, converted and completed with defaults. ``kept``
        names the values an item keeps as they are stored: they count as present."""
        known = self.attributes(type_name)
        out: dict[str, Any] = {}
        open_type = self.is_open(type_name)
        for key, value in attributes.items():
            attr = known.get(key)
            if attr is None and open_type:
                out[key] = open_value(key, value, where=where, from_text=from_text)
                continue
            if attr is None:
                names = ", ".join(sorted(known)) or "none"
                raise ValidationError(
                    f"{where}: type {type_name} has no attribute '{key}' (known: {names})"
                )
            converted = coerce(attr, value, where=where, from_text=from_text)
            if converted is not None:
                out[key] = converted
        present = out.keys() | set(kept)
        for key, attr in known.items():
            if key in present:
                continue
            if fill_defaults and attr.default is not None:
                out[key] = attr.default
            elif attr.required:
                raise ValidationError(f"{where}: attribute '{key}' is required for a {type_name}")
        return out
