"""``realnet server``: the runners (HTTP, and SQS with a queue) in the foreground, as a
container's main process.

SIGTERM and SIGINT (Kubernetes stopping the pod, Ctrl-C) begin a graceful stop: the
listener closes, in-flight requests finish within the deadline, and the process exits 0.
"""

from __future__ import annotations

import asyncio
import signal
from typing import TYPE_CHECKING, TextIO

from realnet.runners.manager import STOP_DEADLINE, RunnerManager

if TYPE_CHECKING:
    from realnet.config import Settings


def run_server(settings: Settings, *, host: str | None, port: int | None, log: TextIO,
               deadline: float = STOP_DEADLINE, sqs: str | None = None) -> int:
    """The HTTP API, and the SQS runner too when a queue is given (``--sqs``) or set
    (REALNET_SQS_QUEUE_URL)."""
    return asyncio.run(_serve(settings, host=host, port=port, log=log, deadline=deadline, sqs=sqs))


async def _serve(settings: Settings, *, host: str | None, port: int | None, log: TextIO,
                 deadline: float, sqs: str | None) -> int:
    from realnet.runners.http import HttpRunner

    def echo(line: str) -> None:
        log.write(line + "\n")
        log.flush()

    manager = RunnerManager(echo=echo)
    queue = sqs or settings.sqs_queue_url
    if queue:  # first: its checks (queue, principal) are the likelier to fail
        from realnet.runners.sqs import SqsRunner

        manager.start(SqsRunner(settings, queue_url=queue, queue_option="--sqs"))
    try:
        manager.start(HttpRunner(settings, host=host, port=port))
    except BaseException:
        await manager.stop_all(deadline=deadline)
        raise
    loop = asyncio.get_running_loop()

    def on_signal(number: int) -> None:
        echo(f"server: {signal.Signals(number).name} received, stopping")
        for name in manager.running():
            manager.request_stop(name, deadline=deadline)

    for number in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(number, on_signal, number)
    try:
        await manager.wait()
    finally:
        for number in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(number)
    return 1 if any(s["state"] == "failed" for s in manager.statuses()) else 0
