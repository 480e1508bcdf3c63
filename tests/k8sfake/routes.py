"""The HTTP face: Starlette routes that parse Kubernetes API paths and answer as the API server."""

from __future__ import annotations

import asyncio
import json

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from .auth import Identity, Tokens, access_review, forbidden, rules_review
from .errors import ApiError, success_body
from .kinds import K8S_VERSION, NOT_STORED, Resource
from .logs import PodLogs
from .patches import MERGE, apply_patch
from .proto import PROTOBUF, access_review_body, refuse
from .selectors import combine, field_matcher, label_matcher
from .state import Store, wire
from .streams import Faults, expired_stream, log_stream, watch_stream
from .tables import table

METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
VERBS = {"POST": "create", "PUT": "update", "PATCH": "patch"}


class Json(JSONResponse):
    def render(self, content: object) -> bytes:
        return json.dumps(content, separators=(",", ":"), ensure_ascii=False).encode()


class FakeApi:
    def __init__(self, store: Store, logs: PodLogs, tokens: Tokens, faults: Faults,
                 address: str = "127.0.0.1:0") -> None:
        self.store, self.logs, self.tokens, self.faults = store, logs, tokens, faults
        self.address = address
        self.requests: list[tuple[str, str]] = []  # (method, path?query) of every request, in order
        self.errors: list[BaseException] = []  # bugs of the fake itself, answered 500

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/{path:path}", self.handle, methods=METHODS)])

    async def handle(self, request: Request) -> Response:
        path = request.url.path
        query = f"?{request.url.query}" if request.url.query else ""
        self.requests.append((request.method, path + query))
        try:
            delay = self.faults.delay_for(path)
            if delay:
                await asyncio.sleep(delay)
            code = self.faults.take(path)
            if code is not None:
                raise ApiError(code, f"injected fault: the server answers {code}")
            if path in ("/healthz", "/livez", "/readyz"):
                return PlainTextResponse("ok")
            identity = self.tokens.authenticate(request.headers.get("authorization"))
            return await self.route(request, identity, [s for s in path.split("/") if s])
        except ApiError as e:
            return Json(e.status(), status_code=e.code)
        except Exception as e:  # a bug of the fake: answered as the API server would, and kept
            self.errors.append(e)
            return Json(ApiError(500, f"fake API server bug: {e!r}").status(), status_code=500)

    async def route(self, request: Request, identity: Identity, segs: list[str]) -> Response:
        reg = self.store.registry
        if segs == ["version"]:
            return Json(K8S_VERSION)
        if segs == ["api"]:
            return Json({"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [
                {"clientCIDR": "0.0.0.0/0", "serverAddress": self.address}]})
        if segs == ["apis"]:
            return Json(reg.group_list())
        if len(segs) == 2 and segs[0] == "apis":
            return _found(reg.api_group(segs[1]))
        if len(segs) >= 2 and segs[0] == "api":
            group, version, rest = "", segs[1], segs[2:]
        elif len(segs) >= 3 and segs[0] == "apis":
            group, version, rest = segs[1], segs[2], segs[3:]
        else:
            raise ApiError(404, "the server could not find the requested resource")
        if not rest:
            return _found(reg.resource_list(group, version))
        if request.method == "GET" and rest[0] == "watch":
            return await self.resource(request, identity, group, version, rest[1:], watch=True)
        return await self.resource(request, identity, group, version, rest,
                                   watch=request.query_params.get("watch") in ("true", "1"))

    async def resource(self, request: Request, identity: Identity, group: str, version: str,
                       rest: list[str], *, watch: bool) -> Response:
        namespace = None
        if len(rest) >= 3 and rest[0] == "namespaces" and rest[2] not in ("status", "finalize"):
            namespace, rest = rest[1], rest[2:]
        if not rest or len(rest) > 3:
            raise ApiError(404, "the server could not find the requested resource")
        res = self.store.resource(group, version, rest[0])
        name = rest[1] if len(rest) > 1 else None
        sub = rest[2] if len(rest) > 2 else ""
        if (namespace is not None and not res.namespaced) or (sub and sub not in res.subresources):
            raise ApiError(404, "the server could not find the requested resource")
        if name and res.namespaced and namespace is None:
            raise ApiError(404, "the server could not find the requested resource")
        method = request.method
        if method == "GET":
            verb = "watch" if watch else ("get" if name else "list")
        elif method == "DELETE":
            verb = "delete" if name else "deletecollection"
        else:
            verb = VERBS[method]
        if (method in ("PUT", "PATCH") and name is None) or (name and method == "POST"):
            raise ApiError(405, "the server does not allow this method on the requested resource")
        if verb not in res.verbs:
            raise ApiError(405, "the server does not allow this method on the requested resource")
        if res.key in NOT_STORED:
            if request.headers.get("content-type", "").startswith(PROTOBUF):
                body = access_review_body(await request.body())
            else:
                body = await _body(request)
            review = access_review if res.plural == "selfsubjectaccessreviews" else rules_review
            return Json(review(identity, body), status_code=201)
        if not identity.allows(verb, res.plural, sub):
            raise forbidden(identity, verb, res.group, res.plural, sub, namespace, name)
        q = request.query_params
        dry_run = q.get("dryRun") == "All"
        store = self.store
        if (method == "GET" and name is None) or (watch and name):
            fields = q.get("fieldSelector")
            if watch and name:
                fields = ",".join(f for f in (fields, f"metadata.name={name}") if f)
            match = combine(label_matcher(q.get("labelSelector")), field_matcher(fields, res.supports_field))
            if watch:
                return self.watch(request, res, namespace, match)
            limit = _int(q.get("limit"), "limit") or 0
            items, rv, cont, remaining = store.list(res, namespace, match, limit, q.get("continue"))
            if "as=Table" in request.headers.get("accept", ""):
                return Json(table(res, items, rv, cont))
            meta: dict = {"resourceVersion": str(rv)}
            if cont:
                meta["continue"] = cont
            if remaining is not None:
                meta["remainingItemCount"] = remaining
            return Json({"kind": f"{res.kind}List", "apiVersion": res.api_version, "metadata": meta,
                         "items": items})
        assert name is not None or method in ("POST", "DELETE")
        if sub == "log":
            return await self.log(request, namespace or "", name or "")
        if sub == "scale":
            return await self.scale(request, res, namespace, name or "")
        if method == "GET":
            return Json(wire(res, store.get(res, namespace, name or "")))
        if method == "POST":
            obj = store.create(res, namespace, await _body(request), dry_run=dry_run)
            return Json(wire(res, obj), status_code=201)
        if method == "PUT":
            obj = store.update(res, namespace, name or "", await _body(request), sub or None,
                               dry_run=dry_run)
            return Json(wire(res, obj))
        if method == "PATCH":
            obj = store.patch(res, namespace, name or "", request.headers.get("content-type", ""),
                              await _body(request), sub or None, dry_run=dry_run)
            return Json(wire(res, obj))
        options = await _body(request, required=False)
        if q.get("propagationPolicy"):
            options["propagationPolicy"] = q["propagationPolicy"]
        if name is None:
            match = combine(label_matcher(q.get("labelSelector")),
                            field_matcher(q.get("fieldSelector"), res.supports_field))
            with store.lock:
                items, rv, _, _ = store.list(res, namespace, match)
                gone = [store.delete(res, namespace, o["metadata"]["name"], options, dry_run=dry_run)
                        for o in items]
            return Json({"kind": f"{res.kind}List", "apiVersion": res.api_version,
                         "metadata": {"resourceVersion": str(store.rv)}, "items": gone})
        gone = store.delete(res, namespace, name, options, dry_run=dry_run)
        if res.kind == "Pod":
            return Json(wire(res, gone))
        if res.kind == "Namespace":
            shown = {**gone, "status": {"phase": "Terminating"},
                     "metadata": {**gone["metadata"], "deletionTimestamp": gone["metadata"]["creationTimestamp"]}}
            return Json(wire(res, shown))
        return Json(success_body(name, res.group, res.plural, gone["metadata"]["uid"]))

    def watch(self, request: Request, res: Resource, namespace: str | None, match) -> Response:
        q = request.query_params
        timeout = float(_int(q.get("timeoutSeconds"), "timeoutSeconds") or 1800)

        def matches(obj: dict) -> bool:
            if namespace is not None and obj["metadata"].get("namespace") != namespace:
                return False
            return match is None or match(obj)
        try:
            replay, sub = self.store.subscribe(res, q.get("resourceVersion"), asyncio.get_running_loop())
        except ApiError as e:
            if e.code != 410:
                raise
            return StreamingResponse(expired_stream(e.status()), media_type="application/json")
        as_table = "as=Table" in request.headers.get("accept", "")
        return StreamingResponse(watch_stream(self.store, res, sub, replay, matches, timeout, self.faults,
                                              as_table), media_type="application/json")

    async def log(self, request: Request, namespace: str, name: str) -> Response:
        pods = self.store.resource("", "v1", "pods")
        pod = self.store.get(pods, namespace, name)
        q = request.query_params
        spec = pod.get("spec") or {}
        containers = [c.get("name") for c in spec.get("containers") or []]
        all_names = containers + [c.get("name") for c in spec.get("initContainers") or []]
        container = q.get("container")
        if not container:
            if len(containers) != 1:
                raise ApiError.bad_request(f"a container name must be specified for pod {name}, "
                                           f"choose one of: [{' '.join(containers)}]")
            container = containers[0]
        elif container not in all_names:
            raise ApiError.bad_request(f"container {container} is not valid for pod {name}")
        previous = q.get("previous") in ("true", "1")
        key = (namespace, name, container, previous)
        if previous and not self.logs.has(key):
            raise ApiError.bad_request(f'previous terminated container "{container}" in pod "{name}" '
                                       "not found")
        follow = q.get("follow") in ("true", "1") and not previous
        lines, sub = self.logs.read(key, tail=_int(q.get("tailLines"), "tailLines"),
                                    since=_int(q.get("sinceSeconds"), "sinceSeconds"),
                                    loop=asyncio.get_running_loop() if follow else None)
        body = log_stream(self.logs, lines, sub, timestamps=q.get("timestamps") in ("true", "1"),
                          limit_bytes=_int(q.get("limitBytes"), "limitBytes"))
        return StreamingResponse(body, media_type="text/plain")

    async def scale(self, request: Request, res: Resource, namespace: str | None, name: str) -> Response:
        store = self.store
        if request.method == "GET":
            return Json(scale_view(store.get(res, namespace, name)))
        body = await _body(request)
        with store.lock:
            current = scale_view(store.get(res, namespace, name))
            if request.method == "PATCH":
                wanted = apply_patch(request.headers.get("content-type", ""), current, body, custom=False)
            else:
                wanted = body
            given = (wanted.get("metadata") or {}).get("resourceVersion")
            if given and given != current["metadata"]["resourceVersion"]:
                raise ApiError.conflict(res.plural, name, res.group)
            replicas = (wanted.get("spec") or {}).get("replicas")
            if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
                raise ApiError.invalid("Scale", name, "spec.replicas",
                                       f"Invalid value: {replicas!r}: must be greater than or equal to 0")
            obj = store.patch(res, namespace, name, MERGE, {"spec": {"replicas": replicas}})
        return Json(scale_view(obj))


def scale_view(obj: dict) -> dict:
    meta = obj["metadata"]
    selector = ((obj.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
    return {"kind": "Scale", "apiVersion": "autoscaling/v1",
            "metadata": {k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion",
                                              "creationTimestamp") if k in meta},
            "spec": {"replicas": (obj.get("spec") or {}).get("replicas", 0)},
            "status": {"replicas": (obj.get("status") or {}).get("replicas", 0),
                       "selector": ",".join(f"{k}={v}" for k, v in sorted(selector.items()))}}


def _found(doc: dict | None) -> Response:
    if doc is None:
        raise ApiError(404, "the server could not find the requested resource")
    return Json(doc)


def _int(value: str | None, name: str) -> int | None:
    if value in (None, ""):
        return None
    try:
        return int(value)
    except ValueError:
        raise ApiError.bad_request(f"invalid {name}: {value!r} is not an integer") from None


async def _body(request: Request, *, required: bool = True) -> dict:
    if request.headers.get("content-type", "").startswith(PROTOBUF):
        raise refuse()
    raw = await request.body()
    if not raw.strip():
        if required:
            raise ApiError.bad_request("the request has no body")
        return {}
    try:
        body = json.loads(raw)
    except ValueError as e:
        raise ApiError.bad_request(f"the body is not JSON: {e}") from None
    if not isinstance(body, dict | list):
        raise ApiError.bad_request("the body must be a JSON object")
    return body
