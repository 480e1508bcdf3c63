"""The simple kubeconfig reader fills the official client's Configuration exactly as the
official loader does, for every kubeconfig it takes, and leaves the rest to that loader."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("kubernetes")

from kubernetes.client import Configuration
from kubernetes.config import kube_config

from realnet.providers.kubernetes import kubeconfig
from realnet.providers.kubernetes.kubeconfig import load_simple

CA = "-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n"


def write(folder: Path, cluster: dict[str, Any], user: dict[str, Any] | None, *,
          name: str = "kubeconfig", extra_contexts: tuple[str, ...] = ()) -> Path:
    contexts = [{"name": "dev", "context": {"cluster": "c", **({"user": "u"} if user is not None else {})}}]
    contexts += [{"name": other, "context": {"cluster": "c2", "user": "u"}} for other in extra_contexts]
    config = {"apiVersion": "v1", "kind": "Config", "current-context": "dev", "contexts": contexts,
              "clusters": [{"name": "c", "cluster": cluster},
                           {"name": "c2", "cluster": {"server": "https://other.example:6443",
                                                      "insecure-skip-tls-verify": True}}],
              "users": [{"name": "u", "user": user or {}}]}
    path = folder / name
    path.write_text(json.dumps(config))
    return path


def effective(configuration: Configuration) -> dict[str, Any]:
    """What reaches a request: the CA as text wherever it was put, and the rest as set."""
    ca = configuration.ca_cert_data
    if ca is None and configuration.ssl_ca_cert:
        ca = Path(configuration.ssl_ca_cert).read_text()
    return {"host": configuration.host, "ca": ca, "cert_file": configuration.cert_file,
            "key_file": configuration.key_file, "verify_ssl": configuration.verify_ssl,
            "tls_server_name": configuration.tls_server_name, "proxy": configuration.proxy,
            "auth": configuration.auth_settings().get("BearerToken", {}).get("value")}


def both(path: Path | None, context: str | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    simple, official = Configuration(), Configuration()
    assert load_simple(str(path) if path else None, context, simple) is True
    kube_config.load_kube_config(config_file=str(path) if path else None, context=context,
                                 client_configuration=official, persist_config=False)
    return effective(simple), effective(official)


@pytest.fixture
def certs(tmp_path: Path) -> Path:
    folder = tmp_path / "pki"
    folder.mkdir()
    (folder / "ca.crt").write_text(CA)
    (folder / "client.crt").write_text("client certificate")
    (folder / "client.key").write_text("client key")
    return folder


CASES = {
    "token and CA data": ({"server": "https://k8s.example:6443/",
                           "certificate-authority-data": base64.b64encode(CA.encode()).decode()},
                          {"token": "abc.def"}),
    "client certificate in files, relative paths": ({"server": "https://10.0.0.1:6443",
                                                      "certificate-authority": "pki/ca.crt"},
                                                     {"client-certificate": "pki/client.crt",
                                                      "client-key": "pki/client.key"}),
    "insecure, server name and proxy": ({"server": "https://k8s.example", "insecure-skip-tls-verify": True,
                                         "tls-server-name": "api.internal",
                                         "proxy-url": "http://proxy.example:3128"}, {"token": "t"}),
    "plain http, no user": ({"server": "http://127.0.0.1:8001"}, None),
    "empty user": ({"server": "https://k8s.example", "insecure-skip-tls-verify": False}, {}),
}


@pytest.mark.parametrize("case", CASES)
def test_the_simple_reader_fills_what_the_official_loader_fills(tmp_path, certs, case):
    cluster, user = CASES[case]
    simple, official = both(write(tmp_path, cluster, user))
    assert simple == official


def test_the_named_context_and_absolute_paths(tmp_path, certs):
    path = write(tmp_path, {"server": "https://k8s.example", "certificate-authority": str(certs / "ca.crt")},
                 {"client-certificate": str(certs / "client.crt"), "client-key": str(certs / "client.key")},
                 extra_contexts=("prod",))
    for context in ("dev", "prod"):
        simple, official = both(path, context)
        assert simple == official


def test_kubeconfig_from_the_environment(tmp_path, certs, monkeypatch):
    path = write(tmp_path, {"server": "https://k8s.example", "insecure-skip-tls-verify": True}, {"token": "x"})
    monkeypatch.setenv("KUBECONFIG", str(path))
    monkeypatch.setattr(kube_config, "KUBE_CONFIG_DEFAULT_LOCATION", str(path))  # read at its import
    simple, official = both(None)
    assert simple == official and simple["auth"] == "Bearer x"


LEFT_TO_THE_LOADER = {
    "exec plugin": {"exec": {"apiVersion": "client.authentication.k8s.io/v1", "command": "get-token"}},
    "auth provider": {"auth-provider": {"name": "oidc", "config": {"id-token": "x"}}},
    "token file": {"tokenFile": "token"},
    "user name and password": {"username": "a", "password": "b"},
    "certificate as data": {"client-certificate-data": "eA==", "client-key-data": "eA=="},
    "impersonation": {"token": "t", "as": "someone"},
    "certificate without its key": {"client-certificate": "pki/client.crt"},
}


@pytest.mark.parametrize("case", LEFT_TO_THE_LOADER)
def test_other_users_are_left_to_the_official_loader(tmp_path, certs, case):
    path = write(tmp_path, {"server": "https://k8s.example", "certificate-authority": "pki/ca.crt"},
                 LEFT_TO_THE_LOADER[case])
    configuration = Configuration()
    assert load_simple(str(path), None, configuration) is False
    assert effective(configuration) == effective(Configuration())  # nothing was set


def test_anything_unusual_is_left_to_the_official_loader(tmp_path, certs):
    ok = {"server": "https://k8s.example", "certificate-authority": "pki/ca.crt"}
    unusual = [
        write(tmp_path, {**ok, "extensions": []}, {"token": "t"}, name="extension"),
        write(tmp_path, {**ok, "certificate-authority": "pki/missing.crt"}, {"token": "t"}, name="missing-ca"),
        write(tmp_path, {"certificate-authority": "pki/ca.crt"}, {"token": "t"}, name="no-server"),
    ]
    (tmp_path / "bad-yaml").write_text("clusters: [\n")
    (tmp_path / "a-list").write_text("- 1\n")
    unusual += [tmp_path / "bad-yaml", tmp_path / "a-list", tmp_path / "absent"]
    for path in unusual:
        assert load_simple(str(path), None, Configuration()) is False, path
    fine = write(tmp_path, ok, {"token": "t"}, name="fine")
    assert load_simple(str(fine), "no-such-context", Configuration()) is False
    assert load_simple(f"{fine}:{fine}", None, Configuration()) is False  # a KUBECONFIG list
    assert load_simple(str(fine), None, Configuration()) is True


# -- inside a pod ----------------------------------------------------------------------------
def service_account(tmp_path: Path, monkeypatch, token: str = "pod-token") -> tuple[Path, Path]:  # noqa: S107
    token_file, ca_file = tmp_path / "token", tmp_path / "ca.crt"
    token_file.write_text(token)
    ca_file.write_text(CA)
    monkeypatch.setattr(kubeconfig, "TOKEN_FILE", str(token_file))
    monkeypatch.setattr(kubeconfig, "CA_FILE", str(ca_file))
    return token_file, ca_file


@pytest.mark.parametrize("host", ["10.96.0.1", "fd00::1", "kubernetes.default.svc"])
def test_the_service_account_fills_what_the_official_in_cluster_loader_fills(tmp_path, monkeypatch, host):
    from kubernetes.config.incluster_config import InClusterConfigLoader

    token_file, ca_file = service_account(tmp_path, monkeypatch)
    environ = {"KUBERNETES_SERVICE_HOST": host, "KUBERNETES_SERVICE_PORT": "443"}
    ours, official = Configuration(), Configuration()
    kubeconfig.load_in_cluster(ours, environ)
    InClusterConfigLoader(token_filename=str(token_file), cert_filename=str(ca_file),
                          environ=environ).load_and_set(official)
    assert effective(ours) == effective(official)
    assert effective(ours)["auth"] == "bearer pod-token"


def test_the_rotated_token_is_read_again(tmp_path, monkeypatch):
    token_file, _ = service_account(tmp_path, monkeypatch)
    configuration = Configuration()
    kubeconfig.load_in_cluster(configuration, {"KUBERNETES_SERVICE_HOST": "10.0.0.1",
                                               "KUBERNETES_SERVICE_PORT": "6443"})
    token_file.write_text("rotated")
    assert effective(configuration)["auth"] == "bearer pod-token"  # not before the period is over
    monkeypatch.setattr(kubeconfig, "TOKEN_REREAD_SECONDS", 0.0)
    assert effective(configuration)["auth"] == "bearer rotated"
    token_file.unlink()  # gone for a moment: the token in hand is kept
    assert effective(configuration)["auth"] == "bearer rotated"


@pytest.mark.parametrize(("environ", "missing", "reason"), [
    ({}, None, "KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set (Kubernetes sets them in a pod)"),
    ({"KUBERNETES_SERVICE_HOST": "10.0.0.1", "KUBERNETES_SERVICE_PORT": ""}, None, "are not set"),
    ({"KUBERNETES_SERVICE_HOST": "10.0.0.1", "KUBERNETES_SERVICE_PORT": "443"}, "token",
     "token file {path}: missing"),
    ({"KUBERNETES_SERVICE_HOST": "10.0.0.1", "KUBERNETES_SERVICE_PORT": "443"}, "ca.crt",
     "CA certificate file {path}: missing"),
])
def test_what_a_pod_lacks_is_named(tmp_path, monkeypatch, environ, missing, reason):
    service_account(tmp_path, monkeypatch)
    path = tmp_path / (missing or "none")
    path.unlink(missing_ok=True)
    configuration = Configuration()
    with pytest.raises(kubeconfig.ServiceAccountError) as refused:
        kubeconfig.load_in_cluster(configuration, environ)
    assert reason.format(path=path) in str(refused.value)
    assert effective(configuration) == effective(Configuration())  # nothing was set


def test_an_empty_token_file_is_named(tmp_path, monkeypatch):
    token_file, _ = service_account(tmp_path, monkeypatch, token="\n")
    with pytest.raises(kubeconfig.ServiceAccountError, match=f"^token file {token_file}: empty$"):
        kubeconfig.load_in_cluster(Configuration(), {"KUBERNETES_SERVICE_HOST": "h",
                                                     "KUBERNETES_SERVICE_PORT": "1"})
