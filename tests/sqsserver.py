"""A real SQS endpoint for the tests, and ways to look at it behind Realnet's back.

The endpoint is moto in server mode: conftest's session-wide ``s3_server`` is a moto
server for every AWS service (tests/s3server.py), SQS included, reached over HTTP on a
loopback port. Each test makes queues with names of its own, so tests never share one.

Every wait here is a bounded poll that keeps a broken runner from hanging the run; none
is a performance assertion.
"""

from __future__ import annotations

import functools
import json
import os
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ACCESS_KEY = SECRET_KEY = "testing"
WAIT_SECONDS = 60.0  # how long a broken runner may hang a test, not a performance figure


@functools.cache
def sqs_client(endpoint: str) -> Any:
    """A plain boto3 SQS client on the test endpoint (one per endpoint)."""
    import boto3

    return boto3.session.Session().client(
        "sqs", endpoint_url=endpoint, region_name="us-east-1",
        aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


@dataclass
class Sqs:
    """The endpoint of one test, and its view of the queues."""

    endpoint: str

    @property
    def client(self) -> Any:
        return sqs_client(self.endpoint)

    def queue(self, prefix: str = "rn-in", *, max_receives: int | None = 1,
              visibility: int = 30) -> str:
        """A new queue; with ``max_receives`` also a dead-letter queue ``NAME-dlq`` and a
        redrive policy (1: a refused request lands there on its first release)."""
        name = unique(prefix)
        attributes = {"VisibilityTimeout": str(visibility)}
        if max_receives is not None:
            dlq = self.client.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
            arn = self.arn(dlq)
            attributes["RedrivePolicy"] = json.dumps({"deadLetterTargetArn": arn,
                                                      "maxReceiveCount": str(max_receives)})
        return self.client.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]

    def dead_letters_of(self, queue: str) -> str:
        return self.client.get_queue_url(QueueName=queue.rsplit("/", 1)[1] + "-dlq")["QueueUrl"]

    def arn(self, queue: str) -> str:
        return self.client.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"]
                                                )["Attributes"]["QueueArn"]

    def attributes(self, queue: str) -> dict[str, str]:
        return self.client.get_queue_attributes(QueueUrl=queue, AttributeNames=["All"])["Attributes"]

    def counts(self, queue: str) -> tuple[int, int]:
        """(visible, in flight) messages on ``queue``."""
        found = self.attributes(queue)
        return (int(found["ApproximateNumberOfMessages"]),
                int(found["ApproximateNumberOfMessagesNotVisible"]))

    def names(self, prefix: str = "") -> set[str]:
        """Names of the queues that exist now."""
        urls = self.client.list_queues(QueueNamePrefix=prefix).get("QueueUrls", [])
        return {url.rsplit("/", 1)[1] for url in urls}

    def exists(self, name: str) -> bool:
        return name in self.names(name)

    def send(self, queue: str, *bodies: dict[str, Any] | str) -> None:
        """Send message bodies (dicts as JSON), ten to a batch."""
        texts = [b if isinstance(b, str) else json.dumps(b) for b in bodies]
        for start in range(0, len(texts), 10):
            answer = self.client.send_message_batch(QueueUrl=queue, Entries=[
                {"Id": str(n), "MessageBody": text} for n, text in enumerate(texts[start:start + 10])])
            assert not answer.get("Failed"), answer

    def take(self, queue: str, *, wait: int = 1) -> list[str]:
        """Every message visible on ``queue`` now, removed from it: until a receive that
        waited ``wait`` seconds comes back empty."""
        bodies: list[str] = []
        while True:
            messages = self.client.receive_message(QueueUrl=queue, MaxNumberOfMessages=10,
                                                   WaitTimeSeconds=wait, VisibilityTimeout=60
                                                   ).get("Messages", [])
            if not messages:
                return bodies
            bodies += [m["Body"] for m in messages]
            self.client.delete_message_batch(QueueUrl=queue, Entries=[
                {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(messages)])

    def replies(self, queue: str, ids: Iterable[str], *, what: str = "replies",
                alive: Any = None) -> dict[str, list[dict[str, Any]]]:
        """Replies on ``queue`` until every one of ``ids`` has at least one, by id (every
        reply received meanwhile is kept, other ids too). ``alive`` (a callable) may fail the
        test early, e.g. when the runner's process has ended."""
        wanted = set(ids)
        found: dict[str, list[dict[str, Any]]] = {}
        deadline = time.monotonic() + WAIT_SECONDS
        while not wanted <= found.keys():
            if time.monotonic() > deadline:
                pytest.fail(f"no {what} for {sorted(wanted - found.keys())} within {WAIT_SECONDS:.0f} s "
                            f"(got {found})")
            if alive is not None:
                alive()
            for body in self.take(queue):
                reply = json.loads(body)
                found.setdefault(reply.get("id"), []).append(reply)
        return found


def aws_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, endpoint: str) -> dict[str, str]:
    """This test's environment (and so its child processes') set for the SQS endpoint:
    the test credentials, no AWS file or variable of the machine, quick long polls.
    Returns the variables set."""
    for key in list(os.environ):
        if key.startswith("AWS_"):
            monkeypatch.delenv(key)
    values = {
        "AWS_CONFIG_FILE": str(tmp_path / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-aws-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "REALNET_SQS_ENDPOINT_URL": endpoint,
        "REALNET_SQS_WAIT_SECONDS": "1",
    }
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    return values
