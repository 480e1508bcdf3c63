"""Just enough of Kubernetes' protobuf encoding to read the SelfSubjectAccessReview that
`kubectl auth can-i` sends as protobuf (answers are JSON, which kubectl also accepts).
Other protobuf bodies are refused with 415."""

from __future__ import annotations

from .errors import ApiError

PROTOBUF = "application/vnd.kubernetes.protobuf"
MAGIC = b"k8s\x00"
# field numbers of authorization.k8s.io/v1 ResourceAttributes and NonResourceAttributes
RESOURCE_FIELDS = {1: "namespace", 2: "verb", 3: "group", 4: "version", 5: "resource",
                   6: "subresource", 7: "name"}
NON_RESOURCE_FIELDS = {1: "path", 2: "verb"}


def _varint(data: bytes, at: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, at


def fields(data: bytes) -> dict[int, bytes]:
    """The length-delimited fields of a message (the last of each number)."""
    out: dict[int, bytes] = {}
    at = 0
    while at < len(data):
        key, at = _varint(data, at)
        number, wire_type = key >> 3, key & 7
        if wire_type == 0:
            _, at = _varint(data, at)
        elif wire_type == 2:
            size, at = _varint(data, at)
            out[number] = data[at:at + size]
            at += size
        elif wire_type in (1, 5):
            at += 8 if wire_type == 1 else 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wire_type}")
    return out


def access_review_body(raw: bytes) -> dict:
    if not raw.startswith(MAGIC):
        raise ApiError.bad_request("the protobuf body lacks the k8s envelope")
    try:
        envelope = fields(raw[len(MAGIC):])
        spec = fields(fields(envelope.get(2, b"")).get(2, b""))
        body: dict = {"spec": {}}
        for number, key, names in ((1, "resourceAttributes", RESOURCE_FIELDS),
                                   (2, "nonResourceAttributes", NON_RESOURCE_FIELDS)):
            if number in spec:
                body["spec"][key] = {names[n]: v.decode() for n, v in fields(spec[number]).items()
                                     if n in names}
        return body
    except (ValueError, IndexError, UnicodeDecodeError) as e:
        raise ApiError.bad_request(f"cannot decode the protobuf body: {e}") from None


def refuse() -> ApiError:
    return ApiError(415, f"the fake API server does not read {PROTOBUF} bodies; send application/json")
