"""Bad input and attacks on identity and access: each is refused with one clear line,
exit code 1 (2 for a usage mistake), no traceback, and a store exactly as it was."""

from __future__ import annotations

import hashlib
import json
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from cryptography.fernet import Fernet

from realnet.app import open_context
from realnet.config import load_settings
from realnet.resources.accounts import Directory, InvalidToken

PASSWORD = "averyl0ngpassword"
REFUSAL = "token: not valid (unknown, malformed, expired or revoked)"


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, monkeypatch) -> str:
    if request.param == "postgresql":
        url = request.getfixturevalue("pg_schema")
        monkeypatch.setenv("REALNET_DB_TYPE", "postgresql")
        monkeypatch.setenv("REALNET_DB_URL", url)
        monkeypatch.setenv("REALNET_SECRET_KEY", Fernet.generate_key().decode())
    return request.param


@contextmanager
def directory(principal: str = "admin") -> Iterator[Directory]:
    """The accounts of the configured store, through the context every face uses."""
    context = open_context(load_settings(), principal=principal)
    try:
        yield Directory(context)
    finally:
        context.provider.close()


def ok(cli, *args: str, stdin: str | None = None):
    result = cli(*args, stdin=stdin)
    assert result.code == 0, (args, result.err)
    return result


def snapshot(cli) -> str:
    return ok(cli, "export", "/").out


@pytest.fixture
def world(cli) -> None:
    """Embedded store: /projects for editors (alice), a hidden /secret-folder, bob in no group."""
    script = "; ".join([
        "create /projects --type Folder",
        "create /projects/notes --type Document -a title=N",
        "create /secret-folder --type Folder",
        "create /secret-folder/doc --type Document -a title=S",
        "user add bob",
        "group add editors",
        "acl grant /projects editors read,write,create",
        "token create bob --name ci",
    ])
    result = cli("shell", "-c", script)
    assert result.code == 0, result.err
    ok(cli, "user", "add", "alice", "--password-stdin", stdin=PASSWORD + "\n")
    ok(cli, "group", "member", "add", "editors", "alice")


AS_ALICE = ("--as", "alice")

# (arguments, standard input, exit code, message fragment)
ATTACKS = [
    # unknown accounts and groups
    (("group", "member", "add", "editors", "nobody"), None, 1, "nobody: no such account"),
    (("group", "member", "add", "nogroup", "alice"), None, 1, "nogroup: no such group"),
    (("group", "member", "add", "public", "alice"), None, 1, "public: membership of this group is implicit"),
    (("acl", "grant", "/projects", "nobody", "read"), None, 1, "nobody: no such account or group"),
    (("acl", "grant", "/projects", "user:nobody", "read"), None, 1, "nobody: no such account"),
    (("acl", "grant", "/projects", "group:nobody", "read"), None, 1, "nobody: no such group"),
    (("--as", "nobody", "ls", "/"), None, 1, "nobody: no such account"),
    (("--as", "editors", "ls", "/"), None, 1, "editors: no such account"),
    (("--as", "Nobody", "ls", "/"), None, 1, "account name 'Nobody': expected lower-case letters"),
    (("--as", "../groups/admins", "ls", "/"), None, 1, "account name '../groups/admins'"),
    (("token", "create", "nobody", "--name", "x"), None, 1, "nobody: no such account"),
    # passwords
    (("user", "add", "dave", "--password-stdin"), "short\n", 1,
     "password: at least 12 characters are required (an admin may pass --allow-weak)"),
    (("user", "add", "dave", "--password-stdin"), "elevenchars\n", 1, "password: at least 12 characters"),
    (("user", "add", "dave", "--password-stdin"), "\n", 1, "password: must not be empty"),
    (("user", "add", "dave", "--password-stdin"), "", 2, "--password-stdin: nothing on standard input"),
    (("user", "passwd", "alice", "--password-stdin"), "", 2, "--password-stdin: nothing on standard input"),
    (("user", "passwd", "alice"), None, 2, "no terminal to ask on; pass --password-stdin"),
    ((*AS_ALICE, "user", "passwd", "--password-stdin", "--allow-weak"), "short\n", 1,
     "--allow-weak: only members of 'admins' may do this"),
    ((*AS_ALICE, "user", "passwd", "--password-stdin"), "short\n", 1, "password: at least 12 characters"),
    ((*AS_ALICE, "user", "passwd", "bob", "--password-stdin"), PASSWORD + "\n", 1,
     "user passwd: only members of 'admins' may do this"),
    # names
    (("user", "add", "Bad Name"), None, 1, "account name 'Bad Name': expected lower-case letters"),
    (("user", "add", "editors"), None, 1, "editors (a group of that name exists)"),
    (("user", "add", "admins"), None, 1, "admins (a group of that name exists)"),
    (("user", "add", "alice"), None, 1, "alice: an item with this name already exists"),
    (("group", "add", "alice"), None, 1, "alice (an account of that name exists)"),
    (("user", "rm", "admin"), None, 1, "admin: you cannot remove the account you act as"),
    (("user", "rm", "nobody"), None, 1, "nobody: no such account"),
    (("group", "member", "rm", "admins", "admin"), None, 1, "admin: you cannot remove yourself from admins"),
    (("group", "rm", "admins"), None, 1, "admins: a built-in group cannot be removed"),
    (("token", "create", "bob", "--name", "ci"), None, 1, "token ci of bob: an item with this name already exists"),
    (("token", "create", "bob", "--name", "x", "--expires", "0d"), None, 1, "--expires '0d': expected a duration"),
    (("token", "create", "bob", "--name", "x", "--expires", "forever"), None, 1, "--expires 'forever'"),
    (("token", "revoke", "bob", "nope"), None, 1, "token nope of bob: no such token"),
    # ACL changes
    (("acl", "grant", "/missing", "alice", "read"), None, 1, "/missing: no such item"),
    (("acl", "grant", "/projects", "alice", "read,fly"), None, 1, "permissions 'read,fly': expected"),
    (("acl", "revoke", "/projects", "bob"), None, 1, "/projects: user:bob: no ACL entry for this principal here"),
    (("acl", "grant", "/projects", "alice"), None, 2, "Missing argument 'PERMISSIONS'"),
    ((*AS_ALICE, "acl", "grant", "/projects", "alice", "all"), None, 1, "/projects: alice may not admin here"),
    ((*AS_ALICE, "acl", "grant", "/projects/notes", "bob", "read"), None, 1,
     "/projects/notes: alice may not admin here"),
    ((*AS_ALICE, "acl", "revoke", "/projects", "editors"), None, 1, "/projects: alice may not admin here"),
    ((*AS_ALICE, "acl", "grant", "/secret-folder", "alice", "read"), None, 1, "/secret-folder: no such item"),
    ((*AS_ALICE, "acl", "grant", "/missing", "alice", "read"), None, 1, "/missing: no such item"),
    # a non-admin making themselves an admin
    ((*AS_ALICE, "group", "member", "add", "admins", "alice"), None, 1,
     "group member: only members of 'admins' may do this"),
    ((*AS_ALICE, "set", "/system/groups/admins", 'members=["admin", "alice"]'), None, 1,
     "/system/groups/admins: no such item"),
    ((*AS_ALICE, "create", "/system/groups/mine", "--type", "Group"), None, 1,
     "/system/groups: parent folder does not exist"),
    ((*AS_ALICE, "mv", "/home/alice", "/system/accounts/alice2"), None, 1, "/system/accounts: parent folder"),
    ((*AS_ALICE, "user", "add", "mallory", "--service"), None, 1, "user add: only members of 'admins'"),
    ((*AS_ALICE, "user", "rm", "bob"), None, 1, "user rm: only members of 'admins'"),
    ((*AS_ALICE, "group", "rm", "editors"), None, 1, "group rm: only members of 'admins'"),
    ((*AS_ALICE, "token", "create", "bob", "--name", "mine"), None, 1, "token create: only members of 'admins'"),
    ((*AS_ALICE, "token", "revoke", "bob", "ci"), None, 1, "token revoke: only members of 'admins'"),
    ((*AS_ALICE, "create", "/types/Evil", "--type", "Type", "-a", 'definition={"name": "Evil", "base": "Item"}'),
     None, 1, "/types: alice may not create here"),
    # a non-admin reading /system
    ((*AS_ALICE, "ls", "/system"), None, 1, "/system: no such item"),
    ((*AS_ALICE, "ls", "/system/tokens"), None, 1, "/system/tokens: no such item"),
    ((*AS_ALICE, "get", "/system/accounts/alice"), None, 1, "/system/accounts/alice: no such item"),
    ((*AS_ALICE, "get", "/system/groups/admins"), None, 1, "/system/groups/admins: no such item"),
    ((*AS_ALICE, "find", "/system"), None, 1, "/system: no such item"),
    ((*AS_ALICE, "tree", "/system"), None, 1, "/system: no such item"),
    ((*AS_ALICE, "export", "/system"), None, 1, "/system: no such item"),
    ((*AS_ALICE, "cp", "/system/accounts", "/home/alice/accounts"), None, 1, "/system/accounts: no such item"),
    ((*AS_ALICE, "ls", "/system/*"), None, 1, "/system: no such item"),
    ((*AS_ALICE, "user", "list"), None, 1, "user list: only members of 'admins'"),
    ((*AS_ALICE, "group", "list"), None, 1, "group list: only members of 'admins'"),
    ((*AS_ALICE, "user", "show", "bob"), None, 1, "user show: only members of 'admins'"),
    ((*AS_ALICE, "token", "list", "bob"), None, 1, "token list: only members of 'admins'"),
]


def test_attacks_are_refused_cleanly(cli, world):
    before = snapshot(cli)
    failures = []
    for args, stdin, code, fragment in ATTACKS:
        result = cli(*args, stdin=stdin)
        problems = []
        if result.code != code:
            problems.append(f"exit {result.code}, expected {code}")
        if fragment not in result.err:
            problems.append(f"{fragment!r} not in {result.err.strip()!r}")
        if "Traceback" in result.err or len(result.err.strip().splitlines()) != 1:
            problems.append(f"not one clean line: {result.err!r}")
        if snapshot(cli) != before:
            problems.append("the store changed")
            before = snapshot(cli)
        if problems:
            failures.append(f"{' '.join(args)}: {'; '.join(problems)}")
    assert not failures, "\n".join(failures)
    # alice is still no admin, and nobody is anywhere.
    whoami = json.loads(ok(cli, "--as", "alice", "whoami", "-o", "json").out)
    assert whoami["admin"] is False and whoami["groups"] == ["authenticated", "editors", "public"]
    groups = json.loads(ok(cli, "group", "list", "-o", "json").out)
    assert {g["name"]: g["members"] for g in groups if g["name"] in ("admins", "editors")} == \
        {"admins": "admin", "editors": "alice"}


def test_acting_as_nobody_in_particular_is_refused(cli, world):
    # An empty --as (a script's unset variable) must not quietly mean the administrator.
    result = cli("--as", "", "ls", "/secret-folder")
    assert result.code in (1, 2), f"--as '' acted as {cli('--as', '', 'whoami').out.strip()!r}"
    assert "doc" not in result.out
    assert "--as" in result.err and len(result.err.strip().splitlines()) == 1


def test_weak_password_needs_an_admin(cli, world):
    added = cli("user", "add", "dave", "--password-stdin", "--allow-weak", stdin="short\n")
    assert added.code == 0 and added.out == "added dave, home /home/dave\n", added.err
    changed = cli("user", "passwd", "alice", "--password-stdin", "--allow-weak", stdin="tiny\n")
    assert changed.code == 0 and changed.out == "password of alice changed\n", changed.err
    with directory() as accounts:
        assert accounts.authenticate("dave", "short") is True
        assert accounts.authenticate("alice", "tiny") is True
        assert accounts.authenticate("alice", PASSWORD) is False
    # Even --allow-weak does not allow an empty password.
    empty = cli("user", "add", "erin", "--password-stdin", "--allow-weak", stdin="\n")
    assert empty.code == 1 and empty.err == "realnet: password: must not be empty\n"
    # A non-admin may change their own password, to a strong one only.
    own = cli("--as", "bob", "user", "passwd", "--password-stdin", stdin="bob's own l0ng password\n")
    assert own.code == 0 and own.out == "password of bob changed\n", own.err
    with directory() as accounts:
        assert accounts.authenticate("bob", "bob's own l0ng password") is True


def test_passwords_are_verified(cli, world):
    ok(cli, "user", "add", "svc", "--service")
    with directory() as accounts:
        assert accounts.authenticate("alice", PASSWORD) is True
        assert accounts.authenticate("alice", PASSWORD + " ") is False
        assert accounts.authenticate("alice", PASSWORD.upper()) is False
        assert accounts.authenticate("alice", "") is False
        assert accounts.authenticate("nobody", PASSWORD) is False
        assert accounts.authenticate("Not A Name", PASSWORD) is False
        assert accounts.authenticate("svc", "") is False  # no password set: no way in with one
        assert accounts.authenticate("svc", PASSWORD) is False
    ok(cli, "set", "/system/accounts/alice", "disabled=true")
    with directory() as accounts:
        assert accounts.authenticate("alice", PASSWORD) is False
    disabled = cli("--as", "alice", "ls", "/")
    assert disabled.code == 1 and disabled.err == "realnet: alice: the account is disabled\n"


def test_unknown_account_costs_as_much_as_a_wrong_password(cli, world):
    """A security property, not a speed limit: the time must not tell whether an account exists."""
    with directory() as accounts:
        accounts.authenticate("nobody", "warm up the dummy hash")
        accounts.authenticate("alice", "warm up")
        unknown, known = [], []
        for _ in range(10):  # interleaved, so that a slow moment of the machine hits both
            start = time.perf_counter()
            assert accounts.authenticate("nobody-at-all", "a wrong password") is False
            unknown.append(time.perf_counter() - start)
            start = time.perf_counter()
            assert accounts.authenticate("alice", "a wrong password") is False
            known.append(time.perf_counter() - start)
    ratio = statistics.median(unknown) / statistics.median(known)
    assert 0.5 <= ratio <= 2.0, f"unknown {statistics.median(unknown):.4f}s vs known {statistics.median(known):.4f}s"


# -- tokens ---------------------------------------------------------------------------


def token_item(token: str) -> str:
    return "/system/tokens/" + hashlib.sha256(token.encode()).hexdigest()


def issue(cli, account: str, label: str, *extra: str) -> str:
    result = ok(cli, "token", "create", account, "--name", label, *extra, "-o", "json")
    token = json.loads(result.out)["token"]
    assert token.startswith("rn_") and len(token) == 46
    return token


def refused(token) -> str:
    """The message check_token refuses ``token`` with."""
    with directory() as accounts:
        try:
            account = accounts.check_token(token)
        except InvalidToken as e:
            return str(e)
        except Exception as e:
            pytest.fail(f"check_token({token!r}) failed with {type(e).__name__}: {e} instead of refusing")
    pytest.fail(f"check_token({token!r}) accepted it, as {account}")


def test_bad_tokens_are_refused_alike(cli, store):
    for name in ("bob", "carol", "dan"):
        ok(cli, "user", "add", name, "--service")
    good = issue(cli, "bob", "good")
    expiring = issue(cli, "bob", "soon", "--expires", "1m")
    revoked = issue(cli, "bob", "old")
    orphan = issue(cli, "carol", "ci")
    disabled = issue(cli, "dan", "ci")
    with directory() as accounts:
        assert accounts.check_token(good) == "bob"
        assert accounts.check_token(expiring) == "bob"  # not expired yet
        assert accounts.check_token(revoked) == "bob"
    ok(cli, "token", "revoke", "bob", "old")
    ok(cli, "set", token_item(expiring), "expires=2000-01-01T00:00:00+00:00")
    ok(cli, "user", "rm", "carol")
    ok(cli, "set", "/system/accounts/dan", "disabled=true")
    assert cli("get", token_item(orphan)).code == 1  # its tokens went with the account
    before = snapshot(cli)

    body = good[3:]
    bad = {
        "expired": expiring,
        "revoked": revoked,
        "of a removed account": orphan,
        "of a disabled account": disabled,
        "truncated by one": good[:-1],
        "truncated to half": good[:23],
        "one too long": good + "A",
        "prefix only": "rn_",
        "empty": "",
        "without its prefix": body,
        "another prefix": "xx_" + body,
        "well formed, never issued": "rn_" + ("A" * 43),
        "one character changed": good[:-1] + ("B" if good[-1] != "B" else "C"),
        "with a newline": good + "\n",
        "with spaces": f" {good} ",
        "its digest": hashlib.sha256(good.encode()).hexdigest(),
        "a path": "rn_../../accounts/admin" + "A" * 20,
        "not text": None,
        "bytes": good.encode(),
    }
    messages = {what: refused(token) for what, token in bad.items()}
    assert messages == dict.fromkeys(bad, REFUSAL)
    with directory() as accounts:
        assert accounts.check_token(good) == "bob"
    # Refusing writes nothing (accepting records the last use, at most once a minute: already done).
    assert snapshot(cli) == before


def test_expiry_written_without_a_zone_is_utc(cli, world):
    # `expires` is documented as UTC; a value set without an offset must still expire the token.
    token = issue(cli, "bob", "naive", "--expires", "1m")
    ok(cli, "set", token_item(token), "expires=2000-01-01T00:00:00")
    assert refused(token) == REFUSAL
    later = issue(cli, "bob", "later")
    ok(cli, "set", token_item(later), "expires=2999-01-01T00:00:00")
    with directory() as accounts:
        assert accounts.check_token(later) == "bob"


# -- secrets may not be read around the rule that revealing needs write ---------------

LOGIN = 'definition={"name": "Login", "base": "Item", "attributes": {"password": "secret"}}'
SECRET = "the-launch-code-1234"


@pytest.fixture
def credentials(cli, world) -> None:
    """/projects/creds holds a secret; bob may read the item, not write it."""
    ok(cli, "create", "/types/Login", "--type", "Type", "-a", LOGIN)
    ok(cli, "create", "/projects/creds", "--type", "Login", "-a", f"password={SECRET}")
    ok(cli, "acl", "grant", "/projects/creds", "bob", "read")
    denied = cli("--as", "bob", "get", "--reveal", "/projects/creds")
    assert denied.code == 1 and denied.err == "realnet: /projects/creds: bob may not write here\n"


def test_copying_a_secret_does_not_reveal_it(cli, credentials):
    copied = cli("--as", "bob", "cp", "/projects/creds", "/home/bob/creds")
    if copied.code == 0:
        shown = cli("--as", "bob", "get", "--reveal", "/home/bob/creds")
        assert SECRET not in shown.out, "bob read a secret he may not reveal by copying it to his home"
    else:
        assert len(copied.err.strip().splitlines()) == 1 and "Traceback" not in copied.err


def test_importing_a_stolen_ciphertext_does_not_reveal_it(cli, credentials, tmp_path):
    stolen = tmp_path / "creds.json"
    ok(cli, "--as", "bob", "export", "/projects/creds", "-f", str(stolen))
    document = json.loads(stolen.read_text())
    assert SECRET not in stolen.read_text()
    document["items"][0].pop("acl", None)  # only admins may import ACL entries
    stolen.write_text(json.dumps(document))
    imported = cli("--as", "bob", "import", str(stolen), "/home/bob/creds")
    if imported.code == 0:
        shown = cli("--as", "bob", "get", "--reveal", "/home/bob/creds")
        assert SECRET not in shown.out, "bob read a secret he may not reveal by importing its ciphertext"
    else:
        assert len(imported.err.strip().splitlines()) == 1 and "Traceback" not in imported.err


def owner_of(cli, path: str) -> str:
    return json.loads(ok(cli, "get", path, "-o", "json").out)["owner"]


def test_a_name_used_again_gets_nothing_of_the_removed_account(store, cli, world):
    """What a removed account owned passes to the administrator who removed it, and a new
    account of the same name is not handed the old home: it must be dealt with first."""
    ok(cli, *AS_ALICE, "create", "/projects/plan", "--type", "Document", "-a", "title=P")
    ok(cli, *AS_ALICE, "create", "/home/alice/diary", "--type", "Document", "-a", "title=D")
    assert owner_of(cli, "/projects/plan") == "alice"
    done = json.loads(ok(cli, "user", "rm", "alice", "-o", "json").out)
    assert done == {"removed": "alice", "owned_items_passed_to": "admin", "reassigned": 2,
                    "home": "/home/alice", "home_kept": True}
    assert owner_of(cli, "/projects/plan") == "admin" and owner_of(cli, "/home/alice/diary") == "admin"
    before = snapshot(cli)
    again = cli("user", "add", "alice", "--password-stdin", stdin=PASSWORD + "\n")
    assert again.code == 1
    assert again.err == ("realnet: /home/alice: the home folder of an earlier account of this name is still "
                         "there; remove it (rm -r /home/alice) or move it away first\n")
    assert snapshot(cli) == before
    ok(cli, "mv", "/home/alice", "/archive-alice", "-p")
    ok(cli, "user", "add", "alice", "--password-stdin", stdin=PASSWORD + "\n")
    assert cli(*AS_ALICE, "get", "/archive-alice/diary").code == 1  # not hers: it does not exist for her
    assert ok(cli, *AS_ALICE, "ls", "/home/alice").out == ""


def test_user_rm_remove_home_takes_the_home_and_its_content(store, cli, world, tmp_path, realnet_home):
    upload = tmp_path / "photo.bin"
    upload.write_bytes(b"\x00" * 5000)
    ok(cli, "--as", "bob", "put", str(upload), "/home/bob/photo.bin")
    key = json.loads(ok(cli, "get", "/home/bob/photo.bin", "-o", "json").out)["attributes"]["storage_key"]
    stored = realnet_home / "content" / key[:2] / key
    assert stored.is_file()
    done = ok(cli, "user", "rm", "bob", "--remove-home")
    assert done.out == "removed bob; 1 item(s) it owned now belong to admin; its home /home/bob is removed\n"
    assert cli("get", "/home/bob").code == 1
    assert not stored.exists()
    assert json.loads(ok(cli, "storage", "gc", "--grace", "0", "-o", "json").out)["removed"] == 0
