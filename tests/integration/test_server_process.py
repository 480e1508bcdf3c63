"""``realnet server`` as a real process: readiness, a graceful stop on SIGTERM/SIGINT
with requests in flight, and a port that is already taken.

The server listens on 127.0.0.1 on a free port and serves this test's store (the
REALNET_HOME of conftest). Waits are bounded polls that keep a broken server from
hanging the run; none of them is a performance assertion. Processes are stopped by
their own PID.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from realnet.resources.accounts import Directory

WAIT_SECONDS = 30.0  # how long a broken server may hang a test, not a performance figure
POLL_SECONDS = 0.05
DEADLINE = 30.0  # the server's own drain deadline (--deadline)
IN_FLIGHT = 10


def realnet_command() -> list[str]:
    script = Path(sys.executable).with_name("realnet")
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    return [sys.executable, "-m", "realnet"]


def environment(**extra: str) -> dict[str, str]:
    """This test's REALNET_HOME (set by conftest) and nothing else of Realnet's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("REALNET_")}
    env["REALNET_HOME"] = os.environ["REALNET_HOME"]
    env.update(extra)
    return env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def refuses(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            return False
    except ConnectionRefusedError:
        return True


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    port: int
    stderr_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stderr(self) -> str:
        return self.stderr_path.read_text(encoding="utf-8", errors="replace")

    def wait_ready(self) -> None:
        deadline = time.monotonic() + WAIT_SECONDS
        with httpx.Client(timeout=5) as http:
            while True:
                if self.proc.poll() is not None:
                    pytest.fail(f"realnet server exited {self.proc.returncode} before it was ready:\n"
                                f"{self.stderr()}")
                with suppress(httpx.TransportError):
                    if http.get(f"{self.url}/readyz").status_code == 200:
                        return
                if time.monotonic() > deadline:
                    pytest.fail(f"realnet server never became ready:\n{self.stderr()}")
                time.sleep(POLL_SECONDS)

    def wait_exit(self) -> int:
        try:
            return self.proc.wait(timeout=DEADLINE + 10)
        except subprocess.TimeoutExpired:
            pytest.fail(f"realnet server did not exit within its deadline:\n{self.stderr()}")


@contextmanager
def server_process(tmp_path: Path, *args: str, port: int | None = None) -> Iterator[Server]:
    """``realnet server ARGS`` with REALNET_SERVER_PORT on a free port; killed by PID at the end
    if it is still running."""
    port = port or free_port()
    stderr_path = tmp_path / f"server-{port}.err"
    with stderr_path.open("wb") as err:
        proc = subprocess.Popen([*realnet_command(), "server", *args], stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=err, cwd=tmp_path,
                                env=environment(REALNET_SERVER_PORT=str(port),
                                                REALNET_SERVER_HOST="127.0.0.1"))
    try:
        yield Server(proc, port, stderr_path)
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=WAIT_SECONDS)


# -- which connections the server process has accepted ---------------------------------------

def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        with suppress(OSError):
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    return inodes


def accepted_client_ports(pid: int, server_port: int) -> set[int]:
    """Client ports of the connections the server process holds (has accept()ed).

    A connection still waiting in the listen queue belongs to no process yet.
    """
    owned = _socket_inodes(pid)
    ports = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote, inode = fields[1], fields[2], fields[9]
        if int(local.split(":")[1], 16) == server_port and inode in owned:
            ports.add(int(remote.split(":")[1], 16))
    return ports


def read_response(sock: socket.socket) -> bytes:
    sock.settimeout(DEADLINE + 10)
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def parse_response(raw: bytes) -> tuple[int, dict[str, str], bytes]:
    head, sep, body = raw.partition(b"\r\n\r\n")
    assert sep, f"no complete header block: {raw!r}"
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    match = re.match(r"HTTP/1\.[01] (\d{3}) ", status_line)
    assert match, status_line
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(match.group(1)), headers, body


# -- tests -----------------------------------------------------------------------------------

def test_the_server_becomes_ready_and_serves_this_store(tmp_path: Path, context) -> None:
    token = Directory(context).create_token("admin", "server-process", expires=None).token
    with server_process(tmp_path) as server:
        server.wait_ready()
        with httpx.Client(base_url=server.url, timeout=30) as http:
            assert http.get("/readyz").json() == {"status": "ready"}
            assert http.get("/healthz").status_code == 200
            home = http.get("/api/v1/items/home", headers={"Authorization": f"Bearer {token}"})
            assert home.status_code == 200, home.text
            assert home.json()["id"] == context.get("/home").id
        os.kill(server.proc.pid, signal.SIGTERM)
        assert server.wait_exit() == 0, server.stderr()
    log = server.stderr()
    assert f"http: listening on 127.0.0.1:{server.port}" in log
    assert token not in log


def test_sigterm_drains_in_flight_requests_then_exits_0(tmp_path: Path, context) -> None:
    # Each wrong-password login costs a scrypt hash on one of the runner's few store
    # threads, so ten of them stay in flight for a while. Two accounts × five attempts
    # stay within the per-account limit, so every one of them really does the work.
    directory = Directory(context)
    password = "the right password 123"
    for name in ("bob", "carol"):
        directory.add_user(name, password=password)
    with server_process(tmp_path, "--deadline", str(DEADLINE)) as server:
        server.wait_ready()
        sockets: list[socket.socket] = []
        try:
            for number in range(IN_FLIGHT):
                body = json.dumps({"user": ("bob", "carol")[number % 2],
                                   "password": f"wrong password {number}"}).encode()
                request = (f"POST /api/v1/login HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
                           f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
                           "Connection: close\r\n\r\n").encode() + body
                sock = socket.create_connection(("127.0.0.1", server.port), timeout=WAIT_SECONDS)
                sockets.append(sock)
                sock.sendall(request)
            ports = {s.getsockname()[1] for s in sockets}

            deadline = time.monotonic() + WAIT_SECONDS
            while not ports <= accepted_client_ports(server.proc.pid, server.port):
                if time.monotonic() > deadline or server.proc.poll() is not None:
                    pytest.fail(f"the server did not accept the {IN_FLIGHT} connections:\n{server.stderr()}")
                time.sleep(0.01)
            os.kill(server.proc.pid, signal.SIGTERM)

            answers = []
            for sock in sockets:
                try:
                    answers.append(read_response(sock))
                except (ConnectionResetError, TimeoutError) as e:
                    answers.append(f"<{type(e).__name__}>".encode())
        finally:
            for sock in sockets:
                sock.close()

        code = server.wait_exit()
        log = server.stderr()

    for raw in answers:
        status, headers, body = parse_response(raw)
        assert status == 401, raw
        assert int(headers["content-length"]) == len(body), raw
        assert json.loads(body)["error"]["code"] == "unauthorized", raw
    assert code == 0, log
    lines = log.splitlines()
    note = [i for i, line in enumerate(lines) if "SIGTERM" in line]
    assert note, log
    assert any(line.endswith("http: stopped") for line in lines[note[0]:]), log
    logins = [i for i, line in enumerate(lines) if '"POST /api/v1/login" 401' in line]
    assert len(logins) == IN_FLIGHT, log
    # The point of the test: some of them were still running when SIGTERM came.
    assert logins[-1] > note[0], f"every login had finished before SIGTERM; nothing was drained:\n{log}"
    assert password not in log and "wrong password" not in log
    assert refuses(server.port), "the port still accepts connections after the server exited"


def test_sigint_also_stops_gracefully_with_exit_0(tmp_path: Path) -> None:
    with server_process(tmp_path) as server:
        server.wait_ready()
        os.kill(server.proc.pid, signal.SIGINT)
        code = server.wait_exit()
    log = server.stderr()
    assert code == 0, log
    assert "SIGINT" in log
    assert log.rstrip().endswith("http: stopped"), log
    assert "Traceback" not in log
    assert refuses(server.port)


@pytest.mark.parametrize("how", ["--port", "REALNET_SERVER_PORT"])
def test_a_port_in_use_is_exit_1_with_one_line_naming_the_address(tmp_path: Path, how: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        args = ["server", "--port", str(port)] if how == "--port" else ["server"]
        result = subprocess.run([*realnet_command(), *args], capture_output=True, text=True,
                                stdin=subprocess.DEVNULL, cwd=tmp_path, timeout=WAIT_SECONDS,
                                env=environment(REALNET_SERVER_PORT=str(port),
                                                REALNET_SERVER_HOST="127.0.0.1"))
    assert result.returncode == 1, result.stderr
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1, result.stderr
    assert f"127.0.0.1:{port}" in result.stderr
    assert "already in use" in result.stderr
    assert "Traceback" not in result.stderr
