"""Transition effects and beds: risers, reverse cymbals, impacts, swells, vinyl noise.

All are noise-based and cached per length; vinyl is a short loop tiled over the piece
(crackle does not need to be unique to be convincing).
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy import signal

from .cache import read_only
from .drumkit import sampled_hit
from .textures import IMPACT, REVERSE, RISER


@lru_cache(maxsize=64)
def effect(code: int, n: int, sr: int) -> np.ndarray:
    """The effect ``code`` lasting ``n`` samples, peak ~1, ending in silence or a hit."""
    t = np.linspace(0.0, 1.0, n, endpoint=False)
    rng = np.random.default_rng(code * 1000 + 7)
    if code == IMPACT:
        boom = sampled_hit("cinematic", 35, 1.0, 0, sr).mean(axis=0)
        crash = sampled_hit("cinematic", 49, 1.0, 0, sr).mean(axis=0)
        m = max(len(boom), len(crash))
        x = np.zeros(m, dtype=np.float32)
        x[:len(boom)] += boom
        x[:len(crash)] += 0.5 * crash
        return read_only(x / np.abs(x).max())
    if code == REVERSE:
        crash = sampled_hit("pop", 49, 0.7, 0, sr).mean(axis=0)[: n][::-1]
        x = np.zeros(n, dtype=np.float32)
        x[n - len(crash):] = crash
        return read_only(x * np.minimum(1.0, (n - np.arange(n)) / (0.005 * sr)).astype(np.float32))
    noise = rng.standard_normal(n)
    if code == RISER:
        bands = [(300, 900), (800, 2500), (2000, 5000), (4000, 8000)]
        x = np.zeros(n)
        for k, (lo, hi) in enumerate(bands):
            centre = (k + 0.5) / len(bands)
            weight = np.clip(1.0 - np.abs(t - centre) * len(bands) * 0.7, 0.0, 1.0)
            x += signal.sosfilt(signal.butter(2, [lo, min(hi, 0.45 * sr)], "bandpass", fs=sr, output="sos"), noise) * weight
        sweep = np.sin(2 * np.pi * np.cumsum(200 * 8 ** t) / sr) * 0.3
        x = (x + sweep) * t ** 2
    else:   # SWELL: soft, dark, breathing
        x = signal.sosfilt(signal.butter(2, [150, 1400], "bandpass", fs=sr, output="sos"), noise)
        x = x * np.sin(0.5 * np.pi * t) ** 3
    fade = min(n, int(0.01 * sr))
    x[-fade:] *= np.linspace(1.0, 0.0, fade)
    return read_only((x / (np.abs(x).max() + 1e-9)).astype(np.float32))


@lru_cache(maxsize=4)
def vinyl_loop(sr: int) -> np.ndarray:
    """3.7 s of hiss and crackle, loopable (the ends are cross-faded)."""
    n = int(3.7 * sr)
    rng = np.random.default_rng(33)
    hiss = signal.sosfilt(signal.butter(2, [400, 6000], "bandpass", fs=sr, output="sos"), rng.standard_normal(n)) * 0.12
    crackle = np.zeros(n)
    pops = rng.integers(0, n, 90)
    crackle[pops] = rng.standard_normal(90) * rng.choice([0.3, 1.0], 90, p=[0.8, 0.2])
    crackle = signal.sosfilt(signal.butter(2, [800, 9000], "bandpass", fs=sr, output="sos"), crackle)
    x = hiss + crackle * 3.0
    fade = int(0.05 * sr)
    w = np.linspace(0.0, 1.0, fade)
    x[:fade] = x[:fade] * w + x[-fade:] * (1 - w)
    x = x[: n - fade]
    return read_only((x / np.abs(x).max()).astype(np.float32))
