"""The runners panel, driven by Textual's pilot: real runners in the app's own event loop."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from textual.app import App, ComposeResult
from textual.widgets import Button

from realnet.commands.session import Session
from realnet.config import load_settings
from realnet.runners.manager import RunnerManager
from realnet.tui.runners_panel import READ_ONLY, RunnersPanel

# Read at import: the autouse fixture of tests/conftest.py clears REALNET_* variables.
SCREENSHOTS = Path(os.environ.get("REALNET_TUI_SCREENSHOTS")
                   or Path(__file__).resolve().parents[2] / "build" / "tui-screenshots").resolve()


class Host(App[None]):
    """The panel alone on a screen; the messages it posts are kept in ``events``."""

    def __init__(self, session: Session, read_only: bool = False) -> None:
        super().__init__()
        self.session = session
        self.read_only = read_only
        self.events: list[tuple[str, str, str]] = []

    def compose(self) -> ComposeResult:
        yield RunnersPanel(self.session, read_only=self.read_only)

    @property
    def panel(self) -> RunnersPanel:
        return self.query_one(RunnersPanel)

    def on_runners_panel_runner_started(self, event: RunnersPanel.RunnerStarted) -> None:
        self.events.append(("started", event.kind, event.address))

    def on_runners_panel_runner_stopped(self, event: RunnersPanel.RunnerStopped) -> None:
        self.events.append(("stopped", event.kind, event.state))

    def on_runners_panel_runner_failed(self, event: RunnersPanel.RunnerFailed) -> None:
        self.events.append(("failed", event.kind, event.error))


def run(test: Callable[[], Any]) -> None:
    asyncio.run(test())


async def until(pilot, condition: Callable[[], bool], what: str) -> None:
    """Let the app work until ``condition`` holds (a bounded number of turns, not a timer)."""
    for _ in range(3000):
        if condition():
            return
        await pilot.pause(0.01)
    raise AssertionError(f"never happened: {what}")


def screenshot(app: App, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    app.save_screenshot(filename=f"runners-{name}.svg", path=str(SCREENSHOTS))


@pytest.fixture
def session(context) -> Session:
    """A session on this test's store, with the runner manager a shell (or the TUI) holds."""
    session = Session(settings=load_settings(), runners=RunnerManager())
    session.use_context(context)
    return session


def requests_shown(panel: RunnersPanel) -> int:
    activity = panel.row("http")["activity"]
    return int(activity.split(" requests")[0].replace(",", "")) if activity else -1


def test_start_http_count_requests_and_stop(session):
    async def scenario():
        app = Host(session)
        async with app.run_test(size=(100, 30)) as pilot:
            panel = app.panel
            assert panel.row("http")["state"] == "not started"
            assert panel.row("http")["address"] == "127.0.0.1:any free port"
            await pilot.press("s")  # the table has the focus and http is selected
            await until(pilot, lambda: panel.row("http")["state"] == "running", "http running")
            address = panel.row("http")["address"]
            host, port = address.rsplit(":", 1)
            assert host == "127.0.0.1" and int(port) > 0
            assert requests_shown(panel) == 0
            assert app.events == [("started", "http", address)]
            assert app.query_one("#runner-start", Button).disabled
            assert not app.query_one("#runner-stop", Button).disabled

            async with httpx.AsyncClient(base_url=f"http://{address}") as client:
                for _ in range(3):
                    assert (await client.get("/healthz")).status_code == 200
                assert (await client.get("/api/v1/items/nowhere")).status_code in (401, 404)
            await until(pilot, lambda: requests_shown(panel) == 4, "the requests counted")
            assert "0 errors" in panel.row("http")["activity"]
            await until(pilot, lambda: any('"GET /healthz" 200' in line for line in panel.log_lines),
                        "the access log tail")
            assert any("listening on" in line for line in panel.log_lines)
            screenshot(app, "http-running")

            await pilot.press("x")
            await until(pilot, lambda: panel.row("http")["state"] == "stopped", "http stopped")
            await until(pilot, lambda: ("stopped", "http", "stopped") in app.events, "the stop message")
            assert session.runners.running() == []
            assert requests_shown(panel) == 4  # the counters stay to be read
            assert not app.query_one("#runner-start", Button).disabled
            assert app.query_one("#runner-stop", Button).disabled
            async with httpx.AsyncClient() as client:
                with pytest.raises(httpx.ConnectError):
                    await client.get(f"http://{address}/healthz")
            screenshot(app, "http-stopped")

            await pilot.press("s")  # again, after a stop
            await until(pilot, lambda: panel.row("http")["state"] == "running", "http running again")
            await pilot.press("x")
            await until(pilot, lambda: panel.row("http")["state"] == "stopped", "http stopped again")

    run(scenario)


def test_sqs_without_a_queue_says_why_it_cannot_start(session):
    async def scenario():
        app = Host(session)
        async with app.run_test(size=(100, 30)) as pilot:
            panel = app.panel
            await pilot.press("down")  # select sqs
            await until(pilot, lambda: panel.selected == "sqs", "sqs selected")
            assert "REALNET_SQS_QUEUE_URL" in panel.note
            assert app.query_one("#runner-start", Button).disabled
            assert panel.start_runner("sqs") is False
            await pilot.press("s")
            await pilot.pause()
            assert panel.row("sqs")["state"] == "not started"
            assert "sqs" not in session.runners.runners
            assert panel.stop_runner("sqs") is False
            screenshot(app, "sqs-no-queue")

    run(scenario)


def test_read_only_refuses_start_and_stop(session):
    async def scenario():
        app = Host(session, read_only=True)
        async with app.run_test(size=(100, 30)) as pilot:
            panel = app.panel
            assert app.query_one("#runner-start", Button).disabled
            assert app.query_one("#runner-stop", Button).disabled
            await pilot.press("s")
            await pilot.pause()
            assert panel.start_runner("http") is False
            assert panel.note == READ_ONLY
            assert panel.row("http")["state"] == "not started"
            assert session.runners.runners == {}
            assert app.events == []
            screenshot(app, "read-only")

    run(scenario)


def test_a_port_in_use_shows_the_error(session, context):
    import socket

    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    port = taken.getsockname()[1]

    async def scenario():
        app = Host(session)
        async with app.run_test(size=(100, 30)) as pilot:
            panel = app.panel
            panel.http_port = port
            assert panel.start_runner("http") is True
            await until(pilot, lambda: any(e[0] == "failed" for e in app.events), "the failure")
            assert "address already in use" in panel.note
            assert panel.row("http")["state"] != "running"
            assert not app.query_one("#runner-start", Button).disabled  # may try again

    try:
        run(scenario)
    finally:
        taken.close()


def test_sqs_runner_starts_and_stops_on_a_queue(context, s3_server, monkeypatch, tmp_path):
    from sqsserver import Sqs, aws_environment

    aws_environment(monkeypatch, tmp_path, s3_server)
    queue = Sqs(s3_server).queue("rn-tui")
    monkeypatch.setenv("REALNET_SQS_QUEUE_URL", queue)
    session = Session(settings=load_settings(), runners=RunnerManager())
    session.use_context(context)

    async def scenario():
        app = Host(session)
        async with app.run_test(size=(100, 30)) as pilot:
            panel = app.panel
            assert panel.row("sqs")["address"] == queue.rsplit("/", 1)[-1]
            await pilot.press("down", "s")
            await until(pilot, lambda: panel.row("sqs")["state"] == "running", "sqs running")
            assert "0 processed" in panel.row("sqs")["activity"]
            assert any("reading" in line for line in panel.log_lines)
            screenshot(app, "sqs-running")
            await pilot.press("x")
            await until(pilot, lambda: panel.row("sqs")["state"] == "stopped", "sqs stopped")
            assert session.runners.running() == []

    run(scenario)
