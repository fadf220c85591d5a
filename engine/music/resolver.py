"""Fill the "auto" parts of a Brief from the picture, deterministically.

Why from pace and energy: fast cutting wants a driving groove and a slow, quiet picture a
sparse one; these two numbers are what the analysis module measures reliably.
"""
from __future__ import annotations

import dataclasses

from .brief import Brief, Cues
from .styles import MOODS_TABLE, STYLES
from .theory import MINOR_LIKE, parse_key, tonic_name, PITCH_CLASSES


def _auto_genre(mood: str, cues: Cues) -> str:
    pace = min(max(cues.pace, 0.0), 1.0)
    if mood != "auto":
        choices = MOODS_TABLE[mood].genres
        return choices[min(int(pace * len(choices)), len(choices) - 1)]
    energy = cues.mean_energy()
    if energy > 0.75 and 0.3 <= pace < 0.6:
        return "cinematic"
    for limit, genre in ((0.2, "ambient"), (0.35, "lofi"), (0.55, "corporate"), (0.75, "upbeat")):
        if pace < limit:
            return genre
    return "electronic"


def _auto_mood(genre: str, cues: Cues) -> str:
    energy = cues.mean_energy()
    if energy < 0.3:
        return "dreamy" if genre == "ambient" else "calm"
    if energy > 0.72:
        return "epic" if genre == "cinematic" else "energetic"
    return STYLES[genre].default_mood


def _mode_for(mood: str, brightness: float) -> str:
    """The mood's mode, nudged by the brightness request (brighter minor -> dorian...)."""
    mode = MOODS_TABLE[mood].mode
    if brightness > 0.5:
        return {"minor": "dorian", "phrygian": "minor", "major": "lydian"}.get(mode, mode)
    if brightness < -0.5:
        return {"major": "mixolydian", "minor": "phrygian", "lydian": "major", "dorian": "minor"}.get(mode, mode)
    return mode


def resolve(brief: Brief, cues: Cues) -> Brief:
    """Return ``brief`` with genre, mood, bpm and key chosen; explicit choices are kept."""
    genre = brief.genre if brief.genre != "auto" else _auto_genre(brief.mood, cues)
    mood = brief.mood if brief.mood != "auto" else _auto_mood(genre, cues)
    style, mood_ = STYLES[genre], MOODS_TABLE[mood]
    bpm = brief.bpm
    if bpm is None:
        lo, pref, hi = style.tempo
        lean = 1.0 + 0.16 * (min(max(cues.pace, 0.0), 1.0) - 0.5)
        bpm = float(round(min(max(pref * mood_.tempo_factor * lean, lo), hi)))
    if brief.key is not None:
        pc, mode = parse_key(brief.key)
        mode = mode or mood_.mode
    else:
        mode = _mode_for(mood, brief.brightness)
        pc = PITCH_CLASSES[mood_.keys[brief.seed % len(mood_.keys)]]
        if mode in MINOR_LIKE and mood_.mode not in MINOR_LIKE:
            pc = (pc + 9) % 12        # keep the mood's key signature: relative minor
    key = f"{tonic_name(pc, mode)} {mode}"
    return dataclasses.replace(brief, genre=genre, mood=mood, bpm=bpm, key=key)
