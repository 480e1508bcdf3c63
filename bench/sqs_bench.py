"""SQS runner: ``create`` requests per second through ``SqsRunner``, against a raw boto3 loop.

Both sides consume the same queue on the same endpoint in the same run: a moto server
started as a separate process (``python -m moto.server`` on a free port of 127.0.0.1, its
output to a file), so that it does not share this process's GIL with what it serves. Moto's
SQS slows with the length of a queue (see MOTO_LAUNCHER): it runs with two patches that
give the same answers faster (``--stock-moto``: without them; keep N small then). Moto is
not SQS: its CPU time is printed, and on 2 cores it is a large part of every figure.
Before each timed phase the request queue is filled (untimed, ``send_message_batch``) with
N messages, each ``{"id", "op": "create", "path": "/bench/dNNNNNN", "type": "Document",
"attributes": {"title"}}``; the queue is an ordinary standard queue without a redrive
policy (every request succeeds, so none is dead-lettered).

- **realnet**: ``SqsRunner`` started by a ``RunnerManager`` *in this process*, inside
  ``asyncio.run`` — the very objects ``realnet server --sqs`` runs, without the process
  start-up, the log copy to stderr and the signal handling of the foreground server. Each
  phase has a fresh ``REALNET_HOME`` in the temporary folder (SQLite store, made and given
  ``/bench`` by ``python -m realnet create -t Folder /bench`` beforehand), default
  concurrency (``REALNET_SQS_CONCURRENCY`` 10) and ``REALNET_SQS_WAIT_SECONDS`` = the
  raw loop's wait. The clock starts when ``RunnerManager.start`` returns (the runner's
  ``prepare`` — boto3 client, queue attributes, opening the store — done, no message
  received yet) and stops when the runner's counters say N requests were processed and
  none is in flight any more, i.e. the N items are committed and their messages deleted
  (polled every 5 ms on the same loop). Then, untimed, it is checked that the store holds
  the N new items (a plain ``sqlite3`` count of ``/bench/*``), that none failed, and that
  the queue is empty (no message visible or in flight). In-process rather than as a
  ``realnet server --sqs`` child: a server started beside a filled queue starts consuming
  before it can say it is ready, so its start-up (~1 s, most of a phase) would be timed
  with it, and here the runner's counters give the end to the millisecond. Measured
  twice: without ``reply_to`` (receive, apply, delete) and with ``reply_to`` set to a
  second queue (receive, apply, reply, delete; the reply queue is checked to hold N replies).
- **raw**: one boto3 SQS client (made before the clock starts) in a loop of
  ``receive_message(MaxNumberOfMessages=10, WaitTimeSeconds=wait)`` +
  ``delete_message_batch`` of what came, until N messages are consumed — nothing applied.
  For the reply_to figure, also a second raw loop that sends the replies of each receive
  with one ``send_message_batch`` before deleting (what an ideal consumer would send).

Printed: N, msgs/s of each (best and median of ``--repeat`` runs; phases alternate their
order run by run, after one untimed warm-up round of a few messages that imports and
warms both sides), this process's CPU time, the moto server's CPU time and the number of
SQS requests it served (from its request log) during each phase; then the ratio realnet ÷
raw of the best msgs/s — target ≥ 0.80 — and, for information, the reply_to figure over
both raw loops. Nothing fails on a slow figure: the target is printed as met / NOT met; a
failed check (a request failed, items or replies missing, messages left) exits 1.

    python bench/sqs_bench.py [--messages N] [--repeat N] [--wait S] [--concurrency N] [--stock-moto]
                              [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import os
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from importlib import metadata
from pathlib import Path
from typing import Any

HOST = "127.0.0.1"
REGION = "us-east-1"
CREDENTIALS = ("bench", "bench")  # moto takes any
FOLDER = "/bench"
TARGET_RATIO = 0.80
BATCH = 10  # SQS's most per receive, send or delete
POLL = 0.005  # seconds between looks at the runner's counters
READY_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
CHILD_TIMEOUT = 120.0
WARMUP_MESSAGES = 30

RAW = "raw boto3 loop"
RAW_REPLIES = "raw boto3 loop + replies"
RUNNER = "realnet runner"
RUNNER_REPLIES = "realnet runner, reply_to"
PHASES = (RAW, RUNNER, RUNNER_REPLIES, RAW_REPLIES)


# -- children --------------------------------------------------------------------------
def clean_environment(tmp: Path) -> dict[str, str]:
    """The current environment without REALNET_* and AWS_* settings, bytecode cached in ``tmp``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REALNET_", "AWS_"))}
    # Bytecode as an installed package has it (pip compiles at install): without this, a
    # PYTHONDONTWRITEBYTECODE in the environment makes every child compile every module.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(tmp / "bytecode")
    return env


def quiet_run(argv: list[str], env: dict[str, str], cwd: Path) -> str:
    """A set-up command, not measured; its output, or the benchmark stops with its error."""
    done = subprocess.run(argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=CHILD_TIMEOUT, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} exited with {done.returncode}:\n{done.stderr}{done.stdout}")
    return done.stdout


def proc_cpu(pid: int) -> float:
    """CPU seconds (user + system) of a process so far, all its threads (Linux; else 0)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return 0.0


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


def sqs_client(endpoint: str) -> Any:
    import boto3

    return boto3.session.Session().client("sqs", endpoint_url=endpoint, region_name=REGION,
                                          aws_access_key_id=CREDENTIALS[0],
                                          aws_secret_access_key=CREDENTIALS[1])


@dataclasses.dataclass
class Moto:
    process: subprocess.Popen
    endpoint: str
    log: Path

    def requests(self) -> int:
        """Requests the server has logged so far (werkzeug: one line per request)."""
        with self.log.open("rb") as f:
            return sum(1 for line in f if b'"POST ' in line or b'"GET ' in line)


#: ``python -m moto.server`` with two patches that give moto's own answers faster. Moto 5's
#: SQS reads the clock through datetime arithmetic (~15 µs a read) and, for every message
#: it hands out, computes all of the queue's attributes — the approximate counts are passes
#: over every message, reading the clock for each — just to look up the retention period:
#: one receive of ten costs ~0.2 s on a queue of 200 messages and ~2 s on one of 2,000, and
#: the endpoint, not the consumers, would be all this benchmark measures. Patched: the clock
#: without an argument is ``time.time()`` (the same value), and the retention check reads
#: the queue's retention period directly (the same test). Anything not found is left as it
#: is (``--stock-moto`` leaves it all).
MOTO_LAUNCHER = """
import sys, time
import moto.core.utils as utils
import moto.sqs.models as models
from moto.server import main
if sys.argv[1] == "patch":
    slow_unix_time = utils.unix_time
    def unix_time(dt=None):
        return time.time() if dt is None else slow_unix_time(dt)
    utils.unix_time = unix_time
    if getattr(models, "unix_time", None) is slow_unix_time:
        models.unix_time = unix_time
    def retained(self, queue_name, message):
        period = int(self.get_queue(queue_name).message_retention_period)
        return period + message.sent_timestamp / 1000 > time.time()
    if hasattr(models.SQSBackend, "is_message_valid_based_on_retention_period"):
        models.SQSBackend.is_message_valid_based_on_retention_period = retained
main(sys.argv[2:])
"""


@contextlib.contextmanager
def moto_server(tmp: Path, patched: bool) -> Iterator[Moto]:
    """``python -m moto.server`` (through MOTO_LAUNCHER) on a free loopback port, answering SQS calls."""
    port = free_port()
    endpoint = f"http://{HOST}:{port}"
    log_path = tmp / "moto.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen([sys.executable, "-c", MOTO_LAUNCHER, "patch" if patched else "stock",
                                    "-H", HOST, "-p", str(port)],
                                   env=clean_environment(tmp), cwd=tmp, stdin=subprocess.DEVNULL, stdout=log,
                                   stderr=subprocess.STDOUT)
        try:
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
            sqs_client(endpoint).list_queues()
            yield Moto(process, endpoint, log_path)
        finally:
            stop(process)


# -- queues ----------------------------------------------------------------------------
def bodies(prefix: str, count: int, reply_to: str | None) -> list[str]:
    out = []
    for i in range(count):
        request: dict[str, Any] = {"id": f"{prefix}-{i:06d}", "op": "create", "path": f"{FOLDER}/d{i:06d}",
                                   "type": "Document", "attributes": {"title": f"Document {i}"}}
        if reply_to:
            request["reply_to"] = reply_to
        out.append(json.dumps(request))
    return out


def fill(client: Any, queue_url: str, messages: list[str]) -> None:
    """Send the messages in batches of ten (a few batches at once), then check they are all there."""
    def send(start: int) -> None:
        entries = [{"Id": str(n), "MessageBody": body}
                   for n, body in enumerate(messages[start:start + BATCH])]
        answer = client.send_message_batch(QueueUrl=queue_url, Entries=entries)
        if answer.get("Failed"):
            raise SystemExit(f"send_message_batch refused: {answer['Failed'][:3]}")

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(send, range(0, len(messages), BATCH)))
    waiting = queue_counts(client, queue_url)
    if waiting != (len(messages), 0):
        raise SystemExit(f"the queue holds {waiting} (visible, in flight) after sending {len(messages)}")


def queue_counts(client: Any, queue_url: str) -> tuple[int, int]:
    """(visible, in flight) messages of a queue."""
    attributes = client.get_queue_attributes(
        QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages",
                                            "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
    return (int(attributes["ApproximateNumberOfMessages"]),
            int(attributes["ApproximateNumberOfMessagesNotVisible"]))


def check_empty(client: Any, queue_url: str, what: str) -> None:
    left = queue_counts(client, queue_url)
    if left != (0, 0):
        raise SystemExit(f"{what}: the queue still holds {left[0]} visible and {left[1]} in-flight "
                         "message(s)")


# -- the two sides ---------------------------------------------------------------------
def raw_loop(client: Any, queue_url: str, count: int, wait: int, reply_queue: str | None,
             timeout: float, meter: Meter) -> None:
    """Consume ``count`` messages, metered: receive ten, (reply,) delete them in one batch."""
    consumed = 0
    meter.begin()
    start = time.perf_counter()
    deadline = start + timeout
    while consumed < count:
        if time.perf_counter() > deadline:
            raise SystemExit(f"{RAW}: only {consumed} of {count} messages consumed in {timeout:g} s")
        messages = client.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=BATCH,
                                          WaitTimeSeconds=wait).get("Messages", [])
        if not messages:
            continue
        if reply_queue is not None:
            replies = []
            for n, m in enumerate(messages):
                request = json.loads(m["Body"])
                reply = {"id": request["id"], "op": request["op"], "status": "ok",
                         "result": {"path": request["path"]}}
                replies.append({"Id": str(n), "MessageBody": json.dumps(reply)})
            client.send_message_batch(QueueUrl=reply_queue, Entries=replies)
        answer = client.delete_message_batch(QueueUrl=queue_url, Entries=[
            {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(messages)])
        if answer.get("Failed"):
            raise SystemExit(f"{RAW}: delete_message_batch refused: {answer['Failed'][:3]}")
        consumed += len(messages)
    meter.end()


async def runner_phase(settings: Any, queue_url: str, count: int, timeout: float,
                       meter: Meter) -> dict[str, int]:
    """Meter the runner from its start (prepared) until ``count`` requests are processed and
    none is in flight; its counters then."""
    from realnet.runners.manager import RunnerManager
    from realnet.runners.sqs import SqsRunner

    manager = RunnerManager()
    runner = manager.start(SqsRunner(settings, queue_url=queue_url))
    meter.begin()
    start = time.perf_counter()
    values = runner.counters.values
    try:
        while values["processed"] + values["failed"] < count or values["in_flight"]:
            if runner.state != "running":
                raise SystemExit(f"{RUNNER}: the runner is {runner.state}: {runner.error}\n"
                                 + "\n".join(runner.log.tail(20)))
            if time.perf_counter() - start > timeout:
                raise SystemExit(f"{RUNNER}: {values} after {timeout:g} s\n" + "\n".join(runner.log.tail(20)))
            await asyncio.sleep(POLL)
        meter.end()
    finally:
        await manager.stop(runner.kind, deadline=5)
    if values["failed"] or values["retried"] or values["redelivered"]:
        raise SystemExit(f"{RUNNER}: {values}\n" + "\n".join(runner.log.tail(20)))
    return dict(values)


def store_count(db_path: Path) -> int:
    """Items below /bench, through a plain sqlite3 connection of its own."""
    with contextlib.closing(sqlite3.connect(db_path)) as db:
        return db.execute("SELECT count(*) FROM items WHERE path LIKE ?", (f"{FOLDER}/%",)).fetchone()[0]


# -- measuring -------------------------------------------------------------------------
@dataclasses.dataclass
class Run:
    wall: float
    count: int
    cpu: float  # this process's CPU seconds, all threads
    moto_cpu: float
    calls: int  # SQS requests the server logged

    @property
    def rate(self) -> float:
        return self.count / self.wall


class Meter:
    """Wall time, this process's CPU time, the server's CPU time and the requests it served,
    from ``begin`` to ``end`` (the clock alone: the other readings are taken outside it)."""

    def __init__(self, moto: Moto) -> None:
        self.moto = moto
        self.wall = self.cpu = self.moto_cpu = 0.0
        self.calls = 0

    def begin(self) -> None:
        self.calls, self.moto_cpu = self.moto.requests(), proc_cpu(self.moto.process.pid)
        self.cpu = time.process_time()
        self.wall = time.perf_counter()

    def end(self) -> None:
        self.wall = time.perf_counter() - self.wall
        self.cpu = time.process_time() - self.cpu
        self.moto_cpu = proc_cpu(self.moto.process.pid) - self.moto_cpu

    def run(self, count: int) -> Run:
        time.sleep(0.05)  # the server logs a request after answering it
        return Run(self.wall, count, self.cpu, self.moto_cpu, self.moto.requests() - self.calls)


@dataclasses.dataclass
class Bench:
    tmp: Path
    moto: Moto
    client: Any
    queue_url: str
    wait: int
    concurrency: int | None
    homes: int = 0

    def reply_queue(self) -> str:
        return self.client.create_queue(QueueName=f"replies-{self.homes}-{time.monotonic_ns()}")["QueueUrl"]

    def raw(self, count: int, replies: bool, tag: str) -> Run:
        reply_queue = self.reply_queue() if replies else None
        fill(self.client, self.queue_url, bodies(tag, count, reply_queue))
        meter = Meter(self.moto)
        raw_loop(self.client, self.queue_url, count, self.wait, reply_queue, max(60.0, count / 10), meter)
        run = meter.run(count)
        check_empty(self.client, self.queue_url, RAW)
        if reply_queue is not None:
            if queue_counts(self.client, reply_queue)[0] != count:
                raise SystemExit(f"{RAW_REPLIES}: the reply queue does not hold {count} replies")
            self.client.delete_queue(QueueUrl=reply_queue)
        return run

    def runner(self, count: int, replies: bool, tag: str) -> Run:
        from realnet.config import load_settings

        self.homes += 1
        home = self.tmp / f"home-{self.homes}"
        env = {**clean_environment(self.tmp), "REALNET_HOME": str(home)}
        quiet_run([sys.executable, "-m", "realnet", "create", "-t", "Folder", FOLDER], env, self.tmp)
        values = {"REALNET_HOME": str(home), "REALNET_SQS_ENDPOINT_URL": self.moto.endpoint,
                  "REALNET_SQS_WAIT_SECONDS": str(self.wait)}
        if self.concurrency:
            values["REALNET_SQS_CONCURRENCY"] = str(self.concurrency)
        settings = load_settings(values, cwd=self.tmp)
        reply_queue = self.reply_queue() if replies else None
        fill(self.client, self.queue_url, bodies(tag, count, reply_queue))
        meter = Meter(self.moto)
        counters = asyncio.run(runner_phase(settings, self.queue_url, count, max(60.0, count / 10), meter))
        run = meter.run(count)
        label = RUNNER_REPLIES if replies else RUNNER
        check_empty(self.client, self.queue_url, label)
        if counters["processed"] != count:
            raise SystemExit(f"{label}: {counters['processed']} requests processed, not {count}")
        stored = store_count(settings.db_path)
        if stored != count:
            raise SystemExit(f"{label}: the store holds {stored} items below {FOLDER}, not {count}")
        if reply_queue is not None:
            if queue_counts(self.client, reply_queue)[0] != count:
                raise SystemExit(f"{label}: the reply queue does not hold {count} replies")
            self.client.delete_queue(QueueUrl=reply_queue)
        shutil.rmtree(home, ignore_errors=True)
        # The runner's last long poll may still be pending at the server (a daemon thread
        # that gives back what it brings): let it end before the next phase fills the queue.
        time.sleep(self.wait + 0.3)
        return run


# -- report ----------------------------------------------------------------------------
def verdict(met: bool) -> str:
    return "met" if met else "NOT met"


def version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "?"


def best(runs: list[Run]) -> Run:
    return max(runs, key=lambda r: r.rate)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, help="messages per timed phase (default 1000, quick 200)")
    parser.add_argument("--repeat", type=int, help="timed runs of each phase, best kept (default 3, quick 1)")
    parser.add_argument("--wait", type=int, default=1,
                        help="WaitTimeSeconds of every receive, both sides (REALNET_SQS_WAIT_SECONDS); "
                        "default 1")
    parser.add_argument("--concurrency", type=int,
                        help="REALNET_SQS_CONCURRENCY of the runner (default: the setting's default, 10)")
    parser.add_argument("--stock-moto", action="store_true",
                        help="run moto unpatched (its SQS slows with the queue's length: keep N small)")
    parser.add_argument("--quick", action="store_true", help="200 messages, 1 run")
    args = parser.parse_args(argv)
    count = max(BATCH, min(args.messages or (200 if args.quick else 1000), 100_000))
    repeat = max(1, min(args.repeat or (1 if args.quick else 3), 20))
    wait = max(0, min(args.wait, 20))

    # The runner's SQS client takes its credentials from AWS's usual chain: moto's, here.
    for key in [k for k in os.environ if k.startswith("AWS_")]:
        del os.environ[key]
    os.environ.update(AWS_ACCESS_KEY_ID=CREDENTIALS[0], AWS_SECRET_ACCESS_KEY=CREDENTIALS[1])

    runs: dict[str, list[Run]] = {label: [] for label in PHASES}
    tmp = Path(tempfile.mkdtemp(prefix="realnet-sqs-bench-", dir="/tmp"))
    try:
        with moto_server(tmp, not args.stock_moto) as moto:
            client = sqs_client(moto.endpoint)
            queue_url = client.create_queue(QueueName="requests")["QueueUrl"]
            bench = Bench(tmp, moto, client, queue_url, wait, args.concurrency)
            sides: dict[str, Callable[[int, str], Run]] = {
                RAW: lambda n, tag: bench.raw(n, False, tag),
                RAW_REPLIES: lambda n, tag: bench.raw(n, True, tag),
                RUNNER: lambda n, tag: bench.runner(n, False, tag),
                RUNNER_REPLIES: lambda n, tag: bench.runner(n, True, tag),
            }
            for number in range(1 + repeat):  # round 0: the warm-up
                order = PHASES if number % 2 else PHASES[::-1]
                for label in order:
                    tag = f"r{number}-{PHASES.index(label)}"
                    run = sides[label](WARMUP_MESSAGES if number == 0 else count, tag)
                    if number:
                        runs[label].append(run)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    print(f"N = {count:,} `create` messages per timed phase; best and median msgs/s of {repeat} run(s) "
          f"after a warm-up round of {WARMUP_MESSAGES}; phases alternate their order; {os.cpu_count()} CPUs")
    how = "stock" if args.stock_moto else "its clock and retention check patched to be fast, same answers"
    print(f"SQS: moto {version('moto')} server in its own process on {HOST} (`python -m moto.server`, "
          f"{how}), "
          f"boto3 {version('boto3')}; receives with WaitTimeSeconds={wait}, MaxNumberOfMessages={BATCH}")
    print(f"realnet: SqsRunner in this process (RunnerManager inside asyncio), concurrency "
          f"{args.concurrency or 'default (10)'}, SQLite store in a fresh REALNET_HOME per phase; clock from "
          "RunnerManager.start (prepared) to N committed and deleted")
    print(f"raw: receive_message + delete_message_batch until N consumed ('+ replies': also one "
          f"send_message_batch of the {BATCH} replies per receive)")
    print(f"\n  {'':<26} {'msgs/s':>8} {'median':>8} {'wall s':>7} {'CPU s':>6} {'moto CPU s':>10} "
          f"{'SQS calls':>9} {'calls/msg':>9}")
    for label in PHASES:
        top = best(runs[label])
        median = statistics.median(r.rate for r in runs[label])
        print(f"  {label:<26} {top.rate:>8.1f} {median:>8.1f} {top.wall:>7.2f} {top.cpu:>6.2f} "
              f"{top.moto_cpu:>10.2f} {top.calls:>9} {top.calls / top.count:>9.2f}")
    print("  (CPU s: this process, all threads — the runner or the raw loop; moto CPU s: the server; "
          "both over the best run)")
    raw, raw_replies = best(runs[RAW]).rate, best(runs[RAW_REPLIES]).rate
    runner, runner_replies = best(runs[RUNNER]).rate, best(runs[RUNNER_REPLIES]).rate
    ratio = runner / raw
    print(f"\nratio {RUNNER} ÷ {RAW} (msgs/s, no reply_to): {ratio:.2f} — target ≥ {TARGET_RATIO:.2f} "
          f"{verdict(ratio >= TARGET_RATIO)}")
    print(f"ratio {RUNNER_REPLIES} ÷ {RAW} (msgs/s): {runner_replies / raw:.2f}")
    print(f"ratio {RUNNER_REPLIES} ÷ {RAW_REPLIES} (msgs/s): {runner_replies / raw_replies:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
