"""How a JSON document was laid out, so that writing it back keeps what it had on one line.

``json.dumps`` with an indent puts every list and object on several lines; a file written
by hand or by a formatter keeps short ones on one (``"files": ["dist", "lib"]``). The file
is scanned for the containers it opens and closes on one line, by their paths, and the
document is written with those on one line again.
"""

from __future__ import annotations

import json
import re
from typing import Any

#: Above this size a JSON document is written in one style, without looking at how it was laid out.
JSON_LAYOUT_LIMIT = 4 * 1024 * 1024
_JSON_TOKEN = re.compile(r'"(?:[^"\\\n]|\\.)*"|[\[\]{},\n]')


def one_line_containers(original: bytes) -> tuple[set[tuple[Any, ...]], tuple[str, str]]:
    """The paths (keys and indexes) of the non-empty objects and lists the file opens and
    closes on one line, and the separators (between items, after keys) used there."""
    nothing: tuple[set[tuple[Any, ...]], tuple[str, str]] = (set(), (", ", ": "))
    if len(original) > JSON_LAYOUT_LIMIT:
        return nothing
    try:
        text = original.decode("utf-8")
    except UnicodeDecodeError:
        return nothing
    found: set[tuple[Any, ...]] = set()
    spaced = {",": False, ", ": False, ":": False, ": ": False}
    stack: list[list[Any]] = []  # [path, line it opened on, where it opened, next index (None: an object)]
    line = 0
    key: Any = None
    for match in _JSON_TOKEN.finditer(text):
        piece = match.group()
        if piece == "\n":
            line += 1
        elif piece in "[{":
            path = (*stack[-1][0], key if stack[-1][3] is None else stack[-1][3]) if stack else ()
            stack.append([path, line, match.end(), 0 if piece == "[" else None])
        elif piece in "]}":
            if not stack:
                return nothing
            path, opened, start, _ = stack.pop()
            if opened == line and text[start:match.start()].strip():
                found.add(path)
                inside = text[start:match.start()]
                for separator in spaced:
                    spaced[separator] = spaced[separator] or separator in inside
        elif piece == ",":
            if stack and stack[-1][3] is not None:
                stack[-1][3] += 1
        elif stack and stack[-1][3] is None and text.startswith(":", _after_space(text, match.end())):
            key = json.loads(piece)  # a string where an object expects a key
    items = ", " if spaced[", "] or not spaced[","] else ","
    after_key = ": " if spaced[": "] or not spaced[":"] else ":"
    return found, (items, after_key)


def _after_space(text: str, at: int) -> int:
    while at < len(text) and text[at] in " \t\r\n":
        at += 1
    return at


def laid_out(value: Any, path: tuple[Any, ...], margin: str, step: str,
                   inline: set[tuple[Any, ...]], separators: tuple[str, str]) -> str:
    """``value`` as JSON indented by ``step`` from ``margin``, but on one line (with
    ``separators``) where its path is in ``inline``."""
    if not isinstance(value, dict | list) or not value or path in inline:
        return json.dumps(value, ensure_ascii=False, separators=separators, allow_nan=False)
    inner = margin + step
    if isinstance(value, dict):
        parts = [f"{inner}{json.dumps(k, ensure_ascii=False)}: "
                 f"{laid_out(v, (*path, k), inner, step, inline, separators)}"
                 for k, v in value.items()]
        return "{\n" + ",\n".join(parts) + f"\n{margin}}}"
    parts = [inner + laid_out(v, (*path, i), inner, step, inline, separators)
             for i, v in enumerate(value)]
    return "[\n" + ",\n".join(parts) + f"\n{margin}]"
