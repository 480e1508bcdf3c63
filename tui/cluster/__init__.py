"""The cluster dashboard: a Kubernetes mount's objects, one kind in one namespace, live.

``model`` (columns, filter, rows — no Textual), ``source`` (blocking calls to the cluster and
the context, for workers), ``live`` (the watch thread), ``views`` (describe, YAML, logs,
scale), ``object_keys`` (what the keys do to the object under the cursor) and ``screen``
(:class:`ClusterScreen`, which wires them).
"""

from __future__ import annotations

from realnet.tui.cluster.source import ClusterSource, ClusterStart, cluster_start

__all__ = ["ClusterSource", "ClusterStart", "cluster_start"]
