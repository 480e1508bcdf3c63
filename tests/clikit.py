"""Assertions on the in-process CLI's results (the ``cli`` fixture), shared by the tests."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from typing import Any

import pytest


def ok(cli, *args: str) -> Any:
    """Run ``realnet ARGS``; it must succeed."""
    r = cli(*args)
    assert r.code == 0, f"{args}: {r.err}"
    return r


def one_line_error(r, *fragments: str) -> None:
    """A user's mistake: exit 1, one line on stderr holding every fragment, no traceback."""
    assert r.code == 1, r.out
    assert r.err.startswith("realnet: ") and r.err.count("\n") == 1, r.err
    assert "Traceback" not in r.err + r.out
    for fragment in fragments:
        assert fragment in r.err, (fragment, r.err)


def one_error(result, code: int, fragment: str) -> str:
    """The same for a CLI result or a finished subprocess, with the exit code expected."""
    err = result.err if hasattr(result, "err") else result.stderr.decode()
    got = result.code if hasattr(result, "code") else result.returncode
    assert got == code, (got, err)
    assert fragment in err, err
    assert len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err
    return err


def realnet_without_override(*args: str) -> subprocess.CompletedProcess:
    """``realnet ARGS`` in a process that file modes bind, root or not.

    CI runs as root, whom file modes do not stop: the process then runs as root without
    CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH (``setpriv --bounding-set``), so that modes
    bind it like any user. (Running it as ``nobody`` is not possible here: the Python
    interpreter lives under /root, which only root may enter.)"""
    prefix: list[str] = []
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("setpriv (util-linux) is missing: cannot make root subject to file modes")
        prefix = [setpriv, "--bounding-set=-dac_override,-dac_read_search"]
    return subprocess.run([*prefix, sys.executable, "-m", "realnet", *args], capture_output=True, text=True,
                          env=dict(os.environ), stdin=subprocess.DEVNULL, check=False, timeout=120)
