"""Every kind of bad input: one line naming what was wrong, the right exit code, no
traceback, and a store that is exactly as it was."""

from __future__ import annotations

import sqlite3
import subprocess
import sys

import pytest


@pytest.fixture
def store(cli):
    cli("create", "/projects", "--type", "Folder")
    cli("create", "/projects/notes", "--type", "Document", "-a", "title=Plan")
    cli("set", "/projects/notes", "title=Plan v2")

    def fingerprint() -> str:
        result = cli("export", "/")
        assert result.code == 0, result.err
        return result.out

    return fingerprint


CASES = [
    # (arguments, exit code, expected message fragment)
    (["create", "/projects/a\tb", "--type", "Folder"], 1, "control characters"),
    (["create", "/projects/..", "--type", "Folder"], 1, "'.' and '..' are not allowed as names"),
    (["create", "/projects/~", "--type", "Folder"], 1, "'~' is not allowed as the name of a new item"),
    (["create", "/projects/" + "x" * 300, "--type", "Folder"], 1, "at most 255 bytes"),
    (["create", "/nowhere/x", "--type", "Folder"], 1, "/nowhere: parent folder does not exist (use -p"),
    (["create", "/projects/notes", "--type", "Folder"], 1, "/projects/notes: an item with this name already exists"),
    (["create", "/projects/x", "--type", "Nope"], 1, "/projects/x: unknown type 'Nope'"),
    (["create", "/projects/notes/x", "--type", "Folder"], 1, "a Document cannot hold a Folder"),
    (["create", "/projects/f", "--type", "File", "-a", "size=big"], 1, "attribute 'size' is set by 'put' with the content"),
    (["create", "/projects/d", "--type", "Document"], 1, "attribute 'title' is required for a Document"),
    (["create", "/projects/d", "--type", "Document", "-a", "nonsense"], 2, "--attr 'nonsense': expected NAME=VALUE"),
    (["create", "/projects/d", "--type", "Document", "-a", "colour=red", "-a", "title=t"], 1, "has no attribute 'colour'"),
    (["set", "/projects/notes", "title=x", "--if-version", "1"], 1, "/projects/notes: version 1 is stale (current version is 2)"),
    (["set", "/projects/notes", "format=pdf"], 1, "attribute 'format' expects one of plain, markdown, html"),
    (["set", "/projects/nothing", "title=x"], 1, "/projects/nothing: no such item"),
    (["rm", "/projects"], 1, "/projects: not empty"),
    (["rm", "-r", "/projects"], 1, "needs confirmation and there is no terminal; pass --force"),
    (["rm", "-r", "-f", "/types"], 1, "/types: a built-in folder cannot be deleted"),
    (["rm", "-r", "-f", "/system"], 1, "/system: a built-in folder cannot be deleted"),
    (["mv", "/system/accounts", "/elsewhere"], 1, "/system/accounts: a built-in folder cannot be moved"),
    (["mv", "/projects", "/projects/notes/inside"], 1, "cannot move or copy /projects into itself"),
    (["ls", "/missing"], 1, "/missing: no such item"),
    (["ls", "--order", "size"], 2, "--order 'size': expected one of"),
    (["ls", "--cursor", "%%%"], 1, "not a cursor this store issued"),
    (["cd", "/projects/notes"], 1, "not a folder"),
    (["find", "/", "--type", "Nope"], 1, "unknown type 'Nope'"),
    (["ls", "--bogus"], 2, "No such option '--bogus'"),
    (["create"], 2, "Missing argument 'PATH'"),
    (["nonsense"], 2, "No such command 'nonsense'"),
]


@pytest.mark.parametrize(("args", "code", "message"), CASES, ids=[" ".join(c[0])[:40] for c in CASES])
def test_bad_input_is_refused_cleanly(cli, store, args, code, message):
    before = store()
    result = cli(*args)
    assert result.code == code
    assert message in result.err
    assert len(result.err.strip().splitlines()) == 1, result.err
    assert "Traceback" not in result.err
    assert store() == before


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        ('{"format": "realnet-export", "items": [', "bad.json", "bad.json: malformed JSON at line 1"),
        ("format: [unclosed", "bad.yaml", "bad.yaml: malformed YAML at line"),
        ('{"format": "other", "version": 1, "items": []}', "other.json", "'format' must be 'realnet-export'"),
        ('{"format": "realnet-export", "version": 1, "items": [{"path": ".", "type": "Folder"}, '
         '{"path": "a/b", "type": "Folder"}]}', "orphan.json", "items[1] (a/b): its parent must come before it"),
        ('{"format": "realnet-export", "version": 1, "items": [{"path": ".", "type": "Folder"}, '
         '{"path": "x", "type": "Ghost"}]}', "ghost.json", "unknown type 'Ghost'"),
    ],
)
def test_bad_import_files(cli, store, tmp_path, content, name, message):
    path = tmp_path / name
    path.write_text(content)
    before = store()
    result = cli("import", str(path), "/restored")
    assert result.code == 1 and message in result.err, result.err
    assert store() == before


def test_import_missing_file(cli):
    result = cli("import", "/no/such/file.json", "/x")
    assert result.code == 1 and "/no/such/file.json: no such file" in result.err


def run_realnet(env_home, *args, env=None):
    import os

    environment = {**os.environ, "REALNET_HOME": str(env_home), **(env or {})}
    return subprocess.run([sys.executable, "-m", "realnet", *args], capture_output=True,
                          text=True, env=environment, timeout=60)


def test_corrupt_database_file(tmp_path):
    home = tmp_path / "corrupt"
    home.mkdir()
    (home / "realnet.db").write_bytes(b"this is not a database at all" * 100)
    done = run_realnet(home, "ls", "/")
    assert done.returncode == 1
    assert "realnet.db: not a SQLite database" in done.stderr
    assert "Traceback" not in done.stderr
    assert (home / "realnet.db").read_bytes() == b"this is not a database at all" * 100


def test_foreign_sqlite_database(tmp_path):
    home = tmp_path / "foreign"
    home.mkdir()
    conn = sqlite3.connect(home / "realnet.db")
    conn.execute("CREATE TABLE accounts (id INTEGER PRIMARY KEY, owner TEXT)")
    conn.commit()
    conn.close()
    done = run_realnet(home, "ls", "/")
    assert done.returncode == 1
    assert "a SQLite database of another application" in done.stderr
    conn = sqlite3.connect(home / "realnet.db")
    tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    conn.close()
    assert tables == ["accounts"]


def test_newer_schema_is_refused(tmp_path):
    home = tmp_path / "newer"
    assert run_realnet(home, "ls", "/").returncode == 0
    conn = sqlite3.connect(home / "realnet.db")
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    done = run_realnet(home, "ls", "/")
    assert done.returncode == 1 and "schema version 99 is newer" in done.stderr


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"REALNET_DB_TYPE": "oracle"}, "REALNET_DB_TYPE='oracle': expected one of sqlite, postgresql"),
        ({"REALNET_SERVER_PORT": "99999"}, "REALNET_SERVER_PORT='99999': expected a port number"),
        ({"REALNET_STORAGE_TYPE": "s3"}, "REALNET_STORAGE_S3_BUCKET: required when REALNET_STORAGE_TYPE=s3"),
        ({"REALNET_DB_TPYE": "sqlite"}, "REALNET_DB_TPYE: not a Realnet setting"),
        ({"REALNET_SERVER_TRUSTED_PROXIES": "10.0.0.0/8, ingress"},
         "REALNET_SERVER_TRUSTED_PROXIES: 'ingress' is not an IP address or CIDR network"),
    ],
)
def test_invalid_settings_fail_at_start(tmp_path, env, message):
    done = run_realnet(tmp_path / "h", "ls", "/", env=env)
    assert done.returncode == 1
    assert message in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "h" / "realnet.db").exists()


def test_dotenv_is_read(tmp_path):
    (tmp_path / ".env").write_text("REALNET_DB_PATH=elsewhere.db\n")
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("REALNET_")}
    env["REALNET_HOME"] = str(tmp_path / "h")
    done = subprocess.run([sys.executable, "-m", "realnet", "ls", "/"], capture_output=True,
                          text=True, env=env, cwd=tmp_path, timeout=60)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "elsewhere.db").exists()


def test_closed_standard_streams_give_one_line_not_a_traceback(tmp_path):
    import os

    env = {**os.environ, "REALNET_HOME": str(tmp_path / "h")}

    def closed(fd: int, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "realnet", *args], stdout=None if fd == 1 else subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=env, timeout=60,
                              preexec_fn=lambda: os.close(fd))

    no_stdin = closed(0, "ls", "/")
    assert (no_stdin.returncode, no_stdin.stderr) == (0, "") and "types" in no_stdin.stdout
    no_stdout = closed(1, "ls", "/")
    assert (no_stdout.returncode, no_stdout.stderr) == (1, "realnet: standard output is closed: nothing can be "
                                                           "printed\n")
