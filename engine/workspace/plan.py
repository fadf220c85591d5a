"""``GET /api/fit/{session_id}/picture.png``: the fit picture of a project, as a PNG.

What "show me how the music fits" links and ``ai-music run --plan`` saves: the draft's
generated music (its sections, beats, hits and key, as the composer described them) on
the music's own time axis, with the picture's scene cuts, the speech regions and the
ducking over them, a dozen frames of the video, and the composed piece's loudness
(``engine.export.fit_picture`` draws it). Every input is something the engine already
has: the facts in the draft, the analyses, the workspace's thumbnail strip (made once,
cached) and the composed WAV. An embedded-engine endpoint: the cloud does not draw it. It
lives beside the workspace's calls because it draws from theirs (``engine.api`` may not import
``engine.workspace``: the workspace builds on the API's envelope).
"""
from __future__ import annotations

import io
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image
from protocol.codes import AppCode
from protocol.draft import VIDEO, music_track, track
from starlette.requests import Request
from starlette.responses import Response

from engine.api.envelope import AppError, engine_of
from engine.user_text import upload_names, user_facing
from engine.workspace.fit import fit_facts
from engine.workspace.thumbs import FOLDER, TILE_W, TILES, frame_sources, strip_bytes, strip_key
from media.ffmpeg import FFmpegError

if TYPE_CHECKING:
    from engine.export.fit_picture import FitPicture

SIZE = (1600, 900)       # fixed: one picture costs the same whatever the video
LOUDNESS_POINTS = 1600   # the loudness curve's blocks at most: one per pixel of the picture's width
log = logging.getLogger(__name__)
NO_MUSIC = "there is no generated music in this project yet: ask for music first (e.g. \"add calm piano music\")"


def music_facts(state: dict[str, Any]) -> tuple[dict[str, Any], float, str] | None:
    """The draft's generated music as composed: (Music.describe() facts, its start on the timeline
    in seconds, its cache key); None before any music was composed for it."""
    music = music_track(state.get("draft") or {})
    if music is None or (music.get("m") or {}).get("kind") != "bgm" or not music.get("sg"):
        return None
    resolved = ((music["m"].get("music") or {}).get("resolved"))
    seg = music["sg"][0]
    src = str(seg.get("src") or "")
    if not isinstance(resolved, dict) or not resolved.get("duration_s") or not src.startswith("music:"):
        return None
    return resolved, int(seg.get("st") or 0) / 1000, src.removeprefix("music:")


def build_picture(state: dict[str, Any], facts: dict[str, Any], start_s: float, wav: Path | None,
                  strip: bytes | None) -> "FitPicture":
    """Draw the picture, in the music's time (0 is where the music starts on the timeline)."""
    from engine.export.fit_picture import draw_fit_picture

    fit = fit_facts(state)
    cuts = [c - start_s for c in fit["cuts"]]
    speech = [(a - start_s, b - start_s) for a, b in fit["speech"] if b > start_s]
    thumbnails = []
    if strip is not None:
        with Image.open(io.BytesIO(strip)) as im:
            whole = im.convert("RGB")
        tile_h = whole.height
        for k in range(min(TILES, whole.width // TILE_W)):
            at = (k + 0.5) * fit["duration_s"] / TILES - start_s
            if 0 <= at <= float(facts["duration_s"]):
                thumbnails.append((at, whole.crop((k * TILE_W, 0, (k + 1) * TILE_W, tile_h))))
    loudness, rate = wav_loudness(wav, float(facts["duration_s"])) if wav is not None else (None, 2.5)
    return draw_fit_picture(facts, cuts=cuts, speech=speech, thumbnails=thumbnails, loudness=loudness,
                            loudness_rate=rate, target_lufs=float(facts.get("lufs") or -16.0), size=SIZE)


def wav_loudness(wav: Path, duration_s: float) -> tuple[np.ndarray | None, float]:
    """The piece's level in dB per block and the blocks per second (``fit_picture.loudness_curve``'s measure),
    read a block at a time: an hour of music costs one block of memory, and at most LOUDNESS_POINTS blocks
    (the picture is not wider than that). (None, …) when the file cannot be read: drawn without the curve."""
    from media.audio import wav_blocks

    window_s = max(0.4, duration_s / LOUDNESS_POINTS)
    try:
        sample_rate, blocks = wav_blocks(wav, max(1, int(window_s * 48_000)))
        levels = []
        for block in blocks:
            mono = block.mean(axis=1) if block.ndim == 2 else block
            levels.append(10 * np.log10(float(np.mean(np.square(mono, dtype=np.float64))) + 1e-10))
    except Exception as exc:  # noqa: BLE001 - a damaged file (the readers raise many kinds): no curve, no failure
        log.warning("the fit picture is drawn without the loudness curve: %s", exc)
        return None, 2.5
    return (np.asarray(levels) if levels else None), sample_rate / max(1, int(window_s * 48_000))


def picture_png(state: dict[str, Any], facts: dict[str, Any], start_s: float, wav: Path | None,
                strip: bytes | None) -> bytes:
    out = io.BytesIO()
    build_picture(state, facts, start_s, wav, strip).image.save(out, format="PNG")
    return out.getvalue()


async def fit_picture(request: Request) -> Response:
    engine = engine_of(request)
    user = await engine.user(request)
    session = await engine.session(user, request.path_params["session_id"])
    state = session["state"]
    found = music_facts(state)
    if found is None:
        own = music_track(state.get("draft") or {})
        if own is not None and (own.get("m") or {}).get("kind") == "upload":  # "ask for music first" would be wrong
            raise AppError(AppCode.CONFLICT, f"the music is your own {own['m'].get('name') or 'upload'}: the fit "
                           "picture shows how a composed piece fits, and none was composed", status=409)
        raise AppError(AppCode.CONFLICT, NO_MUSIC, status=409)
    facts, start_s, key = found
    draft = state.get("draft") or {}
    strip = None
    if int(draft.get("d") or 0) and track(draft, VIDEO) is not None:
        folder = engine.store.session_dir(session["session_id"])
        sources = frame_sources(draft, state.get("video_infos", []), folder / "media")
        try:  # the workspace's strip: one ffmpeg for all twelve frames, cached with the project
            strip = await strip_bytes(sources, folder / FOLDER / f"thumbs-{strip_key(sources)}.jpg",
                                      engine.media_work)
        except FFmpegError as exc:
            raise AppError(500, user_facing(str(exc), engine.config.data_dir, upload_names(state)),
                           status=500) from None
    wav = engine.music_path(key)
    png = await engine.media_work.run(lambda: picture_png(state, facts, start_s, wav, strip))
    return Response(png, media_type="image/png", headers={"Cache-Control": "no-store"})
