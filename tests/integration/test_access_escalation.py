"""Ways around the permission checks, each closed below every face: import of a mount,
moving or deleting a subtree with hidden items, ``init``, a group's grants outliving it,
the built-in administrator, the name ``anonymous``, what the caller without a token sees
in listings, and the type definitions over HTTP."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from httpkit import API

PASSWORD = "averyl0ngpassword"
AS_ALICE = ("--as", "alice")
AS_BOB = ("--as", "bob")


def ok(cli, *args: str, stdin: str | None = None):
    result = cli(*args, stdin=stdin)
    assert result.code == 0, (args, result.err)
    return result


def refused(cli, *args: str, fragment: str, code: int = 1) -> None:
    before = ok(cli, "export", "/").out
    result = cli(*args)
    assert result.code == code, (args, result.out, result.err)
    assert fragment in result.err, result.err
    assert len(result.err.strip().splitlines()) == 1 and "Traceback" not in result.err, result.err
    assert ok(cli, "export", "/").out == before, f"{args} changed the store"


def add_user(cli, name: str) -> None:
    ok(cli, "user", "add", name, "--password-stdin", stdin=PASSWORD + "\n")


@pytest.fixture
def people(cli) -> None:
    add_user(cli, "alice")
    add_user(cli, "bob")


def test_a_non_admin_cannot_mount_by_importing(cli, people, tmp_path: Path):
    secret = tmp_path / "secret"
    secret.mkdir()
    (secret / "s.txt").write_text("TOPSECRET")
    export = tmp_path / "mount.json"
    export.write_text(json.dumps({"format": "realnet-export", "version": 1, "root": "/m", "items": [
        {"path": ".", "type": "FileTree", "attributes": {"path": str(secret)}}]}))
    refused(cli, *AS_ALICE, "import", str(export), "/home/alice/m",
            fragment="only members of 'admins' may do this")
    assert cli(*AS_ALICE, "cat", "/home/alice/m/s.txt").code == 1
    # An administrator may, with the same checks as create (the source must exist).
    ok(cli, "import", str(export), "/m")
    assert ok(cli, "cat", "/m/s.txt").out.strip() == "TOPSECRET"
    export.write_text(export.read_text().replace(str(secret), str(tmp_path / "missing")))
    refused(cli, "import", str(export), "/m2", fragment="attribute 'path'")


@pytest.fixture
def hidden_below(cli, people) -> str:
    """/home/bob/share/box: alice's folder, in which bob has put three documents after
    taking back alice's access to his share."""
    ok(cli, *AS_BOB, "create", "/home/bob/share", "--type", "Folder")
    ok(cli, *AS_BOB, "acl", "grant", "/home/bob/share", "alice", "read,create")
    ok(cli, *AS_ALICE, "create", "/home/bob/share/box", "--type", "Folder")
    ok(cli, *AS_BOB, "acl", "revoke", "/home/bob/share", "alice")
    for n in (1, 2, 3):
        ok(cli, *AS_BOB, "create", f"/home/bob/share/box/p{n}", "--type", "Document",
           "-a", "title=x", "-a", "body=bob-private")
    assert "p1" not in ok(cli, *AS_ALICE, "ls", "/home/bob/share/box").out
    return "/home/bob/share/box"


def test_moving_a_subtree_with_hidden_items_is_refused(cli, hidden_below):
    refused(cli, *AS_ALICE, "mv", hidden_below, "/home/alice/box",
            fragment=f"{hidden_below}: alice cannot read everything below it")
    assert cli(*AS_ALICE, "cat", "/home/alice/box/p1").code == 1


def test_deleting_a_subtree_with_hidden_items_is_refused_without_counting_them(cli, hidden_below):
    for args in (("rm", hidden_below), ("rm", "-r", "-f", hidden_below)):
        refused(cli, *AS_ALICE, *args, fragment=f"{hidden_below}: alice cannot read everything below it")
        assert "3" not in cli(*AS_ALICE, *args).err
    assert ok(cli, "ls", hidden_below).out.split() == ["p1", "p2", "p3"]
    # Once everything below is hers to read, she may.
    ok(cli, *AS_BOB, "acl", "grant", hidden_below, "alice", "read")
    ok(cli, *AS_ALICE, "rm", "-r", "-f", hidden_below)
    assert cli("get", hidden_below).code == 1


def test_init_is_for_administrators(cli, people):
    refused(cli, *AS_ALICE, "init", fragment="init: only members of 'admins' may do this")
    ok(cli, "rm", "-r", "-f", "/apps/explorer")
    ok(cli, "init")
    assert cli("get", "/apps/explorer").code == 0


def test_a_removed_group_takes_its_grants_with_it(cli, people):
    ok(cli, "create", "/fin", "--type", "Folder")
    ok(cli, "create", "/fin/payroll", "--type", "Document", "-a", "title=P", "-a", "body=salaries")
    ok(cli, "group", "add", "finance")
    ok(cli, "group", "member", "add", "finance", "alice")
    ok(cli, "acl", "grant", "/fin", "finance", "read")
    assert ok(cli, *AS_ALICE, "cat", "/fin/payroll").out == "salaries\n"
    ok(cli, "group", "rm", "finance")
    assert "finance" not in ok(cli, "acl", "/fin").out
    ok(cli, "group", "add", "finance")
    ok(cli, "group", "member", "add", "finance", "bob")
    assert cli(*AS_BOB, "cat", "/fin/payroll").code == 1


def test_the_builtin_administrator_stays(cli, people):
    ok(cli, "group", "member", "add", "admins", "bob")
    refused(cli, *AS_BOB, "user", "rm", "admin",
            fragment="admin: the built-in administrator account cannot be removed")
    refused(cli, *AS_BOB, "group", "member", "rm", "admins", "admin",
            fragment="admin: the built-in administrator stays in admins")
    assert json.loads(ok(cli, "whoami", "-o", "json").out)["admin"] is True


def test_anonymous_is_a_reserved_account_name(cli):
    refused(cli, "user", "add", "anonymous", fragment="anonymous: a reserved name")


def test_the_caller_without_a_token_owns_nothing_in_listings(cli, api):
    ok(cli, "create", "/inbox", "--type", "Folder")
    ok(cli, "acl", "grant", "/inbox", "public", "read,create")
    with httpx.Client(base_url=api.url + API, timeout=30) as anon:
        posted = anon.post("/items/inbox", json={"name": "tip", "type": "Document",
                                                 "attributes": {"title": "tip", "body": "the sender's phone"}})
        assert posted.status_code == 201, posted.text
        ok(cli, "create", "/archive", "--type", "Folder")
        ok(cli, "mv", "/inbox/tip", "/archive/tip")
        assert anon.get("/items/archive/tip").status_code == 404
        for query in ("children", "count"):
            answer = anon.get(f"/items/archive?{query}")
            assert answer.status_code == 404, (query, answer.text)
        found = anon.get("/items", params={"find": "", "name": "tip"})
        assert "phone" not in found.text and found.status_code in (200, 404), found.text
        assert anon.get("/items", params={"count": "", "name": "tip"}).json().get("count", 0) == 0


def test_type_definitions_follow_the_acl_of_types(cli, api):
    with httpx.Client(base_url=api.url + API, timeout=30) as anon, \
            httpx.Client(base_url=api.url + API, headers=api.headers(), timeout=30) as admin:
        assert anon.get("/items/types").status_code == 404
        listed = anon.get("/types")
        assert listed.status_code == 200 and listed.json()["types"] == [], listed.text
        assert anon.get("/types/Folder").status_code == 404
        everything = admin.get("/types").json()["types"]
        assert "Folder" in {t["name"] for t in everything}
        assert admin.get("/types/Folder").json()["name"] == "Folder"
        # A grant on one type shows that one only.
        ok(cli, "acl", "grant", "/types/Folder", "public", "read")
        assert [t["name"] for t in anon.get("/types").json()["types"]] == ["Folder"]


def test_copying_or_moving_a_mount_is_mounting(cli, people, tmp_path: Path):
    config = tmp_path / "cfg.yaml"
    config.write_text("database:\n  port: 5432\n")
    ok(cli, "create", "/shared", "--type", "Folder")
    ok(cli, "create", "/shared/cfg", "--type", "YamlDocument", "-a", f"path={config}")
    ok(cli, "acl", "grant", "/shared", "alice", "read,delete")
    refused(cli, *AS_ALICE, "cp", "-r", "/shared", "/home/alice/s",
            fragment="/shared: copying the mount at /shared/cfg: only members of 'admins' may do this")
    refused(cli, *AS_ALICE, "mv", "/shared/cfg", "/home/alice/cfg",
            fragment="/shared/cfg: moving the mount at /shared/cfg: only members of 'admins' may do this")
    refused(cli, *AS_ALICE, "mv", "/shared", "/home/alice/s",
            fragment="/shared: moving the mount at /shared/cfg: only members of 'admins' may do this")
    # Copying the mount itself copies what it shows, into items of her own.
    ok(cli, *AS_ALICE, "cp", "-r", "/shared/cfg", "/home/alice/copy")
    ok(cli, *AS_ALICE, "set", "/home/alice/copy/database", "port=1")
    assert config.read_text() == "database:\n  port: 5432\n"
    assert cli(*AS_ALICE, "set", "/shared/cfg/database", "port=1").code == 1
    assert config.read_text() == "database:\n  port: 5432\n"


def test_folders_on_the_way_to_a_grant_show_in_their_parents_listing(cli, people):
    ok(cli, "create", "/projects/a/b/c", "-p", "--type", "Folder")
    ok(cli, "create", "/projects/a/b/c/doc", "--type", "Document", "-a", "title=T")
    ok(cli, "create", "/projects/other", "--type", "Folder")
    ok(cli, "set", "/projects/a", "title=not for alice")
    ok(cli, "acl", "grant", "/projects/a/b/c", "alice", "read")
    assert ok(cli, *AS_ALICE, "ls", "/").out.split() == ["apps", "home", "projects", "types"]
    assert ok(cli, *AS_ALICE, "ls", "/home").out.split() == ["alice"]
    for folder, child in (("/projects", "a"), ("/projects/a", "b"), ("/projects/a/b", "c"), ("/projects/a/b/c", "doc")):
        assert ok(cli, *AS_ALICE, "ls", folder).out.split() == [child], folder
    shown = json.loads(ok(cli, *AS_ALICE, "ls", "/projects", "-o", "json").out)["items"]
    assert [(i["name"], i["attributes"]) for i in shown] == [("a", {})]  # its name, not its title
    assert cli(*AS_ALICE, "get", "/projects/a").code == 1
    # Bob, with no grant there, sees none of it.
    assert "projects" not in ok(cli, *AS_BOB, "ls", "/").out.split()
    assert cli(*AS_BOB, "ls", "/projects").code == 1
