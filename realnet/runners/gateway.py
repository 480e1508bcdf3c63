"""Store work for the runners (HTTP, SQS): one place that turns a token into a context.

Each request reads the store's counters once (one indexed query) and then reuses what
is still valid: the token's account, the account's groups, its ACL entries and the types
stay cached until a write under /system, an ACL change or a type change moves them.
Answers to reads that a face marks as cacheable are kept per principal while the store's
change marker stays the same (``realnet.runners.answers``).

Where the work runs depends on the store. SQLite work is in-process CPU work of
microseconds: it runs on the event loop itself, with a connection of the runner's own
(handing it to a thread would cost more than the work and add nothing, as the GIL keeps
one at a time anyway). PostgreSQL work waits on the network: it runs on a few threads,
each with its own provider, so the loop stays free for other requests and probes.
"""

from __future__ import annotations

import asyncio
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, TypeVar

from realnet.core.access import ANONYMOUS, IDENTITY_GENERATION
from realnet.core.context import LOCAL_ADMIN, Context
from realnet.providers.mounts import MOUNTS_GENERATION
from realnet.runners.answers import Answer, AnswerCache
from realnet.security.tokens import digest

if TYPE_CHECKING:
    from realnet.config import Settings
    from realnet.providers.base import Provider
    from realnet.resources.accounts import TokenGrant

T = TypeVar("T")
CONTEXTS_PER_STORE = 256
TOKENS_PER_STORE = 4096
#: A cached token is checked against the store again at least this often (and records its use).
TOKEN_RECHECK = timedelta(seconds=60)


class _Store:
    """One provider and what requests on it may reuse: a context per recent principal,
    and the recent token checks."""

    def __init__(self, settings: Settings, cache_bytes: int = 0) -> None:
        from realnet.app import open_provider, secret_box
        from realnet.core.loader import packaged_directory
        from realnet.resources import ResourceRegistry

        self.provider: Provider = open_provider(settings)
        self._secrets = secret_box(settings)
        from realnet.storage import LazyContent

        self._content = LazyContent(settings)
        self._resources = ResourceRegistry()
        self._init = [packaged_directory()]
        self._mount_paths = settings.mount_paths
        self.contexts: OrderedDict[str, Context] = OrderedDict()
        #: Whether the store has (or had) mounts, as its counters said at the last request.
        self.has_mounts = False
        # sha256(token) → (identity generation, when checked, grant)
        self.tokens: OrderedDict[str, tuple[int, datetime, TokenGrant]] = OrderedDict()
        self.answers = AnswerCache(cache_bytes) if cache_bytes > 0 else None
        self._generations: dict[str, int] = {}
        self._generations_marker: Hashable | None = None

    def context(self, principal: str, generations: dict[str, int] | None = None) -> Context:
        context = self.contexts.get(principal)
        if context is None:
            context = Context(self.provider, self._resources, init_directories=self._init,
                              principal=principal, secrets=self._secrets,
                              content=self._content, mount_paths=self._mount_paths)  # type: ignore[arg-type]
            self.contexts[principal] = context
            if len(self.contexts) > CONTEXTS_PER_STORE:
                self.contexts.popitem(last=False)
            if generations is not None:
                context.guard.refresh(generations)
        else:
            self.contexts.move_to_end(principal)
            context.refresh(generations)
        return context

    def principal(self, token: str | None, generations: dict[str, int]) -> tuple[str, bool]:
        """The token's account, and whether the store was read (and maybe written) for it."""
        if token is None:
            return ANONYMOUS, False
        key = digest(token)  # as the store keeps tokens: never the token itself
        now = datetime.now(UTC)
        cached = self.tokens.get(key)
        if cached is not None:
            generation, checked, grant = cached
            if generation == generations.get(IDENTITY_GENERATION, 0) and now - checked < TOKEN_RECHECK \
                    and (grant.expires is None or now < grant.expires):
                return grant.account, False
        from realnet.resources.accounts import Directory

        self.tokens.pop(key, None)
        grant = Directory(self.context(LOCAL_ADMIN)).token_grant(token)  # raises for a bad token
        # The check may have recorded the token's use, which moves the identity counter.
        self.tokens[key] = (self.provider.generation(IDENTITY_GENERATION), now, grant)
        if len(self.tokens) > TOKENS_PER_STORE:
            self.tokens.popitem(last=False)
        return grant.account, True

    def _begin(self, token: str | None, fallback: str, *,
               caching: bool) -> tuple[str, dict[str, int], Hashable | None]:
        """A request's principal and counters, and (``caching``) the store's change marker,
        read before anything an answer is made of: a write in between only costs a miss."""
        marker = self.provider.change_marker() if caching else None
        generations = self._generations_at(marker)
        self.has_mounts = generations.get(MOUNTS_GENERATION, 0) > 0
        principal, checked = self.principal(token, generations) if token is not None else (fallback, False)
        if checked:  # the check may have written (a token's last use)
            marker = self.provider.change_marker() if caching else None
            generations = self._generations_at(marker)
        return principal, generations, None if self.has_mounts else marker

    def _generations_at(self, marker: Hashable | None) -> dict[str, int]:
        """The counters; unread again while the store's change marker has not moved."""
        if marker is None or marker != self._generations_marker:
            self._generations, self._generations_marker = self.provider.generations(), marker
        return self._generations

    def run(self, token: str | None, work: Callable[[Context], T], fallback: str = ANONYMOUS) -> T:
        principal, generations, _ = self._begin(token, fallback, caching=False)
        return work(self.context(principal, generations))

    def read(self, token: str | None, key: Hashable,
             work: Callable[[Context], Answer] | None) -> Answer | None:
        """``work``'s answer, or the one kept for the same principal and ``key`` if the store
        has not changed since it was made (without ``work``: that one, or ``None``)."""
        answers = None if self.has_mounts else self.answers
        principal, generations, marker = self._begin(token, ANONYMOUS, caching=answers is not None)
        if answers is None or marker is None:
            return None if work is None else work(self.context(principal, generations))
        kept = answers.get((principal, key), marker)
        if kept is not None or work is None:
            return kept
        answer = work(self.context(principal, generations))
        answers.put((principal, key), marker, answer)
        return answer


class StoreGateway:
    def __init__(self, settings: Settings, *, threads: int | None = None, cache_bytes: int = 0) -> None:
        self.settings = settings
        self.cache_bytes = cache_bytes
        if threads is None:
            threads = 0 if settings.db_type == "sqlite" else 4
        self.threads = threads
        self._executor = ThreadPoolExecutor(threads, thread_name_prefix="realnet-store") if threads else None
        # Password hashing and content transfers take long: never on the event loop.
        self._slow = self._executor or ThreadPoolExecutor(4, thread_name_prefix="realnet-slow")
        self._local = threading.local()
        self._stores: list[_Store] = []
        self._lock = threading.Lock()

    def _store(self) -> _Store:
        store = getattr(self._local, "store", None)
        if store is None:
            # Each store thread keeps its own answers: an embedded store's change marker only
            # compares within one connection.
            cache_bytes = self.cache_bytes // max(1, self.threads)
            store = self._local.store = _Store(self.settings, cache_bytes)
            with self._lock:
                self._stores.append(store)
        return store

    def open(self) -> None:
        """Open the store now (initializing a new one), so that a broken store fails at start."""
        def check() -> None:
            self._store().context(LOCAL_ADMIN).ensure_initialized()

        if self._executor is None:
            check()
        else:
            self._executor.submit(check).result()

    async def run(self, token: str | None, work: Callable[[Context], T], *, on_thread: bool = False,
                  principal: str = ANONYMOUS) -> T:
        """``work`` on a context acting as the token's account (``principal`` without a token);
        ``on_thread`` for work that waits on the network (content going to S3, uploads)."""
        # A mounted document is parsed when it changed, which may take seconds: with mounts,
        # the embedded store's requests go to threads too, so the loop never waits for one.
        if self._executor is None and not on_thread and not self._store().has_mounts:
            return self._store().run(token, work, principal)
        return await asyncio.get_running_loop().run_in_executor(
            self._executor or self._slow, lambda: self._store().run(token, work, principal))

    async def read(self, token: str | None, key: Hashable, work: Callable[[Context], Answer]) -> Answer:
        """A read whose answer may be kept and given again while the store is unchanged."""
        if self._executor is None and not self._store().has_mounts:
            answer = self._store().read(token, key, work)
        else:
            answer = await asyncio.get_running_loop().run_in_executor(
                self._executor or self._slow, lambda: self._store().read(token, key, work))
        assert answer is not None
        return answer

    def kept(self, token: str | None, key: Hashable) -> Answer | None:
        """The answer kept for ``key``, when the embedded store can say so at once (on the
        loop, without a thread hop); ``None`` otherwise."""
        if self._executor is not None or self._store().has_mounts:
            return None
        return self._store().read(token, key, None)

    def answer_stats(self) -> dict[str, int]:
        """Kept answers over every store thread: hits, misses, answers and bytes held."""
        totals = {"hits": 0, "misses": 0, "answers": 0, "bytes": 0}
        with self._lock:
            caches = [s.answers for s in self._stores if s.answers is not None]
        for cache in caches:
            totals["hits"] += cache.hits
            totals["misses"] += cache.misses
            totals["answers"] += len(cache)
            totals["bytes"] += cache.used
        return totals

    def check_principal(self, name: str, setting: str) -> None:
        """Fail at start, naming the setting, when ``name`` is not an account that may act."""
        from realnet.core.errors import ConfigError, RealnetError, StoreError
        from realnet.resources.accounts import Directory

        def check() -> None:
            try:
                Directory(self._store().context(LOCAL_ADMIN)).check_account(name)
            except StoreError:
                raise
            except RealnetError as e:
                reason = str(e).removeprefix(f"{name}: ")
                raise ConfigError(f"{setting}={name}: {reason}") from None

        if self._executor is None:
            check()
        else:
            self._executor.submit(check).result()

    async def run_as_admin(self, work: Callable[[Context], T], *, slow: bool = False) -> T:
        """Work the runner does for itself (readiness, login), not for a caller; ``slow``
        work (password checks) always runs on a thread."""
        if self._executor is None and not slow:
            return work(self._store().context(LOCAL_ADMIN))
        return await asyncio.get_running_loop().run_in_executor(
            self._slow, lambda: work(self._store().context(LOCAL_ADMIN)))

    def close(self) -> None:
        self._slow.shutdown(wait=True, cancel_futures=True)
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
        with self._lock:
            for store in self._stores:
                store.provider.close()
            self._stores.clear()
