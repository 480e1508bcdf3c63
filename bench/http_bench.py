"""HTTP API: requests/s and latency of ``realnet server`` against a bare Starlette endpoint.

Prepares a store in a temporary ``REALNET_HOME`` with the CLI — ``realnet import`` of a
generated export (the Folder ``/bench`` with 1,000 Documents), a service account
``bench`` granted read on ``/bench`` (``--admin``: the administrator instead) and an
API token for it (``realnet token create … -o json``) — then starts ``realnet server``
(uvicorn, 1 worker) on a free port of 127.0.0.1 and waits for ``GET /readyz``.

Two cases, each answered once first to capture the body:

1. ``GET /api/v1/items/bench/d0000001`` — one item;
2. ``GET /api/v1/items/bench?children&limit=100`` — the first page of 100 children.

Realnet answers repeated reads from its cache of answers (``REALNET_SERVER_CACHE_MB``,
kept until the store changes); a second ``realnet server`` on the same store with the
cache off (``uncached``) shows what building every answer from the store costs.

Baseline, measured in the same run: a bare Starlette app (``bench/_bare_app.py``) with
one route returning exactly the captured bytes as ``application/json``, served the same
way (uvicorn, 1 worker, same host, access log off, ``log_config=None``), one server per
case. The load comes from a second process (this script with ``--load-generator``):
keep-alive HTTP/1.1 connections on asyncio streams, each sending the same request (with
the same ``Authorization`` header to both servers) as soon as the previous answer is
read, a warm-up and then a window of seconds. Printed for each case and server:
requests/s, p50 and p99 latency, the server's and the client's CPU use, the server's
CPU time per request, and the ratio realnet ÷ bare of requests/s. Runs alternate
realnet and bare, and the best of ``--rounds`` runs is kept. Target: ≥ 0.60.

Any answer other than 200 is an error: errors are printed and the script exits 1.
Nothing fails on a slow figure: the target is printed as met / NOT met.

    python bench/http_bench.py [--children N] [--connections C] [--duration S] [--warmup S]
                               [--rounds N] [--admin] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import importlib.util
import json
import math
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
HOST = "127.0.0.1"
FOLDER = "/bench"
ITEM = f"{FOLDER}/d0000001"
PAGE = 100
ACCOUNT = "bench"
TARGET = 0.60
READY_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
CREATED = "2024-01-02T03:04:05.000000Z"
UPDATED = "2024-06-07T08:09:10.000000Z"
BODY = ("A document of the HTTP benchmark, long enough to look like a real note: "
        "a line or two of text.")


# -- load generator (runs in its own process; standard library only) ---------------
def _parse_head(head: bytes) -> tuple[int, int | None, bool, bool]:
    """Status, Content-Length (None if absent), chunked?, connection close? of a response head."""
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    length, chunked, close = None, False, lines[0].startswith(b"HTTP/1.0")
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding":
            chunked = b"chunked" in value.lower()
        elif name == b"connection":
            close = b"close" in value.lower()
    return status, length, chunked, close


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    parts = []
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";", 1)[0], 16)
        if size == 0:
            while await reader.readuntil(b"\r\n") != b"\r\n":  # trailers
                pass
            return b"".join(parts)
        parts.append(await reader.readexactly(size))
        await reader.readexactly(2)


async def _connection(port: int, request: bytes, measure_from: float, end: float,
                      latencies: list[float], tally: dict[str, Any]) -> None:
    """Send ``request`` over one keep-alive connection until ``end``; a new connection after
    a close or a failure. Latencies of the answers sent and received within the window."""
    clock = time.perf_counter
    writer: asyncio.StreamWriter | None = None
    reader: asyncio.StreamReader | None = None
    while clock() < end:
        start = clock()
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection(HOST, port)
            assert reader is not None
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status, length, chunked, close = _parse_head(head)
            if chunked:
                body = await _read_chunked(reader)
            elif length is None:
                body, close = await reader.read(), True
            else:
                body = await reader.readexactly(length)
        except (OSError, EOFError, asyncio.IncompleteReadError, asyncio.LimitOverrunError,
                ValueError, IndexError) as e:
            tally["errors"] += 1
            if len(tally["samples"]) < 5:
                tally["samples"].append(f"{type(e).__name__}: {e}")
            if writer is not None:
                writer.close()
            writer = reader = None
            await asyncio.sleep(0.01)
            continue
        done = clock()
        tally["total"] += 1
        if status != 200:
            tally["errors"] += 1
            if len(tally["samples"]) < 5:
                tally["samples"].append(f"HTTP {status}: {body[:200].decode(errors='replace')}")
        elif start >= measure_from and done <= end:
            latencies.append(done - start)
            tally["bytes"] += len(body)
        if close:
            writer.close()
            writer = reader = None
    if writer is not None:
        writer.close()


def _percentile(ordered: list[float], q: float) -> float:
    """Nearest-rank percentile of sorted values (0.0 when there are none)."""
    if not ordered:
        return 0.0
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


async def _generate(spec: dict[str, Any]) -> dict[str, Any]:
    headers = "".join(f"{k}: {v}\r\n" for k, v in spec["headers"].items())
    request = (f"GET {spec['target']} HTTP/1.1\r\nHost: {HOST}:{spec['port']}\r\n{headers}\r\n").encode()
    latencies: list[float] = []
    tally: dict[str, Any] = {"errors": 0, "total": 0, "bytes": 0, "samples": []}
    start = time.perf_counter()
    measure_from = start + spec["warmup"]
    end = measure_from + spec["duration"]
    cpu = resource.getrusage(resource.RUSAGE_SELF)
    tasks = [asyncio.create_task(_connection(spec["port"], request, measure_from, end, latencies, tally))
             for _ in range(spec["connections"])]
    _, pending = await asyncio.wait(tasks, timeout=end - start + 30)
    for task in pending:  # a server that stopped answering
        task.cancel()
        tally["errors"] += 1
        tally["samples"].append("no answer within 30 s of the window's end")
    for task in tasks:
        if task.done() and not task.cancelled() and task.exception() is not None:
            raise task.exception()  # type: ignore[misc]
    used = resource.getrusage(resource.RUSAGE_SELF)
    wall = time.perf_counter() - start
    latencies.sort()
    count = len(latencies)
    return {
        "count": count, "errors": tally["errors"], "error_samples": tally["samples"],
        "total": tally["total"], "rps": count / spec["duration"],
        "p50": _percentile(latencies, 0.50), "p99": _percentile(latencies, 0.99),
        "mean_bytes": tally["bytes"] / count if count else 0,
        "client_cpu": (used.ru_utime - cpu.ru_utime + used.ru_stime - cpu.ru_stime) / wall,
    }


def load_generator() -> int:
    """``--load-generator``: read a spec as JSON on stdin, print the figures as JSON."""
    spec = json.loads(sys.stdin.read())
    print(json.dumps(asyncio.run(_generate(spec))))
    return 0


# -- processes -------------------------------------------------------------------
def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def clean_environment(home: Path, port: int) -> dict[str, str]:
    """The current environment without any REALNET_* setting, plus home, host and port."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("REALNET_")}
    env.update(REALNET_HOME=str(home), REALNET_SERVER_HOST=HOST, REALNET_SERVER_PORT=str(port))
    return env


def cli(env: dict[str, str], cwd: Path, *args: str) -> str:
    """``python -m realnet ARGS`` in the bench's store; its stdout, or exit with its stderr."""
    argv = [sys.executable, "-m", "realnet", *args]
    done = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, timeout=120, check=False)
    if done.returncode != 0:
        raise SystemExit(f"realnet {' '.join(args)} exited with {done.returncode}:\n{done.stderr}")
    return done.stdout


def export_document(children: int) -> dict[str, Any]:
    items: list[dict[str, Any]] = [{"path": ".", "type": "Folder", "owner": "admin",
                                    "created": CREATED, "updated": UPDATED, "attributes": {}}]
    items.extend(
        {"path": f"d{n:07d}", "type": "Document", "owner": "admin", "created": CREATED,
         "updated": UPDATED, "attributes": {"title": f"Document number {n}", "body": BODY}}
        for n in range(1, children + 1)
    )
    return {"format": "realnet-export", "version": 1, "root": FOLDER, "items": items}


def prepare_store(env: dict[str, str], tmp: Path, children: int, admin: bool) -> tuple[str, str]:
    """Fill the store through the CLI; returns the token and who it belongs to."""
    export = tmp / "export.json"
    export.write_text(json.dumps(export_document(children)))
    cli(env, tmp, "import", str(export), FOLDER)
    account = "admin"
    if not admin:
        account = ACCOUNT
        cli(env, tmp, "user", "add", account, "--service")
        cli(env, tmp, "acl", "grant", FOLDER, f"user:{account}", "read")
    issued = json.loads(cli(env, tmp, "token", "create", account, "--name", "http-bench", "-o", "json"))
    return issued["token"], account


OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: never a proxy


def fetch(url: str, headers: dict[str, str]) -> tuple[int, bytes]:
    try:
        request = urllib.request.Request(url, headers=headers)  # noqa: S310 - http://127.0.0.1 only
        with OPENER.open(request, timeout=10) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def proc_cpu(pid: int) -> float | None:
    """CPU seconds (user + system) of a process and its descendants so far; None off Linux."""
    try:
        tick = os.sysconf("SC_CLK_TCK")
        stats: dict[int, tuple[int, float]] = {}
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                with contextlib.suppress(OSError):
                    fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
                    stats[int(entry)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / tick)
    except (OSError, ValueError):
        return None
    if pid not in stats:
        return None
    family, total, grew = {pid}, 0.0, True
    while grew:
        grew = False
        for child, (parent, _) in stats.items():
            if parent in family and child not in family:
                family.add(child)
                grew = True
    for member in family:
        total += stats[member][1]
    return total


def stop(process: subprocess.Popen) -> None:
    """SIGTERM, then SIGKILL after STOP_TIMEOUT seconds."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=STOP_TIMEOUT)


@dataclasses.dataclass
class Server:
    name: str
    process: subprocess.Popen
    port: int
    log: Path

    def check_alive(self) -> None:
        if self.process.poll() is not None:
            raise SystemExit(f"{self.name} exited with {self.process.returncode}:\n"
                             f"{self.log.read_text(errors='replace')[-5000:]}")


@contextlib.contextmanager
def server(name: str, argv: list[str], env: dict[str, str], cwd: Path, port: int, ready_path: str,
           headers: dict[str, str]) -> Iterator[Server]:
    """A server process, ready (``ready_path`` answers 200), stopped by its PID afterwards."""
    log_path = cwd / f"{name.replace(' ', '-')}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(argv, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT)
        served = Server(name, process, port, log_path)
        try:
            deadline = time.monotonic() + READY_TIMEOUT
            while True:
                served.check_alive()
                with contextlib.suppress(OSError):
                    if fetch(f"http://{HOST}:{port}{ready_path}", headers)[0] == 200:
                        break
                if time.monotonic() > deadline:
                    raise SystemExit(f"{name} not ready (GET {ready_path}) within {READY_TIMEOUT:g} s:\n"
                                     f"{log_path.read_text(errors='replace')[-5000:]}")
                time.sleep(0.05)
            yield served
        finally:
            stop(process)


def run_load(served: Server, target: str, headers: dict[str, str], connections: int, warmup: float,
             duration: float) -> dict[str, Any]:
    """One run of the load generator process against a server; its figures plus server CPU."""
    served.check_alive()
    spec = {"port": served.port, "target": target, "headers": headers, "connections": connections,
            "warmup": warmup, "duration": duration}
    before, start = proc_cpu(served.process.pid), time.perf_counter()
    done = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--load-generator"],
                          input=json.dumps(spec), capture_output=True, text=True,
                          timeout=warmup + duration + 120, check=False)
    after, wall = proc_cpu(served.process.pid), time.perf_counter() - start
    served.check_alive()
    if done.returncode != 0:
        raise SystemExit(f"the load generator failed against {served.name}:\n{done.stderr}")
    figures = json.loads(done.stdout)
    used = after - before if before is not None and after is not None else None
    figures["server_cpu"] = used / wall if used is not None else None
    figures["cpu_per_request"] = used / figures["total"] if used is not None and figures["total"] else None
    return figures


# -- main ------------------------------------------------------------------------
def verdict(met: bool) -> str:
    return "met" if met else "NOT met"


def version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "?"


def row(label: str, f: dict[str, Any]) -> str:
    server_cpu = f"{f['server_cpu']:>6.0%}" if f["server_cpu"] is not None else f"{'?':>6}"
    per_request = f"{f['cpu_per_request'] * 1e6:>9,.0f}" if f["cpu_per_request"] is not None else f"{'?':>9}"
    return (f"  {label:<8} {f['rps']:>9,.0f} {f['p50'] * 1e3:>8.2f} {f['p99'] * 1e3:>8.2f} "
            f"{server_cpu} {per_request} {f['client_cpu']:>7.0%} {f['errors']:>7}")


def main(argv: Sequence[str] | None = None) -> int:
    args_in = list(sys.argv[1:] if argv is None else argv)
    if args_in == ["--load-generator"]:
        return load_generator()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--children", type=int, help="Documents in /bench (default 1,000, quick 200)")
    parser.add_argument("--connections", type=int, help="keep-alive connections (default 16, quick 4)")
    parser.add_argument("--duration", type=float, help="seconds measured per run (default 5, quick 0.5)")
    parser.add_argument("--warmup", type=float, help="seconds of warm-up per run (default 1, quick 0.2)")
    parser.add_argument("--rounds", type=int, help="runs of each figure, best kept (default 3, quick 1)")
    parser.add_argument("--admin", action="store_true",
                        help="the administrator's token, not a service account's")
    parser.add_argument("--quick", action="store_true", help="200 children, 4 connections, short runs")
    args = parser.parse_args(args_in)
    quick = args.quick
    children = max(PAGE + 1, min(args.children or (200 if quick else 1_000), 1_000_000))
    connections = max(1, min(args.connections or (4 if quick else 16), 1_000))
    duration = max(0.1, min(args.duration or (0.5 if quick else 5.0), 600.0))
    warmup = max(0.0, min(args.warmup if args.warmup is not None else (0.2 if quick else 1.0), 60.0))
    rounds = max(1, min(args.rounds or (1 if quick else 3), 10))

    cases = [
        ("item", f"GET one item ({ITEM})", "/api/v1/items" + ITEM),
        ("page", f"GET the first page of {PAGE} of {children:,} children ({FOLDER})",
         f"/api/v1/items{FOLDER}?children&limit={PAGE}"),
    ]
    tmp = Path(tempfile.mkdtemp(prefix="realnet-http-bench-"))
    try:
        home = tmp / "home"
        home.mkdir()
        port = free_port()
        env = clean_environment(home, port)
        start = time.perf_counter()
        token, account = prepare_store(env, tmp, children, args.admin)
        prepared = time.perf_counter() - start
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json",
                   "User-Agent": "realnet-http-bench"}
        base = f"http://{HOST}:{port}"
        realnet_argv = [sys.executable, "-m", "realnet", "server"]
        uncached_port = free_port()
        uncached_env = {**env, "REALNET_SERVER_PORT": str(uncached_port), "REALNET_SERVER_CACHE_MB": "0"}
        with server("realnet server", realnet_argv, env, tmp, port, "/readyz", {}) as realnet, \
                server("realnet server (no cache)", realnet_argv, uncached_env, tmp, uncached_port,
                       "/readyz", {}) as uncached:
            bodies: dict[str, bytes] = {}
            for key, _, target in cases:
                status, body = fetch(base + target, headers)
                if status != 200:
                    raise SystemExit(f"realnet answered GET {target} with {status}: {body[:500]!r}")
                bodies[key] = body
                (tmp / f"{key}.json").write_bytes(body)
            page = json.loads(bodies["page"])
            if len(page.get("items", ())) != PAGE or not page.get("next_cursor"):
                raise SystemExit(f"the first page holds {len(page.get('items', ()))} items "
                                 f"(expected {PAGE}) and next_cursor {page.get('next_cursor')!r}")
            if json.loads(bodies["item"]).get("path") != ITEM:
                raise SystemExit(f"GET {ITEM} answered {bodies['item'][:500]!r}")

            bare_env = {k: v for k, v in os.environ.items() if not k.startswith("REALNET_")}
            with contextlib.ExitStack() as stack:
                bare: dict[str, Server] = {}
                for key, _, target in cases:
                    bare_port = free_port()
                    argv_bare = [sys.executable, str(BENCH / "_bare_app.py"), str(tmp / f"{key}.json"),
                                 str(bare_port)]
                    bare[key] = stack.enter_context(server(f"bare app ({key})", argv_bare, bare_env, tmp,
                                                           bare_port, target, headers))
                    status, body = fetch(f"http://{HOST}:{bare_port}{target}", headers)
                    if status != 200 or body != bodies[key]:
                        raise SystemExit(f"the bare app ({key}) does not serve the captured body")
                floor_port = free_port()
                floor = stack.enter_context(server(
                    "bare app with sqlite3", [sys.executable, str(BENCH / "_bare_app.py"), "--sqlite",
                                              str(home / "realnet.db"), str(floor_port)],
                    bare_env, tmp, floor_port, cases[0][2], headers))

                runs: dict[tuple[str, str], list[dict[str, Any]]] = {}
                for n in range(rounds):  # alternate which side goes first, so drift hits both alike
                    for key, _, target in cases:
                        sides = [("realnet", realnet), ("bare", bare[key]), ("floor", floor),
                                 ("uncached", uncached)]
                        for side, served in sides[::-1] if n % 2 else sides:
                            runs.setdefault((key, side), []).append(
                                run_load(served, target, headers, connections, warmup, duration))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    loop = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    http = "httptools" if importlib.util.find_spec("httptools") else "h11"
    who = "the administrator" if account == "admin" else f"service account '{account}' (read on {FOLDER})"
    print(f"store: {FOLDER} with {children:,} Documents (embedded SQLite), made with the CLI in "
          f"{prepared:.1f} s; token of {who}")
    print(f"servers on {HOST}: `python -m realnet server` and bare Starlette {version('starlette')} "
          f"serving the captured bytes; uvicorn {version('uvicorn')}, 1 worker, access log off "
          f"(auto picks loop {loop}, http {http})")
    print(f"load: 1 client process, {connections} keep-alive HTTP/1.1 connections, {warmup:g} s warm-up "
          f"+ {duration:g} s window per run, best of {rounds} run(s); {os.cpu_count()} CPUs shared "
          "by client and servers")

    errors = 0
    ratios = {}
    for number, (key, title, _) in enumerate(cases, 1):
        print(f"\n{number}. {title}: {len(bodies[key]):,} bytes")
        print(f"  {'':<8} {'rps':>9} {'p50 ms':>8} {'p99 ms':>8} {'server':>6} {'µs CPU/r':>9} "
              f"{'client':>7} {'errors':>7}")
        best = {}
        for side in ("realnet", "uncached", "bare", "floor"):
            chosen = runs[key, side]
            errors += sum(f["errors"] for f in chosen)
            best[side] = max(chosen, key=lambda f: f["rps"])
            print(row(side, best[side]))
            if rounds > 1:
                each = ", ".join(f"{f['rps']:,.0f}" for f in chosen)
                print(f"  {'':<8} runs: {each} rps")
            for f in chosen:
                for sample in f["error_samples"]:
                    print(f"  {side} error: {sample}")
        ratios[key] = best["realnet"]["rps"] / best["bare"]["rps"] if best["bare"]["rps"] else 0.0
        print(f"ratio realnet ÷ bare (rps): {ratios[key]:.2f} — target ≥ {TARGET:.2f} "
              f"{verdict(ratios[key] >= TARGET)}")
        if best["floor"]["rps"]:
            print(f"ratio realnet ÷ floor (bare Starlette + one raw sqlite3 query, rps): "
                  f"{best['realnet']['rps'] / best['floor']['rps']:.2f}")
        if best["bare"]["rps"]:
            print(f"ratio uncached ÷ bare (REALNET_SERVER_CACHE_MB=0: every answer built from the "
                  f"store, rps): {best['uncached']['rps'] / best['bare']['rps']:.2f}")
    print(f"\nerrors (answers other than 200, failed connections): {errors}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
