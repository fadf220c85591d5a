"""The render endpoints: submit, poll, cancel, download (``{"success": …}`` envelope).

The queue and the work are ``engine.export.jobs``; export is gated on the attribution
headers the skill requires (HTTP 402 without them, as the cloud's plan gate).
"""
from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from protocol.codes import AppCode
from starlette.requests import Request
from starlette.responses import FileResponse, Response, StreamingResponse

from engine.api.draft_limits import BadDraft, check_draft
from engine.api.envelope import AppError, base_url as _base, engine_of, render_ok
from engine.export.changes import HOLD_S
from engine.export.jobs import output_file
from engine.store import client_render_id

ATTRIBUTION = ("x-skill-source", "x-skill-version", "x-skill-platform")
RUNNING = ("pending", "processing")


async def render_submit(request: Request) -> Response:
    engine = engine_of(request)
    user = await engine.user(request)
    missing = [h for h in ATTRIBUTION if not request.headers.get(h, "").strip()]
    if missing:
        raise AppError(AppCode.PAYMENT_REQUIRED, "export is not available on this plan for unattributed clients "
                            f"(missing {', '.join(missing)})", render=True)
    body = await engine.json_body(request)
    render_id = str(body.get("id") or "")
    if not render_id or len(render_id) > 128 or not all(c.isalnum() or c in "_-" for c in render_id):
        raise AppError(AppCode.BAD_REQUEST, "render 'id' must be 1-128 letters, digits, '_' or '-'", render=True)
    session = await engine.session(user, str(body.get("sessionId") or body.get("session_id") or ""))
    draft = body.get("draft")
    if isinstance(draft, str):
        try:
            draft = json.loads(draft)
        except ValueError:
            draft = None
    tracks = draft.get("t") if isinstance(draft, dict) else None
    if not isinstance(tracks, list) or not any(t.get("sg") for t in tracks if isinstance(t, dict)):
        raise AppError(AppCode.BAD_REQUEST, "the draft has no tracks with segments: generate something first",
                       render=True)
    try:  # sized by this session, not by the client (engine.api.draft_limits)
        check_draft(draft, session)
    except BadDraft as exc:
        raise AppError(AppCode.BAD_REQUEST, str(exc), render=True) from None
    output = body.get("output") if isinstance(body.get("output"), dict) else {"format": "mp4", "quality": "high"}
    if str(output.get("format", "mp4")).lower() not in ("mp4", "wav", "mp3", "stems"):
        raise AppError(AppCode.BAD_REQUEST, "output.format must be mp4, or wav, mp3 or stems for the music alone", render=True)
    record = await engine.store.call(engine.renders.submit, render_id, session, draft, output)
    return render_ok(_render_view(record, _base(request)))


async def owned_render(request: Request) -> dict[str, Any]:
    """The render in the path, if it belongs to the caller (others' ids are "not found")."""
    engine = engine_of(request)
    user = await engine.user(request)
    record = await engine.store.call(engine.store.render_of, user.user_id, request.path_params["render_id"])
    if record is None or not engine.in_scope(str(record.get("session_id"))):
        # 404, not 1002: "session not found" would make a client start a new project
        raise AppError(AppCode.NOT_FOUND, "render not found", render=True)
    return record


async def render_poll(request: Request) -> Response:
    """The render's status; a running one's answer waits until its phase changes, at most ``HOLD_S``
    (``engine.export.changes``): the client learns of the finish as it happens, not an interval later."""
    engine = engine_of(request)
    changes = engine.renders.changes
    since = changes.now()
    record = await owned_render(request)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + HOLD_S
    phase = (record["status"], record.get("stage"))
    while record["status"] in RUNNING:
        if not await changes.wait(record["id"], since, deadline - loop.time()):
            break
        since = changes.now()
        fresh = await engine.store.call(engine.store.render, record["id"])
        if fresh is None:
            break
        record = fresh  # a new percentage is shown when the wait ends; a new phase ends it now
        if (record["status"], record.get("stage")) != phase:
            break
    view = _render_view(record, _base(request))
    if record["status"] == "completed" and engine.config.local_files is not None:
        # the engine embedded in the client's own process: the file itself, taken by a copy in the kernel
        # (skill.download.take_local) instead of pushed through HTTP; any other engine's client gets the URL
        path = engine.store.root / "renders" / str(record.get("file") or "")
        if record.get("file") and path.is_file():
            view["outputUrl"] = path.resolve().as_uri()
    return render_ok(view)


async def render_cancel(request: Request) -> Response:
    engine = engine_of(request)
    record = await owned_render(request)
    cancelled = await engine.store.call(engine.renders.cancel, record["id"])
    return render_ok(_render_view(cancelled or record, _base(request)))


async def download(request: Request) -> Response:
    engine = engine_of(request)
    record = await owned_render(request)
    path = await engine.store.call(output_file, engine.store, record["id"])
    if path is None and record.get("expired"):
        raise AppError(AppCode.GONE, "this render was replaced by a newer one and its file removed; export again",
                       status=410, render=True)
    if path is None:
        raise AppError(AppCode.BAD_REQUEST, f"render is {record['status']}, not completed", status=409, render=True)
    media_type = str(record.get("media_type") or "video/mp4")
    if engine.faults.download_bps:
        return _throttled(path, request.headers.get("range"), engine.faults.download_bps)
    return FileResponse(path, media_type=media_type, filename=path.name)


def _throttled(path: Path, range_header: str | None, bps: int) -> Response:
    """A slow download (fault injection), honouring ``Range: bytes=N-`` so resumes can be tested."""
    size = path.stat().st_size
    start = 0
    if range_header and range_header.startswith("bytes=") and range_header[6:].split("-")[0].isdigit():
        start = min(int(range_header[6:].split("-")[0]), size)
    chunk = max(1024, bps // 10)

    async def body():  # noqa: ANN202
        with path.open("rb") as fh:
            fh.seek(start)
            while data := fh.read(chunk):
                yield data
                await asyncio.sleep(len(data) / bps)

    headers = {"Content-Length": str(size - start), "Accept-Ranges": "bytes"}
    if start:
        headers["Content-Range"] = f"bytes {start}-{size - 1}/{size}"
    return StreamingResponse(body(), status_code=206 if start else 200, media_type="application/octet-stream",
                             headers=headers)


def _render_view(record: dict[str, Any], base_url: str) -> dict[str, Any]:
    shown = client_render_id(record)
    view = {"id": shown, "status": record["status"], "progress": record.get("progress", 0)}
    if record["status"] == "completed":
        view["outputUrl"] = f"{base_url}/api/render/proxy/{shown}/download"
        view["size"] = record.get("size")
    if record.get("error"):
        view["error"] = record["error"]
    if record.get("stage"):
        view["stage"] = record["stage"]
    return view
