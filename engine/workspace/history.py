"""``GET /workspace/api/messages/{session_id}``: the project's chat so far, for a page that opens it.

The engine keeps every turn of a session (engine.chat.turn); a project opened from a
claim link, or the same page reloaded, shows the conversation it continues.
"""
from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from engine.api.envelope import engine_of, ok

SHOWN = 200  # the newest messages; a long project's beginning is of little use in a chat box


async def messages(request: Request) -> Response:
    engine = engine_of(request)
    user = await engine.user(request)
    session = await engine.session(user, request.path_params["session_id"])
    kept = session.get("messages") or []
    return ok({"messages": [{"role": "user" if m.get("role") == "user" else "model", "text": str(m.get("text") or "")}
                            for m in kept[-SHOWN:] if isinstance(m, dict)]})
