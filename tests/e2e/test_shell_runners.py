"""Runners inside the shell: ``serve http``, ``jobs``, ``logs``, ``stop``.

The terminal tests drive ``realnet shell`` through tmux (the helpers of
``test_shell_terminal``) and talk HTTP to the runner from the test while the prompt
waits. The script tests pipe lines into ``realnet shell`` without a terminal.

Every wait is a bounded poll that stops a broken shell from hanging the run; none is a
performance assertion. Everything listens on 127.0.0.1 only.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shlex
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from test_shell_terminal import (
    ROOT_PROMPT,
    Terminal,
    clean_environment,
    last_line,
    open_terminal,
    realnet_command,
)

from realnet.resources.accounts import Directory

PROCESS_TIMEOUT = 60  # a guard against a hung process, not a performance assertion
SERVING = re.compile(r"http: serving on http://127\.0\.0\.1:(\d+) ")


class RunnerTerminal(Terminal):
    """A :class:`Terminal` that can start ``realnet shell`` with arguments and extra
    environment, and that can keep a dead pane so that its exit status can be read."""

    def launch(self, home: Path, *shell_args: str, env: dict[str, str] | None = None,
               keep_dead_pane: bool = False) -> None:
        """Start ``realnet shell SHELL_ARGS`` as the pane's own process.

        With ``keep_dead_pane`` the pane's process is the shell itself (no wrapper
        around it) and tmux keeps the pane after it ends, so :meth:`pane_state` can
        report whether it ended and with which status. Without it, the pane prints
        ``[realnet exited N]`` and waits, like :meth:`Terminal.start`.
        """
        assigns = [f"{k}={v}" for k, v in {"TERM": "xterm-256color", "REALNET_HOME": str(home),
                                           **(env or {})}.items()]
        shell = shlex.join(["env", *assigns, *realnet_command(), "shell", *shell_args])
        command = shell if keep_dead_pane else f'{shell}; echo "[realnet exited $?]"; sleep 3600'
        previous = self.target
        self.starts += 1
        self.target = f"shell{self.starts}"
        args = ["new-session", "-d", "-s", self.target, "-x", "120", "-y", "40",
                "-c", str(self.workdir), command]
        if keep_dead_pane:
            # In the same tmux command, so it is set before the shell could possibly end.
            args += [";", "set-option", "-t", self.target, "remain-on-exit", "on"]
        self.tmux(*args)
        if previous:
            self.tmux("kill-session", "-t", previous, check=False)
        else:
            where = self.tmux("display-message", "-p", "-t", self.target, "#{socket_path}",
                              check=False)
            self.socket_path = where.stdout.strip() or None

    def history(self) -> str:
        """The whole pane, scrollback included, with wrapped lines joined."""
        result = self.tmux("capture-pane", "-p", "-J", "-S", "-", "-t", self.target, check=False)
        return result.stdout if result.returncode == 0 else f"<no pane: {result.stderr.strip()}>"

    def pane_pid(self) -> int:
        result = self.tmux("display-message", "-p", "-t", self.target, "#{pane_pid}")
        return int(result.stdout.strip())

    def pane_exit(self, pid: int) -> str | None:
        """The exit status of the pane's process ``pid``, or None while it runs.

        tmux can mark a pane dead (its terminal closed) before it reaps the process and
        learns its status, and sometimes leaves it unreaped for a while, so the kernel's
        record of an ended process (a zombie's exit code) is read too.
        """
        dead, status = self.tmux("display-message", "-p", "-t", self.target,
                                 "#{pane_dead} #{pane_dead_status}", check=False
                                 ).stdout.strip().partition(" ")[::2]
        if dead == "1" and status:
            return status
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:  # reaped: tmux has the status
            return None
        if fields[0] not in ("Z", "X"):
            return None
        code = int(fields[49])  # field 52 of proc(5): the exit code as waitpid reports it
        return str(code >> 8) if code & 0x7F == 0 else f"signal {code & 0x7F}"

    def wait_for_pane_end(self, pid: int) -> str:
        """Wait until the pane's process ``pid`` has ended; return its exit status."""
        self.wait_until(lambda _s: self.pane_exit(pid) is not None, "the shell process to end")
        status = self.pane_exit(pid)
        assert status is not None
        return status


@pytest.fixture
def terminal(tmp_path: Path) -> Iterator[RunnerTerminal]:
    yield from open_terminal(RunnerTerminal, tmp_path)  # type: ignore[misc]


@pytest.fixture
def home(realnet_home: Path) -> Path:
    """The store the shell uses is this test's store (conftest's REALNET_HOME)."""
    return realnet_home


# -- helpers -------------------------------------------------------------------------------

def lines_of(screen: str) -> list[str]:
    return [line.rstrip() for line in screen.splitlines()]


def output_of(screen: str, prompt_line: str) -> list[str]:
    """The lines a command printed: after its last ``prompt_line``, up to the next prompt."""
    lines = lines_of(screen)
    assert prompt_line in lines, f"{prompt_line!r} is not on the screen:\n{screen}"
    at = len(lines) - 1 - lines[::-1].index(prompt_line)
    out = []
    for line in lines[at + 1:]:
        if re.match(r"^\S+@\S+:\S*\$", line):
            break
        out.append(line)
    while out and not out[-1]:
        out.pop()
    return out


def port_of(text: str) -> int:
    match = SERVING.search(text)
    assert match, f"no 'http: serving on http://127.0.0.1:PORT' line in:\n{text}"
    return int(match.group(1))


def refuses(port: int) -> bool:
    """True when nothing accepts connections on 127.0.0.1:port."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            return False
    except ConnectionRefusedError:
        return True


def listening_socket() -> socket.socket:
    """A socket of the test's own, listening on a free loopback port."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(1)
    return sock


def admin_token(home: Path) -> str:
    from realnet.app import open_context
    from realnet.config import load_settings

    context = open_context(load_settings())
    try:
        return Directory(context).create_token("admin", f"e2e-{secrets.token_hex(3)}",
                                               expires=None).token
    finally:
        context.provider.close()


def jobs_row(line: str) -> str:
    return " ".join(line.split())


# -- in a real terminal --------------------------------------------------------------------

@pytest.mark.terminal
def test_serve_answers_while_the_prompt_waits_and_logs_stay_off_the_screen(
        terminal: RunnerTerminal, home: Path) -> None:
    token = admin_token(home)
    terminal.launch(home)
    terminal.wait_for_prompt()

    screen = terminal.run("serve http --port 0")
    out = output_of(screen, f"{ROOT_PROMPT} serve http --port 0")
    assert len(out) == 1, screen
    port = port_of(out[0])
    url = f"http://127.0.0.1:{port}"
    assert last_line(screen) == ROOT_PROMPT
    before = terminal.history()

    # The prompt waits for input; the runner answers meanwhile.
    with httpx.Client(base_url=url, timeout=30) as http:
        health = http.get("/healthz")
        assert health.status_code == 200, health.text
        assert health.json() == {"status": "ok"}
        item = http.get("/api/v1/items/home", headers={"Authorization": f"Bearer {token}"})
        assert item.status_code == 200, item.text
        assert item.json()["path"] == "/home"

    # Nothing was drawn under or across the waiting prompt.
    assert terminal.history() == before
    assert last_line(terminal.screen()) == ROOT_PROMPT

    screen = terminal.run("jobs")
    out = output_of(screen, f"{ROOT_PROMPT} jobs")
    rows = [jobs_row(line) for line in out if line.startswith("http")]
    assert len(rows) == 1, screen
    assert re.fullmatch(rf"http running 127\.0\.0\.1:{port} 2 requests 0 errors up \d+\S*", rows[0]), \
        screen

    # No access-log line appeared anywhere before 'logs' was typed.
    history = terminal.history()
    assert '"GET /healthz"' not in history, history
    assert "/api/v1/items/home" not in history, history

    screen = terminal.run("logs http -n 5")
    out = output_of(screen, f"{ROOT_PROMPT} logs http -n 5")
    assert 1 <= len(out) <= 5, screen
    access = [line for line in out if '"GET ' in line]
    assert len(access) == 2, screen
    assert re.search(r'127\.0\.0\.1 "GET /healthz" 200 ', access[0]), screen
    assert re.search(r'127\.0\.0\.1 "GET /api/v1/items/home" 200 ', access[1]), screen
    history = terminal.history()
    assert token not in history  # the access log never carries the Authorization header
    logs_at = lines_of(history).index(f"{ROOT_PROMPT} logs http -n 5")
    for number, line in enumerate(lines_of(history)):
        if '"GET /healthz"' in line:
            assert number > logs_at, f"a log line was printed before 'logs':\n{history}"

    screen = terminal.run("stop http")
    assert output_of(screen, f"{ROOT_PROMPT} stop http") == ["http: stopped"], screen
    assert refuses(port), f"{url} still accepts connections after 'stop http'"

    screen = terminal.run("jobs")
    rows = [jobs_row(line) for line in output_of(screen, f"{ROOT_PROMPT} jobs") if line.startswith("http")]
    assert rows == [f"http stopped 127.0.0.1:{port} 2 requests 0 errors"], screen

    screen = terminal.run("pwd")
    assert output_of(screen, f"{ROOT_PROMPT} pwd") == ["/"], screen
    assert "Traceback" not in terminal.history()
    terminal.exit_with_ctrl_d()


@pytest.mark.terminal
def test_a_port_in_use_is_one_line_and_the_shell_goes_on(terminal: RunnerTerminal, home: Path) -> None:
    taken = listening_socket()
    try:
        port = taken.getsockname()[1]
        terminal.launch(home)
        terminal.wait_for_prompt()

        screen = terminal.run(f"serve http --port {port}")
        out = output_of(screen, f"{ROOT_PROMPT} serve http --port {port}")
        assert len(out) == 1, screen
        assert f"127.0.0.1:{port}" in out[0], screen
        assert "already in use" in out[0], screen
        assert last_line(screen) == ROOT_PROMPT

        screen = terminal.run("jobs")
        assert not any(line.startswith("http running") or "running" in line
                       for line in output_of(screen, f"{ROOT_PROMPT} jobs")), screen
        screen = terminal.run("pwd")
        assert output_of(screen, f"{ROOT_PROMPT} pwd") == ["/"], screen
    finally:
        taken.close()

    # Once the port is free again, the same command works in the same shell.
    screen = terminal.run(f"serve http --port {port}")
    assert port_of("\n".join(output_of(screen, f"{ROOT_PROMPT} serve http --port {port}"))) == port
    with httpx.Client(timeout=30) as http:
        assert http.get(f"http://127.0.0.1:{port}/healthz").status_code == 200
    screen = terminal.run("stop http")
    assert output_of(screen, f"{ROOT_PROMPT} stop http") == ["http: stopped"], screen
    assert "Traceback" not in terminal.history()
    terminal.exit_with_ctrl_d()


@pytest.mark.terminal
def test_ctrl_d_stops_a_running_runner_and_the_shell_process_ends(terminal: RunnerTerminal,
                                                                  home: Path) -> None:
    terminal.launch(home, keep_dead_pane=True)
    pid = terminal.pane_pid()
    terminal.wait_for_prompt()
    screen = terminal.run("serve http --port 0")
    port = port_of(screen)
    with httpx.Client(timeout=30) as http:
        assert http.get(f"http://127.0.0.1:{port}/healthz").status_code == 200

    terminal.keys("C-d")
    status = terminal.wait_for_pane_end(pid)
    assert status == "0", terminal.history()
    assert "stopping http" in terminal.history()
    assert refuses(port), f"127.0.0.1:{port} still accepts connections after the shell ended"
    assert "Traceback" not in terminal.history()


# -- without a terminal ----------------------------------------------------------------------

def shell_environment(home: Path) -> dict[str, str]:
    env = clean_environment(home)
    env["TERM"] = "xterm-256color"
    return env


def json_documents(text: str) -> list[object]:
    """Every JSON value in ``text``, skipping the plain lines between them."""
    decoder = json.JSONDecoder()
    found, at = [], 0
    while at < len(text):
        if text[at] in "[{":
            value, at = decoder.raw_decode(text, at)
            found.append(value)
        else:
            at += 1
    return found


def test_a_piped_script_serves_lists_stops_and_lists_again(home: Path) -> None:
    script = "serve http --port 0\\njobs -o json\\nstop http\\njobs -o json\\n"
    command = f"printf '{script}' | {shlex.join([*realnet_command(), 'shell'])}"
    result = subprocess.run(["sh", "-c", command], capture_output=True, text=True,
                            env=shell_environment(home), cwd=home.parent, timeout=PROCESS_TIMEOUT)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    port = port_of(result.stdout)
    running, stopped = json_documents(result.stdout)
    assert isinstance(running, list) and len(running) == 1, result.stdout
    assert running[0]["name"] == "http"
    assert running[0]["state"] == "running"
    assert running[0]["address"] == f"127.0.0.1:{port}"
    assert isinstance(stopped, list) and len(stopped) == 1, result.stdout
    assert stopped[0]["state"] == "stopped"
    assert stopped[0]["address"] == f"127.0.0.1:{port}"
    assert "http: stopped\n" in result.stdout
    assert "\x1b[" not in result.stdout
    assert refuses(port)


def test_a_runner_answers_while_a_script_waits_for_its_next_line(home: Path) -> None:
    """Script mode reads stdin off the event loop, so the runner is not starved."""
    proc = subprocess.Popen([*realnet_command(), "shell"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=shell_environment(home), cwd=home.parent)
    # Reads below block; a hung shell is killed so that they end (a guard, not a timing check).
    guard = threading.Timer(PROCESS_TIMEOUT, proc.kill)
    guard.start()
    try:
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write("serve http --port 0\n")
        proc.stdin.flush()
        port = port_of(proc.stdout.readline())
        with httpx.Client(timeout=30) as http:
            for _ in range(3):  # the shell is blocked reading its next line meanwhile
                assert http.get(f"http://127.0.0.1:{port}/healthz").status_code == 200
        proc.stdin.write("jobs\n")
        proc.stdin.close()  # end of the script with the runner still running
        out = proc.stdout.read()
        err = proc.stderr.read() if proc.stderr is not None else ""
        proc.wait(timeout=PROCESS_TIMEOUT)
    finally:
        guard.cancel()
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=PROCESS_TIMEOUT)
    assert proc.returncode == 0, err
    row = jobs_row(out.strip().splitlines()[-1])
    assert re.fullmatch(rf"http running 127\.0\.0\.1:{port} 3 requests 0 errors up \d+\S*", row), out
    assert err == "stopping http …\n"
    assert refuses(port), "the runner outlived the shell"


@pytest.mark.parametrize("command", ["jobs", "logs http", "stop http", "serve http --port 0"])
def test_runner_commands_outside_the_shell_say_where_they_live(home: Path, command: str) -> None:
    result = subprocess.run([*realnet_command(), *command.split()], capture_output=True, text=True,
                            env=shell_environment(home), cwd=home.parent, timeout=PROCESS_TIMEOUT,
                            stdin=subprocess.DEVNULL)
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1, result.stderr
    assert "realnet shell" in result.stderr and "realnet server" in result.stderr


def test_logs_and_stop_of_a_runner_never_started_are_one_line(home: Path) -> None:
    result = subprocess.run([*realnet_command(), "shell", "--keep-going"], input="logs http\nstop http\n",
                            capture_output=True, text=True, env=shell_environment(home),
                            cwd=home.parent, timeout=PROCESS_TIMEOUT)
    assert result.returncode != 0
    lines = result.stderr.splitlines()
    assert len(lines) == 2, result.stderr
    assert lines[0].startswith("stdin:1: logs: ") and "http" in lines[0], result.stderr
    assert lines[1].startswith("stdin:2: stop: ") and "http" in lines[1], result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.terminal
def test_ctrl_c_at_the_prompt_leaves_the_runner_running(terminal: RunnerTerminal, home: Path) -> None:
    terminal.launch(home)
    terminal.wait_for_prompt()
    port = port_of(terminal.run("serve http --port 0"))
    terminal.type("ls /some/half/typed")
    terminal.wait_for_last_line(f"{ROOT_PROMPT} ls /some/half/typed")
    terminal.keys("C-c")
    terminal.wait_for_prompt()
    with httpx.Client(timeout=30) as http:
        assert http.get(f"http://127.0.0.1:{port}/healthz").status_code == 200
    screen = terminal.run("jobs")
    rows = [jobs_row(line) for line in output_of(screen, f"{ROOT_PROMPT} jobs") if line.startswith("http")]
    assert len(rows) == 1 and rows[0].startswith(f"http running 127.0.0.1:{port} 1 requests"), screen
    terminal.run("stop http")
    assert refuses(port)
    terminal.exit_with_ctrl_d()


# -- a graceful stop from the shell, with requests in flight ---------------------------------

def accepted_client_ports(pid: int, server_port: int) -> set[int]:
    """Client ports of the loopback connections that process ``pid`` has accept()ed
    (a connection still in the listen queue belongs to no process yet)."""
    owned = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            owned.add(target[8:-1])
    ports = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[1].split(":")[1], 16) == server_port and fields[9] in owned:
            ports.add(int(fields[2].split(":")[1], 16))
    return ports


def slow_logins(port: int, count: int) -> list[socket.socket]:
    """``count`` wrong-password logins (each costs a scrypt hash on the server), sent on
    raw connections; two accounts keep every attempt within the per-account limit."""
    sockets = []
    for number in range(count):
        body = json.dumps({"user": ("bob", "carol")[number % 2], "password": f"wrong {number}"}).encode()
        sock = socket.create_connection(("127.0.0.1", port), timeout=PROCESS_TIMEOUT)
        sockets.append(sock)
        sock.sendall((f"POST /api/v1/login HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                      f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
                      "Connection: close\r\n\r\n").encode() + body)
    return sockets


def complete_status(sock: socket.socket) -> int:
    """Read a whole response to EOF and check its body is all there; return the status."""
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    raw = b"".join(chunks)
    head, _, body = raw.partition(b"\r\n\r\n")
    match = re.match(rb"HTTP/1\.1 (\d{3}) ", head)
    assert match, raw
    length = re.search(rb"(?im)^content-length: *(\d+)", head)
    assert length and int(length.group(1)) == len(body), raw
    return int(match.group(1))


def test_stop_in_the_shell_lets_in_flight_requests_finish(home: Path, context) -> None:
    directory = Directory(context)
    for name in ("bob", "carol"):
        directory.add_user(name, password="the right password 123")
    proc = subprocess.Popen([*realnet_command(), "shell"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=shell_environment(home), cwd=home.parent)
    guard = threading.Timer(PROCESS_TIMEOUT, proc.kill)  # ends blocking reads of a hung shell
    guard.start()
    sockets: list[socket.socket] = []
    try:
        assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
        proc.stdin.write("serve http --port 0\n")
        proc.stdin.flush()
        port = port_of(proc.stdout.readline())
        sockets = slow_logins(port, 10)
        wanted = {s.getsockname()[1] for s in sockets}
        for _ in range(int(PROCESS_TIMEOUT / 0.01)):
            if wanted <= accepted_client_ports(proc.pid, port):
                break
            time.sleep(0.01)
        else:
            pytest.fail("the shell's runner never accepted the connections")
        proc.stdin.write(f"stop http --deadline {PROCESS_TIMEOUT - 10}\nlogs http -n 30\n")
        proc.stdin.close()
        statuses = []
        for sock in sockets:
            sock.settimeout(PROCESS_TIMEOUT)
            try:
                statuses.append(complete_status(sock))
            except (ConnectionResetError, TimeoutError) as e:
                statuses.append(type(e).__name__)
        out = proc.stdout.read()
        err = proc.stderr.read()
        proc.wait(timeout=PROCESS_TIMEOUT)
    finally:
        guard.cancel()
        for sock in sockets:
            sock.close()
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=PROCESS_TIMEOUT)
    assert statuses == [401] * 10, statuses
    assert proc.returncode == 0, err
    assert err == ""
    lines = out.splitlines()
    assert "http: stopped" in lines, out
    logs = lines[lines.index("http: stopped") + 1:]
    stopping = next(i for i, line in enumerate(logs) if "http: stopping" in line)
    logins = [i for i, line in enumerate(logs) if '"POST /api/v1/login" 401' in line]
    assert len(logins) == 10, out
    assert logins[-1] > stopping, f"every login had finished before the stop; nothing was drained:\n{out}"
    assert logs[-1].endswith("http: stopped"), out
    assert refuses(port)


def test_a_second_serve_while_running_is_one_line(home: Path) -> None:
    result = subprocess.run([*realnet_command(), "shell", "--keep-going"],
                            input="serve http --port 0\nserve http --port 0\njobs\nstop http\n",
                            capture_output=True, text=True, env=shell_environment(home),
                            cwd=home.parent, timeout=PROCESS_TIMEOUT)
    port = port_of(result.stdout)
    assert result.returncode != 0
    errors = result.stderr.splitlines()
    assert len(errors) == 1, result.stderr
    assert errors[0].startswith("stdin:2: serve: ") and "already running" in errors[0], result.stderr
    assert f"127.0.0.1:{port}" in errors[0], result.stderr
    rows = [jobs_row(x) for x in result.stdout.splitlines() if x.startswith("http\t")]
    assert len(rows) == 1 and rows[0].startswith(f"http running 127.0.0.1:{port} "), result.stdout
    assert "http: stopped" in result.stdout


@pytest.mark.terminal
def test_ctrl_d_lets_in_flight_requests_finish_before_the_shell_ends(
        terminal: RunnerTerminal, home: Path, context) -> None:
    directory = Directory(context)
    for name in ("bob", "carol"):
        directory.add_user(name, password="the right password 123")
    terminal.launch(home, keep_dead_pane=True)
    pid = terminal.pane_pid()
    terminal.wait_for_prompt()
    port = port_of(terminal.run("serve http --port 0"))
    sockets = slow_logins(port, 10)
    try:
        wanted = {s.getsockname()[1] for s in sockets}
        for _ in range(int(PROCESS_TIMEOUT / 0.01)):
            if wanted <= accepted_client_ports(pid, port):
                break
            time.sleep(0.01)
        else:
            pytest.fail("the shell's runner never accepted the connections")
        terminal.keys("C-d")
        statuses = []
        for sock in sockets:
            sock.settimeout(PROCESS_TIMEOUT)
            try:
                statuses.append(complete_status(sock))
            except (ConnectionResetError, TimeoutError) as e:
                statuses.append(type(e).__name__)
    finally:
        for sock in sockets:
            sock.close()
    assert statuses == [401] * 10, statuses
    assert terminal.wait_for_pane_end(pid) == "0", terminal.history()
    assert refuses(port)


def test_a_failing_script_line_stops_the_script_and_its_runner(home: Path) -> None:
    result = subprocess.run([*realnet_command(), "shell"],
                            input="serve http --port 0\nls /nope\njobs\n",
                            capture_output=True, text=True, env=shell_environment(home),
                            cwd=home.parent, timeout=PROCESS_TIMEOUT)
    port = port_of(result.stdout)
    assert result.returncode == 1
    assert result.stderr == "stdin:2: ls: /nope: no such item\nstopping http …\n"
    assert "running" not in result.stdout  # 'jobs' never ran
    assert refuses(port)


def test_dash_c_starts_and_stops_a_runner(home: Path) -> None:
    result = subprocess.run([*realnet_command(), "shell", "-c", "serve http --port 0; jobs -o json"],
                            capture_output=True, text=True, env=shell_environment(home),
                            cwd=home.parent, timeout=PROCESS_TIMEOUT, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stderr
    port = port_of(result.stdout)
    (jobs,) = json_documents(result.stdout)
    assert isinstance(jobs, list) and jobs[0]["state"] == "running", result.stdout
    assert result.stderr == "stopping http …\n"
    assert refuses(port)
