"""``realnet sqs send|receive|create-queue``: queue helpers for operators and tests.

They talk to SQS as the runner does (REALNET_SQS_ENDPOINT_URL, REALNET_SQS_REGION, the AWS
credential chain). ``send`` checks the request against the message schema before sending,
and with ``--wait-reply`` waits on a reply queue of its own for the runner's answer.
"""

from __future__ import annotations

import json
import sys
import time
import uuid
from typing import Any

import click

from realnet.commands.common import output_option, session_of
from realnet.commands.output import Record
from realnet.core.errors import NotFound, RealnetError, UsageError

DEAD_LETTER_SUFFIX = "-dlq"


def _client(session: Any, queue_url: str | None = None) -> Any:
    from realnet.runners.sqs.client import aws_client

    if session.settings is None:
        raise UsageError("sqs: no settings loaded")
    return aws_client(session.settings, "sqs", queue_url)


def _call(client: Any, queue: str, doing: str, method: str, **kwargs: Any) -> Any:
    from realnet.runners.sqs.client import call

    return call(client, queue, doing, method, **kwargs)


def _body_of(text: str) -> dict[str, Any]:
    if text == "-":
        text = sys.stdin.read()
    elif text.startswith("@"):
        try:
            with open(text[1:], encoding="utf-8") as handle:
                text = handle.read()
        except FileNotFoundError:
            raise NotFound(text[1:], "no such file") from None
        except (OSError, UnicodeDecodeError) as e:
            raise RealnetError(f"{text[1:]}: cannot read ({e})") from None
    from realnet.runners.sqs.protocol import load_object

    return load_object(text, "BODY")


def register(group: click.Group) -> None:
    @group.group("sqs")
    def sqs():
        """Send, receive and create SQS queues (REALNET_SQS_ENDPOINT_URL, the AWS credentials)."""

    @sqs.command("send")
    @click.argument("queue_url")
    @click.argument("body")
    @click.option("--wait-reply", is_flag=True, help="Wait for the runner's reply and print it.")
    @click.option("--timeout", type=click.FloatRange(0.1, 3600), default=30.0, show_default=True,
                  help="Seconds to wait for the reply.")
    @output_option
    @click.pass_context
    def send(ctx, queue_url, body, wait_reply, timeout, output):
        """Send a request (JSON; '-' reads stdin, @FILE a file). A missing id is generated."""
        from realnet.runners.sqs import protocol

        session = session_of(ctx)
        request = _body_of(body)
        request.setdefault("id", str(uuid.uuid4()))
        client = _client(session, queue_url)
        reply_queue = None
        if wait_reply and "reply_to" not in request:
            name = f"realnet-reply-{uuid.uuid4().hex[:12]}"
            reply_queue = _call(client, name, "create a reply queue", "create_queue",
                                QueueName=name)["QueueUrl"]
            request["reply_to"] = reply_queue
        try:
            text = json.dumps(request, ensure_ascii=False)
            protocol.parse(text)  # the runner would refuse it: say so now
            sent = _call(client, queue_url, "send the message", "send_message",
                         QueueUrl=queue_url, MessageBody=text)
            if not wait_reply:
                session.emit(Record({"id": request["id"], "message_id": sent["MessageId"]},
                                    message=f"sent {request['id']}"), output)
                return
            reply = _wait_reply(client, request["reply_to"], request["id"], timeout)
        finally:
            if reply_queue is not None:
                _call(client, reply_queue, "delete the reply queue", "delete_queue", QueueUrl=reply_queue)
        session.emit(Record(reply, message=json.dumps(reply, ensure_ascii=False)), output)
        if reply.get("status") != "ok":
            error = reply.get("error") or {}
            raise RealnetError(f"{request['id']}: {error.get('code', 'error')}: {error.get('message', '')}")

    @sqs.command("receive")
    @click.argument("queue_url")
    @click.option("-n", "--count", type=click.IntRange(1, 10), default=10, show_default=True,
                  help="At most this many messages.")
    @click.option("--wait", type=click.IntRange(0, 20), default=5, show_default=True,
                  help="Seconds to wait for a first message.")
    @click.option("--keep", is_flag=True, help="Leave the messages on the queue (they reappear after "
                  "their visibility timeout).")
    @click.pass_context
    def receive(ctx, queue_url, count, wait, keep):
        """Print message bodies, one per line, and delete them (unless --keep)."""
        session = session_of(ctx)
        client = _client(session, queue_url)
        messages = _call(client, queue_url, "receive messages", "receive_message", QueueUrl=queue_url,
                         MaxNumberOfMessages=count, WaitTimeSeconds=wait).get("Messages", [])
        for message in messages:
            session.stdout.write(message["Body"] + "\n")
        if messages and not keep:
            _call(client, queue_url, "delete messages", "delete_message_batch", QueueUrl=queue_url,
                  Entries=[{"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]}
                           for n, m in enumerate(messages)])
        session.note(f"{len(messages)} message(s)" + (" (kept)" if keep and messages else ""))

    @sqs.command("create-queue")
    @click.argument("name")
    @click.option("--dead-letter", metavar="NAME",
                  help=f"Dead-letter queue (default NAME{DEAD_LETTER_SUFFIX}).")
    @click.option("--no-dead-letter", is_flag=True, help="No dead-letter queue (failed requests are "
                  "then deleted after their error reply).")
    @click.option("--max-receives", type=click.IntRange(1, 1000), default=5, show_default=True,
                  help="Receives before a message moves to the dead-letter queue.")
    @click.option("--visibility-timeout", type=click.IntRange(0, 43200), default=30, show_default=True,
                  help="Seconds a received message stays hidden.")
    @output_option
    @click.pass_context
    def create_queue(ctx, name, dead_letter, no_dead_letter, max_receives, visibility_timeout, output):
        """Create a queue for the runner, with a dead-letter queue and redrive policy."""
        session = session_of(ctx)
        if dead_letter and no_dead_letter:
            raise UsageError("sqs create-queue: --dead-letter and --no-dead-letter exclude each other")
        client = _client(session)
        attributes = {"VisibilityTimeout": str(visibility_timeout)}
        result: dict[str, Any] = {}
        if not no_dead_letter:
            dlq_name = dead_letter or f"{name}{DEAD_LETTER_SUFFIX}"
            dlq = _call(client, dlq_name, "create the dead-letter queue", "create_queue",
                        QueueName=dlq_name, Attributes={"MessageRetentionPeriod": "1209600"})["QueueUrl"]
            arn = _call(client, dlq, "read the dead-letter queue", "get_queue_attributes", QueueUrl=dlq,
                        AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            attributes["RedrivePolicy"] = json.dumps({"deadLetterTargetArn": arn,
                                                      "maxReceiveCount": str(max_receives)})
            result["dead_letter_queue_url"] = dlq
        queue = _call(client, name, "create the queue", "create_queue", QueueName=name,
                      Attributes=attributes)["QueueUrl"]
        result = {"queue_url": queue, **result}
        message = queue + (f"\ndead letters: {result['dead_letter_queue_url']} after {max_receives} "
                           "receives" if not no_dead_letter else "")
        session.emit(Record(result, message=message), output)


def _wait_reply(client: Any, queue: str, request_id: str, timeout: float) -> dict[str, Any]:
    """The reply with this request id from ``queue``; other messages are left alone."""
    end = time.monotonic() + timeout
    while True:
        left = end - time.monotonic()
        if left <= 0:
            raise RealnetError(f"{request_id}: no reply within {timeout:g} s on {queue} "
                               "(is a runner reading the queue? see 'jobs' or the server's log)")
        messages = _call(client, queue, "receive the reply", "receive_message", QueueUrl=queue,
                         MaxNumberOfMessages=10, WaitTimeSeconds=max(0, min(20, int(left))),
                         VisibilityTimeout=5).get("Messages", [])
        for message in messages:
            try:
                reply = json.loads(message["Body"])
            except ValueError:
                continue
            if isinstance(reply, dict) and reply.get("id") == request_id:
                _call(client, queue, "delete the reply", "delete_message", QueueUrl=queue,
                      ReceiptHandle=message["ReceiptHandle"])
                return reply
