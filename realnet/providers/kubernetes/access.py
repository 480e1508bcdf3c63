"""What the cluster lets this identity do, asked with SelfSubjectAccessReview, so that
faces can hide what would only be refused (the dashboard's keys for delete, scale …)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from realnet.core.errors import RealnetError

if TYPE_CHECKING:
    from realnet.providers.kubernetes import KubernetesProvider
    from realnet.providers.kubernetes.kinds import Kind

REVIEWS = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"
#: Answers are kept this long: permissions change rarely, and a refusal still says so.
KEEP_SECONDS = 60.0


class Access:
    """SelfSubjectAccessReview answers of one mount, kept for a minute."""

    def __init__(self, provider: KubernetesProvider) -> None:
        self.provider = provider
        self._answers: dict[tuple[str, str, str, str | None, str | None], tuple[float, bool]] = {}

    def allowed(self, verb: str, kind: Kind, namespace: str | None, *,
                subresource: str | None = None) -> bool:
        """Whether ``verb`` on ``kind`` (in ``namespace``) is allowed; True when the cluster
        cannot say (the request itself will then tell)."""
        group = kind.group_version.rpartition("/")[0]
        key = (verb, group, kind.plural, namespace, subresource)
        now = time.monotonic()
        known = self._answers.get(key)
        if known is not None and now - known[0] < KEEP_SECONDS:
            return known[1]
        attributes = {"verb": verb, "group": group, "resource": kind.plural}
        if namespace:
            attributes["namespace"] = namespace
        if subresource:
            attributes["subresource"] = subresource
        body = {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
                "spec": {"resourceAttributes": attributes}}
        try:
            answer = self.provider.cluster.request("POST", REVIEWS, where=self.provider.base, body=body)
        except RealnetError:
            return True
        allowed = bool(((answer or {}).get("status") or {}).get("allowed"))
        self._answers[key] = (now, allowed)
        return allowed
