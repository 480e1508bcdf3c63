"""PostgreSQL faults: a restart under an open context, a process killed in the middle of
a bulk import, connection settings that are wrong, and a database that is not ours.

Nothing may hang (every wait has a liveness guard), nothing may be half-written, and
every refusal is one line naming the setting to fix, never the password.
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
import pytest
from pgserver import PASSWORD, PostgresServer, free_port

from realnet.app import open_context
from realnet.config import load_settings
from realnet.core.context import Context
from realnet.core.errors import StoreError
from realnet.core.loader import packaged_directory
from realnet.providers.sql.postgresql import PostgresProvider
from realnet.resources import ResourceRegistry

LIVENESS = 60  # seconds: a hang detector, not a performance assertion
BULK = 100_000


def realnet_command() -> list[str]:
    script = Path(sys.executable).with_name("realnet")
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    return [sys.executable, "-m", "realnet"]


def environment(home: Path, **settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REALNET_")}
    env["REALNET_HOME"] = str(home)
    env.update(settings)
    return env


def sql(url: str, query: str, params: tuple = ()) -> list[tuple]:
    with psycopg.connect(url, autocommit=True, connect_timeout=10) as conn:
        cur = conn.execute(query, params)
        return cur.fetchall() if cur.description else []


def within(seconds: float, action: Callable[[], Any]) -> Any:
    """Run ``action`` in a thread; its result or its exception, or fail if it hangs."""
    executor = concurrent.futures.ThreadPoolExecutor(1)
    try:
        future = executor.submit(action)
        try:
            return future.result(timeout=seconds)
        except concurrent.futures.TimeoutError:
            pytest.fail(f"hung: no answer within {seconds} s")
    finally:
        executor.shutdown(wait=False)


# -- a restart under an open context ---------------------------------------------------


@pytest.fixture(scope="module")
def own_server() -> Iterator[PostgresServer]:
    """A server of this module's own, so that restarting it disturbs no other test.

    The test cluster runs with ``synchronous_commit=off``, so an immediate stop (a crash)
    may lose the last commits; this one turns it on for its sessions, as in production, so that what
    Realnet committed before a restart must still be there after it.
    """
    try:
        server = PostgresServer().start()
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as e:
        pytest.fail(f"cannot start a PostgreSQL server for the fault tests: {e}")
    try:
        # A role setting outranks the server's command line; the checkpoint makes it (and
        # the password set by start()) survive the first immediate stop.
        sql(server.url(), "ALTER ROLE postgres SET synchronous_commit = on")
        sql(server.url(), "CHECKPOINT")
        assert sql(server.url(), "SHOW synchronous_commit") == [("on",)]
        yield server
    finally:
        server.stop()


@pytest.fixture
def own_database(own_server) -> Iterator[str]:
    name = f"d_{uuid.uuid4().hex[:12]}"
    if not (own_server.data / "postmaster.pid").exists():
        own_server.boot()  # a failed test may have left it halted
    sql(own_server.url(), f"CREATE DATABASE {name}")
    yield own_server.url(name)
    if not (own_server.data / "postmaster.pid").exists():
        own_server.boot()
    sql(own_server.url(), f"DROP DATABASE {name} WITH (FORCE)")


def attempt(action: Callable[[], Any]) -> Any:
    """The outcome of ``action`` within the liveness guard: a value or a StoreError."""

    def guarded():
        try:
            return action()
        except StoreError as e:
            return e

    return within(LIVENESS, guarded)


def assert_clear(error: StoreError, label: str) -> None:
    message = str(error)
    assert message.startswith(f"{label}: ") and "\n" not in message, message
    assert PASSWORD not in message


@pytest.mark.parametrize("first", ["read", "write"])
def test_restart_under_an_open_context(own_server, own_database, realnet_home, first):
    settings = load_settings({"REALNET_HOME": str(realnet_home), "REALNET_DB_TYPE": "postgresql",
                              "REALNET_DB_URL": own_database})
    context = open_context(settings)
    try:
        context.create("/before", "Folder")
        assert context.get("/before").type == "Folder"
        own_server.restart()

        if first == "read":
            outcome = attempt(lambda: context.get("/before"))
        else:
            outcome = attempt(lambda: context.create("/during", "Folder"))
        if isinstance(outcome, StoreError):
            assert_clear(outcome, settings.store_label)
        else:
            assert outcome.path == ("/before" if first == "read" else "/during")

        # The next operation works, whatever happened to the first one.
        after = attempt(lambda: context.create("/after", "Folder"))
        assert not isinstance(after, StoreError), after
        assert attempt(lambda: [i.name for i in context.list("/").items if i.name in ("after", "before")]) == [
            "after", "before"]
    finally:
        context.provider.close()


def test_restart_inside_a_transaction_rolls_it_back(own_server, own_database, realnet_home):
    settings = load_settings({"REALNET_HOME": str(realnet_home), "REALNET_DB_TYPE": "postgresql",
                              "REALNET_DB_URL": own_database})
    context = open_context(settings)
    try:
        def interrupted():
            with context.provider.transaction():
                context.create("/half", "Folder")
                own_server.restart()
                context.create("/half/other", "Folder")

        outcome = attempt(interrupted)
        assert isinstance(outcome, StoreError), outcome
        assert_clear(outcome, settings.store_label)
        assert "lost the database connection" in str(outcome)

        after = attempt(lambda: context.create("/after", "Folder"))
        assert not isinstance(after, StoreError), after
        assert attempt(lambda: context.provider.exists("/half")) is False
    finally:
        context.provider.close()
    assert sql(own_database, "SELECT path FROM items WHERE path IN ('/half', '/half/other', '/after')") == [
        ("/after",)]


def test_server_down_fails_cleanly_then_recovers(own_server, own_database):
    provider = PostgresProvider(own_database, label="db:test", timeout=3)
    context = Context(provider, ResourceRegistry(), init_directories=[packaged_directory()])
    try:
        context.ensure_initialized()
        context.create("/before", "Folder")
        own_server.halt()
        try:
            for _ in range(2):  # and again: a failure leaves nothing stuck
                outcome = attempt(lambda: context.create("/during", "Folder"))
                assert isinstance(outcome, StoreError), outcome
                assert_clear(outcome, "db:test")
        finally:
            own_server.boot()
        after = attempt(lambda: context.create("/after", "Folder"))
        assert not isinstance(after, StoreError), after
        assert attempt(lambda: context.provider.exists("/during")) is False
    finally:
        provider.close()


# -- a process killed in the middle of a bulk import ---------------------------------------


def _bulk_export(path: Path) -> None:
    items = [{"path": ".", "type": "Folder", "owner": "admin", "attributes": {}}]
    items.extend({"path": f"d{i:06d}", "type": "Document", "owner": "admin",
                  "attributes": {"title": f"Document {i}", "body": "x" * 40}} for i in range(BULK))
    path.write_text(json.dumps({"format": "realnet-export", "version": 1, "root": "/bulk", "items": items}),
                    encoding="utf-8")


def _backends(url: str, application_name: str) -> list[tuple[str, str]]:
    return sql(url, "SELECT state, query FROM pg_stat_activity WHERE application_name = %s",
               (application_name,))


def test_killed_bulk_import_is_all_or_nothing(pg_schema, tmp_path):
    source = tmp_path / "bulk.json"
    _bulk_export(source)
    name = f"rn_bulk_{uuid.uuid4().hex[:8]}"
    url = f"{pg_schema}&application_name={name}"
    env = environment(tmp_path / "h", REALNET_DB_TYPE="postgresql", REALNET_DB_URL=url)
    assert subprocess.run([*realnet_command(), "ls", "/"], env=env, capture_output=True,
                          timeout=LIVENESS).returncode == 0  # the store exists before the import starts

    log = (tmp_path / "import.err").open("w")
    process = subprocess.Popen([*realnet_command(), "import", str(source), "/bulk"], env=env,
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log)
    copying = False
    try:
        deadline = time.monotonic() + LIVENESS
        with psycopg.connect(pg_schema, autocommit=True) as watcher:
            while process.poll() is None and time.monotonic() < deadline:
                rows = watcher.execute("SELECT state, query FROM pg_stat_activity WHERE application_name = %s",
                                       (name,)).fetchall()
                if any(state == "active" and query.lstrip().upper().startswith("COPY") for state, query in rows):
                    copying = True  # the rows are streaming into the open transaction right now
                    break
                time.sleep(0.005)
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
        process.wait(LIVENESS)
        log.close()
    assert copying, f"the import never reached COPY (exit {process.returncode}): {(tmp_path / 'import.err').read_text()}"
    assert process.returncode == -signal.SIGKILL

    deadline = time.monotonic() + LIVENESS
    while _backends(pg_schema, name):  # the server notices the dead client and rolls back
        assert time.monotonic() < deadline, "the killed client's backend never went away"
        time.sleep(0.05)
    (children,) = sql(pg_schema, "SELECT count(*) FROM items i JOIN items p ON i.parent_id = p.id "
                                 "WHERE p.path = '/bulk'")[0]
    (bulk,) = sql(pg_schema, "SELECT count(*) FROM items WHERE path = '/bulk'")[0]
    (below,) = sql(pg_schema, "SELECT count(*) FROM items WHERE path LIKE %s", ("/bulk/%",))[0]
    assert (bulk, children, below) in ((0, 0, 0), (1, BULK, BULK))

    # Nothing is left locked or half-done: the store answers and takes a new import.
    done = subprocess.run([*realnet_command(), "import", str(source), "/again"], env=env,
                          capture_output=True, text=True, timeout=LIVENESS)
    assert done.returncode == 0, done.stderr
    assert sql(pg_schema, "SELECT count(*) FROM items WHERE path LIKE %s", ("/again/%",)) == [(BULK,)]


# -- wrong connection settings --------------------------------------------------------------


WRONG_PASSWORD = "not-the-password-7Qz"


@pytest.fixture
def server_parts(postgres_server) -> dict[str, str]:
    url = postgres_server if isinstance(postgres_server, str) else postgres_server.url()
    parts = urlsplit(url)
    return {"host": parts.hostname or "localhost", "port": str(parts.port or 5432),
            "user": parts.username or "postgres", "password": parts.password or "",
            "database": parts.path.lstrip("/") or "postgres"}


def _parts_env(server_parts: dict[str, str], **override: str) -> dict[str, str]:
    settings = {
        "REALNET_DB_TYPE": "postgresql",
        "REALNET_DB_USER": server_parts["user"],
        "REALNET_DB_PASS": server_parts["password"],
        "REALNET_DB_HOST": server_parts["host"],
        "REALNET_DB_PORT": server_parts["port"],
        "REALNET_DB_NAME": server_parts["database"],
    }
    settings.update(override)
    return settings


CONNECTION_CASES = {
    "wrong password": ({"REALNET_DB_PASS": WRONG_PASSWORD}, "REALNET_DB_PASS: PostgreSQL at "),
    "closed port": ({"REALNET_DB_HOST": "127.0.0.1", "REALNET_DB_PORT": "<free>"},
                    "REALNET_DB_HOST/REALNET_DB_PORT: cannot reach PostgreSQL at 127.0.0.1:"),
    "missing database": ({"REALNET_DB_NAME": "no_such_database_here"},
                         "REALNET_DB_NAME: PostgreSQL at "),
}


@pytest.mark.parametrize("case", sorted(CONNECTION_CASES))
def test_bad_connection_settings_name_the_setting(server_parts, tmp_path, case):
    override, message = CONNECTION_CASES[case]
    override = {k: (str(free_port()) if v == "<free>" else v) for k, v in override.items()}
    settings = _parts_env(server_parts, **override)
    done = subprocess.run([*realnet_command(), "ls", "/"], capture_output=True, text=True,
                          env=environment(tmp_path / "h", **settings), timeout=LIVENESS)
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("realnet: " + message), lines[0]
    assert f"{settings['REALNET_DB_HOST']}:{settings['REALNET_DB_PORT']}/{settings['REALNET_DB_NAME']}" in lines[0]
    assert done.stdout == ""
    for secret in (WRONG_PASSWORD, server_parts["password"]):
        assert secret not in done.stderr
    assert not (tmp_path / "h" / "realnet.db").exists()  # no silent fallback to the embedded store


def test_wrong_password_in_the_url_is_never_shown(server_parts, tmp_path):
    url = (f"postgresql://{server_parts['user']}:{WRONG_PASSWORD}@{server_parts['host']}:"
           f"{server_parts['port']}/{server_parts['database']}")
    done = subprocess.run([*realnet_command(), "info"], capture_output=True, text=True, timeout=LIVENESS,
                          env=environment(tmp_path / "h", REALNET_DB_TYPE="postgresql", REALNET_DB_URL=url))
    assert done.returncode == 1
    assert done.stderr.startswith("realnet: REALNET_DB_PASS: ") and len(done.stderr.strip().splitlines()) == 1
    assert WRONG_PASSWORD not in done.stderr + done.stdout


# -- a database that is not ours ------------------------------------------------------------


def test_foreign_items_table_is_refused_and_left_alone(pg_schema, tmp_path, realnet_home):
    sql(pg_schema, "CREATE TABLE items (sku text PRIMARY KEY, quantity integer NOT NULL)")
    sql(pg_schema, "INSERT INTO items VALUES ('apple', 3), ('pear', 5)")

    def snapshot():
        columns = sql(pg_schema, "SELECT column_name, data_type FROM information_schema.columns "
                                 "WHERE table_name = 'items' AND table_schema = current_schema() "
                                 "ORDER BY ordinal_position")
        rows = sql(pg_schema, "SELECT sku, quantity, xmin::text FROM items ORDER BY sku")
        tables = sql(pg_schema, "SELECT table_name FROM information_schema.tables "
                                "WHERE table_schema = current_schema() ORDER BY table_name")
        return columns, rows, tables

    before = snapshot()
    done = subprocess.run([*realnet_command(), "ls", "/"], capture_output=True, text=True, timeout=LIVENESS,
                          env=environment(tmp_path / "h", REALNET_DB_TYPE="postgresql",
                                          REALNET_DB_URL=pg_schema))
    assert done.returncode == 1
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "an 'items' table of another application" in done.stderr and "Traceback" not in done.stderr
    with pytest.raises(StoreError, match="not a Realnet store"):
        open_context(load_settings({"REALNET_HOME": str(realnet_home), "REALNET_DB_TYPE": "postgresql",
                                    "REALNET_DB_URL": pg_schema}))
    assert snapshot() == before
    assert before[2] == [("items",)]  # no realnet_schema was left behind


@pytest.mark.parametrize("url, message", [
    ("postgresql://realnet:s3cr@tPassw0rd@127.0.0.1:5432/realnet",
     "REALNET_DB_URL: write an '@' in the user name or password as %40"),
    ("postgresql://realnet:pw-secret@127.0.0.1:54x2/realnet", "REALNET_DB_URL: expected postgresql://"),
    ("postgresql://realnet:pw-secret@127.0.0.1:99999/realnet", "REALNET_DB_URL: expected postgresql://"),
    ("postgresql://realnet:pw-secret@[::1/realnet", "REALNET_DB_URL: expected postgresql://"),
])
def test_a_malformed_url_is_named_without_its_password(tmp_path, url, message):
    done = subprocess.run([*realnet_command(), "info"], capture_output=True, text=True, timeout=LIVENESS,
                          env=environment(tmp_path / "h", REALNET_DB_TYPE="postgresql", REALNET_DB_URL=url))
    assert done.returncode == 1
    assert done.stderr.startswith("realnet: " + message) and len(done.stderr.strip().splitlines()) == 1, \
        done.stderr
    for fragment in ("s3cr", "tPassw0rd", "pw-secret"):
        assert fragment not in done.stderr + done.stdout


@pytest.mark.parametrize("url", [
    "postgresql://realnet:pg pw-secret@127.0.0.1:5432/realnet",
    "postgresql://realnet:p%zzpw-secret@127.0.0.1:5432/realnet",
    "postgresql://realnet:pw-secret@127.0.0.1:5432/realnet?foo=bar",
])
def test_a_url_libpq_cannot_read_is_named_without_its_password(tmp_path, url):
    done = subprocess.run([*realnet_command(), "ls", "/"], capture_output=True, text=True, timeout=LIVENESS,
                          env=environment(tmp_path / "h", REALNET_DB_TYPE="postgresql", REALNET_DB_URL=url))
    assert done.returncode == 1
    assert done.stderr.startswith("realnet: REALNET_DB_URL: not a connection URL libpq can read"), done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "pw-secret" not in done.stderr + done.stdout


def test_an_unknown_host_names_the_setting(tmp_path):
    url = "postgresql://realnet:pw-secret@nohost.invalid:5432/realnet"
    done = subprocess.run([*realnet_command(), "ls", "/"], capture_output=True, text=True, timeout=LIVENESS,
                          env=environment(tmp_path / "h", REALNET_DB_TYPE="postgresql", REALNET_DB_URL=url))
    assert done.returncode == 1
    assert done.stderr.startswith("realnet: REALNET_DB_HOST/REALNET_DB_PORT: cannot reach PostgreSQL at "
                                  "nohost.invalid:5432/realnet"), done.stderr
    assert "pw-secret" not in done.stderr


def test_pool_warnings_are_not_printed_on_the_terminal():
    # The pool warns in several lines whenever it fails to reconnect in the background,
    # between commands too: on the shell's stderr that would land across the prompt.
    script = ("import logging, realnet.providers.sql.postgresql; "
              "logging.getLogger('psycopg.pool').warning('error connecting in %s', 'realnet')")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=LIVENESS)
    assert done.returncode == 0 and done.stderr == ""
