"""The shell with no terminal and TERM unset or ``dumb``, as under ``kubectl exec -i POD --
realnet shell`` (no ``-t``: stdin and stdout are pipes, and kubectl sets no TERM).

test_shell_script.py runs scripts with a terminal-like TERM, so only the missing TTY turns
decoration off there; test_shell_terminal.py runs TERM unset and ``dumb`` on a real terminal.
Here both are missing: no prompt, no escape sequences, no prompt-toolkit warnings, no traceback,
and each command's answer arrives while the pipe is still open, before the next command.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import time
from pathlib import Path

import pytest
from test_shell_script import ANSI, PROCESS_TIMEOUT, realnet_command

TERMS = pytest.mark.parametrize("term", [None, "dumb"], ids=["TERM-unset", "TERM=dumb"])
WAIT_SECONDS = 30.0  # how long a hung shell may stall a test, not a performance figure


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


def environment(home: Path, term: str | None) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items()
        if not k.startswith("REALNET_")
        and k not in ("TERM", "NO_COLOR", "FORCE_COLOR", "CLICOLOR_FORCE", "TMUX", "TMUX_PANE",
                      "PYTHONUNBUFFERED", "COLUMNS", "LINES")
    }
    env["REALNET_HOME"] = str(home)
    if term is not None:
        env["TERM"] = term
    return env


def piped_shell(home: Path, term: str | None, script: str) -> subprocess.CompletedProcess[str]:
    """``printf SCRIPT | realnet shell``: stdin, stdout and stderr are all pipes."""
    return subprocess.run([*realnet_command(), "shell"], input=script, capture_output=True, text=True,
                          env=environment(home, term), cwd=home.parent, timeout=PROCESS_TIMEOUT)


def root_names(home: Path) -> list[str]:
    """The root's children in the order ``ls`` lists them, asked for as JSON."""
    result = subprocess.run([*realnet_command(), "ls", "/", "-o", "json"], capture_output=True, text=True,
                            env=environment(home, "dumb"), cwd=home.parent, timeout=PROCESS_TIMEOUT,
                            stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stderr
    return [item["name"] for item in json.loads(result.stdout)["items"]]


def assert_plain(*streams: str) -> None:
    for stream in streams:
        assert ANSI not in stream and "\x1b" not in stream, repr(stream)
        assert "Traceback" not in stream
        assert "admin@local" not in stream  # no prompt
        assert "not a terminal" not in stream  # prompt-toolkit's warning


@TERMS
def test_a_piped_session_runs_without_term(home: Path, term: str | None) -> None:
    result = piped_shell(home, term, "create /projects --type Folder\nls /\ncd /projects\npwd\nexit\n")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    names = root_names(home)
    assert "projects" in names
    assert result.stdout.splitlines() == ["created /projects", *names, "/projects"]
    assert_plain(result.stdout, result.stderr)


@TERMS
def test_rich_output_and_errors_stay_plain_without_term(home: Path, term: str | None) -> None:
    script = "ls -l /\nget /home -o yaml\ntree / -L 1\nhelp\nhelp ls\nls /nope\nls /\n"
    result = piped_shell(home, term, script)
    assert result.returncode == 1
    # The failing sixth line stops the script and is one line on stderr.
    assert result.stderr == "stdin:6: ls: /nope: no such item\n"
    lines = result.stdout.splitlines()
    names = root_names(home)
    assert [line.split("\t")[-1] for line in lines[:len(names)]] == names  # ls -l: tab-separated
    assert "path: /home" in lines and "type: Folder" in lines
    assert "/" in lines and any(line.endswith("home  [Folder]") for line in lines)
    assert any(line.lstrip().startswith("ls ") for line in lines)  # help lists the commands
    assert "-o, --output [table|json|yaml]" in result.stdout  # help ls
    assert result.stdout.rstrip().endswith("Show this message and exit.")  # nothing after the error
    assert_plain(result.stdout, result.stderr)


class Conversation:
    """``realnet shell`` on pipes that stay open, answered one command at a time, as a person
    typing into ``kubectl exec -i`` sees it."""

    def __init__(self, home: Path, term: str | None) -> None:
        self.proc = subprocess.Popen([*realnet_command(), "shell"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     env=environment(home, term), cwd=home.parent)
        self.pending = b""

    def send(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line.encode() + b"\n")
        self.proc.stdin.flush()

    def read_line(self) -> str:
        """The next line of stdout, while stdin stays open; fails if none comes."""
        assert self.proc.stdout is not None
        deadline = time.monotonic() + WAIT_SECONDS
        while b"\n" not in self.pending:
            left = deadline - time.monotonic()
            if left <= 0:
                pytest.fail(f"no answer while the pipe is open; so far {self.pending!r}")
            ready, _, _ = select.select([self.proc.stdout], [], [], left)
            if ready:
                chunk = os.read(self.proc.stdout.fileno(), 65536)
                if not chunk:
                    pytest.fail(f"the shell closed stdout (exit {self.proc.wait(WAIT_SECONDS)}); "
                                f"so far {self.pending!r}")
                self.pending += chunk
        line, _, self.pending = self.pending.partition(b"\n")
        return line.decode()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=WAIT_SECONDS)
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()


@TERMS
def test_each_answer_arrives_before_the_next_command(home: Path, term: str | None) -> None:
    talk = Conversation(home, term)
    try:
        talk.send("pwd")
        assert talk.read_line() == "/"
        talk.send("create /projects --type Folder")
        assert talk.read_line() == "created /projects"
        talk.send("cd /projects")
        talk.send("pwd")
        assert talk.read_line() == "/projects"
        talk.send("exit 3")  # stdin is still open: exit alone ends the session
        code = talk.proc.wait(timeout=WAIT_SECONDS)
        assert talk.proc.stdout is not None and talk.proc.stderr is not None
        rest = talk.pending + talk.proc.stdout.read()
        errors = talk.proc.stderr.read().decode()
    finally:
        talk.close()
    assert code == 3, errors
    assert rest == b""
    assert errors == ""
    assert_plain(errors)
