"""Mount types: their settings are checked when mounting, and they open their provider.

Mounting makes a file or folder of the machine the server runs on readable through
every face, so creating a mount or changing its settings is for administrators only.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from realnet.core.errors import RealnetError, ValidationError
from realnet.core.item import Item
from realnet.providers.mounted import MountedProvider
from realnet.resources.base import Resource

#: Document types and the format each reads; subtypes read their base's format.
FORMATS = {"JsonDocument": "json", "YamlDocument": "yaml", "XmlDocument": "xml"}


class MountResource(Resource):
    """The behaviour of every mount type."""

    def open(self, item: Item) -> MountedProvider:
        raise NotImplementedError

    def check(self, path: str, type_name: str, attributes: Mapping[str, Any]) -> None:
        source = attributes.get("path")
        from realnet.core.context import mount_settings

        settings = mount_settings(self.context.types, type_name)
        current = self.context.store.get_many([path]).get(path)
        changed = current is None or any(
            current.attributes.get(k) != attributes.get(k) for k in settings
        )
        if not changed:
            return
        self.context.guard.require_admin(f"{path}: mounting {source}")
        if not isinstance(source, str) or not os.path.isabs(source):
            raise ValidationError(f"{path}: attribute 'path' expects an absolute path on this machine, "
                                  f"got {source!r}")
        self.allowed(path, source)
        self.check_source(path, source, _draft_item(path, type_name, attributes))

    def allowed(self, path: str, source: str) -> str:
        """``source`` when REALNET_MOUNT_PATHS lets a mount point there (checked on the real
        path, so a symbolic link cannot lead out); else a one-line refusal."""
        roots = self.context.mount_paths
        if roots is None:
            return source
        real = os.path.realpath(source)
        if not any(real == root or real.startswith(root.rstrip("/") + "/") for root in roots):
            where = os.pathsep.join(roots) if roots else "empty: no file or folder mounts"
            raise ValidationError(f"{path}: attribute 'path': {source} is outside REALNET_MOUNT_PATHS "
                                  f"({where})")
        return source

    def check_source(self, path: str, source: str, item: Item) -> None:
        """Refuse a source that cannot be mounted, naming what is wrong with it."""

    def _probe(self, path: str, item: Item) -> None:
        try:
            provider = self.open(item)
            provider.root_attributes()
            provider.root_node()
        except RealnetError as e:
            raise ValidationError(f"{path}: attribute 'path': {e}") from None


def _draft_item(path: str, type_name: str, attributes: Mapping[str, Any]) -> Item:
    return Item(id="probe", path=path, type=type_name, parent_id=None, owner="", attributes=attributes,
                version=0, created="", updated="")


class DocumentsResource(MountResource):
    def format_of(self, type_name: str) -> str:
        for name in self.context.types.lineage(type_name):
            if name in FORMATS:
                return FORMATS[name]
        raise ValidationError(f"type {type_name}: not a JSON, YAML or XML document type")

    def open(self, item: Item) -> MountedProvider:
        from realnet.providers.documents import open_document

        source = self.allowed(item.path, item.attributes["path"])
        return open_document(item, self.format_of(item.type), source=source,
                             read_only=bool(item.attributes.get("read_only")),
                             allowed=lambda real: self.allowed(item.path, real))

    def check_source(self, path: str, source: str, item: Item) -> None:
        if os.path.isdir(source):
            raise ValidationError(f"{path}: attribute 'path': {source} is a folder; a document mount "
                                  "needs a file (mount folders as a FileTree)")
        self._probe(path, item)


class FileTreeResource(MountResource):
    def open(self, item: Item) -> MountedProvider:
        from realnet.providers.filetree import FileTreeProvider

        return FileTreeProvider(item, source=self.allowed(item.path, item.attributes["path"]),
                                read_only=bool(item.attributes.get("read_only")))

    def check_source(self, path: str, source: str, item: Item) -> None:
        if os.path.exists(source) and not os.path.isdir(source):
            raise ValidationError(f"{path}: attribute 'path': {source} is a file; a FileTree mounts a "
                                  "folder (mount documents as JsonDocument, YamlDocument or XmlDocument)")
        self._probe(path, item)
        try:
            os.listdir(source)
        except PermissionError:
            raise ValidationError(f"{path}: attribute 'path': {source}: permission denied "
                                  "(this process cannot list it)") from None


class KubernetesResource(MountResource):
    """A cluster: a kubeconfig context (``context``, ``kubeconfig``) or, inside a pod, its
    service account (``in_cluster``). Mounting checks that the cluster answers."""

    def check(self, path: str, type_name: str, attributes: Mapping[str, Any]) -> None:
        from realnet.core.context import mount_settings

        settings = mount_settings(self.context.types, type_name)
        current = self.context.store.get_many([path]).get(path)
        if current is not None and all(current.attributes.get(k) == attributes.get(k) for k in settings):
            return
        self.context.guard.require_admin(f"{path}: mounting a cluster")
        if attributes.get("in_cluster") and attributes.get("context"):
            raise ValidationError(f"{path}: give either 'context' or 'in_cluster', not both")
        provider = self.open(_draft_item(path, type_name, attributes))
        provider.cluster.request("GET", "/version", where=path)

    def open(self, item: Item) -> MountedProvider:
        from realnet.providers.kubernetes import KubernetesProvider
        from realnet.providers.kubernetes.client import Cluster, connect

        attributes = item.attributes
        api = connect(context=attributes.get("context"), kubeconfig=attributes.get("kubeconfig"),
                      in_cluster=bool(attributes.get("in_cluster")), where=item.path)
        label = "in-cluster" if attributes.get("in_cluster") \
            else (attributes.get("context") or api.configuration.host)
        cluster = Cluster(api, label, read_seconds=float(attributes.get("timeout") or 30.0))
        return KubernetesProvider(item, cluster, read_only=bool(attributes.get("read_only")))
