"""``realnet tui`` and ``tui`` in the shell refuse, with one line, where they cannot run.
(In a terminal they run: tests/e2e/test_tui_terminal.py.)"""

from __future__ import annotations


def test_realnet_tui_needs_a_terminal(cli):
    result = cli("tui")
    assert result.code == 2
    assert result.err.strip() == "realnet: tui: needs a terminal (stdin and stdout); use the commands in scripts"


def test_tui_in_a_shell_script_needs_a_terminal_and_takes_only_read_only(cli):
    result = cli("shell", "-c", "tui")
    assert result.code == 2 and "tui: needs a terminal" in result.err
    result = cli("shell", "-c", "tui --bogus")
    assert result.code == 2 and "tui: expected at most a PATH and --read-only" in result.err
    result = cli("shell", "-c", "tui /a /b")
    assert result.code == 2 and "tui: expected at most a PATH and --read-only" in result.err
    result = cli("shell", "-c", "tui --help")
    assert result.code == 0 and "Usage: tui [PATH] [--read-only]" in result.out


def test_a_start_folder_that_is_not_there_is_one_line_before_the_screen_opens(monkeypatch):
    import sys

    import pytest

    from realnet.commands.session import Session
    from realnet.core.errors import NotFound
    from realnet.tui import check_can_run

    monkeypatch.setattr(sys.stdin, "isatty", lambda: True)
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    session = Session()
    check_can_run(session, "/home")  # there: no error
    with pytest.raises(NotFound, match="^/nowhere: no such item$"):
        check_can_run(session, "/nowhere")


def test_importing_the_package_does_not_import_textual():
    import subprocess
    import sys

    code = "import sys, realnet.tui; print('textual' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
