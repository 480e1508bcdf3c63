"""REALNET_* settings: read once from the environment and an optional ``.env``, checked.

The embedded default needs no setting at all: a SQLite file and a content folder
under ``REALNET_HOME`` (``~/.realnet`` unless set). Every invalid value stops the
program at start with a message that names the variable and what it allows.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from realnet.core.errors import ConfigError, RealnetError

DB_TYPES = ("sqlite", "postgresql")
BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
STORAGE_TYPES = ("local", "s3")

#: Every setting Realnet reads, with a one-line description (``info`` and the docs list them).
SETTINGS: dict[str, str] = {
    "REALNET_HOME": "folder for the embedded store, content, history and keys (default ~/.realnet)",
    "REALNET_DB_TYPE": "item store: sqlite (default) or postgresql",
    "REALNET_DB_PATH": "SQLite file (default $REALNET_HOME/realnet.db)",
    "REALNET_DB_URL": "PostgreSQL URL, instead of the REALNET_DB_USER/PASS/HOST/PORT/NAME parts",
    "REALNET_DB_USER": "PostgreSQL user",
    "REALNET_DB_PASS": "PostgreSQL password (never printed)",
    "REALNET_DB_HOST": "PostgreSQL host (default localhost)",
    "REALNET_DB_PORT": "PostgreSQL port (default 5432)",
    "REALNET_DB_NAME": "PostgreSQL database (default realnet)",
    "REALNET_STORAGE_TYPE": "file content store: local (default) or s3",
    "REALNET_STORAGE_PATH": "local content folder (default $REALNET_HOME/content)",
    "REALNET_STORAGE_S3_BUCKET": "S3 bucket for file content (with REALNET_STORAGE_TYPE=s3)",
    "REALNET_STORAGE_S3_PREFIX": "key prefix inside the S3 bucket",
    "REALNET_STORAGE_S3_KEY": "S3 access key id (default: the AWS SDK's own chain)",
    "REALNET_STORAGE_S3_SECRET": "S3 secret access key (never printed)",
    "REALNET_STORAGE_S3_REGION": "S3 region (default us-east-1)",
    "REALNET_AWS_ENDPOINT_URL": "endpoint of an S3-compatible service (default AWS_ENDPOINT_URL, else AWS)",
    "REALNET_SECRET_KEY": "key that encrypts secret attributes (default: generated into "
    "$REALNET_HOME/secret.key for the embedded store; required with PostgreSQL)",
    "REALNET_MOUNT_PATHS": "folders (separated by ':') that document and FileTree mounts may point into "
    "(default: anywhere this process can read; empty: no file mounts)",
    "REALNET_SERVER_HOST": "HTTP runner address (default 127.0.0.1)",
    "REALNET_SERVER_PORT": "HTTP runner port (default 8080)",
    "REALNET_SERVER_CORS_ORIGINS": "origins allowed to call the HTTP API from a browser, "
    "comma-separated (default: none, CORS off)",
    "REALNET_SERVER_TRUSTED_PROXIES": "addresses (or CIDR networks) of reverse proxies whose "
    "X-Forwarded-For and X-Forwarded-Proto the HTTP runner believes, comma-separated (default: none)",
    "REALNET_SERVER_CACHE_MB": "memory the HTTP runner may keep answers to reads in, reused until the "
    "store changes (default 32; 0 turns it off)",
    "REALNET_SQS_QUEUE_URL": "queue the SQS runner reads requests from ('serve sqs', 'realnet server --sqs')",
    "REALNET_SQS_REGION": "SQS region (default: the queue URL's, else us-east-1)",
    "REALNET_SQS_ENDPOINT_URL": "endpoint of an SQS-compatible service (default REALNET_AWS_ENDPOINT_URL)",
    "REALNET_SQS_CONCURRENCY": "requests the SQS runner works on at once (default 10)",
    "REALNET_SQS_VISIBILITY_TIMEOUT": "seconds a received message stays hidden, extended while it is "
    "worked on (default 30)",
    "REALNET_SQS_WAIT_SECONDS": "long-polling wait of each receive, 0 to 20 (default 20)",
    "REALNET_SQS_PRINCIPAL": "account that requests without a token act as (default admin; "
    "the shell's account for 'serve sqs')",
    "REALNET_SQS_REQUEST_WINDOW": "how long request ids are remembered so that a redelivery is applied "
    "once (default 4d, SQS's default retention)",
    "REALNET_SQS_CONTENT_BUCKETS": "S3 buckets that put/fetch messages may name, comma-separated "
    "(default: none)",
    "REALNET_LOCAL_CLUSTER": "where 'realnet init' inside a pod mounts the cluster it runs in, with the "
    "pod's service account (default /clusters/local; 'off' to leave it unmounted)",
    "REALNET_URL": "a remote Realnet's HTTP API: the shell and CLI work against it (with REALNET_TOKEN)",
    "REALNET_TOKEN": "API token for REALNET_URL (never printed)",
}


@dataclass(frozen=True, slots=True)
class Settings:
    home: Path
    db_type: str = "sqlite"
    db_path: Path | None = None
    db_url: str | None = field(default=None, repr=False)  # may carry a password
    db_user: str | None = None
    db_password: str | None = field(default=None, repr=False)
    db_host: str = "localhost"
    db_port: int = 5432
    db_name: str = "realnet"
    storage_type: str = "local"
    storage_path: Path | None = None
    storage_bucket: str | None = None
    storage_prefix: str = ""
    s3_key: str | None = None
    s3_secret: str | None = field(default=None, repr=False)
    s3_region: str = "us-east-1"
    aws_endpoint_url: str | None = None
    server_host: str = "127.0.0.1"
    server_port: int = 8080
    server_cors_origins: tuple[str, ...] = ()
    server_trusted_proxies: tuple[str, ...] = ()
    server_cache_mb: int = 32
    url: str | None = None
    token: str | None = field(default=None, repr=False)
    secret_key: str | None = field(default=None, repr=False)
    sqs_queue_url: str | None = None
    sqs_region: str | None = None
    sqs_endpoint_url: str | None = None
    sqs_concurrency: int = 10
    sqs_visibility_timeout: int = 30
    sqs_wait_seconds: int = 20
    sqs_principal: str | None = None
    sqs_request_window: int = 4 * 86400  # seconds
    sqs_content_buckets: tuple[str, ...] = ()
    local_cluster: str | None = "/clusters/local"
    #: Where file and folder mounts may point (real paths); None: anywhere.
    mount_paths: tuple[str, ...] | None = None

    @property
    def store_label(self) -> str:
        if self.db_type == "sqlite":
            return "local"
        if self.db_url:
            from urllib.parse import urlsplit

            parts = urlsplit(self.db_url)
            return f"{parts.hostname or 'localhost'}:{parts.port or 5432}{parts.path or '/'}"
        return f"{self.db_host}:{self.db_port}/{self.db_name}"

    def postgres_conninfo(self) -> str:
        """The libpq connection string; the password goes to libpq, never to output."""
        if self.db_url:
            return self.db_url
        from psycopg.conninfo import make_conninfo

        parts = {"host": self.db_host, "port": self.db_port, "dbname": self.db_name,
                 "application_name": "realnet"}
        if self.db_user:
            parts["user"] = self.db_user
        if self.db_password:
            parts["password"] = self.db_password
        return make_conninfo(**parts)

    def describe(self) -> dict[str, str]:
        """The settings in force, safe to print (no password)."""
        out = {
            "home": str(self.home),
            "db_type": self.db_type,
            "storage_type": self.storage_type,
            "server": f"{self.server_host}:{self.server_port}",
        }
        if self.db_type == "sqlite":
            out["db_path"] = str(self.db_path)
        else:
            out["db"] = self.store_label
        if self.storage_type == "local":
            out["storage_path"] = str(self.storage_path)
        else:
            out["storage"] = f"s3://{self.storage_bucket}/{self.storage_prefix}"
        if self.sqs_queue_url:
            out["sqs_queue"] = self.sqs_queue_url
        return out


def _choice(env: Mapping[str, str], key: str, allowed: tuple[str, ...], default: str) -> str:
    value = env.get(key, "").strip().lower() or default
    if value not in allowed:
        raise ConfigError(f"{key}={env[key]!r}: expected one of {', '.join(allowed)}")
    return value


def _port(env: Mapping[str, str], key: str, default: int) -> int:
    raw = env.get(key, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise ConfigError(f"{key}={raw!r}: expected a port number from 1 to 65535")
    return int(raw)


def _path(env: Mapping[str, str], key: str, default: Path) -> Path:
    raw = env.get(key, "").strip()
    if not raw:
        return default
    if "\x00" in raw:
        raise ConfigError(f"{key}: a path must not contain NUL")
    return Path(raw).expanduser()


def _url(env: Mapping[str, str], key: str) -> str | None:
    raw = env.get(key, "").strip()
    if not raw:
        return None
    return check_url(raw, key)


def check_url(raw: str, where: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{where}={raw!r}: expected an http:// or https:// URL")
    if parts.username or parts.password:
        raise ConfigError(f"{where}: put the token in REALNET_TOKEN, not in the URL")
    return raw.rstrip("/")


def check_db_url(raw: str) -> None:
    """Refuse a REALNET_DB_URL libpq would read otherwise than it looks; the message never
    repeats the URL, which holds the password."""
    from urllib.parse import urlsplit

    if not raw.startswith(("postgresql://", "postgres://")):
        raise ConfigError("REALNET_DB_URL: expected a postgresql:// URL")
    netloc = raw.split("://", 1)[1].split("/", 1)[0]
    if netloc.count("@") > 1:
        # libpq splits at the first '@', so the rest of the password would become the host name.
        raise ConfigError("REALNET_DB_URL: write an '@' in the user name or password as %40")
    try:
        parts = urlsplit(raw)  # raises on a malformed IPv6 address
        port = parts.port  # raises on a port that is not a number up to 65535
    except ValueError:
        raise ConfigError("REALNET_DB_URL: expected postgresql://USER:PASSWORD@HOST:PORT/NAME with a port "
                          "from 1 to 65535 (and an IPv6 host in brackets)") from None
    if port == 0:
        raise ConfigError("REALNET_DB_URL: the port must be from 1 to 65535")


def _origins(env: Mapping[str, str], key: str) -> tuple[str, ...]:
    origins = tuple(o.strip().rstrip("/") for o in env.get(key, "").split(",") if o.strip())
    for origin in origins:
        if origin == "*" or not origin.startswith(("http://", "https://")):
            raise ConfigError(f"{key}: {origin!r} is not an explicit origin such as https://app.example.com")
    return origins


def _networks(env: Mapping[str, str], key: str) -> tuple[str, ...]:
    import ipaddress

    networks = tuple(n.strip() for n in env.get(key, "").split(",") if n.strip())
    for network in networks:
        try:
            ipaddress.ip_network(network, strict=False)
        except ValueError:
            raise ConfigError(f"{key}: {network!r} is not an IP address or CIDR network "
                              "such as 10.0.0.0/8") from None
    return networks


def read_environment(environ: Mapping[str, str] | None = None, *, cwd: Path | None = None) -> dict[str, str]:
    """The process environment over ``.env`` in the working folder and in REALNET_HOME."""
    env = dict(os.environ if environ is None else environ)
    merged: dict[str, str] = {}
    home = Path(env.get("REALNET_HOME") or "~/.realnet").expanduser()
    for candidate in (home / ".env", (cwd or Path.cwd()) / ".env"):
        if candidate.is_file():
            from dotenv import dotenv_values

            values = dotenv_values(candidate)
            merged.update({k: v for k, v in values.items() if k.startswith("REALNET_") and v is not None})
    merged.update({k: v for k, v in env.items() if k.startswith("REALNET_")})
    return merged


def load_settings(environ: Mapping[str, str] | None = None, *, cwd: Path | None = None) -> Settings:
    env = read_environment(environ, cwd=cwd)
    unknown = sorted(k for k in env if k not in SETTINGS and not k.startswith("REALNET_TEST_"))
    if unknown:
        raise ConfigError(
            f"{unknown[0]}: not a Realnet setting (known: {', '.join(sorted(SETTINGS))})"
        )
    home = _path(env, "REALNET_HOME", Path("~/.realnet").expanduser())
    db_type = _choice(env, "REALNET_DB_TYPE", DB_TYPES, "sqlite")
    storage_type = _choice(env, "REALNET_STORAGE_TYPE", STORAGE_TYPES, "local")
    bucket = env.get("REALNET_STORAGE_S3_BUCKET", "").strip() or None
    if storage_type == "s3" and not bucket:
        raise ConfigError("REALNET_STORAGE_S3_BUCKET: required when REALNET_STORAGE_TYPE=s3")
    if bucket and not BUCKET.match(bucket):
        raise ConfigError(f"REALNET_STORAGE_S3_BUCKET={bucket!r}: expected an S3 bucket name "
                          "(3-63 lowercase letters, digits, '.' and '-')")
    endpoint = (env.get("REALNET_AWS_ENDPOINT_URL", "").strip()
                or (environ if environ is not None else os.environ).get("AWS_ENDPOINT_URL", "").strip()
                or None)
    if endpoint:
        endpoint = check_url(endpoint, "REALNET_AWS_ENDPOINT_URL")
    db_url = env.get("REALNET_DB_URL", "").strip() or None
    if db_url:
        check_db_url(db_url)
    if db_url and db_type != "postgresql":
        raise ConfigError("REALNET_DB_URL: set only with REALNET_DB_TYPE=postgresql")
    host = env.get("REALNET_SERVER_HOST", "").strip() or "127.0.0.1"
    url = _url(env, "REALNET_URL")
    return Settings(
        home=home,
        db_type=db_type,
        db_path=_path(env, "REALNET_DB_PATH", home / "realnet.db"),
        db_url=db_url,
        db_user=env.get("REALNET_DB_USER") or None,
        db_password=env.get("REALNET_DB_PASS") or None,
        db_host=env.get("REALNET_DB_HOST", "").strip() or "localhost",
        db_port=_port(env, "REALNET_DB_PORT", 5432),
        db_name=env.get("REALNET_DB_NAME", "").strip() or "realnet",
        storage_type=storage_type,
        storage_path=_path(env, "REALNET_STORAGE_PATH", home / "content"),
        storage_bucket=bucket,
        storage_prefix=env.get("REALNET_STORAGE_S3_PREFIX", "").strip().strip("/"),
        s3_key=env.get("REALNET_STORAGE_S3_KEY", "").strip() or None,
        s3_secret=env.get("REALNET_STORAGE_S3_SECRET", "").strip() or None,
        s3_region=env.get("REALNET_STORAGE_S3_REGION", "").strip() or "us-east-1",
        aws_endpoint_url=endpoint,
        server_host=host,
        server_port=_port(env, "REALNET_SERVER_PORT", 8080),
        server_cors_origins=_origins(env, "REALNET_SERVER_CORS_ORIGINS"),
        server_trusted_proxies=_networks(env, "REALNET_SERVER_TRUSTED_PROXIES"),
        server_cache_mb=_int(env, "REALNET_SERVER_CACHE_MB", 32, 0, 65536),
        url=url,
        token=env.get("REALNET_TOKEN", "").strip() or None,
        secret_key=env.get("REALNET_SECRET_KEY", "").strip() or None,
        **_sqs(env, endpoint),
        local_cluster=_local_cluster(env),
        mount_paths=_mount_paths(env),
    )


def _mount_paths(env: Mapping[str, str]) -> tuple[str, ...] | None:
    raw = env.get("REALNET_MOUNT_PATHS")
    if raw is None:
        return None
    roots = []
    for part in raw.split(os.pathsep):
        part = part.strip()
        if not part:
            continue
        if not os.path.isabs(part) or "\x00" in part:
            raise ConfigError(f"REALNET_MOUNT_PATHS={raw!r}: expected absolute folders separated by "
                              f"'{os.pathsep}', got {part!r}")
        roots.append(os.path.realpath(part))
    return tuple(roots)


def _local_cluster(env: Mapping[str, str]) -> str | None:
    raw = env.get("REALNET_LOCAL_CLUSTER", "").strip()
    if raw.lower() == "off":
        return None
    if not raw:
        return "/clusters/local"
    from realnet.core import paths

    try:
        path = paths.normalize(raw)
    except RealnetError:
        path = None
    if path is None or path == paths.ROOT:
        raise ConfigError(f"REALNET_LOCAL_CLUSTER={raw!r}: expected an absolute path below / "
                          "(such as /clusters/local) or 'off'")
    return path


def _int(env: Mapping[str, str], key: str, default: int, low: int, high: int) -> int:
    raw = env.get(key, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise ConfigError(f"{key}={raw!r}: expected a whole number from {low} to {high}")
    return int(raw)


def _sqs(env: Mapping[str, str], aws_endpoint: str | None) -> dict[str, object]:
    queue = _url(env, "REALNET_SQS_QUEUE_URL")
    endpoint = _url(env, "REALNET_SQS_ENDPOINT_URL") or aws_endpoint
    window = env.get("REALNET_SQS_REQUEST_WINDOW", "").strip()
    seconds = 4 * 86400
    if window:
        from realnet.core.errors import ValidationError
        from realnet.resources.accounts import parse_duration

        try:
            seconds = int(parse_duration(window).total_seconds())
        except ValidationError:
            raise ConfigError(f"REALNET_SQS_REQUEST_WINDOW={window!r}: expected a duration such as "
                              "12h, 4d or 2w") from None
    buckets = tuple(b.strip() for b in env.get("REALNET_SQS_CONTENT_BUCKETS", "").split(",") if b.strip())
    for bucket in buckets:
        if not BUCKET.match(bucket):
            raise ConfigError(f"REALNET_SQS_CONTENT_BUCKETS: {bucket!r} is not an S3 bucket name")
    return {
        "sqs_queue_url": queue,
        "sqs_region": env.get("REALNET_SQS_REGION", "").strip() or None,
        "sqs_endpoint_url": endpoint,
        "sqs_concurrency": _int(env, "REALNET_SQS_CONCURRENCY", 10, 1, 1000),
        "sqs_visibility_timeout": _int(env, "REALNET_SQS_VISIBILITY_TIMEOUT", 30, 1, 43200),
        "sqs_wait_seconds": _int(env, "REALNET_SQS_WAIT_SECONDS", 20, 0, 20),
        "sqs_principal": env.get("REALNET_SQS_PRINCIPAL", "").strip() or None,
        "sqs_request_window": seconds,
        "sqs_content_buckets": buckets,
    }
