"""What the music must fit: the video analysis, mapped onto the edited timeline.

Analyses are per uploaded file (source time). The music plays on the timeline, after
trims, joins and a possible late start. So scene cuts, the energy curve and speech
regions are mapped through the video segments (a join between two clips is a cut too)
and then cut to the window the music occupies.
"""
from __future__ import annotations

import hashlib
import json
from typing import Any, Mapping

import numpy as np

from protocol.draft import AUDIO, VIDEO, VOICE, track

ENERGY_RATE = 2.0


def timeline_cues(draft: dict[str, Any], analyses: dict[str, dict[str, Any]], music_start_ms: int,
                  music_duration_ms: int) -> dict[str, Any]:
    """Cuts, energy, pace and speech inside the music's window, in the music's time (s)."""
    window_start = music_start_ms / 1000
    window_end = window_start + music_duration_ms / 1000
    cuts: list[float] = []
    speech = speech_on_timeline(draft, analyses)
    energy_points: list[tuple[float, float]] = []
    paces: list[tuple[float, float]] = []
    video = track(draft, VIDEO)
    for index, seg in enumerate(video.get("sg", []) if video else []):
        st, d, ss = int(seg["st"]) / 1000, int(seg["d"]) / 1000, int(seg.get("ss", 0)) / 1000
        if index > 0:
            cuts.append(st)
        info = analyses.get(seg.get("src"), {})
        for cut in info.get("scene_cuts", []):
            if ss < cut < ss + d:
                cuts.append(st + cut - ss)
        rate = float(info.get("energy_rate") or ENERGY_RATE)
        for i, value in enumerate(info.get("energy", [])):
            t = i / rate
            if ss <= t < ss + d:
                energy_points.append((st + t - ss, float(value)))
        if info:
            paces.append((d, float(info.get("pace", 0.5))))
    in_window = [round(c - window_start, 3) for c in sorted(set(cuts)) if window_start < c < window_end]
    speech_window = [(round(max(a, window_start) - window_start, 3), round(min(b, window_end) - window_start, 3))
                     for a, b in speech if b > window_start and a < window_end]
    steps = int(music_duration_ms / 1000 * ENERGY_RATE)
    energy = _nearest_energy(energy_points, window_start + np.arange(steps) / ENERGY_RATE)
    total = sum(d for d, _ in paces)
    pace = sum(d * p for d, p in paces) / total if total else 0.5
    return {"duration_s": music_duration_ms / 1000, "cuts": in_window, "energy": energy,
            "energy_rate": ENERGY_RATE, "pace": round(pace, 3), "speech": speech_window}


def _nearest_energy(points: list[tuple[float, float]], times: np.ndarray) -> list[float]:
    """The energy sample nearest each of ``times`` (vectorised: a 3-hour video has 21,600 of each)."""
    if not points or not len(times):
        return []
    points.sort()
    at = np.array([p[0] for p in points])
    values = np.array([p[1] for p in points])
    right = np.clip(np.searchsorted(at, times), 0, len(at) - 1)
    left = np.clip(right - 1, 0, len(at) - 1)
    nearest = np.where(np.abs(at[left] - times) <= np.abs(at[right] - times), left, right)
    return [round(float(v), 3) for v in values[nearest]]


def cues_key(cues: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(cues, sort_keys=True).encode()).hexdigest()[:16]


def speech_on_timeline(draft: Mapping[str, Any], analyses: Mapping[str, Any]) -> list[tuple[float, float]]:
    """Speech regions of the original audio (a video's, or an audio-only upload's), in timeline seconds
    (muted tracks have none)."""
    regions: list[tuple[float, float]] = []
    for tr in draft.get("t", []):
        own = tr.get("tt") == VIDEO or (tr.get("tt") == AUDIO and tr.get("m", {}).get("kind") == VOICE)
        if not own or tr.get("m", {}).get("mute"):
            continue
        for seg in tr.get("sg", []):
            info = analyses.get(seg.get("src"), {})
            st, d, ss = int(seg["st"]) / 1000, int(seg["d"]) / 1000, int(seg.get("ss", 0)) / 1000
            for a, b in info.get("speech", []):
                a2, b2 = max(a, ss), min(b, ss + d)
                if b2 > a2:
                    regions.append((st + a2 - ss, st + b2 - ss))
    return regions
