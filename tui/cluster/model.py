"""What the cluster screen shows, without Textual: a kind's columns, the filter a person
typed, and the rows of a listing kept current by watch events."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from realnet.core.errors import ValidationError
from realnet.providers.kubernetes.kinds import summary

#: A kind's columns after NAME: (summary key, heading), as ``kubectl get`` prints them.
_WORKLOAD = (("ready", "READY"), ("up_to_date", "UP-TO-DATE"), ("available", "AVAILABLE"), ("age", "AGE"))
COLUMNS: dict[str, tuple[tuple[str, str], ...]] = {
    "Pod": (("ready", "READY"), ("status", "STATUS"), ("restarts", "RESTARTS"), ("age", "AGE"),
            ("node", "NODE")),
    "Deployment": _WORKLOAD,
    "StatefulSet": (("ready", "READY"), ("age", "AGE")),
    "ReplicaSet": (("replicas", "DESIRED"), ("ready", "READY"), ("age", "AGE")),
    "Service": (("service_type", "TYPE"), ("cluster_ip", "CLUSTER-IP"), ("ports", "PORT(S)"),
                ("age", "AGE")),
    "ConfigMap": (("data", "DATA"), ("age", "AGE")),
    "Secret": (("data", "DATA"), ("age", "AGE")),
    "Namespace": (("status", "STATUS"), ("age", "AGE")),
}
DEFAULT_COLUMNS = (("age", "AGE"),)
#: The namespace picker's first row: every namespace at once.
ALL_NAMESPACES = "all"


def headings(kind: str, *, every_namespace: bool) -> list[tuple[str, str]]:
    """(key, heading) of each column of ``kind``'s table, NAME first (NAMESPACE before it
    when the table shows every namespace)."""
    first = [("namespace", "NAMESPACE")] if every_namespace else []
    return [*first, ("name", "NAME"), *COLUMNS.get(kind, DEFAULT_COLUMNS)]


def key_of(obj: dict[str, Any]) -> str:
    metadata = obj.get("metadata") or {}
    return f"{metadata.get('namespace') or ''}/{metadata.get('name') or ''}"


@dataclass(frozen=True, slots=True)
class Row:
    """One object as the table shows it (the object itself is fetched again when needed)."""

    key: str
    namespace: str
    name: str
    cells: tuple[str, ...]
    labels: tuple[tuple[str, str], ...] = ()


def row_of(kind: str, obj: dict[str, Any], columns: list[tuple[str, str]]) -> Row:
    metadata = obj.get("metadata") or {}
    values = summary(kind, obj)
    values["name"] = metadata.get("name") or ""
    values["namespace"] = metadata.get("namespace") or ""
    cells = tuple("" if values.get(key) is None else str(values.get(key)) for key, _ in columns)
    labels = tuple(sorted((metadata.get("labels") or {}).items()))
    return Row(key_of(obj), values["namespace"], values["name"], cells, labels)


@dataclass(frozen=True, slots=True)
class Filter:
    """``/`` text: a regular expression on names (``!`` in front: the names that do not
    match), and ``-l SELECTOR`` sent to the API as its label selector."""

    pattern: re.Pattern[str] | None = None
    invert: bool = False
    selector: str | None = None
    text: str = ""

    def matches(self, name: str) -> bool:
        if self.pattern is None:
            return True
        return (self.pattern.search(name) is None) == self.invert


def parse_filter(text: str) -> Filter:
    """``web``, ``!web``, ``-l app=web``, ``-l app=web,tier!=db ^api`` …"""
    text = text.strip()
    selector = None
    rest = text
    if rest.startswith("-l"):
        parts = rest[2:].strip().split(None, 1)
        if not parts:
            raise ValidationError("-l needs a label selector, as in -l app=web")
        selector = parts[0]
        rest = parts[1] if len(parts) > 1 else ""
    invert = rest.startswith("!")
    if invert:
        rest = rest[1:]
    pattern = None
    if rest:
        try:
            pattern = re.compile(rest, re.IGNORECASE)
        except re.error as e:
            raise ValidationError(f"/{rest}: not a regular expression ({e})") from None
    return Filter(pattern, invert, selector, text)


@dataclass
class Rows:
    """The objects loaded so far, by key, in the API's order (namespace, then name)."""

    rows: dict[str, Row] = field(default_factory=dict)
    #: More pages follow: an object that sorts after the last loaded one comes with them.
    complete: bool = True

    def replace(self, rows: list[Row], *, complete: bool) -> None:
        self.rows = {r.key: r for r in rows}
        self.complete = complete

    def extend(self, rows: list[Row], *, complete: bool) -> list[Row]:
        added = [r for r in rows if r.key not in self.rows]
        self.rows.update((r.key, r) for r in added)
        self.complete = complete
        return added

    def last_key(self) -> str | None:
        return next(reversed(self.rows), None) if self.rows else None

    def belongs(self, key: str) -> bool:
        """Whether an object that appears now belongs among the rows loaded so far."""
        last = self.last_key()
        return self.complete or last is None or _order(key) <= _order(last)

    def apply(self, change: str, row: Row) -> str | None:
        """A watch event: what it did to the rows (``added``, ``changed``, ``removed``) or
        None when it concerns no loaded row."""
        if change == "DELETED":
            return "removed" if self.rows.pop(row.key, None) is not None else None
        if row.key in self.rows:
            self.rows[row.key] = row
            return "changed"
        if not self.belongs(row.key):
            return None
        self.rows[row.key] = row
        keys = list(self.rows)
        if len(keys) > 1 and _order(keys[-2]) > _order(row.key):
            self.rows = dict(sorted(self.rows.items(), key=lambda kv: _order(kv[0])))
        return "added"

    def ordered(self) -> list[Row]:
        return list(self.rows.values())


def _order(key: str) -> tuple[str, str]:
    namespace, _, name = key.partition("/")
    return namespace, name
