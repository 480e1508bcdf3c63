"""The SQS runner's benchmark still runs (in its --quick form) and prints its figures, the
ratio to its raw boto3 baseline and the target. It is read by people; nothing here compares
a rate against a limit."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench"


def test_sqs_benchmark_runs_and_reports_a_ratio():
    done = subprocess.run([sys.executable, str(BENCH / "sqs_bench.py"), "--quick"], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    for figure in ("msgs/s", "ratio", "target"):
        assert figure in done.stdout, done.stdout
