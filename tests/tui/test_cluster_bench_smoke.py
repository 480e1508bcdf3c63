"""bench/cluster_bench.py still runs (tiny sizes) and prints its figures; no timing is judged."""

from __future__ import annotations

import importlib.util
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "cluster_bench.py"


def test_the_cluster_benchmark_runs_and_reports_its_figures(capsys):
    spec = importlib.util.spec_from_file_location("cluster_bench", BENCH)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    assert bench.main(["--pods", "600", "--runs", "1"]) == 0
    out = capsys.readouterr().out
    for figure in ("600 pods", "first paint", "watch", "RSS", "realnet ls", "kubectl", "ratio", "target"):
        assert figure in out, out
