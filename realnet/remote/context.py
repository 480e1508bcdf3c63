"""The facade of :class:`realnet.core.context.Context`, served by a remote Realnet.

Every check happens on the server, as the token's account; this side only shapes
requests and answers, so the shell and CLI behave the same locally and remotely.
Each change is its own transaction on the server.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from realnet.core import paths
from realnet.core.access import ADMINS, Identity
from realnet.core.context import HOME_FOLDER, text_of
from realnet.core.errors import NotFound, PermissionDenied, RealnetError
from realnet.core.item import ChildrenPage, Item
from realnet.core.loader import parse_type
from realnet.core.types import TypeRegistry
from realnet.remote.client import API, ApiClient, item_url

LOCAL_ONLY = "needs direct access to the store; run it where the store is, not over --url"


class RemoteStore:
    """Stands where a provider would: it has a label, and refuses direct store access."""

    def __init__(self, client: ApiClient) -> None:
        self.client = client
        self.label = client.label

    def close(self) -> None:
        self.client.close()

    def __getattr__(self, name: str) -> Any:
        raise RealnetError(f"this command {LOCAL_ONLY}")


class RemoteGuard:
    """Who the token's account is now, as the server says (asked once per command)."""

    def __init__(self, client: ApiClient, identity: Identity) -> None:
        self._client = client
        self._identity: Identity | None = identity

    @property
    def identity(self) -> Identity:
        if self._identity is None:
            me = self._client.request("GET", "/api/v1/whoami")
            self._identity = Identity(me["principal"], frozenset(me["groups"]))
        return self._identity

    @property
    def is_admin(self) -> bool:
        return self.identity.is_admin

    def require_admin(self, what: str) -> None:
        if not self.is_admin:
            raise PermissionDenied(f"{what}: only members of '{ADMINS}' may do this")

    def refresh(self) -> None:
        self._identity = None  # groups may have changed on the server since the last command

    def __getattr__(self, name: str) -> Any:
        raise RealnetError(f"this command {LOCAL_ONLY}")


def to_item(data: Mapping[str, Any]) -> Item:
    return Item(id=data["id"], path=data["path"], type=data["type"], parent_id=data.get("parent_id"),
                owner=data["owner"], attributes=data.get("attributes") or {}, version=data["version"],
                created=data["created"], updated=data["updated"])


def to_page(data: Mapping[str, Any]) -> ChildrenPage:
    return ChildrenPage(tuple(to_item(i) for i in data["items"]), data.get("next_cursor"))


class RemoteContext:
    def __init__(self, url: str, token: str | None) -> None:
        from realnet.resources import ResourceRegistry

        self.client = ApiClient(url, token)
        self.provider = RemoteStore(self.client)
        self.resources = ResourceRegistry()
        self.secrets = None
        self._types: TypeRegistry | None = None
        self._resource_instances: dict[str, Any] = {}
        try:
            me = self.client.request("GET", "/api/v1/whoami")
        except BaseException:
            self.client.close()
            raise
        self.principal: str = me["principal"]
        self.guard = RemoteGuard(self.client, Identity(self.principal, frozenset(me["groups"])))

    # -- what the faces ask of a context -------------------------------------------------
    @property
    def types(self) -> TypeRegistry:
        if self._types is None:
            data = self.client.request("GET", "/api/v1/types")
            self._types = TypeRegistry(parse_type(t, f"{self.client.label}/types") for t in data["types"])
        return self._types

    @property
    def home(self) -> str:
        return paths.join(HOME_FOLDER, self.principal)

    @property
    def content(self) -> Any:
        """The content store is the server's: whatever needs it directly (``storage gc``)
        runs there."""
        raise RealnetError(f"this command {LOCAL_ONLY}")

    def ensure_initialized(self) -> None:
        """The server initializes its store; reaching it (``whoami``) was the check."""

    def init(self) -> Any:
        raise RealnetError(f"init {LOCAL_ONLY}")

    def refresh(self) -> None:
        self._types = None  # the server may have learned new types since the last command
        self._resource_instances.clear()
        self.guard.refresh()

    def act_as(self, principal: str) -> None:
        raise RealnetError("--as: a remote session acts as its token's account")

    @contextmanager
    def transaction(self) -> Iterator[None]:
        yield  # each request is its own transaction on the server

    def resource(self, type_name: str) -> Any:
        module = self.types.module(type_name) if type_name in self.types else None
        instance = self._resource_instances.get(module or "")
        if instance is None:
            instance = self._resource_instances[module or ""] = self.resources.get(module)(self)
        return instance

    def can_hold_children(self, item: Item) -> bool:
        return item.type in self.types and bool(self.types.allowed_children(item.type))

    def shown(self, item: Item) -> Item:
        return item  # the server redacts secrets

    # -- reading -------------------------------------------------------------------
    def get(self, path: str) -> Item:
        return to_item(self.client.request("GET", item_url(paths.normalize(path))))

    def reveal(self, path: str) -> Item:
        return to_item(self.client.request("GET", item_url(paths.normalize(path)), params={"reveal": "true"}))

    def listable(self, path: str) -> Item:
        path = paths.normalize(path)
        try:
            return self.get(path)
        except NotFound:
            # Not readable, but maybe on the way to something readable: then it can be listed.
            self.client.request("GET", item_url(path), params={"children": "", "limit": 1})
            return Item(id="", path=path, type="Folder", parent_id=None, owner="", attributes={},
                        version=0, created="", updated="")

    def _exists_for_me(self, path: str) -> Item | None:
        try:
            return self.listable(path)
        except NotFound:
            return None

    def list(self, path: str, *, order: str = "name", limit: int = 100,
             cursor: str | None = None) -> ChildrenPage:
        return to_page(self.client.request("GET", item_url(paths.normalize(path)), params={
            "children": "", "order": order, "limit": limit, "cursor": cursor}))

    def complete(self, folder: str, prefix: str | None, limit: int) -> ChildrenPage:
        glob = None
        if prefix:
            glob = "".join(f"[{c}]" if c in "*?[]" else c for c in prefix) + "*"
        return to_page(self.client.request("GET", item_url(paths.normalize(folder)), params={
            "children": "", "name": glob, "limit": limit}))

    def find(self, root: str, *, type_name: str | None = None, name_glob: str | None = None,
             max_depth: int | None = None, limit: int = 1000, cursor: str | None = None) -> ChildrenPage:
        return to_page(self.client.request("GET", item_url(paths.normalize(root)), params={
            "find": "", "type": type_name, "name": name_glob, "depth": max_depth, "limit": limit,
            "cursor": cursor}))

    def count_below(self, path: str) -> int:
        return self.client.request("GET", item_url(paths.normalize(path)), params={"count": ""})["count"]

    def text(self, path: str) -> str:
        return text_of(self, self.get(path))

    # -- writing -------------------------------------------------------------------
    def create(self, path: str, type_name: str, attributes: Mapping[str, Any] | None = None, *,
               from_text: bool = False, parents: bool = False) -> Item:
        from realnet.core.errors import AlreadyExists

        path = paths.normalize(path)
        if path == paths.ROOT:
            raise AlreadyExists(path)
        body = {"name": paths.name_of(path), "type": type_name, "attributes": dict(attributes or {}),
                "parents": parents, "from_text": from_text}
        return to_item(self.client.request("POST", item_url(paths.parent_of(path)), body=body))

    def update(self, path: str, changes: Mapping[str, Any], *, unset: Iterable[str] = (),
               expected_version: int | None = None, from_text: bool = False) -> Item:
        body: dict[str, Any] = {"attributes": dict(changes), "unset": list(unset), "from_text": from_text}
        if expected_version is not None:
            body["version"] = expected_version
        return to_item(self.client.request("PATCH", item_url(paths.normalize(path)), body=body))

    def delete(self, path: str, *, recursive: bool = False) -> int:
        result = self.client.request("DELETE", item_url(paths.normalize(path)),
                                     params={"recursive": "true" if recursive else None})
        return int(result["removed"])

    def deletes_beyond(self, path: str, *, purge_data: bool = False) -> str | None:
        """What the server's ``rm -r`` of ``path`` removes besides items (a WordPress site's
        workloads), told by the item's type."""
        from realnet.providers.kubernetes.sites import SITE_TYPE, removal_note

        item = self.get(path)
        if SITE_TYPE in self.types and self.types.is_a(item.type, SITE_TYPE):
            return removal_note(purge_data=purge_data)
        return None

    def delete_many(self, targets: list[str], *, recursive: bool = False) -> int:
        """One request, one transaction on the server: all of them or none."""
        result = self.client.request("POST", f"{API}/delete", body={
            "paths": [paths.normalize(t) for t in targets], "recursive": recursive})
        return int(result["removed"])

    def move(self, source: str, target: str, *, parents: bool = False) -> Item:
        return self._relocate("move", source, target, parents)

    def copy(self, source: str, target: str, *, parents: bool = False) -> Item:
        return self._relocate("copy", source, target, parents)

    def put_content(self, path: str, chunks: Iterable[bytes], *, content_type: str | None = None,
                    parents: bool = False) -> Item:
        headers = {"Content-Type": content_type} if content_type else {}
        return to_item(self.client.upload(item_url(paths.normalize(path), "content"), chunks,
                                          params={"parents": "true" if parents else None}, headers=headers))

    def read_content(self, path: str, start: int = 0, end: int | None = None) -> tuple[Item, Iterator[bytes]]:
        item = self.get(path)
        headers = {}
        if start or end is not None:
            headers["Range"] = f"bytes={start}-{'' if end is None else end - 1}"
        return item, self.client.download(item_url(item.path, "content"), headers=headers)

    def _relocate(self, action: str, source: str, target: str, parents: bool) -> Item:
        url = item_url(paths.join(paths.normalize(source), action), "actions")
        return to_item(self.client.request("POST", url, body={"target": paths.normalize(target),
                                                             "parents": parents}))

