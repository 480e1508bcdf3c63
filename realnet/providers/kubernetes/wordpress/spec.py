"""What a WordPress site is made from: the :class:`SiteSpec` the tree holds, its checks
(every value that reaches PHP, a shell or a manifest is checked here first), the values
derived from it, and the spec read back from the site's ``<name>-site`` ConfigMap."""

from __future__ import annotations

import ipaddress
import json
import re
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from realnet.core.errors import ValidationError

LABEL = "realnet.io/wordpress-site"
PART = "realnet.io/part"
MULTISITE = ("subdomain", "subdirectory")

MYSQL_IMAGE = "mysql:8.4"
WORDPRESS_IMAGE = "wordpress:6-php8.2-apache"
CLI_IMAGE = "wordpress:cli-php8.2"
#: The mysql image's mysql user.
MYSQL_UID = 999
#: www-data of the Debian-based wordpress image. The cli image (Alpine) has www-data as 82: its
#: Job runs as 33 too, so that both write wp-content as the same owner.
WWW_DATA = 33
DB_USER = "wordpress"
DB_NAME = "wordpress"
ADMIN_USER = "admin"
HTML = "/var/www/html"
CONTENT = f"{HTML}/wp-content"
PLUGIN_DIR = f"{CONTENT}/plugins/realnet"
TMP = "/tmp"  # noqa: S108 - where each pod mounts an emptyDir of its own, not a file made here
PLUGIN_SOURCE = "/realnet-plugin"  # where the plugins ConfigMap is mounted, read-only
#: On the pod template: a new plugin restarts WordPress, whose init container copies it.
PLUGIN_HASH = "realnet.io/plugin-sha256"
#: The wait for the database in the install Job: tries × seconds, then the Job retries.
DB_TRIES, DB_PAUSE = 60, 5
#: The wait for a plugin to be in wp-content (the bundled ones are copied by WordPress's start).
PLUGIN_TRIES, PLUGIN_PAUSE = 30, 5

# A site's name prefixes its objects; the longest derived name that must stay a 63-character
# label is the StatefulSet's controller-revision-hash value "<name>-mysql-<10 characters>".
MAX_NAME = 40
_DNS_LABEL = re.compile(r"^[a-z]([a-z0-9-]*[a-z0-9])?$")  # DNS-1035: what Service names must be
_DNS_1123_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$")
_HOST_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
_PLUGIN = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_SIZE = re.compile(r"^([0-9]+(\.[0-9]+)?)(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$")
_EMAIL = re.compile(r"^[A-Za-z0-9._%+-]+@[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class SiteSpec:
    """One WordPress multisite network: what the tree holds, and the site's ConfigMap too."""

    name: str
    namespace: str
    host: str
    multisite: str = "subdomain"
    plugins: tuple[str, ...] = ("realnet",)
    title: str = ""
    admin_email: str = ""
    tls_secret: str | None = None
    ingress_class: str | None = None
    storage_class: str | None = None
    database_size: str = "5Gi"
    content_size: str = "5Gi"
    realnet_url: str = ""
    realnet_token_secret: str | None = None


# -- checking ------------------------------------------------------------------------------------

def record_name(site: str) -> str:
    """The ConfigMap that records a site (the provider reads sites back from it)."""
    return f"{site}-site"


def database_secret(site: str) -> str:
    """The Secret with a site's generated credentials."""
    return f"{site}-db"


def _refuse(where: str, field: str, expected: str, got: object) -> ValidationError:
    # repr() keeps the message on one line whatever the value holds.
    return ValidationError(f"{where}: {field}: expected {expected}, got {got!r}")


def _host_problem(host: object) -> str | None:
    """Why ``host`` is no public DNS name the site can live at, or None."""
    if not isinstance(host, str) or not host:
        return "empty"
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        pass
    else:
        return "an IP address"
    if len(host) > 253 - 2:  # "*." + host must fit too (the subdomain rule)
        return "too long"
    labels = host.split(".")
    if host == "localhost" or labels[-1] == "localhost":
        return "localhost"
    if len(labels) < 2 or not all(_HOST_LABEL.match(label) for label in labels):
        return "not a lower-case DNS name with a dot"
    if labels[-1].isdigit():
        return "an IP address"
    return None


def check_spec(spec: SiteSpec, where: str) -> None:
    """Refuse a spec that would not make a working site: ValidationError, one line naming the field."""
    if not isinstance(spec.name, str) or not _DNS_LABEL.match(spec.name) or len(spec.name) > MAX_NAME:
        raise _refuse(where, "name", "a DNS-1035 label (lower-case letters, digits and '-', starting with "
                      f"a letter, at most {MAX_NAME} characters)", spec.name)
    if not isinstance(spec.namespace, str) or not _DNS_1123_LABEL.match(spec.namespace) \
            or len(spec.namespace) > 63:
        raise _refuse(where, "namespace", "a namespace name (a DNS-1123 label)", spec.namespace)
    problem = _host_problem(spec.host)
    if problem:
        raise _refuse(where, "host", f"a DNS name such as blog.example.com, not localhost or an IP "
                      f"address ({problem})", spec.host)
    if spec.multisite not in MULTISITE:
        raise _refuse(where, "multisite", " or ".join(MULTISITE), spec.multisite)
    if not isinstance(spec.plugins, tuple | list):
        raise _refuse(where, "plugins", "a list of plugin slugs", spec.plugins)
    for slug in spec.plugins:
        if not isinstance(slug, str) or not _PLUGIN.match(slug) or len(slug) > 100:
            raise _refuse(where, "plugins", "plugin slugs matching ^[a-z0-9][a-z0-9-]*$", slug)
    if len(set(spec.plugins)) != len(spec.plugins):
        raise _refuse(where, "plugins", "each plugin once", list(spec.plugins))
    if not isinstance(spec.title, str) or _CONTROL.search(spec.title) or len(spec.title) > 200:
        raise _refuse(where, "title", "one line of text of at most 200 characters", spec.title)
    if spec.admin_email and (not isinstance(spec.admin_email, str) or not _EMAIL.match(spec.admin_email)):
        raise _refuse(where, "admin_email", "an address such as admin@example.com", spec.admin_email)
    for field in ("tls_secret", "ingress_class", "storage_class", "realnet_token_secret"):
        value = getattr(spec, field)
        if value is not None and (not isinstance(value, str) or not _DNS_SUBDOMAIN.match(value)
                                  or len(value) > 253):
            raise _refuse(where, field, "an object name (a DNS-1123 subdomain) or nothing", value)
    for field in ("database_size", "content_size"):
        value = getattr(spec, field)
        found = _SIZE.match(value) if isinstance(value, str) else None
        if not found or float(found.group(1)) <= 0:
            raise _refuse(where, field, "a Kubernetes quantity above zero such as 5Gi", value)
    if spec.realnet_url:
        url = urlsplit(spec.realnet_url) if isinstance(spec.realnet_url, str) else None
        # The plugin's own rule (deploy/wordpress/realnet/realnet.php).
        if url is None or url.scheme not in ("http", "https") or not url.hostname or url.username \
                or url.password or url.query or url.fragment or _CONTROL.search(spec.realnet_url) \
                or " " in spec.realnet_url:
            raise _refuse(where, "realnet_url", "http(s)://HOST[:PORT][/PREFIX], without user, password "
                          "or query", spec.realnet_url)


# -- values derived from the spec ----------------------------------------------------------------

def site_url(spec: SiteSpec) -> str:
    """The network's main URL: https when the Ingress has a TLS secret."""
    return f"{'https' if spec.tls_secret else 'http'}://{spec.host}/"


def title_of(spec: SiteSpec) -> str:
    return spec.title or spec.host


def admin_email_of(spec: SiteSpec) -> str:
    return spec.admin_email or f"admin@{spec.host}"


def new_password() -> str:
    """43 URL-safe characters (256 bits): nothing in it needs quoting in env, PHP or a shell."""
    return secrets.token_urlsafe(32)


def purgeable(obj: dict[str, Any]) -> bool:
    """Whether removing a site keeps ``obj`` unless data is purged: the volumes, and the
    Secret whose credentials open the database on them (MySQL reads MYSQL_* only when it
    initializes an empty volume, so a site made again over kept data must reuse them). The
    content PVC is one of :func:`site_objects`; the database's PVC (``data-<name>-mysql-0``)
    is made by the StatefulSet from its volumeClaimTemplates, carries the same labels, and
    is kept by the StatefulSet's retention policy (Retain) until it is removed as one of these."""
    if obj.get("kind") == "PersistentVolumeClaim":
        return True
    labels = (obj.get("metadata") or {}).get("labels") or {}
    return obj.get("kind") == "Secret" and labels.get(PART) == "database"


def spec_from_record(config_map: dict[str, Any]) -> SiteSpec:
    """The spec a ``<name>-site`` ConfigMap records (the inverse of the first of :func:`site_objects`).
    Optional names are recorded as "" for None: "" is no valid object name, so nothing is lost."""
    data = config_map.get("data") or {}
    metadata = config_map.get("metadata") or {}
    return SiteSpec(
        name=data.get("name", metadata.get("labels", {}).get(LABEL, "")),
        namespace=metadata.get("namespace", ""),
        host=data.get("host", ""),
        multisite=data.get("multisite", "subdomain"),
        plugins=tuple(json.loads(data.get("plugins", "[]"))),
        title=data.get("title", ""),
        admin_email=data.get("admin_email", ""),
        tls_secret=data.get("tls_secret") or None,
        ingress_class=data.get("ingress_class") or None,
        storage_class=data.get("storage_class") or None,
        database_size=data.get("database_size", "5Gi"),
        content_size=data.get("content_size", "5Gi"),
        realnet_url=data.get("realnet_url", ""),
        realnet_token_secret=data.get("realnet_token_secret") or None,
    )

