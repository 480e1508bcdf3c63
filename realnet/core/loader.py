"""Read and check initialization files before anything is written.

Files load in layers (DESIGN §2): core → controls, views, forms → resource types →
app types (``*_apps.json``) → ``apps.json`` → ``access.json``. A type may refer
(as base, child or instance) only to types of its own layer or an earlier one, so
resource types can never depend on app types. Every problem is collected and
reported with its file and entry; nothing is returned until all files are clean.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from realnet.core import paths
from realnet.core.access import check_entries
from realnet.core.errors import RealnetError, ValidationError
from realnet.core.types import KINDS, AttributeDef, TypeDef, TypeRegistry, coerce

TYPE_NAME = re.compile(r"^[A-Z][A-Za-z0-9_]{0,63}$")
ATTR_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,63}$")
FIXED_LAYERS = {"core.json": 0, "controls.json": 1, "views.json": 1, "forms.json": 1}
LAYER_NAMES = ("core", "controls/views/forms", "resource types", "app types", "apps", "access")
TYPE_KEYS = {
    "name", "base", "description", "module", "abstract", "attributes",
    "children", "instances", "icon", "views", "forms", "open", "columns",
}
ATTR_KEYS = {"kind", "required", "default", "description", "values"}
ITEM_KEYS = {"path", "type", "attributes", "acl"}


def layer_of(filename: str) -> int:
    if filename in FIXED_LAYERS:
        return FIXED_LAYERS[filename]
    if filename == "access.json":
        return 5
    if filename == "apps.json":
        return 4
    if filename.endswith("_apps.json"):
        return 3
    return 2


@dataclass(frozen=True, slots=True)
class InitialItem:
    path: str
    type: str
    attributes: Mapping[str, Any]
    source: str
    acl: tuple[Any, ...] = ()


@dataclass(slots=True)
class InitPlan:
    """Everything the initialization files declare, checked and in load order."""

    types: list[TypeDef] = field(default_factory=list)
    items: list[InitialItem] = field(default_factory=list)
    files: list[str] = field(default_factory=list)


class _Problems:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def add(self, where: str, message: str) -> None:
        self.lines.append(f"{where}: {message}")

    def raise_if_any(self) -> None:
        if self.lines:
            more = f" (and {len(self.lines) - 1} more)" if len(self.lines) > 1 else ""
            err = ValidationError(self.lines[0] + more)
            err.problems = list(self.lines)  # type: ignore[attr-defined]
            raise err


def parse_attribute(name: str, spec: Any, where: str) -> AttributeDef:
    if not ATTR_NAME.match(name):
        raise ValidationError(f"{where}: attribute name {name!r} must match {ATTR_NAME.pattern}")
    if isinstance(spec, str):
        spec = {"kind": spec}
    if not isinstance(spec, dict):
        raise ValidationError(f"{where}: attribute '{name}' must be an object or a kind name")
    unknown = set(spec) - ATTR_KEYS
    if unknown:
        raise ValidationError(
            f"{where}: attribute '{name}' has unknown field(s) {', '.join(sorted(unknown))}"
        )
    kind = spec.get("kind", "string")
    if kind not in KINDS:
        raise ValidationError(
            f"{where}: attribute '{name}' has kind {kind!r}, expected one of {', '.join(KINDS)}"
        )
    values = spec.get("values", [])
    if kind == "enum" and (not isinstance(values, list) or not values
                           or not all(isinstance(v, str) for v in values)):
        raise ValidationError(f"{where}: enum attribute '{name}' needs 'values', a list of strings")
    required = spec.get("required", False)
    if not isinstance(required, bool):
        raise ValidationError(f"{where}: attribute '{name}': 'required' must be true or false")
    attr = AttributeDef(
        name=name,
        kind=kind,
        required=required,
        default=None,
        description=str(spec.get("description", "")),
        values=tuple(values),
    )
    if spec.get("default") is not None:
        coerce(attr, spec["default"], where=f"{where} default", from_text=False)
        attr = AttributeDef(**{**_fields(attr), "default": spec["default"]})
    return attr


def _flag(spec: dict[str, Any], key: str, where: str) -> bool:
    value = spec.get(key, False)
    if not isinstance(value, bool):
        raise ValidationError(f"{where}: '{key}' must be true or false")
    return value


def _fields(attr: AttributeDef) -> dict[str, Any]:
    return {s: getattr(attr, s) for s in AttributeDef.__slots__}


def _names(value: Any, where: str, key: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValidationError(f"{where}: '{key}' must be a list of names")
    return tuple(value)


def parse_type(spec: Any, source: str) -> TypeDef:
    """Turn one JSON type entry into a :class:`TypeDef`, checking its own fields only."""
    if not isinstance(spec, dict):
        raise ValidationError(f"{source}: a type entry must be an object")
    name = spec.get("name")
    where = f"{source}: type {name!r}" if name else source
    if not isinstance(name, str) or not TYPE_NAME.match(name):
        raise ValidationError(f"{where}: 'name' must match {TYPE_NAME.pattern}")
    unknown = set(spec) - TYPE_KEYS
    if unknown:
        raise ValidationError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
    attrs_spec = spec.get("attributes", {})
    if not isinstance(attrs_spec, dict):
        raise ValidationError(f"{where}: 'attributes' must be an object")
    attributes = {n: parse_attribute(n, s, where) for n, s in attrs_spec.items()}
    children = spec.get("children")
    instances = spec.get("instances", [])
    if not isinstance(instances, list) or not all(isinstance(i, dict) for i in instances):
        raise ValidationError(f"{where}: 'instances' must be a list of objects")
    for key in ("base", "module", "description", "icon"):
        if spec.get(key) is not None and not isinstance(spec[key], str):
            raise ValidationError(f"{where}: '{key}' must be a string")
    return TypeDef(
        name=name,
        base=spec.get("base"),
        description=spec.get("description", ""),
        module=spec.get("module"),
        abstract=bool(spec.get("abstract", False)),
        attributes=attributes,
        open=_flag(spec, "open", where),
        columns=_names(spec.get("columns", []), where, "columns"),
        children=None if children is None else _names(children, where, "children"),
        instances=tuple(instances),
        icon=spec.get("icon", ""),
        views=_names(spec.get("views", []), where, "views"),
        forms=_names(spec.get("forms", []), where, "forms"),
        source=source,
    )


def read_files(directories: Iterable[Path]) -> list[tuple[str, int, dict[str, Any]]]:
    """Read every ``*.json`` in ``directories``; returns (file, layer, document) in load order."""
    found: list[tuple[int, str, Path]] = []
    for directory in directories:
        for file in sorted(Path(directory).glob("*.json")):
            found.append((layer_of(file.name), file.name, file))
    found.sort(key=lambda f: (f[0], f[1]))
    documents = []
    for layer, name, file in found:
        try:
            doc = json.loads(file.read_text(encoding="utf-8"))
        except json.JSONDecodeError as e:
            raise ValidationError(f"{name}: not valid JSON: {e.msg} at line {e.lineno}") from e
        except (OSError, UnicodeDecodeError) as e:
            raise ValidationError(f"{name}: cannot read: {e}") from e
        if not isinstance(doc, dict):
            raise ValidationError(f"{name}: expected a JSON object with 'types' and 'items'")
        documents.append((name, layer, doc))
    return documents


def build_plan(
    documents: list[tuple[str, int, dict[str, Any]]],
    *,
    known_modules: Iterable[str] | None = None,
) -> InitPlan:
    """Check all documents together; raise one :class:`ValidationError` listing every problem."""
    problems = _Problems()
    plan = InitPlan()
    modules = set(known_modules) if known_modules is not None else None
    layers: dict[str, int] = {}
    origin: dict[str, str] = {}
    for source, layer, doc in documents:
        plan.files.append(source)
        extra = set(doc) - {"types", "items", "description"}
        if extra:
            problems.add(source, f"unknown top-level field(s) {', '.join(sorted(extra))}")
        for index, spec in enumerate(doc.get("types", [])):
            try:
                typedef = parse_type(spec, f"{source}#types[{index}]")
            except RealnetError as e:
                problems.lines.append(str(e))
                continue
            if typedef.name in origin:
                problems.add(
                    f"{source}: type {typedef.name}",
                    f"duplicate type name (already defined in {origin[typedef.name]})",
                )
                continue
            origin[typedef.name] = source
            layers[typedef.name] = layer
            plan.types.append(typedef)
    registry = TypeRegistry(plan.types)

    def check_ref(where: str, name: str, layer: int, role: str) -> bool:
        if name not in layers:
            problems.add(where, f"{role} {name!r} is not a defined type")
            return False
        if layers[name] > layer:
            problems.add(
                where,
                f"{role} {name!r} belongs to a later layer ({LAYER_NAMES[layers[name]]}); "
                f"a {LAYER_NAMES[layer]} type may refer only to its own or earlier layers",
            )
            return False
        return True

    for typedef in plan.types:
        where = f"{typedef.source.split('#')[0]}: type {typedef.name}"
        layer = layers[typedef.name]
        if typedef.base is not None:
            check_ref(where, typedef.base, layer, "base")
            if typedef.name in registry.lineage(typedef.base):
                problems.add(where, "inheritance cycle through 'base'")
        for child in typedef.children or ():
            if child != "*":
                check_ref(where, child, layer, "child type")
        if modules is not None and typedef.module and typedef.module not in modules:
            problems.add(where, f"module {typedef.module!r} is not a registered resource")
    problems.raise_if_any()

    for typedef in plan.types:
        where = f"{typedef.source.split('#')[0]}: type {typedef.name}"
        for index, instance in enumerate(typedef.instances):
            label = f"{where} instances[{index}]"
            itype = instance.get("type")
            if isinstance(itype, str) and not check_ref(label, itype, layers[typedef.name],
                                                        "instance type"):
                continue
            try:
                check_instance(registry, typedef, instance, label)
            except RealnetError as e:
                problems.lines.append(str(e))
        cycle = instance_cycle(registry, typedef.name)
        if cycle:
            problems.add(where, _endless(cycle))

    declared: dict[str, str] = {paths.ROOT: "Folder"}
    for source, _layer, doc in documents:
        for index, spec in enumerate(doc.get("items", [])):
            where = f"{source}#items[{index}]"
            try:
                plan.items.append(_check_item(spec, where, registry, declared))
            except RealnetError as e:
                problems.lines.append(str(e))
    problems.raise_if_any()
    return plan


def check_instance(registry: TypeRegistry, typedef: TypeDef, instance: Mapping[str, Any],
                   label: str) -> None:
    """One of the items ``typedef`` creates with each of its own: a valid name, and a type
    that exists, can be created, may be held by ``typedef`` and takes these attributes."""
    name = instance.get("name")
    if not isinstance(name, str):
        raise ValidationError(f"{label}: 'name' must be an item name")
    paths.check_name(name, where=label)
    itype = instance.get("type")
    if not isinstance(itype, str):
        raise ValidationError(f"{label}: 'type' must name a type")
    registry.check_creatable(itype, where=f"{label} {name}")
    registry.check_child(typedef.name, itype, where=f"{label} {name}")
    attributes = instance.get("attributes", {})
    if not isinstance(attributes, dict):
        raise ValidationError(f"{label} {name}: 'attributes' must be an object")
    registry.validate(itype, attributes, where=f"{label} {name}")


def instance_types(registry: TypeRegistry, name: str) -> list[str]:
    """The types of the items an item of type ``name`` is created with (its bases' too)."""
    return [
        instance["type"]
        for type_name in registry.lineage(name)
        for instance in registry.get(type_name).instances
        if isinstance(instance.get("type"), str) and instance["type"] in registry
    ]


def instance_cycle(registry: TypeRegistry, name: str) -> list[str]:
    """Types whose instances lead from type ``name`` back to it (``[]`` when none): creating
    an item of that type would never end."""
    came_from: dict[str, str] = {}
    todo = [name]
    while todo:
        current = todo.pop()
        for held in instance_types(registry, current):
            if held == name:
                chain = [name]
                while current != name:
                    chain.append(current)
                    current = came_from[current]
                return [name, *reversed(chain)]
            if held not in came_from:
                came_from[held] = current
                todo.append(held)
    return []


def _endless(cycle: list[str]) -> str:
    return f"its instances would hold one another without end ({' → '.join(cycle)})"


def check_definition(registry: TypeRegistry, typedef: TypeDef, where: str) -> None:
    """What the initialization files are checked for once every type is known, for one
    type of ``registry``: its bases end, and its instances can be created, and end."""
    if typedef.base is not None and typedef.name in registry.lineage(typedef.base):
        raise ValidationError(f"{where}: inheritance cycle through 'base'")
    for index, instance in enumerate(typedef.instances):
        check_instance(registry, typedef, instance, f"{where} instances[{index}]")
    cycle = instance_cycle(registry, typedef.name)
    if cycle:
        raise ValidationError(f"{where}: {_endless(cycle)}")


def _check_item(spec: Any, where: str, registry: TypeRegistry, declared: dict[str, str]):
    if not isinstance(spec, dict):
        raise ValidationError(f"{where}: an item entry must be an object")
    unknown = set(spec) - ITEM_KEYS
    if unknown:
        raise ValidationError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
    path = paths.normalize(str(spec.get("path", "")))
    where = f"{where} {path}"
    type_name = spec.get("type")
    if not isinstance(type_name, str):
        raise ValidationError(f"{where}: 'type' must name a type")
    registry.check_creatable(type_name, where=where)
    parent = paths.parent_of(path)
    if parent not in declared:
        raise ValidationError(f"{where}: parent {parent} is not declared before it")
    if path in declared:
        raise ValidationError(f"{where}: declared twice")
    if parent != paths.ROOT:
        registry.check_child(declared[parent], type_name, where=where)
    attributes = registry.validate(type_name, spec.get("attributes", {}), where=where)
    acl = check_entries(spec.get("acl", []), where)
    declared[path] = type_name
    return InitialItem(path=path, type=type_name, attributes=attributes, source=where, acl=acl)


def load_plan(directories: Iterable[Path], *, known_modules: Iterable[str] | None = None) -> InitPlan:
    return build_plan(read_files(directories), known_modules=known_modules)


def packaged_directory() -> Path:
    from importlib.resources import files

    return Path(str(files("realnet.initialization")))
