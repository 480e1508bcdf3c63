"""With mounts in the embedded store, the HTTP runner does store work on threads: a
mounted document that changed is parsed again, which may take seconds, and the event
loop must never wait for that."""

from __future__ import annotations

import asyncio
import threading

from realnet.config import load_settings
from realnet.runners.gateway import StoreGateway


def test_requests_move_off_the_loop_once_the_store_has_a_mount(context, tmp_path):
    document = tmp_path / "settings.yaml"
    document.write_text("database:\n  host: db\n")
    gateway = StoreGateway(load_settings())
    gateway.open()

    async def where_work_runs() -> tuple[str, str]:
        loop_thread = threading.current_thread().name
        worker = await gateway.run(None, lambda _context: threading.current_thread().name,
                                   principal="admin")
        return loop_thread, worker

    try:
        loop_thread, worker = asyncio.run(where_work_runs())
        assert worker == loop_thread  # no mounts: the embedded store answers on the loop
        context.create("/config", "YamlDocument", {"path": str(document)})
        asyncio.run(where_work_runs())  # this request reads the counters that say so
        loop_thread, worker = asyncio.run(where_work_runs())
        assert worker != loop_thread and worker.startswith("realnet-slow")
        host = asyncio.run(gateway.run(None, lambda c: c.get("/config/database").attributes["host"],
                                       principal="admin"))
        assert host == "db"
    finally:
        gateway.close()
