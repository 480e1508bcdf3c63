"""Completion in two halves: a pure function that decides what is expected at the
cursor, unit-tested with plain asserts, and a thin prompt-toolkit completer that
looks the candidates up (paths live and paged, types and attributes from the registry).
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable
from dataclasses import dataclass

import click

SHELL_ONLY = ("exit",)
TYPE_OPTIONS = {"--type"}
ATTR_OPTIONS = {"--attr", "--unset"}
FILE_OPTIONS = {"--file"}
ATTR_ARGUMENTS = {("set", 1)}
COMMAND_ARGUMENTS = {("help", 0)}
TYPE_ARGUMENTS = {("types", 0)}
FILE_ARGUMENTS = {("import", 0)}
PATH_COMPLETION_LIMIT = 50


@dataclass(frozen=True, slots=True)
class Expectation:
    """What the word under the cursor should be."""

    kind: str  # command | flag | path | type | attribute | choice | file | none
    prefix: str
    command: str | None = None
    options: tuple[str, ...] = ()
    #: For attributes: the type named by --type, or the path whose type counts.
    type_name: str | None = None
    item_path: str | None = None
    #: Attributes offered as ``NAME=`` (to assign) rather than bare ``NAME`` (``--unset``).
    assign: bool = True


def _tokens(text: str) -> list[str]:
    try:
        words = shlex.split(text)
    except ValueError:  # an open quote: complete the word being typed
        words = text.split()
    if text and text[-1].isspace():
        words.append("")
    return words or [""]


def _option(command: click.Command, flag: str) -> click.Option | None:
    for param in command.params:
        if isinstance(param, click.Option) and flag in (*param.opts, *param.secondary_opts):
            return param
    return None


def _long(option: click.Option) -> str:
    return next((o for o in option.opts if o.startswith("--")), option.opts[0])


def analyze(text: str, commands: dict[str, click.Command]) -> Expectation:
    """Decide what belongs at the end of ``text`` (the line up to the cursor)."""
    words = _tokens(text)
    current = words[-1]
    if current[:1] in ("'", '"') and current.count(current[0]) == 1:
        current = current[1:]  # an open quote: complete what follows it, leave the quote
    if len(words) == 1:
        return Expectation("command", current)
    name = words[0]
    command = commands.get(name)
    if command is None:
        return Expectation("none", current)
    before = words[1:-1]
    if before and before[-1].startswith("-"):
        option = _option(command, before[-1])
        if option is not None and not option.is_flag and not option.count:
            flag = _long(option)
            if flag in TYPE_OPTIONS:
                return Expectation("type", current, name)
            if flag in ATTR_OPTIONS:
                type_name = _value_of(command, before, "--type")
                item = _positionals(command, before)[:1]
                return Expectation("attribute", current, name, type_name=type_name,
                                   item_path=item[0] if item and name != "create" else None,
                                   assign=flag != "--unset")
            if flag in FILE_OPTIONS:
                return Expectation("file", current, name)
            if isinstance(option.type, click.Choice):
                return Expectation("choice", current, name, options=tuple(option.type.choices))
            return Expectation("none", current, name)
    if current.startswith("-"):
        flags = []
        for param in command.params:
            if isinstance(param, click.Option):
                flags.extend(o for o in param.opts if o.startswith("--"))
        flags.append("--help")
        return Expectation("flag", current, name, options=tuple(flags))
    index = len(_positionals(command, before))
    if (name, index) in COMMAND_ARGUMENTS:
        return Expectation("command", current, name)
    if (name, index) in TYPE_ARGUMENTS:
        return Expectation("type", current, name)
    if (name, index) in FILE_ARGUMENTS:
        return Expectation("file", current, name)
    if name == "set" and index >= 1:
        return Expectation("attribute", current, name,
                           item_path=_positionals(command, before)[0])
    if not any(isinstance(p, click.Argument) for p in command.params):
        return Expectation("none", current, name)
    return Expectation("path", current, name)


def _positionals(command: click.Command, words: list[str]) -> list[str]:
    out: list[str] = []
    skip = False
    for word in words:
        if skip:
            skip = False
            continue
        if word.startswith("-") and word != "-":
            option = _option(command, word)
            skip = option is not None and not option.is_flag and not option.count
            continue
        out.append(word)
    return out


def _value_of(command: click.Command, words: list[str], flag: str) -> str | None:
    for index, word in enumerate(words[:-1]):
        option = _option(command, word)
        if option is not None and flag in option.opts:
            return words[index + 1]
    return None


def split_path_prefix(prefix: str) -> tuple[str, str]:
    """``'/projects/no'`` → (``'/projects/'``, ``'no'``): the folder part and the name part."""
    head, sep, tail = prefix.rpartition("/")
    return (head + sep, tail)


def matching(candidates: Iterable[str], prefix: str) -> list[str]:
    return sorted(c for c in candidates if c.startswith(prefix))
