"""Realnet on a real PostgreSQL server: the CLI end to end, several processes at once,
and the schema version. Every test works in a schema of its own (``pg_schema``)."""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest
import yaml

from realnet.app import open_context
from realnet.config import load_settings
from realnet.core.context import Context
from realnet.core.errors import AlreadyExists, Conflict, NotFound, StoreError
from realnet.core.loader import packaged_directory
from realnet.providers.sql.postgresql import PostgresProvider
from realnet.providers.sql.schema import POSTGRESQL_MIGRATIONS
from realnet.resources import ResourceRegistry

PROCESS_TIMEOUT = 60  # a guard against a hang, not a performance assertion


def realnet_command() -> list[str]:
    script = Path(sys.executable).with_name("realnet")
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    return [sys.executable, "-m", "realnet"]


def label_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port or 5432}{parts.path}"


def password_of(url: str) -> str:
    password = urlsplit(url).password
    assert password, "the test server must require a password"
    return password


def pg_settings(home: str, url: str):
    return load_settings({"REALNET_HOME": home, "REALNET_DB_TYPE": "postgresql", "REALNET_DB_URL": url})


def with_application_name(url: str, name: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}application_name={name}"


@pytest.fixture
def pg_env(pg_schema, monkeypatch) -> str:
    """The CLI's environment points at the test's own schema."""
    monkeypatch.setenv("REALNET_DB_TYPE", "postgresql")
    monkeypatch.setenv("REALNET_DB_URL", pg_schema)
    return pg_schema


def sql(url: str, query: str, params: tuple = ()) -> list[tuple]:
    with psycopg.connect(url, autocommit=True) as conn:
        cur = conn.execute(query, params)
        return cur.fetchall() if cur.description else []


# -- the CLI end to end ---------------------------------------------------------------


def test_tour_on_postgresql(cli, pg_env):
    results = []

    def run(*args):
        result = cli(*args)
        results.append(result)
        assert result.code == 0, (args, result.err)
        return result

    run("create", "/projects", "--type", "Folder")
    r = run("create", "/projects/notes", "--type", "Document", "--attr", "title=Plan", "--attr", "body=first steps")
    assert r.out == "created /projects/notes\n"
    assert run("set", "/projects/notes", "title=Plan v2").out == "updated /projects/notes (version 2)\n"
    got = yaml.safe_load(run("get", "/projects/notes", "-o", "yaml").out)
    assert got["attributes"] == {"title": "Plan v2", "body": "first steps", "format": "plain"}
    assert got["version"] == 2 and got["type"] == "Document" and got["path"] == "/projects/notes"
    assert run("tree", "/projects", "-L", "2").out == "/projects\n└── notes  [Document]\n"
    assert run("find", "/", "--type", "Document", "--name", "no*").out == "/projects/notes\n"
    assert run("mv", "-p", "/projects/notes", "/archive/notes").code == 0
    assert sql(pg_env, "SELECT path, depth FROM items WHERE name = 'notes'") == [("/archive/notes", 2)]
    assert run("rm", "-r", "--force", "/archive").out == "removed 2 item(s)\n"
    assert run("ls", "/").out.split() == ["apps", "clusters", "home", "projects", "system", "types"]

    listing = json.loads(run("ls", "/", "-o", "json").out)
    assert [i["path"] for i in listing["items"]] == ["/apps", "/clusters", "/home", "/projects", "/system", "/types"]
    assert listing["next_cursor"] is None

    info = json.loads(run("info", "-o", "json").out)
    label = label_of(pg_env)
    assert info["store"] == label and info["db"] == label and info["db_type"] == "postgresql"
    assert info["schema_version"] == len(POSTGRESQL_MIGRATIONS)
    password = password_of(pg_env)
    for result in results:
        assert password not in result.out and password not in result.err
    assert "password" not in json.dumps(info).lower()
    # The tree really is in PostgreSQL, not in a SQLite file under REALNET_HOME.
    assert sql(pg_env, "SELECT count(*) FROM items WHERE path = '/projects'") == [(1,)]
    assert not (Path(os.environ["REALNET_HOME"]) / "realnet.db").exists()


def test_init_twice_is_idempotent(cli, pg_env):
    first = cli("init", "-o", "json")
    assert first.code == 0, first.err
    first = json.loads(first.out)
    assert first["types"]["created"] == 0 and first["types"]["updated"] == 0  # done on first use
    assert first["items_created"] == 0
    before = sql(pg_env, "SELECT path, version, updated FROM items ORDER BY path")
    again = json.loads(cli("init", "-o", "json").out)
    assert again["types"]["created"] == 0 and again["types"]["updated"] == 0
    assert again["items_created"] == 0 and again["types"]["unchanged"] > 20
    assert sql(pg_env, "SELECT path, version, updated FROM items ORDER BY path") == before


def _build_sample(cli) -> None:
    steps = [
        ("create", "/projects", "--type", "Folder"),
        ("create", "/projects/notes", "--type", "Document", "-a", "title=Plän ✓", "-a", "body=line 1\nline 2",
         "-a", "format=markdown"),
        ("create", "/projects/a-b", "--type", "Folder"),
        ("create", "/projects/a", "--type", "Folder"),
        ("create", "/projects/a/deep", "--type", "Folder"),
        ("create", "/projects/a/deep/file", "--type", "File", "-a", "content_type=text/plain"),
        ("create", "/projects/a/link", "--type", "Link", "-a", "target=/projects/notes"),
        ("create", "/projects/form", "--type", "EditForm", "-a", "item_type=Document"),
        ("create", "/projects/form/pick", "--type", "Select", "-a", 'options=["x", {"y": [1, 2.5, null]}]'),
        ("create", "/projects/form/num", "--type", "NumberInput", "-a", "minimum=-1.5", "-a", "required=true"),
        ("set", "/projects/notes", "description=changed once"),
    ]
    for args in steps:
        result = cli(*args)
        assert result.code == 0, (args, result.err)


def test_export_from_postgresql_imports_exactly_into_sqlite(cli, pg_env, monkeypatch, tmp_path):
    _build_sample(cli)
    exported = tmp_path / "projects.json"
    assert cli("export", "/projects", "-f", str(exported)).code == 0
    from_pg = json.loads(exported.read_text(encoding="utf-8"))
    assert len(from_pg["items"]) == 10

    monkeypatch.delenv("REALNET_DB_URL")
    monkeypatch.setenv("REALNET_DB_TYPE", "sqlite")
    imported = cli("import", str(exported), "/projects")
    assert imported.code == 0, imported.err
    assert imported.out == "imported 10 item(s) to /projects\n"
    back = cli("export", "/projects")
    assert back.code == 0, back.err
    from_sqlite = json.loads(back.out)
    assert from_sqlite["items"] == from_pg["items"]
    assert from_sqlite["root"] == from_pg["root"] == "/projects"
    assert (Path(os.environ["REALNET_HOME"]) / "realnet.db").exists()

    # …and back into PostgreSQL at another place, still exact.
    monkeypatch.setenv("REALNET_DB_TYPE", "postgresql")
    monkeypatch.setenv("REALNET_DB_URL", pg_env)
    assert cli("import", str(exported), "/restored").code == 0
    again = json.loads(cli("export", "/restored").out)
    assert again["items"] == from_pg["items"]


def test_shell_subprocess_on_postgresql(pg_schema, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("REALNET_")}
    env.update(REALNET_HOME=str(tmp_path / "h"), REALNET_DB_TYPE="postgresql", REALNET_DB_URL=pg_schema)
    script = ("create /projects --type Folder; cd /projects; "
              "create notes --type Document --attr title=Plan; set notes title='Plan v2'; ls; pwd")
    done = subprocess.run([*realnet_command(), "shell", "-c", script], capture_output=True, text=True,
                          env=env, cwd=tmp_path, timeout=PROCESS_TIMEOUT, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr
    assert "notes\n" in done.stdout and done.stdout.rstrip().endswith("/projects")
    assert password_of(pg_schema) not in done.stdout + done.stderr
    rows = sql(pg_schema, "SELECT version, attributes->>'title' FROM items WHERE path = '/projects/notes'")
    assert rows == [(2, "Plan v2")]

    failing = subprocess.run([*realnet_command(), "shell", "-c", "ls /projects; ls /missing; ls /"],
                             capture_output=True, text=True, env=env, cwd=tmp_path,
                             timeout=PROCESS_TIMEOUT, stdin=subprocess.DEVNULL)
    assert failing.returncode == 1
    assert "/missing: no such item" in failing.stderr and len(failing.stderr.strip().splitlines()) == 1
    assert failing.stdout == "notes\n"  # stopped at the first failure
    assert pg_schema not in failing.stdout + failing.stderr  # the URL itself is never printed


# -- several processes at once --------------------------------------------------------


def spawn():
    return multiprocessing.get_context("spawn")


def _update_with_version(home: str, url: str, barrier, title: str) -> str:
    context = open_context(pg_settings(home, url))
    try:
        barrier.wait()
        try:
            context.update("/shared/doc", {"title": title}, expected_version=1)
            return "won"
        except Conflict:
            return "conflict"
    finally:
        context.provider.close()


def _create_many(home: str, url: str, barrier, worker: int, count: int) -> int:
    context = open_context(pg_settings(home, url))
    try:
        barrier.wait()
        for i in range(count):
            context.create(f"/shared/w{worker}-{i:03d}", "Folder")
        return count
    finally:
        context.provider.close()


def _race_for_name(home: str, url: str, barrier) -> str:
    context = open_context(pg_settings(home, url))
    try:
        barrier.wait()
        try:
            context.create("/shared/contested", "Document", {"title": str(os.getpid())})
            return "won"
        except AlreadyExists:
            return "lost"
    finally:
        context.provider.close()


def _open_new_store(home: str, url: str, barrier) -> tuple[int, int, int]:
    barrier.wait()
    context = open_context(pg_settings(home, url))
    try:
        return (context.provider.schema_version, len(context.types),
                context.provider.count_subtree("/"))
    finally:
        context.provider.close()


@pytest.fixture
def shared(pg_schema, realnet_home) -> str:
    context = open_context(pg_settings(str(realnet_home), pg_schema))
    try:
        context.create("/shared", "Folder")
        context.create("/shared/doc", "Document", {"title": "start"})
    finally:
        context.provider.close()
    return pg_schema


def test_same_version_update_has_one_winner(shared, realnet_home):
    ctx = spawn()
    with ctx.Manager() as manager:
        barrier = manager.Barrier(2)
        with ctx.Pool(2) as pool:
            results = pool.starmap(_update_with_version,
                                   [(str(realnet_home), shared, barrier, t) for t in ("a", "b")])
    assert sorted(results) == ["conflict", "won"]
    assert sql(shared, "SELECT version, attributes->>'title' IN ('a', 'b') FROM items "
                       "WHERE path = '/shared/doc'") == [(2, True)]


def test_parallel_creators_lose_nothing(shared, realnet_home):
    ctx = spawn()
    with ctx.Manager() as manager:
        barrier = manager.Barrier(8)
        with ctx.Pool(8) as pool:
            done = pool.starmap(_create_many, [(str(realnet_home), shared, barrier, w, 50) for w in range(8)])
    assert done == [50] * 8
    names = [r[0] for r in sql(shared, "SELECT name FROM items WHERE parent_id = "
                                       "(SELECT id FROM items WHERE path = '/shared')")]
    assert len(names) == 401 and len(set(names)) == 401  # 400 new + the document
    expected = {f"w{w}-{i:03d}" for w in range(8) for i in range(50)} | {"doc"}
    assert set(names) == expected
    assert sql(shared, "SELECT count(*) FROM items WHERE path LIKE %s AND (depth <> 2 OR path <> "
                       "'/shared/' || name)", ("/shared/%",)) == [(0,)]


def test_unique_name_race_has_one_winner(shared, realnet_home):
    ctx = spawn()
    with ctx.Manager() as manager:
        barrier = manager.Barrier(8)
        with ctx.Pool(8) as pool:
            results = pool.starmap(_race_for_name, [(str(realnet_home), shared, barrier)] * 8)
    assert sorted(results) == ["lost"] * 7 + ["won"]
    assert sql(shared, "SELECT count(*) FROM items WHERE path = '/shared/contested'") == [(1,)]


def _wait_for_lock_wait(url: str, application_name: str) -> None:
    """Until the backend of ``application_name`` waits for a row or key lock."""
    deadline = time.monotonic() + PROCESS_TIMEOUT
    while time.monotonic() < deadline:
        rows = sql(url, "SELECT wait_event_type FROM pg_stat_activity WHERE application_name = %s "
                        "AND state = 'active'", (application_name,))
        if any(wait == "Lock" for (wait,) in rows):
            return
        time.sleep(0.02)
    raise AssertionError(f"{application_name} never waited for a lock")


def _contexts(url: str, name: str) -> tuple[Context, Context]:
    def make(u: str) -> Context:
        context = Context(PostgresProvider(u, label="test"), ResourceRegistry(),
                          init_directories=[packaged_directory()])
        context.ensure_initialized()
        return context

    return make(url), make(with_application_name(url, name))


def _in_thread(target) -> tuple[threading.Thread, dict]:
    outcome: dict = {}

    def body():
        try:
            outcome["value"] = target()
        except Exception as e:
            outcome["error"] = e

    thread = threading.Thread(target=body, daemon=True)
    thread.start()
    return thread, outcome


def test_name_race_is_settled_by_the_unique_index(pg_schema):
    """The loser passed its own existence check (the winner had not committed yet): only
    the unique index can refuse it, and it must come out as AlreadyExists."""
    name = f"rn_race_{uuid.uuid4().hex[:8]}"
    first, second = _contexts(pg_schema, name)
    try:
        with first.provider.transaction():
            first.create("/contested", "Folder")
            thread, outcome = _in_thread(lambda: second.create("/contested", "Folder"))
            _wait_for_lock_wait(pg_schema, name)
        thread.join(PROCESS_TIMEOUT)
        assert not thread.is_alive()
        assert isinstance(outcome.get("error"), AlreadyExists), outcome
        assert str(outcome["error"]) == "/contested: an item with this name already exists"
        assert second.create("/after", "Folder").path == "/after"  # the connection is still usable
    finally:
        first.provider.close()
        second.provider.close()
    assert sql(pg_schema, "SELECT count(*) FROM items WHERE path = '/contested'") == [(1,)]


def test_stale_update_is_settled_by_the_version_check(pg_schema):
    """Both read version 1; the second waits on the row and then finds it changed."""
    name = f"rn_upd_{uuid.uuid4().hex[:8]}"
    first, second = _contexts(pg_schema, name)
    try:
        first.create("/doc", "Document", {"title": "start"})
        with first.provider.transaction():
            first.update("/doc", {"title": "first"}, expected_version=1)
            thread, outcome = _in_thread(
                lambda: second.update("/doc", {"title": "second"}, expected_version=1))
            _wait_for_lock_wait(pg_schema, name)
        thread.join(PROCESS_TIMEOUT)
        assert not thread.is_alive()
        assert isinstance(outcome.get("error"), Conflict), outcome
        assert "/doc" in str(outcome["error"])
    finally:
        first.provider.close()
        second.provider.close()
    assert sql(pg_schema, "SELECT version, attributes->>'title' FROM items WHERE path = '/doc'") == [
        (2, "first")]


def test_replicas_opening_a_new_store_initialize_it_once(pg_schema, realnet_home, tmp_path):
    ctx = spawn()
    with ctx.Manager() as manager:
        barrier = manager.Barrier(4)
        with ctx.Pool(4) as pool:
            results = pool.starmap(_open_new_store, [(str(realnet_home), pg_schema, barrier)] * 4)
    assert len(set(results)) == 1, results
    version, types, count = results[0]
    assert version == len(POSTGRESQL_MIGRATIONS) and types > 20
    assert sql(pg_schema, "SELECT version FROM realnet_schema") == [(len(POSTGRESQL_MIGRATIONS),)]
    for path in ("/", "/types", "/home", "/home/admin", "/apps", "/system"):
        assert sql(pg_schema, "SELECT count(*) FROM items WHERE path = %s", (path,)) == [(1,)], path
    # Exactly the tree one process makes on its own (here: a fresh embedded store).
    reference = open_context(load_settings({"REALNET_HOME": str(tmp_path / "ref")}))
    try:
        expected = sorted(["/", *(i.path for i in reference.provider.walk("/"))])
    finally:
        reference.provider.close()
    stored = [r[0] for r in sql(pg_schema, "SELECT path FROM items ORDER BY path")]
    assert stored == expected and count == len(expected) - 1


# -- races a serialised store never shows --------------------------------------------
# SQLite runs every write transaction alone (BEGIN IMMEDIATE); PostgreSQL runs them side by
# side under READ COMMITTED, so a read-then-write inside one transaction can see a state that
# another commits away before the write. Each of these must behave as on SQLite.


def test_concurrent_create_p_shares_the_missing_parents(pg_schema):
    """``create -p`` is ``mkdir -p``: a parent that another writer makes meanwhile is fine."""
    name = f"rn_mkp_{uuid.uuid4().hex[:8]}"
    first, second = _contexts(pg_schema, name)
    try:
        with first.provider.transaction():
            first.create("/a/b/x", "Folder", parents=True)
            thread, outcome = _in_thread(lambda: second.create("/a/b/y", "Folder", parents=True))
            _wait_for_lock_wait(pg_schema, name)
        thread.join(PROCESS_TIMEOUT)
        assert not thread.is_alive()
        assert "error" not in outcome, outcome
        assert outcome["value"].path == "/a/b/y"
    finally:
        first.provider.close()
        second.provider.close()
    rows = sql(pg_schema, "SELECT path FROM items WHERE path = '/a' OR path LIKE %s ORDER BY path", ("/a/%",))
    assert [r[0] for r in rows] == ["/a", "/a/b", "/a/b/x", "/a/b/y"]


def test_create_into_a_folder_deleted_meanwhile_is_not_found(pg_schema):
    """The parent was there when checked and is gone at commit: say so, not a constraint name."""
    name = f"rn_fk_{uuid.uuid4().hex[:8]}"
    first, second = _contexts(pg_schema, name)
    try:
        first.create("/a", "Folder")
        with first.provider.transaction():
            first.delete("/a", recursive=True)
            thread, outcome = _in_thread(lambda: second.create("/a/x", "Folder"))
            _wait_for_lock_wait(pg_schema, name)
        thread.join(PROCESS_TIMEOUT)
        assert not thread.is_alive()
        error = outcome.get("error")
        assert isinstance(error, NotFound), outcome
        assert str(error).startswith("/a: ") and "foreign key" not in str(error)
    finally:
        first.provider.close()
        second.provider.close()
    assert sql(pg_schema, "SELECT count(*) FROM items WHERE path = '/a' OR path LIKE %s", ("/a/%",)) == [(0,)]


def _set_repeatedly(home: str, url: str, barrier, attribute: str, count: int) -> tuple[int, int]:
    context = open_context(pg_settings(home, url))
    done = conflicts = 0
    try:
        barrier.wait()
        for i in range(count):
            try:
                context.update("/doc", {attribute: f"{attribute}-{i}"})
                done += 1
            except Conflict:
                conflicts += 1
        return done, conflicts
    finally:
        context.provider.close()


def test_unconditional_sets_of_different_attributes_lose_nothing(pg_schema, realnet_home):
    """``set`` without ``--if-version`` never fails on a stale read and never writes one
    back: each writer changes only its own attribute, so no update may change two."""
    context = open_context(pg_settings(str(realnet_home), pg_schema))
    try:
        context.create("/doc", "Document", {"title": "t", "body": "b", "description": "d"})
    finally:
        context.provider.close()
    # A witness of every row update (an observer in the test's own schema, not a stand-in).
    sql(pg_schema, "CREATE TABLE witness (n bigserial PRIMARY KEY, old jsonb, new jsonb)")
    sql(pg_schema, "CREATE FUNCTION witness_update() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                   "INSERT INTO witness (old, new) VALUES (OLD.attributes, NEW.attributes); RETURN NEW; END $$")
    sql(pg_schema, "CREATE TRIGGER witness_update BEFORE UPDATE ON items FOR EACH ROW "
                   "EXECUTE FUNCTION witness_update()")
    attributes = ("title", "body", "description")
    ctx = spawn()
    with ctx.Manager() as manager:
        barrier = manager.Barrier(3)
        with ctx.Pool(3) as pool:
            results = pool.starmap(_set_repeatedly,
                                   [(str(realnet_home), pg_schema, barrier, a, 100) for a in attributes])
    updates = sql(pg_schema, "SELECT old, new FROM witness ORDER BY n")
    reverted = [(old, new) for old, new in updates
                if sum(old.get(a) != new.get(a) for a in attributes) > 1]
    assert not reverted, f"{len(reverted)} of {len(updates)} updates wrote back a stale value, e.g. {reverted[0]}"
    assert [conflicts for _, conflicts in results] == [0, 0, 0], results
    final = sql(pg_schema, "SELECT version, attributes FROM items WHERE path = '/doc'")[0]
    assert final[0] == 301 and {a: final[1][a] for a in attributes} == {a: f"{a}-99" for a in attributes}


# -- the schema version ---------------------------------------------------------------


def test_newer_schema_is_refused(cli, pg_env):
    assert cli("ls", "/").code == 0
    sql(pg_env, "UPDATE realnet_schema SET version = 99")
    before = sql(pg_env, "SELECT path, version FROM items ORDER BY path")
    result = cli("ls", "/")
    assert result.code == 1
    assert "newer than this Realnet" in result.err and "99" in result.err
    assert len(result.err.strip().splitlines()) == 1 and "Traceback" not in result.err
    with pytest.raises(StoreError, match="newer than this Realnet"):
        open_context(pg_settings(os.environ["REALNET_HOME"], pg_env))
    assert sql(pg_env, "SELECT version FROM realnet_schema") == [(99,)]
    assert sql(pg_env, "SELECT path, version FROM items ORDER BY path") == before


def test_reopening_does_not_migrate_again(pg_schema, realnet_home):
    def state():
        return sql(pg_schema, "SELECT version, xmin::text, (SELECT count(*) FROM realnet_schema), "
                              "'items'::regclass::oid FROM realnet_schema")

    first = open_context(pg_settings(str(realnet_home), pg_schema))
    first.create("/kept", "Folder")
    first.provider.close()
    before = state()
    assert before[0][0] == len(POSTGRESQL_MIGRATIONS) and before[0][2] == 1
    for _ in range(2):
        again = open_context(pg_settings(str(realnet_home), pg_schema))
        try:
            assert again.provider.schema_version == len(POSTGRESQL_MIGRATIONS)
            assert again.get("/kept").type == "Folder"
        finally:
            again.provider.close()
    assert state() == before  # same row (xmin), same table: nothing ran again
