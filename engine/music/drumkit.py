"""Synthesized drum one-shots per kit, cached per (kit, piece, velocity layer).

Kicks and toms are pitch-swept sines, snares and claps tone plus band-passed noise,
cymbals 808-style stacks of inharmonic squares through a high-pass. Kits differ in a few
numbers (tuning, decay, darkness), which is what separates a dusty lo-fi kit from a 909.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy import signal

from .cache import read_only

PIECE_OF = {36: "kick", 35: "boom", 38: "snare", 37: "rim", 39: "clap", 42: "hat", 46: "ohat", 49: "crash",
            51: "ride", 41: "tom_low", 45: "tom_mid", 50: "tom_high", 70: "shaker", 54: "tamb", 48: "taiko"}
PAN = {"hat": 0.25, "ohat": 0.25, "ride": -0.3, "crash": -0.2, "tom_high": 0.3, "tom_mid": 0.0, "tom_low": -0.3,
       "shaker": 0.35, "tamb": -0.35, "taiko": 0.0}


@dataclass(frozen=True)
class Kit:
    kick: tuple[float, float, float, float]   # start Hz, end Hz, sweep time constant s, decay s
    snare_tone: float                         # Hz
    snare_decay: float
    noise_band: tuple[float, float]           # snare/clap noise band
    hat_decay: float
    dark: float                               # low-pass on the whole kit (Hz), 0 = none
    drive: float = 1.0                        # soft saturation amount on kick


KITS: dict[str, Kit] = {
    "lofi": Kit((120, 48, 0.03, 0.35), 190, 0.16, (900, 5000), 0.05, 5500, 1.3),
    "boombap": Kit((130, 50, 0.035, 0.4), 200, 0.2, (1200, 7000), 0.05, 9000, 1.6),
    "pop": Kit((150, 52, 0.025, 0.3), 210, 0.17, (1500, 9000), 0.045, 0, 1.2),
    "909": Kit((180, 48, 0.02, 0.45), 220, 0.16, (2000, 10000), 0.04, 0, 1.8),
    "cinematic": Kit((90, 38, 0.05, 0.9), 170, 0.2, (700, 5000), 0.06, 9000, 1.0),
    "folk": Kit((100, 55, 0.03, 0.25), 230, 0.12, (1500, 8000), 0.04, 8000, 1.0),
    "soft": Kit((110, 50, 0.03, 0.3), 200, 0.12, (1000, 6000), 0.04, 7000, 1.0),
}


def _noise(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(n)


def _band(x: np.ndarray, lo: float, hi: float, sr: int, order: int = 2) -> np.ndarray:
    hi = min(hi, 0.45 * sr)
    sos = signal.butter(order, [lo, hi], btype="bandpass", fs=sr, output="sos")
    return signal.sosfilt(sos, x)


def _sweep(f0: float, f1: float, tau: float, decay: float, n: int, sr: int) -> np.ndarray:
    t = np.arange(n) / sr
    phase = f1 * t + (f0 - f1) * tau * (1 - np.exp(-t / tau))
    return np.sin(2 * np.pi * phase) * np.exp(-t / decay)


def _env(n: int, sr: int, decay: float, attack: float = 0.0005) -> np.ndarray:
    t = np.arange(n) / sr
    return np.minimum(1.0, t / attack) * np.exp(-t / decay)


def _metal(n: int, sr: int, freqs: tuple[float, ...] = (205.3, 304.4, 369.6, 522.7, 540.0, 800.0)) -> np.ndarray:
    t = np.arange(n) / sr
    return sum(np.sign(np.sin(2 * np.pi * f * 1.8 * t)) for f in freqs) / len(freqs)


@lru_cache(maxsize=512)
def hit(kit_name: str, piece: str, layer: int, sr: int) -> np.ndarray:
    """The one-shot for a piece, peak-normalised to ~1 (velocity scales it later)."""
    kit = KITS.get(kit_name, KITS["soft"])
    bright = (0.7, 1.0, 1.25)[layer]
    seed = sum(ord(c) for c in kit_name + piece) * 7 + layer
    if piece in ("kick", "taiko", "boom"):
        f0, f1, tau, decay = kit.kick
        if piece == "taiko":
            f0, f1, tau, decay = 110, 55, 0.06, 0.7
        if piece == "boom":
            f0, f1, tau, decay = 70, 30, 0.25, 1.4
        n = int(min(decay * 4 + 0.05, 1.2 if piece == "kick" else 2.5) * sr)
        x = _sweep(f0 * (0.9 + 0.1 * bright), f1, tau, decay, n, sr)
        x = np.tanh(kit.drive * x) / np.tanh(kit.drive)
        click_n = int(0.004 * sr)
        x[:click_n] += 0.3 * bright * _band(_noise(click_n, seed), 1500, 8000, sr) * np.hanning(2 * click_n)[click_n:]
        if piece == "taiko":
            skin = _band(_noise(n, seed), 150, 1500, sr) * _env(n, sr, 0.12)
            x = x + 0.5 * skin
    elif piece in ("snare", "clap", "rim"):
        if piece == "rim":
            n = int(0.12 * sr)
            x = _band(_noise(n, seed), 1500, 4500, sr) * _env(n, sr, 0.012) + 0.6 * np.sin(
                2 * np.pi * 1700 * np.arange(n) / sr) * _env(n, sr, 0.02)
        elif piece == "clap":
            n = int(0.45 * sr)
            env = np.zeros(n)
            for k, d in enumerate((0.0, 0.011, 0.022, 0.031)):
                s = int(d * sr)
                env[s:] += _env(n - s, sr, 0.008 if k < 3 else 0.14)
            x = _band(_noise(n, seed), 900 * bright, 6000 * bright, sr) * env
        else:
            n = int((kit.snare_decay * 5) * sr)
            tone = np.sin(2 * np.pi * kit.snare_tone * np.arange(n) / sr) * _env(n, sr, 0.05)
            lo, hi = kit.noise_band
            noise = _band(_noise(n, seed), lo, hi * bright, sr) * _env(n, sr, kit.snare_decay)
            x = 0.55 * tone + noise * 1.2
    elif piece in ("hat", "ohat", "crash", "ride", "shaker", "tamb"):
        decay = {"hat": kit.hat_decay, "ohat": 0.35, "crash": 1.1, "ride": 0.7, "shaker": 0.035, "tamb": 0.12}[piece]
        n = int(min(decay * 5, 2.5) * sr) if piece != "shaker" else int(0.14 * sr)
        metal = _metal(n, sr) if piece in ("hat", "ohat", "crash", "ride") else 0.0
        noise = _noise(n, seed)
        body = 0.6 * metal + 0.5 * noise if piece != "ride" else 0.8 * metal + 0.2 * noise
        lo = {"crash": 3500, "ride": 4000, "shaker": 4500, "tamb": 5000}.get(piece, 6500)
        x = _band(np.asarray(body, dtype=float), lo * bright, 16000, sr, order=2)
        env = _env(n, sr, decay, attack=0.0005 if piece != "shaker" else 0.02)
        if piece == "crash":
            env = env + 0.5 * _env(n, sr, 0.03)
        x = x * env
    elif piece.startswith("tom"):
        f = {"tom_low": 90, "tom_mid": 130, "tom_high": 180}[piece]
        n = int(0.7 * sr)
        x = _sweep(f * 1.5, f, 0.04, 0.2, n, sr) + 0.25 * _band(_noise(n, seed), 200, 3000, sr) * _env(n, sr, 0.05)
    else:
        raise KeyError(piece)
    if kit.dark:
        x = signal.sosfilt(signal.butter(2, kit.dark * bright, fs=sr, output="sos"), x)
    x = x / (np.abs(x).max() + 1e-9)
    fade = min(len(x), int(0.01 * sr))
    x[-fade:] *= np.linspace(1.0, 0.0, fade)
    return read_only(x.astype(np.float32))
