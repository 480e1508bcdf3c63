"""The API against its own OpenAPI document: schemathesis generates requests from the
live /openapi.json and checks that no answer is a server error and that every answer —
status, content type, body — is one the document describes.

Bounded: 20 derandomized examples per operation, on one server for the module; the
login rate limit it runs into is a documented answer (429). A second run narrows the
document's NewItem.type to real types and NewToken.name to valid token names, so that
creating items and tokens succeeds and the fuzz gets past "unknown type" and "bad name";
everything else in the document is as served.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from realnet.app import open_context
from realnet.config import load_settings
from realnet.resources.accounts import Directory

CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance, content_type_conformance]
EXAMPLES = 20
TOKEN: dict[str, str] = {}


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[str]:
    """One server for the module, over a store with a few items for the fuzz to find."""
    from liveserver import live_server

    home = tmp_path_factory.mktemp("schema") / "home"
    server_settings = load_settings({"REALNET_HOME": str(home)})
    context = open_context(server_settings)
    try:
        TOKEN["admin"] = Directory(context).create_token("admin", "fuzz", expires=None).token
        context.create("/docs", "Folder")
        context.create("/docs/a", "Document", {"title": "A"})
        context.create("/a", "Folder")
    finally:
        context.provider.close()
    with live_server(server_settings) as server:
        yield server.url


def auth() -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKEN['admin']}"}


@pytest.fixture
def served_schema(served):
    return schemathesis.openapi.from_url(f"{served}/openapi.json")


@pytest.fixture
def narrowed_schema(served):
    document = httpx.get(f"{served}/openapi.json", timeout=30).json()
    new_item = document["components"]["schemas"]["NewItem"]["properties"]
    new_item["type"] = {"type": "string", "enum": ["Folder", "Document", "TextInput"]}
    new_item.pop("attributes")  # a Document needs a title; a Folder or TextInput needs nothing
    # Token names as the server takes them, so that creating tokens gets as far as "expires".
    document["components"]["schemas"]["NewToken"]["properties"]["name"] = {
        "type": "string", "pattern": r"^[a-z][a-z0-9]{0,15}$"}
    schema = schemathesis.openapi.from_dict(document)
    schema.config.update(base_url=served)
    schema.config.generation.update(modes=[GenerationMode.POSITIVE])
    return schema


BOUNDED = settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
                   suppress_health_check=list(HealthCheck))


def fuzz(schema) -> None:
    """Every operation of ``schema``, with hypothesis driving schemathesis's strategies
    directly (not its pytest plugin, which follows pytest's internals too closely)."""
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert operations, "the document has no operations"
    for operation in operations:

        @BOUNDED
        @given(case=operation.as_strategy())
        def call(case) -> None:
            case.call_and_validate(headers=auth(), checks=CHECKS)

        try:
            call()
        except Exception as e:  # collect every operation's failure, then report them all
            failures.append(f"{operation.label}: {type(e).__name__}: {str(e)[:2000]}")
    assert not failures, "\n\n".join(failures)


def test_api_conforms_to_its_schema(served_schema):
    fuzz(served_schema)


def test_api_conforms_with_creatable_types(narrowed_schema):
    fuzz(narrowed_schema)


# -- the document and the routes --------------------------------------------------------


def test_every_route_is_documented_and_every_documented_route_exists(served):
    from starlette.routing import Route

    from realnet.runners.http.app import build_app

    app = build_app(None)  # type: ignore[arg-type]  # the routes only; no request is served
    routed: set[tuple[str, str]] = set()
    for route in app.routes:
        assert isinstance(route, Route)
        path = route.path.replace("{path:path}", "{path}")
        routed |= {(m.lower(), path) for m in route.methods or () if m != "HEAD"}
    document = httpx.get(f"{served}/openapi.json", timeout=30).json()
    documented = {(method, path) for path, ops in document["paths"].items() for method in ops}
    assert routed == documented


def test_the_document_names_every_operation_once(served):
    document = httpx.get(f"{served}/openapi.json", timeout=30).json()
    ids = [op["operationId"] for ops in document["paths"].values() for op in ops.values()]
    assert len(ids) == len(set(ids))
    assert document["openapi"] == "3.1.0"


# -- what the document allows, the server accepts ------------------------------------------


def schema_pattern(served: str, *keys: str) -> str:
    node = httpx.get(f"{served}/openapi.json", timeout=30).json()["components"]["schemas"]
    for key in keys:
        node = node[key]
    return node["pattern"]


@pytest.mark.parametrize("name", [".", "..", "日" * 100, "a/b", "tab\there", "x" * 256],
                         ids=["dot", "dotdot", "100-chars-300-bytes", "slash", "tab", "256-chars"])
def test_item_names_the_server_refuses_are_outside_the_schema(served, name):
    pattern = schema_pattern(served, "NewItem", "properties", "name")
    assert not re.search(pattern, name), f"NewItem.name allows {name!r}, which the server refuses"
    with httpx.Client(base_url=served, headers=auth(), timeout=30) as c:
        assert c.post("/api/v1/items/a", json={"name": name, "type": "Folder"}).status_code == 422


@pytest.mark.parametrize("name", [".hidden", "semi;colon", "..x", "日" * 63, "x" * 63, "a b"],
                         ids=["dot-hidden", "semicolon", "dotdot-prefix", "63-wide-chars", "63-chars",
                              "space"])
def test_item_names_the_schema_allows_are_accepted(served, name):
    pattern = schema_pattern(served, "NewItem", "properties", "name")
    assert re.search(pattern, name), "the example must match NewItem.name's pattern"
    with httpx.Client(base_url=served, headers=auth(), timeout=30) as c:
        r = c.post("/api/v1/items/a", json={"name": name, "type": "Folder"})
        assert r.status_code == 201, f"NewItem.name allows {name!r}; the server answered {r.status_code} {r.text}"


@pytest.mark.parametrize("expires", ["0m", "0d", "forever", "1y", "99999999999w"])
def test_durations_the_server_refuses_are_outside_the_schema(served, expires):
    pattern = schema_pattern(served, "NewToken", "properties", "expires")
    assert not re.search(pattern, expires), f"NewToken.expires allows {expires!r}, which the server refuses"
    with httpx.Client(base_url=served, headers=auth(), timeout=30) as c:
        r = c.post("/api/v1/tokens", json={"name": "refused", "expires": expires})
        assert r.status_code == 422, r.text


@pytest.mark.parametrize("expires", ["1m", "9999m", "9999h", "9999d", "999w"])
def test_durations_the_schema_allows_are_accepted(served, expires):
    pattern = schema_pattern(served, "NewToken", "properties", "expires")
    assert re.search(pattern, expires), "the example must match NewToken.expires's pattern"
    with httpx.Client(base_url=served, headers=auth(), timeout=30) as c:
        r = c.post("/api/v1/tokens", json={"name": f"d-{expires}", "expires": expires})
        assert r.status_code == 201, f"NewToken.expires allows {expires!r}; the server answered {r.text}"


def test_paths_the_server_serves_match_the_path_pattern(served):
    """Items whose names start with a dot exist and are served; the document's path
    pattern must not exclude them."""
    with httpx.Client(base_url=served, headers=auth(), timeout=30) as c:
        r = c.post("/api/v1/items/a", json={"name": ".dotted", "type": "Folder"})
        assert r.status_code in (201, 409), r.text
        assert c.get("/api/v1/items/a/.dotted").status_code == 200
    document = httpx.get(f"{served}/openapi.json", timeout=30).json()
    pattern = next(p for p in document["paths"]["/api/v1/items/{path}"]["get"]["parameters"]
                   if p["name"] == "path")["schema"]["pattern"]
    assert re.search(pattern, "a/.dotted"), f"path pattern {pattern} excludes a/.dotted"
