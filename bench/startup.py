"""Cold start of the whole ``realnet`` process.

Measures the wall time of ``realnet ls /`` run as a fresh subprocess (the console
script next to ``sys.executable``, as users run it; ``python -m realnet`` when there
is none) on a temporary store that one warm-up run has already initialised.

Baselines, measured in the same run and interleaved with it: ``python -c pass``
(the interpreter's own start-up) and ``python -c 'import prompt_toolkit'`` (one
heavy dependency). Prints median, min and max per command and the ratio of the
Realnet median to ``python -c pass``. Target: median ≤ 0.30 s.

    python bench/startup.py [--runs N] [--quick]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

TARGET_SECONDS = 0.30
DEFAULT_RUNS = 15
QUICK_RUNS = 3


def realnet_command() -> list[str]:
    """The console script installed beside this interpreter, else ``python -m realnet``."""
    folder = Path(sys.executable).parent
    for name in ("realnet", "realnet.exe"):
        script = folder / name
        if script.is_file() and os.access(script, os.X_OK):
            return [str(script)]
    return [sys.executable, "-m", "realnet"]


def clean_environment(home: Path) -> dict[str, str]:
    """The current environment without any REALNET_* setting, plus REALNET_HOME=home."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("REALNET_")}
    env["REALNET_HOME"] = str(home)
    # Bytecode as an installed package has it (pip compiles at install): without this, a
    # PYTHONDONTWRITEBYTECODE in the environment makes every run compile every module.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(home / "bytecode")
    return env


def run_once(argv: Sequence[str], env: dict[str, str], cwd: Path) -> float:
    """Wall time in seconds of one subprocess run; fails loudly on a non-zero exit."""
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, timeout=60, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(
            f"{' '.join(argv)} exited with {done.returncode}:\n"
            f"{done.stderr.decode(errors='replace')}"
        )
    return elapsed


def measure(commands: dict[str, list[str]], runs: int, env: dict[str, str], cwd: Path,
            ) -> dict[str, list[float]]:
    """Run every command ``runs`` times, interleaved so drift hits all of them alike."""
    times: dict[str, list[float]] = {label: [] for label in commands}
    for _ in range(runs):
        for label, argv in commands.items():
            times[label].append(run_once(argv, env, cwd))
    return times


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, help=f"runs per command (default {DEFAULT_RUNS})")
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_RUNS} runs: a smoke test")
    args = parser.parse_args(argv)
    runs = max(1, min(args.runs or (QUICK_RUNS if args.quick else DEFAULT_RUNS), 200))

    realnet = realnet_command()
    commands = {
        "realnet ls /": [*realnet, "ls", "/"],
        "python -c pass": [sys.executable, "-c", "pass"],
        "python -c 'import prompt_toolkit'": [sys.executable, "-c", "import prompt_toolkit"],
    }
    home = Path(tempfile.mkdtemp(prefix="realnet-bench-startup-", dir="/tmp"))
    try:
        env = clean_environment(home)
        # Warm-up: the first run creates and initialises the store; one more of each
        # command fills the page cache and the bytecode caches.
        run_once(commands["realnet ls /"], env, home)
        for command in commands.values():
            run_once(command, env, home)
        times = measure(commands, runs, env, home)
    finally:
        shutil.rmtree(home, ignore_errors=True)

    print(f"startup: {runs} runs each, interleaved; realnet = {' '.join(realnet)}")
    width = max(len(label) for label in commands)
    print(f"  {'command'.ljust(width)}  {'median':>9}  {'min':>9}  {'max':>9}")
    for label, values in times.items():
        print(f"  {label.ljust(width)}  {statistics.median(values) * 1000:7.1f}ms"
              f"  {min(values) * 1000:7.1f}ms  {max(values) * 1000:7.1f}ms")
    realnet_median = statistics.median(times["realnet ls /"])
    python_median = statistics.median(times["python -c pass"])
    toolkit_median = statistics.median(times["python -c 'import prompt_toolkit'"])
    print(f"ratio realnet ls / ÷ python -c pass: {realnet_median / python_median:.2f}×")
    print(f"ratio realnet ls / ÷ import prompt_toolkit: {realnet_median / toolkit_median:.2f}×")
    verdict = "met" if realnet_median <= TARGET_SECONDS else "NOT met"
    print(f"target: median ≤ {TARGET_SECONDS:.2f} s — {verdict} ({realnet_median:.3f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
