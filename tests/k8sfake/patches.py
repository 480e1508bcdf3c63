"""PATCH bodies: JSON merge patch, strategic merge patch (a merge patch that also merges lists
of named items and drops `$` directives) and JSON patch (RFC 6902)."""

from __future__ import annotations

import copy

from .errors import ApiError

MERGE = "application/merge-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"
JSON_PATCH = "application/json-patch+json"
APPLY = "application/apply-patch+yaml"


def merge_patch(target: object, patch: object) -> object:
    """RFC 7386."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _named(items: object) -> bool:
    return isinstance(items, list) and bool(items) and all(
        isinstance(i, dict) and "name" in i for i in items)


def strategic_merge_patch(target: object, patch: object) -> object:
    """Close enough to Kubernetes' strategic merge for the built-in kinds: lists of objects
    with a `name` (containers, env, volumes, ports) merge by name; `$patch: delete` removes an
    item; other `$` directives (`$setElementOrder`, `$retainKeys`) are ignored."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if patch.get("$patch") == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if not k.startswith("$")}
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if key.startswith("$"):
            continue
        if value is None:
            result.pop(key, None)
        elif isinstance(value, list) and _named(value) and _named(result.get(key)):
            merged = {item["name"]: item for item in result[key]}
            order = [item["name"] for item in result[key]]
            for item in value:
                name = item["name"]
                if item.get("$patch") == "delete":
                    merged.pop(name, None)
                    continue
                if name not in merged:
                    order.append(name)
                merged[name] = strategic_merge_patch(merged.get(name), item)
            result[key] = [merged[n] for n in order if n in merged]
        elif isinstance(value, dict):
            result[key] = strategic_merge_patch(result.get(key), value)
        else:
            result[key] = copy.deepcopy(value)
    return result


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise ApiError(422, f"the JSON pointer {path!r} does not start with '/'")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _walk(doc: object, parts: list[str]) -> object:
    for part in parts:
        if isinstance(doc, list):
            doc = doc[int(part)]
        elif isinstance(doc, dict):
            doc = doc[part]
        else:
            raise KeyError(part)
    return doc


def json_patch(target: object, ops: object) -> object:
    if not isinstance(ops, list):
        raise ApiError.bad_request("a JSON patch must be a list of operations")
    doc = copy.deepcopy(target)
    try:
        for op in ops:
            parts = _pointer(op["path"])
            kind = op["op"]
            if kind == "test":
                if _walk(doc, parts) != op["value"]:
                    raise ApiError(422, f"the test of {op['path']} failed")
                continue
            if kind in ("move", "copy"):
                value = copy.deepcopy(_walk(doc, _pointer(op["from"])))
                if kind == "move":
                    doc = _remove(doc, _pointer(op["from"]))
                doc = _add(doc, parts, value, replace=False)
            elif kind == "remove":
                doc = _remove(doc, parts)
            elif kind in ("add", "replace"):
                if kind == "replace":
                    _walk(doc, parts)  # must exist
                doc = _add(doc, parts, copy.deepcopy(op["value"]), replace=kind == "replace")
            else:
                raise ApiError(422, f"unknown JSON patch operation {kind!r}")
    except (KeyError, IndexError, ValueError, TypeError) as e:
        raise ApiError(422, f"the JSON patch cannot be applied: {e!r}") from None
    return doc


def _add(doc: object, parts: list[str], value: object, *, replace: bool) -> object:
    if not parts:
        return value
    parent = _walk(doc, parts[:-1])
    last = parts[-1]
    if isinstance(parent, list):
        if last == "-":
            parent.append(value)
        elif replace:
            parent[int(last)] = value
        else:
            parent.insert(int(last), value)
    elif isinstance(parent, dict):
        parent[last] = value
    else:
        raise KeyError(last)
    return doc


def _remove(doc: object, parts: list[str]) -> object:
    parent = _walk(doc, parts[:-1])
    last = parts[-1]
    if isinstance(parent, list):
        del parent[int(last)]
    else:
        del parent[last]  # type: ignore[union-attr]
    return doc


def apply_patch(content_type: str, target: dict, body: object, *, custom: bool) -> dict:
    kind = content_type.split(";")[0].strip().lower()
    if kind == MERGE:
        result = merge_patch(target, body)
    elif kind == STRATEGIC:
        if custom:
            raise ApiError(415, "strategic merge patch is not supported for custom resources; "
                                "use a merge patch or a JSON patch")
        result = strategic_merge_patch(target, body)
    elif kind == JSON_PATCH:
        result = json_patch(target, body)
    else:
        raise ApiError(415, f'the body of the request was in an unknown format - accepted media types '
                            f'include: {JSON_PATCH}, {MERGE}, {STRATEGIC} (not {kind!r}: server-side '
                            "apply is not supported by this fake)")
    if not isinstance(result, dict):
        raise ApiError(422, "the patch does not leave an object")
    return result
