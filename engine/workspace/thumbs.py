"""``GET /workspace/api/thumbs/{session_id}``: a strip of frames of the timeline's picture, as a JPEG.

The page stretches the strip under the time axis, so tile ``k`` of ``TILES`` shows the
frame at the middle of the ``k``-th slice of the timeline — taken from whichever clip
the video track plays there (trims and several clips included; a gap is black). One
ffmpeg call makes the whole strip; it is cached in the project's folder under a key of
everything that changes the picture, so a title or music edit reuses it, and only the
newest strip is kept.
"""
from __future__ import annotations

import asyncio
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from protocol.draft import VIDEO, track
from starlette.requests import Request
from starlette.responses import Response

from engine.api.envelope import AppError, engine_of
from engine.user_text import upload_names, user_facing
from engine.workspace.media_work import MediaWork
from media.ffmpeg import FFmpegError, pathlike, run

TILES = 12
TILE_W, TILE_H = 160, 90
FOLDER = "workspace"  # beside media/ in the project's folder; removed with the project
# strips being made → their making, so two requests for one strip make it once; touched on the
# event loop only. Other strips (other users') are made meanwhile, and a cached one is just read.
_MAKING: dict[Path, "asyncio.Future[bytes]"] = {}


def frame_sources(draft: dict[str, Any], infos: list[dict[str, Any]], media: Path) -> list[tuple[Path, float] | None]:
    """Per tile: the upload and the time in it shown at the tile's middle (None: nothing shown there)."""
    duration_ms = int(draft.get("d") or 0)
    video = track(draft, VIDEO)
    by_id = {i["file_id"]: i for i in infos}
    out: list[tuple[Path, float] | None] = []
    for k in range(TILES):
        at = (k + 0.5) * duration_ms / TILES
        shown = None
        for seg in (video or {}).get("sg", []):
            start, length = int(seg.get("st") or 0), int(seg.get("d") or 0)
            info = by_id.get(seg.get("src"))
            if info is not None and start <= at < start + length:
                offset = (int(seg.get("ss") or 0) + at - start) / 1000
                if info.get("file_type") == "image":
                    offset = 0.0
                elif info.get("duration"):
                    offset = min(offset, max(0.0, float(info["duration"]) - 0.1))
                shown = (media / info["stored_as"], offset)
                break
        out.append(shown)
    return out


def strip_key(sources: list[tuple[Path, float] | None]) -> str:
    payload = json.dumps([[str(s[0]), round(s[1], 3)] if s else None for s in sources] + [TILE_W, TILE_H])
    return hashlib.sha256(payload.encode()).hexdigest()[:20]


async def strip_bytes(sources: list[tuple[Path, float] | None], out: Path, work: MediaWork) -> bytes:
    """The strip: read if cached (a few dozen kB, read whole so a newer strip replacing it
    can't cut the answer short), else made once on ``work`` however many ask for it."""
    try:
        return out.read_bytes()
    except FileNotFoundError:
        pass
    making = _MAKING.get(out)
    if making is None:
        making = _MAKING[out] = asyncio.ensure_future(work.run(lambda: _make(sources, out)))
        making.add_done_callback(lambda _done: _MAKING.pop(out, None))
    return await asyncio.shield(making)  # one caller leaving does not stop the others' strip


def _make(sources: list[tuple[Path, float] | None], out: Path) -> bytes:
    """One ffmpeg: a seek per tile, scaled and letterboxed, stacked side by side (the JPEG's
    bytes: an older strip's cleanup in another request may remove ``out`` at any time)."""
    args: list[str] = []
    chains = []
    fit = (f"scale={TILE_W}:{TILE_H}:force_original_aspect_ratio=decrease,"
           f"pad={TILE_W}:{TILE_H}:(ow-iw)/2:(oh-ih)/2,setsar=1")
    for n, source in enumerate(sources):
        if source is None:
            args += ["-f", "lavfi", "-i", f"color=c=black:s={TILE_W}x{TILE_H}:d=1"]
        else:
            path, at = source
            args += [*(["-ss", f"{at:.3f}"] if at > 0 else []), "-i", pathlike(path)]
        chains.append(f"[{n}:v:0]{fit},trim=end_frame=1,setpts=PTS-STARTPTS[t{n}]")
    stack = "".join(f"[t{n}]" for n in range(len(sources))) + f"hstack=inputs={len(sources)}[strip]"
    out.parent.mkdir(parents=True, exist_ok=True)
    part = out.with_name(f".{out.name}.{os.getpid()}.jpg")
    try:
        run([*args, "-filter_complex", ";".join([*chains, stack]), "-map", "[strip]", "-frames:v", "1",
             "-q:v", "5", "-y", pathlike(part)], timeout=120, what="make the timeline thumbnails")
        jpeg = part.read_bytes()
        os.replace(part, out)
    finally:
        part.unlink(missing_ok=True)
    for old in out.parent.glob("thumbs-*.jpg"):  # earlier drafts' strips: nothing shows them any more
        if old != out:
            old.unlink(missing_ok=True)
    return jpeg


async def thumbs(request: Request) -> Response:
    engine = engine_of(request)
    user = await engine.user(request)
    session = await engine.session(user, request.path_params["session_id"])
    state = session["state"]
    draft = state.get("draft") or {}
    if not int(draft.get("d") or 0) or track(draft, VIDEO) is None:
        raise AppError(404, "nothing on the timeline to show yet", status=404)
    folder = engine.store.session_dir(session["session_id"])
    sources = frame_sources(draft, state.get("video_infos", []), folder / "media")
    out = folder / FOLDER / f"thumbs-{strip_key(sources)}.jpg"
    try:
        jpeg = await strip_bytes(sources, out, engine.media_work)
    except FFmpegError as exc:
        raise AppError(500, user_facing(str(exc), engine.config.data_dir, upload_names(state)), status=500) from None
    return Response(jpeg, media_type="image/jpeg", headers={"Cache-Control": "no-store"})
