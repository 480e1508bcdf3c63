"""The layers stay in order: core ← providers ← resources ← commands ← faces."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
THIRD_PARTY = ("click", "prompt_toolkit", "rich", "yaml", "dotenv", "textual", "boto3", "uvicorn")


def imported_modules(folder: Path) -> set[str]:
    names: set[str] = set()
    for file in folder.rglob("*.py"):
        tree = ast.parse(file.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module)
    return names


def test_core_uses_the_standard_library_only():
    imports = imported_modules(ROOT / "realnet" / "core")
    outside = {n for n in imports if n.split(".")[0] in THIRD_PARTY}
    assert outside == set()
    faces = {n for n in imports if n.startswith(("realnet.commands", "realnet.shell", "realnet.tui",
                                                 "realnet.cli", "realnet.providers.sql"))}
    assert faces == set()


def test_lower_layers_do_not_import_faces():
    for layer in ("providers", "resources", "storage"):
        imports = imported_modules(ROOT / "realnet" / layer)
        faces = {n for n in imports if n.startswith(("realnet.commands", "realnet.shell", "realnet.tui",
                                                     "realnet.cli", "click", "prompt_toolkit"))}
        assert faces == set(), layer


def test_commands_do_not_import_the_shell():
    imports = imported_modules(ROOT / "realnet" / "commands")
    assert not {n for n in imports if n.startswith(("realnet.shell", "realnet.tui", "prompt_toolkit"))}


def test_cli_start_does_not_import_heavy_modules():
    code = (
        "import sys\n"
        "from realnet.cli import run\n"
        "heavy = [m for m in ('prompt_toolkit', 'rich', 'yaml', 'realnet.shell', 'textual') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ""


def test_every_command_and_setting_is_documented():
    from realnet.cli import build_cli
    from realnet.config import SETTINGS

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name in build_cli().commands:
        assert f"`{name}" in readme, f"command {name} is not in the README's command table"
    for setting in SETTINGS:
        assert setting in readme, f"setting {setting} is not documented in the README"
