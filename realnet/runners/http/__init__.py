"""The HTTP runner: the REST API on an embedded uvicorn server, inside the caller's event loop."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import gc
import logging
import socket
import time
from typing import TYPE_CHECKING, Any

from realnet.core.errors import RealnetError
from realnet.runners.manager import Runner

if TYPE_CHECKING:
    from realnet.config import Settings


class HttpRunner(Runner):
    kind = "http"

    def __init__(self, settings: Settings, *, host: str | None = None, port: int | None = None) -> None:
        super().__init__()
        self.settings = settings
        self.host = host or settings.server_host
        self.port = settings.server_port if port is None else port
        self._socket: socket.socket | None = None
        self._server: Any = None
        self._gateway: Any = None
        for name in ("requests", "errors", "in_flight"):
            self.counters.values[name] = 0

    @property
    def address(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.address}"

    def answer_stats(self) -> dict[str, int]:
        """What the cache of answers to reads did so far (see ``realnet.runners.answers``)."""
        return self._gateway.answer_stats() if self._gateway is not None else {}

    def prepare(self) -> None:
        self._socket = bind(self.host, self.port)
        self.port = self._socket.getsockname()[1]
        try:
            self._build()
        except BaseException:
            self._socket.close()
            if self._gateway is not None:
                self._gateway.close()
            raise

    def _build(self) -> None:
        import uvicorn

        from realnet.runners.gateway import StoreGateway
        from realnet.runners.http.app import build_app

        self._gateway = StoreGateway(self.settings, cache_bytes=self.settings.server_cache_mb << 20)
        self._gateway.open()
        app = AccessLog(build_app(self._gateway, cors_origins=self.settings.server_cors_origins), self)
        # Forwarded headers only from the proxies named: believed from anyone (uvicorn's
        # default trusts 127.0.0.1), they let a client pick the address login limits count.
        proxies = self.settings.server_trusted_proxies
        config = uvicorn.Config(app, log_config=None, access_log=False, lifespan="off",
                                server_header=False, timeout_graceful_shutdown=10,
                                proxy_headers=bool(proxies), forwarded_allow_ips=list(proxies) or None)
        self._server = _EmbeddedServer(config)
        _route_logs(self)
        # What is loaded now lives as long as the server: keep the collector from rescanning it.
        gc.freeze()

    async def serve(self) -> None:
        try:
            await self._server.serve(sockets=[self._socket])
        finally:
            self._socket.close()
            await asyncio.get_running_loop().run_in_executor(None, self._gateway.close)

    def request_stop(self, deadline: float) -> None:
        if self._server is not None:
            self._server.config.timeout_graceful_shutdown = deadline
            self._server.should_exit = True


def bind(host: str, port: int) -> socket.socket:
    """The listening socket, or an error that names the address and why."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on sockets that say they are TCP,
    # and without it every keep-alive answer waits for the delayed ACK (~40 ms).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)
        sock.setblocking(False)
    except OSError as e:
        sock.close()
        reason = "address already in use" if e.errno == errno.EADDRINUSE else (e.strerror or str(e))
        raise RealnetError(f"http: cannot listen on {host}:{port} ({reason})") from None
    return sock


class _EmbeddedServer:
    """uvicorn's server, minus its signal handlers: whoever owns the loop handles signals."""

    def __new__(cls, config: Any) -> Any:
        import uvicorn

        class Server(uvicorn.Server):
            @contextlib.contextmanager
            def capture_signals(self):
                yield

        return Server(config)


class AccessLog:
    """Counts requests and writes one line per request to the runner's log buffer.
    Never logs headers or bodies: they carry tokens and passwords."""

    def __init__(self, app: Any, runner: HttpRunner) -> None:
        self.app = app
        self.runner = runner

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        counters = self.runner.counters.values
        counters["requests"] += 1
        counters["in_flight"] += 1
        start = time.perf_counter()
        status = 500

        async def send_and_note(message: dict) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            counters["in_flight"] -= 1
            if status >= 500:
                counters["errors"] += 1
            client = scope.get("client") or ("-", 0)
            elapsed = (time.perf_counter() - start) * 1000
            self.runner.log.write(f'{client[0]} "{scope["method"]} {scope["path"]}" {status} {elapsed:.1f}ms')


class _BufferHandler(logging.Handler):
    def __init__(self, runner: Runner) -> None:
        super().__init__(logging.INFO)
        self.runner = runner

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.exc_info and record.levelno >= logging.ERROR:
            text += "\n" + logging.Formatter().formatException(record.exc_info)
        self.runner.log.write(f"{record.levelname.lower()}: {text}")


def _route_logs(runner: Runner) -> None:
    """uvicorn's and the API's own messages go to the runner's buffer, not the terminal."""
    handler = _BufferHandler(runner)
    for name in ("realnet.http", "uvicorn.error"):
        logger = logging.getLogger(name)
        for old in [h for h in logger.handlers if isinstance(h, _BufferHandler)]:
            logger.removeHandler(old)
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
