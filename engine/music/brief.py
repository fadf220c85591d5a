"""What the user asked for (Brief) and what the picture tells us (Cues).

Both are plain frozen values so a request can be logged, compared and replayed: the
same (Brief, Cues) always yields the same music.
"""
from __future__ import annotations

from dataclasses import dataclass

GENRES = ("lofi", "cinematic", "corporate", "upbeat", "ambient", "acoustic", "electronic", "hiphop", "piano")
MOODS = ("calm", "happy", "epic", "tense", "sad", "dreamy", "energetic", "romantic", "mysterious")
INTENSITIES = ("follow", "steady", "build", "calm", "high")
INSTRUMENT_GROUPS = ("piano", "drums", "bass", "strings", "pad", "guitar", "lead", "synth")
STEMS = ("drums", "bass", "harmony", "lead", "texture")


@dataclass(frozen=True)
class Brief:
    """The musical request; "auto"/None fields are filled by :func:`resolve`."""

    genre: str = "auto"
    mood: str = "auto"
    bpm: float | None = None
    key: str | None = None
    brightness: float = 0.0
    intensity: str = "follow"
    add: tuple[str, ...] = ()
    remove: tuple[str, ...] = ()
    loopable: bool = False
    hits: tuple[float, ...] = ()
    seed: int = 0

    def __post_init__(self) -> None:
        if self.genre != "auto" and self.genre not in GENRES:
            raise ValueError(f"unknown genre {self.genre!r}; one of {', '.join(GENRES)}")
        if self.mood != "auto" and self.mood not in MOODS:
            raise ValueError(f"unknown mood {self.mood!r}; one of {', '.join(MOODS)}")
        if self.intensity not in INTENSITIES:
            raise ValueError(f"unknown intensity {self.intensity!r}; one of {', '.join(INTENSITIES)}")
        for name in (*self.add, *self.remove):
            if name not in INSTRUMENT_GROUPS:
                raise ValueError(f"unknown instrument group {name!r}; one of {', '.join(INSTRUMENT_GROUPS)}")
        if self.bpm is not None and not 30.0 <= self.bpm <= 250.0:
            raise ValueError(f"bpm {self.bpm} outside 30..250")
        if not -1.0 <= self.brightness <= 1.0:
            raise ValueError(f"brightness {self.brightness} outside -1..1")


@dataclass(frozen=True)
class Cues:
    """What the analysis module measured on the video (or just a duration for text requests)."""

    duration_s: float
    cuts: tuple[float, ...] = ()
    energy: tuple[float, ...] = ()
    energy_rate: float = 2.0
    pace: float = 0.5
    speech: tuple[tuple[float, float], ...] = ()

    def __post_init__(self) -> None:
        if not self.duration_s > 0.0:
            raise ValueError(f"duration_s must be positive, got {self.duration_s}")
        if self.energy and not self.energy_rate > 0.0:
            raise ValueError("energy_rate must be positive")

    def mean_energy(self) -> float:
        """Average picture energy, or the neutral 0.5 when the video gave none."""
        return sum(self.energy) / len(self.energy) if self.energy else 0.5
