"""Loudness (ITU-R BS.1770-4) and true peak (4x oversampled) measurement.

``integrated_lufs`` is pyloudnorm's meter, the reference. ``KMeter`` applies the same
gating to pyloudnorm's own K-weighting coefficients, vectorised, and can measure the
signal *under a gain curve* without refiltering — the mastering loop uses it to try
several limiter settings for the price of one filter pass.

``true_peak_dbtp`` interpolates 4x with a windowed sinc, but only around samples within
TP_CANDIDATE_DB of the sample peak: inter-sample overs larger than that (3 dB is the
worst case of a sine at a quarter of the sample rate) do not occur in band-limited
music, and skipping the rest makes the measurement cheap enough to run in a loop.
Internally signals are channel-first (C, N) arrays.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache

import numpy as np
import pyloudnorm
from scipy import signal

from . import constants as C

_BLOCK_S, _ABS_GATE, _REL_GATE = 0.4, -70.0, -10.0


def integrated_lufs(audio: np.ndarray, sample_rate: int) -> float:
    """Integrated loudness in LUFS; -inf for silence or clips shorter than one 400 ms block."""
    data = np.asarray(audio, dtype=np.float64)
    if data.shape[0] < _BLOCK_S * sample_rate:
        return float("-inf")
    with np.errstate(divide="ignore"):
        return float(pyloudnorm.Meter(sample_rate).integrated_loudness(data))


def true_peak_dbtp(audio: np.ndarray, sample_rate: int) -> float:
    """Peak of the 4x oversampled signal in dBTP, for (N,) or (N, C) audio."""
    data = np.asarray(audio)
    planar = data[None, :] if data.ndim == 1 else data.T
    if planar.size == 0:
        return float("-inf")
    peak = float(magnitude(planar).max())
    if peak == 0.0:
        return float("-inf")
    env = peak_envelope(planar, peak * 10 ** (-C.TP_CANDIDATE_DB / 20))
    return float(20 * np.log10(env.max()))


@lru_cache(maxsize=8)
def _k_sos(sample_rate: int) -> np.ndarray:
    meter = pyloudnorm.Meter(sample_rate)
    rows = []
    for stage in meter._filters.values():
        b, a = np.asarray(stage.b, float), np.asarray(stage.a, float)
        rows.append(np.concatenate([b / a[0] * stage.passband_gain, a / a[0]]))
    return np.array(rows)


class KMeter:
    """K-weighted power of a (C, N) signal, measured repeatedly under different gains."""

    def __init__(self, planar: np.ndarray, sample_rate: int) -> None:
        sos = _k_sos(sample_rate).astype(np.float32)
        n = planar.shape[1]
        with ThreadPoolExecutor(max_workers=C.THREADS) as pool:
            weighted = list(pool.map(lambda row: signal.sosfilt(sos, row.astype(np.float32, copy=False)), planar))
        self.power = np.zeros(n, dtype=np.float32)
        for k in weighted:                                   # channel gains are 1 for L and R
            self.power += k * k
        block = int(_BLOCK_S * sample_rate)
        count = int(np.round((n / sample_rate - _BLOCK_S) / 0.1)) + 1 if n >= block else 0
        # pyloudnorm's blocks: [int(0.1 j sr), int(0.1 (j + 4) sr)) -> sums of four 100 ms segments
        edges = np.array([int(_BLOCK_S * (j * 0.25) * sample_rate) for j in range(count + 4)], dtype=np.int64)
        self.edges = edges[edges < n]
        self.count = count
        self.block = block

    def lufs(self, gain: np.ndarray | float = 1.0) -> float:
        """Integrated loudness of ``signal * gain`` (gain per sample or scalar)."""
        if self.count == 0:
            return float("-inf")
        scalar = np.isscalar(gain)
        p = self.power if scalar else self.power * np.square(gain, dtype=np.float32)
        seg = np.add.reduceat(p, self.edges).astype(np.float64)
        seg = np.concatenate([seg, np.zeros(self.count + 4 - seg.size)])
        z = (seg[:self.count] + seg[1:self.count + 1] + seg[2:self.count + 2] + seg[3:self.count + 3]) / self.block
        if scalar:
            z = z * float(gain) ** 2
        with np.errstate(divide="ignore"):
            loud = -0.691 + 10 * np.log10(z)
            gated = z[loud >= _ABS_GATE]
            if gated.size == 0:
                return float("-inf")
            rel = -0.691 + 10 * np.log10(gated.mean()) + _REL_GATE
            final = z[(loud > rel) & (loud > _ABS_GATE)]
            return float(-0.691 + 10 * np.log10(final.mean())) if final.size else float("-inf")


@lru_cache(maxsize=4)
def _interp_kernel(taps: int) -> np.ndarray:
    """(taps, 3) windowed-sinc weights for the points 1/4, 2/4, 3/4 after the centre sample."""
    half = taps // 2
    offsets = np.arange(-half + 1, half + 1)
    frac = np.array([0.25, 0.5, 0.75])
    x = frac[None, :] - offsets[:, None]
    window = np.kaiser(2 * taps + 1, 8.0)[taps + np.round(x * 2).astype(int)]
    return np.sinc(x) * window


def magnitude(planar: np.ndarray) -> np.ndarray:
    """max over channels of |x| per sample."""
    mag = np.abs(planar[0])
    for row in planar[1:]:
        np.maximum(mag, np.abs(row), out=mag)
    return mag


def peak_envelope(planar: np.ndarray, floor: float) -> np.ndarray:
    """Per-sample true-peak estimate (max over channels) where the sample peak exceeds ``floor``.

    Below ``floor`` the sample magnitude is returned as is. A candidate sample gets the
    largest interpolated value between it and the next sample.
    """
    mag = magnitude(planar)
    loud = mag > floor
    if not loud.any():
        return mag
    loud[:-1] |= loud[1:]                   # the interval before a loud sample counts too
    half = C.TP_TAPS // 2
    loud[:half] = False
    loud[planar.shape[1] - half:] = False
    cand = np.flatnonzero(loud)
    if cand.size == 0:
        return mag
    kernel = _interp_kernel(C.TP_TAPS).astype(np.float32)
    idx = cand[:, None] + np.arange(-half + 1, half + 1)[None, :]
    out = mag.copy()
    for row in planar:
        windows = row[idx].astype(np.float32, copy=False)
        out[cand] = np.maximum(out[cand], np.abs(windows @ kernel).max(axis=1))
    return out
