"""Splitting shell input into commands and words (pure functions)."""

from __future__ import annotations

import shlex

from realnet.core.errors import UsageError


def split_commands(line: str) -> list[str]:
    """Split at ``;`` outside quotes and drop a trailing ``# comment``."""
    commands: list[str] = []
    current: list[str] = []
    quote: str | None = None
    escaped = False
    word_start = True  # a '#' starts a comment only where a word could start
    for ch in line:
        if escaped:
            current.append(ch)
            escaped = False
            continue
        if ch == "\\" and quote != "'":
            current.append(ch)
            escaped = True
            word_start = False
            continue
        if quote:
            if ch == quote:
                quote = None
            current.append(ch)
            continue
        if ch in "'\"":
            quote = ch
            current.append(ch)
            word_start = False
            continue
        if ch == "#" and word_start:
            break
        if ch == ";":
            commands.append("".join(current))
            current = []
            word_start = True
            continue
        current.append(ch)
        word_start = ch.isspace()
    if quote:
        raise UsageError(f"unterminated {quote} quote")
    commands.append("".join(current))
    return [c.strip() for c in commands if c.strip()]


def split_words(command: str) -> list[str]:
    try:
        return shlex.split(command)
    except ValueError as e:
        raise UsageError(f"{command}: {e}") from e
