"""A cluster mounted in the tree: the kubernetes provider through the official client,
against the fake API server of tests/k8sserver.py, with kubectl as the independent check
of what Realnet changed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator

import pytest
from k8sserver import FakeKubeServer

from realnet.core.context import Context
from realnet.core.errors import (
    Conflict,
    NotFound,
    PermissionDenied,
    ReadOnly,
    StoreError,
    ValidationError,
)

POD = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web-1", "namespace": "default",
                                                       "labels": {"app": "web"}},
       "spec": {"containers": [{"name": "app", "image": "nginx"}], "nodeName": "node-a"},
       "status": {"phase": "Running", "containerStatuses": [{"name": "app", "ready": True,
                                                             "restartCount": 3}]}}
DEPLOYMENT = {"apiVersion": "apps/v1", "kind": "Deployment",
              "metadata": {"name": "web", "namespace": "default"},
              "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}}},
              "status": {"readyReplicas": 1, "updatedReplicas": 2, "availableReplicas": 1}}
SECRET = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db", "namespace": "default"},
          "data": {"password": "aHVudGVyMg=="}}


@pytest.fixture
def k8s() -> Iterator[FakeKubeServer]:
    with FakeKubeServer() as server:
        for obj in (POD, DEPLOYMENT, SECRET):
            server.load(obj)
        yield server


@pytest.fixture
def cluster(context: Context, k8s: FakeKubeServer) -> str:
    context.create("/clusters/dev", "KubernetesCluster", {"kubeconfig": str(k8s.kubeconfig)},
                   parents=True)
    return "/clusters/dev"


def names(page) -> list[str]:
    return [i.name for i in page.items]


def test_namespaces_kinds_and_objects(context, cluster):
    top = names(context.list(cluster))
    assert top[0] == "_cluster" and "default" in top and "kube-system" in top
    kinds = names(context.list(f"{cluster}/default", limit=1000))
    assert {"pods", "deployments", "services", "secrets", "configmaps", "events"} <= set(kinds)
    assert "namespaces" not in kinds and "events.events.k8s.io" in kinds  # another group's events
    assert "namespaces" in names(context.list(f"{cluster}/_cluster", limit=1000))
    (pod,) = context.list(f"{cluster}/default/pods").items
    assert pod.type == "KubernetesPod"
    assert {k: pod.attributes[k] for k in ("ready", "status", "restarts", "node")} == \
        {"ready": "1/1", "status": "Running", "restarts": 3, "node": "node-a"}
    assert pod.attributes["labels"] == {"app": "web"}
    deployment = context.get(f"{cluster}/default/deployments/web")
    assert deployment.attributes["ready"] == "1/2"
    assert deployment.attributes["manifest"]["spec"]["replicas"] == 2
    found = context.find(cluster, type_name="KubernetesPod")
    assert [i.path for i in found.items] == [f"{cluster}/default/pods/web-1"]


def test_pods_page_through_the_apis_own_limit_and_continue(context, cluster, k8s):
    k8s.bulk_pods(250, namespace="default", prefix="bulk")
    seen, cursor, pages = [], None, 0
    while True:
        page = context.list(f"{cluster}/default/pods", limit=100, cursor=cursor)
        seen += names(page)
        pages += 1
        if (cursor := page.next_cursor) is None:
            break
    assert pages == 3 and len(seen) == 251 and len(set(seen)) == 251
    listed = [path for method, path in k8s.requests if method == "GET" and "/pods?" in path]
    assert any("limit=100" in p for p in listed) and any("continue=" in p for p in listed)


def test_secret_values_are_never_shown(context, cluster, k8s):
    secret = context.get(f"{cluster}/default/secrets/db")
    assert secret.attributes["manifest"]["data"] == {"password": "<redacted>"}
    assert "aHVudGVy" not in json.dumps(secret.to_dict())
    shown = k8s.kubectl("get", "secret", "db", "-n", "default", "-o", "jsonpath={.data.password}")
    assert shown.stdout == "aHVudGVyMg=="  # the cluster still has it: only the display hides it


def test_create_update_and_delete_reach_the_cluster(context, cluster, k8s):
    context.create(f"{cluster}/team-a", "KubernetesNamespace")
    manifest = {"data": {"mode": "fast"}}
    context.create(f"{cluster}/team-a/configmaps/settings", "KubernetesConfigMap",
                   {"manifest": manifest})
    got = json.loads(k8s.kubectl("get", "configmap", "settings", "-n", "team-a", "-o", "json").stdout)
    assert got["data"] == {"mode": "fast"}
    context.update(f"{cluster}/default/deployments/web", {"labels": {"tier": "front"}})
    labels = k8s.kubectl("get", "deploy", "web", "-n", "default", "-o", "jsonpath={.metadata.labels}")
    assert json.loads(labels.stdout) == {"tier": "front"}
    context.delete(f"{cluster}/default/pods/web-1")
    gone = k8s.kubectl("get", "pod", "web-1", "-n", "default", check=False)
    assert gone.returncode != 0 and "NotFound" in gone.stderr


def test_a_replace_based_on_an_old_read_is_refused(context, cluster, k8s):
    path = f"{cluster}/default/deployments/web"
    before = context.get(path)
    k8s.kubectl("scale", "deploy/web", "-n", "default", "--replicas=5")
    manifest = dict(before.attributes["manifest"], spec={"replicas": 1})
    with pytest.raises(Conflict):
        context.update(path, {"manifest": manifest}, expected_version=before.version)
    replicas = k8s.kubectl("get", "deploy", "web", "-n", "default", "-o", "jsonpath={.spec.replicas}")
    assert replicas.stdout == "5"


def test_a_read_only_mount_refuses_changes(context, k8s):
    context.create("/ro", "KubernetesCluster", {"kubeconfig": str(k8s.kubeconfig), "read_only": True})
    with pytest.raises(ReadOnly, match="read-only mount"):
        context.delete("/ro/default/pods/web-1")
    assert k8s.kubectl("get", "pod", "web-1", "-n", "default", check=False).returncode == 0


def test_custom_resources_appear_through_discovery(context, cluster, k8s):
    k8s.add_crd("example.com", "Widget", "widgets", short_names=("wdg",))
    context.provider.forget()  # a new table: the provider discovers again
    k8s.load({"apiVersion": "example.com/v1", "kind": "Widget",
              "metadata": {"name": "w1", "namespace": "default"}, "spec": {"size": 3}})
    assert "widgets" in names(context.list(f"{cluster}/default", limit=1000))
    (widget,) = context.list(f"{cluster}/default/widgets").items
    assert widget.name == "w1" and widget.type == "KubernetesObject"
    # discovery's short name and singular name reach the same kind, as in kubectl
    assert names(context.list(f"{cluster}/default/wdg")) == names(context.list(f"{cluster}/default/widget")) == ["w1"]


def test_the_clusters_refusals_are_clear(context, cluster, k8s):
    k8s.add_token("viewer", rules={"pods": ["get", "list"], "namespaces": ["get", "list"]})
    viewer = k8s.write_kubeconfig(k8s.directory / "viewer.kubeconfig", token="viewer")
    context.create("/viewer", "KubernetesCluster", {"kubeconfig": str(viewer)})
    assert names(context.list("/viewer/default/pods")) == ["web-1"]
    with pytest.raises(PermissionDenied, match="^/viewer/default/pods/web-1: forbidden by the cluster"):
        context.delete("/viewer/default/pods/web-1")
    with pytest.raises(NotFound, match="^/clusters/dev/default/pods/nope: no such item$"):
        context.get(f"{cluster}/default/pods/nope")
    k8s.revoke_token("viewer")
    with pytest.raises(StoreError, match="refused the credentials"):
        context.list("/viewer/default/pods")


def test_mounting_checks_the_context_and_that_the_cluster_answers(context, k8s):
    with pytest.raises(ValidationError, match="^/c: context nowhere: "):
        context.create("/c", "KubernetesCluster", {"kubeconfig": str(k8s.kubeconfig), "context": "nowhere"})
    k8s.stop()
    with pytest.raises(StoreError, match="^/c: the cluster .* cannot be reached"):
        context.create("/c", "KubernetesCluster", {"kubeconfig": str(k8s.kubeconfig)})
    assert not context.provider.exists("/c")


def test_every_store_starts_with_the_clusters_app_and_its_folder(cli, k8s):
    """/clusters (the Clusters app's root, from kubernetes_apps.json and apps.json) holds
    clusters and folders grouping them, nothing else."""
    app = json.loads(cli("get", "/apps/clusters", "-o", "json").out)
    assert app["type"] == "App" and app["attributes"]["root"] == "/clusters"
    refused = cli("create", "/clusters/notes", "--type", "Document", "--attr", "title=Notes")
    assert (refused.code, refused.err) == (
        1, "realnet: /clusters/notes: a Clusters cannot hold a Document (allowed: KubernetesCluster, Folder)\n")
    assert cli("create", "/clusters/dev", "--type", "KubernetesCluster", "--attr", f"kubeconfig={k8s.kubeconfig}").code == 0
    assert cli("create", "/clusters/team", "--type", "Folder").code == 0
    assert cli("ls", "/clusters").out.split() == ["dev", "team"]
    assert "default" in cli("ls", "/clusters/dev").out.split()


@pytest.mark.parametrize(("content", "expected"), [
    (None, "kubeconfig {file}: no such file"),
    ("clusters: [\n", "kubeconfig {file}: not valid YAML at line 2, column 1"),
])
def test_a_missing_or_malformed_kubeconfig_is_one_line_naming_it(cli, tmp_path, content, expected):
    file = tmp_path / "kubeconfig"
    if content is not None:
        file.write_text(content)
    result = cli("create", "/clusters/x", "--type", "KubernetesCluster", "--attr", f"kubeconfig={file}")
    assert result.code == 1
    assert result.err == f"realnet: /clusters/x: {expected.format(file=file)}\n"
    assert cli("ls", "/clusters").out == ""


def test_the_cli_lists_pods_as_json(cli, k8s):
    assert cli("create", "/clusters/dev", "--type", "KubernetesCluster", "-p",
               "--attr", f"kubeconfig={k8s.kubeconfig}").code == 0
    listed = json.loads(cli("ls", "/clusters/dev/default/pods", "-o", "json").out)
    assert [i["name"] for i in listed["items"]] == ["web-1"]
    assert cli("get", "/clusters/dev/default/pods/web-1/status").out == "Running\n"
    refused = cli("rm", "/clusters/dev/default/pods/missing")
    assert refused.code == 1 and refused.err.count("\n") == 1 and "Traceback" not in refused.err


@pytest.mark.parametrize("where", ["kubeconfig", "pod"])
def test_a_cli_listing_of_pods_imports_only_the_clients_parts_it_uses(cli, k8s, realnet_home, tmp_path,
                                                                      monkeypatch, where):
    """A ``realnet ls`` process reaches the cluster through ``kubernetes.client`` alone: the
    package's ``__init__`` (which pulls in ``dynamic``, kubernetes-validate and jsonschema,
    ``stream``, ``informer``) is not run, a kubeconfig with a token or a pod's service
    account is read without the official loaders (which import requests-oauthlib and
    oauthlib), and requests go through its REST layer without the typed ``ApiClient``
    (which imports pydantic)."""
    attribute = f"kubeconfig={k8s.kubeconfig}"
    pod_files = ""
    if where == "pod":
        pretend_pod(k8s, tmp_path, monkeypatch, READER)
        attribute = "in_cluster=true"
        pod_files = (f"from realnet.providers.kubernetes import kubeconfig\n"
                     f"kubeconfig.TOKEN_FILE, kubeconfig.CA_FILE = {str(tmp_path / 'token')!r}, "
                     f"{str(tmp_path / 'ca.crt')!r}\n")
    assert cli("create", "/clusters/dev", "--type", "KubernetesCluster", "-p", "--attr", attribute).code == 0
    code = ("import sys\n"
            f"{pod_files}"
            "from realnet.cli import run\n"
            "status = run(['ls', '/clusters/dev/default/pods'])\n"
            "unused = ('kubernetes.dynamic', 'kubernetes.stream', 'kubernetes.watch', 'kubernetes.informer',"
            " 'kubernetes.leaderelection', 'kubernetes_validate', 'jsonschema', 'kubernetes.config',"
            " 'requests_oauthlib', 'oauthlib', 'pydantic', 'kubernetes.client.api_client')\n"
            "print(sorted(m for m in sys.modules if m.startswith(unused)), file=sys.stderr)\n"
            "sys.exit(status)\n")
    env = {**os.environ, "REALNET_HOME": str(realnet_home)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "web-1\n"
    assert done.stderr.strip() == "[]"


def test_the_client_package_loaded_that_way_still_gives_every_part_on_first_use():
    code = ("import sys\n"
            "from realnet.providers.kubernetes.client import load_client_package\n"
            "load_client_package()\n"
            "from kubernetes import client, config\n"
            "assert 'kubernetes.dynamic' not in sys.modules\n"
            "from kubernetes.dynamic import DynamicClient\n"
            "from kubernetes.watch import Watch\n"
            "import kubernetes\n"
            "print(kubernetes.client.CoreV1Api.__name__, kubernetes.watch.Watch is Watch,"
            " kubernetes.__version__ == kubernetes.client.__version__)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "CoreV1Api True True\n"


def test_ls_long_shows_the_kinds_columns(cli, k8s):
    cli("create", "/clusters/dev", "--type", "KubernetesCluster", "-p", "--attr", f"kubeconfig={k8s.kubeconfig}")
    lines = cli("ls", "-l", "/clusters/dev/default/pods").out.splitlines()
    assert lines[0].split("\t") == ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "NODE"]
    name, ready, status, restarts, _age, node = lines[1].split("\t")
    assert (name, ready, status, restarts, node) == ("web-1", "1/1", "Running", "3", "node-a")
    deployments = cli("ls", "-l", "/clusters/dev/default/deployments").out.splitlines()
    assert deployments[0].split("\t")[:4] == ["NAME", "READY", "UP_TO_DATE", "AVAILABLE"]


MANIFESTS = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
spec:
  replicas: 1
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec: {containers: [{name: api, image: "api:1"}]}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: api-settings
data: {level: info}
"""


def test_apply_creates_then_configures_then_leaves_unchanged(cli, k8s, tmp_path):
    cli("create", "/clusters/dev", "--type", "KubernetesCluster", "-p", "--attr", f"kubeconfig={k8s.kubeconfig}")
    manifest = tmp_path / "deploy.yaml"
    manifest.write_text(MANIFESTS)
    first = cli("apply", str(manifest), "/clusters/dev/default")
    assert first.code == 0, first.err
    assert first.out.splitlines() == ["created /clusters/dev/default/deployments/api",
                                      "created /clusters/dev/default/configmaps/api-settings"]
    assert k8s.kubectl("get", "configmap", "api-settings", "-n", "default",
                       "-o", "jsonpath={.data.level}").stdout == "info"
    again = cli("apply", str(manifest), "/clusters/dev/default")
    assert again.out.splitlines() == ["unchanged /clusters/dev/default/deployments/api",
                                      "unchanged /clusters/dev/default/configmaps/api-settings"]
    manifest.write_text(MANIFESTS.replace("level: info", "level: debug"))
    changed = cli("apply", str(manifest), "/clusters/dev/default", "-o", "json")
    assert [r["result"] for r in json.loads(changed.out)] == ["unchanged", "configured"]
    assert k8s.kubectl("get", "configmap", "api-settings", "-n", "default",
                       "-o", "jsonpath={.data.level}").stdout == "debug"


def test_apply_checks_every_manifest_before_sending_any(cli, k8s, tmp_path):
    cli("create", "/clusters/dev", "--type", "KubernetesCluster", "-p", "--attr", f"kubeconfig={k8s.kubeconfig}")
    manifest = tmp_path / "bad.yaml"
    manifest.write_text(MANIFESTS + "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {}\n")
    refused = cli("apply", str(manifest), "/clusters/dev/default")
    assert refused.code == 1 and refused.err == f"realnet: {manifest}#3: metadata.name is required\n"
    assert k8s.kubectl("get", "deploy", "api", "-n", "default", check=False).returncode != 0
    manifest.write_text("kind: [\n")
    broken = cli("apply", str(manifest), "/clusters/dev/default")
    assert broken.code == 1 and "not valid YAML" in broken.err and "line 2" in broken.err


def test_scale_restart_describe_events_and_logs(cli, k8s):
    cli("create", "/clusters/dev", "--type", "KubernetesCluster", "-p", "--attr", f"kubeconfig={k8s.kubeconfig}")
    base = "/clusters/dev/default"
    assert cli("scale", f"{base}/deployments/web", "3").out == f"scaled {base}/deployments/web to 3\n"
    assert k8s.kubectl("get", "deploy", "web", "-n", "default", "-o", "jsonpath={.spec.replicas}").stdout == "3"
    assert cli("restart", f"{base}/deployments/web").code == 0
    annotations = k8s.kubectl("get", "deploy", "web", "-n", "default", "-o",
                              "jsonpath={.spec.template.metadata.annotations}").stdout
    assert "kubectl.kubernetes.io/restartedAt" in annotations
    refused = cli("scale", f"{base}/pods/web-1", "2")
    assert refused.code == 1 and "scale works on deployments" in refused.err
    k8s.load({"apiVersion": "v1", "kind": "Event", "metadata": {"name": "web-1.1", "namespace": "default"},
              "involvedObject": {"kind": "Pod", "name": "web-1", "namespace": "default"},
              "reason": "Pulled", "type": "Normal", "message": "image pulled",
              "lastTimestamp": "2026-11-26T05:00:00Z"})
    described = cli("describe", f"{base}/pods/web-1").out
    assert "Pod /clusters/dev/default/pods/web-1" in described and "Pulled" in described
    rows = json.loads(cli("events", base, "-o", "json").out)
    assert [(r["reason"], r["object"]) for r in rows] == [("Pulled", "Pod/web-1")]
    k8s.set_log("default", "web-1", "one\ntwo\nthree\n")
    assert cli("logs", f"{base}/pods/web-1", "--tail", "2").out == "two\nthree\n"


def test_actions_are_checked_against_the_items_permissions(context, cluster, k8s):
    from realnet.resources.accounts import Directory, grant

    Directory(context).add_user("reader", password=None)
    grant(context, cluster, "user:reader", ["read"])
    context.act_as("reader")
    k8s.set_log("default", "web-1", "hello\n")
    assert list(context.action(f"{cluster}/default/pods/web-1", "logs")) == ["hello"]
    with pytest.raises(PermissionDenied, match="reader may not write"):
        context.action(f"{cluster}/default/deployments/web", "scale", replicas=0)
    assert k8s.kubectl("get", "deploy", "web", "-n", "default", "-o", "jsonpath={.spec.replicas}").stdout == "2"


def test_a_followed_log_prints_lines_as_they_come_until_the_container_ends(context, cluster, k8s):
    import threading

    k8s.set_log("default", "web-1", "started\n")
    lines = context.action(f"{cluster}/default/pods/web-1", "logs", follow=True)
    assert next(lines) == "started"  # the first line arrives before the container said more
    k8s.append_log("default", "web-1", "request 1\nrequest 2\n")
    threading.Timer(0.2, k8s.end_log, ("default", "web-1")).start()
    assert list(lines) == ["request 1", "request 2"]


def pretend_pod(k8s: FakeKubeServer, tmp_path, monkeypatch, rules: dict[str, list[str]]) -> None:
    """What Kubernetes gives a pod, as in ``kubectl exec -it deploy/realnet -- realnet shell``:
    no kubeconfig, the service host and port in the environment, the account's token and
    the cluster's CA in files (here in tmp_path instead of /var/run/secrets)."""
    from realnet.providers.kubernetes import kubeconfig

    token, ca = tmp_path / "token", tmp_path / "ca.crt"
    k8s.add_token("pod-account", rules=rules)
    token.write_text("pod-account")
    ca.write_bytes(k8s.certificate.read_bytes())
    monkeypatch.setattr(kubeconfig, "TOKEN_FILE", str(token))
    monkeypatch.setattr(kubeconfig, "CA_FILE", str(ca))
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", str(k8s.port))
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "no-such-kubeconfig"))


READER = {"pods": ["get", "list"], "namespaces": ["get", "list"]}


def test_inside_a_pod_the_mount_uses_the_pods_service_account(context, k8s, tmp_path, monkeypatch):
    pretend_pod(k8s, tmp_path, monkeypatch, READER)
    context.create("/clusters/local", "KubernetesCluster", {"in_cluster": True}, parents=True)
    assert names(context.list("/clusters/local/default/pods")) == ["web-1"]
    with pytest.raises(PermissionDenied, match="forbidden by the cluster"):
        context.delete("/clusters/local/default/pods/web-1")  # the account may only read


def test_init_inside_a_pod_mounts_the_cluster_it_runs_in(cli, k8s, tmp_path, monkeypatch):
    pretend_pod(k8s, tmp_path, monkeypatch, READER)
    done = cli("init")
    assert done.code == 0, done.err
    assert done.out.endswith("; mounted the cluster this pod runs in at /clusters/local (its service account)\n")
    assert json.loads(cli("ls", "/clusters/local/default/pods", "-o", "json").out)["items"][0]["name"] == "web-1"
    assert json.loads(cli("get", "/clusters/local", "-o", "json").out)["attributes"]["in_cluster"] is True
    again = cli("init", "-o", "json")  # every rollout runs the init Job: nothing more happens
    assert again.code == 0 and "local_cluster" not in json.loads(again.out)
    assert cli("rm", "/clusters/local").code == 0
    monkeypatch.setenv("REALNET_LOCAL_CLUSTER", "off")
    assert "mounted" not in cli("init").out and cli("get", "/clusters/local").code == 1
    monkeypatch.setenv("REALNET_LOCAL_CLUSTER", "/k8s/here")
    assert json.loads(cli("init", "-o", "json").out)["local_cluster"] == "/k8s/here"
    assert "default" in cli("ls", "/k8s/here").out.split()


def test_init_keeps_the_store_when_the_pods_cluster_cannot_be_mounted(cli, k8s, tmp_path, monkeypatch):
    pretend_pod(k8s, tmp_path, monkeypatch, READER)
    k8s.stop()
    done = cli("init")
    assert done.code == 0 and done.out.startswith("initialized from ") and "mounted" not in done.out
    assert done.err.startswith("realnet: could not mount the cluster this pod runs in at /clusters/local: ")
    assert done.err.count("\n") == 1
    assert cli("get", "/clusters/local").code == 1 and cli("ls", "/clusters").out == ""


@pytest.mark.parametrize("value", ["clusters/local", "/", "/a/../b"])
def test_a_bad_local_cluster_path_is_one_line(cli, monkeypatch, value):
    monkeypatch.setenv("REALNET_LOCAL_CLUSTER", value)
    refused = cli("init")
    assert refused.code == 1
    assert refused.err == (f"realnet: REALNET_LOCAL_CLUSTER={value!r}: expected an absolute path below / "
                           "(such as /clusters/local) or 'off'\n")


def test_outside_a_pod_in_cluster_says_what_is_missing(context, monkeypatch):
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    with pytest.raises(ValidationError, match="^/c: the pod's service account: "):
        context.create("/c", "KubernetesCluster", {"in_cluster": True})


def test_apply_checks_manifests_against_the_schemas_before_sending(cli, k8s, tmp_path):
    cli("create", "/clusters/dev", "--type", "KubernetesCluster", "-p", "--attr", f"kubeconfig={k8s.kubeconfig}")
    manifest = tmp_path / "deploy.yaml"
    manifest.write_text(MANIFESTS.replace("replicas: 1", "replicas: three"))
    refused = cli("apply", str(manifest), "/clusters/dev/default")
    assert refused.code == 1
    assert refused.err == f"realnet: {manifest}#1: spec.replicas: 'three' is not of type 'integer', 'null'\n"
    assert k8s.kubectl("get", "configmap", "api-settings", "-n", "default", check=False).returncode != 0


def test_a_slow_cluster_is_said_to_be_slow_within_the_mounts_timeout(context, k8s):
    context.create("/slow", "KubernetesCluster", {"kubeconfig": str(k8s.kubeconfig), "timeout": 0.5})
    k8s.faults.delay, k8s.faults.delay_only = 3.0, "/pods"
    with pytest.raises(StoreError, match=r"^/slow/default/pods: the cluster .* did not answer within 0.5 s"):
        context.list("/slow/default/pods")
    k8s.faults.clear()
    assert names(context.list("/slow/default/pods")) == ["web-1"]


def test_access_reviews_say_what_the_identity_may_do(context, k8s):
    from realnet.providers.kubernetes.access import Access

    k8s.add_token("viewer", rules={"pods": ["get", "list"], "namespaces": ["get", "list"]})
    viewer = k8s.write_kubeconfig(k8s.directory / "viewer.kubeconfig", token="viewer")
    context.create("/viewer", "KubernetesCluster", {"kubeconfig": str(viewer)})
    provider = context.provider.owner_of("/viewer/default")
    access = Access(provider)
    pods = provider.kind_named("pods", where="/viewer")
    deployments = provider.kind_named("deploy", where="/viewer")
    assert access.allowed("list", pods, "default") and not access.allowed("delete", pods, "default")
    assert not access.allowed("patch", deployments, "default", subresource="scale")
    reviews = [p for m, p in k8s.requests if m == "POST" and "selfsubjectaccessreviews" in p]
    assert access.allowed("list", pods, "default")  # asked once, then kept
    assert len([p for m, p in k8s.requests if m == "POST" and "selfsubjectaccessreviews" in p]) == len(reviews)


def test_a_search_from_above_passes_the_cluster_by(context, cluster, k8s):
    context.create("/notes", "Document", {"title": "web-1 notes"})
    before = len(k8s.requests)
    assert [i.path for i in context.find("/", name_glob="web*").items] == []
    assert len(k8s.requests) == before  # the cluster was not asked
    assert [i.path for i in context.find(cluster, name_glob="web*").items] == [
        f"{cluster}/default/deployments/web", f"{cluster}/default/pods/web-1"]
