"""The prompt-toolkit loop, used only when stdin and stdout are terminals."""

from __future__ import annotations

from typing import TYPE_CHECKING

from prompt_toolkit import PromptSession
from prompt_toolkit.formatted_text import FormattedText
from prompt_toolkit.history import FileHistory

from realnet.core.errors import UsageError
from realnet.shell.completer import ShellCompleter

if TYPE_CHECKING:
    from realnet.shell.repl import Shell


class InteractiveLoop:
    def __init__(self, shell: Shell) -> None:
        from realnet.shell.repl import history_path

        self.shell = shell
        session = shell.session
        session.interactive = True
        self.prompt = PromptSession(
            history=FileHistory(history_path(session)),
            completer=ShellCompleter(session, shell.commands),
            complete_while_typing=False,
            enable_history_search=False,  # Ctrl-R reverse search stays on
        )

    def message(self) -> FormattedText:
        s = self.shell.session
        return FormattedText([
            ("ansigreen bold", f"{s.principal}@{s.store_label}"),
            ("", ":"),
            ("ansiblue bold", s.cwd),
            ("", "$ "),
        ])

    async def run(self) -> int:
        from prompt_toolkit.patch_stdout import patch_stdout

        from realnet.shell.repl import ExitShell

        session = self.shell.session
        session.stdout.write("Realnet shell — 'help' lists the commands, Ctrl-D leaves.\n")
        while True:
            # Runners log to their own buffers; anything else printed while the prompt waits
            # is drawn above it rather than across it.
            with patch_stdout(raw=True):
                try:
                    line = await self.prompt.prompt_async(self.message)
                except KeyboardInterrupt:
                    continue
                except EOFError:
                    return 0
            try:
                self.shell.last_status = self.shell.execute(line)
            except UsageError as e:
                session.stderr.write(f"{e}\n")
                self.shell.last_status = 2
            except ExitShell as e:
                return e.code
            finally:
                await self.shell.settle()
            session.stdout.flush()
