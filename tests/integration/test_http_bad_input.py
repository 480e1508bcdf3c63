"""Every kind of bad HTTP input: the right status, a JSON error whose message names what
was wrong, no trace, and a store exactly as it was.

Paths with ``..`` are sent on a raw socket (tests/httpkit.py): httpx, like browsers,
removes dot segments before sending, so it could not send the request under test.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from httpkit import API, PASSWORD, RawResponse, error_of, raw_request

from realnet.core import paths
from realnet.resources.accounts import TOKENS, Directory
from realnet.security.tokens import digest

MiB = 1024 * 1024
JSON = {"Content-Type": "application/json"}


@pytest.fixture
def http(api) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=api.url, headers=api.headers(), timeout=30) as c:
        yield c


@pytest.fixture
def store(api, http, context):
    """/docs with /docs/a (a Document at version 2) and /docs/s (a Select holding JSON);
    returns a function that reads everything an administrator sees, but tokens
    (their last use changes as they are used)."""
    context.create("/docs", "Folder")
    context.create("/docs/a", "Document", {"title": "A"})
    context.update("/docs/a", {"title": "A2"})
    context.create("/docs/s", "Select", {"options": [1, 2]})

    def snapshot() -> dict[str, tuple[int, dict]]:
        r = http.get(f"{API}/items", params={"find": "", "limit": "10000"})
        assert r.status_code == 200, r.text
        return {i["path"]: (i["version"], i["attributes"]) for i in r.json()["items"]
                if not i["path"].startswith(TOKENS + "/")}

    before = snapshot()
    assert before["/docs/a"][0] == 2
    return snapshot


def unchanged(store, before) -> None:
    assert store() == before


def nested(depth: int) -> object:
    """A JSON value that is ``depth`` levels deep counting itself (1 is a bare list)."""
    value: object = []
    for _ in range(depth - 1):
        value = [value]
    return value


# -- bodies ----------------------------------------------------------------------------------

DOCS = f"{API}/items/docs"
A = f"{API}/items/docs/a"
MOVE = f"{API}/actions/docs/a/move"

BODIES = [
    # (id, method, url, raw body, status, code, message fragment)
    ("malformed", "POST", DOCS, b'{"name": "x", "type": }', 400, "usage", "not valid JSON (line 1 column"),
    ("unclosed", "POST", DOCS, b"{", 400, "usage", "not valid JSON"),
    ("trailing-garbage", "POST", DOCS, b'{"name": "x", "type": "Folder"} x', 400, "usage", "not valid JSON"),
    ("single-quotes", "POST", DOCS, b"{'name': 'x'}", 400, "usage", "not valid JSON"),
    ("NaN", "POST", DOCS, b'{"name": "x", "type": "Folder", "attributes": {"title": NaN}}', 400, "usage",
     "NaN is not a JSON number"),
    ("Infinity", "POST", DOCS, b'{"name": "x", "type": "Folder", "attributes": {"n": Infinity}}', 400,
     "usage", "Infinity is not a JSON number"),
    ("-Infinity", "PATCH", A, b'{"attributes": {"title": -Infinity}}', 400, "usage",
     "-Infinity is not a JSON number"),
    ("empty", "POST", DOCS, b"", 400, "usage", "body: empty"),
    ("blank", "PATCH", A, b"  \n ", 400, "usage", "body: empty"),
    ("not-utf8", "POST", DOCS, b'{"name": "\xff\xfe", "type": "Folder"}', 400, "usage", "not UTF-8"),
    ("array", "POST", DOCS, b"[]", 422, "invalid", "body: expected a JSON object"),
    ("string", "PATCH", A, b'"title"', 422, "invalid", "body: expected a JSON object"),
    ("null", "POST", DOCS, b"null", 422, "invalid", "body: expected a JSON object"),
    ("depth-33", "POST", DOCS, json.dumps({"name": "x", "type": "Select",
                                           "attributes": {"options": nested(31)}}).encode(),
     400, "usage", "nested deeper than 32 levels"),
    ("depth-100000", "POST", DOCS, b"[" * 100_000 + b"]" * 100_000, 400, "usage", "nested deeper than 32"),
    ("unknown-field", "POST", DOCS, b'{"name": "x", "type": "Folder", "owner": "bob"}', 422, "invalid",
     "body: unknown field 'owner' (expected: name, type, attributes, parents, from_text)"),
    ("unknown-field-patch", "PATCH", A, b'{"name": "b"}', 422, "invalid", "body: unknown field 'name'"),
    ("name-kind", "POST", DOCS, b'{"name": 5, "type": "Folder"}', 422, "invalid", "body.name: expected a string"),
    ("type-kind", "POST", DOCS, b'{"name": "x", "type": ["Folder"]}', 422, "invalid",
     "body.type: expected a string"),
    ("attributes-kind", "POST", DOCS, b'{"name": "x", "type": "Folder", "attributes": []}', 422, "invalid",
     "body.attributes: expected a JSON object"),
    ("parents-kind", "POST", DOCS, b'{"name": "x", "type": "Folder", "parents": "yes"}', 422, "invalid",
     "body.parents: expected true or false"),
    ("from_text-kind", "POST", DOCS, b'{"name": "x", "type": "Folder", "from_text": 1}', 422, "invalid",
     "body.from_text: expected true or false"),
    ("type-missing", "POST", DOCS, b'{"name": "x"}', 422, "invalid", "body.type: required"),
    ("name-null", "POST", DOCS, b'{"name": null, "type": "Folder"}', 422, "invalid", "body.name"),
    ("version-string", "PATCH", A, b'{"version": "2"}', 422, "invalid", "body.version: expected an integer"),
    ("version-bool", "PATCH", A, b'{"version": true}', 422, "invalid", "body.version: expected an integer"),
    ("version-float", "PATCH", A, b'{"version": 2.0}', 422, "invalid", "body.version: expected an integer"),
    ("unset-string", "PATCH", A, b'{"unset": "title"}', 422, "invalid", "body.unset: expected a JSON array"),
    ("unset-numbers", "PATCH", A, b'{"unset": [1]}', 422, "invalid", "body.unset: expected a list of attribute"),
    ("target-kind", "POST", MOVE, b'{"target": 5}', 422, "invalid", "body.target: expected a string"),
    ("target-missing", "POST", MOVE, b"{}", 422, "invalid", "body.target: required"),
    ("target-relative", "POST", MOVE, b'{"target": "docs/b"}', 400, "invalid_path",
     "body.target: expected an absolute path"),
    ("target-dotdot", "POST", MOVE, b'{"target": "/docs/../b"}', 400, "invalid_path", "'..'"),
    ("target-unknown-field", "POST", MOVE, b'{"target": "/b", "force": true}', 422, "invalid",
     "body: unknown field 'force'"),
]


@pytest.mark.parametrize(("method", "url", "body", "status", "code", "fragment"),
                         [c[1:] for c in BODIES], ids=[c[0] for c in BODIES])
def test_bad_bodies(http, store, method, url, body, status, code, fragment):
    before = store()
    error_of(http.request(method, url, content=body, headers=JSON), status, code, fragment)
    unchanged(store, before)


def test_nesting_of_exactly_32_levels_is_accepted(http, store):
    body = {"name": "deep", "type": "Select", "attributes": {"options": nested(30)}}  # 1 + 1 + 30
    r = http.post(DOCS, json=body)
    assert r.status_code == 201, r.text
    assert r.json()["attributes"]["options"] == nested(30)


ITEM_CONTENT = [
    # (id, parent URL, body, status, code, fragment)
    ("dot", DOCS, {"name": ".", "type": "Folder"}, 422, "invalid_name", "'.'"),
    ("dotdot", DOCS, {"name": "..", "type": "Folder"}, 422, "invalid_name", "'..'"),
    ("slash", DOCS, {"name": "a/b", "type": "Folder"}, 422, "invalid_name", "'a/b'"),
    ("tab", DOCS, {"name": "a\tb", "type": "Folder"}, 422, "invalid_name", "control characters"),
    ("too-long", DOCS, {"name": "x" * 256, "type": "Folder"}, 422, "invalid_name", "at most 255 bytes"),
    ("too-long-utf8", DOCS, {"name": "é" * 128, "type": "Folder"}, 422, "invalid_name", "at most 255 bytes"),
    ("unknown-type", DOCS, {"name": "x", "type": "Nope"}, 422, None, "unknown type 'Nope'"),
    ("abstract-type", DOCS, {"name": "x", "type": "Item"}, 422, "invalid", "abstract"),
    ("attribute-kind", DOCS, {"name": "x", "type": "Document", "attributes": {"title": 5}}, 422, "invalid",
     "attribute 'title' expects"),
    ("attribute-enum", DOCS, {"name": "x", "type": "Document", "attributes": {"title": "t", "format": "pdf"}},
     422, "invalid", "attribute 'format' expects one of plain, markdown, html"),
    ("attribute-unknown", DOCS, {"name": "x", "type": "Document",
                                 "attributes": {"title": "t", "colour": "red"}},
     422, "invalid", "type Document has no attribute 'colour'"),
    ("attribute-required", DOCS, {"name": "x", "type": "Document"}, 422, "invalid",
     "attribute 'title' is required for a Document"),
    ("attribute-required-null", DOCS, {"name": "x", "type": "Document", "attributes": {"title": None}}, 422,
     "invalid", "attribute 'title'"),
    ("from-text-not-a-number", DOCS, {"name": "x", "type": "TextArea", "attributes": {"rows": "many"},
                                      "from_text": True}, 422, "invalid", "attribute 'rows'"),
    ("child-not-allowed", A, {"name": "x", "type": "Folder"}, 422, "invalid", "Document"),
    ("exists", DOCS, {"name": "a", "type": "Folder"}, 409, "exists",
     "/docs/a: an item with this name already exists"),
]


@pytest.mark.parametrize(("url", "body", "status", "code", "fragment"), [c[1:] for c in ITEM_CONTENT],
                         ids=[c[0] for c in ITEM_CONTENT])
def test_bad_item_content(http, store, url, body, status, code, fragment):
    before = store()
    error_of(http.post(url, json=body), status, code, fragment)
    unchanged(store, before)


def test_a_nul_in_a_name_is_refused(http, store):
    before = store()
    r = http.post(DOCS, json={"name": "a\x00b", "type": "Folder"})
    assert r.status_code in (400, 422)
    assert "NUL" in error_of(r, r.status_code)
    unchanged(store, before)


def test_an_empty_name_is_refused(http, store):
    """POST items/X with {"name": ""} must not create X itself (nor fail as if X existed)."""
    before = store()
    error_of(http.post(f"{API}/items/newthing", json={"name": "", "type": "Folder"}), 422, "invalid_name",
             "name")
    error_of(http.get(f"{API}/items/newthing"), 404)
    error_of(http.post(DOCS, json={"name": "", "type": "Folder"}), 422, "invalid_name", "name")
    error_of(http.post(f"{API}/items", json={"name": "", "type": "Folder"}), 422, "invalid_name", "name")
    unchanged(store, before)


PATCHES = [
    ("wrong-kind", {"attributes": {"title": 5}}, "attribute 'title' expects"),
    ("unknown-attribute", {"attributes": {"colour": "red"}}, "type Document has no attribute 'colour'"),
    ("unset-required", {"unset": ["title"]}, "attribute 'title' is required"),
    ("unset-unknown", {"unset": ["nope"]}, "type Document has no attribute 'nope'"),
    ("enum", {"attributes": {"format": "pdf"}}, "attribute 'format' expects one of"),
]


@pytest.mark.parametrize(("body", "fragment"), [c[1:] for c in PATCHES], ids=[c[0] for c in PATCHES])
def test_bad_changes(http, store, body, fragment):
    before = store()
    error_of(http.patch(A, json=body), 422, "invalid", fragment)
    unchanged(store, before)


def test_stale_preconditions(http, store):
    before = store()
    current = http.get(A).headers["etag"]
    stale = current.replace('"2.', '"1.')
    for headers in ({"If-Match": stale}, {"If-Match": '"garbage"'}, {"If-Match": "W/" + stale}):
        message = error_of(http.patch(A, json={"attributes": {"title": "x"}}, headers=headers), 412,
                           "precondition_failed")
        assert "/docs/a: If-Match does not match the current version 2" in message
        assert current in message
    error_of(http.patch(A, json={"attributes": {"title": "x"}, "version": 1}), 409, "conflict",
             "/docs/a: version 1 is stale (current version is 2)")
    error_of(http.delete(A, headers={"If-Match": stale}), 412, "precondition_failed", "If-Match")
    error_of(http.delete(DOCS, params={"recursive": "true"},
                         headers={"If-Match": http.get(A).headers["etag"]}), 412, "precondition_failed")
    unchanged(store, before)


# -- content type and size -----------------------------------------------------------------


@pytest.mark.parametrize(("content_type", "shown"), [
    (None, "nothing"), ("text/plain", "text/plain"), ("application/x-www-form-urlencoded",
                                                      "application/x-www-form-urlencoded"),
    ("multipart/form-data; boundary=x", "multipart/form-data"), ("application/jsonx", "application/jsonx"),
    ("text/json", "text/json"),
])
def test_wrong_content_type(http, store, content_type, shown):
    before = store()
    headers = {"Content-Type": content_type} if content_type else {}
    body = b'{"name": "x", "type": "Folder"}'
    for method, url in (("POST", DOCS), ("PATCH", A), ("POST", MOVE), ("POST", f"{API}/tokens"),
                        ("POST", f"{API}/login")):
        r = http.request(method, url, content=body, headers=headers)
        error_of(r, 415, "unsupported_media_type", f"Content-Type: expected application/json, got {shown}")
    unchanged(store, before)


@pytest.mark.parametrize("content_type", ["application/json; charset=utf-8", "Application/JSON"])
def test_json_content_type_variants_are_accepted(http, store, content_type):
    r = http.post(DOCS, content=b'{"name": "x", "type": "Folder"}', headers={"Content-Type": content_type})
    assert r.status_code == 201, r.text


def body_of_size(size: int, name: str = "big") -> bytes:
    """A valid create request of exactly ``size`` bytes."""
    head = b'{"name": "%s", "type": "Document", "attributes": {"title": "t", "body": "' % name.encode()
    tail = b'"}}'
    body = head + b"x" * (size - len(head) - len(tail)) + tail
    assert len(body) == size
    return body


def test_oversized_body_with_content_length(api, store):
    before = store()
    r = raw_request(api.url, "POST", DOCS, headers={**api.headers(), **JSON}, body=body_of_size(MiB + 1))
    assert b"Content-Length: 1048577" in r.sent
    error_of(r, 413, "payload_too_large", "body: 1048577 bytes is more than the limit of 1048576")
    unchanged(store, before)


def test_oversized_body_streamed_without_content_length(api, store):
    before = store()
    body = body_of_size(MiB + 1)
    chunks = [body[i:i + 64 * 1024] for i in range(0, len(body), 64 * 1024)]
    r = raw_request(api.url, "POST", DOCS, headers={**api.headers(), **JSON}, chunks=chunks)
    head = r.sent.split(b"\r\n\r\n", 1)[0].lower()
    assert b"transfer-encoding: chunked" in head and b"content-length" not in head
    error_of(r, 413, "payload_too_large", "more than the limit of 1048576 bytes")
    unchanged(store, before)


def test_oversized_body_streamed_by_httpx(http, store):
    before = store()
    body = body_of_size(2 * MiB)

    def stream():
        for i in range(0, len(body), 32 * 1024):
            yield body[i:i + 32 * 1024]

    error_of(http.post(DOCS, content=stream(), headers=JSON), 413, "payload_too_large", "limit of 1048576")
    unchanged(store, before)


def test_a_body_of_exactly_the_limit_is_accepted(api, http, store):
    r = raw_request(api.url, "POST", DOCS, headers={**api.headers(), **JSON}, body=body_of_size(MiB))
    assert r.status_code == 201, r.text[:300]
    streamed = body_of_size(MiB, "big2")
    r = raw_request(api.url, "POST", DOCS, headers={**api.headers(), **JSON},
                    chunks=[streamed[i:i + 50_000] for i in range(0, len(streamed), 50_000)])
    assert r.status_code == 201, r.text[:300]


# -- paths -----------------------------------------------------------------------------------

PATHS = [
    # (method, raw target, body, fragment)
    ("GET", "/api/v1/items/docs/../docs/a", None, ".. is not allowed in an item path"),
    ("GET", "/api/v1/items/docs/%2e%2e/docs/a", None, ".. is not allowed"),
    ("GET", "/api/v1/items/docs/%2E%2E/docs/a", None, ".. is not allowed"),
    ("GET", "/api/v1/items/docs/.%2e/docs/a", None, ".. is not allowed"),
    ("GET", "/api/v1/items/..", None, ".. is not allowed"),
    ("GET", "/api/v1/items/../whoami", None, ".. is not allowed"),
    ("GET", "/api/v1/items/docs/./a", None, ". is not allowed"),
    ("GET", "/api/v1/items/docs/%2e/a", None, ". is not allowed"),
    ("GET", "/api/v1/items/docs//a", None, "an empty segment is not allowed"),
    ("GET", "/api/v1/items//docs", None, "an empty segment is not allowed"),
    ("GET", "/api/v1/items/docs%2Fa", None, "an encoded '/' is not allowed"),
    ("GET", "/api/v1/items/docs%2fa", None, "an encoded '/' is not allowed"),
    ("GET", "/api/v1/items/docs/a/..?children", None, ".. is not allowed"),
    ("PATCH", "/api/v1/items/docs/x/../a", {"attributes": {"title": "x"}}, ".. is not allowed"),
    ("PATCH", "/api/v1/items/docs%2Fa", {"attributes": {"title": "x"}}, "an encoded '/'"),
    ("DELETE", "/api/v1/items/docs/a/..?recursive=true", None, ".. is not allowed"),
    ("DELETE", "/api/v1/items/docs/a/%2e%2e?recursive=true", None, ".. is not allowed"),
    ("DELETE", "/api/v1/items/docs%2F..?recursive=true", None, "an encoded '/'"),
    ("POST", "/api/v1/items/docs/..", {"name": "escaped", "type": "Folder"}, ".. is not allowed"),
    ("POST", "/api/v1/items/docs/a/%2e%2e/%2e%2e", {"name": "escaped", "type": "Folder"}, ".. is not allowed"),
    ("POST", "/api/v1/actions/docs/a/../move", {"target": "/escaped"}, ".. is not allowed"),
    ("POST", "/api/v1/actions/docs/a/%2e%2e/copy", {"target": "/escaped"}, ".. is not allowed"),
]


@pytest.mark.parametrize(("method", "target", "body", "fragment"), PATHS, ids=[f"{p[0]} {p[1]}" for p in PATHS])
def test_path_tricks_are_refused(api, store, method, target, body, fragment):
    before = store()
    headers = dict(api.headers())
    raw = b""
    if body is not None:
        headers.update(JSON)
        raw = json.dumps(body).encode()
    r = raw_request(api.url, method, target, headers=headers, body=raw)
    assert r.sent.startswith(f"{method} {target} HTTP/1.1\r\n".encode())  # sent as written
    error_of(r, 400, "invalid_path", fragment)
    unchanged(store, before)


def test_httpx_would_have_rewritten_the_dot_segments(api):
    """Why the path tests use a raw socket: httpx resolves '..' before sending."""
    assert httpx.URL(api.url + "/api/v1/items/docs/../x").raw_path == b"/api/v1/items/x"


def test_encoded_slash_in_the_query_is_fine(http, store):
    r = http.get(DOCS, params={"find": "", "name": "a/b"})
    assert b"%2F" in r.request.url.raw_path
    assert r.status_code == 200
    assert r.json()["items"] == []


def test_a_trailing_slash_names_the_same_item(api, http, store):
    r = raw_request(api.url, "GET", "/api/v1/items/docs/a/", headers=api.headers())
    assert r.status_code == 200
    assert r.json()["path"] == "/docs/a"


# -- tokens --------------------------------------------------------------------------------

BAD_AUTHORIZATION = [
    ("unknown-token", "Bearer rn_" + "A" * 43, "token: not valid"),
    ("malformed-token", "Bearer not-a-token", "token: not valid"),
    ("token-and-more", "Bearer rn_" + "A" * 43 + " extra", "token: not valid"),
    ("basic", "Basic YWRtaW46YWRtaW4=", "expected 'Bearer <token>'"),
    ("bearer-alone", "Bearer", "expected 'Bearer <token>'"),
    ("empty", "", "expected 'Bearer <token>'"),
    ("token-only", "rn_" + "A" * 43, "expected 'Bearer <token>'"),
]


@pytest.mark.parametrize(("header", "fragment"), [c[1:] for c in BAD_AUTHORIZATION],
                         ids=[c[0] for c in BAD_AUTHORIZATION])
def test_bad_authorization(api, store, header, fragment):
    before = store()
    with httpx.Client(base_url=api.url, timeout=30, headers={"Authorization": header}) as c:
        for r in (c.get(f"{API}/whoami"), c.get(A), c.patch(A, json={"attributes": {"title": "x"}}),
                  c.delete(A), c.get(f"{API}/tokens")):
            error_of(r, 401, "unauthorized", fragment)
            assert r.headers["www-authenticate"].startswith('Bearer realm="realnet"')
    unchanged(store, before)


def test_blank_bearer_on_the_wire(api, store):
    r = raw_request(api.url, "GET", f"{API}/whoami", headers={"Authorization": "Bearer   "})
    assert b"Authorization: Bearer   \r\n" in r.sent
    error_of(r, 401, "unauthorized", "expected 'Bearer <token>'")
    assert r.headers["www-authenticate"].startswith("Bearer")


def test_expired_token(api, store, context):
    issued = Directory(context).create_token("admin", "short", expires="1m")
    path = paths.join(TOKENS, digest(issued.token))
    item = context.provider.get(path)
    past = (datetime.now(UTC) - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")
    context.provider.update(path, {**item.attributes, "expires": past})
    with httpx.Client(base_url=api.url, timeout=30, headers={"Authorization": f"Bearer {issued.token}"}) as c:
        r = c.get(f"{API}/whoami")
    error_of(r, 401, "unauthorized", "token: not valid (unknown, malformed, expired or revoked)")
    assert 'error="invalid_token"' in r.headers["www-authenticate"]


def test_the_scheme_is_case_insensitive(api):
    with httpx.Client(base_url=api.url, timeout=30, headers={"Authorization": f"bearer {api.token}"}) as c:
        assert c.get(f"{API}/whoami").json()["principal"] == "admin"


def test_without_a_token_private_items_are_missing(api, store):
    with httpx.Client(base_url=api.url, timeout=30) as c:
        error_of(c.get(A), 404, "not_found", "/docs/a: no such item")
        error_of(c.patch(A, json={"attributes": {"title": "x"}}), 404, "not_found")
        error_of(c.get(f"{API}/tokens"), 401, "unauthorized", "sign in first")


def token_names(directory: Directory, account: str) -> list[str]:
    return [t["name"] for t in directory.tokens(account)]


@pytest.mark.parametrize(("body", "status", "fragment"), [
    ({"name": 5}, 422, "body.name: expected a string"),
    ({}, 422, "body.name: required"),
    ({"name": "Bad Name"}, 422, "token name 'Bad Name'"),
    ({"name": "x", "expires": "forever"}, 422, "'forever': expected a duration"),
    ({"name": "x", "expires": "0d"}, 422, "expected a duration"),
    ({"name": "x", "expires": 30}, 422, "body.expires: expected a string"),
    ({"name": "x", "label": "y"}, 422, "body: unknown field 'label'"),
    ({"name": "x", "expires": "999999w"}, 422, "expires"),
    ({"name": "x", "expires": "99999999999999999999m"}, 422, "expires"),
])
def test_bad_token_requests(http, store, context, body, status, fragment):
    before = token_names(Directory(context), "admin")
    error_of(http.post(f"{API}/tokens", json=body), status, None, fragment)
    assert token_names(Directory(context), "admin") == before


# -- login and its rate limit -----------------------------------------------------------------


@pytest.fixture
def accounts(api, context):
    directory = Directory(context)
    directory.add_user("alice", password=PASSWORD)
    directory.add_user("carol", password=PASSWORD)
    return directory


@pytest.fixture
def anon(api) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=api.url + API, timeout=60) as c:
        yield c


def login(anon, user: str, password: str, **extra) -> httpx.Response:
    return anon.post("/login", json={"user": user, "password": password, **extra})


def assert_rate_limited(r: httpx.Response | RawResponse, kind: str) -> int:
    error_of(r, 429, "rate_limited", f"login: too many failed attempts for this {kind}")
    wait = int(r.headers["retry-after"])
    assert 1 <= wait <= 301
    return wait


@pytest.mark.parametrize(("body", "fragment"), [
    ({"user": "alice"}, "body.password: required"),
    ({"password": PASSWORD}, "body.user: required"),
    ({"user": 5, "password": PASSWORD}, "body.user: expected a string"),
    ({"user": "alice", "password": PASSWORD, "remember": True}, "body: unknown field 'remember'"),
    ({"user": "alice", "password": PASSWORD, "expires": "forever"}, "expected a duration"),
    ({"user": "alice", "password": PASSWORD, "expires": "999999w"}, "expires"),
    ({"user": "alice", "password": PASSWORD, "name": "Not Valid"}, "token name 'Not Valid'"),
])
def test_bad_login_requests(anon, accounts, body, fragment):
    before = token_names(accounts, "alice")
    error_of(anon.post("/login", json=body), 422, "invalid", fragment)
    assert token_names(accounts, "alice") == before


def test_sixth_failed_login_of_an_account_is_rate_limited(anon, accounts):
    for _ in range(5):
        error_of(login(anon, "alice", "wrong-password"), 401, "unauthorized")
    assert_rate_limited(login(anon, "alice", "wrong-password"), "account")
    # While limited, even the right password gets no token.
    tokens = token_names(accounts, "alice")
    assert_rate_limited(login(anon, "alice", PASSWORD), "account")
    assert token_names(accounts, "alice") == tokens
    # Another account is not affected.
    assert login(anon, "carol", PASSWORD).status_code == 201
    error_of(login(anon, "carol", "wrong-password"), 401, "unauthorized")


def test_a_successful_login_resets_the_account_counter(anon, accounts):
    for _ in range(4):
        error_of(login(anon, "alice", "wrong-password"), 401)
    assert login(anon, "alice", PASSWORD).status_code == 201
    for _ in range(5):
        error_of(login(anon, "alice", "wrong-password"), 401)
    assert_rate_limited(login(anon, "alice", "wrong-password"), "account")


def test_a_right_password_is_never_counted_as_a_failure(anon, accounts):
    """Signing in with the right password, but asking for a token name already taken (409)
    or an invalid lifetime (422), is a mistake, not a guess: it must not lock the account."""
    assert login(anon, "alice", PASSWORD, name="laptop").status_code == 201
    for _ in range(3):
        error_of(login(anon, "alice", PASSWORD, name="laptop"), 409, "exists")
        error_of(login(anon, "alice", PASSWORD, expires="forever"), 422, "invalid")
    r = login(anon, "alice", PASSWORD)
    assert r.status_code == 201, r.text


def test_failures_from_one_address_are_limited(anon, accounts):
    for n in range(20):
        error_of(login(anon, f"nobody{n}", "wrong-password"), 401)
    assert_rate_limited(login(anon, "nobody-new", "wrong-password"), "address")
    assert_rate_limited(login(anon, "alice", PASSWORD), "address")


def test_a_forwarded_for_header_does_not_escape_the_address_limit(anon, accounts):
    for n in range(20):
        error_of(anon.post("/login", json={"user": f"nobody{n}", "password": "wrong-password"},
                           headers={"X-Forwarded-For": f"10.0.0.{n}"}), 401)
    assert_rate_limited(anon.post("/login", json={"user": "nobody-new", "password": "x"},
                                  headers={"X-Forwarded-For": "10.0.1.1"}), "address")


def test_a_trusted_proxy_names_the_client_address(monkeypatch, request):
    monkeypatch.setenv("REALNET_SERVER_TRUSTED_PROXIES", "127.0.0.1")
    api = request.getfixturevalue("api")
    with httpx.Client(base_url=api.url + API, timeout=60) as client:
        for n in range(20):
            error_of(client.post("/login", json={"user": f"nobody{n}", "password": "wrong-password"},
                                 headers={"X-Forwarded-For": "10.0.0.1"}), 401)
        assert_rate_limited(client.post("/login", json={"user": "nobody-new", "password": "x"},
                                        headers={"X-Forwarded-For": "10.0.0.1"}), "address")
        # Another client behind the same proxy is another address.
        error_of(client.post("/login", json={"user": "nobody-new", "password": "x"},
                             headers={"X-Forwarded-For": "10.0.0.2"}), 401)


def test_bad_requests_do_not_count_as_failures(anon, accounts):
    for _ in range(10):
        error_of(anon.post("/login", json={"user": "alice"}), 422)
        error_of(anon.post("/login", content=b"{", headers=JSON), 400)
    assert login(anon, "alice", PASSWORD).status_code == 201


def test_simultaneous_failed_logins_are_limited_too(api, accounts):
    """Twenty wrong passwords for one account at the same moment: at most five are checked."""
    attempts = 20
    barrier = threading.Barrier(attempts)
    statuses: list[int] = []

    def attempt() -> None:
        with httpx.Client(base_url=api.url + API, timeout=120) as c:
            barrier.wait(10)
            statuses.append(login(c, "alice", "wrong-password").status_code)

    threads = [threading.Thread(target=attempt) for _ in range(attempts)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert len(statuses) == attempts
    assert set(statuses) <= {401, 429}
    assert statuses.count(401) <= 5, f"{statuses.count(401)} passwords were checked, the limit is 5"


# -- query parameters -------------------------------------------------------------------------

QUERIES = [
    # (method, url, params, fragment)
    ("GET", A, {"bogus": "1"}, "query parameter 'bogus': unknown here (expected: reveal)"),
    ("GET", DOCS, {"children": "", "bogus": "1"}, "query parameter 'bogus': unknown here (expected: children,"),
    ("GET", DOCS, {"find": "", "order": "name"}, "query parameter 'order': unknown here"),
    ("GET", DOCS, {"count": "", "type": "Document"}, "query parameter 'type': unknown here"),
    ("GET", DOCS, {"children": "", "count": ""}, "query parameters children and count: use one at a time"),
    ("GET", DOCS, {"children": "", "find": ""}, "use one at a time"),
    ("GET", DOCS, {"children": "", "limit": "0"}, "query parameter 'limit': expected an integer from 1 to 1000"),
    ("GET", DOCS, {"children": "", "limit": "1001"}, "expected an integer from 1 to 1000"),
    ("GET", DOCS, {"children": "", "limit": "ten"}, "expected an integer from 1 to 1000"),
    ("GET", DOCS, {"children": "", "limit": "-1"}, "expected an integer from 1 to 1000"),
    ("GET", DOCS, {"find": "", "depth": "-1"}, "query parameter 'depth': expected an integer from 0"),
    ("GET", DOCS, {"find": "", "limit": "0"}, "query parameter 'limit'"),
    ("GET", A, {"reveal": "maybe"}, "query parameter 'reveal': expected true or false"),
    ("GET", A, [("reveal", "1"), ("reveal", "0")], "query parameter 'reveal': given more than once"),
    ("POST", DOCS, {"parents": "true"}, "query parameter 'parents': unknown here (expected: none)"),
    ("PATCH", A, {"force": "1"}, "query parameter 'force': unknown here"),
    ("DELETE", A, {"force": "1"}, "query parameter 'force': unknown here (expected: recursive)"),
    ("DELETE", DOCS, {"recursive": "maybe"}, "query parameter 'recursive': expected true or false"),
    ("POST", MOVE, {"parents": "1"}, "query parameter 'parents': unknown here"),
    ("GET", f"{API}/whoami", {"x": "1"}, "query parameter 'x': unknown here"),
    ("GET", f"{API}/types", {"x": "1"}, "query parameter 'x': unknown here"),
    ("GET", f"{API}/types/Document", {"x": "1"}, "query parameter 'x': unknown here"),
    ("GET", f"{API}/tokens", {"x": "1"}, "query parameter 'x': unknown here"),
    ("POST", f"{API}/tokens", {"x": "1"}, "query parameter 'x': unknown here"),
    ("DELETE", f"{API}/tokens/tests", {"x": "1"}, "query parameter 'x': unknown here"),
    ("POST", f"{API}/login", {"x": "1"}, "query parameter 'x': unknown here"),
]


@pytest.mark.parametrize(("method", "url", "params", "fragment"), QUERIES,
                         ids=[f"{q[0]} {q[1].removeprefix(API)} {q[2]}" for q in QUERIES])
def test_bad_query_parameters(http, store, method, url, params, fragment):
    before = store()
    body = {"name": "x", "type": "Folder"} if method == "POST" else (
        {"attributes": {"title": "x"}} if method == "PATCH" else None)
    if url == MOVE:
        body = {"target": "/moved"}
    if url.endswith("/login"):
        body = {"user": "admin", "password": "not-it"}
    error_of(http.request(method, url, params=params, json=body), 400, "usage", fragment)
    unchanged(store, before)
    # The token named in the URL is still there and valid.
    assert http.get(f"{API}/whoami").status_code == 200


def test_unknown_order(http, store):
    """Refused with the shell's words; 422 (from the store) where other query mistakes are 400."""
    r = http.get(DOCS, params={"children": "", "order": "size"})
    assert r.status_code in (400, 422)
    error_of(r, r.status_code, None, "'size': expected one of name, -name, type, -type, updated, -updated")


@pytest.mark.parametrize("mode", ["children", "find", "count"])
def test_a_mode_set_to_false_does_not_switch_it_on(http, store, mode):
    """reveal=false means no; children=false, find=false, count=false must not mean yes."""
    r = http.get(DOCS, params={mode: "false"})
    if r.status_code == 400:
        error_of(r, 400, "usage", mode)
    else:
        assert r.status_code == 200
        assert r.json().get("path") == "/docs", f"?{mode}=false answered {r.text[:200]}"


def forged_cursor(values: list) -> str:
    import base64

    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


@pytest.mark.parametrize("cursor", ["%%%", "bm90IGpzb24", forged_cursor({"a": 1}), forged_cursor([1, 2, 3]),
                                    forged_cursor([{}]), forged_cursor([[1]]), forged_cursor(["a", {"b": 1}])])
@pytest.mark.parametrize("mode", [{"children": ""}, {"children": "", "order": "-updated"}, {"find": ""}])
def test_cursors_not_issued_by_the_store_are_refused(http, store, realnet_home, cursor, mode):
    r = http.get(DOCS, params={**mode, "cursor": cursor})
    message = error_of(r, 422, "invalid", "cursor")
    assert "not a cursor" in message
    assert str(realnet_home) not in message and "realnet.db" not in message


def test_a_cursor_of_another_order_is_refused(http, store):
    first = http.get(DOCS, params={"children": "", "limit": "1"}).json()
    assert first["next_cursor"]
    error_of(http.get(DOCS, params={"children": "", "order": "type", "cursor": first["next_cursor"]}), 422,
             "invalid", "not a cursor for this listing order")


# -- unknown endpoints and methods -----------------------------------------------------------


@pytest.mark.parametrize("url", ["/", "/api/v1", "/api/v1/nothing", "/api/v2/items", "/api/v1/itemsx",
                                 "/api/v1/types/Document/attributes", "/api/v1/tokens/a/b", "/admin"])
def test_unknown_endpoints(http, url):
    error_of(http.get(url), 404, "not_found", f"{url}: no such endpoint")
    error_of(http.post(url, json={}), 404, "not_found", "no such endpoint")


METHODS = [
    # (method, url, methods the resource has)
    ("PUT", A, {"GET", "POST", "PATCH", "DELETE"}),
    ("PUT", f"{API}/items", {"GET", "POST"}),
    ("PATCH", f"{API}/items", {"GET", "POST"}),
    ("DELETE", f"{API}/items", {"GET", "POST"}),
    ("DELETE", f"{API}/tokens", {"GET", "POST"}),
    ("GET", f"{API}/tokens/tests", {"DELETE"}),
    ("POST", f"{API}/whoami", {"GET"}),
    ("DELETE", f"{API}/types/Document", {"GET"}),
    ("GET", f"{API}/login", {"POST"}),
    ("GET", MOVE, {"POST"}),
    ("POST", "/healthz", {"GET"}),
]


@pytest.mark.parametrize(("method", "url", "allowed"), METHODS, ids=[f"{m[0]} {m[1]}" for m in METHODS])
def test_wrong_methods(http, store, method, url, allowed):
    before = store()
    r = http.request(method, url, json={} if method in ("POST", "PUT", "PATCH") else None)
    error_of(r, 405, "method_not_allowed", f"{url}: method {method} not allowed")
    listed = {m.strip() for m in r.headers["allow"].split(",")} - {"HEAD"}
    assert listed == allowed, f"Allow: {r.headers['allow']}"
    unchanged(store, before)
    assert http.get(f"{API}/whoami").status_code == 200
