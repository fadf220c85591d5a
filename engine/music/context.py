"""The shared facts every part writer reads, and the event type they return.

Part writers think in beats (the grid turns beats into seconds, with swing, later), so
they all take one Context and return Events; compose() does the timing in one place.
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

from .form import Form
from .grid import Grid
from .harmony import ChordSlot
from .styles import Style


@dataclass(frozen=True)
class Event:
    start: float              # beats
    beats: float
    pitch: int
    velocity: float
    nudge_s: float = 0.0      # deliberate offset (strums), applied after swing


@dataclass(frozen=True)
class Context:
    grid: Grid
    form: Form
    slots: tuple[ChordSlot, ...]
    style: Style
    tonic: int                   # the opening key; after a lift each ChordSlot carries its own
    mode: str
    brightness: float
    seed: int
    speech_beats: tuple[tuple[float, float], ...]
    has_drums: bool
    has_fx: bool
    pulse: bool = False          # mood asks for a driving eighth-note bass

    def rng(self, *labels: str | int) -> np.random.Generator:
        """A generator private to one decision, so changing one part never reshuffles another."""
        tags = [zlib.crc32(str(label).encode()) for label in labels]
        return np.random.default_rng([self.seed & 0xFFFFFFFF, *tags])

    def in_speech(self, beat: float) -> bool:
        return any(a <= beat < b for a, b in self.speech_beats)

    @property
    def final(self) -> ChordSlot | None:
        return self.slots[-1] if self.slots[-1].final else None
