"""``/api/v1/content/PATH``: file bytes over HTTP, streamed both ways.

An upload is pulled chunk by chunk from the request by the content store's writer,
which runs on a thread (the bytes may go to S3); the item names the new bytes only
once they are complete, so a client that disconnects mid-upload leaves nothing behind
but what ``storage gc`` removes. Downloads honour a single byte ``Range``; other units and
several ranges are ignored (the whole content, 200), as RFC 9110 §14.2 allows.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response, StreamingResponse

from realnet.core.errors import RealnetError
from realnet.runners.http import requests as rq
from realnet.runners.http.errors import ApiError

if TYPE_CHECKING:
    from realnet.core.context import Context
    from realnet.runners.http.app import Api

RANGE = re.compile(r"(\d*)-(\d*)")  # one range-spec, used with fullmatch
UNIT = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # an RFC 9110 token


class UploadAborted(RealnetError):
    code = "usage"


def _pull(request: Request, loop: asyncio.AbstractEventLoop) -> Iterator[bytes]:
    """The request body, chunk by chunk, read on the event loop for a writer on a thread."""
    stream = request.stream().__aiter__()

    async def following() -> bytes | None:
        try:
            return await stream.__anext__()
        except StopAsyncIteration:
            return None
        except ClientDisconnect:
            raise UploadAborted("upload: the client went away before the end; nothing was stored") from None

    while True:
        chunk = asyncio.run_coroutine_threadsafe(following(), loop).result()
        if chunk is None:
            return
        if chunk:
            yield chunk


def _byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """(start, end exclusive) for a single satisfiable byte range; None for the whole
    content: without a header, with a unit other than bytes (which RFC 9110 §14.2 says to
    ignore), or with several ranges (which a server may ignore: one answer, all bytes)."""
    if header is None:
        return None
    unit, equals, ranges = header.partition("=")
    unit = unit.strip()
    if equals and UNIT.fullmatch(unit) and unit.lower() != "bytes":
        return None
    specs = [spec.strip() for spec in ranges.split(",") if spec.strip()] if equals else []
    if len(specs) > 1:
        return None
    match = RANGE.fullmatch(specs[0]) if specs else None
    if not match or match.groups() == ("", ""):
        raise ApiError("usage", f"Range: expected bytes=START-END, got {header[:60]!r}")
    first, last = match.groups()
    if first == "":  # the last N bytes
        start, end = max(0, size - _number(last)), size
    else:
        start = _number(first)
        end = size if last == "" else min(size, _number(last) + 1)
    if start >= size or end <= start:
        raise ApiError("range_not_satisfiable", f"Range: {header} is outside the content ({size} bytes)",
                       status=416, headers={"Content-Range": f"bytes */{size}"})
    return start, end


def _number(digits: str) -> int:
    """A position of a Range: past any content when longer than 19 digits (Python refuses
    to convert thousands of digits, and no content is that large)."""
    return int(digits) if len(digits.lstrip("0")) <= 19 else 2**63


async def get_content(api: Api, request: Request) -> Response:
    path = rq.item_path(request, "/api/v1/content")
    rq.query(request, {})
    wanted = request.headers.get("range")

    def work(context: Context) -> tuple[Any, Iterator[bytes], tuple[int, int] | None]:
        from realnet.core.content import read_bytes, read_current

        def opened(item: Any) -> tuple[Iterator[bytes], tuple[int, int] | None]:
            span = _byte_range(wanted, int(item.attributes.get("size") or 0))
            start, end = span if span is not None else (0, None)
            return read_bytes(context, item, start, end), span

        # A replacement committing meanwhile: the range is taken again of the new bytes.
        item, (chunks, span) = read_current(context, path, opened)
        return item, chunks, span

    item, chunks, span = await api.run(request, work, on_thread=True)
    size = int(item.attributes.get("size") or 0)
    headers = {"ETag": rq.etag(item.version, item.id), "Accept-Ranges": "bytes"}
    if span is None:
        headers["Content-Length"] = str(size)
        status = 200
    else:
        headers["Content-Range"] = f"bytes {span[0]}-{span[1] - 1}/{size}"
        headers["Content-Length"] = str(span[1] - span[0])
        status = 206
    media = item.attributes.get("content_type") or "application/octet-stream"
    return StreamingResponse(chunks, status_code=status, media_type=media, headers=headers)


async def put_content(api: Api, request: Request) -> Response:
    path = rq.item_path(request, "/api/v1/content")
    params = rq.query(request, {"parents": "create missing folders"})
    parents = rq.flag_param(params, "parents")
    media = request.headers.get("content-type", "").split(";", 1)[0].strip() or None
    loop = asyncio.get_running_loop()

    def work(context: Context) -> Response:
        existed = context.provider.get_many([path]).get(path) is not None
        item = context.put_content(path, _pull(request, loop), content_type=media, parents=parents)
        from realnet.runners.http.app import dumps, item_data

        return Response(dumps(item_data(context, item)), status_code=200 if existed else 201,
                        media_type="application/json", headers={"ETag": rq.etag(item.version, item.id)})

    return await api.run(request, work, on_thread=True)
