"""The cluster screen against the fake API server of tests/k8sserver.py: the pods of a mounted
cluster with kubectl's columns, kinds by alias, filters, namespaces, live updates through
watch (and reconnecting when it breaks), describe/YAML/logs, delete, scale, read-only, and a
cluster that does not answer. kubectl checks what the screen changed. Screenshots
are taken once the app is idle: the columns take their widths then."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator

import pytest
from k8sserver import FakeKubeServer
from textual.widgets import Input
from tuikit import SIZE, run, screenshot, settle, until

from realnet.commands.session import Session
from realnet.tui.app import RealnetApp
from realnet.tui.cluster.model import Row, Rows, parse_filter
from realnet.tui.cluster.screen import ClusterScreen
from realnet.tui.cluster.views import LogView, ScaleQuestion, TextView
from realnet.tui.confirm import ConfirmDelete

CLUSTER = "/clusters/dev"


def pod(name: str, *, namespace: str = "default", app: str = "web", restarts: int = 0,
        node: str = "node-a") -> dict:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": namespace, "labels": {"app": app}},
            "spec": {"containers": [{"name": "main", "image": "nginx"}], "nodeName": node},
            "status": {"phase": "Running", "containerStatuses": [{"name": "main", "ready": True,
                                                                  "restartCount": restarts}]}}


DEPLOYMENT = {"apiVersion": "apps/v1", "kind": "Deployment",
              "metadata": {"name": "web", "namespace": "default"},
              "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                       "template": {"metadata": {"labels": {"app": "web"}},
                                    "spec": {"containers": [{"name": "main", "image": "nginx"}]}}},
              "status": {"readyReplicas": 2, "updatedReplicas": 2, "availableReplicas": 2}}
SECRET = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db", "namespace": "default"},
          "data": {"password": "aHVudGVyMg=="}}


@pytest.fixture
def k8s() -> Iterator[FakeKubeServer]:
    with FakeKubeServer() as server:
        server.load(pod("web-1", restarts=3))
        server.load(pod("web-2"))
        server.load(pod("api-1", app="api", node="node-b"))
        server.load(pod("sys-1", namespace="kube-system", app="dns"))
        server.load(DEPLOYMENT)
        server.load(SECRET)
        yield server


@pytest.fixture
def session(k8s: FakeKubeServer) -> Iterator[Session]:
    session = Session()
    session.context.create(CLUSTER, "KubernetesCluster", {"kubeconfig": str(k8s.kubeconfig)}, parents=True)
    yield session
    session.close()


def cluster_screen(app: RealnetApp) -> ClusterScreen:
    screen = app.screen
    assert isinstance(screen, ClusterScreen), screen
    return screen


def shown(app: RealnetApp) -> list[str]:
    screen = app.screen
    return screen.shown_names() if isinstance(screen, ClusterScreen) else []


def kubectl_pods(k8s: FakeKubeServer, namespace: str = "default") -> list[str]:
    done = k8s.kubectl("get", "pods", "-n", namespace, "-o", "json")
    return sorted(p["metadata"]["name"] for p in json.loads(done.stdout)["items"])


async def open_cluster(pilot, app: RealnetApp, want: list[str] | None = None) -> ClusterScreen:
    await until(pilot, lambda: isinstance(app.screen, ClusterScreen), "the cluster screen opens")
    screen = cluster_screen(app)
    await until(pilot, lambda: screen.kind is not None or screen.message_text, "the first page")
    if want is not None:
        await until(pilot, lambda: shown(app) == want, f"rows {want}")
    return screen


async def type_text(pilot, text: str) -> None:
    for char in text:
        await pilot.press(char if char.isalnum() else {"-": "minus", "=": "equals_sign", " ": "space",
                                                        "!": "exclamation_mark", "^": "circumflex_accent",
                                                        ".": "full_stop", ":": "colon", "/": "slash"}[char])


def test_the_pods_of_a_mounted_cluster_show_with_kubectls_columns(session):
    async def scenario():
        app = RealnetApp(session, start=CLUSTER)
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_cluster(pilot, app, ["api-1", "web-1", "web-2"])
            table = screen.table
            assert [str(c.label) for c in table.columns.values()] == \
                ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "NODE"]
            assert table.get_row("default/web-1")[:4] == ["web-1", "1/1", "Running", "3"]
            assert table.get_row("default/api-1")[5] == "node-b"
            assert "live" in screen.status_text
            await settle(pilot)
            screenshot(app, "cluster-pods")

    run(scenario)


def test_enter_on_a_cluster_folder_opens_the_screen_and_esc_goes_back(session):
    async def scenario():
        app = RealnetApp(session, start="/clusters")
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            assert not isinstance(app.screen, ClusterScreen)
            await until(pilot, lambda: [i.name for i in app.table.items] == ["dev"], "the mount row")
            app.table.focus()
            await pilot.press("enter")
            await open_cluster(pilot, app, ["api-1", "web-1", "web-2"])
            await pilot.press("escape")
            await until(pilot, lambda: not isinstance(app.screen, ClusterScreen), "back to the tree")
            assert app.table.path == CLUSTER
            await until(pilot, lambda: not any(t.name.startswith("watch-") for t in threading.enumerate()),
                        "the watch ends with the screen")

    run(scenario)


def test_colon_jumps_to_a_kind_by_alias(k8s, session):
    k8s.add_crd("example.com", "Widget", "widgets", short_names=("wdg",))
    k8s.load({"apiVersion": "example.com/v1", "kind": "Widget",
              "metadata": {"name": "w1", "namespace": "default"}, "spec": {"size": 3}})
    async def scenario():
        app = RealnetApp(session, start=CLUSTER)
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_cluster(pilot, app, ["api-1", "web-1", "web-2"])
            await pilot.press("colon")
            await type_text(pilot, "deploy")
            await pilot.press("enter")
            await until(pilot, lambda: screen.kind is not None and screen.kind.plural == "deployments",
                        "deployments")
            await until(pilot, lambda: shown(app) == ["web"], "the deployment row")
            assert [str(c.label) for c in screen.table.columns.values()] == \
                ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
            assert screen.table.get_row("default/web")[1] == "2/2"
            await settle(pilot)
            screenshot(app, "cluster-deployments")
            await pilot.press("colon")
            await type_text(pilot, "nosuchkind")
            await pilot.press("enter")
            await settle(pilot)
            assert screen.kind.plural == "deployments" and shown(app) == ["web"]  # stays
            await pilot.press("colon")
            await type_text(pilot, "secret")
            await pilot.press("enter")
            await until(pilot, lambda: shown(app) == ["db"], "the secret by its singular")
            await pilot.press("colon")
            await type_text(pilot, "wdg")
            await pilot.press("enter")
            await until(pilot, lambda: shown(app) == ["w1"], "a custom resource by its short name")
            assert screen.kind.group_version == "example.com/v1"

    run(scenario)


def test_the_filter_takes_a_regex_its_inverse_and_a_label_selector(session, k8s):
    async def scenario():
        app = RealnetApp(session, start=CLUSTER)
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_cluster(pilot, app, ["api-1", "web-1", "web-2"])
            await pilot.press("slash")
            await type_text(pilot, "^web")
            await pilot.press("enter")
            await until(pilot, lambda: shown(app) == ["web-1", "web-2"], "the regex")
            await pilot.press("slash")
            prompt = screen.query_one("#cluster-prompt", Input)
            prompt.value = "!^web"
            await pilot.press("enter")
            await until(pilot, lambda: shown(app) == ["api-1"], "the inverse")
            await pilot.press("slash")
            prompt.value = "-l app=web"
            await pilot.press("enter")
            await until(pilot, lambda: shown(app) == ["web-1", "web-2"], "the label selector")
            assert any("labelSelector=app%3Dweb" in path or "labelSelector=app=web" in path
                       for _, path in k8s.requests), "the selector went to the API"
            await settle(pilot)
            screenshot(app, "cluster-filter-selector")
            await pilot.press("escape")  # clears the filter
            await until(pilot, lambda: shown(app) == ["api-1", "web-1", "web-2"], "no filter")

    run(scenario)


def test_filter_parsing():
    assert parse_filter("web").matches("web-1") and not parse_filter("web").matches("api-1")
    assert parse_filter("!web").matches("api-1") and not parse_filter("!web").matches("web-1")
    f = parse_filter("-l app=web,tier!=db ^w")
    assert f.selector == "app=web,tier!=db" and f.matches("web") and not f.matches("api")
    with pytest.raises(Exception, match="regular expression"):
        parse_filter("(")


def test_watch_events_on_the_loaded_rows():
    def row(name: str) -> Row:
        return Row(f"default/{name}", "default", name, (name,))

    rows = Rows()
    rows.replace([row("b"), row("d")], complete=False)  # more pages follow
    assert rows.apply("ADDED", row("c")) == "added" and list(rows.rows) == ["default/b", "default/c", "default/d"]
    assert rows.apply("ADDED", row("z")) is None  # it comes with a later page
    assert rows.apply("MODIFIED", row("b")) == "changed"
    assert rows.apply("DELETED", row("c")) == "removed" and rows.apply("DELETED", row("c")) is None
    rows.complete = True
    assert rows.apply("ADDED", row("z")) == "added" and list(rows.rows)[-1] == "default/z"


def test_the_namespace_switcher_and_every_namespace(session):
    async def scenario():
        app = RealnetApp(session, start=CLUSTER)
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_cluster(pilot, app, ["api-1", "web-1", "web-2"])
            await pilot.press("n")
            await until(pilot, lambda: "kube-system" in shown(app), "the namespaces")
            assert shown(app)[0] == "all"
            table = screen.table
            table.move_cursor(row=shown(app).index("kube-system"))
            await pilot.press("enter")
            await until(pilot, lambda: shown(app) == ["sys-1"], "the pods of kube-system")
            assert screen.namespace == "kube-system" and screen.kind.plural == "pods"
            await pilot.press("colon")
            await type_text(pilot, "ns")
            await pilot.press("enter")
            await until(pilot, lambda: shown(app)[:1] == ["all"] and screen.kind.plural == "namespaces",
                        "the namespaces again")
            table.move_cursor(row=0)
            await pilot.press("enter")
            await until(pilot, lambda: shown(app) == ["api-1", "web-1", "web-2", "sys-1"], "every namespace")
            assert [str(c.label) for c in table.columns.values()][:2] == ["NAMESPACE", "NAME"]
            await settle(pilot)
            screenshot(app, "cluster-all-namespaces")

    run(scenario)


def test_watch_brings_new_and_deleted_pods_without_a_key(session, k8s):
    async def scenario():
        app = RealnetApp(session, start=CLUSTER)
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_cluster(pilot, app, ["api-1", "web-1", "web-2"])
            listed = sum(1 for method, path in k8s.requests if method == "GET" and path.startswith(
                "/api/v1/namespaces/default/pods?") and "watch" not in path)
            k8s.load(pod("web-0"))
            await until(pilot, lambda: shown(app) == ["api-1", "web-0", "web-1", "web-2"], "the new pod")
            k8s.kubectl("apply", "--validate=false", "-f", "-", input=json.dumps(pod("zz-9")))
            await until(pilot, lambda: shown(app)[-1] == "zz-9", "the pod kubectl created")
            k8s.set_status("v1", "Pod", "web-1", {"phase": "Failed"}, namespace="default")
            await until(pilot, lambda: screen.table.get_row("default/web-1")[2] == "Failed", "the change")
            k8s.kubectl("delete", "pod", "web-2", "-n", "default")
            await until(pilot, lambda: "web-2" not in shown(app), "the deleted pod goes")
            relisted = sum(1 for method, path in k8s.requests if method == "GET" and path.startswith(
                "/api/v1/namespaces/default/pods?") and "watch" not in path)
            assert relisted == listed, "changes came by watch, not by listing again"
            await settle(pilot)
            screenshot(app, "cluster-watch")

    run(scenario)


def test_a_dropped_watch_reconnects_and_says_so(session, k8s):
    async def scenario():
        app = RealnetApp(session, start=CLUSTER)
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_cluster(pilot, app, ["api-1", "web-1", "web-2"])
            await until(pilot, lambda: any("watch=true" in p for _, p in k8s.requests), "the watch")
            k8s.drop_watches()
            await until(pilot, lambda: "reconnected" in screen.status_text, "the reconnect")
            k8s.load(pod("web-3"))
            await until(pilot, lambda: "web-3" in shown(app), "changes after the reconnect")
            await settle(pilot)
            screenshot(app, "cluster-reconnected")

    run(scenario)


def test_describe_yaml_and_logs_views(session, k8s):
    k8s.set_log("default", "web-1", "line one\nline two\n")

    async def scenario():
        app = RealnetApp(session, start=CLUSTER)
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_cluster(pilot, app, ["api-1", "web-1", "web-2"])
            screen.table.move_cursor(row=1)
            await pilot.press("d")
            await until(pilot, lambda: isinstance(app.screen, TextView), "describe")
            text = app.screen.text
            assert "Name:         web-1" in text and "Labels:       app=web" in text and "Events:" in text
            await settle(pilot)
            screenshot(app, "cluster-describe")
            await pilot.press("escape")
            await until(pilot, lambda: app.screen is screen, "back")
            await pilot.press("y")
            await until(pilot, lambda: isinstance(app.screen, TextView), "yaml")
            assert "name: web-1" in app.screen.text and "nodeName: node-a" in app.screen.text
            await pilot.press("escape")
            await until(pilot, lambda: app.screen is screen, "back")
            await pilot.press("l")
            await until(pilot, lambda: isinstance(app.screen, LogView), "logs")
            logs = app.screen
            await until(pilot, lambda: logs.lines == ["line one", "line two"], "the tail")
            k8s.append_log("default", "web-1", "line three\n")
            await until(pilot, lambda: logs.lines[-1:] == ["line three"], "a followed line")
            await settle(pilot)
            screenshot(app, "cluster-logs")
            await pilot.press("escape")
            await until(pilot, lambda: app.screen is screen, "back")
            await until(pilot, lambda: not any(t.name == "pod-log" for t in threading.enumerate()),
                        "the log stops following")
            # A Secret's values stay redacted in the YAML view.
            await pilot.press("colon")
            await type_text(pilot, "secrets")
            await pilot.press("enter")
            await until(pilot, lambda: shown(app) == ["db"], "the secret")
            await pilot.press("y")
            await until(pilot, lambda: isinstance(app.screen, TextView), "the secret's yaml")
            assert "password: <redacted>" in app.screen.text and "aHVudGVyMg" not in app.screen.text

    run(scenario)


def test_delete_with_confirmation_scale_and_restart(session, k8s):
    async def scenario():
        app = RealnetApp(session, start=CLUSTER)
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_cluster(pilot, app, ["api-1", "web-1", "web-2"])
            screen.table.move_cursor(row=2)
            await pilot.press("ctrl+d")
            await until(pilot, lambda: isinstance(app.screen, ConfirmDelete), "the question")
            assert app.screen.path == f"{CLUSTER}/default/pods/web-2"
            await settle(pilot)
            screenshot(app, "cluster-delete-confirm")
            await pilot.press("y")
            await until(pilot, lambda: "web-2" not in shown(app), "the row goes")
            await until(pilot, lambda: any("deleted" in n.message for n in app._notifications), "the notice")
            assert kubectl_pods(k8s) == ["api-1", "web-1"]
            await pilot.press("colon")
            await type_text(pilot, "deploy")
            await pilot.press("enter")
            await until(pilot, lambda: shown(app) == ["web"], "the deployment")
            await pilot.press("s")
            await until(pilot, lambda: isinstance(app.screen, ScaleQuestion), "how many")
            await pilot.press("3", "enter")
            await until(pilot, lambda: k8s.kubectl("get", "deploy", "web", "-n", "default", "-o",
                                                  "jsonpath={.spec.replicas}").stdout == "3", "scaled")
            await pilot.press("r")
            await until(pilot, lambda: "restartedAt" in k8s.kubectl(
                "get", "deploy", "web", "-n", "default", "-o", "json").stdout, "restarted")

    run(scenario)


def test_read_only_hides_and_refuses_the_writes(session, k8s):
    async def scenario():
        app = RealnetApp(session, read_only=True, start=CLUSTER)
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_cluster(pilot, app, ["api-1", "web-1", "web-2"])
            assert screen.read_only
            for action in ("delete", "scale", "restart"):
                assert screen.check_action(action, ()) is False
            await pilot.press("ctrl+d")
            await pilot.press("r")
            await settle(pilot)
            assert app.screen is screen
            screen.action_delete()  # any other way in is refused too
            await settle(pilot)
            assert app.screen is screen
            assert kubectl_pods(k8s) == ["api-1", "web-1", "web-2"]
            await settle(pilot)
            screenshot(app, "cluster-read-only")

    run(scenario)


def test_an_unreachable_cluster_is_said_so_and_the_screen_stays_usable(session, k8s):
    k8s.faults.fail(503)

    async def scenario():
        app = RealnetApp(session, start=CLUSTER)
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_cluster(pilot, app)
            await until(pilot, lambda: "503" in screen.message_text, "the message")
            assert "Esc" in screen.message_text
            await settle(pilot)
            screenshot(app, "cluster-unreachable")
            k8s.faults.clear()
            await pilot.press("ctrl+r")
            await until(pilot, lambda: shown(app) == ["api-1", "web-1", "web-2"], "it answers again")
            assert not screen.message_text
            k8s.stop()
            await pilot.press("ctrl+r")
            await until(pilot, lambda: "cannot be reached" in screen.message_text, f"the server is gone {screen.message_text!r} {screen.status_text!r}")
            await pilot.press("escape")
            await until(pilot, lambda: not isinstance(app.screen, ClusterScreen), "back to the tree")

    run(scenario)


def test_keys_the_cluster_would_refuse_are_hidden(k8s):
    k8s.add_token("viewer", rules={"*": ["get", "list", "watch"], "deployments": ["get", "list", "watch",
                                                                                   "patch"]})
    config = k8s.write_kubeconfig(k8s.directory / "viewer.json", token="viewer")
    session = Session()
    session.context.create(CLUSTER, "KubernetesCluster", {"kubeconfig": str(config)}, parents=True)

    async def scenario():
        app = RealnetApp(session, start=CLUSTER)
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_cluster(pilot, app, ["api-1", "web-1", "web-2"])
            await until(pilot, lambda: screen.writes_allowed is not None, "the access review")
            assert screen.writes_allowed == frozenset()
            assert screen.check_action("delete", ()) is False
            await pilot.press("ctrl+d")
            await settle(pilot)
            assert app.screen is screen and kubectl_pods(k8s) == ["api-1", "web-1", "web-2"]
            await pilot.press("colon")
            await type_text(pilot, "deploy")
            await pilot.press("enter")
            await until(pilot, lambda: shown(app) == ["web"] and screen.writes_allowed is not None,
                        "the deployment and what may be done to it")
            assert screen.check_action("restart", ()) is True and screen.check_action("delete", ()) is False

    try:
        run(scenario)
    finally:
        session.close()
