"""The faces of the SQS runner outside the shell, as real processes against a real SQS
endpoint: ``realnet sqs create-queue|send|receive`` and ``realnet server --sqs``.

The endpoint is moto in server mode (tests/sqsserver.py); every ``realnet`` here is a
child process with this test's REALNET_HOME, the test credentials and
REALNET_SQS_ENDPOINT_URL. Waits are bounded polls that keep a broken runner from hanging
the run; none is a performance assertion. Servers are stopped by their own PID.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqsserver import WAIT_SECONDS, Sqs, aws_environment, unique

from realnet.resources.accounts import Directory

LISTENING = re.compile(r"http: listening on 127\.0\.0\.1:(\d+)")
DEADLINE = 30.0  # the server's own drain deadline (--deadline)


def realnet_command() -> list[str]:
    script = Path(sys.executable).with_name("realnet")
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    return [sys.executable, "-m", "realnet"]


def environment(**extra: str) -> dict[str, str]:
    """This test's environment (conftest's REALNET_HOME, the SQS settings of ``sqs``)."""
    return {**os.environ, **extra}


def realnet(*args: str, stdin: str | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    """``realnet ARGS`` as its own process; a hang detector, not a speed limit."""
    return subprocess.run([*realnet_command(), *args], capture_output=True, text=True,
                          input=stdin, stdin=None if stdin is not None else subprocess.DEVNULL,
                          env=environment(**env), timeout=WAIT_SECONDS)


def one_line(result: subprocess.CompletedProcess[str], code: int = 1) -> str:
    """The single stderr line of a command that failed with ``code``, nothing on stdout."""
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    assert result.stdout == "", result.stdout
    assert result.stderr.endswith("\n") and result.stderr.count("\n") == 1, result.stderr
    assert "Traceback" not in result.stderr
    return result.stderr.rstrip("\n")


@pytest.fixture
def sqs(s3_server: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, realnet_home: Path) -> Sqs:
    aws_environment(monkeypatch, tmp_path, s3_server)
    return Sqs(s3_server)


# -- realnet sqs create-queue -----------------------------------------------------------------

def redrive(sqs: Sqs, queue: str) -> dict[str, object]:
    attributes = sqs.attributes(queue)
    assert "RedrivePolicy" in attributes, attributes
    return json.loads(attributes["RedrivePolicy"])


def test_create_queue_makes_the_queue_and_its_dead_letter_queue(sqs: Sqs) -> None:
    name = unique("rn-cq")
    result = realnet("sqs", "create-queue", name)
    assert result.returncode == 0, result.stderr
    queue = sqs.client.get_queue_url(QueueName=name)["QueueUrl"]
    dlq = sqs.client.get_queue_url(QueueName=f"{name}-dlq")["QueueUrl"]
    assert result.stdout.splitlines() == [queue, f"dead letters: {dlq} after 5 receives"], result.stdout
    policy = redrive(sqs, queue)
    assert int(policy["maxReceiveCount"]) == 5
    assert policy["deadLetterTargetArn"] == sqs.arn(dlq)
    assert sqs.attributes(queue)["VisibilityTimeout"] == "30"
    assert "RedrivePolicy" not in sqs.attributes(dlq)


def test_create_queue_max_receives_and_json_output(sqs: Sqs) -> None:
    name = unique("rn-cq")
    result = realnet("sqs", "create-queue", name, "--max-receives", "2", "-o", "json")
    assert result.returncode == 0, result.stderr
    queue = sqs.client.get_queue_url(QueueName=name)["QueueUrl"]
    dlq = sqs.client.get_queue_url(QueueName=f"{name}-dlq")["QueueUrl"]
    assert json.loads(result.stdout) == {"queue_url": queue, "dead_letter_queue_url": dlq}
    policy = redrive(sqs, queue)
    assert int(policy["maxReceiveCount"]) == 2
    assert policy["deadLetterTargetArn"] == sqs.arn(dlq)


def test_create_queue_with_a_named_dead_letter_queue(sqs: Sqs) -> None:
    name, dead = unique("rn-cq"), unique("rn-graveyard")
    result = realnet("sqs", "create-queue", name, "--dead-letter", dead, "-o", "json")
    assert result.returncode == 0, result.stderr
    dlq = sqs.client.get_queue_url(QueueName=dead)["QueueUrl"]
    assert json.loads(result.stdout)["dead_letter_queue_url"] == dlq
    assert redrive(sqs, json.loads(result.stdout)["queue_url"])["deadLetterTargetArn"] == sqs.arn(dlq)
    assert not sqs.exists(f"{name}-dlq")


def test_create_queue_without_a_dead_letter_queue(sqs: Sqs) -> None:
    name = unique("rn-cq")
    result = realnet("sqs", "create-queue", name, "--no-dead-letter", "-o", "json")
    assert result.returncode == 0, result.stderr
    queue = sqs.client.get_queue_url(QueueName=name)["QueueUrl"]
    assert json.loads(result.stdout) == {"queue_url": queue}
    assert "RedrivePolicy" not in sqs.attributes(queue)
    assert not sqs.exists(f"{name}-dlq")


@pytest.mark.parametrize("options", [["--dead-letter", "other", "--no-dead-letter"],
                                     ["--max-receives", "0"]], ids=["both-dead-letter-flags", "zero"])
def test_create_queue_usage_errors_are_one_line_exit_2(sqs: Sqs, options: list[str]) -> None:
    name = unique("rn-cq")
    line = one_line(realnet("sqs", "create-queue", name, *options), code=2)
    assert line.startswith("realnet"), line
    assert options[0] in line, line
    assert sqs.names(name) == set()
    assert not sqs.exists("other")


# -- realnet sqs send / receive without a runner --------------------------------------------------

@pytest.mark.parametrize(("body", "named"), [
    ("not json", "BODY: not JSON"),
    ("[1, 2]", "BODY: expected a JSON object"),
    ('{"op": "create", "path": "/a"}', "field 'type' is required"),
    ('{"op": "get", "path": "relative/a"}', "message.path"),
    ('{"op": "get", "path": "/a", "colour": "red"}', "colour"),
    ('{"id": "has spaces", "op": "get", "path": "/a"}', "message.id"),
    ('{"op": "frob", "path": "/a"}', "message.op"),
], ids=["not-json", "not-object", "missing-type", "relative-path", "unknown-field", "bad-id", "bad-op"])
def test_send_refuses_a_bad_body_before_sending(sqs: Sqs, body: str, named: str) -> None:
    queue = sqs.queue()
    replies_before = sqs.names("realnet-reply-")
    line = one_line(realnet("sqs", "send", queue, body, "--wait-reply", "--timeout", "5"))
    assert line.startswith("realnet: "), line
    assert named in line, line
    assert sqs.counts(queue) == (0, 0)
    assert sqs.take(queue, wait=0) == []
    assert sqs.names("realnet-reply-") == replies_before  # no reply queue left behind


def test_send_refuses_a_malformed_token_without_printing_it(sqs: Sqs) -> None:
    queue = sqs.queue()
    token = f"rn-{secrets.token_hex(300)}"  # over the schema's 512 characters
    line = one_line(realnet("sqs", "send", queue, json.dumps({"op": "get", "path": "/", "token": token})))
    assert "message.token" in line, line
    assert token[:40] not in line, f"the token was printed: {line[:160]}…"
    assert sqs.counts(queue) == (0, 0)


def test_send_reads_stdin_and_generates_the_id(sqs: Sqs) -> None:
    queue = sqs.queue()
    request = {"op": "create", "path": "/from-stdin", "type": "Folder"}
    result = realnet("sqs", "send", queue, "-", stdin=json.dumps(request))
    assert result.returncode == 0, result.stderr
    (sent,) = sqs.take(queue)
    message = json.loads(sent)
    generated = message.pop("id")
    assert str(uuid.UUID(generated)) == generated
    assert message == request
    assert result.stdout == f"sent {generated}\n"


def test_send_reads_a_file_and_keeps_its_id_with_json_output(sqs: Sqs, tmp_path: Path) -> None:
    queue = sqs.queue()
    request = {"id": "from-file.1", "op": "get", "path": "/apps", "reveal": True}
    path = tmp_path / "request.json"
    path.write_text(json.dumps(request), encoding="utf-8")
    result = realnet("sqs", "send", queue, f"@{path}", "-o", "json")
    assert result.returncode == 0, result.stderr
    (sent,) = sqs.take(queue)
    assert json.loads(sent) == request
    shown = json.loads(result.stdout)
    assert shown["id"] == "from-file.1" and shown["message_id"], shown


def test_send_of_a_missing_file_is_one_line(sqs: Sqs, tmp_path: Path) -> None:
    queue = sqs.queue()
    line = one_line(realnet("sqs", "send", queue, f"@{tmp_path / 'nothing.json'}"))
    assert "nothing.json" in line and "no such file" in line, line
    assert sqs.counts(queue) == (0, 0)


def test_no_reply_within_the_timeout_is_one_line_and_the_reply_queue_goes(sqs: Sqs) -> None:
    queue = sqs.queue()  # nobody reads it
    before = sqs.names("realnet-reply-")
    result = realnet("sqs", "send", queue, '{"id": "lonely-1", "op": "get", "path": "/"}',
                     "--wait-reply", "--timeout", "2")
    line = one_line(result)
    assert "lonely-1" in line and "no reply within 2 s" in line, line
    (sent,) = sqs.take(queue)
    reply_to = json.loads(sent)["reply_to"]
    assert reply_to.rsplit("/", 1)[1].startswith("realnet-reply-"), sent
    assert sqs.names("realnet-reply-") == before, "the temporary reply queue was left behind"


def test_receive_prints_bodies_one_per_line_and_deletes_them(sqs: Sqs) -> None:
    queue = sqs.queue()
    bodies = ['{"n": 1}', "plain text", '{"n": 3, "s": "é"}']
    sqs.send(queue, *bodies)
    result = realnet("sqs", "receive", queue, "--wait", "1")
    assert result.returncode == 0, result.stderr
    assert sorted(result.stdout.splitlines()) == sorted(bodies)
    assert sqs.counts(queue) == (0, 0)


def test_receive_keep_leaves_the_messages_on_the_queue(sqs: Sqs) -> None:
    queue = sqs.queue()
    bodies = ['{"n": 1}', '{"n": 2}']
    sqs.send(queue, *bodies)
    result = realnet("sqs", "receive", queue, "--wait", "1", "--keep")
    assert result.returncode == 0, result.stderr
    assert sorted(result.stdout.splitlines()) == sorted(bodies)
    assert sqs.counts(queue) == (0, 2)  # received, hidden for their timeout, not deleted
    sqs.client.purge_queue(QueueUrl=queue)


# -- realnet server --sqs ------------------------------------------------------------------------

@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    stderr_path: Path
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.stderr_path.read_text(encoding="utf-8", errors="replace")

    def alive(self) -> None:
        if self.proc.poll() is not None:
            pytest.fail(f"realnet server exited {self.proc.returncode}:\n{self.log()}")

    def wait_ready(self) -> None:
        """Until the log says both runners started and /readyz answers."""
        deadline = time.monotonic() + WAIT_SECONDS
        with httpx.Client(timeout=5) as http:
            while True:
                self.alive()
                log = self.log()
                found = LISTENING.search(log)
                if found and "sqs: reading " in log:
                    self.port = int(found.group(1))
                    with suppress(httpx.TransportError):
                        if http.get(f"{self.url}/readyz").status_code == 200:
                            return
                if time.monotonic() > deadline:
                    pytest.fail(f"realnet server never became ready:\n{log}")
                time.sleep(0.05)

    def terminate(self) -> int:
        os.kill(self.proc.pid, signal.SIGTERM)
        try:
            return self.proc.wait(timeout=DEADLINE + 15)
        except subprocess.TimeoutExpired:
            pytest.fail(f"realnet server did not exit after SIGTERM:\n{self.log()}")


@contextmanager
def server_process(tmp_path: Path, *args: str, **env: str) -> Iterator[Server]:
    """``realnet server --port 0 ARGS``, ready; killed by PID at the end if still running."""
    stderr_path = tmp_path / f"server-{uuid.uuid4().hex[:8]}.err"
    with stderr_path.open("wb") as err:
        proc = subprocess.Popen([*realnet_command(), "server", "--host", "127.0.0.1", "--port", "0",
                                 "--deadline", str(DEADLINE), *args],
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err,
                                cwd=tmp_path, env=environment(**env))
    server = Server(proc, stderr_path)
    try:
        server.wait_ready()
        yield server
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=WAIT_SECONDS)


def test_send_wait_reply_prints_the_reply_and_an_error_reply_exits_1(sqs: Sqs, tmp_path: Path) -> None:
    queue = sqs.queue(max_receives=5)
    before = sqs.names("realnet-reply-")
    with server_process(tmp_path, "--sqs", queue) as server:
        created = realnet("sqs", "send", queue, '{"op": "create", "path": "/sent", "type": "Folder"}',
                          "--wait-reply")
        assert created.returncode == 0, created.stderr
        reply = json.loads(created.stdout)
        assert str(uuid.UUID(reply["id"])) == reply["id"]  # generated
        assert reply["status"] == "ok" and reply["op"] == "create", reply
        assert reply["result"]["path"] == "/sent" and reply["result"]["type"] == "Folder", reply

        got = realnet("sqs", "send", queue, '{"id": "get-1", "op": "get", "path": "/sent"}',
                      "--wait-reply", "-o", "json")
        assert got.returncode == 0, got.stderr
        reply = json.loads(got.stdout)
        assert (reply["id"], reply["status"]) == ("get-1", "ok"), reply
        assert reply["result"]["path"] == "/sent"

        missing = realnet("sqs", "send", queue, '{"id": "get-2", "op": "get", "path": "/absent"}',
                          "--wait-reply")
        assert missing.returncode == 1, missing.stderr
        assert json.loads(missing.stdout)["error"]["code"] == "not_found", missing.stdout
        assert missing.stderr.count("\n") == 1, missing.stderr
        assert missing.stderr.startswith("realnet: get-2: not_found: "), missing.stderr
        assert "/absent" in missing.stderr
        assert server.terminate() == 0, server.log()
    assert sqs.names("realnet-reply-") == before, "a temporary reply queue was left behind"
    assert "Traceback" not in server.log()


@pytest.mark.parametrize("how", ["--sqs", "REALNET_SQS_QUEUE_URL"])
def test_the_server_reads_the_queue_and_answers_http(sqs: Sqs, tmp_path: Path, context, how: str) -> None:
    token = Directory(context).create_token("admin", "sqs-server", expires=None).token
    queue, replies = sqs.queue(), sqs.queue("rn-reply", max_receives=None)
    args, env = (("--sqs", queue), {}) if how == "--sqs" else ((), {"REALNET_SQS_QUEUE_URL": queue})
    with server_process(tmp_path, *args, **env) as server:
        sqs.send(queue, {"id": "c1", "op": "create", "path": "/queued", "type": "Folder",
                         "reply_to": replies})
        found = sqs.replies(replies, ["c1"], alive=server.alive)
        sqs.send(queue, {"id": "c2", "op": "create", "path": "/queued/doc", "type": "Document",
                         "attributes": {"title": "From the queue"}, "reply_to": replies},
                 {"id": "e1", "op": "get", "path": "/queued/absent", "reply_to": replies})
        found.update(sqs.replies(replies, ["c2", "e1"], alive=server.alive))
        with httpx.Client(base_url=server.url, timeout=30,
                          headers={"Authorization": f"Bearer {token}"}) as http:
            assert http.get("/healthz").status_code == 200
            doc = http.get("/api/v1/items/queued/doc")
            assert doc.status_code == 200, doc.text
            assert doc.json()["attributes"]["title"] == "From the queue"
            assert doc.json()["id"] == found["c2"][0]["result"]["id"]
        assert server.terminate() == 0, server.log()
    (c1,), (c2,), (e1,) = found["c1"], found["c2"], found["e1"]
    assert (c1["status"], c1["result"]["path"]) == ("ok", "/queued"), c1
    assert (c2["status"], c2["result"]["type"]) == ("ok", "Document"), c2
    assert (e1["status"], e1["error"]["code"]) == ("error", "not_found"), e1
    log = server.log()
    assert "SIGTERM" in log and "sqs: stopped" in log and "http: stopped" in log, log
    assert "Traceback" not in log
    assert token not in log
    assert sqs.counts(queue) == (0, 0), log


def test_sigterm_during_work_exits_0_and_loses_nothing(sqs: Sqs, tmp_path: Path, context) -> None:
    total = 100
    context.create("/drain", "Folder", {})
    queue, replies = sqs.queue(max_receives=5), sqs.queue("rn-reply", max_receives=None)
    ids = [f"d{n:03d}" for n in range(total)]
    sqs.send(queue, *({"id": i, "op": "create", "path": f"/drain/{i}", "type": "Folder",
                       "reply_to": replies} for i in ids))
    with server_process(tmp_path, "--sqs", queue) as server:
        first = sqs.client.receive_message(QueueUrl=replies, WaitTimeSeconds=10,
                                           MaxNumberOfMessages=1, VisibilityTimeout=0)
        while not first.get("Messages"):  # until the runner is at work
            server.alive()
            first = sqs.client.receive_message(QueueUrl=replies, WaitTimeSeconds=10,
                                               MaxNumberOfMessages=1, VisibilityTimeout=0)
        code = server.terminate()
    log = server.log()
    assert code == 0, log
    assert "Traceback" not in log

    listed = realnet("ls", "/drain")
    assert listed.returncode == 0, listed.stderr
    applied = set(listed.stdout.split())
    queued = [json.loads(body)["id"] for body in sqs.take(queue)]
    answered: dict[str, list[dict[str, object]]] = {}
    for body in sqs.take(replies):
        reply = json.loads(body)
        answered.setdefault(reply["id"], []).append(reply)

    lost = set(ids) - applied - set(queued)
    assert not lost, f"{len(lost)} request(s) neither applied nor back on the queue: {sorted(lost)}\n{log}"
    assert len(queued) == len(set(queued)), queued
    assert 0 < len(applied) < total, f"the stop did not come during the work ({len(applied)} applied)"
    assert set(answered) == applied, (sorted(set(answered) ^ applied), log)
    for request_id, got in answered.items():
        assert [r["status"] for r in got] == ["ok"], (request_id, got)  # applied once, answered once
    assert sqs.counts(sqs.dead_letters_of(queue)) == (0, 0)
    lines = log.splitlines()
    for request_id in applied:
        assert sum(f" {request_id} create " in line for line in lines) == 1, (request_id, log)
    signalled = next(n for n, line in enumerate(lines) if "SIGTERM received" in line)
    # The stop came during the work: requests were still in flight (being applied, or their
    # messages being deleted) and were finished, not dropped.
    assert any(re.search(r" d\d{3} create /drain/d\d{3} ok ", line) or
               re.search(r"sqs: finishing [1-9]\d* request\(s\) in flight", line)
               for line in lines[signalled:]), f"no request was still in flight at SIGTERM:\n{log}"
    assert any(line.endswith("sqs: stopped") for line in lines[signalled:]), log


def test_a_queue_that_does_not_exist_is_exit_1_with_one_line(sqs: Sqs, tmp_path: Path) -> None:
    missing = sqs.queue().rsplit("/", 1)[0] + "/" + unique("rn-none")
    result = subprocess.run([*realnet_command(), "server", "--port", "0", "--sqs", missing],
                            capture_output=True, text=True, stdin=subprocess.DEVNULL, cwd=tmp_path,
                            env=environment(), timeout=WAIT_SECONDS)
    line = one_line(result)
    assert missing in line and "no such queue" in line, line


def test_an_unknown_principal_is_one_line_naming_the_setting(sqs: Sqs, tmp_path: Path) -> None:
    queue = sqs.queue()
    result = subprocess.run([*realnet_command(), "server", "--port", "0", "--sqs", queue],
                            capture_output=True, text=True, stdin=subprocess.DEVNULL, cwd=tmp_path,
                            env=environment(REALNET_SQS_PRINCIPAL="nobody-here"), timeout=WAIT_SECONDS)
    line = one_line(result)
    assert "REALNET_SQS_PRINCIPAL" in line and "nobody-here" in line, line
    assert sqs.counts(queue) == (0, 0)


@pytest.mark.parametrize(("variable", "value"), [
    ("REALNET_SQS_CONCURRENCY", "0"),
    ("REALNET_SQS_CONCURRENCY", "many"),
    ("REALNET_SQS_REQUEST_WINDOW", "x"),
    ("REALNET_SQS_QUEUE_URL", "not-a-url"),
    ("REALNET_SQS_WAIT_SECONDS", "21"),
    ("REALNET_SQS_VISIBILITY_TIMEOUT", "0"),
    ("REALNET_SQS_CONTENT_BUCKETS", "Not_A_Bucket"),
])
def test_a_bad_sqs_setting_is_one_line_naming_the_variable(sqs: Sqs, tmp_path: Path, variable: str,
                                                          value: str) -> None:
    result = subprocess.run([*realnet_command(), "server", "--port", "0"], capture_output=True, text=True,
                            stdin=subprocess.DEVNULL, cwd=tmp_path, env=environment(**{variable: value}),
                            timeout=WAIT_SECONDS)
    line = one_line(result)
    assert line.startswith(f"realnet: {variable}"), line


def test_a_sqs_option_that_is_not_a_url_names_the_option(sqs: Sqs, tmp_path: Path) -> None:
    result = subprocess.run([*realnet_command(), "server", "--port", "0", "--sqs", "not-a-url"],
                            capture_output=True, text=True, stdin=subprocess.DEVNULL, cwd=tmp_path,
                            env=environment(), timeout=WAIT_SECONDS)
    line = one_line(result)
    assert "not-a-url" in line, line
    assert "--sqs" in line, f"the message names an option 'realnet server' does not have: {line}"


def test_requests_act_as_the_principal_or_their_token(sqs: Sqs, tmp_path: Path, context) -> None:
    directory = Directory(context)
    directory.add_user("alice", password=None, kind="service")
    directory.add_user("bob", password=None, kind="service")
    bob_token = directory.create_token("bob", "sqs", expires=None).token
    queue, replies = sqs.queue(), sqs.queue("rn-reply", max_receives=None)
    with server_process(tmp_path, "--sqs", queue, REALNET_SQS_PRINCIPAL="alice") as server:
        assert " as alice" in server.log()
        sqs.send(queue,
                 {"id": "a-home", "op": "create", "path": "/home/alice/mine", "type": "Folder",
                  "reply_to": replies},
                 {"id": "a-root", "op": "create", "path": "/not-for-alice", "type": "Folder",
                  "reply_to": replies},
                 {"id": "b-home", "op": "create", "path": "/home/bob/by-token", "type": "Folder",
                  "token": bob_token, "reply_to": replies},
                 {"id": "b-alice", "op": "create", "path": "/home/alice/by-bob", "type": "Folder",
                  "token": bob_token, "reply_to": replies})
        found = sqs.replies(replies, ["a-home", "a-root", "b-home", "b-alice"], alive=server.alive)
        assert server.terminate() == 0, server.log()
    (mine,), (root,), (by_token,), (by_bob,) = (found[i] for i in ("a-home", "a-root", "b-home", "b-alice"))
    assert mine["status"] == "ok" and mine["result"]["owner"] == "alice", mine
    assert root["status"] == "error" and root["error"]["code"] == "forbidden", root
    assert by_token["status"] == "ok" and by_token["result"]["owner"] == "bob", by_token
    assert by_bob["status"] == "error" and by_bob["error"]["code"] in ("forbidden", "not_found"), by_bob
    assert context.get("/home/alice/mine").owner == "alice"
    assert bob_token not in server.log()
