"""The detail pane: the highlighted item's history, attributes, permissions and content.

Secrets arrive redacted (the backend passes items through ``context.shown``). The
item is read in a thread worker; moving the cursor again cancels a read not yet begun.
"""

from __future__ import annotations

import json
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual import on
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import Static
from textual.worker import get_current_worker

from realnet.core.errors import RealnetError
from realnet.tui.backend import Backend, Detail
from realnet.tui.messages import Failed

VALUE_CHARS = 300


class DetailPane(VerticalScroll):
    """Shows :attr:`detail`, the last item read; ``path`` is the one asked for."""

    class Loaded(Message):
        def __init__(self, path: str, detail: Detail) -> None:
            super().__init__()
            self.path = path
            self.detail = detail

    def __init__(self, backend: Backend, **options: object) -> None:
        super().__init__(**options)  # type: ignore[arg-type]
        self.backend = backend
        self.path: str | None = None
        self.detail: Detail | None = None
        self.can_focus = True

    def compose(self):  # type: ignore[override]
        yield Static(Text("nothing selected", style="dim"), id="detail-body")

    def show(self, path: str) -> None:
        if path == self.path and self.detail is not None and self.detail.item.path == path:
            return
        self.path = path
        backend = self.backend

        def read() -> None:
            if get_current_worker().is_cancelled:
                return  # the cursor has moved on before this read began
            try:
                detail = backend.detail(path)
            except RealnetError as e:
                self.post_message(Failed(e, path))
                return
            self.post_message(self.Loaded(path, detail))

        self.run_worker(read, thread=True, group="detail", exclusive=True)

    def reload(self) -> None:
        if self.path is not None:
            path, self.path, self.detail = self.path, None, None
            self.show(path)

    @on(Loaded)
    def _loaded(self, event: Loaded) -> None:
        event.stop()
        if event.path != self.path:
            return
        self.detail = event.detail
        self.query_one("#detail-body", Static).update(render_detail(event.detail))
        self.scroll_home(animate=False)


def render_detail(detail: Detail) -> RenderableType:
    item = detail.item
    parts: list[RenderableType] = []
    title = Text(item.name or "/", style="bold")
    title.append(f"  {item.type}", style="cyan")
    parts.append(title)
    parts.append(Text(item.path, style="dim"))
    parts.append(_heading("history of the version"))
    parts.append(_pairs([("version", str(item.version)), ("created", item.created),
                         ("updated", item.updated), ("owner", item.owner)]))
    parts.append(_heading("attributes"))
    if item.attributes:
        parts.append(_pairs([(k, _value(v)) for k, v in sorted(item.attributes.items())]))
    else:
        parts.append(Text("none", style="dim"))
    parts.append(_heading("permissions"))
    if detail.permissions:
        parts.append(_pairs([(p.permission, f"from {p.source} ({p.principal})") for p in detail.permissions]))
    else:
        parts.append(Text("none", style="dim"))
    if detail.preview is not None or detail.note is not None:
        parts.append(_heading("content"))
        if detail.note:
            parts.append(Text(detail.note, style="dim italic"))
        if detail.preview is not None:
            parts.append(Text(detail.preview))
    return Group(*parts)


def _heading(text: str) -> Text:
    return Text(f"\n{text}", style="bold underline")


def _pairs(rows: list[tuple[str, str]]) -> Table:
    table = Table.grid(padding=(0, 1))
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    for key, value in rows:
        table.add_row(Text(key), Text(value))
    return table


def _value(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= VALUE_CHARS else text[:VALUE_CHARS] + " …"
