"""Stream payloads → what happened, for both shapes the backend family uses.

docs/protocol.md "SSE stream": (1) Google ADK events — ``content.parts`` with ``text``,
``functionCall``, ``functionResponse``; ``partial: true`` chunks later repeated whole;
``errorCode``/``errorMessage``; ``{"error": …}`` for failures — and (2) typed events —
``{"type": "text" | "tool_call" | "tool_result" | "heartbeat", …}``. Empty ``data:``
lines and comments are heartbeats. Anything else is kept as ``other`` and ignored, never
fatal: a new field in the cloud's events must not break a user's session.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from skill.sse import RawEvent


@dataclass(frozen=True)
class StreamEvent:
    kind: str              # text | partial | tool_call | tool_result | heartbeat | error | other
    text: str = ""
    name: str | None = None
    payload: Any = None
    error_code: int | None = None
    state_delta: dict[str, Any] = field(default_factory=dict)


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def parse(raw: RawEvent) -> list[StreamEvent]:
    if raw.comment:  # ": ping"; ": stage composing" also names what the backend is busy with
        stage = raw.data[len("stage "):].strip()[:40] if raw.data.startswith("stage ") else ""
        return [StreamEvent("heartbeat", text=stage)]
    data = raw.data.strip()
    if not data:
        return [StreamEvent("heartbeat")]
    try:
        obj = json.loads(data)
    except (ValueError, RecursionError):
        return [StreamEvent("other", payload=data[:200])]
    if not isinstance(obj, dict):
        return [StreamEvent("other", payload=obj)]
    if "error" in obj and not obj.get("content"):
        error = obj["error"]
        message = error.get("message") if isinstance(error, dict) else str(error)
        return [StreamEvent("error", text=str(message), error_code=_int(obj.get("errorCode") or obj.get("code")))]
    typed = obj.get("type")
    if isinstance(typed, str):
        return [_typed(typed, obj)]
    return _adk(obj)


def _typed(kind: str, obj: dict[str, Any]) -> StreamEvent:
    if kind == "heartbeat" or kind == "ping":
        return StreamEvent("heartbeat")
    if kind == "text":
        content = obj.get("content", obj.get("text", ""))
        return StreamEvent("partial" if obj.get("partial") else "text", text=str(content or ""))
    if kind in ("tool_call", "function_call"):
        return StreamEvent("tool_call", name=obj.get("name"), payload=obj.get("args"))
    if kind in ("tool_result", "function_result", "tool_response"):
        return StreamEvent("tool_result", name=obj.get("name"), payload=obj.get("result"))
    if kind == "error":
        return StreamEvent("error", text=str(obj.get("message") or obj.get("content") or "error"),
                           error_code=_int(obj.get("code")))
    return StreamEvent("other", payload=obj)


def _adk(obj: dict[str, Any]) -> list[StreamEvent]:
    out: list[StreamEvent] = []
    actions = obj.get("actions") if isinstance(obj.get("actions"), dict) else {}
    delta = actions.get("stateDelta") if isinstance(actions.get("stateDelta"), dict) else {}
    if obj.get("errorCode") or obj.get("errorMessage"):
        out.append(StreamEvent("error", text=str(obj.get("errorMessage") or obj.get("errorCode")),
                               error_code=_int(obj.get("errorCode"))))
    content = obj.get("content") if isinstance(obj.get("content"), dict) else {}
    parts = content.get("parts") if isinstance(content.get("parts"), list) else []
    partial = bool(obj.get("partial"))
    for part in parts:
        if not isinstance(part, dict):
            continue
        if isinstance(part.get("text"), str):
            if part.get("thought"):
                continue  # model reasoning, not for the user
            out.append(StreamEvent("partial" if partial else "text", text=part["text"], state_delta=delta))
        elif isinstance(part.get("functionCall"), dict):
            call = part["functionCall"]
            out.append(StreamEvent("tool_call", name=call.get("name"), payload=call.get("args"), state_delta=delta))
        elif isinstance(part.get("functionResponse"), dict):
            resp = part["functionResponse"]
            out.append(StreamEvent("tool_result", name=resp.get("name"), payload=resp.get("response"),
                                   state_delta=delta))
    if not out:
        out.append(StreamEvent("other", payload=None, state_delta=delta))
    return out
