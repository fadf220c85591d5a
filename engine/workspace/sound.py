"""The project's new soundtrack for the page: the audio itself and its waveform.

Both come from the soundtrack the engine prepares after every edit (engine.export.soundtrack:
music and the clips' own sound, mixed, ducked and mastered) — the very file an export
muxes — so the page plays and draws what the download will carry. A request made while
it is still being mixed waits for it.

- ``GET /workspace/api/soundtrack/{session_id}``: the M4A (AAC), played by the page's preview
  in step with the video, against the original sound (A/B);
- ``GET /workspace/api/waveform/{session_id}?columns=N``: its peak level per column (0..1) —
  a few kilobytes of JSON, drawn under the timeline.
"""
from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import numpy as np
from starlette.requests import Request
from starlette.responses import FileResponse, Response

from engine.api.envelope import AppError, engine_of, ok
from engine.user_text import upload_names, user_facing
from media.audio import decode_audio
from media.ffmpeg import FFmpegError

WAIT_S = 300.0          # a long piece on a loaded machine mixes for a while
PEAK_RATE = 8000        # Hz: plenty for peaks a few hundred columns wide
COLUMNS = (50, 600, 2000)  # least, default, most


async def _soundtrack(request: Request) -> tuple[Path, dict[str, Any]]:
    engine = engine_of(request)
    user = await engine.user(request)
    session = await engine.session(user, request.path_params["session_id"])
    pending = engine.renders.soundtrack_of(session)
    if pending is None:
        raise AppError(404, "nothing sounds on the timeline yet", status=404)
    try:
        # shielded: giving up here must not cancel the shared future a render may be waiting on
        path = await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(pending)), WAIT_S)
    except asyncio.TimeoutError:
        raise AppError(503, "the soundtrack is still being mixed; try again in a moment", status=503,
                       retry_after=5) from None
    except Exception as exc:  # noqa: BLE001 - the mix's own failure, in the user's words
        raise AppError(500, user_facing(str(exc), engine.config.data_dir, upload_names(session["state"])),
                       status=500) from None
    if not path.is_file():  # tidied away since it was mixed: the next request mixes it again
        raise AppError(503, "the soundtrack is being mixed again; try again in a moment", status=503, retry_after=5)
    return path, session


def peaks(samples: np.ndarray, columns: int) -> list[float]:
    """The loudest sample of each of ``columns`` equal slices (0..1), for a waveform drawing."""
    mono = np.abs(samples.reshape(-1))
    if not mono.size:
        return [0.0] * columns
    # at most full scale: an AAC decode overshoots a −1 dBTP master's peaks a little, and a drawing
    # has no room above its top
    return [round(min(float(part.max()), 1.0) if part.size else 0.0, 3) for part in np.array_split(mono, columns)]


async def soundtrack(request: Request) -> Response:
    path, _ = await _soundtrack(request)
    return FileResponse(path, media_type="audio/mp4", headers={"Cache-Control": "no-store"})


async def waveform(request: Request) -> Response:
    try:
        columns = int(request.query_params.get("columns", COLUMNS[1]))
    except ValueError:
        raise AppError(400, "columns must be a whole number", status=400) from None
    columns = min(max(columns, COLUMNS[0]), COLUMNS[2])
    path, session = await _soundtrack(request)
    try:  # on the workspace's own bounded pool: a decode of a long piece takes a while
        samples = await engine_of(request).media_work.run(
            lambda: decode_audio(path, sample_rate=PEAK_RATE, channels=1))
    except (FFmpegError, OSError):  # removed or cut short meanwhile: as when it is missing
        raise AppError(503, "the soundtrack is being mixed again; try again in a moment", status=503,
                       retry_after=5) from None
    duration_s = int((session["state"].get("draft") or {}).get("d") or 0) / 1000
    return ok({"duration_s": duration_s, "columns": columns,
               "peaks": peaks(samples[: int(duration_s * PEAK_RATE)], columns)})
