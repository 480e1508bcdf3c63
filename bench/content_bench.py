"""File content: ``realnet put`` / ``realnet fetch`` of a large file against raw boto3 and a plain copy.

Measures Realnet the way a user runs it: ``python -m realnet put SRC /bench/big.bin`` and
``python -m realnet fetch /bench/big.bin OUT`` as fresh processes, with ``REALNET_HOME`` a
temporary folder and the storage settings in the environment, on two content stores:

1. S3 — a moto server started as a separate process (``python -m moto.server`` on a free
   port of 127.0.0.1, so its CPU is not the benchmark's), the bucket made with boto3
   first, ``REALNET_STORAGE_TYPE=s3`` and ``REALNET_AWS_ENDPOINT_URL`` pointing at it.
   Baseline: boto3's ``upload_file`` / ``download_file`` (default ``TransferConfig``: 8 MiB
   parts, 10 threads) of the same file against the same endpoint and bucket; for the
   download also one streamed ``get_object`` (what Realnet does), since moto answers each
   of ``download_file``'s ranged GETs by copying the whole object.
2. local — the default content folder (``REALNET_STORAGE_TYPE=local``). Baseline:
   ``shutil.copyfile`` of the same file (upload: the source to a new file; download: the
   stored content file to a new file); for the upload also copyfile + ``os.fsync``, since
   ``realnet put`` makes its content durable before recording the item. Also timed, as a
   floor rather than a baseline: a process that only hashes the file with hashlib. A put
   records the SHA-256 and a fetch checks it, so neither can take less than that; the
   report prints the highest ratio to copyfile that this floor leaves possible.

Every baseline runs as a process of the same kind, started the same way, so that both
sides pay for a process start-up: ``bench/_content_baselines.py MODE``, which imports
nothing but what its transfer needs, as a plain copy program would. Each child is
started and reaped (``os.wait4``: its own maximum RSS and CPU
time) by a bare interpreter of a few MB, since Linux hands a parent's peak RSS down to
the children it spawns. Printed for every transfer: wall time, MB/s (1 MB = 10⁶ bytes),
MB/s with the start-up taken out (the wall time of the same command on a 1 KiB file
subtracted, both sides alike), the child's CPU time, the S3 server's CPU time, the
child's maximum RSS and its growth over a process that transfers nothing (``realnet ls
/`` for Realnet, ``_content_baselines.py idle`` for the baseline) and over the 1 KiB
transfer. Then the ratio realnet ÷ baseline of MB/s — target ≥ 0.70 — and Realnet's RSS
growth — target < 64 MB. Runs alternate which side goes first; the best wall time of
``--rounds`` runs and the highest RSS are kept, after one untimed warm-up round (a fresh
VM pays once for the first touch of memory — page cache, moto's buffers — and only the
first run would). Before each timed run ``os.sync()`` flushes what earlier runs left in
the page cache, so that no run pays for another's writes.

Every downloaded file (and every copy) is checked against the source's SHA-256; a
mismatch or a failed command stops the script with exit status 1. Nothing fails on a
slow figure: the targets are printed as met / NOT met.

    python bench/content_bench.py [--size MB] [--rounds N] [--only s3|local] [--no-warmup] [--quick]
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import hashlib
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

HOST = "127.0.0.1"
BUCKET = "realnet-bench"
REGION = "us-east-1"
FOLDER = "/bench"
BIG = f"{FOLDER}/big.bin"
SMALL = f"{FOLDER}/small.bin"
RAW_BIG = "raw/big.bin"
RAW_SMALL = "raw/small.bin"
MB = 1_000_000
SMALL_SIZE = 1024
TARGET_RATIO = 0.70
TARGET_GROWTH_MB = 64
CHILD_TIMEOUT = 600.0
READY_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
REFERENCE_RUNS = 3
MIN_NET = 0.05  # seconds: a transfer time after start-up below this is noise
CREDENTIALS = ("bench", "bench")  # moto takes any


# -- children, measured --------------------------------------------------------------
#: Runs one command and writes "exit wall cpu maxrss own_hwm" to a file. Linux carries a
#: process's peak RSS over fork and exec (and subprocess spawns with vfork, sharing this
#: process's memory until exec), so a child reaped here would report at least this
#: process's own peak. The wrapper is a fresh, bare interpreter (-I -S, a few modules):
#: the peak its children inherit is its own few MB, below any Python program's. It
#: spawns the command, reaps it with wait4 (the command's own CPU time and peak RSS) and
#: times it from spawn to exit; SIGTERM kills the command.
WRAPPER = """
import os, signal, sys, time
result, argv = sys.argv[1], sys.argv[2:]
start = time.perf_counter()
pid = os.posix_spawn(argv[0], argv, os.environ)
signal.signal(signal.SIGTERM, lambda *_: os.kill(pid, signal.SIGKILL))
_, status, usage = os.wait4(pid, 0)
wall = time.perf_counter() - start
with open("/proc/self/status") as f:
    hwm = next((int(line.split()[1]) for line in f if line.startswith("VmHWM:")), 0)
with open(result, "w") as f:
    f.write(f"{os.waitstatus_to_exitcode(status)} {wall!r} {usage.ru_utime + usage.ru_stime!r} "
            f"{usage.ru_maxrss} {hwm}")
"""


@dataclasses.dataclass
class Run:
    wall: float
    cpu: float  # user + system seconds of the child
    rss: int  # maximum resident set, bytes
    server_cpu: float | None = None  # seconds of the S3 server's CPU during the run
    floor: int = 0  # the wrapper's own peak RSS: a child's figure cannot be lower


def run_child(argv: list[str], env: dict[str, str], cwd: Path, server_pid: int | None = None) -> Run:
    """Run one command to its end through WRAPPER: wall time, CPU and max RSS of that very process.

    Output goes to a file (no pipe to drain); a non-zero exit stops the benchmark with it."""
    log, result = cwd / "child.log", cwd / "child.result"
    result.unlink(missing_ok=True)
    before = proc_cpu(server_pid) if server_pid else None
    with log.open("wb") as out:
        process = subprocess.Popen([sys.executable, "-I", "-S", "-c", WRAPPER, str(result), *argv],
                                   env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=out,
                                   stderr=subprocess.STDOUT)
        try:
            process.wait(timeout=CHILD_TIMEOUT)
        except subprocess.TimeoutExpired:
            stop(process)
            raise SystemExit(f"{' '.join(argv)}: no end within {CHILD_TIMEOUT:g} s") from None
        except BaseException:
            stop(process)
            raise
    after = proc_cpu(server_pid) if server_pid else None
    try:
        code, wall, cpu, maxrss, floor = result.read_text().split()
    except (OSError, ValueError):
        raise SystemExit(f"{' '.join(argv)}: the wrapper exited with {process.returncode}:\n"
                         f"{log.read_text(errors='replace')[-5000:]}") from None
    if int(code) != 0:
        raise SystemExit(f"{' '.join(argv)} exited with {code}:\n{log.read_text(errors='replace')[-5000:]}")
    return Run(float(wall), float(cpu), int(maxrss) * 1024,
               after - before if before is not None and after is not None else None, int(floor) * 1024)


def proc_cpu(pid: int) -> float | None:
    """CPU seconds (user + system) of a process so far (all its threads); None off Linux."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def quiet_run(argv: list[str], env: dict[str, str], cwd: Path) -> str:
    """A set-up command, not measured; its output, or the benchmark stops with its error."""
    done = subprocess.run(argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=CHILD_TIMEOUT, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} exited with {done.returncode}:\n{done.stderr}{done.stdout}")
    return done.stdout


# -- files -----------------------------------------------------------------------------
def make_file(path: Path, size: int) -> str:
    """Random bytes (so that nothing compresses them); their SHA-256."""
    digest = hashlib.sha256()
    with path.open("wb") as out:
        left = size
        while left:
            chunk = os.urandom(min(left, 1 << 20))
            out.write(chunk)
            digest.update(chunk)
            left -= len(chunk)
    return digest.hexdigest()


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def verify(path: Path, expected: str, what: str) -> None:
    """The file has the source's bytes; then it is removed."""
    try:
        if not path.is_file():
            raise SystemExit(f"{what}: {path} was not written")
        if sha256_of(path) != expected:
            raise SystemExit(f"{what}: {path} does not match the source's sha256")
    finally:
        path.unlink(missing_ok=True)


# -- S3 server -------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def stop(process: subprocess.Popen) -> None:
    """SIGTERM by PID, then SIGKILL after STOP_TIMEOUT seconds."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=STOP_TIMEOUT)


@contextlib.contextmanager
def moto_server(tmp: Path) -> Iterator[tuple[subprocess.Popen, str]]:
    """``python -m moto.server`` on a free loopback port, ready, with the bucket made."""
    port = free_port()
    endpoint = f"http://{HOST}:{port}"
    log_path = tmp / "moto.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REALNET_", "AWS_"))}
    with log_path.open("wb") as log:
        process = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", HOST, "-p", str(port)],
                                   env=env, cwd=tmp, stdin=subprocess.DEVNULL, stdout=log,
                                   stderr=subprocess.STDOUT)
        try:
            import boto3

            client = boto3.session.Session().client(
                "s3", endpoint_url=endpoint, region_name=REGION, aws_access_key_id=CREDENTIALS[0],
                aws_secret_access_key=CREDENTIALS[1])
            deadline = time.monotonic() + READY_TIMEOUT
            while True:
                if process.poll() is not None:
                    raise SystemExit(f"the moto server exited with {process.returncode}:\n"
                                     f"{log_path.read_text(errors='replace')[-5000:]}")
                with contextlib.suppress(OSError), socket.create_connection((HOST, port), timeout=1):
                    break
                if time.monotonic() > deadline:
                    raise SystemExit(f"the moto server did not listen within {READY_TIMEOUT:g} s:\n"
                                     f"{log_path.read_text(errors='replace')[-5000:]}")
                time.sleep(0.05)
            client.create_bucket(Bucket=BUCKET)
            yield process, endpoint
        finally:
            stop(process)


# -- one backend -----------------------------------------------------------------------
@dataclasses.dataclass
class Side:
    label: str
    big: list[Run] = dataclasses.field(default_factory=list)
    small: list[Run] = dataclasses.field(default_factory=list)
    reference: str = ""  # the process that transfers nothing, to compare RSS with
    floor: bool = False  # not a transfer: the least time any SHA-256-verified transfer takes

    @property
    def wall(self) -> float:
        return min(r.wall for r in self.big)

    @property
    def rss(self) -> int:
        return max(r.rss for r in self.big)

    @property
    def cpu(self) -> float:
        return min(r.cpu for r in self.big)

    @property
    def server_cpu(self) -> float | None:
        values = [r.server_cpu for r in self.big if r.server_cpu is not None]
        return min(values) if values else None

    @property
    def small_wall(self) -> float:
        return statistics.median(r.wall for r in self.small)

    @property
    def small_rss(self) -> int:
        return max(r.rss for r in self.small)


@dataclasses.dataclass
class Case:
    """One direction (upload or download) on one backend: Realnet and its baselines."""
    title: str
    realnet: Side
    baselines: list[Side]


def clean_environment(home: Path) -> dict[str, str]:
    """The current environment without REALNET_* and AWS_* settings, plus REALNET_HOME."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REALNET_", "AWS_"))}
    env["REALNET_HOME"] = str(home)
    # Bytecode as an installed package has it (pip compiles at install): without this, a
    # PYTHONDONTWRITEBYTECODE in the environment makes every run compile every module, both sides.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(home.parent / "bytecode")
    return env


def measure_backend(name: str, env: dict[str, str], work: Path, source: Path, source_sha: str,
                    small: Path, small_sha: str, rounds: int, warmup: int, server_pid: int | None,
                    client: Any = None) -> tuple[list[Case], dict[str, list[Run]]]:
    """Upload and download cases of one backend (``client``: a boto3 client for S3, else local)."""
    realnet = [sys.executable, "-m", "realnet"]
    me = [sys.executable, str(Path(__file__).resolve().parent / "_content_baselines.py")]
    out = work / "out.bin"

    quiet_run([*realnet, "ls", "/"], env, work)  # initialises the store
    quiet_run([*realnet, "create", "-t", "Folder", FOLDER], env, work)
    references: dict[str, list[Run]] = {"realnet ls /": [], "idle": []}
    for _ in range(REFERENCE_RUNS):
        references["realnet ls /"].append(run_child([*realnet, "ls", "/"], env, work))
        references["idle"].append(run_child([*me, "idle"], env, work))

    def stored_file(path: str) -> Path:
        """The content file of a File item in the local content folder."""
        item = json.loads(quiet_run([*realnet, "get", path, "-o", "json"], env, work))
        key = item["attributes"]["storage_key"]
        return work / "home" / "content" / key[:2] / key

    def timed(argv: list[str]) -> Run:
        os.sync()
        return run_child(argv, env, work, server_pid)

    if client is not None:
        up_realnet = Side("realnet put", reference="realnet ls /")
        up_base = [Side("boto3 upload_file", reference="idle")]
        down_realnet = Side("realnet fetch", reference="realnet ls /")
        down_base = [Side("boto3 download_file", reference="idle"),
                     Side("boto3 get_object", reference="idle")]
    else:
        up_realnet = Side("realnet put", reference="realnet ls /")
        up_base = [Side("copyfile", reference="idle"), Side("copyfile+fsync", reference="idle"),
                   Side("sha256 only", reference="idle", floor=True)]
        down_realnet = Side("realnet fetch", reference="realnet ls /")
        down_base = [Side("copyfile", reference="idle"), Side("sha256 only", reference="idle", floor=True)]

    for n in range(warmup + rounds):
        for data, data_sha, item, raw_key, runs in ((small, small_sha, SMALL, RAW_SMALL, "small"),
                                                  (source, source_sha, BIG, RAW_BIG, "big")):
            # upload: realnet and the baselines, the side that goes first alternating by round
            ups: list[tuple[Side, list[str], Path | None]] = [
                (up_realnet, [*realnet, "put", str(data), item], None)]
            if client is not None:
                ups.append((up_base[0], [*me, "upload", str(data), raw_key], None))
            else:
                ups.append((up_base[0], [*me, "copy", str(data), str(out)], out))
                ups.append((up_base[1], [*me, "copy-fsync", str(data), str(out)], out))
                ups.append((up_base[2], [*me, "sha256", str(data)], None))
            for side, argv, written in ups[::-1] if n % 2 else ups:
                run = timed(argv)
                if n >= warmup:
                    getattr(side, runs).append(run)
                if written is not None:
                    verify(written, data_sha, f"{side.label} of {data.name}")
            # download: of what this round uploaded
            downs: list[tuple[Side, list[str]]] = [(down_realnet, [*realnet, "fetch", item, str(out)])]
            if client is not None:
                downs.append((down_base[0], [*me, "download", raw_key, str(out)]))
                downs.append((down_base[1], [*me, "get", raw_key, str(out)]))
            else:
                downs.append((down_base[0], [*me, "copy", str(stored_file(item)), str(out)]))
                downs.append((down_base[1], [*me, "sha256", str(stored_file(item))]))
            for side, argv in downs[::-1] if n % 2 else downs:
                run = timed(argv)
                if n >= warmup:
                    getattr(side, runs).append(run)
                if not side.floor:
                    verify(out, data_sha, f"{side.label} of {data.name}")
            # start the next round from the same state: no item, no object
            quiet_run([*realnet, "rm", item], env, work)
            if client is not None:
                client.delete_object(Bucket=BUCKET, Key=raw_key)
    if client is not None:
        left = client.list_objects_v2(Bucket=BUCKET).get("KeyCount", 0)
        if left:
            raise SystemExit(f"{name}: {left} object(s) left in the bucket after 'realnet rm'")
    cases = [Case(f"upload ({name})", up_realnet, up_base),
             Case(f"download ({name})", down_realnet, down_base)]
    return cases, references


# -- report ----------------------------------------------------------------------------
def verdict(met: bool) -> str:
    return "met" if met else "NOT met"


def version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "?"


def mbps(size: int, seconds: float) -> float:
    return size / MB / seconds if seconds > 0 else float("inf")


def report(number: int, case: Case, size: int, references: dict[str, list[Run]]) -> None:
    ref_rss = {k: max(r.rss for r in v) for k, v in references.items()}
    print(f"\n{number}. {case.title} of {size / MB:,.0f} MB")
    print(f"  {'':<20} {'wall s':>7} {'MB/s':>7} {'net MB/s':>9} {'CPU s':>6} {'S3 CPU s':>8} "
          f"{'max RSS':>8} {'growth':>7} {'vs 1KiB':>8}")
    for side in [case.realnet, *case.baselines]:
        net = side.wall - side.small_wall
        net_text = f"{mbps(size, net):>9.1f}" if net >= MIN_NET else f"{'-':>9}"
        server = f"{side.server_cpu:>8.2f}" if side.server_cpu is not None else f"{'-':>8}"
        growth = (side.rss - ref_rss[side.reference]) / MB
        print(f"  {side.label:<20} {side.wall:>7.2f} {mbps(size, side.wall):>7.1f} {net_text} "
              f"{side.cpu:>6.2f} {server} {side.rss / MB:>8.1f} {growth:>7.1f} "
              f"{(side.rss - side.small_rss) / MB:>8.1f}")
    base = case.baselines[0]
    ratio = base.wall / case.realnet.wall
    print(f"ratio realnet ÷ {base.label} (MB/s, whole process): {ratio:.2f} — target ≥ {TARGET_RATIO:.2f} "
          f"{verdict(ratio >= TARGET_RATIO)}")
    net_base, net_realnet = base.wall - base.small_wall, case.realnet.wall - case.realnet.small_wall
    net_ratio = f"{net_base / net_realnet:.2f}" if min(net_base, net_realnet) >= MIN_NET else \
        f"- (a transfer took < {MIN_NET:g} s more than its 1 KiB run: within start-up noise)"
    print(f"ratio realnet ÷ {base.label} (MB/s, start-up taken out): {net_ratio}")
    for other in case.baselines[1:]:
        if other.floor:
            print(f"floor: a process that only hashes the {size / MB:,.0f} MB (hashlib over a memory map, "
                  f"nothing written) takes {other.wall:.2f} s; a transfer that computes or checks the "
                  f"SHA-256 cannot be faster, so here it can reach at most {base.wall / other.wall:.2f} of "
                  f"{base.label} (realnet ÷ this floor: {other.wall / case.realnet.wall:.2f})")
        else:
            ratio = other.wall / case.realnet.wall
            print(f"ratio realnet ÷ {other.label} (MB/s, whole process): {ratio:.2f}")
    # The target is the growth during the transfer: over the same command moving 1 KiB,
    # which has imported and set up everything but the bytes (boto3 alone is ~30 MB).
    growth = (case.realnet.rss - case.realnet.small_rss) / MB
    overall = (case.realnet.rss - ref_rss[case.realnet.reference]) / MB
    print(f"RSS growth of {case.realnet.label} during the transfer (over its 1 KiB run): {growth:.1f} MB — "
          f"target < {TARGET_GROWTH_MB} MB {verdict(growth < TARGET_GROWTH_MB)} "
          f"(over `realnet ls /`, which imports no SDK: {overall:.1f} MB)")


def main(argv: Sequence[str] | None = None) -> int:
    args_in = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, help="MB to transfer (default 200, quick 20)")
    parser.add_argument("--rounds", type=int, help="runs of each transfer, best kept (default 2, quick 1)")
    parser.add_argument("--only", choices=("s3", "local"), help="one backend only")
    parser.add_argument("--no-warmup", action="store_true", help="no untimed first round")
    parser.add_argument("--quick", action="store_true", help="20 MB, 1 round, no warm-up round")
    args = parser.parse_args(args_in)
    size = max(1, min(args.size or (20 if args.quick else 200), 100_000)) * MB
    rounds = max(1, min(args.rounds or (1 if args.quick else 2), 20))
    warmup = 0 if args.quick or args.no_warmup else 1
    backends = [args.only] if args.only else ["s3", "local"]

    results: list[tuple[list[Case], dict[str, list[Run]]]] = []
    tmp = Path(tempfile.mkdtemp(prefix="realnet-content-bench-"))
    try:
        start = time.perf_counter()
        source, small = tmp / "source.bin", tmp / "small.bin"
        source_sha, small_sha = make_file(source, size), make_file(small, SMALL_SIZE)
        made = time.perf_counter() - start
        for backend in backends:
            work = tmp / backend
            work.mkdir()
            env = clean_environment(work / "home")
            if backend == "s3":
                with moto_server(tmp) as (moto, endpoint):
                    env.update({"REALNET_STORAGE_TYPE": "s3", "REALNET_STORAGE_S3_BUCKET": BUCKET,
                                "REALNET_STORAGE_S3_KEY": CREDENTIALS[0],
                                "REALNET_STORAGE_S3_SECRET": CREDENTIALS[1],
                                "REALNET_STORAGE_S3_REGION": REGION, "REALNET_AWS_ENDPOINT_URL": endpoint})
                    import boto3

                    client = boto3.session.Session().client(
                        "s3", endpoint_url=endpoint, region_name=REGION, aws_access_key_id=CREDENTIALS[0],
                        aws_secret_access_key=CREDENTIALS[1])
                    results.append(measure_backend("S3", env, work, source, source_sha, small, small_sha,
                                                   rounds, warmup, moto.pid, client))
            else:
                env["REALNET_STORAGE_TYPE"] = "local"
                results.append(measure_backend("local", env, work, source, source_sha, small, small_sha,
                                               rounds, warmup, None))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    print(f"file: {size:,} bytes of random data ({size / MB:,.0f} MB, 1 MB = 10⁶ bytes), made in "
          f"{made:.1f} s; best wall time of {rounds} run(s) per transfer "
          f"after {warmup} untimed warm-up round(s), highest RSS; "
          f"{os.cpu_count()} CPUs")
    print(f"realnet: `python -m realnet put SRC {BIG}` / `fetch {BIG} OUT` as fresh processes; baselines: "
          "bench/_content_baselines.py as a fresh process (boto3 upload_file/download_file, "
          "default TransferConfig; shutil.copyfile); every output checked against the source's sha256")
    if "s3" in backends:
        print(f"S3: moto {version('moto')} server in its own process on {HOST}, boto3 {version('boto3')}, "
              f"botocore {version('botocore')}")
    print("columns: net MB/s = size ÷ (wall − wall of the same command on a 1 KiB file); CPU s of the "
          "command's process; S3 CPU s of the moto server meanwhile; max RSS, its growth over a process "
          "that transfers nothing (`realnet ls /`, or the baselines' idle mode) and over the 1 KiB "
          "transfer, MB")
    number = 0
    for cases, references in results:
        backend = cases[0].title.split("(")[1].rstrip(")")
        print(f"\n{backend} — processes that transfer nothing (median wall, max RSS): " + ", ".join(
            f"{label} {statistics.median(r.wall for r in runs):.2f} s {max(r.rss for r in runs) / MB:.1f} MB"
            for label, runs in (("`realnet ls /`", references["realnet ls /"]),
                                ("idle baseline process", references["idle"])))
            + f"; the wrapper that measures them {max(r.floor for r in references['idle']) / MB:.1f} MB")
        for case in cases:
            number += 1
            report(number, case, size, references)
    return 0


if __name__ == "__main__":
    sys.exit(main())
