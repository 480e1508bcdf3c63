"""What put, fetch, export and import share on the terminal: a progress bar on a terminal
(stderr), none in a pipe, and local paths shown on one printable line in error lines."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from realnet.commands.session import Session

#: What error lines must not print raw: control characters (a newline would split the
#: line) and the surrogates Python keeps bytes that are not UTF-8 in.
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def shown(path: object) -> str:
    """A local path or a name as an error line can show it: on one line, printable."""
    def escape(found: re.Match[str]) -> str:
        code = ord(found.group())
        return f"\\x{code - 0xDC00:02x}" if 0xDC80 <= code <= 0xDCFF else repr(found.group())[1:-1]

    return _UNPRINTABLE.sub(escape, str(path))


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
