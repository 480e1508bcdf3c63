"""The manifests of a WordPress site, in apply order (:func:`site_objects`): a pure
generator that calls no cluster."""

from __future__ import annotations

import hashlib
import json
import shlex
from typing import Any

from realnet.core.errors import ValidationError
from realnet.providers.kubernetes.wordpress.scripts import config_extra, htaccess, install_script
from realnet.providers.kubernetes.wordpress.spec import (
    ADMIN_USER,
    CLI_IMAGE,
    CONTENT,
    DB_NAME,
    DB_USER,
    HTML,
    LABEL,
    MYSQL_IMAGE,
    MYSQL_UID,
    PART,
    PLUGIN_DIR,
    PLUGIN_HASH,
    PLUGIN_SOURCE,
    TMP,
    WORDPRESS_IMAGE,
    WWW_DATA,
    SiteSpec,
    check_spec,
    database_secret,
    record_name,
    site_url,
)

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


def _prepare(commands: list[str], mounts: list[dict[str, Any]], cpu: str, memory: str) -> dict[str, Any]:
    """The init container that readies wp-content (and copies the plugin) before its pod starts."""
    return {
        "name": "prepare",
        "image": WORDPRESS_IMAGE,
        "command": ["sh", "-c", "\n".join(commands) + "\n"],
        "resources": _resources("10m", "32Mi", cpu, memory),
        "securityContext": CONTAINER_SECURITY,
        "volumeMounts": [*mounts, {"name": "plugin", "mountPath": PLUGIN_SOURCE, "readOnly": True}],
    }


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
               f"printf '%s' {shlex.quote(htaccess(spec))} > {HTML}/.htaccess"]
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
                    "initContainers": [_prepare(prepare, mounts, "200m", "64Mi")],
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
                    "initContainers": [_prepare(prepare, mounts, "500m", "128Mi")],
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
