"""No password, token or secret value is ever stored or shown in plaintext, on both stores;
the key protects the secrets and a wrong key is reported, never written over."""

from __future__ import annotations

import hashlib
import json
import os
import stat
from pathlib import Path

import psycopg
import pytest
import yaml
from cryptography.fernet import Fernet

from realnet.commands.session import Session
from realnet.config import load_settings
from realnet.shell.repl import history_path

PASSWORD = "correct-horse-battery-staple-42"
SECRET = "s3cret-value-Zq9-first"
CHANGED = "s3cret-value-Zq9-changed"
IMPORTED = "s3cret-value-Zq9-imported"
LOGIN = 'definition={"name": "Login", "base": "Item", "attributes": {"password": "secret"}}'


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, monkeypatch) -> str:
    if request.param == "postgresql":
        url = request.getfixturevalue("pg_schema")
        monkeypatch.setenv("REALNET_DB_TYPE", "postgresql")
        monkeypatch.setenv("REALNET_DB_URL", url)
        monkeypatch.setenv("REALNET_SECRET_KEY", Fernet.generate_key().decode())
    return request.param


def ok(cli, *args: str, stdin: str | None = None):
    result = cli(*args, stdin=stdin)
    assert result.code == 0, (args, result.err)
    return result


def raw_store(store: str, home: Path) -> bytes:
    """Every byte the store keeps: the SQLite files (with the WAL), or PostgreSQL's tables."""
    if store == "sqlite":
        files = sorted(home.glob("realnet.db*"))
        assert home / "realnet.db" in files
        return b"".join(f.read_bytes() for f in files)
    with psycopg.connect(os.environ["REALNET_DB_URL"], autocommit=True) as conn:
        tables = [r[0] for r in conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()")]
        assert "items" in tables
        rows = conn.execute("SELECT items::text FROM items").fetchall()
        for table in tables:  # and whatever else the schema holds
            rows += conn.execute(f'SELECT t::text FROM "{table}" t').fetchall()  # noqa: S608
    return "\n".join(r[0] for r in rows).encode()


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def secrets_stored(cli, store, tmp_path) -> dict[str, str]:
    """A password, a token and secret attribute values, written every way there is."""
    added = ok(cli, "user", "add", "alice", "--password-stdin", stdin=PASSWORD + "\n")
    assert PASSWORD not in added.out + added.err
    issued = ok(cli, "token", "create", "alice", "--name", "ci", "-o", "json")
    token = json.loads(issued.out)["token"]
    ok(cli, "create", "/types/Login", "--type", "Type", "-a", LOGIN)
    ok(cli, "create", "/projects", "--type", "Folder")
    created = ok(cli, "create", "/projects/creds", "--type", "Login", "-a", f"password={SECRET}")
    ok(cli, "create", "/projects/other", "--type", "Login", "-a", f"password={SECRET}")
    changed = ok(cli, "set", "/projects/other", f"password={CHANGED}")
    document = {"format": "realnet-export", "version": 1, "root": "/imported",
                "items": [{"path": ".", "type": "Login", "attributes": {"password": IMPORTED}}]}
    (tmp_path / "imported.json").write_text(json.dumps(document))
    ok(cli, "import", str(tmp_path / "imported.json"), "/projects/imported")
    for result in (created, changed):
        assert SECRET not in result.out + result.err and CHANGED not in result.out + result.err
    return {"password": PASSWORD, "token": token, "secret": SECRET, "changed": CHANGED, "imported": IMPORTED}


def test_nothing_is_stored_in_plaintext(cli, store, secrets_stored, realnet_home):
    data = raw_store(store, realnet_home)
    # The scan sees the store: the token's digest and the ciphertexts are there.
    digest = hashlib.sha256(secrets_stored["token"].encode()).hexdigest()
    assert digest.encode() in data and b"fernet:" in data and b"/projects/creds" in data
    found = {what for what, value in secrets_stored.items() if value.encode() in data}
    assert not found, f"stored in plaintext: {sorted(found)}"
    assert secrets_stored["token"][3:].encode() not in data


def test_nothing_is_shown_in_plaintext(cli, store, secrets_stored):
    token = secrets_stored["token"]
    digest = hashlib.sha256(token.encode()).hexdigest()
    views = {
        " ".join(args): ok(cli, *args)
        for args in [
            ("get", "/projects/creds"),
            ("get", "/projects/creds", "-o", "json"),
            ("get", "/projects/creds", "-o", "yaml"),
            ("get", "/projects/other", "-o", "json"),
            ("get", "/projects/imported", "-o", "json"),
            ("ls", "-l", "/projects"),
            ("ls", "-l", "/projects", "-o", "json"),
            ("ls", "-l", "/projects", "-o", "yaml"),
            ("find", "/", "-l", "-o", "json"),
            ("tree", "/", "-o", "json"),
            ("export", "/"),
            ("export", "/", "--format", "yaml"),
            ("get", "/system/accounts/alice", "-o", "json"),
            ("get", f"/system/tokens/{digest}", "-o", "json"),
            ("ls", "-l", "/system/tokens", "-o", "json"),
            ("user", "show", "alice", "-o", "json"),
            ("user", "list", "-o", "json"),
            ("token", "list", "alice", "-o", "json"),
            ("get", "--reveal", "/system/accounts/alice"),  # the hash, never the password
        ]
    }
    leaks = [f"{view}: {what}" for view, result in views.items()
             for what, value in secrets_stored.items() if value in result.out + result.err]
    assert not leaks, "shown in plaintext:\n" + "\n".join(leaks)

    assert json.loads(views["get /projects/creds -o json"].out)["attributes"]["password"] == "<redacted>"
    assert yaml.safe_load(views["get /projects/creds -o yaml"].out)["attributes"]["password"] == "<redacted>"
    assert "attributes.password: <redacted>" in views["get /projects/creds"].out
    listed = json.loads(views["ls -l /projects -o json"].out)["items"]
    assert {i["name"]: i["attributes"]["password"] for i in listed} == dict.fromkeys(
        ("creds", "imported", "other"), "<redacted>")
    account = json.loads(views["get /system/accounts/alice -o json"].out)
    assert account["attributes"]["password_hash"] == "<redacted>"
    assert json.loads(views["user show alice -o json"].out)["password"] == "set"
    # Export carries the ciphertext, so that an import restores the secret.
    exported = {e["path"]: e for e in json.loads(views["export /"].out)["items"]}
    assert exported["projects/creds"]["attributes"]["password"].startswith("fernet:")
    assert exported["system/accounts/alice"]["attributes"]["password_hash"].startswith("fernet:")
    # Only the token's digest names its item; the token itself is printed once, at creation.
    assert token not in ok(cli, "find", "/system/tokens", "-o", "json").out

    # Those who may write the item see its secret when they ask for it.
    assert f"attributes.password: {SECRET}" in ok(cli, "get", "--reveal", "/projects/creds").out
    revealed = json.loads(ok(cli, "get", "--reveal", "/projects/other", "-o", "json").out)
    assert revealed["attributes"]["password"] == CHANGED
    revealed = json.loads(ok(cli, "get", "--reveal", "/projects/imported", "-o", "json").out)
    assert revealed["attributes"]["password"] == IMPORTED


def test_a_secret_that_looks_encrypted_is_still_encrypted(cli, store, secrets_stored, realnet_home):
    # A value is sealed because it came from a person, not because of how it begins.
    tricky = "fernet:plain-text-but-secret-77"
    ok(cli, "create", "/projects/tricky", "--type", "Login", "-a", f"password={tricky}")
    leaked = b"plain-text-but-secret-77" in raw_store(store, realnet_home)
    assert not leaked, f"a secret beginning with 'fernet:' is stored in plaintext: {tricky!r}"
    revealed = cli("get", "--reveal", "/projects/tricky", "-o", "json")
    assert revealed.code == 0, revealed.err
    assert json.loads(revealed.out)["attributes"]["password"] == tricky


def test_key_and_history_files_are_private(cli, store, secrets_stored, realnet_home):
    key = realnet_home / "secret.key"
    if store == "sqlite":
        assert mode_of(key) == 0o600
        Fernet(key.read_text().strip().encode())  # a valid key
    else:
        assert not key.exists()  # a shared store takes its key from REALNET_SECRET_KEY only
    history = realnet_home / "history"
    if history.exists():
        assert mode_of(history) == 0o600
    # The shell's history file is made private, and so is one that was not.
    session = Session(settings=load_settings())
    assert Path(history_path(session)) == history
    assert mode_of(history) == 0o600
    history.chmod(0o644)
    history_path(session)
    assert mode_of(history) == 0o600


# -- the key -----------------------------------------------------------------------------


def right_key(monkeypatch, store: str, key: str | None) -> None:
    if key is None:
        monkeypatch.delenv("REALNET_SECRET_KEY", raising=False)  # the key file, for SQLite
    else:
        monkeypatch.setenv("REALNET_SECRET_KEY", key)


def test_a_wrong_key_is_reported_and_nothing_is_written_over(cli, store, secrets_stored, monkeypatch):
    good = os.environ.get("REALNET_SECRET_KEY")
    before = ok(cli, "export", "/").out
    stored = {e["path"]: e["attributes"] for e in json.loads(before)["items"]}["projects/creds"]["password"]

    monkeypatch.setenv("REALNET_SECRET_KEY", Fernet.generate_key().decode())
    wrong = cli("get", "--reveal", "/projects/creds")
    assert wrong.code == 1, wrong.out
    assert len(wrong.err.strip().splitlines()) == 1 and "Traceback" not in wrong.err
    assert "REALNET_SECRET_KEY" in wrong.err and "/projects/creds" in wrong.err
    assert SECRET not in wrong.out + wrong.err
    # Reading, listing and exporting with the wrong key change nothing.
    ok(cli, "get", "/projects/creds")
    ok(cli, "ls", "-l", "/projects")
    assert ok(cli, "export", "/").out == before

    right_key(monkeypatch, store, good)
    after = ok(cli, "export", "/").out
    assert after == before
    assert {e["path"]: e["attributes"] for e in json.loads(after)["items"]}["projects/creds"]["password"] == stored
    revealed = json.loads(ok(cli, "get", "--reveal", "/projects/creds", "-o", "json").out)
    assert revealed["attributes"]["password"] == SECRET


def test_an_invalid_key_is_named(cli, store, secrets_stored, monkeypatch):
    good = os.environ.get("REALNET_SECRET_KEY")
    before = ok(cli, "export", "/").out
    for bad_key in ["not-a-key", "c2hvcnQ=", "x" * 44]:
        monkeypatch.setenv("REALNET_SECRET_KEY", bad_key)
        for args in [("get", "--reveal", "/projects/creds"),
                     ("create", "/projects/new", "--type", "Login", "-a", "password=whatever-it-is")]:
            result = cli(*args)
            assert result.code == 1, (bad_key, args, result.out)
            assert result.err.startswith("realnet: REALNET_SECRET_KEY: not a valid key"), result.err
            assert len(result.err.strip().splitlines()) == 1 and "Traceback" not in result.err
            assert bad_key not in result.err and SECRET not in result.out
    right_key(monkeypatch, store, good)
    assert ok(cli, "export", "/").out == before
    assert f"attributes.password: {SECRET}" in ok(cli, "get", "--reveal", "/projects/creds").out
