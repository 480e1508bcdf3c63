"""The values that cross layer boundaries: items, pages of children, drafts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from realnet.core.paths import name_of


class Item(NamedTuple):
    """One node of the tree, as read from a provider.

    An immutable record; a named tuple rather than a frozen dataclass because
    listings build thousands of them and a tuple is built ten times faster.
    """

    id: str
    path: str
    type: str
    parent_id: str | None
    owner: str
    attributes: Mapping[str, Any]
    version: int
    created: str
    updated: str
    acl: tuple[Any, ...] = ()

    @property
    def name(self) -> str:
        return name_of(self.path)

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "name": self.name,
            "type": self.type,
            "id": self.id,
            "parent_id": self.parent_id,
            "owner": self.owner,
            "version": self.version,
            "created": self.created,
            "updated": self.updated,
            "attributes": dict(self.attributes),
        }


class ItemDraft(NamedTuple):
    """A new item to insert; the provider assigns what the draft leaves empty."""

    path: str
    type: str
    owner: str
    attributes: Mapping[str, Any] = {}
    created: str | None = None
    updated: str | None = None
    acl: tuple[Any, ...] = ()


@dataclass(frozen=True, slots=True)
class ChildrenPage:
    """One page of a listing; pass ``next_cursor`` back to get the following page."""

    items: tuple[Item, ...]
    next_cursor: str | None

    def __iter__(self):
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)


ORDERS = ("name", "-name", "type", "-type", "updated", "-updated")
