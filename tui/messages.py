"""Messages every part of the dashboard may post; the app handles each in one place."""

from __future__ import annotations

from textual.message import Message


class Failed(Message):
    """Something the store refused or could not do; the app shows it as one line."""

    def __init__(self, error: BaseException, doing: str = "") -> None:
        super().__init__()
        self.error = error
        self.doing = doing

    @property
    def text(self) -> str:
        return f"{self.doing}: {self.error}" if self.doing else str(self.error)


class FolderChosen(Message):
    """A folder was chosen (in the tree, the table, the palette): the table shows it."""

    def __init__(self, path: str, select: str | None = None) -> None:
        super().__init__()
        self.path = path
        #: The child to put the cursor on once the folder shows (going up, going to an item).
        self.select = select


class ClusterChosen(Message):
    """A folder in a Kubernetes cluster mount was opened: the cluster screen shows it."""

    def __init__(self, start: object) -> None:
        super().__init__()
        #: A :class:`realnet.tui.cluster.ClusterStart`.
        self.start = start
