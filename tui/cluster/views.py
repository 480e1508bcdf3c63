"""The screens the cluster screen opens over itself: an object's describe or YAML, a pod's
log as it grows, and the question how many replicas."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any, ClassVar

import yaml
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen, Screen
from textual.widgets import Footer, Input, Log, Static

from realnet.core.errors import RealnetError
from realnet.providers.kubernetes.watch import abort_stream

#: Lines of a pod's log shown when the view opens (then it follows).
TAIL_LINES = 200


def as_yaml(manifest: dict[str, Any]) -> str:
    return yaml.safe_dump(manifest, sort_keys=False, default_flow_style=False, allow_unicode=True)


def describe_text(described: dict[str, Any]) -> str:
    """``kubectl describe``-like text of what the ``describe`` action answers."""
    manifest = described.get("manifest") or {}
    metadata = manifest.get("metadata") or {}
    lines = [f"Name:         {metadata.get('name', '')}"]
    if metadata.get("namespace"):
        lines.append(f"Namespace:    {metadata['namespace']}")
    lines.append(f"Kind:         {described.get('kind', '')}")
    lines.append(f"Created:      {metadata.get('creationTimestamp', '')}")
    labels = metadata.get("labels") or {}
    lines.append("Labels:       " + (", ".join(f"{k}={v}" for k, v in sorted(labels.items())) or "<none>"))
    for key, value in (described.get("summary") or {}).items():
        if key not in ("labels", "namespace"):
            lines.append(f"{key.replace('_', ' ').capitalize() + ':':<14}{value}")
    spec = manifest.get("spec")
    if spec:
        lines += ["", "Spec:", *("  " + line for line in as_yaml(spec).splitlines())]
    status = manifest.get("status")
    if status:
        lines += ["", "Status:", *("  " + line for line in as_yaml(status).splitlines())]
    events = described.get("events") or []
    lines += ["", "Events:"]
    if not events:
        lines.append("  <none>")
    for event in events:
        lines.append(f"  {event.get('time', '')}  {event.get('type', ''):<8} {event.get('reason', ''):<16} "
                     f"{event.get('message', '')}")
    return "\n".join(lines)


class TextView(Screen[None]):
    OWNS_KEYS = True
    """A page of text (describe, YAML) over the cluster screen; Esc goes back."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q", "app.pop_screen", "Back")]
    DEFAULT_CSS = """
    TextView #text-title { height: 1; background: $accent; color: $text; padding: 0 1; }
    TextView #text-body { padding: 0 1; }
    """

    def __init__(self, title: str, text: str) -> None:
        super().__init__()
        self.title_text = title
        self.text = text

    def compose(self) -> ComposeResult:
        yield Static(self.title_text, id="text-title", markup=False)
        with VerticalScroll(id="text-scroll"):
            yield Static(self.text, id="text-body", markup=False)
        yield Footer()


class LogView(Screen[None]):
    OWNS_KEYS = True
    """A pod's log: the last lines, then each new one as it comes; Esc stops following."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q", "app.pop_screen", "Back")]
    DEFAULT_CSS = """
    LogView #log-title { height: 1; background: $accent; color: $text; padding: 0 1; }
    LogView #log-state { height: 1; color: $text-muted; padding: 0 1; }
    """

    class Lines(Message):
        def __init__(self, lines: list[str]) -> None:
            super().__init__()
            self.lines = lines

    class Ended(Message):
        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    def __init__(self, title: str, open_log: Callable[[], Iterator[str]]) -> None:
        super().__init__()
        self.title_text = title
        self.open_log = open_log
        self.lines: list[str] = []
        self._stream: Iterator[str] | None = None
        self._stopped = threading.Event()

    def compose(self) -> ComposeResult:
        yield Static(self.title_text, id="log-title", markup=False)
        yield Log(id="log-body", highlight=False)
        yield Static("opening the log…", id="log-state", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        threading.Thread(target=self._follow, daemon=True, name="pod-log").start()

    def on_unmount(self) -> None:
        self._stopped.set()
        if self._stream is not None:
            abort_stream(self._stream)

    def _follow(self) -> None:
        try:
            self._stream = stream = self.open_log()
            if self._stopped.is_set():
                abort_stream(stream)
                return
            self.post_message(self.Ended("following (Esc: back)"))
            for line in stream:
                if self._stopped.is_set():
                    return
                self.post_message(self.Lines([line]))
        except RealnetError as e:
            if not self._stopped.is_set():
                self.post_message(self.Ended(str(e)))
            return
        if not self._stopped.is_set():
            self.post_message(self.Ended("the log ended"))

    @on(Lines)
    def _lines(self, event: Lines) -> None:
        self.lines += event.lines
        self.query_one(Log).write_lines(event.lines)

    @on(Ended)
    def _ended(self, event: Ended) -> None:
        self.query_one("#log-state", Static).update(event.text)


class ScaleQuestion(ModalScreen[int | None]):
    OWNS_KEYS = True
    """How many replicas: a number, or Esc for none."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]
    DEFAULT_CSS = """
    ScaleQuestion { align: center middle; }
    ScaleQuestion > Vertical { width: 56; height: auto; border: round $accent; background: $surface;
                               padding: 1 2; }
    ScaleQuestion #scale-error { color: $error; height: auto; }
    """

    def __init__(self, path: str, current: str = "") -> None:
        super().__init__()
        self.path = path
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(f"Scale {self.path} to how many replicas?", markup=False)
            yield Input(self.current, placeholder="replicas", type="integer", id="scale-input")
            yield Static("", id="scale-error")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        text = event.value.strip()
        if not text.isdigit():
            self.query_one("#scale-error", Static).update("a whole number, 0 or more")
            return
        self.dismiss(int(text))

    def action_cancel(self) -> None:
        self.dismiss(None)
