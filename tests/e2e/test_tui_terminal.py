"""The dashboard in a real terminal (tmux): ``realnet tui`` starts, shows the tree and
quits cleanly with ``q``; ``tui`` inside the shell comes back to the prompt.

The waits poll the screen; they bound how long a broken dashboard can hang a test and
are not performance assertions.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_shell_terminal import EXIT_MARK, ROOT_PROMPT, Terminal, open_terminal, realnet_command

pytestmark = pytest.mark.terminal


class TuiTerminal(Terminal):
    def start_command(self, home: Path, *args: str, term: str = "xterm-256color",
                      size: tuple[int, int] = (100, 30)) -> None:
        """Run ``realnet ARGS`` in a new tmux session of ``size`` (the exit status stays on
        the pane afterwards, as :meth:`Terminal.start` does for the shell)."""
        line = shlex.join(["env", f"TERM={term}", f"REALNET_HOME={home}", *realnet_command(), *args])
        previous = self.target
        self.starts += 1
        self.target = f"tui{self.starts}"
        self.tmux("new-session", "-d", "-s", self.target, "-x", str(size[0]), "-y", str(size[1]),
                  "-c", str(self.workdir),
                  f'{line}; echo "{EXIT_MARK} $?]"; sleep 3600')
        if previous:
            self.tmux("kill-session", "-t", previous, check=False)
        else:
            where = self.tmux("display-message", "-p", "-t", self.target, "#{socket_path}", check=False)
            self.socket_path = where.stdout.strip() or None


@pytest.fixture
def terminal(tmp_path: Path) -> Iterator[TuiTerminal]:
    yield from open_terminal(TuiTerminal, tmp_path)


def shows_the_dashboard(screen: str) -> bool:
    # The tree's section and the root's folders, in the table and the tree.
    return "Explorer" in screen and all(name in screen for name in ("apps", "clusters", "home", "system", "types"))


@pytest.mark.parametrize(("term", "size"), [("xterm-256color", (100, 30)), ("dumb", (80, 24))])
def test_realnet_tui_starts_shows_the_tree_and_quits_with_q(terminal: TuiTerminal, tmp_path: Path,
                                                           term: str, size: tuple[int, int]) -> None:
    terminal.start_command(tmp_path / "home", "tui", term=term, size=size)
    terminal.wait_until(lambda s: shows_the_dashboard(s) and "Quit" in s and "Help" in s,
                        "the dashboard with its tree and its footer")
    terminal.keys("q")
    screen = terminal.wait_for(EXIT_MARK)
    assert f"{EXIT_MARK} 0]" in screen, screen
    assert "Traceback" not in screen and "Error" not in screen


def test_tui_inside_the_shell_comes_back_to_the_prompt(terminal: TuiTerminal, tmp_path: Path) -> None:
    terminal.start_command(tmp_path / "home", "shell")
    terminal.wait_for_prompt(ROOT_PROMPT)
    terminal.run("cd /apps", "admin@local:/apps$")
    terminal.type("tui --read-only")
    terminal.keys("Enter")
    screen = terminal.wait_until(lambda s: shows_the_dashboard(s) and "READ-ONLY" in s,
                                 "the read-only dashboard")
    terminal.keys("q")
    screen = terminal.wait_for_prompt("admin@local:/apps$")  # same session: same folder
    assert "Traceback" not in screen
    screen = terminal.run("pwd", "admin@local:/apps$")
    assert "/apps" in screen
    terminal.exit_with_ctrl_d()
