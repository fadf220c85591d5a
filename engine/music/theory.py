"""Pitch names, keys, modes and chords: the vocabulary the composer reasons in.

Progressions are written as Roman numerals relative to the major scale of the tonic
("i bVI bIII bVII"), so one template string means the same chord in every key and the
mode only matters where a template does not spell a chord out.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

PITCH_CLASSES = {
    "C": 0, "B#": 0, "C#": 1, "Db": 1, "D": 2, "D#": 3, "Eb": 3, "E": 4, "Fb": 4, "E#": 5, "F": 5,
    "F#": 6, "Gb": 6, "G": 7, "G#": 8, "Ab": 8, "A": 9, "A#": 10, "Bb": 10, "B": 11, "Cb": 11,
}
MODES = {
    "major": (0, 2, 4, 5, 7, 9, 11),
    "minor": (0, 2, 3, 5, 7, 8, 10),
    "dorian": (0, 2, 3, 5, 7, 9, 10),
    "phrygian": (0, 1, 3, 5, 7, 8, 10),
    "lydian": (0, 2, 4, 6, 7, 9, 11),
    "mixolydian": (0, 2, 4, 5, 7, 9, 10),
}
MINOR_LIKE = ("minor", "dorian", "phrygian")
_MODE_ALIASES = {
    "": None, "maj": "major", "major": "major", "ionian": "major", "m": "minor", "min": "minor",
    "minor": "minor", "aeolian": "minor", "dorian": "dorian", "phrygian": "phrygian",
    "lydian": "lydian", "mixolydian": "mixolydian",
}
_SHARP_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
_FLAT_NAMES = ("C", "Db", "D", "Eb", "E", "F", "Gb", "G", "Ab", "A", "Bb", "B")
# tonics conventionally spelled with flats (by the pitch class of the relative major)
_FLAT_MAJORS = {1, 3, 5, 8, 10}

_ROMAN = {"I": 0, "II": 2, "III": 4, "IV": 5, "V": 7, "VI": 9, "VII": 11}
_TOKEN = re.compile(r"^([b#]?)(VII|VI|V|IV|III|II|I|vii|vi|v|iv|iii|ii|i)(.*)$")
_TRIADS = {"major": (0, 4, 7), "minor": (0, 3, 7), "dim": (0, 3, 6), "aug": (0, 4, 8),
           "sus2": (0, 2, 7), "sus4": (0, 5, 7)}
_ALTERED = {"b9": 13, "#9": 15, "#11": 18, "b13": 20}
# Roman numeral of each semitone above the tonic (flats, as chromatic chords are spelled)
NUMERALS = ("I", "bII", "II", "bIII", "III", "IV", "bV", "V", "bVI", "VI", "bVII", "VII")


def parse_key(text: str) -> tuple[int, str | None]:
    """"F#", "Eb major", "A minor", "Am", "d dorian" -> (pitch class, mode or None)."""
    m = re.match(r"^\s*([A-Ga-g])\s*([#b♯♭]?)\s*(.*?)\s*$", text)
    if not m:
        raise ValueError(f"not a key: {text!r}")
    letter, accidental, rest = m.groups()
    accidental = {"♯": "#", "♭": "b"}.get(accidental, accidental)
    pc = PITCH_CLASSES[letter.upper() + accidental]
    rest = rest.lower().strip()
    if rest not in _MODE_ALIASES:
        raise ValueError(f"unknown mode {rest!r} in key {text!r}")
    return pc, _MODE_ALIASES[rest]


def tonic_name(pc: int, mode: str) -> str:
    """Conventional spelling of a tonic, e.g. Bb major but A# never; F# minor but not Gb minor."""
    relative_major = (pc + 3) % 12 if mode in MINOR_LIKE else pc
    names = _FLAT_NAMES if relative_major in _FLAT_MAJORS or pc in (3, 10) else _SHARP_NAMES
    return names[pc % 12]


def scale(tonic: int, mode: str) -> tuple[int, ...]:
    """Pitch classes of the mode on this tonic, degree order."""
    return tuple((tonic + step) % 12 for step in MODES[mode])


@dataclass(frozen=True)
class Chord:
    """A chord as pitch classes: ``pcs[0]`` is the root, then third, fifth and extensions."""

    root: int
    pcs: tuple[int, ...]
    symbol: str

    @property
    def core(self) -> tuple[int, ...]:
        """Root, third and seventh if any: the tones a voicing must not drop."""
        return tuple(pc for i, pc in enumerate(self.pcs) if i != 2 or len(self.pcs) == 3)


def chord(token: str, tonic: int, extension: str = "triad") -> Chord:
    """Parse a Roman-numeral token relative to ``tonic``.

    Upper case is major, lower case minor; suffixes: 7, maj7, dim, +, sus2, sus4, add9, and
    the altered tensions of a dominant b9, #9, #11, b13 (an altered ninth replaces the natural one).
    ``extension`` ("triad" | "seventh" | "ninth") colours tokens without an explicit
    seventh, which is how one progression template serves both pop and lo-fi.
    """
    m = _TOKEN.match(token)
    if not m:
        raise ValueError(f"not a chord token: {token!r}")
    accidental, numeral, suffix = m.groups()
    offset = _ROMAN[numeral.upper()] + {"b": -1, "#": 1, "": 0}[accidental]
    root = (tonic + offset) % 12
    upper = numeral.isupper()
    quality = "major" if upper else "minor"
    for name in ("dim", "sus2", "sus4"):
        if name in suffix:
            quality = name
    if suffix.startswith("+"):
        quality = "aug"
    intervals = list(_TRIADS[quality])
    seventh: int | None = None
    if "maj7" in suffix:
        seventh = 11
    elif "7" in suffix:
        seventh = 10 if quality != "dim" or "dim7" not in suffix else 9
    elif extension in ("seventh", "ninth") and quality in ("major", "minor", "dim"):
        dominant = upper and offset == 7
        seventh = 11 if upper and not dominant else 10
    if seventh is not None:
        intervals.append(seventh)
    altered = [semis for name, semis in _ALTERED.items() if name in suffix]
    if "add9" in suffix or (extension == "ninth" and seventh is not None and quality != "dim"
                            and not {13, 15} & set(altered)):
        intervals.append(14)
    intervals.extend(altered)
    pcs = tuple((root + i) % 12 for i in intervals)
    return Chord(root=root, pcs=pcs, symbol=token)


def numeral(offset: int, minor: bool = False, suffix: str = "") -> str:
    """The token of the chord ``offset`` semitones above the tonic, e.g. (8, False, "maj7") -> "bVImaj7"."""
    name = NUMERALS[offset % 12]
    return (name.lower() if minor else name) + suffix


def chord_scale(chord_: Chord, tonic: int, mode: str) -> tuple[int, ...]:
    """The mode's scale with chord tones substituted for their clashing neighbours.

    Why: over V in minor the melody must use the leading tone, not the natural seventh.
    """
    out = list(scale(tonic, mode))
    for pc in chord_.pcs:
        if pc in out:
            continue
        # neighbours a semitone away; tonic and fifth (degrees 0, 4) are never replaced,
        # otherwise the higher degree goes (V in minor raises 7, bIII in major lowers 3)
        options = [i for i, s in enumerate(out)
                   if min((pc - s) % 12, (s - pc) % 12) == 1 and i not in (0, 4) and s not in chord_.pcs]
        if options:
            out[max(options)] = pc
    return tuple(out)


def nearest_pitch(pc: int, target: float) -> int:
    """The MIDI pitch of class ``pc`` closest to ``target``."""
    base = int(round(target)) - ((int(round(target)) - pc) % 12)
    return base if target - base <= base + 12 - target else base + 12
