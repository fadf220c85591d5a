"""Fault injection: make the engine misbehave the ways the cloud does, on purpose.

The skill document describes what a client must survive — expired tokens, lost sessions,
rate limits, silent replies, heartbeat-only streams, dropped streams, failed renders.
Tests and the scenario harness switch these on here (through ``EngineConfig.faults`` or
the test API ``/_engine/faults``, which exists only when the engine is started with
``test_api=True``). Nothing here is on by default. There is no second fake server: the
real endpoints run, with the fault applied on top.
"""
from __future__ import annotations

import logging

import math
import threading
from dataclasses import asdict, dataclass, field, fields
from typing import Any

ENDPOINTS = ("auth", "claim", "session", "chat", "upload", "credits", "state", "render", "poll", "cancel",
             "download", "fit_picture")


@dataclass
class EndpointFault:
    """Answer ``endpoint`` with an app error ``code`` or an HTTP ``status``, ``times`` times."""

    endpoint: str
    code: int | None = None
    status: int | None = None
    times: int = 1
    retry_after: float | None = None
    message: str | None = None


@dataclass
class Faults:
    endpoint: list[EndpointFault] = field(default_factory=list)
    silent_rate: float = 0.0          # share of chat turns that stream tool events but no text
    heartbeats_only_s: float = 0.0    # chat streams only heartbeats this long before working
    sse_drop_after: int | None = None  # close the stream after this many events (the edit still lands)
    sse_drop_times: int = 1
    render_failures: int = 0          # the next N renders fail
    render_delay_s: float = 0.0       # each render waits this long first (slow backend)
    flood_events: int = 0             # the next chat streams this many extra text chunks first (benchmarks)
    disk_full: bool = False           # every write to the data dir fails with ENOSPC
    download_bps: int = 0             # serve downloads at this many bytes per second (0 = full speed)
    _chats: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Faults":
        """Build from JSON; unknown keys or bad values raise ValueError with the key named."""
        known = {"endpoint", "disk_full", *_NUMBER_TYPES}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown fault setting(s): {', '.join(sorted(unknown))}")
        endpoint_faults = []
        for raw in data.get("endpoint", []):
            if not isinstance(raw, dict) or raw.get("endpoint") not in ENDPOINTS:
                raise ValueError(f"endpoint fault needs 'endpoint' in {', '.join(ENDPOINTS)}")
            if raw.get("code") is None and raw.get("status") is None:
                raise ValueError("endpoint fault needs a 'code' or a 'status'")
            endpoint_faults.append(EndpointFault(**{k: raw[k] for k in raw if k in EndpointFault.__annotations__}))
        faults = cls(endpoint=endpoint_faults)
        if "disk_full" in data:
            faults.disk_full = bool(data["disk_full"])
        for key in _NUMBER_TYPES:
            if key in data and data[key] is not None:
                value = data[key]
                if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value) \
                        or value < 0:
                    raise ValueError(f"fault setting '{key}' must be a non-negative number")
                setattr(faults, key, _NUMBER_TYPES[key](value))
        return faults

    def replace_from(self, other: "Faults") -> None:
        """Take every setting of ``other`` in place (the engine holds this object), under the lock."""
        with self._lock:
            for f in fields(self):
                if f.name != "_lock":
                    setattr(self, f.name, getattr(other, f.name))

    def to_json(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in fields(self) if not f.name.startswith("_")}
        data["endpoint"] = [asdict(e) for e in self.endpoint]
        return data

    def take(self, endpoint: str) -> EndpointFault | None:
        """The fault to apply to this call of ``endpoint``, counting it down."""
        with self._lock:
            for fault in self.endpoint:
                if fault.endpoint == endpoint and fault.times > 0:
                    fault.times -= 1
                    return fault
        return None

    def next_chat_is_silent(self) -> bool:
        """Deterministic: with rate r, turn n is silent when ⌊(n+1)r⌋ > ⌊nr⌋."""
        with self._lock:
            n = self._chats
            self._chats += 1
            rate = max(0.0, min(1.0, self.silent_rate))
            return math.floor((n + 1) * rate + 1e-9) > math.floor(n * rate + 1e-9)

    def take_sse_drop(self) -> int | None:
        with self._lock:
            if self.sse_drop_after is None or self.sse_drop_times <= 0:
                return None
            self.sse_drop_times -= 1
            return self.sse_drop_after

    def take_flood(self) -> int:
        with self._lock:
            count, self.flood_events = self.flood_events, 0
            return count

    def take_render_failure(self) -> bool:
        with self._lock:
            if self.render_failures > 0:
                self.render_failures -= 1
                return True
            return False


# What each numeric setting holds: a rate of 0.5 must stay 0.5, a count must be whole.
_NUMBER_TYPES = {f.name: float if isinstance(f.default, float) else int
                 for f in fields(Faults) if not f.name.startswith("_") and f.name not in ("endpoint", "disk_full")}


class InjectedDrop(ConnectionAbortedError):
    """A dropped SSE connection the fault injector asked for: expected, so never a traceback."""


class _InjectedFaultsAreOneLine(logging.Filter):
    """Turn the ASGI server's "Exception in ASGI application" traceback for an injected
    drop into one line in the engine's own log: a skill author testing recovery should
    see their scenario's result, not a stack trace they have to read past."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, InjectedDrop):
            logging.getLogger("engine.app").info("%s", exc)
            return False
        return True


def quiet_injected_faults() -> None:
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _InjectedFaultsAreOneLine) for f in logger.filters):
        logger.addFilter(_InjectedFaultsAreOneLine())
