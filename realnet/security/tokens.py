"""API tokens: 256 random bits shown once; only their SHA-256 digest is kept."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets

PREFIX = "rn_"
_SHAPE = re.compile(r"^rn_[A-Za-z0-9_-]{43}$")


def new_token() -> str:
    return PREFIX + base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=")


def well_formed(token: str) -> bool:
    return bool(_SHAPE.match(token))


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
