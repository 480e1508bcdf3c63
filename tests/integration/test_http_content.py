"""File content over HTTP: streamed uploads and downloads, ranges, permissions, and an
upload cut off by its client leaving nothing behind."""

from __future__ import annotations

import hashlib
import os
import socket
import time
from urllib.parse import urlsplit

import httpx
import pytest

from realnet.app import open_context
from realnet.config import load_settings
from realnet.resources.accounts import Directory, grant

MiB = 1024 * 1024


@pytest.fixture
def local(api):
    ctx = open_context(load_settings())
    yield ctx
    ctx.provider.close()


def stored_keys(local) -> set[str]:
    return set(local.content.keys(time.time() + 60))


def url(api, path: str) -> str:
    return f"{api.url}/api/v1/content{path}"


def test_upload_then_download_round_trip(api, local):
    local.create("/p", "Folder")
    body = os.urandom(3 * MiB + 17)
    created = httpx.put(url(api, "/p/data.bin"), content=body, headers=api.headers())
    assert created.status_code == 201, created.text
    item = created.json()
    assert item["attributes"]["size"] == len(body)
    assert item["attributes"]["sha256"] == hashlib.sha256(body).hexdigest()
    got = httpx.get(url(api, "/p/data.bin"), headers=api.headers())
    assert got.status_code == 200 and got.content == body
    assert got.headers["etag"] == created.headers["etag"]
    assert got.headers["accept-ranges"] == "bytes"
    replaced = httpx.put(url(api, "/p/data.bin"), content=b"small", headers=api.headers())
    assert replaced.status_code == 200 and replaced.json()["version"] == item["version"] + 1
    assert httpx.get(url(api, "/p/data.bin"), headers=api.headers()).content == b"small"
    assert len(stored_keys(local)) == 1  # the replaced bytes are gone


@pytest.mark.parametrize(("header", "status", "expected"), [
    ("bytes=0-9", 206, slice(0, 10)),
    ("bytes=10-", 206, slice(10, None)),
    ("bytes=-5", 206, slice(-5, None)),
    ("bytes=95-200", 206, slice(95, None)),
])
def test_ranges(api, local, header, status, expected):
    body = bytes(range(100))
    local.create("/p", "Folder")
    httpx.put(url(api, "/p/r.bin"), content=body, headers=api.headers()).raise_for_status()
    got = httpx.get(url(api, "/p/r.bin"), headers={**api.headers(), "Range": header})
    assert got.status_code == status
    assert got.content == body[expected]
    part = body[expected]
    first = body.index(part[0]) if part else 0
    assert got.headers["content-range"] == f"bytes {first}-{first + len(part) - 1}/100"


@pytest.mark.parametrize("header", ["bytes=100-", "bytes=500-600", "bytes=10-5"])
def test_unsatisfiable_ranges(api, local, header):
    local.create("/p", "Folder")
    httpx.put(url(api, "/p/r.bin"), content=bytes(100), headers=api.headers()).raise_for_status()
    got = httpx.get(url(api, "/p/r.bin"), headers={**api.headers(), "Range": header})
    assert got.status_code == 416, got.text
    assert got.headers["content-range"] == "bytes */100"
    assert got.json()["error"]["code"] == "range_not_satisfiable"


def test_malformed_range_is_a_usage_error(api, local):
    local.create("/p", "Folder")
    httpx.put(url(api, "/p/r.bin"), content=bytes(10), headers=api.headers()).raise_for_status()
    got = httpx.get(url(api, "/p/r.bin"), headers={**api.headers(), "Range": "bytes=1-2-3"})
    assert got.status_code == 400 and "Range" in got.json()["error"]["message"]


def test_permissions_apply_to_content(api, local):
    local.create("/p", "Folder")
    httpx.put(url(api, "/p/f.txt"), content=b"secret plans", headers=api.headers()).raise_for_status()
    directory = Directory(local)
    directory.add_user("ann", password=None)
    directory.add_user("bob", password=None)
    grant(local, "/p", "ann", ("read",))
    ann = {"Authorization": f"Bearer {directory.create_token('ann', 'a', expires=None).token}"}
    bob = {"Authorization": f"Bearer {directory.create_token('bob', 'b', expires=None).token}"}
    assert httpx.get(url(api, "/p/f.txt"), headers=ann).content == b"secret plans"
    refused = httpx.put(url(api, "/p/f.txt"), content=b"overwritten", headers=ann)
    assert refused.status_code == 403, refused.text
    hidden = httpx.get(url(api, "/p/f.txt"), headers=bob)
    assert hidden.status_code == 404 and hidden.json()["error"]["code"] == "not_found"
    assert httpx.put(url(api, "/p/new.txt"), content=b"x", headers=bob).status_code == 404
    anonymous = httpx.get(url(api, "/p/f.txt"))
    assert anonymous.status_code == 404
    assert httpx.get(url(api, "/p/f.txt"), headers=api.headers()).content == b"secret plans"
    assert local.provider.get_many(["/p/new.txt"]) == {}


def test_content_of_an_item_without_bytes_is_refused(api, local):
    local.create("/d", "Document", {"title": "t"})
    got = httpx.get(url(api, "/d"), headers=api.headers())
    assert got.status_code == 422 and "without content" in got.json()["error"]["message"]
    put = httpx.put(url(api, "/d"), content=b"x", headers=api.headers())
    assert put.status_code == 422 and "holds no file content" in put.json()["error"]["message"]
    assert "storage_key" not in local.get("/d").attributes


def test_missing_parent_and_parents_flag(api, local):
    missing = httpx.put(url(api, "/a/b/c.txt"), content=b"x", headers=api.headers())
    assert missing.status_code == 404 and "parent folder does not exist" in missing.json()["error"]["message"]
    made = httpx.put(url(api, "/a/b/c.txt"), params={"parents": "true"}, content=b"x", headers=api.headers())
    assert made.status_code == 201, made.text
    assert local.get("/a/b").type == "Folder"


def test_a_client_that_disconnects_mid_upload_leaves_nothing(api, local):
    local.create("/p", "Folder")
    before = stored_keys(local)
    parts = urlsplit(api.url)
    token = api.headers()["Authorization"]
    head = (f"PUT /api/v1/content/p/cut.bin HTTP/1.1\r\nHost: {parts.netloc}\r\n"
            f"Authorization: {token}\r\nContent-Length: {10 * MiB}\r\n\r\n").encode()
    with socket.create_connection((parts.hostname, parts.port)) as conn:
        conn.sendall(head)
        conn.sendall(os.urandom(2 * MiB))  # then the client goes away
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # the server notices the disconnect on its own time
        if any("cut.bin" in line for line in api.server.runner.log.lines):
            break
        time.sleep(0.1)
    assert local.provider.get_many(["/p/cut.bin"]) == {}
    incoming = list((local.content.store.root / "incoming").glob("*.part"))
    assert incoming == [] and stored_keys(local) == before


def test_content_operations_are_in_the_document(api):
    document = httpx.get(f"{api.url}/openapi.json").json()
    assert set(document["paths"]["/api/v1/content/{path}"]) == {"get", "put", "post"}
