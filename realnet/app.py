"""The composition root: settings → provider → resources → context."""

from __future__ import annotations

from realnet.config import Settings
from realnet.core.context import LOCAL_ADMIN, Context
from realnet.core.errors import ConfigError
from realnet.core.loader import packaged_directory
from realnet.providers import provider_class
from realnet.providers.base import Provider
from realnet.resources import ResourceRegistry
from realnet.security.secrets import SecretBox
from realnet.storage import LazyContent


def open_provider(settings: Settings) -> Provider:
    cls = provider_class(settings.db_type)
    if settings.db_type == "sqlite":
        return cls(settings.db_path, label=settings.store_label)  # type: ignore[call-arg]
    if settings.db_type == "postgresql":
        return cls(settings.postgres_conninfo(), label=settings.store_label)  # type: ignore[call-arg]
    raise ConfigError(f"REALNET_DB_TYPE={settings.db_type}: no way to open this store")


def secret_box(settings: Settings) -> SecretBox:
    # The embedded store keeps its key beside it; shared stores need one key for all replicas.
    key_file = settings.home / "secret.key" if settings.db_type == "sqlite" else None
    return SecretBox(settings.secret_key, key_file)


def open_context(settings: Settings, *, principal: str = LOCAL_ADMIN) -> Context:
    """A context on the configured store, acting as ``principal`` (the local administrator
    by default, as a local shell holds the store's credentials)."""
    context = Context(
        open_provider(settings),
        ResourceRegistry(),
        init_directories=[packaged_directory()],
        secrets=secret_box(settings),
        content=LazyContent(settings),  # type: ignore[arg-type]
        mount_paths=settings.mount_paths,
    )
    context.ensure_initialized()
    if principal != LOCAL_ADMIN:
        from realnet.resources.accounts import Directory

        try:
            Directory(context).check_account(principal)
        except BaseException:
            context.provider.close()
            raise
        context.act_as(principal)
    return context
