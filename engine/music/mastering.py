"""Mastering: DC and sub cut, mono low end, width guard, loudness to target, true-peak limit.

The limiter is computed per block of LIMITER_BLOCK samples, offline and non-causal:
required gain from the true-peak envelope -> release as a dB-per-second recovery
(a running minimum, no Python loop) -> lookahead min-filter and box smoothing so the gain
is already down when the peak arrives. Loudness and limiting interact, so the makeup gain
is iterated with a K-weighted meter that reuses one filter pass (loudness.KMeter).
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from scipy import ndimage, signal

from . import constants as C
from .loudness import KMeter, magnitude, peak_envelope


@dataclass(frozen=True, eq=False)
class MasterResult:
    planar: np.ndarray         # (2, N) float32 mastered audio
    gain: np.ndarray           # (N,) float32 gain applied after the filters

    @property
    def audio(self) -> np.ndarray:
        """(N, 2) C-contiguous copy."""
        return np.ascontiguousarray(self.planar.T)


def _db(x: float) -> float:
    return 10 ** (x / 20.0)


def _planar(audio: np.ndarray) -> np.ndarray:
    x = np.asarray(audio, dtype=np.float32)
    if x.ndim == 1:
        return np.stack([x, x])
    rows = [x[:, c] for c in range(min(x.shape[1], 2))]
    return np.stack(rows * 2 if len(rows) == 1 else rows)


def _prepare(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """High-pass at DC_CUTOFF_HZ, mono below MONO_BASS_HZ, side narrowed to MIN_CORRELATION."""
    x = audio.T if audio.ndim == 2 and audio.shape[1] == 2 and audio.dtype == np.float32 else _planar(audio)
    mid = (x[0] + x[1]) * np.float32(0.5)
    side = (x[0] - x[1]) * np.float32(0.5)
    hp = signal.butter(2, C.DC_CUTOFF_HZ, "highpass", fs=sample_rate, output="sos").astype(np.float32)
    side_hp = signal.butter(2, C.MONO_BASS_HZ, "highpass", fs=sample_rate, output="sos").astype(np.float32)
    with ThreadPoolExecutor(max_workers=C.THREADS) as pool:
        mid, side = pool.map(signal.sosfilt, (hp, side_hp), (mid, side))
    em, es = float(np.dot(mid, mid)), float(np.dot(side, side))
    c = C.MIN_CORRELATION
    if es > 0 and (em - es) / (em + es) < c:
        side *= np.float32(np.sqrt(em * (1 - c) / (es * (1 + c))))
    out = np.empty((2, mid.shape[0]), dtype=np.float32)
    np.add(mid, side, out=out[0])
    np.subtract(mid, side, out=out[1])
    return out


def _limiter_gain(peaks: np.ndarray, threshold: float, sample_rate: int) -> np.ndarray:
    """Smooth per-sample gain (<= 1) keeping ``peaks * gain`` under ``threshold``."""
    n = peaks.shape[0]
    b = C.LIMITER_BLOCK
    m = -(-n // b)
    padded = np.zeros(m * b, dtype=np.float32)
    padded[:n] = peaks
    need = np.minimum(1.0, threshold / np.maximum(padded.reshape(m, b).max(axis=1).astype(np.float64), 1e-12))
    if need.min() >= 1.0:
        return np.ones(n, dtype=np.float32)
    need_db = 20 * np.log10(need)
    rate = C.LIMITER_RELEASE_DB_PER_S * b / sample_rate
    k = np.arange(m) * rate
    held_db = k + np.minimum.accumulate(need_db - k)      # recover at `rate` dB per block
    h = max(1, int(C.LIMITER_LOOKAHEAD_S * sample_rate / b))
    low = ndimage.minimum_filter1d(held_db, 2 * h + 3, mode="nearest")
    smooth = ndimage.uniform_filter1d(10 ** (low / 20), 2 * h + 1, mode="nearest").astype(np.float32)
    # linear interpolation from block starts; each block's gain is <= its own need
    nxt = np.append(smooth[1:], smooth[-1])
    frac = (np.arange(b, dtype=np.float32) / b)[None, :]
    return (smooth[:, None] + (nxt - smooth)[:, None] * frac).reshape(-1)[:n]


def master_planar(audio: np.ndarray, sample_rate: int, target_lufs: float = -16.0,
                  ceiling_dbtp: float = -1.0) -> MasterResult:
    """Master (N, 2) audio (any memory layout) and also return the gain curve applied."""
    if np.asarray(audio).shape[0] == 0:
        return MasterResult(np.zeros((2, 0), dtype=np.float32), np.zeros(0, dtype=np.float32))
    x = _prepare(audio, sample_rate)
    n = x.shape[1]
    if n == 0 or not (np.any(x[0]) or np.any(x[1])):
        return MasterResult(np.zeros((2, n), dtype=np.float32), np.zeros(n, dtype=np.float32))
    ceiling = _db(ceiling_dbtp)
    threshold = _db(ceiling_dbtp - C.TP_MARGIN_DB)
    meter = KMeter(x, sample_rate)
    loud = meter.lufs()
    if not np.isfinite(loud):           # too short to gate: normalise the true peak instead
        peak = float(peak_envelope(x, 0.0).max())
        return _apply(x, np.full(n, threshold / max(peak, 1e-12), dtype=np.float32), ceiling)
    makeup = _db(target_lufs - loud)
    margin = _db(-C.TP_CANDIDATE_DB - 2.0)
    floor = threshold / makeup * margin
    peaks = peak_envelope(x, floor)
    limit = np.ones(n, dtype=np.float32)
    for _ in range(6):
        if threshold / makeup * _db(-C.TP_CANDIDATE_DB) < floor:   # gain grew past the search floor
            floor = threshold / makeup * margin
            peaks = peak_envelope(x, floor)
        limit = _limiter_gain(peaks * np.float32(makeup), threshold, sample_rate)
        got = meter.lufs(limit * np.float32(makeup))
        error = target_lufs - got
        if abs(error) <= C.LOUDNESS_TOLERANCE_LU:
            break
        makeup *= _db(error)
    return _apply(x, limit * np.float32(makeup), ceiling)


def _apply(x: np.ndarray, gain: np.ndarray, ceiling: float) -> MasterResult:
    """Apply the gain; if an inter-sample peak still pokes over the ceiling, trim it flat."""
    x *= gain
    mag = magnitude(x)
    tp = float(peak_envelope(x, float(mag.max()) * _db(-C.TP_CANDIDATE_DB)).max())
    if tp > ceiling:
        trim = np.float32(ceiling / tp * _db(-0.02))
        x *= trim
        gain = gain * trim
    np.clip(x, -ceiling, ceiling, out=x)
    return MasterResult(x, gain.astype(np.float32, copy=False))


def master(audio: np.ndarray, sample_rate: int, target_lufs: float = -16.0, ceiling_dbtp: float = -1.0) -> np.ndarray:
    """Loudness-normalised, true-peak-limited (N, 2) float32 copy of ``audio``."""
    return master_planar(audio, sample_rate, target_lufs, ceiling_dbtp).audio
