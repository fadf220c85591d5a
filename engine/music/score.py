"""The Score: everything the synthesizer needs, and everything a caller may check.

A Score is a frozen value computed from (Brief, Cues) alone. Times are in seconds from
the start of the clip; pitches are MIDI numbers (for kits, General-MIDI-style drum numbers,
see drums.PIECES; for effects, the codes in textures.py).
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Note:
    """One sounding event of one part."""

    part: str
    time: float
    duration: float
    pitch: int
    velocity: float

    @property
    def end(self) -> float:
        return self.time + self.duration


@dataclass(frozen=True)
class Part:
    """One instrument in the arrangement: which stem it feeds and how it sounds.

    ``role`` picks the generator that writes its notes, ``style`` the pattern family
    inside that generator, ``min_level`` the arrangement level (0..3) it enters at.
    """

    name: str
    stem: str
    patch: str
    role: str
    style: str = ""
    register: tuple[int, int] = (48, 72)
    pan: float = 0.0
    spread: float = 0.0
    send: float = 0.2
    gain_db: float = 0.0
    sidechain: bool = False
    min_level: int = 0
    groups: tuple[str, ...] = ()


@dataclass(frozen=True)
class Section:
    name: str
    start_s: float
    end_s: float
    energy: float


@dataclass(frozen=True)
class ChordEvent:
    """A chord on the timeline; ``voicing`` is the harmony part's realisation."""

    start_s: float
    end_s: float
    symbol: str
    root: int
    pcs: tuple[int, ...]


@dataclass(frozen=True)
class KeyChange:
    """The piece moves to a new key at ``start_s`` (a section start) and stays there."""

    start_s: float
    tonic: int
    key: str                      # e.g. "E minor"


@dataclass(frozen=True)
class Score:
    genre: str
    mood: str
    seed: int
    bpm: float
    key: str                      # tonic name, e.g. "F#"
    mode: str                     # "major", "minor", "dorian", ...
    tonic: int                    # tonic pitch class
    bars: int                     # bars of the body (the final chord starts after them)
    beats_per_bar: int
    start_offset_s: float
    duration_s: float
    final_chord_s: float
    last_note_end_s: float
    loopable: bool
    swing: float
    brightness: float
    sections: tuple[Section, ...]
    fills: tuple[float, ...]
    hits: tuple[float, ...]
    chords: tuple[ChordEvent, ...]
    parts: tuple[Part, ...]
    notes: tuple[Note, ...]
    instruments: tuple[str, ...]  # instrument groups actually sounding ("drums", "piano", ...)
    reverb_s: float               # RT60 of the shared room
    stem_levels: tuple[tuple[str, float], ...]   # target active level per stem, dBFS
    key_changes: tuple[KeyChange, ...] = ()      # ``key``/``tonic`` are the opening key; these follow it

    @property
    def beat_s(self) -> float:
        return 60.0 / self.bpm

    @property
    def bar_s(self) -> float:
        return self.beats_per_bar * self.beat_s

    @property
    def tail_s(self) -> float:
        return self.duration_s - self.final_chord_s

    def part(self, name: str) -> Part:
        for p in self.parts:
            if p.name == name:
                return p
        raise KeyError(name)

    def notes_of(self, part: str) -> tuple[Note, ...]:
        return tuple(n for n in self.notes if n.part == part)

    def notes_in_stem(self, stem: str) -> tuple[Note, ...]:
        names = {p.name for p in self.parts if p.stem == stem}
        return tuple(n for n in self.notes if n.part in names)

    @property
    def final_tonic(self) -> int:
        """Tonic of the key the piece ends in (the final chord's root)."""
        return self.key_changes[-1].tonic if self.key_changes else self.tonic

    def key_name(self) -> str:
        return f"{self.key} {self.mode}"
