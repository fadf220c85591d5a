"""Lead melodies from motifs: a one-bar idea, repeated, sequenced, inverted, cadenced.

Rules, cheapest first: strong beats land on chord tones, motion is mostly stepwise,
a leap is answered by a step the other way, a phrase ends long on a stable tone and the
last phrase of the piece resolves to the tonic on the final chord.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .form import Form
from .grid import Grid
from .harmony import ChordSlot, chord_at
from .theory import chord_scale

RHYTHMS: dict[str, tuple[tuple[float, ...], ...]] = {
    "pop": ((1, .5, .5, 1, 1), (.5, .5, 1, .5, .5, 1), (1.5, .5, 2), (1, 1, 2), (.5, 1, .5, 2),
            (.75, .75, .5, 2), (1, .5, .5, 2)),
    "lofi": ((1.5, .5, 1, -1), (-.5, .5, .5, .5, 2), (1, .5, 1.5, -1), (-1, .5, .5, 2), (.75, .75, .5, -2)),
    "hiphop": ((-.5, .5, .5, .5, -1, 1), (.5, .5, -1, 1, -1), (1, -.5, .5, 2), (-1, .5, .5, .5, 1.5)),
    "cinematic": ((2, 2), (3, 1), (1, 1, 2), (4,), (2, 1, 1)),
    "ambient": ((4,), (2, 2), (-2, 2), (3, 1), (-1, 3)),
    "piano": ((1, 1, 1, 1), (1.5, .5, 2), (.5, .5, 1, 2), (1, .5, .5, 2), (2, 1, 1)),
    "electronic": ((.5, .5, .5, .5, 1, 1), (.75, .75, .5, .5, .5, 1), (.5, .25, .25, 1, 2),
                   (-.5, .5, .5, .5, .5, .5, 1)),
    "folk": ((1, .5, .5, 2), (1, 1, 1, 1), (.5, .5, 1, 1, 1), (1.5, .5, 1, 1)),
}
ARTICULATION = {"electronic": 0.7, "pop": 0.85, "hiphop": 0.8}


@dataclass(frozen=True)
class Motif:
    rhythm: tuple[float, ...]     # beats; negative = rest
    steps: tuple[int, ...]        # scale steps between successive sounding notes


@dataclass(frozen=True)
class MelodyNote:
    start: float                  # beats
    beats: float
    pitch: int
    velocity: float


def _motif(style: str, rng: np.random.Generator) -> Motif:
    pool = RHYTHMS.get(style, RHYTHMS["pop"])
    rhythm = pool[int(rng.integers(len(pool)))]
    sounding = sum(1 for r in rhythm if r > 0)
    steps: list[int] = []
    for _ in range(max(sounding - 1, 0)):
        if steps and abs(steps[-1]) >= 3:
            steps.append(-int(np.sign(steps[-1])))       # answer a leap by a step back
            continue
        steps.append(int(rng.choice([0, 1, -1, 2, -2, 3, -3, 4], p=[.12, .3, .3, .1, .1, .03, .03, .02])))
    return Motif(rhythm, tuple(steps))


def _cadence_rhythm(motif: Motif) -> tuple[float, ...]:
    """The motif's first half, then one long note to the end of the bar."""
    out, t = [], 0.0
    for r in motif.rhythm:
        if t + abs(r) > 2.0 + 1e-9:
            break
        out.append(r)
        t += abs(r)
    out.append(4.0 - t)
    return tuple(out)


def _phrase_plan(rng: np.random.Generator, bars: int) -> list[tuple[str, int]]:
    """(transform, degree shift) per bar; the last bar always cadences."""
    plans = (
        [("same", 0), ("same", 1), ("same", 0), ("cadence", 0)],
        [("same", 0), ("invert", 0), ("same", 2), ("cadence", 0)],
        [("same", 0), ("same", -1), ("invert", 1), ("cadence", 0)],
        [("same", 0), ("other", 0), ("same", 0), ("cadence", 0)],
    )
    plan = plans[int(rng.integers(len(plans)))]
    return plan[: bars - 1] + [("cadence", 0)] if bars > 1 else [("cadence", 0)]


class MelodyWriter:
    """Turns motifs into pitches in one register over one chord timeline.

    Melodies move in scale degrees of the chord-scale of the key in force (so a step is
    always a step in key, and after a key change the same degrees sound in the new key);
    ``degree`` 0 is the tonic nearest the register's centre.
    """

    def __init__(self, grid: Grid, slots: tuple[ChordSlot, ...], mode: str,
                 register: tuple[int, int], brightness: float) -> None:
        self.grid, self.slots, self.mode = grid, slots, mode
        shift = int(round(3 * brightness))
        self.lo, self.hi = register[0] + shift, register[1] + shift
        self.centre_pitch = (self.lo + self.hi) / 2.0

    def base(self, beat: float) -> float:
        """Pitch of degree 0 at ``beat``: the key's tonic nearest below the register centre."""
        return self._base(chord_at(self.slots, beat).tonic)

    def _base(self, tonic: int) -> float:
        return self.centre_pitch - ((self.centre_pitch - tonic) % 12)

    def pitch(self, degree: int, beat: float) -> int:
        slot = chord_at(self.slots, beat)
        sc = chord_scale(slot.chord, slot.tonic, self.mode)
        octave, idx = divmod(degree, 7)
        step = (sc[idx] - slot.tonic) % 12
        return int(self._base(slot.tonic) + 12 * octave + step)

    def snap(self, degree: int, beat: float, direction: int, stable: bool = False,
             prev_pitch: int | None = None) -> int:
        """Nearest chord-tone degree (root/third if ``stable``), avoiding leaps from ``prev_pitch``."""
        pcs = chord_at(self.slots, beat).chord.pcs
        wanted = pcs[:2] if stable else pcs
        best, best_cost = degree, float("inf")
        for off in range(-4, 5):
            p = self.pitch(degree + off, beat)
            if p % 12 not in wanted:
                continue
            cost = abs(off) + (0.4 if direction and off * direction < 0 else 0.0)
            if prev_pitch is not None and abs(p - prev_pitch) > 4:
                cost += 1.5
            if cost < best_cost:
                best, best_cost = degree + off, cost
        return best

    def write_phrase(self, start_bar: int, bars: int, motif: Motif, other: Motif, energy: float,
                     rng: np.random.Generator, start_degree: int) -> list[MelodyNote]:
        notes: list[MelodyNote] = []
        degree, prev_pitch, prev_interval = start_degree, None, 0
        plan = _phrase_plan(rng, bars)
        for i, (transform, shift) in enumerate(plan):
            bar = start_bar + i
            m = other if transform == "other" else motif
            rhythm = _cadence_rhythm(m) if transform == "cadence" else m.rhythm
            steps = [-s for s in m.steps] if transform == "invert" else list(m.steps)
            if transform in ("same", "invert", "other"):
                degree = start_degree + shift
                if prev_pitch is not None:         # restart the motif in the octave nearest the line
                    here = self.degree_of(prev_pitch, 4.0 * bar)
                    degree += 7 * round((here - degree) / 7)
            t, k = 0.0, 0
            sounding = [r for r in rhythm if r > 0]
            for r in rhythm:
                beat = 4.0 * bar + t
                t += abs(r)
                if r < 0 or beat >= self.grid.beats:
                    continue
                if k > 0:
                    step = steps[(k - 1) % len(steps)] if steps else 0
                    if abs(prev_interval) > 4:                 # resolve the leap by step
                        step = -int(np.sign(prev_interval))
                    degree += step
                last_of_phrase = transform == "cadence" and k == len(sounding) - 1
                strong = (beat % 4.0) in (0.0, 2.0) or r >= 1.5
                if strong or last_of_phrase:
                    direction = int(np.sign(degree - (self.degree_of(prev_pitch, beat) if prev_pitch else degree)))
                    degree = self.snap(degree, beat, direction, stable=last_of_phrase, prev_pitch=prev_pitch)
                pitch = self.pitch(degree, beat)
                while pitch > self.hi:
                    degree -= 7
                    pitch = self.pitch(degree, beat)
                while pitch < self.lo:
                    degree += 7
                    pitch = self.pitch(degree, beat)
                accent = 0.1 if beat % 4.0 == 0.0 else (0.04 if beat % 1.0 == 0.0 else 0.0)
                vel = min(1.0, 0.55 + 0.3 * energy + accent + float(rng.normal(0, 0.03)))
                beats = min(r, self.grid.beats - beat)
                notes.append(MelodyNote(beat, beats, pitch, vel))
                prev_interval = pitch - prev_pitch if prev_pitch is not None else 0
                prev_pitch = pitch
                k += 1
        return notes

    def resolve_leaps(self, notes: list[MelodyNote]) -> list[MelodyNote]:
        """After a leap (> major third) the next note steps back, if a fitting tone is there."""
        out = list(notes)
        for i in range(1, len(out) - 1):
            a, b, c = out[i - 1], out[i], out[i + 1]
            leap = b.pitch - a.pitch
            if abs(leap) <= 4 or c.start - (b.start + b.beats) > 1.0:
                continue
            back = c.pitch - b.pitch
            if np.sign(back) == -np.sign(leap) and 1 <= abs(back) <= 2:
                continue
            slot = chord_at(self.slots, c.start)
            strong = (c.start % 4.0) in (0.0, 2.0) or c.beats >= 1.5
            allowed = slot.chord.pcs if strong else chord_scale(slot.chord, slot.tonic, self.mode)
            reach = (1, 2, 3, 4) if strong else (1, 2)
            for d in reach:
                p = b.pitch - int(np.sign(leap)) * d
                if p % 12 in allowed and self.lo <= p <= self.hi:
                    out[i + 1] = MelodyNote(c.start, c.beats, p, c.velocity)
                    break
        return out

    def degree_of(self, pitch: int, beat: float) -> int:
        """Approximate scale degree of a MIDI pitch at ``beat`` (for octave and direction decisions)."""
        return int(round((pitch - self.base(beat)) * 7 / 12))

    def final_note(self, energy: float) -> MelodyNote | None:
        """The tonic on the final chord, near the register centre."""
        final = self.slots[-1]
        if not final.final:
            return None
        degree = self.snap(self.degree_of(int(self.centre_pitch), final.start), final.start, 0, stable=True)
        pcs = final.chord.pcs
        for off in (0, -1, 1, -2, 2, -3, 3):
            if self.pitch(degree + off, final.start) % 12 == pcs[0]:
                degree += off
                break
        return MelodyNote(final.start, final.beats, self.pitch(degree, final.start), 0.5 + 0.3 * energy)


def write_melody(form: Form, grid: Grid, slots: tuple[ChordSlot, ...], mode: str,
                 register: tuple[int, int], brightness: float, style: str, min_level: int,
                 rng: np.random.Generator, speech_beats: tuple[tuple[float, float], ...]) -> list[MelodyNote]:
    """Melody over the whole piece; silent where the arrangement is below ``min_level``."""
    writer = MelodyWriter(grid, slots, mode, register, brightness)
    motif_a, motif_b = _motif(style, rng), _motif(style, rng)
    start_degree = writer.snap(writer.degree_of(int(writer.centre_pitch), 0.0) - 2, 0.0, 1)
    out: list[MelodyNote] = []
    few_sections = len(form.sections) <= 2
    for section in form.sections:
        if section.name == "intro" and not few_sections:
            continue
        motif = motif_b if section.name in ("variation", "build", "breakdown") else motif_a
        other = motif_a if motif is motif_b else motif_b
        shift = 2 if section.name == "climax" else 0
        bar = section.start_bar
        while bar < section.end_bar:
            bars = min(4, section.end_bar - bar)
            if max(form.level(b) for b in range(bar, bar + bars)) >= min_level:
                notes = writer.write_phrase(bar, bars, motif, other, form.bar_energy[bar], rng, start_degree + shift)
                if section.name == "breakdown":
                    notes = notes[::2]
                out.extend(n for n in notes if form.level(int(n.start // 4)) >= min_level)
            bar += bars
    out = writer.resolve_leaps(out)
    if out:
        end = writer.final_note(form.bar_energy[-1])
        if end is not None:
            out.append(end)
    articulation = ARTICULATION.get(style, 0.92)
    shaped = [MelodyNote(n.start, n.beats if n is out[-1] else n.beats * articulation, n.pitch, n.velocity) for n in out]
    return [n for n in shaped if not any(a <= n.start < b for a, b in speech_beats)]
