"""A cheap stereo room: convolution with synthetic decaying noise at a quarter rate.

Why decimate: reverb tails carry little above 6 kHz, and convolving at 12 kHz costs a
sixteenth of full-rate FFT work, which is what keeps synthesis far faster than real time.
The two channels use independent noise (width) and the IR is high-passed so the low end
stays mono.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy import fft, signal

from .cache import read_only
from .constants import REVERB_DECIMATION, REVERB_LOW_CUT_HZ


@lru_cache(maxsize=16)
def impulse(rt60: float, rate: int) -> np.ndarray:
    """(2, L) impulse response with energy 1 per channel; highs decay twice as fast."""
    length = int(min(rt60 * 1.1, 5.0) * rate)
    t = np.arange(length) / rate
    rng = np.random.default_rng(int(rt60 * 1000))
    noise = rng.standard_normal((2, length))
    low = signal.sosfilt(signal.butter(2, min(2500.0, 0.4 * rate), fs=rate, output="sos"), noise, axis=1)
    high = noise - low
    ir = low * np.exp(-6.9 * t / rt60) + high * np.exp(-13.8 * t / rt60)
    ir = signal.sosfilt(signal.butter(2, REVERB_LOW_CUT_HZ, "highpass", fs=rate, output="sos"), ir, axis=1)
    predelay = int(0.018 * rate)
    ir = np.concatenate([np.zeros((2, predelay)), ir[:, : length - predelay]], axis=1)
    ir[:, predelay:predelay + int(0.01 * rate)] *= np.linspace(0, 1, int(0.01 * rate))
    ir /= np.sqrt((ir ** 2).sum(axis=1, keepdims=True))
    return read_only(ir.astype(np.float32))


@lru_cache(maxsize=8)
def _ir_spectrum(rt60: float, rate: int, size: int) -> np.ndarray:
    return read_only(fft.rfft(impulse(rt60, rate), size, axis=1))


def add_reverb(stem: np.ndarray, send: float, rt60: float, sample_rate: int) -> None:
    """Add the room's answer to a (2, n) stem fed to it at level ``send`` (in place)."""
    d = REVERB_DECIMATION
    n = stem.shape[1]
    m = n // d
    low = np.zeros(m + 1, dtype=np.float32)
    for k in range(d):                       # box-filter decimation of the mono send
        low[:m] += stem[0, k:m * d:d]
        low[:m] += stem[1, k:m * d:d]
    low *= send / (2 * d)
    ir_len = impulse(rt60, sample_rate // d).shape[1]
    size = fft.next_fast_len(m + ir_len, real=True)
    spec = fft.rfft(low, size)
    wet = fft.irfft(spec[None, :] * _ir_spectrum(rt60, sample_rate // d, size), size, axis=1)[:, : m + 1]
    wet = wet.astype(np.float32)
    # back to full rate by linear interpolation between the decimated samples
    up = np.empty((m, d), dtype=np.float32)
    for ch in range(2):
        a = wet[ch, :m]
        step = wet[ch, 1:m + 1] - a
        for k in range(d):
            np.add(a, step * np.float32(k / d), out=up[:, k])
        stem[ch, : m * d] += up.reshape(-1)
