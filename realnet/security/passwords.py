"""Password hashing with scrypt, a memory-hard KDF, verified in constant time."""

from __future__ import annotations

import base64
import os

from cryptography.exceptions import InvalidKey
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from realnet.core.errors import ValidationError

# 2**15 × 8 × 128 bytes = 32 MiB per hash: costly to guess at scale, quick enough to log in.
N, R, P = 2**15, 8, 1
MIN_LENGTH = 12
_DUMMY = None


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def check_policy(password: str, *, allow_weak: bool = False) -> None:
    if not password:
        raise ValidationError("password: must not be empty")
    if len(password) < MIN_LENGTH and not allow_weak:
        raise ValidationError(
            f"password: at least {MIN_LENGTH} characters are required (an admin may pass --allow-weak)"
        )


def hash_password(password: str, *, n: int = N) -> str:
    salt = os.urandom(16)
    digest = Scrypt(salt=salt, length=32, n=n, r=R, p=P).derive(password.encode())
    return f"scrypt${n}${R}${P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str | None) -> bool:
    """True when ``password`` matches ``stored``. With no stored hash (an unknown user),
    the same work is done against a dummy, so timing does not tell the two apart."""
    global _DUMMY
    if not stored:
        if _DUMMY is None:
            _DUMMY = hash_password("realnet-dummy-password")
        stored = _DUMMY
        password = password + "\x00never"
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        kdf = Scrypt(salt=base64.b64decode(salt), length=32, n=int(n), r=int(r), p=int(p))
        kdf.verify(password.encode(), base64.b64decode(digest))
    except (ValueError, InvalidKey):
        return False
    return True
