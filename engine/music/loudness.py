"""Loudness (ITU-R BS.1770-4) and true peak (4x oversampled) measurement, streamed.

``integrated_lufs`` is pyloudnorm's meter, the reference the tests check against.
``KMeter`` applies the same gating to pyloudnorm's own K-weighting coefficients but is
fed chunk by chunk, and keeps three power moments per gain block, so it can measure the
signal *under a piecewise-linear gain curve* without refiltering and without a
full-length power array — the mastering loop tries several limiter settings for the
price of one filter pass.

``true_peak_dbtp`` interpolates 4x with a windowed sinc, but only around samples within
TP_CANDIDATE_DB of the sample peak: inter-sample overs larger than that (3 dB is the
worst case of a sine at a quarter of the sample rate) do not occur in band-limited
music, and skipping the rest makes the measurement cheap enough to run in a loop.

Why streamed: a 60 s stereo track is 23 MB of float32, and every full-length temporary
costs as much again; in C.CHUNK steps the meters need chunk-sized scratch plus a few
numbers per 32-sample gain block (about an eighth of the track's own size).
Audio comes in as (N, C) frames; chunks are handed around channel-first, as (C, n) views.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Callable, Sequence, TypeVar

import numpy as np
import pyloudnorm
from numpy.lib.stride_tricks import sliding_window_view
from scipy import signal

from media.paged import release

from . import constants as C
from .cache import read_only
from .stream import chunks, halves, pair

_BLOCK_S, _ABS_GATE, _REL_GATE = 0.4, -70.0, -10.0


def frames(audio: np.ndarray) -> np.ndarray:
    """(N, C) view of (N,) or (N, C) audio."""
    data = np.asarray(audio)
    return data[:, None] if data.ndim == 1 else data


def integrated_lufs(audio: np.ndarray, sample_rate: int) -> float:
    """Integrated loudness in LUFS; -inf for silence or clips shorter than one 400 ms block."""
    data = np.asarray(audio, dtype=np.float64)
    if data.shape[0] < _BLOCK_S * sample_rate:
        return float("-inf")
    with np.errstate(divide="ignore"):
        return float(pyloudnorm.Meter(sample_rate).integrated_loudness(data))


def measure_lufs(audio: np.ndarray, sample_rate: int) -> float:
    """integrated_lufs without its float64 copies of the track: for measuring finished music."""
    x = frames(audio)
    meter = KMeter(x.shape[0], sample_rate, block=C.CHUNK)     # no gain to apply: one moment per chunk and segment
    for a, b in chunks(x.shape[0], x):
        meter.feed(a, x[a:b].T)
    return meter.lufs()


def true_peak_dbtp(audio: np.ndarray, sample_rate: int) -> float:
    """Peak of the 4x oversampled signal in dBTP, for (N,) or (N, C) audio."""
    x = frames(audio)
    if x.size == 0:
        return float("-inf")
    peak = sample_peak(x)
    if peak == 0.0:
        return float("-inf")
    return float(20 * np.log10(true_peak(x, peak * 10 ** (-C.TP_CANDIDATE_DB / 20))))


def sample_peak(x: np.ndarray) -> float:
    """max |sample| of (N, C) frames."""
    return max((float(np.abs(x[a:b]).max()) for a, b in chunks(x.shape[0], x)), default=0.0)


def true_peak(x: np.ndarray, floor: float) -> float:
    """max of the true-peak envelope of (N, C) frames (see peak_envelope for ``floor``)."""
    return max(envelopes(x, floor, lambda _, env: float(env.max())), default=0.0)


R = TypeVar("R")


def envelopes(x: np.ndarray, floor: float, reduce: Callable[[int, np.ndarray], R]) -> list[R]:
    """``reduce(start, envelope)`` per chunk of (N, C) frames, in order; the envelopes
    together equal peak_envelope of the whole signal.

    Each chunk is read with a margin of half the interpolator on both sides, so every
    candidate sees the same neighbours it would see in the whole signal. The chunks are
    independent: the two halves of the timeline run on the two cores (stream.halves), and
    ``reduce`` keeps what is needed of each envelope (a chunk's worth of scratch each).
    """
    n = x.shape[0]
    margin = C.TP_TAPS // 2 + 1

    def one(a: int, b: int) -> R:
        lo, hi = max(a - margin, 0), min(b + margin, n)
        out = reduce(a, peak_envelope(x[lo:hi].T, floor)[a - lo:b - lo])
        # a file-backed buffer stays resident a chunk at a time (media.paged): the chunk behind too, as reading
        # the margins faults pages back in around them (the kernel maps neighbours of a faulted page)
        release(x, max(a - C.CHUNK, 0), hi)
        return out

    return halves(one, n)


@lru_cache(maxsize=8)
def _k_sos(sample_rate: int) -> np.ndarray:
    meter = pyloudnorm.Meter(sample_rate)
    rows = []
    for stage in meter._filters.values():
        b, a = np.asarray(stage.b, float), np.asarray(stage.a, float)
        rows.append(np.concatenate([b / a[0] * stage.passband_gain, a / a[0]]))
    return read_only(np.array(rows))


class KMeter:
    """K-weighted loudness of n samples fed in order, measurable under piecewise-linear gains.

    The timeline is cut into intervals that each lie inside one gain block (``block``
    samples) and one 100 ms gating segment. Per interval we keep the moments of the
    K-weighted power p over the position f in its gain block: sum p, sum p f, sum p f².
    A gain g0 + (g1 - g0) f inside the block then gives the interval's power exactly as
    g0² P0 + 2 g0 (g1 - g0) P1 + (g1 - g0)² P2.
    """

    def __init__(self, n: int, sample_rate: int, block: int = C.LIMITER_BLOCK) -> None:
        self.block = block
        self.gate_len = int(_BLOCK_S * sample_rate)
        self.count = int(np.round((n / sample_rate - _BLOCK_S) / 0.1)) + 1 if n >= self.gate_len else 0
        # pyloudnorm's blocks: [int(0.1 j sr), int(0.1 (j + 4) sr)) -> sums of four 100 ms segments
        edges = np.array([int(_BLOCK_S * (j * 0.25) * sample_rate) for j in range(self.count + 4)], dtype=np.int64)
        edges = edges[edges < n]
        blocks = np.arange(0, n, block, dtype=np.int64)
        extra = edges[edges % block != 0]
        self.starts = np.insert(blocks, np.searchsorted(blocks, extra), extra)
        self.segment = (np.searchsorted(edges, self.starts, "right") - 1).astype(np.int32)
        self.moments = np.zeros((3, self.starts.size))
        self._sos = _k_sos(sample_rate).copy()          # sosfilt wants a writable array
        self._zi: list[np.ndarray] = []
        self._frac = np.arange(C.CHUNK) % block / block

    def feed(self, start: int, rows: Sequence[np.ndarray] | np.ndarray) -> None:
        """Add samples [start, start + len) of every channel; chunks must come in order."""
        if start % self.block:
            raise ValueError("chunks must start on a gain block")
        if not self._zi:
            self._zi = [np.zeros((len(self._sos), 2)) for _ in rows]
        def weighted(ch: int) -> np.ndarray:
            k, self._zi[ch] = signal.sosfilt(self._sos, rows[ch].astype(np.float64), zi=self._zi[ch])
            k *= k
            return k

        if len(rows) == 0:
            return
        if len(rows) == 2:                                   # stereo: both channels' filters at once
            power, right = pair(lambda: weighted(0), lambda: weighted(1))
            np.add(power, right, out=power)                  # channel gains are 1 for L and R
        else:
            power = weighted(0)
            for ch in range(1, len(rows)):
                np.add(power, weighted(ch), out=power)
        lo, hi = np.searchsorted(self.starts, (start, start + power.size))
        local = self.starts[lo:hi] - start
        frac = self._frac[: power.size]
        self.moments[0, lo:hi] = np.add.reduceat(power, local)
        power *= frac
        self.moments[1, lo:hi] = np.add.reduceat(power, local)
        power *= frac
        self.moments[2, lo:hi] = np.add.reduceat(power, local)

    def lufs(self, knots: np.ndarray | None = None) -> float:
        """Integrated loudness under a gain with value ``knots[j]`` at sample ``j * block``, linear between."""
        if self.count == 0:
            return float("-inf")
        p0, p1, p2 = self.moments
        if knots is None:
            power = p0
        else:
            j = self.starts // self.block
            g0 = knots[j].astype(np.float64)
            d = knots[j + 1] - g0
            power = g0 * (g0 * p0 + 2.0 * d * p1) + d * d * p2
        c = self.count
        seg = np.bincount(self.segment, weights=power, minlength=c + 4)
        z = (seg[:c] + seg[1:c + 1] + seg[2:c + 2] + seg[3:c + 3]) / self.gate_len
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
    return read_only((np.sinc(x) * window).astype(np.float32))


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
    kernel = _interp_kernel(C.TP_TAPS)
    first = cand - (half - 1)
    for row in planar:
        windows = sliding_window_view(row, C.TP_TAPS)[first].astype(np.float32, copy=False)
        mag[cand] = np.maximum(mag[cand], np.abs(windows @ kernel).max(axis=1))
    return mag
