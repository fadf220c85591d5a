"""The soundtrack of a render: original sound + music, ducked under speech, mastered.

Done in numpy rather than in an ffmpeg filter graph because the numbers must be ours to
check: ducking uses the speech regions the analysis found (music −14 dB while someone
speaks, 200 ms ramps, untouched in silence; measured in the mastered soundtrack under a
real voice that holds ≥ 10 dB, as the master's limiter gives back a dB or two), fades follow the draft in milliseconds,
and the final master hits −16 LUFS with a true peak ≤ −1 dBTP (web video), measured
afterwards by ffmpeg's own EBU R128 meter in the tests.
"""
from __future__ import annotations

import contextlib
import functools
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Generator, Mapping

import numpy as np

from media.audio import kept_decode_path, stream_audio, wav_blocks
from media.paged import file_buffer, release
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


#: Frames decoded, enveloped and summed at once (a few MB; the soundtrack itself is the only full-length array).
BLOCK = 1 << 18


def _place(out: np.ndarray, blocks: Generator[np.ndarray, None, None], start: int, n: int,
           gain: Callable[[int, int], np.ndarray | float]) -> None:
    """Add the first ``n`` frames of ``blocks`` at ``start``, each times ``gain(a, b)`` for its frames [a, b).

    Frames past ``n`` or past the end of ``out`` are dropped; a clip that ends early leaves silence.
    """
    a = 0
    with contextlib.closing(blocks):         # a decode cut short stops its ffmpeg now, not at garbage collection
        for block in blocks:
            b = min(a + len(block), n, len(out) - start)
            if b <= a:
                break
            g = gain(a, b)
            piece = block[: b - a]
            if isinstance(g, np.ndarray):
                piece = piece * g[:, None]
            elif g != 1.0:
                piece = piece * g
            out[start + a:start + b] += piece
            release(out, start + a, start + b)
            a += len(block)


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
    return _Duck(n, regions, sample_rate, depth_db, ramp_s).segment(0, n)


class _Duck:
    """:func:`duck_envelope` for any span [a, b) of its samples, from the 1 kHz control curve alone."""

    control = 1000

    def __init__(self, n: int, regions: list[tuple[float, float]], sample_rate: int, depth_db: float = DUCK_DB,
                 ramp_s: float = DUCK_RAMP_S) -> None:
        self.scale = self.control / sample_rate
        self.gain: np.ndarray | None = None
        if not regions or n == 0:
            return
        from scipy.ndimage import distance_transform_edt
        control = self.control
        m = int(np.ceil(n / sample_rate * control)) + 1
        mask = np.zeros(m, dtype=bool)
        for a, b in regions:
            i, j = max(0, int(a * control)), min(m, int(np.ceil(b * control)))
            if j > i:
                mask[i:j] = True
        if not mask.any():
            return
        ramp = ramp_s * control
        dilated = distance_transform_edt(~mask) <= ramp
        mask = mask | (distance_transform_edt(dilated) > ramp)  # closing: fill gaps narrower than two ramps
        distance = distance_transform_edt(~mask)
        amount = 0.5 * (1.0 + np.cos(np.pi * np.minimum(distance / ramp, 1.0)))
        low = 10 ** (depth_db / 20)
        self.gain = 1.0 - (1.0 - low) * amount

    def segment(self, a: int, b: int) -> np.ndarray:
        if self.gain is None:
            return np.ones(b - a, dtype=np.float32)
        t = np.arange(a, b) * self.scale
        return np.interp(t, np.arange(len(self.gain)), self.gain).astype(np.float32)


def soundtrack_frames(draft: Mapping[str, Any], sample_rate: int = SAMPLE_RATE) -> int:
    """How many samples the soundtrack of ``draft`` has: known before the mix (which may pick its buffer by it)."""
    return int(round(int(draft.get("d") or 0) / 1000 * sample_rate))


def build_soundtrack(draft: Mapping[str, Any], sources: Mapping[str, Source], music_path: Callable[[str], Path],
                     speech: list[tuple[float, float]], *, sample_rate: int = SAMPLE_RATE,
                     master: Callable[[np.ndarray, int, float, float], np.ndarray] | None = None,
                     target_lufs: float = TARGET_LUFS, scratch: Path | None = None) -> np.ndarray:
    """The finished stereo soundtrack for ``draft`` (exactly ``draft.d`` long).

    Sources are decoded, enveloped and summed a block at a time: the soundtrack is the
    only full-length array (a 10-minute render held five, 1.4 GB; issue 13 item 6).
    With ``scratch`` that array lives in that file and only the block being worked on
    stays in memory (media.paged); the caller removes the file. ``master`` may work in
    place and return its argument.
    """
    total = soundtrack_frames(draft, sample_rate)
    out = np.zeros((total, 2), dtype=np.float32) if scratch is None else file_buffer(scratch, total, 2)
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
                clip = stream_audio(src.path, sample_rate, 2, BLOCK, int(seg.get("ss", 0)) / 1000,
                                    int(seg["d"]) / 1000)
                _place(out, clip, int(round(int(seg["st"]) / 1000 * sample_rate)), n, lambda a, b, v=volume: v)
        elif track.get("tt") == AUDIO and not meta.get("mute"):  # only an uploaded voice is ever muted
            volume = as_volume(meta.get("volume"))
            volume = 1.0 if volume is None else volume
            for seg in track.get("sg", []):
                start = int(round(int(seg["st"]) / 1000 * sample_rate))
                n = int(round(int(seg["d"]) / 1000 * sample_rate))
                clip = _music_clip(seg, sources, music_path, sample_rate, n)
                if clip is None:
                    continue
                fade = _Fade(n, int(int(meta.get("fade_in_ms", 0)) / 1000 * sample_rate),
                             int(int(meta.get("fade_out_ms", 0)) / 1000 * sample_rate))
                duck = None
                if meta.get("duck", True) and speech:
                    shifted = [(a - start / sample_rate, b - start / sample_rate) for a, b in speech]
                    duck = _Duck(n, [(a, b) for a, b in shifted if b > 0], sample_rate)
                _place(out, clip, start, n, functools.partial(_envelope, fade, duck, volume))
    if master is not None and _sounds(out):
        target = (draft.get("m") or {}).get("loudness", target_lufs)  # -16 web video, -14 streaming
        out = master(out, sample_rate, float(target), CEILING_DBTP)
    for a in range(0, len(out), BLOCK):
        np.clip(out[a:a + BLOCK], -1.0, 1.0, out=out[a:a + BLOCK])
        release(out, a, a + BLOCK)
    return out


def _sounds(out: np.ndarray) -> bool:
    """Whether any sample is non-zero, a block at a time (a file-backed soundtrack stays paged out)."""
    for a in range(0, len(out), BLOCK):
        found = bool(np.any(out[a:a + BLOCK]))
        release(out, a, a + BLOCK)
        if found:
            return True
    return False


def _envelope(fade: _Fade, duck: _Duck | None, volume: float, a: int, b: int) -> np.ndarray:
    env = fade.segment(a, b) * volume
    return env if duck is None else env * duck.segment(a, b)


class _Fade:
    """:func:`fade_envelope` for any span [a, b) of its samples (only the ramps are held)."""

    def __init__(self, n: int, fade_in: int, fade_out: int) -> None:
        self.n = n
        self.rise = np.linspace(0.0, 1.0, min(fade_in, n), dtype=np.float32) ** 2 if fade_in > 0 else None
        self.fall = np.linspace(1.0, 0.0, min(fade_out, n), dtype=np.float32) ** 2 if fade_out > 0 else None

    def segment(self, a: int, b: int) -> np.ndarray:
        env = np.ones(b - a, dtype=np.float32)
        if self.rise is not None and a < len(self.rise):
            env[: min(b, len(self.rise)) - a] *= self.rise[a:b]
        if self.fall is not None:
            first = self.n - len(self.fall)
            if b > first:
                lo = max(a, first)
                env[lo - a:] *= self.fall[lo - first:b - first]
        return env


def _music_clip(seg: Mapping[str, Any], sources: Mapping[str, Source], music_path: Callable[[str], Path],
                sample_rate: int, n: int) -> Generator[np.ndarray, None, None] | None:
    """The segment's sound as stereo blocks, or ``None`` when it has none."""
    src = str(seg.get("src", ""))
    if src.startswith("music:"):
        path = music_path(src.split(":", 1)[1])
        if not path.is_file():
            raise FileNotFoundError(f"music {src} has not been composed yet")
        rate, blocks = wav_blocks(path, BLOCK)
        if rate != sample_rate:
            raise ValueError(f"music {src} is at {rate} Hz, expected {sample_rate}")
        return (b[:, :2] if b.shape[1] >= 2 else np.repeat(b, 2, axis=1) for b in blocks)
    source = sources.get(src)
    if source is None or not source.has_audio:
        return None
    return stream_audio(source.path, sample_rate, 2, BLOCK, int(seg.get("ss", 0)) / 1000, n / sample_rate)


def drop_kept_decodes(sources: Mapping[str, Source]) -> None:
    """Remove the sound of ``sources`` decoded ahead for the mix (``media.audio.keep_decode``): once a mix
    has used it, a later one decodes again (0.2 s a minute) rather than a kept project holding 23 MB a minute."""
    for source in sources.values():
        if source.has_audio:
            kept_decode_path(source.path, SAMPLE_RATE, 2).unlink(missing_ok=True)


def sources_from_infos(infos: list[dict[str, Any]], media_dir: str | os.PathLike[str]) -> dict[str, Source]:
    return {i["file_id"]: Source(path=os.path.join(media_dir, i["stored_as"]), kind=i["file_type"],
                                 has_audio=bool(i.get("has_audio")), duration_s=i.get("duration"))
            for i in infos}
