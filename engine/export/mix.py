"""The soundtrack of a render: original sound + music, ducked under speech, mastered.

Done in numpy rather than in an ffmpeg filter graph because the numbers must be ours to
check: ducking uses the speech regions the analysis found (music −14 dB while someone
speaks, 200 ms ramps, untouched in silence; measured in the mastered soundtrack under a
real voice that holds ≥ 10 dB, as the master's limiter gives back a dB or two), fades follow the draft in milliseconds,
and the final master hits −16 LUFS with a true peak ≤ −1 dBTP (web video), measured
afterwards by ffmpeg's own EBU R128 meter in the tests.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np

from media.audio import decode_audio, read_wav
from engine.music.constants import SAMPLE_RATE
from protocol.draft import AUDIO, VIDEO, as_volume

DUCK_DB = -14.0
DUCK_RAMP_S = 0.2
TARGET_LUFS = -16.0
CEILING_DBTP = -1.0


@dataclass(frozen=True)
class Source:
    """An uploaded file the draft refers to."""

    path: str
    kind: str          # video | image | audio
    has_audio: bool
    duration_s: float | None


def _place(out: np.ndarray, clip: np.ndarray, start: int, gain: float | np.ndarray = 1.0) -> None:
    if start >= len(out) or len(clip) == 0:
        return
    end = min(len(out), start + len(clip))
    piece = clip[: end - start]
    if isinstance(gain, np.ndarray):
        piece = piece * gain[: end - start, None]
    elif gain != 1.0:
        piece = piece * gain
    out[start:end] += piece


def _fit_length(clip: np.ndarray, n: int) -> np.ndarray:
    if len(clip) >= n:
        return clip[:n]
    return np.concatenate([clip, np.zeros((n - len(clip), clip.shape[1]), dtype=clip.dtype)])


def fade_envelope(n: int, fade_in: int, fade_out: int) -> np.ndarray:
    env = np.ones(n, dtype=np.float32)
    if fade_in > 0:
        k = min(fade_in, n)
        env[:k] *= np.linspace(0.0, 1.0, k, dtype=np.float32) ** 2
    if fade_out > 0:
        k = min(fade_out, n)
        env[n - k:] *= np.linspace(1.0, 0.0, k, dtype=np.float32) ** 2
    return env


def duck_envelope(n: int, regions: list[tuple[float, float]], sample_rate: int, depth_db: float = DUCK_DB,
                  ramp_s: float = DUCK_RAMP_S) -> np.ndarray:
    """Gain per sample: 1 away from speech, ``depth_db`` during it, raised-cosine ramps.

    The attack ramp ends as speech starts (the first syllable is already clear) and the
    release starts as it ends; gaps shorter than two ramps stay ducked, so the music does
    not pump between words. Computed at a 1 kHz control rate, then interpolated.
    """
    if not regions or n == 0:
        return np.ones(n, dtype=np.float32)
    from scipy.ndimage import distance_transform_edt

    control = 1000
    m = int(np.ceil(n / sample_rate * control)) + 1
    mask = np.zeros(m, dtype=bool)
    for a, b in regions:
        i, j = max(0, int(a * control)), min(m, int(np.ceil(b * control)))
        if j > i:
            mask[i:j] = True
    if not mask.any():
        return np.ones(n, dtype=np.float32)
    ramp = ramp_s * control
    dilated = distance_transform_edt(~mask) <= ramp
    mask = mask | (distance_transform_edt(dilated) > ramp)  # closing: fill gaps narrower than two ramps
    distance = distance_transform_edt(~mask)
    amount = 0.5 * (1.0 + np.cos(np.pi * np.minimum(distance / ramp, 1.0)))
    low = 10 ** (depth_db / 20)
    control_gain = 1.0 - (1.0 - low) * amount
    t = np.arange(n) * (control / sample_rate)
    return np.interp(t, np.arange(m), control_gain).astype(np.float32)


def build_soundtrack(draft: Mapping[str, Any], sources: Mapping[str, Source], music_path: Callable[[str], Path],
                     speech: list[tuple[float, float]], *, sample_rate: int = SAMPLE_RATE,
                     master: Callable[[np.ndarray, int, float, float], np.ndarray] | None = None,
                     target_lufs: float = TARGET_LUFS) -> np.ndarray:
    """The finished stereo soundtrack for ``draft`` (exactly ``draft.d`` long)."""
    total = int(round(int(draft.get("d") or 0) / 1000 * sample_rate))
    out = np.zeros((total, 2), dtype=np.float32)
    for track in draft.get("t", []):
        meta = track.get("m", {})
        if track.get("tt") == VIDEO and not meta.get("mute"):
            volume = as_volume(meta.get("volume"))
            volume = 1.0 if volume is None else volume
            for seg in track.get("sg", []):
                src = sources.get(seg.get("src", ""))
                if src is None or not src.has_audio or volume == 0:
                    continue
                n = int(round(int(seg["d"]) / 1000 * sample_rate))
                clip = decode_audio(src.path, sample_rate, 2, start_s=int(seg.get("ss", 0)) / 1000,
                                    duration_s=int(seg["d"]) / 1000)
                _place(out, _fit_length(clip, n), int(round(int(seg["st"]) / 1000 * sample_rate)), volume)
        elif track.get("tt") == AUDIO:
            volume = as_volume(meta.get("volume"))
            volume = 1.0 if volume is None else volume
            for seg in track.get("sg", []):
                start = int(round(int(seg["st"]) / 1000 * sample_rate))
                n = int(round(int(seg["d"]) / 1000 * sample_rate))
                clip = _music_clip(seg, sources, music_path, sample_rate, n)
                if clip is None:
                    continue
                env = fade_envelope(n, int(int(meta.get("fade_in_ms", 0)) / 1000 * sample_rate),
                                    int(int(meta.get("fade_out_ms", 0)) / 1000 * sample_rate)) * volume
                if meta.get("duck", True) and speech:
                    shifted = [(a - start / sample_rate, b - start / sample_rate) for a, b in speech]
                    env = env * duck_envelope(n, [(a, b) for a, b in shifted if b > 0], sample_rate)
                _place(out, clip, start, env)
    if master is not None and np.any(out):
        target = (draft.get("m") or {}).get("loudness", target_lufs)  # -16 web video, -14 streaming
        out = master(out, sample_rate, float(target), CEILING_DBTP)
    return np.clip(out, -1.0, 1.0)


def _music_clip(seg: Mapping[str, Any], sources: Mapping[str, Source], music_path: Callable[[str], Path],
                sample_rate: int, n: int) -> np.ndarray | None:
    src = str(seg.get("src", ""))
    if src.startswith("music:"):
        path = music_path(src.split(":", 1)[1])
        if not path.is_file():
            raise FileNotFoundError(f"music {src} has not been composed yet")
        audio, rate = read_wav(path)
        if rate != sample_rate:
            raise ValueError(f"music {src} is at {rate} Hz, expected {sample_rate}")
        audio = audio[:, :2] if audio.shape[1] >= 2 else np.repeat(audio, 2, axis=1)
        return _fit_length(audio, n)
    source = sources.get(src)
    if source is None or not source.has_audio:
        return None
    clip = decode_audio(source.path, sample_rate, 2, start_s=int(seg.get("ss", 0)) / 1000, duration_s=n / sample_rate)
    return _fit_length(clip, n)


def sources_from_infos(infos: list[dict[str, Any]], media_dir: str | os.PathLike[str]) -> dict[str, Source]:
    return {i["file_id"]: Source(path=os.path.join(media_dir, i["stored_as"]), kind=i["file_type"],
                                 has_audio=bool(i.get("has_audio")), duration_s=i.get("duration"))
            for i in infos}
