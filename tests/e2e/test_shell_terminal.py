"""The interactive shell in a real terminal: tmux runs it, we type and read the screen.

Every test starts its own tmux server (``tmux -L <unique name>``) with its own
REALNET_HOME, and the fixture kills only that server. The waits below poll the screen
until the shell is ready; they bound how long a broken shell can hang a test and are
not performance assertions.
"""

from __future__ import annotations

import os
import secrets
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.terminal

WAIT_SECONDS = 15.0
POLL_SECONDS = 0.1
ROOT_PROMPT = "admin@local:/$"
EXIT_MARK = "[realnet exited"


def realnet_command() -> list[str]:
    """The console script next to this interpreter, else ``python -m realnet``."""
    script = Path(sys.executable).with_name("realnet")
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    return [sys.executable, "-m", "realnet"]


def clean_environment(home: Path | None = None) -> dict[str, str]:
    """The test process environment without anything that would steer Realnet or tmux."""
    env = {
        k: v for k, v in os.environ.items()
        if not k.startswith("REALNET_")
        and k not in ("TMUX", "TMUX_PANE", "NO_COLOR", "FORCE_COLOR", "CLICOLOR_FORCE")
    }
    if home is not None:
        env["REALNET_HOME"] = str(home)
    return env


def last_line(screen: str) -> str:
    lines = [line for line in screen.splitlines() if line.strip()]
    return lines[-1].rstrip() if lines else ""


class Terminal:
    """One tmux server on its own socket, showing one shell at a time.

    Each :meth:`start` opens a new tmux session on the same server and closes the one
    before; the fixture kills the server at the end.
    """

    def __init__(self, socket: str, workdir: Path) -> None:
        self.socket = socket
        self.workdir = workdir
        self.starts = 0
        self.target = ""
        self.socket_path: str | None = None

    def tmux(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["tmux", "-L", self.socket, "-f", "/dev/null", *args],
            capture_output=True, text=True, check=check, env=clean_environment(),
            cwd=self.workdir, timeout=WAIT_SECONDS,
        )

    def start(self, home: Path, *, term: str | None = "xterm-256color") -> None:
        """Start ``realnet shell`` with ``home``; ``term=None`` unsets TERM.

        After the shell ends, the pane prints its exit status and stays open, so a
        crash stays readable and a clean exit can be waited for.
        """
        term_part = ["-u", "TERM"] if term is None else [f"TERM={term}"]
        shell = shlex.join(["env", *term_part, f"REALNET_HOME={home}",
                            *realnet_command(), "shell"])
        command = f'{shell}; echo "{EXIT_MARK} $?]"; sleep 3600'
        previous = self.target
        self.starts += 1
        self.target = f"shell{self.starts}"
        self.tmux("new-session", "-d", "-s", self.target, "-x", "120", "-y", "40",
                  "-c", str(self.workdir), command)
        if previous:
            self.tmux("kill-session", "-t", previous, check=False)
        else:
            where = self.tmux("display-message", "-p", "-t", self.target, "#{socket_path}",
                              check=False)
            self.socket_path = where.stdout.strip() or None

    def screen(self) -> str:
        result = self.tmux("capture-pane", "-p", "-t", self.target, check=False)
        return result.stdout if result.returncode == 0 else f"<no pane: {result.stderr.strip()}>"

    def type(self, text: str) -> None:
        """Type ``text`` literally (no key names)."""
        self.tmux("send-keys", "-t", self.target, "-l", "--", text)

    def keys(self, *keys: str) -> None:
        """Press keys by tmux name: Enter, Tab, Up, C-d, C-r ..."""
        self.tmux("send-keys", "-t", self.target, *keys)

    def run(self, command: str, prompt_after: str = ROOT_PROMPT) -> str:
        """Type a command at the prompt, wait until it shows, press Enter and wait for
        ``prompt_after`` on the last line (waiting for the echo first keeps the old
        prompt from passing for the new one)."""
        before = last_line(self.screen())
        self.type(command)
        self.wait_for_last_line(f"{before} {command}")
        self.keys("Enter")
        return self.wait_for_prompt(prompt_after)

    def wait_until(self, check: Callable[[str], bool], what: str) -> str:
        deadline = time.monotonic() + WAIT_SECONDS
        while True:
            screen = self.screen()
            if check(screen):
                return screen
            if time.monotonic() > deadline:
                pytest.fail(f"gave up waiting for {what}; the screen shows:\n{screen}")
            time.sleep(POLL_SECONDS)

    def wait_for(self, text: str) -> str:
        return self.wait_until(lambda s: text in s, repr(text))

    def wait_for_prompt(self, prompt: str = ROOT_PROMPT) -> str:
        return self.wait_until(lambda s: last_line(s) == prompt, f"the prompt {prompt!r}")

    def wait_for_last_line(self, line: str) -> str:
        return self.wait_until(lambda s: last_line(s) == line, f"the line {line!r}")

    def exit_with_ctrl_d(self) -> str:
        self.keys("C-d")
        screen = self.wait_for(EXIT_MARK)
        assert f"{EXIT_MARK} 0]" in screen, screen
        return screen

    def stop(self) -> None:
        """Kill this test's own server and remove its socket (tmux leaves it behind)."""
        self.tmux("kill-server", check=False)
        if self.socket_path and Path(self.socket_path).name == self.socket:
            Path(self.socket_path).unlink(missing_ok=True)


def open_terminal(kind: type[Terminal], tmp_path: Path) -> Iterator[Terminal]:
    """A tmux session of ``kind`` on its own socket, stopped afterwards; never skipped."""
    if shutil.which("tmux") is None:
        pytest.fail("tmux is not installed: the terminal tests need it "
                    "(install it, e.g. apt-get install tmux); they must not be skipped")
    term = kind(f"rn{os.getpid()}-{secrets.token_hex(4)}", tmp_path)
    try:
        yield term
    finally:
        term.stop()


@pytest.fixture
def terminal(tmp_path: Path) -> Iterator[Terminal]:
    yield from open_terminal(Terminal, tmp_path)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


def realnet_ls(home: Path, path: str) -> list[str]:
    """``realnet ls PATH`` as a separate process on the same store."""
    result = subprocess.run(
        [*realnet_command(), "ls", path], capture_output=True, text=True,
        env=clean_environment(home), cwd=home.parent, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


def test_prompt_shows_identity_store_and_folder(terminal: Terminal, home: Path) -> None:
    terminal.start(home)
    terminal.wait_for_prompt(ROOT_PROMPT)

    terminal.run("cd /apps", "admin@local:/apps$")
    terminal.run("cd -", ROOT_PROMPT)
    screen = terminal.run("cd ~", "admin@local:/home/admin$")
    assert "Traceback" not in screen


def test_tab_completes_a_path(terminal: Terminal, home: Path) -> None:
    terminal.start(home)
    terminal.wait_for_prompt()
    terminal.type("cd /ap")
    terminal.keys("Tab")
    terminal.wait_for_last_line(f"{ROOT_PROMPT} cd /apps/")
    terminal.keys("Enter")
    terminal.wait_for_prompt("admin@local:/apps$")


def test_tab_completes_a_command(terminal: Terminal, home: Path) -> None:
    terminal.start(home)
    terminal.wait_for_prompt()
    terminal.type("cr")
    terminal.keys("Tab")
    terminal.wait_for_last_line(f"{ROOT_PROMPT} create")


def test_tab_shows_a_menu_of_several_candidates(terminal: Terminal, home: Path) -> None:
    terminal.start(home)
    terminal.wait_for_prompt()
    terminal.type("ls /")
    terminal.keys("Tab")
    names = ("/apps/", "/home/", "/system/", "/types/")
    screen = terminal.wait_until(lambda s: sum(n in s for n in names) >= 2,
                                 "a completion menu with several entries")
    menu = [n for n in names if n in screen]
    assert len(menu) >= 2, screen
    assert f"{ROOT_PROMPT} ls /" in screen


def test_tab_completes_a_type_name(terminal: Terminal, home: Path) -> None:
    terminal.start(home)
    terminal.wait_for_prompt()
    terminal.type("create x --type Fol")
    terminal.keys("Tab")
    terminal.wait_for_last_line(f"{ROOT_PROMPT} create x --type Folder")


def _seed_history(terminal: Terminal, home: Path, command: str) -> None:
    """Run ``command`` in one shell and leave it with Ctrl-D."""
    terminal.start(home)
    terminal.wait_for_prompt()
    screen = terminal.run(command)
    assert "Traceback" not in screen
    terminal.exit_with_ctrl_d()


def test_history_survives_a_restart_and_up_recalls_it(terminal: Terminal, home: Path) -> None:
    command = "pwd # marker123"
    _seed_history(terminal, home, command)

    terminal.start(home)
    terminal.wait_for_prompt()
    terminal.keys("Up")
    terminal.wait_for_last_line(f"{ROOT_PROMPT} {command}")
    terminal.keys("Enter")
    screen = terminal.wait_for_prompt()
    lines = [line.rstrip() for line in screen.splitlines()]
    assert lines[lines.index(f"{ROOT_PROMPT} {command}") + 1] == "/", screen


def test_ctrl_r_finds_a_command_from_an_earlier_session(terminal: Terminal, home: Path) -> None:
    command = "pwd # marker123"
    _seed_history(terminal, home, command)

    terminal.start(home)
    terminal.wait_for_prompt()
    terminal.keys("C-r")
    terminal.type("arker12")
    terminal.wait_until(
        lambda s: "reverse-i-search" in s and command in last_line(s),
        "the reverse search to show the earlier command",
    )
    terminal.keys("Enter")  # take the match onto the prompt line
    terminal.wait_for_last_line(f"{ROOT_PROMPT} {command}")


def test_an_error_is_one_line_and_the_shell_goes_on(terminal: Terminal, home: Path) -> None:
    terminal.start(home)
    terminal.wait_for_prompt()
    screen = terminal.run("ls /nope")
    lines = [line.rstrip() for line in screen.splitlines()]
    at = lines.index(f"{ROOT_PROMPT} ls /nope")
    assert lines[at + 1] == "ls: /nope: no such item", screen
    assert lines[at + 2].startswith(ROOT_PROMPT), screen

    terminal.run("cd /apps", "admin@local:/apps$")
    screen = terminal.run("pwd", "admin@local:/apps$")
    assert "/apps" in screen.splitlines()
    assert "Traceback" not in screen


@pytest.mark.parametrize("term", ["dumb", None], ids=["TERM=dumb", "TERM-unset"])
def test_plain_terminals_still_run_commands(terminal: Terminal, home: Path,
                                            term: str | None) -> None:
    terminal.start(home, term=term)
    terminal.wait_for_prompt()
    screen = terminal.run("ls /")
    assert "apps  clusters  home  system  types" in [line.rstrip() for line in screen.splitlines()], \
        screen
    terminal.run("cd /apps", "admin@local:/apps$")
    screen = terminal.run("pwd", "admin@local:/apps$")
    assert "/apps" in [line.rstrip() for line in screen.splitlines()], screen
    screen = terminal.run("ls /nope", "admin@local:/apps$")
    assert "ls: /nope: no such item" in screen
    assert "Traceback" not in screen


def test_rm_r_asks_first_on_a_terminal(terminal: Terminal, home: Path) -> None:
    terminal.start(home)
    terminal.wait_for_prompt()
    terminal.run("create /a --type Folder; create /a/b --type Folder")

    terminal.type("rm -r /a")
    terminal.keys("Enter")
    terminal.wait_for("[y/N]")
    terminal.type("n")
    terminal.keys("Enter")
    screen = terminal.wait_for_prompt()
    assert "nothing was deleted" in screen
    screen = terminal.run("ls /")
    assert "a  apps  clusters  home  system  types" in [line.rstrip() for line in screen.splitlines()], \
        screen

    terminal.keys("C-l")  # a clean screen, so the checks below see only what follows
    terminal.wait_until(lambda s: s.strip() == ROOT_PROMPT, "a cleared screen")
    terminal.type("rm -r /a")
    terminal.keys("Enter")
    terminal.wait_for("[y/N]")
    terminal.type("y")
    terminal.keys("Enter")
    screen = terminal.wait_for_prompt()
    assert "removed 2 item(s)" in screen
    screen = terminal.run("ls /")
    assert "apps  clusters  home  system  types" in [line.rstrip() for line in screen.splitlines()], \
        screen
    assert "Traceback" not in screen
    terminal.exit_with_ctrl_d()

    assert realnet_ls(home, "/") == ["apps", "clusters", "home", "system", "types"]


def test_rm_r_answer_no_keeps_the_tree_for_other_processes(terminal: Terminal,
                                                           home: Path) -> None:
    terminal.start(home)
    terminal.wait_for_prompt()
    terminal.run("create /a --type Folder; create /a/b --type Folder")
    terminal.type("rm -r /a")
    terminal.keys("Enter")
    terminal.wait_for("[y/N]")
    terminal.type("n")
    terminal.keys("Enter")
    terminal.wait_for_prompt()
    terminal.exit_with_ctrl_d()

    assert "a" in realnet_ls(home, "/")
    assert realnet_ls(home, "/a") == ["b"]
