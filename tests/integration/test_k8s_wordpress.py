"""WordPress multisite sites made from the tree in a namespace of a mounted cluster, against
the fake API server (tests/k8sserver.py), with kubectl as the independent check of what
Realnet created and removed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from k8sserver import FakeKubeServer

NAMESPACE = "web"
SITE = f"/clusters/dev/{NAMESPACE}/blog"
PLUGIN = Path(__file__).resolve().parents[2] / "deploy" / "wordpress" / "realnet" / "realnet.php"
#: What a site is made of: (kind, name), as kubectl lists them.
EXPECTED = {
    ("ConfigMap", "blog-site"), ("ConfigMap", "blog-plugins"), ("Secret", "blog-db"),
    ("Service", "blog-mysql"), ("StatefulSet", "blog-mysql"), ("PersistentVolumeClaim", "blog-content"),
    ("Deployment", "blog-wordpress"), ("Service", "blog-wordpress"), ("Ingress", "blog"),
    ("Job", "blog-install"),
}
KINDS = "configmaps,secrets,services,statefulsets,deployments,ingresses,jobs,persistentvolumeclaims"


@pytest.fixture
def k8s() -> Iterator[FakeKubeServer]:
    with FakeKubeServer() as server:
        server.load({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}})
        yield server


@pytest.fixture
def cluster(cli, k8s: FakeKubeServer) -> str:
    done = cli("create", "/clusters/dev", "--type", "KubernetesCluster", "--attr", f"kubeconfig={k8s.kubeconfig}")
    assert done.code == 0, done.err
    return "/clusters/dev"


def objects_of(k8s: FakeKubeServer, site: str = "blog") -> list[dict]:
    listed = k8s.kubectl("get", KINDS, "-n", NAMESPACE, "-l", f"realnet.io/wordpress-site={site}", "-o", "json")
    return json.loads(listed.stdout)["items"]


def kinds_and_names(k8s: FakeKubeServer, site: str = "blog") -> set[tuple[str, str]]:
    return {(o["kind"], o["metadata"]["name"]) for o in objects_of(k8s, site)}


def make_site(cli, *extra: str, path: str = SITE):
    return cli("create", path, "--type", "WordPressSite", "--attr", "host=blog.example.com",
               "--attr", "multisite=subdomain", "--attr", 'plugins=["realnet"]', *extra)


def test_a_site_is_exactly_its_objects_and_says_where_it_stands(cli, cluster, k8s):
    done = make_site(cli)
    assert done.code == 0, done.err
    assert kinds_and_names(k8s) == EXPECTED
    objects = objects_of(k8s)
    # the plugin travels in a ConfigMap, byte for byte the one in the repository
    (plugins,) = [o for o in objects if o["metadata"]["name"] == "blog-plugins"]
    assert plugins["data"]["realnet.php"] == PLUGIN.read_text(encoding="utf-8")
    # the generated credentials are in the Secret and nowhere in what the tree shows
    secret = k8s.get("v1", "Secret", "blog-db", NAMESPACE)
    passwords = {k: v for k, v in (secret.get("stringData") or secret.get("data") or {}).items()
                 if "PASSWORD" in k}
    assert len(passwords) >= 2
    ingress = k8s.get("networking.k8s.io/v1", "Ingress", "blog", NAMESPACE)
    assert sorted(r["host"] for r in ingress["spec"]["rules"]) == ["*.blog.example.com", "blog.example.com"]

    shown = cli("get", SITE, "-o", "json")
    assert shown.code == 0, shown.err
    for value in passwords.values():
        assert value not in shown.out
    site = json.loads(shown.out)
    assert site["type"] == "WordPressSite"
    attributes = site["attributes"]
    assert attributes["host"] == "blog.example.com" and attributes["plugins"] == ["realnet"]
    assert attributes["url"] == "http://blog.example.com/"
    assert (attributes["database"], attributes["wordpress"]) == ("starting", "starting")
    assert attributes["network"] == "installing the network"
    assert "blog" in cli("ls", f"/clusters/dev/{NAMESPACE}").out.split()

    # the controllers do their work: the status follows the cluster
    k8s.set_status("apps/v1", "StatefulSet", "blog-mysql", {"readyReplicas": 1}, NAMESPACE)
    k8s.set_status("batch/v1", "Job", "blog-install", {"succeeded": 1}, NAMESPACE)
    k8s.set_status("apps/v1", "Deployment", "blog-wordpress", {"availableReplicas": 1}, NAMESPACE)
    status = cli("get", f"{SITE}/status").out.strip()
    assert status == ("database ready, network installed, plugins active, wordpress ready, "
                      "http://blog.example.com/")


def test_tls_makes_https_urls_and_subdirectory_has_no_wildcard(cli, cluster, k8s):
    done = cli("create", SITE, "--type", "WordPressSite", "--attr", "host=blog.example.com",
               "--attr", "multisite=subdirectory", "--attr", "tls_secret=blog-tls")
    assert done.code == 0, done.err
    ingress = k8s.get("networking.k8s.io/v1", "Ingress", "blog", NAMESPACE)
    assert [r["host"] for r in ingress["spec"]["rules"]] == ["blog.example.com"]
    assert ingress["spec"]["tls"][0]["secretName"] == "blog-tls"
    assert json.loads(cli("get", SITE, "-o", "json").out)["attributes"]["url"] == "https://blog.example.com/"


def test_rm_r_removes_everything_but_the_data_unless_purged(cli, cluster, k8s):
    assert make_site(cli).code == 0
    refused = cli("rm", SITE)
    assert refused.code == 1 and "rm -r removes them" in refused.err and refused.err.count("\n") == 1
    assert kinds_and_names(k8s) == EXPECTED
    unasked = cli("rm", "-r", SITE)  # no terminal to ask at
    assert unasked.code == 1 and unasked.err == \
        f"realnet: {SITE} (a WordPress site: its workloads (its data volumes stay)): needs confirmation and there " \
        "is no terminal; pass --force\n"
    assert kinds_and_names(k8s) == EXPECTED
    done = cli("rm", "-r", "-f", SITE)
    assert done.code == 0, done.err
    # the data stays: the volume, and the credentials its database was made with
    assert kinds_and_names(k8s) == {("PersistentVolumeClaim", "blog-content"), ("Secret", "blog-db")}
    kept = k8s.get("v1", "Secret", "blog-db", NAMESPACE)
    assert cli("get", SITE).code == 1
    assert "blog" not in cli("ls", f"/clusters/dev/{NAMESPACE}").out.split()

    # made again over the kept data, with the same credentials; then removed with its data
    assert make_site(cli).code == 0
    assert kinds_and_names(k8s) == EXPECTED
    assert k8s.get("v1", "Secret", "blog-db", NAMESPACE)["metadata"]["uid"] == kept["metadata"]["uid"]
    usage = cli("rm", "--purge-data", SITE)
    assert usage.code == 2 and "--purge-data: only with -r" in usage.err
    unasked = cli("rm", "-r", "--purge-data", SITE)
    assert unasked.code == 1 and "its data volumes" in unasked.err and "pass --force" in unasked.err
    assert kinds_and_names(k8s) == EXPECTED
    purged = cli("rm", "-r", "-f", "--purge-data", SITE)
    assert purged.code == 0, purged.err
    assert kinds_and_names(k8s) == set()
    not_a_site = cli("rm", "-r", "-f", "--purge-data", "/clusters/dev/default/pods")
    assert not_a_site.code == 1 and not_a_site.err.count("\n") == 1


@pytest.mark.parametrize("attribute,fragment", [
    ("host=localhost", "host"),
    ("host=10.0.0.1", "host"),
    ("multisite=both", "multisite"),
    ('plugins=["../x"]', "plugin"),
    ("database_size=5 GB", "database_size"),
])
def test_bad_attributes_are_one_line_and_make_nothing(cli, cluster, k8s, attribute, fragment):
    done = cli("create", SITE, "--type", "WordPressSite", "--attr", "host=blog.example.com",
               "--attr", attribute)
    assert done.code == 1
    assert done.err.count("\n") == 1 and fragment in done.err and "Traceback" not in done.err
    assert kinds_and_names(k8s) == set()


def test_a_refused_object_takes_back_what_was_made(cli, cluster, k8s):
    k8s.faults.fail(403, only="/ingresses")
    done = make_site(cli)
    assert done.code == 1 and done.err.count("\n") == 1
    k8s.faults.clear()
    assert kinds_and_names(k8s) == set()  # nothing half made
    assert cli("get", SITE).code == 1


def test_a_second_site_of_the_same_name_is_refused(cli, cluster, k8s):
    assert make_site(cli).code == 0
    again = make_site(cli)
    assert again.code == 1 and "already exists" in again.err
    assert kinds_and_names(k8s) == EXPECTED


def test_a_site_cannot_take_a_kinds_name_or_live_outside_a_namespace(cli, cluster, k8s):
    kind_name = make_site(cli, path=f"/clusters/dev/{NAMESPACE}/pods")
    assert kind_name.code == 1 and kind_name.err.count("\n") == 1
    outside = make_site(cli, path="/clusters/dev/_cluster/blog")
    assert outside.code == 1 and outside.err.count("\n") == 1
    assert kinds_and_names(k8s) == set()
