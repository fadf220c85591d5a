"""Synthesizer timbres as data: oscillators, envelopes, vibrato, attack noise.

Only sounds that are synthesizers by nature live here (plucks, saw and square leads,
supersaw, sub, 808, synth basses); band and orchestra instruments are recordings
(instruments.py). Each oscillator has its own decay so upper partials can die faster
than the fundamental — the cheap substitute for a moving filter.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Osc:
    spectrum: str
    gain: float = 1.0
    ratio: float = 1.0          # frequency multiple (inharmonic partials for bells)
    detune: float = 0.0         # cents
    decay: float = 0.0          # 1/s exponential decay of this oscillator (0 = sustained)
    cutoff: float = 0.0         # static low-pass in Hz baked into the table (0 = none)
    bright: bool = False        # gain follows velocity (harder = brighter)


@dataclass(frozen=True)
class Patch:
    oscs: tuple[Osc, ...]
    attack: float = 0.005
    decay: float = 0.0          # time constant of the decay to the sustain level (0 = none)
    sustain: float = 1.0
    release: float = 0.15
    vibrato: float = 0.0        # cents
    vibrato_hz: float = 5.0
    vibrato_delay: float = 0.3
    noise: float = 0.0          # attack noise level
    noise_decay: float = 0.01
    key_decay: bool = False     # higher notes decay faster
    max_s: float = 0.0          # decaying sounds are not rendered longer than this (0 = no cap)
    layers: int = 3             # velocity layers (timbre changes with velocity)


PATCHES: dict[str, Patch] = {
    "pluck": Patch((Osc("saw", 0.6, decay=9.0, cutoff=5000, bright=True), Osc("warm", 0.8, decay=3.0, cutoff=2500)),
                   attack=0.002, release=0.12, key_decay=True, max_s=2.5),
    "pluck_bright": Patch((Osc("saw", 0.8, decay=7.0, cutoff=7000, bright=True), Osc("square", 0.4, detune=8, decay=4.0, cutoff=3000)),
                          attack=0.002, release=0.1, max_s=2.0),
    "square_lead": Patch((Osc("square", 0.7, cutoff=3500, bright=True), Osc("saw", 0.4, detune=7, cutoff=2500)),
                         attack=0.01, release=0.12, vibrato=6.5, vibrato_hz=5.5, vibrato_delay=0.2),
    "saw_lead": Patch((Osc("saw", 0.6, detune=-8, cutoff=4000, bright=True), Osc("saw", 0.6, detune=8, cutoff=4000)),
                      attack=0.008, release=0.15, vibrato=5, vibrato_hz=5.5, vibrato_delay=0.25),
    "pad_saw": Patch((Osc("saw", 0.5, detune=-8, cutoff=2500), Osc("saw", 0.5, detune=8, cutoff=2500)),
                     attack=0.3, release=0.8, layers=1, vibrato=1.5, vibrato_hz=0.35, vibrato_delay=0.0),
    "supersaw": Patch((Osc("saw", 0.4, detune=-10, cutoff=4500), Osc("saw", 0.4, cutoff=4500), Osc("saw", 0.4, detune=10, cutoff=4500)),
                      attack=0.02, release=0.3, layers=1, vibrato=1.5, vibrato_hz=0.35, vibrato_delay=0.0),
    "sub_round": Patch((Osc("sine", 1.0), Osc("soft", 0.25, cutoff=500)), attack=0.008, release=0.12, layers=1),
    "bass_808": Patch((Osc("sine", 1.0, decay=0.35), Osc("soft", 0.3, decay=1.5, cutoff=400)), attack=0.003, release=0.12,
                      noise=0.03, noise_decay=0.003, layers=1),
    "synth_bass": Patch((Osc("saw", 0.6, cutoff=900, decay=1.5, bright=True), Osc("sine", 0.8)), attack=0.003, release=0.06),
    "saw_bass": Patch((Osc("saw", 0.55, detune=-5, cutoff=1100, decay=2.0, bright=True), Osc("saw", 0.45, detune=5, cutoff=700),
                       Osc("sine", 0.6)), attack=0.003, release=0.06),
}
