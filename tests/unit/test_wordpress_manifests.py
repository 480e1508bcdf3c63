"""realnet/providers/kubernetes/wordpress/: the objects of a WordPress multisite site pass the
published Kubernetes schemas in strict mode, are exactly the expected ones, fit together (names,
selectors, volumes, the Secret's keys), keep the multisite constants consistent between the site
and the install Job, keep passwords out of scripts, and a bad spec is refused in one line."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest

from realnet.core.errors import ValidationError
from realnet.providers.kubernetes.wordpress import (
    LABEL,
    MULTISITE,
    PART,
    SiteSpec,
    check_spec,
    new_password,
    purgeable,
    site_objects,
    site_url,
    spec_from_record,
)

K8S_VERSION = "1.32.0"  # as tests/integration/test_deploy_manifests.py
PLUGIN_PHP = "<?php\n/**\n * Plugin Name: Realnet\n */\n"
DEFINE = re.compile(r"define\(\s*'([A-Z_]+)'\s*,\s*('(?:[^'\\]|\\.)*'|true|false|[0-9]+)\s*\);")


def spec(**changes: Any) -> SiteSpec:
    return replace(SiteSpec(name="blog", namespace="web", host="blog.example.com"), **changes)


def passwords() -> dict[str, str]:
    # Distinct and recognisable, so that a leak anywhere else is found by a search.
    return {"database_password": "db-Pa55-" + new_password(), "root_password": "root-Pa55-" + new_password(),
            "admin_password": "admin-Pa55-" + new_password()}


def objects(site: SiteSpec, secrets: dict[str, str] | None = None) -> list[dict[str, Any]]:
    return site_objects(site, **(secrets or passwords()), plugin_php=PLUGIN_PHP)


def one(found: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    matches = [o for o in found if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(matches) == 1, f"{kind}/{name}: {len(matches)}"
    return matches[0]


def pod(workload: dict[str, Any]) -> dict[str, Any]:
    return workload["spec"]["template"]["spec"]


def container(workload: dict[str, Any], name: str) -> dict[str, Any]:
    return next(c for c in pod(workload)["containers"] if c["name"] == name)


def env(c: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["name"]: e for e in c["env"]}


def defines(php: str) -> dict[str, str]:
    found = dict(DEFINE.findall(php))
    # every statement is a define we understand: nothing slipped past the regex
    assert len(found) == php.count("define("), php
    return found


def php_value(literal: str) -> str:
    assert literal.startswith("'") and literal.endswith("'"), literal
    return re.sub(r"\\(.)", r"\1", literal[1:-1])


SITES = {
    "subdomain": spec(),
    "subdirectory": spec(multisite="subdirectory"),
    "tls": spec(tls_secret="blog-tls", ingress_class="nginx", storage_class="fast",
                realnet_url="http://realnet.realnet.svc:8080", realnet_token_secret="blog-realnet",
                plugins=("realnet", "akismet"), title="Ann's \"blog\" $(id) `x` \\", admin_email="me@example.org"),
    "tls-subdirectory": spec(multisite="subdirectory", tls_secret="blog-tls"),
}


# -- the schema, and the objects --------------------------------------------------------------

@pytest.mark.parametrize("which", sorted(SITES))
def test_every_object_passes_the_schema_in_strict_mode(which):
    for obj in objects(SITES[which]):
        kubernetes_validate.validate(obj, K8S_VERSION, strict=True)


@pytest.mark.parametrize("multisite", MULTISITE)
def test_exactly_the_expected_objects_in_apply_order(multisite):
    found = objects(spec(multisite=multisite))
    assert [(o["kind"], o["metadata"]["name"]) for o in found] == [
        ("ConfigMap", "blog-site"),
        ("Secret", "blog-db"),
        ("Service", "blog-mysql"),
        ("StatefulSet", "blog-mysql"),
        ("PersistentVolumeClaim", "blog-content"),
        ("ConfigMap", "blog-plugins"),
        ("Deployment", "blog-wordpress"),
        ("Service", "blog-wordpress"),
        ("Ingress", "blog"),
        ("Job", "blog-install"),
    ]
    parts = {(o["kind"], o["metadata"]["name"]): o["metadata"]["labels"][PART] for o in found}
    assert parts[("ConfigMap", "blog-site")] == "site"
    assert parts[("ConfigMap", "blog-plugins")] == "plugins"
    assert parts[("Job", "blog-install")] == "install"
    assert parts[("StatefulSet", "blog-mysql")] == parts[("Secret", "blog-db")] == "database"
    assert parts[("Deployment", "blog-wordpress")] == "wordpress"


@pytest.mark.parametrize("which", sorted(SITES))
def test_every_object_carries_the_site_label_and_namespace(which):
    site = SITES[which]
    for obj in objects(site):
        metadata = obj["metadata"]
        assert metadata["namespace"] == "web"
        assert metadata["labels"][LABEL] == "blog"
        assert metadata["labels"]["app.kubernetes.io/name"] == "wordpress"
        assert metadata["labels"]["app.kubernetes.io/instance"] == "blog"
        assert metadata["labels"]["app.kubernetes.io/managed-by"] == "realnet"
        assert metadata["labels"][PART] in {"site", "database", "wordpress", "plugins", "install"}
        template = obj.get("spec", {}).get("template")
        if template:  # the pods too: the site's label finds them
            assert template["metadata"]["labels"][LABEL] == "blog"


def test_services_select_their_own_pods_and_nothing_else():
    found = objects(spec())
    workloads = {"blog-mysql": one(found, "StatefulSet", "blog-mysql"),
                 "blog-wordpress": one(found, "Deployment", "blog-wordpress")}
    job_labels = one(found, "Job", "blog-install")["spec"]["template"]["metadata"]["labels"]
    for name, workload in workloads.items():
        selector = one(found, "Service", name)["spec"]["selector"]
        labels = workload["spec"]["template"]["metadata"]["labels"]
        assert selector.items() <= labels.items()
        assert workload["spec"]["selector"]["matchLabels"].items() <= labels.items()
        assert not selector.items() <= job_labels.items()
        others = [w for n, w in workloads.items() if n != name]
        assert all(not selector.items() <= w["spec"]["template"]["metadata"]["labels"].items() for w in others)
    mysql = one(found, "Service", "blog-mysql")
    assert mysql["spec"]["clusterIP"] == "None" and mysql["spec"]["ports"][0]["port"] == 3306
    assert one(found, "StatefulSet", "blog-mysql")["spec"]["serviceName"] == "blog-mysql"
    assert one(found, "Service", "blog-wordpress")["spec"]["ports"][0]["port"] == 80
    wordpress = container(workloads["blog-wordpress"], "wordpress")
    assert env(wordpress)["WORDPRESS_DB_HOST"]["value"] == "blog-mysql:3306"


def test_the_secret_alone_holds_the_passwords():
    secrets = passwords()
    found = objects(spec(), secrets)
    secret = one(found, "Secret", "blog-db")
    assert secret["type"] == "Opaque"
    assert secret["stringData"] == {
        "MYSQL_ROOT_PASSWORD": secrets["root_password"], "MYSQL_PASSWORD": secrets["database_password"],
        "MYSQL_USER": "wordpress", "MYSQL_DATABASE": "wordpress",
        "WORDPRESS_ADMIN_PASSWORD": secrets["admin_password"]}
    for obj in found:
        if obj is secret:
            continue
        text = json.dumps(obj)
        for value in secrets.values():
            assert value not in text, f"{obj['kind']}/{obj['metadata']['name']} holds a password"
    # everything that reads a key of it names a key it has
    for obj in found:
        for ref in re.findall(r'"secretKeyRef": (\{[^}]*\})', json.dumps(obj)):
            ref = json.loads(ref)
            if ref["name"] == "blog-db":
                assert ref["key"] in secret["stringData"], ref


def test_mysql_is_a_non_root_statefulset_with_its_own_volume():
    site = spec(storage_class="fast", database_size="20Gi")
    sts = one(objects(site), "StatefulSet", "blog-mysql")
    assert sts["spec"]["replicas"] == 1
    security = pod(sts)["securityContext"]
    assert security["runAsNonRoot"] is True and security["runAsUser"] == 999 and security["fsGroup"] == 999
    mysql = container(sts, "mysql")
    assert mysql["image"] == "mysql:8.4"
    assert mysql["securityContext"]["allowPrivilegeEscalation"] is False
    assert {"MYSQL_ROOT_PASSWORD", "MYSQL_USER", "MYSQL_PASSWORD", "MYSQL_DATABASE"} <= set(env(mysql))
    assert all("secretKeyRef" in e["valueFrom"] for e in mysql["env"])
    assert "mysqladmin ping" in " ".join(mysql["readinessProbe"]["exec"]["command"])
    assert "mysqladmin ping" in " ".join(mysql["livenessProbe"]["exec"]["command"])
    for kind in ("requests", "limits"):
        assert {"cpu", "memory"} <= set(mysql["resources"][kind])
    (claim,) = sts["spec"]["volumeClaimTemplates"]
    assert claim["metadata"]["name"] == "data"
    assert claim["metadata"]["labels"][LABEL] == "blog"  # the PVC it makes is found by the site's label
    assert claim["spec"]["resources"]["requests"]["storage"] == "20Gi"
    assert claim["spec"]["storageClassName"] == "fast"
    assert "data" in {m["name"] for m in mysql["volumeMounts"]}
    assert sts["spec"]["persistentVolumeClaimRetentionPolicy"]["whenDeleted"] == "Retain"
    default = one(objects(spec()), "StatefulSet", "blog-mysql")["spec"]["volumeClaimTemplates"][0]["spec"]
    assert "storageClassName" not in default and default["resources"]["requests"]["storage"] == "5Gi"


def test_wordpress_mounts_the_content_volume_and_gets_the_plugin():
    found = objects(SITES["tls"])
    deployment = one(found, "Deployment", "blog-wordpress")
    spec_ = pod(deployment)
    volumes = {v["name"]: v for v in spec_["volumes"]}
    wordpress = container(deployment, "wordpress")
    assert wordpress["image"] == "wordpress:6-php8.2-apache"
    mounts = {m["mountPath"]: m["name"] for m in wordpress["volumeMounts"]}
    content = volumes[mounts["/var/www/html/wp-content"]]
    assert content["persistentVolumeClaim"]["claimName"] == "blog-content"
    assert one(found, "PersistentVolumeClaim", "blog-content")["spec"]["accessModes"] == ["ReadWriteOnce"]
    assert deployment["spec"]["strategy"]["type"] == "Recreate"  # ReadWriteOnce
    plugins = one(found, "ConfigMap", "blog-plugins")
    assert plugins["data"] == {"realnet.php": PLUGIN_PHP}
    (prepare,) = spec_["initContainers"]
    source = next(m for m in prepare["volumeMounts"] if volumes[m["name"]].get("configMap"))
    assert volumes[source["name"]]["configMap"]["name"] == "blog-plugins"
    script = prepare["command"][-1]
    assert f"cp {source['mountPath']}/realnet.php /var/www/html/wp-content/plugins/realnet/realnet.php" in script
    assert "/var/www/html/wp-content" in {m["mountPath"] for m in prepare["volumeMounts"]}
    # a new plugin restarts the pod, whose init container copies it
    annotation = deployment["spec"]["template"]["metadata"]["annotations"]["realnet.io/plugin-sha256"]
    other = site_objects(SITES["tls"], **passwords(), plugin_php=PLUGIN_PHP + "// 2\n")
    assert one(other, "Deployment", "blog-wordpress")["spec"]["template"]["metadata"]["annotations"][
        "realnet.io/plugin-sha256"] != annotation
    # the plugin's settings
    variables = env(wordpress)
    assert variables["REALNET_URL"]["value"] == "http://realnet.realnet.svc:8080"
    assert variables["REALNET_TOKEN"]["valueFrom"]["secretKeyRef"] == {
        "name": "blog-realnet", "key": "token", "optional": True}
    assert "REALNET_TOKEN" not in env(container(one(objects(spec()), "Deployment", "blog-wordpress"), "wordpress"))
    # probes with the site's Host header, on the container's port
    for probe in ("readinessProbe", "livenessProbe"):
        get = wordpress[probe]["httpGet"]
        assert get["port"] == "http" and {"name": "Host", "value": "blog.example.com"} in get["httpHeaders"]
    assert wordpress["readinessProbe"]["httpGet"]["path"] == "/wp-login.php"
    assert wordpress["ports"] == [{"name": "http", "containerPort": 80}]
    security = spec_["securityContext"]
    assert security["runAsNonRoot"] is True and security["runAsUser"] == 33
    assert {"name": "net.ipv4.ip_unprivileged_port_start", "value": "0"} in security["sysctls"]
    for c in (wordpress, prepare):
        assert c["securityContext"]["readOnlyRootFilesystem"] is True
        assert c["securityContext"]["capabilities"]["drop"] == ["ALL"]
        for kind in ("requests", "limits"):
            assert {"cpu", "memory"} <= set(c["resources"][kind])


# -- Ingress and URLs -----------------------------------------------------------------------

def test_the_wildcard_rule_only_for_a_subdomain_network():
    sub = one(objects(spec()), "Ingress", "blog")["spec"]
    assert [r["host"] for r in sub["rules"]] == ["blog.example.com", "*.blog.example.com"]
    folder = one(objects(spec(multisite="subdirectory")), "Ingress", "blog")["spec"]
    assert [r["host"] for r in folder["rules"]] == ["blog.example.com"]
    for body in (sub, folder):
        assert "tls" not in body and "ingressClassName" not in body
        for rule in body["rules"]:
            (path,) = rule["http"]["paths"]
            assert path["path"] == "/" and path["pathType"] == "Prefix"
            assert path["backend"]["service"] == {"name": "blog-wordpress", "port": {"name": "http"}}


def test_tls_gives_https_urls_and_a_tls_block():
    assert site_url(spec()) == "http://blog.example.com/"
    assert site_url(spec(tls_secret="blog-tls")) == "https://blog.example.com/"
    body = one(objects(SITES["tls"]), "Ingress", "blog")["spec"]
    assert body["tls"] == [{"hosts": ["blog.example.com", "*.blog.example.com"], "secretName": "blog-tls"}]
    assert body["ingressClassName"] == "nginx"
    body = one(objects(SITES["tls-subdirectory"]), "Ingress", "blog")["spec"]
    assert body["tls"] == [{"hosts": ["blog.example.com"], "secretName": "blog-tls"}]
    script = container(one(objects(SITES["tls"]), "Job", "blog-install"), "install")["command"][-1]
    assert "--url=https://blog.example.com/" in script and "http://" not in script


# -- WORDPRESS_CONFIG_EXTRA ------------------------------------------------------------------

def config_extras(found: list[dict[str, Any]]) -> dict[str, str]:
    return {
        "Deployment": env(container(one(found, "Deployment", "blog-wordpress"), "wordpress"))[
            "WORDPRESS_CONFIG_EXTRA"]["value"],
        "Job": env(container(one(found, "Job", "blog-install"), "install"))["WORDPRESS_CONFIG_EXTRA"]["value"],
    }


@pytest.mark.parametrize("which", sorted(SITES))
def test_the_multisite_constants_match_the_spec_in_the_site_and_the_job(which):
    site = SITES[which]
    extras = config_extras(objects(site))
    assert extras["Deployment"] == extras["Job"]  # wp-cli installs the network WordPress serves
    for where, php in extras.items():
        constants = defines(php)
        assert constants["WP_ALLOW_MULTISITE"] == "true", where
        assert constants["MULTISITE"] == "true", where
        assert constants["SUBDOMAIN_INSTALL"] == ("true" if site.multisite == "subdomain" else "false"), where
        assert php_value(constants["DOMAIN_CURRENT_SITE"]) == site.host, where
        assert php_value(constants["PATH_CURRENT_SITE"]) == "/", where
        assert constants["SITE_ID_CURRENT_SITE"] == constants["BLOG_ID_CURRENT_SITE"] == "1", where
        # Not defined, on purpose: WordPress applies them to every site of a network (the
        # option_home filter), which would send every sub-site to the main one. The install's
        # --url (site_url, checked below) puts the real URL in the database instead.
        assert "WP_HOME" not in constants and "WP_SITEURL" not in constants, where
        for local in ("localhost", "127.0.0.1"):
            assert local not in php, where


@pytest.mark.parametrize("which", sorted(SITES))
def test_no_url_anywhere_is_local(which):
    for obj in objects(SITES[which]):
        text = json.dumps(obj)
        # the MySQL probe pings its own server on 127.0.0.1, on purpose (TCP, not the socket)
        if obj["kind"] == "StatefulSet":
            text = text.replace("-h 127.0.0.1", "")
        assert "localhost" not in text and "127.0.0.1" not in text, obj["metadata"]["name"]


def test_a_host_with_php_specials_cannot_get_into_the_config():
    # check_spec refuses it before any PHP is written …
    with pytest.raises(ValidationError):
        objects(spec(host="blog.example.com');system('id"))


@pytest.mark.parametrize("which", sorted(SITES))
def test_the_config_extra_is_valid_php(which, tmp_path: Path):
    php = shutil.which("php") or ("/usr/bin/php" if Path("/usr/bin/php").exists() else None)
    if php is None:
        pytest.skip("php is not installed: `php -l` of WORDPRESS_CONFIG_EXTRA not run")
    extra = config_extras(objects(SITES[which]))["Deployment"]
    source = tmp_path / "extra.php"
    source.write_text("<?php " + extra)
    done = subprocess.run([php, "-l", str(source)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    # and PHP evaluates the constants to what the spec says
    dump = "<?php " + extra + "echo json_encode([DOMAIN_CURRENT_SITE, SUBDOMAIN_INSTALL, MULTISITE]);"
    source.write_text(dump)
    done = subprocess.run([php, str(source)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [SITES[which].host, SITES[which].multisite == "subdomain", True]


# -- the install Job -------------------------------------------------------------------------

def install_command(found: list[dict[str, Any]]) -> list[str]:
    return container(one(found, "Job", "blog-install"), "install")["command"]


@pytest.mark.parametrize("which", sorted(SITES))
def test_the_install_script(which):
    site = SITES[which]
    secrets = passwords()
    found = objects(site, secrets)
    job = one(found, "Job", "blog-install")
    command = install_command(found)
    assert command[:2] == ["sh", "-c"]
    script = command[2]
    lines = script.splitlines()
    assert lines[0] == "set -eu"
    assert "until wp db check" in script
    (install,) = [line for line in lines if "wp core multisite-install" in line]
    args = shlex.split(install)
    assert args[:3] == ["wp", "core", "multisite-install"]
    assert "--skip-config" in args and "--skip-email" in args
    assert f"--url={site_url(site)}" in args
    assert f"--title={site.title or site.host}" in args  # the shell gives back exactly the title
    assert f"--admin_email={site.admin_email or 'admin@' + site.host}" in args
    assert "--admin_user=admin" in args
    assert "--admin_password=$WORDPRESS_ADMIN_PASSWORD" in args  # the variable, not a value
    assert ("--subdomains" in args) == (site.multisite == "subdomain")
    assert any("wp core is-installed --network" in line for line in lines[:lines.index(install)])
    for slug in site.plugins:
        assert any(shlex.split(line)[:4] == ["wp", "plugin", "activate", slug] and "--network" in shlex.split(line)
                   for line in (part.strip() for text in lines for part in text.split("||"))), slug
    for value in secrets.values():
        assert value not in script and value not in json.dumps(job)
    variables = env(container(job, "install"))
    assert variables["WORDPRESS_ADMIN_PASSWORD"]["valueFrom"]["secretKeyRef"] == {
        "name": "blog-db", "key": "WORDPRESS_ADMIN_PASSWORD"}
    assert {k: v for k, v in variables.items() if k.startswith("WORDPRESS_DB_")} == {
        k: v for k, v in env(container(one(found, "Deployment", "blog-wordpress"), "wordpress")).items()
        if k.startswith("WORDPRESS_DB_")}
    assert container(job, "install")["image"] == "wordpress:cli-php8.2"
    assert job["spec"]["backoffLimit"] >= 5
    assert "ttlSecondsAfterFinished" not in job["spec"]  # the provider reads its status
    assert pod(job)["restartPolicy"] in ("OnFailure", "Never")


FAKE_WP = """#!{python}
import json, os, sys
args = sys.argv[1:]
with open(os.environ["WP_LOG"], "a") as log:
    log.write(json.dumps(args) + "\\n")
# FAKE_STATE "new": no network yet, plugins present and not active; "done": all of it done
done = os.environ["FAKE_STATE"] == "done"
sys.exit(0 if done or args[:2] not in (["core", "is-installed"], ["plugin", "is-active"]) else 1)
"""


@pytest.mark.parametrize("which", ["subdomain", "tls"])
def test_the_install_script_run_by_a_shell_passes_exact_arguments(which, tmp_path: Path):
    """The script run by sh with a stand-in wp on PATH: the title reaches wp-cli as it is
    (quotes, $(…), backquotes and all), the password comes from the environment."""
    shell = shutil.which("sh")
    if shell is None:
        pytest.skip("no sh on PATH")
    site = SITES[which]
    wp = tmp_path / "bin" / "wp"
    wp.parent.mkdir()
    wp.write_text(FAKE_WP.format(python=sys.executable))
    wp.chmod(0o755)
    secret = "s3cret with spaces $HOME 'q'"

    def run(state: str) -> list[list[str]]:
        log = tmp_path / f"{state}.log"
        done = subprocess.run([shell, "-c", install_command(objects(site))[2]], capture_output=True, text=True,
                              timeout=60, env={"PATH": f"{wp.parent}:/usr/bin:/bin", "WP_LOG": str(log),
                                               "FAKE_STATE": state, "WORDPRESS_ADMIN_PASSWORD": secret})
        assert done.returncode == 0, done.stderr
        return [json.loads(line) for line in log.read_text().splitlines()]

    calls = run("new")
    url = f"--url={site_url(site)}"
    expected = [["db", "check"], ["core", "is-installed", "--network", url],
                ["core", "multisite-install", "--skip-config", url, f"--title={site.title or site.host}",
                 "--admin_user=admin", f"--admin_email={site.admin_email or 'admin@' + site.host}",
                 f"--admin_password={secret}", "--skip-email",
                 *(["--subdomains"] if site.multisite == "subdomain" else [])]]
    for slug in site.plugins:
        expected += [["plugin", "is-installed", slug, url], ["plugin", "is-active", slug, "--network", url],
                     ["plugin", "activate", slug, "--network", url]]
    assert calls == expected
    # run again (a retry, a new Job): nothing installed or activated twice
    again = run("done")
    assert [c for c in again if c[:2] in (["core", "multisite-install"], ["plugin", "activate"])] == []
    assert again[:2] == expected[:2]


def test_the_install_job_sees_the_plugin_and_the_sites_volume():
    found = objects(spec())
    job = one(found, "Job", "blog-install")
    volumes = {v["name"]: v for v in pod(job)["volumes"]}
    install = container(job, "install")
    mounts = {m["mountPath"]: m["name"] for m in install["volumeMounts"]}
    assert volumes[mounts["/var/www/html/wp-content"]]["persistentVolumeClaim"]["claimName"] == "blog-content"
    (prepare,) = pod(job)["initContainers"]
    assert "/var/www/html/wp-content/plugins/realnet/realnet.php" in prepare["command"][-1]
    assert any(v.get("configMap", {}).get("name") == "blog-plugins" for v in volumes.values())
    # the ReadWriteOnce volume: on the node of the WordPress pod
    (term,) = pod(job)["affinity"]["podAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    wordpress = one(found, "Deployment", "blog-wordpress")
    assert term["labelSelector"]["matchLabels"].items() <= wordpress["spec"]["template"]["metadata"][
        "labels"].items()
    assert term["topologyKey"] == "kubernetes.io/hostname"
    assert pod(job)["securityContext"]["runAsUser"] == pod(wordpress)["securityContext"]["runAsUser"]


# -- the site record -------------------------------------------------------------------------

@pytest.mark.parametrize("which", sorted(SITES))
def test_the_site_record_reads_back_as_the_spec_and_holds_no_secret(which):
    site = SITES[which]
    secrets = passwords()
    record = one(objects(site, secrets), "ConfigMap", "blog-site")
    assert spec_from_record(record) == site
    assert json.loads(record["data"]["plugins"]) == list(site.plugins)
    assert record["data"]["host"] == site.host and record["data"]["multisite"] == site.multisite
    assert all(isinstance(v, str) for v in record["data"].values())
    text = json.dumps(record)
    assert not any(value in text for value in secrets.values())


# -- passwords and purging -------------------------------------------------------------------

def test_new_passwords_are_long_and_new_each_time():
    made = {new_password() for _ in range(20)}
    assert len(made) == 20
    assert all(len(p) >= 32 and re.fullmatch(r"[A-Za-z0-9_-]+", p) for p in made)


def test_only_the_data_is_purgeable():
    found = objects(spec())
    # the volumes and the credentials that open the database on them
    assert [(o["kind"], o["metadata"]["name"]) for o in found if purgeable(o)] == [
        ("Secret", "blog-db"), ("PersistentVolumeClaim", "blog-content")]
    # The database's volume is not among the objects: the StatefulSet makes it from its
    # volumeClaimTemplates as data-blog-mysql-0, with the template's labels — so the site's label
    # finds it and purgeable() keeps it like the content volume.
    sts = one(found, "StatefulSet", "blog-mysql")
    assert not purgeable(sts)
    (template,) = sts["spec"]["volumeClaimTemplates"]
    made = {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": {"name": f"{template['metadata']['name']}-blog-mysql-0", "namespace": "web",
                         "labels": template["metadata"]["labels"]},
            "spec": template["spec"]}
    kubernetes_validate.validate(made, K8S_VERSION, strict=True)
    assert purgeable(made) and made["metadata"]["labels"][LABEL] == "blog"


# -- refusals --------------------------------------------------------------------------------

@pytest.mark.parametrize("changes,field", [
    ({"name": "Blog_1"}, "name"),
    ({"name": "b" * 41}, "name"),
    ({"namespace": "Web"}, "namespace"),
    ({"host": "localhost"}, "host"),
    ({"host": "blog.localhost"}, "host"),
    ({"host": "10.0.0.1"}, "host"),
    ({"host": "::1"}, "host"),
    ({"host": "blog.example.com'"}, "host"),
    ({"host": "Blog.Example.com"}, "host"),
    ({"host": "wordpress"}, "host"),
    ({"host": ""}, "host"),
    ({"multisite": "both"}, "multisite"),
    ({"plugins": ("../x",)}, "plugins"),
    ({"plugins": ("realnet", "realnet")}, "plugins"),
    ({"title": "two\nlines"}, "title"),
    ({"admin_email": "nobody"}, "admin_email"),
    ({"tls_secret": "Blog TLS"}, "tls_secret"),
    ({"database_size": "5 GB"}, "database_size"),
    ({"content_size": "0Gi"}, "content_size"),
    ({"realnet_url": "ftp://realnet"}, "realnet_url"),
    ({"realnet_token_secret": "a/b"}, "realnet_token_secret"),
])
def test_a_bad_spec_is_refused_in_one_line_naming_the_field(changes, field):
    with pytest.raises(ValidationError) as refused:
        check_spec(spec(**changes), "/clusters/k/web/sites/blog")
    message = str(refused.value)
    assert "\n" not in message
    assert message.startswith(f"/clusters/k/web/sites/blog: {field}: expected "), message
    with pytest.raises(ValidationError):  # and site_objects checks too
        objects(spec(**changes))


@pytest.mark.parametrize("which", sorted(SITES))
def test_good_specs_pass(which):
    check_spec(SITES[which], "here")


def test_empty_credentials_are_refused():
    with pytest.raises(ValidationError, match="admin_password"):
        site_objects(spec(), database_password="x", root_password="y", admin_password="", plugin_php=PLUGIN_PHP)
