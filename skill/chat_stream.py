"""A live ``/run_sse`` stream, read on a thread so the caller can wake up on a timer.

The seam between HTTP and the conversation: the caller asks for the next event with a
timeout and gets ``None`` when nothing came (time for a "still working" notice) — a
blocking iterator could not tell "slow" from "stuck".
"""
from __future__ import annotations

import queue
import threading
from typing import Any

import httpx

from skill import errors
from skill.answers import error_from_response
from skill.events import StreamEvent, parse
from skill.sse import Decoder, TooLarge, lines


_END = object()


class ChatStream:
    """A live ``/run_sse`` stream, read on a thread so the caller can wake up on a timer.

    ``get(timeout)`` returns the next :class:`StreamEvent`, ``None`` when nothing arrived
    within ``timeout`` (time for a "still working" notice), or raises
    :class:`~skill.errors.StreamDropped` if the connection broke. ``closed`` turns True
    when the backend ended the stream normally.
    """

    def __init__(self, client: httpx.Client, request: httpx.Request) -> None:
        self._queue: "queue.Queue[Any]" = queue.Queue()
        self._client = client
        self._request = request
        self._response: httpx.Response | None = None
        self._stop = threading.Event()
        self.closed = False
        self._ready = threading.Event()
        self._open_error: BaseException | None = None
        self._thread = threading.Thread(target=self._read, daemon=True, name="sse-reader")
        self._thread.start()
        self._ready.wait()
        if self._open_error is not None:
            raise self._open_error

    def _read(self) -> None:
        try:
            self._open()
        except BaseException as exc:  # noqa: BLE001 - whatever happened, the caller must not wait forever
            if self._open_error is None:
                self._open_error = errors.TransportError(f"could not open the stream ({exc.__class__.__name__})")
            self._ready.set()
            return
        if self._response is not None:
            self._pump(self._response)

    def _open(self) -> None:
        """Send the request; on success leave ``_response`` set, else ``_open_error``."""
        try:
            response = self._client.send(self._request, stream=True)
        except httpx.HTTPError as exc:
            self._open_error = errors.TransportError(f"could not reach the backend ({exc.__class__.__name__})")
            self._ready.set()
            return
        if response.status_code >= 400 or "text/event-stream" not in response.headers.get("content-type", ""):
            try:
                response.read()
                self._open_error = error_from_response(response)
            except httpx.HTTPError as exc:
                self._open_error = errors.TransportError(f"the backend connection failed ({exc.__class__.__name__})")
            finally:
                response.close()
            self._ready.set()
            return
        self._response = response
        self._ready.set()

    def _pump(self, response: httpx.Response) -> None:
        decoder = Decoder()
        try:
            for line in lines(response.iter_text()):
                if self._stop.is_set():
                    return
                raw = decoder.feed(line)
                if raw is not None:
                    for event in parse(raw):
                        self._queue.put(event)
            last = decoder.flush()
            if last is not None:
                for event in parse(last):
                    self._queue.put(event)
            self._queue.put(_END)
        except TooLarge as exc:  # a hostile stream: the turn fails, nothing is retried
            if not self._stop.is_set():
                self._queue.put(errors.ProtocolError(str(exc)))
        except Exception as exc:  # noqa: BLE001 - a broken stream must reach the reader, never hang it
            if not self._stop.is_set():
                self._queue.put(errors.StreamDropped(f"the stream broke ({exc.__class__.__name__})"))
        finally:
            response.close()

    def get(self, timeout: float) -> StreamEvent | None:
        if self.closed:
            return None
        try:
            item = self._queue.get(timeout=max(0.0, timeout))
        except queue.Empty:
            return None
        if item is _END:
            self.closed = True
            return None
        if isinstance(item, BaseException):
            self.closed = True
            raise item
        return item

    def close(self) -> None:
        self._stop.set()
        if self._response is not None:
            self._response.close()
