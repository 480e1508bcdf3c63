"""One contract, every provider. A new provider joins by adding a factory here."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from realnet.core.context import Context
from realnet.core.loader import packaged_directory
from realnet.providers.base import Provider
from realnet.resources import ResourceRegistry
from realnet.security.secrets import SecretBox

TEST_KEY = "cmVhbG5ldC10ZXN0LWtleS0zMi1ieXRlcy1sb25nISE="  # 32 bytes, url-safe base64


def sqlite_provider(tmp_path: Path) -> Provider:
    from realnet.providers.sql.sqlite import SqliteProvider

    return SqliteProvider(tmp_path / "store.db")


def postgresql_provider(request: pytest.FixtureRequest) -> Provider:
    from realnet.providers.sql.postgresql import PostgresProvider

    return PostgresProvider(request.getfixturevalue("pg_schema"), label="test")


PROVIDERS: dict[str, Callable[[pytest.FixtureRequest], Provider]] = {
    "sqlite": lambda request: sqlite_provider(request.getfixturevalue("tmp_path")),
    "postgresql": postgresql_provider,
}


REMOTE_SKIP = ("needs direct access to the store (provider calls, transactions spanning several "
               "changes), which the HTTP API does not offer by design")


@pytest.fixture(params=[*sorted(PROVIDERS), "remote"])
def tree(request: pytest.FixtureRequest) -> Iterator[Context]:
    """The facade every face uses: over each provider, and over the HTTP API (a server
    started here on a SQLite store, reached with RemoteContext as the administrator)."""
    if request.param == "remote":
        if request.node.get_closest_marker("store_access"):
            pytest.skip(f"remote: {request.node.name} {REMOTE_SKIP}")
        yield from remote_tree(request.getfixturevalue("tmp_path"))
        return
    provider = PROVIDERS[request.param](request)
    context = Context(provider, ResourceRegistry(), init_directories=[packaged_directory()],
                      secrets=SecretBox(TEST_KEY, None))
    context.ensure_initialized()
    yield context
    provider.close()


def remote_tree(tmp_path: Path) -> Iterator[Context]:
    from liveserver import live_server

    from realnet.app import open_context
    from realnet.config import load_settings
    from realnet.remote.context import RemoteContext
    from realnet.resources.accounts import Directory

    settings = load_settings({"REALNET_HOME": str(tmp_path / "server"), "REALNET_SECRET_KEY": TEST_KEY})
    local = open_context(settings)
    token = Directory(local).create_token("admin", "conformance", expires=None).token
    local.provider.close()
    with live_server(settings) as server:
        remote = RemoteContext(server.url, token)
        yield remote  # type: ignore[misc]
        remote.provider.close()
