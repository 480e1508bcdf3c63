"""Fixtures shared by every test: a private REALNET_HOME and ways to drive each face."""

from __future__ import annotations

import io
import os
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from pgserver import PostgresServer

from realnet.app import open_context
from realnet.cli import run
from realnet.commands.session import Session
from realnet.config import load_settings
from realnet.core.context import Context


@pytest.fixture(autouse=True)
def realnet_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own store; nothing leaks into ~/.realnet."""
    home = tmp_path / "home"
    for key in list(__import__("os").environ):
        if key.startswith("REALNET_") and not key.startswith("REALNET_TEST_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("REALNET_HOME", str(home))
    monkeypatch.chdir(tmp_path)
    return home


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer | str]:
    """A real PostgreSQL server for the whole run, or the one REALNET_TEST_POSTGRES_URL names.

    Failing to start it fails the tests that need it: they never skip.
    """
    external = os.environ.get("REALNET_TEST_POSTGRES_URL")
    if external:
        yield external
        return
    try:
        server = PostgresServer().start()
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as e:
        pytest.fail(f"cannot start a PostgreSQL server for the tests: {e}")
    try:
        yield server
    finally:
        server.stop()


def server_url(server: PostgresServer | str, database: str = "postgres") -> str:
    if isinstance(server, str):
        return server
    return server.url(database)


@pytest.fixture
def pg_schema(postgres_server) -> Iterator[str]:
    """A fresh, empty schema per test; the connection string selects it."""
    import psycopg

    url = server_url(postgres_server)
    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {name}")
    sep = "&" if "?" in url else "?"
    yield f"{url}{sep}options=-csearch_path%3D{name}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {name} CASCADE")


@pytest.fixture
def context(realnet_home: Path) -> Iterator[Context]:
    ctx = open_context(load_settings())
    yield ctx
    ctx.provider.close()


@dataclass
class Result:
    code: int
    out: str
    err: str


def invoke(*args: str, stdin: str | None = None) -> Result:
    """Run ``realnet ARGS`` in-process exactly as the console script does."""
    out, err = io.StringIO(), io.StringIO()
    session = Session(stdout=out, stderr=err, interactive=False)
    if stdin is not None:
        import sys

        saved = sys.stdin
        sys.stdin = io.StringIO(stdin)
        try:
            code = run(list(args), session)
        finally:
            sys.stdin = saved
    else:
        code = run(list(args), session)
    return Result(code, out.getvalue(), err.getvalue())


@pytest.fixture
def cli():
    return invoke


@dataclass
class Api:
    """A running HTTP API over this test's store, and an administrator's token for it."""

    url: str
    token: str
    server: object

    def headers(self, token: str | None = None, *, anonymous: bool = False) -> dict[str, str]:
        """Authorization for the administrator, for ``token``, or none (``anonymous``)."""
        if anonymous:
            return {}
        chosen = token or self.token
        return {"Authorization": f"Bearer {chosen}"} if chosen else {}


@pytest.fixture
def api(realnet_home: Path) -> Iterator[Api]:
    """The HTTP runner on a free loopback port, serving this test's SQLite store."""
    from liveserver import live_server

    from realnet.resources.accounts import Directory

    settings = load_settings()
    ctx = open_context(settings)
    token = Directory(ctx).create_token("admin", "tests", expires=None).token
    ctx.provider.close()
    with live_server(settings) as server:
        yield Api(server.url, token, server)
