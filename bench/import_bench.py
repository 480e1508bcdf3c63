"""``import`` of 100,000 items.

Measures ``import_tree(context, doc, "/bulk")`` on a fresh store, for an export
document built in memory (one Folder ``.`` and 100,000 Documents with a title):
checking every entry, then inserting all in one transaction.

Baseline, measured in the same run: raw ``sqlite3`` ``executemany`` of the same
rows (id uuid4, parent_id, name, path, depth, type, owner, attributes as JSON text,
version 1, created, updated) into a fresh database with the same schema
(every script in ``SQLITE_MIGRATIONS``) and the pragmas the provider sets (WAL,
synchronous=NORMAL, foreign_keys=ON), in one transaction. The rows are built
before the clock starts. Prints items/s for both and the ratio Realnet/raw
(target ≥ 0.30).

Also: reading the same document as a JSON export file the way ``realnet import``
does (``read_document``) beside a plain ``json.loads(Path.read_text())``.

    python bench/import_bench.py [--items N] [--repeat N] [--quick]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from realnet.app import open_context
from realnet.commands.admin import read_document
from realnet.config import load_settings
from realnet.core.transfer import FORMAT, VERSION, import_tree
from realnet.providers.sql.schema import SQLITE_MIGRATIONS

TARGET_RATIO = 0.30
ROOT = "/bulk"
CREATED = "2024-01-02T03:04:05.000000Z"
UPDATED = "2024-06-07T08:09:10.000000Z"
INSERT = (
    "INSERT INTO items (id, parent_id, name, path, depth, type, owner, attributes, "
    "version, created, updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?)"
)


def build_document(count: int) -> dict[str, Any]:
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
    return {"format": FORMAT, "version": VERSION, "root": ROOT, "items": items}


def build_rows(doc: dict[str, Any], root_id: str) -> list[tuple]:
    """The rows the provider would insert for ``doc`` at ROOT, values and all."""
    rows: list[tuple] = []
    folder_id = str(uuid.uuid4())
    for entry in doc["items"]:
        if entry["path"] == ".":
            item_id, parent_id, path = folder_id, root_id, ROOT
        else:
            item_id, parent_id, path = str(uuid.uuid4()), folder_id, f"{ROOT}/{entry['path']}"
        rows.append((
            item_id, parent_id, path.rsplit("/", 1)[1], path, path.count("/"), entry["type"],
            entry["owner"],
            json.dumps(entry["attributes"], ensure_ascii=False, separators=(",", ":")),
            entry["created"], entry["updated"],
        ))
    return rows


def open_raw_store(db_path: Path) -> tuple[sqlite3.Connection, str]:
    """A fresh database with the provider's schema and pragmas, holding a root item."""
    conn = sqlite3.connect(db_path, isolation_level=None)
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("BEGIN IMMEDIATE")
    for statement in ";".join(SQLITE_MIGRATIONS).split(";"):
        if statement.strip():
            conn.execute(statement)
    root_id = str(uuid.uuid4())
    conn.execute(INSERT, (root_id, None, "", "/", 0, "Folder", "admin", "{}", CREATED, UPDATED))
    conn.execute("COMMIT")
    conn.execute("PRAGMA journal_mode = WAL")
    return conn, root_id


def time_realnet(doc: dict[str, Any], workdir: Path) -> float:
    """Seconds for import_tree into a fresh, already initialised store."""
    home = workdir / f"realnet-{uuid.uuid4().hex[:8]}"
    context = open_context(load_settings({"REALNET_HOME": str(home)}, cwd=workdir))
    try:
        context.types  # noqa: B018 - load the type registry before the clock starts
        start = time.perf_counter()
        _, count = import_tree(context, doc, ROOT)
        elapsed = time.perf_counter() - start
        if count != len(doc["items"]) or context.provider.count_subtree(ROOT) != count - 1:
            raise SystemExit(f"realnet imported {count} items, expected {len(doc['items'])}")
    finally:
        context.provider.close()
        shutil.rmtree(home, ignore_errors=True)
    return elapsed


def time_raw(doc: dict[str, Any], workdir: Path) -> float:
    """Seconds for one executemany of the same rows into a fresh raw database."""
    db_path = workdir / f"raw-{uuid.uuid4().hex[:8]}.db"
    conn, root_id = open_raw_store(db_path)
    try:
        rows = build_rows(doc, root_id)
        start = time.perf_counter()
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(INSERT, rows)
        conn.execute("COMMIT")
        elapsed = time.perf_counter() - start
        stored = conn.execute("SELECT count(*) FROM items").fetchone()[0]
        if stored != len(rows) + 1:
            raise SystemExit(f"raw sqlite3 stored {stored - 1} items, expected {len(rows)}")
    finally:
        conn.close()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db_path}{suffix}").unlink(missing_ok=True)
    return elapsed


def time_read(doc: dict[str, Any], workdir: Path) -> tuple[float, float, int]:
    """Best seconds to read the document from a JSON file: the CLI's way, and json.loads."""
    file = workdir / "export.json"
    file.write_text(json.dumps(doc, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    size = file.stat().st_size
    cli: list[float] = []
    base: list[float] = []
    try:
        for _ in range(3):  # alternate; keep the best of three of each
            # Drop each result before the next read: a live 100k-item document makes
            # the garbage collector's passes during the next read slower.
            start = time.perf_counter()
            read = len(read_document(str(file))["items"])
            cli.append(time.perf_counter() - start)
            start = time.perf_counter()
            plain = len(json.loads(file.read_text(encoding="utf-8"))["items"])
            base.append(time.perf_counter() - start)
            if read != plain:
                raise SystemExit("the CLI read a different document")
    finally:
        file.unlink(missing_ok=True)
    return min(cli), min(base), size


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, help="Documents to import (default 100,000)")
    parser.add_argument("--repeat", type=int, help="runs of each side (default 3, quick 1)")
    parser.add_argument("--quick", action="store_true", help="5,000 items, one run each")
    args = parser.parse_args(argv)
    count = max(1, min(args.items or (5_000 if args.quick else 100_000), 1_000_000))
    repeat = max(1, min(args.repeat or (1 if args.quick else 3), 20))

    doc = build_document(count)
    total = len(doc["items"])
    workdir = Path(tempfile.mkdtemp(prefix="realnet-bench-import-", dir="/tmp"))
    try:
        realnet_times: list[float] = []
        raw_times: list[float] = []
        for _ in range(repeat):  # alternate, so drift hits both sides alike
            realnet_times.append(time_realnet(doc, workdir))
            raw_times.append(time_raw(doc, workdir))
        cli_read, plain_read, size = time_read(doc, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    ours = statistics.median(realnet_times)
    base = statistics.median(raw_times)
    print(f"import: {total:,} items (1 Folder + {count:,} Documents), median of {repeat} run(s)")
    print(f"  realnet import_tree   {ours:7.3f} s  {total / ours:>10,.0f} items/s"
          f"  (runs: {', '.join(f'{t:.3f}' for t in realnet_times)})")
    print(f"  raw sqlite3 insert    {base:7.3f} s  {total / base:>10,.0f} items/s"
          f"  (runs: {', '.join(f'{t:.3f}' for t in raw_times)})")
    ratio = base / ours
    verdict = "met" if ratio >= TARGET_RATIO else "NOT met"
    print(f"ratio realnet ÷ raw (items/s): {ratio:.2f} — target ≥ {TARGET_RATIO:.2f} {verdict}")
    print(f"read {size / 1e6:.1f} MB JSON export (best of 3): CLI read_document "
          f"{cli_read:.3f} s, plain json.loads {plain_read:.3f} s ({cli_read / plain_read:.2f}×)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
