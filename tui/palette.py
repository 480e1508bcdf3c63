"""Going to a path: the command palette's path hits and the go-to input screen.

In the palette (Ctrl+P), a query starting with ``/`` offers the children whose names
start with what follows the last ``/`` (looked up in a thread), and the path as typed.
"""

from __future__ import annotations

import asyncio
from functools import partial
from typing import TYPE_CHECKING, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.command import Hit, Hits, Provider
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from realnet.core.errors import RealnetError

if TYPE_CHECKING:
    from realnet.tui.app import RealnetApp

COMPLETIONS = 20


class PathProvider(Provider):
    """Hits that go to a path, for queries that start with ``/``."""

    async def search(self, query: str) -> Hits:
        app: RealnetApp = self.app  # type: ignore[assignment]
        wanted = query.strip()
        if not wanted.startswith("/"):
            return
        folder, _, prefix = wanted.rpartition("/")
        try:
            items = await asyncio.to_thread(app.backend.complete, folder or "/", prefix, COMPLETIONS)
        except RealnetError:
            items = []
        exact = False
        for n, item in enumerate(items):
            exact = exact or item.path == wanted
            yield Hit(1.0 - n / 1000, f"Go to {item.path}", partial(app.go_to, item.path),
                      help=f"{item.type}, owned by {item.owner}")
        if not exact:
            yield Hit(0.1, f"Go to {wanted}", partial(app.go_to, wanted), help="the path as typed")


class GoToScreen(ModalScreen[str | None]):
    """Asks for a path (absolute, or relative to the folder shown); Esc gives up."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]
    DEFAULT_CSS = """
    GoToScreen { align: center middle; }
    GoToScreen > Vertical {
        width: 70; max-width: 100%; height: auto; border: round $accent; background: $surface;
        padding: 0 1;
    }
    """

    def __init__(self, start: str) -> None:
        super().__init__()
        self.start = start

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("Go to path (Enter goes, Esc cancels)")
            yield Input(value=self.start, id="goto-path")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(event.value.strip() or None)

    def action_cancel(self) -> None:
        self.dismiss(None)
