"""Server-sent events off the wire, heartbeats included.

We decode SSE ourselves rather than with httpx-sse because that decoder drops comment
lines (``: ping``) — and for this skill a comment is information: it is the backend's
heartbeat, proof that a long generation is still alive (SKILL.md "SSE Handling"). The
decoder follows the HTML spec: ``data:`` lines accumulate (multi-line data is joined
with "\\n"), a blank line dispatches, ``event``/``id``/``retry`` fields are kept, a single
space after the colon is dropped, unknown fields are ignored. Lines end at CR, LF or CRLF
only — :func:`lines` splits them, because ``httpx.Response.iter_lines`` uses
``str.splitlines``, which also breaks at U+2028, U+0085 and form feeds that JSON text
may legally contain.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Iterator

MAX_LINE = 16 * 1024 * 1024   # a server that never ends a line, or an event, must not fill our memory
MAX_EVENT = 16 * 1024 * 1024


class TooLarge(ValueError):
    """The stream sent a line or an event past the limit; ``str()`` is one line for the user."""


@dataclass(frozen=True)
class RawEvent:
    """One dispatched event; ``comment`` is True for a heartbeat comment line."""

    data: str
    event: str = "message"
    id: str | None = None
    retry: int | None = None
    comment: bool = False


class Decoder:
    def __init__(self) -> None:
        self._data: list[str] = []
        self._event = ""
        self._id: str | None = None
        self._retry: int | None = None
        self._size = 0

    def feed(self, line: str) -> RawEvent | None:
        """Feed one line (without its line ending); return an event when one completes."""
        if line == "":
            return self._dispatch()
        if line.startswith(":"):
            return RawEvent(data=line[1:].strip(), event="comment", comment=True)
        name, sep, value = line.partition(":")
        if sep and value.startswith(" "):
            value = value[1:]
        if name == "data":
            self._size += len(value) + 1
            if self._size > MAX_EVENT:
                raise TooLarge(f"the backend sent an event over {MAX_EVENT // (1024 * 1024)} MiB; the reply was stopped")
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id" and "\x00" not in value:
            self._id = value
        elif name == "retry" and value.isdigit():
            self._retry = int(value)
        return None

    def _dispatch(self) -> RawEvent | None:
        if not self._data and not self._event:
            self._retry = None
            return None
        event = RawEvent(data="\n".join(self._data), event=self._event or "message", id=self._id,
                         retry=self._retry)
        self._data, self._event, self._retry, self._size = [], "", None, 0
        return event

    def flush(self) -> RawEvent | None:
        """At end of stream: a final event without its blank line still counts."""
        return self._dispatch()


def lines(chunks: Iterable[str]) -> Iterator[str]:
    """Lines of an SSE stream from text chunks split anywhere (a CRLF may straddle two)."""
    pending = ""
    for chunk in chunks:
        if not chunk:
            continue
        pending += chunk
        start = 0
        while True:
            cr, lf = pending.find("\r", start), pending.find("\n", start)
            if cr == -1 and lf == -1:
                break
            if cr != -1 and (lf == -1 or cr < lf):
                if cr + 1 == len(pending):
                    break  # a CR at the end may be half of a CRLF: wait for the next chunk
                yield pending[start:cr]
                start = cr + 2 if pending[cr + 1] == "\n" else cr + 1
            else:
                yield pending[start:lf]
                start = lf + 1
        pending = pending[start:]
        if len(pending) > MAX_LINE:
            raise TooLarge(f"the backend sent a line over {MAX_LINE // (1024 * 1024)} MiB; the reply was stopped")
    if pending.endswith("\r"):
        pending = pending[:-1]
        yield pending
        pending = ""
    if pending:
        yield pending


def decode(lines: Iterable[str]) -> Iterator[RawEvent]:
    decoder = Decoder()
    for line in lines:
        event = decoder.feed(line.rstrip("\r\n"))
        if event is not None:
            yield event
    last = decoder.flush()
    if last is not None:
        yield last
