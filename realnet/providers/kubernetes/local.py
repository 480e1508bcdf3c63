"""The cluster a pod runs in, mounted by ``realnet init`` where REALNET_LOCAL_CLUSTER says.

Operators reach a deployed Realnet with ``kubectl exec -it deploy/realnet -- realnet shell``;
the cluster around it is then already in the tree, through the pod's service account.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from realnet.core.errors import AlreadyExists, RealnetError

if TYPE_CHECKING:
    from realnet.core.context import Context


def in_a_pod() -> bool:
    """A service host in the environment and a service-account token on disk, as the
    in-cluster configuration needs (and the client installed: else not a pod we can use)."""
    if not os.environ.get("KUBERNETES_SERVICE_HOST"):
        return False
    import importlib.util

    from realnet.providers.kubernetes import kubeconfig

    return importlib.util.find_spec("kubernetes") is not None and os.path.isfile(kubeconfig.TOKEN_FILE)


def mount_local_cluster(context: Context, path: str | None) -> tuple[str | None, str | None]:
    """Mount the pod's cluster at ``path`` unless it is there already (or this is no pod).

    Returns (what was done, why it could not be done): the store stays initialized when
    the cluster cannot be mounted, so the second is a warning, not a failure."""
    if path is None or not in_a_pod():
        return None, None
    try:
        if context.provider.exists(path):
            return None, None
        context.create(path, "KubernetesCluster", {"in_cluster": True}, parents=True)
    except AlreadyExists:  # another replica's init got there first
        return None, None
    except RealnetError as e:
        return None, f"could not mount the cluster this pod runs in at {path}: {e}"
    return f"mounted the cluster this pod runs in at {path} (its service account)", None
