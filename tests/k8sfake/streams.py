"""Long answers: watch streams (newline-delimited JSON events), followed logs, and the faults
that break them."""

from __future__ import annotations

import asyncio
import json
import threading
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

from .kinds import Resource
from .logs import PodLogs, render
from .state import Event, Store, Subscriber, wire
from .tables import table

STOP = "stop"  # the server is stopping: end cleanly
DROP = "drop"  # break the stream now (fault injection)


class DroppedStream(Exception):
    """Raised inside a streaming answer: the server closes the connection without ending the
    chunked body, which a client sees as a broken connection (a watch that breaks mid-stream)."""


@dataclass
class Faults:
    """What the server does wrong on purpose; change the fields at any time from the test.

    - ``fail(503)``: answer requests with that status (``times`` of them, or until ``clear()``),
      only those whose path contains ``only`` when given;
    - ``delay``: seconds to wait before answering each request (``delay_only`` limits it to paths
      containing that text), for clients' timeouts;
    - ``watch_drop_after``: break each watch after it sent that many events (``watch_abort``:
      a broken connection; otherwise the stream just ends, as a server timeout does);
    - the server's ``drop_watches()`` breaks every open watch now.
    """

    status: int | None = None
    times: int | None = None
    only: str | None = None
    delay: float = 0.0
    delay_only: str | None = None
    watch_drop_after: int | None = None
    watch_abort: bool = True
    served: int = 0  # requests that got the injected status
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def fail(self, status: int = 503, *, times: int | None = None, only: str | None = None) -> None:
        with self.lock:
            self.status, self.times, self.only = status, times, only

    def clear(self) -> None:
        with self.lock:
            self.status = self.times = self.only = self.delay_only = self.watch_drop_after = None
            self.delay = 0.0
            self.watch_abort = True

    def take(self, path: str) -> int | None:
        """The status to answer this request with, if it is to fail."""
        with self.lock:
            if self.status is None or (self.only is not None and self.only not in path):
                return None
            if self.times is not None:
                if self.times <= 0:
                    return None
                self.times -= 1
            self.served += 1
            return self.status

    def delay_for(self, path: str) -> float:
        if self.delay and (self.delay_only is None or self.delay_only in path):
            return self.delay
        return 0.0


def _line(kind: str, obj: dict) -> bytes:
    return json.dumps({"type": kind, "object": obj}, separators=(",", ":")).encode() + b"\n"


def translate(event: Event, matches: Callable[[dict], bool]) -> tuple[str, dict] | None:
    """The event a watcher with this filter sees: an object that stops matching is DELETED
    for it, one that starts matching is ADDED, as with a real API server."""
    if event.type != "MODIFIED":
        return (event.type, event.new) if matches(event.new) else None
    was = event.old is not None and matches(event.old)
    now = matches(event.new)
    if was and now:
        return ("MODIFIED", event.new)
    if now:
        return ("ADDED", event.new)
    if was:
        return ("DELETED", event.new)
    return None


async def watch_stream(store: Store, res: Resource, sub: Subscriber, replay: list[Event],
                       matches: Callable[[dict], bool], timeout: float, faults: Faults,
                       as_table: bool = False) -> AsyncIterator[bytes]:
    """Events after `replay` until the timeout; objects as Table rows when asked (`kubectl get -w`),
    the column definitions in the first event only, as a real API server sends them."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    pending: deque[object] = deque(replay)
    sent = 0
    try:
        while True:
            if pending:
                item = pending.popleft()
            else:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    return
                try:
                    item = await asyncio.wait_for(sub.queue.get(), remaining)
                except TimeoutError:
                    return
            if item == STOP:
                return
            if item == DROP:
                raise DroppedStream("watch dropped by fault injection")
            assert isinstance(item, Event)
            seen = translate(item, matches)
            if seen is None:
                continue
            if as_table:
                rows = table(res, [seen[1]], int(seen[1]["metadata"]["resourceVersion"]), None)
                if sent:
                    rows["columnDefinitions"] = []
                yield _line(seen[0], rows)
            else:
                yield _line(seen[0], wire(res, seen[1]))
            sent += 1
            if faults.watch_drop_after is not None and sent >= faults.watch_drop_after:
                if faults.watch_abort:
                    raise DroppedStream(f"watch dropped after {sent} events by fault injection")
                return
    finally:
        store.unsubscribe(sub)


def expired_stream(status: dict) -> AsyncIterator[bytes]:
    async def one() -> AsyncIterator[bytes]:
        yield _line("ERROR", status)
    return one()


async def log_stream(logs: PodLogs, lines: list, sub: Subscriber | None, *, timestamps: bool,
                     limit_bytes: int | None) -> AsyncIterator[bytes]:
    budget = limit_bytes
    try:
        for entry in lines:
            chunk = render(entry, timestamps)
            if budget is not None:
                chunk, budget = chunk[:budget], budget - len(chunk)
            yield chunk
            if budget is not None and budget <= 0:
                return
        while sub is not None:
            item = await sub.queue.get()
            if item is None:
                return
            chunk = render(item, timestamps)
            if budget is not None:
                chunk, budget = chunk[:budget], budget - len(chunk)
            yield chunk
            if budget is not None and budget <= 0:
                return
    finally:
        if sub is not None:
            logs.unfollow(sub)
