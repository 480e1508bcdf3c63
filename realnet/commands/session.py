"""The state a command runs in: the context, the current and previous folder, the streams.

The CLI makes a fresh session per process; the shell keeps one for its lifetime.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TextIO

from realnet.commands import output
from realnet.config import Settings, load_settings
from realnet.core import paths
from realnet.core.context import Context
from realnet.core.errors import InvalidName, RealnetError, UsageError


@dataclass
class Session:
    settings: Settings | None = None
    cwd: str = paths.ROOT
    previous: str | None = None
    #: A person is at a terminal and can answer questions (``rm -r`` confirmation).
    interactive: bool = False
    stdout: TextIO = field(default_factory=lambda: sys.stdout)
    stderr: TextIO = field(default_factory=lambda: sys.stderr)
    #: Ask a yes/no question; the shell replaces this with its own prompt.
    ask: Callable[[str], bool] | None = None
    #: Act as this account (``--as``); None is the local administrator.
    acting_as: str | None = None
    #: The runners of a shell session (``serve``, ``jobs``, ``logs``, ``stop``); None in the CLI.
    runners: Any = None
    #: Coroutines the shell awaits after the current command (a graceful ``stop``).
    pending: list[Any] = field(default_factory=list)
    _context: Context | None = None

    @property
    def context(self) -> Context:
        if self._context is None:
            from realnet.app import open_context

            if self.settings is None:
                self.settings = load_settings()
            if self.settings.url:
                if self.acting_as:
                    raise UsageError("--as: a remote session acts as its token's account")
                from realnet.remote.context import RemoteContext

                self._context = RemoteContext(self.settings.url, self.settings.token)  # type: ignore[assignment]
                return self._context
            if self.acting_as:
                self._context = open_context(self.settings, principal=self.acting_as)
            else:
                self._context = open_context(self.settings)
        return self._context

    def use_context(self, context: Context) -> None:
        self._context = context

    @property
    def store_label(self) -> str:
        if self._context is not None:
            return self._context.provider.label
        if self.settings and self.settings.url:
            from urllib.parse import urlsplit

            return urlsplit(self.settings.url).netloc
        return self.settings.store_label if self.settings else "local"

    def connect(self, url: str | None, token: str | None) -> None:
        """Work against a remote Realnet (``--url``/``--token`` over REALNET_URL/REALNET_TOKEN)."""
        from dataclasses import replace

        from realnet.config import check_url, load_settings

        settings = self.settings or load_settings()
        if url is not None:
            settings = replace(settings, url=check_url(url, "--url"))
        if token is not None:
            settings = replace(settings, token=token.strip() or None)
        self.settings = settings

    @property
    def principal(self) -> str:
        if self._context is not None:
            return self._context.principal
        return self.acting_as or "admin"

    def resolve(self, path: str | None) -> str:
        home = self.context.home if path and path.startswith("~") else None
        return paths.resolve(path or "", self.cwd, home=home, previous=self.previous)

    def resolve_new(self, path: str) -> str:
        """Resolve the path of an item to be created: its last segment is a name, not a step."""
        last = path.rstrip("/").rsplit("/", 1)[-1]
        if last in (".", ".."):
            raise InvalidName(f"{path}: '.' and '..' are not allowed as names")
        if last in ("~", "-"):
            raise InvalidName(f"{path}: {last!r} is not allowed as the name of a new item")
        return self.resolve(path)

    def change_folder(self, path: str) -> None:
        if path != self.cwd:
            self.previous, self.cwd = self.cwd, path

    def emit(self, result: Any, fmt: str = "table") -> None:
        if isinstance(result, output.ItemList) and self._context is not None:
            shown = tuple(self._context.shown(i) for i in result.items)
            result = dataclasses.replace(result, items=shown)
        elif isinstance(result, output.ItemDetail) and self._context is not None:
            result = output.ItemDetail(self._context.shown(result.item))
        output.emit(result, fmt, stream=self.stdout)

    def note(self, text: str) -> None:
        """A side remark for people (paging hints): stderr, so pipes stay clean."""
        self.stderr.write(text + "\n")

    def confirm(self, question: str, *, force: bool, refusal: str) -> None:
        """Go on when forced or when a person says yes; otherwise stop with ``refusal``."""
        if force:
            return
        if not self.interactive:
            raise RealnetError(f"{refusal}: needs confirmation and there is no terminal; pass --force")
        ask = self.ask or _ask_terminal
        if not ask(question):
            raise RealnetError(f"{refusal}: not confirmed; nothing was deleted")

    def close(self) -> None:
        if self._context is not None:
            self._context.provider.close()
            self._context = None


def _ask_terminal(question: str) -> bool:
    try:
        answer = input(f"{question} [y/N] ")
    except EOFError:
        return False
    return answer.strip().lower() in ("y", "yes")
