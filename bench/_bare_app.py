"""The baseline server of ``http_bench.py``: one Starlette route answering every
``GET /api/v1/items/…`` with the same bytes, served by uvicorn the way ``realnet server``
is served (1 worker, 127.0.0.1, no access log, ``log_config=None``).

    python bench/_bare_app.py BODY_FILE PORT
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


def build(body: bytes) -> Starlette:
    """An app with one route returning ``body`` as JSON, whatever the path and query."""

    async def constant(request: Request) -> Response:
        return Response(body, media_type="application/json")

    return Starlette(routes=[Route("/api/v1/items/{path:path}", constant, methods=["GET"])])


def main(argv: Sequence[str]) -> int:
    if len(argv) != 2:
        print(__doc__.strip().splitlines()[-1].strip(), file=sys.stderr)
        return 2
    body = Path(argv[0]).read_bytes()
    config = uvicorn.Config(build(body), host="127.0.0.1", port=int(argv[1]), workers=1,
                            log_config=None, access_log=False)
    uvicorn.Server(config).run()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
