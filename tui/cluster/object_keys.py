"""The cluster screen's keys for the object under the cursor: describe, YAML, logs (read,
through the context's ``describe``/``get``/``logs``) and delete, scale, restart (written,
through ``context.delete`` and the ``scale``/``restart`` actions, so the tree's permissions
are checked in one place). A mixin of :class:`~realnet.tui.cluster.screen.ClusterScreen`,
whose ``source``, ``kind``, ``read_only`` and ``current_row`` it uses."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import work
from textual.message import Message

from realnet.core.errors import RealnetError
from realnet.tui.cluster.model import Row
from realnet.tui.cluster.views import TAIL_LINES, LogView, ScaleQuestion, TextView, as_yaml, describe_text

if TYPE_CHECKING:
    from realnet.providers.kubernetes.kinds import Kind
    from realnet.tui.cluster.source import ClusterSource

SCALABLE = ("deployments", "statefulsets", "replicasets")


class ObjectKeys:
    """What the keys d, y, l, Ctrl+D, s and r do to the object under the cursor."""

    source: ClusterSource
    kind: Kind | None
    read_only: bool

    class Done(Message):
        """A change asked of the cluster went through (or did not)."""

        def __init__(self, text: str, error: bool = False) -> None:
            super().__init__()
            self.text, self.error = text, error

    def _target(self) -> tuple[Row, str] | None:
        row = self.current_row()
        if row is None or self.kind is None:
            self.notify("no object under the cursor", severity="warning")
            return None
        return row, self.source.path_of(self.kind, row.namespace, row.name)

    def action_describe(self) -> None:
        if (target := self._target()) is not None:
            self._open_text(target[1], "describe")

    def action_yaml(self) -> None:
        if (target := self._target()) is not None:
            self._open_text(target[1], "yaml")

    @work(thread=True, group="cluster-view")
    def _open_text(self, path: str, what: str) -> None:
        try:
            text = describe_text(self.source.describe(path)) if what == "describe" \
                else as_yaml(self.source.manifest(path))
        except RealnetError as e:
            self.post_message(self.Done(str(e), error=True))
            return
        self.app.call_from_thread(self.app.push_screen, TextView(f"{what}  {path}", text))

    def action_logs(self) -> None:
        if (target := self._target()) is None:
            return
        if self.kind is None or self.kind.plural != "pods":
            self.notify("logs: pods have logs; choose a pod (:po)", severity="warning")
            return
        path = target[1]
        source = self.source
        self.app.push_screen(LogView(f"logs  {path}", lambda: source.logs(path, tail=TAIL_LINES)))

    def action_delete(self) -> None:
        if self._refuse_if_read_only() or (target := self._target()) is None:
            return
        path = target[1]
        from realnet.tui.confirm import ConfirmDelete

        def confirmed(yes: bool | None) -> None:
            if yes:
                self._change(path, "delete")

        self.app.push_screen(ConfirmDelete(path), confirmed)

    def action_scale(self) -> None:
        if self._refuse_if_read_only() or (target := self._target()) is None:
            return
        path = target[1]
        if self.kind is None or self.kind.plural not in SCALABLE:
            self.notify("scale: works on deployments, stateful sets and replica sets", severity="warning")
            return
        def chosen(replicas: int | None) -> None:
            if replicas is not None:
                self._change(path, "scale", replicas)

        self.app.push_screen(ScaleQuestion(path), chosen)

    def action_restart(self) -> None:
        if self._refuse_if_read_only() or (target := self._target()) is None:
            return
        self._change(target[1], "restart")

    @work(thread=True, group="cluster-change")
    def _change(self, path: str, what: str, replicas: int = 0) -> None:
        try:
            if what == "delete":
                self.source.delete(path)
                text = f"deleted {path}"
            elif what == "scale":
                self.source.scale(path, replicas)
                text = f"scaled {path} to {replicas}"
            else:
                self.source.restart(path)
                text = f"restarted {path}"
        except RealnetError as e:
            self.post_message(self.Done(str(e), error=True))
            return
        self.post_message(self.Done(text))

    def on_object_keys_done(self, event: Done) -> None:  # by name: a mixin's @on is not collected
        event.stop()
        self.notify(event.text, severity="error" if event.error else "information",
                    timeout=6 if event.error else 3)
