"""The objects of the fake cluster: storage, resourceVersion, history and watchers.

Stored objects are never changed in place (every write stores a new dict), so the history and
the lists handed out can share them. Stored objects carry no kind/apiVersion; the answers add
them. Every method takes the one lock: the test thread and the server thread both write.
"""

from __future__ import annotations

import asyncio
import base64
import bisect
import contextlib
import copy
import datetime
import json
import random
import re
import string
import threading
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from .defaults import check_crd, defaults
from .errors import ApiError
from .kinds import NOT_STORED, Registry, Resource, crd_resource
from .patches import apply_patch

ObjKey = tuple[str, str]  # (namespace or "", name)
NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
DEFAULT_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")


def now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def wire(res: Resource, obj: dict) -> dict:
    """The object as a GET or a watch event shows it."""
    return {"kind": res.kind, "apiVersion": res.api_version, **obj}


@dataclass(frozen=True)
class Event:
    rv: int
    type: str  # ADDED, MODIFIED or DELETED
    key: tuple[str, str]  # resource storage key
    old: dict | None  # the object before a MODIFIED
    new: dict


@dataclass(eq=False)
class Subscriber:
    """An asyncio queue fed from any thread (watch streams, followed logs)."""

    loop: asyncio.AbstractEventLoop
    key: object = None
    queue: asyncio.Queue = field(default_factory=asyncio.Queue)

    def push(self, item: object) -> None:
        with contextlib.suppress(RuntimeError):  # a closed loop: the stream is gone
            self.loop.call_soon_threadsafe(self.queue.put_nowait, item)


class Bucket:
    """The objects of one resource, with their keys kept sorted as etcd keeps them."""

    def __init__(self) -> None:
        self.objects: dict[ObjKey, dict] = {}
        self.keys: list[ObjKey] = []

    def put(self, key: ObjKey, obj: dict) -> None:
        if key not in self.objects:
            bisect.insort(self.keys, key)
        self.objects[key] = obj

    def pop(self, key: ObjKey) -> None:
        del self.objects[key]
        del self.keys[bisect.bisect_left(self.keys, key)]

    def scan(self, namespace: str | None, after: ObjKey | None) -> Iterator[tuple[ObjKey, dict]]:
        start = (namespace, "") if namespace is not None else ("", "")
        lo = bisect.bisect_left(self.keys, start)
        if after is not None:
            lo = max(lo, bisect.bisect_right(self.keys, after))
        for key in self.keys[lo:]:
            if namespace is not None and key[0] != namespace:
                break
            yield key, self.objects[key]


class Store:
    def __init__(self, registry: Registry, history: int = 20_000) -> None:
        self.registry = registry
        self.lock = threading.RLock()
        self.rv = 100
        self.floor = self.rv  # every event after this resourceVersion is still in the history
        self.buckets: dict[tuple[str, str], Bucket] = {}
        self.history: deque[Event] = deque(maxlen=history)
        self.watchers: set[Subscriber] = set()
        self.owned: dict[str, set[tuple[tuple[str, str], ObjKey]]] = {}  # owner uid -> dependents
        self.on_delete: list[Callable[[Resource, dict], None]] = []
        namespaces = self.resource("", "v1", "namespaces")
        for name in DEFAULT_NAMESPACES:
            self.create(namespaces, None, {"metadata": {"name": name}})

    def resource(self, group: str, version: str, plural: str) -> Resource:
        res = self.registry.get(group, version, plural)
        if res is None:
            raise ApiError(404, "the server could not find the requested resource")
        return res

    def bucket(self, res: Resource) -> Bucket:
        return self.buckets.setdefault(res.key, Bucket())

    # -- writing ---------------------------------------------------------------------------

    def _commit(self, res: Resource, key: ObjKey, kind: str, old: dict | None, new: dict) -> dict:
        self.rv += 1
        new["metadata"]["resourceVersion"] = str(self.rv)
        bucket = self.bucket(res)
        if kind == "DELETED":
            bucket.pop(key)
        else:
            bucket.put(key, new)
        for obj, add in ((old, False), (new, kind != "DELETED")):
            for ref in (obj or {}).get("metadata", {}).get("ownerReferences") or []:
                deps = self.owned.setdefault(ref.get("uid", ""), set())
                (deps.add if add else deps.discard)((res.key, key))
        if len(self.history) == self.history.maxlen:
            self.floor = self.history[0].rv
        event = Event(self.rv, kind, res.key, old, new)
        self.history.append(event)
        for watcher in self.watchers:
            if watcher.key == res.key:
                watcher.push(event)
        if res.key == ("apiextensions.k8s.io", "customresourcedefinitions"):
            self.registry.remove(new["spec"]["group"], new["spec"]["names"]["plural"])
            if kind != "DELETED":
                for served in crd_resource(new):
                    self.registry.add(served)
        return new

    def _check_namespace(self, res: Resource, namespace: str | None, body_ns: str | None) -> str:
        if not res.namespaced:
            return ""
        if body_ns and namespace and body_ns != namespace:
            raise ApiError.bad_request("the namespace of the provided object does not match the "
                                       "namespace sent on the request")
        namespace = namespace or body_ns or ""
        if not namespace:
            raise ApiError.bad_request("a namespace is required for namespaced resources")
        if ("", namespace) not in self.bucket(self.resource("", "v1", "namespaces")).objects:
            raise ApiError.not_found("namespaces", namespace)
        return namespace

    def create(self, res: Resource, namespace: str | None, body: dict, *, dry_run: bool = False,
               keep_status: bool = False) -> dict:
        if res.key in NOT_STORED:
            raise ApiError(405, "this resource is not stored")
        with self.lock:
            obj = copy.deepcopy(body)
            _check_kind(res, obj)
            meta = obj.setdefault("metadata", {})
            if not meta.get("name") and meta.get("generateName"):
                suffix = "".join(random.choices(string.ascii_lowercase + string.digits, k=5))
                meta["name"] = meta["generateName"] + suffix
            name = meta.get("name") or ""
            if not name:
                raise ApiError.invalid(res.kind, "", "metadata.name",
                                       "Required value: name or generateName is required")
            if len(name) > 253 or not NAME.match(name):
                raise ApiError.invalid(res.kind, name, "metadata.name",
                                       f'Invalid value: "{name}": a lowercase RFC 1123 subdomain '
                                       "must consist of lower case alphanumeric characters, '-' or '.'")
            if res.kind == "CustomResourceDefinition":
                check_crd(obj, name)
            ns = self._check_namespace(res, namespace, meta.get("namespace"))
            key = (ns, name)
            if key in self.bucket(res).objects:
                raise ApiError.already_exists(res.plural, name, res.group)
            if ns:
                meta["namespace"] = ns
            else:
                meta.pop("namespace", None)
            for transient in ("resourceVersion", "deletionTimestamp", "deletionGracePeriodSeconds"):
                meta.pop(transient, None)
            meta["uid"] = str(uuid.uuid4())
            meta["creationTimestamp"] = now()
            if res.generation:
                meta["generation"] = 1
            if "status" in res.subresources and not keep_status:
                obj.pop("status", None)
            defaults(res, obj, self.rv)
            if dry_run:
                return obj
            return self._commit(res, key, "ADDED", None, obj)

    def get(self, res: Resource, namespace: str | None, name: str) -> dict:
        obj = self.bucket(res).objects.get((namespace or "" if res.namespaced else "", name))
        if obj is None:
            raise ApiError.not_found(res.plural, name, res.group)
        return obj

    def update(self, res: Resource, namespace: str | None, name: str, body: dict,
               subresource: str | None = None, *, dry_run: bool = False) -> dict:
        with self.lock:
            old = self.get(res, namespace, name)
            obj = copy.deepcopy(body)
            _check_kind(res, obj)
            meta = obj.setdefault("metadata", {})
            if meta.get("name") not in (None, "", name):
                raise ApiError.bad_request(f"the name of the object ({meta['name']}) does not match "
                                           f"the name on the URL ({name})")
            if res.namespaced:
                self._check_namespace(res, namespace, meta.get("namespace"))
            given = meta.get("resourceVersion")
            if given and given != old["metadata"]["resourceVersion"]:
                raise ApiError.conflict(res.plural, name, res.group)
            if not given and res.custom:
                raise ApiError.invalid(res.kind, name, "metadata.resourceVersion",
                                       "Invalid value: 0x0: must be specified for an update")
            if subresource == "status":
                new = copy.deepcopy(old)
                new["status"] = obj.get("status")
                if new["status"] is None:
                    new.pop("status")
            else:
                new = obj
                for kept in ("uid", "creationTimestamp", "generation", "deletionTimestamp", "namespace"):
                    if kept in old["metadata"]:
                        meta[kept] = old["metadata"][kept]
                meta["name"] = name
                if "status" in res.subresources:
                    new.pop("status", None)
                    if "status" in old:
                        new["status"] = old["status"]
                if res.generation and _content(new) != _content(old):
                    meta["generation"] = old["metadata"].get("generation", 0) + 1
            new["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"]
            if new == old or dry_run:
                return new
            return self._commit(res, (old["metadata"].get("namespace", ""), name), "MODIFIED", old, new)

    def patch(self, res: Resource, namespace: str | None, name: str, content_type: str, body: object,
              subresource: str | None = None, *, dry_run: bool = False) -> dict:
        with self.lock:
            old = self.get(res, namespace, name)
            patched = apply_patch(content_type, wire(res, old), body, custom=res.custom)
            return self.update(res, namespace, name, patched, subresource, dry_run=dry_run)

    def delete(self, res: Resource, namespace: str | None, name: str, options: dict | None = None,
               *, dry_run: bool = False) -> dict:
        options = options or {}
        with self.lock:
            old = self.get(res, namespace, name)
            pre = options.get("preconditions") or {}
            for field_name, have in (("uid", old["metadata"]["uid"]),
                                     ("resourceVersion", old["metadata"]["resourceVersion"])):
                if pre.get(field_name) and pre[field_name] != have:
                    raise ApiError(409, f"Precondition failed: {field_name} in precondition: "
                                        f"{pre[field_name]}, {field_name} in object meta: {have}",
                                   "Conflict", {"name": name, "kind": res.plural})
            if dry_run:
                return old
            if res.key == ("", "namespaces"):
                for other in self.registry.all():
                    if other.namespaced and other.key in self.buckets:
                        for key, _obj in list(self.bucket(other).scan(name, None)):
                            self._delete_one(other, key, {})
            return self._delete_one(res, (old["metadata"].get("namespace", ""), name), options)

    def _delete_one(self, res: Resource, key: ObjKey, options: dict) -> dict:
        old = self.bucket(res).objects.get(key)
        if old is None:  # already gone through an owner
            return {}
        gone = copy.deepcopy(old)
        self._commit(res, key, "DELETED", None, gone)
        for hook in self.on_delete:
            hook(res, gone)
        if options.get("propagationPolicy") != "Orphan":
            for dep_res_key, dep_key in list(self.owned.pop(old["metadata"]["uid"], ())):
                dep = next((r for r in self.registry.all() if r.key == dep_res_key), None)
                if dep is not None:
                    self._delete_one(dep, dep_key, options)
        return gone

    # -- reading ---------------------------------------------------------------------------

    def list(self, res: Resource, namespace: str | None, match: Callable[[dict], bool] | None,
             limit: int = 0, token: str | None = None) -> tuple[list[dict], int, str | None, int | None]:
        """(items, resourceVersion, continue token, remainingItemCount)."""
        with self.lock:
            after = None
            if token:
                try:
                    decoded = json.loads(base64.urlsafe_b64decode(token.encode()))
                    after, rv = tuple(decoded["start"]), int(decoded["rv"])
                except (ValueError, KeyError, TypeError):
                    raise ApiError.bad_request("continue key is not valid") from None
                if rv < self.floor:
                    raise ApiError(410, "The provided continue parameter is too old to display a "
                                        "consistent list result. You can start a new list without "
                                        "the continue parameter.", "Expired")
            items: list[dict] = []
            last: ObjKey | None = None
            more = False
            for key, obj in self.bucket(res).scan(namespace if res.namespaced else None, after):
                if match is not None and not match(obj):
                    continue
                if limit and len(items) == limit:
                    more = True
                    break
                items.append(obj)
                last = key
            cont = remaining = None
            if more and last is not None:
                cont = base64.urlsafe_b64encode(json.dumps({"rv": self.rv, "start": last}).encode()).decode()
                if match is None:
                    remaining = sum(1 for _ in self.bucket(res).scan(
                        namespace if res.namespaced else None, last))
            return items, self.rv, cont, remaining

    def subscribe(self, res: Resource, rv: str | None,
                  loop: asyncio.AbstractEventLoop) -> tuple[list[Event], Subscriber]:
        """The events a watch starting at `rv` replays, and its live subscription."""
        with self.lock:
            if rv in (None, "", "0"):
                replay = [Event(int(o["metadata"]["resourceVersion"]), "ADDED", res.key, None, o)
                          for _, o in self.bucket(res).scan(None, None)]
            else:
                try:
                    since = int(rv)
                except ValueError:
                    raise ApiError.bad_request(f"invalid resource version: {rv}") from None
                if since < self.floor:
                    raise ApiError(410, f"too old resource version: {since} ({self.floor})", "Expired")
                replay = [e for e in self.history if e.rv > since and e.key == res.key]
            sub = Subscriber(loop, res.key)
            self.watchers.add(sub)
            return replay, sub

    def unsubscribe(self, sub: Subscriber) -> None:
        with self.lock:
            self.watchers.discard(sub)

    def broadcast(self, item: object) -> None:
        """Send every open watch a control item (a drop or the end of the server)."""
        with self.lock:
            for watcher in self.watchers:
                watcher.push(item)


def _check_kind(res: Resource, obj: dict) -> None:
    kind, api_version = obj.pop("kind", None), obj.pop("apiVersion", None)
    if kind and kind != res.kind:
        raise ApiError.bad_request(f"the kind of the object ({kind}) does not match the resource "
                                   f"{res.plural} ({res.kind})")
    if api_version and api_version.rpartition("/")[0] != res.group:
        raise ApiError.bad_request(f"the API version in the data ({api_version}) does not match the "
                                   f"expected API version ({res.api_version})")


def _content(obj: dict) -> dict:
    return {k: v for k, v in obj.items() if k not in ("metadata", "status")}
