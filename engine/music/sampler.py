"""Play one note of a recorded instrument: pitch-shifted, looped, drifting, in stereo.

A note reads its region(s) through a moving read position: the ratio of rates, the
interval to the recorded root, and a pitch curve in cents that players never hold still
(slow drift, plus vibrato on instruments that use it). Mono recordings of ensembles
(choir, pads) play as two voices with their own drift, one per side: the width comes
from the performance, not from a panner.

Rendered CHUNK samples at a time with the read position carried over, so a long held
note costs its own length in memory, not several float64 temporaries of it.
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from . import sample_bank
from .cache import read_only
from .constants import CHUNK
from .stream import chunks

_STEP = 128                                 # pitch curve control rate: one value per this many samples
OPEN_DARK_HZ = 9000.0                       # open voicings in a darker piece: this corner, an octave down per 0.5 below 0
_TONE_STEPS = 3                             # filter positions a velocity maps to (each is its own rendering)


@dataclass(frozen=True)
class Voicing:
    """How we play a sampled instrument (the font gives the recordings, this the performance)."""

    source: str                 # instrument in the sample bank
    attack: float = 0.002       # extra fade-in (s) on top of the recording's own attack
    drift_cents: float = 3.0    # slow pitch wander, peak
    vibrato_cents: float = 0.0
    vibrato_hz: float = 5.0
    vibrato_delay: float = 0.35
    ensemble: bool = False      # mono recording: left and right are two drifting players
    max_s: float = 0.0          # decaying sounds: never rendered longer (0 = as long as held)
    release: float = 0.25
    vel_lo: int = 45            # MIDI velocity at velocity 0 .. at velocity 1
    vel_hi: int = 112
    takes: int = 3              # renderings cycled by repeated notes of one pitch (held sounds need fewer)
    double_s: float = 0.0       # ensemble: the right-hand player comes in this much later (double-tracking)
    tone_hz: float = 0.0        # low-pass corner at velocity 0.6, moving an octave per 0.4 of velocity (0 = open)


def midi_velocity(v: Voicing, velocity: float) -> int:
    return int(round(v.vel_lo + (v.vel_hi - v.vel_lo) * float(np.clip(velocity, 0.0, 1.0))))


def layer_of(v: Voicing, velocity: float) -> int:
    """Which rendering a note of this velocity shares: the kept sample layer and, for filtered
    voicings, the filter step (so a pad opens up as the sections get louder)."""
    kept = sample_bank.instrument(v.source).velocities
    m = midi_velocity(v, velocity)
    layer = min(range(len(kept)), key=lambda i: abs(kept[i] - m))
    return layer + 16 * _tone_step(v, velocity)


def _tone_step(v: Voicing, velocity: float) -> int:
    return int(round(float(np.clip(velocity, 0.0, 1.0)) * _TONE_STEPS)) if v.tone_hz else 0


def tone_cutoff(v: Voicing, velocity: float) -> float:
    """The low-pass corner a note plays through (Hz), from its velocity step."""
    return v.tone_hz * 2.0 ** ((_tone_step(v, velocity) / _TONE_STEPS - 0.6) / 0.4)


@lru_cache(maxsize=4096)
def _take(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, float, float, float]:
    """One take's random choices: drift rates, phases, weights; centre offset, vibrato rate and phase."""
    rng = np.random.default_rng(seed)
    rates, phases, weights = rng.uniform(0.08, 0.9, 3), rng.uniform(0.0, 2 * np.pi, 3), rng.uniform(0.5, 1.0, 3)
    return (read_only(2 * np.pi * rates), read_only(phases), read_only(weights / weights.sum()),
            float(rng.uniform(-0.4, 0.4)), float(rng.uniform(0.93, 1.07)), float(rng.uniform(0, 2 * np.pi)))


def _cents(v: Voicing, t: np.ndarray, seed: int) -> np.ndarray:
    """Pitch offset in cents at times ``t``: three slow sines (drift) and a delayed vibrato."""
    omega, phases, weights, centre, vib_rate, vib_phase = _take(seed)
    out = np.sin(np.multiply.outer(t, omega) + phases) @ (weights * v.drift_cents)
    out += centre * v.drift_cents                     # each take sits a little off centre
    if v.vibrato_cents:
        rise = np.clip((t - v.vibrato_delay) / 0.5, 0.0, 1.0)
        out += rise * v.vibrato_cents * np.sin(2 * np.pi * v.vibrato_hz * vib_rate * t + vib_phase)
    return out


def _ratios(region: sample_bank.Region, pitch: float, v: Voicing, n: int, sr: int, seed: int) -> np.ndarray:
    """Read rate (region samples per output sample) for each _STEP of a note n samples long.

    Computed once per note and side: per chunk, the pitch curve's few hundred values cost
    a dozen small numpy calls each (a sixth of the sampler's time).
    """
    base = region.rate / sr * 2.0 ** ((pitch - region.root) / 12.0)
    t = (_STEP * np.arange(-(-n // _STEP))) / sr
    return base * 2.0 ** (_cents(v, t, seed) / 1200.0)


def _reads(ratios: np.ndarray, a: int, b: int, start: float) -> tuple[np.ndarray, np.ndarray, float]:
    """Read index (int64) and fraction (float32) in the region for output samples a..b,
    and the unwrapped position after b (``ratios``: the note's, see _ratios).

    The rate is held for _STEP samples at a time (a piecewise-linear phase). Positions
    are kept as a float64 start per step plus a small float32 offset inside it: exact
    to a hundred-thousandth of a sample, at float32 cost.
    """
    m = -(-(b - a) // _STEP)
    ratio = ratios[a // _STEP:a // _STEP + m]
    first = np.empty(m)
    first[0] = 0.0
    np.cumsum(ratio[:-1] * _STEP, out=first[1:])
    first += start
    whole = np.floor(first)
    local = np.einsum("i,j->ij", ratio.astype(np.float32), _RAMP)   # the outer product: einsum's loop is faster
    local += (first - whole).astype(np.float32)[:, None]
    # local >= 0, and a float32 minus its floor is exact in float32: no float64 pass needed
    step_f = np.floor(local)
    local -= step_f
    # step_f <= ratio * (_STEP - 1) + 1: below 2**24 float32 holds every whole number, so the
    # sum is exact there (one int64 pass, not two); the ratio can exceed 2 (a pitch up an octave)
    if whole[-1] + _STEP * float(ratio.max()) + 1 < _F32_WHOLE:
        step_f += whole.astype(np.float32)[:, None]
        step = step_f.astype(np.int64)
    else:
        step = step_f.astype(np.int64)
        step += whole.astype(np.int64)[:, None]
    n = b - a
    return step.reshape(-1)[:n], local.reshape(-1)[:n], float(first[-1] + ratio[-1] * _STEP)


_RAMP = np.arange(_STEP, dtype=np.float32)
_F32_WHOLE = float(2 ** 24)                   # float32 holds every whole number below this, exactly


def _wrap(i: np.ndarray, region: sample_bank.Region) -> None:
    """Fold read indices past the loop end back into the loop, in place (indices only grow).

    Long loops wrap a few times per chunk: subtract the loop length from each stretch past
    the end (cheap). Short loops wrap thousands of times: one modulo for the whole tail.
    """
    if region.loop is None:
        return
    ls, le = region.loop
    length = le - ls
    k = int(np.searchsorted(i, le))
    if k >= i.shape[0]:
        return
    if (i[-1] - le) / length > 8:
        tail = i[k:]
        tail -= ls
        np.mod(tail, length, out=tail)
        tail += ls
        return
    while k < i.shape[0]:
        i[k:] -= length
        k += int(np.searchsorted(i[k:], le))


def _folded(position: float, region: sample_bank.Region) -> float:
    """A carried-over position brought back into the loop (so indices never grow without bound)."""
    if region.loop is not None and position >= region.loop[1]:
        ls, le = region.loop
        return ls + (position - ls) % (le - ls)
    return position


class _Scratch:
    """One note's buffers for _read, ``n`` samples each (a note renders on one thread, a chunk at a time)."""

    def __init__(self, n: int) -> None:
        self.lo16, self.hi16 = np.empty(n, dtype=np.int16), np.empty(n, dtype=np.int16)
        self.lo, self.hi, self.wave = (np.empty(n, dtype=np.float32) for _ in range(3))


def _read(x: np.ndarray, i: np.ndarray, f: np.ndarray, scale: float, into: np.ndarray, add: bool,
          s: _Scratch) -> None:
    """Linear interpolation of int16 samples x at i + f, times ``scale``, written (or added) ``into``.

    Indices past the last pair read the last pair (take's clip mode: no pass of its own).
    Why scratch and ``into``: the note is a few passes over its samples, and each pass
    saved (a temporary, a conversion, a zeroed layer added to) is a tenth of the sampler.
    """
    n = i.shape[0]
    lo16, hi16, lo, hi = s.lo16[:n], s.hi16[:n], s.lo[:n], s.hi[:n]
    np.take(x[:-1], i, out=lo16, mode="clip")
    np.take(x[1:], i, out=hi16, mode="clip")         # x[i + 1] without an index array of its own
    np.copyto(lo, lo16)
    np.copyto(hi, hi16)
    hi -= lo
    hi *= f
    hi += lo
    if add:
        hi *= np.float32(scale)
        into += hi
    else:
        np.multiply(hi, np.float32(scale), out=into)


def render(v: Voicing, pitch: float, velocity: float, n: int, sr: int, variant: int,
           brightness: float = 0.0) -> np.ndarray:
    """(2, n) float32: the note held for n samples (the caller adds the release).

    ``brightness`` (-1 .. 1, the piece's) moves a filtered voicing's corner by up to an
    octave each way and darkens an open one below zero.
    """
    if v.max_s:
        n = min(n, int(v.max_s * sr))
    out = np.zeros((2, n), dtype=np.float32)
    scratch = _Scratch(min(CHUNK, n))                     # a short note needs no chunk-sized scratch
    regions = sample_bank.instrument(v.source).pick(int(round(pitch)), midi_velocity(v, velocity))
    for k, region in enumerate(regions):
        add = k > 0                                       # the first layer is written, not added to zeros
        x, scale = sample_bank.audio(region, _corner(v, velocity, brightness))
        seeds = (_seed(v.source, pitch, variant, k, 0), _seed(v.source, pitch, variant, k, 1))
        two = v.ensemble and not region.stereo
        starts = [0.0, 0.0]
        end = n if region.loop else min(n, _audible(region, pitch, sr))
        ratios = [_ratios(region, pitch, v, end, sr, seeds[side]) for side in range(2 if two else 1)]
        for a, b in chunks(end):
            for side in range(2 if two else 1):
                i, f, after = _reads(ratios[side], a, b, starts[side])
                _wrap(i, region)
                starts[side] = _folded(after, region)
                if region.stereo:
                    _read(x[0], i, f, scale, out[0, a:b], add, scratch)
                    _read(x[1], i, f, scale, out[1, a:b], add, scratch)
                elif two:
                    _read(x[0], i, f, scale, out[side, a:b], add, scratch)
                elif add:
                    wave = scratch.wave[:b - a]
                    _read(x[0], i, f, scale, wave, False, scratch)
                    out[0, a:b] += wave
                    out[1, a:b] += wave
                else:
                    _read(x[0], i, f, scale, out[0, a:b], False, scratch)
                    out[1, a:b] = out[0, a:b]
    if v.ensemble and v.double_s:
        _delay_right(out, int(v.double_s * sr))
    _shape(out, v, sr)
    return out


def _corner(v: Voicing, velocity: float, brightness: float) -> float:
    """Low-pass corner (Hz) a note plays through, 0 for none; a few steps only (each is cached)."""
    b = round(float(np.clip(brightness, -1.0, 1.0)) * 4) / 4
    if v.tone_hz:
        return tone_cutoff(v, velocity) * 2.0 ** b
    return OPEN_DARK_HZ * 2.0 ** (2 * b) if b < 0 else 0.0


def _delay_right(out: np.ndarray, d: int) -> None:
    """Move the right channel d samples later, in place (from the end back, chunk by chunk)."""
    n = out.shape[1]
    if d <= 0 or d >= n:
        return
    for a, b in reversed(list(chunks(n - d))):
        out[1, a + d:b + d] = out[1, a:b]
    out[1, :d] = 0.0


def _seed(*parts: object) -> int:
    """A seed that is the same in every process (hash() of a str is not)."""
    return zlib.crc32(repr(parts).encode())


def _audible(region: sample_bank.Region, pitch: float, sr: int) -> int:
    """Output samples until an unlooped recording runs out (allowing for drift up)."""
    ratio = region.rate / sr * 2.0 ** ((pitch - region.root + 0.5) / 12.0)
    return int((region.frames - 2) / ratio)


def _shape(out: np.ndarray, v: Voicing, sr: int) -> None:
    n = out.shape[1]
    a = min(int(v.attack * sr), n)
    if a > 1:
        out[:, :a] *= np.sin(0.5 * np.pi * np.linspace(0.0, 1.0, a, dtype=np.float32)) ** 2
    if v.max_s and n >= int(v.max_s * sr):                # capped: end without a click
        m = min(n, int(0.1 * sr))
        out[:, n - m:] *= np.linspace(1.0, 0.0, m, dtype=np.float32)
