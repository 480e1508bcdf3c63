"""What a real API server checks and fills in on create, for the few kinds where tests notice."""

from __future__ import annotations

import base64

from .errors import ApiError
from .kinds import Resource


def check_crd(obj: dict, name: str) -> None:
    spec = obj.get("spec") or {}
    names = spec.get("names") or {}
    for field_name, value in (("spec.group", spec.get("group")), ("spec.names.plural", names.get("plural")),
                              ("spec.names.kind", names.get("kind")),
                              ("spec.versions", [v for v in spec.get("versions") or [] if v.get("name")])):
        if not value:
            raise ApiError.invalid("CustomResourceDefinition", name, field_name, "Required value")
    if name != f"{names['plural']}.{spec['group']}":
        raise ApiError.invalid("CustomResourceDefinition", name, "metadata.name",
                               f'Invalid value: "{name}": must be spec.names.plural+"."+spec.group')


def defaults(res: Resource, obj: dict, rv: int) -> None:
    """What a real API server fills in on create (a small, visible subset)."""
    spec = obj.get("spec")
    if res.kind == "Namespace":
        obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
        obj["status"] = {"phase": "Active"}
        obj["metadata"].setdefault("labels", {})["kubernetes.io/metadata.name"] = obj["metadata"]["name"]
    elif res.kind == "Pod":
        obj.setdefault("status", {"phase": "Pending", "qosClass": "BestEffort"})
        if isinstance(spec, dict):
            spec.setdefault("restartPolicy", "Always")
            spec.setdefault("serviceAccountName", "default")
    elif res.kind in ("Deployment", "StatefulSet", "ReplicaSet") and isinstance(spec, dict):
        spec.setdefault("replicas", 1)
    elif res.kind == "Service" and isinstance(spec, dict):
        spec.setdefault("type", "ClusterIP")
        if spec.get("clusterIP") != "None":
            spec.setdefault("clusterIP", f"10.96.{(rv // 250) % 250}.{rv % 250 + 1}")
            spec.setdefault("clusterIPs", [spec["clusterIP"]])
    elif res.kind == "Secret":
        obj.setdefault("type", "Opaque")
        for k, v in list((obj.pop("stringData", None) or {}).items()):
            obj.setdefault("data", {})[k] = base64.b64encode(str(v).encode()).decode()
    elif res.kind == "CustomResourceDefinition":
        obj["status"] = {"acceptedNames": (spec or {}).get("names", {}),
                         "conditions": [{"type": "Established", "status": "True"}]}
