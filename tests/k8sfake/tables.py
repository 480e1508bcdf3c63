"""`Table` answers (meta.k8s.io/v1) for clients that ask for them, as `kubectl get` does."""

from __future__ import annotations

import datetime

from .kinds import Resource


def age(stamp: str | None) -> str:
    if not stamp:
        return "<unknown>"
    then = datetime.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.UTC)
    seconds = max(0, int((datetime.datetime.now(datetime.UTC) - then).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _pod(obj: dict) -> list:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    statuses = status.get("containerStatuses") or []
    ready = sum(1 for s in statuses if s.get("ready"))
    restarts = sum(int(s.get("restartCount") or 0) for s in statuses)
    return [f"{ready}/{len(spec.get('containers') or [])}", status.get("phase", ""), restarts,
            status.get("podIP", "<none>"), spec.get("nodeName", "<none>")]


def _workload(obj: dict) -> list:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    return [f"{status.get('readyReplicas', 0)}/{spec.get('replicas', 0)}",
            status.get("updatedReplicas", 0), status.get("availableReplicas", 0)]


COLUMNS = {
    "Pod": (("Ready", "string", 0), ("Status", "string", 0), ("Restarts", "integer", 0),
            ("IP", "string", 1), ("Node", "string", 1)),
    "Deployment": (("Ready", "string", 0), ("Up-to-date", "integer", 0), ("Available", "integer", 0)),
}
CELLS = {"Pod": _pod, "Deployment": _workload}


def table(res: Resource, items: list[dict], rv: int, cont: str | None) -> dict:
    extra = COLUMNS.get(res.kind, ())
    columns = [{"name": "Name", "type": "string", "format": "name", "description": "Name", "priority": 0}]
    columns += [{"name": n, "type": t, "format": "", "description": n, "priority": p} for n, t, p in extra]
    columns.append({"name": "Age", "type": "string", "format": "", "description": "Age", "priority": 0})
    cells = CELLS.get(res.kind, lambda obj: [])
    rows = [{"cells": [o["metadata"]["name"], *cells(o), age(o["metadata"].get("creationTimestamp"))],
             "object": {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                        "metadata": o["metadata"]}} for o in items]
    meta: dict = {"resourceVersion": str(rv)}
    if cont:
        meta["continue"] = cont
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": meta,
            "columnDefinitions": columns, "rows": rows}
