"""The Kubernetes manifests of deploy/k8s: the kustomize base and the managed-db overlay render
with kubectl, every object passes the published 1.32 schemas in strict mode, the pieces fit
together (probes, ports, selectors, the service account, RBAC, secrets, settings), and the
rendered base applied to the fake API server of tests/k8sserver.py creates exactly its objects
— and changes nothing when applied again."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import kubernetes_validate
import pytest
import yaml
from k8sserver import FakeKubeServer

from realnet.cli import build_cli
from realnet.config import SETTINGS, load_settings
from realnet.providers.kubernetes.actions import RESTARTABLE
from realnet.providers.kubernetes.kinds import BUILTIN, NAMESPACES
from realnet.runners import STOP_DEADLINE
from realnet.runners.http.app import build_app

ROOT = Path(__file__).resolve().parents[2]
BASE = ROOT / "deploy" / "k8s"
OVERLAY = BASE / "overlays" / "managed-db"
DOCS = ROOT / "docs" / "deploy.md"
KUBECTL = shutil.which("kubectl") or "/usr/bin/kubectl"
K8S_VERSION = "1.32.0"
NAMESPACE = "realnet"
ALL_INTERFACES = "0.0.0.0"  # noqa: S104 - what the pods must listen on, checked, not bound

#: What `kubectl apply -k deploy/k8s` makes, and nothing else.
EXPECTED_BASE = {
    ("Namespace", None, "realnet"),
    ("ServiceAccount", NAMESPACE, "realnet"),
    ("ClusterRole", None, "realnet-cluster-mount"),
    ("ClusterRole", None, "realnet-cluster-secrets"),
    ("ClusterRole", None, "realnet-wordpress-sites"),
    ("ClusterRoleBinding", None, "realnet-cluster-mount"),
    ("ClusterRoleBinding", None, "realnet-cluster-secrets"),
    ("ConfigMap", NAMESPACE, "realnet-config"),
    ("Secret", NAMESPACE, "realnet-secrets"),
    ("Service", NAMESPACE, "realnet-postgres"),
    ("StatefulSet", NAMESPACE, "realnet-postgres"),
    ("Deployment", NAMESPACE, "realnet"),
    ("Service", NAMESPACE, "realnet"),
    ("Job", NAMESPACE, "realnet-init"),
}
#: Values the Secret template may hold: placeholders, or empty (the AWS SDK's chain).
PLACEHOLDERS = {"", "CHANGE-ME"}
#: Settings that carry credentials: never in a ConfigMap.
SECRET_SETTINGS = {"REALNET_DB_PASS", "REALNET_DB_URL", "REALNET_SECRET_KEY", "REALNET_STORAGE_S3_SECRET",
                   "REALNET_STORAGE_S3_KEY", "REALNET_TOKEN"}
READ = {"get", "list", "watch"}
WRITE = {"create", "update", "patch", "delete", "deletecollection"}


def render(path: Path) -> str:
    done = subprocess.run([KUBECTL, "kustomize", str(path)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"kubectl kustomize {path} failed ({done.returncode}): {done.stderr}"
    return done.stdout


def key(obj: dict[str, Any]) -> tuple[str, str | None, str]:
    metadata = obj["metadata"]
    return obj["kind"], metadata.get("namespace"), metadata["name"]


@pytest.fixture(scope="module")
def base_text() -> str:
    return render(BASE)


@pytest.fixture(scope="module")
def base(base_text: str) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(base_text) if doc]


@pytest.fixture(scope="module")
def overlay() -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(render(OVERLAY)) if doc]


def one(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    found = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind}/{name}: {len(found)} rendered"
    return found[0]


def container(workload: dict[str, Any], name: str) -> dict[str, Any]:
    containers = workload["spec"]["template"]["spec"]["containers"]
    return next(c for c in containers if c["name"] == name)


def port_number(c: dict[str, Any], port: int | str) -> int:
    """A probe's or Service's port (a number or a name) as the container's port number."""
    if isinstance(port, int):
        assert port in {p["containerPort"] for p in c["ports"]}, f"{port} is no port of {c['name']}"
        return port
    named = {p["name"]: p["containerPort"] for p in c["ports"]}
    assert port in named, f"{port!r} is no port name of {c['name']} ({sorted(named)})"
    return named[port]


def environment(objects: list[dict[str, Any]]) -> dict[str, str]:
    """The variables the Realnet container gets from its ConfigMap and Secret."""
    config = one(objects, "ConfigMap", "realnet-config")["data"]
    secret = one(objects, "Secret", "realnet-secrets")
    values = dict(secret.get("stringData") or {})
    values.update({k: base64.b64decode(v).decode() for k, v in (secret.get("data") or {}).items()})
    return {**config, **values}


def option(command: list[str], name: str) -> str | None:
    return command[command.index(name) + 1] if name in command else None


# -- rendering and schemas -------------------------------------------------------------------

def test_base_renders_exactly_the_expected_objects(base):
    keys = [key(o) for o in base]
    assert len(keys) == len(set(keys)), "an object is rendered twice"
    assert set(keys) == EXPECTED_BASE
    assert base[0]["kind"] == "Namespace"  # kustomize puts it first: apply can create it first
    for obj in base:
        assert obj["metadata"]["labels"]["app.kubernetes.io/part-of"] == "realnet", key(obj)


def test_overlay_renders_the_base_without_postgresql(overlay):
    keys = {key(o) for o in overlay}
    assert keys == EXPECTED_BASE - {("Service", NAMESPACE, "realnet-postgres"),
                                    ("StatefulSet", NAMESPACE, "realnet-postgres")}
    config = one(overlay, "ConfigMap", "realnet-config")["data"]
    assert config["REALNET_DB_TYPE"] == "postgresql"
    assert config["REALNET_DB_HOST"] not in ("realnet-postgres", "localhost", "")
    assert config["PGSSLMODE"] == "require"
    assert load_settings(environment(overlay)).store_label.startswith(config["REALNET_DB_HOST"])


@pytest.mark.parametrize("which", ["base", "overlay"])
def test_every_rendered_object_passes_the_published_schemas(which, request):
    objects = request.getfixturevalue(which)
    assert objects
    for obj in objects:
        try:
            kubernetes_validate.validate(obj, K8S_VERSION, strict=True)
        except kubernetes_validate.ValidationError as e:
            pytest.fail(f"{which}: {key(obj)}: {'.'.join(map(str, e.path))}: {e.message}")


# -- the Realnet Deployment and its Service --------------------------------------------------

def test_probes_point_at_readyz_and_healthz_on_the_server_port(base):
    deployment = one(base, "Deployment", "realnet")
    c = container(deployment, "realnet")
    config = one(base, "ConfigMap", "realnet-config")["data"]
    routes = {r.path: r.methods for r in build_app(None).routes}  # type: ignore[arg-type]
    server_port = int(config["REALNET_SERVER_PORT"])
    assert config["REALNET_SERVER_HOST"] == ALL_INTERFACES  # reachable from the kubelet and the Service
    for probe, path in (("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")):
        get = c[probe]["httpGet"]
        assert get["path"] == path
        assert "GET" in routes[path], f"the HTTP API serves no GET {path}"
        assert port_number(c, get["port"]) == server_port == 8080


def test_the_container_runs_the_server_with_the_settings(base):
    deployment = one(base, "Deployment", "realnet")
    c = container(deployment, "realnet")
    assert c["command"][:2] == ["realnet", "server"]
    assert c["image"] == "realnet:latest"
    sources = [next(iter(s.items())) for s in c["envFrom"]]
    assert sources == [("configMapRef", {"name": "realnet-config"}),
                       ("secretRef", {"name": "realnet-secrets"})]
    for kind in ("requests", "limits"):
        assert {"cpu", "memory"} <= set(c["resources"][kind]), kind
    assert deployment["spec"]["replicas"] >= 1


def test_the_service_selects_the_server_pods_and_nothing_else(base):
    deployment = one(base, "Deployment", "realnet")
    service = one(base, "Service", "realnet")
    selector = service["spec"]["selector"]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert selector.items() <= labels.items()
    assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
    for other in ("Job", "realnet-init"), ("StatefulSet", "realnet-postgres"):
        pod_labels = one(base, *other)["spec"]["template"]["metadata"]["labels"]
        assert not selector.items() <= pod_labels.items(), f"the Service would send traffic to {other}"
    (port,) = service["spec"]["ports"]
    assert port["port"] == 8080
    assert port_number(container(deployment, "realnet"), port["targetPort"]) == 8080


def test_the_service_account_is_used_and_bound(base):
    deployment = one(base, "Deployment", "realnet")
    pod = deployment["spec"]["template"]["spec"]
    account = one(base, "ServiceAccount", "realnet")
    assert account["metadata"]["namespace"] == NAMESPACE
    assert pod["serviceAccountName"] == "realnet"
    assert pod["automountServiceAccountToken"] is True  # `realnet shell` mounts the cluster in-cluster
    init = one(base, "Job", "realnet-init")["spec"]["template"]["spec"]
    assert init["serviceAccountName"] == "realnet"  # init mounts /clusters/local through it
    assert init["automountServiceAccountToken"] is True
    assert "REALNET_LOCAL_CLUSTER" not in one(base, "ConfigMap", "realnet-config")["data"]  # the default
    bindings = [o for o in base if o["kind"] == "ClusterRoleBinding"]
    assert bindings
    for binding in bindings:
        assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "realnet", "namespace": NAMESPACE}]
        assert binding["roleRef"]["kind"] == "ClusterRole"
        one(base, "ClusterRole", binding["roleRef"]["name"])
    # nothing else carries the cluster token
    assert one(base, "StatefulSet", "realnet-postgres")["spec"]["template"]["spec"][
        "automountServiceAccountToken"] is False


@pytest.mark.parametrize("kind,name,uid", [("Deployment", "realnet", 10001), ("Job", "realnet-init", 10001),
                                           ("StatefulSet", "realnet-postgres", 999)])
def test_pods_run_as_non_root_on_a_read_only_root(base, kind, name, uid):
    pod = one(base, kind, name)["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == uid
    for c in pod["containers"]:
        context = c["securityContext"]
        assert context["readOnlyRootFilesystem"] is True
        assert context["allowPrivilegeEscalation"] is False
        assert context["capabilities"]["drop"] == ["ALL"]
    if kind != "StatefulSet":  # REALNET_HOME is writable: an emptyDir
        mounts = {m["mountPath"]: m["name"] for m in pod["containers"][0]["volumeMounts"]}
        volumes = {v["name"]: v for v in pod["volumes"]}
        assert "emptyDir" in volumes[mounts["/data"]]
        assert one(base, "ConfigMap", "realnet-config")["data"]["REALNET_HOME"] == "/data"


def test_termination_grace_outlasts_the_drain(base):
    pod = one(base, "Deployment", "realnet")["spec"]["template"]["spec"]
    c = container(one(base, "Deployment", "realnet"), "realnet")
    server = build_cli().commands["server"]
    (cli_default,) = [p.default for p in server.params if isinstance(p, click.Option) and p.name == "deadline"]
    deadline = float(option(c["command"], "--deadline") or cli_default)
    pre_stop = c.get("lifecycle", {}).get("preStop", {}).get("exec", {}).get("command", [])
    pause = float(pre_stop[1]) if pre_stop[:1] == ["sleep"] else 0.0
    grace = pod["terminationGracePeriodSeconds"]
    assert grace > pause + deadline
    assert grace > max(cli_default, STOP_DEADLINE)


def test_init_runs_once_as_a_job(base):
    job = one(base, "Job", "realnet-init")
    c = container(job, "init")
    assert c["command"] == ["realnet", "init"]
    assert c["image"] == container(one(base, "Deployment", "realnet"), "realnet")["image"]
    assert c["envFrom"] == container(one(base, "Deployment", "realnet"), "realnet")["envFrom"]
    assert job["spec"]["template"]["spec"]["restartPolicy"] in ("OnFailure", "Never")
    assert job["spec"].get("completions", 1) == 1 and job["spec"].get("parallelism", 1) == 1


# -- settings and secrets ------------------------------------------------------------------------

@pytest.mark.parametrize("which", ["base", "overlay"])
def test_the_configmap_holds_only_known_non_secret_settings(which, request, tmp_path):
    objects = request.getfixturevalue(which)
    config = one(objects, "ConfigMap", "realnet-config")["data"]
    realnet_keys = {k for k in config if k.startswith("REALNET_")}
    assert realnet_keys <= set(SETTINGS), sorted(realnet_keys - set(SETTINGS))
    assert not realnet_keys & SECRET_SETTINGS
    assert config["REALNET_DB_TYPE"] == "postgresql"
    # Realnet's own reading of the container's environment accepts it
    settings = load_settings(environment(objects), cwd=tmp_path)
    assert settings.db_type == "postgresql"
    assert (settings.server_host, settings.server_port) == (ALL_INTERFACES, 8080)
    assert settings.storage_type == "s3" and settings.storage_bucket


def test_the_base_commits_no_real_secret(base, base_text):
    secrets = [o for o in base if o["kind"] == "Secret"]
    assert [s["metadata"]["name"] for s in secrets] == ["realnet-secrets"]
    values = environment(base)
    secret_keys = set(secrets[0].get("stringData") or {}) | set(secrets[0].get("data") or {})
    assert secret_keys <= set(SETTINGS)
    assert {"REALNET_DB_PASS", "REALNET_SECRET_KEY"} <= secret_keys
    for name in secret_keys:
        assert values[name] in PLACEHOLDERS, f"{name}: not a placeholder"
    assert "BEGIN" not in base_text and "PRIVATE KEY" not in base_text
    # PostgreSQL takes its password from the same Secret key as Realnet
    postgres = container(one(base, "StatefulSet", "realnet-postgres"), "postgres")
    env = {e["name"]: e.get("valueFrom") for e in postgres["env"]}
    assert env["POSTGRES_PASSWORD"] == {"secretKeyRef": {"name": "realnet-secrets", "key": "REALNET_DB_PASS"}}


def test_docs_list_every_setting_and_no_other():
    text = DOCS.read_text()
    mentioned = set(re.findall(r"\bREALNET_[A-Z0-9_]*[A-Z0-9]\b", text)) - {"REALNET_TEST_POSTGRES_URL"}
    assert mentioned <= set(SETTINGS), sorted(mentioned - set(SETTINGS))
    table = set(re.findall(r"^\| `(REALNET_[A-Z0-9_]+)` \|", text, re.M))
    assert table == set(SETTINGS), sorted(set(SETTINGS) ^ table)


def test_an_overlay_of_ones_own_replaces_the_template(tmp_path):
    """The docs' recipe: a secretGenerator with behavior: replace puts real values under the
    same name, and nothing of the template is left."""
    overlay = tmp_path / "mine"
    overlay.mkdir()
    (overlay / "secrets.env").write_text("REALNET_DB_PASS=correct-horse\nREALNET_SECRET_KEY=k3y\n")
    (overlay / "kustomization.yaml").write_text(json.dumps({
        "apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
        "resources": [os.path.relpath(BASE / "base", overlay)],  # kustomize takes no absolute base
        "secretGenerator": [{"name": "realnet-secrets", "namespace": NAMESPACE, "behavior": "replace",
                             "envs": ["secrets.env"]}]}))
    objects = [doc for doc in yaml.safe_load_all(render(overlay)) if doc]
    assert {key(o) for o in objects} == EXPECTED_BASE
    secret = one(objects, "Secret", "realnet-secrets")
    assert {k: base64.b64decode(v).decode() for k, v in secret["data"].items()} == \
        {"REALNET_DB_PASS": "correct-horse", "REALNET_SECRET_KEY": "k3y"}


# -- PostgreSQL --------------------------------------------------------------------------------

def test_postgresql_is_a_statefulset_with_a_volume_and_a_headless_service(base):
    sts = one(base, "StatefulSet", "realnet-postgres")
    service = one(base, "Service", "realnet-postgres")
    assert service["spec"]["clusterIP"] == "None"
    assert sts["spec"]["serviceName"] == "realnet-postgres"
    assert service["spec"]["selector"].items() <= sts["spec"]["template"]["metadata"]["labels"].items()
    assert container(sts, "postgres")["image"] == "postgres:15"
    (claim,) = sts["spec"]["volumeClaimTemplates"]
    mounts = {m["name"] for m in container(sts, "postgres")["volumeMounts"]}
    assert claim["metadata"]["name"] in mounts
    config = one(base, "ConfigMap", "realnet-config")["data"]
    assert config["REALNET_DB_HOST"] == "realnet-postgres"
    assert int(config["REALNET_DB_PORT"]) == service["spec"]["ports"][0]["port"] == 5432


# -- RBAC --------------------------------------------------------------------------------------

def grants(objects: list[dict[str, Any]]) -> dict[tuple[str, str], set[str]]:
    """(API group, resource) → verbs, over every ClusterRole bound cluster-wide."""
    bound = {o["roleRef"]["name"] for o in objects if o["kind"] == "ClusterRoleBinding"}
    out: dict[tuple[str, str], set[str]] = {}
    for role in (o for o in objects if o["kind"] == "ClusterRole" and o["metadata"]["name"] in bound):
        for rule in role["rules"]:
            assert "nonResourceURLs" not in rule and "resourceNames" not in rule
            for group in rule["apiGroups"]:
                for resource in rule["resources"]:
                    out.setdefault((group, resource), set()).update(rule["verbs"])
    return out


def group_of(group_version: str) -> str:
    return group_version.rpartition("/")[0]


def test_the_cluster_roles_grant_nothing_with_a_wildcard(base):
    for role in (o for o in base if o["kind"] in ("ClusterRole", "Role")):
        for rule in role["rules"]:
            for field in ("apiGroups", "resources", "verbs"):
                assert "*" not in rule[field], f"{role['metadata']['name']}: {field} has '*'"
    verbs = set().union(*grants(base).values())
    assert verbs <= READ | WRITE, sorted(verbs - READ - WRITE)  # no bind, escalate, impersonate


def test_the_cluster_roles_cover_what_the_mount_reads_and_does(base):
    granted = grants(base)
    for kind in (*BUILTIN, NAMESPACES):
        assert granted.get((group_of(kind.group_version), kind.plural), set()) >= READ, kind.plural
    assert granted[("", "pods/log")] == {"get"}
    for plural in ("deployments", "statefulsets"):
        assert granted[("apps", f"{plural}/scale")] == {"patch"}
    for plural in RESTARTABLE:
        assert "patch" in granted[("apps", plural)]


def test_the_cluster_roles_write_only_what_the_commands_need(base):
    granted = grants(base)
    known = {(group_of(k.group_version), k.plural) for k in (*BUILTIN, NAMESPACES)}
    known |= {("", "pods/log"), ("apps", "deployments/scale"), ("apps", "statefulsets/scale"),
              ("events.k8s.io", "events")}
    assert set(granted) <= known, sorted(set(granted) - known)
    # credentials and RBAC stay read-only; controllers' objects are not written
    for resource in (("", "secrets"), ("", "serviceaccounts"), ("rbac.authorization.k8s.io", "roles"),
                     ("rbac.authorization.k8s.io", "rolebindings"), ("", "pods"), ("apps", "replicasets"),
                     ("", "events")):
        assert not granted.get(resource, set()) & WRITE, resource
    assert granted[("", "namespaces")] & WRITE == {"create"}  # no rm of a whole namespace
    assert "deletecollection" not in set().union(*granted.values())
    # Secret read sits in a role of its own, so that an overlay can drop its binding
    secrets = one(base, "ClusterRole", "realnet-cluster-secrets")
    assert [r["resources"] for r in secrets["rules"]] == [["secrets"]]
    mount = one(base, "ClusterRole", "realnet-cluster-mount")
    assert all("secrets" not in r["resources"] for r in mount["rules"])
    # WordPress sites write their Secret only where a RoleBinding per namespace allows it
    sites = one(base, "ClusterRole", "realnet-wordpress-sites")
    assert [(r["resources"], sorted(r["verbs"])) for r in sites["rules"]] == [(["secrets"], ["create", "delete"])]
    assert all(b["roleRef"]["name"] != "realnet-wordpress-sites" for b in base if b["kind"] == "ClusterRoleBinding")


# -- applied to an API server ------------------------------------------------------------------

@pytest.fixture
def k8s() -> Iterator[FakeKubeServer]:
    with FakeKubeServer() as server:
        yield server


def live_objects(k8s: FakeKubeServer) -> dict[tuple[str, str | None, str], dict[str, Any]]:
    """Every object in namespace realnet, and the cluster-scoped ones of Realnet, as kubectl sees them."""
    namespaced = "serviceaccounts,configmaps,secrets,services,deployments,statefulsets,jobs,cronjobs," \
                 "pods,persistentvolumeclaims,daemonsets,replicasets,ingresses,roles,rolebindings"
    found = json.loads(k8s.kubectl("get", namespaced, "-n", NAMESPACE, "-o", "json").stdout)["items"]
    cluster = json.loads(k8s.kubectl("get", "namespaces,clusterroles,clusterrolebindings",
                                     "-l", "app.kubernetes.io/part-of=realnet", "-o", "json").stdout)["items"]
    return {key(o): o for o in found + cluster}


def test_applied_to_an_api_server_creates_exactly_the_objects_and_again_nothing(k8s, base, base_text, tmp_path):
    rendered = tmp_path / "realnet.yaml"
    rendered.write_text(base_text)
    first = k8s.kubectl("apply", "--validate=false", "-f", str(rendered)).stdout
    assert first.count(" created") == len(EXPECTED_BASE), first
    live = live_objects(k8s)
    # the API server's own namespace bookkeeping aside, exactly what was rendered
    assert set(live) == EXPECTED_BASE
    for obj in base:
        got = live[key(obj)]
        assert _subset(obj["metadata"]["labels"], got["metadata"]["labels"]), key(obj)
        for field in ("spec", "data", "rules", "subjects", "roleRef"):
            if field in obj:
                assert _subset(obj[field], got[field]), f"{key(obj)}: {field} differs from the manifest"
    versions = {k: o["metadata"]["resourceVersion"] for k, o in live.items()}

    second = k8s.kubectl("apply", "--validate=false", "-f", str(rendered)).stdout
    lines = [line for line in second.splitlines() if line.strip()]
    assert len(lines) == len(EXPECTED_BASE) and all(line.endswith(" unchanged") for line in lines), second
    again = live_objects(k8s)
    assert {k: o["metadata"]["resourceVersion"] for k, o in again.items()} == versions


def _subset(wanted: Any, got: Any) -> bool:
    """Everything of the manifest is in the live object (which may add defaults)."""
    if isinstance(wanted, dict):
        return isinstance(got, dict) and all(k in got and _subset(v, got[k]) for k, v in wanted.items())
    if isinstance(wanted, list):
        return isinstance(got, list) and len(wanted) == len(got) and all(map(_subset, wanted, got))
    return wanted == got
