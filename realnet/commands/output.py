"""Turn command results into text: rich tables on a terminal, plain lines in a pipe,
JSON or YAML for machines. Handlers return data; only this module formats it."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from typing import Any, TextIO

from realnet.core.errors import ValidationError
from realnet.core.item import Item

#: How deep -o json and -o yaml nest: their writers recurse once per level.
MAX_NESTED_LEVELS = 100

FORMATS = ("table", "json", "yaml")


@dataclass(frozen=True, slots=True)
class ItemList:
    items: tuple[Item, ...]
    long: bool = False
    next_cursor: str | None = None
    show_path: bool = False
    #: Attributes ``-l`` shows instead of type, version and time (a type's listing columns).
    columns: tuple[str, ...] = ()

    def data(self) -> Any:
        out: dict[str, Any] = {"items": [i.to_dict() for i in self.items]}
        out["next_cursor"] = self.next_cursor
        return out


@dataclass(frozen=True, slots=True)
class ItemDetail:
    item: Item

    def data(self) -> Any:
        return self.item.to_dict()


@dataclass(frozen=True, slots=True)
class Text:
    text: str

    def data(self) -> Any:
        return self.text


@dataclass(frozen=True, slots=True)
class Value:
    """One attribute's value (``get /config/database/port``): text as it is, the rest as JSON."""

    value: Any

    def data(self) -> Any:
        return self.value


@dataclass(frozen=True, slots=True)
class Record:
    """A small mapping shown as ``key: value`` lines (``info``, ``init``, ``rm``)."""

    values: dict[str, Any]
    message: str | None = None

    def data(self) -> Any:
        return self.values


@dataclass(frozen=True, slots=True)
class Table:
    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]
    records: list[dict[str, Any]] = field(default_factory=list)

    def data(self) -> Any:
        return self.records or [dict(zip(self.columns, r, strict=False)) for r in self.rows]


@dataclass(frozen=True, slots=True)
class TreeView:
    """A subtree. Items whose parent is not shown (hidden from the principal) hang under
    their nearest shown ancestor, labelled with the rest of their path."""

    root: Item
    items: tuple[Item, ...]
    truncated: bool = False

    def _children(self) -> dict[str, list[tuple[str, Item]]]:
        by_path = {i.path: i for i in self.items}
        by_path[self.root.path] = self.root
        children: dict[str, list[tuple[str, Item]]] = {}
        for item in self.items:
            anchor = item.path.rsplit("/", 1)[0] or "/"
            while anchor not in by_path:
                anchor = anchor.rsplit("/", 1)[0] or "/"
            label = item.path[len(anchor):].lstrip("/")
            children.setdefault(anchor, []).append((label, item))
        for kids in children.values():
            kids.sort(key=lambda k: k[0])
        return children

    def data(self) -> Any:
        """Nested ``{name, type, path, children}``; ``truncated`` at the top when items were
        left out. Built without recursion; nesting deeper than MAX_NESTED_LEVELS is refused,
        since JSON and YAML writers recurse once per level."""
        children = self._children()
        top: dict[str, Any] = {"name": self.root.name or "/", "type": self.root.type, "path": self.root.path}
        pending = [(top, self.root.path, 0)]
        while pending:
            out, path, level = pending.pop()
            kids = children.get(path, [])
            if not kids:
                continue
            if level >= MAX_NESTED_LEVELS:
                raise ValidationError(f"{self.root.path}: deeper than {MAX_NESTED_LEVELS} levels, more "
                                      "than -o json or yaml can show (limit it with -L)")
            out["children"] = []
            for label, kid in kids:
                shown = {"name": label, "type": kid.type, "path": kid.path}
                out["children"].append(shown)
                pending.append((shown, kid.path, level + 1))
        if self.truncated:
            top["truncated"] = True
        return top

    def lines(self) -> list[str]:
        children = self._children()
        out = [self.root.path]
        # A stack of (siblings, next index, prefix) instead of recursion: any depth draws.
        stack = [(children.get(self.root.path, []), 0, "")]
        while stack:
            kids, index, prefix = stack[-1]
            if index == len(kids):
                stack.pop()
                continue
            stack[-1] = (kids, index + 1, prefix)
            label, kid = kids[index]
            last = index == len(kids) - 1
            out.append(f"{prefix}{'└── ' if last else '├── '}{label}  [{kid.type}]")
            stack.append((children.get(kid.path, []), 0, prefix + ("    " if last else "│   ")))
        if self.truncated:
            out.append("… (truncated; narrow it with -L or a deeper path)")
        return out


def to_yaml(data: Any) -> str:
    import yaml

    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, default_flow_style=False)


def to_json(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False)


def _plain_value(value: Any) -> str:
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return "" if value is None else str(value)


def _item_rows(result: ItemList) -> tuple[tuple[str, ...], list[tuple[str, ...]]]:
    name = "path" if result.show_path else "name"
    if result.columns:
        rows = [(i.path if result.show_path else i.name,
                 *(_plain_value(i.attributes.get(c)) for c in result.columns)) for i in result.items]
        return (name, *result.columns), rows
    columns = ("type", "version", "updated", name)
    rows = [
        (i.type, str(i.version), i.updated[:19].replace("T", " "),
         i.path if result.show_path else i.name)
        for i in result.items
    ]
    return columns, rows


def plain(result: Any) -> str:
    """Text for a pipe: no colour, no box drawing, one record per line."""
    if isinstance(result, ItemList):
        if not result.long:
            lines = [i.path if result.show_path else i.name for i in result.items]
        else:
            header, rows = _item_rows(result)
            lines = ["\t".join(r) for r in rows]
            if result.columns:  # as kubectl prints them: the columns say what each is
                lines.insert(0, "\t".join(h.upper() for h in header))
        if result.next_cursor:
            lines.append(f"# more: --cursor {result.next_cursor}")
        return "\n".join(lines)
    if isinstance(result, ItemDetail):
        data = result.item.to_dict()
        attributes = data.pop("attributes")
        lines = [f"{k}: {v}" for k, v in data.items()]
        lines += [f"attributes.{k}: {_plain_value(v)}" for k, v in attributes.items()]
        return "\n".join(lines)
    if isinstance(result, Text):
        return result.text
    if isinstance(result, Value):
        return _plain_value(result.value)
    if isinstance(result, Record):
        if result.message is not None:
            return result.message
        return "\n".join(f"{k}: {_plain_value(v)}" for k, v in result.values.items())
    if isinstance(result, Table):
        return "\n".join("\t".join(_plain_value(c) for c in row) for row in result.rows)
    if isinstance(result, TreeView):
        return "\n".join(result.lines())
    return _plain_value(result)


def rich_renderable(result: Any) -> Any:
    """A rich renderable for a terminal; None where plain text reads just as well."""
    from rich.table import Table as RichTable
    from rich.text import Text as RichText

    if isinstance(result, ItemList) and result.long:
        columns, rows = _item_rows(result)
        table = RichTable(box=None, pad_edge=False, header_style="bold")
        for column in columns:
            table.add_column(column, no_wrap=column != "name")
        for row in rows:
            table.add_row(*(RichText(c) for c in row))
        return table
    if isinstance(result, Table):
        table = RichTable(box=None, pad_edge=False, header_style="bold")
        for column in result.columns:
            table.add_column(column)
        for row in result.rows:
            table.add_row(*(RichText(_plain_value(c)) for c in row))
        return table
    return None


def emit(result: Any, fmt: str = "table", *, stream: TextIO | None = None, tty: bool | None = None) -> None:
    """Write ``result`` to ``stream`` in ``fmt``."""
    stream = stream or sys.stdout
    if result is None:
        return
    if fmt == "json":
        stream.write(to_json(result.data() if hasattr(result, "data") else result) + "\n")
        return
    if fmt == "yaml":
        stream.write(to_yaml(result.data() if hasattr(result, "data") else result))
        return
    is_tty = stream.isatty() if tty is None else tty
    if is_tty:
        if isinstance(result, ItemList) and not result.long and result.items:
            from rich.columns import Columns
            from rich.console import Console
            from rich.text import Text as RichText

            names = [i.path if result.show_path else i.name for i in result.items]
            console = Console(file=stream, highlight=False)
            console.print(Columns([RichText(n) for n in names], padding=(0, 2)))
            if result.next_cursor:
                console.print(f"# more: --cursor {result.next_cursor}", markup=False, style="dim")
            return
        renderable = rich_renderable(result)
        if renderable is not None:
            from rich.console import Console

            Console(file=stream, highlight=False).print(renderable)
            return
    text = plain(result)
    if text:
        stream.write(text + "\n")
