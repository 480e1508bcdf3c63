"""Content storage for file items: a local folder by default, S3 in production."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from realnet.config import Settings
    from realnet.storage.base import ContentStore


def open_content(settings: Settings) -> ContentStore:
    """The configured content store; boto3 is imported only when S3 is used."""
    if settings.storage_type == "s3":
        try:
            import boto3  # noqa: F401
        except ImportError:
            from realnet.core.errors import ConfigError

            raise ConfigError("REALNET_STORAGE_TYPE=s3: needs boto3 (pip install 'realnet[s3]')") from None
        from realnet.storage.s3 import S3Content

        return S3Content(settings)
    from realnet.storage.local import LocalContent

    return LocalContent(settings.storage_path or settings.home / "content")


class LazyContent:
    """The configured store, opened on first use: ``realnet ls`` never imports boto3."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._store: ContentStore | None = None

    @property
    def store(self) -> ContentStore:
        if self._store is None:
            self._store = open_content(self._settings)
        return self._store

    @property
    def label(self) -> str:
        return self.store.label

    def __getattr__(self, name: str):
        return getattr(self.store, name)
