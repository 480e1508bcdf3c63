"""PostgreSQL store: listing, deep lookup, import and concurrent listing among 1,000,000 items.

Starts a throw-away PostgreSQL server (``tests/pgserver.py``; or uses the one
``REALNET_TEST_POSTGRES_URL`` names), creates a store in a schema of its own and
fills it with ``PostgresProvider.insert_many`` (COPY) to 1,000,000 items: a folder
``/big`` of 100,000 Documents, a chain of 20 nested folders ``/deep01/…/deep20``,
and the rest spread over folders of 1,000 under ``/spread``. Then, each Realnet
figure beside a baseline measured in the same run:

1. ``context.list("/big", limit=100)`` against the very SELECT the provider issues
   (checked by recording its ``execute`` calls) run on a plain ``psycopg.connect``
   connection with ``fetchall()``; medians in µs, interleaved call by call.
   Target: Realnet ≤ 2× raw.
2. ``provider.get`` of the depth-20 path against ``SELECT <columns> FROM items WHERE
   path = %s`` on the plain connection; the ``execute`` calls of one ``get`` are
   recorded and printed, to show it is one statement. Target: ≤ 2× raw.
3. ``import_tree`` of an in-memory export (1 Folder + 100,000 Documents) into the big
   store at a new path, against a raw ``COPY`` (``cursor.copy`` + ``write_row``, one
   transaction) of the same rows, built before the clock starts, into a fresh schema
   with the same table (every script in ``POSTGRESQL_MIGRATIONS``). Items/s; target ≥ 0.30 × raw.
4. The listing of 1. by 1 and by 8 client processes at once (spawned, each with its
   own Context and connection; a fixed window of seconds): pages/s and the scaling
   8 ÷ 1, for Realnet and for raw psycopg. Target: Realnet 8 ÷ 1 ≥ 1.5 on 2 cores.

Nothing fails on a slow figure: targets are printed as met / NOT met.

    python bench/pg_bench.py [--items N] [--reps N] [--window S] [--quick]
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import multiprocessing
import os
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import psycopg

from realnet.core.context import Context
from realnet.core.item import ItemDraft
from realnet.core.loader import packaged_directory
from realnet.core.transfer import FORMAT, VERSION, import_tree
from realnet.providers.sql.postgresql import COLUMNS, COPY_COLUMNS, PostgresProvider
from realnet.providers.sql.schema import POSTGRESQL_MIGRATIONS
from realnet.resources import ResourceRegistry

TESTS = Path(__file__).resolve().parents[1] / "tests"
PAGE = 100
BIG = "/big"
DEPTH = 20
DEEP = "".join(f"/deep{n:02d}" for n in range(1, DEPTH + 1))
PER_FOLDER = 1_000
CHUNK = 100_000
CREATED = "2024-01-02T03:04:05.000000Z"
UPDATED = "2024-06-07T08:09:10.000000Z"
# The provider's children() for order "name", no cursor, no prefix — checked against it below.
RAW_LIST = (
    f"SELECT {COLUMNS} FROM items WHERE parent_id = (SELECT id FROM items WHERE path = %s) "  # noqa: S608
    "ORDER BY name ASC LIMIT %s"
)
RAW_GET = f"SELECT {COLUMNS} FROM items WHERE path = %s"  # noqa: S608 - a constant column list
TARGET_LIST = 2.0
TARGET_GET = 2.0
TARGET_IMPORT = 0.30
TARGET_SCALING = 1.5
MAX_PAGES_PER_CLIENT = 1_000_000  # bounds a client's loop whatever the window


# -- server and store ------------------------------------------------------------
@contextlib.contextmanager
def postgres() -> Iterator[str]:
    """A server URL: REALNET_TEST_POSTGRES_URL, or a throw-away server stopped afterwards."""
    external = os.environ.get("REALNET_TEST_POSTGRES_URL")
    if external:
        yield external
        return
    sys.path.insert(0, str(TESTS))
    from pgserver import PostgresServer

    server = PostgresServer()
    try:
        server.start()
        yield server.url("postgres")
    finally:
        server.stop()


@contextlib.contextmanager
def schema(url: str, prefix: str) -> Iterator[str]:
    """A fresh schema, dropped afterwards; yields a conninfo whose search_path selects it."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {name}")
    sep = "&" if "?" in url else "?"
    try:
        yield f"{url}{sep}options=-csearch_path%3D{name}"
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {name} CASCADE")


def open_context(conninfo: str) -> Context:
    provider = PostgresProvider(conninfo, label="bench")
    context = Context(provider, ResourceRegistry(), init_directories=[packaged_directory()])
    context.ensure_initialized()
    return context


def fill_store(context: Context, total: int, big: int) -> int:
    """Bring the store to ``total`` items with insert_many (COPY), in chunks; returns the count."""
    provider = context.provider
    present = provider.count_subtree("/") + 1
    chain = ["".join(f"/deep{n:02d}" for n in range(1, k + 1)) for k in range(1, DEPTH + 1)]
    rest = max(0, total - present - 1 - len(chain) - 1 - big)
    spread = max(1, rest // (PER_FOLDER + 1))
    docs = rest - spread
    folders = [BIG, *chain, "/spread", *(f"/spread/f{n:04d}" for n in range(1, spread + 1))]
    provider.insert_many(ItemDraft(path=p, type="Folder", owner="admin") for p in folders)

    def drafts() -> Iterator[ItemDraft]:
        for n in range(1, big + 1):
            yield ItemDraft(f"{BIG}/d{n:07d}", "Document", "admin", {"title": f"Document number {n}"})
        for f in range(1, spread + 1):
            for n in range(1, docs // spread + (f <= docs % spread) + 1):
                yield ItemDraft(f"/spread/f{f:04d}/d{n:07d}", "Document", "admin",
                                {"title": f"Document number {n}"})

    stream = drafts()
    while chunk := list(itertools.islice(stream, CHUNK)):
        provider.insert_many(chunk)
    return provider.count_subtree("/") + 1


# -- measuring -------------------------------------------------------------------
@contextlib.contextmanager
def recorded_executes() -> Iterator[list[str]]:
    """Every ``psycopg.Connection.execute`` in this process while inside, as query text."""
    calls: list[str] = []
    original = psycopg.Connection.execute

    def execute(self, query, params=None, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(query if isinstance(query, str) else repr(query))
        return original(self, query, params, **kwargs)

    psycopg.Connection.execute = execute  # type: ignore[method-assign]
    try:
        yield calls
    finally:
        psycopg.Connection.execute = original  # type: ignore[method-assign]


def describe(calls: list[str]) -> str:
    shown = []
    for query in calls:
        if query == "":
            shown.append("'' (empty query: psycopg_pool check_connection on checkout)")
        else:
            shown.append(query.replace(COLUMNS, "<COLUMNS>"))
    return "; ".join(shown)


def interleaved_medians(calls: dict[str, Callable[[], object]], reps: int) -> dict[str, float]:
    """Median µs of each call over ``reps`` rounds, each round running all in a rotated order."""
    labels = list(calls)
    samples: dict[str, list[int]] = {label: [] for label in labels}
    for _ in range(10):  # warm caches; psycopg prepares a statement on its 5th execution
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


def bench_list_and_get(context: Context, raw: psycopg.Connection, reps: int
                       ) -> tuple[dict[str, float], list[str], list[str]]:
    with recorded_executes() as list_calls:
        page = context.list(BIG, limit=PAGE)
    if RAW_LIST not in list_calls:
        raise SystemExit(f"the provider's listing SQL changed: {describe(list_calls)}")
    rows = raw.execute(RAW_LIST, (BIG, PAGE + 1)).fetchall()
    if [r[2] for r in rows[:PAGE]] != [i.path for i in page.items] or page.next_cursor is None:
        raise SystemExit("Realnet and raw psycopg disagree on the first page")
    provider = context.provider
    with recorded_executes() as get_calls:
        item = provider.get(DEEP)
    if raw.execute(RAW_GET, (DEEP,)).fetchall()[0][2] != item.path:
        raise SystemExit("Realnet and raw psycopg disagree on the deep item")

    def checked(sql: str, params: tuple) -> list[tuple]:
        raw.execute("")  # what the pool's check adds to every provider call
        return raw.execute(sql, params).fetchall()

    calls: dict[str, Callable[[], object]] = {
        "list realnet": lambda: context.list(BIG, limit=PAGE),
        "list raw": lambda: raw.execute(RAW_LIST, (BIG, PAGE + 1)).fetchall(),
        "list raw+check": lambda: checked(RAW_LIST, (BIG, PAGE + 1)),
        "get realnet": lambda: provider.get(DEEP),
        "get raw": lambda: raw.execute(RAW_GET, (DEEP,)).fetchall(),
        "get raw+check": lambda: checked(RAW_GET, (DEEP,)),
    }
    return interleaved_medians(calls, reps), list_calls, get_calls


def build_export(count: int) -> dict[str, Any]:
    """An export document: the folder ``.`` and ``count`` Documents d0000001…"""
    items: list[dict[str, Any]] = [{
        "path": ".", "type": "Folder", "owner": "admin",
        "created": CREATED, "updated": UPDATED, "attributes": {},
    }]
    items.extend(
        {"path": f"d{n:07d}", "type": "Document", "owner": "admin", "created": CREATED,
         "updated": UPDATED, "attributes": {"title": f"Document number {n}"}}
        for n in range(1, count + 1)
    )
    return {"format": FORMAT, "version": VERSION, "root": "/bulk", "items": items}


def export_rows(doc: dict[str, Any], root_id: str, target: str) -> list[tuple]:
    """The rows the provider would COPY for ``doc`` at ``target`` (COPY_COLUMNS order)."""
    rows: list[tuple] = []
    folder_id = str(uuid.uuid4())
    for entry in doc["items"]:
        if entry["path"] == ".":
            item_id, parent_id, path = folder_id, root_id, target
        else:
            item_id, parent_id, path = str(uuid.uuid4()), folder_id, f"{target}/{entry['path']}"
        rows.append((
            item_id, parent_id, path.rsplit("/", 1)[1], path, path.count("/"), entry["type"],
            entry["owner"], json.dumps(entry["attributes"], ensure_ascii=False, separators=(",", ":")),
            "[]", 1, entry["created"], entry["updated"],
        ))
    return rows


def time_import(context: Context, doc: dict[str, Any], target: str) -> float:
    context.types  # noqa: B018 - load the type registry before the clock starts
    start = time.perf_counter()
    _, count = import_tree(context, doc, target)
    elapsed = time.perf_counter() - start
    if count != len(doc["items"]) or context.provider.count_subtree(target) != count - 1:
        raise SystemExit(f"realnet imported {count} items, expected {len(doc['items'])}")
    return elapsed


def time_raw_copy(url: str, doc: dict[str, Any]) -> float:
    """Seconds for one COPY of the same rows into a fresh schema holding the provider's table."""
    with schema(url, "bench_raw") as conninfo, psycopg.connect(conninfo, autocommit=True) as conn:
        root_id = str(uuid.uuid4())
        with conn.transaction():
            for migration in POSTGRESQL_MIGRATIONS:
                conn.execute(migration)
            conn.execute(f"INSERT INTO items {COPY_COLUMNS} VALUES "  # noqa: S608
                         "(%s, NULL, '', '/', 0, 'Folder', 'admin', '{}', '[]', 1, %s, %s)",
                         (root_id, CREATED, UPDATED))
        rows = export_rows(doc, root_id, "/bulk")
        start = time.perf_counter()
        with conn.transaction(), conn.cursor() as cur, \
                cur.copy(f"COPY items {COPY_COLUMNS} FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        elapsed = time.perf_counter() - start
        stored = conn.execute("SELECT count(*) FROM items").fetchone()[0]  # type: ignore[index]
        if stored != len(rows) + 1:
            raise SystemExit(f"raw COPY stored {stored - 1} items, expected {len(rows)}")
    return elapsed


# -- concurrent clients ------------------------------------------------------------
def client(conninfo: str, mode: str, window: float, barrier: Any, results: Any) -> None:
    """One client process: list BIG's first page over and over for ``window`` seconds."""
    try:
        if mode == "realnet":
            context = open_context(conninfo)
            closer: Callable[[], None] = context.provider.close

            def call() -> object:
                return context.list(BIG, limit=PAGE)
        else:
            conn = psycopg.connect(conninfo, autocommit=True)
            closer = conn.close

            def call() -> object:
                return conn.execute(RAW_LIST, (BIG, PAGE + 1)).fetchall()
        try:
            for _ in range(20):
                call()
            barrier.wait(timeout=120)
            clock = time.perf_counter
            start = clock()
            deadline = start + window
            pages = 0
            for _ in range(MAX_PAGES_PER_CLIENT):
                call()
                pages += 1
                if clock() >= deadline:
                    break
            results.put((pages, clock() - start))
        finally:
            closer()
    except BaseException as e:
        barrier.abort()
        results.put((f"{type(e).__name__}: {e}", 0.0))
        raise


def throughput(conninfo: str, mode: str, clients: int, window: float) -> float:
    """Pages/s of ``clients`` processes listing at once (the sum of their rates)."""
    spawn = multiprocessing.get_context("spawn")
    barrier = spawn.Barrier(clients)
    results = spawn.Queue()
    workers = [spawn.Process(target=client, args=(conninfo, mode, window, barrier, results))
               for _ in range(clients)]
    for worker in workers:
        worker.start()
    try:
        outcomes = [results.get(timeout=180 + window) for _ in workers]
    finally:
        for worker in workers:
            worker.join(timeout=30)
            if worker.is_alive():
                worker.terminate()
                worker.join(timeout=10)
    failed = [str(pages) for pages, _ in outcomes if isinstance(pages, str)]
    if failed:
        raise SystemExit(f"{mode} client failed: {failed[0]}")
    return sum(pages / elapsed for pages, elapsed in outcomes)


def settle(conninfo: str) -> float:
    """VACUUM ANALYZE and CHECKPOINT, so autovacuum and the checkpointer stay out of the figures."""
    start = time.perf_counter()
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE items")
        conn.execute("CHECKPOINT")
    return time.perf_counter() - start


# -- main ------------------------------------------------------------------------
def verdict(met: bool) -> str:
    return "met" if met else "NOT met"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, help="items in the store (default 1,000,000, quick 20,000)")
    parser.add_argument("--reps", type=int, help="calls per latency figure (default 500, quick 30)")
    parser.add_argument("--import-items", type=int, help="Documents to import (default 100,000, quick 5,000)")
    parser.add_argument("--repeat", type=int, help="import runs of each side (default 3, quick 1)")
    parser.add_argument("--window", type=float, help="seconds per throughput figure (default 3, quick 1)")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients (default 8)")
    parser.add_argument("--rounds", type=int, help="throughput runs of each figure (default 2, quick 1)")
    parser.add_argument("--quick", action="store_true", help="20,000 items, 5,000 children, short runs")
    args = parser.parse_args(argv)
    quick = args.quick
    total = max(1_000, min(args.items or (20_000 if quick else 1_000_000), 10_000_000))
    big = min(5_000 if quick else 100_000, total // 2)
    reps = max(1, min(args.reps or (30 if quick else 500), 10_000))
    import_count = max(1, min(args.import_items or (5_000 if quick else 100_000), 1_000_000))
    repeat = max(1, min(args.repeat or (1 if quick else 3), 10))
    window = max(0.2, min(args.window or (1.0 if quick else 3.0), 60.0))
    clients = max(2, min(args.clients, 64))
    rounds = max(1, min(args.rounds or (1 if quick else 2), 10))

    with postgres() as url, schema(url, "bench") as conninfo:
        context = open_context(conninfo)
        try:
            start = time.perf_counter()
            stored = fill_store(context, total, big)
            built = time.perf_counter() - start
            settled = settle(conninfo)
            print(f"store: {stored:,} items ({big:,} in {BIG}, a chain of {DEPTH} folders, the rest in "
                  f"folders of {PER_FOLDER:,}); insert_many (COPY) {built:.1f} s "
                  f"({stored / built:,.0f} items/s), VACUUM ANALYZE + CHECKPOINT {settled:.1f} s",
                  flush=True)

            with psycopg.connect(conninfo, autocommit=True) as raw:
                medians, list_calls, get_calls = bench_list_and_get(context, raw, reps)

            doc = build_export(import_count)
            realnet_times: list[float] = []
            raw_times: list[float] = []
            for n in range(1, repeat + 1):  # alternate, so drift hits both sides alike
                realnet_times.append(time_import(context, doc, f"/import{n}"))
                raw_times.append(time_raw_copy(url, doc))
            after_import = context.provider.count_subtree("/") + 1
        finally:
            context.provider.close()
        settle(conninfo)

        runs: dict[tuple[str, int], list[float]] = {}
        for _ in range(rounds):  # interleaved rounds; the best of each is kept
            for count in (1, clients):
                for mode in ("realnet", "raw"):
                    runs.setdefault((mode, count), []).append(throughput(conninfo, mode, count, window))
        rates = {key: max(values) for key, values in runs.items()}

    print(f"\n1. first page of {PAGE} in {big:,} children, median of {reps} calls (µs)")
    print(f"  {'realnet':>10}  {'raw psycopg':>12}  {'ratio':>6}  {'raw + empty query':>18}")
    for what in ("list", "get"):
        if what == "get":
            print(f"\n2. provider.get of a depth-{DEPTH} path, median of {reps} calls (µs)")
            print(f"  {'realnet':>10}  {'raw psycopg':>12}  {'ratio':>6}  {'raw + empty query':>18}")
        ours, base, checked = (medians[f"{what} {k}"] for k in ("realnet", "raw", "raw+check"))
        print(f"  {ours:8.1f}µs  {base:10.1f}µs  {ours / base:5.2f}×  {checked:16.1f}µs")
    list_ratio = medians["list realnet"] / medians["list raw"]
    get_ratio = medians["get realnet"] / medians["get raw"]
    statements = [q for q in get_calls if q]
    print(f"  one get = {len(get_calls)} execute call(s), {len(statements)} SQL statement(s): "
          f"{describe(get_calls)}")
    print(f"  one list = {len(list_calls)} execute call(s): {describe(list_calls)}")
    print(f"target: first page ≤ {TARGET_LIST:.0f}× raw — {verdict(list_ratio <= TARGET_LIST)} "
          f"({list_ratio:.2f}×)")
    print(f"target: depth-{DEPTH} get ≤ {TARGET_GET:.0f}× raw — {verdict(get_ratio <= TARGET_GET)} "
          f"({get_ratio:.2f}×); one SQL statement — {verdict(len(statements) == 1)}")

    items = len(doc["items"])
    ours, base = statistics.median(realnet_times), statistics.median(raw_times)
    print(f"\n3. import of {items:,} items (1 Folder + {import_count:,} Documents) into the "
          f"{stored:,}-item store, median of {repeat} run(s) (store now {after_import:,} items)")
    print(f"  realnet import_tree   {ours:7.3f} s  {items / ours:>10,.0f} items/s"
          f"  (runs: {', '.join(f'{t:.3f}' for t in realnet_times)})")
    print(f"  raw psycopg COPY      {base:7.3f} s  {items / base:>10,.0f} items/s"
          f"  (runs: {', '.join(f'{t:.3f}' for t in raw_times)}; into an empty table)")
    import_ratio = base / ours
    print(f"ratio realnet ÷ raw (items/s): {import_ratio:.2f} — target ≥ {TARGET_IMPORT:.2f} "
          f"{verdict(import_ratio >= TARGET_IMPORT)}")

    print(f"\n4. first page of {BIG} by concurrent client processes, {window:g} s window, best of "
          f"{rounds} run(s) ({os.cpu_count()} CPUs, server on the same machine)")
    print(f"  {'clients':>7}  {'realnet':>12}  {'raw psycopg':>12}  {'realnet ÷ raw':>13}  "
          "runs: realnet / raw")
    for count in (1, clients):
        ours, base = rates["realnet", count], rates["raw", count]
        each = " / ".join(", ".join(f"{r:,.0f}" for r in runs[mode, count]) for mode in ("realnet", "raw"))
        print(f"  {count:>7}  {ours:>8,.0f} p/s  {base:>8,.0f} p/s  {ours / base:12.2f}×  {each}")
    scaling = rates["realnet", clients] / rates["realnet", 1]
    raw_scaling = rates["raw", clients] / rates["raw", 1]
    print(f"ratio {clients} ÷ 1 clients (pages/s): realnet {scaling:.2f}×, raw {raw_scaling:.2f}×")
    print(f"target: realnet {clients} ÷ 1 clients ≥ {TARGET_SCALING:.1f}× — "
          f"{verdict(scaling >= TARGET_SCALING)} ({scaling:.2f}×)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
