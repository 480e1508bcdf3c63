"""Helpers for the HTTP API tests: the error contract, raw requests that no client
library rewrites, and a small world of accounts, groups and grants to test permissions in."""

from __future__ import annotations

import contextlib
import json
import socket
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import h11
import httpx

from realnet.core.context import Context
from realnet.resources.accounts import Directory, grant

API = "/api/v1"
SECRET = "s3cret-Zq9-value-for-http"
PASSWORD = "correct-horse-battery-staple-42"
LOGIN_TYPE = {"name": "Login", "base": "Item", "attributes": {"password": "secret"}}
TRACE_MARKERS = ("Traceback", 'File "', "site-packages", "realnet/")


def assert_no_trace(text: str) -> None:
    """No traceback and no source location of the server in anything a client sees."""
    for marker in TRACE_MARKERS:
        assert marker not in text, f"{marker!r} in a response: {text[:500]}"


def error_of(response: httpx.Response | RawResponse, status: int, code: str | None = None,
             fragment: str | None = None) -> str:
    """Check the error contract — the status, a JSON body ``{"error": {"code", "message"}}``,
    no traceback — and return the message."""
    where = f"{response.request.method} {response.request.url}" if isinstance(response, httpx.Response) \
        else response.sent[:120]
    assert response.status_code == status, (where, response.status_code, response.text[:500])
    assert response.headers["content-type"].split(";")[0] == "application/json", response.headers
    assert_no_trace(response.text)
    body = json.loads(response.text)
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message"}, body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"], body
    if code is not None:
        assert body["error"]["code"] == code, body
    if fragment is not None:
        assert fragment in body["error"]["message"], body
    return body["error"]["message"]


@dataclass
class RawResponse:
    status_code: int
    headers: dict[str, str]
    content: bytes
    sent: bytes = field(repr=False)

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    def json(self) -> Any:
        return json.loads(self.content)


def raw_request(base_url: str, method: str, target: str, *, headers: dict[str, str] | None = None,
                body: bytes = b"", chunks: list[bytes] | None = None) -> RawResponse:
    """Send exactly ``METHOD TARGET HTTP/1.1`` on a socket — no client normalises ``..`` or
    re-encodes anything — and parse the answer with h11. ``chunks`` sends the body with
    ``Transfer-Encoding: chunked`` and no Content-Length."""
    parts = urlsplit(base_url)
    lines = [f"{method} {target} HTTP/1.1", f"Host: {parts.hostname}:{parts.port}", "Connection: close"]
    for name, value in (headers or {}).items():
        lines.append(f"{name}: {value}")
    if chunks is not None:
        lines.append("Transfer-Encoding: chunked")
        payload = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks if c) + b"0\r\n\r\n"
    else:
        if body or method in ("POST", "PATCH"):
            lines.append(f"Content-Length: {len(body)}")
        payload = body
    sent = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + payload
    assert sent.startswith(f"{method} {target} HTTP/1.1\r\n".encode("latin-1"))
    conn = h11.Connection(our_role=h11.CLIENT)
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as sock:
        # The server may answer (413) and close before it has read a large body.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(sent)
        status, response_headers, content = 0, {}, b""
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                try:
                    data = sock.recv(65536)
                except ConnectionResetError:
                    data = b""
                conn.receive_data(data)
                continue
            if isinstance(event, h11.Response):
                status = event.status_code
                response_headers = {k.decode().lower(): v.decode("latin-1") for k, v in event.headers}
            elif isinstance(event, h11.Data):
                content += bytes(event.data)
            elif isinstance(event, h11.EndOfMessage | h11.ConnectionClosed):
                break
    return RawResponse(status, response_headers, content, sent)


# -- a world to test permissions in ---------------------------------------------------------


@dataclass
class World:
    """Tokens by account name; ``admin`` is the local administrator."""

    tokens: dict[str, str]

    def auth(self, who: str | None) -> dict[str, str]:
        return {} if who is None else {"Authorization": f"Bearer {self.tokens[who]}"}


def build_world(context: Context, *, alice_password: str | None = None) -> World:
    """As the administrator:

    - /projects (alice may read; the group editors, with carol, may read, write, create
      and delete), with /projects/notes (a Document) and /projects/creds (a Login whose
      password is a secret attribute);
    - /hidden with /hidden/doc, for nobody but admins;
    - /pub with /pub/doc, readable by everyone, signed in or not;
    - bob, in no group and with no grant.
    """
    directory = Directory(context)
    context.create("/types/Login", "Type", {"definition": LOGIN_TYPE})
    context.create("/projects", "Folder")
    context.create("/projects/notes", "Document", {"title": "Notes"})
    context.create("/projects/creds", "Login", {"password": SECRET})
    context.create("/hidden", "Folder")
    context.create("/hidden/doc", "Document", {"title": "Hidden"})
    context.create("/pub", "Folder")
    context.create("/pub/doc", "Document", {"title": "Public"})
    directory.add_user("alice", password=alice_password)
    directory.add_user("bob", password=None)
    directory.add_user("carol", password=None)
    directory.add_group("editors")
    directory.change_membership("editors", "carol", add=True)
    grant(context, "/projects", "user:alice", ("read",))
    grant(context, "/projects", "group:editors", ("read", "write", "create", "delete"))
    grant(context, "/pub", "group:public", ("read",))
    tokens = {name: directory.create_token(name, "world", expires=None).token
              for name in ("admin", "alice", "bob", "carol")}
    return World(tokens)
