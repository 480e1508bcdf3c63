"""What put, fetch, export and import share on the terminal: a progress bar on a terminal
(stderr), none in a pipe, and local paths shown on one printable line in error lines."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from realnet.commands.session import Session
from realnet.core import paths


def shown(path: object) -> str:
    """A local path or a name as an error line can show it: on one line, printable."""
    return paths.escaped(str(path))


@contextmanager
def progress_bar(session: Session, label: str, total: int | None) -> Iterator[tuple[Any, Any]]:
    """A progress bar on a terminal (stderr), none in a pipe."""
    if not (session.interactive and session.stderr.isatty()):
        yield None, None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
               TimeRemainingColumn())
    with Progress(*columns, console=Console(file=session.stderr), transient=True) as progress:
        yield progress, progress.add_task(label, total=total)


class ByteProgress:
    """What the core's long transfers report to (``realnet.core.archive.Progress``)."""

    def __init__(self, progress: Any, task: Any) -> None:
        self.progress, self.task = progress, task

    def total(self, size: int) -> None:
        if self.progress is not None:
            self.progress.update(self.task, total=size)

    def advance(self, size: int) -> None:
        if self.progress is not None:
            self.progress.advance(self.task, size)


@contextmanager
def byte_progress(session: Session, label: str) -> Iterator[ByteProgress]:
    """A progress bar whose total is told later; none in a pipe."""
    with progress_bar(session, label, None) as (progress, task):
        yield ByteProgress(progress, task)
