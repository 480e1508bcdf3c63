"""Key press to children table painted, in the dashboard, for a big folder and a small one.

The dashboard (``RealnetApp``, headless through Textual's ``run_test`` at 100×30) shows
``/bench``, which holds ``big`` (100,000 Documents) and ``small`` (1,000). Each run puts
the cursor on one of the two rows, presses Enter through the pilot and takes the time
from just before the key is sent until the table has its first page and the screen has
been refreshed with it (``call_after_refresh`` once the first page is in: Textual's
"painted"). Runs alternate big and small; the figures are medians.

Baseline, in the same run: the same Enter on ``small``. The figure that must not grow
is the ratio big ÷ small (target ≤ 2×), beside the absolute target (median ≤ 300 ms).
Also printed: this process's resident memory with the big folder open (target < 200 MB).
The store is filled by a child process (this script with ``--fill``), so the memory
figure is the dashboard's, not the bulk insert's.

    python bench/tui_bench.py [--big N] [--small N] [--runs N] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

TARGET_MS = 300.0
TARGET_RATIO = 2.0
TARGET_RSS_MB = 200.0
FOLDER = "/bench"


def settings_for(home: Path):
    from realnet.config import load_settings

    return load_settings({"REALNET_HOME": str(home)}, cwd=home)


def fill(home: Path, big: int, small: int) -> None:
    """``/bench/big`` and ``/bench/small`` with Documents d0000001…, one bulk insert each."""
    from realnet.app import open_context
    from realnet.core.item import ItemDraft

    context = open_context(settings_for(home))
    try:
        for name, count in (("big", big), ("small", small)):
            folder = f"{FOLDER}/{name}"
            context.create(folder, "Folder", parents=True)
            context.provider.insert_many(
                ItemDraft(path=f"{folder}/d{n:07d}", type="Document", owner="admin",
                          attributes={"title": f"Document number {n}"})
                for n in range(1, count + 1))
    finally:
        context.provider.close()


def rss_mb() -> float:
    """Resident memory of this process now (``VmRSS``), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def measure(home: Path, runs: int) -> tuple[dict[str, list[float]], float]:
    from textual import on

    from realnet.commands.session import Session
    from realnet.tui.app import RealnetApp
    from realnet.tui.table import ChildrenTable

    class TimedApp(RealnetApp):
        """Stamps the moments the awaited folder's first page is painted and the screen settles."""

        awaited: str | None = None
        table_drawn = False
        painted: float | None = None
        settled: float | None = None

        def watch_table(self) -> None:
            """Note when the table draws its lines while the awaited rows are in."""
            table = self.table
            draw = table.render_lines

            def render_lines(crop):  # type: ignore[no-untyped-def]
                if self.rows_in():
                    self.table_drawn = True
                return draw(crop)

            table.render_lines = render_lines  # type: ignore[method-assign]

        def rows_in(self) -> bool:
            """The awaited folder's rows are in the table (not the previous folder's, which
            stay until the new first page replaces them)."""
            items = self.table.items
            return bool(items) and self.table.path == self.awaited and \
                items[0].path.rsplit("/", 1)[0] == self.awaited

        @on(ChildrenTable.ItemHighlighted)
        def _stamp(self, event: ChildrenTable.ItemHighlighted) -> None:
            if self.settled is None and self.rows_in():
                self.call_after_refresh(self._settled)

        def _display(self, screen, renderable) -> None:  # type: ignore[no-untyped-def]
            super()._display(screen, renderable)
            # The first screen update with the table drawn once the rows are in: headless, it
            # is made and handed over exactly as for a terminal, only not written out.
            if self.painted is None and renderable is not None and self.table_drawn:
                self.painted = time.perf_counter()

        def _settled(self) -> None:
            self.settled = time.perf_counter()

    session = Session(settings=settings_for(home))
    samples: dict[str, list[float]] = {"big": [], "small": [], "big settled": [], "small settled": []}
    memory: list[float] = []
    try:
        app = TimedApp(session)
        async with app.run_test(size=(100, 30)) as pilot:
            await until_idle(pilot)
            app.watch_table()
            for n in range(runs + 1):  # the first round warms up and is not counted
                for name in ("big", "small") if n % 2 == 0 else ("small", "big"):
                    app.open_folder(FOLDER, select=name)
                    await until_idle(pilot)
                    assert app.table.current_item() is not None
                    assert app.table.current_item().name == name
                    app.table.focus()
                    await pilot.pause()
                    app.painted = app.settled = None
                    app.table_drawn = False
                    app.awaited = f"{FOLDER}/{name}"
                    start = time.perf_counter()
                    await pilot.press("enter")
                    while app.painted is None or app.settled is None:
                        await asyncio.sleep(0.001)
                    if n:
                        samples[name].append((app.painted - start) * 1000)
                        samples[f"{name} settled"].append((app.settled - start) * 1000)
                    if name == "big":
                        await until_idle(pilot)
                        memory.append(rss_mb())
                    await pilot.press("backspace")
            await until_idle(pilot)
    finally:
        session.close()
    return samples, max(memory)


async def until_idle(pilot) -> None:
    for _ in range(3):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--big", type=int, help="children of the big folder (default 100,000; quick 5,000)")
    parser.add_argument("--small", type=int, help="children of the small folder (default 1,000; quick 200)")
    parser.add_argument("--runs", type=int, help="timed runs per folder (default 9; quick 2)")
    parser.add_argument("--quick", action="store_true", help="5,000 and 200 children, 2 runs")
    parser.add_argument("--fill", metavar="HOME", help=argparse.SUPPRESS)  # the child process
    args = parser.parse_args(argv)
    big = max(1, args.big or (5_000 if args.quick else 100_000))
    small = max(1, args.small or (200 if args.quick else 1_000))
    runs = max(1, args.runs or (2 if args.quick else 9))
    if args.fill:
        fill(Path(args.fill), big, small)
        return 0

    home = Path(tempfile.mkdtemp(prefix="realnet-bench-tui-", dir="/tmp"))
    try:
        start = time.perf_counter()
        subprocess.run([sys.executable, __file__, "--fill", str(home), "--big", str(big),
                        "--small", str(small)], check=True)
        built = time.perf_counter() - start
        samples, memory = asyncio.run(measure(home, runs))
    finally:
        shutil.rmtree(home, ignore_errors=True)

    medians = {name: statistics.median(values) for name, values in samples.items()}
    print(f"tui: Enter on a folder row → its children table painted (headless 100×30, first page "
          f"of 200), median of {runs} runs each (store of {big + small:,} items built in {built:.1f} s)")
    print(f"  {'children':>9}  {'painted':>9}  {'min':>9}  {'max':>9}  {'settled':>9}")
    for name, size in (("big", big), ("small", small)):
        values = samples[name]
        print(f"  {size:>9,}  {medians[name]:7.1f}ms  {min(values):7.1f}ms  {max(values):7.1f}ms  "
              f"{medians[name + ' settled']:7.1f}ms")
    ratio = medians["big"] / medians["small"]
    verdict = "met" if medians["big"] <= TARGET_MS else "NOT met"
    print(f"target: {big:,} children painted ≤ {TARGET_MS:.0f} ms median — {verdict} "
          f"({medians['big']:.1f} ms)")
    verdict = "met" if ratio <= TARGET_RATIO else "NOT met"
    print(f"target: ratio {big:,} ÷ {small:,} children ≤ {TARGET_RATIO:.0f}× — {verdict} ({ratio:.2f}×)")
    verdict = "met" if memory < TARGET_RSS_MB else "NOT met"
    print(f"target: RSS with the {big:,}-children folder open < {TARGET_RSS_MB:.0f} MB — {verdict} "
          f"({memory:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
