"""A project's state, its media, the credit balance, and releasing a finished project."""
from __future__ import annotations

import asyncio
from typing import Any

from protocol.codes import AppCode
from starlette.requests import Request
from starlette.responses import FileResponse, Response

from engine import housekeeping
from engine.api.envelope import AppError, base_url as _base, engine_of, ok


def public_info(info: dict[str, Any], base_url: str, session_id: str) -> dict[str, Any]:
    keys = ("file_id", "filename", "file_type", "duration", "width", "height", "fps", "hash", "has_audio", "size")
    out = {k: info.get(k) for k in keys}
    out["cdn_url"] = f"{base_url}/api/media/{session_id}/{info['file_id']}"
    if info.get("warning"):  # part of the file is missing (see _accept)
        out["warning"] = info["warning"]
    return out


def public_state(session: dict[str, Any], base_url: str) -> dict[str, Any]:
    state = session["state"]
    return {
        "session_id": session["session_id"],
        "task_id": session["task_id"],
        "task_name": session.get("task_name"),
        "state": {
            "draft": state.get("draft"),
            "video_infos": [public_info(i, base_url, session["session_id"]) for i in state.get("video_infos", [])],
            "canvas_config": state.get("canvas_config"),
            "video_analyses": state.get("video_analyses", {}),
            "generated_media": state.get("generated_media", []),
        },
    }


async def credits(request: Request) -> Response:
    engine = engine_of(request)
    user = await engine.account(request)
    if not engine.store.metered:  # nothing to count: say so rather than invent a balance
        return ok({"available": None, "frozen": 0, "total": None, "unlimited": True})
    return ok({"available": user.credits_available, "frozen": user.credits_frozen,
               "total": user.credits_available + user.credits_frozen})


async def state(request: Request) -> Response:
    engine = engine_of(request)
    user = await engine.user(request)
    session = await engine.session(user, request.path_params["session_id"], request.path_params["user_id"])
    return ok(public_state(session, _base(request)))


async def media(request: Request) -> Response:
    engine = engine_of(request)
    user = await engine.user(request)
    session = await engine.session(user, request.path_params["session_id"])
    info = next((i for i in session["state"]["video_infos"] if i["file_id"] == request.path_params["file_id"]),
                None)
    if info is None:
        raise AppError(AppCode.SESSION_NOT_FOUND, "file not found", status=404)
    return FileResponse(engine.store.session_dir(session["session_id"]) / "media" / info["stored_as"],
                        filename=info["filename"])


async def release_session(request: Request) -> Response:
    """Not in the cloud protocol: the project is finished and its output saved, so its files can go.

    ``ai-music run`` calls it on the engine it embeds once the MP4 is written (the disk
    would otherwise keep an upload, music, a soundtrack and a copy of every video)."""
    engine = engine_of(request)
    user = await engine.user(request)
    session = await engine.session(user, request.path_params["session_id"], request.path_params["user_id"])
    busy = [r["id"] for r in await engine.store.call(list, engine.store.iter_renders())
            if r.get("session_id") == session["session_id"] and r.get("status") in ("pending", "processing")]
    if busy or session["session_id"] in engine.turns.values():
        raise AppError(AppCode.CONFLICT, "the project is still working (a render or an edit); try again when it is done",
                       status=409)
    engine.cancel_jobs(session["session_id"])  # an upload still being analysed, say
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, engine.ahead.drop, session["session_id"])  # its piece composed ahead, unused
    await loop.run_in_executor(None, engine.wait_for_decodes, session["session_id"])  # nothing writes into it after
    freed = await loop.run_in_executor(
        None, housekeeping.release, engine.store, session["session_id"], engine.renders.soundtrack_key_of)
    return ok({"released": True, "freed_bytes": freed})
