"""Genre and mood profiles: the sound-design and composition defaults as data.

A genre decides *how it sounds* (tempo range, groove, instruments, room, chord colour);
a mood decides *what it says* (mode, tempo lean, brightness, energy lean, keys). Keeping
both as tables means adding a genre is an edit here, not new control flow.
"""
from __future__ import annotations

from dataclasses import dataclass

from .score import Part


@dataclass(frozen=True)
class Style:
    name: str
    tempo: tuple[float, float, float]          # lowest, preferred, highest bpm
    swing: float                               # 0.5 straight .. 0.67 triplet feel
    swing_unit: float                          # beats per swung pair (0.5 = 16ths)
    family: str                                # progression family, see PROGRESSIONS
    extension: str                             # "triad" | "seventh" | "ninth"
    harmonic_rhythm: int                       # bars per chord
    cadence: str                               # chord before the final tonic
    parts: tuple[Part, ...]
    stem_levels: tuple[tuple[str, float], ...]
    reverb_s: float
    default_mood: str
    lift: int = 0                              # semitones the climax modulates up (modulation.py); 0: stays home


def _p(name: str, stem: str, patch: str, role: str, style: str = "", **kw: object) -> Part:
    return Part(name=name, stem=stem, patch=patch, role=role, style=style, **kw)  # type: ignore[arg-type]


def _levels(drums: float, bass: float, harmony: float, lead: float, texture: float) -> tuple[tuple[str, float], ...]:
    return (("drums", drums), ("bass", bass), ("harmony", harmony), ("lead", lead), ("texture", texture))


STYLES: dict[str, Style] = {
    "lofi": Style(
        "lofi", (70, 82, 90), 0.60, 0.5, "jazzy", "ninth", 1, "V",
        (
            _p("drums", "drums", "kit:lofi", "drums", "lofi", send=0.16),
            _p("bass", "bass", "sub_round", "bass", "lofi", register=(33, 50), send=0.0),
            _p("keys", "harmony", "epiano_dusty", "comp", "lofi", register=(50, 74), spread=0.3, send=0.22),
            _p("lead", "lead", "flute_soft", "lead", "lofi", register=(67, 86), pan=0.15, send=0.3, min_level=2),
            _p("vinyl", "texture", "vinyl", "vinyl", send=0.0),
        ),
        _levels(-14, -17, -16, -19, -35), 1.4, "calm"),
    "hiphop": Style(
        "hiphop", (80, 88, 95), 0.62, 0.5, "jazzy", "seventh", 1, "V",
        (
            _p("drums", "drums", "kit:boombap", "drums", "boombap", send=0.16),
            _p("bass", "bass", "bass_808", "bass", "boombap", register=(28, 45), send=0.0),
            _p("keys", "harmony", "epiano", "comp", "hiphop", register=(52, 74), spread=0.3, send=0.2),
            _p("lead", "lead", "bell", "lead", "hiphop", register=(70, 88), pan=-0.15, send=0.3, min_level=2),
            _p("vinyl", "texture", "vinyl", "vinyl", send=0.0),
        ),
        _levels(-13, -15, -17, -19, -38), 1.2, "mysterious"),
    "cinematic": Style(
        "cinematic", (80, 92, 110), 0.5, 0.5, "epic", "triad", 1, "V",
        (
            _p("drums", "drums", "kit:cinematic", "drums", "cinematic", send=0.22),
            _p("bass", "bass", "strings_low", "bass", "cinematic", register=(31, 50), send=0.12),
            _p("strings", "harmony", "strings", "comp", "strings", register=(48, 79), spread=0.5, send=0.35),
            _p("horn", "lead", "horn", "lead", "cinematic", register=(57, 77), pan=-0.1, send=0.38, min_level=2),
            _p("choir", "texture", "choir", "pad", "pad", register=(60, 79), spread=0.4, send=0.45, min_level=2),
            _p("fx", "texture", "fx", "fx", "riser", send=0.4),
        ),
        _levels(-14, -16, -15, -17, -21), 2.6, "epic", lift=2),
    "corporate": Style(
        "corporate", (100, 112, 128), 0.5, 0.5, "pop", "triad", 1, "V",
        (
            _p("drums", "drums", "kit:pop", "drums", "corporate", send=0.16),
            _p("bass", "bass", "pluck_bass", "bass", "pop", register=(33, 50), send=0.0),
            _p("pluck", "harmony", "pluck", "comp", "arp", register=(55, 79), spread=0.4, send=0.25),
            _p("lead", "lead", "marimba", "lead", "pop", register=(67, 88), pan=0.2, send=0.25, min_level=2),
            _p("pad", "texture", "pad_warm", "pad", "pad", register=(55, 76), spread=0.5, send=0.3),
        ),
        _levels(-15, -17, -16, -18, -24), 1.5, "happy", lift=2),
    "upbeat": Style(
        "upbeat", (108, 120, 128), 0.5, 0.5, "pop", "triad", 1, "V",
        (
            _p("drums", "drums", "kit:pop", "drums", "upbeat", send=0.16),
            _p("bass", "bass", "synth_bass", "bass", "octave", register=(33, 50), send=0.0),
            _p("stabs", "harmony", "pluck_bright", "comp", "offbeat", register=(57, 79), spread=0.4, send=0.22),
            _p("lead", "lead", "square_lead", "lead", "pop", register=(67, 88), pan=-0.1, send=0.25, min_level=2),
            _p("pad", "texture", "pad_saw", "pad", "pad", register=(55, 76), spread=0.5, send=0.3),
        ),
        _levels(-14, -16, -16, -17, -25), 1.3, "happy", lift=1),
    "ambient": Style(
        "ambient", (60, 68, 80), 0.5, 0.5, "ambient", "ninth", 2, "IV",
        (
            _p("bass", "bass", "sub_round", "bass", "sustain", register=(33, 48), send=0.1),
            _p("pad", "harmony", "pad_air", "comp", "pad", register=(52, 76), spread=0.6, send=0.45),
            _p("lead", "lead", "glass", "lead", "ambient", register=(72, 91), pan=0.2, send=0.55, min_level=1),
            _p("drone", "texture", "pad_dark", "drone", "drone", register=(36, 60), send=0.5),
            _p("fx", "texture", "fx", "fx", "swell", send=0.5),
        ),
        _levels(-30, -19, -15, -19, -20), 4.0, "dreamy"),
    "acoustic": Style(
        "acoustic", (90, 100, 120), 0.5, 0.5, "folk", "triad", 1, "IV",
        (
            _p("drums", "drums", "kit:folk", "drums", "folk", send=0.16),
            _p("bass", "bass", "upright", "bass", "folk", register=(36, 52), send=0.05),
            _p("guitar", "harmony", "guitar", "comp", "strum", register=(40, 71), spread=0.35, send=0.2),
            _p("lead", "lead", "guitar_bright", "lead", "folk", register=(64, 84), pan=0.25, send=0.25, min_level=2),
        ),
        _levels(-17, -18, -14, -17, -24), 1.6, "happy", lift=2),
    "electronic": Style(
        "electronic", (118, 124, 128), 0.5, 0.5, "edm", "triad", 1, "V",
        (
            _p("drums", "drums", "kit:909", "drums", "electronic", send=0.16),
            _p("bass", "bass", "saw_bass", "bass", "offbeat", register=(33, 50), send=0.0),
            _p("pad", "harmony", "supersaw", "comp", "pad", register=(55, 79), spread=0.5, send=0.3, sidechain=True),
            _p("lead", "lead", "saw_lead", "lead", "electronic", register=(64, 86), send=0.28, min_level=2),
            _p("fx", "texture", "fx", "fx", "riser", send=0.35),
        ),
        _levels(-13, -15, -17, -18, -24), 1.8, "energetic"),
    "piano": Style(
        "piano", (70, 80, 100), 0.5, 0.5, "pop", "triad", 1, "V",
        (
            _p("piano_bass", "bass", "piano", "bass", "piano", register=(31, 50), pan=-0.15, send=0.25),
            _p("piano_lh", "harmony", "piano", "comp", "piano_lh", register=(48, 67), pan=-0.08, spread=0.2, send=0.25),
            _p("piano_rh", "lead", "piano", "lead", "piano", register=(64, 88), pan=0.12, send=0.25, min_level=0),
        ),
        _levels(-30, -19, -17, -15, -30), 1.8, "romantic", lift=1),
}


@dataclass(frozen=True)
class Mood:
    name: str
    mode: str
    tempo_factor: float
    brightness: float
    energy: float                      # added to the arrangement energy
    keys: tuple[str, ...]              # tonic candidates, chosen by seed
    genres: tuple[str, ...]            # genre to pick when "auto", from slow to fast picture
    pulse: bool = False                # the bass drives straight eighths (suspense)


MOODS_TABLE: dict[str, Mood] = {
    "calm": Mood("calm", "major", 0.92, 0.0, -0.12, ("C", "F", "G", "D"), ("ambient", "piano", "lofi")),
    "happy": Mood("happy", "major", 1.05, 0.35, 0.05, ("C", "G", "D", "A", "F"), ("acoustic", "corporate", "upbeat")),
    "epic": Mood("epic", "minor", 1.0, 0.1, 0.15, ("D", "C", "E", "A"), ("cinematic", "cinematic", "electronic")),
    "tense": Mood("tense", "phrygian", 1.0, -0.2, 0.05, ("E", "D", "C#", "F#"), ("cinematic", "electronic"), pulse=True),
    "sad": Mood("sad", "minor", 0.88, -0.3, -0.12, ("A", "D", "E", "B"), ("piano", "ambient", "acoustic")),
    "dreamy": Mood("dreamy", "lydian", 0.9, 0.15, -0.1, ("F", "Eb", "Db", "Ab"), ("ambient", "lofi")),
    "energetic": Mood("energetic", "major", 1.08, 0.3, 0.2, ("E", "A", "D", "G"), ("upbeat", "electronic")),
    "romantic": Mood("romantic", "major", 0.9, 0.0, -0.05, ("Eb", "Ab", "F", "Bb"), ("piano", "acoustic")),
    "mysterious": Mood("mysterious", "dorian", 0.92, -0.25, -0.05, ("D", "C#", "F#", "B"), ("ambient", "cinematic", "electronic")),
}

# Progression templates, one chord per harmonic-rhythm unit. Families by genre, then mode
# family; modal moods use MODAL below whatever the genre.
PROGRESSIONS: dict[str, dict[str, tuple[str, ...]]] = {
    "pop": {
        "major": ("I V vi IV", "I vi IV V", "vi IV I V", "I IV vi V", "I iii IV V", "IV I V vi", "I V IV V", "I vi ii V"),
        "minor": ("i bVI bIII bVII", "i iv bVI V", "i bVII bVI bVII", "i bVI iv V", "i iv bVII bIII", "i bIII bVII iv"),
    },
    "jazzy": {
        "major": ("Imaj7 vi ii V", "ii V Imaj7 vi", "Imaj7 IVmaj7 iii vi", "IVmaj7 iii ii Imaj7", "Imaj7 iii IVmaj7 V", "ii iii IVmaj7 V"),
        "minor": ("i iv bVII bIII", "i bVI iv V", "ii V i i", "i bVII bVI V", "i iv v i", "iv bVII i bVI"),
    },
    "epic": {
        "major": ("I V vi IV", "I bVII IV I", "vi IV I V", "I iii vi IV", "IV I V vi"),
        "minor": ("i bVI bIII bVII", "i bVI iv V", "i bVII bVI V", "i iv bVI bVII", "i bIII bVI V", "i i bVI bVII"),
    },
    "ambient": {
        "major": ("I IV", "I vi IV I", "IV I", "I iii IV I", "I V vi IV"),
        "minor": ("i bVI", "i bVII bVI bVII", "i iv", "i bIII bVI bVII"),
    },
    "folk": {
        "major": ("I IV I V", "I V vi IV", "I IV vi V", "vi IV I V", "I V IV I", "I vi IV V"),
        "minor": ("i bVII bVI bVII", "i bIII bVII i", "i iv bVII i", "i bVI bIII bVII"),
    },
    "edm": {
        "major": ("vi IV I V", "I V vi IV", "IV I V vi", "vi V IV V"),
        "minor": ("i bVI bIII bVII", "i bVII bVI bVII", "bVI bVII i i", "i bVI bVII i", "i bIII bVII bVI"),
    },
}
MODAL: dict[str, tuple[str, ...]] = {
    "dorian": ("i IV i IV", "i bIII IV i", "i bVII IV i", "i IV bVII i", "i ii bIII IV"),
    "phrygian": ("i bII i bVII", "i bII bIII bII", "i bVI bII i", "i bII i i"),
    "lydian": ("I II I II", "I II IV I", "I II vi V", "I II iii II"),
    "mixolydian": ("I bVII IV I", "I bVII I IV", "I v IV I"),
}
# the chord before the final tonic, per mode (modal cadences keep the colour)
MODAL_CADENCE = {"dorian": "IV", "phrygian": "bII", "lydian": "II", "mixolydian": "bVII"}

# Parts added on request ("add piano"), and the fallback when the harmony stem empties.
ADDABLE: dict[str, Part] = {
    "piano": _p("piano_add", "harmony", "piano", "comp", "piano_arp", register=(55, 79), pan=0.1, spread=0.2, send=0.25),
    "drums": _p("drums", "drums", "kit:soft", "drums", "soft", send=0.16),
    "bass": _p("bass", "bass", "sub_round", "bass", "half", register=(33, 50), send=0.0),
    "strings": _p("strings_add", "texture", "strings", "pad", "pad", register=(55, 79), spread=0.5, send=0.35),
    "pad": _p("pad_add", "texture", "pad_warm", "pad", "pad", register=(52, 76), spread=0.5, send=0.35),
    "guitar": _p("guitar_add", "harmony", "guitar", "comp", "pick", register=(40, 71), pan=-0.2, spread=0.3, send=0.2),
    "lead": _p("lead", "lead", "bell", "lead", "pop", register=(67, 88), send=0.3, min_level=1),
    "synth": _p("arp", "texture", "pluck", "arp", "arp", register=(60, 84), pan=0.2, spread=0.3, send=0.3, min_level=1),
}
FALLBACK_HARMONY = ("pad_warm", "strings", "piano", "guitar", "epiano", "marimba")   # marimba is in no group

# instrument groups of each patch (what "add"/"remove" talk about)
PATCH_GROUPS: dict[str, tuple[str, ...]] = {
    "piano": ("piano",), "epiano": ("piano",), "epiano_dusty": ("piano",),
    "strings": ("strings",), "strings_low": ("strings", "bass"), "choir": ("pad",),
    "pad_warm": ("pad",), "pad_saw": ("pad", "synth"), "pad_air": ("pad",), "pad_dark": ("pad",),
    "supersaw": ("pad", "synth"), "pluck": ("synth",), "pluck_bright": ("synth",),
    "guitar": ("guitar",), "guitar_bright": ("guitar",),
    "saw_lead": ("synth",), "square_lead": ("synth",), "flute_soft": (), "bell": (), "glass": (),
    "marimba": (), "horn": (),
    "sub_round": ("bass",), "bass_808": ("bass",), "pluck_bass": ("bass",), "synth_bass": ("bass", "synth"),
    "saw_bass": ("bass", "synth"), "upright": ("bass",),
}


def groups_of(part: Part) -> tuple[str, ...]:
    """The user-facing instrument groups a part belongs to."""
    if part.patch.startswith("kit:"):
        return ("drums",)
    groups = set(PATCH_GROUPS.get(part.patch, ()))
    if part.role == "lead":
        groups.add("lead")
    if part.role == "bass":
        groups.add("bass")
    return tuple(sorted(groups))
