"""Keeping a listing current: a thread that watches from the list's version, hands each
change over as it comes, and when the watch breaks lists again and watches from there.

Never a timer that lists the whole kind again: a listing is taken once, then only its
changes travel (and again once after a break, the first page only)."""

from __future__ import annotations

import threading
from collections.abc import Callable

from realnet.core.errors import RealnetError
from realnet.providers.kubernetes.kinds import Kind
from realnet.providers.kubernetes.watch import ListPage, Watch, WatchEvent, WatchExpired
from realnet.tui.cluster.source import ClusterSource

#: Seconds between attempts while the cluster does not answer (doubling up to the last).
BACKOFF = (0.2, 0.5, 1.0, 2.0, 5.0)


class WatchLoop:
    """Follows ``kind`` in ``namespace`` (with ``selector``) from ``resource_version``."""

    def __init__(self, source: ClusterSource, kind: Kind, namespace: str | None, selector: str | None,
                 resource_version: str, *, page_size: int,
                 on_event: Callable[[WatchEvent], None],
                 on_relisted: Callable[[ListPage], None],
                 on_state: Callable[[str, bool], None]) -> None:
        self.source = source
        self.kind = kind
        self.namespace = namespace
        self.selector = selector
        self.version = resource_version
        self.page_size = page_size
        self.on_event = on_event
        self.on_relisted = on_relisted
        self.on_state = on_state  # (what to say, whether it is trouble)
        self._stopped = threading.Event()
        self._watch: Watch | None = None
        self._lock = threading.Lock()
        self.thread = threading.Thread(target=self._run, daemon=True,
                                       name=f"watch-{kind.name}-{namespace or 'all'}")

    def start(self) -> WatchLoop:
        self.thread.start()
        return self

    def stop(self) -> None:
        """End the loop now (the open request is shut, the thread returns)."""
        self._stopped.set()
        with self._lock:
            watch = self._watch
        if watch is not None:
            watch.close()

    @property
    def stopped(self) -> bool:
        return self._stopped.is_set()

    def _run(self) -> None:
        must_list = False
        attempt = 0
        while not self.stopped:
            if must_list:
                if not self._list_again(attempt):
                    attempt += 1
                    continue
                attempt, must_list = 0, False
            try:
                seen = self._follow()
            except WatchExpired:
                must_list = True
                continue
            except RealnetError as e:
                if self.stopped:
                    return
                self.on_state(f"watch broke off ({e}); reconnecting…", True)
                must_list = True
                self._stopped.wait(BACKOFF[0])
                continue
            if not seen:  # the server ended an idle watch: watch again, without hurrying
                self._stopped.wait(0.1)

    def _follow(self) -> int:
        watch = self.source.watch(self.kind, self.namespace, self.version, selector=self.selector)
        with self._lock:
            self._watch = watch
        if self.stopped:
            watch.close()
        seen = 0
        for event in watch:
            if self.stopped:
                break
            if event.resource_version:
                self.version = event.resource_version
            seen += 1
            if event.type in ("ADDED", "MODIFIED", "DELETED"):
                self.on_event(event)
        return seen

    def _list_again(self, attempt: int) -> bool:
        try:
            page = self.source.page(self.kind, self.namespace, limit=self.page_size, selector=self.selector)
        except RealnetError as e:
            pause = BACKOFF[min(attempt, len(BACKOFF) - 1)]
            self.on_state(f"{e}; trying again in {pause:g} s", True)
            self._stopped.wait(pause)
            return False
        if self.stopped:
            return True
        self.version = page.resource_version
        self.on_relisted(page)
        return True
