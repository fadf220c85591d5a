"""Chromatic colour players add to a written progression, by genre family.

Why: a progression that never leaves the key's seven notes measures (and sounds) like a
textbook; real players leave it in the ways their genre does. Jazz players swap a
dominant for the one a tritone away, alter its ninth and reach keys outside the home
key through their own ii–V; film and ambient writers borrow from the parallel mode and
move to chromatic mediants; pop and piano players pass through a diminished chord
between two chords a step apart. Each move keeps its voice leading (a tritone
substitute still resolves a semitone down, a borrowed chord keeps its root), so the
music leaves the key without sounding random.

Tokens are Roman numerals (theory.chord); "A|B" splits a bar between two chords.
"""
from __future__ import annotations

import numpy as np

from .theory import MINOR_LIKE, chord, numeral

# chance of each move where it fits, per progression family (styles.PROGRESSIONS)
MOVES: dict[str, dict[str, float]] = {
    "jazzy": {"tritone": 0.6, "altered": 0.5, "two_five": 0.2},
    "epic": {"interchange": 0.6},
    "ambient": {"interchange": 0.5},
    "pop": {"passing_dim": 0.6, "interchange": 0.3},
    "folk": {"passing_dim": 0.4, "interchange": 0.35},
    "edm": {"interchange": 0.3},
}
# borrowed and mediant chords by family and mode family, beyond harmony._BORROWED
INTERCHANGE: dict[str, dict[str, dict[str, str]]] = {
    # the minor iv and the flat mediants of the parallel minor; III and bvi: chromatic mediants
    "epic": {"major": {"IV": "iv", "vi": "bVI", "iii": "III", "V": "bVII", "ii": "bII"},
             "minor": {"iv": "IV", "bVI": "bvi", "bIII": "III", "bVII": "bII", "v": "V"}},
    "ambient": {"major": {"IV": "iv", "vi": "bVI", "iii": "bIII", "V": "bVII"},
                "minor": {"iv": "IV", "bVI": "bvi", "bIII": "III"}},
    "pop": {"major": {"IV": "iv", "vi": "bVI", "V": "bVII"}, "minor": {"iv": "IV", "v": "V"}},
    "folk": {"major": {"IV": "iv", "V": "bVII", "iii": "III"}, "minor": {"iv": "IV", "v": "V"}},
    "edm": {"major": {"vi": "bVI", "V": "bVII"}, "minor": {"iv": "IV", "bVII": "bII"}},
}
# keys outside the home key a jazz ii–V may lead into (maj7 chords on these degrees)
TWO_FIVE_TARGETS = {"major": (3, 8, 10, 1), "minor": (1, 4, 9)}


def _root(token: str) -> int:
    return chord(token.split("|")[-1], 0).root


def _dominant(token: str) -> bool:
    """A major chord with a minor seventh (written, or V which the jazz extensions make one)."""
    if "|" in token or "maj7" in token or "dim" in token or "sus" in token:
        return False
    c = chord(token, 0, "seventh")
    return len(c.pcs) >= 4 and (c.pcs[1] - c.root) % 12 == 4 and (c.pcs[3] - c.root) % 12 == 10


def colour(tokens: list[str], family: str, mode: str, rng: np.random.Generator) -> list[str]:
    """``tokens`` (one per bar) with the family's chromatic moves; first and last bar untouched.

    The first bar states the key and the last is rewritten by the cadence, so only the
    bars between change. Runs of one chord (slow harmonic rhythm) change as a whole.
    """
    moves = MOVES.get(family, {})
    out = list(tokens)
    n = len(out)
    minor = mode in MINOR_LIKE
    if n < 3 or not moves:
        return out
    runs: list[tuple[int, int]] = []                   # [start, end) of repeated chords
    i = 1
    while i < n - 1:
        j = i
        while j + 1 < n - 1 and out[j + 1] == out[i]:
            j += 1
        runs.append((i, j + 1))
        i = j + 1
    borrow = INTERCHANGE.get(family, {}).get("minor" if minor else "major", {}) if mode in ("major", "minor") else {}
    changed: set[int] = set()
    for a, b in runs:
        tok = out[a]
        nxt = out[b] if b < n else ""
        if a in changed:
            continue
        if "tritone" in moves and _dominant(tok) and nxt and (_root(nxt) - _root(tok)) % 12 == 5 \
                and rng.random() < moves["tritone"]:
            sub = numeral(_root(tok) + 6, False, "7")        # the dominant a tritone away: same 3rd and 7th
            out[a:b] = [sub] * (b - a)
            changed.update(range(a, b))
            continue
        if "altered" in moves and _dominant(tok) and rng.random() < moves["altered"]:
            alt = tok + ("" if "7" in tok else "7") + _alteration(moves, rng, always=True)
            out[a:b] = [alt] * (b - a)
            changed.update(range(a, b))
            continue
        if "two_five" in moves and b < n - 1 and b - a == 1 and rng.random() < moves["two_five"]:
            target = int(rng.choice(TWO_FIVE_TARGETS["minor" if minor else "major"]))
            five = numeral(target + 7, False, "7" + _alteration(moves, rng))
            out[a] = f"{numeral(target + 2, True, '7')}|{five}"
            out[b] = numeral(target, False, "maj7")
            changed.update((a, b))
            continue
        if tok in borrow and rng.random() < moves.get("interchange", 0.0):
            out[a:b] = [borrow[tok]] * (b - a)
            changed.update(range(a, b))
            continue
        if "passing_dim" in moves and b - a == 1 and nxt and "|" not in nxt \
                and (_root(nxt) - _root(tok)) % 12 == 2 and rng.random() < moves["passing_dim"]:
            # I - #i°7 - ii: the diminished chord a semitone under the next root leads into it
            out[a] = f"{tok}|{_sharp(_root(tok) + 1)}dim7"
            changed.add(a)
    return out


def _alteration(moves: dict[str, float], rng: np.random.Generator, always: bool = False) -> str:
    """A flat or sharp ninth on a dominant, at the family's rate (or ``always``); "" for none."""
    if not always and rng.random() >= moves.get("altered", 0.0):
        return ""
    return "b9" if rng.random() < 0.5 else "#9"


def _sharp(offset: int) -> str:
    """Lower-case numeral of ``offset`` spelled with a sharp (a leading-tone chord rises)."""
    flat = numeral(offset, True)
    if not flat.startswith("b"):
        return flat
    return "#" + numeral(offset - 1, True)
