"""bench/tui_bench.py still runs (tiny sizes) and prints its figures; no timing is judged."""

from __future__ import annotations

import importlib.util
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "tui_bench.py"


def test_the_tui_benchmark_runs_and_reports_its_figures(capsys):
    spec = importlib.util.spec_from_file_location("tui_bench", BENCH)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    assert bench.main(["--big", "300", "--small", "30", "--runs", "1"]) == 0
    out = capsys.readouterr().out
    for figure in ("painted", "settled", "ratio", "target", "RSS", "300", "30"):
        assert figure in out, out
