"""Band-limited single-cycle wavetables, one per (spectrum, pitch, cutoff).

Why tables: a note is then one gather per oscillator (≈0.1 ms per second of audio)
instead of a sum of sines, and building the table per pitch lets us drop every harmonic
above Nyquist (no aliasing) and bake in a static low-pass for free.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Callable

import numpy as np

from .cache import read_only
from .constants import TABLE_SIZE

Spectrum = Callable[[np.ndarray, float], np.ndarray]


SPECTRA: dict[str, Spectrum] = {
    "sine": lambda h, f0: (h == 1).astype(float),
    "saw": lambda h, f0: 1.0 / h,
    "square": lambda h, f0: (h % 2 == 1) / h,
    "soft": lambda h, f0: 1.0 / h ** 2,
    "warm": lambda h, f0: 1.0 / h ** 1.5,
}


@lru_cache(maxsize=4096)
def table(spectrum: str, f0: float, cutoff: float, sample_rate: int) -> np.ndarray:
    """One cycle, peak-free phase (all sines), harmonics limited to 0.45·sample_rate."""
    max_h = int(min(0.45 * sample_rate / max(f0, 1.0), TABLE_SIZE // 2 - 1, 256))
    spec = np.zeros(TABLE_SIZE // 2 + 1, dtype=complex)
    if max_h >= 1:
        h = np.arange(1, max_h + 1, dtype=float)
        amps = SPECTRA[spectrum](h, f0).astype(float)
        if cutoff > 0:
            amps = amps / np.sqrt(1.0 + (h * f0 / cutoff) ** 4)
        spec[1:max_h + 1] = -1j * amps
    wave = np.fft.irfft(spec, n=TABLE_SIZE) * (TABLE_SIZE / 2)
    return read_only(wave.astype(np.float32))
