"""The engine inside the current process, on a free loopback port, for one command.

``ai-music run`` and ``ai-music say`` use it when no cloud is configured: the same HTTP
protocol as the cloud, so the client code path is identical. The server runs in a
daemon thread with its own event loop; :func:`start` returns once it accepts
connections (polled, not slept for) and :meth:`Embedded.stop` shuts it down cleanly.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from logging.handlers import RotatingFileHandler
import threading
import time
from dataclasses import dataclass

from engine.config import EngineConfig
from engine.api.connection_limits import uvicorn_options
from engine.api.listener import listening_socket, shown_host

STARTUP_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 300.0  # a stop waits for running work (a composition, an analysis); this only bounds a hang
log = logging.getLogger("engine")


@dataclass
class Embedded:
    url: str
    server: object
    thread: threading.Thread
    log_handler: logging.Handler | None = None

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> None:
        """Stop the server and wait until every task of the engine has ended.

        Callers remove the data dir right after (tests, the harness); a thread still
        writing into it then is how "Directory not empty" happened."""
        self.server.should_exit = True  # type: ignore[attr-defined]
        wake = getattr(self.server, "wake", None)
        if wake is not None:
            wake()
        self.thread.join(timeout)
        if self.thread.is_alive():
            log.warning("the engine did not stop within %.0f s", timeout)
        if self.log_handler is not None:
            log.removeHandler(self.log_handler)
            self.log_handler.close()
            self.log_handler = None

    def __enter__(self) -> "Embedded":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _log_to(config: EngineConfig) -> logging.Handler:
    """The embedded engine logs to ``engine.log`` in its data dir, not into the user's chat."""
    config.data_dir.mkdir(parents=True, exist_ok=True)
    # bounded: 1 MB and one older file, however long the engine has been used
    handler = RotatingFileHandler(config.data_dir / "engine.log", maxBytes=1 << 20, backupCount=1, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False
    return handler


def _server_class(base: type) -> type:
    """uvicorn's server, told to stop at once rather than at its next 0.1 s check of ``should_exit``
    (uvicorn imported by the caller: it is not needed until an engine starts)."""

    class Server(base):  # type: ignore[misc, valid-type]
        _loop: asyncio.AbstractEventLoop | None = None
        _woken: asyncio.Event | None = None

        async def main_loop(self) -> None:
            """uvicorn's loop (a tick every 0.1 s: the Date header, ``should_exit``), but the wait
            between ticks ends as soon as :meth:`wake` is called."""
            self._woken = asyncio.Event()
            self._loop = asyncio.get_running_loop()
            counter = 0
            while not await self.on_tick(counter):
                counter = (counter + 1) % 864000
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._woken.wait(), 0.1)

        async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
            """uvicorn's shutdown without its fixed 0.1 s sleep and 0.1 s polls: close the listeners,
            ask open connections to finish, wait (polled every 5 ms, bounded by the graceful timeout)
            until they and their tasks are gone, then the app's own shutdown (``Engine.stop``)."""
            for listener in self.servers:
                listener.close()
            for sock in sockets or []:
                sock.close()
            state = self.server_state
            for connection in list(state.connections):
                connection.shutdown()
            try:
                async with asyncio.timeout(self.config.timeout_graceful_shutdown):
                    while (state.connections or state.tasks) and not self.force_exit:
                        await asyncio.sleep(0.005)
                    for listener in self.servers:
                        await listener.wait_closed()
            except TimeoutError:
                log.warning("cancelling %d request(s) still running at shutdown", len(state.tasks))
                for task in state.tasks:
                    task.cancel()
            if not self.force_exit:
                await self.lifespan.shutdown()

        def wake(self) -> None:
            """From any thread, after setting ``should_exit``: end the current wait now."""
            loop, woken = self._loop, self._woken
            if loop is not None and woken is not None:
                with contextlib.suppress(RuntimeError):  # the loop has already closed
                    loop.call_soon_threadsafe(woken.set)

    return Server


def start(config: EngineConfig | None = None) -> Embedded:
    """Start the engine and return its URL once it is ready."""
    import uvicorn

    from engine.app import create_app

    config = config or EngineConfig()
    handler = _log_to(config)
    sock: socket.socket | None = None
    try:
        sock = listening_socket(config.host, config.port)
        host, port = sock.getsockname()[:2]
        app = create_app(config)
        server = _server_class(uvicorn.Server)(uvicorn.Config(app, log_level="warning", lifespan="on", access_log=False,
                                               timeout_graceful_shutdown=2,
                                               **uvicorn_options(config.header_timeout_s)))

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
        if sock is not None:
            sock.close()  # the port is not left bound by an engine that never came up
        log.removeHandler(handler)
        handler.close()
        raise
    return Embedded(url=f"http://{shown_host(host)}:{port}", server=server, thread=thread, log_handler=handler)
