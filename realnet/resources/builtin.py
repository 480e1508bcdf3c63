"""The behaviour of the core types."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from realnet.core import paths
from realnet.core.errors import RealnetError, ValidationError
from realnet.core.item import Item
from realnet.core.loader import check_definition, parse_type
from realnet.core.types import TypeDef, TypeRegistry
from realnet.resources.base import Resource


class FolderResource(Resource):
    pass


class DocumentResource(Resource):
    def text(self, item: Item) -> str | None:
        return item.attributes.get("body")


class FileResource(Resource):
    def text(self, item: Item) -> str | None:
        return None


class LinkResource(Resource):
    def validate(self, path: str, attributes: Mapping[str, Any]) -> None:
        target = attributes.get("target")
        if isinstance(target, str):
            try:
                paths.normalize(target)
            except RealnetError as e:
                raise ValidationError(f"{path}: attribute 'target': {e}") from e

    def text(self, item: Item) -> str | None:
        return str(item.attributes.get("target", ""))


class TypeResource(Resource):
    """A type defined as data: its definition must parse and its name match the item."""

    def validate(self, path: str, attributes: Mapping[str, Any]) -> None:
        definition = attributes.get("definition")
        typedef = parse_type(definition, path)
        if typedef.name != paths.name_of(path):
            raise ValidationError(
                f"{path}: definition names type {typedef.name!r}, expected the item's name"
            )
        registry = self.context.types
        for ref in [typedef.base, *(typedef.children or ())]:
            if ref and ref != "*" and ref not in registry and ref != typedef.name:
                raise ValidationError(f"{path}: refers to unknown type {ref!r}")
        if typedef.module:
            self.context.resources.get(typedef.module)
        self._check_with_the_others(path, typedef, registry)

    @staticmethod
    def _check_with_the_others(path: str, typedef: TypeDef, registry: TypeRegistry) -> None:
        """The initialization files' checks, over the types as they would be: the new
        definition, and the types it changes (its subtypes, and those creating its items)."""
        changed = TypeRegistry([*(t for t in registry if t.name != typedef.name), typedef])
        folder = paths.parent_of(path)
        for other in changed:
            instance_types = [i.get("type") for i in other.instances]
            if other.name == typedef.name or changed.is_a(other.name, typedef.name) or any(
                isinstance(t, str) and changed.is_a(t, typedef.name) for t in instance_types
            ):
                where = path if other.name == typedef.name else paths.join(folder, other.name)
                check_definition(changed, other, where)

    def text(self, item: Item) -> str | None:
        import json

        return json.dumps(item.attributes.get("definition"), indent=2)


class AppResource(Resource):
    pass
