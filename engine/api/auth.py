"""Tokens and projects: the anonymous token, the claim token, a new session."""
from __future__ import annotations

import time

from protocol.codes import AppCode
from starlette.requests import Request
from starlette.responses import Response

from engine.api.envelope import AppError, engine_of, ok
from engine.store import CLAIM_TTL_S, client_key


async def anonymous_token(request: Request) -> Response:
    engine = engine_of(request)
    client_id = request.headers.get("x-client-id", "").strip()
    if not client_id or len(client_id) > 200:
        raise AppError(AppCode.BAD_REQUEST, "missing X-Client-Id header: send a UUID that identifies this client")
    wait = engine.token_limits.check(client_key(client_id), request.client.host if request.client else "")
    if wait > 0:
        raise AppError(AppCode.RATE_LIMITED, "too many token requests; wait and try again",
                       retry_after=round(wait + 0.5))
    token, user, expires = await engine.store.call(engine.store.issue_token, client_id)
    return ok({"token": token, "user_id": user.user_id,
               "credits": user.credits_available if engine.store.metered else None,
               "expires_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(expires))})


async def claim_token(request: Request) -> Response:
    engine = engine_of(request)
    user = await engine.user(request)
    body = await engine.json_body(request)
    session = await engine.session(user, str(body.get("session_id", "")))
    if body.get("task_id") not in (None, session["task_id"]):
        raise AppError(AppCode.SESSION_NOT_FOUND, "task not found")
    claim = await engine.store.call(engine.store.issue_claim, user, session["task_id"], session["session_id"])
    return ok({"claim_token": claim, "expires_in": CLAIM_TTL_S})


async def create_session(request: Request) -> Response:
    engine = engine_of(request)
    user = await engine.account(request)
    if request.path_params["user_id"] not in ("me", user.user_id):
        raise AppError(AppCode.SESSION_NOT_FOUND, "user not found")
    body = await engine.json_body(request)
    name = str(body.get("task_name") or "project")[:200]
    language = str(body.get("language") or "en")[:20]
    session = await engine.store.call(engine.store.create_session, user, name, language)
    return ok({"task_id": session["task_id"], "session_id": session["session_id"], "user_id": user.user_id})
