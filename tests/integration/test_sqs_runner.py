"""The SQS runner end to end: a real SQS endpoint over HTTP (moto in server mode), real
stores (SQLite, PostgreSQL), the runner driven in-process by a RunnerManager.

Every wait is for an observable condition (the runner's counters, the queues, the store)
with a generous hang detector; nothing here limits how fast the runner must be.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import json
import os
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from cryptography.fernet import Fernet
from httpkit import build_world
from s3server import MotoServer
from sqsserver import aws_environment

from realnet.app import open_context
from realnet.config import load_settings
from realnet.core.errors import NotFound
from realnet.runners.manager import RunnerManager
from realnet.runners.sqs import SqsRunner

HANG = 90.0  # seconds: a hang detector, never a speed limit


# -- the endpoint and its queues ----------------------------------------------------------------


@dataclass
class Queue:
    url: str
    dlq: str | None = None


@dataclass
class Sqs:
    """A moto endpoint, a plain boto3 client on it, and what the runner's settings need."""

    endpoint: str
    client: Any

    def queue(self, *, max_receives: int | None = None, visibility: int | None = None) -> Queue:
        name = f"q-{uuid.uuid4().hex[:12]}"
        attributes: dict[str, str] = {}
        if visibility is not None:
            attributes["VisibilityTimeout"] = str(visibility)
        dlq = None
        if max_receives is not None:
            dlq = self.client.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
            arn = self.client.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])[
                "Attributes"]["QueueArn"]
            attributes["RedrivePolicy"] = json.dumps({"deadLetterTargetArn": arn,
                                                      "maxReceiveCount": str(max_receives)})
        url = self.client.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        return Queue(url, dlq)

    def send(self, url: str, bodies: list[Any]) -> None:
        """Send with send_message_batch, ten at a time, in this order."""
        texts = [b if isinstance(b, str) else json.dumps(b) for b in bodies]
        for start in range(0, len(texts), 10):
            entries = [{"Id": str(n), "MessageBody": t} for n, t in enumerate(texts[start:start + 10])]
            answer = self.client.send_message_batch(QueueUrl=url, Entries=entries)
            assert not answer.get("Failed"), answer["Failed"]

    def counts(self, url: str) -> tuple[int, int]:
        """(visible, in flight) messages of a queue."""
        a = self.client.get_queue_attributes(
            QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages",
                                          "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
        return int(a["ApproximateNumberOfMessages"]), int(a["ApproximateNumberOfMessagesNotVisible"])

    def empty(self, url: str) -> bool:
        return self.counts(url) == (0, 0)

    def drain(self, url: str) -> list[str]:
        """Every message body on the queue (removed)."""
        bodies: list[str] = []
        quiet = 0
        while quiet < 2:
            messages = self.client.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0,
                                                   VisibilityTimeout=300).get("Messages", [])
            if not messages:
                quiet += 1
                continue
            quiet = 0
            bodies += [m["Body"] for m in messages]
            self.client.delete_message_batch(QueueUrl=url, Entries=[
                {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(messages)])
        return bodies

    def replies(self, url: str) -> dict[str | None, list[dict[str, Any]]]:
        """The replies on a reply queue, by request id."""
        by_id: dict[str | None, list[dict[str, Any]]] = defaultdict(list)
        for body in self.drain(url):
            reply = json.loads(body)
            by_id[reply["id"]].append(reply)
        return by_id


class Collector:
    """Receives (and removes) the replies of a queue on a thread while the test runs, so that
    the reply queue stays short (moto walks every message of a queue on each call)."""

    def __init__(self, sqs: Sqs, url: str) -> None:
        self.sqs, self.url = sqs, url
        self.bodies: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="reply-collector")
        self._thread.start()

    def _run(self) -> None:
        from botocore.exceptions import BotoCoreError

        client = sqs_client(self.sqs.endpoint)
        while not self._stop.is_set():
            try:
                messages = client.receive_message(QueueUrl=self.url, MaxNumberOfMessages=10,
                                                  WaitTimeSeconds=1, VisibilityTimeout=300).get("Messages", [])
            except BotoCoreError:  # the endpoint is away (the outage test): try again shortly
                self._stop.wait(0.2)
                continue
            if messages:
                self.bodies += [m["Body"] for m in messages]
                with contextlib.suppress(BotoCoreError):  # kept hidden 300 s: not read twice
                    client.delete_message_batch(QueueUrl=self.url, Entries=[
                        {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(messages)])

    def replies(self) -> dict[str | None, list[dict[str, Any]]]:
        """Every reply, by request id (the collector stopped, the queue drained)."""
        self._stop.set()
        self._thread.join(HANG)
        assert not self._thread.is_alive()
        by_id: dict[str | None, list[dict[str, Any]]] = defaultdict(list)
        for body in self.bodies + self.sqs.drain(self.url):
            reply = json.loads(body)
            by_id[reply["id"]].append(reply)
        return by_id


def sqs_client(endpoint: str) -> Any:
    return boto3.session.Session().client("sqs", endpoint_url=endpoint, region_name="us-east-1",
                                          aws_access_key_id="testing", aws_secret_access_key="testing")


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    """moto in server mode in this process, for this module (a child process, MotoProcess,
    locks up under the runner's concurrent calls)."""
    try:
        server = MotoServer().start()
    except (RuntimeError, OSError) as e:
        pytest.fail(f"cannot start a moto endpoint for the tests: {e}")
    try:
        yield server.url
    finally:
        server.stop()


def sqs_environment(monkeypatch: pytest.MonkeyPatch, tmp_path, endpoint: str) -> Sqs:
    aws_environment(monkeypatch, tmp_path, endpoint)
    return Sqs(endpoint, sqs_client(endpoint))


@pytest.fixture
def sqs(realnet_home, moto_endpoint: str, monkeypatch: pytest.MonkeyPatch, tmp_path) -> Sqs:
    return sqs_environment(monkeypatch, tmp_path, moto_endpoint)


@pytest.fixture
def own_sqs(realnet_home, monkeypatch: pytest.MonkeyPatch, tmp_path) -> Iterator[tuple[Sqs, MotoServer]]:
    """An in-process moto endpoint of this test alone, which it may stop and start again on
    the same port (the queues survive)."""
    try:
        server = MotoServer().start()
    except (RuntimeError, OSError) as e:
        pytest.fail(f"cannot start a moto endpoint for the tests: {e}")
    try:
        yield sqs_environment(monkeypatch, tmp_path, server.url), server
    finally:
        server.stop()


def postgres_environment(monkeypatch: pytest.MonkeyPatch, schema_url: str) -> None:
    monkeypatch.setenv("REALNET_DB_TYPE", "postgresql")
    monkeypatch.setenv("REALNET_DB_URL", schema_url)
    monkeypatch.setenv("REALNET_SECRET_KEY", Fernet.generate_key().decode())


# -- driving the runner ----------------------------------------------------------------------------


async def until(check: Callable[[], bool], what: str, timeout: float = HANG,
                state: Callable[[], Any] | None = None) -> None:
    """Until ``check()`` (run on a thread: it may call SQS or the store) is true."""
    end = time.monotonic() + timeout
    while not await asyncio.to_thread(check):
        if time.monotonic() > end:
            raise AssertionError(f"hang detector: {what} did not happen within {timeout:g} s"
                                 + (f"; {state()}" if state else ""))
        await asyncio.sleep(0.1)


async def stop(manager: RunnerManager, runner: SqsRunner, deadline: float = 5.0) -> None:
    await asyncio.wait_for(manager.stop("sqs", deadline=deadline), HANG)
    assert runner.state == "stopped", (runner.state, runner.error, runner.log.tail(40))


def run_until(runner: SqsRunner, check: Callable[[], bool], what: str, *, deadline: float = 5.0) -> SqsRunner:
    async def main() -> None:
        manager = RunnerManager()
        manager.start(runner)
        try:
            await until(check, what, state=lambda: (runner.counters.values, runner.log.tail(15)))
        finally:
            await stop(manager, runner, deadline)

    asyncio.run(main())
    return runner


def counter(runner: SqsRunner, name: str) -> int:
    return runner.counters.values[name]


def settled(runner: SqsRunner, total: int) -> Callable[[], bool]:
    """Every one of ``total`` deliveries counted, and none in flight."""
    values = runner.counters.values
    return lambda: (values["processed"] + values["failed"] + values["redelivered"] >= total
                    and values["in_flight"] == 0)


def log_text(runner: SqsRunner) -> str:
    return "\n".join(runner.log.tail(2000))


def only_reply(replies: dict[str | None, list[dict[str, Any]]], request_id: str) -> dict[str, Any]:
    got = replies.get(request_id, [])
    assert len(got) == 1, (request_id, got)
    return got[0]


class Store:
    """The store behind the runner's back, as the local administrator."""

    def __init__(self, settings) -> None:
        self.settings = settings

    def __enter__(self):
        self.context = open_context(self.settings)
        return self.context

    def __exit__(self, *exc) -> None:
        self.context.provider.close()


def children(context, path: str) -> dict[str, Any]:
    page = context.list(path, limit=1000)
    assert page.next_cursor is None
    return {item.name: item for item in page.items}


# -- 1. a thousand mixed messages ------------------------------------------------------------------


def test_a_thousand_mixed_messages_none_lost_none_applied_twice(sqs: Sqs):
    settings = load_settings()
    n_create, n_update, n_get, n_list, n_delete, n_move, n_copy, n_fail = 200, 200, 150, 50, 100, 75, 75, 150
    with Store(settings) as context, context.transaction():
        for folder in ("new", "upd", "ro", "del", "mv", "moved", "cp", "copies", "ver"):
            context.create(f"/bulk/{folder}", "Folder", parents=True)
        for i in range(n_update):
            context.create(f"/bulk/upd/u{i}", "Document", {"title": f"u{i}"})
        for i in range(n_get):
            context.create(f"/bulk/ro/g{i}", "Document", {"title": f"g{i}"})
        for i in range(n_delete):
            context.create(f"/bulk/del/d{i}", "Document", {"title": f"d{i}"})
        for i in range(n_move):
            context.create(f"/bulk/mv/m{i}", "Document", {"title": f"m{i}"})
        for i in range(n_copy):
            context.create(f"/bulk/cp/k{i}", "Document", {"title": f"k{i}"})
        for i in range(n_fail // 3):
            context.create(f"/bulk/ver/v{i}", "Document", {"title": f"v{i}"})
    # Two receives before the dead-letter queue: a failing request is answered once, and its
    # second receive is answered from the record without a reply. (moto in server mode now and
    # then answers a receive with a 500 after taking the messages: those come back after the
    # visibility timeout, hence a short one.)
    queue, replies_q = sqs.queue(max_receives=2, visibility=5), sqs.queue()
    expected: dict[str, tuple[str, Callable[[dict], bool]]] = {}  # id -> (status/code, check of the reply)
    requests: list[dict[str, Any]] = []

    def add(request: dict[str, Any], outcome: str, check: Callable[[dict], bool] = lambda r: True) -> None:
        request["reply_to"] = replies_q.url
        requests.append(request)
        expected[request["id"]] = (outcome, check)

    for i in range(n_create):
        add({"id": f"c{i}", "op": "create", "path": f"/bulk/new/c{i}", "type": "Document",
             "attributes": {"title": f"c{i}", "description": str(i)}}, "ok",
            lambda r, i=i: r["result"]["path"] == f"/bulk/new/c{i}" and r["result"]["version"] == 1
            and r["result"]["attributes"]["description"] == str(i))
    for i in range(n_update):
        add({"id": f"u{i}", "op": "update", "path": f"/bulk/upd/u{i}", "attributes": {"description": str(i)}}, "ok",
            lambda r, i=i: r["result"]["version"] == 2 and r["result"]["attributes"]["description"] == str(i))
    for i in range(n_get):
        add({"id": f"g{i}", "op": "get", "path": f"/bulk/ro/g{i}"}, "ok",
            lambda r, i=i: r["result"]["attributes"]["title"] == f"g{i}")
    first_three = sorted(f"g{i}" for i in range(n_get))[:3]
    for i in range(n_list):
        add({"id": f"l{i}", "op": "list", "path": "/bulk/ro", "limit": 3}, "ok",
            lambda r: [x["name"] for x in r["result"]["items"]] == first_three
            and r["result"]["next_cursor"] is not None)
    for i in range(n_delete):
        add({"id": f"d{i}", "op": "delete", "path": f"/bulk/del/d{i}"}, "ok",
            lambda r: r["result"] == {"removed": 1})
    for i in range(n_move):
        add({"id": f"m{i}", "op": "action", "path": f"/bulk/mv/m{i}", "action": "move",
             "target": f"/bulk/moved/m{i}"}, "ok",
            lambda r, i=i: r["result"]["path"] == f"/bulk/moved/m{i}")
    for i in range(n_copy):
        add({"id": f"k{i}", "op": "action", "path": f"/bulk/cp/k{i}", "action": "copy",
             "target": f"/bulk/copies/k{i}"}, "ok",
            lambda r, i=i: r["result"]["path"] == f"/bulk/copies/k{i}")
    for i in range(n_fail // 3):
        add({"id": f"x{i}", "op": "get", "path": f"/bulk/missing/x{i}"}, "not_found",
            lambda r, i=i: f"/bulk/missing/x{i}" in r["error"]["message"])
        add({"id": f"e{i}", "op": "create", "path": f"/bulk/ro/g{i}", "type": "Document",
             "attributes": {"title": "again"}}, "exists")
        add({"id": f"v{i}", "op": "update", "path": f"/bulk/ver/v{i}", "attributes": {"description": "t"}, "version": 5},
            "conflict")
    assert len(requests) == 1000 and len(expected) == 1000
    failing = n_fail
    # Mixed: the kinds interleaved, not in blocks.
    requests = [requests[(k * 7) % 1000] for k in range(1000)]  # 7 is prime to 1000: a permutation
    runner = SqsRunner(settings, queue_url=queue.url)
    handled = lambda: counter(runner, "processed") + counter(runner, "failed")  # noqa: E731
    collector = Collector(sqs, replies_q.url)

    async def main() -> None:
        manager = RunnerManager()
        manager.start(runner)
        try:
            # Sent in waves while the runner works: moto's receive walks (and copies) every
            # message on the queue, so a short backlog keeps the endpoint quick.
            for start in range(0, 1000, 50):
                await until(lambda start=start: handled() >= start - 50, f"message {start - 50}",
                            state=lambda: runner.counters.values)
                await asyncio.to_thread(sqs.send, queue.url, requests[start:start + 50])
            await until(lambda: handled() >= 1000 and counter(runner, "in_flight") == 0
                        and sqs.empty(queue.url) and sqs.counts(queue.dlq)[0] == failing,
                        "1000 messages handled", state=lambda: runner.counters.values)
        finally:
            await stop(manager, runner)

    asyncio.run(main())

    # Counters: each request once; only failing ones come back (answered from the record).
    values = runner.counters.values
    assert (values["processed"], values["failed"], values["retried"], values["in_flight"]) == (
        1000 - failing, failing, 0, 0), values
    assert values["redelivered"] <= failing, values
    # Replies: exactly one per request, with the right outcome.
    replies = collector.replies()
    assert set(replies) == set(expected)
    for request_id, (outcome, check) in expected.items():
        reply = only_reply(replies, request_id)
        assert "replayed" not in reply, reply
        if outcome == "ok":
            assert reply["status"] == "ok", reply
        else:
            assert reply["status"] == "error" and reply["error"]["code"] == outcome, reply
        assert check(reply), reply
    # The failing ones, and only they, went to the dead-letter queue.
    dead = [json.loads(b)["id"] for b in sqs.drain(queue.dlq)]
    assert sorted(dead) == sorted(i for i, (o, _) in expected.items() if o != "ok")
    assert sqs.empty(queue.url)

    # The store, exactly.
    with Store(settings) as context:
        new = children(context, "/bulk/new")
        assert sorted(new) == sorted(f"c{i}" for i in range(n_create))
        assert all(item.version == 1 and item.attributes["description"] == name[1:] for name, item in new.items())
        upd = children(context, "/bulk/upd")
        assert len(upd) == n_update
        assert all(item.version == 2 and item.attributes["description"] == name[1:]
                   for name, item in upd.items()), {n: (i.version, i.attributes) for n, i in upd.items()}
        ro = children(context, "/bulk/ro")
        assert len(ro) == n_get and all(item.version == 1 for item in ro.values())
        assert children(context, "/bulk/del") == {}
        assert children(context, "/bulk/mv") == {}
        assert sorted(children(context, "/bulk/moved")) == sorted(f"m{i}" for i in range(n_move))
        assert sorted(children(context, "/bulk/cp")) == sorted(f"k{i}" for i in range(n_copy))
        copies = children(context, "/bulk/copies")
        assert sorted(copies) == sorted(f"k{i}" for i in range(n_copy))
        assert all(item.attributes["title"] == name for name, item in copies.items())
        ver = children(context, "/bulk/ver")
        assert all(item.version == 1 and "description" not in item.attributes for item in ver.values())
        assert sorted(children(context, "/bulk")) == sorted(
            ["new", "upd", "ro", "del", "mv", "moved", "cp", "copies", "ver"])


# -- 2. poison messages -------------------------------------------------------------------------------


def test_poison_messages_get_one_error_reply_and_reach_the_dead_letter_queue(sqs: Sqs, cli):
    settings = load_settings()
    with Store(settings) as context:
        world = build_world(context)
    created = cli("sqs", "create-queue", f"poison-{uuid.uuid4().hex[:8]}", "--max-receives", "2",
                     "-o", "json")
    assert created.code == 0, created.err
    names = json.loads(created.out)
    queue = Queue(names["queue_url"], names["dead_letter_queue_url"])
    replies_q = sqs.queue()
    r = replies_q.url
    # id -> (body, code, what the one-line message must name)
    poison: dict[str, tuple[Any, str, str]] = {
        "p-op": ({"id": "p-op", "op": "frob", "path": "/x", "reply_to": r}, "invalid_message", "message.op"),
        "p-missing": ({"id": "p-missing", "op": "create", "path": "/pub/new", "reply_to": r},
                      "invalid_message", "'type'"),
        "p-type": ({"id": "p-type", "op": "get", "path": "/pub/doc", "reveal": "yes", "reply_to": r},
                   "invalid_message", "message.reveal"),
        "p-field": ({"id": "p-field", "op": "get", "path": "/pub/doc", "target": "/pub/x", "reply_to": r},
                    "invalid_message", "target"),
        "p-unknown-field": ({"id": "p-unknown-field", "op": "get", "path": "/pub/doc", "colour": "red",
                             "reply_to": r}, "invalid_message", "colour"),
        "p-path": ({"id": "p-path", "op": "get", "path": "pub/doc", "reply_to": r},
                   "invalid_message", "message.path"),
        "p-token": ({"id": "p-token", "op": "get", "path": "/pub/doc", "token": "not-a-token", "reply_to": r},
                    "unauthorized", ""),
        "p-nosuch": ({"id": "p-nosuch", "op": "get", "path": "/nowhere/at-all", "reply_to": r},
                     "not_found", "/nowhere/at-all"),
        "p-forbidden": ({"id": "p-forbidden", "op": "create", "path": "/projects/bobs", "type": "Document", "attributes": {"title": "b"},
                         "token": world.tokens["alice"], "reply_to": r}, "forbidden", "/projects"),
        "p-forbidden-delete": ({"id": "p-forbidden-delete", "op": "delete", "path": "/projects/notes",
                                "token": world.tokens["alice"], "reply_to": r}, "forbidden", "/projects/notes"),
    }
    unanswerable = ["this is not JSON {", "[1, 2, 3]", json.dumps({"op": "get", "path": "/pub/doc"})]
    bodies = [body for body, _, _ in poison.values()] + unanswerable
    sqs.send(queue.url, bodies)

    runner = SqsRunner(settings, queue_url=queue.url)
    total = len(bodies)
    run_until(runner, lambda: sqs.counts(queue.dlq)[0] == total and sqs.empty(queue.url)
              and counter(runner, "in_flight") == 0, "every poison message dead-lettered")

    # Counted failed once each (received twice each: the second is answered from the record
    # or, for a body that is no request, not counted again).
    assert counter(runner, "failed") == total, runner.counters.values
    assert counter(runner, "processed") == 0, runner.counters.values
    replies = sqs.replies(replies_q.url)
    assert set(replies) == set(poison), {k: len(v) for k, v in replies.items()}
    for request_id, (_, code, names_field) in poison.items():
        reply = only_reply(replies, request_id)
        assert reply["status"] == "error" and reply["op"] == poison[request_id][0]["op"], reply
        assert set(reply["error"]) == {"code", "message"}, reply
        assert reply["error"]["code"] == code, reply
        message = reply["error"]["message"]
        assert message and "\n" not in message and "Traceback" not in message, reply
        assert names_field in message, reply
        assert "replayed" not in reply, reply
    dead = sorted(sqs.drain(queue.dlq))
    assert dead == sorted(b if isinstance(b, str) else json.dumps(b) for b in bodies)
    assert sqs.empty(queue.url)
    with Store(settings) as context:  # nothing was applied
        for path in ("/pub/new", "/projects/bobs"):
            with pytest.raises(NotFound):
                context.get(path)
        assert context.get("/projects/notes").version == 1


def test_poison_message_on_a_queue_without_redrive_policy_is_deleted_after_its_reply(sqs: Sqs):
    settings = load_settings()
    queue, replies_q = sqs.queue(), sqs.queue()
    bodies = [{"id": "np-op", "op": "frob", "path": "/x", "reply_to": replies_q.url},
              {"id": "np-nosuch", "op": "get", "path": "/nowhere", "reply_to": replies_q.url},
              "not JSON at all"]
    sqs.send(queue.url, bodies)
    runner = SqsRunner(settings, queue_url=queue.url)
    run_until(runner, lambda: counter(runner, "failed") == 3 and counter(runner, "in_flight") == 0
              and sqs.empty(queue.url), "the poison messages deleted")
    assert "has no redrive policy" in log_text(runner)
    replies = sqs.replies(replies_q.url)
    assert set(replies) == {"np-op", "np-nosuch"}
    assert only_reply(replies, "np-op")["error"]["code"] == "invalid_message"
    assert only_reply(replies, "np-nosuch")["error"]["code"] == "not_found"
    assert runner.counters.values["redelivered"] == 0
    assert sqs.empty(queue.url)


def test_a_poison_message_whose_first_delivery_went_unanswered_still_gets_its_reply(sqs: Sqs):
    """A runner that stops gives back what it received but had not begun: the next
    delivery is not the first, and must still be answered, once."""
    settings = load_settings()
    queue, replies_q = sqs.queue(max_receives=4), sqs.queue()
    sqs.send(queue.url, [{"id": "late", "op": "frob", "path": "/x", "reply_to": replies_q.url}])
    given_back = sqs.client.receive_message(QueueUrl=queue.url, WaitTimeSeconds=5)["Messages"]
    sqs.client.change_message_visibility(QueueUrl=queue.url, ReceiptHandle=given_back[0]["ReceiptHandle"],
                                         VisibilityTimeout=0)
    runner = SqsRunner(settings, queue_url=queue.url)
    run_until(runner, lambda: sqs.counts(queue.dlq) == (1, 0) and counter(runner, "in_flight") == 0,
              "the poison message in the dead-letter queue")
    replies = sqs.replies(replies_q.url)
    assert only_reply(replies, "late")["error"]["code"] == "invalid_message"
    assert counter(runner, "failed") == 1


# -- 3. duplicates ---------------------------------------------------------------------------------


def check_duplicates(replies: dict[str | None, list[dict[str, Any]]], request_id: str, count: int) -> dict:
    """``count`` replies for the id: one first outcome, the others replayed and equal to it."""
    got = replies.get(request_id, [])
    assert len(got) == count, (request_id, got)
    first = [r for r in got if not r.get("replayed")]
    assert len(first) == 1, (request_id, got)
    for reply in got:
        if reply is not first[0]:
            assert reply["replayed"] is True, reply
            assert {k: v for k, v in reply.items() if k != "replayed"} == first[0], (reply, first[0])
    return first[0]


def test_duplicates_are_applied_once_and_answered_from_the_record(sqs: Sqs):
    settings = load_settings()
    with Store(settings) as context:
        world = build_world(context)
        context.create("/dup", "Folder")
        context.create("/dup/src", "Document", {"title": "source"})
        context.create("/dup/counter", "Document", {"title": "counter", "description": "0"})
    queue, replies_q = sqs.queue(max_receives=5), sqs.queue()
    r = replies_q.url
    copy = {"id": "copy-1", "op": "action", "path": "/dup/src", "action": "copy", "target": "/dup/copy",
            "reply_to": r}
    update = {"id": "upd-1", "op": "update", "path": "/dup/counter", "attributes": {"description": "1"}, "reply_to": r}
    create = {"id": "create-1", "op": "create", "path": "/dup/new", "type": "Document",
              "attributes": {"title": "new"}, "reply_to": r}
    by_admin = {"id": "shared-1", "op": "create", "path": "/dup/by-admin", "type": "Document",
                "attributes": {"title": "a"}, "reply_to": r}
    by_carol = {"id": "shared-1", "op": "create", "path": "/projects/by-carol", "type": "Document",
                "attributes": {"title": "c"}, "token": world.tokens["carol"], "reply_to": r}
    # First batch: duplicates inside one batch.
    sqs.send(queue.url, [copy, update, copy, create, update, by_admin, by_carol, create])
    second = [copy, update, create, by_carol]  # across batches, after the first ones are applied

    runner = SqsRunner(settings, queue_url=queue.url)

    async def main() -> None:
        manager = RunnerManager()
        manager.start(runner)
        try:
            await until(settled(runner, 8), "the first batch")
            await asyncio.to_thread(sqs.send, queue.url, second)
            await until(lambda: settled(runner, 12)() and sqs.empty(queue.url), "the second batch")
        finally:
            await stop(manager, runner)

    asyncio.run(main())
    values = runner.counters.values
    assert (values["processed"], values["redelivered"], values["failed"]) == (5, 7, 0), values
    replies = sqs.replies(r)
    first_copy = check_duplicates(replies, "copy-1", 3)
    assert first_copy["status"] == "ok" and first_copy["result"]["path"] == "/dup/copy"
    first_update = check_duplicates(replies, "upd-1", 3)
    assert first_update["status"] == "ok" and first_update["result"]["version"] == 2
    first_create = check_duplicates(replies, "create-1", 3)
    assert first_create["status"] == "ok" and first_create["result"]["path"] == "/dup/new"
    # Same id from two principals: independent requests (carol's sent twice).
    shared = replies["shared-1"]
    assert len(shared) == 3, shared
    assert sorted(x["result"]["path"] for x in shared if not x.get("replayed")) == [
        "/dup/by-admin", "/projects/by-carol"], shared
    assert [x["result"]["path"] for x in shared if x.get("replayed")] == ["/projects/by-carol"], shared
    with Store(settings) as context:
        assert sorted(children(context, "/dup")) == ["by-admin", "copy", "counter", "new", "src"]
        assert context.get("/dup/counter").version == 2
        assert context.get("/dup/counter").attributes["description"] == "1"
        assert context.get("/dup/new").version == 1
        assert context.get("/dup/copy").id == first_copy["result"]["id"]
        assert context.get("/projects/by-carol").owner == "carol"
        assert context.get("/dup/by-admin").owner == "admin"


# -- 4. duplicates racing on PostgreSQL ------------------------------------------------------------


def test_duplicates_racing_in_one_batch_on_postgresql_apply_once(sqs: Sqs, pg_schema, monkeypatch):
    postgres_environment(monkeypatch, pg_schema)
    monkeypatch.setenv("REALNET_SQS_VISIBILITY_TIMEOUT", "5")
    settings = load_settings()
    rounds = 6
    with Store(settings) as context:
        context.create("/race", "Folder")
        context.create("/race/src", "Document", {"title": "source"})
        for j in range(rounds):
            context.create(f"/race/cnt{j}", "Document", {"title": f"cnt{j}", "description": "0"})
    queue, replies_q = sqs.queue(max_receives=5), sqs.queue()
    r = replies_q.url
    bodies = []
    for j in range(rounds):
        update = {"id": f"u{j}", "op": "update", "path": f"/race/cnt{j}", "attributes": {"description": str(j + 1)},
                  "reply_to": r}
        copy = {"id": f"k{j}", "op": "action", "path": "/race/src", "action": "copy",
                "target": f"/race/copy{j}", "reply_to": r}
        create = {"id": f"c{j}", "op": "create", "path": f"/race/new{j}", "type": "Document",
                  "attributes": {"title": f"new{j}"}, "reply_to": r}
        bodies += [update, update, update, copy, copy, copy, create, create, create]
    sqs.send(queue.url, bodies)  # each run of three lands in one batch of ten
    runner = SqsRunner(settings, queue_url=queue.url, concurrency=10)
    run_until(runner, lambda: sqs.empty(queue.url) and counter(runner, "in_flight") == 0
              and counter(runner, "processed") + counter(runner, "redelivered") >= len(bodies),
              "the racing duplicates")
    values = runner.counters.values
    assert values["processed"] == 3 * rounds and values["failed"] == 0, values
    assert values["redelivered"] == 2 * 3 * rounds, values
    replies = sqs.replies(r)
    for j in range(rounds):
        assert check_duplicates(replies, f"u{j}", 3)["result"]["version"] == 2
        assert check_duplicates(replies, f"k{j}", 3)["result"]["path"] == f"/race/copy{j}"
        assert check_duplicates(replies, f"c{j}", 3)["result"]["path"] == f"/race/new{j}"
    with Store(settings) as context:
        items = children(context, "/race")
        assert sorted(items) == sorted(["src"] + [f"{p}{j}" for j in range(rounds)
                                                  for p in ("cnt", "copy", "new")])
        for j in range(rounds):
            assert (items[f"cnt{j}"].version, items[f"cnt{j}"].attributes["description"]) == (2, str(j + 1))
            assert items[f"copy{j}"].version == 1 and items[f"new{j}"].version == 1


# -- 5. the endpoint away mid-run --------------------------------------------------------------------


def test_endpoint_stopped_and_restarted_mid_run(own_sqs):
    sqs, server = own_sqs
    settings = load_settings()
    count = 60
    with Store(settings) as context, context.transaction():
        context.create("/out", "Folder")
        for i in range(count):
            context.create(f"/out/u{i}", "Document", {"title": f"u{i}"})
    queue, replies_q = sqs.queue(max_receives=10, visibility=10), sqs.queue()
    bodies = []
    for i in range(count):
        bodies.append({"id": f"u{i}", "op": "update", "path": f"/out/u{i}", "attributes": {"description": str(i + 1)},
                       "reply_to": replies_q.url})
        bodies.append({"id": f"c{i}", "op": "create", "path": f"/out/c{i}", "type": "Document",
                       "attributes": {"title": f"c{i}"}, "reply_to": replies_q.url})
    sqs.send(queue.url, bodies)
    runner = SqsRunner(settings, queue_url=queue.url)
    handled = lambda: counter(runner, "processed") + counter(runner, "failed")  # noqa: E731
    collector = Collector(sqs, replies_q.url)

    async def main() -> None:
        manager = RunnerManager()
        manager.start(runner)
        try:
            await until(lambda: handled() >= 20, "a first part of the messages")
            server.stop()
            at_stop = handled()
            await asyncio.sleep(3)  # the endpoint away: the runner backs off
            assert handled() < len(bodies), "the outage came too late to test anything"
            assert "cannot receive" in log_text(runner)
            server.start()
            assert handled() >= at_stop
            await until(lambda: counter(runner, "processed") >= len(bodies)
                        and counter(runner, "in_flight") == 0 and sqs.empty(queue.url),
                        "every message after the restart")
        finally:
            await stop(manager, runner)

    asyncio.run(main())
    values = runner.counters.values
    assert values["processed"] == len(bodies) and values["failed"] == 0, values
    text = log_text(runner)
    assert "cannot receive" in text and "reachable again" in text, text[-3000:]
    assert sqs.empty(queue.url) and sqs.counts(queue.dlq) == (0, 0)
    # Replies sent while the endpoint was away are lost (the log says so); those that came are
    # right, and no request has two first outcomes.
    for request_id, got in collector.replies().items():
        assert all(x["status"] == "ok" for x in got), got
        assert len([x for x in got if not x.get("replayed")]) <= 1, got
        assert request_id is not None
    with Store(settings) as context:
        items = children(context, "/out")
        assert len(items) == 2 * count
        for i in range(count):
            assert (items[f"u{i}"].version, items[f"u{i}"].attributes["description"]) == (2, str(i + 1))
            assert items[f"c{i}"].version == 1


# -- 6. stopping during a batch ---------------------------------------------------------------------


def lock_row(schema_url: str, path: str):
    """A separate connection holding a row lock on the item at ``path`` (rollback() frees it)."""
    import psycopg

    connection = psycopg.connect(schema_url)
    row = connection.execute("SELECT id FROM items WHERE path = %s FOR UPDATE", (path,)).fetchone()
    assert row is not None, path
    return connection


def test_stop_during_a_batch_leaves_in_flight_work_applied_exactly_once(sqs: Sqs, pg_schema, monkeypatch):
    postgres_environment(monkeypatch, pg_schema)
    monkeypatch.setenv("REALNET_SQS_VISIBILITY_TIMEOUT", "5")
    settings = load_settings()
    with Store(settings) as context:
        context.create("/slow", "Folder")
        context.create("/slow/held", "Document", {"title": "held"})
        for i in range(5):
            context.create(f"/slow/q{i}", "Document", {"title": f"q{i}"})
    queue, replies_q = sqs.queue(max_receives=5), sqs.queue()
    bodies = [{"id": "held", "op": "update", "path": "/slow/held", "attributes": {"description": "1"},
               "reply_to": replies_q.url}]
    bodies += [{"id": f"q{i}", "op": "update", "path": f"/slow/q{i}", "attributes": {"description": "1"},
                "reply_to": replies_q.url} for i in range(5)]
    lock = lock_row(pg_schema, "/slow/held")
    release = threading.Timer(HANG, lock.rollback)  # whatever happens, the lock goes in the end
    release.start()
    first = SqsRunner(settings, queue_url=queue.url)
    try:
        sqs.send(queue.url, bodies)

        async def main() -> None:
            manager = RunnerManager()
            manager.start(first)
            try:
                await until(lambda: counter(first, "processed") == 5 and counter(first, "in_flight") == 1,
                            "the quick ones done, the held one in flight")
            finally:
                await stop(manager, first, deadline=1.0)
                lock.rollback()  # the work left behind may go on now

        asyncio.run(main())
    finally:
        release.cancel()
        lock.close()
    assert "did not finish within 1 s" in log_text(first), log_text(first)

    second = SqsRunner(settings, queue_url=queue.url)
    run_until(second, lambda: sqs.empty(queue.url) and counter(second, "in_flight") == 0
              and counter(second, "processed") + counter(second, "redelivered") >= 1,
              "the held message handled by a second runner")
    assert counter(second, "processed") + counter(second, "redelivered") == 1, second.counters.values
    assert counter(first, "failed") == counter(second, "failed") == 0
    replies = sqs.replies(replies_q.url)
    for i in range(5):
        assert only_reply(replies, f"q{i}")["status"] == "ok"
    held = replies["held"]
    assert held and all(x["status"] == "ok" and x["result"]["version"] == 2 for x in held), held
    assert len([x for x in held if not x.get("replayed")]) <= 1, held
    with Store(settings) as context:
        item = context.get("/slow/held")
        assert (item.version, item.attributes["description"]) == (2, "1")
        for i in range(5):
            assert context.get(f"/slow/q{i}").version == 2
    assert sqs.empty(queue.url) and sqs.counts(queue.dlq) == (0, 0)


def test_stop_while_a_long_poll_is_pending_loses_nothing(sqs: Sqs, monkeypatch):
    monkeypatch.setenv("REALNET_SQS_WAIT_SECONDS", "20")
    settings = load_settings()
    queue, replies_q = sqs.queue(max_receives=5, visibility=5), sqs.queue()
    bodies = [{"id": f"late{i}", "op": "create", "path": f"/late{i}", "type": "Document",
               "attributes": {"title": "late"}, "reply_to": replies_q.url} for i in range(5)]
    first = SqsRunner(settings, queue_url=queue.url)

    async def main() -> None:
        manager = RunnerManager()
        manager.start(first)
        await asyncio.sleep(1.5)  # the first long poll (20 s) is pending now
        # The hang detector is below the poll's 20 s: the stop must not wait for the poll.
        await asyncio.wait_for(manager.stop("sqs", deadline=5), 15)
        assert first.state == "stopped"
        # The poll still pending at the endpoint brings these; the stopped runner gives them back.
        await asyncio.to_thread(sqs.send, queue.url, bodies)

    asyncio.run(main())
    assert counter(first, "processed") == 0

    second_settings = dataclasses.replace(settings, sqs_wait_seconds=1)
    second = SqsRunner(second_settings, queue_url=queue.url)
    run_until(second, lambda: counter(second, "processed") == 5 and counter(second, "in_flight") == 0
              and sqs.empty(queue.url), "the messages sent during the stop")
    replies = sqs.replies(replies_q.url)
    for i in range(5):
        assert only_reply(replies, f"late{i}")["status"] == "ok"
    with Store(settings) as context:
        for i in range(5):
            assert context.get(f"/late{i}").version == 1
    assert sqs.empty(queue.url) and sqs.counts(queue.dlq) == (0, 0)


# -- 7. visibility extended while the work takes long ----------------------------------------------


def test_visibility_is_extended_while_work_outlasts_the_timeout(sqs: Sqs, pg_schema, monkeypatch):
    postgres_environment(monkeypatch, pg_schema)
    monkeypatch.setenv("REALNET_SQS_VISIBILITY_TIMEOUT", "2")
    settings = load_settings()
    with Store(settings) as context:
        context.create("/vis", "Document", {"title": "vis"})
    queue, replies_q = sqs.queue(max_receives=5), sqs.queue()
    lock = lock_row(pg_schema, "/vis")
    release = threading.Timer(HANG, lock.rollback)
    release.start()
    first, other = SqsRunner(settings, queue_url=queue.url), SqsRunner(settings, queue_url=queue.url)
    try:
        sqs.send(queue.url, [{"id": "vis-1", "op": "update", "path": "/vis", "attributes": {"description": "1"},
                              "reply_to": replies_q.url}])

        async def main() -> None:
            one, two = RunnerManager(), RunnerManager()
            one.start(first)
            try:
                await until(lambda: counter(first, "in_flight") == 1, "the first runner at work")
                two.start(other)
                try:
                    await asyncio.sleep(5)  # the work blocked for 2.5 visibility timeouts
                    lock.rollback()
                    await until(lambda: counter(first, "processed") == 1 and counter(first, "in_flight") == 0
                                and sqs.empty(queue.url), "the held message done")
                    await asyncio.sleep(1)  # the other runner had its chance to see it again
                finally:
                    await stop(two, other)
            finally:
                await stop(one, first)

        asyncio.run(main())
    finally:
        release.cancel()
        lock.close()
    assert other.counters.values["processed"] == other.counters.values["redelivered"] == 0, \
        other.counters.values
    assert first.counters.values["redelivered"] == 0 and first.counters.values["failed"] == 0
    assert "could not extend" not in log_text(first)
    replies = sqs.replies(replies_q.url)
    reply = only_reply(replies, "vis-1")
    assert reply["status"] == "ok" and reply["result"]["version"] == 2 and "replayed" not in reply
    with Store(settings) as context:
        item = context.get("/vis")
        assert (item.version, item.attributes["description"]) == (2, "1")
    assert sqs.empty(queue.url) and sqs.counts(queue.dlq) == (0, 0)


# -- 8. content by reference --------------------------------------------------------------------------


def test_put_and_fetch_by_reference(sqs: Sqs, monkeypatch):
    s3 = boto3.session.Session().client("s3", endpoint_url=sqs.endpoint, region_name="us-east-1",
                                        aws_access_key_id="testing", aws_secret_access_key="testing")
    allowed, other = f"rn-in-{uuid.uuid4().hex[:12]}", f"rn-other-{uuid.uuid4().hex[:12]}"
    for bucket in (allowed, other):
        s3.create_bucket(Bucket=bucket)
    content = os.urandom(3 * 1024 * 1024 + 12345)  # several chunks
    s3.put_object(Bucket=allowed, Key="in/data.bin", Body=content)
    s3.put_object(Bucket=other, Key="secret.bin", Body=b"not for the runner")
    monkeypatch.setenv("REALNET_AWS_ENDPOINT_URL", sqs.endpoint)
    monkeypatch.setenv("REALNET_SQS_CONTENT_BUCKETS", f"{allowed},rn-unused-bucket")
    settings = load_settings()
    with Store(settings) as context:
        context.create("/files", "Folder")
    queue, replies_q = sqs.queue(), sqs.queue()
    r = replies_q.url
    sqs.send(queue.url, [
        {"id": "put-ok", "op": "put", "path": "/files/data.bin", "from": {"bucket": allowed, "key": "in/data.bin"},
         "reply_to": r},
        {"id": "put-other", "op": "put", "path": "/files/secret.bin",
         "from": {"bucket": other, "key": "secret.bin"}, "reply_to": r},
        {"id": "put-missing", "op": "put", "path": "/files/missing.bin",
         "from": {"bucket": allowed, "key": "no/such/key"}, "reply_to": r},
    ])
    runner = SqsRunner(settings, queue_url=queue.url)

    async def main() -> None:
        manager = RunnerManager()
        manager.start(runner)
        try:
            await until(settled(runner, 3), "the puts")
            await asyncio.to_thread(sqs.send, queue.url, [
                {"id": "fetch-ok", "op": "fetch", "path": "/files/data.bin",
                 "to": {"bucket": allowed, "key": "out/copy.bin"}, "reply_to": r},
                {"id": "fetch-other", "op": "fetch", "path": "/files/data.bin",
                 "to": {"bucket": other, "key": "stolen.bin"}, "reply_to": r},
                {"id": "fetch-missing", "op": "fetch", "path": "/files/nothing.bin",
                 "to": {"bucket": allowed, "key": "out/nothing.bin"}, "reply_to": r},
            ])
            await until(lambda: settled(runner, 6)() and sqs.empty(queue.url), "the fetches")
        finally:
            await stop(manager, runner)

    asyncio.run(main())
    digest = hashlib.sha256(content).hexdigest()
    replies = sqs.replies(r)
    put = only_reply(replies, "put-ok")
    assert put["status"] == "ok", put
    assert put["result"]["path"] == "/files/data.bin"
    assert put["result"]["attributes"]["size"] == len(content)
    assert put["result"]["attributes"]["sha256"] == digest
    fetched = only_reply(replies, "fetch-ok")
    assert fetched["status"] == "ok", fetched
    assert fetched["result"] == {"bucket": allowed, "key": "out/copy.bin", "size": len(content), "sha256": digest}
    assert s3.get_object(Bucket=allowed, Key="out/copy.bin")["Body"].read() == content
    for request_id, field in (("put-other", "message.from.bucket"), ("fetch-other", "message.to.bucket")):
        reply = only_reply(replies, request_id)
        assert reply["status"] == "error" and reply["error"]["code"] == "forbidden", reply
        assert "REALNET_SQS_CONTENT_BUCKETS" in reply["error"]["message"], reply
        assert field in reply["error"]["message"] and other in reply["error"]["message"], reply
    assert s3.list_objects_v2(Bucket=other).get("KeyCount") == 1  # nothing written there
    for request_id in ("put-missing", "fetch-missing"):
        reply = only_reply(replies, request_id)
        assert reply["status"] == "error" and reply["error"]["code"] == "not_found", reply
    assert "no/such/key" in only_reply(replies, "put-missing")["error"]["message"]
    assert (counter(runner, "processed"), counter(runner, "failed")) == (2, 4), runner.counters.values
    with Store(settings) as context:
        assert sorted(children(context, "/files")) == ["data.bin"]
        item = context.get("/files/data.bin")
        assert (item.attributes["size"], item.attributes["sha256"]) == (len(content), digest)
        with pytest.raises(NotFound):
            context.get("/files/missing.bin")


# -- 9. forgetting old request records ------------------------------------------------------------


def forget_old_records(settings) -> None:
    with Store(settings) as context:
        provider = context.provider
        with context.transaction():
            assert provider.record_request("admin", "old-1", '{"old": 1}')
            assert provider.record_request("bob", "old-1", '{"old": 2}')
        time.sleep(1.5)
        with context.transaction():
            assert provider.record_request("admin", "new-1", '{"new": 1}')
            assert not provider.record_request("admin", "new-1", '{"new": 2}')  # already recorded
        assert provider.forget_requests(3600) == 0
        assert provider.request_outcome("admin", "old-1") == '{"old": 1}'
        assert provider.forget_requests(1) == 2
        assert provider.request_outcome("admin", "old-1") is None
        assert provider.request_outcome("bob", "old-1") is None
        assert provider.request_outcome("admin", "new-1") == '{"new": 1}'


def test_request_records_are_forgotten_after_the_window_sqlite():
    forget_old_records(load_settings())


def test_request_records_are_forgotten_after_the_window_postgresql(pg_schema, monkeypatch):
    postgres_environment(monkeypatch, pg_schema)
    forget_old_records(load_settings())


def test_runner_forgets_records_older_than_its_window(sqs: Sqs):
    """A record older than REALNET_SQS_REQUEST_WINDOW is dropped when the runner starts, so the
    same id is a new request again (the window is set below its one-minute minimum here)."""
    settings = load_settings()
    assert load_settings({**os.environ, "REALNET_SQS_REQUEST_WINDOW": "2d"}).sqs_request_window == 2 * 86400
    queue, replies_q = sqs.queue(), sqs.queue()
    request = {"id": "again-1", "op": "create", "path": "/again", "type": "Document", "attributes": {"title": "a"},
               "reply_to": replies_q.url}
    sqs.send(queue.url, [request])
    first = SqsRunner(settings, queue_url=queue.url)
    run_until(first, lambda: counter(first, "processed") == 1 and sqs.empty(queue.url), "the first create")
    with Store(settings) as context:
        context.delete("/again")
    time.sleep(1.5)
    sqs.send(queue.url, [request])
    second = SqsRunner(dataclasses.replace(settings, sqs_request_window=1), queue_url=queue.url)
    run_until(second, lambda: counter(second, "processed") == 1 and sqs.empty(queue.url), "the second create")
    assert "forgot 1 request record(s) older than 1 s" in log_text(second)
    assert counter(second, "redelivered") == 0
    replies = sqs.replies(replies_q.url)["again-1"]
    assert [x.get("replayed") for x in replies] == [None, None], replies
    with Store(settings) as context:
        assert context.get("/again").version == 1
