"""Who may do what, command by command: a permission matrix over principals, on both stores.

Every test builds the same small world (as the local administrator), then drives the
CLI with ``--as``. The tables say, for a principal and a command, the exit code and a
fragment of the message; a refused command must leave the store exactly as it was
(an admin's ``export /`` before and after). Listings and searches are compared,
item for item, with a reference model of what each principal may read.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest
from cryptography.fernet import Fernet

from realnet.core import paths

ADMIN = "admin"


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, monkeypatch) -> str:
    """The CLI's store: the embedded SQLite file, or a fresh PostgreSQL schema."""
    if request.param == "postgresql":
        url = request.getfixturevalue("pg_schema")
        monkeypatch.setenv("REALNET_DB_TYPE", "postgresql")
        monkeypatch.setenv("REALNET_DB_URL", url)
        monkeypatch.setenv("REALNET_SECRET_KEY", Fernet.generate_key().decode())
    return request.param


def act(cli, principal: str, *args: str, stdin: str | None = None):
    """Run a command as ``principal`` (the local administrator needs no ``--as``)."""
    full = args if principal == ADMIN else ("--as", principal, *args)
    return cli(*full, stdin=stdin)


def ok(cli, principal: str, *args: str):
    result = act(cli, principal, *args)
    assert result.code == 0, (principal, args, result.err)
    return result


def snapshot(cli) -> str:
    """The whole store as the administrator sees it."""
    return ok(cli, ADMIN, "export", "/").out


def admin_script(cli, *commands: str) -> None:
    """Run several administrator commands in one shell (one connection to the store)."""
    result = cli("shell", "-c", "; ".join(commands))
    assert result.code == 0, result.err


@pytest.fixture
def world(cli, store) -> str:
    """/projects (editors may read, write, create) with notes; a hidden /secret-folder;
    alice in editors, bob in no group, carol owning /projects/carols."""
    admin_script(
        cli,
        "create /projects --type Folder",
        "create /projects/notes --type Document -a title=N",
        "create /secret-folder --type Folder",
        "create /secret-folder/doc --type Document -a title=S",
        # No passwords: --as needs none, and scrypt is slow on purpose.
        "user add alice", "user add bob", "user add carol",
        "group add editors",
        "group member add editors alice",
        "acl grant /projects editors read,write,create",
        "acl grant /projects user:carol read,create",
    )
    # carol creates her folder while she may, then keeps only what owning it gives her.
    ok(cli, "carol", "create", "/projects/carols", "--type", "Folder")
    ok(cli, ADMIN, "acl", "revoke", "/projects", "user:carol")
    return store


@dataclass(frozen=True)
class Case:
    principal: str
    args: tuple[str, ...]
    code: int
    fragment: str

    @property
    def label(self) -> str:
        return f"{self.principal}: {' '.join(self.args)}"


def case(principal: str, command: str, code: int, fragment: str) -> Case:
    return Case(principal, tuple(command.split()), code, fragment)


# Commands that must be refused, and leave the store as it was.
REFUSED = [
    case("alice", "rm /projects/notes", 1, "/projects/notes: alice may not delete here"),
    case("alice", "rm -r -f /projects", 1, "/projects: alice may not delete here"),
    case("alice", "mv /projects/notes /home/alice/notes", 1, "/projects/notes: alice may not delete here"),
    case("alice", "ls /secret-folder", 1, "/secret-folder: no such item"),
    case("alice", "get /secret-folder/doc", 1, "/secret-folder/doc: no such item"),
    case("alice", "set /secret-folder/doc title=x", 1, "/secret-folder/doc: no such item"),
    case("alice", "acl grant /projects bob read", 1, "/projects: alice may not admin here"),
    case("alice", "acl grant /projects alice all", 1, "/projects: alice may not admin here"),
    case("alice", "acl revoke /projects editors", 1, "/projects: alice may not admin here"),
    case("alice", "group member add admins alice", 1, "group member: only members of 'admins' may do this"),
    case("alice", "group add friends", 1, "group add: only members of 'admins' may do this"),
    case("alice", "user add mallory --service", 1, "user add: only members of 'admins' may do this"),
    case("alice", "ls /system", 1, "/system: no such item"),
    case("alice", "get /system/accounts/alice", 1, "/system/accounts/alice: no such item"),
    case("alice", "user list", 1, "user list: only members of 'admins' may do this"),
    case("alice", "user show bob", 1, "user show: only members of 'admins' may do this"),
    case("alice", "token create bob --name t", 1, "token create: only members of 'admins' may do this"),
    case("alice", "token list bob", 1, "token list: only members of 'admins' may do this"),
    case("alice", "acl /projects/notes --for bob", 1, "acl --for: only members of 'admins' may do this"),
    case("bob", "ls /projects", 1, "/projects: no such item"),
    case("bob", "get /projects/notes", 1, "/projects/notes: no such item"),
    case("bob", "set /projects/notes title=x", 1, "/projects/notes: no such item"),
    case("bob", "rm /projects/notes", 1, "/projects/notes: no such item"),
    case("bob", "create /projects/b --type Folder", 1, "/projects: parent folder does not exist"),
    case("bob", "find /projects", 1, "/projects: no such item"),
    case("bob", "tree /secret-folder", 1, "/secret-folder: no such item"),
    case("bob", "ls /home/alice", 1, "/home/alice: no such item"),
    case("carol", "ls /projects/notes", 1, "/projects/notes: no such item"),
    case("carol", "set /projects/notes title=x", 1, "/projects/notes: no such item"),
    case("carol", "acl grant /projects carol read", 1, "/projects: no such item"),
]

# Commands that succeed (some of them write: those run after every refusal above).
ALLOWED = [
    case("alice", "ls /projects", 0, "notes"),
    case("alice", "get /projects/notes", 0, "attributes.title: N"),
    case("alice", "whoami", 0, "alice (authenticated, editors, public)"),
    case("alice", "acl /projects/notes", 0, "write\tyes\t/projects (group:editors)"),
    case("alice", "user show alice", 0, "alice"),
    case("alice", "token list alice", 0, ""),
    case("bob", "whoami", 0, "bob (authenticated, public)"),
    case("bob", "ls /home/bob", 0, ""),
    case("carol", "get /projects/carols", 0, "owner: carol"),
    case("carol", "acl /projects/carols", 0, "admin\tyes\towner (user:carol)"),
    case("admin", "ls /secret-folder", 0, "doc"),
    case("admin", "get /secret-folder/doc", 0, "attributes.title: S"),
    case("admin", "ls /system", 0, "accounts"),
    case("admin", "user list", 0, "carol"),
    case("admin", "acl /projects/notes --for alice", 0, "write\tyes\t/projects (group:editors)"),
    # writes
    case("alice", "set /projects/notes title=M", 0, "updated /projects/notes (version 2)"),
    case("alice", "create /projects/alices --type Document -a title=A", 0, "created /projects/alices"),
    case("alice", "token create alice --name mine", 0, "rn_"),
    case("bob", "create /home/bob/mine --type Document -a title=B", 0, "created /home/bob/mine"),
    case("carol", "create /projects/carols/c --type Document -a title=C", 0, "created /projects/carols/c"),
]


def check_case(cli, c: Case) -> str | None:
    """None when the command behaved as the table says; otherwise what went wrong."""
    result = act(cli, c.principal, *c.args)
    problems = []
    if result.code != c.code:
        problems.append(f"exit {result.code}, expected {c.code}")
    text = result.out if c.code == 0 else result.err
    if c.fragment not in text:
        problems.append(f"{c.fragment!r} not in {text.strip()[:200]!r}")
    if "Traceback" in result.err:
        problems.append("a traceback")
    if c.code != 0 and len(result.err.strip().splitlines()) != 1:
        problems.append(f"not one line: {result.err!r}")
    return f"{c.label}: {'; '.join(problems)}" if problems else None


def test_refused_commands_change_nothing(cli, world):
    before = snapshot(cli)
    failures = []
    for c in REFUSED:
        if (failure := check_case(cli, c)):
            failures.append(failure)
        elif snapshot(cli) != before:
            failures.append(f"{c.label}: refused, yet the store changed")
            before = snapshot(cli)
    assert not failures, "\n".join(failures)


def test_allowed_commands(cli, world):
    failures = [f for c in ALLOWED if (f := check_case(cli, c))]
    # The writes took effect, as who made them.
    notes = json.loads(ok(cli, ADMIN, "get", "/projects/notes", "-o", "json").out)
    mine = json.loads(ok(cli, ADMIN, "get", "/projects/alices", "-o", "json").out)
    theirs = json.loads(ok(cli, ADMIN, "get", "/projects/carols/c", "-o", "json").out)
    assert (notes["attributes"]["title"], mine["owner"], theirs["owner"]) == ("M", "alice", "carol")
    assert not failures, "\n".join(failures)


# -- something you may not read does not exist for you ---------------------------------

HIDDEN = "secret-folder"
MISSING = "nothing-here"

# Each is run against the hidden folder and against a path that does not exist at all:
# the two answers must be the same, word for word (up to the name itself).
PROBES = [
    "ls /secret-folder",
    "ls /secret-folder/*",
    "get /secret-folder/doc",
    "cat /secret-folder/doc",
    "set /secret-folder/doc title=x",
    "rm /secret-folder/doc",
    "rm -r -f /secret-folder",
    "mv /secret-folder/doc /home/{me}/doc",
    "find /secret-folder",
    "tree /secret-folder",
    "acl /secret-folder",
    "acl grant /secret-folder {me} read",
    "export /secret-folder",
    "create /secret-folder/x --type Folder",
    "create -p /secret-folder/new/x --type Folder",
    "cp /projects/notes /secret-folder",
    "cp /projects/notes /secret-folder/copy",
    "import {file} /secret-folder",
]


def test_hidden_items_answer_like_missing_ones(cli, world, tmp_path):
    exported = tmp_path / "note.json"
    ok(cli, ADMIN, "export", "/projects/notes", "-f", str(exported))
    before = snapshot(cli)
    failures = []
    for principal in ("alice", "bob"):
        for probe in PROBES:
            command = probe.format(me=principal, file=exported)
            if principal == "bob" and "/projects/notes" in command:
                continue  # bob cannot read the source either
            hidden = act(cli, principal, *command.split())
            missing = act(cli, principal, *command.replace(HIDDEN, MISSING).split())
            if hidden.code != 1 or "Traceback" in hidden.err:
                failures.append(f"{principal}: {command}: exit {hidden.code} {hidden.err!r}")
            elif (hidden.code, hidden.err.replace(HIDDEN, MISSING)) != (missing.code, missing.err):
                failures.append(f"{principal}: {command}: hidden says {hidden.err.strip()!r}, "
                                f"missing says {missing.err.strip()!r}")
    if snapshot(cli) != before:
        failures.append("the probes changed the store")
    assert not failures, "the existence of a hidden item shows:\n" + "\n".join(failures)


# -- listings and searches hold exactly what may be read -----------------------------

# What each principal may read through ACL entries (the reference model): the built-in
# read for `authenticated`, the editors' grant, and every account's own home.
READ_ROOTS = {
    "alice": ("/apps", "/types", "/projects", "/home/alice"),
    "bob": ("/apps", "/types", "/home/bob"),
    "carol": ("/apps", "/types", "/home/carol"),
}


def everything(cli) -> list[dict]:
    return json.loads(ok(cli, ADMIN, "find", "/", "--limit", "100000", "-o", "json").out)["items"]


def readable(items: list[dict], principal: str) -> list[str]:
    return [i["path"] for i in items
            if i["owner"] == principal or any(paths.is_within(i["path"], r) for r in READ_ROOTS[principal])]


def listing(cli, principal: str, *args: str) -> list[str]:
    data = json.loads(ok(cli, principal, *args, "-o", "json").out)
    assert data["next_cursor"] is None
    return [i["path"] for i in data["items"]]


def tree_paths(node: dict) -> list[str]:
    return [node["path"], *(p for kid in node.get("children", ()) for p in tree_paths(kid))]


def test_listings_and_searches_hold_exactly_what_may_be_read(cli, world):
    items = everything(cli)
    assert {"/projects/notes", "/secret-folder/doc", "/system/accounts/alice"} <= {i["path"] for i in items}
    for principal in READ_ROOTS:
        expected = readable(items, principal)
        found = listing(cli, principal, "find", "/", "--limit", "100000")
        assert found == expected, principal
        documents = listing(cli, principal, "find", "/", "--type", "Document")
        assert documents == [i["path"] for i in items if i["type"] == "Document" and i["path"] in expected]
        top = listing(cli, principal, "ls", "/")
        on_the_way = {"/" + r.split("/")[1] for r in READ_ROOTS[principal] if r.count("/") > 1}
        assert top == sorted({p for p in expected if paths.parent_of(p) == "/"} | on_the_way), principal
    assert listing(cli, "alice", "find", "/", "--type", "Document") == ["/projects/notes"]
    assert listing(cli, "bob", "find", "/", "--type", "Document") == []
    assert listing(cli, "carol", "find", "/", "--type", "Document") == []
    assert listing(cli, "alice", "ls", "/projects") == ["/projects/carols", "/projects/notes"]
    # /home leads to each one's home (an ACL entry of their own there), shown by name only.
    assert listing(cli, "alice", "ls", "/") == ["/apps", "/home", "/projects", "/types"]
    assert listing(cli, "bob", "ls", "/") == ["/apps", "/home", "/types"]
    # A folder on the way to what you may read can be listed, showing only that.
    assert listing(cli, "alice", "ls", "/home") == ["/home/alice"]
    assert listing(cli, "bob", "ls", "/home") == ["/home/bob"]
    # Searches by name find nothing hidden either.
    assert listing(cli, "bob", "find", "/", "--name", "*") == readable(items, "bob")
    assert listing(cli, "alice", "find", "/", "--name", "doc") == []
    assert listing(cli, "alice", "find", "/", "--name", "admins") == []


def test_admin_sees_everything(cli, world):
    items = everything(cli)
    paths_seen = {i["path"] for i in items}
    assert {"/secret-folder/doc", "/projects/carols", "/system/accounts/carol", "/system/groups/editors",
            "/home/alice", "/home/bob"} <= paths_seen
    assert listing(cli, ADMIN, "ls", "/") == ["/apps", "/clusters", "/home", "/projects", "/secret-folder",
                                               "/system", "/types"]
    assert listing(cli, ADMIN, "find", "/", "--type", "Document") == ["/projects/notes", "/secret-folder/doc"]
    tree = json.loads(ok(cli, ADMIN, "tree", "/", "-o", "json").out)
    assert set(tree_paths(tree)) == paths_seen | {"/"}
    whoami = json.loads(ok(cli, ADMIN, "whoami", "-o", "json").out)
    assert whoami["admin"] is True and "admins" in whoami["groups"]


def test_tree_shows_what_may_be_read_and_nothing_else(cli, world):
    items = everything(cli)
    left_out = {}
    for principal in READ_ROOTS:
        expected = set(readable(items, principal))
        shown = set(tree_paths(json.loads(ok(cli, principal, "tree", "/", "-o", "json").out))) - {"/"}
        text = ok(cli, principal, "tree", "/").out
        assert "secret-folder" not in text and "system" not in text, principal
        hidden = shown - expected
        # Only folders on the way to something readable may show beyond the readable items.
        assert all(any(paths.is_within(p, h) for p in expected) for h in hidden), (principal, hidden)
        assert not any(paths.is_within(p, "/secret-folder") or paths.is_within(p, "/system") for p in shown)
        # Every readable item shows, e.g. your own home folder.
        if not expected <= shown:
            left_out[principal] = sorted(expected - shown)
    assert not left_out, f"tree / leaves out readable items: {left_out}"


def test_owner_may_list_the_way_to_their_item(cli, world):
    # carol owns /projects/carols but may not read /projects: its path shows that /projects
    # exists, so (as for a folder on the way to an ACL grant) she may list it, seeing only hers.
    assert listing(cli, "carol", "find", "/projects/carols") == []
    assert "/projects/carols" in listing(cli, "carol", "find", "/", "--type", "Folder")
    assert listing(cli, "carol", "ls", "/projects") == ["/projects/carols"]


# -- effective permissions, shown and changed ----------------------------------------


def test_acl_shows_where_permissions_come_from_and_revoking_takes_them_away(cli, world):
    shown = ok(cli, ADMIN, "acl", "/projects/notes", "--for", "alice").out
    assert "/projects/notes for alice:" in shown
    rows = {line.split("\t")[0]: line.split("\t")[1:] for line in shown.splitlines() if "\t" in line}
    assert rows["read"] == ["yes", "/projects (group:editors)"]
    assert rows["write"] == ["yes", "/projects (group:editors)"]
    assert rows["create"] == ["yes", "/projects (group:editors)"]
    assert rows["delete"][0] == "no" and rows["admin"][0] == "no"
    data = json.loads(ok(cli, ADMIN, "acl", "/projects/notes", "--for", "alice", "-o", "json").out)
    write = next(p for p in data["permissions"] if p["permission"] == "write")
    assert write == {"permission": "write", "granted": True, "source": "/projects",
                     "principal": "group:editors"}
    # alice sees the same about herself.
    assert ok(cli, "alice", "acl", "/projects/notes").out == shown

    ok(cli, "alice", "set", "/projects/notes", "title=before")
    revoked = ok(cli, ADMIN, "acl", "revoke", "/projects", "editors", "write")
    assert revoked.out == "/projects: group:editors read,create\n"
    before = snapshot(cli)
    refused = act(cli, "alice", "set", "/projects/notes", "title=after")
    assert refused.code == 1 and refused.err == "realnet: /projects/notes: alice may not write here\n"
    assert snapshot(cli) == before
    assert ok(cli, "alice", "get", "/projects/notes").out.count("attributes.title: before") == 1
    data = json.loads(ok(cli, ADMIN, "acl", "/projects/notes", "--for", "alice", "-o", "json").out)
    assert {p["permission"]: p["granted"] for p in data["permissions"]} == {
        "read": True, "write": False, "create": True, "delete": False, "admin": False}
    # Still allowed: what the remaining entry grants.
    ok(cli, "alice", "create", "/projects/later", "--type", "Folder")
    ok(cli, ADMIN, "acl", "revoke", "/projects", "editors")
    gone = act(cli, "alice", "get", "/projects")
    assert gone.code == 1 and gone.err == "realnet: /projects: no such item\n"
    # What she owns stays hers, and the way to it can be listed, showing only that.
    assert act(cli, "alice", "ls", "/projects").out == "later\n"
    assert act(cli, "alice", "get", "/projects/notes").err == "realnet: /projects/notes: no such item\n"


def test_acl_entries_show_only_to_those_who_may_change_them(cli, world):
    # The table leaves the entries out for someone without admin permission; so must JSON.
    table = ok(cli, "alice", "acl", "/projects").out
    assert "entries here" not in table and "editors read" not in table
    data = json.loads(ok(cli, "alice", "acl", "/projects", "-o", "json").out)
    assert not data.get("entries"), f"alice learns the ACL entries of /projects: {data['entries']}"
    admin_view = json.loads(ok(cli, ADMIN, "acl", "/projects", "-o", "json").out)
    assert admin_view["entries"] == [{"principal": "group:editors", "permissions": ["read", "write", "create"]}]


def test_revealing_a_secret_needs_write(cli, world):
    ok(cli, ADMIN, "create", "/types/Login", "--type", "Type", "-a",
       'definition={"name": "Login", "base": "Item", "attributes": {"password": "secret"}}')
    ok(cli, ADMIN, "create", "/projects/creds", "--type", "Login", "-a", "password=hunter2-but-longer")
    ok(cli, ADMIN, "acl", "grant", "/projects/creds", "bob", "read")
    assert "attributes.password: <redacted>" in ok(cli, "bob", "get", "/projects/creds").out
    before = snapshot(cli)
    refused = act(cli, "bob", "get", "--reveal", "/projects/creds")
    assert refused.code == 1 and refused.err == "realnet: /projects/creds: bob may not write here\n"
    assert "hunter2" not in refused.out
    assert act(cli, "carol", "get", "--reveal", "/projects/creds").err == \
        "realnet: /projects/creds: no such item\n"
    assert snapshot(cli) == before
    assert "attributes.password: hunter2-but-longer" in ok(cli, "alice", "get", "--reveal", "/projects/creds").out
    assert "attributes.password: hunter2-but-longer" in ok(cli, ADMIN, "get", "--reveal", "/projects/creds").out
