"""The footer: the keys, and READ-ONLY on the left when nothing may be changed."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Footer, Label


class ModeFooter(Footer):
    DEFAULT_CSS = """
    ModeFooter Label.read-only {
        background: $error; color: $text; text-style: bold; padding: 0 1; margin-right: 2;
    }
    """

    def __init__(self, *, read_only: bool) -> None:
        super().__init__(compact=True)
        self.read_only = read_only

    def compose(self) -> ComposeResult:
        if self.read_only:
            yield Label("READ-ONLY", id="read-only-mark", classes="read-only")
        yield from super().compose()
