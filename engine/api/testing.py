"""Test-only endpoints (mounted only with ``test_api``): faults, expiring tokens, losing a session.

They let a skill author's scenario make the engine misbehave the ways the cloud does.
"""
from __future__ import annotations

from protocol.codes import AppCode
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from engine.api.envelope import AppError, engine_of
from engine.faults import Faults


async def faults_api(request: Request) -> Response:
    engine = engine_of(request)
    if request.method == "GET":
        return JSONResponse(engine.faults.to_json())
    if request.method == "DELETE":
        fresh = Faults()
    else:
        try:
            fresh = Faults.from_json(await engine.json_body(request))
        except ValueError as exc:
            raise AppError(AppCode.BAD_REQUEST, str(exc)) from None
    engine.faults.replace_from(fresh)
    return JSONResponse(engine.faults.to_json())


async def expire_tokens(request: Request) -> Response:
    engine = engine_of(request)
    body = await engine.json_body(request)
    return JSONResponse({"expired": await engine.store.call(engine.store.expire_tokens, body.get("token"))})


async def forget_session(request: Request) -> Response:
    engine = engine_of(request)
    body = await engine.json_body(request)
    await engine.store.call(engine.store.forget_session, str(body.get("session_id", "")))
    return JSONResponse({"forgotten": True})
