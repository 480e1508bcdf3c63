"""The question before a delete: what goes, and how much of it."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static


class ConfirmDelete(ModalScreen[bool]):
    """``Delete PATH and its N item(s)?`` — True to delete. Cancel has the focus, so an
    Enter by habit deletes nothing; ``y`` or Enter on Delete confirms."""

    DEFAULT_CSS = """
    ConfirmDelete { align: center middle; }
    ConfirmDelete > #confirm-delete {
        width: 64; max-width: 100%; height: auto;
        border: round $error; background: $surface; padding: 1 2;
    }
    ConfirmDelete #confirm-question { margin-bottom: 1; }
    ConfirmDelete #confirm-buttons { height: auto; align-horizontal: right; }
    ConfirmDelete #confirm-buttons Button { margin-left: 1; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Delete"),
        Binding("n,escape", "answer(False)", "Cancel"),
    ]

    def __init__(self, path: str, count: int = 0) -> None:
        super().__init__()
        self.path = path
        self.count = count

    @property
    def question(self) -> str:
        if self.count:
            return f"Delete {self.path} and its {self.count} item(s)?"
        return f"Delete {self.path}?"

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-delete"):
            yield Static(self.question, id="confirm-question", markup=False)
            with Horizontal(id="confirm-buttons"):
                yield Button("Delete", variant="error", id="confirm-yes")
                yield Button("Cancel", id="confirm-no")

    def on_mount(self) -> None:
        self.query_one("#confirm-no", Button).focus()

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "confirm-yes")
