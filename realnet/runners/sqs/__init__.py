"""The SQS runner: requests from a queue, applied through the store, replies to ``reply_to``.

Delivery (DESIGN §3 "SQS protocol"): long polls of up to ten messages while fewer than
``REALNET_SQS_CONCURRENCY`` are being worked on; a message's visibility is extended while
it is worked on; it is deleted only once its outcome is committed. The outcome is recorded
under the request id in the same transaction as the change, so a redelivered request is
answered from the record and never applied twice. A request that fails for a reason a
retry cannot fix gets its error reply once and goes back to the queue at once, so the
queue's redrive policy moves it to the dead-letter queue (without one it is deleted, and
the log says so); a failure that may pass (the database or an endpoint away) leaves the
message to come back after its visibility timeout.
"""

from __future__ import annotations

import asyncio
import json
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from typing import TYPE_CHECKING, Any

from realnet.core.context import LOCAL_ADMIN
from realnet.core.errors import RealnetError, StoreError, UsageError
from realnet.runners.manager import Runner
from realnet.runners.sqs import protocol
from realnet.runners.sqs.client import aws_client, call, queue_name

if TYPE_CHECKING:
    from realnet.config import Settings
    from realnet.core.context import Context

BATCH = 10  # SQS's most per receive, delete or visibility change
BACKOFF_FIRST, BACKOFF_MOST = 0.5, 30.0  # seconds, while the queue cannot be reached
FORGET_EVERY = 3600.0  # seconds between sweeps of request records older than the window


class _Raced(Exception):
    """Another worker recorded the same request id first: its outcome stands."""


#: Records of refused messages (by SQS message id) sit beside the requests' records under
#: this principal, which no account can have (account names start with a letter).
REFUSED_MESSAGES = "-refused"


class SqsRunner(Runner):
    kind = "sqs"

    def __init__(self, settings: Settings, *, queue_url: str | None = None,
                 principal: str | None = None, concurrency: int | None = None,
                 queue_option: str = "--queue") -> None:
        super().__init__()
        self.settings = settings
        self.queue_url = (queue_url or settings.sqs_queue_url or "").rstrip("/")
        self.queue_option = queue_option  # where a queue URL given to the runner came from
        self.queue_source = queue_option if queue_url else "REALNET_SQS_QUEUE_URL"
        self.principal = principal or settings.sqs_principal or LOCAL_ADMIN
        self.concurrency = concurrency or settings.sqs_concurrency
        self.visibility = settings.sqs_visibility_timeout
        self.wait_seconds = settings.sqs_wait_seconds
        self.dead_letters = False  # whether the queue has a redrive policy
        self._gateway: Any = None
        self._client: Any = None
        self._refs: Any = None
        self._calls: ThreadPoolExecutor | None = None
        self._stop = asyncio.Event()
        self._abandon = threading.Event()  # tells a pending long poll to give back what it gets
        self._handoff = threading.Lock()
        self._polls: set[threading.Thread] = set()  # long polls still out
        self._deadline = 10.0
        # Messages held: those worked on, and one batch more received ahead of them.
        self._free = self.concurrency + BATCH
        self._working = asyncio.Semaphore(self.concurrency)
        self._freed = asyncio.Event()
        self._held: dict[str, float] = {}  # receipt handle → when its visibility was last set
        self._handlers: set[asyncio.Task[None]] = set()
        self._batchers: dict[tuple[str, str], _Batcher] = {}
        for name in ("processed", "failed", "redelivered", "retried", "in_flight"):
            self.counters.values[name] = 0

    @property
    def address(self) -> str:
        return queue_name(self.queue_url) if self.queue_url else "-"

    @property
    def started_line(self) -> str:
        return f"reading {self.queue_url} as {self.principal}, {self.concurrency} at once"

    # -- lifecycle ---------------------------------------------------------------------
    def prepare(self) -> None:
        if not self.queue_url:
            raise UsageError(f"sqs: no queue (give {self.queue_option} URL or set REALNET_SQS_QUEUE_URL)")
        from realnet.config import check_url

        check_url(self.queue_url, self.queue_source)
        protocol.check_available()
        self._client = aws_client(self.settings, "sqs", self.queue_url)
        attributes = self._sqs("read the queue's attributes", "get_queue_attributes",
                               QueueUrl=self.queue_url, AttributeNames=["RedrivePolicy"])
        self.dead_letters = "RedrivePolicy" in attributes.get("Attributes", {})
        from realnet.runners.gateway import StoreGateway
        from realnet.runners.sqs.refs import ObjectRefs

        self._gateway = StoreGateway(self.settings)
        try:
            self._gateway.open()
            self._gateway.check_principal(self.principal, "REALNET_SQS_PRINCIPAL")
        except BaseException:
            self._gateway.close()
            raise
        self._refs = ObjectRefs(self.settings)
        self._calls = ThreadPoolExecutor(self.concurrency + 4, thread_name_prefix="realnet-sqs")
        if not self.dead_letters:
            self.log.write(f"sqs: {self.address} has no redrive policy: failed requests are deleted "
                           "after their error reply (create queues with 'realnet sqs create-queue')")

    async def serve(self) -> None:
        # The first sweep ends before any message is read: a request id whose record has
        # aged out must be a new request, not one answered from a record being dropped.
        await self._forget_once()
        helpers = [asyncio.create_task(self._keep_visible(), name="realnet-sqs-visibility"),
                   asyncio.create_task(self._forget_old(), name="realnet-sqs-forget")]
        receivers = [asyncio.create_task(self._receive_loop(), name=f"realnet-sqs-receive-{n}")
                     for n in range(max(2, self.concurrency // BATCH))]
        try:
            await asyncio.gather(*receivers)
            await self._finish_in_flight()
            await asyncio.get_running_loop().run_in_executor(None, self._end_polls)
        finally:
            for task in helpers + receivers:
                task.cancel()
            await asyncio.gather(*helpers, *receivers, return_exceptions=True)
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(None, self._close)

    def request_stop(self, deadline: float) -> None:
        self._deadline = deadline
        with self._handoff:
            self._abandon.set()
        # A poll that handed its messages over before this has its hand-over queued on the
        # loop ahead of the wake-ups that setting the event queues: the loop sees them first.
        self._stop.set()

    def _end_polls(self) -> None:
        """Wait (a bounded time) for long polls still out: what they bring goes back to the
        queue now rather than after its visibility timeout, even if the process ends next."""
        end = time.monotonic() + min(self._deadline, self.wait_seconds + 5)
        for thread in list(self._polls):
            thread.join(max(0.0, end - time.monotonic()))
        if any(thread.is_alive() for thread in self._polls):
            self.log.write("sqs: a receive is still out; what it brings comes back after the "
                           "visibility timeout")

    def _close(self) -> None:
        if self._calls is not None:
            self._calls.shutdown(wait=True, cancel_futures=True)
        if self._gateway is not None:
            self._gateway.close()

    async def _finish_in_flight(self) -> None:
        if not self._handlers:
            return
        self.log.write(f"sqs: finishing {len(self._handlers)} request(s) in flight")
        _, late = await asyncio.wait(set(self._handlers), timeout=self._deadline)
        if late:
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
            self.log.write(f"sqs: {len(late)} request(s) did not finish within {self._deadline:g} s; "
                           "their messages become visible again")

    # -- receiving -----------------------------------------------------------------------
    async def _receive_loop(self) -> None:
        backoff = 0.0
        while not self._stop.is_set():
            count = await self._take_slots()
            if count == 0:
                break
            try:
                messages = await self._long_poll(count)
            except RealnetError as e:
                self._give_slots(count)
                backoff = min(BACKOFF_MOST, backoff * 2 or BACKOFF_FIRST)
                if backoff == BACKOFF_FIRST:
                    self.log.write(f"sqs: cannot receive: {e}; retrying with backoff")
                await self._sleep(backoff * random.uniform(0.8, 1.2))  # noqa: S311 - jitter, not a secret
                continue
            if backoff:
                self.log.write(f"sqs: {self.address} reachable again")
                backoff = 0.0
            if messages is None:  # stopping: the poll's messages were given back
                self._give_slots(count)
                break
            self._give_slots(count - len(messages))
            for message in messages:
                self._held[message["ReceiptHandle"]] = time.monotonic()
                self.counters.values["in_flight"] += 1
                task = asyncio.create_task(self._handle(message))
                self._handlers.add(task)
                task.add_done_callback(self._handlers.discard)

    async def _take_slots(self) -> int:
        """Up to ten of the free slots (waiting for one), or 0 when stopping."""
        while self._free == 0 and not self._stop.is_set():
            self._freed.clear()
            await _first(self._freed.wait(), self._stop.wait())
        if self._stop.is_set():
            return 0
        count = min(BATCH, self._free)
        self._free -= count
        return count

    def _give_slots(self, count: int) -> None:
        if count > 0:
            self._free += count
            self._freed.set()

    async def _long_poll(self, count: int) -> list[dict[str, Any]] | None:
        """Up to ``count`` messages, or None when a stop came first. The poll runs on a
        daemon thread: a stop does not wait for it (and what it then brings is given back
        at once), and neither does the end of the process."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[list[dict[str, Any]]] = loop.create_future()

        def poll() -> None:
            try:
                answer = self._sqs("receive messages", "receive_message", QueueUrl=self.queue_url,
                                   MaxNumberOfMessages=count, WaitTimeSeconds=self.wait_seconds,
                                   VisibilityTimeout=self.visibility,
                                   MessageSystemAttributeNames=["ApproximateReceiveCount"])
                messages = answer.get("Messages", [])
                with self._handoff:  # either the loop gets them before a stop, or they go back
                    abandoned = self._abandon.is_set()
                    if not abandoned:
                        _settle(loop, done, value=messages)
                if abandoned:
                    self._give_back(messages)
                    _settle(loop, done, value=None)
            except BaseException as e:  # handed to the loop
                _settle(loop, done, error=e)
            finally:
                self._polls.discard(threading.current_thread())

        thread = threading.Thread(target=poll, daemon=True, name="realnet-sqs-poll")
        self._polls.add(thread)
        thread.start()
        await _first(done, self._stop.wait())
        if not done.done():
            return None  # the poll thread gives back what it brings
        messages = done.result()
        if messages is not None and self._stop.is_set():
            await self._call(self._give_back, messages)
            return None
        return messages

    def _give_back(self, messages: list[dict[str, Any]]) -> None:
        """Make messages visible again now (from any thread); best effort."""
        failed = self._set_visibility([m["ReceiptHandle"] for m in messages], 0)
        if failed:
            self.log.write(f"sqs: could not release {len(failed)} message(s) ({failed[0][1]}); "
                           "they become visible when their timeout ends")

    def _set_visibility(self, receipts: list[str], seconds: int) -> list[tuple[str, RealnetError]]:
        """Set the visibility of messages, ten a call (blocking); the receipts whose call
        failed, with why."""
        failed: list[tuple[str, RealnetError]] = []
        for start in range(0, len(receipts), BATCH):
            chunk = receipts[start:start + BATCH]
            entries = [{"Id": str(n), "ReceiptHandle": r, "VisibilityTimeout": seconds}
                       for n, r in enumerate(chunk)]
            try:
                self._sqs("change visibility", "change_message_visibility_batch",
                          QueueUrl=self.queue_url, Entries=entries)
            except RealnetError as e:
                failed += [(r, e) for r in chunk]
        return failed

    # -- one message ---------------------------------------------------------------------
    async def _handle(self, message: dict[str, Any]) -> None:
        receipt = message["ReceiptHandle"]
        started = time.perf_counter()
        first = message.get("Attributes", {}).get("ApproximateReceiveCount", "1") == "1"
        slot = [1]  # given back as soon as the work is done, before the delete

        def free_slot() -> None:
            self._give_slots(slot.pop() if slot else 0)

        try:
            async with self._working:
                if self._stop.is_set():  # received ahead, not begun: back to the queue
                    await self._call(self._give_back, [message])
                    return
                disposition, line = await self._process(message, first)
            self.log.write(f"{_printable(line)} {(time.perf_counter() - started) * 1000:.1f}ms")
            free_slot()
            await self._dispose(receipt, disposition)
        except asyncio.CancelledError:
            await asyncio.shield(self._call(self._give_back, [message]))
            raise
        except Exception as e:  # a bug: the message comes back after its timeout
            self.log.write(f"sqs: error handling a message: {type(e).__name__}: {e}")
        finally:
            free_slot()
            self._held.pop(receipt, None)
            self.counters.values["in_flight"] -= 1

    async def _process(self, message: dict[str, Any], first: bool) -> tuple[str, str]:
        """What to do with the message (delete, dead-letter, retry) and a log line."""
        counters = self.counters.values
        body = message.get("Body", "")
        try:
            request = protocol.parse(body)
            if request.reply_to and request.reply_to.rstrip("/") == self.queue_url:
                raise protocol.MessageError("message.reply_to: must not be the queue the runner reads")
        except protocol.MessageError as e:
            request_id, op, reply_to = protocol.peek(body)
            if await self._answer_once(message, first):
                counters["failed"] += 1
                if reply_to and reply_to.rstrip("/") != self.queue_url:
                    await self._reply(reply_to, protocol.failed(request_id, op, e))
            return "dead-letter", f"{request_id or '-'} {op or '-'} - error invalid_message: {e}"
        try:
            reply, replayed = await self._apply(request)
        except StoreError as e:
            counters["retried"] += 1
            return "retry", f"{request.id} {request.op} {request.path} retry: {e}"
        except RealnetError as e:  # the token, refused before any work: nothing is recorded
            if await self._answer_once(message, first):
                counters["failed"] += 1
                if request.reply_to:
                    await self._reply(request.reply_to, protocol.failed(request.id, request.op, e))
            return "dead-letter", f"{request.id} {request.op} {request.path} error {e.code}"
        ok = reply["status"] == "ok"
        if replayed:
            counters["redelivered"] += 1
        else:
            counters["processed" if ok else "failed"] += 1
        if request.reply_to and (ok or not replayed):
            sent = await self._reply(request.reply_to, {**reply, "replayed": True} if replayed else reply)
            if not sent and ok:
                return "retry", f"{request.id} {request.op} {request.path} ok; the reply comes again"
        outcome = "ok" if ok else f"error {reply['error']['code']}"
        note = " (redelivered: answered from the record)" if replayed else ""
        line = f"{request.id} {request.op} {request.path} {outcome}{note}"
        return ("delete" if ok else "dead-letter"), line

    async def _answer_once(self, message: dict[str, Any], first: bool) -> bool:
        """Whether this delivery of a message refused before any work gets the error reply:
        the first to record its SQS message id does. Going by the receive count alone, a
        first delivery given back unanswered (a stop, a lost receive) left it unanswered."""
        message_id = message.get("MessageId")
        if not isinstance(message_id, str) or not message_id:
            return first

        def work(context: Context) -> bool:
            with context.transaction():
                return context.provider.record_request(REFUSED_MESSAGES, message_id, "{}")

        try:
            return await self._gateway.run(None, work, principal=self.principal)
        except RealnetError:
            return first  # the store is away: the receive count is all there is

    async def _apply(self, request: protocol.Request) -> tuple[dict[str, Any], bool]:
        from realnet.runners.sqs.ops import apply

        def work(context: Context) -> tuple[dict[str, Any], bool]:
            provider, principal = context.provider, context.principal
            prior = provider.request_outcome(principal, request.id)
            if prior is not None:
                return json.loads(prior), True
            try:
                with context.transaction():
                    reply = protocol.ok(request.id, request.op, apply(context, request, self._refs))
                    if not provider.record_request(principal, request.id, _dumps(reply)):
                        raise _Raced
                return reply, False
            except _Raced:
                pass
            except StoreError:
                raise
            except RealnetError as e:
                reply = protocol.failed(request.id, request.op, e)
                with context.transaction():
                    if provider.record_request(principal, request.id, _dumps(reply)):
                        return reply, False
            prior = provider.request_outcome(principal, request.id)
            assert prior is not None
            return json.loads(prior), True

        return await self._gateway.run(request.token, work, on_thread=request.op in ("put", "fetch"),
                                       principal=self.principal)

    def _batcher(self, method: str, queue: str) -> _Batcher:
        batcher = self._batchers.get((method, queue))
        if batcher is None:
            batcher = self._batchers[method, queue] = _Batcher(self, method, queue)
        return batcher

    async def _reply(self, queue: str, reply: dict[str, Any]) -> bool:
        """Send a reply (with others to the same queue, ten a call); False when it may go
        through later (the endpoint away), so that the request comes back and is answered
        again from its record."""
        try:
            await self._batcher("send_message_batch", queue).add({"MessageBody": protocol.encode(reply)})
        except RealnetError as e:
            self.log.write(f"sqs: reply to {queue_name(queue)} for {reply.get('id') or '-'} not sent: {e}")
            return not isinstance(e, StoreError)
        return True

    async def _dispose(self, receipt: str, disposition: str) -> None:
        if disposition == "retry":
            return  # the message comes back when its visibility timeout ends
        if disposition == "dead-letter" and self.dead_letters:
            entry = {"ReceiptHandle": receipt, "VisibilityTimeout": 0}
            await self._batch_call("change_message_visibility_batch", entry)
            return
        await self._batch_call("delete_message_batch", {"ReceiptHandle": receipt})

    async def _batch_call(self, method: str, entry: dict[str, Any]) -> None:
        """Delete (or release) one message, in a batch with others finishing about now;
        retried with backoff while the queue is away, until a stop. A delete that never
        happens is harmless: the request is recorded, so its redelivery is answered from
        the record."""
        batcher = self._batcher(method, self.queue_url)
        delay = BACKOFF_FIRST
        while True:
            try:
                await batcher.add(entry)
                return
            except _EntryRefused as e:
                self.log.write(f"sqs: {method} refused: {e}")
                return
            except RealnetError as e:
                if self._stop.is_set():
                    self.log.write(f"sqs: {method} failed while stopping ({e}); the message comes back "
                                   "and is answered from the record")
                    return
                await self._sleep(delay)
                delay = min(BACKOFF_MOST, delay * 2)

    # -- keeping messages hidden, forgetting old records ----------------------------------
    async def _keep_visible(self) -> None:
        """Messages still worked on get their visibility extended before it runs out."""
        every = max(0.5, self.visibility / 3)
        while True:
            await asyncio.sleep(every)
            now = time.monotonic()
            due = [r for r, at in list(self._held.items()) if now - at >= self.visibility / 2]
            if not due:
                continue
            failed = dict(await self._call(self._set_visibility, due, self.visibility))
            if failed:
                self.log.write(f"sqs: could not extend visibility ({next(iter(failed.values()))})")
            for receipt in due:
                if receipt in self._held and receipt not in failed:
                    self._held[receipt] = now

    async def _forget_old(self) -> None:
        while True:
            await asyncio.sleep(FORGET_EVERY)
            await self._forget_once()

    async def _forget_once(self) -> None:
        window = self.settings.sqs_request_window
        try:
            removed = await self._gateway.run_as_admin(
                lambda context: context.provider.forget_requests(window), slow=True)
            if removed:
                self.log.write(f"sqs: forgot {removed} request record(s) older than {window} s")
        except RealnetError as e:
            self.log.write(f"sqs: could not forget old request records ({e})")

    # -- plumbing ------------------------------------------------------------------------
    def _sqs(self, doing: str, method: str, *, queue: str | None = None, **kwargs: Any) -> Any:
        """One SQS call (blocking), its failure as a one-line RealnetError."""
        return call(self._client, queue or self.queue_url, doing, method, **kwargs)

    async def _call(self, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._calls, lambda: function(*args, **kwargs))

    async def _sleep(self, seconds: float) -> None:
        with suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), timeout=seconds)


class _EntryRefused(RealnetError):
    """SQS refused one entry of a batch call (a receipt handle no longer valid)."""


class _Batcher:
    """One of SQS's batch calls (delete, change visibility) for entries that come one by
    one: an entry waits for the call it goes out in, and those that arrive while a call
    is out go together in the next, ten at most."""

    def __init__(self, runner: SqsRunner, method: str, queue: str) -> None:
        self.runner, self.method, self.queue = runner, method, queue
        self.waiting: list[tuple[dict[str, Any], asyncio.Future[None]]] = []
        self.sender: asyncio.Task[None] | None = None

    async def add(self, entry: dict[str, Any]) -> None:
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.waiting.append((entry, done))
        if self.sender is None or self.sender.done():
            self.sender = asyncio.create_task(self._send())
        await done

    async def _send(self) -> None:
        runner = self.runner
        while self.waiting:
            batch, self.waiting = self.waiting[:BATCH], self.waiting[BATCH:]
            entries = [{**entry, "Id": str(n)} for n, (entry, _) in enumerate(batch)]
            try:
                answer = await runner._call(runner._sqs, self.method.replace("_", " "), self.method,
                                            QueueUrl=self.queue, Entries=entries, queue=self.queue)
            except RealnetError as e:
                for _, done in batch:
                    if not done.done():
                        done.set_exception(e)
                continue
            refused = {f.get("Id"): f for f in answer.get("Failed", [])}
            for n, (_, done) in enumerate(batch):
                if done.done():
                    continue
                failure = refused.get(str(n))
                if failure is None:
                    done.set_result(None)
                else:
                    done.set_exception(_EntryRefused(f"{failure.get('Code')}: {failure.get('Message', '')}"))
        if runner._batchers.get((self.method, self.queue)) is self:
            del runner._batchers[self.method, self.queue]  # reply queues come and go


async def _first(*waits: Any) -> None:
    """Until the first of these awaitables is done; the others are cancelled (not a
    future given by the caller, which is only waited on)."""
    tasks = [w if isinstance(w, asyncio.Future) else asyncio.ensure_future(w) for w in waits]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task, wait in zip(tasks, waits, strict=True):
            if task is not wait:
                task.cancel()


def _settle(loop: asyncio.AbstractEventLoop, future: asyncio.Future[Any], *, value: Any = None,
            error: BaseException | None = None) -> None:
    def settle() -> None:
        if future.done():
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(value)

    with suppress(RuntimeError):  # the loop has closed: nobody waits any more
        loop.call_soon_threadsafe(settle)


def _printable(text: str) -> str:
    """A log line from message fields, which a sender controls: no line breaks or escapes."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in text)


def _dumps(reply: dict[str, Any]) -> str:
    return json.dumps(reply, ensure_ascii=False, separators=(",", ":"), default=str)

