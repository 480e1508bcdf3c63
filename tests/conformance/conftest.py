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


@pytest.fixture(params=sorted(PROVIDERS))
def tree(request: pytest.FixtureRequest) -> Iterator[Context]:
    provider = PROVIDERS[request.param](request)
    context = Context(provider, ResourceRegistry(), init_directories=[packaged_directory()],
                      secrets=SecretBox(TEST_KEY, None))
    context.ensure_initialized()
    yield context
    provider.close()
