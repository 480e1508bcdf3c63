"""A fake Kubernetes API server for the tests: Starlette served by uvicorn on 127.0.0.1 on a
free port, in a background thread of the test process, with its state in memory. It speaks
HTTPS with a throw-away self-signed certificate (kubectl sends bearer tokens only over TLS);
``tls=False`` serves plain HTTP for clients without credentials.

A thread, not a process: the test reaches the state directly — it sets pod logs, token rules
and faults, and puts 50,000 pods in within a second without going through HTTP — and starting
it costs milliseconds. A benchmark that must not count the fake's CPU or memory against the
client under test runs it as a process instead: ``python tests/k8sserver.py --pods 50000``
prints the URL and the kubeconfig path, and stops on SIGTERM (stop it by its PID).

    with FakeKubeServer() as k8s:
        api = kubernetes.client.CoreV1Api(k8s.api_client())
        k8s.kubectl("get", "pods", "-n", "default", "-o", "json")

What it does not do (it is not a cluster): no controllers (a Deployment makes no pods; status
changes only through /status, ``set_status`` or ``load``), deletion is immediate (no grace
period or finalizers; owner references cascade at once), lists are not snapshots (a continued
list sees later writes), no server-side apply (415), no protobuf bodies (415: kubectl's typed
commands such as ``kubectl create namespace|deployment|configmap|secret`` fail; ``kubectl apply``,
``create -f``, ``run``, ``scale``, ``label``, ``logs``, ``delete``, ``get -w`` and ``auth can-i``
work), no exec/attach/port-forward, strategic merge patch is approximated (named list items merge
by name), and events.k8s.io/v1 events are stored apart from core v1 events.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import uvicorn
from k8sfake.auth import Tokens
from k8sfake.certs import write_certificate
from k8sfake.errors import ApiError
from k8sfake.kinds import Registry, Resource, crd_object
from k8sfake.logs import PodLogs
from k8sfake.routes import FakeApi
from k8sfake.state import Store, now
from k8sfake.streams import DROP, STOP, Faults

START_TIMEOUT = 30.0
ADMIN_TOKEN = "admin-token"  # allowed everything
KUBECTL = shutil.which("kubectl") or "/usr/bin/kubectl"

__all__ = ["ApiError", "FakeKubeServer", "running"]


class _Server(uvicorn.Server):
    def install_signal_handlers(self) -> None:  # older uvicorn; newer ones skip them off the main thread
        pass


class FakeKubeServer:
    """The fake API server; ``token`` is allowed everything (add others with ``add_token``)."""

    def __init__(self, *, token: str = ADMIN_TOKEN, history: int = 20_000, tls: bool = True) -> None:
        self.tls = tls
        self.registry = Registry.builtin()
        self.store = Store(self.registry, history=history)
        self.logs = PodLogs()
        self.tokens = Tokens()
        self.faults = Faults()
        self.token = token
        self.tokens.add(token, user="admin")
        self.store.on_delete.append(self._pod_gone)
        self.directory = Path(tempfile.mkdtemp(prefix="k8sfake"))
        self.certificate, self._key = write_certificate(self.directory) if tls else (None, None)
        self.port = 0
        self.api: FakeApi | None = None
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._failure: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    # -- life ------------------------------------------------------------------------------

    def start(self) -> FakeKubeServer:
        """Listen (again: after ``stop()`` it comes back on the same port with the same state)."""
        # proto given explicitly: asyncio sets TCP_NODELAY only on sockets that say IPPROTO_TCP,
        # and without it every keep-alive answer waits 40 ms for a delayed ACK
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))
        self.port = sock.getsockname()[1]
        self.api = FakeApi(self.store, self.logs, self.tokens, self.faults, f"127.0.0.1:{self.port}")
        config = uvicorn.Config(self.api.app(), log_config=None, access_log=False, lifespan="off",
                                timeout_graceful_shutdown=3, log_level="warning",
                                ssl_certfile=self.certificate, ssl_keyfile=self._key)
        self._server = _Server(config)
        self._failure = None

        async def serve() -> None:
            self._loop = asyncio.get_running_loop()
            await self._server.serve(sockets=[sock])  # type: ignore[union-attr]

        def run() -> None:
            try:
                asyncio.run(serve())
            except BaseException as e:
                self._failure = e
            finally:
                sock.close()

        self._thread = threading.Thread(target=run, daemon=True, name=f"k8sfake-{self.port}")
        self._thread.start()
        for _ in range(int(START_TIMEOUT / 0.01)):
            if self._server.started or not self._thread.is_alive():
                break
            threading.Event().wait(0.01)
        if not self._server.started:
            self.stop()
            raise RuntimeError(f"the fake API server did not start on {self.url}: {self._failure!r}")
        self.write_kubeconfig()
        return self

    def stop(self) -> None:
        """Stop listening: open watches and followed logs end, the port is free again."""
        if self._server is None:
            return
        self.store.broadcast(STOP)
        self.logs.stop_all()
        server = self._server

        def shut() -> None:  # a server that goes away resets its connections, idle ones too
            server.should_exit = server.force_exit = True  # no waiting for slow answers either
            for connection in list(server.server_state.connections):
                connection.transport.abort()  # type: ignore[attr-defined]
        if self._loop is not None and self._thread is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(shut)
        if self._thread is not None:
            self._thread.join(10)
            if self._thread.is_alive():
                raise RuntimeError("the fake API server did not stop")
        self._server = None

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> FakeKubeServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self._server is not None and self._thread is not None and self._thread.is_alive()

    # -- clients ---------------------------------------------------------------------------

    def write_kubeconfig(self, path: str | Path | None = None, *, token: str | None = None,
                         context: str = "fake", namespace: str = "default") -> Path:
        """A kubeconfig for this server (JSON, which is YAML); the default one is ``kubeconfig``."""
        target = Path(path) if path else self.directory / "kubeconfig"
        cluster: dict = {"server": self.url}
        if self.certificate is not None:
            cluster["certificate-authority-data"] = base64.b64encode(self.certificate.read_bytes()).decode()
        target.write_text(json.dumps({
            "apiVersion": "v1", "kind": "Config", "current-context": context, "preferences": {},
            "clusters": [{"name": context, "cluster": cluster}],
            "users": [{"name": context, "user": {"token": token or self.token}}],
            "contexts": [{"name": context, "context": {"cluster": context, "user": context,
                                                       "namespace": namespace}}]}, indent=1))
        return target

    @property
    def kubeconfig(self) -> Path:
        return self.directory / "kubeconfig"

    def api_client(self, token: str | None = None):
        """A ``kubernetes.client.ApiClient`` for this server (close it after use)."""
        import kubernetes.client

        config = kubernetes.client.Configuration()
        config.host = self.url
        if self.certificate is not None:
            config.ssl_ca_cert = str(self.certificate)
        config.api_key = {"authorization": token or self.token}
        config.api_key_prefix = {"authorization": "Bearer"}
        return kubernetes.client.ApiClient(config)

    def kubectl(self, *args: str, input: str | None = None, token: str | None = None,
                check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """Run kubectl against this server (its own kubeconfig and discovery cache)."""
        config = self.write_kubeconfig(self.directory / f"kubeconfig-{token}", token=token) \
            if token else self.kubeconfig
        command = [KUBECTL, "--kubeconfig", str(config), "--cache-dir", str(self.directory / "cache"),
                   *args]
        env = {k: v for k, v in os.environ.items() if not k.startswith("KUBE")}
        done = subprocess.run(command, input=input, capture_output=True, text=True, timeout=timeout,
                              env={**env, "HOME": str(self.directory)})
        if check and done.returncode != 0:
            raise RuntimeError(f"kubectl {' '.join(args)} failed ({done.returncode}): {done.stderr}")
        return done

    # -- the test's hands on the state -----------------------------------------------------

    def add_token(self, token: str, *, user: str | None = None,
                  rules: dict[str, list[str] | set[str] | tuple[str, ...]] | None = None) -> None:
        """A token allowed the verbs of its rule table, e.g. ``{"pods": ["get", "list"],
        "pods/log": ["get"], "*": ["list"]}`` (None: everything); other verbs answer 403."""
        self.tokens.add(token, user=user, rules=rules)

    def revoke_token(self, token: str) -> None:
        """Requests with this token are answered 401 from now on."""
        self.tokens.revoke(token)

    def resource_for(self, api_version: str, kind: str) -> Resource:
        res = self.registry.by_kind(api_version, kind)
        if res is None:
            raise KeyError(f"no resource for {api_version} {kind}")
        return res

    def load(self, obj: dict, *, keep_status: bool = True) -> dict:
        """Create an object from a manifest, status included (as if controllers had run)."""
        res = self.resource_for(obj["apiVersion"], obj["kind"])
        ns = (obj.get("metadata") or {}).get("namespace") or ("default" if res.namespaced else None)
        return self.store.create(res, ns, obj, keep_status=keep_status)

    def get(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> dict:
        return self.store.get(self.resource_for(api_version, kind), namespace, name)

    def set_status(self, api_version: str, kind: str, name: str, status: dict,
                   namespace: str | None = None) -> dict:
        """Merge ``status`` into the object's status, as a controller would (one MODIFIED event)."""
        res = self.resource_for(api_version, kind)
        return self.store.patch(res, namespace, name, "application/merge-patch+json",
                                {"status": status}, "status")

    def add_crd(self, group: str, kind: str, plural: str, *, versions: tuple[str, ...] = ("v1",),
                namespaced: bool = True, short_names: tuple[str, ...] = (),
                categories: tuple[str, ...] = ()) -> dict:
        """Define a custom resource: it appears in discovery and is served like any kind."""
        return self.load(crd_object(group, kind, plural, versions=versions, namespaced=namespaced,
                                    short_names=short_names, categories=categories), keep_status=False)

    def set_log(self, namespace: str, pod: str, text: str, *, container: str | None = None,
                previous: bool = False) -> None:
        self.logs.set(self._log_key(namespace, pod, container, previous), text)

    def append_log(self, namespace: str, pod: str, text: str, *, container: str | None = None) -> None:
        """More lines: clients following the log get them at once."""
        self.logs.append(self._log_key(namespace, pod, container, False), text)

    def end_log(self, namespace: str, pod: str, *, container: str | None = None) -> None:
        """The container stopped: a followed log ends."""
        self.logs.end(self._log_key(namespace, pod, container, False))

    def _log_key(self, namespace: str, pod: str, container: str | None,
                 previous: bool) -> tuple[str, str, str, bool]:
        if container is None:
            spec = self.get("v1", "Pod", pod, namespace).get("spec") or {}
            container = (spec.get("containers") or [{}])[0].get("name", "")
        return (namespace, pod, container or "", previous)

    def _pod_gone(self, res: Resource, obj: dict) -> None:
        if res.kind == "Pod" and res.group == "":
            self.logs.end_pod(obj["metadata"].get("namespace", ""), obj["metadata"]["name"])

    def wait_for_watches(self, count: int = 1, timeout: float = 10.0) -> None:
        """Return once ``count`` watches are open (what is written next reaches them live)."""
        self._wait(lambda: len(self.store.watchers) >= count, f"{count} open watch(es)", timeout)

    def wait_for_log_followers(self, count: int = 1, timeout: float = 10.0) -> None:
        self._wait(lambda: sum(len(f) for f in list(self.logs.followers.values())) >= count,
                   f"{count} followed log(s)", timeout)

    @staticmethod
    def _wait(done, what: str, timeout: float) -> None:
        pause = threading.Event()
        for _ in range(int(timeout / 0.01)):
            if done():
                return
            pause.wait(0.01)
        raise TimeoutError(f"no {what} within {timeout} s")

    def drop_watches(self) -> None:
        """Break every open watch now (the clients see a broken connection)."""
        self.store.broadcast(DROP)

    @property
    def requests(self) -> list[tuple[str, str]]:
        """(method, path with query) of every request served, in order."""
        return self.api.requests if self.api else []

    def bulk_pods(self, count: int, *, namespace: str = "default", prefix: str = "pod",
                  labels: dict[str, str] | None = None, phase: str = "Running",
                  node: str = "node-1") -> None:
        """Put ``count`` running pods in quickly (names ``prefix-000000`` …) for benchmarks; they
        share their spec and status dicts (stored objects are never changed in place)."""
        res = self.resource_for("v1", "Pod")
        shared_labels = labels or {"app": prefix}
        spec = {"containers": [{"name": "main", "image": "registry.local/app:1"}], "nodeName": node,
                "restartPolicy": "Always", "serviceAccountName": "default"}
        status = {"phase": phase, "podIP": "10.0.0.1", "qosClass": "BestEffort",
                  "containerStatuses": [{"name": "main", "ready": phase == "Running", "restartCount": 0,
                                         "image": "registry.local/app:1", "imageID": "",
                                         "state": {"running": {}}}]}
        stamp = now()
        width = max(6, len(str(count)))
        store = self.store
        with store.lock:
            store._check_namespace(res, namespace, None)
            for i in range(count):
                name = f"{prefix}-{i:0{width}d}"
                if (namespace, name) in store.bucket(res).objects:
                    raise ApiError.already_exists("pods", name)
                meta = {"name": name, "namespace": namespace, "uid": str(uuid.UUID(int=uuid.uuid4().int)),
                        "creationTimestamp": stamp, "labels": shared_labels}
                store._commit(res, (namespace, name), "ADDED", None,
                              {"metadata": meta, "spec": spec, "status": status})


@contextlib.contextmanager
def running(**options) -> Iterator[FakeKubeServer]:
    """A started fake for a ``with`` block or a pytest fixture (``with running() as k8s: yield k8s``);
    a bug of the fake itself (an answer 500 it did not mean) fails the block at its end."""
    with FakeKubeServer(**options) as server:
        yield server
        if server.api is not None and server.api.errors:
            raise AssertionError(f"the fake API server failed: {server.api.errors!r}")


def main() -> None:
    parser = argparse.ArgumentParser(description="Run the fake Kubernetes API server in the foreground.")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--pods", type=int, default=0, help="pods to bulk-load into the default namespace")
    parser.add_argument("--token", default="admin-token")
    args = parser.parse_args()
    server = FakeKubeServer(token=args.token)
    server.port = args.port
    if args.pods:
        server.bulk_pods(args.pods)
    server.start()
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    print(json.dumps({"url": server.url, "kubeconfig": str(server.kubeconfig), "pid": os.getpid()}),
          flush=True)
    done.wait()
    server.close()


if __name__ == "__main__":
    main()
