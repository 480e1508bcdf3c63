"""What one does to a cluster beyond reading and writing objects: logs, scale, restart,
describe, events, and apply from manifests."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from realnet.core import paths
from realnet.core.errors import NotFound, ValidationError
from realnet.providers.kubernetes.kinds import Kind, redacted, summary

if TYPE_CHECKING:
    from realnet.providers.kubernetes import KubernetesProvider

CLUSTER_SCOPE = "_cluster"
#: Action → the permission it needs on the item (reading, or changing it).
ACTIONS = {"logs": "read", "describe": "read", "events": "read", "scale": "write", "restart": "write",
           "apply": "create", "remove": "delete"}
SCALABLE = ("deployments", "statefulsets", "replicasets")
RESTARTABLE = ("deployments", "statefulsets", "daemonsets")
MERGE_PATCH = "application/merge-patch+json"


def remove(provider: KubernetesProvider, path: str, *, recursive: bool = False,
           purge_data: bool = False) -> int:
    """``rm`` with what only a cluster has: ``purge_data`` for a WordPress site's volumes."""
    return provider.remove(path, recursive=recursive, purge_data=purge_data)


def _object(provider: KubernetesProvider, path: str, plurals: tuple[str, ...] | None,
            what: str) -> tuple[str | None, Kind, str]:
    namespace, kind, name = provider._parse(path)
    if kind is None or name is None:
        raise ValidationError(f"{path}: {what} works on an object, not on a folder")
    if plurals is not None and kind.plural not in plurals:
        raise ValidationError(f"{path}: {what} works on {', '.join(plurals)}, not {kind.plural}")
    return namespace, kind, name


def logs(provider: KubernetesProvider, path: str, *, tail: int | None = None, follow: bool = False,
         previous: bool = False, container: str | None = None) -> Iterator[str]:
    namespace, kind, name = _object(provider, path, ("pods",), "logs")
    query = {"tailLines": tail, "follow": "true" if follow else None,
             "previous": "true" if previous else None, "container": container}
    return provider.cluster.stream(f"{kind.member(namespace, name)}/log", where=path, query=query)


def scale(provider: KubernetesProvider, path: str, *, replicas: int) -> dict[str, Any]:
    provider.check_writable(path)
    if replicas < 0:
        raise ValidationError(f"{path}: replicas must be 0 or more, got {replicas}")
    namespace, kind, name = _object(provider, path, SCALABLE, "scale")
    provider.cluster.request("PATCH", f"{kind.member(namespace, name)}/scale", where=path,
                             body={"spec": {"replicas": replicas}}, content_type=MERGE_PATCH)
    return {"path": path, "replicas": replicas}


def restart(provider: KubernetesProvider, path: str) -> dict[str, Any]:
    """A rollout restart, as kubectl does it: a new annotation on the pod template."""
    provider.check_writable(path)
    namespace, kind, name = _object(provider, path, RESTARTABLE, "restart")
    moment = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    patch = {"spec": {"template": {"metadata": {"annotations": {
        "kubectl.kubernetes.io/restartedAt": moment}}}}}
    provider.cluster.request("PATCH", kind.member(namespace, name), where=path, body=patch,
                             content_type=MERGE_PATCH)
    return {"path": path, "restarted_at": moment}


def events(provider: KubernetesProvider, path: str) -> list[dict[str, Any]]:
    """The events of a namespace, or of one object (newest last)."""
    namespace, kind, name = provider._parse(path) if path != provider.base else (None, None, None)
    events_kind = provider.kind_named("events", namespaced=True, where=path)
    selector = None
    if kind is not None and name is not None:
        selector = f"involvedObject.name={name},involvedObject.kind={kind.kind}"
    answer = provider.cluster.request("GET", events_kind.collection(namespace), where=path,
                                      query={"fieldSelector": selector})
    rows = []
    for event in answer.get("items") or []:
        involved = event.get("involvedObject") or {}
        rows.append({"time": event.get("lastTimestamp") or event.get("eventTime")
                     or (event.get("metadata") or {}).get("creationTimestamp") or "",
                     "type": event.get("type", ""), "reason": event.get("reason", ""),
                     "object": f"{involved.get('kind', '')}/{involved.get('name', '')}",
                     "message": event.get("message", "")})
    return sorted(rows, key=lambda r: r["time"])


def describe(provider: KubernetesProvider, path: str) -> dict[str, Any]:
    namespace, kind, name = _object(provider, path, None, "describe")
    obj = provider.cluster.request("GET", kind.member(namespace, name), where=path)
    obj.setdefault("kind", kind.kind)
    return {"path": path, "kind": kind.kind, "summary": summary(kind.kind, obj),
            "manifest": redacted(obj), "events": events(provider, path)}


def _kind_of(provider: KubernetesProvider, doc: Mapping[str, Any], where: str) -> Kind:
    api_version, kind_name = doc.get("apiVersion"), doc.get("kind")
    if not isinstance(api_version, str) or not isinstance(kind_name, str):
        raise ValidationError(f"{where}: 'apiVersion' and 'kind' are required")
    for kind in provider.kinds():
        if kind.kind == kind_name and kind.group_version == api_version:
            return kind
    raise ValidationError(f"{where}: the cluster serves no {kind_name} in {api_version}")


def apply(provider: KubernetesProvider, path: str, documents: list[Any], *,
          source: str) -> list[dict[str, Any]]:
    """Create or replace each manifest (in ``path``'s namespace when it names none); every
    manifest is checked before the first is sent."""
    provider.check_writable(path)
    default_namespace, _, _ = provider._parse(path) if path != provider.base else (None, None, None)
    planned = []
    for index, doc in enumerate(documents, 1):
        where = f"{source}#{index}"
        if doc is None:
            continue
        if not isinstance(doc, dict):
            raise ValidationError(f"{where}: a manifest must be a mapping, not {type(doc).__name__}")
        kind = _kind_of(provider, doc, where)
        metadata = doc.get("metadata")
        name = metadata.get("name") if isinstance(metadata, dict) else None
        if not isinstance(name, str) or not name:
            raise ValidationError(f"{where}: metadata.name is required")
        namespace = None
        if kind.namespaced:
            namespace = metadata.get("namespace") or default_namespace or "default"
        _check_schema(doc, where)
        planned.append((kind, namespace, name, doc))
    results = []
    for kind, namespace, name, doc in planned:
        body = dict(doc)
        body["metadata"] = dict(doc["metadata"], **({"namespace": namespace} if namespace else {}))
        scope = namespace if kind.namespaced else CLUSTER_SCOPE
        item_path = f"{paths.join(provider.base, scope)}/{kind.name}/{name}"
        try:
            current = provider.cluster.request("GET", kind.member(namespace, name), where=item_path)
        except NotFound:
            provider.cluster.request("POST", kind.collection(namespace), where=item_path, body=body)
            results.append({"path": item_path, "result": "created"})
            continue
        body["metadata"]["resourceVersion"] = (current.get("metadata") or {}).get("resourceVersion")
        if _same(current, body):
            results.append({"path": item_path, "result": "unchanged"})
            continue
        provider.cluster.request("PUT", kind.member(namespace, name), where=item_path, body=body)
        results.append({"path": item_path, "result": "configured"})
    return results


def _check_schema(doc: Mapping[str, Any], where: str) -> None:
    """Check a built-in kind's manifest against the published schemas before it is sent
    (with the ``kubernetes-validate`` package of the validate extra; custom resources are
    left to the cluster)."""
    try:
        import kubernetes_validate
    except ImportError:
        return
    try:
        kubernetes_validate.validate(dict(doc), kubernetes_validate.latest_version(), strict=True)
    except kubernetes_validate.SchemaNotFoundError:
        return
    except kubernetes_validate.ValidationError as e:
        field = ".".join(str(p) for p in e.path) or "(the manifest)"
        raise ValidationError(f"{where}: {field}: {e.message}") from None


def _same(current: Mapping[str, Any], wanted: Mapping[str, Any]) -> bool:
    """Whether applying ``wanted`` would change nothing the manifest says."""
    for key, value in wanted.items():
        if key in ("metadata", "status"):
            continue
        if current.get(key) != value:
            return False
    have, want = current.get("metadata") or {}, wanted.get("metadata") or {}
    return all(have.get(k) == want.get(k) for k in ("labels", "annotations") if k in want)

