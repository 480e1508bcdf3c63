"""The resource table of the fake API server and the discovery documents built from it."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

K8S_VERSION = {"major": "1", "minor": "32", "gitVersion": "v1.32.0", "gitCommit": "fake",
               "gitTreeState": "clean", "buildDate": "2024-12-11T00:00:00Z", "goVersion": "go1.23.3",
               "compiler": "gc", "platform": "linux/amd64"}

CRUD = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
BASE_FIELDS = ("metadata.name", "metadata.namespace")
# Field labels a real API server accepts per resource (others answer 400 "field label not supported").
POD_FIELDS = ("spec.nodeName", "spec.restartPolicy", "spec.schedulerName", "spec.serviceAccountName",
              "spec.hostNetwork", "status.phase", "status.podIP", "status.nominatedNodeName")
EVENT_FIELDS = ("involvedObject.kind", "involvedObject.namespace", "involvedObject.name",
                "involvedObject.uid", "involvedObject.apiVersion", "involvedObject.resourceVersion",
                "involvedObject.fieldPath", "reason", "reportingComponent", "source", "type")
# Subresources whose object is not the parent kind: name -> (group, version, kind, verbs)
SUBRESOURCE_KINDS = {
    "scale": ("autoscaling", "v1", "Scale", ("get", "patch", "update")),
    "log": ("", "", "Pod", ("get",)),
    "status": (None, None, None, ("get", "patch", "update")),
    "finalize": (None, None, None, ("update",)),
}


@dataclass(frozen=True)
class Resource:
    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    subresources: tuple[str, ...] = ()
    field_labels: tuple[str, ...] = ()
    verbs: tuple[str, ...] = CRUD
    categories: tuple[str, ...] = ()
    custom: bool = False
    generation: bool = True  # metadata.generation is kept (objects with a spec)

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def key(self) -> tuple[str, str]:
        """Storage key: versions of one group share their objects."""
        return (self.group, self.plural)

    @property
    def singular(self) -> str:
        return self.kind.lower()

    def supports_field(self, label: str) -> bool:
        return label in BASE_FIELDS or label in self.field_labels

    def discovery(self) -> list[dict]:
        entry: dict = {"name": self.plural, "singularName": self.singular, "namespaced": self.namespaced,
                       "kind": self.kind, "verbs": list(self.verbs)}
        if self.short_names:
            entry["shortNames"] = list(self.short_names)
        if self.categories:
            entry["categories"] = list(self.categories)
        out = [entry]
        for sub in self.subresources:
            group, version, kind, verbs = SUBRESOURCE_KINDS[sub]
            item = {"name": f"{self.plural}/{sub}", "singularName": "", "namespaced": self.namespaced,
                    "kind": kind or self.kind, "verbs": list(verbs)}
            if group:
                item.update(group=group, version=version)
            out.append(item)
        return out


def _r(group: str, plural: str, kind: str, namespaced: bool = True, short: tuple[str, ...] = (),
       sub: tuple[str, ...] = ("status",), fields: tuple[str, ...] = (), gen: bool = True,
       verbs: tuple[str, ...] = CRUD, version: str = "v1") -> Resource:
    cats = ("all",) if kind in {"Pod", "Service", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet",
                                "Job", "CronJob"} else ()
    return Resource(group, version, plural, kind, namespaced, short, sub, fields, verbs, cats, False, gen)


BUILTIN: tuple[Resource, ...] = (
    _r("", "namespaces", "Namespace", False, ("ns",), ("status", "finalize"), ("status.phase",),
       verbs=("create", "delete", "get", "list", "patch", "update", "watch")),
    _r("", "nodes", "Node", False, ("no",)),
    _r("", "pods", "Pod", True, ("po",), ("status", "log"), POD_FIELDS),
    _r("", "services", "Service", True, ("svc",)),
    _r("", "configmaps", "ConfigMap", True, ("cm",), (), gen=False),
    _r("", "secrets", "Secret", True, (), (), ("type",), gen=False),
    _r("", "persistentvolumeclaims", "PersistentVolumeClaim", True, ("pvc",)),
    _r("", "serviceaccounts", "ServiceAccount", True, ("sa",), (), gen=False),
    _r("", "events", "Event", True, ("ev",), (), EVENT_FIELDS, gen=False),
    _r("apps", "deployments", "Deployment", True, ("deploy",), ("status", "scale")),
    _r("apps", "statefulsets", "StatefulSet", True, ("sts",), ("status", "scale")),
    _r("apps", "daemonsets", "DaemonSet", True, ("ds",)),
    _r("apps", "replicasets", "ReplicaSet", True, ("rs",), ("status", "scale"), ("status.replicas",)),
    _r("batch", "jobs", "Job", True, (), ("status",), ("status.successful",)),
    _r("batch", "cronjobs", "CronJob", True, ("cj",)),
    _r("networking.k8s.io", "ingresses", "Ingress", True, ("ing",)),
    _r("rbac.authorization.k8s.io", "roles", "Role", True, (), (), gen=False),
    _r("rbac.authorization.k8s.io", "rolebindings", "RoleBinding", True, (), (), gen=False),
    _r("rbac.authorization.k8s.io", "clusterroles", "ClusterRole", False, (), (), gen=False),
    _r("rbac.authorization.k8s.io", "clusterrolebindings", "ClusterRoleBinding", False, (), (), gen=False),
    _r("authorization.k8s.io", "selfsubjectaccessreviews", "SelfSubjectAccessReview", False, (), (),
       verbs=("create",)),
    _r("authorization.k8s.io", "selfsubjectrulesreviews", "SelfSubjectRulesReview", False, (), (),
       verbs=("create",)),
    _r("events.k8s.io", "events", "Event", True, ("ev",), (), ("reason", "type", "regarding.name",
                                                             "regarding.kind", "regarding.namespace"),
       gen=False),
    _r("apiextensions.k8s.io", "customresourcedefinitions", "CustomResourceDefinition", False,
       ("crd", "crds")),
)

NOT_STORED = {("authorization.k8s.io", "selfsubjectaccessreviews"),
              ("authorization.k8s.io", "selfsubjectrulesreviews")}


@dataclass
class Registry:
    """Every served resource, by (group, version, plural); custom resources come and go."""

    resources: dict[tuple[str, str, str], Resource] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def builtin(cls) -> Registry:
        reg = cls()
        for res in BUILTIN:
            reg.add(res)
        return reg

    def add(self, res: Resource) -> None:
        with self.lock:
            self.resources[(res.group, res.version, res.plural)] = res

    def remove(self, group: str, plural: str) -> None:
        with self.lock:
            for key in [k for k in self.resources if k[0] == group and k[2] == plural]:
                del self.resources[key]

    def get(self, group: str, version: str, plural: str) -> Resource | None:
        return self.resources.get((group, version, plural))

    def by_kind(self, api_version: str, kind: str) -> Resource | None:
        group, _, version = api_version.rpartition("/")
        return next((r for r in list(self.resources.values())
                     if r.group == group and r.version == version and r.kind == kind), None)

    def all(self) -> list[Resource]:
        return list(self.resources.values())

    def groups(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for res in self.all():
            versions = out.setdefault(res.group, [])
            if res.version not in versions:
                versions.append(res.version)
        return out

    # -- discovery documents -------------------------------------------------------------------

    def resource_list(self, group: str, version: str) -> dict | None:
        found = [r for r in self.all() if r.group == group and r.version == version]
        if not found:
            return None
        gv = f"{group}/{version}" if group else version
        return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv,
                "resources": [entry for r in found for entry in r.discovery()]}

    def api_group(self, name: str) -> dict | None:
        versions = self.groups().get(name)
        if not versions or not name:
            return None
        entries = [{"groupVersion": f"{name}/{v}", "version": v} for v in versions]
        return {"kind": "APIGroup", "apiVersion": "v1", "name": name, "versions": entries,
                "preferredVersion": entries[0]}

    def group_list(self) -> dict:
        groups = [self.api_group(name) for name in self.groups() if name]
        for g in groups:
            assert g is not None
            del g["kind"], g["apiVersion"]
        return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def crd_resource(crd: dict) -> list[Resource]:
    """The resources a CustomResourceDefinition object serves (one per served version)."""
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    namespaced = spec.get("scope", "Namespaced") == "Namespaced"
    out = []
    for version in spec.get("versions") or []:
        if not version.get("served", True):
            continue
        subs = version.get("subresources") or {}
        out.append(Resource(
            spec["group"], version["name"], names["plural"], names["kind"], namespaced,
            tuple(names.get("shortNames") or ()),
            tuple(s for s in ("status", "scale") if s in subs),
            (), CRUD, tuple(names.get("categories") or ()), True, True))
    return out


def crd_object(group: str, kind: str, plural: str, *, versions: tuple[str, ...] = ("v1",),
               namespaced: bool = True, short_names: tuple[str, ...] = (),
               categories: tuple[str, ...] = ()) -> dict:
    """A CustomResourceDefinition body as `kubectl apply` would send it."""
    return {
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{group}"},
        "spec": {"group": group, "scope": "Namespaced" if namespaced else "Cluster",
                 "names": {"kind": kind, "plural": plural, "singular": kind.lower(),
                           "listKind": f"{kind}List", "shortNames": list(short_names),
                           "categories": list(categories)},
                 "versions": [{"name": v, "served": True, "storage": i == 0,
                               "schema": {"openAPIV3Schema": {"type": "object",
                                                              "x-kubernetes-preserve-unknown-fields": True}},
                               "subresources": {"status": {}}}
                              for i, v in enumerate(versions)]}}
