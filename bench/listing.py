"""First page of ``ls`` in a big folder and in a small one.

Measures ``context.list(path, limit=100)`` — the call ``realnet ls`` makes — in a
folder of 100,000 Documents and in a folder of 1,000 (median over many calls), and
the second page through the returned cursor.

Baseline, measured in the same run and interleaved call by call (all eight figures
round-robin): the same query on the same database file through a separate plain
``sqlite3.connect``::

    SELECT <the provider's columns> FROM items
    WHERE parent_id = (SELECT id FROM items WHERE path = ?) ORDER BY name LIMIT 101

with ``fetchall()`` (and ``AND name > ?`` for the second page). Prints both medians
in µs, the ratio Realnet/raw (target ≤ 2×) and the ratio of the Realnet figure in the
big folder to the small one (should be ≈ 1: cost must not grow with folder size).

    python bench/listing.py [--reps N] [--quick]
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from realnet.app import open_context
from realnet.config import load_settings
from realnet.core.context import Context
from realnet.core.item import ItemDraft
from realnet.providers.sql.sqlite import COLUMNS

TARGET_RATIO = 2.0
PAGE = 100
RAW_FIRST = (
    f"SELECT {COLUMNS} FROM items "  # noqa: S608 - a constant column list
    "WHERE parent_id = (SELECT id FROM items WHERE path = ?) ORDER BY name LIMIT ?"
)
RAW_NEXT = (
    f"SELECT {COLUMNS} FROM items "  # noqa: S608 - a constant column list
    "WHERE parent_id = (SELECT id FROM items WHERE path = ?) AND name > ? ORDER BY name LIMIT ?"
)


def fill_folder(context: Context, folder: str, count: int) -> None:
    """Create ``folder`` holding ``count`` Documents d0000001… in one bulk insert."""
    context.create(folder, "Folder")
    drafts = (
        ItemDraft(path=f"{folder}/d{n:07d}", type="Document", owner="admin",
                  attributes={"title": f"Document number {n}"})
        for n in range(1, count + 1)
    )
    context.provider.insert_many(drafts)


def interleaved_medians(calls: dict[str, Callable[[], object]], reps: int) -> dict[str, float]:
    """Median µs of each call over ``reps`` rounds; each round runs them all, in a rotated order.

    Interleaving (rather than one figure after the other) makes drift on a busy
    machine hit every figure alike, so the ratios stay meaningful.
    """
    labels = list(calls)
    samples: dict[str, list[int]] = {label: [] for label in labels}
    for _ in range(5):  # warm the page cache and the statement caches
        for call in calls.values():
            call()
    clock = time.perf_counter_ns
    for n in range(reps):
        shift = n % len(labels)
        for label in labels[shift:] + labels[:shift]:
            call = calls[label]
            start = clock()
            call()
            samples[label].append(clock() - start)
    return {label: statistics.median(values) / 1000 for label, values in samples.items()}


def folder_calls(context: Context, raw: sqlite3.Connection, folder: str,
                 ) -> dict[str, Callable[[], object]]:
    """Realnet and raw calls for the first and the second page of ``folder``, checked once."""
    first_page = context.list(folder, limit=PAGE)
    rows = raw.execute(RAW_FIRST, (folder, PAGE + 1)).fetchall()
    if first_page.next_cursor is None or [r[2] for r in rows[:PAGE]] != [
        i.path for i in first_page.items
    ]:
        raise SystemExit(f"{folder}: Realnet and raw sqlite3 disagree on the first page")
    cursor = first_page.next_cursor
    last_name = first_page.items[-1].name
    second_page = context.list(folder, limit=PAGE, cursor=cursor)
    rows = raw.execute(RAW_NEXT, (folder, last_name, PAGE + 1)).fetchall()
    if [r[2] for r in rows[:PAGE]] != [i.path for i in second_page.items]:
        raise SystemExit(f"{folder}: Realnet and raw sqlite3 disagree on the second page")
    return {
        f"{folder} realnet 1": lambda: context.list(folder, limit=PAGE),
        f"{folder} raw 1": lambda: raw.execute(RAW_FIRST, (folder, PAGE + 1)).fetchall(),
        f"{folder} realnet 2": lambda: context.list(folder, limit=PAGE, cursor=cursor),
        f"{folder} raw 2": lambda: raw.execute(RAW_NEXT, (folder, last_name, PAGE + 1)).fetchall(),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, help="calls per figure (default 500, quick 30)")
    parser.add_argument("--quick", action="store_true", help="10,000 and 1,000 children, 30 calls")
    args = parser.parse_args(argv)
    big = 10_000 if args.quick else 100_000
    small = 1_000
    reps = max(1, min(args.reps or (30 if args.quick else 500), 10_000))

    home = Path(tempfile.mkdtemp(prefix="realnet-bench-listing-", dir="/tmp"))
    try:
        context = open_context(load_settings({"REALNET_HOME": str(home)}, cwd=home))
        start = time.perf_counter()
        fill_folder(context, "/big", big)
        fill_folder(context, "/small", small)
        built = time.perf_counter() - start
        raw = sqlite3.connect(context.provider.db_path)  # type: ignore[attr-defined]
        try:
            calls = {**folder_calls(context, raw, "/big"), **folder_calls(context, raw, "/small")}
            medians = interleaved_medians(calls, reps)
        finally:
            raw.close()
            context.provider.close()
    finally:
        shutil.rmtree(home, ignore_errors=True)

    print(f"listing: first page of {PAGE}, median of {reps} calls each "
          f"(built {big + small:,} items in {built:.1f} s)")
    print(f"  {'children':>9}  {'page':>5}  {'realnet':>10}  {'raw sqlite3':>12}  {'ratio':>6}")
    folders = {"/big": big, "/small": small}
    for folder, size in folders.items():
        for page in (1, 2):
            ours, base = medians[f"{folder} realnet {page}"], medians[f"{folder} raw {page}"]
            print(f"  {size:>9,}  {page:>5}  {ours:8.1f}µs  {base:10.1f}µs  {ours / base:5.2f}×")
    for folder, size in folders.items():
        ratio = medians[f"{folder} realnet 1"] / medians[f"{folder} raw 1"]
        verdict = "met" if ratio <= TARGET_RATIO else "NOT met"
        print(f"target: first page in {size:,} children ≤ {TARGET_RATIO:.0f}× raw — "
              f"{verdict} ({ratio:.2f}×)")
    growth = medians["/big realnet 1"] / medians["/small realnet 1"]
    raw_growth = medians["/big raw 1"] / medians["/small raw 1"]
    print(f"ratio {big:,} ÷ {small:,} children (first page): realnet {growth:.2f}×, "
          f"raw {raw_growth:.2f}× (want ≈ 1)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
