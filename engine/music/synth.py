"""synthesize(): render a Score to five stereo stems and their mix.

Per note we only slice-add a cached waveform (see voices.py); everything that touches
the whole timeline (sidechain pump, stem level, reverb, the end fade) happens once per
stem. Stems carry their own share of the room, so they sum to the mix exactly.
"""
from __future__ import annotations

from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from . import constants as C
from .brief import STEMS
from .drumkit import PAN, PIECE_OF, hit
from .fx import effect, vinyl_loop
from .patches import PATCHES
from .reverb import add_reverb
from .score import Note, Part, Score
from .voices import layer_of, render


@dataclass(frozen=True, eq=False)
class Rendered:
    """Channel-first buffers (2, N); ``mix`` and ``stems`` expose them as (N, 2) views.

    Why channel-first: every note is two contiguous slice-adds, and the mastering chain
    reads whole channels; only the mastered mix is copied to interleaved (N, 2) memory.
    """

    planar_mix: np.ndarray                                        # (2, N) float32
    planar_stems: dict[str, np.ndarray] = field(default_factory=dict)
    sample_rate: int = C.SAMPLE_RATE

    @property
    def mix(self) -> np.ndarray:
        return self.planar_mix.T

    @property
    def stems(self) -> dict[str, np.ndarray]:
        return {name: buf.T for name, buf in self.planar_stems.items()}


def _pan_gains(pan: float) -> tuple[float, float]:
    theta = (min(max(pan, -1.0), 1.0) + 1.0) * np.pi / 4.0
    return float(np.cos(theta) * np.sqrt(2.0)), float(np.sin(theta) * np.sqrt(2.0))


def _add(buf: np.ndarray, start: int, wave: np.ndarray, gl: float, gr: float) -> None:
    end = min(start + len(wave), buf.shape[1])
    if end <= start:
        return
    w = wave[: end - start]
    buf[0, start:end] += gl * w
    buf[1, start:end] += gr * w


def _render_tonal(buf: np.ndarray, part: Part, notes: list[Note], sr: int, brightness: float) -> None:
    patch = PATCHES[part.patch]
    rel = max(int(patch.release * sr), 1)
    ramp = np.linspace(1.0, 0.0, rel, dtype=np.float32) ** 2
    need: dict[tuple[int, int], int] = defaultdict(int)
    for n in notes:
        k = (n.pitch, layer_of(n.velocity, patch))
        need[k] = max(need[k], int(n.duration * sr) + rel)
    waves = {k: render(patch, k[0], k[1], length, sr, brightness) for k, length in need.items()}
    gain = 10 ** (part.gain_db / 20.0)
    for n in notes:
        wave = waves[(n.pitch, layer_of(n.velocity, patch))]
        on = min(int(n.duration * sr), len(wave))
        g = gain * n.velocity ** 1.6
        spread = part.spread * float(np.clip((n.pitch - 66) / 18.0, -1.0, 1.0))
        gl, gr = _pan_gains(part.pan + spread)
        start = int(round(n.time * sr))
        _add(buf, start, wave[:on], g * gl, g * gr)
        tail = wave[on:on + rel]
        if len(tail):
            _add(buf, start + on, tail * ramp[: len(tail)], g * gl, g * gr)


def _render_drums(buf: np.ndarray, part: Part, notes: list[Note], sr: int, brightness: float) -> None:
    kit = part.patch.split(":", 1)[1]
    metal = 0.55 * (1.0 + 0.4 * brightness)        # darker pieces play their cymbals softer
    for n in notes:
        piece = PIECE_OF.get(n.pitch, "snare")
        layer = 0 if n.velocity < 0.45 else (1 if n.velocity < 0.8 else 2)
        gl, gr = _pan_gains(PAN.get(piece, 0.0))
        g = n.velocity ** 1.4 * (metal if piece in ("hat", "ohat", "shaker", "ride", "tamb") else 1.0)
        _add(buf, int(round(n.time * sr)), hit(kit, piece, layer, sr), g * gl, g * gr)


def _render_fx(buf: np.ndarray, part: Part, notes: list[Note], sr: int) -> None:
    for n in notes:
        length = max(int(n.duration * sr), 1)
        wave = effect(n.pitch, length, sr)
        _add(buf, int(round(n.time * sr)), wave, n.velocity, n.velocity)


def _render_vinyl(buf: np.ndarray, notes: list[Note], sr: int) -> None:
    loop = vinyl_loop(sr)
    for n in notes:
        start, length = int(round(n.time * sr)), int(n.duration * sr)
        bed = np.tile(loop, length // len(loop) + 1)[:length] * n.velocity
        fade = min(length // 2, int(0.5 * sr))
        if fade:
            bed[:fade] *= np.linspace(0.0, 1.0, fade, dtype=np.float32)
            bed[-fade:] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)
        _add(buf, start, bed, 0.9, 1.0)


def _pump(n: int, kicks: list[float], sr: int) -> np.ndarray:
    """Sidechain gain: duck to 35% on every kick, recover over ~180 ms."""
    env = np.ones(n, dtype=np.float32)
    length = int(0.3 * sr)
    t = np.arange(length, dtype=np.float32) / sr
    curve = 1.0 - 0.65 * np.exp(-t / 0.09) * np.minimum(1.0, t / 0.004 + 0.3)
    for k in kicks:
        s = int(k * sr)
        e = min(s + length, n)
        if e > s:
            env[s:e] = np.minimum(env[s:e], curve[: e - s])
    return env


def _active_level_db(stem: np.ndarray, sr: int) -> float | None:
    """Loudness while the stem plays: mean power of blocks within 20 dB of its loudest."""
    step = 8                                   # every 8th sample is plenty for a level
    block = int(C.STEM_BLOCK_S * sr) // step
    mono = stem[0, ::step] + stem[1, ::step]
    m = max(len(mono) // block, 1)
    sq = np.square(mono[: m * block] if len(mono) >= block else mono)
    power = sq.reshape(m, -1).sum(axis=1) / sq.shape[0] * m
    top = power.max()
    if top <= 1e-12:
        return None
    return float(10 * np.log10(power[power > top * 0.01].mean() / 4.0))


def synthesize(score: Score, sample_rate: int = C.SAMPLE_RATE) -> Rendered:
    """Render every stem (two at a time: numpy releases the GIL in the heavy loops)."""
    sr = sample_rate
    n_out = int(round(score.duration_s * sr))
    by_part: dict[str, list[Note]] = defaultdict(list)
    for note in score.notes:
        by_part[note.part].append(note)
    kicks = [nt.time for nt in score.notes if nt.pitch == 36 and score.part(nt.part).role == "drums"]
    with ThreadPoolExecutor(max_workers=C.THREADS) as pool:
        bufs = list(pool.map(lambda stem: _render_stem(stem, score, by_part, kicks, n_out, sr), STEMS))
    stems = dict(zip(STEMS, bufs))
    mix = np.zeros((2, n_out), dtype=np.float32)
    for buf in bufs:
        mix += buf
    return Rendered(planar_mix=mix, planar_stems=stems, sample_rate=sr)


def _render_stem(stem: str, score: Score, by_part: dict[str, list[Note]], kicks: list[float],
                 n_out: int, sr: int) -> np.ndarray:
    """One stem, levelled to its target, with its share of the room, faded or folded."""
    n = n_out + (int(C.LOOP_OVERHANG_S * sr) if score.loopable else 0)
    parts = [p for p in score.parts if p.stem == stem and by_part.get(p.name)]
    buf = np.zeros((2, n), dtype=np.float32)
    for part in parts:
        target = np.zeros((2, n), dtype=np.float32) if part.sidechain and kicks else buf
        notes = by_part[part.name]
        if part.role == "drums":
            _render_drums(target, part, notes, sr, score.brightness)
        elif part.role == "fx":
            _render_fx(target, part, notes, sr)
        elif part.role == "vinyl":
            _render_vinyl(target, notes, sr)
        else:
            _render_tonal(target, part, notes, sr, score.brightness)
        if target is not buf:
            target *= _pump(n, kicks, sr)
            buf += target
    level = _active_level_db(buf, sr) if parts else None
    if level is not None:
        buf *= np.float32(10 ** ((dict(score.stem_levels).get(stem, -18.0) - level) / 20.0))
        send = float(np.mean([p.send for p in parts]))
        if send > 0:
            add_reverb(buf, send, score.reverb_s, sr)
    return _finish(buf, score, n_out, sr)


def _finish(buf: np.ndarray, score: Score, n_out: int, sr: int) -> np.ndarray:
    """Fold a loop's overhang onto its start, or fade the tail to exact silence."""
    if score.loopable:
        for start in range(n_out, buf.shape[1], n_out):   # a loop shorter than the overhang wraps more than once
            seg = buf[:, start:start + n_out]
            buf[:, : seg.shape[1]] += seg
        return buf[:, :n_out]
    _fade(buf, score, sr)
    return buf


def _fade(buf: np.ndarray, score: Score, sr: int) -> None:
    """Raised-cosine fade over the end of the final chord's ring, then exact zeros."""
    n = buf.shape[1]
    end = max(n - int(C.END_SILENCE_S * sr), 1)
    if score.bars == 0:          # swell: rise over the first 40%, fall over the rest
        rise = max(int(0.4 * end), 1)
        buf[:, :rise] *= np.sin(0.5 * np.pi * np.linspace(0.0, 1.0, rise, dtype=np.float32)) ** 2
        start = rise
    else:
        start = int((score.final_chord_s + C.FADE_START_SHARE * score.tail_s) * sr)
    start = min(start, end - 1)
    length = end - start
    if length > 0:
        buf[:, start:end] *= np.cos(0.5 * np.pi * np.linspace(0.0, 1.0, length, dtype=np.float32)) ** 2
    buf[:, end:] = 0.0
