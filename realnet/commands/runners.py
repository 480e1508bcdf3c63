"""Runners from inside the shell: ``serve``, ``jobs``, ``logs``, ``stop``.

The shell owns an event loop and a runner manager; a runner started here is a task of
that loop and answers while the prompt waits. The CLI has no loop to keep: it runs
runners in the foreground with ``realnet server``.
"""

from __future__ import annotations

from typing import Any

import click

from realnet.commands.common import output_option, session_of
from realnet.commands.output import Table, Text
from realnet.commands.session import Session
from realnet.core.errors import UsageError
from realnet.runners import STOP_DEADLINE

KINDS = ("http", "sqs")


def manager_of(session: Session, command: str) -> Any:
    if session.runners is None:
        raise UsageError(f"{command}: runners live inside 'realnet shell'; "
                         "use 'realnet server' to run them in the foreground")
    return session.runners


def _uptime(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def _activity(status: dict[str, Any]) -> str:
    """What a runner has done, in the words that fit its kind."""
    if status["name"] == "sqs":
        return (f"{status.get('processed', 0):,} processed  {status.get('failed', 0):,} failed  "
                f"{status.get('in_flight', 0):,} in flight")
    return f"{status.get('requests', 0):,} requests  {status.get('errors', 0):,} errors"


def register(group: click.Group) -> None:
    @group.command("serve")
    @click.argument("kind", type=click.Choice(KINDS))
    @click.option("--host", help="http: address to listen on (default REALNET_SERVER_HOST or 127.0.0.1).")
    @click.option("--port", type=click.IntRange(0, 65535),
                  help="http: port (default REALNET_SERVER_PORT or 8080; 0 picks a free one).")
    @click.option("--queue", metavar="URL", help="sqs: the queue to read (default REALNET_SQS_QUEUE_URL).")
    @click.option("--concurrency", type=click.IntRange(1, 1000),
                  help="sqs: requests worked on at once (default REALNET_SQS_CONCURRENCY or 10).")
    @click.pass_context
    def serve(ctx, kind, host, port, queue, concurrency):
        """Start a runner in the background (the HTTP API, or the SQS runner); the prompt
        returns at once."""
        session = session_of(ctx)
        manager = manager_of(session, "serve")
        if session.settings is None:
            raise UsageError("serve: no settings loaded")
        if session.settings.url:
            raise UsageError(f"serve: this shell works against {session.settings.url}; "
                             "run 'serve' in a shell on that store, not over --url")
        if kind == "http":
            if queue is not None or concurrency is not None:
                raise UsageError("serve http: --queue and --concurrency are for 'serve sqs'")
            from realnet.runners.http import HttpRunner

            runner = manager.start(HttpRunner(session.settings, host=host, port=port))
            session.emit(Text(f"http: serving on {runner.url} ('logs http' shows requests, "
                              "'stop http' ends it)"))
            return
        if host is not None or port is not None:
            raise UsageError("serve sqs: --host and --port are for 'serve http'")
        from realnet.runners.sqs import SqsRunner

        principal = session.settings.sqs_principal or session.principal
        runner = manager.start(SqsRunner(session.settings, queue_url=queue, principal=principal,
                                         concurrency=concurrency))
        session.emit(Text(f"sqs: reading {runner.queue_url} as {runner.principal} ('logs sqs' shows "
                          "requests, 'stop sqs' ends it)"))

    @group.command("jobs")
    @output_option
    @click.pass_context
    def jobs(ctx, output):
        """List the runners of this shell with their state and counters."""
        session = session_of(ctx)
        statuses = manager_of(session, "jobs").statuses()
        rows = tuple(
            (s["name"], s["state"], s["address"], _activity(s),
             f"up {_uptime(s['uptime'])}" if s["state"] == "running" else "")
            for s in statuses)
        session.emit(Table(("name", "state", "address", "activity", "uptime"), rows, statuses), output)

    @group.command("logs")
    @click.argument("target", metavar="http|sqs|POD")
    @click.option("-n", "--lines", "--tail", "count", type=click.IntRange(1, 100_000),
                  help="How many of the latest lines (a runner's: 20; a pod's: all).")
    @click.option("-f", "--follow", is_flag=True, help="A pod's log: keep printing new lines.")
    @click.option("--previous", is_flag=True, help="A pod's log: of the container's previous run.")
    @click.option("-c", "--container", help="A pod's log: of this container.")
    @click.pass_context
    def logs(ctx, target, count, follow, previous, container):
        """Show the latest log lines of a runner (access log and messages), or a pod's log."""
        session = session_of(ctx)
        if target not in KINDS:
            from realnet.commands.kubernetes import pod_logs

            pod_logs(session, target, tail=count, follow=follow, previous=previous, container=container)
            return
        runner = manager_of(session, "logs").get(target)
        for line in runner.log.tail(count or 20):
            session.stdout.write(line + "\n")

    @group.command("stop")
    @click.argument("kind", type=click.Choice(KINDS))
    @click.option("--deadline", type=click.FloatRange(0, 600), default=STOP_DEADLINE, show_default=True,
                  help="Seconds in-flight requests get to finish.")
    @click.pass_context
    def stop(ctx, kind, deadline):
        """Stop a runner gracefully: it finishes in-flight work within the deadline."""
        session = session_of(ctx)
        manager = manager_of(session, "stop")
        runner = manager.request_stop(kind, deadline=deadline)

        async def wait() -> None:
            await manager.stopped(kind, deadline=deadline)
            session.stdout.write(f"{kind}: {runner.state}\n")

        session.pending.append(wait())
