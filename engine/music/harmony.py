"""Chord progressions from templates, ending in a cadence, and voice-led voicings.

Why templates: listeners expect the progressions of the genre; variety comes from which
template each section uses (seeded), not from random chords. Voicings then move each
voice as little as possible and avoid parallel fifths and octaves, which is what makes
block chords sound like one instrument rather than a sequence of shapes.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from . import chromatic
from .form import Form
from .grid import Grid
from .modulation import bar_keys
from .styles import MODAL, MODAL_CADENCE, PROGRESSIONS, Style
from .theory import MINOR_LIKE, Chord, chord


@dataclass(frozen=True)
class ChordSlot:
    start: float          # beats
    beats: float
    chord: Chord
    tonic: int            # pitch class of the key the chord is heard in (changes at a lift)
    final: bool = False
    pivot: bool = False   # the new key's dominant, in the bar before a lift


def _pool(style: Style, mode: str) -> tuple[str, ...]:
    if mode in MODAL:
        return MODAL[mode]
    family = PROGRESSIONS[style.family]
    return family["minor" if mode in MINOR_LIKE else "major"]


def _cadence_tokens(style: Style, mode: str, rng: np.random.Generator) -> list[str]:
    """Chord(s) of the last body bar; one token fills the bar, two split it."""
    if mode in MODAL_CADENCE:
        return [MODAL_CADENCE[mode]]
    minor = mode in MINOR_LIKE
    if style.cadence == "IV":
        return ["iv" if minor else "IV"]
    if style.extension != "triad" and rng.random() < 0.5:
        return ["iiø7" if minor else "ii", "V7"]
    if rng.random() < 0.35:
        return ["iv" if minor else "IV", "V"]
    return ["V"]


# colours a plain chord may take, by how much colour the genre's harmony carries
_COLOURS = {"triad": ("add9", "sus2", "sus4", "7", ""), "seventh": ("add9", "", ""), "ninth": ("",)}
_BORROWED = {"major": {"IV": "iv", "V": "bVII", "vi": "bVI"},
             "minor": {"iv": "IV", "v": "bVII", "bVI": "IV", "bVII": "V"}}
# the dominant that leads into a chord (its "V of"), by the chord it leads to
_SECONDARY = {"major": {"vi": "III7", "V": "II7", "IV": "I7", "ii": "VI7"},
              "minor": {"iv": "I7", "V": "II7", "bVI": "bIII7", "bIII": "bVII7"}}


def _colour(tokens: list[str], style: Style, mode: str, rng: np.random.Generator) -> list[str]:
    """Written chords as a player voices them: added ninths, suspensions, sevenths, borrowed
    chords, and secondary dominants leaning into the chord after them.

    Why: plain diatonic triads read as a textbook (a key profile fits them too well);
    players colour most chords and borrow from the parallel mode now and then. The
    first chord stays the plain tonic (the key is stated before it is coloured) and the
    cadence is written after this, so endings stay clear.
    """
    colours = _COLOURS[style.extension]
    family = "minor" if mode in MINOR_LIKE else "major"
    borrowed = _BORROWED[family] if mode in ("major", "minor") else {}
    secondary = _SECONDARY[family] if mode in ("major", "minor") else {}
    out = list(tokens)
    goals: set[int] = set()                          # chords a secondary dominant leads into stay as written
    for i in range(1, len(out)):
        tok = out[i]
        goal = out[i + 1].rstrip("7") if i + 1 < len(out) else ""
        if i not in goals and goal in secondary and goal != tok and rng.random() < 0.4:
            out[i] = secondary[goal]                 # lean into the next chord through its own dominant
            goals.add(i + 1)
            continue
        if i in goals:
            continue
        if tok in borrowed and rng.random() < 0.35:
            out[i] = borrowed[tok]
            continue
        plain = tok.lstrip("b#").isalpha() and "dim" not in tok
        if plain and rng.random() < 0.65:
            colour = colours[int(rng.integers(len(colours)))]
            if colour.startswith("sus") and tok.lstrip("b#").islower():
                colour = "add9"                      # a suspended minor chord is no longer minor
            out[i] = tok + colour
    return out


LIFT_PLAIN_BARS = 4     # bars of the new key's own chords after a lift


def _tonic_token(mode: str) -> str:
    return "i" if mode in MINOR_LIKE else "I"


def progression(form: Form, grid: Grid, style: Style, tonic: int, mode: str,
                rng: np.random.Generator, lift_at: int | None = None) -> tuple[ChordSlot, ...]:
    """One chord per harmonic-rhythm unit, cadence into the final tonic chord.

    With ``lift_at`` the piece changes key there by the style's lift: that bar opens on
    the new tonic after one bar of the new key's dominant, and the cadence and final
    chord are in the new key.
    """
    pool = list(_pool(style, mode))
    order = rng.permutation(len(pool))
    prog_a = pool[order[0]].split()
    prog_b = pool[order[1 % len(pool)]].split()
    hr = style.harmonic_rhythm if grid.bpm >= 64 or style.harmonic_rhythm > 1 else 1
    tokens: list[str] = []
    position, current = 0, prog_a
    for section in form.sections:
        prog = prog_b if section.name in ("variation", "breakdown", "build") else prog_a
        cycle = len(prog) * hr
        if prog is not current:
            # a new progression starts from its top when the section holds a whole cycle of it;
            # a shorter section carries on from where the phrase is (else short sections of a
            # slow harmonic rhythm would only ever play the first chord: the tonic)
            if section.end_bar - section.start_bar >= cycle:
                position = 0
            current = prog
        elif position % cycle == 0:
            position = 0                         # a phrase boundary
        for _ in range(section.end_bar - section.start_bar):
            tokens.append(prog[(position // hr) % len(prog)])
            position += 1
    tokens[0] = _tonic_token(mode)
    plain = list(tokens)
    tokens = _colour(tokens, style, mode, rng)
    tokens = chromatic.colour(tokens, style.family, mode, rng)
    keys = bar_keys(len(tokens), tonic, style.lift, lift_at)
    pivot = -1
    if lift_at is not None and 0 < lift_at < len(tokens) - 1:
        # the new key is stated by its dominant, then a plain phrase (borrowed chords there
        # would lean back toward the old key), before the colour returns
        pivot = lift_at - 1
        stated = min(lift_at + LIFT_PLAIN_BARS, len(tokens) - 1)
        tokens[lift_at:stated] = plain[lift_at:stated]
        tokens[pivot], keys[pivot] = "V7", keys[lift_at]
        tokens[lift_at] = _tonic_token(mode)
    slots: list[tuple[float, float, str]] = [(4.0 * i, 4.0, tok) for i, tok in enumerate(tokens)]
    ext = style.extension
    if not grid.loopable:
        cadence = _cadence_tokens(style, mode, rng)
        last = len(slots) - 1
        if len(cadence) == 2 or last == 0:
            pre = cadence if len(cadence) == 2 else [_tonic_token(mode) if last == 0 else slots[last][2], cadence[0]]
            slots[last] = (4.0 * last, 2.0, pre[0])
            slots.append((4.0 * last + 2.0, 2.0, pre[1]))
        else:
            slots[last] = (4.0 * last, 4.0, cadence[0])
            if last > 0 and slots[last - 1][2].rstrip("7") == cadence[0].rstrip("7"):
                slots[last - 1] = (slots[last - 1][0], 4.0, "ii" if cadence[0] == "V" else _tonic_token(mode))
    else:
        # the last bar turns around into bar one's tonic
        turn = "V" if mode in ("major", "minor") else MODAL_CADENCE.get(mode, "V")
        last_start = 4.0 * (len(slots) - 1)
        slots[-1] = (last_start, grid.beats - last_start, turn if len(slots) > 1 else slots[-1][2])
    halves = [(s + h * b / 2, b / 2, part) for s, b, tok in slots if "|" in tok
              for h, part in enumerate(tok.split("|"))]
    slots = sorted([s for s in slots if "|" not in s[2]] + halves)
    # merge repeated chords into one longer slot (pads then sustain instead of re-striking)
    merged: list[tuple[float, float, str, int]] = []       # start, beats, token, bar it was written in
    for start, beats, tok in slots:
        beats = min(beats, grid.beats - start)
        bar = min(int(start // 4), len(keys) - 1)
        prev = merged[-1] if merged else None
        if prev and prev[2] == tok and hr > 1 and keys[prev[3]] == keys[bar] and pivot not in (prev[3], bar):
            merged[-1] = (prev[0], prev[1] + beats, tok, prev[3])
        else:
            merged.append((start, beats, tok, bar))
    out = [ChordSlot(s, b, chord(t, keys[bar], ext), keys[bar], pivot=bar == pivot)
           for s, b, t, bar in merged if b > 0]
    if not grid.loopable:
        tail_beats = grid.tail_s / grid.beat_s
        last_key = keys[-1]
        out.append(ChordSlot(float(grid.beats), tail_beats, chord(_tonic_token(mode), last_key, ext), last_key,
                             final=True))
    return tuple(out)


def chord_at(slots: tuple[ChordSlot, ...], beat: float) -> ChordSlot:
    """The slot sounding at ``beat`` (the last one after the end)."""
    for slot in slots:
        if slot.start <= beat < slot.start + slot.beats:
            return slot
    return slots[-1] if beat >= slots[-1].start else slots[0]


@lru_cache(maxsize=4096)
def _candidates(pcs: tuple[int, ...], core: tuple[int, ...], voices: int, lo: int, hi: int) -> np.ndarray:
    """All voicings of the chord in [lo, hi] with ``voices`` notes covering its core tones."""
    pitches = [p for p in range(lo, hi + 1) if p % 12 in pcs]
    need = set(core) if len(core) <= voices else set(core[:voices])
    out = []
    for combo in itertools.combinations(pitches, voices):
        classes = {p % 12 for p in combo}
        if not need <= classes:
            continue
        gaps = np.diff(combo)
        if gaps.size and (gaps.max() > 12 or gaps.min() < (3 if len(pcs) <= 3 else 2)):
            continue
        out.append(combo)
    if not out:   # register too narrow for the rules: any covering voicing
        out = [c for c in itertools.combinations(pitches, voices) if need <= {p % 12 for p in c}]
    if not out:
        out = [tuple(sorted(pitches[:voices]))] if len(pitches) >= voices else [tuple(pitches)]
    return np.asarray(out, dtype=np.int64)


class VoiceLeader:
    """Chooses each chord's voicing by least motion from the previous one."""

    def __init__(self, register: tuple[int, int], voices: int) -> None:
        self.lo, self.hi = register
        self.voices = voices
        self.centre = (self.lo + self.hi) / 2.0
        self.prev: np.ndarray | None = None
        self._root = 0
        self._memo: dict[tuple[tuple[int, ...], tuple[int, ...]], tuple[int, ...]] = {}

    def voice(self, c: Chord) -> tuple[int, ...]:
        self._root = c.root
        voices = self.voices
        cands = _candidates(c.pcs, c.core, voices, self.lo, self.hi)
        key = (tuple(self.prev.tolist()) if self.prev is not None else (), c.pcs)
        if key in self._memo:
            chosen = self._memo[key]
        else:
            chosen = tuple(int(p) for p in cands[self._best(cands)])
            self._memo[key] = chosen
        self.prev = np.asarray(chosen)
        return chosen

    def _best(self, cands: np.ndarray) -> int:
        spread = cands[:, -1] - cands[:, 0]
        centre_cost = 0.35 * np.abs(cands.mean(axis=1) - self.centre)
        doubled = _doubling_cost(cands, self._root)
        if self.prev is None or self.prev.size != cands.shape[1]:
            return int(np.argmin(centre_cost * 3 + 0.1 * spread + doubled))
        prev = self.prev
        motion = np.abs(cands - prev).sum(axis=1).astype(float)
        moves = cands - prev
        parallels = np.zeros(len(cands))
        n = cands.shape[1]
        for i in range(n):
            for j in range(i + 1, n):
                before = (prev[j] - prev[i]) % 12
                after = (cands[:, j] - cands[:, i]) % 12
                same_dir = (moves[:, i] != 0) & (np.sign(moves[:, i]) == np.sign(moves[:, j]))
                perfect = (before == after) & np.isin(after, (0, 7))
                parallels += (same_dir & perfect).astype(float)
        return int(np.argmin(motion + 3.0 * parallels + centre_cost + doubled + 0.05 * spread))


def _doubling_cost(cands: np.ndarray, root: int) -> np.ndarray:
    """Doubling the root is fine, doubling anything else (the third above all) is not."""
    classes = cands % 12
    cost = np.zeros(len(cands))
    for i in range(cands.shape[1]):
        dup = (classes[:, i:i + 1] == classes[:, i + 1:]).any(axis=1)
        cost += np.where(dup, np.where(classes[:, i] == root, 0.3, 1.5), 0.0)
    return cost
