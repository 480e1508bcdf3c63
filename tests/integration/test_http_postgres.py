"""The HTTP API over PostgreSQL: a real server (tests/pgserver.py), a schema per test, and
the HTTP runner in front of it — a round trip, conditional updates (also at the same
moment, over the runner's several store threads), and a non-admin's view."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from cryptography.fernet import Fernet
from httpkit import API, SECRET, World, build_world, error_of
from liveserver import live_server

from realnet.app import open_context
from realnet.config import load_settings


@dataclass
class PgApi:
    url: str
    world: World
    settings: object

    def client(self, who: str | None = "admin") -> httpx.Client:
        return httpx.Client(base_url=self.url + API, headers=self.world.auth(who), timeout=30)


@pytest.fixture
def pg_api(pg_schema, tmp_path) -> Iterator[PgApi]:
    settings = load_settings({"REALNET_HOME": str(tmp_path / "pg-home"), "REALNET_DB_TYPE": "postgresql",
                              "REALNET_DB_URL": pg_schema,
                              "REALNET_SECRET_KEY": Fernet.generate_key().decode()})
    context = open_context(settings)
    try:
        world = build_world(context)
    finally:
        context.provider.close()
    with live_server(settings) as server:
        yield PgApi(server.url, world, settings)


def ok(r: httpx.Response, status: int = 200) -> dict:
    assert r.status_code == status, (r.request.method, r.request.url, r.status_code, r.text)
    return r.json()


def test_round_trip_on_postgresql(pg_api):
    with pg_api.client() as http:
        folder = ok(http.post("/items", json={"name": "docs", "type": "Folder"}), 201)
        assert folder["path"] == "/docs"
        for i in range(7):
            r = http.post("/items/docs", json={"name": f"d{i}", "type": "Document", "attributes": {"title": str(i)}})
            assert ok(r, 201)["version"] == 1
            assert r.headers["location"] == f"{API}/items/docs/d{i}"

        # Children, in pages of three, in two orders.
        for order, expected in (("name", [f"d{i}" for i in range(7)]), ("-name", [f"d{i}" for i in range(6, -1, -1)])):
            names, cursor = [], None
            while True:
                params = {"children": "", "order": order, "limit": "3", **({"cursor": cursor} if cursor else {})}
                page = ok(http.get("/items/docs", params=params))
                names += [i["name"] for i in page["items"]]
                cursor = page["next_cursor"]
                if cursor is None:
                    break
            assert names == expected
        assert ok(http.get("/items/docs", params={"count": ""})) == {"count": 7}
        assert [i["name"] for i in ok(http.get("/items/docs", params={"find": "", "name": "d[35]"}))["items"]] \
            == ["d3", "d5"]

        # Conditional update.
        r = http.get("/items/docs/d1")
        tag = r.headers["etag"]
        assert tag == f'"1.{r.json()["id"]}"'
        assert http.get("/items/docs/d1", headers={"If-None-Match": tag}).status_code == 304
        changed = ok(http.patch("/items/docs/d1", json={"attributes": {"title": "one"}}, headers={"If-Match": tag}))
        assert changed["version"] == 2
        error_of(http.patch("/items/docs/d1", json={"attributes": {"title": "lost"}}, headers={"If-Match": tag}),
                 412, "precondition_failed", "If-Match does not match the current version 2")
        error_of(http.patch("/items/docs/d1", json={"attributes": {"title": "lost"}, "version": 1}),
                 409, "conflict", "version 1 is stale")
        assert ok(http.get("/items/docs/d1"))["attributes"]["title"] == "one"

        # Move, copy, delete.
        assert ok(http.post("/actions/docs/d6/move", json={"target": "/docs/six"}))["path"] == "/docs/six"
        assert ok(http.post("/actions/docs/six/copy", json={"target": "/docs/seven"}), 201)["path"] == "/docs/seven"
        error_of(http.delete("/items/docs"), 409, "not_empty")
        error_of(http.delete("/items/docs", params={"recursive": "true"}, headers={"If-Match": tag}),
                 412, "precondition_failed")
        assert ok(http.delete("/items/docs", params={"recursive": "true"})) == {"removed": 9}
        error_of(http.get("/items/docs"), 404, "not_found", "/docs: no such item")


def test_simultaneous_conditional_updates_on_postgresql(pg_api):
    with pg_api.client() as http:
        item = ok(http.post("/items", json={"name": "doc", "type": "Document", "attributes": {"title": "0"}}), 201)
    tag = f'"1.{item["id"]}"'
    writers = 8
    barrier = threading.Barrier(writers)
    statuses: dict[int, int] = {}

    def attempt(n: int) -> None:
        with pg_api.client() as c:
            barrier.wait(10)
            statuses[n] = c.patch("/items/doc", json={"attributes": {"title": f"w{n}"}},
                                  headers={"If-Match": tag}).status_code

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(statuses.values()) == [200] + [412] * (writers - 1), statuses
    winner = next(n for n, s in statuses.items() if s == 200)
    with pg_api.client() as http:
        final = ok(http.get("/items/doc"))
    assert (final["version"], final["attributes"]["title"]) == (2, f"w{winner}")


def test_permissions_on_postgresql(pg_api):
    with pg_api.client("alice") as alice, pg_api.client("bob") as bob, pg_api.client("carol") as carol, \
            pg_api.client(None) as anon, pg_api.client() as admin:
        # alice reads /projects but may not change it; bob does not see it at all.
        assert ok(alice.get("/items/projects/notes"))["attributes"]["title"] == "Notes"
        error_of(alice.patch("/items/projects/notes", json={"attributes": {"title": "x"}}), 403, "forbidden",
                 "/projects/notes: alice may not write here")
        error_of(alice.delete("/items/projects/notes"), 403, "forbidden")
        error_of(alice.get("/items/projects/creds", params={"reveal": "true"}), 403, "forbidden")
        error_of(bob.get("/items/projects/notes"), 404, "not_found", "/projects/notes: no such item")
        error_of(bob.patch("/items/projects/notes", json={"attributes": {"title": "x"}}), 404, "not_found")
        error_of(bob.get("/items/projects", params={"children": ""}), 404, "not_found")
        assert [i["path"] for i in ok(alice.get("/items/projects", params={"children": ""}))["items"]] \
            == ["/projects/creds", "/projects/notes"]
        # carol writes through her group, and may reveal the secret; nobody else sees it.
        assert ok(carol.get("/items/projects/creds", params={"reveal": "true"}))["attributes"]["password"] == SECRET
        assert SECRET not in alice.get("/items/projects/creds").text
        assert ok(carol.patch("/items/projects/notes", json={"attributes": {"title": "by carol"}}))["version"] == 2
        # Anonymous callers see /pub only.
        assert [i["path"] for i in ok(anon.get("/items", params={"children": ""}))["items"]] == ["/pub"]
        error_of(anon.get("/items/projects/notes"), 404, "not_found")
        # What was refused changed nothing.
        notes = ok(admin.get("/items/projects/notes"))
        assert (notes["version"], notes["attributes"]["title"]) == (2, "by carol")


def test_forged_cursor_on_postgresql(pg_api):
    import base64
    import json

    forged = base64.urlsafe_b64encode(json.dumps([{"a": 1}]).encode()).decode().rstrip("=")
    with pg_api.client() as http:
        for params in ({"children": "", "cursor": forged}, {"find": "", "cursor": forged}):
            message = error_of(http.get("/items/projects", params=params), 422, "invalid", "cursor")
            assert "postgresql://" not in message and "psycopg" not in message
