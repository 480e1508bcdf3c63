"""One lifecycle for every runner: start, status, logs, stop.

A runner is an asyncio task. The shell starts runners in the background on its own
event loop, so they answer while the prompt waits; ``realnet server`` starts them in
the foreground. Their log lines go to a bounded buffer that ``logs`` reads, never to the
terminal under the prompt (the server in the foreground also copies them to stderr).
"""

from __future__ import annotations

import asyncio
import time
import traceback
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

from realnet.core.errors import NotFound, RealnetError, UsageError
from realnet.runners import STOP_DEADLINE

LOG_LINES = 2000


class LogBuffer:
    """The last ``size`` log lines of a runner, with an optional copy to a stream."""

    def __init__(self, size: int = LOG_LINES, echo: Callable[[str], None] | None = None) -> None:
        self.lines: deque[str] = deque(maxlen=size)
        self.echo = echo
        self._second = -1
        self._stamp = ""

    def write(self, line: str) -> None:
        second = int(time.time())
        if second != self._second:  # one strftime per second, not per request
            self._second, self._stamp = second, time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(second))
        stamped = f"{self._stamp} {line}"
        self.lines.append(stamped)
        if self.echo is not None:
            self.echo(stamped)

    def tail(self, count: int) -> list[str]:
        if count <= 0:
            return []
        return list(self.lines)[-count:]


@dataclass
class Counters:
    """What a runner has done; each runner reports the ones that mean something for it."""

    values: dict[str, int] = field(default_factory=dict)

    def add(self, name: str, amount: int = 1) -> None:
        self.values[name] = self.values.get(name, 0) + amount


class Runner(ABC):
    """A long-running service. Subclasses implement :meth:`serve`."""

    kind: str = "runner"

    def __init__(self) -> None:
        self.log = LogBuffer()
        self.counters = Counters()
        self.started: float | None = None
        self.state = "new"
        self.error: str | None = None

    @property
    @abstractmethod
    def address(self) -> str: ...

    @property
    def started_line(self) -> str:
        return f"listening on {self.address}"

    @abstractmethod
    def prepare(self) -> None:
        """Claim what the runner needs (a port, a queue) or raise a RealnetError naming it."""

    @abstractmethod
    async def serve(self) -> None:
        """Run until :meth:`request_stop`; then finish in-flight work within the deadline."""

    @abstractmethod
    def request_stop(self, deadline: float) -> None:
        """Begin a graceful stop; in-flight work gets ``deadline`` seconds."""

    def status(self) -> dict[str, Any]:
        uptime = time.monotonic() - self.started if self.started and self.state == "running" else 0
        return {"name": self.kind, "state": self.state, "address": self.address,
                "uptime": round(uptime, 1), **self.counters.values,
                **({"error": self.error} if self.error else {})}


class RunnerManager:
    """The runners of one process, by name (one per kind)."""

    def __init__(self, echo: Callable[[str], None] | None = None) -> None:
        self.runners: dict[str, Runner] = {}
        self.tasks: dict[str, asyncio.Task[None]] = {}
        self.echo = echo

    def start(self, runner: Runner) -> Runner:
        """Prepare ``runner`` (a port in use fails here, at once) and run it as a task
        of the running event loop."""
        current = self.runners.get(runner.kind)
        if current is not None and current.state in ("starting", "running", "stopping"):
            raise UsageError(f"{runner.kind}: already {current.state} on {current.address} "
                             f"(stop {runner.kind} first)")
        runner.log.echo = self.echo
        runner.state = "starting"
        try:
            runner.prepare()
        except BaseException:
            runner.state = "failed"
            raise
        self.runners[runner.kind] = runner
        runner.started = time.monotonic()
        runner.state = "running"
        runner.log.write(f"{runner.kind}: {runner.started_line}")
        self.tasks[runner.kind] = asyncio.create_task(self._run(runner), name=f"realnet-{runner.kind}")
        return runner

    async def _run(self, runner: Runner) -> None:
        try:
            await runner.serve()
            runner.state = "stopped"
            runner.log.write(f"{runner.kind}: stopped")
        except asyncio.CancelledError:
            runner.state = "stopped"
            raise
        except Exception as e:  # a crash is reported by ``jobs``, never across the prompt
            runner.state = "failed"
            runner.error = str(e) if isinstance(e, RealnetError) else f"{type(e).__name__}: {e}"
            runner.log.write(f"{runner.kind}: failed: {runner.error}")
            if not isinstance(e, RealnetError):
                runner.log.write("".join(traceback.format_exception(e)).rstrip())

    def get(self, name: str) -> Runner:
        runner = self.runners.get(name)
        if runner is None:
            known = ", ".join(sorted(self.runners)) or "none started"
            raise NotFound(name, f"no such runner (runners: {known})")
        return runner

    def request_stop(self, name: str, *, deadline: float = STOP_DEADLINE) -> Runner:
        """Begin a graceful stop; :meth:`stopped` waits for its end."""
        runner = self.get(name)
        task = self.tasks.get(name)
        if task is not None and not task.done() and runner.state != "stopping":
            runner.state = "stopping"
            runner.log.write(f"{runner.kind}: stopping (in-flight work has {deadline:g} s)")
            runner.request_stop(deadline)
        return runner

    async def stopped(self, name: str, *, deadline: float = STOP_DEADLINE) -> Runner:
        runner = self.get(name)
        task = self.tasks.get(name)
        if task is None or task.done():
            return runner
        try:
            # The runner honours the deadline itself; the extra second covers its shutdown.
            await asyncio.wait_for(asyncio.shield(task), deadline + 1)
        except TimeoutError:
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task
        return runner

    async def stop(self, name: str, *, deadline: float = STOP_DEADLINE) -> Runner:
        self.request_stop(name, deadline=deadline)
        return await self.stopped(name, deadline=deadline)

    async def stop_all(self, *, deadline: float = STOP_DEADLINE) -> None:
        for name in list(self.tasks):
            self.request_stop(name, deadline=deadline)
        for name in list(self.tasks):
            await self.stopped(name, deadline=deadline)

    def running(self) -> list[str]:
        return [name for name, task in self.tasks.items() if not task.done()]

    def statuses(self) -> list[dict[str, Any]]:
        return [r.status() for r in self.runners.values()]

    async def wait(self) -> None:
        """Until every runner has ended (``realnet server`` in the foreground)."""
        if self.tasks:
            await asyncio.gather(*self.tasks.values(), return_exceptions=True)

