"""What permission checks cost on the embedded store: ``ls`` as a non-admin, and tokens.

(1) ``context.list("/a/b/c/big", limit=100)`` — the call ``realnet ls`` makes — in a
folder of 10,000 Documents, as the account ``reader`` whose read permission comes
from a grant on ``/a``, three levels up, against the very same listing by the
administrator (the baseline, interleaved call by call): the first page, the first
page of a new command (``context.refresh()`` first, as the shell does before each
command: groups and ACL entries are read again), and the whole folder page by page
as ``ls --all`` does (100 calls of 100). The store also holds ``--accounts``
accounts, each with a home folder that carries an ACL entry, as a real store does:
the checks look at every ACL entry. Target: reader ÷ admin ≤ 1.5×.

(2) ``Directory(context).check_token(token)`` for a valid token, median time (target
< 1 ms), beside the baseline of one plain ``sqlite3`` lookup of an item by path on
the same file (``SELECT <columns> FROM items WHERE path = ?``, ``fetchone()``), and —
for information — the first check of a token in a minute, which records ``last_used``.

    python bench/access_bench.py [--children N] [--accounts N] [--reps N] [--quick]
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from realnet.app import open_context
from realnet.config import load_settings
from realnet.core.context import Context
from realnet.core.item import ItemDraft
from realnet.providers.sql.sqlite import COLUMNS
from realnet.resources.accounts import Directory, grant
from realnet.security.tokens import digest

TARGET_RATIO = 1.5
TARGET_TOKEN_MS = 1.0
PAGE = 100
FOLDER = "/a/b/c/big"
READER = "reader"
RAW_BY_PATH = f"SELECT {COLUMNS} FROM items WHERE path = ?"  # noqa: S608 - a constant column list


def fill(context: Context, children: int, accounts: int) -> None:
    """``FOLDER`` with ``children`` Documents, ``accounts`` other accounts with their homes,
    and ``reader`` with read on ``/a``."""
    context.create(FOLDER, "Folder", parents=True)
    context.provider.insert_many(
        ItemDraft(path=f"{FOLDER}/d{n:07d}", type="Document", owner="admin",
                  attributes={"title": f"Document number {n}"})
        for n in range(1, children + 1)
    )

    def others() -> Iterator[ItemDraft]:
        for n in range(accounts):
            name = f"user{n:05d}"
            yield ItemDraft(path=f"/system/accounts/{name}", type="Account", owner="admin",
                            attributes={"kind": "person", "disabled": False})
            yield ItemDraft(path=f"/home/{name}", type="Folder", owner="admin",
                            acl=({"principal": f"user:{name}",
                                  "permissions": ["read", "write", "create", "delete", "admin"]},))

    context.provider.insert_many(others())
    Directory(context).add_user(READER, password=None)
    grant(context, "/a", f"user:{READER}", ("read",))


def whole_folder(context: Context) -> int:
    """Every page of ``FOLDER``, as ``ls --all`` fetches them."""
    count, cursor = 0, None
    while True:
        page = context.list(FOLDER, limit=PAGE, cursor=cursor)
        count += len(page.items)
        cursor = page.next_cursor
        if cursor is None:
            return count


def fresh_first_page(context: Context) -> object:
    context.refresh()
    return context.list(FOLDER, limit=PAGE)


def interleaved_medians(calls: dict[str, Callable[[], object]], reps: int) -> dict[str, float]:
    """Median µs of each call over ``reps`` rounds, each round in a rotated order."""
    labels = list(calls)
    samples: dict[str, list[int]] = {label: [] for label in labels}
    for _ in range(3):  # warm the page cache and the statement caches
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


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--children", type=int, help="Documents in the listed folder (default 10,000)")
    parser.add_argument("--accounts", type=int, help="other accounts, each with a home ACL (default 1,000)")
    parser.add_argument("--reps", type=int, help="calls per single-page figure (default 500, quick 30)")
    parser.add_argument("--quick", action="store_true",
                        help="2,000 children, 100 accounts, 30 calls (3 whole listings)")
    args = parser.parse_args(argv)
    children = max(PAGE + 1, args.children or (2_000 if args.quick else 10_000))
    accounts = max(0, args.accounts if args.accounts is not None else (100 if args.quick else 1_000))
    reps = max(1, min(args.reps or (30 if args.quick else 500), 10_000))
    whole_reps = max(3, reps // 25)
    fresh_tokens = 30 if args.quick else 200

    home = Path(tempfile.mkdtemp(prefix="realnet-bench-access-", dir="/tmp"))
    try:
        admin = open_context(load_settings({"REALNET_HOME": str(home)}, cwd=home))
        start = time.perf_counter()
        fill(admin, children, accounts)
        built = time.perf_counter() - start
        reader = open_context(load_settings({"REALNET_HOME": str(home)}, cwd=home), principal=READER)
        acl_count = len(admin.provider.acl_entries())
        try:
            # The two listings must be the same before their times mean anything.
            if [i.path for i in reader.list(FOLDER, limit=PAGE).items] != \
                    [i.path for i in admin.list(FOLDER, limit=PAGE).items]:
                raise SystemExit("reader and admin disagree on the first page")
            if whole_folder(reader) != children or whole_folder(admin) != children:
                raise SystemExit(f"a whole listing did not return {children:,} items")
            if reader.guard.is_admin or "read" not in reader.guard.permissions(reader.get(FOLDER)):
                raise SystemExit("reader should read the folder through the grant on /a, as a non-admin")

            page = interleaved_medians({
                "reader 1": lambda: reader.list(FOLDER, limit=PAGE),
                "admin 1": lambda: admin.list(FOLDER, limit=PAGE),
                "reader fresh": lambda: fresh_first_page(reader),
                "admin fresh": lambda: fresh_first_page(admin),
            }, reps)
            whole = interleaved_medians({
                "reader all": lambda: whole_folder(reader),
                "admin all": lambda: whole_folder(admin),
            }, whole_reps)

            directory = Directory(admin)
            issued = directory.create_token(READER, "bench", expires="30d")
            if directory.check_token(issued.token) != READER:
                raise SystemExit("the token does not act as reader")
            raw = sqlite3.connect(admin.provider.db_path)  # type: ignore[attr-defined]
            token_path = f"/system/tokens/{digest(issued.token)}"
            try:
                if raw.execute(RAW_BY_PATH, (token_path,)).fetchone() is None:
                    raise SystemExit("raw sqlite3 does not find the token item")
                token = interleaved_medians({
                    "check": lambda: directory.check_token(issued.token),
                    "raw": lambda: raw.execute(RAW_BY_PATH, (token_path,)).fetchone(),
                }, reps * 4)
            finally:
                raw.close()
            # The first check of each token records last_used: one write.
            tokens = [directory.create_token(READER, f"fresh{n}", expires="30d").token
                      for n in range(fresh_tokens)]
            first_checks = []
            for value in tokens:
                began = time.perf_counter_ns()
                directory.check_token(value)
                first_checks.append(time.perf_counter_ns() - began)
            first_check = statistics.median(first_checks) / 1000
        finally:
            reader.provider.close()
            admin.provider.close()
    finally:
        shutil.rmtree(home, ignore_errors=True)

    print(f"access: ls {FOLDER} ({children:,} Documents) as '{READER}' (read granted on /a) vs admin; "
          f"{accounts:,} other accounts, {acl_count:,} ACL entries in the store "
          f"(built in {built:.1f} s)")
    print(f"  {'listing':<34}  {'reader':>10}  {'admin':>10}  {'ratio':>6}")
    rows = [
        (f"first page of {PAGE} (median of {reps})", page["reader 1"], page["admin 1"]),
        (f"first page, new command ({reps})", page["reader fresh"], page["admin fresh"]),
        (f"all {children:,}, {-(-children // PAGE)} calls ({whole_reps})",
         whole["reader all"], whole["admin all"]),
    ]
    for label, ours, base in rows:
        unit, scale = ("ms", 1000) if base >= 10_000 else ("µs", 1)
        print(f"  {label:<34}  {ours / scale:8.1f}{unit}  {base / scale:8.1f}{unit}  {ours / base:5.2f}×")
    for label, ours, base in rows:
        ratio = ours / base
        verdict = "met" if ratio <= TARGET_RATIO else "NOT met"
        print(f"target: {label.split(' (')[0]} as reader ≤ {TARGET_RATIO}× admin — {verdict} ({ratio:.2f}×)")

    check, lookup = token["check"], token["raw"]
    print(f"token check: median of {reps * 4} calls")
    print(f"  check_token (valid token)        {check:8.1f}µs")
    print(f"  raw sqlite3 lookup by path       {lookup:8.1f}µs   ratio {check / lookup:.2f}×")
    print(f"  first check in a minute (writes last_used), median of {fresh_tokens}: {first_check:8.1f}µs")
    verdict = "met" if check < TARGET_TOKEN_MS * 1000 else "NOT met"
    print(f"target: check_token < {TARGET_TOKEN_MS:.0f} ms — {verdict} ({check / 1000:.3f} ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
