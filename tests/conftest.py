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


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """One worker more than there are CPUs (up to eight): much of the suite waits on
    servers and subprocesses. Each worker starts the servers it needs for itself."""
    return min(8, (os.cpu_count() or 1) + 1)


@pytest.fixture(autouse=True)
def realnet_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own store; nothing leaks into ~/.realnet."""
    home = tmp_path / "home"
    for key in list(os.environ):
        if key.startswith("REALNET_") and not key.startswith("REALNET_TEST_"):
            monkeypatch.delenv(key)
    # Were the tests run in a pod, 'realnet init' would mount that pod's real cluster.
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
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


# -- S3 (moto in server mode) -------------------------------------------------------


@pytest.fixture(scope="session")
def s3_server() -> Iterator[str]:
    """The URL of one moto S3 endpoint for the whole run. Failing to start it fails the
    tests that need it: they never skip."""
    from s3server import MotoServer

    try:
        server = MotoServer().start()
    except (RuntimeError, OSError) as e:
        pytest.fail(f"cannot start a moto S3 endpoint for the tests: {e}")
    try:
        yield server.url
    finally:
        server.stop()


def isolate_aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No AWS_* setting, credentials file or config file of the machine reaches the test."""
    for key in list(os.environ):
        if key.startswith("AWS_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def s3_environment(monkeypatch: pytest.MonkeyPatch, endpoint: str, bucket: str) -> None:
    monkeypatch.setenv("REALNET_STORAGE_TYPE", "s3")
    monkeypatch.setenv("REALNET_STORAGE_S3_BUCKET", bucket)
    monkeypatch.setenv("REALNET_STORAGE_S3_KEY", "testing")
    monkeypatch.setenv("REALNET_STORAGE_S3_SECRET", "testing")
    monkeypatch.setenv("REALNET_AWS_ENDPOINT_URL", endpoint)


@pytest.fixture
def s3_settings(realnet_home: Path, s3_server: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """Settings for S3 content in a fresh bucket of a freshly reset moto."""
    from s3server import reset, s3_client

    isolate_aws(monkeypatch, tmp_path)
    reset(s3_server)
    bucket = f"rn-{uuid.uuid4().hex[:16]}"
    s3_client(s3_server).create_bucket(Bucket=bucket)
    s3_environment(monkeypatch, s3_server, bucket)
    return load_settings()


@dataclass
class FaultS3:
    """A moto endpoint of this test's own, which the test may stop and start again."""

    server: object  # s3server.MotoServer
    bucket: str
    settings: object  # realnet.config.Settings

    @property
    def url(self) -> str:
        return self.server.url

    def client(self):
        from s3server import s3_client

        return s3_client(self.url)


@pytest.fixture
def s3_fault(realnet_home: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[FaultS3]:
    """Like ``s3_settings`` but on a moto server of this test alone: ``.server.stop()`` takes
    the endpoint away mid-test, ``.server.start()`` brings it back on the same port (moto's
    state survives: it lives in the process, not in the server)."""
    from s3server import MotoServer, s3_client

    isolate_aws(monkeypatch, tmp_path)
    try:
        server = MotoServer().start()
    except (RuntimeError, OSError) as e:
        pytest.fail(f"cannot start a moto S3 endpoint for the tests: {e}")
    try:
        bucket = f"rn-{uuid.uuid4().hex[:16]}"
        s3_client(server.url).create_bucket(Bucket=bucket)
        s3_environment(monkeypatch, server.url, bucket)
        yield FaultS3(server, bucket, load_settings())
    finally:
        server.stop()


@dataclass
class CheckedS3:
    """A moto endpoint of its own that checks credentials, the one IAM access key it
    accepts, and a fresh bucket that only that key may use."""

    url: str
    key: str
    secret: str
    bucket: str

    def client(self, key: str | None = None, secret: str | None = None):
        """boto3 on this endpoint with the good credentials, or with the ones given."""
        import boto3

        return boto3.session.Session().client(
            "s3", endpoint_url=self.url, region_name="us-east-1",
            aws_access_key_id=key or self.key, aws_secret_access_key=secret or self.secret)


@pytest.fixture(scope="module")
def s3_checked_server() -> Iterator[tuple[str, str, str]]:
    """A ``python -m moto.server`` process that refuses requests not signed with the access
    key it returns: (url, key id, secret). Its own process, so that switching credential
    checks on (process-wide in moto) cannot reach the shared in-process endpoint."""
    from s3server import MotoProcess

    server = MotoProcess()
    try:
        server.start()
        key, secret = server.require_credentials()
    except Exception as e:
        server.stop()
        pytest.fail(f"cannot start a moto S3 endpoint that checks credentials: {e}")
    try:
        yield server.url, key, secret
    finally:
        server.stop()


@pytest.fixture
def s3_checked(realnet_home: Path, s3_checked_server, monkeypatch: pytest.MonkeyPatch,
               tmp_path: Path) -> CheckedS3:
    """Realnet's environment set for S3 content in a fresh bucket of ``s3_checked_server``,
    with the correct credentials (a test changes REALNET_STORAGE_S3_KEY/_SECRET to break them)."""
    url, key, secret = s3_checked_server
    isolate_aws(monkeypatch, tmp_path)
    checked = CheckedS3(url, key, secret, f"rn-{uuid.uuid4().hex[:16]}")
    client = checked.client()
    try:
        client.create_bucket(Bucket=checked.bucket)
    finally:
        client.close()
    s3_environment(monkeypatch, url, checked.bucket)
    monkeypatch.setenv("REALNET_STORAGE_S3_KEY", key)
    monkeypatch.setenv("REALNET_STORAGE_S3_SECRET", secret)
    return checked
