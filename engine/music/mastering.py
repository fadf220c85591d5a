"""Mastering: DC and sub cut, mono low end, width guard, loudness to target, true-peak limit.

Every pass streams over the (N, 2) buffer in C.CHUNK steps and works in place, so the
only full-length array is the audio itself: mastering a track costs about one copy of it
(filters carry their state from chunk to chunk, so the result is that of whole-signal
filtering).

The limiter is computed per block of LIMITER_BLOCK samples (coarser for long pieces, see gain_block), offline and non-causal:
required gain from the per-block maxima of the true-peak envelope -> release as a
dB-per-second recovery (a running minimum, no Python loop) -> lookahead min-filter and
box smoothing so the gain is already down when the peak arrives. The result is a
GainCurve, one knot per block with linear steps between. Loudness and limiting interact,
so the makeup gain is iterated with a K-weighted meter that measures under a GainCurve
without refiltering (loudness.KMeter).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from scipy import ndimage, signal

from . import constants as C
from .loudness import KMeter, envelopes, frames, measure_lufs, true_peak
from .stream import chunks, halves, pair


@dataclass(frozen=True, eq=False)
class GainCurve:
    """The gain mastering applied after its filters: ``knots[j]`` at sample ``j * block``, linear between.

    Why knots: the stems are scaled by the same curve later, and N / 32 knots are cheap to
    keep where N samples would cost half the track's memory again.
    """

    knots: np.ndarray           # (ceil(n / block) + 1,) float32
    n: int
    block: int = C.LIMITER_BLOCK

    @classmethod
    def flat(cls, n: int, gain: float) -> GainCurve:
        block = gain_block(n)
        return cls(np.full(-(-n // block) + 1, gain, dtype=np.float32), n, block)

    def segment(self, a: int, b: int) -> np.ndarray:
        """(b - a,) float32 gain for samples [a, b)."""
        j0, j1 = a // self.block, -(-b // self.block)
        k = self.knots[j0:j1 + 1]
        frac = np.arange(self.block, dtype=np.float32) / np.float32(self.block)
        gain = (k[:-1, None] + (k[1:] - k[:-1])[:, None] * frac).reshape(-1)
        return gain[a - j0 * self.block:b - j0 * self.block]


def gain_block(n: int) -> int:
    """Samples per gain knot for an n-sample piece: LIMITER_BLOCK, doubled until there are at most MAX_GAIN_KNOTS.

    Why: the limiter and the loudness meter keep a few float64 values per knot; at 32 samples
    a knot, a 3-hour piece needed gigabytes for them (issue 13 item 6). Pieces up to about
    23 minutes keep the 32-sample block, so their master is unchanged.
    """
    block = C.LIMITER_BLOCK
    while n > block * C.MAX_GAIN_KNOTS and block < C.CHUNK:
        block *= 2
    return block


def _db(x: float) -> float:
    return 10 ** (x / 20.0)


def _prepare(buf: np.ndarray, sample_rate: int, block: int) -> tuple[KMeter, float]:
    """High-pass at DC_CUTOFF_HZ, mono below MONO_BASS_HZ, side narrowed to MIN_CORRELATION.

    Two passes: filter mid and side (parking them in the L/R columns) while summing
    their energies; then, with the width decided, write L/R back and feed the loudness
    meter. Returns the meter and the sample peak of the result.
    """
    hp = signal.butter(2, C.DC_CUTOFF_HZ, "highpass", fs=sample_rate, output="sos").astype(np.float32)
    side_hp = signal.butter(2, C.MONO_BASS_HZ, "highpass", fs=sample_rate, output="sos").astype(np.float32)
    zm, zs = np.zeros((1, 2), dtype=np.float32), np.zeros((1, 2), dtype=np.float32)
    em = es = 0.0
    half = np.float32(0.5)
    n = buf.shape[0]

    def filtered(x: np.ndarray, sign: int, sos: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
        y = ((x[:, 0] + x[:, 1]) if sign > 0 else (x[:, 0] - x[:, 1])) * half
        y, z = signal.sosfilt(sos, y, zi=z)
        return y, z, float(np.dot(y, y))

    for a, b in chunks(n, buf):
        x = buf[a:b]
        (mid, zm, e_mid), (side, zs, e_side) = pair(functools.partial(filtered, x, 1, hp, zm),
                                                    functools.partial(filtered, x, -1, side_hp, zs))
        em += e_mid
        es += e_side
        x[:, 0] = mid
        x[:, 1] = side
    c = C.MIN_CORRELATION
    width = np.float32(np.sqrt(em * (1 - c) / (es * (1 + c)))) if es > 0 and (em - es) / (em + es) < c else None
    meter = KMeter(n, sample_rate, block)
    peak = 0.0
    for a, b in chunks(n, buf):
        x = buf[a:b]
        mid, side = x[:, 0], x[:, 1]
        if width is not None:
            side = side * width
        left, right = mid + side, mid - side
        x[:, 0] = left
        x[:, 1] = right
        meter.feed(a, (left, right))
        peak = max(peak, float(np.abs(left).max()), float(np.abs(right).max()))
    return meter, peak


def _block_peaks(buf: np.ndarray, floor: float, b: int) -> np.ndarray:
    """Per-block (``b`` samples) maxima of the true-peak envelope (candidates above ``floor``)."""
    out = np.empty(-(-buf.shape[0] // b), dtype=np.float32)

    def blocks(a: int, env: np.ndarray) -> None:
        j = a // b
        out[j:j + -(-env.size // b)] = np.maximum.reduceat(env, np.arange(0, env.size, b))

    envelopes(buf, floor, blocks)
    return out


def _limiter_knots(peaks: np.ndarray, threshold: float, sample_rate: int, b: int) -> np.ndarray:
    """Smooth gain knots (<= 1, one per ``b``-sample block plus the end) keeping ``peaks * gain`` under ``threshold``."""
    m = peaks.shape[0]
    need = np.minimum(1.0, threshold / np.maximum(peaks.astype(np.float64), 1e-12))
    if need.min() >= 1.0:
        return np.ones(m + 1, dtype=np.float32)
    need_db = 20 * np.log10(need)
    rate = C.LIMITER_RELEASE_DB_PER_S * b / sample_rate
    k = np.arange(m) * rate
    held_db = k + np.minimum.accumulate(need_db - k)      # recover at `rate` dB per block
    h = max(1, int(C.LIMITER_LOOKAHEAD_S * sample_rate / b))
    low = ndimage.minimum_filter1d(held_db, 2 * h + 3, mode="nearest")
    smooth = ndimage.uniform_filter1d(10 ** (low / 20), 2 * h + 1, mode="nearest").astype(np.float32)
    # linear interpolation from block starts; each block's gain is <= its own need
    return np.append(smooth, smooth[-1])


@dataclass(frozen=True)
class Mastered:
    """What :func:`master_measured` did: the gain applied after the filters, and the result's integrated
    loudness (LUFS) and true peak (dBTP) — -inf for silence, and the loudness of a piece too short to gate
    (under 400 ms)."""

    gain: GainCurve
    lufs: float
    true_peak_dbtp: float


def master_inplace(buf: np.ndarray, sample_rate: int, target_lufs: float = -16.0,
                   ceiling_dbtp: float = -1.0) -> GainCurve:
    """Master an (N, 2) float32 buffer in place; return the gain applied after the filters."""
    return master_measured(buf, sample_rate, target_lufs, ceiling_dbtp).gain


def master_measured(buf: np.ndarray, sample_rate: int, target_lufs: float = -16.0,
                    ceiling_dbtp: float = -1.0) -> Mastered:
    """:func:`master_inplace`, and what the result measures. Why measured here: the meter already holds the
    filtered signal's loudness under any gain curve, and the true peak is taken after the gain to trim it,
    so the result's loudness and true peak cost nothing more — measured again after the master they were
    0.06 s of every composition, on the critical path of a run (issue 16)."""
    n = buf.shape[0]
    block = gain_block(n)
    meter, peak = _prepare(buf, sample_rate, block)
    if peak == 0.0:
        return Mastered(GainCurve.flat(n, 0.0), float("-inf"), float("-inf"))
    ceiling = _db(ceiling_dbtp)
    threshold = _db(ceiling_dbtp - C.TP_MARGIN_DB)
    loud = meter.lufs()
    if not np.isfinite(loud):           # too short to gate, or every block under the gate: normalise the true peak
        gain, tp = _apply(buf, GainCurve.flat(n, threshold / max(true_peak(buf, 0.0), 1e-12)), ceiling)
        return Mastered(gain, measure_lufs(buf, sample_rate), _dbtp(tp))  # rare: measured afresh
    makeup = _db(target_lufs - loud)
    margin = _db(-C.TP_CANDIDATE_DB - 2.0)
    floor = threshold / makeup * margin
    peaks = _block_peaks(buf, floor, block)
    knots = np.ones(peaks.size + 1, dtype=np.float32)
    for _ in range(6):
        if threshold / makeup * _db(-C.TP_CANDIDATE_DB) < floor:   # gain grew past the search floor
            floor = threshold / makeup * margin
            peaks = _block_peaks(buf, floor, block)
        knots = _limiter_knots(peaks * np.float32(makeup), threshold, sample_rate, block)
        error = target_lufs - meter.lufs(knots * np.float32(makeup))
        if abs(error) <= C.LOUDNESS_TOLERANCE_LU:
            break
        makeup *= _db(error)
    gain, tp = _apply(buf, GainCurve(knots * np.float32(makeup), n, block), ceiling)
    return Mastered(gain, meter.lufs(gain.knots), _dbtp(tp))


def _dbtp(linear: float) -> float:
    return float(20 * np.log10(linear)) if linear > 0 else float("-inf")


def _apply(buf: np.ndarray, gain: GainCurve, ceiling: float) -> tuple[GainCurve, float]:
    """Apply the gain; if an inter-sample peak still pokes over the ceiling, trim it flat. Returns the gain
    applied and the result's true peak (linear): the trim scales it, and the clip then cuts nothing."""
    n = buf.shape[0]

    def scaled(a: int, b: int) -> float:
        x = buf[a:b]
        x *= gain.segment(a, b)[:, None]
        return float(np.abs(x).max())

    peak = max(halves(scaled, n, buf))                     # chunks are independent: one half per core
    tp = true_peak(buf, peak * _db(-C.TP_CANDIDATE_DB))
    trim = np.float32(ceiling / tp * _db(-0.02)) if tp > ceiling else None
    if trim is not None:
        gain = GainCurve(gain.knots * trim, gain.n, gain.block)

    def clipped(a: int, b: int) -> None:
        x = buf[a:b]
        if trim is not None:
            x *= trim
        np.clip(x, -ceiling, ceiling, out=x)

    halves(clipped, n, buf)
    return gain, (min(tp * float(trim), ceiling) if trim is not None else tp)


def as_stereo(audio: np.ndarray) -> np.ndarray:
    """A new C-contiguous (N, 2) float32 copy of mono, stereo or multichannel audio (first two channels)."""
    x = frames(audio)
    out = np.empty((x.shape[0], 2), dtype=np.float32)
    out[:, 0] = x[:, 0]
    out[:, 1] = x[:, 1 if x.shape[1] > 1 else 0]
    return out


def master(audio: np.ndarray, sample_rate: int, target_lufs: float = -16.0, ceiling_dbtp: float = -1.0) -> np.ndarray:
    """Loudness-normalised, true-peak-limited (N, 2) float32 copy of ``audio``."""
    buf = as_stereo(audio)
    master_inplace(buf, sample_rate, target_lufs, ceiling_dbtp)
    return buf
