"""The protocol's answer shapes and the helpers every endpoint shares.

Answers use the canonical shapes (★ in docs/protocol.md): ``{"code": 0, "data": …}`` for JSON
endpoints, ``{"success": true, "data": …}`` for render endpoints. App errors carry their
protocol code and a fitting HTTP status (see ``protocol.codes``); rate limits are HTTP 429
with ``Retry-After``.
"""
from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from protocol.codes import AppCode
from starlette.requests import Request
from starlette.responses import JSONResponse

from engine.api.connection_limits import idle_limited

if TYPE_CHECKING:
    from engine.app import Engine


def status_for(code: int) -> int:
    """The HTTP status an app code travels with (an unknown code, e.g. an injected one: 400)."""
    try:
        return AppCode(code).http_status
    except ValueError:
        return 400


class AppError(Exception):
    """An answer in the protocol's error shape; raised anywhere in a handler, sent by ``engine.app.guarded``."""

    def __init__(self, code: int, message: str, *, status: int | None = None, retry_after: float | None = None,
                 render: bool = False, data: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code, self.message = int(code), message
        self.status = status or status_for(code)
        self.retry_after = retry_after
        self.render = render
        self.data = data

    def response(self) -> JSONResponse:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.data:
            body["data"] = self.data
        if self.render:
            body = {"success": False, **body}
        headers = {"Retry-After": f"{self.retry_after:g}"} if self.retry_after is not None else None
        return JSONResponse(body, status_code=self.status, headers=headers)


def ok(data: Any) -> JSONResponse:
    return JSONResponse({"code": 0, "data": data})


def render_ok(data: Any) -> JSONResponse:
    return JSONResponse({"success": True, "data": data})


def engine_of(request: Request) -> "Engine":
    """The engine serving this request (set on the app by ``engine.app.create_app``)."""
    return request.app.state.engine


def base_url(request: Request) -> str:
    """This request's own origin: a client reaching us by another name gets links it can open."""
    return str(request.base_url).rstrip("/")


async def json_body(request: Request, limit: int, *, idle_s: float | None = None) -> dict[str, Any]:
    """The request's JSON object, read with a size cap and an idle limit (a body is never trusted)."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise AppError(AppCode.BAD_REQUEST, f"request body too large (limit {limit // 1024} KB)", status=413)
    body = bytearray()
    chunks = request.stream() if idle_s is None else idle_limited(request.stream(), idle_s)
    async for chunk in chunks:
        body += chunk
        if len(body) > limit:
            raise AppError(AppCode.BAD_REQUEST, f"request body too large (limit {limit // 1024} KB)", status=413)
    if not body:
        return {}
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        raise AppError(AppCode.BAD_REQUEST, "request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise AppError(AppCode.BAD_REQUEST, "request body must be a JSON object")
    return data
