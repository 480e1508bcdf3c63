"""API errors answered as `Status` bodies, the way a real API server words them."""

from __future__ import annotations

REASONS = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound",
           405: "MethodNotAllowed", 409: "Conflict", 410: "Expired", 415: "UnsupportedMediaType",
           422: "Invalid", 429: "TooManyRequests", 500: "InternalError", 503: "ServiceUnavailable",
           504: "Timeout"}


class ApiError(Exception):
    def __init__(self, code: int, message: str, reason: str | None = None,
                 details: dict | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.reason = reason or REASONS.get(code, "Unknown")
        self.details = details

    def status(self) -> dict:
        return status_body(self.code, self.reason, self.message, self.details)

    @classmethod
    def bad_request(cls, message: str) -> ApiError:
        return cls(400, message)

    @classmethod
    def not_found(cls, plural: str, name: str, group: str = "") -> ApiError:
        what = f"{plural}.{group}" if group else plural
        return cls(404, f'{what} "{name}" not found', details=_details(name, group, plural))

    @classmethod
    def already_exists(cls, plural: str, name: str, group: str = "") -> ApiError:
        what = f"{plural}.{group}" if group else plural
        return cls(409, f'{what} "{name}" already exists', "AlreadyExists",
                   _details(name, group, plural))

    @classmethod
    def conflict(cls, plural: str, name: str, group: str = "") -> ApiError:
        what = f"{plural}.{group}" if group else plural
        return cls(409, f'Operation cannot be fulfilled on {what} "{name}": the object has been '
                        "modified; please apply your changes to the latest version and try again",
                   "Conflict", _details(name, group, plural))

    @classmethod
    def invalid(cls, kind: str, name: str, field: str, why: str) -> ApiError:
        return cls(422, f'{kind} "{name}" is invalid: {field}: {why}', "Invalid",
                   {"name": name, "kind": kind, "causes": [{"reason": "FieldValueInvalid",
                                                             "message": why, "field": field}]})


def _details(name: str, group: str, plural: str) -> dict:
    details = {"name": name, "kind": plural}
    if group:
        details["group"] = group
    return details


def status_body(code: int, reason: str, message: str, details: dict | None = None) -> dict:
    body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason, "code": code}
    if details:
        body["details"] = details
    return body


def success_body(name: str, group: str, plural: str, uid: str) -> dict:
    details = {**_details(name, group, plural), "uid": uid}
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
            "details": details}
