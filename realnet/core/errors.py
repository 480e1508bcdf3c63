"""The one error hierarchy every layer raises and every face translates.

Each error carries a one-line message that names the path, field or setting and
what was expected, and a stable ``code`` that machine faces (HTTP, SQS) expose.
"""

from __future__ import annotations


class RealnetError(Exception):
    """A failure the user can act on; faces print ``str(err)`` and exit with ``exit_code``."""

    code = "error"
    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class UsageError(RealnetError):
    """A command was called the wrong way (unknown flag, missing argument)."""

    code = "usage"
    exit_code = 2


class ConfigError(RealnetError):
    """A REALNET_* setting is missing or invalid."""

    code = "config"


class NotFound(RealnetError):
    code = "not_found"

    def __init__(self, path: str, what: str = "no such item") -> None:
        super().__init__(f"{path}: {what}")
        self.path = path


class UnknownType(NotFound):
    """A type name that no type definition has."""

    code = "unknown_type"


class AlreadyExists(RealnetError):
    code = "exists"

    def __init__(self, path: str) -> None:
        super().__init__(f"{path}: an item with this name already exists")
        self.path = path


class InvalidName(RealnetError):
    code = "invalid_name"


class InvalidPath(RealnetError):
    code = "invalid_path"


class ValidationError(RealnetError):
    """An item, attribute, type definition or import file does not have the expected shape."""

    code = "invalid"


class Conflict(RealnetError):
    """An update named a version that is no longer current."""

    code = "conflict"


class NotEmpty(RealnetError):
    code = "not_empty"


class PermissionDenied(RealnetError):
    code = "forbidden"


class ReadOnly(PermissionDenied):
    """A change below a read-only mount."""

    code = "read_only"


class StoreError(RealnetError):
    """The store cannot be used: corrupt, foreign, too new, or unreachable."""

    code = "store"
