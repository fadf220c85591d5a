"""What a failure is called for agents: its ``type``, its ``code`` and the exit status.

``say --json``, ``run --json`` and the MCP tools report every failure the same way, so an
agent can act on it without reading prose: ``type`` is one of :data:`TYPES` (enumerated in
``docs/say.schema.json``), ``code`` is the backend's app code or HTTP status when the
backend answered, else a local code from :data:`LOCAL_CODES`, and the exit status says
who has to act — the backend (1), the input (2), this machine (3), or nobody (130).
"""
from __future__ import annotations

from typing import Any

from skill import errors

EXIT_OK, EXIT_BACKEND, EXIT_INPUT, EXIT_LOCAL, EXIT_INTERRUPTED = 0, 1, 2, 3, 130

# Failures that happen before or after the backend answers have no protocol code; these
# are stable numbers outside the protocol's ranges (app codes 1001–4002, HTTP 400–599).
LOCAL_CODES: dict[str, int] = {
    "BadInput": 9001,        # a file or URL refused before sending (missing, a folder, empty, not a URL)
    "MessageTooLong": 9002,  # the message is over 100,000 characters
    "SkillError": 9003,      # the SKILL.md cannot be read or run
    "BadSetting": 9004,      # an environment variable has a value that cannot be used
    "NothingToExport": 9005,  # export asked for before anything was made
    "LocalWriteError": 9006,  # the result could not be written here (disk full, permissions)
    "EngineError": 9007,     # the local engine or ffmpeg could not run
    "TransportError": 9008,  # the backend could not be reached
    "ProtocolError": 9009,   # the backend answered something unreadable
    "StreamTimeout": 9010,   # the chat stream only sent heartbeats for too long
    "StreamDropped": 9011,   # the chat stream ended early and the edit did not show up
    "RenderFailed": 9012,    # the render failed twice
    "Interrupted": 9013,     # Ctrl-C / SIGINT
    "InternalError": 9099,   # a bug: reported, never a traceback
}

_BACKEND = (errors.ApiError, errors.TransportError, errors.ProtocolError, errors.StreamTimeout,
            errors.StreamDropped, errors.RenderFailed)


def _api_types() -> list[str]:
    found: list[str] = []
    stack = [errors.ApiError]
    while stack:
        cls = stack.pop()
        found.append(cls.__name__)
        stack.extend(cls.__subclasses__())
    return sorted(found)


TYPES: tuple[str, ...] = tuple(sorted(set(_api_types()) | set(LOCAL_CODES)))


def code_of(type_name: str, code: int | None) -> int | None:
    """The protocol code when there is one, else the local code for ``type_name``."""
    return code if code is not None else LOCAL_CODES.get(type_name)


def describe(exc: BaseException) -> dict[str, Any]:
    """``{"code", "type"}`` for an exception the runtime raised (message added by the caller)."""
    name = type(exc).__name__
    if isinstance(exc, errors.NemoError):
        if name not in TYPES:
            name = "ApiError" if isinstance(exc, errors.ApiError) else "InternalError"
        return {"code": code_of(name, getattr(exc, "code", None)), "type": name}
    return {"code": LOCAL_CODES["InternalError"], "type": "InternalError"}


def exit_code(types: list[str]) -> int:
    """The exit status for a turn that failed with these error types (0: none)."""
    if not types:
        return EXIT_OK
    if "Interrupted" in types:
        return EXIT_INTERRUPTED
    local = {"LocalWriteError", "EngineError", "InternalError"}
    if any(t in local for t in types):
        return EXIT_LOCAL
    backend = {cls.__name__ for cls in _BACKEND} | set(_api_types())
    if any(t in backend for t in types):
        return EXIT_BACKEND
    return EXIT_INPUT


def unreachable_hint(exc: BaseException) -> str:
    """The failure's line for a person; an unreachable backend also says what to try instead,
    since the bare transport error ("could not reach the backend") leaves the user guessing."""
    import os

    line = getattr(exc, "user_message", None) or str(exc)
    if isinstance(exc, errors.TransportError) and "could not reach" in line:
        url = os.environ.get("NEMO_API_URL", "").strip()
        now = f" (now {url})" if url else ""
        line = f"{line} — check the network or NEMO_API_URL{now}, or use the embedded engine: --backend local"
    return line
