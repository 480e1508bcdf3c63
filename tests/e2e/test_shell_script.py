"""The shell without a terminal: scripts on stdin, ``-c`` and pipes.

No prompt and no colour; stop at the first failing command unless ``--keep-going``;
errors are one line on stderr, prefixed with where they happened (``stdin:2: ``).
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

PROCESS_TIMEOUT = 60  # a guard against a hung shell, not a performance assertion
ANSI = "\x1b["


def realnet_command() -> list[str]:
    script = Path(sys.executable).with_name("realnet")
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    return [sys.executable, "-m", "realnet"]


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


def environment(home: Path) -> dict[str, str]:
    """A terminal-like TERM, so only the missing TTY can turn decoration off."""
    env = {
        k: v for k, v in os.environ.items()
        if not k.startswith("REALNET_")
        and k not in ("NO_COLOR", "FORCE_COLOR", "CLICOLOR_FORCE", "TMUX", "TMUX_PANE")
    }
    env["REALNET_HOME"] = str(home)
    env["TERM"] = "xterm-256color"
    return env


def realnet(home: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*realnet_command(), *args], input=stdin if stdin is not None else "",
        capture_output=True, text=True, env=environment(home), cwd=home.parent,
        timeout=PROCESS_TIMEOUT,
    )


def shell_script(home: Path, script: str, *flags: str) -> subprocess.CompletedProcess[str]:
    """``realnet shell < script``: stdin is a file, stdout and stderr are pipes."""
    path = home.parent / "script.rn"
    path.write_text(script, encoding="utf-8")
    with path.open(encoding="utf-8") as stdin:
        return subprocess.run(
            [*realnet_command(), "shell", *flags], stdin=stdin, capture_output=True,
            text=True, env=environment(home), cwd=home.parent, timeout=PROCESS_TIMEOUT,
        )


def exists(home: Path, path: str) -> bool:
    result = realnet(home, "get", path)
    assert result.returncode in (0, 1), result.stderr
    return result.returncode == 0


def assert_plain(result: subprocess.CompletedProcess[str]) -> None:
    """No prompt, no banner, no escape sequences, no traceback."""
    for stream in (result.stdout, result.stderr):
        assert "admin@local" not in stream
        assert ANSI not in stream
        assert "Traceback" not in stream
    assert "Realnet shell" not in result.stdout


def test_a_script_on_stdin_runs_without_decoration(home: Path) -> None:
    result = shell_script(home, "ls /\ncreate /projects --type Folder\nls /\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        "apps\nclusters\nhome\nsystem\ntypes\n"
        "created /projects\n"
        "apps\nclusters\nhome\nprojects\nsystem\ntypes\n"
    )
    assert result.stderr == ""
    assert_plain(result)


def test_dash_c_runs_commands_separated_by_semicolons(home: Path) -> None:
    setup = realnet(home, "shell", "-c", "create /projects --type Folder; "
                    "create /projects/notes --type Document --attr title=Plan")
    assert setup.returncode == 0, setup.stderr
    assert setup.stdout == "created /projects\ncreated /projects/notes\n"

    result = realnet(home, "shell", "-c", "cd /projects; ls")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "notes\n"
    assert_plain(result)

    result = realnet(home, "shell", "-c", "cd /projects; pwd; cd -; pwd")
    assert result.stdout == "/projects\n/\n"


def test_a_pipe_into_the_shell(home: Path) -> None:
    command = f"echo ls | {shlex.join([*realnet_command(), 'shell'])}"
    result = subprocess.run(
        ["sh", "-c", command], capture_output=True, text=True, env=environment(home),
        cwd=home.parent, timeout=PROCESS_TIMEOUT,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "apps\nclusters\nhome\nsystem\ntypes\n"
    assert_plain(result)


def test_long_listing_and_json_are_plain_in_a_pipe(home: Path) -> None:
    result = realnet(home, "shell", stdin="ls -l /\nget /home -o json\n")
    assert result.returncode == 0, result.stderr
    assert '"path": "/home"' in result.stdout
    assert "\tapps" in result.stdout
    assert_plain(result)


def test_the_first_failure_stops_the_script(home: Path) -> None:
    result = shell_script(home, "ls /\nls /nope\ncreate /after --type Folder\n")
    assert result.returncode == 1
    assert result.stdout == "apps\nclusters\nhome\nsystem\ntypes\n"
    assert result.stderr == "stdin:2: ls: /nope: no such item\n"
    assert_plain(result)
    assert not exists(home, "/after")


def test_the_first_failure_stops_the_rest_of_a_line(home: Path) -> None:
    result = realnet(home, "shell", "-c", "ls /nope; create /after --type Folder")
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == "ls: /nope: no such item\n"
    assert not exists(home, "/after")


def test_keep_going_runs_the_rest_but_still_fails(home: Path) -> None:
    result = shell_script(home, "ls /nope\ncreate /after --type Folder\nls /after\n",
                          "--keep-going")
    assert result.returncode == 1
    assert result.stdout == "created /after\n"
    assert result.stderr == "stdin:1: ls: /nope: no such item\n"
    assert exists(home, "/after")


def test_keep_going_with_dash_c(home: Path) -> None:
    result = realnet(home, "shell", "--keep-going", "-c", "ls /nope")
    assert result.returncode == 1
    assert result.stderr == "ls: /nope: no such item\n"


def test_keep_going_goes_on_within_one_dash_c_line(home: Path) -> None:
    result = realnet(home, "shell", "--keep-going", "-c", "ls /nope; create /after --type Folder; pwd")
    assert result.returncode == 1
    assert result.stdout == "created /after\n/\n"
    assert result.stderr == "ls: /nope: no such item\n"
    assert exists(home, "/after")


@pytest.mark.parametrize("script, prefix", [
    ("ls --bogus\n", "stdin:1: ls: "),
    ("frob\n", "stdin:1: frob: unknown command"),
    ('ls "/unterminated\n', "stdin:1: "),
    ("create /x\n", "stdin:1: create: "),
])
def test_usage_errors_exit_2_with_one_line(home: Path, script: str, prefix: str) -> None:
    result = shell_script(home, script + "create /after --type Folder\n")
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(prefix), result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    assert_plain(result)
    assert not exists(home, "/after")


def test_usage_error_with_dash_c_exits_2(home: Path) -> None:
    result = realnet(home, "shell", "-c", "ls --bogus")
    assert result.returncode == 2
    assert result.stderr.startswith("ls: No such option")
    assert result.stderr.count("\n") == 1


def test_a_bad_flag_to_the_shell_itself_exits_2(home: Path) -> None:
    result = realnet(home, "shell", "--bogus")
    assert result.returncode == 2
    assert "--bogus" in result.stderr
    assert result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr


def test_comments_blank_lines_and_semicolons(home: Path) -> None:
    script = (
        "# set up a folder\n"
        "\n"
        "create /p --type Folder   # a trailing comment\n"
        'create "/p/semi;colon" --type Document --attr "title=a # b; c"; ls /p\n'
        "   # an indented comment\n"
        "get /p/semi\\;colon -o json # escaped\n"
        "ls /nope\n"
        "create /after --type Folder\n"
    )
    result = shell_script(home, script)
    assert result.returncode == 1
    assert result.stdout.startswith("created /p\ncreated /p/semi;colon\nsemi;colon\n{")
    assert '"title": "a # b; c"' in result.stdout
    # lines are counted as written, comments and blank lines included
    assert result.stderr == "stdin:7: ls: /nope: no such item\n"
    assert_plain(result)
    assert not exists(home, "/after")


def test_rm_r_without_a_terminal_needs_force(home: Path) -> None:
    result = realnet(home, "shell", "-c",
                     "create /a --type Folder; create /a/b --type Folder; rm -r /a")
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("rm: /a (1 item(s) below): needs confirmation")
    assert exists(home, "/a/b")

    result = realnet(home, "shell", "-c", "rm -r --force /a")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "removed 2 item(s)\n"
    assert not exists(home, "/a")


def test_exit_ends_a_script_with_its_code(home: Path) -> None:
    result = shell_script(home, "ls /\nexit 3\ncreate /after --type Folder\n")
    assert result.returncode == 3
    assert result.stdout == "apps\nclusters\nhome\nsystem\ntypes\n"
    assert not exists(home, "/after")


def test_an_empty_script_succeeds(home: Path) -> None:
    result = shell_script(home, "")
    assert result.returncode == 0
    assert result.stdout == ""
    assert result.stderr == ""
