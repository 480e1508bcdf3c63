"""File content in a real terminal (tmux): put and fetch show a transient progress bar on
stderr, leave only their one-line result on the screen, and print no progress at all
when stderr is not a terminal.

The waits poll the screen; they bound how long a broken shell can hang a test and are
not performance assertions.
"""

from __future__ import annotations

import hashlib
import os
import shlex
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_shell_runners import RunnerTerminal
from test_shell_terminal import ROOT_PROMPT, last_line, open_terminal, realnet_command

pytestmark = pytest.mark.terminal

MiB = 1024 * 1024
SIZE = 30 * MiB
WAIT_SECONDS = 60.0  # a 30 MiB upload to a busy machine may take a while: a hang detector
BAR = "━"  # what rich draws its bars with on a UTF-8 terminal


@pytest.fixture
def terminal(tmp_path: Path) -> Iterator[RunnerTerminal]:
    yield from open_terminal(RunnerTerminal, tmp_path)


@pytest.fixture(params=["local", "s3"])
def storage_env(request) -> dict[str, str]:
    """The REALNET_* settings the shell needs for this content store."""
    if request.param == "s3":
        request.getfixturevalue("s3_settings")  # points os.environ at a fresh bucket
        return {k: v for k, v in os.environ.items()
                if k.startswith(("REALNET_STORAGE_", "REALNET_AWS_"))}
    return {}


@pytest.fixture
def big_file(tmp_path: Path) -> tuple[Path, str]:
    path = tmp_path / "big.bin"
    digest = hashlib.sha256()
    with path.open("wb") as out:
        for _ in range(SIZE // MiB):
            chunk = os.urandom(MiB)
            digest.update(chunk)
            out.write(chunk)
    return path, digest.hexdigest()


def run_watching(terminal: RunnerTerminal, command: str) -> tuple[str, list[str]]:
    """Type ``command``, press Enter, and poll the screen until the prompt is back;
    returns the last screen and every distinct screen seen while the command ran."""
    before = last_line(terminal.screen())
    terminal.type(command)
    terminal.wait_for_last_line(f"{before} {command}")
    terminal.keys("Enter")
    seen: list[str] = []
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        screen = terminal.screen()
        if not seen or seen[-1] != screen:
            seen.append(screen)
        if last_line(screen) == ROOT_PROMPT and _after(screen, command):
            return screen, seen
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {command!r} to finish; the screen shows:\n{screen}")
        time.sleep(0.01)


def _after(screen: str, command: str) -> list[str]:
    """The lines the command left between its own line and the next prompt."""
    lines = [line.rstrip() for line in screen.splitlines()]
    marks = [i for i, line in enumerate(lines) if line == f"{ROOT_PROMPT} {command}"]
    if not marks:
        return []
    at = marks[-1]
    rest = lines[at + 1:]
    if ROOT_PROMPT not in rest:
        return []
    return rest[:rest.index(ROOT_PROMPT)] or [""]


def showed_a_bar(screens: list[str], label: str) -> bool:
    for screen in screens:
        for line in screen.splitlines():
            if not line.startswith(ROOT_PROMPT) and (BAR in line or label in line):
                return True
    return False


def test_put_and_fetch_in_the_shell_leave_one_line(terminal, tmp_path, storage_env, big_file, request):
    path, digest = big_file
    home = tmp_path / "home"
    terminal.launch(home, env=storage_env)
    terminal.wait_for_prompt()

    command = f"put {path.name} /big.bin"
    screen, screens = run_watching(terminal, command)
    assert _after(screen, command) == [f"put /big.bin ({SIZE:,} bytes, sha256 {digest[:12]}…)"], screen
    assert BAR not in screen, f"the bar is transient: nothing of it stays\n{screen}"
    assert "Traceback" not in screen
    bar_seen = showed_a_bar(screens, f"put {path.name}")
    print(f"progress bar seen while putting ({request.node.callspec.id}): {bar_seen}")
    if "s3" in request.node.callspec.id:
        # An upload to the moto endpoint takes over a second: long enough to be seen.
        assert bar_seen, "a progress bar shows while the upload runs:\n" + "\n----\n".join(screens)

    command = "fetch /big.bin copy.bin"
    screen, screens = run_watching(terminal, command)
    assert _after(screen, command) == [
        f"fetched /big.bin to copy.bin ({SIZE:,} bytes, verified)"], screen
    assert BAR not in screen
    assert (tmp_path / "copy.bin").read_bytes() == path.read_bytes()


def test_put_with_stderr_redirected_prints_no_progress(terminal, tmp_path, storage_env, big_file):
    """stdin and stdout are the terminal, stderr a file: the bar would go to stderr, so
    there is none, and nothing else is written there either."""
    path, digest = big_file
    home = tmp_path / "home"
    env = {"TERM": "xterm-256color", "REALNET_HOME": str(home), **storage_env}
    put = shlex.join(["env", *[f"{k}={v}" for k, v in env.items()], *realnet_command(),
                      "put", path.name, "/big.bin"])
    terminal.tmux("new-session", "-d", "-s", "plain", "-x", "120", "-y", "40", "-c", str(tmp_path),
                  f'{put} 2>err.txt; echo "[put exited $?]"; sleep 3600')
    terminal.target = "plain"
    where = terminal.tmux("display-message", "-p", "-t", "plain", "#{socket_path}", check=False)
    terminal.socket_path = where.stdout.strip() or None
    deadline = time.monotonic() + WAIT_SECONDS
    while "[put exited" not in (screen := terminal.screen()):
        assert time.monotonic() < deadline, f"the put did not finish; the screen shows:\n{screen}"
        time.sleep(0.05)
    assert "[put exited 0]" in screen, screen
    assert f"put /big.bin ({SIZE:,} bytes, sha256 {digest[:12]}…)" in screen
    assert (tmp_path / "err.txt").read_bytes() == b""


def test_put_without_any_terminal_prints_no_progress(tmp_path, storage_env, big_file):
    path, digest = big_file
    done = subprocess.run([sys.executable, "-m", "realnet", "put", str(path), "/big.bin"],
                          stdin=subprocess.DEVNULL, capture_output=True, timeout=300)
    assert done.returncode == 0
    assert done.stderr == b""
    assert done.stdout.decode() == f"put /big.bin ({SIZE:,} bytes, sha256 {digest[:12]}…)\n"
    fetched = subprocess.run([sys.executable, "-m", "realnet", "fetch", "/big.bin", str(tmp_path / "c")],
                             stdin=subprocess.DEVNULL, capture_output=True, timeout=300)
    assert fetched.returncode == 0 and fetched.stderr == b""
