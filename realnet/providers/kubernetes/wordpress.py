"""The Kubernetes objects of a WordPress multisite site managed from the tree.

A pure generator: :func:`site_objects` turns a :class:`SiteSpec` (and credentials the caller
generated or read back) into the manifests to apply, in apply order; it calls no cluster. The
Kubernetes provider applies them, reads a site back from its ``<name>-site`` ConfigMap
(:func:`spec_from_record`), and removes a site by :data:`LABEL`, keeping the volumes that
:func:`purgeable` names unless asked to purge data.

Why it looks the way it does:

* MySQL is a StatefulSet with its own volume (volumeClaimTemplates), as PostgreSQL is in
  deploy/k8s/base/postgres.yaml; WordPress is one replica (its wp-content volume is
  ReadWriteOnce) behind a Service and an Ingress.
* The network is installed once, by a Job running wp-cli ``core multisite-install`` with the
  URL from the spec — so the URLs stored in the database are the real host, never the
  ``localhost`` a first browser visit through a port-forward would leave there.
* Every value of the spec that reaches PHP or a shell is checked by :func:`check_spec` first
  and escaped for its language (single-quoted PHP strings, ``shlex.quote``) all the same;
  passwords reach the pods only through the Secret, never through a script or the ConfigMap.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import re
import secrets
import shlex
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


def _title(spec: SiteSpec) -> str:
    return spec.title or spec.host


def _admin_email(spec: SiteSpec) -> str:
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


def _php(value: str) -> str:
    """A PHP single-quoted string literal: only backslash and quote are special in one."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def config_extra(spec: SiteSpec) -> str:
    """WORDPRESS_CONFIG_EXTRA: PHP that the image's wp-config.php evaluates, in the site and in
    the install Job alike, so that wp-cli installs the network WordPress then serves.

    WP_HOME and WP_SITEURL are deliberately not defined: WordPress applies them to the
    ``home``/``siteurl`` options of every site of a network (the option_home filter), which would
    point every sub-site at the main one. The main site's URLs come from the install
    (``--url`` = :func:`site_url`), the sub-sites' from DOMAIN_CURRENT_SITE and their own rows.
    """
    subdomains = "true" if spec.multisite == "subdomain" else "false"
    lines = [
        "define( 'WP_ALLOW_MULTISITE', true );",
        "define( 'MULTISITE', true );",
        f"define( 'SUBDOMAIN_INSTALL', {subdomains} );",
        f"define( 'DOMAIN_CURRENT_SITE', {_php(spec.host)} );",
        "define( 'PATH_CURRENT_SITE', '/' );",
        "define( 'SITE_ID_CURRENT_SITE', 1 );",
        "define( 'BLOG_ID_CURRENT_SITE', 1 );",
    ]
    return "\n".join(lines) + "\n"


def _htaccess(spec: SiteSpec) -> str:
    """Apache's rewrite rules for a network (WordPress's own, Network Setup): the image's
    single-site ones would send /<site>/wp-admin/ of a sub-directory network to the main site."""
    prefix = "([_0-9a-zA-Z-]+/)?" if spec.multisite == "subdirectory" else ""
    target = "$2" if prefix else "$1"
    return "\n".join([
        "# BEGIN WordPress Multisite (written by Realnet at every start)",
        "RewriteEngine On",
        "RewriteRule .* - [E=HTTP_AUTHORIZATION:%{HTTP:Authorization}]",
        "RewriteBase /",
        r"RewriteRule ^index\.php$ - [L]",
        f"RewriteRule ^{prefix}wp-admin$ {'$1' if prefix else ''}wp-admin/ [R=301,L]",
        "RewriteCond %{REQUEST_FILENAME} -f [OR]",
        "RewriteCond %{REQUEST_FILENAME} -d",
        "RewriteRule ^ - [L]",
        f"RewriteRule ^{prefix}(wp-(content|admin|includes).*) {target} [L]",
        rf"RewriteRule ^{prefix}(.*\.php)$ {target} [L]",
        "RewriteRule . index.php [L]",
        "# END WordPress Multisite",
        "",
    ])


def install_script(spec: SiteSpec) -> str:
    """The install Job's ``sh -c`` script: idempotent (a network already installed is left
    alone, an active plugin stays active), so a retry or a new Job after a change is safe."""
    url = shlex.quote(site_url(spec))
    install = [
        "wp core multisite-install --skip-config",
        f"--url={url}",
        f"--title={shlex.quote(_title(spec))}",
        f"--admin_user={shlex.quote(ADMIN_USER)}",
        f"--admin_email={shlex.quote(_admin_email(spec))}",
        # The variable, expanded by the shell: the password is in no script, log or manifest.
        '--admin_password="$WORDPRESS_ADMIN_PASSWORD"',
        "--skip-email",
    ]
    if spec.multisite == "subdomain":
        install.append("--subdomains")
    lines = [
        "set -eu",
        # MySQL initializes its volume on the first start: wait for it here (bounded), then let
        # the Job's backoffLimit retry the whole script.
        "tries=0",
        "until wp db check >/dev/null; do",
        "  tries=$((tries + 1))",
        f'  if [ "$tries" -ge {DB_TRIES} ]; then echo "the database does not answer yet" >&2; exit 1; fi',
        f"  sleep {DB_PAUSE}",
        "done",
        f"if ! wp core is-installed --network --url={url}; then",
        "  " + " ".join(install),
        "fi",
    ]
    for slug in spec.plugins:
        plugin = shlex.quote(slug)
        missing = shlex.quote(f"plugin {slug} is not in wp-content/plugins")
        lines += [
            # The bundled plugins reach the shared wp-content when WordPress first starts.
            "tries=0",
            f"until wp plugin is-installed {plugin} --url={url}; do",
            "  tries=$((tries + 1))",
            f'  if [ "$tries" -ge {PLUGIN_TRIES} ]; then echo {missing} >&2; exit 1; fi',
            f"  sleep {PLUGIN_PAUSE}",
            "done",
            f"wp plugin is-active {plugin} --network --url={url} "
            f"|| wp plugin activate {plugin} --network --url={url}",
        ]
    return "\n".join(lines) + "\n"


# -- objects -------------------------------------------------------------------------------------

def _labels(spec: SiteSpec, part: str) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": "wordpress",
        "app.kubernetes.io/instance": spec.name,
        "app.kubernetes.io/managed-by": "realnet",
        LABEL: spec.name,
        PART: part,
    }


def _selector(spec: SiteSpec, part: str) -> dict[str, str]:
    # Fixed forever: a Deployment's and a StatefulSet's selector cannot change after creation.
    return {"app.kubernetes.io/instance": spec.name, LABEL: spec.name, PART: part}


def _metadata(spec: SiteSpec, name: str, part: str) -> dict[str, Any]:
    return {"name": name, "namespace": spec.namespace, "labels": _labels(spec, part)}


def _secret_env(spec: SiteSpec, name: str, key: str) -> dict[str, Any]:
    return {"name": name, "valueFrom": {"secretKeyRef": {"name": database_secret(spec.name), "key": key}}}


def _pod_security(uid: int) -> dict[str, Any]:
    return {
        "runAsNonRoot": True,
        "runAsUser": uid,
        "runAsGroup": uid,
        "fsGroup": uid,
        # Change a volume's group on its first mount only, not through all of it at every start.
        "fsGroupChangePolicy": "OnRootMismatch",
        "seccompProfile": {"type": "RuntimeDefault"},
    }


CONTAINER_SECURITY: dict[str, Any] = {
    "allowPrivilegeEscalation": False,
    "readOnlyRootFilesystem": True,
    "capabilities": {"drop": ["ALL"]},
}


def _resources(cpu: str, memory: str, cpu_limit: str, memory_limit: str) -> dict[str, Any]:
    return {"requests": {"cpu": cpu, "memory": memory}, "limits": {"cpu": cpu_limit, "memory": memory_limit}}


def _db_env(spec: SiteSpec) -> list[dict[str, Any]]:
    """What the image's wp-config.php reads, in the site and in the install Job alike."""
    return [
        {"name": "WORDPRESS_DB_HOST", "value": f"{spec.name}-mysql:3306"},
        _secret_env(spec, "WORDPRESS_DB_USER", "MYSQL_USER"),
        _secret_env(spec, "WORDPRESS_DB_PASSWORD", "MYSQL_PASSWORD"),
        _secret_env(spec, "WORDPRESS_DB_NAME", "MYSQL_DATABASE"),
        {"name": "WORDPRESS_CONFIG_EXTRA", "value": config_extra(spec)},
    ]


def _copy_plugin() -> list[str]:
    # Copied rather than mounted with subPath: a subPath mount never sees a changed ConfigMap,
    # and its mount point would be created root-owned inside wp-content/plugins on the volume,
    # where WordPress (not root) then cannot write.
    return [f"mkdir -p {PLUGIN_DIR}", f"cp {PLUGIN_SOURCE}/realnet.php {PLUGIN_DIR}/realnet.php"]


def _volume_claim_spec(spec: SiteSpec, size: str) -> dict[str, Any]:
    claim: dict[str, Any] = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": size}}}
    if spec.storage_class:
        claim["storageClassName"] = spec.storage_class
    return claim


def _site_record(spec: SiteSpec) -> dict[str, Any]:
    data = {
        "name": spec.name,
        "host": spec.host,
        "multisite": spec.multisite,
        "plugins": json.dumps(list(spec.plugins)),
        "title": spec.title,
        "admin_email": spec.admin_email,
        "tls_secret": spec.tls_secret or "",
        "ingress_class": spec.ingress_class or "",
        "storage_class": spec.storage_class or "",
        "database_size": spec.database_size,
        "content_size": spec.content_size,
        "realnet_url": spec.realnet_url,
        "realnet_token_secret": spec.realnet_token_secret or "",
        # Derived, for whoever reads the record without this module.
        "url": site_url(spec),
        "admin_user": ADMIN_USER,
    }
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": _metadata(spec, record_name(spec.name), "site"),
            "data": data}


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


def _secret(spec: SiteSpec, database_password: str, root_password: str,
            admin_password: str) -> dict[str, Any]:
    # stringData: the caller passes the passwords it generated the first time or read back from
    # the live Secret — MySQL takes MYSQL_* only when it initializes an empty volume, so new
    # passwords on a later apply would no longer match the database's.
    return {
        "apiVersion": "v1", "kind": "Secret", "type": "Opaque",
        "metadata": _metadata(spec, database_secret(spec.name), "database"),
        "stringData": {
            "MYSQL_ROOT_PASSWORD": root_password,
            "MYSQL_PASSWORD": database_password,
            "MYSQL_USER": DB_USER,
            "MYSQL_DATABASE": DB_NAME,
            "WORDPRESS_ADMIN_PASSWORD": admin_password,
        },
    }


def _mysql(spec: SiteSpec) -> list[dict[str, Any]]:
    name = f"{spec.name}-mysql"
    service = {
        "apiVersion": "v1", "kind": "Service",
        "metadata": _metadata(spec, name, "database"),
        "spec": {
            "clusterIP": "None",  # headless: a stable name for the one pod, WORDPRESS_DB_HOST
            "selector": _selector(spec, "database"),
            "ports": [{"name": "mysql", "port": 3306, "targetPort": "mysql"}],
        },
    }
    # TCP on 127.0.0.1: the entrypoint's first-start server listens on the socket only, so the pod
    # is ready only once the real server (with the users and database made) runs. mysqladmin ping
    # answers 0 even when the login is refused: it checks the server, with no password in argv.
    ping_tcp = 'MYSQL_PWD="$MYSQL_PASSWORD" mysqladmin ping -h 127.0.0.1 -u "$MYSQL_USER" --silent'
    # The socket for liveness: it also answers while the first start initializes the volume,
    # which may take minutes on a slow disk and must not be killed.
    ping_socket = 'MYSQL_PWD="$MYSQL_PASSWORD" mysqladmin ping -u "$MYSQL_USER" --silent'
    container = {
        "name": "mysql",
        "image": MYSQL_IMAGE,
        # A folder below the volume's root, which holds lost+found on many disks and mysqld
        # refuses to initialize a non-empty data directory. (The entrypoint passes args on.)
        "args": ["--datadir=/var/lib/mysql/data"],
        "ports": [{"name": "mysql", "containerPort": 3306}],
        "env": [
            _secret_env(spec, "MYSQL_ROOT_PASSWORD", "MYSQL_ROOT_PASSWORD"),
            _secret_env(spec, "MYSQL_USER", "MYSQL_USER"),
            _secret_env(spec, "MYSQL_PASSWORD", "MYSQL_PASSWORD"),
            _secret_env(spec, "MYSQL_DATABASE", "MYSQL_DATABASE"),
        ],
        "readinessProbe": {"exec": {"command": ["sh", "-c", ping_tcp]},
                           "periodSeconds": 10, "timeoutSeconds": 5},
        "livenessProbe": {"exec": {"command": ["sh", "-c", ping_socket]},
                          "initialDelaySeconds": 30, "periodSeconds": 20, "timeoutSeconds": 5,
                          "failureThreshold": 6},
        "resources": _resources("100m", "512Mi", "1", "1Gi"),
        "securityContext": CONTAINER_SECURITY,
        "volumeMounts": [
            {"name": "data", "mountPath": "/var/lib/mysql"},
            {"name": "run", "mountPath": "/var/run/mysqld"},  # the socket and pid file
            {"name": "tmp", "mountPath": TMP},
        ],
    }
    statefulset = {
        "apiVersion": "apps/v1", "kind": "StatefulSet",
        "metadata": _metadata(spec, name, "database"),
        "spec": {
            "serviceName": name,
            "replicas": 1,
            "selector": {"matchLabels": _selector(spec, "database")},
            # Explicit: removing the StatefulSet (or the site) leaves the database's volume.
            "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Retain", "whenScaled": "Retain"},
            "template": {
                "metadata": {"labels": _labels(spec, "database")},
                "spec": {
                    "automountServiceAccountToken": False,  # MySQL never calls the Kubernetes API
                    "terminationGracePeriodSeconds": 60,  # InnoDB's clean shutdown
                    "securityContext": _pod_security(MYSQL_UID),
                    "containers": [container],
                    "volumes": [{"name": "run", "emptyDir": {}}, {"name": "tmp", "emptyDir": {}}],
                },
            },
            "volumeClaimTemplates": [{
                # The labels reach the PVC the StatefulSet makes (data-<name>-mysql-0), so
                # that the site's label finds it when the site is removed with its data.
                "metadata": {"name": "data", "labels": _labels(spec, "database")},
                "spec": _volume_claim_spec(spec, spec.database_size),
            }],
        },
    }
    return [service, statefulset]


def _content_claim(spec: SiteSpec) -> dict[str, Any]:
    return {
        "apiVersion": "v1", "kind": "PersistentVolumeClaim",
        "metadata": _metadata(spec, f"{spec.name}-content", "wordpress"),
        "spec": _volume_claim_spec(spec, spec.content_size),
    }


def _plugins(spec: SiteSpec, plugin_php: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": _metadata(spec, f"{spec.name}-plugins", "plugins"),
            "data": {"realnet.php": plugin_php}}


def _wordpress(spec: SiteSpec, plugin_php: str) -> list[dict[str, Any]]:
    name = f"{spec.name}-wordpress"
    env = [*_db_env(spec), {"name": "REALNET_URL", "value": spec.realnet_url}]
    if spec.realnet_token_secret:
        # optional: the site starts (and shows the plugin's notice) before the token exists.
        env.append({"name": "REALNET_TOKEN", "valueFrom": {"secretKeyRef": {
            "name": spec.realnet_token_secret, "key": "token", "optional": True}}})
    host_header = [{"name": "Host", "value": spec.host}]
    # The init container writes the plugin into the content volume and the network's .htaccess
    # into the document root, before the image's entrypoint copies WordPress around them (it
    # keeps an existing .htaccess and existing wp-content/*/* folders).
    prepare = ["set -eu", *_copy_plugin(),
               f"printf '%s' {shlex.quote(_htaccess(spec))} > {HTML}/.htaccess"]
    mounts = [
        # The document root: WordPress's files, copied from the image at every start; the
        # root filesystem stays read-only.
        {"name": "html", "mountPath": HTML},
        {"name": "content", "mountPath": CONTENT},
    ]
    container = {
        "name": "wordpress",
        "image": WORDPRESS_IMAGE,
        "ports": [{"name": "http", "containerPort": 80}],
        "env": env,
        # Ready when WordPress answers with its database (not before the install, not while
        # MySQL is away). The Host header: a network answers only for its own domain.
        "readinessProbe": {"httpGet": {"path": "/wp-login.php", "port": "http", "httpHeaders": host_header},
                           "periodSeconds": 10, "timeoutSeconds": 5, "failureThreshold": 3},
        # Alive when Apache serves a static file: /wp-login.php fails while the database is
        # away or the network not yet installed, and restarting WordPress would mend neither.
        "livenessProbe": {"httpGet": {"path": "/wp-includes/images/blank.gif", "port": "http",
                                      "httpHeaders": host_header},
                          "initialDelaySeconds": 30, "periodSeconds": 20, "timeoutSeconds": 5,
                          "failureThreshold": 3},
        "resources": _resources("100m", "256Mi", "1", "1Gi"),
        "securityContext": CONTAINER_SECURITY,
        "volumeMounts": [
            *mounts,
            {"name": "tmp", "mountPath": TMP},  # uploads in flight, PHP sessions
            {"name": "apache-run", "mountPath": "/var/run/apache2"},  # Apache's pid file
            {"name": "apache-lock", "mountPath": "/var/lock/apache2"},  # Apache's mutexes
        ],
    }
    deployment = {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": _metadata(spec, name, "wordpress"),
        "spec": {
            "replicas": 1,
            # Recreate: the content volume is ReadWriteOnce, so a second pod on another node
            # could not attach it while the old one runs.
            "strategy": {"type": "Recreate"},
            "selector": {"matchLabels": _selector(spec, "wordpress")},
            "template": {
                "metadata": {
                    "labels": _labels(spec, "wordpress"),
                    "annotations": {PLUGIN_HASH: hashlib.sha256(plugin_php.encode()).hexdigest()},
                },
                "spec": {
                    "automountServiceAccountToken": False,  # WordPress never calls the Kubernetes API
                    "securityContext": {
                        **_pod_security(WWW_DATA),
                        # Apache listens on 80 as www-data: allowed by this (namespaced, "safe")
                        # sysctl instead of a capability, which a non-root process would not hold.
                        "sysctls": [{"name": "net.ipv4.ip_unprivileged_port_start", "value": "0"}],
                    },
                    "initContainers": [{
                        "name": "prepare",
                        "image": WORDPRESS_IMAGE,
                        "command": ["sh", "-c", "\n".join(prepare) + "\n"],
                        "resources": _resources("10m", "32Mi", "200m", "64Mi"),
                        "securityContext": CONTAINER_SECURITY,
                        "volumeMounts": [*mounts, {"name": "plugin", "mountPath": PLUGIN_SOURCE,
                                                   "readOnly": True}],
                    }],
                    "containers": [container],
                    "volumes": [
                        {"name": "html", "emptyDir": {"sizeLimit": "1Gi"}},
                        {"name": "content", "persistentVolumeClaim": {"claimName": f"{spec.name}-content"}},
                        {"name": "plugin", "configMap": {"name": f"{spec.name}-plugins"}},
                        {"name": "tmp", "emptyDir": {"sizeLimit": "1Gi"}},
                        {"name": "apache-run", "emptyDir": {}},
                        {"name": "apache-lock", "emptyDir": {}},
                    ],
                },
            },
        },
    }
    service = {
        "apiVersion": "v1", "kind": "Service",
        "metadata": _metadata(spec, name, "wordpress"),
        "spec": {
            "type": "ClusterIP",
            "selector": _selector(spec, "wordpress"),
            "ports": [{"name": "http", "port": 80, "targetPort": "http"}],
        },
    }
    return [deployment, service]


def _ingress(spec: SiteSpec) -> dict[str, Any]:
    # A sub-domain network answers for every <site>.host as well.
    hosts = [spec.host, f"*.{spec.host}"] if spec.multisite == "subdomain" else [spec.host]
    backend = {"service": {"name": f"{spec.name}-wordpress", "port": {"name": "http"}}}
    body: dict[str, Any] = {
        "rules": [{"host": host, "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": backend}]}}
                  for host in hosts],
    }
    if spec.ingress_class:
        body["ingressClassName"] = spec.ingress_class
    if spec.tls_secret:
        body["tls"] = [{"hosts": hosts, "secretName": spec.tls_secret}]
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
            "metadata": _metadata(spec, spec.name, "wordpress"), "spec": body}


def _install(spec: SiteSpec) -> dict[str, Any]:
    # The Job's own copy of WordPress (the core files of the very image the site runs, not a
    # download) and the site's wp-content volume, so that what it activates is what the site
    # loads; and a wp-config.php from the image's template, which reads the same environment.
    prepare = [
        "set -eu",
        # --no-overwrite-dir: leave the emptyDir's own owner and mode alone (not ours to change).
        f"tar -C /usr/src/wordpress --exclude=./wp-content -cf - . | tar -C {HTML} -xf - --no-overwrite-dir",
        f"cp /usr/src/wordpress/wp-config-docker.php {HTML}/wp-config.php",
        *_copy_plugin(),
    ]
    mounts = [{"name": "html", "mountPath": HTML}, {"name": "content", "mountPath": CONTENT}]
    return {
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": _metadata(spec, f"{spec.name}-install", "install"),
        "spec": {
            # Until MySQL answers the script fails and the Job retries (each try waits a while).
            # No ttlSecondsAfterFinished: the provider reads the finished Job's status.
            "backoffLimit": 10,
            "template": {
                "metadata": {"labels": _labels(spec, "install")},
                "spec": {
                    "restartPolicy": "OnFailure",
                    "automountServiceAccountToken": False,
                    "securityContext": _pod_security(WWW_DATA),
                    # The content volume is ReadWriteOnce: it attaches to one node, so the Job runs
                    # on the node of the WordPress pod that holds it.
                    "affinity": {"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [{
                        "labelSelector": {"matchLabels": _selector(spec, "wordpress")},
                        "topologyKey": "kubernetes.io/hostname",
                    }]}},
                    "initContainers": [{
                        "name": "prepare",
                        "image": WORDPRESS_IMAGE,
                        "command": ["sh", "-c", "\n".join(prepare) + "\n"],
                        "resources": _resources("10m", "32Mi", "500m", "128Mi"),
                        "securityContext": CONTAINER_SECURITY,
                        "volumeMounts": [*mounts, {"name": "plugin", "mountPath": PLUGIN_SOURCE,
                                                   "readOnly": True}],
                    }],
                    "containers": [{
                        "name": "install",
                        "image": CLI_IMAGE,
                        "command": ["sh", "-c", install_script(spec)],
                        "workingDir": HTML,
                        "env": [
                            *_db_env(spec),
                            _secret_env(spec, "WORDPRESS_ADMIN_PASSWORD", "WORDPRESS_ADMIN_PASSWORD"),
                            {"name": "HOME", "value": TMP},  # wp-cli's cache; uid 33 has no home here
                        ],
                        "resources": _resources("50m", "128Mi", "1", "512Mi"),
                        "securityContext": CONTAINER_SECURITY,
                        "volumeMounts": [*mounts, {"name": "tmp", "mountPath": TMP}],
                    }],
                    "volumes": [
                        {"name": "html", "emptyDir": {"sizeLimit": "1Gi"}},
                        {"name": "content", "persistentVolumeClaim": {"claimName": f"{spec.name}-content"}},
                        {"name": "plugin", "configMap": {"name": f"{spec.name}-plugins"}},
                        {"name": "tmp", "emptyDir": {"sizeLimit": "256Mi"}},
                    ],
                },
            },
        },
    }


def site_objects(spec: SiteSpec, *, database_password: str, root_password: str, admin_password: str,
                 plugin_php: str) -> list[dict[str, Any]]:
    """Every object of the site, in apply order: the record, the credentials, the database,
    the content volume, the plugin, WordPress, its Ingress, and the install Job last (it
    needs all the rest). The spec is checked first (ValidationError)."""
    check_spec(spec, spec.name if isinstance(spec.name, str) else "wordpress site")
    for field, value in (("database_password", database_password), ("root_password", root_password),
                         ("admin_password", admin_password), ("plugin_php", plugin_php)):
        if not isinstance(value, str) or not value:
            raise ValidationError(f"{spec.name}: {field}: expected a non-empty string")
    return [
        _site_record(spec),
        _secret(spec, database_password, root_password, admin_password),
        *_mysql(spec),
        _content_claim(spec),
        _plugins(spec, plugin_php),
        *_wordpress(spec, plugin_php),
        _ingress(spec),
        _install(spec),
    ]
