"""Mounts through the HTTP API: httpx against a real uvicorn server over the test's store.

A YAML document and local folders are mounted (by the administrator, through the API
itself) and then read and changed over HTTP: document nodes are items, their values
attributes; changes are written back to the file; a read-only mount refuses every
change with 403 ``read_only``; a FileTree's files are content; and an item's ETag
follows the file on disk.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml
from httpkit import API, assert_no_trace, error_of

CONFIG = """\
# the application's settings
name: demo   # shown in the title bar
database:
  host: db.local   # the primary
  port: 5432
  options:
    sslmode: require
servers:
  - name: alpha
    ip: 10.0.0.1
  - name: bravo
    ip: 10.0.0.2
"""


def client(api) -> httpx.Client:
    return httpx.Client(base_url=api.url + API, headers=api.headers(), timeout=30)


@pytest.fixture
def http(api) -> Iterator[httpx.Client]:
    with client(api) as c:
        yield c


def ok(response: httpx.Response, status: int = 200) -> dict:
    assert response.status_code == status, (response.request.method, response.request.url,
                                            response.status_code, response.text)
    assert_no_trace(response.text)
    return response.json()


def mount(http: httpx.Client, name: str, type_name: str, source: Path, *, read_only: bool = False) -> dict:
    return ok(http.post("/items", json={"name": name, "type": type_name,
                                        "attributes": {"path": str(source), "read_only": read_only}}), 201)


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(CONFIG)
    return path


@pytest.fixture
def reports(tmp_path: Path) -> Path:
    folder = tmp_path / "reports"
    (folder / "2024").mkdir(parents=True)
    (folder / "summary.txt").write_text("all green\n")
    (folder / "2024" / "q1.csv").write_bytes(b"month,total\njan,1\nfeb,2\nmar,3\n")
    return folder


def names(page: dict) -> list[str]:
    return [i["name"] for i in page["items"]]


# -- reading --------------------------------------------------------------------------------


def test_get_a_document_node_and_its_children(http, config):
    top = mount(http, "config", "YamlDocument", config)
    assert top["type"] == "YamlDocument"
    assert top["attributes"]["path"] == str(config)
    assert top["attributes"]["name"] == "demo"  # a top-level value shows on the mount item

    node = ok(r := http.get("/items/config/database"))
    assert node["path"] == "/config/database"
    assert node["type"] == "DocumentObject"
    assert node["attributes"] == {"host": "db.local", "port": 5432}
    assert r.headers["etag"] == f'"{node["version"]}.{node["id"]}"'

    assert names(ok(http.get("/items/config", params={"children": ""}))) == ["database", "servers"]
    assert names(ok(http.get("/items/config/database", params={"children": ""}))) == ["options"]
    servers = ok(http.get("/items/config/servers", params={"children": ""}))
    assert names(servers) == ["0", "1"]
    assert [i["attributes"] for i in servers["items"]] == [{"name": "alpha", "ip": "10.0.0.1"},
                                                           {"name": "bravo", "ip": "10.0.0.2"}]
    assert ok(http.get("/items/config/servers"))["type"] == "DocumentList"
    assert ok(http.get("/items/config/servers/1"))["attributes"]["name"] == "bravo"

    error_of(http.get("/items/config/nothing"), 404, "not_found")
    error_of(http.get("/items/config/database/host"), 404, "not_found")  # a value, not an item


def test_find_and_count_reach_into_the_document(http, config):
    mount(http, "config", "YamlDocument", config)
    found = ok(http.get("/items/config", params={"find": "", "type": "DocumentObject"}))
    assert [i["path"] for i in found["items"]] == ["/config/database", "/config/database/options",
                                                    "/config/servers/0", "/config/servers/1"]
    assert ok(http.get("/items/config", params={"count": ""})) == {"count": 5}


# -- writing back -------------------------------------------------------------------------


def test_patch_writes_the_values_back_to_the_file_and_keeps_comments(http, config):
    mount(http, "config", "YamlDocument", config)
    changed = ok(http.patch("/items/config/database", json={"attributes": {"port": 5433, "user": "app"}}))
    assert changed["attributes"] == {"host": "db.local", "port": 5433, "user": "app"}

    text = config.read_text()
    assert yaml.safe_load(text)["database"] == {"host": "db.local", "port": 5433, "user": "app",
                                                "options": {"sslmode": "require"}}
    assert "# the application's settings" in text
    assert "host: db.local   # the primary" in text
    assert ok(http.get("/items/config/database"))["attributes"]["port"] == 5433

    ok(http.patch("/items/config/database", json={"unset": ["user"]}))
    assert "user" not in yaml.safe_load(config.read_text())["database"]

    ok(http.patch("/items/config/servers/0", json={"attributes": {"ip": "10.0.0.9"}, "from_text": True}))
    assert yaml.safe_load(config.read_text())["servers"][0] == {"name": "alpha", "ip": "10.0.0.9"}


def test_patch_of_the_mount_item_writes_top_level_values(http, config):
    mount(http, "config", "YamlDocument", config)
    changed = ok(http.patch("/items/config", json={"attributes": {"name": "demo v2"}}))
    assert changed["attributes"]["name"] == "demo v2"
    assert changed["attributes"]["path"] == str(config)  # the mount's own setting stays in the store
    document = yaml.safe_load(config.read_text())
    assert document["name"] == "demo v2"
    assert "path" not in document and "read_only" not in document
    # The comment stays on the line of the value (ruamel may move it to make room).
    line = next(li for li in config.read_text().splitlines() if li.startswith("name:"))
    assert line.startswith("name: demo v2 ") and line.endswith("# shown in the title bar"), line


def test_create_and_delete_nodes_write_the_file(http, config):
    mount(http, "config", "YamlDocument", config)
    ok(http.post("/items/config", json={"name": "cache", "type": "DocumentObject",
                                        "attributes": {"ttl": 60}}), 201)
    assert yaml.safe_load(config.read_text())["cache"] == {"ttl": 60}
    assert ok(http.delete("/items/config/cache")) == {"removed": 1}
    assert "cache" not in yaml.safe_load(config.read_text())


def test_if_match_is_refused_once_the_file_changed_on_disk(http, config):
    mount(http, "config", "YamlDocument", config)
    r = http.get("/items/config/database")
    first = r.headers["etag"]
    assert http.get("/items/config/database", headers={"If-None-Match": first}).status_code == 304

    # Someone edits the file behind Realnet's back (another part of it, even).
    config.write_text(CONFIG.replace("sslmode: require", "sslmode: disable") + "extra: 1\n")

    again = http.get("/items/config/database")
    assert again.status_code == 200
    assert again.headers["etag"] != first
    assert http.get("/items/config/database", headers={"If-None-Match": first}).status_code == 200

    before = config.read_bytes()
    error_of(http.patch("/items/config/database", json={"attributes": {"port": 6000}},
                        headers={"If-Match": first}), 412, "precondition_failed")
    error_of(http.delete("/items/config/database", params={"recursive": "true"},
                         headers={"If-Match": first}), 412, "precondition_failed")
    assert config.read_bytes() == before  # nothing written

    ok(http.patch("/items/config/database", json={"attributes": {"port": 6000}},
                  headers={"If-Match": again.headers["etag"]}))
    document = yaml.safe_load(config.read_text())
    assert document["database"]["port"] == 6000
    assert document["database"]["options"] == {"sslmode": "disable"}  # the other edit is kept
    assert document["extra"] == 1


def test_a_stale_version_in_the_body_is_a_conflict(http, config):
    mount(http, "config", "YamlDocument", config)
    version = ok(http.get("/items/config/database"))["version"]
    config.write_text(CONFIG.replace("5432", "5439"))
    error_of(http.patch("/items/config/database", json={"attributes": {"port": 1}, "version": version}),
             409, "conflict")
    assert yaml.safe_load(config.read_text())["database"]["port"] == 5439


def test_the_mount_items_etag_follows_the_top_level_values_on_disk(http, config):
    """The mount item shows the document's top-level values, so its ETag must change when
    they change on disk: a cached copy must not be confirmed (304), nor a change based on
    it accepted (412)."""
    mount(http, "config", "YamlDocument", config)
    r = http.get("/items/config")
    first = r.headers["etag"]
    assert r.json()["attributes"]["name"] == "demo"

    config.write_text(CONFIG.replace("name: demo", "name: changed on disk"))

    problems = []
    again = http.get("/items/config", headers={"If-None-Match": first})
    if again.status_code != 200:
        problems.append(f"GET with the old If-None-Match {first}: {again.status_code} (expected 200)")
    current = http.get("/items/config")
    if current.json()["attributes"]["name"] != "changed on disk":
        problems.append(f"GET shows name={current.json()['attributes']['name']!r}")
    if current.headers["etag"] == first:
        problems.append(f"the ETag is still {first} after the top-level values changed on disk")
    stale = http.patch("/items/config", json={"attributes": {"name": "mine"}}, headers={"If-Match": first})
    if stale.status_code != 412:
        problems.append(f"PATCH with the old If-Match: {stale.status_code} {stale.text[:200]} (expected 412)")
    on_disk = yaml.safe_load(config.read_text())["name"]
    if on_disk != "changed on disk":
        problems.append(f"the file now says name={on_disk!r}")
    assert not problems, "\n".join(problems)


# -- read-only mounts ----------------------------------------------------------------------


def test_a_read_only_document_refuses_every_change(http, config):
    mount(http, "config", "YamlDocument", config, read_only=True)
    before = config.read_bytes()
    assert ok(http.get("/items/config/database"))["attributes"]["port"] == 5432

    error_of(http.patch("/items/config/database", json={"attributes": {"port": 5433}}), 403, "read_only")
    error_of(http.patch("/items/config", json={"attributes": {"name": "x"}}), 403, "read_only")
    error_of(http.post("/items/config", json={"name": "cache", "type": "DocumentObject"}), 403, "read_only")
    error_of(http.delete("/items/config/database", params={"recursive": "true"}), 403, "read_only")
    error_of(http.post("/actions/config/servers/0/move", json={"target": "/config/first"}), 403, "read_only")
    assert config.read_bytes() == before


def test_a_read_only_file_tree_refuses_every_change(api, http, reports):
    mount(http, "reports", "FileTree", reports, read_only=True)
    before = sorted(str(p.relative_to(reports)) for p in reports.rglob("*"))

    error_of(httpx.put(f"{api.url}{API}/content/reports/new.txt", content=b"x", headers=api.headers()),
             403, "read_only")
    error_of(httpx.put(f"{api.url}{API}/content/reports/summary.txt", content=b"x", headers=api.headers()),
             403, "read_only")
    error_of(http.post("/items/reports", json={"name": "2025", "type": "Folder"}), 403, "read_only")
    error_of(http.delete("/items/reports/summary.txt"), 403, "read_only")
    error_of(http.post("/actions/reports/summary.txt/move", json={"target": "/reports/s.txt"}),
             403, "read_only")

    assert sorted(str(p.relative_to(reports)) for p in reports.rglob("*")) == before
    assert (reports / "summary.txt").read_text() == "all green\n"


# -- FileTree content ----------------------------------------------------------------------


def test_content_of_a_file_in_a_file_tree(api, http, reports):
    mount(http, "reports", "FileTree", reports, read_only=True)
    assert names(ok(http.get("/items/reports", params={"children": ""}))) == ["2024", "summary.txt"]
    item = ok(http.get("/items/reports/2024/q1.csv"))
    assert item["type"] == "File"
    assert item["attributes"]["size"] == len(b"month,total\njan,1\nfeb,2\nmar,3\n")

    got = httpx.get(f"{api.url}{API}/content/reports/2024/q1.csv", headers=api.headers())
    assert got.status_code == 200, got.text
    assert got.content == b"month,total\njan,1\nfeb,2\nmar,3\n"
    assert got.headers["content-length"] == str(item["attributes"]["size"])
    assert got.headers["etag"] == f'"{item["version"]}.{item["id"]}"'

    part = httpx.get(f"{api.url}{API}/content/reports/summary.txt", headers={**api.headers(),
                                                                           "Range": "bytes=4-8"})
    assert part.status_code == 206, part.text
    assert part.content == b"green"

    error_of(httpx.get(f"{api.url}{API}/content/reports/missing.txt", headers=api.headers()),
             404, "not_found")


def test_content_put_into_a_writable_file_tree_writes_the_file(api, http, tmp_path):
    folder = tmp_path / "drop"
    folder.mkdir()
    mount(http, "drop", "FileTree", folder)

    body = os.urandom(300_000)
    made = httpx.put(f"{api.url}{API}/content/drop/upload.bin", content=body,
                     headers={**api.headers(), "Content-Type": "application/octet-stream"})
    assert made.status_code == 201, made.text
    assert made.json()["path"] == "/drop/upload.bin"
    assert (folder / "upload.bin").read_bytes() == body

    replaced = httpx.put(f"{api.url}{API}/content/drop/upload.bin", content=b"smaller", headers=api.headers())
    assert replaced.status_code == 200, replaced.text
    assert (folder / "upload.bin").read_bytes() == b"smaller"
    assert ok(http.get("/items/drop/upload.bin"))["attributes"]["size"] == len(b"smaller")
    assert httpx.get(f"{api.url}{API}/content/drop/upload.bin", headers=api.headers()).content == b"smaller"

    nested = httpx.put(f"{api.url}{API}/content/drop/a/b/c.txt", params={"parents": "true"}, content=b"deep",
                       headers=api.headers())
    assert nested.status_code == 201, nested.text
    assert (folder / "a" / "b" / "c.txt").read_bytes() == b"deep"
    assert not [p for p in folder.rglob("*") if p.name.endswith(".realnet-tmp")]  # no temporary left


@pytest.fixture
def allowed(tmp_path: Path, monkeypatch) -> Path:
    """REALNET_MOUNT_PATHS set to one folder before the server starts."""
    folder = tmp_path / "allowed"
    folder.mkdir()
    monkeypatch.setenv("REALNET_MOUNT_PATHS", str(folder))
    return folder


def test_the_server_keeps_mounts_inside_realnet_mount_paths(allowed, api, tmp_path):
    inside, outside = allowed / "in.yaml", tmp_path / "out.yaml"
    inside.write_text("a: 1\n")
    outside.write_text("b: 1\n")
    with client(api) as http:
        mount(http, "in", "YamlDocument", inside)
        refused = http.post("/items", json={"name": "out", "type": "YamlDocument",
                                            "attributes": {"path": str(outside)}})
        assert error_of(refused, 422, "invalid") == (f"/out: attribute 'path': {outside} is outside "
                                                     f"REALNET_MOUNT_PATHS ({allowed})")
        assert http.get("/items/out").status_code == 404
        assert ok(http.get("/items/in"))["attributes"]["a"] == 1
