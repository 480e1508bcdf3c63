"""A real HTTP runner for tests: uvicorn on 127.0.0.1 on a free port, in its own thread
and event loop, against the store the given settings name."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from realnet.config import Settings
from realnet.runners.http import HttpRunner
from realnet.runners.manager import RunnerManager


@dataclass
class LiveServer:
    url: str
    runner: HttpRunner
    loop: asyncio.AbstractEventLoop


@contextmanager
def live_server(settings: Settings, *, deadline: float = 5.0) -> Iterator[LiveServer]:
    loop = asyncio.new_event_loop()
    manager = RunnerManager()
    started = threading.Event()
    failure: list[BaseException] = []

    stop = asyncio.Event()

    async def main() -> None:
        try:
            manager.start(HttpRunner(settings, host="127.0.0.1", port=0))
        except BaseException as e:
            failure.append(e)
            return
        finally:
            started.set()
        await stop.wait()
        await manager.stop_all(deadline=deadline)

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    started.wait(30)
    if failure:
        thread.join(5)
        loop.close()
        raise failure[0]
    runner = manager.get("http")
    try:
        yield LiveServer(runner.url, runner, loop)  # type: ignore[arg-type]
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(deadline + 10)
        if thread.is_alive():
            raise RuntimeError("the HTTP runner did not stop within its deadline")
        loop.close()
