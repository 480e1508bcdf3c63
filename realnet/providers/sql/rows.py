"""Turning result rows into items, shared by the SQL providers.

Both stores select ``id, parent_id, path, type, owner, attributes, version, created,
updated, acl`` with attributes and acl as JSON text and times as ISO 8601 text.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import cache
from typing import Any

from realnet.core import paths
from realnet.core.item import Item

_new = tuple.__new__


def loads(text: str) -> Any:
    """A page's worth of JSON: orjson (three times faster) where it can, the standard
    library for small documents (orjson costs milliseconds to import, and ``realnet ls``
    starts fast) and for what orjson refuses (integers wider than 64 bits)."""
    if len(text) < 8192:
        return json.loads(text)
    try:
        return _orjson().loads(text)
    except ValueError:
        return json.loads(text)


@cache
def _orjson() -> Any:
    import orjson

    return orjson
_NO_ACL = "[]"


def rows_to_items(rows: Sequence[tuple]) -> list[Item]:
    """Decode a page of rows. One ``json.loads`` for the whole page's attributes and a
    bare tuple construction per row keep decoding well below the cost of the fetch."""
    if not rows:
        return []
    attributes = loads("[" + ",".join([r[5] for r in rows]) + "]")
    return [
        _new(Item, (r[0], r[2], r[3], r[1], r[4], a, r[6], r[7], r[8],
                    () if r[9] == _NO_ACL else tuple(json.loads(r[9]))))
        for r, a in zip(rows, attributes, strict=True)
    ]


def row_to_item(row: tuple) -> Item:
    return rows_to_items([row])[0]


#: One encoder for every row: json.dumps with options builds a new one per call.
dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def below(path: str, mark: str) -> tuple[str, list[str]]:
    """SQL condition and parameters for the paths strictly below ``path``: one index range.
    ``mark`` is the driver's placeholder."""
    if path == paths.ROOT:
        return f"path > {mark}", [paths.ROOT]
    return f"path >= {mark} AND path < {mark}", [path + "/", path + "0"]
