"""The HTTP API end to end: httpx against a real uvicorn server over the test's SQLite store.

Each test starts from the `api` fixture (an administrator's token) and, where it needs
other principals, the small world of tests/httpkit.py. Where the shell gives an answer
for the same thing, the API's answer is compared with it.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from urllib.parse import quote, unquote

import httpx
import pytest
from httpkit import API, PASSWORD, SECRET, assert_no_trace, build_world, error_of

from realnet.app import open_context
from realnet.config import load_settings
from realnet.core.context import REDACTED
from realnet.core.errors import NotFound
from realnet.core.item import ORDERS

# -- fixtures ------------------------------------------------------------------------------


def client(api, headers: dict[str, str] | None = None) -> httpx.Client:
    return httpx.Client(base_url=api.url + API, headers=headers or {}, timeout=30)


@pytest.fixture
def http(api) -> Iterator[httpx.Client]:
    """The administrator's client."""
    with client(api, api.headers()) as c:
        yield c


@pytest.fixture
def anon(api) -> Iterator[httpx.Client]:
    """A client without an Authorization header."""
    with client(api) as c:
        yield c


@pytest.fixture
def world(api, context):
    return build_world(context)


def created(response: httpx.Response) -> dict:
    assert response.status_code == 201, (response.request.url, response.status_code, response.text)
    return response.json()


def ok(response: httpx.Response) -> dict:
    assert response.status_code == 200, (response.request.method, response.request.url,
                                         response.status_code, response.text)
    return response.json()


def etag_of(item: dict) -> str:
    return f'"{item["version"]}.{item["id"]}"'


def page_paths(page: dict) -> list[str]:
    return [i["path"] for i in page["items"]]


def all_pages(http: httpx.Client, url: str, params: dict[str, str], *,
              headers: dict[str, str] | None = None) -> list[list[dict]]:
    """Follow next_cursor to the end; every page but the last is full."""
    pages, cursor = [], None
    for _ in range(1000):
        query = dict(params, **({"cursor": cursor} if cursor else {}))
        page = ok(http.get(url, params=query, headers=headers))
        pages.append(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return pages
    raise AssertionError("paging did not end")


def admin_view(http: httpx.Client) -> dict[str, tuple[int, dict]]:
    """Every item an administrator sees — path → (version, attributes) — except tokens,
    whose last_used changes as they are used."""
    items = ok(http.get("/items", params={"find": "", "limit": "10000"}))["items"]
    return {i["path"]: (i["version"], i["attributes"]) for i in items
            if not i["path"].startswith("/system/tokens/")}


# -- create, read, update, delete --------------------------------------------------------


def test_crud_round_trip(http, context):
    folder = created(r := http.post("/items", json={"name": "docs", "type": "Folder"}))
    assert r.headers["location"] == f"{API}/items/docs"
    assert r.headers["etag"] == etag_of(folder)
    assert (folder["path"], folder["name"], folder["type"], folder["version"]) == ("/docs", "docs", "Folder", 1)
    assert folder["owner"] == "admin"

    doc = created(r := http.post("/items/docs", json={"name": "plan", "type": "Document",
                                                      "attributes": {"title": "Plan", "body": "text"}}))
    assert r.headers["location"] == f"{API}/items/docs/plan"
    assert doc["attributes"] == {"title": "Plan", "body": "text", "format": "plain"}  # default filled in

    read = ok(r := http.get(r.headers["location"].removeprefix(API)))
    assert read == doc
    assert r.headers["etag"] == etag_of(doc)

    changed = ok(r := http.patch("/items/docs/plan", json={"attributes": {"title": "Plan v2"},
                                                           "unset": ["body"]}))
    assert changed["version"] == 2
    assert changed["id"] == doc["id"]
    assert changed["attributes"] == {"title": "Plan v2", "format": "plain"}
    assert r.headers["etag"] == etag_of(changed) != etag_of(doc)
    assert ok(http.get("/items/docs/plan")) == changed
    # What the API wrote is what the store holds.
    assert context.get("/docs/plan").attributes == {"title": "Plan v2", "format": "plain"}

    error_of(http.delete("/items/docs"), 409, "not_empty", "/docs: not empty")
    assert ok(http.get("/items/docs/plan"))["version"] == 2
    assert ok(http.delete("/items/docs", params={"recursive": "true"})) == {"removed": 2}
    error_of(http.get("/items/docs"), 404, "not_found", "/docs: no such item")
    error_of(http.get("/items/docs/plan"), 404, "not_found")
    error_of(http.delete("/items/docs"), 404, "not_found")


def test_root_is_the_items_endpoint(http):
    root = ok(http.get("/items"))
    assert (root["path"], root["type"]) == ("/", "Folder")
    assert ok(http.get("/items/")) == root
    names = {i["name"] for i in ok(http.get("/items", params={"children": ""}))["items"]}
    assert {"system", "types", "home"} <= names


def test_delete_a_leaf_and_create_again(http):
    created(http.post("/items", json={"name": "d", "type": "Document", "attributes": {"title": "1"}}))
    assert ok(http.delete("/items/d")) == {"removed": 1}
    again = created(http.post("/items", json={"name": "d", "type": "Document", "attributes": {"title": "2"}}))
    assert again["version"] == 1
    assert again["attributes"]["title"] == "2"


def test_several_items_are_deleted_in_one_transaction(http):
    for name in ("a", "b", "c"):
        created(http.post("/items", json={"name": name, "type": "Folder"}))
    created(http.post("/items/a", json={"name": "inner", "type": "Folder"}))
    before = admin_view(http)
    error_of(http.post("/delete", json={"paths": ["/b", "/system"]}), 422, "invalid",
             "/system: a built-in folder cannot be deleted")
    error_of(http.post("/delete", json={"paths": ["/b", "/a"]}), 409, "not_empty")
    error_of(http.post("/delete", json={"paths": ["/b", "/nope"]}), 404, "not_found", "/nope: no such item")
    assert admin_view(http) == before, "a refusal deletes none of them"
    assert ok(http.post("/delete", json={"paths": ["/a", "/b", "/a/inner"], "recursive": True})) == {"removed": 3}
    assert ok(http.post("/delete", json={"paths": ["/c"]})) == {"removed": 1}
    for name in ("a", "b", "c"):
        error_of(http.get(f"/items/{name}"), 404)


@pytest.mark.parametrize(("body", "status", "fragment"), [
    ({"paths": []}, 422, "body.paths: expected 1 to 1000 item paths, got 0"),
    ({"paths": ["/x"] * 1001}, 422, "body.paths: expected 1 to 1000 item paths, got 1001"),
    ({"paths": ["x"]}, 400, "body.paths[0]: expected an absolute item path, got 'x'"),
    ({"paths": ["/ok", 5]}, 400, "body.paths[1]: expected an absolute item path, got 5"),
    ({"paths": "/x"}, 422, "body.paths: expected a JSON array"),
    ({"paths": ["/x"], "force": True}, 422, "body: unknown field 'force'"),
])
def test_a_bad_delete_body_is_one_clear_error(http, body, status, fragment):
    assert fragment in error_of(http.post("/delete", json=body), status)


def test_duplicate_create_is_a_conflict_and_changes_nothing(http):
    first = created(http.post("/items", json={"name": "d", "type": "Document", "attributes": {"title": "1"}}))
    error_of(http.post("/items", json={"name": "d", "type": "Folder"}), 409, "exists",
             "/d: an item with this name already exists")
    assert ok(http.get("/items/d")) == first


def test_create_with_parents_and_from_text(http):
    error_of(http.post("/items/a/b", json={"name": "c", "type": "Folder"}), 404, "not_found",
             "/a/b: parent folder does not exist")
    error_of(http.get("/items/a"), 404)
    made = created(http.post("/items/a/b", json={"name": "c", "type": "Folder", "parents": True}))
    assert made["path"] == "/a/b/c"
    assert ok(http.get("/items/a/b"))["type"] == "Folder"

    # from_text: values are text, converted by the attribute's kind.
    area = created(http.post("/items/a", json={"name": "t", "type": "TextArea",
                                               "attributes": {"rows": "5"}, "from_text": True}))
    assert area["attributes"]["rows"] == 5
    error_of(http.post("/items/a", json={"name": "u", "type": "TextArea", "attributes": {"rows": "5"}}),
             422, "invalid", "attribute 'rows'")
    changed = ok(http.patch("/items/a/t", json={"attributes": {"rows": "7"}, "from_text": True}))
    assert changed["attributes"]["rows"] == 7


def test_a_document_cannot_hold_children(http):
    created(http.post("/items", json={"name": "d", "type": "Document", "attributes": {"title": "t"}}))
    message = error_of(http.post("/items/d", json={"name": "x", "type": "Folder"}), 422)
    assert "Document" in message and "Folder" in message


# -- children, find, count ---------------------------------------------------------------


@pytest.fixture
def many(http) -> list[dict]:
    """/many with 23 children of three types, updated in an order unlike their names."""
    created(http.post("/items", json={"name": "many", "type": "Folder"}))
    items = []
    for i in range(23):
        kind = ("Folder", "Document", "TextInput")[i % 3]
        attributes = {"title": f"t{i}"} if kind == "Document" else {}
        items.append(created(http.post("/items/many", json={"name": f"n{i:02d}", "type": kind,
                                                             "attributes": attributes})))
    for i in (5, 17, 2, 11):  # touched last, so "updated" puts them last
        ok(http.patch(f"/items/many/n{i:02d}", json={"attributes": {"description": "touched"}}))
    return ok(http.get("/items/many", params={"children": "", "limit": "1000"}))["items"]


def expected_order(items: list[dict], order: str) -> list[str]:
    key = order.lstrip("-")
    ranked = sorted(items, key=lambda i: (i[key], i["name"]) if key != "name" else i["name"],
                    reverse=order.startswith("-"))
    return [i["path"] for i in ranked]


@pytest.mark.parametrize("order", ORDERS)
def test_children_pages_join_up_in_every_order(http, many, order):
    pages = all_pages(http, "/items/many", {"children": "", "order": order, "limit": "5"})
    assert [len(p) for p in pages] == [5, 5, 5, 5, 3]
    paths = [i["path"] for p in pages for i in p]
    assert len(set(paths)) == 23
    assert paths == expected_order(many, order)
    single = ok(http.get("/items/many", params={"children": "", "order": order, "limit": "1000"}))
    assert page_paths(single) == paths
    assert single["next_cursor"] is None


def test_children_pages_match_the_store(http, many, context):
    pages = all_pages(http, "/items/many", {"children": "", "order": "-updated", "limit": "4"})
    assert [i["path"] for p in pages for i in p] == [i.path for i in context.list(
        "/many", order="-updated", limit=1000)]


def test_exact_fit_page_and_limit_one(http, many):
    page = ok(http.get("/items/many", params={"children": "", "limit": "23"}))
    assert len(page["items"]) == 23
    assert page["next_cursor"] is None
    pages = all_pages(http, "/items/many", {"children": "", "limit": "1"})
    assert len(pages) == 23


def test_children_filters_by_type_and_name(http, many):
    def names(params):
        return [i["name"] for p in all_pages(http, "/items/many", {"children": "", **params}) for i in p]

    assert names({"type": "Document"}) == [f"n{i:02d}" for i in range(1, 23, 3)]
    # A type means it and its subtypes: TextInput is a Control, and so is nothing else here.
    assert names({"type": "Control"}) == [f"n{i:02d}" for i in range(2, 23, 3)]
    assert names({"type": "Item"}) == [f"n{i:02d}" for i in range(23)]
    assert names({"name": "n1?"}) == [f"n{i}" for i in range(10, 20)]
    assert names({"name": "n[02]0"}) == ["n00", "n20"]
    assert names({"name": "*3", "type": "Folder"}) == ["n03"]
    assert names({"name": "nothing*"}) == []
    # With a filter, pages still join up.
    assert names({"type": "Folder", "limit": "2"}) == [f"n{i:02d}" for i in range(0, 23, 3)]
    message = error_of(http.get("/items/many", params={"children": "", "type": "Folder", "order": "-name"}),
                       400, "usage")
    assert "order" in message


def test_children_of_a_missing_folder(http):
    error_of(http.get("/items/nowhere", params={"children": ""}), 404, "not_found", "/nowhere")


@pytest.fixture
def tree(http):
    """/t/a/b/c/d — a chain of folders — each holding one Document named after its depth."""
    created(http.post("/items", json={"name": "t", "type": "Folder"}))
    path = "/t"
    for depth, name in enumerate("abcd", start=1):
        created(http.post(f"/items{path}", json={"name": f"doc{depth}", "type": "Document",
                                                  "attributes": {"title": str(depth)}}))
        created(http.post(f"/items{path}", json={"name": name, "type": "Folder"}))
        path += f"/{name}"
    return path


def test_find_by_type_name_and_depth(http, tree):
    def found(**params):
        return sorted(i["path"] for p in all_pages(http, "/items/t", {"find": "", **params}) for i in p)

    everything = found()
    assert len(everything) == 8  # four folders and four documents below /t
    assert found(type="Document") == ["/t/a/b/c/doc4", "/t/a/b/doc3", "/t/a/doc2", "/t/doc1"]
    assert found(name="doc*", depth="2") == ["/t/a/doc2", "/t/doc1"]
    assert found(depth="1") == ["/t/a", "/t/doc1"]
    assert found(depth="1") == sorted(page_paths(ok(http.get("/items/t", params={"children": ""}))))
    assert found(depth="0") == everything  # 0: all levels
    assert found(type="Folder", name="[bc]") == ["/t/a/b", "/t/a/b/c"]
    # Pages of 3 cover the same items, each once.
    pages = all_pages(http, "/items/t", {"find": "", "limit": "3"})
    assert [len(p) for p in pages] == [3, 3, 2]
    assert sorted(i["path"] for p in pages for i in p) == everything
    error_of(http.get("/items/nowhere", params={"find": ""}), 404, "not_found")


def test_count(http, tree):
    assert ok(http.get("/items/t", params={"count": ""})) == {"count": 8}
    assert ok(http.get("/items/t/a/b/c", params={"count": ""})) == {"count": 2}
    assert ok(http.get("/items/t/a/b/c/d", params={"count": ""})) == {"count": 0}
    error_of(http.get("/items/nowhere", params={"count": ""}), 404, "not_found")


def test_listings_count_only_what_the_caller_may_read(api, world, http):
    alice = world.auth("alice")
    # alice reads /projects; /hidden and everything under /system are not hers.
    assert ok(http.get("/items/projects", params={"count": ""}, headers=alice)) == {"count": 2}
    visible = {i["path"] for p in all_pages(http, "/items", {"find": ""}, headers=alice) for i in p}
    assert "/projects/notes" in visible and "/pub/doc" in visible
    assert not any(p.startswith(("/hidden", "/system")) for p in visible)
    assert ok(http.get("/items", params={"count": ""}, headers=alice)) == {"count": len(visible)}
    error_of(http.get("/items/hidden", params={"count": ""}, headers=alice), 404, "not_found")


# -- ETags and conditional requests ----------------------------------------------------------


@pytest.fixture
def doc(http) -> dict:
    return created(http.post("/items", json={"name": "doc", "type": "Document",
                                             "attributes": {"title": "Original"}}))


def test_etag_is_version_and_id(http, doc):
    r = http.get("/items/doc")
    assert r.headers["etag"] == f'"1.{doc["id"]}"'
    r = http.patch("/items/doc", json={"attributes": {"title": "Two"}})
    assert r.headers["etag"] == f'"2.{doc["id"]}"'
    assert http.get("/items/doc").headers["etag"] == f'"2.{doc["id"]}"'


def test_if_none_match(http, doc):
    tag = etag_of(doc)
    for header in (tag, f"W/{tag}", f'"0.other", {tag}', "*"):
        r = http.get("/items/doc", headers={"If-None-Match": header})
        assert r.status_code == 304, header
        assert r.content == b""
        assert r.headers["etag"] == tag
    r = http.get("/items/doc", headers={"If-None-Match": f'"9.{doc["id"]}"'})
    assert r.status_code == 200 and r.json() == doc
    ok(http.patch("/items/doc", json={"attributes": {"title": "Changed"}}))
    r = http.get("/items/doc", headers={"If-None-Match": tag})
    assert r.status_code == 200
    assert r.json()["attributes"]["title"] == "Changed"
    assert r.headers["etag"] != tag


def test_same_version_of_another_item_does_not_match(http, doc):
    other = created(http.post("/items", json={"name": "other", "type": "Document",
                                              "attributes": {"title": "x"}}))
    assert other["version"] == doc["version"]
    assert http.get("/items/doc", headers={"If-None-Match": etag_of(other)}).status_code == 200
    error_of(http.patch("/items/doc", json={"attributes": {"title": "y"}},
                        headers={"If-Match": etag_of(other)}), 412, "precondition_failed")


def test_if_match_on_patch(http, doc):
    tag = etag_of(doc)
    changed = ok(http.patch("/items/doc", json={"attributes": {"title": "First"}}, headers={"If-Match": tag}))
    message = error_of(http.patch("/items/doc", json={"attributes": {"title": "Second"}},
                                  headers={"If-Match": tag}), 412, "precondition_failed")
    assert "If-Match" in message and etag_of(changed) in message
    assert ok(http.get("/items/doc")) == changed
    assert ok(http.patch("/items/doc", json={"attributes": {"title": "Third"}},
                         headers={"If-Match": "*"}))["version"] == 3


def test_body_version_on_patch(http, doc):
    message = error_of(http.patch("/items/doc", json={"attributes": {"title": "x"}, "version": 7}),
                       409, "conflict")
    assert "version 7 is stale" in message
    assert ok(http.get("/items/doc")) == doc
    assert ok(http.patch("/items/doc", json={"attributes": {"title": "x"}, "version": 1}))["version"] == 2
    error_of(http.patch("/items/doc", json={"attributes": {"title": "y"}, "version": 1}), 409, "conflict")
    assert ok(http.get("/items/doc"))["attributes"]["title"] == "x"


def test_if_match_on_delete(http, doc):
    ok(http.patch("/items/doc", json={"attributes": {"title": "newer"}}))
    error_of(http.delete("/items/doc", headers={"If-Match": etag_of(doc)}), 412, "precondition_failed")
    current = ok(http.get("/items/doc"))
    assert current["attributes"]["title"] == "newer"
    assert ok(http.delete("/items/doc", headers={"If-Match": etag_of(current)})) == {"removed": 1}
    error_of(http.get("/items/doc"), 404)


def test_conditional_request_on_a_missing_item_is_not_found(http):
    error_of(http.patch("/items/ghost", json={"attributes": {"title": "x"}}, headers={"If-Match": "*"}),
             404, "not_found")
    error_of(http.delete("/items/ghost", headers={"If-Match": "*"}), 404, "not_found")


def test_two_clients_with_the_same_etag(api, doc):
    """Both read the item; the first update wins, the second is refused and changes nothing."""
    with client(api, api.headers()) as first, client(api, api.headers()) as second:
        tag_1 = first.get("/items/doc").headers["etag"]
        tag_2 = second.get("/items/doc").headers["etag"]
        assert tag_1 == tag_2
        won = ok(first.patch("/items/doc", json={"attributes": {"title": "first"}}, headers={"If-Match": tag_1}))
        error_of(second.patch("/items/doc", json={"attributes": {"title": "second", "body": "lost"}},
                              headers={"If-Match": tag_2}), 412, "precondition_failed")
        now = ok(second.get("/items/doc"))
        assert now == won
        assert now["attributes"] == {"title": "first", "format": "plain"}


def test_simultaneous_conditional_updates_exactly_one_wins(api, http, doc):
    """Eight clients send the same If-Match at the same moment: one 200, seven 412."""
    tag = etag_of(doc)
    clients = 8
    barrier = threading.Barrier(clients)
    results: dict[int, httpx.Response] = {}

    def attempt(n: int) -> None:
        with client(api, api.headers()) as c:
            barrier.wait(10)
            results[n] = c.patch("/items/doc", json={"attributes": {"title": f"writer {n}"}},
                                 headers={"If-Match": tag})

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    statuses = sorted(r.status_code for r in results.values())
    assert statuses == [200] + [412] * (clients - 1), [(r.status_code, r.text) for r in results.values()]
    winner = next(n for n, r in results.items() if r.status_code == 200)
    final = ok(http.get("/items/doc"))
    assert final["version"] == 2
    assert final["attributes"]["title"] == f"writer {winner}"


def test_head_answers_like_get_without_a_body(http, doc):
    r = http.head("/items/doc")
    assert r.status_code == 200
    assert r.headers["etag"] == etag_of(doc)
    assert r.content == b""


# -- types, whoami --------------------------------------------------------------------------


def test_types(http, context):
    types = ok(http.get("/types"))["types"]
    names = [t["name"] for t in types]
    assert names == sorted(names)
    assert names == sorted(t.name for t in context.types)
    document = ok(http.get("/types/Document"))
    assert document == next(t for t in types if t["name"] == "Document")
    assert document["attributes"]["title"]["required"] is True
    assert document["attributes"]["title"]["kind"] == "string"
    error_of(http.get("/types/Nope"), 404, "not_found", "Nope")


def test_a_type_created_through_the_api_is_usable_at_once(http):
    created(http.post("/items/types", json={"name": "Note", "type": "Type", "attributes": {
        "definition": {"name": "Note", "base": "Item", "attributes": {"stars": "int"}}}}))
    assert ok(http.get("/types/Note"))["attributes"]["stars"]["kind"] == "int"
    note = created(http.post("/items", json={"name": "n", "type": "Note", "attributes": {"stars": 3}}))
    assert note["attributes"]["stars"] == 3


def test_whoami_for_each_kind_of_caller(api, world, anon, http):
    assert ok(http.get("/whoami")) == {"principal": "admin", "groups": ["admins", "authenticated", "public"],
                                       "admin": True, "authenticated": True}
    assert ok(http.get("/whoami", headers=world.auth("carol"))) == {
        "principal": "carol", "groups": ["authenticated", "editors", "public"], "admin": False,
        "authenticated": True}
    assert ok(http.get("/whoami", headers=world.auth("bob")))["groups"] == ["authenticated", "public"]
    assert ok(anon.get("/whoami")) == {"principal": "anonymous", "groups": ["public"], "admin": False,
                                       "authenticated": False}


# -- tokens and login ---------------------------------------------------------------------


def test_tokens_create_list_revoke(api, world, http):
    alice = world.auth("alice")
    issued = created(http.post("/tokens", json={"name": "laptop", "expires": "30d"}, headers=alice))
    assert (issued["account"], issued["name"]) == ("alice", "laptop")
    assert issued["token"].startswith("rn_")
    assert issued["expires"] is not None
    new = {"Authorization": f"Bearer {issued['token']}"}
    assert ok(http.get("/whoami", headers=new))["principal"] == "alice"

    listed = ok(http.get("/tokens", headers=new))["tokens"]
    assert [t["name"] for t in listed] == ["laptop", "world"]
    assert issued["token"] not in json.dumps(listed)
    assert all(t["revoked"] is False for t in listed)

    error_of(http.post("/tokens", json={"name": "laptop"}, headers=alice), 409, "exists", "laptop")

    r = http.delete("/tokens/laptop", headers=alice)
    assert r.status_code == 204 and r.content == b""
    r = http.get("/whoami", headers=new)
    error_of(r, 401, "unauthorized", "token: not valid")
    assert r.headers["www-authenticate"].startswith("Bearer")
    error_of(http.get("/items/projects/notes", headers=new), 401, "unauthorized")
    listed = ok(http.get("/tokens", headers=alice))["tokens"]
    assert {t["name"]: t["revoked"] for t in listed} == {"laptop": True, "world": False}
    # The other token of the account still works.
    assert ok(http.get("/whoami", headers=alice))["principal"] == "alice"
    error_of(http.delete("/tokens/nothing", headers=alice), 404, "not_found", "no such token")


def test_tokens_are_the_callers_own(api, world, http, anon):
    admin_tokens = {t["name"] for t in ok(http.get("/tokens"))["tokens"]}
    assert {"tests", "world"} <= admin_tokens
    assert [t["name"] for t in ok(http.get("/tokens", headers=world.auth("bob")))["tokens"]] == ["world"]
    # bob revoking "tests" means bob's own token of that name, which he has not.
    error_of(http.delete("/tokens/tests", headers=world.auth("bob")), 404, "not_found")
    assert ok(http.get("/whoami"))["principal"] == "admin"
    for request in (anon.get("/tokens"), anon.post("/tokens", json={"name": "x"}), anon.delete("/tokens/x")):
        error_of(request, 401, "unauthorized", "sign in first")
        assert request.headers["www-authenticate"].startswith("Bearer")


@pytest.fixture
def world_with_password(api, context):
    return build_world(context, alice_password=PASSWORD)


def test_login_then_use_the_token(api, world_with_password, anon, http):
    r = anon.post("/login", json={"user": "alice", "password": PASSWORD})
    issued = created(r)
    assert issued["account"] == "alice"
    assert issued["name"].startswith("login-")
    assert PASSWORD not in r.text
    token = {"Authorization": f"Bearer {issued['token']}"}
    assert ok(anon.get("/whoami", headers=token))["principal"] == "alice"
    assert ok(anon.get("/items/projects/notes", headers=token))["attributes"]["title"] == "Notes"
    # A login token lasts 12 hours unless asked otherwise.
    listed = {t["name"]: t for t in ok(anon.get("/tokens", headers=token))["tokens"]}
    lifetime = datetime.fromisoformat(issued["expires"]) - datetime.fromisoformat(listed[issued["name"]]["created"])
    assert timedelta(hours=11, minutes=59) < lifetime <= timedelta(hours=12)

    named = created(anon.post("/login", json={"user": "alice", "password": PASSWORD, "name": "ci",
                                              "expires": "1h"}))
    assert named["name"] == "ci"
    error_of(anon.post("/login", json={"user": "alice", "password": PASSWORD, "name": "ci"}), 409, "exists")


def test_wrong_password_and_unknown_user_look_alike(api, world_with_password, anon):
    wrong = error_of(anon.post("/login", json={"user": "alice", "password": "not-the-password"}),
                     401, "unauthorized")
    unknown = error_of(anon.post("/login", json={"user": "zed", "password": "not-the-password"}),
                       401, "unauthorized")
    no_password = error_of(anon.post("/login", json={"user": "bob", "password": "anything-at-all"}),
                           401, "unauthorized")
    malformed = error_of(anon.post("/login", json={"user": "Not A Name!", "password": "x"}), 401)
    assert wrong == unknown == no_password == malformed == "login: wrong user name or password"


# -- secrets ---------------------------------------------------------------------------------


def test_secrets_are_redacted_without_reveal(api, world, http):
    for who in ("admin", "alice", "carol"):
        headers = world.auth(who)
        for r in (http.get("/items/projects/creds", headers=headers),
                  http.get("/items/projects/creds", params={"reveal": "false"}, headers=headers),
                  http.get("/items/projects", params={"children": ""}, headers=headers),
                  http.get("/items/projects", params={"find": "", "type": "Login"}, headers=headers)):
            assert r.status_code == 200, (who, r.text)
            assert SECRET not in r.text
            assert REDACTED in r.text
    # What a write answers is redacted too.
    r = http.patch("/items/projects/creds", json={"attributes": {"password": "another-secret-value"}})
    assert ok(r)["attributes"]["password"] == REDACTED
    assert "another-secret-value" not in r.text
    r = http.post("/items/projects", json={"name": "c2", "type": "Login", "attributes": {"password": SECRET}})
    assert created(r)["attributes"]["password"] == REDACTED
    assert SECRET not in r.text


def test_reveal_only_for_writers(api, world, http, anon, cli):
    for who in ("admin", "carol"):  # carol writes /projects through the group editors
        item = ok(http.get("/items/projects/creds", params={"reveal": "true"}, headers=world.auth(who)))
        assert item["attributes"]["password"] == SECRET
    message = error_of(http.get("/items/projects/creds", params={"reveal": "true"}, headers=world.auth("alice")),
                       403, "forbidden")
    assert message == "/projects/creds: alice may not write here"
    error_of(http.get("/items/projects/creds", params={"reveal": "true"}, headers=world.auth("bob")),
             404, "not_found", "/projects/creds: no such item")
    refused = anon.get("/items/pub/doc", params={"reveal": "true"})
    error_of(refused, 401, "unauthorized", "sign in")  # signing in may help: 401, not 403
    assert refused.headers["www-authenticate"].startswith("Bearer")
    # The shell answers the same.
    shell = cli("--as", "carol", "get", "/projects/creds", "--reveal", "-o", "json")
    assert shell.code == 0, shell.err
    revealed = ok(http.get("/items/projects/creds", params={"reveal": "true"}, headers=world.auth("carol")))
    assert json.loads(shell.out) == revealed
    refused = cli("--as", "alice", "get", "/projects/creds", "--reveal")
    assert (refused.code, refused.err.strip()) == (1, f"realnet: {message}")


# -- permissions, compared with the shell -------------------------------------------------

REFUSALS = [
    # (who, method, url, body, status, code, CLI arguments)
    ("bob", "GET", "/items/projects/notes", None, 404, "not_found", ["get", "/projects/notes"]),
    ("alice", "GET", "/items/hidden/doc", None, 404, "not_found", ["get", "/hidden/doc"]),
    ("bob", "GET", "/items/projects?children", None, 404, "not_found", ["ls", "/projects"]),
    ("alice", "GET", "/items/hidden?find", None, 404, "not_found", ["find", "/hidden"]),
    ("alice", "GET", "/items/system/accounts/alice", None, 404, "not_found", ["get", "/system/accounts/alice"]),
    ("alice", "PATCH", "/items/projects/notes", {"attributes": {"title": "x"}}, 403, "forbidden",
     ["set", "/projects/notes", "title=x"]),
    ("bob", "PATCH", "/items/projects/notes", {"attributes": {"title": "x"}}, 404, "not_found",
     ["set", "/projects/notes", "title=x"]),
    ("alice", "PATCH", "/items/hidden/doc", {"attributes": {"title": "x"}}, 404, "not_found",
     ["set", "/hidden/doc", "title=x"]),
    ("alice", "DELETE", "/items/projects/notes", None, 403, "forbidden", ["rm", "/projects/notes"]),
    ("bob", "DELETE", "/items/projects/notes", None, 404, "not_found", ["rm", "/projects/notes"]),
    ("alice", "POST", "/items/projects", {"name": "x", "type": "Folder"}, 403, "forbidden",
     ["create", "/projects/x", "--type", "Folder"]),
    ("bob", "POST", "/items/projects", {"name": "x", "type": "Folder"}, 404, "not_found",
     ["create", "/projects/x", "--type", "Folder"]),
    ("alice", "POST", "/actions/projects/notes/move", {"target": "/home/alice/notes"}, 403, "forbidden",
     ["mv", "/projects/notes", "/home/alice/notes"]),
    ("bob", "POST", "/actions/projects/notes/copy", {"target": "/home/bob/notes"}, 404, "not_found",
     ["cp", "/projects/notes", "/home/bob/notes"]),
    ("carol", "POST", "/actions/projects/notes/copy", {"target": "/hidden/notes"}, 404, "not_found",
     ["cp", "/projects/notes", "/hidden/notes"]),
]


@pytest.mark.parametrize(("who", "method", "url", "body", "status", "code", "shell"), REFUSALS,
                         ids=[f"{c[0]} {c[1]} {c[2]}" for c in REFUSALS])
def test_refusals_match_the_shell_and_change_nothing(api, world, http, cli, who, method, url, body,
                                                      status, code, shell):
    before = admin_view(http)
    r = http.request(method, url, json=body, headers=world.auth(who))
    message = error_of(r, status, code)
    assert who in message or status == 404
    assert admin_view(http) == before
    result = cli("--as", who, *shell)
    assert result.code == 1
    assert result.err.strip() == f"realnet: {message}"
    assert admin_view(http) == before


def test_writes_a_grant_allows(api, world, http):
    carol = world.auth("carol")
    tag = http.get("/items/projects/notes", headers=carol).headers["etag"]
    changed = ok(http.patch("/items/projects/notes", json={"attributes": {"title": "by carol"}},
                            headers={**carol, "If-Match": tag}))
    assert changed["attributes"]["title"] == "by carol"
    made = created(http.post("/items/projects", json={"name": "new", "type": "Folder"}, headers=carol))
    assert made["owner"] == "carol"
    assert ok(http.delete("/items/projects/new", headers=carol)) == {"removed": 1}
    # alice's home is hers.
    alice = world.auth("alice")
    created(http.post("/items/home/alice", json={"name": "mine", "type": "Folder"}, headers=alice))
    assert ok(http.post("/actions/home/alice/mine/move", json={"target": "/home/alice/renamed"},
                        headers=alice))["path"] == "/home/alice/renamed"
    # and copying what she may read into it is allowed.
    copy = created(http.post("/actions/projects/notes/copy", json={"target": "/home/alice/notes"},
                             headers=alice))
    assert (copy["path"], copy["owner"]) == ("/home/alice/notes", "alice")


def test_reads_match_the_shell(api, world, http, cli):
    for who in ("alice", "carol"):
        shell = cli("--as", who, "get", "/projects/notes", "-o", "json")
        assert shell.code == 0, shell.err
        assert json.loads(shell.out) == ok(http.get("/items/projects/notes", headers=world.auth(who)))
        listed = cli("--as", who, "ls", "/projects", "-o", "json")
        assert listed.code == 0, listed.err
        assert json.loads(listed.out) == ok(http.get("/items/projects", params={"children": ""},
                                                     headers=world.auth(who)))


@pytest.mark.parametrize("who", ["alice", "bob", "carol"])
def test_listings_match_the_store_for_each_principal(api, world, http, who):
    settings = load_settings()
    context = open_context(settings, principal=who)
    try:
        for folder in ("/", "/projects", "/pub", "/home", "/hidden", "/system"):
            r = http.get(f"/items{folder.rstrip('/')}", params={"children": "", "limit": "1000"},
                         headers=world.auth(who))
            try:
                expected = [i.path for i in context.list(folder, limit=1000)]
            except NotFound as e:
                assert error_of(r, 404, "not_found") == str(e)
                continue
            assert page_paths(ok(r)) == expected, folder
        expected = sorted(i.path for i in context.find("/", limit=10_000))
        got = sorted(i["path"] for p in all_pages(http, "/items", {"find": ""}, headers=world.auth(who)) for i in p)
        assert got == expected
    finally:
        context.provider.close()


def test_a_grant_takes_effect_on_the_next_request(api, world, http, context):
    from realnet.resources.accounts import grant, revoke

    bob = world.auth("bob")
    error_of(http.get("/items/hidden/doc", headers=bob), 404)
    grant(context, "/hidden", "user:bob", ("read",))
    assert ok(http.get("/items/hidden/doc", headers=bob))["attributes"]["title"] == "Hidden"
    revoke(context, "/hidden", "user:bob", None)
    error_of(http.get("/items/hidden/doc", headers=bob), 404)


def test_a_disabled_account_loses_its_tokens(api, world, http, context):
    bob = world.auth("bob")
    assert ok(http.get("/whoami", headers=bob))["principal"] == "bob"
    context.update("/system/accounts/bob", {"disabled": True})
    r = http.get("/whoami", headers=bob)
    error_of(r, 401, "unauthorized")
    assert "invalid_token" in r.headers["www-authenticate"]


# -- anonymous callers -------------------------------------------------------------------


def test_anonymous_reads_public_items_only(api, world, anon, http):
    doc = ok(anon.get("/items/pub/doc"))
    assert doc == ok(http.get("/items/pub/doc"))
    assert page_paths(ok(anon.get("/items/pub", params={"children": ""}))) == ["/pub/doc"]
    # The root lists only what leads to something public.
    assert page_paths(ok(anon.get("/items", params={"children": ""}))) == ["/pub"]
    assert ok(anon.get("/items/pub", params={"count": ""})) == {"count": 1}
    for url in ("/items/hidden/doc", "/items/projects/notes", "/items/system", "/items/nothing-here"):
        message = error_of(anon.get(url), 404, "not_found")
        assert message.endswith(": no such item")
        assert "www-authenticate" not in anon.get(url).headers
    error_of(anon.get("/items/hidden", params={"children": ""}), 404, "not_found")


def test_anonymous_writes_are_refused(api, world, anon, http):
    before = admin_view(http)
    # Refused to anonymous callers as 401 with a challenge: a token may change the answer.
    for answer, message in (
        (anon.patch("/items/pub/doc", json={"attributes": {"title": "x"}}), "/pub/doc: anonymous may not write here"),
        (anon.post("/items/pub", json={"name": "x", "type": "Folder"}), "/pub: anonymous may not create here"),
        (anon.delete("/items/pub/doc"), "/pub/doc: anonymous may not delete here"),
    ):
        error_of(answer, 401, "unauthorized", message)
        assert answer.headers["www-authenticate"] == 'Bearer realm="realnet"'

    error_of(anon.patch("/items/hidden/doc", json={"attributes": {"title": "x"}}), 404, "not_found")
    error_of(anon.delete("/items/hidden/doc"), 404, "not_found")
    assert admin_view(http) == before


def test_a_bad_token_never_falls_back_to_anonymous(api, world, anon):
    bad = "rn_" + "A" * 43  # well formed, never issued
    for headers in ({"Authorization": f"Bearer {bad}"}, {"Authorization": "Bearer nonsense"}):
        r = anon.get("/items/pub/doc", headers=headers)
        error_of(r, 401, "unauthorized", "token: not valid")
        assert 'error="invalid_token"' in r.headers["www-authenticate"]


# -- move and copy ---------------------------------------------------------------------------


def test_move_and_copy(http):
    created(http.post("/items", json={"name": "src", "type": "Folder"}))
    doc = created(http.post("/items/src", json={"name": "d", "type": "Document", "attributes": {"title": "t"}}))
    created(http.post("/items", json={"name": "dst", "type": "Folder"}))

    r = http.post("/actions/src/d/move", json={"target": "/dst/moved"})
    moved = ok(r)
    assert (moved["path"], moved["id"]) == ("/dst/moved", doc["id"])
    assert r.headers["location"] == f"{API}/items/dst/moved"
    assert r.headers["etag"] == etag_of(moved)
    error_of(http.get("/items/src/d"), 404)

    # Into a folder: the item keeps its name.
    moved_in = ok(http.post("/actions/dst/moved/move", json={"target": "/src"}))
    assert moved_in["path"] == "/src/moved"

    r = http.post("/actions/src/copy", json={"target": "/copy/of/src", "parents": True})
    copy = created(r)
    assert copy["path"] == "/copy/of/src"
    assert copy["id"] != ok(http.get("/items/src"))["id"]
    assert r.headers["location"] == f"{API}/items/copy/of/src"
    assert ok(http.get("/items/copy/of/src/moved"))["attributes"]["title"] == "t"
    assert ok(http.get("/items/src/moved"))["id"] == doc["id"]


def test_move_and_copy_refusals(http):
    created(http.post("/items", json={"name": "src", "type": "Folder"}))
    created(http.post("/items", json={"name": "other", "type": "Folder"}))
    error_of(http.post("/actions/src/move", json={"target": "/src/inside"}), 400, "invalid_path",
             "cannot move or copy /src into itself")
    error_of(http.post("/actions/src/copy", json={"target": "/none/x"}), 404, "not_found",
             "/none: parent folder does not exist")
    error_of(http.post("/actions/src/explode", json={"target": "/x"}), 404, "not_found", "no such action")
    error_of(http.post("/actions/ghost/move", json={"target": "/x"}), 404, "not_found", "/ghost")
    error_of(http.post("/actions/types/move", json={"target": "/t2"}), 422, "invalid",
             "built-in folder cannot be moved")
    assert ok(http.get("/items/src"))["path"] == "/src"


@pytest.mark.parametrize("request_args", [
    ("POST", "/actions/system/move", {"target": "/elsewhere"}),
    ("DELETE", "/items/system?recursive=true", None),
], ids=["move /system", "delete /system"])
def test_the_system_folder_cannot_be_moved_or_deleted(http, request_args):
    """/types and /home are protected as built-in folders; /system holds every account,
    group and token, and moving it away locks every caller out (the shell's too)."""
    method, url, body = request_args
    r = http.request(method, url, json=body)
    still = http.get("/whoami")
    assert still.status_code == 200, f"{method} {url} answered {r.status_code}; now whoami gives {still.text}"
    error_of(r, 422, "invalid", "built-in folder")


# -- health, the document, CORS ------------------------------------------------------------


def test_health_and_openapi_need_no_token(api, anon):
    with httpx.Client(base_url=api.url, timeout=30) as plain:
        assert ok(plain.get("/healthz")) == {"status": "ok"}
        assert ok(plain.get("/readyz")) == {"status": "ready"}
        document = ok(plain.get("/openapi.json"))
        assert document["openapi"].startswith("3.")
        assert f"{API}/items/{{path}}" in document["paths"]


def test_unknown_paths_are_json_404(api):
    with httpx.Client(base_url=api.url, timeout=30) as plain:
        for url in ("/", "/api", "/api/v1", "/api/v2/items", "/api/v1/nothing", "/favicon.ico"):
            error_of(plain.get(url), 404, "not_found", "no such endpoint")


def test_cors_is_off_by_default(api, http):
    r = http.get("/whoami", headers={"Origin": "https://app.example"})
    assert r.status_code == 200
    assert not any(k.startswith("access-control-") for k in r.headers)
    r = http.options("/items", headers={"Origin": "https://app.example", "Access-Control-Request-Method": "GET"})
    assert not any(k.startswith("access-control-") for k in r.headers)
    error_of(r, 405, "method_not_allowed")


@pytest.fixture
def cors_api(monkeypatch, realnet_home, request):
    monkeypatch.setenv("REALNET_SERVER_CORS_ORIGINS", "https://app.example, https://admin.example/")
    return request.getfixturevalue("api")


def test_cors_answers_only_the_listed_origins(cors_api):
    with client(cors_api, cors_api.headers()) as c:
        r = c.get("/items", headers={"Origin": "https://app.example"})
        assert r.status_code == 200
        assert r.headers["access-control-allow-origin"] == "https://app.example"
        assert "etag" in r.headers["access-control-expose-headers"].lower()
        assert "access-control-allow-credentials" not in r.headers
        r = c.get("/items", headers={"Origin": "https://admin.example"})  # listed with a trailing slash
        assert r.headers["access-control-allow-origin"] == "https://admin.example"

        preflight = c.options("/items/x", headers={
            "Origin": "https://app.example", "Access-Control-Request-Method": "PATCH",
            "Access-Control-Request-Headers": "authorization, content-type, if-match"})
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == "https://app.example"
        assert "PATCH" in preflight.headers["access-control-allow-methods"]
        allowed = preflight.headers["access-control-allow-headers"].lower()
        assert {"authorization", "content-type", "if-match"} <= {h.strip() for h in allowed.split(",")}

        r = c.get("/items", headers={"Origin": "https://evil.example"})
        assert r.status_code == 200
        assert "access-control-allow-origin" not in r.headers


def test_cors_refused_preflight_is_a_json_error(cors_api):
    with client(cors_api) as c:
        r = c.options("/items/x", headers={"Origin": "https://evil.example",
                                           "Access-Control-Request-Method": "DELETE"})
        assert "access-control-allow-origin" not in r.headers
        assert r.status_code in (400, 403)
        assert "evil.example" in error_of(r, r.status_code)


# -- names that need care in a URL --------------------------------------------------------

#: What RFC 3986 allows in a path: unreserved, sub-delims, ':', '@', '/' and %XX.
URI_PATH = re.compile(r"^(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/]|%[0-9A-Fa-f]{2})*$")
URL_NAMES = ["with space", "café", "日本語", "emoji-😀", "trailing ", " leading", "question?mark",
             "hash#tag", "back\\slash", "100%", "pct%41", "plus+sign", "semi;colon", ".hidden"]


@pytest.mark.parametrize("name", URL_NAMES)
def test_location_of_a_created_item_leads_back_to_it(http, name):
    """201, and the Location header is a URL that names the new item."""
    created(http.post("/items", json={"name": "f", "type": "Folder"}))
    try:
        r = http.post("/items/f", json={"name": name, "type": "Folder"})
    except httpx.RemoteProtocolError as e:
        listed = [i["name"] for i in ok(http.get("/items/f", params={"children": ""}))["items"]]
        raise AssertionError(f"the server dropped the connection ({e}); the item exists anyway: {listed}") from e
    item = created(r)
    assert item["name"] == name
    location = r.headers["location"]
    assert URI_PATH.match(location), f"Location {location!r} is not a percent-encoded URL path"
    assert unquote(location) == f"{API}/items/f/{name}"
    with httpx.Client(base_url=http.base_url.copy_with(raw_path=b"/"), headers=http.headers) as plain:
        followed = plain.get(location)
    assert followed.status_code == 200, (location, followed.text)
    assert followed.json()["id"] == item["id"]


@pytest.mark.parametrize("name", [*URL_NAMES, "a%2Fb", "x%2e%2e"])
def test_every_item_name_is_addressable_in_a_url(http, context, name):
    """An item made by another face, read, changed and deleted by its percent-encoded path."""
    context.create("/f", "Folder")
    item = context.create(f"/f/{name}", "Document", {"title": "t"})
    url = f"/items/f/{quote(name, safe='')}"
    got = http.get(url)
    assert got.status_code == 200, (url, got.text)
    assert got.json()["id"] == item.id
    assert ok(http.patch(url, json={"attributes": {"title": "u"}}))["version"] == 2
    assert ok(http.delete(url)) == {"removed": 1}


def test_error_bodies_never_carry_a_trace(http):
    """A sample of failures of every layer; each is one JSON line without a trace."""
    for r in (http.get("/items/nothing"), http.post("/items", content=b"{", headers={"content-type": "application/json"}),
              http.post("/items", json={"name": "x", "type": "Nope"}), http.get("/items", params={"zzz": "1"})):
        assert r.status_code >= 400
        assert_no_trace(r.text)
        assert "\n" not in r.text
