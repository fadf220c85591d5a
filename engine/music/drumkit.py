"""Recorded drum hits per kit, cached per (kit, piece, velocity layer, take).

A drummer never hits twice alike: each piece cycles through DRUM_TAKES renderings of
its recording, each tuned a few cents apart (the head struck off centre, the stick
angle) with its own level, so consecutive hits are never sample-identical.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from . import sample_bank
from .cache import read_only
from .instruments import KITS
from .sampler import Voicing, midi_velocity, render

PIECE_OF = {36: "kick", 35: "boom", 38: "snare", 37: "rim", 39: "clap", 42: "hat", 46: "ohat", 49: "crash",
            51: "ride", 41: "tom_low", 45: "tom_mid", 50: "tom_high", 70: "shaker", 54: "tamb", 48: "taiko"}
PAN = {"hat": 0.4, "ohat": 0.4, "ride": -0.45, "crash": -0.35, "tom_high": 0.45, "tom_mid": 0.1, "tom_low": -0.45,
       "shaker": 0.5, "tamb": -0.5, "taiko": 0.0}        # as the overheads hear a kit: kick and snare centred
_TAKE_CENTS = (0.0, 22.0, -17.0, 9.0, -6.0, 14.0)
_TAKE_GAIN = (1.0, 0.93, 0.97, 0.9, 1.02, 0.95)
_LONGEST_S = 3.0


def _voicing(kit: str) -> Voicing:
    return Voicing(KITS.get(kit, "kit_brush"), attack=0.0, drift_cents=0.0, max_s=_LONGEST_S, vel_lo=60, vel_hi=120)


def sampled_hit(kit: str, key: int, velocity: float, take: int, sr: int) -> np.ndarray:
    """(2, n) float32 one-shot of a GM drum ``key`` in a style's kit (velocity scales it later)."""
    v = _voicing(kit)
    kept = sample_bank.instrument(v.source).velocities
    m = midi_velocity(v, velocity)
    layer = min(range(len(kept)), key=lambda i: abs(kept[i] - m))
    return _hit(kit, key, kept[layer], take, sr)


@lru_cache(maxsize=1024)
def _hit(kit: str, key: int, midi_vel: int, take: int, sr: int) -> np.ndarray:
    v = _voicing(kit)
    k = take % len(_TAKE_CENTS)
    velocity = (midi_vel - v.vel_lo) / (v.vel_hi - v.vel_lo)
    x = render(v, key + _TAKE_CENTS[k] / 100.0, velocity, int(_LONGEST_S * sr), sr, take)
    nonzero = np.flatnonzero(np.abs(x).max(axis=0) > 1e-5)
    x = x[:, : (nonzero[-1] + 1 if nonzero.size else 1)] * np.float32(_TAKE_GAIN[k])
    return read_only(np.ascontiguousarray(x))
