"""Fixtures shared by every test: a private REALNET_HOME and ways to drive each face."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from realnet.app import open_context
from realnet.cli import run
from realnet.commands.session import Session
from realnet.config import load_settings
from realnet.core.context import Context


@pytest.fixture(autouse=True)
def realnet_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own store; nothing leaks into ~/.realnet."""
    home = tmp_path / "home"
    for key in list(__import__("os").environ):
        if key.startswith("REALNET_") and not key.startswith("REALNET_TEST_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("REALNET_HOME", str(home))
    monkeypatch.chdir(tmp_path)
    return home


@pytest.fixture
def context(realnet_home: Path) -> Iterator[Context]:
    ctx = open_context(load_settings())
    yield ctx
    ctx.provider.close()


@dataclass
class Result:
    code: int
    out: str
    err: str


def invoke(*args: str, stdin: str | None = None) -> Result:
    """Run ``realnet ARGS`` in-process exactly as the console script does."""
    out, err = io.StringIO(), io.StringIO()
    session = Session(stdout=out, stderr=err, interactive=False)
    if stdin is not None:
        import sys

        saved = sys.stdin
        sys.stdin = io.StringIO(stdin)
        try:
            code = run(list(args), session)
        finally:
            sys.stdin = saved
    else:
        code = run(list(args), session)
    return Result(code, out.getvalue(), err.getvalue())


@pytest.fixture
def cli():
    return invoke
