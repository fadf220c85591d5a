"""The browser side: the project behind a claim link, its videos, the credits page, health."""
from __future__ import annotations

from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response

from engine.api.envelope import engine_of
from engine.export.jobs import output_file


async def claim_page(request: Request) -> Response:
    engine = engine_of(request)
    from engine.api.html import claim_page as page

    entry = await engine.store.call(engine.store.claim, request.query_params.get("ct", ""))
    if entry is None:
        return HTMLResponse("<h1>This link has expired or is not valid.</h1>", status_code=404)
    session = await engine.store.call(engine.store.session, entry["session_id"])
    if session is None:
        return HTMLResponse("<h1>This project no longer exists.</h1>", status_code=404)
    renders = [r for r in await engine.store.call(list, engine.store.iter_renders())
               if r["session_id"] == session["session_id"]]
    return HTMLResponse(page(session, renders, request.query_params.get("ct", "")))


async def claim_video(request: Request) -> Response:
    engine = engine_of(request)
    entry = await engine.store.call(engine.store.claim, request.query_params.get("ct", ""))
    record = await engine.store.call(engine.store.render, request.path_params["render_id"])
    if entry is None or record is None or record["session_id"] != entry["session_id"]:
        return Response(status_code=404)
    path = await engine.store.call(output_file, engine.store, record["id"])
    media_type = str(record.get("media_type") or "video/mp4")
    return FileResponse(path, media_type=media_type, filename=path.name) if path else Response(status_code=404)


async def register_page(request: Request) -> Response:
    engine = engine_of(request)
    config = engine.config
    from engine.api.html import credits_page

    user = await engine.store.call(engine.store.user_by_id, request.query_params.get("bind", ""))
    return HTMLResponse(credits_page(user, config))


async def health(request: Request) -> Response:
    engine = engine_of(request)
    return JSONResponse({"ok": True, "engine": "ai-music", "sessions": len(engine.store.sessions)})
