"""Instrument timbres as data: oscillators, envelopes, vibrato, attack noise.

Each oscillator has its own decay so upper partials can die faster than the
fundamental (plucks, pianos, e-pianos) — the cheap substitute for a moving filter.
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
    "epiano_dusty": Patch((Osc("epiano", 1.0, decay=0.7, cutoff=2200), Osc("sine", 0.25, ratio=2.0, decay=2.5, bright=True),
                           Osc("sine", 0.06, ratio=7.0, decay=14.0, bright=True)),
                          attack=0.004, release=0.25, key_decay=True, max_s=6.0),
    "epiano": Patch((Osc("epiano", 1.0, decay=0.6, cutoff=4000), Osc("sine", 0.3, ratio=2.0, decay=2.0, bright=True),
                     Osc("sine", 0.1, ratio=7.0, decay=12.0, bright=True)),
                    attack=0.003, release=0.22, key_decay=True, max_s=6.0),
    "piano": Patch((Osc("piano", 1.0, decay=0.55), Osc("piano_hi", 0.55, detune=1.5, decay=2.2, bright=True),
                    Osc("piano", 0.35, detune=-1.2, decay=0.8)),
                   attack=0.002, release=0.3, noise=0.05, noise_decay=0.006, key_decay=True, max_s=7.0),
    "pluck": Patch((Osc("saw", 0.6, decay=9.0, cutoff=5000, bright=True), Osc("warm", 0.8, decay=3.0, cutoff=2500)),
                   attack=0.002, release=0.12, key_decay=True, max_s=2.5),
    "pluck_bright": Patch((Osc("saw", 0.8, decay=7.0, cutoff=7000, bright=True), Osc("square", 0.4, detune=8, decay=4.0, cutoff=3000)),
                          attack=0.002, release=0.1, max_s=2.0),
    "marimba": Patch((Osc("sine", 1.0, decay=3.0), Osc("sine", 0.25, ratio=3.9, decay=14.0, bright=True),
                      Osc("sine", 0.08, ratio=9.8, decay=30.0, bright=True)),
                     attack=0.001, release=0.08, noise=0.04, noise_decay=0.003, key_decay=True, max_s=2.0),
    "bell": Patch((Osc("sine", 1.0, decay=1.2), Osc("sine", 0.35, ratio=2.76, decay=3.0, bright=True),
                   Osc("sine", 0.14, ratio=5.4, decay=6.0, bright=True)),
                  attack=0.001, release=0.3, key_decay=True, max_s=4.0),
    "glass": Patch((Osc("sine", 1.0, decay=0.45), Osc("sine", 0.25, ratio=2.0, decay=1.0),
                    Osc("sine", 0.1, ratio=4.07, decay=2.5, bright=True)),
                   attack=0.01, release=0.8, max_s=8.0, layers=1),
    "flute_soft": Patch((Osc("hollow", 1.0, cutoff=2500),), attack=0.06, release=0.18, vibrato=14, vibrato_hz=5.0,
                        vibrato_delay=0.25, noise=0.02, noise_decay=0.05),
    "square_lead": Patch((Osc("square", 0.7, cutoff=3500, bright=True), Osc("saw", 0.4, detune=7, cutoff=2500)),
                         attack=0.01, release=0.12, vibrato=10, vibrato_hz=5.5, vibrato_delay=0.2),
    "saw_lead": Patch((Osc("saw", 0.6, detune=-8, cutoff=4000, bright=True), Osc("saw", 0.6, detune=8, cutoff=4000)),
                      attack=0.008, release=0.15, vibrato=8, vibrato_hz=5.5, vibrato_delay=0.25),
    "horn": Patch((Osc("warm", 1.0, cutoff=1500, bright=True), Osc("saw", 0.25, detune=4, cutoff=900)),
                  attack=0.09, release=0.35, vibrato=10, vibrato_hz=4.8, vibrato_delay=0.35, layers=3),
    "guitar": Patch((Osc("gtr_lo", 1.0, decay=1.1), Osc("gtr_mid", 1.0, decay=3.0, bright=True), Osc("gtr_hi", 1.0, decay=9.0, bright=True)),
                    attack=0.001, release=0.1, noise=0.05, noise_decay=0.004, key_decay=True, max_s=3.0),
    "guitar_bright": Patch((Osc("gtr_lo", 0.8, decay=1.3), Osc("gtr_mid", 1.1, decay=3.5, bright=True), Osc("gtr_hi", 1.2, decay=8.0, bright=True)),
                           attack=0.001, release=0.1, noise=0.05, noise_decay=0.003, key_decay=True, max_s=2.5),
    "strings": Patch((Osc("strings", 0.6, detune=-6, cutoff=3200), Osc("strings", 0.6, detune=6, cutoff=3000),
                      Osc("saw", 0.2, ratio=2.0, cutoff=4000, bright=True)),
                     attack=0.35, release=0.6, vibrato=8, vibrato_hz=5.2, vibrato_delay=0.4, layers=1),
    "strings_low": Patch((Osc("strings", 0.8, detune=-4, cutoff=1400), Osc("strings", 0.8, detune=4, cutoff=1200)),
                         attack=0.06, release=0.3, vibrato=5, vibrato_hz=5.0, vibrato_delay=0.4, layers=1),
    "choir": Patch((Osc("vowel", 0.7, detune=-7), Osc("vowel", 0.7, detune=7)), attack=0.6, release=0.9, vibrato=10,
                   vibrato_hz=4.5, vibrato_delay=0.5, layers=1),
    "pad_warm": Patch((Osc("saw", 0.5, detune=-9, cutoff=1400), Osc("saw", 0.5, detune=9, cutoff=1400), Osc("triangle", 0.6)),
                      attack=0.7, release=1.2, layers=1),
    "pad_saw": Patch((Osc("saw", 0.5, detune=-12, cutoff=2500), Osc("saw", 0.5, detune=12, cutoff=2500)),
                     attack=0.3, release=0.8, layers=1),
    # the bright partials fade over seconds, so held chords slowly darken (evolve)
    "pad_air": Patch((Osc("triangle", 0.7, detune=-6), Osc("triangle", 0.7, detune=6), Osc("sine", 0.3, ratio=2.0, detune=3),
                      Osc("warm", 0.3, cutoff=3000, decay=0.25)), attack=1.6, release=2.4, layers=1),
    "pad_dark": Patch((Osc("warm", 0.6, detune=-5, cutoff=600), Osc("warm", 0.6, detune=5, cutoff=600)),
                      attack=2.0, release=2.5, layers=1),
    "supersaw": Patch((Osc("saw", 0.4, detune=-15, cutoff=4500), Osc("saw", 0.4, cutoff=4500), Osc("saw", 0.4, detune=15, cutoff=4500)),
                      attack=0.02, release=0.3, layers=1),
    "sub_round": Patch((Osc("sine", 1.0), Osc("soft", 0.25, cutoff=500)), attack=0.008, release=0.12, layers=1),
    "bass_808": Patch((Osc("sine", 1.0, decay=0.35), Osc("soft", 0.3, decay=1.5, cutoff=400)), attack=0.003, release=0.12,
                      noise=0.03, noise_decay=0.003, layers=1),
    "pluck_bass": Patch((Osc("sine", 0.9, decay=0.8), Osc("saw", 0.45, decay=5.0, cutoff=1200, bright=True)),
                        attack=0.003, release=0.08),
    "synth_bass": Patch((Osc("saw", 0.6, cutoff=900, decay=1.5, bright=True), Osc("sine", 0.8)), attack=0.003, release=0.06),
    "saw_bass": Patch((Osc("saw", 0.55, detune=-5, cutoff=1100, decay=2.0, bright=True), Osc("saw", 0.45, detune=5, cutoff=700),
                       Osc("sine", 0.6)), attack=0.003, release=0.06),
    "upright": Patch((Osc("soft", 1.0, decay=1.2, cutoff=700), Osc("sine", 0.6, decay=0.7)), attack=0.004, release=0.1,
                     noise=0.05, noise_decay=0.008, max_s=3.0),
}
