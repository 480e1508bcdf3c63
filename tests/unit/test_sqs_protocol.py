"""The SQS message protocol on its own: what a request may hold, and how a bad one is named."""

from __future__ import annotations

import json

import pytest

from realnet.runners.sqs import _printable, protocol


def body(**fields) -> str:
    return json.dumps({"id": "r-1", "op": "get", "path": "/a", **fields})


def test_a_valid_request_is_split_into_its_parts():
    request = protocol.parse(body(op="create", type="Document", attributes={"title": "T"},
                                  token="tok", reply_to="http://127.0.0.1:1/123/replies"))
    assert (request.id, request.op, request.path, request.token, request.reply_to) == (
        "r-1", "create", "/a", "tok", "http://127.0.0.1:1/123/replies")
    assert request.fields == {"type": "Document", "attributes": {"title": "T"}}


@pytest.mark.parametrize(("text", "message"), [
    ("nope", "message: not JSON"),
    ("[1]", "message: expected a JSON object, got list"),
    (json.dumps({"op": "get", "path": "/a"}), "message: field 'id' is required"),
    ("{}", "message: field 'id' is required"),
    (json.dumps({"id": "a1"}), "message: field 'op' is required"),
    (json.dumps({"id": "a1", "op": "get"}), "message: field 'path' is required"),
    (body(op="frob"), "message.op: 'frob' is not allowed (expected one of create, "),
    (body(path="a"), "message.path: expected an absolute path starting with '/', got 'a'"),
    (body(op="create"), "message: field 'type' is required for op create"),
    (body(version=3), "message.version: not a field for op get"),
    (body(op="update"), "message: op update needs attributes or unset"),
    (body(op="delete", version="3"), "message.version: expected integer, got str"),
    (body(id="a b"), "message.id: expected 1 to 128 letters"),
    (body(op="list", limit=5000), "message.limit: expected at most 1000"),
    ("[" * 50_000 + "]" * 50_000, "message: JSON nested too deeply"),
    ('{"id": "d", "op": "get", "path": "/", "x": ' + "[" * 50_000 + "]" * 50_000 + "}",
     "message: JSON nested too deeply"),
])
def test_a_bad_request_is_one_line_naming_the_field(text, message):
    with pytest.raises(protocol.MessageError) as raised:
        protocol.parse(text)
    assert str(raised.value).startswith(message), str(raised.value)
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize("token", ["x" * 600, ""])
def test_a_bad_token_is_never_echoed(token):
    with pytest.raises(protocol.MessageError) as raised:
        protocol.parse(body(token=token))
    assert str(raised.value).startswith("message.token: expected at")
    assert not token or token[:20] not in str(raised.value)


def test_an_oversized_reply_becomes_an_error_saying_so():
    reply = protocol.ok("r-1", "list", {"items": ["x" * 1000] * 300})
    sent = json.loads(protocol.encode(reply))
    assert sent["status"] == "error" and sent["error"]["code"] == "too_large" and sent["id"] == "r-1"


def test_log_lines_from_message_fields_cannot_break_lines():
    assert _printable("r-1 get /a\nforged line\x1b[2J") == "r-1 get /a\\x0aforged line\\x1b[2J"
    assert _printable("plain /ä") == "plain /ä"
