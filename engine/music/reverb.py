"""A cheap stereo room: convolution with synthetic decaying noise at a quarter rate.

Why decimate: reverb tails carry little above 6 kHz, and convolving at 12 kHz costs a
sixteenth of full-rate FFT work, which is what keeps synthesis far faster than real time.
The two channels use independent noise (width) and the IR is high-passed so the low end
stays mono. The convolution is overlap-add in float32 blocks of a few IR lengths, and the
answer is interpolated back into the stem chunk by chunk: besides the stem, the room
needs a quarter-rate copy of the send and of the answer, nothing at full length.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Callable, Iterator

import numpy as np
from scipy import fft, signal

from .cache import read_only
from .constants import REVERB_DECIMATION, REVERB_LOW_CUT_HZ
from .stream import release_planar


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


def _answer(send: Callable[[int, int], np.ndarray], total: int, rt60: float, rate: int
            ) -> Iterator[tuple[int, np.ndarray]]:
    """The room's (2, total) answer to the mono send as (start, piece) in order, by overlap-add.

    ``send(a, b)`` gives send samples [a, b); they are asked for in order, each block just
    before its answer is needed. A piece is final when it is yielded: later input blocks
    only reach later samples.
    """
    ir_len = impulse(rt60, rate).shape[1]
    size = fft.next_fast_len(4 * ir_len, real=True)
    block = size - ir_len + 1
    spectrum = _ir_spectrum(rt60, rate, size)
    acc = np.zeros((2, size), dtype=np.float32)              # the answer from sample a on
    for a in range(0, total, block):
        seg = send(a, min(a + block, total))
        if seg.any():                                         # a silent stretch answers nothing
            acc += fft.irfft(fft.rfft(seg, size) * spectrum, size, axis=1)
        yield a, acc[:, :seg.shape[0]]
        acc[:, :size - block] = acc[:, block:]
        acc[:, size - block:] = 0.0


def add_reverb(stem: np.ndarray, send: float, rt60: float, sample_rate: int) -> None:
    """Add the room's answer to a (2, n) stem fed to it at level ``send`` (in place).

    The send is taken from the stem a block at a time, just ahead of where the answer is
    added (the answer to a block only lands on samples before the next block's), so no
    quarter-rate copy of the whole stem is made.
    """
    d = REVERB_DECIMATION
    m = stem.shape[1] // d
    gain = np.float32(send / (2 * d))

    def blocks(a: int, b: int) -> np.ndarray:
        low = np.zeros(b - a, dtype=np.float32)
        hi = min(b, m)
        for k in range(d):                   # box-filter decimation of the mono send, as send_of
            low[:hi - a] += stem[0, a * d + k:hi * d:d]
            low[:hi - a] += stem[1, a * d + k:hi * d:d]
        low *= gain
        return low

    _add_answer(stem, blocks, m + 1, rt60, sample_rate)


def send_of(stem: np.ndarray, send: float) -> np.ndarray:
    """The room's input from a (2, n) stem: its mono sum at level ``send``, decimated.

    Sends of several stems may be summed and answered once (add_answer is linear).
    """
    d = REVERB_DECIMATION
    m = stem.shape[1] // d
    low = np.zeros(m + 1, dtype=np.float32)
    for k in range(d):                       # box-filter decimation of the mono send
        low[:m] += stem[0, k:m * d:d]
        low[:m] += stem[1, k:m * d:d]
    low *= np.float32(send / (2 * d))
    return low


def add_answer(stem: np.ndarray, low: np.ndarray, rt60: float, sample_rate: int) -> None:
    """Add the room's answer to the decimated send ``low`` into the (2, n) buffer ``stem``."""
    _add_answer(stem, lambda a, b: low[a:b], low.shape[0], rt60, sample_rate)


def _add_answer(stem: np.ndarray, send: Callable[[int, int], np.ndarray], total: int, rt60: float,
                sample_rate: int) -> None:
    d = REVERB_DECIMATION
    m = stem.shape[1] // d
    # back to full rate by linear interpolation: decimated sample j and j + 1 give the
    # full-rate samples j * d .. j * d + d - 1, so each piece waits for its successor's first sample
    phases = [np.float32(k / d) for k in range(d)]
    last = np.zeros((2, 1), dtype=np.float32)
    done = 0                                                  # samples before this are final
    for a, piece in _answer(send, total, rt60, sample_rate // d):
        w = np.concatenate([last, piece], axis=1)             # samples a - 1 .. a + len - 1
        last = piece[:, -1:].copy()
        j0, j1 = max(a - 1, 0), min(a + piece.shape[1] - 1, m)   # intervals finished by this piece
        w = w[:, j0 - (a - 1):]
        step = w[:, 1:j1 - j0 + 1] - w[:, :j1 - j0]
        for k, phase in enumerate(phases):
            stem[:, j0 * d + k:j1 * d:d] += w[:, :j1 - j0] + step * phase
        release_planar(stem, done, j0 * d)                    # a stem on disk stays resident a block at a time
        done = j0 * d
