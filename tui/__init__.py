"""The Textual dashboard (``realnet tui``, and ``tui`` inside the shell).

Importing this package imports no Textual: :func:`run_tui` and :func:`run_tui_async`
load the app when they run, so ``realnet ls`` stays light.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from realnet.core.errors import UsageError

if TYPE_CHECKING:
    from realnet.commands.session import Session


def check_can_run(session: Session, start: str | None = None) -> None:
    """Refuse, with one line, what the dashboard cannot do: no terminal, a remote store, a
    folder to start at that is not there."""
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise UsageError("tui: needs a terminal (stdin and stdout); use the commands in scripts")
    if session.settings is not None and session.settings.url:
        raise UsageError(f"tui: works on a local store, not over {session.settings.url}; "
                         "run it where the store is")
    session.context.ensure_initialized()  # a broken store fails here, before the screen opens
    if start is not None:
        session.context.listable(start)


def run_tui(session: Session, *, read_only: bool = False, start: str | None = None) -> int:
    """Run the dashboard on its own event loop until it quits; returns the exit code."""
    import asyncio

    check_can_run(session, start)
    return asyncio.run(run_tui_async(session, read_only=read_only, start=start))


async def run_tui_async(session: Session, *, read_only: bool = False, start: str | None = None) -> int:
    """Run the dashboard on the running loop (the shell's, whose runners go on meanwhile)."""
    from realnet.tui.app import RealnetApp

    app = RealnetApp(session, read_only=read_only, start=start)
    try:
        await app.run_async()
    finally:
        await app.stop_own_runners()
    return app.return_code or 0
