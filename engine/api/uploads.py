"""``/api/upload-video``: receive files or URLs, probe them, store them under their hash.

Receiving (multipart streamed to disk, URL fetches) is ``engine.api.receive``; this module
decides what is acceptable media and adds it to the session.
"""
from __future__ import annotations

import asyncio
import errno
import os
from pathlib import Path
from typing import Any, Callable

from protocol.codes import AppCode
from starlette.requests import Request
from starlette.responses import Response

from engine.api.connection_limits import BodyStalled, ClientGone, idle_limited, until_disconnected
from engine.api.envelope import AppError, base_url as _base, engine_of, ok
from engine.api.project import public_info
from engine.api.receive import UploadRefused, discard_all, receive_multipart, receive_urls
from engine.chat.edits import Editor
from engine.config import EngineConfig
from engine.store import StoreError

FORMATS = {"video": ("mp4", "mov", "avi", "webm", "mkv"), "image": ("jpg", "jpeg", "png", "gif", "webp"),
           "audio": ("mp3", "wav", "m4a", "aac")}

#: Less than this share of what the header promises can be played: refuse (the rest is missing).
MOSTLY_MISSING = 0.5


#: What to do about a file of an accepted format that cannot be used as it is.
AGAIN = "Check that it plays on your computer, then export or download it again and send the new copy."


def kind_of(extension: str) -> str | None:
    return next((kind for kind, exts in FORMATS.items() if extension in exts), None)


async def upload(request: Request) -> Response:
    engine = engine_of(request)
    config = engine.config
    user = await engine.user(request)
    session = await engine.session(user, request.path_params["session_id"], request.path_params["user_id"])
    folder = engine.store.session_dir(session["session_id"]) / "media"
    content_type = request.headers.get("content-type", "")
    limit = config.max_upload_bytes
    try:
        if content_type.startswith("multipart/"):
            declared = request.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > limit + 64 * 1024:
                raise UploadRefused(AppCode.FILE_TOO_LARGE, f"file too large: the limit is {limit // (1024 * 1024)} MB")
            received = await receive_multipart(idle_limited(request.stream(), config.body_idle_s), content_type,
                                               folder, limit, full=lambda: engine.faults.disk_full)
        else:
            body = await engine.json_body(request)
            urls = body.get("urls")
            if not isinstance(urls, list) or not urls or len(urls) > 20:
                raise UploadRefused(AppCode.BAD_REQUEST, "send multipart 'files', or JSON {\"urls\": [...], \"source_type\": \"url\"}")
            received = await until_disconnected(request.receive, receive_urls(
                urls, folder, limit, config.allowed_url_hosts, local_files=config.local_files))
    except UploadRefused as exc:
        raise AppError(exc.code, str(exc)) from None
    except ClientGone:  # the fetch was cancelled and its partial file removed: stop downloading for nobody
        return Response(status_code=499)
    except BodyStalled as exc:  # its temp file is gone already (receive_multipart cleans up)
        raise AppError(AppCode.BAD_REQUEST, str(exc), status=408) from None
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise StoreError("the engine's disk is full; free some space and try again") from None
        raise
    if not received:
        raise AppError(AppCode.BAD_REQUEST, "no files in the upload: send them in multipart fields named 'files'")
    infos = []
    try:
        for item in received:
            infos.append(await asyncio.get_running_loop().run_in_executor(
                None, _accept, item, folder, config))
    except BaseException:
        discard_all(received)
        raise

    def apply(stored: dict[str, Any]) -> list[dict[str, Any]]:
        editor = Editor(stored)
        out = []
        for info in infos:
            existing = next((i for i in stored["state"]["video_infos"] if i["file_id"] == info["file_id"]), None)
            if existing is None:
                stored["state"]["video_infos"].append(info)
                existing = info
            elif existing["stored_as"] != info["stored_as"]:  # the same bytes under another extension
                (folder / info["stored_as"]).unlink(missing_ok=True)
            editor.add_upload(existing)
            out.append(existing)
        return out

    applied = await engine.store.call(engine.store.update_session, session["session_id"], apply)
    if engine.objects is not None:  # for workers without the data dir (engine.object_store)
        for info in applied:
            await asyncio.get_running_loop().run_in_executor(None, engine.objects.put, folder / info["stored_as"])
    for info in applied:
        if info["file_type"] in ("video", "audio"):
            engine.start_analysis(session["session_id"], info, folder / info["stored_as"])
    return ok({"files": [public_info(i, _base(request), session["session_id"]) for i in applied],
               "session_state_applied": True})


def unusable(message: str) -> AppError:
    """A refusal of a file whose format is accepted: the file itself is the problem (damaged, cut off,
    no picture in a video), so the client says what to do without the list of accepted formats
    (``data.format_accepted``, read by ``skill.errors.guidance``)."""
    return AppError(AppCode.UNSUPPORTED_FILE, message, data={"format_accepted": True})


def _accept(item: Any, folder: Path, config: EngineConfig) -> dict[str, Any]:
    """Probe an upload, refuse what isn't acceptable media, store it under its hash.

    Every message names the user's file (``item.filename``), never the temp file it sits in.
    A file whose data stops short of what its header promises (an interrupted upload or
    copy) is refused when most of it is missing, and otherwise taken at the length that
    really plays, with a ``warning`` saying so — a render never pads a cut-off file with a
    frozen frame.
    """
    from media.ffmpeg import FFmpegError
    from media.probe import ProbeError, playable_seconds, probe

    kind = kind_of(item.extension)
    name = item.filename
    if kind is None:
        accepted = ", ".join(e for exts in FORMATS.values() for e in exts)
        raise AppError(AppCode.UNSUPPORTED_FILE, f"unsupported file type '.{item.extension or '?'}' ({name}); accepted: {accepted}")
    if item.size == 0:
        raise AppError(AppCode.UNSUPPORTED_FILE, f"{name} is empty")
    try:
        info = probe(item.path, timeout=10.0)
    except ProbeError as exc:
        raise unusable(f"{name} cannot be read: it looks damaged ({exc.reason}). {AGAIN}") from None
    except FFmpegError:
        raise unusable(f"{name} could not be read in time (damaged or unusual file?); "
                       "try exporting it again as MP4") from None
    if kind == "video" and info.video is None:
        raise unusable(f"{name} has no picture in it (damaged, or only sound?). {AGAIN}")
    if kind in ("video", "image") and (info.video is None or not info.video.width or not info.video.height):
        raise unusable(f"{name}: could not read the picture size (damaged or unusual file?). {AGAIN}")
    if kind == "audio" and info.audio is None:
        raise unusable(f"{name} has no sound in it (damaged?). {AGAIN}")
    if info.video is not None and info.video.width * info.video.height > config.max_media_pixels:
        raise unusable(f"{name}: {info.video.width}x{info.video.height} is larger than the engine handles (8192x8192); "
                       "export it smaller")
    if info.duration_s and info.duration_s > config.max_media_seconds:
        raise AppError(AppCode.FILE_TOO_LARGE, f"{name} is {info.duration_s / 3600:.1f} h long; trim it to under "
                             f"{config.max_media_seconds / 3600:g} h")
    duration, warning = info.duration_s, None
    if kind in ("video", "audio"):
        duration, warning = _playable(name, info, playable_seconds)
    if duration and duration > config.max_media_seconds:
        raise AppError(AppCode.FILE_TOO_LARGE, f"{name} is {duration / 3600:.1f} h long; trim it to under "
                             f"{config.max_media_seconds / 3600:g} h")
    stored_as = f"{item.sha256[:20]}.{item.extension}"
    target = folder / stored_as
    if target.exists():
        item.path.unlink(missing_ok=True)
    else:
        os.replace(item.path, target)
    width, height = info.video.display_size if info.video else (None, None)
    accepted = {"file_id": f"file_{item.sha256[:16]}", "filename": name, "file_type": kind,
                "stored_as": stored_as, "duration": duration, "width": width, "height": height,
                "fps": info.video.fps if info.video else None, "hash": item.sha256, "has_audio": info.has_audio,
                "size": item.size}
    if warning:
        accepted["warning"] = warning
    return accepted


def _playable(name: str, info: Any, measure: Callable[..., float | None]) -> tuple[float, str | None]:
    """The length to use for a video or audio upload, and a warning when part of it is missing."""
    from media.ffmpeg import FFmpegError

    promised = info.duration_s
    try:
        played = measure(info)
    except FFmpegError:
        played = None
    if played is None or played <= 0:
        if promised and promised > 0:
            return promised, None
        raise unusable(f"{name}: nothing in it can be played (damaged file?). {AGAIN}")
    if not promised or promised <= 0:  # no length in the header (a browser recording): what plays is the length
        return round(played, 3), None
    if played < MOSTLY_MISSING * promised:
        raise unusable(f"{name} is incomplete: only {played:.1f} s of its {promised:.1f} s can be played "
                       "(the file was cut off while uploading or copying); send the whole file again")
    if promised - played > max(1.0, 0.02 * promised):
        return round(played, 3), (f"{name} ends early: {played:.1f} s of its {promised:.1f} s can be played, "
                                   f"the rest is missing; the video will be {played:.1f} s long")
    return promised, None
