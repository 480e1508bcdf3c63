"""Answers to reads kept by the HTTP runner (realnet.runners.answers): given again only to
the same principal, and only while the store is unchanged — a write by the API itself, by
another connection (the shell's), by another process, or straight into the SQLite file
is seen by the very next request, on SQLite and on PostgreSQL."""

from __future__ import annotations

import sqlite3
import subprocess
import sys

import httpx
import pytest
from cryptography.fernet import Fernet
from liveserver import live_server

from realnet.app import open_context
from realnet.config import load_settings
from realnet.resources.accounts import Directory, grant
from realnet.runners.answers import Answer, AnswerCache

API = "/api/v1/items"


@pytest.fixture
def local(api):
    """A second connection to the store the server uses, as the shell would hold."""
    ctx = open_context(load_settings())
    yield ctx
    ctx.provider.close()


def names(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [i["name"] for i in response.json()["items"]]


def children(api, path: str, token: str | None = None, **params) -> httpx.Response:
    return httpx.get(f"{api.url}{API}{path}", params={"children": "", **params},
                     headers=api.headers(token, anonymous=token == ""))


def stats(api) -> dict[str, int]:
    return api.server.runner.answer_stats()


# -- the cache itself ------------------------------------------------------------------------
def test_an_answer_is_given_only_at_the_marker_it_was_made_at():
    cache = AnswerCache(1 << 20)
    cache.put("k", (1, 0), Answer(200, b"old", {}))
    assert cache.get("k", (1, 0)) == Answer(200, b"old", {})
    assert cache.get("k", (2, 0)) is None and cache.get("k", (1, 1)) is None
    assert (cache.hits, cache.misses) == (1, 2)


def test_the_cache_keeps_to_its_budget_dropping_the_least_recently_used():
    cache = AnswerCache(4000)
    for key in "abcd":
        cache.put(key, 0, Answer(200, b"x" * 200, {}))
    assert cache.get("a", 0) is not None  # now the most recently used
    for key in "efghijklmnopqrstu":
        cache.put(key, 0, Answer(200, b"x" * 200, {}))
    assert cache.used <= 4000 and len(cache) == 20
    assert cache.get("b", 0) is None and cache.get("a", 0) is not None and cache.get("u", 0) is not None
    cache.put("big", 0, Answer(200, b"x" * 1000, {}))  # over a sixteenth of the budget: not kept
    assert cache.get("big", 0) is None


# -- SQLite ---------------------------------------------------------------------------------
def test_a_repeated_read_is_answered_from_the_cache(api, local):
    local.create("/docs/a", "Document", {"title": "t"}, parents=True)
    first = children(api, "/docs")
    before = stats(api)
    again = children(api, "/docs")
    assert again.content == first.content and names(again) == ["a"]
    after = stats(api)
    assert after["hits"] == before["hits"] + 1 and after["answers"] >= 1


def test_a_write_through_the_api_is_seen_by_the_next_read(api, local):
    local.create("/docs", "Folder")
    assert names(children(api, "/docs")) == []
    created = httpx.post(f"{api.url}{API}/docs", json={"name": "b", "type": "Document", "attributes": {"title": "t"}}, headers=api.headers())
    assert created.status_code == 201, created.text
    assert names(children(api, "/docs")) == ["b"]
    item = httpx.get(f"{api.url}{API}/docs/b", headers=api.headers())
    changed = httpx.patch(f"{api.url}{API}/docs/b", json={"attributes": {"title": "new"}},
                          headers=api.headers())
    assert changed.status_code == 200, changed.text
    now = httpx.get(f"{api.url}{API}/docs/b", headers=api.headers())
    assert now.json()["attributes"]["title"] == "new" and now.headers["etag"] != item.headers["etag"]


def test_a_write_by_another_connection_is_seen_by_the_next_read(api, local):
    local.create("/docs", "Folder")
    assert names(children(api, "/docs")) == []
    assert names(children(api, "/docs")) == []  # kept
    local.create("/docs/c", "Document", {"title": "t"})
    assert names(children(api, "/docs")) == ["c"]
    local.update("/docs/c", {"title": "t2"})
    assert httpx.get(f"{api.url}{API}/docs/c", headers=api.headers()).json()["attributes"]["title"] == "t2"
    local.delete("/docs/c")
    assert httpx.get(f"{api.url}{API}/docs/c", headers=api.headers()).status_code == 404


def test_a_write_by_another_process_straight_into_the_file_is_seen(api, local, realnet_home):
    local.create("/docs/d", "Document", {"title": "before"}, parents=True)
    url = f"{api.url}{API}/docs/d"
    assert httpx.get(url, headers=api.headers()).json()["attributes"]["title"] == "before"
    assert httpx.get(url, headers=api.headers()).json()["attributes"]["title"] == "before"  # kept
    # Not through Realnet at all: only SQLite itself knows the file changed.
    script = ("import json, sqlite3, sys\n"
              "db = sqlite3.connect(sys.argv[1])\n"
              "row = db.execute(\"SELECT attributes FROM items WHERE path = '/docs/d'\").fetchone()\n"
              "attributes = json.loads(row[0]); attributes['title'] = 'after'\n"
              "db.execute(\"UPDATE items SET attributes = ? WHERE path = '/docs/d'\", (json.dumps(attributes),))\n"
              "db.commit()\n")
    subprocess.run([sys.executable, "-c", script, str(realnet_home / "realnet.db")], check=True, timeout=60)
    assert httpx.get(url, headers=api.headers()).json()["attributes"]["title"] == "after"


def test_one_principals_answer_is_never_given_to_another(api, local):
    local.create("/private/secret-plan", "Document", {"title": "t"}, parents=True)
    assert names(children(api, "/private")) == ["secret-plan"]  # the administrator's answer, kept
    directory = Directory(local)
    directory.add_user("ann", password=None)
    token = directory.create_token("ann", "t", expires=None).token
    refused = children(api, "/private", token)
    assert refused.status_code == 404 and "secret-plan" not in refused.text
    anonymous = children(api, "/private", "")
    assert anonymous.status_code in (401, 404) and "secret-plan" not in anonymous.text
    grant(local, "/private", "ann", ("read",))
    assert names(children(api, "/private", token)) == ["secret-plan"]


def test_each_page_and_order_is_its_own_answer(api, local):
    for name in "abc":
        local.create(f"/docs/{name}", "Document", {"title": "t"}, parents=True)
    assert names(children(api, "/docs", limit="2")) == ["a", "b"]
    assert names(children(api, "/docs", limit="2", order="-name")) == ["c", "b"]
    page = children(api, "/docs", limit="2").json()
    assert names(children(api, "/docs", limit="2", cursor=page["next_cursor"])) == ["c"]
    assert names(children(api, "/docs", name="b*")) == ["b"]


def test_a_kept_item_still_answers_if_none_match_with_304(api, local):
    local.create("/docs/e", "Document", {"title": "t"}, parents=True)
    url = f"{api.url}{API}/docs/e"
    tag = httpx.get(url, headers=api.headers()).headers["etag"]
    for _ in range(2):
        unchanged = httpx.get(url, headers={**api.headers(), "If-None-Match": tag})
        assert unchanged.status_code == 304 and unchanged.headers["etag"] == tag
    local.update("/docs/e", {"title": "x"})
    changed = httpx.get(url, headers={**api.headers(), "If-None-Match": tag})
    assert changed.status_code == 200 and changed.headers["etag"] != tag


def test_revealed_values_are_never_kept(api, local):
    local.create("/docs/f", "Document", {"title": "t"}, parents=True)
    before = stats(api)
    for _ in range(2):
        r = httpx.get(f"{api.url}{API}/docs/f", params={"reveal": ""}, headers=api.headers())
        assert r.status_code == 200, r.text
    after = stats(api)
    assert (after["hits"], after["answers"], after["bytes"]) == (before["hits"], before["answers"], before["bytes"])


@pytest.mark.parametrize("value", ["0"])
def test_a_budget_of_zero_turns_the_cache_off(realnet_home, monkeypatch, value):
    monkeypatch.setenv("REALNET_SERVER_CACHE_MB", value)
    settings = load_settings()
    context = open_context(settings)
    context.create("/docs/g", "Document", {"title": "t"}, parents=True)
    context.provider.close()
    with live_server(settings) as server:
        for _ in range(3):
            r = httpx.get(f"{server.url}{API}/docs?children", headers={})
            assert r.status_code in (200, 401, 404)
        assert server.runner.answer_stats() == {"hits": 0, "misses": 0, "answers": 0, "bytes": 0}


@pytest.mark.parametrize("value", ["-1", "lots", "70000"])
def test_a_bad_budget_is_one_line_naming_the_setting(cli, monkeypatch, value):
    monkeypatch.setenv("REALNET_SERVER_CACHE_MB", value)
    result = cli("ls", "/")
    assert result.code == 1
    assert result.err == f"realnet: REALNET_SERVER_CACHE_MB={value!r}: expected a whole number from 0 to 65536\n"


def test_mounted_documents_are_never_answered_from_the_cache(api, local, tmp_path):
    document = tmp_path / "settings.json"
    document.write_text('{"db": {"port": 5432}}')
    local.create("/config", "JsonDocument", {"path": str(document)})
    url = f"{api.url}{API}/config/db"
    assert httpx.get(url, headers=api.headers()).json()["attributes"]["port"] == 5432
    document.write_text('{"db": {"port": 6543}}')  # changed on disk: the store never hears of it
    assert httpx.get(url, headers=api.headers()).json()["attributes"]["port"] == 6543


# -- PostgreSQL -----------------------------------------------------------------------------
def test_on_postgresql_writes_from_anywhere_are_seen_by_the_next_read(pg_schema, tmp_path):
    settings = load_settings({"REALNET_HOME": str(tmp_path / "pg-home"), "REALNET_DB_TYPE": "postgresql",
                              "REALNET_DB_URL": pg_schema,
                              "REALNET_SECRET_KEY": Fernet.generate_key().decode()})
    context = open_context(settings)
    try:
        context.create("/docs", "Folder")
        token = Directory(context).create_token("admin", "t", expires=None).token
        with live_server(settings) as server:
            headers = {"Authorization": f"Bearer {token}"}
            url = f"{server.url}{API}/docs"

            def listed() -> list[str]:
                r = httpx.get(url, params={"children": ""}, headers=headers)
                assert r.status_code == 200, r.text
                return [i["name"] for i in r.json()["items"]]

            # The runner's several store threads each keep answers: ask often enough to
            # reach them all, with and without a change in between.
            for round_ in range(6):
                assert listed() == [f"d{i}" for i in range(round_)]
                assert listed() == [f"d{i}" for i in range(round_)]
                context.create(f"/docs/d{round_}", "Document", {"title": "t"})
            created = httpx.post(url, json={"name": "z", "type": "Document", "attributes": {"title": "t"}}, headers=headers)
            assert created.status_code == 201
            assert listed()[-1] == "z"
            assert server.runner.answer_stats()["hits"] > 0
    finally:
        context.provider.close()


def test_the_sqlite_marker_moves_with_other_connections_and_own_writes(realnet_home, tmp_path):
    settings = load_settings()
    context = open_context(settings)
    other = open_context(settings)
    try:
        context.ensure_initialized()
        store = context.provider.store
        first = store.change_marker()
        assert store.change_marker() == first  # reads move nothing
        context.get("/")
        assert store.change_marker() == first
        other.create("/x", "Folder")
        second = store.change_marker()
        assert second != first
        context.create("/y", "Folder")
        assert store.change_marker() != second
        db = sqlite3.connect(realnet_home / "realnet.db")
        third = store.change_marker()
        db.execute("UPDATE items SET updated = updated WHERE path = '/x'")
        db.commit()
        db.close()
        assert store.change_marker() != third
    finally:
        context.provider.close()
        other.provider.close()


def test_find_and_count_answers_are_kept_until_the_store_changes(api, local):
    local.create("/docs/a", "Document", {"title": "t"}, parents=True)

    def found() -> list[str]:
        return names(httpx.get(f"{api.url}{API}/docs", params={"find": "", "type": "Document"},
                               headers=api.headers()))

    def counted() -> int:
        answer = httpx.get(f"{api.url}{API}/docs", params={"count": ""}, headers=api.headers())
        assert answer.status_code == 200, answer.text
        return answer.json()["count"]

    assert (found(), counted()) == (["a"], 1)
    before = stats(api)
    assert (found(), counted()) == (["a"], 1)
    assert stats(api)["hits"] == before["hits"] + 2
    local.create("/docs/b", "Document", {"title": "t"})  # another connection writes
    assert (found(), counted()) == (["a", "b"], 2)
