"""The baseline server of ``http_bench.py``: one Starlette route answering every
``GET /api/v1/items/…`` with the same bytes, served by uvicorn the way ``realnet server``
is served (1 worker, 127.0.0.1, no access log, ``log_config=None``).

    python bench/_bare_app.py BODY_FILE PORT
    python bench/_bare_app.py --sqlite DB_FILE PORT

With ``--sqlite`` it is the floor of the data path instead: the same route reads the
item or the page straight from the SQLite file with raw ``sqlite3`` (one query, no
token, no permission check) and encodes it as the API would — what any server of this
data must at least do.
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


COLUMNS = "id, parent_id, path, type, owner, attributes, version, created, updated"


def build_sqlite(db_file: str) -> Starlette:
    """An app answering items and pages of children with one raw sqlite3 query each."""
    import json
    import sqlite3

    import orjson

    conn = sqlite3.connect(db_file, check_same_thread=False)

    def as_dict(row: tuple) -> dict:
        return {"path": row[2], "name": row[2].rsplit("/", 1)[-1], "type": row[3], "id": row[0],
                "parent_id": row[1], "owner": row[4], "version": row[6], "created": row[7],
                "updated": row[8], "attributes": json.loads(row[5])}

    async def item_or_page(request: Request) -> Response:
        path = "/" + request.path_params["path"]
        if "children" in request.query_params:
            rows = conn.execute(
                f"SELECT {COLUMNS} FROM items WHERE parent_id = (SELECT id FROM items WHERE path = ?) "  # noqa: S608
                "ORDER BY name LIMIT 101", (path,)).fetchall()
            more = "x" if len(rows) > 100 else None
            page = {"items": [as_dict(r) for r in rows[:100]], "next_cursor": more}
            return Response(orjson.dumps(page), media_type="application/json")
        row = conn.execute(f"SELECT {COLUMNS} FROM items WHERE path = ?", (path,)).fetchone()  # noqa: S608
        return Response(orjson.dumps(as_dict(row)), media_type="application/json")

    return Starlette(routes=[Route("/api/v1/items/{path:path}", item_or_page, methods=["GET"])])


def main(argv: Sequence[str]) -> int:
    if len(argv) == 3 and argv[0] == "--sqlite":
        app = build_sqlite(argv[1])
    elif len(argv) == 2:
        app = build(Path(argv[0]).read_bytes())
    else:
        print(__doc__.strip().splitlines()[-1].strip(), file=sys.stderr)
        return 2
    config = uvicorn.Config(app, host="127.0.0.1", port=int(argv[-1]), workers=1,
                            log_config=None, access_log=False)
    uvicorn.Server(config).run()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
