"""The runners panel: the HTTP API and the SQS runner, started and stopped inside the TUI.

The runners are those of the shell's ``serve``/``jobs``/``logs``/``stop``: the session's
RunnerManager runs each as a task of the running event loop, which here is Textual's, so
a runner answers while the screen stays live. What could wait (binding, reading the
queue's attributes, opening the store) runs in a thread before the manager starts the
task; a stop is the manager's graceful stop, awaited in a worker.
"""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import Button, DataTable, Label, Log, Static

from realnet.commands.runners import KINDS, _activity, _uptime
from realnet.core.errors import RealnetError
from realnet.runners.manager import Runner, RunnerManager

COLUMNS = ("runner", "state", "address", "activity", "uptime")
ACTIVE = ("starting", "running", "stopping")
READ_ONLY = "read-only mode: runners cannot be started or stopped"


def _already_prepared() -> None:
    """Stands in for a runner's ``prepare`` once it has run in a thread."""


class RunnersPanel(Widget, can_focus=False):
    """One row per runner kind (state, address, counters), Start/Stop, and a live tail of
    the selected runner's log."""

    DEFAULT_CSS = """
    RunnersPanel { height: 1fr; layout: vertical; }
    RunnersPanel #runners-table { height: auto; max-height: 6; }
    RunnersPanel #runners-buttons { height: 3; }
    RunnersPanel #runners-buttons Button { margin-right: 1; }
    RunnersPanel #runner-note { width: 1fr; height: 3; content-align: left middle; color: $warning; }
    RunnersPanel #runner-log-title { color: $text-muted; padding: 0 1; }
    RunnersPanel #runner-log { height: 1fr; border: round $panel; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("s", "start_selected", "Start runner"),
        Binding("x", "stop_selected", "Stop runner"),
    ]

    #: Log lines shown; seconds between refreshes of the rows and the tail.
    TAIL = 200
    REFRESH_SECONDS = 0.5

    selected: reactive[str] = reactive("http", init=False)

    class RunnerStarted(Message):
        def __init__(self, kind: str, address: str) -> None:
            super().__init__()
            self.kind = kind
            self.address = address

    class RunnerStopped(Message):
        def __init__(self, kind: str, state: str) -> None:
            super().__init__()
            self.kind = kind
            self.state = state

    class RunnerFailed(Message):
        """A start was refused or failed; ``error`` says why."""

        def __init__(self, kind: str, error: str) -> None:
            super().__init__()
            self.kind = kind
            self.error = error

    def __init__(self, session: Any, read_only: bool = False, *, http_host: str = "127.0.0.1",
                 http_port: int = 0, name: str | None = None, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.session = session
        self.read_only = read_only
        self.http_host = http_host
        self.http_port = http_port  # 0: a free port
        if session.runners is None:
            session.runners = RunnerManager()
        self.manager: RunnerManager = session.runners
        self._busy: set[str] = set()
        self._notes: dict[str, str] = {}
        self._shown: list[str] = []
        self._note = ""
        self._ready = False

    # -- layout ------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield DataTable(id="runners-table", cursor_type="row")
        with Horizontal(id="runners-buttons"):
            yield Button("Start", id="runner-start", variant="success")
            yield Button("Stop", id="runner-stop", variant="warning")
            yield Static("", id="runner-note", markup=False)
        yield Label("", id="runner-log-title", markup=False)
        yield Log(id="runner-log", max_lines=self.TAIL)

    def on_mount(self) -> None:
        table = self.query_one("#runners-table", DataTable)
        for column in COLUMNS:
            table.add_column(column, key=column)
        for kind in KINDS:
            table.add_row(*self._cells(kind), key=kind)
        self._ready = True
        self.refresh_runners()
        self.set_interval(self.REFRESH_SECONDS, self.refresh_runners)

    # -- what the app and the tests may ask --------------------------------------------
    def row(self, kind: str) -> dict[str, str]:
        """The row of ``kind`` as shown: column → text."""
        return dict(zip(COLUMNS, (str(c) for c in self.query_one(DataTable).get_row(kind)), strict=True))

    @property
    def note(self) -> str:
        """What the panel says about the selected runner (why it cannot start, its error)."""
        return self._note

    @property
    def log_lines(self) -> list[str]:
        return list(self._shown)

    def why_not_start(self, kind: str) -> str | None:
        """Why ``kind`` cannot be started now, or None."""
        if self.read_only:
            return READ_ONLY
        settings = self._settings()
        if settings.url:
            return f"{kind}: this TUI works against {settings.url}; runners start on that store"
        if kind == "sqs" and not settings.sqs_queue_url:
            return "sqs: set REALNET_SQS_QUEUE_URL to the queue to read, then start"
        if kind in self._busy:
            return f"{kind}: busy, try again in a moment"
        runner = self.manager.runners.get(kind)
        if runner is not None and runner.state in ACTIVE:
            return f"{kind}: already {runner.state} on {runner.address}"
        return None

    def _settings(self) -> Any:
        if self.session.settings is None:
            from realnet.config import load_settings

            self.session.settings = load_settings()
        return self.session.settings

    # -- start and stop ----------------------------------------------------------------
    def action_start_selected(self) -> None:
        self.start_runner(self.selected)

    def action_stop_selected(self) -> None:
        self.stop_runner(self.selected)

    @on(Button.Pressed, "#runner-start")
    def _start_pressed(self) -> None:
        self.start_runner(self.selected)

    @on(Button.Pressed, "#runner-stop")
    def _stop_pressed(self) -> None:
        self.stop_runner(self.selected)

    def start_runner(self, kind: str) -> bool:
        """Begin starting ``kind``; False (and the reason shown) when it cannot start."""
        try:
            reason = self.why_not_start(kind)
        except RealnetError as e:  # a bad setting
            reason = str(e)
        if reason is not None:
            self._refuse(kind, reason)
            return False
        self._busy.add(kind)
        self._notes.pop(kind, None)
        self._start(kind)
        self.refresh_runners()
        return True

    def stop_runner(self, kind: str) -> bool:
        """Begin a graceful stop of ``kind``; False (and why) when there is nothing to stop."""
        runner = self.manager.runners.get(kind)
        if self.read_only:
            reason: str | None = READ_ONLY
        elif kind in self._busy:
            reason = f"{kind}: busy, try again in a moment"
        elif runner is None or runner.state not in ("starting", "running"):
            reason = f"{kind}: not running"
        else:
            reason = None
        if reason is not None:
            self.notify(reason, title="runner", severity="information")
            return False
        self._busy.add(kind)
        self._notes.pop(kind, None)
        self._stop(kind)
        self.refresh_runners()
        return True

    def _new_runner(self, kind: str) -> Runner:
        """The runner as ``serve KIND`` in the shell makes it (realnet/commands/runners.py)."""
        settings = self._settings()
        if kind == "http":
            from realnet.runners.http import HttpRunner

            return HttpRunner(settings, host=self.http_host, port=self.http_port)
        from realnet.runners.sqs import SqsRunner

        principal = settings.sqs_principal or self.session.principal
        return SqsRunner(settings, principal=principal)

    @work(group="runner-start")
    async def _start(self, kind: str) -> None:
        try:
            runner = self._new_runner(kind)
            # Off the loop: binding, loading the server, reading the queue may take a while.
            await asyncio.to_thread(runner.prepare)
            runner.prepare = _already_prepared  # type: ignore[method-assign]
            self.manager.start(runner)
        except Exception as e:  # shown on the panel: a failed start must not end the TUI
            error = str(e) if isinstance(e, RealnetError) else f"{kind}: {type(e).__name__}: {e}"
            self._notes[kind] = error
            self.notify(error, title="runner", severity="error")
            self.post_message(self.RunnerFailed(kind, error))
        else:
            self.post_message(self.RunnerStarted(kind, runner.address))
        finally:
            self._busy.discard(kind)
            self.refresh_runners()

    @work(group="runner-stop")
    async def _stop(self, kind: str) -> None:
        try:
            runner = await self.manager.stop(kind)
        finally:
            self._busy.discard(kind)
            self.refresh_runners()
        self.post_message(self.RunnerStopped(kind, runner.state))

    def _refuse(self, kind: str, reason: str) -> None:
        self.notify(reason, title="runner", severity="warning")
        if kind != self.selected:
            self.selected = kind
        self.refresh_runners()

    # -- showing -----------------------------------------------------------------------
    @on(DataTable.RowHighlighted, "#runners-table")
    def _row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.row_key.value in KINDS:
            self.selected = str(event.row_key.value)

    def watch_selected(self, kind: str) -> None:
        table = self.query_one("#runners-table", DataTable)
        row = table.get_row_index(kind)
        if table.cursor_row != row:
            table.move_cursor(row=row)
        self._shown = []
        self.query_one("#runner-log", Log).clear()
        self.refresh_runners()

    def _cells(self, kind: str) -> tuple[str, ...]:
        runner = self.manager.runners.get(kind)
        if runner is None:
            if kind == "http":
                address = f"{self.http_host}:{self.http_port or 'any free port'}"
            else:
                address = self.session.settings.sqs_queue_url if self.session.settings else None
                address = address.rsplit("/", 1)[-1] if address else "-"
            state = "starting" if kind in self._busy else "not started"
            return (kind, state, address, "", "")
        status = runner.status()
        state = status["state"]
        if kind in self._busy and state not in ACTIVE:
            state = "starting"
        return (kind, state, status["address"], _activity(status),
                _uptime(status["uptime"]) if state == "running" else "")

    def refresh_runners(self) -> None:
        """Bring the rows, the buttons, the note and the log tail up to date."""
        if not self._ready:
            return
        table = self.query_one("#runners-table", DataTable)
        for kind in KINDS:
            for column, value in zip(COLUMNS, self._cells(kind), strict=True):
                if table.get_cell(kind, column) != value:
                    table.update_cell(kind, column, value, update_width=True)
        kind = self.selected
        runner = self.manager.runners.get(kind)
        active = runner is not None and runner.state in ("starting", "running")
        try:
            reason = self.why_not_start(kind)
        except RealnetError as e:
            reason = str(e)
        busy = kind in self._busy
        self.query_one("#runner-start", Button).disabled = reason is not None or busy
        self.query_one("#runner-stop", Button).disabled = self.read_only or busy or not active
        note = self._notes.get(kind) or (runner.error if runner is not None and runner.error else None)
        if note is None and reason is not None and not active:
            note = reason
        if (note or "") != self._note:
            self._note = note or ""
            self.query_one("#runner-note", Static).update(self._note)
        self.query_one("#runner-log-title", Label).update(f"{kind} log (last {self.TAIL} lines)")
        self._show_tail(runner)

    def _show_tail(self, runner: Runner | None) -> None:
        lines = runner.log.tail(self.TAIL) if runner is not None else []
        if lines == self._shown:
            return
        log = self.query_one("#runner-log", Log)
        shown = len(self._shown)
        if shown and lines[:shown] == self._shown:
            log.write_lines(lines[shown:])
        else:
            log.clear()
            log.write_lines(lines)
        self._shown = lines
