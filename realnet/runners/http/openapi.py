"""The OpenAPI 3.1 description of the API, served at ``/openapi.json``.

Kept beside the handlers it describes and checked against them by a schema-driven
fuzzer in the tests, so that a generic client can rely on it.
"""

from __future__ import annotations

from typing import Any

from realnet.core.item import ORDERS

API = "/api/v1"
#: A name the server always accepts: 1–63 characters (so at most 252 bytes of UTF-8; the
#: full rule is 1–255 bytes), no '/', no control characters, not '.' or '..'.
_CHAR = r"[^/\x00-\x1f\x7f]"
_FIRST = r"[^/.\x00-\x1f\x7f]"
NAME_PATTERN = rf"^({_FIRST}{_CHAR}{{0,62}}|\.{_FIRST}{_CHAR}{{0,61}}|\.\.{_CHAR}{{1,61}})$"
_SEGMENT = rf"({_FIRST}{_CHAR}*|\.{_FIRST}{_CHAR}*|\.\.{_CHAR}+)"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"description": description, "content": {"application/json": {"schema": schema}}}
    if headers:
        out["headers"] = headers
    return out


def _errors(*statuses: int) -> dict[str, Any]:
    return {str(s): {"$ref": f"#/components/responses/E{s}"} for s in statuses}


ETAG = {"ETag": {"description": "The item's version, for If-Match and If-None-Match",
                 "schema": {"type": "string"}}}
PATH_PARAM = {"name": "path", "in": "path", "required": True,
              "description": "Item path below the root, segments separated by '/'",
              "schema": {"type": "string", "pattern": rf"^{_SEGMENT}(/{_SEGMENT})*$"}}
COMMON = (400, 401, 404, 503)
#: Lifetimes the server accepts (it takes up to 100 years; this is a safe subset).
DURATION = {"type": "string", "pattern": r"^([1-9]\d{0,3}[mhd]|[1-9]\d{0,2}w)$"}


def _list_of(key: str, schema: str) -> dict[str, Any]:
    return {"type": "object", "required": [key],
            "properties": {key: {"type": "array", "items": _ref(schema)}}}


def _body(schema: str) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": _ref(schema)}}}


def _item_operations(with_path: bool) -> dict[str, Any]:
    params = [PATH_PARAM] if with_path else []
    children = [
        {"name": "children", "in": "query", "schema": {"type": "string", "enum": ["", "true"]},
         "description": "List the children instead of the item"},
        {"name": "order", "in": "query", "schema": {"type": "string", "enum": list(ORDERS)}},
        {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 1000}},
        {"name": "cursor", "in": "query", "schema": {"type": "string"}},
        {"name": "type", "in": "query", "schema": {"type": "string"},
         "description": "Only items of this type or its subtypes"},
        {"name": "name", "in": "query", "schema": {"type": "string"},
         "description": "Only names matching this glob (*, ?, [..])"},
        {"name": "find", "in": "query", "schema": {"type": "string", "enum": ["", "true"]},
         "description": "Search the whole subtree (with type, name, depth, limit, cursor)"},
        {"name": "depth", "in": "query", "schema": {"type": "integer", "minimum": 0, "maximum": 10000},
         "description": "With find: how many levels down (0: all)"},
        {"name": "count", "in": "query", "schema": {"type": "string", "enum": ["", "true"]},
         "description": "Count the visible items below instead"},
        {"name": "reveal", "in": "query", "schema": {"type": "boolean"},
         "description": "Decrypt secret attributes (needs write permission)"},
    ]
    ops: dict[str, Any] = {
        "get": {
            "operationId": "getItem" if with_path else "getRoot",
            "summary": "An item, or with ?children a page of its children",
            "parameters": params + children + [
                {"name": "If-None-Match", "in": "header", "schema": {"type": "string"}}],
            "responses": {
                "200": _json({"anyOf": [_ref("Item"), _ref("ItemPage"), _ref("Count")]},
                             "The item, a page of items, or a count", ETAG),
                "304": {"description": "Not modified"},
                **_errors(*COMMON, 403, 422),
            },
        },
        "post": {
            "operationId": "createItem" if with_path else "createAtRoot",
            "summary": "Create a child of this item",
            "parameters": params,
            "requestBody": _body("NewItem"),
            "responses": {
                "201": _json(_ref("Item"), "Created", {**ETAG, "Location": {"schema": {"type": "string"}}}),
                **_errors(*COMMON, 403, 409, 413, 415, 422),
            },
        },
    }
    if with_path:
        ops["patch"] = {
            "operationId": "updateItem",
            "summary": "Change attributes (If-Match makes it conditional on the ETag)",
            "parameters": [*params, {"name": "If-Match", "in": "header", "schema": {"type": "string"}}],
            "requestBody": _body("ItemChange"),
            "responses": {"200": _json(_ref("Item"), "Updated", ETAG),
                          **_errors(*COMMON, 403, 409, 412, 413, 415, 422)},
        }
        ops["delete"] = {
            "operationId": "deleteItem",
            "summary": "Delete the item (?recursive=true for a subtree)",
            "parameters": [*params, {"name": "recursive", "in": "query", "schema": {"type": "boolean"}},
                           {"name": "If-Match", "in": "header", "schema": {"type": "string"}}],
            "responses": {"200": _json({"type": "object", "required": ["removed"],
                                        "properties": {"removed": {"type": "integer"}}}, "Deleted"),
                          **_errors(*COMMON, 403, 409, 412, 422)},
        }
    return ops


def _content_operations() -> dict[str, Any]:
    binary = {"*/*": {"schema": {"type": "string", "format": "binary"}}}
    upload = {
        "summary": "Store the request body as the file's content (creating the File item); its "
                   "Content-Type becomes the file's content type (any type is taken)",
        "parameters": [PATH_PARAM, {"name": "parents", "in": "query", "schema": {"type": "boolean"}}],
        "requestBody": {"required": True, "content": {
            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}},
        "responses": {"200": _json(_ref("Item"), "Content replaced", ETAG),
                      "201": _json(_ref("Item"), "File created", ETAG),
                      **_errors(*COMMON, 403, 409, 422)},
    }
    return {
        "get": {
            "operationId": "getContent",
            "summary": "The file's bytes (a single Range is honoured)",
            "parameters": [PATH_PARAM, {"name": "Range", "in": "header", "schema": {"type": "string"}}],
            "responses": {"200": {"description": "The bytes", "content": binary, "headers": ETAG},
                          "206": {"description": "The requested range", "content": binary},
                          "416": {"$ref": "#/components/responses/E416"},
                          **_errors(*COMMON, 403, 422)},
        },
        "put": {"operationId": "putContent", **upload},
        "post": {"operationId": "postContent", **upload},
    }


def document(version: str) -> dict[str, Any]:
    string = {"type": "string"}
    schemas: dict[str, Any] = {
        "Item": {"type": "object", "required": ["path", "name", "type", "id", "owner", "version",
                                                "created", "updated", "attributes"],
                 "properties": {"path": string, "name": string, "type": string, "id": string,
                                "parent_id": {"type": ["string", "null"]},
                                "owner": string, "version": {"type": "integer"}, "created": string,
                                "updated": string, "attributes": {"type": "object"}}},
        "ItemPage": {"type": "object", "required": ["items", "next_cursor"],
                     "properties": {"items": {"type": "array", "items": _ref("Item")},
                                    "next_cursor": {"type": ["string", "null"]}}},
        "NewItem": {"type": "object", "required": ["name", "type"], "additionalProperties": False,
                    "properties": {"name": {"type": "string", "pattern": NAME_PATTERN},
                                   "type": string, "attributes": {"type": "object"},
                                   "parents": {"type": "boolean"}, "from_text": {"type": "boolean"}}},
        "ItemChange": {"type": "object", "additionalProperties": False,
                       "properties": {"attributes": {"type": "object"},
                                      "unset": {"type": "array", "items": string},
                                      "version": {"type": "integer",
                                                  "description": "Fail with 409 unless at this version"},
                                      "from_text": {"type": "boolean",
                                                    "description": "Values are text, converted by kind"}}},
        "Count": {"type": "object", "required": ["count"], "properties": {"count": {"type": "integer"}}},
        "Relocation": {"type": "object", "required": ["target"], "additionalProperties": False,
                       "properties": {"target": {"type": "string", "pattern": "^/"},
                                      "parents": {"type": "boolean"}}},
        "Type": {"type": "object", "required": ["name"], "properties": {"name": string},
                 "additionalProperties": True},
        "Whoami": {"type": "object", "required": ["principal", "groups", "admin", "authenticated"],
                   "properties": {"principal": string, "groups": {"type": "array", "items": string},
                                  "admin": {"type": "boolean"}, "authenticated": {"type": "boolean"}}},
        "TokenInfo": {"type": "object", "required": ["name", "created", "expires", "last_used", "revoked"],
                      "properties": {"name": string, "created": string,
                                     "expires": {"type": ["string", "null"]},
                                     "last_used": {"type": ["string", "null"]},
                                     "revoked": {"type": "boolean"}}},
        "IssuedToken": {"type": "object", "required": ["account", "name", "token", "expires"],
                        "properties": {"account": string, "name": string, "token": string,
                                       "expires": {"type": ["string", "null"]}}},
        "NewToken": {"type": "object", "required": ["name"], "additionalProperties": False,
                     "properties": {"name": string, "expires": DURATION}},
        "Login": {"type": "object", "required": ["user", "password"], "additionalProperties": False,
                  "properties": {"user": string, "password": string, "name": string,
                                 "expires": DURATION}},
        "Status": {"type": "object", "required": ["status"],
                   "properties": {"status": string, "error": string}},
        "Error": {"type": "object", "required": ["error"],
                  "properties": {"error": {"type": "object", "required": ["code", "message"],
                                           "properties": {"code": string, "message": string}}}},
    }
    reasons = {400: "Bad request", 401: "Missing or invalid token", 403: "Not permitted",
               404: "Not found", 405: "Method not allowed", 409: "Conflict",
               412: "ETag does not match", 413: "Body too large", 415: "Unsupported media type",
               416: "Range outside the content",
               422: "Invalid content", 429: "Too many attempts", 500: "Internal error",
               503: "Unavailable"}
    responses = {f"E{code}": _json(_ref("Error"), text) for code, text in reasons.items()}
    name_param = {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}
    api_paths: dict[str, Any] = {
        "/healthz": {"get": {"operationId": "healthz", "summary": "The process is alive", "security": [],
                             "responses": {"200": _json(_ref("Status"), "Alive")}}},
        "/readyz": {"get": {"operationId": "readyz", "summary": "The store answers", "security": [],
                            "responses": {"200": _json(_ref("Status"), "Ready"),
                                          "503": _json(_ref("Status"), "Store unavailable")}}},
        "/openapi.json": {"get": {"operationId": "openapi", "summary": "This document", "security": [],
                                  "responses": {"200": _json({"type": "object"}, "OpenAPI document")}}},
        f"{API}/items": _item_operations(False),
        f"{API}/items/{{path}}": _item_operations(True),
        f"{API}/actions/{{path}}": {"post": {
            "operationId": "runAction",
            "summary": "Run an action; the last path segment names it (move, copy)",
            "parameters": [PATH_PARAM],
            "requestBody": _body("Relocation"),
            "responses": {"200": _json(_ref("Item"), "Moved", ETAG),
                          "201": _json(_ref("Item"), "Copied", ETAG),
                          **_errors(*COMMON, 403, 409, 413, 415, 422)}}},
        f"{API}/content/{{path}}": _content_operations(),
        f"{API}/types": {"get": {"operationId": "listTypes", "summary": "Every type",
                                 "responses": {"200": _json(_list_of("types", "Type"), "The types"),
                                               **_errors(*COMMON)}}},
        f"{API}/types/{{name}}": {"get": {"operationId": "getType", "summary": "One type",
                                          "parameters": [name_param],
                                          "responses": {"200": _json(_ref("Type"), "The type"),
                                                        **_errors(*COMMON)}}},
        f"{API}/whoami": {"get": {"operationId": "whoami", "summary": "Who the caller is",
                                  "responses": {"200": _json(_ref("Whoami"), "The caller"),
                                                **_errors(*COMMON)}}},
        f"{API}/tokens": {
            "get": {"operationId": "listTokens", "summary": "The caller's tokens",
                    "responses": {"200": _json(_list_of("tokens", "TokenInfo"), "Tokens"),
                                  **_errors(*COMMON, 403)}},
            "post": {"operationId": "createToken", "summary": "A new token for the caller (shown once)",
                     "requestBody": {"required": True,
                                     "content": {"application/json": {"schema": _ref("NewToken")}}},
                     "responses": {"201": _json(_ref("IssuedToken"), "Issued"),
                                   **_errors(*COMMON, 403, 409, 413, 415, 422)}}},
        f"{API}/tokens/{{name}}": {"delete": {
            "operationId": "revokeToken", "summary": "Revoke one of the caller's tokens",
            "parameters": [name_param],
            "responses": {"204": {"description": "Revoked"}, **_errors(*COMMON, 403, 422)}}},
        f"{API}/delete": {"post": {
            "operationId": "deleteItems",
            "summary": "Delete several items in one transaction: all of them or, if one is refused, none",
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["paths"], "additionalProperties": False,
                "properties": {
                    "paths": {"type": "array", "minItems": 1, "maxItems": 1000,
                              "items": {"type": "string", "pattern": r"^/"}},
                    "recursive": {"type": "boolean", "description": "Delete the subtrees too"}}}}}},
            "responses": {"200": _json({"type": "object", "required": ["removed"],
                                        "properties": {"removed": {"type": "integer"}}}, "Deleted"),
                          **_errors(*COMMON, 403, 409, 413, 415, 422)}}},
        f"{API}/login": {"post": {
            "operationId": "login", "summary": "Exchange user name and password for a token", "security": [],
            "requestBody": _body("Login"),
            "responses": {"201": _json(_ref("IssuedToken"), "Issued"),
                          **_errors(400, 401, 404, 409, 413, 415, 422, 429, 503)}}},
    }
    for methods in api_paths.values():
        for operation in methods.values():
            operation["responses"].setdefault("500", {"$ref": "#/components/responses/E500"})
            operation["responses"].setdefault("405", {"$ref": "#/components/responses/E405"})
    return {
        "openapi": "3.1.0",
        "info": {"title": "Realnet API", "version": version,
                 "description": "A typed tree of resources. Paths name items; ETags carry versions."},
        "paths": api_paths,
        "components": {
            "schemas": schemas,
            "responses": responses,
            "securitySchemes": {"bearer": {
                "type": "http", "scheme": "bearer",
                "description": "An API token (realnet token create, or POST /api/v1/login)"}},
        },
        "security": [{"bearer": []}, {}],
    }
