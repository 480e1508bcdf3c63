"""The kinds a cluster mount shows, where the API keeps them, and what a listing says of
each object (the columns ``kubectl get`` prints)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class Kind:
    plural: str
    kind: str
    group_version: str
    namespaced: bool
    type_name: str = "KubernetesObject"
    #: The folder's name when ``plural`` is taken by another group's kind (``events.events.k8s.io``).
    label: str = ""
    #: Other names a person may type for it: discovery's short names and singular name.
    aliases: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return self.label or self.plural

    @property
    def root(self) -> str:
        return "/api/v1" if self.group_version == "v1" else f"/apis/{self.group_version}"

    def collection(self, namespace: str | None) -> str:
        scope = f"/namespaces/{namespace}" if self.namespaced and namespace else ""
        return f"{self.root}{scope}/{self.plural}"

    def member(self, namespace: str | None, name: str) -> str:
        return f"{self.collection(namespace)}/{name}"


def _kind(plural: str, kind: str, group_version: str, namespaced: bool = True) -> Kind:
    return Kind(plural, kind, group_version, namespaced, f"Kubernetes{kind}")


#: The built-in kinds, in the order a namespace lists them.
BUILTIN: tuple[Kind, ...] = (
    _kind("pods", "Pod", "v1"),
    _kind("deployments", "Deployment", "apps/v1"),
    _kind("statefulsets", "StatefulSet", "apps/v1"),
    _kind("daemonsets", "DaemonSet", "apps/v1"),
    _kind("replicasets", "ReplicaSet", "apps/v1"),
    _kind("jobs", "Job", "batch/v1"),
    _kind("cronjobs", "CronJob", "batch/v1"),
    _kind("services", "Service", "v1"),
    _kind("ingresses", "Ingress", "networking.k8s.io/v1"),
    _kind("configmaps", "ConfigMap", "v1"),
    _kind("secrets", "Secret", "v1"),
    _kind("persistentvolumeclaims", "PersistentVolumeClaim", "v1"),
    _kind("serviceaccounts", "ServiceAccount", "v1"),
    _kind("roles", "Role", "rbac.authorization.k8s.io/v1"),
    _kind("rolebindings", "RoleBinding", "rbac.authorization.k8s.io/v1"),
    _kind("events", "Event", "v1"),
)
NAMESPACES = _kind("namespaces", "Namespace", "v1", namespaced=False)

#: Short names, as kubectl takes them.
ALIASES = {
    "po": "pods", "deploy": "deployments", "sts": "statefulsets", "ds": "daemonsets",
    "rs": "replicasets", "cj": "cronjobs", "svc": "services", "ing": "ingresses",
    "cm": "configmaps", "pvc": "persistentvolumeclaims", "sa": "serviceaccounts",
    "ev": "events", "ns": "namespaces",
}


def parse_time(timestamp: str | None) -> datetime | None:
    """An RFC 3339 time of the API (``2026-11-26T05:00:00Z``), or None."""
    if not timestamp:
        return None
    try:
        return datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    except ValueError:
        return None


def age(timestamp: str | None, now: datetime | None = None) -> str:
    """``3d4h``, ``5m`` … since an RFC 3339 time, as kubectl shows it."""
    then = parse_time(timestamp)
    if then is None:
        return ""
    seconds = int(((now or datetime.now(UTC)) - then).total_seconds())
    if seconds < 120:
        return f"{max(seconds, 0)}s"
    minutes = seconds // 60
    if minutes < 120:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 48:
        return f"{hours}h{minutes % 60}m" if hours < 10 else f"{hours}h"
    return f"{hours // 24}d{hours % 24}h" if hours < 240 else f"{hours // 24}d"


def _pod(obj: dict[str, Any]) -> dict[str, Any]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    statuses = status.get("containerStatuses") or []
    total = len(spec.get("containers") or statuses)
    ready = sum(1 for s in statuses if s.get("ready"))
    reason = status.get("reason") or status.get("phase") or ""
    for s in statuses:
        waiting = (s.get("state") or {}).get("waiting")
        if waiting and waiting.get("reason"):
            reason = waiting["reason"]
    return {"ready": f"{ready}/{total}", "status": reason,
            "restarts": sum(int(s.get("restartCount") or 0) for s in statuses),
            "node": spec.get("nodeName") or ""}


def _workload(obj: dict[str, Any]) -> dict[str, Any]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    wanted = spec.get("replicas", 1)
    return {"ready": f"{status.get('readyReplicas') or 0}/{wanted}", "replicas": wanted,
            "up_to_date": status.get("updatedReplicas") or 0,
            "available": status.get("availableReplicas") or 0}


def _service(obj: dict[str, Any]) -> dict[str, Any]:
    spec = obj.get("spec") or {}
    ports = ",".join(f"{p.get('port')}/{p.get('protocol', 'TCP')}" for p in spec.get("ports") or [])
    return {"service_type": spec.get("type", "ClusterIP"), "cluster_ip": spec.get("clusterIP") or "",
            "ports": ports}


def _data(obj: dict[str, Any]) -> dict[str, Any]:
    return {"data": len(obj.get("data") or {}) + len(obj.get("binaryData") or {})}


SUMMARIES = {"Pod": _pod, "Deployment": _workload, "StatefulSet": _workload, "ReplicaSet": _workload,
             "Service": _service, "ConfigMap": _data, "Secret": _data}


def summary(kind: str, obj: dict[str, Any]) -> dict[str, Any]:
    """What a listing shows of an object: its kind's columns, its age and its labels."""
    metadata = obj.get("metadata") or {}
    out: dict[str, Any] = {"age": age(metadata.get("creationTimestamp"))}
    if metadata.get("namespace"):
        out["namespace"] = metadata["namespace"]
    maker = SUMMARIES.get(kind)
    if maker is not None:
        out.update(maker(obj))
    if kind == "Namespace":
        out["status"] = (obj.get("status") or {}).get("phase", "")
    if metadata.get("labels"):
        out["labels"] = dict(metadata["labels"])
    return out


def redacted(obj: dict[str, Any]) -> dict[str, Any]:
    """A Secret with its values hidden (the keys stay, so one sees what it holds)."""
    if obj.get("kind") != "Secret":
        return obj
    out = dict(obj)
    for field in ("data", "stringData"):
        if isinstance(out.get(field), dict):
            out[field] = dict.fromkeys(out[field], "<redacted>")
    return out
