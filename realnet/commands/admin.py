"""The store and its types: init info types export import help."""

from __future__ import annotations

import io
import json
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import click

from realnet import __version__
from realnet.commands.common import output_option, session_of
from realnet.commands.output import Record, Table, Text, to_json, to_yaml
from realnet.core.errors import NotFound, RealnetError, UsageError, ValidationError
from realnet.core.transfer import export_tree, import_tree
from realnet.core.types import MAX_JSON_DEPTH


def register(group: click.Group) -> None:
    @group.command("init")
    @output_option
    @click.pass_context
    def init(ctx, output):
        """Load the type definitions and the initial tree; run again to upgrade in place."""
        session = session_of(ctx)
        report = session.context.init()
        values = report.to_dict()
        message = (
            f"initialized from {len(report.files)} file(s): types {report.types_created} new, "
            f"{report.types_updated} updated, {report.types_unchanged} unchanged; "
            f"{report.items_created} item(s) created"
        )
        settings = session.settings
        if settings is not None and not settings.url:  # a remote store is not in this pod
            from realnet.providers.kubernetes.local import mount_local_cluster

            done, warning = mount_local_cluster(session.context, settings.local_cluster)
            if done:
                values["local_cluster"] = settings.local_cluster
                message += f"; {done}"
            if warning:
                session.note(f"realnet: {warning}")
        session.emit(Record(values, message=message), output)

    @group.command("migrate")
    @output_option
    @click.pass_context
    def migrate(ctx, output):
        """Bring the store's schema up to date (every start does it; this says where it stands)."""
        session = session_of(ctx)
        provider = session.context.provider
        version = getattr(provider, "schema_version", None)
        session.emit(Record({"store": provider.label, "schema_version": version},
                            message=f"{provider.label}: schema at version {version}, up to date"), output)

    @group.command("info")
    @output_option
    @click.pass_context
    def info(ctx, output):
        """Show the version, the store and the settings in force (never secrets)."""
        session = session_of(ctx)
        context = session.context
        values: dict[str, Any] = {"version": __version__, "store": context.provider.label}
        if session.settings is not None:
            values.update(session.settings.describe())
        values["schema_version"] = getattr(context.provider, "schema_version", None)
        values["types"] = len(context.types)
        values["identity"] = context.principal
        session.emit(Record(values), output)

    @group.command("types")
    @click.argument("name", required=False)
    @output_option
    @click.pass_context
    def types(ctx, name, output):
        """List the types, or show one with its inherited attributes."""
        session = session_of(ctx)
        registry = session.context.types
        if name is None:
            rows = tuple(
                (t.name, t.base or "", "abstract" if t.abstract else t.module or "", t.description)
                for t in registry
            )
            session.emit(Table(("name", "base", "module", "description"), rows), output)
            return
        typedef = registry.get(name)
        data = typedef.to_dict()
        data["lineage"] = list(registry.lineage(name))
        data["attributes"] = {n: a.to_dict() for n, a in registry.attributes(name).items()}
        data["children"] = list(registry.allowed_children(name))
        if output != "table":
            session.emit(data, output)
            return
        lines = [f"{name}  ({' → '.join(data['lineage'])})"]
        if typedef.description:
            lines.append(typedef.description)
        lines.append("children: " + (", ".join(data["children"]) or "none"))
        for attr in registry.attributes(name).values():
            flags = " required" if attr.required else ""
            default = f" = {attr.default!r}" if attr.default is not None else ""
            values = f" [{', '.join(attr.values)}]" if attr.values else ""
            note = f"  — {attr.description}" if attr.description else ""
            lines.append(f"  {attr.name}: {attr.kind}{values}{flags}{default}{note}")
        session.emit(Text("\n".join(lines)))

    @group.command("export")
    @click.argument("path")
    @click.option("-f", "--file", help="Write here (default: standard output).")
    @click.option("--format", "fmt", type=click.Choice(["json", "yaml", "tar", "tar.gz"]),
                  help="Default: by the file's extension (.json, .yaml, .tar, .tar.gz, .tgz), else json. "
                       "Archives carry file content; documents only the items.")
    @click.pass_context
    def export(ctx, path, file, fmt):
        """Write a subtree as one JSON or YAML document, or as an archive with file content."""
        session = session_of(ctx)
        chosen = fmt or _format_of(file) or "json"
        if chosen in ARCHIVES:
            _export_archive(session, session.resolve(path), file, compress=chosen == "tar.gz")
            return
        document = export_tree(session.context, session.resolve(path))
        text = to_json(document) + "\n" if chosen == "json" else to_yaml(document)
        if file is None or file == "-":
            session.stdout.write(text)
            return
        with _replacing(Path(file), "w") as handle:
            handle.write(text)
        session.note(f"exported {len(document['items'])} item(s) to {file}")

    @group.command("import")
    @click.argument("file")
    @click.argument("path")
    @output_option
    @click.pass_context
    def import_(ctx, file, path, output):
        """Read an export (document or archive) back at PATH (or into PATH, if it is a folder):
        all or nothing."""
        from realnet.commands.content import byte_progress
        from realnet.core.archive import import_archive, is_archive

        session = session_of(ctx)
        target = session.resolve(path)
        with _open_input(file) as stream:
            head = _read(stream, file, 512)  # tar's magic is at byte 257
            if is_archive(head):
                with byte_progress(session, f"import {Path(file).name}") as progress:
                    root, count = import_archive(session.context, _Prefixed(head, stream), target,
                                                 source=file, progress=progress)
            else:
                document = _parse_document(file, _decode(file, head + _read(stream, file)))
                root, count = import_tree(session.context, document, target, source=file)
        session.emit(Record({"path": root.path, "imported": count},
                            message=f"imported {count} item(s) to {root.path}"), output)

    @group.command("help")
    @click.argument("command", required=False)
    @click.pass_context
    def help_(ctx, command):
        """List the commands, or explain one."""
        session = session_of(ctx)
        root = ctx.find_root()
        group = root.command
        assert isinstance(group, click.Group)
        if command is None:
            rows = []
            for name in sorted(group.list_commands(ctx)):
                cmd = group.get_command(ctx, name)
                if cmd is not None and not cmd.hidden:
                    rows.append((name, cmd.get_short_help_str(limit=70)))
            width = max(len(r[0]) for r in rows)
            lines = [f"  {n.ljust(width)}  {h}" for n, h in rows]
            lines.append("\n'help COMMAND' or 'COMMAND --help' explains one command.")
            session.emit(Text("commands:\n" + "\n".join(lines)))
            return
        cmd = group.get_command(ctx, command)
        if cmd is None:
            raise NotFound(command, "no such command (try 'help')")
        with click.Context(cmd, info_name=command, parent=root) as sub:
            session.emit(Text(cmd.get_help(sub)))


ARCHIVES = ("tar", "tar.gz")


def _format_of(file: str | None) -> str | None:
    if not file:
        return None
    name = file.lower()
    if name.endswith((".tar.gz", ".tgz")):
        return "tar.gz"
    suffix = Path(name).suffix
    return {".json": "json", ".yaml": "yaml", ".yml": "yaml", ".tar": "tar"}.get(suffix)


@contextmanager
def _replacing(target: Path, mode: str) -> Iterator[IO[Any]]:
    """A file beside the target, renamed over it only when complete, so a failure never
    leaves half a file."""
    directory = target.parent if str(target.parent) else Path(".")
    if not directory.is_dir():
        raise NotFound(str(directory), "no such folder to write the export into")
    fd, temp = tempfile.mkstemp(dir=directory, prefix=f".{target.name}.", suffix=".part")
    try:
        with os.fdopen(fd, mode, **({} if "b" in mode else {"encoding": "utf-8"})) as handle:
            yield handle
        os.replace(temp, target)
    except OSError as e:
        raise RealnetError(f"{target}: cannot write ({e.strerror or e})") from None
    finally:
        Path(temp).unlink(missing_ok=True)


def _export_archive(session: Any, path: str, file: str | None, *, compress: bool) -> None:
    from realnet.commands.content import byte_progress
    from realnet.core.archive import export_archive

    label = f"export {Path(file).name if file and file != '-' else 'archive'}"
    with byte_progress(session, label) as progress:
        if file is None or file == "-":
            out = getattr(session.stdout, "buffer", None)
            if out is None or session.stdout.isatty():
                raise UsageError("an archive is binary: write it to a file with -f FILE, or pipe it")
            session.stdout.flush()
            counts = export_archive(session.context, path, out, compress=compress, progress=progress)
            out.flush()
        else:
            with _replacing(Path(file), "wb") as handle:
                counts = export_archive(session.context, path, handle, compress=compress,
                                        progress=progress)
    if file and file != "-":
        session.note(f"exported {counts['items']} item(s) with the content of {counts['files']} "
                     f"file(s) to {file}")


@contextmanager
def _open_input(file: str) -> Iterator[IO[bytes]]:
    if file == "-":
        binary = getattr(sys.stdin, "buffer", None)  # a text-only stdin (embedding, tests) holds text
        yield binary if binary is not None else io.BytesIO(sys.stdin.read().encode())
        return
    try:
        handle = Path(file).open("rb")  # noqa: SIM115 - closed by the with below
    except FileNotFoundError:
        raise NotFound(file, "no such file") from None
    except OSError as e:
        raise RealnetError(f"{file}: cannot read ({e.strerror or e})") from None
    with handle:
        yield handle


def read_document(file: str) -> Any:
    """An export document (JSON or YAML) read from a file, or stdin for ``-``, as ``import``
    reads it."""
    with _open_input(file) as stream:
        return _parse_document(file, _decode(file, _read(stream, file)))


def _read(stream: IO[bytes], file: str, size: int = -1) -> bytes:
    try:
        return stream.read(size)
    except OSError as e:
        raise RealnetError(f"{file}: cannot read ({e.strerror or e})") from None


def _decode(file: str, data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ValidationError(f"{file}: not UTF-8 text at byte {e.start}, and not an archive") from None


class _Prefixed:
    """A stream with its first bytes, already read, put back in front."""

    def __init__(self, head: bytes, rest: IO[bytes]) -> None:
        self.head, self.rest = head, rest

    def read(self, size: int = -1) -> bytes:
        if not self.head:
            return self.rest.read(size)
        if size < 0:
            data, self.head = self.head + self.rest.read(), b""
            return data
        data, self.head = self.head[:size], self.head[size:]
        return data


def _parse_document(file: str, text: str) -> Any:
    kind = _format_of(file)
    if kind in ARCHIVES:
        raise ValidationError(f"{file}: not a tar archive")
    if kind is None:
        kind = "json" if text.lstrip().startswith(("{", "[")) else "yaml"
    if kind == "json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as e:
            raise ValidationError(
                f"{file}: malformed JSON at line {e.lineno}, column {e.colno}: {e.msg}"
            ) from e
        except RecursionError:
            raise ValidationError(
                f"{file}: JSON nested too deeply to read (attribute values may nest at most "
                f"{MAX_JSON_DEPTH} levels)"
            ) from None
        except ValueError as e:  # an integer with more digits than Python converts
            raise ValidationError(f"{file}: malformed JSON: {str(e).split(';')[0]}") from None
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        _refuse_deep_yaml(file, yaml.parse(text, Loader=loader))
        return yaml.load(text, Loader=loader)  # noqa: S506 - a safe loader
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(e, "problem", None) or "not valid YAML"
        raise ValidationError(f"{file}: malformed YAML{where}: {problem}") from e


#: An export nests a few levels around attribute values of at most MAX_JSON_DEPTH.
MAX_YAML_DEPTH = MAX_JSON_DEPTH + 16


def _refuse_deep_yaml(file: str, events: Any) -> None:
    """Count the nesting on libyaml's event stream, which is read without recursion, before
    the document is built: building one nested some thousands deep overflows the C stack
    and kills the process (a segmentation fault, not an error)."""
    import yaml

    depth = 0
    for event in events:
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_YAML_DEPTH:
                raise ValidationError(f"{file}: YAML nested more than {MAX_YAML_DEPTH} levels deep "
                                      f"(attribute values may nest at most {MAX_JSON_DEPTH})")
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
