"""A Kubernetes cluster mounted as ``…/<cluster>/<namespace>/<kind>/<name>``.

Below the mount come the namespaces (and ``_cluster`` for cluster-scoped kinds), in each
the kinds (``pods``, ``deployments`` … and the custom resources discovery finds), in each
kind its objects. A listing of objects is the API's own paging (``limit``/``continue``);
an object's version is its ``resourceVersion``, so a replace based on an old read is
refused by the cluster itself. Secret values are never shown.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from typing import Any

from realnet.core import paths
from realnet.core.access import Visibility
from realnet.core.errors import NotFound, RealnetError, ValidationError
from realnet.core.item import ChildrenPage, Item, ItemDraft
from realnet.providers.kubernetes.client import Cluster
from realnet.providers.kubernetes.kinds import (
    ALIASES,
    BUILTIN,
    NAMESPACES,
    Kind,
    parse_time,
    redacted,
    summary,
)
from realnet.providers.listing import visible_to
from realnet.providers.mounted import MountedProvider

CLUSTER_SCOPE = "_cluster"  # not a DNS label, so never a namespace's name
NAMESPACE_TYPE = "KubernetesNamespace"
KIND_TYPE = "KubernetesKind"
PAGE_LIMIT = 500
CONTINUE = "k8s:"


def _timestamp(value: str | None) -> str:
    moment = parse_time(value)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ") if moment else "1970-01-01T00:00:00.000000Z"


def _version(metadata: Mapping[str, Any]) -> int:
    text = str(metadata.get("resourceVersion") or "")
    return int(text) if text.isdigit() else 1


class KubernetesProvider(MountedProvider):
    kind = "Kubernetes cluster"
    capabilities = frozenset({"kubernetes"})
    searched_from_above = False

    def __init__(self, mount: Item, cluster: Cluster, *, read_only: bool) -> None:
        super().__init__(mount, source=cluster.label, read_only=read_only)
        self.cluster = cluster
        self._custom: tuple[Kind, ...] | None = None

    # -- where a path points --------------------------------------------------------
    def kinds(self) -> tuple[Kind, ...]:
        """The built-in kinds and the custom resources the cluster's discovery lists."""
        if self._custom is None:
            self._custom = tuple(self._discover())
        return (*BUILTIN, NAMESPACES, *self._custom)

    def _discover(self) -> Iterator[Kind]:
        known = {(k.group_version, k.plural) for k in (*BUILTIN, NAMESPACES)}
        taken = {k.plural for k in (*BUILTIN, NAMESPACES)}
        try:
            groups = self.cluster.request("GET", "/apis", where=self.base).get("groups") or []
        except RealnetError:
            return
        for group in groups:
            version = (group.get("preferredVersion") or {}).get("groupVersion")
            if not version:
                continue
            try:
                listing = self.cluster.request("GET", f"/apis/{version}", where=self.base)
            except RealnetError:
                continue
            for resource in listing.get("resources") or []:
                plural = resource.get("name", "")
                if "/" in plural or (version, plural) in known or "list" not in (resource.get("verbs") or []):
                    continue
                group = version.split("/")[0]
                label = f"{plural}.{group}" if plural in taken else ""
                taken.add(label or plural)
                aliases = tuple(str(a).lower() for a in (*(resource.get("shortNames") or ()),
                                                          resource.get("singularName") or "") if a)
                yield Kind(plural, resource.get("kind", plural), version, bool(resource.get("namespaced")),
                           label=label, aliases=aliases)

    def kind_named(self, name: str, *, namespaced: bool | None = None, where: str) -> Kind:
        plural = ALIASES.get(name, name)
        for kind in self.kinds():
            if (plural in (kind.name, kind.kind.lower()) or plural in kind.aliases) \
                    and namespaced in (None, kind.namespaced):
                return kind
        raise NotFound(where, f"no kind {name!r} here (see the kinds with ls)")

    def site_at(self, path: str) -> tuple[str, str] | None:
        """(namespace, site) when ``path`` is a namespace's child that names no kind: a
        WordPress site's place (:mod:`.sites`), whether or not one is there."""
        segments = self.segments(path)
        if len(segments) != 2 or segments[0] == CLUSTER_SCOPE:
            return None
        try:
            self.kind_named(segments[1], namespaced=True, where=path)
        except NotFound:
            return segments[0], segments[1]
        return None

    def _site(self, path: str) -> Item | None:
        """The site at ``path``; None when the path is not a site's place; NotFound when no
        site is there."""
        place = self.site_at(path)
        if place is None:
            return None
        from realnet.providers.kubernetes import sites

        record = sites.read_record(self, *place, path)
        if record is None:
            raise NotFound(path, f"no kind or WordPress site {place[1]!r} here (see ls)")
        return sites.item_of(self, path, *place, record)

    def _parse(self, path: str) -> tuple[str | None, Kind | None, str | None]:
        """(namespace or None for cluster scope, kind, object name) of a path below the mount."""
        segments = self.segments(path)
        if not segments:
            return None, None, None
        scope = segments[0]
        namespace = None if scope == CLUSTER_SCOPE else scope
        kind = None
        if len(segments) > 1:
            kind = self.kind_named(segments[1], namespaced=namespace is not None, where=path)
        if len(segments) > 3:
            raise NotFound(path)
        return namespace, kind, segments[2] if len(segments) == 3 else None

    # -- items ------------------------------------------------------------------------
    def _object_item(self, path: str, kind: Kind, obj: dict[str, Any], *, full: bool) -> Item:
        metadata = obj.get("metadata") or {}
        attributes = summary(kind.kind, obj)
        if full:
            attributes["manifest"] = redacted(obj)
        type_name = NAMESPACE_TYPE if kind is NAMESPACES and path.count("/") == self.base.count("/") + 1 \
            else kind.type_name
        return self.make_item(path, type_name, attributes, version=_version(metadata),
                              updated=_timestamp(metadata.get("creationTimestamp")))

    def _folder(self, path: str, type_name: str, attributes: dict[str, Any]) -> Item:
        return self.make_item(path, type_name, attributes, version=1, updated=_timestamp(None))

    def _kind_item(self, path: str, kind: Kind) -> Item:
        return self._folder(path, KIND_TYPE, {"kind": kind.kind, "api_version": kind.group_version})

    def get(self, path: str) -> Item:
        if path == self.base:
            return self.root_node()
        site = self._site(path)
        if site is not None:
            return site
        namespace, kind, name = self._parse(path)
        if kind is None:
            if namespace is None:
                return self._folder(path, "Folder", {"description": "cluster-scoped kinds"})
            obj = self.cluster.request("GET", NAMESPACES.member(None, namespace), where=path)
            return self._object_item(path, NAMESPACES, obj, full=True)
        if name is None:
            return self._kind_item(path, kind)
        obj = self.cluster.request("GET", kind.member(namespace, name), where=path)
        return self._object_item(path, kind, obj, full=True)

    def root_node(self) -> Item:
        return self.make_item(self.base, "Folder", {}, version=1, updated=_timestamp(None))._replace(
            id=self.mount.id, parent_id=self.mount.parent_id)

    def _list(self, kind: Kind, namespace: str | None, where: str, *, limit: int | None,
              token: str | None) -> tuple[list[dict[str, Any]], str | None]:
        answer = self.cluster.request("GET", kind.collection(namespace), where=where,
                                      query={"limit": limit, "continue": token})
        items = answer.get("items") or []
        for obj in items:  # lists leave kind and apiVersion to the list itself
            obj.setdefault("kind", kind.kind)
        return items, (answer.get("metadata") or {}).get("continue") or None

    def _all(self, kind: Kind, namespace: str | None, where: str) -> list[dict[str, Any]]:
        found, token = [], None
        while True:
            items, token = self._list(kind, namespace, where, limit=PAGE_LIMIT, token=token)
            found += items
            if not token:
                return found

    def child_items(self, path: str) -> list[Item]:
        if path == self.base:
            namespaces = self._all(NAMESPACES, None, path)
            scope = self._folder(paths.join(path, CLUSTER_SCOPE), "Folder",
                                 {"description": "cluster-scoped kinds"})
            return [scope, *(self._object_item(paths.join(path, o["metadata"]["name"]), NAMESPACES, o,
                                               full=False) for o in namespaces)]
        if self._site(path) is not None:
            return []  # a site shows as one item; its objects are in the kinds' folders
        namespace, kind, name = self._parse(path)
        if name is not None:
            return []
        if kind is None:
            if namespace is not None:
                self.get(path)  # NotFound for a namespace that is not there
            found = [self._kind_item(paths.join(path, k.name), k) for k in self.kinds()
                     if k.namespaced == (namespace is not None)]
            if namespace is not None:
                from realnet.providers.kubernetes import sites

                found += [self.get(paths.join(path, site))
                          for site in sites.site_names(self, namespace, path)]
            return sorted(found, key=lambda i: i.name)
        return [self._object_item(paths.join(path, o["metadata"]["name"]), kind, o, full=False)
                for o in self._all(kind, namespace, path)]

    def has_children(self, item: Item) -> bool:
        return item.type in ("Folder", NAMESPACE_TYPE, KIND_TYPE)

    def children(self, path: str, *, order: str = "name", limit: int = 100, cursor: str | None = None,
                 name_prefix: str | None = None, visible: Visibility | None = None) -> ChildrenPage:
        namespace, kind, name = self._parse(path) if path != self.base and self.site_at(path) is None \
            else (None, None, None)
        paged = kind is not None and name is None and order == "name" and not name_prefix \
            and (cursor is None or cursor.startswith(CONTINUE))
        if not paged:
            if cursor is not None and cursor.startswith(CONTINUE):
                raise ValidationError(f"cursor {cursor[:20]!r}: not a cursor for this listing order")
            return super().children(path, order=order, limit=limit, cursor=cursor,
                                    name_prefix=name_prefix, visible=visible)
        token = cursor[len(CONTINUE):] if cursor else None
        items, token = self._list(kind, namespace, path, limit=limit, token=token)
        page = [self._object_item(paths.join(path, o["metadata"]["name"]), kind, o, full=False)
                for o in items]
        page = [i for i in page if visible_to(i, visible)]
        return ChildrenPage(items=tuple(page), next_cursor=CONTINUE + token if token else None)

    def count_children(self, path: str) -> int:
        return len(self.child_items(path))

    # -- changes ----------------------------------------------------------------------
    def _manifest(self, draft: ItemDraft | None, attributes: Mapping[str, Any], where: str) -> dict[str, Any]:
        manifest = attributes.get("manifest")
        if not isinstance(manifest, dict):
            raise ValidationError(f"{where}: attribute 'manifest' expects the object as JSON "
                                  "(or use apply with a YAML file)")
        return copy.deepcopy(manifest)

    def create(self, draft: ItemDraft) -> Item:
        self.check_writable(draft.path)
        from realnet.providers.kubernetes import sites

        if draft.type == sites.SITE_TYPE:
            place = self.site_at(draft.path)
            if place is None:
                raise ValidationError(f"{draft.path}: a {sites.SITE_TYPE} is made in a namespace, under a "
                                      "name that is no kind's")
            sites.create_site(self, draft, *place)
            return self.get(draft.path)
        namespace, kind, name = self._parse(draft.path)
        if kind is None and namespace is not None:
            body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}
            self.cluster.request("POST", NAMESPACES.collection(None), where=draft.path, body=body)
            return self.get(draft.path)
        if kind is None or name is None:
            raise ValidationError(f"{draft.path}: namespaces and objects can be created here, "
                                  "not kinds or other folders")
        body = self._manifest(draft, draft.attributes, draft.path)
        body.setdefault("apiVersion", kind.group_version)
        body.setdefault("kind", kind.kind)
        metadata = body.setdefault("metadata", {})
        metadata["name"] = name
        if namespace is not None:
            metadata["namespace"] = namespace
        self.cluster.request("POST", kind.collection(namespace), where=draft.path, body=body)
        return self.get(draft.path)

    def update(self, path: str, attributes: Mapping[str, Any], *,
               expected_version: int | None = None) -> Item:
        self.check_writable(path)
        if self._site(path) is not None:
            raise ValidationError(f"{path}: a WordPress site is changed by removing it and making it again "
                                  "(rm -r keeps its data volumes)")
        namespace, kind, name = self._parse(path)
        current = self.get(path)
        if name is None and kind is None and namespace is not None:
            kind, name, namespace = NAMESPACES, namespace, None
        if kind is None or name is None:
            raise ValidationError(f"{path}: a folder of the cluster has nothing to set")
        manifest = attributes.get("manifest")
        if manifest is not None and manifest != current.attributes.get("manifest"):
            body = self._manifest(None, attributes, path)
            if expected_version is not None:
                body.setdefault("metadata", {})["resourceVersion"] = str(expected_version)
            self.cluster.request("PUT", kind.member(namespace, name), where=path, body=body)
        elif attributes.get("labels") != current.attributes.get("labels"):
            labels = attributes.get("labels") or {}
            old = current.attributes.get("labels") or {}
            patch = {"metadata": {"labels": {**dict.fromkeys(old), **labels}}}
            self.cluster.request("PATCH", kind.member(namespace, name), where=path, body=patch,
                                 content_type="application/merge-patch+json")
        else:
            changed = sorted(k for k in attributes if attributes[k] != current.attributes.get(k))
            if changed:
                raise ValidationError(f"{path}: {', '.join(changed)} come(s) from the cluster; set "
                                      "'manifest' or 'labels', or use apply, scale or restart")
        return self.get(path)

    def delete(self, path: str, *, recursive: bool = False) -> int:
        return self.remove(path, recursive=recursive)

    def deletes_beyond(self, path: str, *, purge_data: bool = False) -> str | None:
        if self._site(path) is None:
            return None
        from realnet.providers.kubernetes import sites

        return sites.removal_note(purge_data=purge_data)

    def remove(self, path: str, *, recursive: bool = False, purge_data: bool = False) -> int:
        """``delete``; for a WordPress site, ``purge_data`` takes its data volumes too."""
        self.check_writable(path)
        if self._site(path) is not None:
            if not recursive:
                raise ValidationError(f"{path}: a WordPress site holds the objects it made: rm -r removes "
                                      "them (the data volumes only with --purge-data)")
            from realnet.providers.kubernetes import sites

            namespace, site = self.site_at(path) or ("", "")
            return sites.delete_site(self, namespace, site, path, purge_data=purge_data)
        if purge_data:
            raise ValidationError(f"{path}: --purge-data is for WordPress sites, which keep data volumes "
                                  "apart")
        namespace, kind, name = self._parse(path)
        if kind is None and namespace is not None:
            self.cluster.request("DELETE", NAMESPACES.member(None, namespace), where=path)
            return 1
        if kind is None or name is None:
            raise ValidationError(f"{path}: only namespaces and objects can be deleted")
        self.cluster.request("DELETE", kind.member(namespace, name), where=path)
        return 1

    def move(self, source: str, target: str) -> Item:
        raise ValidationError(f"{source}: objects of a cluster cannot be renamed or moved")

    # -- actions ------------------------------------------------------------------------
    @property
    def actions(self) -> dict[str, str]:
        from realnet.providers.kubernetes.actions import ACTIONS

        return ACTIONS

    def action(self, path: str, name: str, **params: Any) -> Any:
        from realnet.providers.kubernetes import actions

        return getattr(actions, name)(self, path, **params)

    def copy(self, source: str, target: str, *, owner: str) -> Item:
        raise ValidationError(f"{source}: copy objects of a cluster with apply")
