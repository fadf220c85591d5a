"""Bounds on what one connection may hold: header time, idle keep-alive, stalled bodies, count.

500 uploads that stopped sending held 1000 file descriptors and 500 temp files for as long
as their clients liked: uvicorn has a keep-alive timeout but none for headers, and nothing
bounds a body that stops arriving. Here a connection must finish its request headers
within ``header_timeout_s`` (a subclass of uvicorn's h11 protocol closes it otherwise), a
body that sends nothing for ``idle_s`` is abandoned (:func:`idle_limited`; the upload's
temp file goes with it), idle keep-alive connections close after 5 s, and past
``MAX_CONNECTIONS`` new ones get 503. ``.incoming-*`` files a crash left are removed at
start-up (:func:`remove_stale_incoming`). Work done for a request outlives its client
unless told otherwise — a URL upload kept downloading after its client left — so such
work runs :func:`until_disconnected`.
"""
from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path
from typing import Any, AsyncIterator, Awaitable, TypeVar

from starlette.types import Receive

from uvicorn.protocols.http.h11_impl import H11Protocol

KEEP_ALIVE_S = 5
MAX_CONNECTIONS = 200
T = TypeVar("T")


class BodyStalled(TimeoutError):
    """The client stopped sending its request body (an OSError, so upload clean-up paths catch it)."""


def header_timeout_protocol(header_timeout_s: float) -> type[H11Protocol]:
    """uvicorn's h11 protocol, closing connections whose request headers do not complete in time."""

    class HeaderTimeoutH11(H11Protocol):
        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._header_timer: asyncio.TimerHandle | None = None
            self._arm()

        def data_received(self, data: bytes) -> None:
            if self._header_timer is None and self._between_requests():
                self._arm()
            super().data_received(data)

        def connection_lost(self, exc: Exception | None) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
            super().connection_lost(exc)

        def _between_requests(self) -> bool:
            return self.cycle is None or self.cycle.response_complete

        def _arm(self) -> None:
            self._header_timer = self.loop.call_later(header_timeout_s, self._expire, self.cycle)

        def _expire(self, cycle_then: Any) -> None:
            self._header_timer = None
            if self.cycle is cycle_then and self._between_requests() and not self.transport.is_closing():
                self.transport.close()  # no complete request head in time

    return HeaderTimeoutH11


def uvicorn_options(header_timeout_s: float) -> dict[str, Any]:
    """Keyword arguments for ``uvicorn.Config`` (``ai-music serve`` and the embedded engine alike)."""
    return {"http": header_timeout_protocol(header_timeout_s), "timeout_keep_alive": KEEP_ALIVE_S,
            "limit_concurrency": MAX_CONNECTIONS}


async def idle_limited(body: AsyncIterator[bytes], idle_s: float) -> AsyncIterator[bytes]:
    """``body``'s chunks, raising :class:`BodyStalled` when none arrives for ``idle_s``."""
    iterator = body.__aiter__()
    while True:
        try:
            chunk = await asyncio.wait_for(iterator.__anext__(), idle_s)
        except StopAsyncIteration:
            return
        except asyncio.TimeoutError:
            raise BodyStalled(f"the upload stalled: nothing arrived for {idle_s:g} s") from None
        yield chunk


class ClientGone(Exception):
    """The client closed its connection while the engine worked for it: nobody is left to answer."""


async def until_disconnected(receive: Receive, work: Awaitable[T]) -> T:
    """``work``'s result, unless the client disconnects first: then ``work`` is cancelled (its
    own clean-up removes what it wrote) and :class:`ClientGone` is raised.

    Only for a request whose body has been read: the server's next message is then
    ``http.disconnect``, sent the moment the connection closes (uvicorn does not cancel a
    handler on its own)."""
    job = asyncio.ensure_future(work)

    async def gone() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass

    watcher = asyncio.ensure_future(gone())
    try:
        await asyncio.wait({job, watcher}, return_when=asyncio.FIRST_COMPLETED)
    except BaseException:  # the handler itself is cancelled (the engine stops): so is the work
        job.cancel()
        raise
    finally:
        watcher.cancel()
    if job.done():
        return job.result()
    job.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await job  # its clean-up runs to the end before we answer (to nobody)
    raise ClientGone


def remove_stale_incoming(sessions: Path, older_than_s: float) -> int:
    """Remove upload temp files (``.incoming-*``) a crashed engine left; live ones are younger."""
    removed = 0
    cutoff = time.time() - older_than_s
    for path in sessions.glob("*/media/.incoming-*"):
        with contextlib.suppress(OSError):
            if path.stat().st_mtime < cutoff:
                path.unlink()
                removed += 1
    return removed
