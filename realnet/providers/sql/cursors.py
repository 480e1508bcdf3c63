"""Opaque keyset cursors: the sort key of the last row of a page, encoded."""

from __future__ import annotations

import base64
import json
from typing import Any

from realnet.core.errors import ValidationError

ORDER_COLUMNS = {"name": "name", "type": "type", "updated": "updated"}


def parse_order(order: str) -> tuple[str, bool]:
    """``'-updated'`` → ``('updated', True)``; unknown orders are a usage mistake."""
    descending = order.startswith("-")
    key = order.lstrip("-")
    if key not in ORDER_COLUMNS:
        allowed = ", ".join(f"{k}, -{k}" for k in ORDER_COLUMNS)
        raise ValidationError(f"order {order!r}: expected one of {allowed}")
    return key, descending


def encode(values: list[Any]) -> str:
    raw = json.dumps(values, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(cursor: str, size: int) -> list[Any]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as e:
        raise ValidationError(f"cursor {cursor[:20]!r}: not a cursor this store issued") from e
    if not isinstance(values, list) or len(values) != size:
        raise ValidationError(f"cursor {cursor[:20]!r}: not a cursor for this listing order")
    return values


def sqlite_glob(pattern: str) -> str:
    """Realnet globs negate a class with ``[!…]`` as shells do (``[^…]`` works too);
    SQLite's GLOB knows only ``[^…]``."""
    out = []
    i = 0
    while i < len(pattern):
        if pattern[i] == "[" and pattern[i + 1 : i + 2] == "!":
            out.append("[^")
            i += 2
            continue
        out.append(pattern[i])
        i += 1
    return "".join(out)
