"""The shell loop: read a line, run its commands, print, and on error one line."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator, Iterable

import click

from realnet.commands import command_group
from realnet.commands.session import Session
from realnet.core.errors import RealnetError, UsageError
from realnet.shell.lines import split_commands, split_words


class ExitShell(Exception):
    def __init__(self, code: int) -> None:
        self.code = code


class Shell:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.group = command_group()
        self.commands: dict[str, click.Command] = dict(self.group.commands)  # type: ignore[attr-defined]
        self.last_status = 0

    # -- running commands --------------------------------------------------------
    def execute(self, text: str, *, where: str = "", keep_going: bool = False) -> int:
        """Run every command on one line; stop at the first failure unless ``keep_going``.
        Returns the first failure's status, or 0."""
        failed = 0
        for command in split_commands(text):
            status = self.execute_one(split_words(command), where=where)
            if status:
                failed = failed or status
                if not keep_going:
                    break
        return failed

    def execute_one(self, words: list[str], *, where: str = "") -> int:
        if not words:
            return 0
        name = words[0]
        err = self.session.stderr
        if name in ("exit", "quit"):
            code = 0
            if len(words) > 1:
                if not words[1].isdigit():
                    err.write(f"{where}exit: expected a number, got {words[1]!r}\n")
                    return 2
                code = int(words[1])
            raise ExitShell(code)
        if name == "tui":
            return self.open_tui(words[1:], where=where)
        if name not in self.commands:
            hint = " (use it from your system shell)" if name in ("shell", "server") else \
                " (try 'help')"
            err.write(f"{where}{name}: unknown command{hint}\n")
            return 2
        try:
            self.session.context.refresh()  # permissions and groups as they are now
            status = self.group.main(args=words, prog_name=name, standalone_mode=False,
                                     obj=self.session)
        except RealnetError as e:
            err.write(f"{where}{name}: {e}\n")
            return e.exit_code
        except click.exceptions.Exit as e:
            return e.exit_code
        except click.UsageError as e:
            message = e.format_message().replace("\n", " ")
            err.write(f"{where}{name}: {message} (see 'help {name}')\n")
            return 2
        except click.ClickException as e:
            err.write(f"{where}{name}: {e.format_message()}\n")
            return 1
        except click.exceptions.Abort:
            err.write(f"{where}{name}: aborted\n")
            return 1
        except KeyboardInterrupt:
            err.write(f"{where}{name}: interrupted\n")
            return 130
        return status if isinstance(status, int) else 0

    def open_tui(self, args: list[str], *, where: str = "") -> int:
        """``tui [--read-only]``: the dashboard on this session, on the shell's own loop
        (runners started here or there keep running); the prompt comes back when it quits."""
        err = self.session.stderr
        if args in (["-h"], ["--help"]):
            self.session.stdout.write("Usage: tui [PATH] [--read-only]\n\n  Open the dashboard on this "
                                      "session (at PATH); 'q' comes back to the prompt.\n")
            return 0
        read_only = "--read-only" in args
        rest = [a for a in args if a != "--read-only"]
        if len(rest) > 1 or any(a.startswith("-") for a in rest):
            err.write(f"{where}tui: expected at most a PATH and --read-only (see 'tui --help')\n")
            return 2
        from realnet.tui import check_can_run, run_tui_async

        try:
            start = self.session.resolve(rest[0]) if rest else None
            check_can_run(self.session, start)
        except RealnetError as e:
            err.write(f"{where}{e}\n")
            return e.exit_code

        async def dashboard() -> None:
            try:
                await run_tui_async(self.session, read_only=read_only, start=start)
            except RealnetError as e:
                err.write(f"{where}tui: {e}\n")

        self.session.pending.append(dashboard())  # awaited by settle(), after this line
        return 0

    async def settle(self) -> None:
        """Await what the last command left running (a graceful ``stop``)."""
        while self.session.pending:
            await self.session.pending.pop(0)

    # -- modes -------------------------------------------------------------------
    def run(self, *, command: str | None = None, keep_going: bool = False) -> int:
        try:
            # Open the store now, so that a broken one fails before the first prompt.
            self.session.context.ensure_initialized()
        except RealnetError as e:
            self.session.stderr.write(f"realnet: {e}\n")
            return e.exit_code
        # One event loop for the shell's life: runners started with ``serve`` are its tasks.
        return asyncio.run(self._run(command=command, keep_going=keep_going))

    async def _run(self, *, command: str | None, keep_going: bool) -> int:
        from realnet.runners.manager import RunnerManager

        self.session.runners = RunnerManager()
        try:
            if command is not None:
                return await self.run_script(_lines([command]), keep_going=keep_going, name="-c")
            if sys.stdin.isatty() and sys.stdout.isatty():
                return await self.run_interactive()
            return await self.run_script(_stdin_lines(), keep_going=keep_going, name="stdin")
        except ExitShell as e:
            return e.code
        finally:
            await self.stop_runners()

    async def stop_runners(self) -> None:
        manager = self.session.runners
        running = manager.running() if manager is not None else []
        if running:
            self.session.stderr.write(f"stopping {', '.join(running)} …\n")
            await manager.stop_all()

    async def run_script(self, lines: AsyncIterator[str], *, keep_going: bool, name: str) -> int:
        """No prompt, no colour; stop at the first failing command unless told otherwise."""
        self.session.interactive = False
        failed = 0
        number = 0
        async for line in lines:
            number += 1
            where = f"{name}:{number}: " if name != "-c" else ""
            try:
                status = self.execute(line, where=where, keep_going=keep_going)
            except UsageError as e:
                self.session.stderr.write(f"{where}{e}\n")
                status = 2
            finally:
                await self.settle()
                # Each answer goes out before the next line is read: on a pipe stdout is
                # block-buffered, and whoever is at the other end (`kubectl exec -i` without
                # -t, a program driving the shell) waits for it before sending more.
                self.session.stdout.flush()
                self.session.stderr.flush()
            if status:
                failed = failed or status
                if not keep_going:
                    return status
        return failed

    async def run_interactive(self) -> int:
        from realnet.shell.interactive import InteractiveLoop

        return await InteractiveLoop(self).run()


async def _lines(lines: Iterable[str]) -> AsyncIterator[str]:
    for line in lines:
        yield line


async def _stdin_lines() -> AsyncIterator[str]:
    """Lines of stdin, read off the event loop so that runners keep answering meanwhile."""
    loop = asyncio.get_running_loop()
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line:
            return
        yield line


def history_path(session: Session) -> str:
    home = session.settings.home if session.settings else os.path.expanduser("~/.realnet")
    os.makedirs(home, exist_ok=True)
    path = os.path.join(home, "history")
    # Commands can carry sensitive values: the history is readable by its owner only.
    os.close(os.open(path, os.O_CREAT | os.O_APPEND | os.O_WRONLY, 0o600))
    os.chmod(path, 0o600)
    return path
