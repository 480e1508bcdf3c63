"""The fake Kubernetes API server (tests/k8sserver.py) answers the official Python client and
kubectl as a real API server does: this is the proof that it is faithful enough to test
Realnet's kubernetes provider against."""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Iterator

import kubernetes
import pytest
import urllib3
from k8sserver import FakeKubeServer, running
from kubernetes.client import ApiException
from kubernetes.dynamic import DynamicClient
from kubernetes.watch import Watch

WAIT = 20  # seconds: a hang detector only, never a measure


@pytest.fixture
def k8s() -> Iterator[FakeKubeServer]:
    with running() as server:
        yield server


@pytest.fixture
def client(k8s: FakeKubeServer):
    api = k8s.api_client()
    yield api
    api.close()


@pytest.fixture
def core(client) -> kubernetes.client.CoreV1Api:
    return kubernetes.client.CoreV1Api(client)


@pytest.fixture
def apps(client) -> kubernetes.client.AppsV1Api:
    return kubernetes.client.AppsV1Api(client)


def pod(name: str, labels: dict | None = None, containers: tuple[str, ...] = ("main",)) -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": labels or {}},
            "spec": {"containers": [{"name": c, "image": "nginx:1"} for c in containers]}}


def deployment(name: str, replicas: int = 1, image: str = "nginx:1") -> dict:
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "labels": {"app": name}},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": "web", "image": image,
                                                           "ports": [{"containerPort": 80}]}]}}}}


def status_of(error: ApiException) -> dict:
    body = json.loads(error.body)
    assert body["kind"] == "Status" and body["status"] == "Failure" and body["code"] == error.status
    return body


def names(items) -> list[str]:
    return [i.metadata.name for i in items]


# -- discovery --------------------------------------------------------------------------------

def test_discovery_lists_versions_groups_and_resources(k8s, client):
    version = kubernetes.client.VersionApi(client).get_code()
    assert (version.major, version.minor) == ("1", "32")
    assert kubernetes.client.CoreApi(client).get_api_versions().versions == ["v1"]
    groups = {g.name: g.preferred_version.group_version
              for g in kubernetes.client.ApisApi(client).get_api_versions().groups}
    for name in ("apps", "batch", "networking.k8s.io", "rbac.authorization.k8s.io",
                 "authorization.k8s.io", "events.k8s.io"):
        assert groups[name] == f"{name}/v1"
    core_resources = {r.name: r for r in kubernetes.client.CoreV1Api(client).get_api_resources().resources}
    assert core_resources["pods"].namespaced and core_resources["pods"].short_names == ["po"]
    assert not core_resources["namespaces"].namespaced
    assert core_resources["pods/log"].verbs == ["get"]
    app_resources = {r.name: r for r in kubernetes.client.AppsV1Api(client).get_api_resources().resources}
    scale = app_resources["deployments/scale"]
    assert (scale.group, scale.version, scale.kind) == ("autoscaling", "v1", "Scale")
    assert "statefulsets/scale" in app_resources


def test_custom_resources_appear_in_discovery_and_are_served(k8s, client):
    k8s.add_crd("example.com", "Widget", "widgets", short_names=("wd",))
    groups = {g.name for g in kubernetes.client.ApisApi(client).get_api_versions().groups}
    assert "example.com" in groups
    dynamic = DynamicClient(client)
    widgets = dynamic.resources.get(api_version="example.com/v1", kind="Widget")
    assert widgets.namespaced and widgets.short_names == ["wd"]
    custom = kubernetes.client.CustomObjectsApi(client)
    made = custom.create_namespaced_custom_object("example.com", "v1", "default", "widgets", {
        "apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w1"}, "spec": {"size": 3}})
    assert made["metadata"]["uid"] and made["metadata"]["generation"] == 1
    listed = custom.list_namespaced_custom_object("example.com", "v1", "default", "widgets")
    assert listed["kind"] == "WidgetList" and [w["metadata"]["name"] for w in listed["items"]] == ["w1"]
    out = k8s.kubectl("get", "wd", "-n", "default", "-o", "json")
    assert [i["spec"]["size"] for i in json.loads(out.stdout)["items"]] == [3]
    kubernetes.client.ApiextensionsV1Api(client).delete_custom_resource_definition("widgets.example.com")
    groups = {g.name for g in kubernetes.client.ApisApi(client).get_api_versions().groups}
    assert "example.com" not in groups


# -- CRUD -------------------------------------------------------------------------------------

def test_create_get_list_replace_delete_a_pod(core):
    made = core.create_namespaced_pod("default", pod("web-1", {"app": "web"}))
    assert made.metadata.uid and made.metadata.creation_timestamp is not None
    assert made.status.phase == "Pending" and made.metadata.namespace == "default"
    listed = core.list_namespaced_pod("default")
    assert isinstance(listed, kubernetes.client.V1PodList)
    assert names(listed.items) == ["web-1"]
    assert int(listed.metadata.resource_version) >= int(made.metadata.resource_version)
    got = core.read_namespaced_pod("web-1", "default")
    got.metadata.labels["tier"] = "front"
    replaced = core.replace_namespaced_pod("web-1", "default", got)
    assert replaced.metadata.labels == {"app": "web", "tier": "front"}
    assert int(replaced.metadata.resource_version) > int(made.metadata.resource_version)
    assert replaced.metadata.uid == made.metadata.uid
    gone = core.delete_namespaced_pod("web-1", "default")
    assert gone.metadata.name == "web-1"  # pods answer a delete with the object
    with pytest.raises(ApiException) as e:
        core.read_namespaced_pod("web-1", "default")
    body = status_of(e.value)
    assert (e.value.status, body["reason"], body["message"]) == (404, "NotFound", 'pods "web-1" not found')


def test_create_twice_is_already_exists_and_stale_replace_is_conflict(core):
    first = core.create_namespaced_config_map("default", {"metadata": {"name": "cfg"}, "data": {"a": "1"}})
    with pytest.raises(ApiException) as e:
        core.create_namespaced_config_map("default", {"metadata": {"name": "cfg"}, "data": {"a": "2"}})
    assert (e.value.status, status_of(e.value)["reason"]) == (409, "AlreadyExists")
    first.data = {"a": "2"}
    core.replace_namespaced_config_map("cfg", "default", first)
    first.data = {"a": "3"}  # still the first resourceVersion: stale
    with pytest.raises(ApiException) as e:
        core.replace_namespaced_config_map("cfg", "default", first)
    body = status_of(e.value)
    assert (e.value.status, body["reason"]) == (409, "Conflict")
    assert "the object has been modified" in body["message"]
    assert core.read_namespaced_config_map("cfg", "default").data == {"a": "2"}


def test_resource_version_is_global_and_generation_follows_the_spec(apps, core):
    d = apps.create_namespaced_deployment("default", deployment("web"))
    cm = core.create_namespaced_config_map("default", {"metadata": {"name": "c"}})
    assert int(cm.metadata.resource_version) == int(d.metadata.resource_version) + 1
    assert d.metadata.generation == 1 and d.spec.replicas == 1
    labelled = apps.patch_namespaced_deployment("web", "default", {"metadata": {"labels": {"x": "y"}}})
    assert labelled.metadata.generation == 1
    d = apps.read_namespaced_deployment("web", "default")
    d.spec.template.spec.containers[0].image = "nginx:2"
    assert apps.replace_namespaced_deployment("web", "default", d).metadata.generation == 2
    d.metadata.resource_version = None  # unconditional update, as built-in kinds allow
    d.spec.replicas = 4
    assert apps.replace_namespaced_deployment("web", "default", d).metadata.generation == 3


def test_merge_strategic_and_json_patches(apps):
    apps.create_namespaced_deployment("default", deployment("web"))
    # a dict body goes as a strategic merge patch: containers merge by name, ports stay
    patched = apps.patch_namespaced_deployment("web", "default", {"spec": {"template": {"spec": {
        "containers": [{"name": "web", "image": "nginx:2"}]}}}})
    container = patched.spec.template.spec.containers[0]
    assert (container.image, container.ports[0].container_port) == ("nginx:2", 80)
    merged = apps.patch_namespaced_deployment(
        "web", "default", {"metadata": {"labels": {"app": None, "team": "a"}}},
        _content_type="application/merge-patch+json")
    assert merged.metadata.labels == {"team": "a"}
    jsonpatched = apps.patch_namespaced_deployment(
        "web", "default", [{"op": "replace", "path": "/spec/replicas", "value": 5}])
    assert jsonpatched.spec.replicas == 5
    stale = {"metadata": {"resourceVersion": patched.metadata.resource_version}, "spec": {"replicas": 1}}
    with pytest.raises(ApiException) as e:
        apps.patch_namespaced_deployment("web", "default", stale, _content_type="application/merge-patch+json")
    assert status_of(e.value)["reason"] == "Conflict"


def test_deleting_a_namespace_removes_its_objects(core):
    core.create_namespace({"metadata": {"name": "team-a"}})
    core.create_namespaced_config_map("team-a", {"metadata": {"name": "cfg"}})
    core.create_namespaced_pod("team-a", pod("p"))
    core.create_namespaced_pod("default", pod("kept"))
    ns = core.read_namespace("team-a")
    assert ns.status.phase == "Active" and ns.metadata.labels["kubernetes.io/metadata.name"] == "team-a"
    core.delete_namespace("team-a")
    assert names(core.list_pod_for_all_namespaces().items) == ["kept"]
    assert core.list_namespaced_config_map("team-a").items == []
    with pytest.raises(ApiException) as e:
        core.create_namespaced_config_map("team-a", {"metadata": {"name": "again"}})
    assert (e.value.status, status_of(e.value)["message"]) == (404, 'namespaces "team-a" not found')


def test_owner_references_cascade_on_delete(apps, core):
    d = apps.create_namespaced_deployment("default", deployment("web"))
    owner = [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "uid": d.metadata.uid}]
    rs = apps.create_namespaced_replica_set("default", {
        "metadata": {"name": "web-1", "ownerReferences": owner},
        "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": deployment("web")["spec"]["template"]}})
    core.create_namespaced_pod("default", {**pod("web-1-a"), "metadata": {
        "name": "web-1-a", "ownerReferences": [{**owner[0], "kind": "ReplicaSet", "name": "web-1",
                                               "uid": rs.metadata.uid}]}})
    done = apps.delete_namespaced_deployment("web", "default")  # a Status (a dict for this client)
    assert done["kind"] == "Status" and done["status"] == "Success"
    assert done["details"] == {"name": "web", "group": "apps", "kind": "deployments", "uid": d.metadata.uid}
    assert apps.list_namespaced_replica_set("default").items == []
    assert core.list_namespaced_pod("default").items == []


MINIMAL = {
    "Namespace": {"metadata": {"name": "x"}},
    "Node": {"metadata": {"name": "x"}},
    "Pod": pod("x"),
    "Service": {"metadata": {"name": "x"}, "spec": {"ports": [{"port": 80}]}},
    "ConfigMap": {"metadata": {"name": "x"}, "data": {"k": "v"}},
    "Secret": {"metadata": {"name": "x"}, "stringData": {"k": "v"}},
    "PersistentVolumeClaim": {"metadata": {"name": "x"}, "spec": {"accessModes": ["ReadWriteOnce"]}},
    "ServiceAccount": {"metadata": {"name": "x"}},
    "Event": {"metadata": {"name": "x"}, "involvedObject": {"kind": "Pod", "name": "p"}, "reason": "R"},
    "Deployment": deployment("x"),
    "StatefulSet": {"metadata": {"name": "x"}, "spec": deployment("x")["spec"]},
    "DaemonSet": {"metadata": {"name": "x"}, "spec": {k: v for k, v in deployment("x")["spec"].items()
                                                      if k != "replicas"}},
    "ReplicaSet": {"metadata": {"name": "x"}, "spec": deployment("x")["spec"]},
    "Job": {"metadata": {"name": "x"}, "spec": {"template": deployment("x")["spec"]["template"]}},
    "CronJob": {"metadata": {"name": "x"}, "spec": {"schedule": "* * * * *", "jobTemplate": {
        "spec": {"template": deployment("x")["spec"]["template"]}}}},
    "Ingress": {"metadata": {"name": "x"}, "spec": {"rules": [{"host": "a.example"}]}},
    "Role": {"metadata": {"name": "x"}, "rules": [{"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]}]},
    "RoleBinding": {"metadata": {"name": "x"}, "roleRef": {"apiGroup": "rbac.authorization.k8s.io",
                                                          "kind": "Role", "name": "x"},
                    "subjects": [{"kind": "ServiceAccount", "name": "x", "namespace": "default"}]},
    "ClusterRole": {"metadata": {"name": "x"}, "rules": []},
}
API_VERSIONS = {"Deployment": "apps/v1", "StatefulSet": "apps/v1", "DaemonSet": "apps/v1",
                "ReplicaSet": "apps/v1", "Job": "batch/v1", "CronJob": "batch/v1",
                "Ingress": "networking.k8s.io/v1", "Role": "rbac.authorization.k8s.io/v1",
                "RoleBinding": "rbac.authorization.k8s.io/v1", "ClusterRole": "rbac.authorization.k8s.io/v1"}
CLUSTER_SCOPED = {"Namespace", "Node", "ClusterRole"}


@pytest.mark.parametrize("kind", sorted(MINIMAL))
def test_every_kind_through_discovery_and_the_dynamic_client(client, kind):
    dynamic = DynamicClient(client)
    api_version = API_VERSIONS.get(kind, "v1")
    res = dynamic.resources.get(api_version=api_version, kind=kind)
    assert res.namespaced == (kind not in CLUSTER_SCOPED)
    body = {**MINIMAL[kind], "apiVersion": api_version, "kind": kind}
    where = {} if kind in CLUSTER_SCOPED else {"namespace": "default"}
    made = res.create(body=body, **where)
    assert made.metadata.name == "x" and made.metadata.uid
    assert made.metadata.namespace == where.get("namespace")
    listed = res.get(**where)
    assert listed.kind == f"{kind}List" and "x" in [i.metadata.name for i in listed.items]
    assert res.get(name="x", **where).metadata.uid == made.metadata.uid
    res.delete(name="x", **where)
    with pytest.raises(kubernetes.dynamic.exceptions.NotFoundError):
        res.get(name="x", **where)


def test_secret_string_data_is_stored_encoded(core):
    core.create_namespaced_secret("default", {"metadata": {"name": "s"}, "stringData": {"pw": "hunter2"}})
    secret = core.read_namespaced_secret("s", "default")
    assert secret.data == {"pw": "aHVudGVyMg=="} and secret.type == "Opaque"


# -- selectors and paging ---------------------------------------------------------------------

@pytest.fixture
def labelled(core) -> kubernetes.client.CoreV1Api:
    for name, labels in (("a", {"app": "web", "tier": "front"}), ("b", {"app": "web", "tier": "back"}),
                         ("c", {"app": "db"}), ("d", {})):
        core.create_namespaced_pod("default", pod(name, labels))
    return core


@pytest.mark.parametrize(("selector", "expected"), [
    ("app=web", ["a", "b"]),
    ("app==web", ["a", "b"]),
    ("app!=web", ["c", "d"]),
    ("tier in (front,back)", ["a", "b"]),
    ("app notin (web)", ["c", "d"]),
    ("tier", ["a", "b"]),
    ("!tier", ["c", "d"]),
    ("app=web,tier!=front", ["b"]),
    ("app in (web, db),!tier", ["c"]),
])
def test_label_selectors(labelled, selector, expected):
    assert names(labelled.list_namespaced_pod("default", label_selector=selector).items) == expected


def test_a_malformed_label_selector_is_bad_request(labelled):
    with pytest.raises(ApiException) as e:
        labelled.list_namespaced_pod("default", label_selector="app in (web")
    assert (e.value.status, status_of(e.value)["reason"]) == (400, "BadRequest")


def test_field_selectors(k8s, labelled):
    k8s.set_status("v1", "Pod", "a", {"phase": "Running"}, namespace="default")
    labelled.patch_namespaced_pod("b", "default", {"spec": {"nodeName": "node-2"}})
    labelled.create_namespace({"metadata": {"name": "other"}})
    labelled.create_namespaced_pod("other", pod("a"))
    core = labelled
    assert names(core.list_namespaced_pod("default", field_selector="status.phase=Running").items) == ["a"]
    assert names(core.list_namespaced_pod("default", field_selector="status.phase!=Running").items) == [
        "b", "c", "d"]
    assert names(core.list_namespaced_pod("default", field_selector="spec.nodeName=node-2").items) == ["b"]
    assert names(core.list_namespaced_pod("default", field_selector="spec.nodeName=").items) == ["a", "c", "d"]
    everywhere = core.list_pod_for_all_namespaces(field_selector="metadata.name=a")
    assert [(p.metadata.namespace, p.metadata.name) for p in everywhere.items] == [("default", "a"), ("other", "a")]
    assert names(core.list_pod_for_all_namespaces(
        field_selector="metadata.namespace=other").items) == ["a"]
    assert names(core.list_namespaced_pod("default", field_selector="metadata.name=a",
                                          label_selector="app=web").items) == ["a"]
    with pytest.raises(ApiException) as e:
        core.list_namespaced_pod("default", field_selector="spec.image=nginx")
    assert (e.value.status, status_of(e.value)["message"]) == (400, "field label not supported: spec.image")


def test_events_are_found_by_the_object_they_involve(core):
    for i, name in enumerate(("web-1", "web-2", "web-1")):
        core.create_namespaced_event("default", {
            "metadata": {"name": f"e{i}"}, "reason": "Pulled", "type": "Normal",
            "involvedObject": {"kind": "Pod", "name": name, "namespace": "default"}})
    found = core.list_namespaced_event(
        "default", field_selector="involvedObject.name=web-1,involvedObject.kind=Pod")
    assert names(found.items) == ["e0", "e2"]


def test_paging_with_limit_and_continue(core):
    for i in range(25):
        core.create_namespaced_config_map("default", {"metadata": {"name": f"cm-{i:02d}"}})
    seen, token, pages = [], None, 0
    while True:
        page = core.list_namespaced_config_map("default", limit=10, _continue=token)
        pages += 1
        seen += names(page.items)
        if pages == 1:
            assert page.metadata.remaining_item_count == 15
        token = page.metadata._continue
        if not token:
            break
    assert pages == 3 and seen == [f"cm-{i:02d}" for i in range(25)]
    with pytest.raises(ApiException) as e:
        core.list_namespaced_config_map("default", limit=10, _continue="not-a-token")
    assert e.value.status == 400


def test_bulk_loader_puts_fifty_thousand_pods_in(k8s, core):
    k8s.bulk_pods(50_000, prefix="load", labels={"app": "load"})
    page = core.list_namespaced_pod("default", limit=500, label_selector="app=load")
    assert len(page.items) == 500 and page.items[0].metadata.name == "load-000000"
    assert page.items[0].status.phase == "Running" and page.metadata._continue
    unpaged = core.list_namespaced_pod("default", limit=500)
    assert unpaged.metadata.remaining_item_count == 49_500
    last = core.list_namespaced_pod("default", field_selector="metadata.name=load-049999")
    assert names(last.items) == ["load-049999"]
    total, token = 0, None
    while True:  # every page, as raw JSON (deserializing 50,000 pods would only measure the client)
        raw = core.list_namespaced_pod("default", limit=10_000, _continue=token, _preload_content=False)
        page = json.loads(raw.data)
        total += len(page["items"])
        token = page["metadata"].get("continue")
        if not token:
            break
    assert total == 50_000 and page["items"][-1]["metadata"]["name"] == "load-049999"
    out = k8s.kubectl("get", "pods", "-n", "default", "--field-selector=metadata.name=load-012345",
                      "-o", "name").stdout
    assert out.split() == ["pod/load-012345"]


# -- watch ------------------------------------------------------------------------------------

def collect(stream, count: int) -> list[tuple[str, str]]:
    seen = []
    for event in stream:
        seen.append((event["type"], event["object"].metadata.name))
        if len(seen) == count:
            break
    return seen


def test_watch_replays_history_after_a_resource_version(core):
    start = core.list_namespaced_pod("default").metadata.resource_version
    core.create_namespaced_pod("default", pod("w1"))
    core.patch_namespaced_pod("w1", "default", {"metadata": {"labels": {"x": "1"}}})
    core.delete_namespaced_pod("w1", "default")
    core.create_namespaced_pod("default", pod("w2"))
    watch = Watch()
    seen = collect(watch.stream(core.list_namespaced_pod, "default", resource_version=start,
                                timeout_seconds=WAIT), 4)
    watch.stop()
    assert seen == [("ADDED", "w1"), ("MODIFIED", "w1"), ("DELETED", "w1"), ("ADDED", "w2")]


def test_watch_without_resource_version_starts_with_the_current_objects(core):
    core.create_namespaced_pod("default", pod("old"))
    watch = Watch()
    seen = collect(watch.stream(core.list_namespaced_pod, "default", timeout_seconds=WAIT), 1)
    watch.stop()
    assert seen == [("ADDED", "old")]


def test_watch_ends_at_its_timeout(core):
    rv = core.list_namespaced_pod("default").metadata.resource_version
    events = list(Watch().stream(core.list_namespaced_pod, "default", resource_version=rv, timeout_seconds=1))
    assert events == []


def test_watch_delivers_live_events_and_selector_transitions(k8s, core):
    core.create_namespaced_pod("default", pod("p", {"app": "web"}))
    rv = core.list_namespaced_pod("default").metadata.resource_version
    got: queue.Queue = queue.Queue()
    watch = Watch()

    def consume() -> None:
        for event in watch.stream(core.list_namespaced_pod, "default", label_selector="app=web",
                                  resource_version=rv, timeout_seconds=WAIT):
            got.put((event["type"], event["object"].metadata.name, event["object"].metadata.labels))
            if event["type"] == "DELETED":
                watch.stop()
    thread = threading.Thread(target=consume, daemon=True)
    thread.start()
    k8s.wait_for_watches()  # subscribed: what follows is live
    core.create_namespaced_pod("default", pod("q", {"app": "db"}))  # never matches: not seen
    core.patch_namespaced_pod("p", "default", {"metadata": {"labels": {"v": "2"}}})
    core.patch_namespaced_pod("p", "default", {"metadata": {"labels": {"app": "other"}}})
    thread.join(WAIT)
    seen = [got.get_nowait() for _ in range(got.qsize())]
    assert seen == [("MODIFIED", "p", {"app": "web", "v": "2"}),
                    ("DELETED", "p", {"app": "other", "v": "2"})]  # it left the selection


def test_watch_from_a_compacted_resource_version_is_gone():
    with running(history=5) as k8s, k8s.api_client() as client:
        core = kubernetes.client.CoreV1Api(client)
        rv = core.list_namespaced_pod("default").metadata.resource_version
        for i in range(10):
            core.create_namespaced_config_map("default", {"metadata": {"name": f"c{i}"}})
        with pytest.raises(ApiException) as e:
            list(Watch().stream(core.list_namespaced_pod, "default", resource_version=rv, timeout_seconds=5))
        assert e.value.status == 410 and "too old resource version" in e.value.reason


def test_a_watch_dropped_mid_stream_breaks_the_client_connection(k8s, core):
    rv = core.list_namespaced_pod("default").metadata.resource_version
    for name in ("a", "b", "c"):
        core.create_namespaced_pod("default", pod(name))
    k8s.faults.watch_drop_after = 2
    seen = []
    with pytest.raises(urllib3.exceptions.ProtocolError):
        for event in Watch().stream(core.list_namespaced_pod, "default", resource_version=rv,
                                    timeout_seconds=WAIT):
            seen.append(event["object"].metadata.name)
    assert seen == ["a", "b"]
    k8s.faults.watch_abort = False  # now the stream just ends, as a server timeout does
    ended = [e["object"].metadata.name for e in Watch().stream(
        core.list_namespaced_pod, "default", resource_version=rv, timeout_seconds=WAIT)]
    assert ended == ["a", "b"]


def test_drop_watches_breaks_open_watches_now(k8s, core):
    outcome: queue.Queue = queue.Queue()

    def consume() -> None:
        try:
            for _ in Watch().stream(core.list_namespaced_pod, "default", resource_version="1000000",
                                    timeout_seconds=WAIT):
                pass
            outcome.put("ended")
        except urllib3.exceptions.ProtocolError as e:
            outcome.put(e)
    thread = threading.Thread(target=consume, daemon=True)
    thread.start()
    k8s.wait_for_watches()
    k8s.drop_watches()
    thread.join(WAIT)
    assert isinstance(outcome.get_nowait(), urllib3.exceptions.ProtocolError)


# -- logs -------------------------------------------------------------------------------------

def test_pod_logs_tail_previous_and_container(k8s, core):
    core.create_namespaced_pod("default", pod("web", containers=("app", "sidecar")))
    k8s.set_log("default", "web", "one\ntwo\nthree\n", container="app")
    k8s.set_log("default", "web", "proxy up\n", container="sidecar")
    k8s.set_log("default", "web", "crashed\n", container="app", previous=True)
    assert core.read_namespaced_pod_log("web", "default", container="app") == "one\ntwo\nthree\n"
    assert core.read_namespaced_pod_log("web", "default", container="app", tail_lines=2) == "two\nthree\n"
    assert core.read_namespaced_pod_log("web", "default", container="sidecar") == "proxy up\n"
    assert core.read_namespaced_pod_log("web", "default", container="app", previous=True) == "crashed\n"
    with pytest.raises(ApiException) as e:
        core.read_namespaced_pod_log("web", "default")
    assert e.value.status == 400 and "choose one of: [app sidecar]" in status_of(e.value)["message"]
    with pytest.raises(ApiException) as e:
        core.read_namespaced_pod_log("web", "default", container="sidecar", previous=True)
    assert e.value.status == 400
    with pytest.raises(ApiException) as e:
        core.read_namespaced_pod_log("nope", "default")
    assert e.value.status == 404


def test_followed_logs_stream_lines_appended_later(k8s, core):
    core.create_namespaced_pod("default", pod("web"))
    k8s.set_log("default", "web", "boot\n")
    got: queue.Queue = queue.Queue()

    def follow() -> None:
        for line in Watch().stream(core.read_namespaced_pod_log, name="web", namespace="default",
                                   follow=True):
            got.put(line)
        got.put(None)  # the stream ended
    thread = threading.Thread(target=follow, daemon=True)
    thread.start()
    assert got.get(timeout=WAIT) == "boot"
    k8s.append_log("default", "web", "request 1\nrequest 2\n")
    assert [got.get(timeout=WAIT), got.get(timeout=WAIT)] == ["request 1", "request 2"]
    k8s.end_log("default", "web")
    assert got.get(timeout=WAIT) is None
    thread.join(WAIT)


# -- scale ------------------------------------------------------------------------------------

def test_deployment_and_statefulset_scale(apps):
    apps.create_namespaced_deployment("default", deployment("web", replicas=2))
    scale = apps.read_namespaced_deployment_scale("web", "default")
    assert (scale.spec.replicas, scale.status.selector) == (2, "app=web")
    scaled = apps.patch_namespaced_deployment_scale("web", "default", {"spec": {"replicas": 5}})
    assert scaled.spec.replicas == 5
    assert apps.read_namespaced_deployment("web", "default").spec.replicas == 5
    scale = apps.read_namespaced_deployment_scale("web", "default")
    scale.spec.replicas = 0
    apps.replace_namespaced_deployment_scale("web", "default", scale)
    assert apps.read_namespaced_deployment("web", "default").spec.replicas == 0
    scale.spec.replicas = 3  # stale resourceVersion
    with pytest.raises(ApiException) as e:
        apps.replace_namespaced_deployment_scale("web", "default", scale)
    assert status_of(e.value)["reason"] == "Conflict"
    with pytest.raises(ApiException) as e:
        apps.patch_namespaced_deployment_scale("web", "default", {"spec": {"replicas": -1}})
    assert (e.value.status, status_of(e.value)["reason"]) == (422, "Invalid")
    apps.create_namespaced_stateful_set("default", {"metadata": {"name": "db"},
                                                    "spec": deployment("db")["spec"]})
    apps.patch_namespaced_stateful_set_scale("db", "default", {"spec": {"replicas": 3}})
    assert apps.read_namespaced_stateful_set("db", "default").spec.replicas == 3


# -- RBAC -------------------------------------------------------------------------------------

def review(client, verb: str, resource: str, subresource: str = "", namespace: str = "default") -> bool:
    answer = kubernetes.client.AuthorizationV1Api(client).create_self_subject_access_review({
        "spec": {"resourceAttributes": {"namespace": namespace, "verb": verb, "resource": resource,
                                        "subresource": subresource}}})
    return answer.status.allowed


def test_access_reviews_and_forbidden_verbs(k8s, core):
    core.create_namespaced_pod("default", pod("web"))
    k8s.set_log("default", "web", "hello\n")
    k8s.add_token("viewer", user="viewer", rules={"pods": ["get", "list", "watch"], "pods/log": ["get"]})
    with k8s.api_client("viewer") as client:
        assert review(client, "list", "pods") and review(client, "get", "pods", "log")
        assert not review(client, "delete", "pods") and not review(client, "list", "secrets")
        viewer = kubernetes.client.CoreV1Api(client)
        assert names(viewer.list_namespaced_pod("default").items) == ["web"]
        assert viewer.read_namespaced_pod_log("web", "default") == "hello\n"
        with pytest.raises(ApiException) as e:
            viewer.delete_namespaced_pod("web", "default")
        body = status_of(e.value)
        assert (e.value.status, body["reason"]) == (403, "Forbidden")
        assert body["message"] == ('pods "web" is forbidden: User "viewer" cannot delete resource "pods" '
                                   'in API group "" in the namespace "default"')
        with pytest.raises(ApiException) as e:
            viewer.list_namespaced_secret("default")
        assert e.value.status == 403
    assert names(core.list_namespaced_pod("default").items) == ["web"]  # nothing was deleted
    with k8s.api_client() as admin:
        assert review(admin, "delete", "secrets")


# -- faults -----------------------------------------------------------------------------------

def test_unavailable_slow_and_refused_token(k8s, core):
    k8s.faults.fail(503, times=2)
    for _ in range(2):
        with pytest.raises(ApiException) as e:
            core.list_namespaced_pod("default")
        assert (e.value.status, status_of(e.value)["reason"]) == (503, "ServiceUnavailable")
    assert core.list_namespaced_pod("default").items == []
    k8s.faults.fail(503, only="/configmaps")
    assert core.list_namespaced_pod("default").items == []
    with pytest.raises(ApiException):
        core.list_namespaced_config_map("default")
    k8s.faults.clear()
    k8s.faults.delay = 5
    with pytest.raises(urllib3.exceptions.MaxRetryError):  # the client's own read timeout
        core.list_namespaced_pod("default", _request_timeout=0.2)
    k8s.faults.delay = 0
    k8s.add_token("short-lived")
    with k8s.api_client("short-lived") as client:
        mine = kubernetes.client.CoreV1Api(client)
        assert mine.list_namespaced_pod("default").items == []
        k8s.revoke_token("short-lived")
        with pytest.raises(ApiException) as e:
            mine.list_namespaced_pod("default")
        assert (e.value.status, status_of(e.value)["reason"]) == (401, "Unauthorized")


def test_a_stopped_server_refuses_then_comes_back_with_its_state(k8s, core):
    core.create_namespaced_pod("default", pod("survivor"))
    k8s.stop()
    with pytest.raises(urllib3.exceptions.MaxRetryError):
        core.list_namespaced_pod("default", _request_timeout=5)
    k8s.start()
    assert names(core.list_namespaced_pod("default").items) == ["survivor"]


# -- kubectl ----------------------------------------------------------------------------------

MANIFEST = """
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: nginx:IMAGE
        ports: [{containerPort: 80}]
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: web-config}
data: {level: info}
"""


def test_kubectl_get_pods_json(k8s, core):
    core.create_namespaced_pod("default", pod("web-1", {"app": "web"}))
    core.create_namespaced_pod("default", pod("web-2"))
    out = json.loads(k8s.kubectl("get", "pods", "-n", "default", "-o", "json").stdout)
    assert [i["metadata"]["name"] for i in out["items"]] == ["web-1", "web-2"]
    assert out["items"][0]["metadata"]["labels"] == {"app": "web"}
    table = k8s.kubectl("get", "pods", "-n", "default", "-l", "app=web").stdout
    assert table.split()[:6] == ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "web-1"]


def test_kubectl_apply_and_scale(k8s, apps, core, tmp_path):
    manifest = tmp_path / "manifest.yaml"
    manifest.write_text(MANIFEST.replace("IMAGE", "1"))
    out = k8s.kubectl("apply", "--validate=false", "-f", str(manifest)).stdout
    assert "deployment.apps/web created" in out and "service/web created" in out
    web = apps.read_namespaced_deployment("web", "default")
    assert web.spec.template.spec.containers[0].image == "nginx:1"
    assert "kubectl.kubernetes.io/last-applied-configuration" in web.metadata.annotations
    assert core.read_namespaced_service("web", "default").spec.cluster_ip
    again = k8s.kubectl("apply", "--validate=false", "-f", str(manifest)).stdout
    assert "deployment.apps/web unchanged" in again
    manifest.write_text(MANIFEST.replace("IMAGE", "2"))
    assert "deployment.apps/web configured" in k8s.kubectl("apply", "--validate=false", "-f",
                                                           str(manifest)).stdout
    web = apps.read_namespaced_deployment("web", "default")
    container = web.spec.template.spec.containers[0]
    assert (container.image, container.ports[0].container_port, web.metadata.generation) == ("nginx:2", 80, 2)
    assert "deployment.apps/web scaled" in k8s.kubectl("scale", "deploy/web", "--replicas=3").stdout
    assert apps.read_namespaced_deployment("web", "default").spec.replicas == 3
    k8s.kubectl("delete", "configmap", "web-config")
    assert core.list_namespaced_config_map("default").items == []


def test_kubectl_reports_forbidden_and_unauthorized(k8s):
    k8s.add_token("reader", user="reader", rules={"pods": ["list"]})
    assert k8s.kubectl("get", "pods", token="reader").returncode == 0
    refused = k8s.kubectl("delete", "pod", "x", token="reader", check=False)
    assert refused.returncode != 0 and 'User "reader" cannot delete resource "pods"' in refused.stderr
    assert "yes" not in k8s.kubectl("auth", "can-i", "delete", "pods", token="reader", check=False).stdout
    assert k8s.kubectl("auth", "can-i", "list", "pods", token="reader").stdout.strip() == "yes"
    k8s.revoke_token("reader")
    gone = k8s.kubectl("get", "pods", token="reader", check=False)
    assert gone.returncode != 0 and "You must be logged in to the server (Unauthorized)" in gone.stderr


def test_status_changes_only_through_the_status_subresource(apps):
    apps.create_namespaced_deployment("default", {**deployment("web"), "status": {"replicas": 9}})
    web = apps.read_namespaced_deployment("web", "default")
    assert web.status is None or web.status.replicas is None  # status is not taken on create
    web.status = kubernetes.client.V1DeploymentStatus(replicas=7)
    web = apps.replace_namespaced_deployment("web", "default", web)
    assert web.status is None or web.status.replicas is None  # nor on an update of the object
    done = apps.patch_namespaced_deployment_status("web", "default", {"status": {"readyReplicas": 1,
                                                                                 "replicas": 1}})
    assert (done.status.replicas, done.status.ready_replicas, done.metadata.generation) == (1, 1, 1)


def test_a_malformed_custom_resource_definition_is_invalid(client):
    crds = kubernetes.client.ApiextensionsV1Api(client)
    with pytest.raises(ApiException) as e:
        crds.create_custom_resource_definition({
            "metadata": {"name": "things.example.com"},
            "spec": {"group": "example.com", "scope": "Namespaced", "versions": [],
                     "names": {"plural": "things", "kind": "Thing"}}})
    assert (e.value.status, status_of(e.value)["reason"]) == (422, "Invalid")


def test_a_followed_log_ends_when_its_pod_is_deleted(k8s, core):
    core.create_namespaced_pod("default", pod("web"))
    k8s.set_log("default", "web", "first\n")
    lines: list[str] = []
    follower = threading.Thread(target=lambda: lines.extend(Watch().stream(
        core.read_namespaced_pod_log, name="web", namespace="default", follow=True)), daemon=True)
    follower.start()
    k8s.wait_for_log_followers()
    core.delete_namespaced_pod("web", "default")
    follower.join(WAIT)
    assert not follower.is_alive() and lines == ["first"]


def test_the_fake_as_its_own_process_stopped_by_pid(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).parents[1] / "k8sserver.py"
    process = subprocess.Popen([sys.executable, str(script), "--pods", "1000"], stdout=subprocess.PIPE,
                               text=True, start_new_session=True)
    try:
        started = json.loads(process.stdout.readline())  # type: ignore[union-attr]
        out = subprocess.run(["kubectl", "--kubeconfig", started["kubeconfig"], "--cache-dir",
                              str(tmp_path), "get", "pods", "-o", "name"],
                             capture_output=True, text=True, timeout=60, check=True).stdout.split()
        assert len(out) == 1000 and out[0] == "pod/pod-000000"
    finally:
        os.kill(process.pid, signal.SIGTERM)
        assert process.wait(WAIT) == 0
    assert not Path(started["kubeconfig"]).exists()  # its directory is cleaned up


def test_kubectl_get_watch_sees_live_changes(k8s, core):
    import subprocess

    from k8sserver import KUBECTL

    core.create_namespaced_pod("default", pod("a"))
    watcher = subprocess.Popen([KUBECTL, "--kubeconfig", str(k8s.kubeconfig), "--cache-dir",
                                str(k8s.directory / "cache"), "get", "pods", "-w", "--output-watch-events"],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line.split()[:2]) for line in watcher.stdout],  # type: ignore[union-attr]
                     daemon=True).start()
    try:
        assert lines.get(timeout=WAIT) == ["EVENT", "NAME"]
        assert lines.get(timeout=WAIT) == ["ADDED", "a"]
        k8s.wait_for_watches()
        core.create_namespaced_pod("default", pod("b"))
        core.delete_namespaced_pod("a", "default")
        assert [lines.get(timeout=WAIT), lines.get(timeout=WAIT)] == [["ADDED", "b"], ["DELETED", "a"]]
    finally:
        watcher.kill()
        watcher.wait(WAIT)
