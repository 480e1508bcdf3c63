"""The SQS runner inside the shell: ``serve sqs``, ``jobs``, ``logs sqs``, ``stop sqs``.

The terminal test drives ``realnet shell`` through tmux (the helpers of
``test_shell_runners``) and talks to a real SQS endpoint (moto in server mode,
tests/sqsserver.py) from the test while the prompt waits. The script tests pipe lines
into ``realnet shell`` without a terminal.

Every wait is a bounded poll that stops a broken shell from hanging the run; none is a
performance assertion.
"""

from __future__ import annotations

import json
import re
import secrets
import sqlite3
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from s3server import s3_client
from sqsserver import WAIT_SECONDS, Sqs, aws_environment, unique
from test_shell_runners import (
    RunnerTerminal,
    admin_token,
    jobs_row,
    json_documents,
    lines_of,
    output_of,
    port_of,
    refuses,
)
from test_shell_terminal import ROOT_PROMPT, clean_environment, last_line, open_terminal, realnet_command

from realnet.resources.accounts import Directory

PROCESS_TIMEOUT = 90  # a guard against a hung shell, not a performance assertion
BLOB = b"bytes that came by reference from S3\n"


@pytest.fixture
def terminal(tmp_path: Path) -> Iterator[SqsTerminal]:
    yield from open_terminal(SqsTerminal, tmp_path)  # type: ignore[misc]


@pytest.fixture
def home(realnet_home: Path) -> Path:
    return realnet_home


@pytest.fixture
def sqs_env(s3_server: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
            realnet_home: Path) -> dict[str, str]:
    """The variables a shell needs for the test endpoint (also set in this process)."""
    return aws_environment(monkeypatch, tmp_path, s3_server)


@pytest.fixture
def sqs(s3_server: str, sqs_env: dict[str, str]) -> Sqs:
    return Sqs(s3_server)


def shell_environment(home: Path, sqs_env: dict[str, str], **extra: str) -> dict[str, str]:
    return {**clean_environment(home), "TERM": "xterm-256color", **sqs_env, **extra}


def reading_line(queue: str, account: str) -> str:
    return f"sqs: reading {queue} as {account} ('logs sqs' shows requests, 'stop sqs' ends it)"


def wait_for_counts(sqs: Sqs, queue: str, counts: tuple[int, int]) -> None:
    """Until ``queue`` holds (visible, in flight) messages: the runner is done with them."""
    deadline = time.monotonic() + WAIT_SECONDS
    while (now := sqs.counts(queue)) != counts:
        if time.monotonic() > deadline:
            pytest.fail(f"{queue} holds {now} messages (visible, in flight), not {counts}")
        time.sleep(0.1)


def first_reply(sqs: Sqs, queue: str) -> None:
    """Until a reply is on ``queue`` (left there)."""
    deadline = time.monotonic() + WAIT_SECONDS
    while not sqs.client.receive_message(QueueUrl=queue, WaitTimeSeconds=1, MaxNumberOfMessages=1,
                                         VisibilityTimeout=0).get("Messages"):
        if time.monotonic() > deadline:
            pytest.fail(f"no reply on {queue} within {WAIT_SECONDS:.0f} s")


class SqsTerminal(RunnerTerminal):
    def cursor_line(self) -> tuple[int, int]:
        """Where the cursor is, counting the lines scrolled off the top (a full screen
        scrolls instead of moving the cursor down)."""
        shown = self.tmux("display-message", "-p", "-t", self.target, "#{history_size} #{cursor_y}")
        scrolled, row = shown.stdout.split()
        return int(scrolled), int(row)


@contextmanager
def store_write_lock(home: Path) -> Iterator[Callable[[], None]]:
    """Hold the SQLite store's write lock until the yielded function is called (or the end):
    the runner's writes wait for it (the store waits up to 30 s for a lock)."""
    connection = sqlite3.connect(home / "realnet.db", isolation_level=None, timeout=30)
    connection.execute("BEGIN IMMEDIATE")
    held = [True]

    def release() -> None:
        if held[0]:
            held[0] = False
            connection.execute("ROLLBACK")
            connection.close()

    try:
        yield release
    finally:
        release()


def runner_rows(screen: str) -> list[str]:
    """The rows of runners in the output of the last ``jobs`` on ``screen``."""
    return [jobs_row(line) for line in output_of(screen, f"{ROOT_PROMPT} jobs")
            if line.startswith(("http", "sqs"))]


def only(replies: dict[str, list[dict[str, Any]]], request_id: str) -> dict[str, Any]:
    got = replies[request_id]
    assert len(got) == 1, got
    return got[0]


# -- in a real terminal --------------------------------------------------------------------

@pytest.mark.terminal
def test_serve_sqs_works_while_the_prompt_waits_and_stops_after_its_work(
        terminal: SqsTerminal, home: Path, sqs: Sqs, sqs_env: dict[str, str]) -> None:
    token = admin_token(home)
    fake_token = f"rn-fake-{secrets.token_hex(16)}"
    queue, replies = sqs.queue(), sqs.queue("rn-reply", max_receives=None)
    name = queue.rsplit("/", 1)[1]
    bucket = unique("rn-content")
    s3 = s3_client(sqs.endpoint)
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="blob.txt", Body=BLOB)
    terminal.launch(home, env={**sqs_env, "REALNET_SQS_CONTENT_BUCKETS": bucket,
                               "REALNET_AWS_ENDPOINT_URL": sqs.endpoint})
    terminal.wait_for_prompt()

    port = port_of(terminal.run("serve http --port 0"))
    command = f"serve sqs --queue {queue}"
    screen = terminal.run(command)
    assert last_line(screen) == ROOT_PROMPT  # back at once
    assert output_of(terminal.history(), f"{ROOT_PROMPT} {command}") == [reading_line(queue, "admin")]
    before = terminal.history()

    # The prompt waits for input; the runner works meanwhile.
    sqs.send(queue, {"id": "mk-1", "op": "create", "path": "/via-sqs", "type": "Folder", "reply_to": replies})
    found = sqs.replies(replies, ["mk-1"])
    sqs.send(queue,
             {"id": "mk-2", "op": "create", "path": "/via-sqs/doc", "type": "Document",
              "attributes": {"title": "Queued"}, "reply_to": replies},
             {"id": "tok-1", "op": "get", "path": "/via-sqs", "token": token, "reply_to": replies},
             {"id": "tok-2", "op": "get", "path": "/via-sqs", "token": fake_token, "reply_to": replies},
             {"id": "miss-1", "op": "get", "path": "/absent", "reply_to": replies})
    found.update(sqs.replies(replies, ["mk-2", "tok-1", "tok-2", "miss-1"]))
    assert only(found, "mk-1")["status"] == "ok"
    assert only(found, "mk-2")["result"]["attributes"]["title"] == "Queued"
    assert only(found, "tok-1")["result"]["path"] == "/via-sqs"
    assert only(found, "tok-2")["error"]["code"] == "unauthorized"
    assert only(found, "miss-1")["error"]["code"] == "not_found"
    wait_for_counts(sqs, queue, (0, 0))
    wait_for_counts(sqs, sqs.dead_letters_of(queue), (2, 0))  # the two refused ones, once each

    # Nothing was drawn under or across the waiting prompt.
    assert terminal.history() == before
    assert last_line(terminal.screen()) == ROOT_PROMPT

    screen = terminal.run("jobs")
    rows = runner_rows(screen)
    assert len(rows) == 2, screen
    assert re.fullmatch(rf"http running 127\.0\.0\.1:{port} 0 requests 0 errors up \d+\S*", rows[0]), screen
    assert re.fullmatch(rf"sqs running {name} 3 processed 2 failed 0 in flight up \d+\S*", rows[1]), screen

    screen = terminal.run("logs sqs -n 50")
    out = output_of(terminal.history(), f"{ROOT_PROMPT} logs sqs -n 50")
    for request_id, shape in [("mk-1", "create /via-sqs ok"), ("mk-2", "create /via-sqs/doc ok"),
                              ("tok-1", "get /via-sqs ok"), ("tok-2", "get /via-sqs error unauthorized"),
                              ("miss-1", "get /absent error not_found")]:
        matching = [line for line in out if f" {request_id} " in line]
        assert len(matching) == 1, (request_id, out)
        assert re.fullmatch(rf"\S+ {request_id} {shape} [\d.]+ms", matching[0]), matching
    assert out[0].endswith(f"sqs: reading {queue} as admin, 10 at once"), out

    # A stop with a request in flight: a put (worked on a thread) that cannot commit while
    # the test holds the store's write lock, so it is certainly still at work at the stop.
    sqs.take(replies, wait=0)
    with store_write_lock(home) as release:
        sqs.send(queue, {"id": "put-1", "op": "put", "path": "/via-sqs/blob", "from": {
            "bucket": bucket, "key": "blob.txt"}, "content_type": "text/plain", "reply_to": replies})
        wait_for_counts(sqs, queue, (0, 1))  # the runner holds it
        screen = terminal.run("jobs")
        rows = runner_rows(screen)
        assert re.fullmatch(rf"sqs running {name} 3 processed 2 failed 1 in flight up \d+\S*", rows[1]), \
            screen
        assert not sqs.take(replies, wait=0)  # not done: the lock holds it
        command = "stop sqs --deadline 30"
        terminal.type(command)
        terminal.wait_for_last_line(f"{ROOT_PROMPT} {command}")
        at = terminal.cursor_line()
        terminal.keys("Enter")
        terminal.wait_until(lambda _s: terminal.cursor_line() != at, "the shell to take the command")
        time.sleep(0.2)  # the command runs as soon as the line is taken; a margin, not a timing claim
        release()
        screen = terminal.wait_for_prompt()
    assert output_of(screen, f"{ROOT_PROMPT} {command}") == ["sqs: stopped"], screen
    put = only(sqs.replies(replies, ["put-1"]), "put-1")
    assert put["status"] == "ok" and put["result"]["path"] == "/via-sqs/blob", put
    assert put["result"]["attributes"]["size"] == len(BLOB), put
    assert sqs.counts(queue) == (0, 0)  # done, so deleted

    screen = terminal.run("jobs")
    rows = runner_rows(screen)
    assert len(rows) == 2, screen
    assert re.fullmatch(rf"http running 127\.0\.0\.1:{port} 0 requests 0 errors up \d+\S*", rows[0]), screen
    assert rows[1] == f"sqs stopped {name} 4 processed 2 failed 0 in flight", screen

    terminal.run("logs sqs -n 20")
    out = output_of(terminal.history(), f"{ROOT_PROMPT} logs sqs -n 20")
    stopping = next(n for n, line in enumerate(out) if "sqs: stopping" in line)
    done = [n for n, line in enumerate(out) if re.search(r" put-1 put /via-sqs/blob ok [\d.]+ms$", line)]
    assert len(done) == 1 and done[0] > stopping, f"the put did not finish after the stop began:\n{out}"
    assert out[-1].endswith("sqs: stopped"), out

    screen = terminal.run("stop http")
    assert output_of(screen, f"{ROOT_PROMPT} stop http") == ["http: stopped"], screen
    assert refuses(port)
    history = terminal.history()
    assert token not in history and fake_token not in history
    assert "Traceback" not in history
    terminal.exit_with_ctrl_d()


# -- without a terminal ----------------------------------------------------------------------

def test_serve_sqs_usage_mistakes_are_one_line_each(home: Path, sqs: Sqs, sqs_env: dict[str, str]) -> None:
    queue = sqs.queue()
    missing = queue.rsplit("/", 1)[0] + "/rn-no-such-queue"
    script = (f"serve sqs\nserve sqs --queue {queue} --port 1\nserve sqs --queue {queue} --host 0.0.0.0\n"
              f"serve sqs --queue {missing}\nserve sqs --queue not-a-url\njobs -o json\n")
    result = subprocess.run([*realnet_command(), "shell", "--keep-going"], input=script,
                            capture_output=True, text=True, env=shell_environment(home, sqs_env),
                            cwd=home.parent, timeout=PROCESS_TIMEOUT)
    assert result.returncode != 0
    errors = result.stderr.splitlines()
    assert len(errors) == 5, result.stderr
    assert errors[0].startswith("stdin:1: serve: ") and "no queue" in errors[0], errors
    assert "--queue" in errors[0] and "REALNET_SQS_QUEUE_URL" in errors[0], errors
    assert errors[1].startswith("stdin:2: serve: ") and "--port" in errors[1], errors
    assert errors[2].startswith("stdin:3: serve: ") and "--host" in errors[2], errors
    assert errors[3].startswith("stdin:4: serve: ") and missing in errors[3], errors
    assert "no such queue" in errors[3], errors
    assert errors[4].startswith("stdin:5: serve: ") and "not-a-url" in errors[4], errors
    assert "Traceback" not in result.stderr
    assert json_documents(result.stdout) == [[]], result.stdout  # no runner started
    assert sqs.counts(queue) == (0, 0)


class ScriptShell:
    """``realnet shell ARGS`` reading a script from a pipe, fed line by line."""

    def __init__(self, home: Path, env: dict[str, str], *args: str) -> None:
        self.proc = subprocess.Popen([*realnet_command(), "shell", *args], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     env=env, cwd=home.parent)
        # Reads below block; a hung shell is killed so that they end (a guard, not a timing check).
        self.guard = threading.Timer(PROCESS_TIMEOUT, self.proc.kill)
        self.guard.start()

    def line(self, text: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(text + "\n")
        self.proc.stdin.flush()

    def readline(self) -> str:
        assert self.proc.stdout is not None
        return self.proc.stdout.readline().rstrip("\n")

    def alive(self) -> None:
        if self.proc.poll() is not None:
            pytest.fail(f"the shell ended early ({self.proc.returncode})")

    def finish(self) -> tuple[int, str, str]:
        """Close the script; the shell's exit status and the rest of its output."""
        assert self.proc.stdin is not None and self.proc.stdout is not None and self.proc.stderr is not None
        self.proc.stdin.close()
        out, err = self.proc.stdout.read(), self.proc.stderr.read()
        return self.proc.wait(timeout=PROCESS_TIMEOUT), out, err

    def close(self) -> None:
        self.guard.cancel()
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=PROCESS_TIMEOUT)


@pytest.mark.parametrize(("shell_as", "principal", "actor", "other"), [
    ("alice", None, "alice", "bob"),
    ("alice", "bob", "bob", "alice"),
    (None, "bob", "bob", "alice"),
], ids=["shell-account", "principal-over-shell-account", "principal"])
def test_requests_act_as_the_shell_account_or_the_principal(
        home: Path, sqs: Sqs, sqs_env: dict[str, str], context, shell_as: str | None,
        principal: str | None, actor: str, other: str) -> None:
    directory = Directory(context)
    for account in ("alice", "bob"):
        directory.add_user(account, password=None, kind="service")
    queue, replies = sqs.queue(), sqs.queue("rn-reply", max_receives=None)
    env = shell_environment(home, sqs_env, **({"REALNET_SQS_PRINCIPAL": principal} if principal else {}))
    shell = ScriptShell(home, env, *(["--as", shell_as] if shell_as else []))
    try:
        shell.line(f"serve sqs --queue {queue}")
        assert shell.readline() == reading_line(queue, actor)
        sqs.send(queue,
                 {"id": "own", "op": "create", "path": f"/home/{actor}/from-sqs", "type": "Folder",
                  "reply_to": replies},
                 {"id": "root", "op": "create", "path": "/from-sqs", "type": "Folder", "reply_to": replies},
                 {"id": "theirs", "op": "create", "path": f"/home/{other}/from-sqs", "type": "Folder",
                  "reply_to": replies})
        found = sqs.replies(replies, ["own", "root", "theirs"], alive=shell.alive)
        shell.line("stop sqs")
        assert shell.readline() == "sqs: stopped"
        code, _, err = shell.finish()
    finally:
        shell.close()
    assert code == 0, err
    assert err == "", err
    own, root, theirs = only(found, "own"), only(found, "root"), only(found, "theirs")
    assert own["status"] == "ok" and own["result"]["owner"] == actor, own
    assert root["status"] == "error" and root["error"]["code"] == "forbidden", root
    assert theirs["status"] == "error" and theirs["error"]["code"] in ("forbidden", "not_found"), theirs
    assert context.get(f"/home/{actor}/from-sqs").owner == actor
    assert not context.provider.exists("/from-sqs")


def test_a_token_in_a_message_is_never_printed(home: Path, sqs: Sqs, sqs_env: dict[str, str],
                                               context) -> None:
    directory = Directory(context)
    directory.add_user("alice", password=None, kind="service")
    token = directory.create_token("alice", "sqs", expires=None).token
    too_long = f"rn-{secrets.token_hex(300)}"  # a pasted token with something stuck to it
    unknown = f"rn-{secrets.token_hex(24)}"
    queue, replies = sqs.queue(), sqs.queue("rn-reply", max_receives=None)
    shell = ScriptShell(home, shell_environment(home, sqs_env), "--keep-going")
    try:
        shell.line(f"serve sqs --queue {queue}")
        assert shell.readline() == reading_line(queue, "admin")
        sqs.send(queue,
                 {"id": "good", "op": "create", "path": "/home/alice/t", "type": "Folder", "token": token,
                  "reply_to": replies},
                 {"id": "denied", "op": "create", "path": "/t", "type": "Folder", "token": token,
                  "reply_to": replies},
                 {"id": "unknown", "op": "get", "path": "/", "token": unknown, "reply_to": replies},
                 {"id": "extra", "op": "get", "path": "/", "token": token, "colour": "red",
                  "reply_to": replies},
                 {"id": "relative", "op": "get", "path": "home", "token": token, "reply_to": replies},
                 {"id": "long", "op": "get", "path": "/", "token": too_long, "reply_to": replies})
        found = sqs.replies(replies, ["good", "denied", "unknown", "extra", "relative", "long"],
                            alive=shell.alive)
        wait_for_counts(sqs, queue, (0, 0))
        wait_for_counts(sqs, sqs.dead_letters_of(queue), (5, 0))
        shell.line("logs sqs -n 100")
        shell.line("jobs")
        shell.line("jobs -o json")
        shell.line("stop sqs")
        code, out, err = shell.finish()
    finally:
        shell.close()
    assert code == 0, err
    assert only(found, "good")["result"]["owner"] == "alice"
    assert only(found, "denied")["error"]["code"] == "forbidden"
    assert only(found, "unknown")["error"]["code"] == "unauthorized"
    for request_id in ("extra", "relative", "long"):
        assert only(found, request_id)["error"]["code"] == "invalid_message", found[request_id]
    logged = [line for line in lines_of(out) if re.match(r"^\S+ (good|denied|unknown|extra|relative|long) ",
                                                         line)]
    assert len(logged) == 6, out
    (status,) = json_documents(out)
    assert [(s["name"], s["processed"], s["failed"], s["in_flight"]) for s in status] == [("sqs", 1, 5, 0)]
    assert "sqs: stopped" in out
    for name, secret in (("alice's token", token), ("an unknown token", unknown),
                         ("an over-long token", too_long[:40])):
        for stream, text in (("stdout", out), ("stderr", err)):
            printed = [line[:200] + "…" for line in text.splitlines() if secret in line]
            assert not printed, f"{name} was printed on the shell's {stream}: {printed}"


def test_stop_sqs_during_a_flood_loses_nothing(home: Path, sqs: Sqs, sqs_env: dict[str, str],
                                               context) -> None:
    context.create("/flood", "Folder", {})
    queue, replies = sqs.queue(max_receives=5), sqs.queue("rn-reply", max_receives=None)
    flood = [f"f{n:03d}" for n in range(100)]
    sqs.send(queue, *({"id": i, "op": "create", "path": f"/flood/{i}", "type": "Folder",
                       "reply_to": replies} for i in flood))
    shell = ScriptShell(home, shell_environment(home, sqs_env))
    try:
        shell.line(f"serve sqs --queue {queue}")
        assert shell.readline() == reading_line(queue, "admin")
        first_reply(sqs, replies)  # at work
        shell.line("stop sqs")
        assert shell.readline() == "sqs: stopped"
        shell.line("jobs -o json")
        shell.line("logs sqs -n 500")
        code, out, err = shell.finish()
    finally:
        shell.close()
    assert code == 0, err
    assert err == "", err
    listed = subprocess.run([*realnet_command(), "ls", "/flood"], capture_output=True, text=True,
                            env=clean_environment(home), cwd=home.parent, timeout=PROCESS_TIMEOUT)
    assert listed.returncode == 0, listed.stderr
    applied = set(listed.stdout.split())
    queued = [json.loads(body)["id"] for body in sqs.take(queue)]
    answered: dict[str, list[str]] = {}
    for body in sqs.take(replies):
        reply = json.loads(body)
        answered.setdefault(reply["id"], []).append(reply["status"] + ("/replayed" if reply.get("replayed") else ""))
    lost = set(flood) - applied - set(queued)
    assert not lost, f"neither applied nor back on the queue: {sorted(lost)}:\n{out}"
    assert len(queued) == len(set(queued)), queued
    assert 0 < len(applied) < len(flood), f"the stop did not come during the work ({len(applied)} applied)"
    # Each applied once and answered once; SQS delivers at least once (and moto's receive,
    # unlocked, can hand one message to both receivers), so a second delivery may come: it
    # must be answered from the record, marked replayed, and apply nothing.
    assert {i: [a for a in answers if a != "ok/replayed"] for i, answers in answered.items()} == \
        {i: ["ok"] for i in applied}, (answered, out)
    (status,) = json_documents(out)
    assert [(s["state"], s["processed"], s["failed"], s["in_flight"]) for s in status] == \
        [("stopped", len(applied), 0, 0)], status
    for request_id in applied:
        assert sum(f" {request_id} create " in line and "(redelivered" not in line
                   for line in lines_of(out)) == 1, (request_id, out)
