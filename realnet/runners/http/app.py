"""The REST API (DESIGN §3) as a Starlette application.

Handlers check the request on the event loop, then do the store work — token, permission
checks, reads and writes through the same :class:`Context` as every other face — in one
hop to a store thread, which also encodes the answer.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from orjson import dumps as _orjson_dumps
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from realnet import __version__
from realnet.core import paths
from realnet.core.access import ANONYMOUS
from realnet.core.context import Context
from realnet.core.errors import Conflict, NotFound, RealnetError
from realnet.core.item import ChildrenPage, Item
from realnet.runners.answers import Answer
from realnet.runners.gateway import StoreGateway
from realnet.runners.http import requests as rq
from realnet.runners.http.errors import ApiError, error_body, status_of
from realnet.runners.http.login import LoginLimiter

API = "/api/v1"
JSON = "application/json"
#: Items one POST /delete may name.
MAX_DELETE = 1000
log = logging.getLogger("realnet.http")

CHILDREN_PARAMS = {"children": "list the children", "order": "sort order", "limit": "page size",
                   "cursor": "next_cursor of the previous page", "type": "only this type and its subtypes",
                   "name": "only names matching this glob"}
FIND_PARAMS = {"find": "search the subtree", "type": "only this type and its subtypes",
               "name": "only names matching this glob", "depth": "how many levels down (0: all)",
               "limit": "page size", "cursor": "next_cursor of the previous page"}
BUILTIN_ACTIONS = {"move": "move the item to body.target",
                   "copy": "copy the item (and its subtree) to body.target"}


def dumps(data: Any) -> bytes:
    """JSON bytes; orjson is ten times faster on a page of items, and the standard library
    takes what it refuses (integers wider than 64 bits in ``json`` attributes)."""
    try:
        return _orjson_dumps(data)
    except TypeError:
        return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()


def item_data(context: Context, item: Item) -> dict[str, Any]:
    return context.shown(item).to_dict()


def json_response(body: bytes, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(body, status_code=status, media_type=JSON, headers=headers)


def bearer(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError("unauthorized", "Authorization: expected 'Bearer <token>'",
                       headers={"WWW-Authenticate": 'Bearer realm="realnet"'})
    return token.strip()


class Api:
    def __init__(self, gateway: StoreGateway, limiter: LoginLimiter | None = None) -> None:
        self.gateway = gateway
        self.limiter = limiter or LoginLimiter()

    async def run(self, request: Request, work: Callable[[Context], Any], *, on_thread: bool = False) -> Any:
        return await self.gateway.run(bearer(request), work, on_thread=on_thread)

    async def read(self, request: Request, key: tuple[Any, ...], work: Callable[[Context], Answer]) -> Answer:
        """A read whose answer the gateway may keep until the store changes."""
        return await self.gateway.read(bearer(request), key, work)

    async def get_content(self, request: Request) -> Response:
        from realnet.runners.http.content import get_content

        return await get_content(self, request)

    async def put_content(self, request: Request) -> Response:
        from realnet.runners.http.content import put_content

        return await put_content(self, request)

    # -- items -----------------------------------------------------------------------
    async def get_item(self, request: Request) -> Response:
        # A read answered before: the URL as sent is its key, so checking the path and the
        # query again (which only ever gives the same result) is skipped. Only successful
        # answers are kept; anything else is checked below as always.
        url = _url_key(request)
        kept = self.gateway.kept(bearer(request), url)
        if kept is not None:
            return _answered(request, kept)
        path = rq.item_path(request, f"{API}/items")
        params = request.query_params
        modes = [m for m in ("children", "find", "count") if m in params and rq.flag_param(params, m)]
        if len(modes) > 1:
            raise ApiError("usage", f"query parameters {' and '.join(modes)}: use one at a time")
        if modes == ["children"]:
            return await self.list_children(request, path)
        if modes == ["find"]:
            return await self.find(request, path)
        if modes == ["count"]:
            rq.query(request, {"count": "count what is below"})
            return _answered(request, await self.read(request, url, lambda context: Answer(
                200, dumps({"count": context.count_below(path)}), {})))
        allowed = {"reveal": "decrypt secret attributes"} | {m: "off" for m in ("children", "find", "count")
                                                              if m in params}
        reveal = rq.flag_param(rq.query(request, allowed), "reveal")

        def work(context: Context) -> Answer:
            item = context.reveal(path) if reveal else context.get(path)
            shown = item.to_dict() if reveal else item_data(context, item)
            return Answer(200, dumps(shown), {"ETag": rq.etag(item.version, item.id)})

        # Revealed values are never kept.
        answer = await (self.run(request, work) if reveal else self.read(request, url, work))
        return _answered(request, answer)

    async def list_children(self, request: Request, path: str) -> Response:
        params = rq.query(request, CHILDREN_PARAMS)
        order = params.get("order") or "name"  # the store checks it, with the same words as the shell
        limit = rq.int_param(params, "limit", 100, 1, 1000)
        cursor = params.get("cursor") or None
        type_name, name_glob = params.get("type") or None, params.get("name") or None
        if (type_name or name_glob) and order != "name":
            raise ApiError("usage", "query parameter 'order': only 'name' together with 'type' or 'name'")

        def work(context: Context) -> Answer:
            if type_name or name_glob:
                page = context.find(path, type_name=type_name, name_glob=name_glob, max_depth=1,
                                    limit=limit, cursor=cursor)
            else:
                page = context.list(path, order=order, limit=limit, cursor=cursor)
            return Answer(200, _page_body(context, page), {})

        return _answered(request, await self.read(request, _url_key(request), work))

    async def find(self, request: Request, path: str) -> Response:
        params = rq.query(request, FIND_PARAMS)
        limit = rq.int_param(params, "limit", 1000, 1, 10_000)
        depth = rq.int_param(params, "depth", 0, 0, 10_000) or None
        type_name, name_glob = params.get("type") or None, params.get("name") or None
        cursor = params.get("cursor") or None

        def work(context: Context) -> Answer:
            page = context.find(path, type_name=type_name, name_glob=name_glob, max_depth=depth, limit=limit,
                                cursor=cursor)
            return Answer(200, _page_body(context, page), {})

        return _answered(request, await self.read(request, _url_key(request), work))

    async def create_item(self, request: Request) -> Response:
        parent = rq.item_path(request, f"{API}/items")
        rq.query(request, {})
        body = await rq.json_body(request, {"name": str, "type": str, "attributes": dict, "parents": bool,
                                            "from_text": bool}, ("name", "type"))
        name = paths.check_name(body["name"], where=f"body.name {body['name']!r}")
        path = paths.join(parent, name)

        def work(context: Context) -> Response:
            item = context.create(path, body["type"], body.get("attributes") or {},
                                  parents=bool(body.get("parents")), from_text=bool(body.get("from_text")))
            return json_response(dumps(item_data(context, item)), 201, {
                "ETag": rq.etag(item.version, item.id), "Location": _location(item)})

        return await self.run(request, work)

    async def update_item(self, request: Request) -> Response:
        path = rq.item_path(request, f"{API}/items")
        rq.query(request, {})
        body = await rq.json_body(request, {"attributes": dict, "unset": list, "version": int,
                                            "from_text": bool})
        unset = body.get("unset") or []
        if not all(isinstance(name, str) for name in unset):
            raise ApiError("invalid", "body.unset: expected a list of attribute names")
        if not body.get("attributes") and not unset:
            raise ApiError("invalid", "body: nothing to change (expected attributes or unset)")
        if_match = request.headers.get("if-match")

        def work(context: Context) -> Response:
            with context.transaction():
                current = context.get(path)
                if if_match is not None and not rq.etag_matches(if_match, current.version, current.id):
                    raise _stale(path, current)
                version = body.get("version")
                if version is not None and version != current.version:
                    raise Conflict(f"{path}: version {version} is stale (current version is "
                                   f"{current.version}); read the item again and retry")
                item = context.update(path, body.get("attributes") or {}, unset=unset,
                                      expected_version=current.version,
                                      from_text=bool(body.get("from_text")))
            return json_response(dumps(item_data(context, item)),
                                 headers={"ETag": rq.etag(item.version, item.id)})

        return await self.run(request, work)

    async def delete_item(self, request: Request) -> Response:
        path = rq.item_path(request, f"{API}/items")
        recursive = rq.flag_param(rq.query(request, {"recursive": "delete the whole subtree"}), "recursive")
        if_match = request.headers.get("if-match")

        def work(context: Context) -> Response:
            with context.transaction():
                if if_match is not None:
                    current = context.get(path)
                    if not rq.etag_matches(if_match, current.version, current.id):
                        raise _stale(path, current)
                removed = context.delete(path, recursive=recursive)
            return json_response(dumps({"removed": removed}))

        return await self.run(request, work)

    async def delete_many(self, request: Request) -> Response:
        rq.query(request, {})
        body = await rq.json_body(request, {"paths": list, "recursive": bool}, ("paths",))
        wanted = body["paths"]
        if not 1 <= len(wanted) <= MAX_DELETE:
            raise ApiError("invalid", f"body.paths: expected 1 to {MAX_DELETE} item paths, got {len(wanted)}")
        targets = [rq.body_path(p, f"body.paths[{i}]") for i, p in enumerate(wanted)]
        recursive = bool(body.get("recursive"))
        return await self.run(request, lambda context: json_response(dumps(
            {"removed": context.delete_many(targets, recursive=recursive)})))

    # -- actions -----------------------------------------------------------------------
    async def action(self, request: Request) -> Response:
        full = rq.item_path(request, f"{API}/actions")
        if full == paths.ROOT:
            raise ApiError("usage", f"{API}/actions: expected {API}/actions/PATH/ACTION")
        path, action = paths.parent_of(full), paths.name_of(full)
        rq.query(request, {})
        if action not in BUILTIN_ACTIONS:
            raise NotFound(f"{path}: action '{action}'",
                           f"no such action (actions: {', '.join(BUILTIN_ACTIONS)})")
        body = await rq.json_body(request, {"target": str, "parents": bool}, ("target",))
        target = body["target"]
        if not target.startswith("/"):
            raise ApiError("invalid_path", f"body.target: expected an absolute path, got {target!r}")

        def work(context: Context) -> Response:
            relocate = context.move if action == "move" else context.copy
            item = relocate(path, paths.normalize(target), parents=bool(body.get("parents")))
            return json_response(dumps(item_data(context, item)), 201 if action == "copy" else 200,
                                 {"ETag": rq.etag(item.version, item.id), "Location": _location(item)})

        return await self.run(request, work)

    # -- types, identity, tokens ----------------------------------------------------------
    async def list_types(self, request: Request) -> Response:
        rq.query(request, {})
        return await self.run(request, lambda context: json_response(dumps(
            {"types": [t.to_dict() for t in context.readable_types()]})))

    async def get_type(self, request: Request) -> Response:
        rq.query(request, {})
        name = request.path_params["name"]

        def work(context: Context) -> Response:
            shown = next((t for t in context.readable_types() if t.name == name), None)
            if shown is None:
                raise NotFound(f"type {name}", "no such type")
            return json_response(dumps(shown.to_dict()))

        return await self.run(request, work)

    async def whoami(self, request: Request) -> Response:
        rq.query(request, {})

        def work(context: Context) -> Response:
            identity = context.guard.identity
            return json_response(dumps({"principal": identity.name, "groups": sorted(identity.groups),
                                        "admin": identity.is_admin,
                                        "authenticated": context.principal != ANONYMOUS}))

        return await self.run(request, work)

    async def list_tokens(self, request: Request) -> Response:
        rq.query(request, {})
        return await self.run(request, lambda c: json_response(
            dumps({"tokens": _directory(c).tokens(_me(c))})))

    async def create_token(self, request: Request) -> Response:
        rq.query(request, {})
        body = await rq.json_body(request, {"name": str, "expires": str}, ("name",))

        def work(context: Context) -> Response:
            issued = _directory(context).create_token(_me(context), body["name"], expires=body.get("expires"),
                                                      expires_field="body.expires")
            return json_response(dumps({"account": issued.account, "name": issued.label,
                                        "token": issued.token, "expires": issued.expires}), 201)

        return await self.run(request, work)

    async def revoke_token(self, request: Request) -> Response:
        rq.query(request, {})
        name = request.path_params["name"]

        def work(context: Context) -> Response:
            _directory(context).revoke_token(_me(context), name)
            return Response(status_code=204)

        return await self.run(request, work)

    async def login(self, request: Request) -> Response:
        rq.query(request, {})
        body = await rq.json_body(request, {"user": str, "password": str, "name": str, "expires": str},
                                  ("user", "password"))
        address = request.client.host if request.client else "unknown"
        user = body["user"]
        ticket = self.limiter.attempt(user, address)

        def work(context: Context) -> dict[str, Any] | None:
            from realnet.resources.accounts import Directory

            directory = Directory(context)
            if not directory.authenticate(user, body["password"]):
                return None
            # The password was right: whatever goes wrong next is not a guess.
            self.limiter.succeeded(user, address, ticket)
            issued = directory.create_token(user, body.get("name") or _login_label(),
                                            expires=body.get("expires") or "12h",
                                            expires_field="body.expires")
            return {"account": issued.account, "name": issued.label, "token": issued.token,
                    "expires": issued.expires}

        result = await self.gateway.run_as_admin(work, slow=True)
        if result is None:
            raise ApiError("unauthorized", "login: wrong user name or password")
        return json_response(dumps(result), 201)

    # -- health --------------------------------------------------------------------------
    async def healthz(self, request: Request) -> Response:
        return json_response(b'{"status":"ok"}')

    async def readyz(self, request: Request) -> Response:
        try:
            await self.gateway.run_as_admin(lambda context: context.provider.get(paths.ROOT))
        except RealnetError as e:
            return json_response(dumps({"status": "unavailable", "error": str(e)}), 503)
        return json_response(b'{"status":"ready"}')

    async def openapi(self, request: Request) -> Response:
        from realnet.runners.http.openapi import document

        return json_response(dumps(document(__version__)))


def _url_key(request: Request) -> tuple[bytes, bytes]:
    """A GET's URL as the client sent it (path not decoded, query as is)."""
    scope = request.scope
    return scope.get("raw_path") or scope["path"].encode(), scope["query_string"]


def _answered(request: Request, answer: Answer) -> Response:
    tag = answer.headers.get("ETag")
    if tag is not None:
        if_none_match = request.headers.get("if-none-match")
        if if_none_match is not None and rq.tag_matches(if_none_match, tag):
            return Response(status_code=304, headers={"ETag": tag})
    return json_response(answer.body, answer.status, answer.headers or None)


def _location(item: Item) -> str:
    return f"{API}/items{paths.url_quoted(item.path)}"


def _page_body(context: Context, page: ChildrenPage) -> bytes:
    return dumps({"items": [item_data(context, i) for i in page.items], "next_cursor": page.next_cursor})


def _stale(path: str, current: Item) -> ApiError:
    return ApiError("precondition_failed",
                    f"{path}: If-Match does not match the current version {current.version} "
                    f"(ETag {rq.etag(current.version, current.id)}); read the item again and retry")


def _me(context: Context) -> str:
    if context.principal == ANONYMOUS:
        raise ApiError("unauthorized", "tokens: sign in first (Authorization: Bearer <token>)",
                       headers={"WWW-Authenticate": 'Bearer realm="realnet"'})
    return context.principal


def _directory(context: Context):
    from realnet.resources.accounts import Directory

    return Directory(context)


def _login_label() -> str:
    import secrets

    return f"login-{secrets.token_hex(6)}"


def guarded(handler: Callable[[Request], Any]) -> Callable[[Request], Any]:
    """Turn every failure into a JSON error; a bug is logged, and the client sees no trace."""

    async def endpoint(request: Request) -> Response:
        try:
            return await handler(request)
        except RealnetError as e:
            headers = e.headers if isinstance(e, ApiError) else None
            status = status_of(e)
            signed_in = "authorization" in request.headers
            if e.code == "unauthorized" and not headers:
                headers = {"WWW-Authenticate": 'Bearer realm="realnet", error="invalid_token"'
                           if signed_in else 'Bearer realm="realnet"'}
            elif e.code == "forbidden" and not signed_in:
                # Refused to anonymous: signing in may help, so say so (401), as HTTP means it.
                message = f"{e} (sign in: Authorization: Bearer <token>)"
                return json_response(error_body("unauthorized", message), 401,
                                     {"WWW-Authenticate": 'Bearer realm="realnet"'})
            return json_response(error_body(e.code, str(e)), status, headers)
        except Exception:
            log.exception("%s %s failed", request.method, request.url.path)
            return json_response(error_body("internal", "internal error (the server log has details)"), 500)

    endpoint.__name__ = handler.__name__
    return endpoint


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http")
    message = {404: f"{request.url.path}: no such endpoint (see /openapi.json)",
               405: f"{request.url.path}: method {request.method} not allowed"}.get(exc.status_code,
                                                                                   str(exc.detail))
    return json_response(error_body(code, message), exc.status_code, exc.headers)


async def server_error(request: Request, exc: Exception) -> Response:
    log.error("%s %s failed: %s", request.method, request.url.path, type(exc).__name__)
    return json_response(error_body("internal", "internal error (the server log has details)"), 500)


class _Dispatch:
    """One route, several methods: so that a wrong method answers 405 naming them all."""

    def __init__(self, handlers: dict[str, Callable[[Request], Any]]) -> None:
        self.handlers = {method: guarded(handler) for method, handler in handlers.items()}
        self.methods = tuple(self.handlers)

    async def endpoint(self, request: Request) -> Response:
        method = "GET" if request.method == "HEAD" else request.method  # HEAD: GET without a body
        return await self.handlers[method](request)


def by_method(**handlers: Callable[[Request], Any]) -> _Dispatch:
    return _Dispatch(handlers)


def _cors_middleware() -> type:
    from starlette.middleware.cors import CORSMiddleware

    class JsonCors(CORSMiddleware):
        """Starlette's CORS handling, with refusals in the API's JSON error shape."""

        def preflight_response(self, request_headers: Any) -> Response:
            response = super().preflight_response(request_headers)
            if response.status_code < 400:
                return response
            origin = request_headers.get("origin", "")
            reason = bytes(response.body).decode(errors="replace")
            message = f"CORS preflight refused for origin {origin!r}: {reason}"
            headers = {k: v for k, v in response.headers.items()
                       if k.lower() not in ("content-length", "content-type")}
            return json_response(error_body("forbidden", message), 403, headers)

    return JsonCors


def build_app(gateway: StoreGateway, *, cors_origins: tuple[str, ...] = (),
              limiter: LoginLimiter | None = None) -> Starlette:
    api = Api(gateway, limiter)
    g = guarded
    items = by_method(GET=api.get_item, POST=api.create_item, PATCH=api.update_item,
                      DELETE=api.delete_item)
    routes = [
        Route(f"{API}/items/{{path:path}}", items.endpoint, methods=list(items.methods)),
        Route(f"{API}/items", (top := by_method(GET=api.get_item, POST=api.create_item)).endpoint,
              methods=list(top.methods)),
        Route("/healthz", g(api.healthz), methods=["GET"]),
        Route("/readyz", g(api.readyz), methods=["GET"]),
        Route("/openapi.json", g(api.openapi), methods=["GET"]),
        Route(f"{API}/actions/{{path:path}}", g(api.action), methods=["POST"]),
        Route(f"{API}/delete", g(api.delete_many), methods=["POST"]),
        Route(f"{API}/content/{{path:path}}", (content := by_method(
            GET=api.get_content, PUT=api.put_content, POST=api.put_content)).endpoint,
              methods=list(content.methods)),
        Route(f"{API}/types", g(api.list_types), methods=["GET"]),
        Route(f"{API}/types/{{name}}", g(api.get_type), methods=["GET"]),
        Route(f"{API}/whoami", g(api.whoami), methods=["GET"]),
        Route(f"{API}/tokens", (tokens := by_method(GET=api.list_tokens, POST=api.create_token)).endpoint,
              methods=list(tokens.methods)),
        Route(f"{API}/tokens/{{name}}", g(api.revoke_token), methods=["DELETE"]),
        Route(f"{API}/login", g(api.login), methods=["POST"]),
    ]
    middleware = []
    if cors_origins:
        JsonCors = _cors_middleware()
        from starlette.middleware import Middleware

        middleware.append(Middleware(JsonCors, allow_origins=list(cors_origins),
                                     allow_methods=["GET", "POST", "PATCH", "DELETE"],
                                     allow_headers=["Authorization", "Content-Type", "If-Match",
                                                    "If-None-Match"],
                                     expose_headers=["ETag", "Location"]))
    app = Starlette(routes=routes, middleware=middleware,
                    exception_handlers={HTTPException: http_error, Exception: server_error})
    app.router.redirect_slashes = False  # a wrong URL gets a JSON 404, not a redirect
    return app
