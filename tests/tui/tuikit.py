"""Helpers for the dashboard's pilot tests: a store to look at, waiting, screenshots."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from textual.app import App

from realnet.core.context import Context
from realnet.core.item import ItemDraft

# Read at import: the autouse fixture of tests/conftest.py clears REALNET_* variables.
SCREENSHOTS = Path(os.environ.get("REALNET_TUI_SCREENSHOTS")
                   or Path(__file__).resolve().parents[2] / "build" / "tui-screenshots").resolve()
SIZE = (100, 30)


def run(test: Callable[[], Awaitable[Any]]) -> None:
    """Run an async pilot scenario from a plain test (no pytest-asyncio needed)."""
    asyncio.run(test())


async def until(pilot: Any, condition: Callable[[], bool], what: str) -> None:
    """Let the app work until ``condition`` holds: a bounded number of turns, not a timer."""
    for _ in range(3000):
        if condition():
            return
        await pilot.pause(0.01)
    raise AssertionError(f"never happened: {what}")


async def settle(pilot: Any) -> None:
    """Until every worker has finished and the messages they posted are handled."""
    from textual.worker import WorkerCancelled, WorkerState

    app = pilot.app
    quiet = 0
    for _ in range(500):  # a bound that only a hang reaches, not a time limit
        try:
            await app.workers.wait_for_complete()
        except WorkerCancelled:  # a newer read replaced it (exclusive workers): that is by design
            quiet = 0
            continue
        await pilot.pause()
        busy = any(w.state in (WorkerState.PENDING, WorkerState.RUNNING) for w in app.workers)
        quiet = 0 if busy else quiet + 1
        if quiet == 3:  # a worker's message may start another worker: wait for the chain to end
            return
    raise AssertionError("the app never settled: its workers kept running")


def screenshot(app: App[Any], name: str) -> Path:
    """An SVG of the screen as it is, for people to look at (the tests never read it)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return Path(app.save_screenshot(filename=f"dashboard-{name}.svg", path=str(SCREENSHOTS)))


def fill(context: Context, folder: str, count: int, *, prefix: str = "d") -> None:
    """``folder`` with ``count`` Documents ``d0000``… in one bulk insert."""
    context.create(folder, "Folder", parents=True)
    context.provider.insert_many(
        ItemDraft(path=f"{folder}/{prefix}{n:04d}", type="Document", owner="admin",
                  attributes={"title": f"number {n}"})
        for n in range(count)
    )
