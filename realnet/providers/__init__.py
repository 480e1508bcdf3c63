"""Providers hold items. A registry maps a store name to the class that serves it.

Built-in providers register exactly as plugins do: by name, with a dotted class path
imported on first use and an install hint for when that import fails.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

from realnet.core.errors import ConfigError

if TYPE_CHECKING:
    from realnet.providers.base import Provider

PROVIDERS: dict[str, tuple[str, str]] = {
    "sqlite": ("realnet.providers.sql.sqlite:SqliteProvider", ""),
    "postgresql": (
        "realnet.providers.sql.postgresql:PostgresProvider",
        "install it with: pip install 'realnet[postgresql]'",
    ),
}


def provider_class(name: str) -> type[Provider]:
    try:
        target, hint = PROVIDERS[name]
    except KeyError:
        raise ConfigError(
            f"REALNET_DB_TYPE={name}: no provider of that name in this version "
            f"(available: {', '.join(sorted(PROVIDERS))})"
        ) from None
    module_name, _, attr = target.partition(":")
    try:
        module = import_module(module_name)
    except ImportError as e:
        raise ConfigError(f"REALNET_DB_TYPE={name}: cannot load its provider ({e}). {hint}") from e
    return getattr(module, attr)
