"""The SQS message protocol: a request is one JSON object, checked against the JSON Schema
shipped beside this module (``message.schema.json``, documented in docs/sqs-protocol.md);
a reply carries the request id, a status, and the result or a structured error.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from realnet.core.errors import ConfigError, RealnetError, ValidationError

#: SQS refuses bodies over 256 KiB; a reply that would be larger says so instead.
MAX_BODY = 256 * 1024


class MessageError(ValidationError):
    """A body that is not a request: not JSON, or not what the schema allows."""

    code = "invalid_message"


@dataclass(frozen=True, slots=True)
class Request:
    id: str
    op: str
    path: str
    fields: dict[str, Any]
    token: str | None = None
    reply_to: str | None = None


def schema() -> dict[str, Any]:
    """The message schema as shipped in the package."""
    return json.loads(resources.files(__package__).joinpath("message.schema.json").read_text("utf-8"))


@cache
def _checker() -> Any:
    """A compiled validator (microseconds a message) for the common case, a valid request."""
    try:
        import jsonschema_rs
    except ImportError:
        raise ConfigError("SQS messages need jsonschema-rs: pip install 'realnet[sqs]'") from None
    return jsonschema_rs.validator_for(schema())


@cache
def _validator() -> Any:
    """The reference validator, for what is wrong with an invalid request (its best match
    names the field a person should look at)."""
    try:
        from jsonschema import Draft202012Validator
    except ImportError:
        raise ConfigError("SQS messages need jsonschema: pip install 'realnet[sqs]'") from None
    return Draft202012Validator(schema())


def check_available() -> None:
    """Fail now, with the install line, if the validators are missing (not at the first message)."""
    _checker()
    _validator()


def load_object(body: str, where: str = "message") -> dict[str, Any]:
    """The JSON object in ``body``, or a :class:`MessageError` naming ``where``."""
    try:
        data = json.loads(body)
    except ValueError as e:
        raise MessageError(f"{where}: not JSON ({_first_line(str(e))})") from None
    except RecursionError:
        raise MessageError(f"{where}: JSON nested too deeply") from None
    if not isinstance(data, dict):
        raise MessageError(f"{where}: expected a JSON object, got {type(data).__name__}")
    return data


def parse(body: str) -> Request:
    """The request in a message body, or a :class:`MessageError` naming what is wrong."""
    data = load_object(body)
    if not _checker().is_valid(data):
        validator = _validator()
        from jsonschema.exceptions import best_match

        error = best_match(validator.iter_errors(data))
        raise MessageError(describe(error, data) if error is not None else "message: not a valid request")
    fields = {k: v for k, v in data.items() if k not in ("id", "op", "path", "token", "reply_to")}
    return Request(data["id"], data["op"], data["path"], fields, data.get("token"), data.get("reply_to"))


def peek(body: str) -> tuple[str | None, str | None, str | None]:
    """The id, op and reply_to of a body that may not be valid, for an error reply."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return None, None, None
    if not isinstance(data, dict):
        return None, None, None

    def text(name: str) -> str | None:
        value = data.get(name)
        return value if isinstance(value, str) and len(value) <= 2048 else None

    return text("id"), text("op"), text("reply_to")


def describe(error: Any, data: dict[str, Any]) -> str:
    """One line for a schema error: which field, and what was expected."""
    where = "message" + error.json_path[1:]
    op = data.get("op") if isinstance(data.get("op"), str) else None
    for_op = f" for op {op}" if "allOf" in error.schema_path and op else ""
    kind = error.validator
    if kind == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        return f"{where}: field '{missing}' is required{for_op}"
    if kind == "enum" and "propertyNames" in error.schema_path:
        fields = ", ".join(error.validator_value)
        return f"{where}.{error.instance}: not a field{for_op} (fields: {fields})"
    if kind == "enum":
        allowed = ", ".join(error.validator_value)
        return f"{where}: {error.instance!r} is not allowed (expected one of {allowed})"
    if kind == "additionalProperties":
        return f"{where}: {error.message}"
    if kind == "anyOf" and op == "update":
        return f"{where}: op update needs attributes or unset"
    if kind == "pattern" and error.json_path.endswith(("path", "target")):
        return f"{where}: expected an absolute path starting with '/', got {error.instance!r}"
    if kind == "pattern" and error.json_path.endswith("id"):
        return (f"{where}: expected 1 to 128 letters, digits, '_', '.', ':' or '-' "
                f"(starting with a letter or digit), got {_short(error.instance)}")
    if kind == "type":
        return f"{where}: expected {error.validator_value}, got {type(error.instance).__name__}"
    # Past this point the value is never shown: it may be a token.
    limits = {"maxLength": "at most {} characters", "minLength": "at least {} character(s)",
              "maximum": "at most {}", "minimum": "at least {}", "maxItems": "at most {} items",
              "pattern": "to match {}"}
    if kind in limits:
        return f"{where}: expected {limits[kind].format(error.validator_value)}"
    return f"{where}: not allowed here ({kind})"


def ok(request_id: str | None, op: str | None, result: Any) -> dict[str, Any]:
    return {"id": request_id, "op": op, "status": "ok", "result": result}


def failed(request_id: str | None, op: str | None, error: RealnetError) -> dict[str, Any]:
    return {"id": request_id, "op": op, "status": "error",
            "error": {"code": error.code, "message": str(error)}}


def encode(reply: dict[str, Any]) -> str:
    """The reply as a message body; a result too large for SQS becomes an error saying so."""
    text = json.dumps(reply, ensure_ascii=False, separators=(",", ":"), default=str)
    if len(text.encode()) <= MAX_BODY:
        return text
    too_big = {"id": reply.get("id"), "op": reply.get("op"), "status": "error",
               "error": {"code": "too_large", "message": f"the reply is over {MAX_BODY // 1024} KiB, "
                         "SQS's limit (list with a smaller limit)"}}
    return json.dumps(too_big, ensure_ascii=False, separators=(",", ":"))


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _first_line(text: str) -> str:
    return text.splitlines()[0] if text else text
