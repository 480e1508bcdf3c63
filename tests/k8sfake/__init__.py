"""A stateful fake Kubernetes API server for the tests (the entry point is tests/k8sserver.py).

Modules: kinds (resource table, discovery), state (objects, resourceVersion, history, watchers),
defaults (what create fills in), selectors, patches, streams (watch, followed logs, faults),
logs, auth (tokens, rule tables, access reviews), proto (the one protobuf body kubectl sends
that matters: SelfSubjectAccessReview), tables (Table answers for kubectl), certs (TLS),
errors (Status bodies), routes (the Starlette app).
"""
