"""One contract, every provider. A new provider joins by adding a factory here."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from realnet.core.context import Context
from realnet.core.loader import packaged_directory
from realnet.providers.base import Provider
from realnet.resources import ResourceRegistry


def sqlite_provider(tmp_path: Path) -> Provider:
    from realnet.providers.sql.sqlite import SqliteProvider

    return SqliteProvider(tmp_path / "store.db")


PROVIDERS: dict[str, Callable[[Path], Provider]] = {"sqlite": sqlite_provider}


@pytest.fixture(params=sorted(PROVIDERS))
def tree(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Context]:
    provider = PROVIDERS[request.param](tmp_path)
    context = Context(provider, ResourceRegistry(), init_directories=[packaged_directory()])
    context.ensure_initialized()
    yield context
    provider.close()
