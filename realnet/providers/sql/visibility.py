"""The SQL condition for a :class:`Visibility`: owned, or within one of the read roots."""

from __future__ import annotations

from typing import Any

from realnet.core import paths
from realnet.core.access import Visibility


def visibility_condition(visible: Visibility | None, mark: str) -> tuple[str, list[Any]]:
    """``(sql, params)`` to AND into a query over ``items``; ``mark`` is the placeholder."""
    if visible is None:
        return "", []
    parts, params = [], []
    if visible.owner is not None:
        parts.append(f"owner = {mark}")
        params.append(visible.owner)
    for root in visible.roots:
        if root == paths.ROOT:
            return "", []
        parts.append(f"path = {mark} OR (path >= {mark} AND path < {mark})")
        params += [root, root + "/", root + "0"]
    if visible.ways:
        parts.append(f"path IN ({', '.join([mark] * len(visible.ways))})")
        params += list(visible.ways)
    if not parts:
        return "1 = 0", []  # nothing owned, no grant: nothing shows
    return "(" + " OR ".join(parts) + ")", params
