"""Mounts in the interactive shell, in a real terminal (tmux runs ``realnet shell``).

The session of the issue: mount a YAML file, list it, read one value, change one (the
file on disk changes, its comments stay), move into the document and list there,
complete paths inside a mount with Tab; and a read-only mount's refusal printed as one
line, with the shell still running.

The waits poll the screen; they bound how long a broken shell can hang a test and are
not performance assertions.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from test_shell_terminal import ROOT_PROMPT, Terminal, open_terminal

pytestmark = pytest.mark.terminal

CONFIG = """\
# settings of the demo application
name: demo
database:
  host: db.local   # the primary
  port: 5432
  options:
    sslmode: require
  replicas:
    - host: db2.local
servers:
  - name: alpha
"""


@pytest.fixture
def terminal(tmp_path: Path) -> Iterator[Terminal]:
    yield from open_terminal(Terminal, tmp_path)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def sources() -> Iterator[Path]:
    """A short folder under /tmp for the mounted files, so that paths and messages fit
    on one line of the 120-column terminal."""
    folder = Path(tempfile.mkdtemp(prefix="rnm-", dir="/tmp"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def config(sources: Path) -> Path:
    path = sources / "config.yaml"
    path.write_text(CONFIG)
    return path


def lines_of(screen: str) -> list[str]:
    return [line.rstrip() for line in screen.splitlines()]


def output_of(screen: str, prompt: str, command: str) -> list[str]:
    """The lines printed by the last ``command`` typed at ``prompt``."""
    lines = lines_of(screen)
    at = max(i for i, line in enumerate(lines) if line == f"{prompt} {command}")
    out = []
    for line in lines[at + 1:]:
        if line.startswith(prompt.split(":")[0] + ":"):
            break
        out.append(line)
    return [line for line in out if line]


def test_the_issue_session_on_a_yaml_mount(terminal: Terminal, home: Path, config: Path) -> None:
    terminal.start(home)
    terminal.wait_for_prompt()

    screen = terminal.run(f"create /config --type YamlDocument --attr path={config}")
    assert output_of(screen, ROOT_PROMPT, f"create /config --type YamlDocument --attr path={config}") \
        == ["created /config"], screen

    screen = terminal.run("ls /config")
    assert output_of(screen, ROOT_PROMPT, "ls /config") == ["database  servers"], screen

    screen = terminal.run("get /config/database/host")
    assert output_of(screen, ROOT_PROMPT, "get /config/database/host") == ["db.local"], screen

    screen = terminal.run("set /config/database port=5433")
    printed = output_of(screen, ROOT_PROMPT, "set /config/database port=5433")
    assert len(printed) == 1 and printed[0].startswith("updated /config/database"), screen
    assert yaml.safe_load(config.read_text())["database"]["port"] == 5433
    text = config.read_text()
    assert "# settings of the demo application" in text and "host: db.local   # the primary" in text

    screen = terminal.run("get /config/database/port")
    assert output_of(screen, ROOT_PROMPT, "get /config/database/port") == ["5433"], screen

    prompt = "admin@local:/config/database$"
    terminal.run("cd /config/database", prompt)
    screen = terminal.run("ls", prompt)
    assert output_of(screen, prompt, "ls") == ["options  replicas"], screen
    screen = terminal.run("get options/sslmode", prompt)
    assert output_of(screen, prompt, "get options/sslmode") == ["require"], screen
    screen = terminal.run("pwd", prompt)
    assert output_of(screen, prompt, "pwd") == ["/config/database"], screen
    terminal.run("cd ..", "admin@local:/config$")
    assert "Traceback" not in terminal.screen()
    terminal.exit_with_ctrl_d()


def test_tab_completes_paths_inside_a_mount(terminal: Terminal, home: Path, config: Path) -> None:
    terminal.start(home)
    terminal.wait_for_prompt()
    terminal.run(f"create /config --type YamlDocument --attr path={config}")

    terminal.type("cd /config/da")
    terminal.keys("Tab")
    terminal.wait_for_last_line(f"{ROOT_PROMPT} cd /config/database/")
    terminal.type("op")
    terminal.keys("Tab")
    terminal.wait_for_last_line(f"{ROOT_PROMPT} cd /config/database/options/")
    terminal.keys("Enter")
    terminal.wait_for_prompt("admin@local:/config/database/options$")

    # Relative to a folder inside the mount, and several candidates as a menu.
    terminal.run("cd /config", "admin@local:/config$")
    terminal.type("ls s")
    terminal.keys("Tab")
    terminal.wait_for_last_line("admin@local:/config$ ls servers/")
    terminal.keys("C-u")  # clear the line
    terminal.wait_for_last_line("admin@local:/config$")
    terminal.type("ls /config/database/")
    terminal.keys("Tab")
    screen = terminal.wait_until(lambda s: "options/" in s and "replicas/" in s,
                                 "a completion menu with the document's children")
    assert "Traceback" not in screen


def test_a_read_only_refusal_is_one_line_and_the_shell_goes_on(terminal: Terminal, home: Path,
                                                              config: Path, sources: Path) -> None:
    reports = sources / "reports"
    reports.mkdir()
    (reports / "summary.txt").write_text("all green\n")
    before = config.read_bytes()

    terminal.start(home)
    terminal.wait_for_prompt()
    terminal.run(f"create /reports --type FileTree --attr path={reports} --attr read_only=true")
    terminal.run(f"create /ro --type YamlDocument --attr path={config} --attr read_only=true")
    screen = terminal.run("ls /reports")
    assert output_of(screen, ROOT_PROMPT, "ls /reports") == ["summary.txt"], screen
    screen = terminal.run("cat /reports/summary.txt")
    assert output_of(screen, ROOT_PROMPT, "cat /reports/summary.txt") == ["all green"], screen

    for command in ("rm /reports/summary.txt", "create /reports/new --type Folder",
                    "set /ro/database port=1"):
        screen = terminal.run(command)
        printed = output_of(screen, ROOT_PROMPT, command)
        assert len(printed) == 1, screen
        verb = command.split()[0]
        assert printed[0].startswith(f"{verb}: /"), screen
        assert "read-only" in printed[0], screen
        assert "Traceback" not in screen

    # Still running, and nothing changed on disk.
    screen = terminal.run("get /ro/database/port")
    assert output_of(screen, ROOT_PROMPT, "get /ro/database/port") == ["5432"], screen
    assert (reports / "summary.txt").read_text() == "all green\n"
    assert sorted(p.name for p in reports.iterdir()) == ["summary.txt"]
    assert config.read_bytes() == before
    terminal.exit_with_ctrl_d()
