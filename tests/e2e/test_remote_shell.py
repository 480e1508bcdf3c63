"""The shell and the CLI against a remote Realnet (``--url``/``--token``).

The server is the ``api`` fixture: a real HTTP runner on 127.0.0.1 over this test's
store (conftest's REALNET_HOME). The remote shell runs as its own process with a
different, empty REALNET_HOME, so whatever it changes can only have reached the store
through the API; the test then looks at the store directly (the ``context`` fixture).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from test_shell_runners import RunnerTerminal, lines_of, output_of, terminal  # noqa: F401
from test_shell_terminal import clean_environment, realnet_command

from realnet.core.errors import NotFound
from realnet.resources.accounts import Directory

PROCESS_TIMEOUT = 60  # a guard against a hung process, not a performance assertion


@pytest.fixture
def client_home(tmp_path: Path) -> Path:
    """REALNET_HOME of the remote client: not the server's store."""
    return tmp_path / "client"


def environment(home: Path, **extra: str) -> dict[str, str]:
    env = clean_environment(home)
    env["TERM"] = "xterm-256color"
    env.update(extra)
    return env


def realnet(home: Path, *args: str, stdin: str = "", **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*realnet_command(), *args], input=stdin, capture_output=True, text=True,
                          env=environment(home, **env), cwd=home.parent, timeout=PROCESS_TIMEOUT)


def piped_shell(home: Path, script: str, *args: str) -> subprocess.CompletedProcess[str]:
    """``printf SCRIPT | realnet shell ARGS``, as a user would type it."""
    command = f"printf %s {shlex.quote(script)} | {shlex.join([*realnet_command(), 'shell', *args])}"
    return subprocess.run(["sh", "-c", command], capture_output=True, text=True,
                          env=environment(home), cwd=home.parent, timeout=PROCESS_TIMEOUT)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def add_user_with_token(context, name: str) -> str:
    directory = Directory(context)
    directory.add_user(name, password=None)
    return directory.create_token(name, "remote-tests", expires=None).token


def one_line(text: str) -> str:
    assert text.endswith("\n") and text.count("\n") == 1, repr(text)
    assert "Traceback" not in text
    return text.rstrip("\n")


# -- the interactive remote shell in a real terminal -----------------------------------------

@pytest.mark.terminal
def test_a_remote_shell_in_a_terminal_works_on_the_servers_store(
        terminal: RunnerTerminal, api, context, client_home: Path, realnet_home: Path) -> None:  # noqa: F811
    address = urlsplit(api.url).netloc
    root = f"admin@{address}:/$"
    projects = f"admin@{address}:/projects$"

    terminal.launch(client_home, "--url", api.url, "--token", api.token)
    terminal.wait_for_prompt(root)

    screen = terminal.run("ls /", root)
    assert output_of(screen, f"{root} ls /") == ["apps  clusters  home  system  types"], screen

    screen = terminal.run("create /projects -t Folder", root)
    assert output_of(screen, f"{root} create /projects -t Folder") == ["created /projects"], screen
    assert context.get("/projects").type == "Folder"

    terminal.run("cd /projects", projects)

    screen = terminal.run("create plan -t Document -a title=Plan", projects)
    assert output_of(screen, f"{projects} create plan -t Document -a title=Plan") == \
        ["created /projects/plan"], screen
    stored = context.get("/projects/plan")
    assert stored.type == "Document"
    assert stored.attributes["title"] == "Plan"
    assert stored.owner == "admin"

    screen = terminal.run("ls -l", projects)
    rows = [line.split() for line in output_of(screen, f"{projects} ls -l")]
    assert rows[0] == ["type", "version", "updated", "name"], screen
    assert len(rows) == 2 and rows[1][0] == "Document" and rows[1][1] == "1" \
        and rows[1][-1] == "plan", screen

    screen = terminal.run("get plan -o json", projects)
    shown = json.loads("\n".join(output_of(terminal.history(), f"{projects} get plan -o json")))
    assert shown["path"] == "/projects/plan"
    assert shown["id"] == stored.id
    assert shown["type"] == "Document"
    assert shown["version"] == 1
    assert shown["attributes"]["title"] == "Plan"

    screen = terminal.run("set plan title=New", projects)
    assert output_of(screen, f"{projects} set plan title=New") == \
        ["updated /projects/plan (version 2)"], screen
    stored = context.get("/projects/plan")
    assert stored.attributes["title"] == "New"
    assert stored.version == 2

    screen = terminal.run("rm plan", projects)
    assert output_of(screen, f"{projects} rm plan") == ["removed 1 item(s)"], screen
    with pytest.raises(NotFound):
        context.get("/projects/plan")
    screen = terminal.run("ls", projects)
    assert output_of(screen, f"{projects} ls") == [], screen

    assert "Traceback" not in terminal.history()
    terminal.keys("C-d")
    terminal.wait_for("[realnet exited 0]")
    # The client never opened a store of its own.
    assert not (client_home / "realnet.db").exists()


@pytest.mark.terminal
def test_a_remote_shell_prompt_names_a_non_admin_account(
        terminal: RunnerTerminal, api, context, client_home: Path) -> None:  # noqa: F811
    token = add_user_with_token(context, "alice")
    address = urlsplit(api.url).netloc
    root = f"alice@{address}:/$"
    terminal.launch(client_home, "--url", api.url, "--token", token)
    terminal.wait_for_prompt(root)
    screen = terminal.run("ls /system", root)
    assert output_of(screen, f"{root} ls /system") == ["ls: /system: no such item"], screen
    screen = terminal.run("whoami", root)
    assert output_of(screen, f"{root} whoami") == ["alice (authenticated, public)"], screen
    terminal.keys("C-d")
    terminal.wait_for("[realnet exited 0]")


# -- scripts and the CLI, no terminal -------------------------------------------------------

def test_a_piped_remote_shell_prints_what_the_local_shell_prints(
        api, realnet_home: Path, client_home: Path) -> None:
    script = "ls /\nwhoami\n"
    remote = piped_shell(client_home, script, "--url", api.url, "--token", api.token)
    local = piped_shell(realnet_home, script)
    assert remote.returncode == 0, remote.stderr
    assert local.returncode == 0, local.stderr
    assert remote.stderr == local.stderr == ""
    assert local.stdout == "apps\nclusters\nhome\nsystem\ntypes\nadmin (admins, authenticated, public)\n"
    assert remote.stdout == local.stdout


@pytest.mark.parametrize("args", [("ls", "/", "-o", "json"), ("ls", "-l", "/"), ("get", "/home", "-o", "json"),
                                  ("whoami", "-o", "json")], ids=" ".join)
def test_remote_cli_commands_print_what_local_ones_print(
        api, realnet_home: Path, client_home: Path, args: tuple[str, ...]) -> None:
    remote = realnet(client_home, "--url", api.url, "--token", api.token, *args)
    local = realnet(realnet_home, *args)
    assert remote.returncode == 0, remote.stderr
    assert local.returncode == 0, local.stderr
    if args[0] == "whoami":  # the only field that must differ: where the store is
        remote_data, local_data = json.loads(remote.stdout), json.loads(local.stdout)
        assert remote_data.pop("store") == urlsplit(api.url).netloc
        local_data.pop("store")
        assert remote_data == local_data
    else:
        assert remote.stdout == local.stdout
    assert remote.stderr == local.stderr == ""


def test_realnet_url_and_token_from_the_environment(api, realnet_home: Path, client_home: Path) -> None:
    remote = realnet(client_home, "ls", "/", "-o", "json", REALNET_URL=api.url, REALNET_TOKEN=api.token)
    local = realnet(realnet_home, "ls", "/", "-o", "json")
    assert remote.returncode == 0, remote.stderr
    assert remote.stdout == local.stdout


def test_a_bad_token_is_one_line_and_exit_1(api, client_home: Path) -> None:
    cli = realnet(client_home, "--url", api.url, "--token", "rn_not-a-real-token", "ls", "/")
    assert cli.returncode == 1
    assert cli.stdout == ""
    line = one_line(cli.stderr)
    assert "token" in line and "not valid" in line
    assert "rn_not-a-real-token" not in line

    shell = piped_shell(client_home, "ls /\n", "--url", api.url, "--token", "rn_not-a-real-token")
    assert shell.returncode == 1
    assert shell.stdout == ""
    assert one_line(shell.stderr) == line


def test_an_unreachable_url_is_one_line_naming_it_and_exit_1(client_home: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    cli = realnet(client_home, "--url", url, "--token", "rn_whatever", "ls", "/")
    assert cli.returncode == 1
    assert cli.stdout == ""
    line = one_line(cli.stderr)
    assert url in line

    shell = piped_shell(client_home, "ls /\n", "--url", url, "--token", "rn_whatever")
    assert shell.returncode == 1
    assert shell.stdout == ""
    assert url in one_line(shell.stderr)


def test_commands_that_need_the_store_refuse_over_url(api, client_home: Path) -> None:
    cli = realnet(client_home, "--url", api.url, "--token", api.token, "user", "list")
    assert cli.returncode == 1
    assert cli.stdout == ""
    line = one_line(cli.stderr)
    assert "direct access to the store" in line

    shell = piped_shell(client_home, "user list\n", "--url", api.url, "--token", api.token)
    assert shell.returncode == 1
    assert "direct access to the store" in one_line(shell.stderr)


def test_as_is_refused_over_url(api, client_home: Path) -> None:
    cli = realnet(client_home, "--url", api.url, "--token", api.token, "--as", "alice", "ls", "/")
    assert cli.returncode != 0
    assert cli.stdout == ""
    assert "--as" in one_line(cli.stderr)


@pytest.mark.parametrize("args", [
    ("ls", "/system"),
    ("get", "/system"),
    ("ls", "/"),
    ("whoami",),
    ("create", "/intruder", "-t", "Folder"),
    ("rm", "/home"),
    ("set", "/apps", "title=Mine"),
    ("user", "list"),
    ("token", "create", "admin", "--name", "stolen"),
], ids=" ".join)
def test_permissions_over_url_are_the_local_ones(
        api, context, realnet_home: Path, client_home: Path, args: tuple[str, ...]) -> None:
    token = add_user_with_token(context, "alice")
    remote = realnet(client_home, "--url", api.url, "--token", token, *args)
    local = realnet(realnet_home, "--as", "alice", *args)
    assert (remote.returncode, remote.stdout, remote.stderr) == \
        (local.returncode, local.stdout, local.stderr)
    assert "Traceback" not in remote.stderr


def test_denied_changes_over_url_leave_the_store_alone(api, context, client_home: Path) -> None:
    token = add_user_with_token(context, "alice")
    before = context.get("/apps")
    for args in (("create", "/intruder", "-t", "Folder"), ("set", "/apps", "title=Mine"),
                 ("rm", "-r", "--force", "/apps")):
        result = realnet(client_home, "--url", api.url, "--token", token, *args)
        assert result.returncode == 1, (args, result.stdout, result.stderr)
        assert re.match(r"realnet: .+", one_line(result.stderr))
    with pytest.raises(NotFound):
        context.get("/intruder")
    after = context.get("/apps")
    assert (after.version, after.attributes) == (before.version, before.attributes)


def test_a_user_works_in_their_home_over_url(api, context, realnet_home: Path, client_home: Path) -> None:
    token = add_user_with_token(context, "alice")
    result = piped_shell(client_home, "cd ~\npwd\ncreate notes -t Document -a title=Mine\nls\n",
                         "--url", api.url, "--token", token)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "/home/alice\ncreated /home/alice/notes\nnotes\n"
    stored = context.get("/home/alice/notes")
    assert stored.owner == "alice"
    assert stored.attributes["title"] == "Mine"
    assert lines_of(realnet(realnet_home, "--as", "alice", "ls", "/home/alice").stdout) == ["notes"]


@pytest.mark.terminal
def test_tab_completion_in_a_remote_shell_asks_the_server(
        terminal: RunnerTerminal, api, client_home: Path) -> None:  # noqa: F811
    root = f"admin@{urlsplit(api.url).netloc}:/$"
    terminal.launch(client_home, "--url", api.url, "--token", api.token)
    terminal.wait_for_prompt(root)
    terminal.type("cd /ap")
    terminal.keys("Tab")
    terminal.wait_for_last_line(f"{root} cd /apps/")
    terminal.keys("Enter")
    terminal.wait_for_prompt(f"admin@{urlsplit(api.url).netloc}:/apps$")


@pytest.mark.terminal
def test_serve_in_a_remote_shell_never_serves_another_store_than_the_prompt_names(
        terminal: RunnerTerminal, api, context, client_home: Path) -> None:  # noqa: F811
    """The prompt names the remote store. ``serve http`` there must either refuse in one
    line (it needs direct access to a store) or serve that same store, never quietly
    create and serve a new local one in the client's REALNET_HOME."""
    context.create("/marker", "Folder")
    root = f"admin@{urlsplit(api.url).netloc}:/$"
    terminal.launch(client_home, "--url", api.url, "--token", api.token)
    terminal.wait_for_prompt(root)
    screen = terminal.run("serve http --port 0", root)
    out = output_of(screen, f"{root} serve http --port 0")
    assert len(out) == 1, screen
    if out[0].startswith("http: serving on "):
        port = int(re.search(r"127\.0\.0\.1:(\d+)", out[0]).group(1))
        with httpx.Client(timeout=30) as http:
            marker = http.get(f"http://127.0.0.1:{port}/api/v1/items/marker",
                              headers={"Authorization": f"Bearer {api.token}"})
        terminal.run("stop http", root)
        assert marker.status_code == 200, (
            f"'serve http' in a shell on {api.url} serves a different store: GET /marker with "
            f"the remote token gave {marker.status_code} {marker.text}")
    else:
        assert out[0].startswith("serve: "), screen
    assert not (client_home / "realnet.db").exists(), \
        f"'serve http' in a remote shell created a local store: {sorted(p.name for p in client_home.iterdir())}"


@pytest.mark.terminal
def test_a_remote_shell_outlives_its_server_and_reconnects(
        terminal: RunnerTerminal, realnet_home: Path, client_home: Path, tmp_path: Path) -> None:  # noqa: F811
    """With ``realnet server`` as a process and a token made with the CLI."""
    made = realnet(realnet_home, "token", "create", "admin", "--name", "remote-shell", "-o", "json")
    assert made.returncode == 0, made.stderr
    token = json.loads(made.stdout)["token"]
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    root = f"admin@127.0.0.1:{port}:/$"

    def start_server() -> subprocess.Popen[bytes]:
        with (tmp_path / "server.err").open("ab") as err:
            proc = subprocess.Popen([*realnet_command(), "server"], stdin=subprocess.DEVNULL,
                                    stdout=subprocess.DEVNULL, stderr=err, cwd=tmp_path,
                                    env=environment(realnet_home, REALNET_SERVER_PORT=str(port)))
        with httpx.Client(timeout=5) as http:
            for _ in range(600):
                if proc.poll() is not None:
                    pytest.fail(f"realnet server exited: {(tmp_path / 'server.err').read_text()}")
                try:
                    if http.get(f"{url}/readyz").status_code == 200:
                        return proc
                except httpx.TransportError:
                    pass
                time.sleep(0.05)
        pytest.fail("realnet server never became ready")

    servers = [start_server()]
    try:
        terminal.launch(client_home, "--url", url, "--token", token)
        terminal.wait_for_prompt(root)
        screen = terminal.run("ls /", root)
        assert output_of(screen, f"{root} ls /") == ["apps  clusters  home  system  types"], screen

        os.kill(servers[0].pid, signal.SIGTERM)
        assert servers[0].wait(timeout=PROCESS_TIMEOUT) == 0

        screen = terminal.run("ls /", root)
        out = output_of(screen, f"{root} ls /")
        assert len(out) == 1 and url in out[0] and out[0].startswith("ls: "), screen
        screen = terminal.run("pwd", root)
        assert output_of(screen, f"{root} pwd") == ["/"], screen

        servers.append(start_server())
        screen = terminal.run("ls /", root)
        assert output_of(screen, f"{root} ls /") == ["apps  clusters  home  system  types"], screen
        assert "Traceback" not in terminal.history()
        terminal.keys("C-d")
        terminal.wait_for("[realnet exited 0]")
    finally:
        for proc in servers:
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait(timeout=PROCESS_TIMEOUT)


def remote_session(api, client_home: Path, token: str, first: str, first_lines: int,
                   change, then: str) -> tuple[list[str], subprocess.CompletedProcess[str]]:
    """A piped remote shell: run ``first`` (read its ``first_lines`` lines), make ``change``
    on the server's store while the session is open, then run ``then`` and end."""
    proc = subprocess.Popen([*realnet_command(), "shell", "--url", api.url, "--token", token],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=environment(client_home), cwd=client_home.parent)
    guard = threading.Timer(PROCESS_TIMEOUT, proc.kill)  # ends blocking reads of a hung shell
    guard.start()
    try:
        assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
        proc.stdin.write(first + "\n")
        proc.stdin.flush()
        before = [proc.stdout.readline() for _ in range(first_lines)]
        change()
        proc.stdin.write(then + "\n")
        proc.stdin.close()
        out, err = proc.stdout.read(), proc.stderr.read()
        proc.wait(timeout=PROCESS_TIMEOUT)
    finally:
        guard.cancel()
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=PROCESS_TIMEOUT)
    return before, subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def test_a_token_revoked_during_a_remote_session_fails_the_next_command(
        api, context, client_home: Path) -> None:
    token = add_user_with_token(context, "alice")
    before, after = remote_session(
        api, client_home, token, "ls /", 3,
        lambda: Directory(context).revoke_token("alice", "remote-tests"), "ls /")
    assert before == ["apps\n", "home\n", "types\n"]  # home: on the way to her own
    assert after.returncode == 1, after.stderr
    assert after.stdout == ""
    line = one_line(after.stderr)
    assert line.startswith("stdin:2: ls: ") and "not valid" in line, after.stderr


def test_whoami_in_a_remote_shell_is_as_fresh_as_in_a_local_one(
        api, context, realnet_home: Path, client_home: Path) -> None:
    """A local shell re-reads the account's groups before every command; 'whoami' in a
    remote shell should likewise show the groups the server knows now."""
    token = add_user_with_token(context, "alice")
    directory = Directory(context)
    directory.add_group("editors")

    # The local shell, for reference: the new group shows at once.
    proc = subprocess.Popen([*realnet_command(), "shell", "--as", "alice"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=environment(realnet_home), cwd=realnet_home.parent)
    try:
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write("whoami\n")
        proc.stdin.flush()
        local_before = proc.stdout.readline()
        directory.change_membership("editors", "alice", add=True)
        proc.stdin.write("whoami\n")
        local_after, local_err = proc.communicate(timeout=PROCESS_TIMEOUT)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=PROCESS_TIMEOUT)
    assert local_before == "alice (authenticated, public)\n"
    assert local_after == "alice (authenticated, editors, public)\n", local_err

    directory.change_membership("editors", "alice", add=False)
    before, after = remote_session(api, client_home, token, "whoami", 1,
                                   lambda: directory.change_membership("editors", "alice", add=True), "whoami")
    assert before == ["alice (authenticated, public)\n"]
    assert after.returncode == 0, after.stderr
    assert after.stdout == "alice (authenticated, editors, public)\n", \
        "the remote shell still shows the groups alice had when it connected"


def test_rm_of_several_items_through_the_api_is_all_or_nothing(api, client_home: Path) -> None:
    def remote(*args: str) -> subprocess.CompletedProcess[str]:
        return realnet(client_home, "--url", api.url, "--token", api.token, *args)

    for name in ("/one", "/two"):
        assert remote("create", name, "--type", "Folder").returncode == 0
    refused = remote("rm", "/one", "/system")
    assert refused.returncode == 1
    assert one_line(refused.stderr) == "realnet: /system: a built-in folder cannot be deleted"
    assert remote("get", "/one").returncode == 0, "the refusal took none of them"
    done = remote("rm", "/one", "/two")
    assert (done.returncode, done.stdout) == (0, "removed 2 item(s)\n")
    assert remote("ls", "/").stdout.split().count("one") == 0
