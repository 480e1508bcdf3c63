"""One-line explanations of why a PostgreSQL connection failed, naming the setting to fix."""

from __future__ import annotations


def describe_connect_error(error: Exception, label: str, conninfo: str = "") -> str:
    text = _without_password(str(error), conninfo)
    lowered = text.lower()
    if "password authentication failed" in lowered or "no password supplied" in lowered:
        return f"REALNET_DB_PASS: PostgreSQL at {label} refused the password (authentication failed)"
    if "role" in lowered and "does not exist" in lowered:
        return f"REALNET_DB_USER: PostgreSQL at {label} has no such user"
    if "database" in lowered and "does not exist" in lowered:
        return (f"REALNET_DB_NAME: PostgreSQL at {label} has no such database "
                "(create it, e.g. with createdb)")
    if "connection refused" in lowered or "could not connect" in lowered or "timeout" in lowered \
            or "could not translate host name" in lowered or "failed to resolve host" in lowered \
            or "no route to host" in lowered:
        first = next((line.strip() for line in text.splitlines() if line.strip()), text)
        return f"REALNET_DB_HOST/REALNET_DB_PORT: cannot reach PostgreSQL at {label} ({first[-120:]})"
    first = next((line.strip() for line in text.splitlines() if line.strip()), text)
    return f"{label}: cannot connect to PostgreSQL ({first})"


def _without_password(text: str, conninfo: str) -> str:
    """libpq may quote parts of the connection string back (a host name, for one): never
    the password."""
    if not conninfo:
        return text
    try:
        from psycopg.conninfo import conninfo_to_dict

        password = conninfo_to_dict(conninfo).get("password")
    except Exception:  # a string libpq cannot parse has nothing to hide here
        return text
    return text.replace(str(password), "***") if password else text
