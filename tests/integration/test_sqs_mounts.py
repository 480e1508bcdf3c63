"""Mounts through the SQS runner: requests on paths below YAML, JSON and XML documents and
local folders, sent to a real SQS endpoint (moto in server mode, over HTTP) and applied by
the runner driven in-process by a RunnerManager, as tests/integration/test_sqs_runner.py
does it.

The mounts are made beforehand through a Context as the local administrator (only
administrators may mount); the mounted files live in the test's tmp_path. Every test
looks at real outcomes: the reply bodies on the reply queue, the files on disk, the
objects in S3, the queues and the store. Every wait is for an observable condition with
a generous hang detector; nothing here limits how fast the runner must be.
"""

from __future__ import annotations

import asyncio
import difflib
import hashlib
import json
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import defusedxml.ElementTree as ET
import pytest
import yaml
from s3server import MotoServer
from test_sqs_runner import Sqs, Store, only_reply, sqs_environment, stop, until

from realnet.config import load_settings
from realnet.runners.manager import RunnerManager
from realnet.runners.sqs import SqsRunner

CONFIG = """\
# the application's settings
name: demo   # shown in the title bar
database:
  host: db.local   # the primary
  port: 5432
  options:
    sslmode: require
servers:
  - name: alpha
    ip: 10.0.0.1
  - name: bravo
    ip: 10.0.0.2
"""

APP_JSON = {"title": "app", "db": {"host": "h", "port": 1},
            "workers": [{"id": 1}, {"id": 2}], "flags": ["a", "b"]}

XML = """\
<?xml version="1.0" encoding="UTF-8"?>
<config version="2">
  <name>demo</name>
  <database host="db.local"><port>5432</port></database>
  <server id="a"><ip>10.0.0.1</ip></server>
  <server id="b"><ip>10.0.0.2</ip></server>
  <tag>x</tag>
  <tag>y</tag>
</config>
"""

Q1_CSV = b"month,total\njan,1\nfeb,2\nmar,3\n"


# -- the endpoint, the mounts, the runner ---------------------------------------------------------


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    """moto in server mode in this process, for this module (SQS and S3 alike)."""
    try:
        server = MotoServer().start()
    except (RuntimeError, OSError) as e:
        pytest.fail(f"cannot start a moto endpoint for the tests: {e}")
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def sqs(realnet_home, moto_endpoint: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Sqs:
    return sqs_environment(monkeypatch, tmp_path, moto_endpoint)


@pytest.fixture
def files(tmp_path: Path) -> Path:
    """The mounted files and folders of the test (beside, not inside, REALNET_HOME)."""
    folder = tmp_path / "mounted"
    folder.mkdir()
    return folder


@pytest.fixture
def config(files: Path) -> Path:
    path = files / "config.yaml"
    path.write_text(CONFIG)
    return path


@pytest.fixture
def reports(files: Path) -> Path:
    folder = files / "reports"
    (folder / "2024").mkdir(parents=True)
    (folder / "summary.txt").write_text("all green\n")
    (folder / "2024" / "q1.csv").write_bytes(Q1_CSV)
    return folder


def mount(path: str, type_name: str, source: Path, *, read_only: bool = False) -> None:
    """Mount ``source`` at ``path`` through a Context, as the local administrator."""
    with Store(load_settings()) as context:
        made = context.create(path, type_name, {"path": str(source), "read_only": read_only})
        assert made.type == type_name


def handled(runner: SqsRunner, total: int) -> Callable[[], bool]:
    """Every one of ``total`` deliveries dealt with (answered, refused, or left to come back
    for a retry), its message deleted or released, and none in flight."""
    values = runner.counters.values
    return lambda: (values["processed"] + values["failed"] + values["redelivered"] + values["retried"] >= total
                    and values["in_flight"] == 0)


def state_of(runner: SqsRunner) -> Callable[[], Any]:
    return lambda: (runner.counters.values, runner.log.tail(15))


def run(sqs: Sqs, queue: str, waves: list[tuple[list[dict[str, Any]], Callable[[SqsRunner], Callable[[], bool]], str]],
        settings=None) -> SqsRunner:
    """One runner on ``queue``: each wave's requests are sent once the previous wave is done,
    and the wave is done when its condition holds. The runner is stopped at the end."""
    runner = SqsRunner(settings or load_settings(), queue_url=queue)

    async def main() -> None:
        manager = RunnerManager()
        manager.start(runner)
        try:
            for bodies, condition, what in waves:
                await asyncio.to_thread(sqs.send, queue, bodies)
                await until(condition(runner), what, state=state_of(runner))
        finally:
            await stop(manager, runner)

    asyncio.run(main())
    return runner


def ok_result(replies: dict[str | None, list[dict[str, Any]]], request_id: str) -> Any:
    reply = only_reply(replies, request_id)
    assert reply["status"] == "ok", reply
    assert "replayed" not in reply, reply
    return reply["result"]


def changes(before: str, after: str) -> list[str]:
    """The lines taken out ('-') and put in ('+'), nothing else."""
    diff = list(difflib.unified_diff(before.splitlines(), after.splitlines(), n=0, lineterm=""))[2:]
    return [line for line in diff if not line.startswith("@@")]


def names(page: dict[str, Any]) -> list[str]:
    return [item["name"] for item in page["items"]]


def s3_client(endpoint: str) -> Any:
    return boto3.session.Session().client("s3", endpoint_url=endpoint, region_name="us-east-1",
                                          aws_access_key_id="testing", aws_secret_access_key="testing")


@pytest.fixture
def bucket(sqs: Sqs, monkeypatch: pytest.MonkeyPatch) -> str:
    """A bucket of this test's own, the only one the runner may reach for content."""
    name = f"rn-mounts-{uuid.uuid4().hex[:12]}"
    s3_client(sqs.endpoint).create_bucket(Bucket=name)
    monkeypatch.setenv("REALNET_AWS_ENDPOINT_URL", sqs.endpoint)
    monkeypatch.setenv("REALNET_SQS_CONTENT_BUCKETS", name)
    return name


# -- reading ---------------------------------------------------------------------------------------


def test_get_and_list_of_document_nodes_in_yaml_json_and_xml_mounts(sqs: Sqs, config: Path, files: Path):
    app = files / "app.json"
    app.write_text(json.dumps(APP_JSON, indent=2) + "\n")
    xml = files / "config.xml"
    xml.write_text(XML)
    mount("/config", "YamlDocument", config)
    mount("/app", "JsonDocument", app)
    mount("/x", "XmlDocument", xml)
    before = {p: p.read_bytes() for p in (config, app, xml)}
    queue, replies_q = sqs.queue(max_receives=2), sqs.queue()
    r = replies_q.url
    requests = [
        {"id": "get-top", "op": "get", "path": "/config", "reply_to": r},
        {"id": "get-db", "op": "get", "path": "/config/database", "reply_to": r},
        {"id": "get-server", "op": "get", "path": "/config/servers/1", "reply_to": r},
        {"id": "get-list", "op": "get", "path": "/config/servers", "reply_to": r},
        {"id": "list-top", "op": "list", "path": "/config", "reply_to": r},
        {"id": "list-db", "op": "list", "path": "/config/database", "reply_to": r},
        {"id": "list-servers", "op": "list", "path": "/config/servers", "reply_to": r},
        {"id": "list-limited", "op": "list", "path": "/config/servers", "limit": 1, "reply_to": r},
        {"id": "list-typed", "op": "list", "path": "/config", "type": "DocumentList", "reply_to": r},
        {"id": "json-get", "op": "get", "path": "/app/db", "reply_to": r},
        {"id": "json-list", "op": "list", "path": "/app/workers", "reply_to": r},
        {"id": "xml-get", "op": "get", "path": "/x/database", "reply_to": r},
        {"id": "xml-list", "op": "list", "path": "/x/server", "reply_to": r},
    ]
    runner = run(sqs, queue.url, [(requests, lambda rn: lambda: handled(rn, len(requests))()
                                   and sqs.empty(queue.url), "the gets and lists")])
    assert (runner.counters.values["processed"], runner.counters.values["failed"]) == (len(requests), 0), \
        runner.counters.values
    replies = sqs.replies(r)
    assert set(replies) == {body["id"] for body in requests}

    top = ok_result(replies, "get-top")
    assert (top["path"], top["type"]) == ("/config", "YamlDocument")
    assert top["attributes"]["name"] == "demo"  # a top-level value shows on the mount item
    assert top["attributes"]["path"] == str(config)
    db = ok_result(replies, "get-db")
    assert (db["path"], db["name"], db["type"]) == ("/config/database", "database", "DocumentObject")
    assert db["attributes"] == {"host": "db.local", "port": 5432}
    server = ok_result(replies, "get-server")
    assert (server["path"], server["type"]) == ("/config/servers/1", "DocumentObject")
    assert server["attributes"] == {"name": "bravo", "ip": "10.0.0.2"}
    assert ok_result(replies, "get-list")["type"] == "DocumentList"
    # Every item of a document carries the version of the file.
    assert db["version"] == server["version"] == ok_result(replies, "get-list")["version"]

    listed = ok_result(replies, "list-top")
    assert names(listed) == ["database", "servers"] and listed["next_cursor"] is None
    assert [i["type"] for i in listed["items"]] == ["DocumentObject", "DocumentList"]
    assert names(ok_result(replies, "list-db")) == ["options"]
    assert ok_result(replies, "list-db")["items"][0]["attributes"] == {"sslmode": "require"}
    servers = ok_result(replies, "list-servers")
    assert names(servers) == ["0", "1"] and servers["next_cursor"] is None
    assert [i["attributes"] for i in servers["items"]] == [{"name": "alpha", "ip": "10.0.0.1"},
                                                           {"name": "bravo", "ip": "10.0.0.2"}]
    assert [i["path"] for i in servers["items"]] == ["/config/servers/0", "/config/servers/1"]
    limited = ok_result(replies, "list-limited")
    assert names(limited) == ["0"] and limited["next_cursor"], limited
    assert names(ok_result(replies, "list-typed")) == ["servers"]

    json_db = ok_result(replies, "json-get")
    assert (json_db["type"], json_db["attributes"]) == ("DocumentObject", {"host": "h", "port": 1})
    workers = ok_result(replies, "json-list")
    assert names(workers) == ["0", "1"]
    assert [i["attributes"] for i in workers["items"]] == [{"id": 1}, {"id": 2}]

    xml_db = ok_result(replies, "xml-get")
    assert (xml_db["type"], xml_db["attributes"]) == ("DocumentObject", {"@host": "db.local", "port": "5432"})
    xml_servers = ok_result(replies, "xml-list")
    assert names(xml_servers) == ["0", "1"]
    assert [i["attributes"] for i in xml_servers["items"]] == [{"@id": "a", "ip": "10.0.0.1"},
                                                               {"@id": "b", "ip": "10.0.0.2"}]

    assert {p: p.read_bytes() for p in before} == before  # reading wrote nothing
    assert sqs.empty(queue.url) and sqs.counts(queue.dlq) == (0, 0)


# -- writing back ----------------------------------------------------------------------------------


def test_update_of_a_document_node_writes_only_that_line_of_the_file(sqs: Sqs, config: Path, files: Path):
    app = files / "app.json"
    app_text = json.dumps(APP_JSON, indent=2) + "\n"
    app.write_text(app_text)
    mount("/config", "YamlDocument", config)
    mount("/app", "JsonDocument", app)
    queue, replies_q = sqs.queue(max_receives=2), sqs.queue()
    r = replies_q.url
    first = [
        {"id": "upd-yaml", "op": "update", "path": "/config/database", "attributes": {"port": 5433},
         "reply_to": r},
        {"id": "upd-json", "op": "update", "path": "/app/db", "attributes": {"port": 2}, "reply_to": r},
    ]
    then = [{"id": "get-after", "op": "get", "path": "/config/database", "reply_to": r}]
    runner = run(sqs, queue.url, [
        (first, lambda rn: lambda: handled(rn, 2)() and sqs.empty(queue.url), "the updates"),
        (then, lambda rn: lambda: handled(rn, 3)() and sqs.empty(queue.url), "the get after them"),
    ])
    assert (runner.counters.values["processed"], runner.counters.values["failed"]) == (3, 0), \
        runner.counters.values
    replies = sqs.replies(r)

    updated = ok_result(replies, "upd-yaml")
    assert (updated["path"], updated["type"]) == ("/config/database", "DocumentObject")
    assert updated["attributes"] == {"host": "db.local", "port": 5433}
    after = config.read_text()
    assert changes(CONFIG, after) == ["-  port: 5432", "+  port: 5433"]  # comments and all else kept
    assert yaml.safe_load(after)["database"]["port"] == 5433
    got = ok_result(replies, "get-after")
    assert got["attributes"] == {"host": "db.local", "port": 5433}
    assert got["version"] == updated["version"]

    json_updated = ok_result(replies, "upd-json")
    assert json_updated["attributes"] == {"host": "h", "port": 2}
    assert changes(app_text, app.read_text()) == ['-    "port": 1', '+    "port": 2']
    assert sqs.empty(queue.url) and sqs.counts(queue.dlq) == (0, 0)


def test_create_and_delete_of_a_document_object_write_the_file(sqs: Sqs, config: Path):
    mount("/config", "YamlDocument", config)
    queue, replies_q = sqs.queue(max_receives=2), sqs.queue()
    r = replies_q.url
    create = [
        {"id": "create-cache", "op": "create", "path": "/config/cache", "type": "DocumentObject",
         "attributes": {"ttl": 60, "backend": "memory"}, "reply_to": r},
        {"id": "create-deep", "op": "create", "path": "/config/database/pool", "type": "DocumentObject",
         "attributes": {"size": 4}, "reply_to": r},
    ]
    delete = [
        {"id": "delete-cache", "op": "delete", "path": "/config/cache", "reply_to": r},
        {"id": "delete-server", "op": "delete", "path": "/config/servers/0", "reply_to": r},
    ]
    runner = run(sqs, queue.url, [
        (create, lambda rn: lambda: handled(rn, 2)() and sqs.empty(queue.url), "the creates"),
        (delete, lambda rn: lambda: handled(rn, 4)() and sqs.empty(queue.url), "the deletes"),
    ])
    assert (runner.counters.values["processed"], runner.counters.values["failed"]) == (4, 0), \
        runner.counters.values
    replies = sqs.replies(r)

    cache = ok_result(replies, "create-cache")
    assert (cache["path"], cache["name"], cache["type"]) == ("/config/cache", "cache", "DocumentObject")
    assert cache["attributes"] == {"ttl": 60, "backend": "memory"}
    pool = ok_result(replies, "create-deep")
    assert (pool["path"], pool["type"], pool["attributes"]) == ("/config/database/pool", "DocumentObject",
                                                                {"size": 4})
    assert ok_result(replies, "delete-cache") == {"removed": 1}
    assert ok_result(replies, "delete-server") == {"removed": 1}

    text = config.read_text()
    document = yaml.safe_load(text)
    assert "cache" not in document  # created, then deleted
    assert document["database"] == {"host": "db.local", "port": 5432, "options": {"sslmode": "require"},
                                    "pool": {"size": 4}}
    assert document["servers"] == [{"name": "bravo", "ip": "10.0.0.2"}]
    assert document["name"] == "demo"
    assert "# the application's settings" in text and "host: db.local   # the primary" in text
    with Store(load_settings()) as context:  # the tree shows what the file now holds
        assert [i.name for i in context.list("/config/servers").items] == ["0"]
        assert context.get("/config/database/pool").attributes == {"size": 4}
    assert sqs.empty(queue.url) and sqs.counts(queue.dlq) == (0, 0)


# -- across providers ------------------------------------------------------------------------------


def test_requests_changing_one_document_at_the_same_time_all_succeed(sqs: Sqs, config: Path):
    """The runner handles several messages at once, each on a thread of its own: changes to
    one file then meet. One that finds the file changed by another meanwhile, without a
    version of its own to hold to, is applied again to the new file instead of failing."""
    mount("/config", "YamlDocument", config)
    queue, replies_q = sqs.queue(max_receives=2), sqs.queue()
    changes = [{"id": f"set-{n}", "op": "update", "path": "/config/database/options",
                "attributes": {f"key{n}": n}, "reply_to": replies_q.url} for n in range(10)]
    runner = run(sqs, queue.url, [
        (changes, lambda rn: lambda: handled(rn, len(changes))() and sqs.empty(queue.url), "the changes"),
    ])
    values = runner.counters.values
    assert (values["processed"], values["failed"]) == (len(changes), 0), values
    replies = sqs.replies(replies_q.url)
    assert all(replies[c["id"]][0]["status"] == "ok" for c in changes), replies
    options = yaml.safe_load(config.read_text())["database"]["options"]
    assert options == {"sslmode": "require", **{f"key{n}": n for n in range(10)}}


def test_action_copy_of_a_document_node_into_the_sql_store(sqs: Sqs, config: Path):
    mount("/config", "YamlDocument", config)
    with Store(load_settings()) as context:
        context.create("/backup", "Folder")
    queue, replies_q = sqs.queue(max_receives=2), sqs.queue()
    r = replies_q.url
    requests = [
        {"id": "copy-db", "op": "action", "path": "/config/database", "action": "copy",
         "target": "/backup/database", "reply_to": r},
        {"id": "copy-all", "op": "action", "path": "/config", "action": "copy",
         "target": "/backup/config", "reply_to": r},
    ]
    runner = run(sqs, queue.url, [(requests, lambda rn: lambda: handled(rn, 2)() and sqs.empty(queue.url),
                                   "the copies")])
    assert (runner.counters.values["processed"], runner.counters.values["failed"]) == (2, 0), \
        runner.counters.values
    replies = sqs.replies(r)
    copied = ok_result(replies, "copy-db")
    assert (copied["path"], copied["type"]) == ("/backup/database", "DocumentObject")
    assert copied["attributes"] == {"host": "db.local", "port": 5432}
    whole = ok_result(replies, "copy-all")
    assert (whole["path"], whole["type"]) == ("/backup/config", "DocumentObject")
    assert whole["attributes"]["name"] == "demo"
    assert config.read_text() == CONFIG  # the source is untouched

    # The copies are store items: they stay as they were when the file changes, and changing
    # them leaves the file alone.
    config.write_text(CONFIG.replace("port: 5432", "port: 7000"))
    with Store(load_settings()) as context:
        database = context.get("/backup/database")
        assert (database.type, database.attributes) == ("DocumentObject", {"host": "db.local", "port": 5432})
        options = context.get("/backup/database/options")
        assert (options.type, options.attributes) == ("DocumentObject", {"sslmode": "require"})
        assert context.get("/backup/config/servers").type == "DocumentList"
        assert context.get("/backup/config/servers/1").attributes == {"name": "bravo", "ip": "10.0.0.2"}
        assert context.get("/backup/config/database").attributes["port"] == 5432
        context.update("/backup/database", {"port": 1})
        assert context.get("/config/database").attributes["port"] == 7000
    assert config.read_text() == CONFIG.replace("port: 5432", "port: 7000")
    assert sqs.empty(queue.url) and sqs.counts(queue.dlq) == (0, 0)


# -- read-only mounts ------------------------------------------------------------------------------


def test_update_under_a_read_only_mount_is_refused_and_dead_lettered(sqs: Sqs, config: Path):
    """A refusal a retry cannot fix: one error reply (code read_only), the file unchanged, and
    the message goes back at once so the redrive policy moves it to the dead-letter queue."""
    mount("/config", "YamlDocument", config, read_only=True)
    before = config.read_bytes()
    queue, replies_q = sqs.queue(max_receives=2), sqs.queue()
    r = replies_q.url
    requests = [
        {"id": "ro-node", "op": "update", "path": "/config/database", "attributes": {"port": 5433},
         "reply_to": r},
        {"id": "ro-top", "op": "update", "path": "/config", "attributes": {"name": "changed"}, "reply_to": r},
    ]
    runner = run(sqs, queue.url, [(requests, lambda rn: lambda: (
        sqs.counts(queue.dlq)[0] == 2 and sqs.empty(queue.url) and rn.counters.values["in_flight"] == 0),
        "both refused requests in the dead-letter queue")])
    assert runner.counters.values["failed"] == 2, runner.counters.values
    assert runner.counters.values["processed"] == 0, runner.counters.values
    replies = sqs.replies(r)
    assert set(replies) == {"ro-node", "ro-top"}
    for request_id in ("ro-node", "ro-top"):
        reply = only_reply(replies, request_id)  # one error reply, not repeated on redelivery
        assert (reply["status"], reply["op"]) == ("error", "update"), reply
        assert set(reply["error"]) == {"code", "message"}, reply
        assert reply["error"]["code"] == "read_only", reply
        message = reply["error"]["message"]
        assert "read-only mount" in message and "\n" not in message and "Traceback" not in message, reply
        assert "replayed" not in reply, reply
    assert config.read_bytes() == before
    dead = sorted(json.loads(body)["id"] for body in sqs.drain(queue.dlq))
    assert dead == ["ro-node", "ro-top"]
    assert sqs.empty(queue.url)
    with Store(load_settings()) as context:
        assert context.get("/config/database").attributes["port"] == 5432


def test_update_under_a_read_only_mount_on_a_queue_without_redrive_policy_is_deleted(sqs: Sqs, config: Path):
    mount("/config", "YamlDocument", config, read_only=True)
    before = config.read_bytes()
    queue, replies_q = sqs.queue(), sqs.queue()
    requests = [{"id": "ro-nodlq", "op": "update", "path": "/config/servers/0", "attributes": {"ip": "1.2.3.4"},
                 "reply_to": replies_q.url}]
    runner = run(sqs, queue.url, [(requests, lambda rn: lambda: handled(rn, 1)() and sqs.empty(queue.url),
                                   "the refused request deleted")])
    assert "has no redrive policy" in "\n".join(runner.log.tail(2000))
    assert (runner.counters.values["failed"], runner.counters.values["redelivered"]) == (1, 0), \
        runner.counters.values
    reply = only_reply(sqs.replies(replies_q.url), "ro-nodlq")
    assert reply["status"] == "error" and reply["error"]["code"] == "read_only", reply
    assert config.read_bytes() == before
    assert sqs.empty(queue.url)


# -- FileTree content by S3 reference --------------------------------------------------------------


def test_put_by_reference_into_a_read_write_file_tree_writes_the_file(sqs: Sqs, files: Path, bucket: str):
    drop = files / "drop"
    drop.mkdir()
    (drop / "old.txt").write_bytes(b"the old text, longer than the new\n")
    mount("/drop", "FileTree", drop)
    s3 = s3_client(sqs.endpoint)
    body = os.urandom(2 * 1024 * 1024 + 4321)  # more than one chunk
    s3.put_object(Bucket=bucket, Key="in/upload.bin", Body=body)
    s3.put_object(Bucket=bucket, Key="in/new.txt", Body=b"new\n", ContentType="text/plain")
    queue, replies_q = sqs.queue(max_receives=2), sqs.queue()
    r = replies_q.url
    requests = [
        {"id": "put-new", "op": "put", "path": "/drop/upload.bin",
         "from": {"bucket": bucket, "key": "in/upload.bin"}, "reply_to": r},
        {"id": "put-over", "op": "put", "path": "/drop/old.txt",
         "from": {"bucket": bucket, "key": "in/new.txt"}, "reply_to": r},
        {"id": "put-deep", "op": "put", "path": "/drop/a/b/c.bin", "parents": True,
         "from": {"bucket": bucket, "key": "in/upload.bin"}, "reply_to": r},
    ]
    runner = run(sqs, queue.url, [(requests, lambda rn: lambda: handled(rn, 3)() and sqs.empty(queue.url),
                                   "the puts")])
    replies = sqs.replies(r)
    assert set(replies) == {"put-new", "put-over", "put-deep"}, replies
    made = ok_result(replies, "put-new")
    assert (made["path"], made["type"]) == ("/drop/upload.bin", "File")
    assert made["attributes"]["size"] == len(body)
    over = ok_result(replies, "put-over")
    assert (over["path"], over["attributes"]["size"]) == ("/drop/old.txt", 4)
    deep = ok_result(replies, "put-deep")
    assert (deep["path"], deep["attributes"]["size"]) == ("/drop/a/b/c.bin", len(body))
    assert (runner.counters.values["processed"], runner.counters.values["failed"]) == (3, 0), \
        runner.counters.values

    assert (drop / "upload.bin").read_bytes() == body
    assert (drop / "old.txt").read_bytes() == b"new\n"
    assert (drop / "a" / "b" / "c.bin").read_bytes() == body
    assert sorted(str(p.relative_to(drop)) for p in drop.rglob("*")) == [
        "a", "a/b", "a/b/c.bin", "old.txt", "upload.bin"]  # no temporary file left behind
    with Store(load_settings()) as context:
        assert context.get("/drop/upload.bin").attributes["size"] == len(body)
    assert sqs.empty(queue.url) and sqs.counts(queue.dlq) == (0, 0)


def test_fetch_of_a_file_tree_file_puts_its_bytes_into_s3(sqs: Sqs, reports: Path, bucket: str):
    mount("/reports", "FileTree", reports, read_only=True)  # reading is no change
    queue, replies_q = sqs.queue(max_receives=2), sqs.queue()
    r = replies_q.url
    requests = [
        {"id": "fetch-csv", "op": "fetch", "path": "/reports/2024/q1.csv",
         "to": {"bucket": bucket, "key": "out/q1.csv"}, "reply_to": r},
        {"id": "fetch-txt", "op": "fetch", "path": "/reports/summary.txt",
         "to": {"bucket": bucket, "key": "out/summary.txt"}, "reply_to": r},
    ]
    runner = run(sqs, queue.url, [(requests, lambda rn: handled(rn, 2), "the fetches")])
    replies = sqs.replies(r)
    s3 = s3_client(sqs.endpoint)
    for request_id, key, content in (("fetch-csv", "out/q1.csv", Q1_CSV),
                                     ("fetch-txt", "out/summary.txt", b"all green\n")):
        assert request_id in replies, ("no reply", request_id, runner.counters.values, runner.log.tail(20))
        assert ok_result(replies, request_id) == {"bucket": bucket, "key": key, "size": len(content),
                                                  "sha256": hashlib.sha256(content).hexdigest()}
        assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == content
    assert (runner.counters.values["processed"], runner.counters.values["failed"],
            runner.counters.values["retried"]) == (2, 0, 0), runner.counters.values
    assert (reports / "2024" / "q1.csv").read_bytes() == Q1_CSV  # the source is untouched
    assert sqs.empty(queue.url) and sqs.counts(queue.dlq) == (0, 0)


def test_put_then_fetch_round_trip_through_a_read_write_file_tree(sqs: Sqs, files: Path, bucket: str):
    drop = files / "drop"
    drop.mkdir()
    mount("/drop", "FileTree", drop)
    s3 = s3_client(sqs.endpoint)
    body = os.urandom(300_000)
    s3.put_object(Bucket=bucket, Key="in/data.bin", Body=body)
    queue, replies_q = sqs.queue(max_receives=2), sqs.queue()
    r = replies_q.url
    put = [{"id": "rt-put", "op": "put", "path": "/drop/data.bin", "from": {"bucket": bucket, "key": "in/data.bin"},
            "reply_to": r}]
    fetch = [{"id": "rt-fetch", "op": "fetch", "path": "/drop/data.bin",
              "to": {"bucket": bucket, "key": "out/data.bin"}, "reply_to": r}]
    runner = run(sqs, queue.url, [
        (put, lambda rn: lambda: handled(rn, 1)() and sqs.empty(queue.url), "the put"),
        (fetch, lambda rn: handled(rn, 2), "the fetch"),
    ])
    replies = sqs.replies(r)
    assert ok_result(replies, "rt-put")["attributes"]["size"] == len(body)
    assert (drop / "data.bin").read_bytes() == body
    assert "rt-fetch" in replies, ("no reply", runner.counters.values, runner.log.tail(20))
    assert ok_result(replies, "rt-fetch") == {"bucket": bucket, "key": "out/data.bin", "size": len(body),
                                              "sha256": hashlib.sha256(body).hexdigest()}
    assert s3.get_object(Bucket=bucket, Key="out/data.bin")["Body"].read() == body
    assert sqs.empty(queue.url) and sqs.counts(queue.dlq) == (0, 0)


def test_xml_update_through_the_runner_writes_the_element(sqs: Sqs, files: Path):
    xml = files / "config.xml"
    xml.write_text(XML)
    mount("/x", "XmlDocument", xml)
    queue, replies_q = sqs.queue(max_receives=2), sqs.queue()
    requests = [{"id": "xml-upd", "op": "update", "path": "/x/database",
                 "attributes": {"port": "5433", "@host": "db2"}, "reply_to": replies_q.url}]
    run(sqs, queue.url, [(requests, lambda rn: lambda: handled(rn, 1)() and sqs.empty(queue.url),
                          "the XML update")])
    updated = ok_result(sqs.replies(replies_q.url), "xml-upd")
    assert updated["attributes"] == {"@host": "db2", "port": "5433"}
    root = ET.fromstring(xml.read_bytes())
    assert root.find("database").get("host") == "db2" and root.find("database/port").text == "5433"
    assert [s.get("id") for s in root.findall("server")] == ["a", "b"]
    assert [t.text for t in root.findall("tag")] == ["x", "y"] and root.get("version") == "2"
    assert sqs.empty(queue.url) and sqs.counts(queue.dlq) == (0, 0)
