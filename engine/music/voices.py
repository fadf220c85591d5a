"""Render one tonal note (sustain part) from a patch: oscillators, envelope, attack noise.

The caller renders one waveform per (patch, pitch, velocity layer) at the longest length
any note needs, and plays shorter notes as a prefix plus a release ramp — so a piece with
hundreds of notes renders only a few dozen waveforms.

Oscillators run on a fixed-point phase accumulator (integer multiply, shift, mask, one
table gather): an order of magnitude cheaper than float phase with float-to-int casts.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .cache import read_only
from .constants import TABLE_SIZE
from .patches import Patch
from .stream import chunks
from .tables import table

_FRAC_BITS = 20
_MASK = TABLE_SIZE - 1
_LAYER_CUTOFF = (0.65, 1.0, 1.4)
_LAYER_GAIN = (0.55, 1.0, 1.3)
_VIB_STEP = 16                      # vibrato phase is computed every this many samples


def layer_of(velocity: float, patch: Patch) -> int:
    if patch.layers == 1:
        return 1
    return 0 if velocity < 0.45 else (1 if velocity < 0.78 else 2)


def midi_hz(pitch: float) -> float:
    return 440.0 * 2.0 ** ((pitch - 69) / 12.0)


@lru_cache(maxsize=8)
def _noise(n: int) -> np.ndarray:
    return read_only(np.random.default_rng(12345).standard_normal(n).astype(np.float32))


_ramps: dict[str, np.ndarray] = {}


def _ramp(kind: str, n: int, dtype: type) -> np.ndarray:
    """Shared 0, 1, 2, ... ramps, grown on demand (sliced, never copied)."""
    have = _ramps.get(kind)
    if have is None or have.shape[0] < n:
        have = read_only(np.arange(max(n, 1 << 16), dtype=dtype))
        _ramps[kind] = have
    return have[:n]


@dataclass(frozen=True, eq=False)
class _Osc:
    table: np.ndarray
    step: int                       # fixed-point phase increment per sample
    phase: int                      # fixed-point start phase
    vib_scale: float                # fixed-point phase units per unit of vibrato offset
    gain: np.float32
    decay: np.float32 | None        # exponent per second (negative), None = sustained


def render(patch: Patch, pitch: int, layer: int, n: int, sample_rate: int, brightness: float) -> np.ndarray:
    """``n`` samples of the note held, normalised so velocity 1 peaks near 1.

    Rendered CHUNK samples at a time: a long drone then costs its own length in memory,
    not the several int64 and float temporaries per sample a one-shot render would.
    """
    capped = bool(patch.max_s) and n > int(patch.max_s * sample_rate)
    if capped:
        n = int(patch.max_s * sample_rate)
    f0 = midi_hz(pitch)
    key = 2.0 ** ((pitch - 60) / 24.0) if patch.key_decay else 1.0
    bright = 2.0 ** brightness * _LAYER_CUTOFF[layer]
    scale = TABLE_SIZE * (1 << _FRAC_BITS)
    oscs = []
    for k, osc in enumerate(patch.oscs):
        f = f0 * osc.ratio * 2.0 ** (osc.detune / 1200.0)
        if f > 0.45 * sample_rate:
            continue
        cutoff = osc.cutoff * bright if osc.cutoff else 0.0
        oscs.append(_Osc(table(osc.spectrum, round(f, 1), round(cutoff, -1), sample_rate),
                         int(round(f / sample_rate * scale)), int(0.17 * k * scale) % scale, f * scale,
                         np.float32(osc.gain * (_LAYER_GAIN[layer] if osc.bright else 1.0)),
                         np.float32(-osc.decay * key) if osc.decay else None))
    vib = _vibrato(patch, n, sample_rate) if patch.vibrato else None
    out = np.zeros(n, dtype=np.float32)
    for a, b in chunks(n):
        _oscillate(out[a:b], a, oscs, vib, sample_rate)
        env = _envelope(patch, a, b, n, sample_rate)
        if env is not None:
            out[a:b] *= env
    if patch.noise:
        m = min(n, int(8 * patch.noise_decay * sample_rate) + 1)
        seconds = _ramp("f32", m, np.float32) * np.float32(1.0 / sample_rate)
        out[:m] += patch.noise * _LAYER_GAIN[layer] * _noise(m) * np.exp(-seconds / np.float32(patch.noise_decay))
    if capped:                      # a decayed sound stops without a click
        m = min(n, int(0.1 * sample_rate))
        out[n - m:] *= np.linspace(1.0, 0.0, m, dtype=np.float32)
    return out


def _oscillate(dst: np.ndarray, start: int, oscs: list[_Osc], vib: np.ndarray | None, sample_rate: int) -> None:
    """Add every oscillator's samples ``start .. start + len(dst)`` into ``dst``."""
    c = dst.shape[0]
    seconds = (_ramp("f32", c, np.float32) + np.float32(start)) * np.float32(1.0 / sample_rate)
    for osc in oscs:
        idx = _ramp("i64", c, np.int64) + start
        idx *= osc.step
        idx += osc.phase
        if vib is not None:
            first = start // _VIB_STEP
            idx += (vib[first:first + -(-c // _VIB_STEP)] * osc.vib_scale).astype(np.int64).repeat(_VIB_STEP)[:c]
        idx >>= _FRAC_BITS
        idx &= _MASK
        wave = osc.table.take(idx)
        if osc.decay is not None:
            wave *= np.exp(osc.decay * seconds)
        wave *= osc.gain
        dst += wave


def _vibrato(patch: Patch, n: int, sample_rate: int) -> np.ndarray:
    """Phase offset in cycles per Hz of pitch, at 1/_VIB_STEP of the sample rate."""
    t = np.arange(-(-n // _VIB_STEP)) * (_VIB_STEP / sample_rate)
    depth = 2.0 ** (patch.vibrato / 1200.0) - 1.0
    ramp = np.clip((t - patch.vibrato_delay) / 0.4, 0.0, 1.0)
    rate = patch.vibrato_hz
    return ramp * depth * (1.0 - np.cos(2 * np.pi * rate * t)) / (2 * np.pi * rate)


def _envelope(patch: Patch, lo: int, hi: int, n: int, sample_rate: int) -> np.ndarray | None:
    """Samples ``lo .. hi`` of the note's attack/decay/sustain envelope (None: flat 1)."""
    a = min(int(patch.attack * sample_rate), n)
    if a <= 1 and not patch.decay:
        return None
    env = np.ones(hi - lo, dtype=np.float32)
    if 1 < a and lo < a:
        rise = np.linspace(0.0, 1.0, a, dtype=np.float32)[lo:min(a, hi)]
        env[: rise.shape[0]] = np.sin(0.5 * np.pi * rise) ** 2
    if patch.decay and hi > a:
        s = max(lo, a)
        t = (_ramp("f32", hi - s, np.float32) + np.float32(s - a)) * np.float32(1.0 / sample_rate)
        env[s - lo:] = patch.sustain + (1.0 - patch.sustain) * np.exp(-t / np.float32(patch.decay))
    return env
