"""The behaviour of the core types."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from realnet.core import paths
from realnet.core.errors import RealnetError, ValidationError
from realnet.core.item import Item
from realnet.core.loader import parse_type
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

    def text(self, item: Item) -> str | None:
        import json

        return json.dumps(item.attributes.get("definition"), indent=2)


class AppResource(Resource):
    pass
