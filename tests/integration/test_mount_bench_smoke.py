"""The mounts benchmark still runs (with tiny sizes) and prints its figures, the ratio to
its baselines and the targets. It is read by people; nothing here compares a time
against a limit."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench"


def test_mount_benchmark_runs_and_reports_both_parts():
    done = subprocess.run([sys.executable, str(BENCH / "mount_bench.py"), "--mb", "1", "--files", "500",
                           "--repeat", "1", "--reps", "5"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    for line_start in ("yaml mount: ", "  realnet create + ls (first page)", "  baseline read + yaml.load",
                       "ratio realnet ÷ baseline: ", "filetree ls: first page of 100 in a mounted folder of 500 files",
                       "  realnet cold", "  realnet warm", "  baseline sorted(os.listdir)",
                       "target: first page of ls (cold) < 100 ms", "target: first page of ls (warm) < 100 ms"):
        assert any(line.startswith(line_start) for line in out.splitlines()), (line_start, out)
    assert "target ≤ 1.5×" in out, out
    assert out.count(" ms") >= 5, out
    assert "Traceback" not in done.stderr, done.stderr
