"""Opaque keyset cursors: the sort key of the last row of a page, encoded."""

from __future__ import annotations

import base64
import json
from datetime import datetime
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


def decode(cursor: str, size: int, *, timestamp: bool = False) -> list[Any]:
    """The sort key a cursor carries: ``size`` strings (the first a timestamp when the
    listing is ordered by time). Anything else was not issued by this store."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as e:
        raise ValidationError(f"cursor {cursor[:20]!r}: not a cursor this store issued") from e
    if not isinstance(values, list) or len(values) != size \
            or not all(isinstance(v, str) and "\x00" not in v for v in values):
        raise ValidationError(f"cursor {cursor[:20]!r}: not a cursor for this listing order")
    if timestamp:
        try:
            datetime.fromisoformat(values[0])
        except ValueError:
            raise ValidationError(f"cursor {cursor[:20]!r}: not a cursor for this listing order") from None
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
