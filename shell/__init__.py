"""The Realnet shell (installed as ``realnet.shell``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from realnet.commands.session import Session


def run_shell(session: Session, *, command: str | None = None, keep_going: bool = False) -> int:
    """Run the shell on ``session``; returns the exit code."""
    from realnet.shell.repl import Shell

    return Shell(session).run(command=command, keep_going=keep_going)
