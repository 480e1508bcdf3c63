"""Every failure as a JSON body with a stable code and the right status; never a traceback."""

from __future__ import annotations

import json

from realnet.core.errors import RealnetError

#: RealnetError.code → HTTP status.
STATUS = {
    "usage": 400,
    "invalid_path": 400,
    "unauthorized": 401,
    "forbidden": 403,
    "read_only": 403,
    "not_found": 404,
    "exists": 409,
    "conflict": 409,
    "not_empty": 409,
    "precondition_failed": 412,
    "payload_too_large": 413,
    "unsupported_media_type": 415,
    "range_not_satisfiable": 416,
    "invalid_name": 422,
    "invalid": 422,
    "unknown_type": 422,
    "rate_limited": 429,
    "store": 503,
}


class ApiError(RealnetError):
    """An error that only the HTTP face has (bad body, bad header, too many attempts)."""

    def __init__(self, code: str, message: str, *, status: int | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.status = status or STATUS.get(code, 400)
        self.headers = headers or {}


def status_of(error: RealnetError) -> int:
    if isinstance(error, ApiError):
        return error.status
    return STATUS.get(error.code, 400 if error.exit_code == 2 else 422)


def error_body(code: str, message: str) -> bytes:
    return json.dumps({"error": {"code": code, "message": message}}, ensure_ascii=False).encode()
