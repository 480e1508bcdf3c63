"""Label selectors (=, ==, !=, in, notin, exists, !key, gt, lt) and field selectors (=, ==, !=)."""

from __future__ import annotations

import re
from collections.abc import Callable

from .errors import ApiError

Matcher = Callable[[dict], bool]

_KEY = r"[A-Za-z0-9][-A-Za-z0-9_./]*"
_VALUE = r"(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?)?"
_SET = re.compile(rf"^({_KEY})\s+(in|notin)\s+\(([^)]*)\)$")
_BINARY = re.compile(rf"^({_KEY})\s*(==|!=|=|>|<)\s*({_VALUE})$")
_EXISTS = re.compile(rf"^(!?)\s*({_KEY})$")


def _split(text: str) -> list[str]:
    """Split on commas that are not inside parentheses."""
    parts, depth, current = [], 0, ""
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += ch
    parts.append(current)
    return [p.strip() for p in parts]


def _bad(selector: str, why: str) -> ApiError:
    return ApiError.bad_request(f"unable to parse requirement: {why} in selector {selector!r}")


def _requirement(part: str, selector: str) -> Callable[[dict], bool]:
    if m := _SET.match(part):
        key, op, raw = m.groups()
        values = {v.strip() for v in raw.split(",")}
        if not all(re.fullmatch(_VALUE, v) for v in values):
            raise _bad(selector, f"invalid value in {part!r}")
        if op == "in":
            return lambda labels: labels.get(key) in values
        return lambda labels: labels.get(key) not in values
    if m := _BINARY.match(part):
        key, op, value = m.groups()
        if op in ("=", "=="):
            return lambda labels: labels.get(key) == value
        if op == "!=":
            return lambda labels: labels.get(key) != value
        try:
            number = int(value)
        except ValueError:
            raise _bad(selector, f"for 'Gt', 'Lt' operators, the value must be an integer: {value!r}") from None

        def compare(labels: dict) -> bool:
            try:
                have = int(labels[key])
            except (KeyError, ValueError):
                return False
            return have > number if op == ">" else have < number
        return compare
    if m := _EXISTS.match(part):
        negate, key = m.groups()
        if negate:
            return lambda labels: key not in labels
        return lambda labels: key in labels
    raise _bad(selector, f"found {part!r}, expected a requirement")


def label_matcher(selector: str | None) -> Matcher | None:
    """A test on an object's metadata.labels, or None when the selector selects everything."""
    if not selector or not selector.strip():
        return None
    tests = [_requirement(part, selector) for part in _split(selector)]
    if any(not p for p in _split(selector)):
        raise _bad(selector, "empty requirement")

    def match(obj: dict) -> bool:
        labels = (obj.get("metadata") or {}).get("labels") or {}
        return all(t(labels) for t in tests)
    return match


def field_value(obj: dict, label: str) -> str:
    """The string a field selector compares against (missing fields are the empty string)."""
    if label == "source":
        label = "source.component"
    value: object = obj
    for part in label.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def field_matcher(selector: str | None, supports: Callable[[str], bool]) -> Matcher | None:
    if not selector or not selector.strip():
        return None
    tests: list[tuple[str, bool, str]] = []
    for part in _split(selector):
        m = re.match(r"^([A-Za-z0-9_.]+)\s*(==|!=|=)\s*(.*)$", part)
        if not m:
            raise ApiError.bad_request(f"invalid selector: {selector!r}; can't understand {part!r}")
        label, op, value = m.groups()
        if not supports(label):
            raise ApiError.bad_request(f'field label not supported: {label}')
        tests.append((label, op != "!=", value))

    def match(obj: dict) -> bool:
        return all((field_value(obj, label) == value) == equal for label, equal, value in tests)
    return match


def combine(*matchers: Matcher | None) -> Matcher | None:
    active = [m for m in matchers if m is not None]
    if not active:
        return None
    if len(active) == 1:
        return active[0]
    return lambda obj: all(m(obj) for m in active)
