"""Lists that say where they were taken (their ``resourceVersion``) and watches that follow
them from there: what a live view needs to stay current without listing a kind again.

A :class:`Watch` is one ``GET …?watch=true`` request read line by line; :meth:`Watch.close`
ends it from another thread (the socket is shut down, so a reader blocked on it returns).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from realnet.core.errors import StoreError
from realnet.providers.kubernetes.client import CONNECT_SECONDS, READ_SECONDS

if TYPE_CHECKING:
    from realnet.providers.kubernetes import KubernetesProvider
    from realnet.providers.kubernetes.kinds import Kind

#: How long one watch request lasts before the server ends it (the caller watches again).
WATCH_SECONDS = 300


class WatchExpired(StoreError):
    """The version a watch started from is too old (410 Gone): list again, then watch."""


@dataclass(frozen=True, slots=True)
class ListPage:
    objects: tuple[dict[str, Any], ...]
    #: The API's ``continue`` token for the next page; None on the last one.
    next_token: str | None
    #: Where the list was taken: a watch from here misses nothing and repeats nothing.
    resource_version: str


@dataclass(frozen=True, slots=True)
class WatchEvent:
    type: str  # ADDED, MODIFIED, DELETED, BOOKMARK
    object: dict[str, Any]

    @property
    def resource_version(self) -> str:
        return str((self.object.get("metadata") or {}).get("resourceVersion") or "")


def list_page(provider: KubernetesProvider, kind: Kind, namespace: str | None, *, where: str,
              limit: int, token: str | None = None, label_selector: str | None = None) -> ListPage:
    """One page of ``kind`` in ``namespace`` (None: every namespace, or cluster scope)."""
    answer = provider.cluster.request("GET", kind.collection(namespace), where=where,
                                      query={"limit": limit, "continue": token,
                                             "labelSelector": label_selector or None})
    items = answer.get("items") or []
    for obj in items:  # lists leave kind and apiVersion to the list itself
        obj.setdefault("kind", kind.kind)
    metadata = answer.get("metadata") or {}
    version = str(metadata.get("resourceVersion") or "")
    return ListPage(tuple(items), metadata.get("continue") or None, version)


class Watch:
    """The changes to ``kind`` in ``namespace`` after ``resource_version``, as they happen."""

    def __init__(self, provider: KubernetesProvider, kind: Kind, namespace: str | None,
                 resource_version: str, *, where: str, label_selector: str | None = None,
                 timeout_seconds: int = WATCH_SECONDS) -> None:
        self.provider = provider
        self.kind = kind
        self.namespace = namespace
        self.resource_version = resource_version
        self.where = where
        self.label_selector = label_selector
        self.timeout_seconds = timeout_seconds
        self._raw: Any = None
        self._closed = threading.Event()

    def __iter__(self) -> Iterator[WatchEvent]:
        import orjson
        import urllib3
        from kubernetes.client.exceptions import ApiException

        cluster = self.provider.cluster
        query = [("watch", "true"), ("resourceVersion", self.resource_version),
                 ("timeoutSeconds", self.timeout_seconds), ("allowWatchBookmarks", "true")]
        if self.label_selector:
            query.append(("labelSelector", self.label_selector))
        try:
            response = cluster.api.call(
                "GET", self.kind.collection(self.namespace), query=query,
                headers={"Accept": "application/json"}, body=None,
                timeout=(CONNECT_SECONDS, self.timeout_seconds + READ_SECONDS))
        except ApiException as e:
            raise cluster.error(e.status, e.body, self.where) from None
        except (urllib3.exceptions.HTTPError, OSError) as e:
            raise StoreError(f"{self.where}: the cluster {cluster.label} cannot be reached ({e})") from None
        if response.status >= 400:
            response.read()
            raise cluster.error(response.status, response.data, self.where)
        self._raw = raw = response.response
        if self._closed.is_set():
            self._shut()
            return
        pending = b""
        try:
            for chunk in raw.stream(4096, decode_content=True):
                pending += chunk
                *complete, pending = pending.split(b"\n")
                for line in complete:
                    if not line.strip():
                        continue
                    event = orjson.loads(line)
                    kind, obj = event.get("type", ""), event.get("object") or {}
                    if kind == "ERROR":
                        if obj.get("code") == 410:
                            raise WatchExpired(f"{self.where}: the watch's version is gone; list again")
                        raise StoreError(f"{self.where}: the watch failed: {obj.get('message', obj)}")
                    yield WatchEvent(kind, obj)
        except (urllib3.exceptions.HTTPError, OSError, orjson.JSONDecodeError) as e:
            if self._closed.is_set():
                return
            raise StoreError(f"{self.where}: the watch broke off ({type(e).__name__})") from None
        finally:
            raw.release_conn()

    def close(self) -> None:
        """End the watch now, from any thread."""
        self._closed.set()
        self._shut()

    def _shut(self) -> None:
        raw = self._raw
        if raw is None:
            return
        with contextlib.suppress(AttributeError, OSError, ValueError):  # an old urllib3; a closed socket
            raw.shutdown()


def abort_stream(lines: Iterator[str]) -> None:
    """End a followed log (the iterator ``cluster.stream`` returned) from another thread."""
    frame = getattr(lines, "gi_frame", None)
    raw = frame.f_locals.get("raw") if frame is not None else None
    if raw is not None:
        with contextlib.suppress(AttributeError, OSError, ValueError):
            raw.shutdown()
