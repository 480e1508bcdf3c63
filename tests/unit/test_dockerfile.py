"""The Dockerfile passes hadolint (installed with the test extras) and ships every package."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_hadolint_is_clean():
    binary = shutil.which("hadolint")
    assert binary, "hadolint is missing: install the test extras (pip install -e '.[test]')"
    done = subprocess.run([binary, str(ROOT / "Dockerfile")], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def test_dockerfile_copies_every_top_level_package():
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    for folder in ("realnet", "shell", "tui", "initialization"):
        assert f"COPY {folder} ./{folder}" in text
