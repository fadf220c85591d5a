"""The engine inside the current process, on a free loopback port, for one command.

``ai-music run`` and ``ai-music say`` use it when no cloud is configured: the same HTTP
protocol as the cloud, so the client code path is identical. The server runs in a
daemon thread with its own event loop; :func:`start` returns once it accepts
connections (polled, not slept for) and :meth:`Embedded.stop` shuts it down cleanly.
"""
from __future__ import annotations

import asyncio
import logging
import socket
import threading
import time
from dataclasses import dataclass

from engine.config import EngineConfig

STARTUP_TIMEOUT_S = 30.0


@dataclass
class Embedded:
    url: str
    server: object
    thread: threading.Thread

    def stop(self, timeout: float = 10.0) -> None:
        self.server.should_exit = True  # type: ignore[attr-defined]
        self.thread.join(timeout)

    def __enter__(self) -> "Embedded":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _log_to(config: EngineConfig) -> None:
    """The embedded engine logs to ``engine.log`` in its data dir, not into the user's chat."""
    logger = logging.getLogger("engine")
    if not any(isinstance(h, logging.FileHandler) for h in logger.handlers):
        config.data_dir.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(config.data_dir / "engine.log", encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        logger.addHandler(handler)
        logger.propagate = False


def start(config: EngineConfig | None = None) -> Embedded:
    """Start the engine and return its URL once it is ready."""
    import uvicorn

    from engine.server import create_app

    config = config or EngineConfig()
    _log_to(config)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((config.host, config.port))
        host, port = sock.getsockname()[:2]
        app = create_app(config)
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on", access_log=False,
                                               timeout_graceful_shutdown=2))

        def serve() -> None:
            asyncio.run(server.serve(sockets=[sock]))

        thread = threading.Thread(target=serve, name="ai-music-engine", daemon=True)
        thread.start()
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError("the local engine failed to start")
            if time.monotonic() > deadline:
                server.should_exit = True
                raise RuntimeError("the local engine did not start within 30 s")
            time.sleep(0.01)
    except BaseException:
        sock.close()  # the port is not left bound by an engine that never came up
        raise
    return Embedded(url=f"http://{host}:{port}", server=server, thread=thread)
