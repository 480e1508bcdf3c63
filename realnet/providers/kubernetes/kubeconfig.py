"""The common kubeconfig, and a pod's service account, read without importing the official loader.

``kubernetes.config.kube_config`` imports requests, requests-oauthlib and oauthlib at
module level for the OIDC and cloud providers it supports: about 0.1 s that every
``realnet ls`` below a cluster pays before its first request. Most kubeconfigs need none
of it — one file, a server with its CA, and a user with a bearer token or a client
certificate in files (kind, k3s, kubeadm's admin.conf, service-account kubeconfigs).
Those are read here into the official client's ``Configuration`` exactly as the loader
fills it (a test compares both on a set of kubeconfigs); everything else — exec plugins,
auth providers, token files, user names and passwords, certificates given as data, a
``KUBECONFIG`` list of files, anything unrecognised — is left to the official loader,
which also words every error.

Inside a pod (``in_cluster``) the official package would be imported just for its small
in-cluster reader; :func:`load_in_cluster` fills the ``Configuration`` as that reader does
(a test compares both), reading the rotated token again every minute.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

#: What the fast path understands in a cluster entry and in a user entry.
CLUSTER_KEYS = frozenset({"server", "certificate-authority", "certificate-authority-data",
                          "insecure-skip-tls-verify", "tls-server-name", "proxy-url"})
USER_KEYS = frozenset({"token", "client-certificate", "client-key"})
#: Where Kubernetes puts a pod's service-account credentials.
TOKEN_FILE = "/var/run/secrets/kubernetes.io/serviceaccount/token"  # noqa: S105 - a path, not a secret
CA_FILE = "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt"
#: The kubelet rotates a bound token in its file: read it again after this many seconds.
TOKEN_REREAD_SECONDS = 60.0


class ServiceAccountError(Exception):
    """The pod's service account cannot be used; the message says what is missing."""


def load_in_cluster(configuration: Any, environ: Mapping[str, str] = os.environ) -> None:
    """Fill ``configuration`` from the pod's service account: the API server from
    KUBERNETES_SERVICE_HOST and _PORT, the CA and the bearer token from their files."""
    host, port = environ.get("KUBERNETES_SERVICE_HOST"), environ.get("KUBERNETES_SERVICE_PORT")
    if not host or not port:
        raise ServiceAccountError("KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set "
                                  "(Kubernetes sets them in a pod)")
    token_file, ca_file = TOKEN_FILE, CA_FILE
    token = _service_file(token_file, "token")
    _service_file(ca_file, "CA certificate")
    bracketed = f"[{host}]" if ":" in host or "%" in host else host  # an IPv6 address
    configuration.host = f"https://{bracketed}:{port}"
    configuration.ssl_ca_cert = ca_file
    configuration.api_key["BearerToken"] = f"bearer {token}"
    read_at = time.monotonic()

    def reread_token(config: Any) -> None:
        nonlocal read_at
        if time.monotonic() - read_at >= TOKEN_REREAD_SECONDS:
            read_at = time.monotonic()
            # Unreadable now: keep the token in hand (the API says so if it has expired).
            with contextlib.suppress(ServiceAccountError):
                config.api_key["BearerToken"] = f"bearer {_service_file(token_file, 'token')}"

    configuration.refresh_api_key_hook = reread_token


def _service_file(path: str, what: str) -> str:
    try:
        text = Path(path).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        raise ServiceAccountError(f"{what} file {path}: missing") from None
    except (OSError, UnicodeDecodeError) as e:
        reason = getattr(e, "strerror", None) or e
        raise ServiceAccountError(f"{what} file {path}: cannot read ({reason})") from None
    if not text:
        raise ServiceAccountError(f"{what} file {path}: empty")
    return text


def load_simple(config_file: str | None, context: str | None, configuration: Any) -> bool:
    """Fill ``configuration`` from a kubeconfig the fast path understands; ``False``, with
    nothing set, when the official loader must read it."""
    location = config_file or os.environ.get("KUBECONFIG") or "~/.kube/config"
    if os.pathsep in location:
        return False
    path = os.path.expanduser(location)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    try:
        import yaml

        config = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506
    except yaml.YAMLError:
        return False
    if not isinstance(config, dict):
        return False
    chosen = _named(config, "contexts", context or config.get("current-context"), "context")
    if chosen is None or "cluster" not in chosen:
        return False
    cluster = _named(config, "clusters", chosen["cluster"], "cluster")
    user = _named(config, "users", chosen["user"], "user") if "user" in chosen else {}
    if cluster is None or user is None or not isinstance(cluster.get("server"), str):
        return False
    if set(cluster) - CLUSTER_KEYS or set(user) - USER_KEYS \
            or not all(isinstance(v, str) for k, v in user.items()) \
            or ("client-certificate" in user) != ("client-key" in user):
        return False
    values: dict[str, Any] = {"host": cluster["server"].rstrip("/")}
    base = os.path.abspath(os.path.dirname(path))
    if values["host"].startswith("https"):
        if "certificate-authority-data" in cluster:
            ca = _decoded(cluster["certificate-authority-data"])
            if ca is None:
                return False
            values["ca_cert_data"] = ca
        elif "certificate-authority" in cluster:
            values["ssl_ca_cert"] = _file(base, cluster["certificate-authority"])
        if "client-certificate" in user:
            values["cert_file"] = _file(base, user["client-certificate"])
            values["key_file"] = _file(base, user["client-key"])
    if "insecure-skip-tls-verify" in cluster:
        values["verify_ssl"] = not cluster["insecure-skip-tls-verify"]
    if "tls-server-name" in cluster:
        values["tls_server_name"] = cluster["tls-server-name"]
    if "proxy-url" in cluster:
        values["proxy"] = cluster["proxy-url"]
    if any(v is None for v in values.values()):
        return False
    for key, value in values.items():
        setattr(configuration, key, value)
    if user.get("token"):
        configuration.api_key["BearerToken"] = f"Bearer {user['token']}"
    return True


def _named(config: dict[str, Any], section: str, name: Any, field: str) -> dict[str, Any] | None:
    """The ``field`` of the entry called ``name`` in ``section`` (a list of named entries)."""
    entries = config.get(section)
    if not isinstance(name, str) or not isinstance(entries, list):
        return None
    for entry in entries:
        if isinstance(entry, dict) and entry.get("name") == name:
            value = entry.get(field)
            return value if isinstance(value, dict) else None
    return None


def _file(base: str, name: Any) -> str | None:
    """A file named in the kubeconfig, relative to the kubeconfig's folder; ``None`` (the
    official loader then says why) when it is not there."""
    if not isinstance(name, str) or not name:
        return None
    path = os.path.normpath(os.path.join(base, name))
    return path if os.path.isfile(path) else None


def _decoded(data: Any) -> str | None:
    import base64
    import binascii

    if not isinstance(data, str):
        return None
    try:
        return base64.standard_b64decode(data).decode("ascii")
    except (binascii.Error, UnicodeDecodeError):
        return None
