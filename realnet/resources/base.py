"""The base of every resource: hooks called by the tree around each change."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from realnet.core.context import Context
    from realnet.core.item import Item


class Resource:
    """Behaviour shared by all items of a type. One instance serves one context."""

    def __init__(self, context: Context) -> None:
        self.context = context

    def validate(self, path: str, attributes: Mapping[str, Any]) -> None:
        """Raise a :class:`ValidationError` naming ``path`` when the attributes are unacceptable."""

    def check(self, path: str, type_name: str, attributes: Mapping[str, Any]) -> None:
        """Called by the tree before every create and update; resources that serve several
        types override this one to know which."""
        self.validate(path, attributes)

    def text(self, item: Item) -> str | None:
        """The readable content of an item for ``cat``; None when it has none."""
        return None

    def actions(self) -> dict[str, str]:
        """Action name → one-line description."""
        return {}
