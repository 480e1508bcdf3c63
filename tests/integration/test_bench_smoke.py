"""The benchmarks still run (in their --quick form) and print a ratio to their baseline.
They are read by people; nothing here compares a time against a limit."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.mark.parametrize("script", ["startup.py", "listing.py", "import_bench.py", "pg_bench.py",
                                    "access_bench.py"])
def test_benchmark_runs_and_reports_a_ratio(script):
    done = subprocess.run([sys.executable, str(BENCH / script), "--quick"], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "ratio" in done.stdout and "target" in done.stdout


def test_http_benchmark_runs_and_reports_rps_and_latency():
    done = subprocess.run([sys.executable, str(BENCH / "http_bench.py"), "--quick"], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    for figure in ("rps", "p50", "p99", "ratio", "target", "errors"):
        assert figure in done.stdout, done.stdout


def test_content_benchmark_runs_and_reports_throughput_and_memory():
    done = subprocess.run([sys.executable, str(BENCH / "content_bench.py"), "--quick"], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    for figure in ("upload (S3)", "download (S3)", "upload (local)", "download (local)", "MB/s",
                   "max RSS", "RSS growth", "ratio", "target"):
        assert figure in done.stdout, done.stdout
