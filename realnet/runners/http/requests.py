"""Reading what a client sent: item paths, query parameters, JSON bodies, If-Match.

Everything is checked before any store work starts, and every refusal names the part
of the request that is wrong and what was expected.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from starlette.requests import Request

from realnet.core import paths
from realnet.core.errors import InvalidPath, RealnetError
from realnet.core.types import MAX_JSON_DEPTH
from realnet.runners.http.errors import ApiError

MAX_BODY = 1024 * 1024
MAX_DEPTH = MAX_JSON_DEPTH  # a body nests as deep as the attribute values it may carry
KINDS = {str: "a string", bool: "true or false", dict: "a JSON object", list: "a JSON array",
         int: "an integer"}


def item_path(request: Request, prefix: str) -> str:
    """The tree path named by the URL after ``prefix``, refusing what could be misread:
    encoded slashes, empty, ``.`` and ``..`` segments. Never resolves them."""
    decoded: str = request.scope["path"]  # percent-decoded by the server
    raw = request.scope.get("raw_path") or decoded.encode()
    if b"%2f" in raw.split(b"?", 1)[0].lower():
        raise InvalidPath(f"{decoded}: an encoded '/' is not allowed in an item path")
    rest = decoded[len(prefix):]
    if rest in ("", "/"):
        return paths.ROOT
    if not rest.startswith("/"):
        raise InvalidPath(f"{decoded}: expected {prefix}/PATH")
    segments = rest[1:].rstrip("/").split("/") if rest != "/" else []
    for segment in segments:
        if segment in ("", ".", ".."):
            shown = segment or "an empty segment"
            raise InvalidPath(f"{rest}: {shown!s} is not allowed in an item path")
    return paths.normalize("/" + "/".join(segments))


def body_path(value: object, where: str) -> str:
    """An absolute item path given in a request body (``where`` names the field)."""
    if not isinstance(value, str) or not value.startswith("/"):
        raise ApiError("invalid_path", f"{where}: expected an absolute item path, got {value!r}"[:300])
    try:
        return paths.normalize(value)
    except RealnetError as e:
        raise ApiError("invalid_path", f"{where}: {e}"[:300]) from None


def query(request: Request, allowed: Mapping[str, str]) -> dict[str, str]:
    """The query parameters, each named in ``allowed`` (name → what it is) at most once."""
    out: dict[str, str] = {}
    for key, value in request.query_params.multi_items():
        if key not in allowed:
            raise ApiError("usage", f"query parameter '{key}': unknown here "
                           f"(expected: {', '.join(allowed) or 'none'})")
        if key in out:
            raise ApiError("usage", f"query parameter '{key}': given more than once")
        out[key] = value
    return out


def int_param(params: Mapping[str, str], key: str, default: int, low: int, high: int) -> int:
    raw = params.get(key)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw) if raw.isascii() else None
    except ValueError:
        value = None
    if value is None or not low <= value <= high:
        raise ApiError("usage", f"query parameter '{key}': expected an integer from {low} to {high}")
    return value


def flag_param(params: Mapping[str, str], key: str) -> bool:
    raw = params.get(key)
    if raw is None:
        return False
    if raw.lower() in ("", "1", "true", "yes"):
        return True
    if raw.lower() in ("0", "false", "no"):
        return False
    raise ApiError("usage", f"query parameter '{key}': expected true or false")


async def json_body(request: Request, fields: Mapping[str, type], required: tuple[str, ...] = (),
                    *, limit: int = MAX_BODY) -> dict[str, Any]:
    """The request body as a JSON object with only ``fields`` (name → Python type)."""
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media != "application/json":
        raise ApiError("unsupported_media_type",
                       f"Content-Type: expected application/json, got {media or 'nothing'}")
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise ApiError("payload_too_large", f"body: {declared} bytes is more than the limit of {limit}")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ApiError("payload_too_large", f"body: more than the limit of {limit} bytes")
        chunks.append(chunk)
    data = parse_json(b"".join(chunks))
    if not isinstance(data, dict):
        raise ApiError("invalid", "body: expected a JSON object")
    for key, value in data.items():
        kind = fields.get(key)
        if kind is None:
            raise ApiError("invalid", f"body: unknown field '{key}' (expected: {', '.join(fields)})")
        if value is None and key not in required:
            continue
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise ApiError("invalid", f"body.{key}: expected {KINDS.get(kind, kind.__name__)}")
    for key in required:
        if data.get(key) is None:
            raise ApiError("invalid", f"body.{key}: required")
    return data


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def parse_json(raw: bytes) -> Any:
    if not raw.strip():
        raise ApiError("usage", "body: empty, expected a JSON object")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ApiError("usage", f"body: not UTF-8 (byte {e.start})") from None
    try:
        data = json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as e:
        raise ApiError("usage", f"body: not valid JSON (line {e.lineno} column {e.colno}: {e.msg})") from None
    except ValueError as e:
        raise ApiError("usage", f"body: not valid JSON ({e})") from None
    except RecursionError:
        raise ApiError("usage", f"body: nested deeper than {MAX_DEPTH} levels") from None
    _check_depth(data)
    return data


def _check_depth(data: Any) -> None:
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise ApiError("usage", f"body: nested deeper than {MAX_DEPTH} levels")
        if isinstance(value, dict):
            stack.extend((v, depth + 1) for v in value.values())
        elif isinstance(value, list):
            stack.extend((v, depth + 1) for v in value)


def etag(version: int, item_id: str) -> str:
    return f'"{version}.{item_id}"'


def etag_matches(header: str, version: int, item_id: str) -> bool:
    return tag_matches(header, etag(version, item_id))


def tag_matches(header: str, wanted: str) -> bool:
    """Whether an If-Match / If-None-Match header names the ETag ``wanted``."""
    for tag in header.split(","):
        tag = tag.strip()
        if tag == "*" or tag.removeprefix("W/") == wanted:
            return True
    return False
