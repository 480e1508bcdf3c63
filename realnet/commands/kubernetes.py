"""Cluster commands: ``apply``, ``scale``, ``restart``, ``describe``, ``events`` (and pod
logs through ``logs``). Each goes through the context's ``action``, so its permission is
checked where every other change's is."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from realnet.commands.common import output_option, session_of
from realnet.commands.output import Record, Table, Text, Value
from realnet.core.errors import ValidationError


def read_manifests(source: str) -> list:
    """The YAML documents of a file (``-`` for stdin), with line and column on a mistake."""
    import yaml

    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    except OSError as e:
        raise ValidationError(f"{source}: cannot read: {e.strerror}") from None
    except UnicodeDecodeError:
        raise ValidationError(f"{source}: not UTF-8 text") from None
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        return list(yaml.load_all(text, Loader=loader))
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        raise ValidationError(f"{source}: not valid YAML: {e.problem}{where}") from None


def register(group: click.Group) -> None:
    @group.command("apply")
    @click.argument("file")
    @click.argument("path", default=".")
    @output_option
    @click.pass_context
    def apply(ctx, file, path, output):
        """Create or update the objects of a manifest file (several documents too) in a
        cluster namespace (PATH, default here); all are checked before the first is sent."""
        session = session_of(ctx)
        documents = read_manifests(file)
        results = session.context.action(session.resolve(path), "apply", documents=documents,
                                         source=file)
        if output == "table":
            for result in results:
                session.emit(Text(f"{result['result']} {result['path']}"))
        else:
            session.emit(Value(results), output)

    @group.command("scale")
    @click.argument("path")
    @click.argument("replicas", type=click.IntRange(0, 100_000))
    @output_option
    @click.pass_context
    def scale(ctx, path, replicas, output):
        """Set the replicas of a deployment, stateful set or replica set."""
        session = session_of(ctx)
        result = session.context.action(session.resolve(path), "scale", replicas=replicas)
        session.emit(Record(result, message=f"scaled {result['path']} to {replicas}"), output)

    @group.command("restart")
    @click.argument("path")
    @output_option
    @click.pass_context
    def restart(ctx, path, output):
        """Restart the pods of a deployment, stateful set or daemon set (a rollout)."""
        session = session_of(ctx)
        result = session.context.action(session.resolve(path), "restart")
        session.emit(Record(result, message=f"restarted {result['path']}"), output)

    @group.command("describe")
    @click.argument("path")
    @output_option
    @click.pass_context
    def describe(ctx, path, output):
        """An object's columns, its manifest (Secret values redacted) and its events."""
        session = session_of(ctx)
        described = session.context.action(session.resolve(path), "describe")
        if output != "table":
            session.emit(Value(described), output)
            return
        import yaml

        lines = [f"{described['kind']} {described['path']}"]
        lines += [f"  {k}: {v}" for k, v in described["summary"].items()]
        lines.append(yaml.safe_dump(described["manifest"], sort_keys=False).rstrip())
        lines.append("events:" if described["events"] else "events: none")
        lines += [f"  {e['time']}  {e['type']}  {e['reason']}  {e['message']}" for e in described["events"]]
        session.emit(Text("\n".join(lines)))

    @group.command("events")
    @click.argument("path", default=".")
    @output_option
    @click.pass_context
    def events(ctx, path, output):
        """The events of a cluster namespace, or of one object."""
        session = session_of(ctx)
        rows = session.context.action(session.resolve(path), "events")
        columns = ("time", "type", "reason", "object", "message")
        session.emit(Table(columns, tuple(tuple(r[c] for c in columns) for r in rows), rows), output)


def pod_logs(session, target: str, *, tail: int | None, follow: bool, previous: bool,
             container: str | None) -> None:
    """Print a pod's log (following it until it ends or Ctrl-C)."""
    lines = session.context.action(session.resolve(target), "logs", tail=tail, follow=follow,
                                   previous=previous, container=container)
    for line in lines:
        session.stdout.write(line + "\n")
        if follow:
            session.stdout.flush()
