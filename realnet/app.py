"""The composition root: settings → provider → resources → context."""

from __future__ import annotations

from realnet.config import Settings
from realnet.core.context import Context
from realnet.core.errors import ConfigError
from realnet.core.loader import packaged_directory
from realnet.providers import provider_class
from realnet.providers.base import Provider
from realnet.resources import ResourceRegistry


def open_provider(settings: Settings) -> Provider:
    cls = provider_class(settings.db_type)
    if settings.db_type == "sqlite":
        return cls(settings.db_path, label=settings.store_label)  # type: ignore[call-arg]
    if settings.db_type == "postgresql":
        return cls(settings.postgres_conninfo(), label=settings.store_label)  # type: ignore[call-arg]
    raise ConfigError(f"REALNET_DB_TYPE={settings.db_type}: no way to open this store")


def open_context(settings: Settings) -> Context:
    """A context for the local administrator on the configured store."""
    context = Context(
        open_provider(settings),
        ResourceRegistry(),
        init_directories=[packaged_directory()],
    )
    context.ensure_initialized()
    return context
