"""The Kubernetes objects of a WordPress multisite site managed from the tree.

``spec`` (what a site is made from, and its checks), ``scripts`` (its PHP and shell text)
and ``objects`` (its manifests). A pure generator: :func:`site_objects` turns a
:class:`SiteSpec` (and credentials the caller generated or read back) into the manifests to
apply, in apply order; it calls no cluster. The
Kubernetes provider applies them, reads a site back from its ``<name>-site`` ConfigMap
(:func:`spec_from_record`), and removes a site by :data:`LABEL`, keeping the volumes that
:func:`purgeable` names unless asked to purge data.

Why it looks the way it does:

* MySQL is a StatefulSet with its own volume (volumeClaimTemplates), as PostgreSQL is in
  deploy/k8s/base/postgres.yaml; WordPress is one replica (its wp-content volume is
  ReadWriteOnce) behind a Service and an Ingress.
* The network is installed once, by a Job running wp-cli ``core multisite-install`` with the
  URL from the spec — so the URLs stored in the database are the real host, never the
  ``localhost`` a first browser visit through a port-forward would leave there.
* Every value of the spec that reaches PHP or a shell is checked by :func:`check_spec` first
  and escaped for its language (single-quoted PHP strings, ``shlex.quote``) all the same;
  passwords reach the pods only through the Secret, never through a script or the ConfigMap.
"""

from realnet.providers.kubernetes.wordpress.objects import site_objects
from realnet.providers.kubernetes.wordpress.spec import (
    LABEL,
    MULTISITE,
    PART,
    SiteSpec,
    check_spec,
    database_secret,
    new_password,
    purgeable,
    record_name,
    site_url,
    spec_from_record,
)

__all__ = ["LABEL", "MULTISITE", "PART", "SiteSpec", "check_spec", "database_secret", "new_password",
           "purgeable", "record_name", "site_objects", "site_url", "spec_from_record"]
