"""Bearer tokens and what each may do: a rule table per token, checked on every request and
answered by SelfSubjectAccessReview / SelfSubjectRulesReview."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from .errors import ApiError

ALL = "*"


@dataclass
class Identity:
    token: str
    user: str
    rules: dict[str, set[str]] | None  # resource ("pods", "pods/log", "*") -> verbs ("*" = all); None = all
    groups: tuple[str, ...] = ("system:authenticated",)

    def allows(self, verb: str, resource: str, subresource: str = "") -> bool:
        if self.rules is None:
            return True
        name = f"{resource}/{subresource}" if subresource else resource
        for key in (name, ALL) if not subresource else (name, f"{resource}/{ALL}", ALL):
            verbs = self.rules.get(key)
            if verbs and (verb in verbs or ALL in verbs):
                return True
        return False


class Tokens:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.identities: dict[str, Identity] = {}

    def add(self, token: str, *, user: str | None = None,
            rules: dict[str, list[str] | set[str] | tuple[str, ...]] | None = None) -> Identity:
        identity = Identity(token, user or f"system:serviceaccount:default:{token}",
                            None if rules is None else {k: set(v) for k, v in rules.items()})
        with self.lock:
            self.identities[token] = identity
        return identity

    def revoke(self, token: str) -> None:
        """From now on the token is refused (401), as an expired credential is."""
        with self.lock:
            self.identities.pop(token, None)

    def authenticate(self, header: str | None) -> Identity:
        scheme, _, token = (header or "").partition(" ")
        with self.lock:
            identity = self.identities.get(token.strip()) if scheme.lower() == "bearer" else None
        if identity is None:
            raise ApiError(401, "Unauthorized")
        return identity


def forbidden(identity: Identity, verb: str, group: str, resource: str, subresource: str,
              namespace: str | None, name: str | None) -> ApiError:
    what = f"{resource}.{group}" if group else resource
    target = f'{what} "{name}"' if name else what
    full = f"{resource}/{subresource}" if subresource else resource
    where = f'in the namespace "{namespace}"' if namespace else "at the cluster scope"
    return ApiError(403, f'{target} is forbidden: User "{identity.user}" cannot {verb} resource '
                         f'"{full}" in API group "{group}" {where}', "Forbidden",
                    {"name": name, "group": group, "kind": resource} if name else
                    {"group": group, "kind": resource})


def access_review(identity: Identity, body: dict) -> dict:
    spec = body.get("spec") or {}
    attrs = spec.get("resourceAttributes")
    if attrs:
        allowed = identity.allows(attrs.get("verb", ""), attrs.get("resource", ""),
                                  attrs.get("subresource", ""))
    else:
        allowed = identity.rules is None  # non-resource URLs: only the all-powerful token
    status: dict = {"allowed": allowed}
    if allowed:
        status["reason"] = "allowed by the fake API server's rule table"
    return {"kind": "SelfSubjectAccessReview", "apiVersion": "authorization.k8s.io/v1",
            "metadata": {"creationTimestamp": None}, "spec": spec, "status": status}


def rules_review(identity: Identity, body: dict) -> dict:
    if identity.rules is None:
        rules = [{"verbs": [ALL], "apiGroups": [ALL], "resources": [ALL]}]
    else:
        rules = [{"verbs": sorted(verbs), "apiGroups": [ALL], "resources": [res]}
                 for res, verbs in sorted(identity.rules.items())]
    return {"kind": "SelfSubjectRulesReview", "apiVersion": "authorization.k8s.io/v1",
            "metadata": {"creationTimestamp": None}, "spec": body.get("spec") or {},
            "status": {"resourceRules": rules, "nonResourceRules": [], "incomplete": False}}
