"""The prompt-toolkit side of completion: candidates for what :func:`analyze` expects."""

from __future__ import annotations

from collections.abc import Iterator

from prompt_toolkit.completion import CompleteEvent, Completer, Completion, PathCompleter
from prompt_toolkit.document import Document

from realnet.commands.session import Session
from realnet.core.errors import RealnetError
from realnet.shell.completion import (
    PATH_COMPLETION_LIMIT,
    SHELL_ONLY,
    Expectation,
    analyze,
    matching,
    split_path_prefix,
)


class ShellCompleter(Completer):
    def __init__(self, session: Session, commands) -> None:
        self.session = session
        self.commands = commands
        self._files = PathCompleter(expanduser=True)

    def get_completions(self, document: Document, complete_event: CompleteEvent) -> Iterator[Completion]:
        expect = analyze(document.text_before_cursor, self.commands)
        if expect.kind == "file":
            sub = Document(expect.prefix, len(expect.prefix))
            yield from self._files.get_completions(sub, complete_event)
            return
        try:
            candidates = self._candidates(expect)
        except RealnetError:
            return
        start = -len(expect.prefix)
        for text, meta in candidates:
            yield Completion(text, start_position=start, display_meta=meta)

    def _candidates(self, expect: Expectation) -> list[tuple[str, str]]:
        if expect.kind == "command":
            names = [*self.commands, *SHELL_ONLY]
            return [(n, self._help(n)) for n in matching(names, expect.prefix)]
        if expect.kind in ("flag", "choice"):
            return [(o, "") for o in matching(expect.options, expect.prefix)]
        if expect.kind == "type":
            registry = self.session.context.types
            return [(t.name, t.description) for t in registry
                    if t.name.startswith(expect.prefix) and not t.abstract]
        if expect.kind == "attribute":
            return self._attributes(expect)
        if expect.kind == "path":
            return self._paths(expect.prefix)
        return []

    def _help(self, name: str) -> str:
        command = self.commands.get(name)
        return command.get_short_help_str(limit=40) if command else "leave the shell"

    def _attributes(self, expect: Expectation) -> list[tuple[str, str]]:
        context = self.session.context
        type_name = expect.type_name
        if type_name is None and expect.item_path:
            type_name = context.get(self.session.resolve(expect.item_path)).type
        if type_name is None or type_name not in context.types:
            return []
        suffix = "=" if expect.assign else ""
        if "=" in expect.prefix:
            return []
        return [(f"{name}{suffix}", attr.kind)
                for name, attr in sorted(context.types.attributes(type_name).items())
                if name.startswith(expect.prefix)]

    def _paths(self, prefix: str) -> list[tuple[str, str]]:
        folder_part, name_part = split_path_prefix(prefix)
        context = self.session.context
        folder = self.session.resolve(folder_part or ".")
        page = context.complete(folder, name_part or None, PATH_COMPLETION_LIMIT)
        out = []
        for item in page.items:
            holds = context.can_hold_children(item)
            out.append((folder_part + item.name + ("/" if holds else ""), item.type))
        return out
