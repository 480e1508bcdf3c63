"""WordPress sites in a namespace of a mounted cluster: ``<cluster>/<namespace>/<site>``.

A site is the set of objects :mod:`realnet.providers.kubernetes.wordpress` generates, all
labelled with the site's name. Its record is the ConfigMap ``<site>-site``, so every replica
(and every person) reading the cluster sees the same sites; nothing about a site is kept
in Realnet's own store. Creating one applies the objects in order and takes back what it
made when one is refused; ``rm -r`` removes them all, the volumes with the data only when
asked to (``rm -r --purge-data``).
"""

from __future__ import annotations

import json
from contextlib import suppress
from importlib import resources
from typing import TYPE_CHECKING, Any

from realnet.core.errors import AlreadyExists, NotFound, RealnetError, ValidationError
from realnet.providers.kubernetes.kinds import BUILTIN, Kind
from realnet.providers.kubernetes.wordpress import database_secret, record_name

if TYPE_CHECKING:
    from realnet.core.item import Item, ItemDraft
    from realnet.providers.kubernetes import KubernetesProvider

SITE_TYPE = "WordPressSite"
#: Attributes of the site's type that the spec takes, as they are named in the tree.
SPEC_FIELDS = ("host", "multisite", "plugins", "title", "admin_email", "tls_secret", "ingress_class",
               "storage_class", "database_size", "content_size", "realnet_url", "realnet_token_secret")
_BY_KIND = {k.kind: k for k in BUILTIN}


def removal_note(*, purge_data: bool) -> str:
    """What ``rm -r`` of a site removes besides the item, for it to ask about."""
    return "a WordPress site: its workloads " + ("and its data volumes" if purge_data
                                                 else "(its data volumes stay)")


def _kind(kind: str) -> Kind:
    return _BY_KIND[kind]


def _label(name: str) -> str:
    from realnet.providers.kubernetes.wordpress import LABEL

    return f"{LABEL}={name}"


def plugin_php() -> str:
    """The Realnet WordPress plugin shipped with this package."""
    return (resources.files("realnet.wordpress") / "realnet" / "realnet.php").read_text(encoding="utf-8")


def site_names(provider: KubernetesProvider, namespace: str, where: str) -> list[str]:
    """The sites of a namespace, by their records."""
    from realnet.providers.kubernetes.wordpress import LABEL, PART

    answer = provider.cluster.request("GET", _kind("ConfigMap").collection(namespace), where=where,
                                      query={"labelSelector": f"{PART}=site"})
    return sorted({(o.get("metadata") or {}).get("labels", {}).get(LABEL, "")
                   for o in answer.get("items") or []} - {""})


def read_record(provider: KubernetesProvider, namespace: str, site: str,
                where: str) -> dict[str, Any] | None:
    """The site's record (its ConfigMap), None when there is no such site."""
    from realnet.providers.kubernetes.wordpress import LABEL

    member = _kind("ConfigMap").member(namespace, record_name(site))
    try:
        record = provider.cluster.request("GET", member, where=where)
    except NotFound:
        return None
    labels = (record.get("metadata") or {}).get("labels") or {}
    return record if labels.get(LABEL) == site else None


def _status_of(provider: KubernetesProvider, kind: str, namespace: str, name: str,
               where: str) -> dict[str, Any]:
    try:
        obj = provider.cluster.request("GET", _kind(kind).member(namespace, name), where=where)
    except NotFound:
        return {"missing": True}
    return obj.get("status") or {}


def _state(status: dict[str, Any], ready_field: str) -> str:
    if status.get(ready_field):
        return "ready"
    return "missing" if status.get("missing") else "starting"


def site_attributes(provider: KubernetesProvider, namespace: str, site: str, record: dict[str, Any],
                    where: str) -> dict[str, Any]:
    """The spec as recorded, the URL, and where each part stands."""
    from realnet.providers.kubernetes.wordpress import SiteSpec, site_url

    data = record.get("data") or {}
    attributes: dict[str, Any] = {k: data[k] for k in SPEC_FIELDS if data.get(k) not in (None, "")}
    if "plugins" in attributes:
        with suppress(ValueError):
            attributes["plugins"] = json.loads(attributes["plugins"])
    spec = SiteSpec(name=site, namespace=namespace, host=str(data.get("host", "")),
                    tls_secret=data.get("tls_secret") or None)
    database = _status_of(provider, "StatefulSet", namespace, f"{site}-mysql", where)
    wordpress = _status_of(provider, "Deployment", namespace, f"{site}-wordpress", where)
    install = _status_of(provider, "Job", namespace, f"{site}-install", where)
    if install.get("succeeded"):
        network = "network installed, plugins active"
    elif install.get("missing"):
        network = "install job missing"
    elif install.get("failed") and not install.get("active"):
        network = f"install failed {install['failed']} time(s), retrying"
    else:
        network = "installing the network"
    attributes.update(
        url=site_url(spec),
        database=_state(database, "readyReplicas"),
        wordpress=_state(wordpress, "availableReplicas"),
        network=network,
    )
    attributes["status"] = (f"database {attributes['database']}, {network}, "
                            f"wordpress {attributes['wordpress']}, {attributes['url']}")
    return attributes


def create_site(provider: KubernetesProvider, draft: ItemDraft, namespace: str, site: str) -> None:
    """Apply every object of the site, in order; on a refusal, delete what was made and say why."""
    from realnet.providers.kubernetes.wordpress import (
        SiteSpec,
        check_spec,
        new_password,
        purgeable,
        site_objects,
    )

    values = {k: draft.attributes[k] for k in SPEC_FIELDS if draft.attributes.get(k) not in (None, "")}
    if "plugins" in values:
        plugins = values["plugins"]
        if not isinstance(plugins, list) or not all(isinstance(p, str) for p in plugins):
            raise ValidationError(f"{draft.path}: attribute 'plugins' expects a JSON list of plugin slugs")
        values["plugins"] = tuple(plugins)
    if "host" not in values:
        raise ValidationError(f"{draft.path}: attribute 'host' is required for a {SITE_TYPE}")
    spec = SiteSpec(name=site, namespace=namespace, **values)
    check_spec(spec, draft.path)
    if read_record(provider, namespace, site, draft.path) is not None:
        raise AlreadyExists(draft.path)
    objects = site_objects(spec, database_password=new_password(), root_password=new_password(),
                           admin_password=new_password(), plugin_php=plugin_php())
    made: list[dict[str, Any]] = []
    try:
        for obj in objects:
            kind = _kind(obj["kind"])
            try:
                provider.cluster.request("POST", kind.collection(namespace), where=draft.path, body=obj)
            except AlreadyExists:
                if not (purgeable(obj) and _kept_for(provider, kind, namespace, obj, site, draft.path)):
                    raise
                # The data an earlier site of this name left (rm -r without --purge-data):
                # its volumes, and the credentials already written into its database.
                continue
            made.append(obj)
    except RealnetError:
        for obj in reversed(made):
            with suppress(RealnetError):  # the refusal is what the person needs to see
                _delete(provider, _kind(obj["kind"]), namespace, obj["metadata"]["name"], draft.path)
        raise


def _kept_for(provider: KubernetesProvider, kind: Kind, namespace: str, obj: dict[str, Any], site: str,
              where: str) -> bool:
    """Whether the object already there is a volume kept from a site of the same name."""
    from realnet.providers.kubernetes.wordpress import LABEL

    there = provider.cluster.request("GET", kind.member(namespace, obj["metadata"]["name"]), where=where)
    return ((there.get("metadata") or {}).get("labels") or {}).get(LABEL) == site


def _delete(provider: KubernetesProvider, kind: Kind, namespace: str, name: str, where: str) -> None:
    # Background propagation: the pods of a Job or a StatefulSet go with it.
    provider.cluster.request("DELETE", kind.member(namespace, name), where=where,
                             query={"propagationPolicy": "Background"})


#: What a site is made of, in the order it is removed (the record last, so a site half
#: removed still shows and can be removed again).
REMOVED = ("Ingress", "Job", "Deployment", "Service", "StatefulSet", "ConfigMap")
#: Its data: the volumes and the Secret with the credentials that open them.
DATA = ("Secret", "PersistentVolumeClaim")


def delete_site(provider: KubernetesProvider, namespace: str, site: str, where: str, *,
                purge_data: bool) -> int:
    """Delete every object labelled with the site; its data only with ``purge_data``."""
    kinds = [*REMOVED, *DATA] if purge_data else list(REMOVED)
    removed = 0
    record = None
    for kind_name in kinds:
        kind = _kind(kind_name)
        if kind_name == "Secret":  # by name: listing Secrets is a right an overlay may take away
            names = [database_secret(site)]
        else:
            answer = provider.cluster.request("GET", kind.collection(namespace), where=where,
                                              query={"labelSelector": _label(site)})
            names = [obj["metadata"]["name"] for obj in answer.get("items") or []]
        for name in names:
            if kind_name == "ConfigMap" and name == record_name(site):
                record = name
                continue
            try:
                _delete(provider, kind, namespace, name, where)
            except NotFound:
                continue
            removed += 1
    if record is not None:
        _delete(provider, _kind("ConfigMap"), namespace, record, where)
        removed += 1
    return removed


def item_of(provider: KubernetesProvider, path: str, namespace: str, site: str,
            record: dict[str, Any]) -> Item:
    from realnet.providers.kubernetes import _timestamp, _version

    metadata = record.get("metadata") or {}
    attributes = site_attributes(provider, namespace, site, record, path)
    return provider.make_item(path, SITE_TYPE, attributes, version=_version(metadata),
                              updated=_timestamp(metadata.get("creationTimestamp")))
