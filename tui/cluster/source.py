"""What the cluster screen asks of a mounted cluster, as plain blocking calls for workers.

Reads of listings go straight to the provider's API client (pages with their
``resourceVersion`` and label selectors, which the tree's listing has no words for);
everything done to one object — its YAML, describe, logs, delete, scale, restart — goes
through the context, so the tree's permissions are checked in one place.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from realnet.core import paths
from realnet.core.errors import ValidationError
from realnet.providers.kubernetes.watch import ListPage, Watch, list_page

if TYPE_CHECKING:
    from realnet.providers.kubernetes import KubernetesProvider
    from realnet.providers.kubernetes.kinds import Kind
    from realnet.tui.backend import Backend

CLUSTER_TYPE = "KubernetesCluster"
CLUSTER_SCOPE = "_cluster"
DEFAULT_NAMESPACE = "default"


@dataclass(frozen=True, slots=True)
class ClusterStart:
    """Where a path inside a cluster mount opens the cluster screen."""

    mount: str
    namespace: str | None  # None: every namespace (or the cluster scope)
    kind: str
    select: str | None = None


def cluster_start(backend: Backend, path: str) -> ClusterStart | None:
    """The cluster screen for ``path`` when it lies in (or is) a KubernetesCluster mount."""
    with backend.lock:
        table = backend.context.provider
        mounts = getattr(table, "mounts", None)
        if mounts is None:
            return None
        found = mounts()
        mount = found.get(path) or (table.mount_of(path) if path != paths.ROOT else None)
        if mount is None or mount.type != CLUSTER_TYPE:
            return None
    rest = [s for s in path[len(mount.path):].split("/") if s]
    default = str(mount.attributes.get("namespace") or DEFAULT_NAMESPACE)
    if not rest:
        return ClusterStart(mount.path, default, "pods")
    if rest[0] == CLUSTER_SCOPE:
        return ClusterStart(mount.path, None, rest[1] if len(rest) > 1 else "namespaces",
                            rest[2] if len(rest) > 2 else None)
    return ClusterStart(mount.path, rest[0], rest[1] if len(rest) > 1 else "pods",
                        rest[2] if len(rest) > 2 else None)


class ClusterSource:
    """One mounted cluster, for the screen's workers."""

    def __init__(self, backend: Backend, mount: str) -> None:
        self.backend = backend
        self.mount = mount
        self._provider: KubernetesProvider | None = None
        self._access: Any = None

    @property
    def provider(self) -> KubernetesProvider:
        if self._provider is None:
            with self.backend.lock:
                context = self.backend.context
                context.refresh()
                context.listable(self.mount)  # there, and readable by this principal
                provider = context.provider.content_owner(self.mount)
            if not hasattr(provider, "cluster"):
                raise ValidationError(f"{self.mount}: not a Kubernetes cluster mount")
            self._provider = provider
        return self._provider

    @property
    def read_only(self) -> bool:
        return bool(self._provider is not None and self._provider.read_only)

    def kind(self, name: str) -> Kind:
        return self.provider.kind_named(name.strip().lower(), where=self.mount)

    def kind_names(self) -> list[str]:
        return sorted(k.name for k in self.provider.kinds())

    def page(self, kind: Kind, namespace: str | None, *, limit: int, token: str | None = None,
             selector: str | None = None) -> ListPage:
        return list_page(self.provider, kind, namespace if kind.namespaced else None,
                         where=self.folder(kind, namespace), limit=limit, token=token,
                         label_selector=selector)

    def watch(self, kind: Kind, namespace: str | None, resource_version: str, *,
              selector: str | None) -> Watch:
        return Watch(self.provider, kind, namespace if kind.namespaced else None, resource_version,
                     where=self.folder(kind, namespace), label_selector=selector)

    def folder(self, kind: Kind, namespace: str | None) -> str:
        """The tree's path of the listing (the mount for a kind across every namespace)."""
        if not kind.namespaced:
            return f"{self.mount}/{CLUSTER_SCOPE}/{kind.name}"
        return f"{self.mount}/{namespace}/{kind.name}" if namespace else self.mount

    def path_of(self, kind: Kind, namespace: str, name: str) -> str:
        scope = namespace if kind.namespaced else CLUSTER_SCOPE
        return f"{self.mount}/{scope}/{kind.name}/{name}"

    def writes_allowed(self, kind: Kind, namespace: str | None) -> frozenset[str]:
        """Which of delete, scale and restart the cluster lets this identity do to ``kind``
        here (SelfSubjectAccessReview; allowed when the cluster cannot say)."""
        from realnet.providers.kubernetes.access import Access
        from realnet.providers.kubernetes.actions import RESTARTABLE, SCALABLE

        if self._access is None:
            self._access = Access(self.provider)
        scope = namespace if kind.namespaced else None
        allowed = set()
        if self._access.allowed("delete", kind, scope):
            allowed.add("delete")
        if kind.plural in SCALABLE and self._access.allowed("patch", kind, scope, subresource="scale"):
            allowed.add("scale")
        if kind.plural in RESTARTABLE and self._access.allowed("patch", kind, scope):
            allowed.add("restart")
        return frozenset(allowed)

    # -- one object, through the context --------------------------------------------------
    def manifest(self, path: str) -> dict[str, Any]:
        with self.backend.lock:
            return dict(self.backend.context.get(path).attributes.get("manifest") or {})

    def describe(self, path: str) -> dict[str, Any]:
        with self.backend.lock:
            return self.backend.context.action(path, "describe")

    def logs(self, path: str, *, tail: int) -> Iterator[str]:
        with self.backend.lock:
            return self.backend.context.action(path, "logs", tail=tail, follow=True)

    def delete(self, path: str) -> int:
        with self.backend.lock:
            return self.backend.context.delete(path)

    def scale(self, path: str, replicas: int) -> Any:
        with self.backend.lock:
            return self.backend.context.action(path, "scale", replicas=replicas)

    def restart(self, path: str) -> Any:
        with self.backend.lock:
            return self.backend.context.action(path, "restart")
