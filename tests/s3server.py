"""A real S3 endpoint for the tests: moto in server mode on a free loopback port.

``MotoServer`` runs moto's ThreadedMotoServer in this process (fast to start, state
survives a stop and a restart on the same port: moto keeps it in module globals, shared
by every moto server of the process). Unlike the stock class it never hangs when the port
cannot be bound, keeps the request log quiet, and ``stop()`` also drops the connections
that clients keep alive, so a stopped endpoint really is gone (for fault tests).

``MotoProcess`` runs ``python -m moto.server`` as a child process, for tests that measure
this process's memory and must not count the bytes moto keeps, and for tests of refused
credentials: ``require_credentials()`` makes that process check every request's signature
against its own IAM users (moto's INITIAL_NO_AUTH_ACTION_COUNT, a process-wide setting that
must not touch the in-process servers the other tests share).
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from typing import IO

import httpx
from moto.server import ThreadedMotoServer
from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler

START_TIMEOUT = 30.0  # seconds: a hang detector for starting an endpoint


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def reset(url: str) -> None:
    """Forget every bucket, object and upload (of every moto server in that process)."""
    httpx.post(f"{url}/moto-api/reset", timeout=10).raise_for_status()


@functools.cache
def s3_client(endpoint: str):
    """A plain boto3 client on the test endpoint, to look behind the store's back
    (one per endpoint: making a boto3 client costs a few tenths of a second)."""
    import boto3

    return boto3.session.Session().client(
        "s3", endpoint_url=endpoint, region_name="us-east-1",
        aws_access_key_id="testing", aws_secret_access_key="testing")


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


class _TrackingServer(ThreadedWSGIServer):
    """Remembers open client connections so that they can be dropped on stop."""

    def __init__(self, *args, **kwargs) -> None:
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(*args, **kwargs)

    def process_request(self, request, client_address) -> None:
        with self.connections_lock:
            self.connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request) -> None:
        with self.connections_lock:
            self.connections.discard(request)
        super().shutdown_request(request)

    def drop_connections(self) -> None:
        with self.connections_lock:
            open_now = list(self.connections)
        for connection in open_now:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


class _OneSqsCallAtATime:
    """moto's SQS takes no lock: two receives at the same moment can both take one message,
    which SQS itself does not do within a visibility timeout. The runner under test keeps two
    receives out at once, so SQS calls go through one at a time here. A long poll must not
    hold the others up meanwhile: it is asked of moto as polls that do not wait, with the
    lock let go between them. (S3 calls, which may stream for long, are left alone.)"""

    POLL_EVERY = 0.02  # seconds between the quick polls of a long poll

    def __init__(self, app) -> None:
        self.app = app
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if not target.startswith("AmazonSQS."):
            return self.app(environ, start_response)
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        request = json.loads(body or b"{}") if target == "AmazonSQS.ReceiveMessage" else None
        wait = float(request.pop("WaitTimeSeconds", 0) or 0) if request is not None else 0.0
        if request is not None:
            body = json.dumps({**request, "WaitTimeSeconds": 0}).encode()
        end = time.monotonic() + wait
        while True:
            with self.lock:
                status, headers, answer = self._call(environ, body)
            if request is None or time.monotonic() >= end or b'"Messages"' in answer:
                start_response(status, headers)
                return [answer]
            time.sleep(self.POLL_EVERY)

    def _call(self, environ, body: bytes):
        import io

        taken: list = []
        inner = dict(environ, **{"wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(len(body))})
        answer = b"".join(self.app(inner, lambda status, headers, exc_info=None: taken.extend(
            (status, headers))))
        status, headers = taken
        headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
        return status, [*headers, ("Content-Length", str(len(answer)))], answer


class MotoServer(ThreadedMotoServer):
    """moto's S3 (and every other service) at ``url``; ``port=0`` picks a free port."""

    def __init__(self, port: int = 0) -> None:
        super().__init__(ip_address="127.0.0.1", port=port, verbose=False)
        self._failure: BaseException | None = None

    def _server_entry(self) -> None:
        from moto.server import DomainDispatcherApplication, create_backend_app

        try:
            app = _OneSqsCallAtATime(DomainDispatcherApplication(create_backend_app))
            self._server = _TrackingServer(self._ip_address, self._port, app, _QuietHandler)
        except BaseException as e:  # werkzeug calls sys.exit() when the port is taken
            self._failure = e
            self._server_ready_event.set()
            return
        self._server_ready_event.set()
        self._server.serve_forever(poll_interval=0.05)

    def start(self) -> MotoServer:
        self._failure = None
        self._server = None
        self._server_ready_event.clear()
        self._thread = threading.Thread(target=self._server_entry, daemon=True, name="moto-s3")
        self._thread.start()
        if not self._server_ready_event.wait(START_TIMEOUT):
            raise RuntimeError(f"moto did not start on 127.0.0.1:{self._port} within {START_TIMEOUT:.0f} s")
        if self._failure is not None or self._server is None:
            self._thread.join(5)
            self._server = None
            raise RuntimeError(f"moto cannot listen on 127.0.0.1:{self._port}: {self._failure!r}")
        self._port = self.port  # a restart comes back on the same port
        return self

    @property
    def port(self) -> int:
        return self.get_host_and_port()[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    @property
    def running(self) -> bool:
        return self._server is not None and self._thread is not None and self._thread.is_alive()

    def stop(self) -> None:
        """Stop listening and drop every open connection; the port is free again after."""
        server = self._server
        if server is None:
            return
        super().stop()
        assert isinstance(server, _TrackingServer)
        server.drop_connections()
        self._server = None

    def reset(self) -> None:
        reset(self.url)


class MotoProcess:
    """moto in a child process (``python -m moto.server``), stopped by its PID."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.log: IO[bytes] | None = None

    def start(self) -> MotoProcess:
        # Every request unchecked until require_credentials(), whatever this shell holds.
        env = {**os.environ, "INITIAL_NO_AUTH_ACTION_COUNT": "inf"}
        # moto logs a line per request on stderr: to a file, since a pipe nobody reads fills
        # up under load and stalls the server.
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL, stderr=self.log, start_new_session=True, env=env)
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if self.process.poll() is not None:
                self.log.seek(0)
                err = self.log.read().decode(errors="replace")
                raise RuntimeError(f"moto_server exited with {self.process.returncode}: {err[-2000:]}")
            try:
                reset(self.url)
                return self
            except (httpx.HTTPError, OSError):
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"moto_server did not answer on {self.url} within "
                                       f"{START_TIMEOUT:.0f} s") from None
                time.sleep(0.1)

    def require_credentials(self) -> tuple[str, str]:
        """Make an IAM user allowed s3:* and return its (access key id, secret); from then
        on this server refuses every request not signed with an access key of its users
        (InvalidAccessKeyId, SignatureDoesNotMatch: 403), as AWS does. Made while requests
        are still unchecked; ``/moto-api/reset-auth 0`` (moto's own switch for server mode)
        then checks every request after. ``/moto-api/reset`` would drop the user."""
        import boto3

        iam = boto3.session.Session().client(
            "iam", endpoint_url=self.url, region_name="us-east-1",
            aws_access_key_id="setup", aws_secret_access_key="setup")
        try:
            iam.create_user(UserName="realnet")
            iam.put_user_policy(UserName="realnet", PolicyName="s3", PolicyDocument=json.dumps(
                {"Version": "2012-10-17",
                 "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}))
            key = iam.create_access_key(UserName="realnet")["AccessKey"]
        finally:
            iam.close()
        httpx.post(f"{self.url}/moto-api/reset-auth", content=b"0", timeout=10).raise_for_status()
        return key["AccessKeyId"], key["SecretAccessKey"]

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait(10)
        finally:
            if self.log is not None:
                self.log.close()
