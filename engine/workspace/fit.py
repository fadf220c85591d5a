"""``GET /workspace/api/fit/{session_id}``: the fit facts the draft does not spell out, in timeline time.

The page draws the music (sections, beats, fills, hits) and the titles from the draft
itself; what needs the engine's own rules is computed here, by the same functions the
music and the mix use: the cuts on the timeline (scene cuts of the shown part of each
clip, and the joins between clips), the speech regions, and the music's gain under them
(the ducking curve, in dB, as the mix applies it).
"""
from __future__ import annotations

from typing import Any

import numpy as np
from protocol.draft import music_track
from starlette.requests import Request
from starlette.responses import Response

from engine.analysis.cues import speech_on_timeline, timeline_cues
from engine.api.envelope import engine_of, ok
from engine.export.mix import duck_envelope

CURVE_RATE = 20  # points per second: smooth at any width the page draws


def fit_facts(state: dict[str, Any]) -> dict[str, Any]:
    draft = state.get("draft") or {}
    duration_ms = int(draft.get("d") or 0)
    if not duration_ms:
        return {"duration_s": 0, "cuts": [], "speech": [], "duck": []}
    analyses = state.get("video_analyses", {})
    speech = speech_on_timeline(draft, analyses)
    out = {"duration_s": duration_ms / 1000, "cuts": timeline_cues(draft, analyses, 0, duration_ms)["cuts"],
           "speech": [[round(a, 3), round(b, 3)] for a, b in speech], "duck": []}
    music = music_track(draft)
    if music is not None and (music.get("m") or {}).get("duck", True) and speech:
        for seg in music.get("sg", []):
            start, seconds = int(seg["st"]) / 1000, int(seg["d"]) / 1000
            n = int(seconds * CURVE_RATE) + 1
            gain = duck_envelope(n, [(a - start, b - start) for a, b in speech if b > start], CURVE_RATE)
            db = 20 * np.log10(np.maximum(gain, 1e-4))
            out["duck"].append([[round(start + i / CURVE_RATE, 3), round(float(v), 2)] for i, v in enumerate(db)])
    return out


async def fit(request: Request) -> Response:
    engine = engine_of(request)
    user = await engine.user(request)
    session = await engine.session(user, request.path_params["session_id"])
    return ok(fit_facts(session["state"]))
