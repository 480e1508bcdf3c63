"""Encryption at rest for attributes of kind ``secret`` (Fernet: AES-128-CBC + HMAC).

The key comes from ``REALNET_SECRET_KEY``; the embedded default generates one into
``REALNET_HOME/secret.key``, readable by its owner only. Stored values look like
``fernet:…``; a wrong or missing key is reported, never written over.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from realnet.core.errors import ConfigError, StoreError

if TYPE_CHECKING:
    from cryptography.fernet import Fernet

PREFIX = "fernet:"
KEY_HELP = ('generate one with: python -c "from cryptography.fernet import Fernet; '
            'print(Fernet.generate_key().decode())"')


class SecretBox:
    """Encrypts and decrypts secret attribute values; loads its key on first use."""

    def __init__(self, key: str | None, key_file: Path | None) -> None:
        self._key = key
        self._key_file = key_file
        self._fernet: Fernet | None = None

    def _cipher(self) -> Fernet:
        from cryptography.fernet import Fernet  # costly to import: only when a secret is used

        if self._fernet is None:
            key = self._key or self._read_or_create_key_file()
            try:
                self._fernet = Fernet(key.encode() if isinstance(key, str) else key)
            except (ValueError, TypeError) as e:
                raise ConfigError(
                    f"REALNET_SECRET_KEY: not a valid key (expected 32 url-safe base64 bytes); {KEY_HELP}"
                ) from e
        return self._fernet

    def _read_or_create_key_file(self) -> str:
        if self._key_file is None:
            raise ConfigError(
                f"REALNET_SECRET_KEY: required to store or read secrets on this store; {KEY_HELP}"
            )
        if self._key_file.exists():
            return self._key_file.read_text().strip()
        self._key_file.parent.mkdir(parents=True, exist_ok=True)
        from cryptography.fernet import Fernet

        key = Fernet.generate_key()
        fd = os.open(self._key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(key + b"\n")
        return key.decode()

    @staticmethod
    def is_sealed(value: object) -> bool:
        return isinstance(value, str) and value.startswith(PREFIX)

    def seal(self, value: str) -> str:
        return PREFIX + self._cipher().encrypt(value.encode()).decode()

    def open(self, value: str, *, where: str) -> str:
        from cryptography.fernet import InvalidToken

        if not self.is_sealed(value):
            raise StoreError(f"{where}: the stored secret is not encrypted as expected")
        try:
            return self._cipher().decrypt(value[len(PREFIX):].encode()).decode()
        except InvalidToken as e:
            raise ConfigError(
                f"{where}: cannot decrypt: REALNET_SECRET_KEY is not the key this secret was stored with"
            ) from e
