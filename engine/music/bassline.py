"""Bass lines: roots and fifths on the genre's rhythm, approach notes into chord changes.

Events are (start beat in bar, beats, kind, velocity) with kind R root, 5 fifth, 8 octave,
A approach (a step into the next chord's root). The octave of each root is chosen near
the previous note so the line moves smoothly inside the register. Like a player, the
line sometimes takes a chord in first inversion (the third in the bass, so the line
walks instead of jumping) and approaches a change chromatically, a semitone away.
"""
from __future__ import annotations

from .context import Context, Event
from .harmony import chord_at
from .orchestration import pedal
from .score import Part
from .theory import nearest_pitch, scale

INVERSION_SHARE = 0.45       # chords the bass takes on their third
CHROMATIC_SHARE = 0.5        # changes approached by a semitone rather than a scale step
_E8 = tuple((i * 0.5, 0.45, "R" if i < 7 else "A", 0.8 if i % 2 == 0 else 0.62) for i in range(8))
PATTERNS: dict[str, dict[int, tuple[tuple[float, float, str, float], ...]]] = {
    "sustain": {0: ((0, 4, "R", .7),), 1: ((0, 4, "R", .75),), 2: ((0, 4, "R", .8),), 3: ((0, 2, "R", .85), (2, 2, "R", .8))},
    "half": {0: ((0, 4, "R", .7),), 1: ((0, 2, "R", .75), (2, 2, "5", .7)), 2: ((0, 2, "R", .8), (2, 1.5, "5", .7), (3.5, .5, "A", .6)),
             3: ((0, 1.5, "R", .85), (1.5, .5, "R", .6), (2, 1.5, "5", .75), (3.5, .5, "A", .65))},
    "lofi": {0: ((0, 4, "R", .65),), 1: ((0, 2, "R", .7), (2, 2, "5", .65)),
             2: ((0, 1.5, "R", .8), (1.5, .5, "R", .55), (2, 1.5, "5", .7), (3.5, .5, "A", .6)),
             3: ((0, .75, "R", .85), (.75, .75, "8", .6), (1.5, 1, "R", .7), (2.5, 1, "5", .75), (3.5, .5, "A", .65))},
    "boombap": {0: ((0, 4, "R", .7),), 1: ((0, 1.5, "R", .8), (2.5, 1.5, "R", .7)),
                2: ((0, .75, "R", .9), (1.5, .5, "R", .7), (2.5, 1, "R", .8), (3.5, .5, "A", .6)),
                3: ((0, .75, "R", .95), (.75, .25, "R", .5), (1.5, .5, "R", .75), (2.5, .75, "5", .8), (3.25, .25, "R", .5),
                    (3.5, .5, "A", .65))},
    "cinematic": {0: ((0, 4, "R", .7),), 1: ((0, 4, "R", .8),), 2: ((0, 2, "R", .85), (2, 2, "R", .8)),
                  3: tuple((i * 0.5, 0.42, "R", 0.85 if i % 2 == 0 else 0.62) for i in range(8))},
    "pop": {0: ((0, 4, "R", .7),), 1: ((0, 2, "R", .75), (2, 2, "R", .7)),
            2: ((0, 1.5, "R", .85), (1.5, .5, "R", .6), (2, 1, "5", .75), (3, .5, "R", .65), (3.5, .5, "A", .6)),
            3: _E8},
    "octave": {0: ((0, 4, "R", .7),), 1: ((0, 1, "R", .8), (1, 1, "R", .7), (2, 1, "R", .8), (3, 1, "R", .7)),
               2: tuple((i * .5, .4, "R" if i % 2 == 0 else "8", .85 if i % 2 == 0 else .7) for i in range(8)),
               3: tuple((i * .5, .4, ("R" if i % 2 == 0 else "8") if i < 7 else "A", .9 if i % 2 == 0 else .72)
                        for i in range(8))},
    "offbeat": {0: ((0, 4, "R", .7),), 1: ((0, 2, "R", .8), (2, 2, "R", .75)),
                2: tuple((i + .5, .4, "R", .85) for i in range(4)),
                3: tuple((i + k * .25, .22, "R", .9 if k == 2 else .65) for i in range(4) for k in (1, 2, 3))},
    "folk": {0: ((0, 4, "R", .7),), 1: ((0, 2, "R", .75), (2, 2, "5", .7)),
             2: ((0, 1, "R", .8), (1, 1, "5", .65), (2, 1, "R", .75), (3, 1, "A", .65)),
             3: ((0, 1, "R", .85), (1, .5, "5", .6), (1.5, .5, "5", .6), (2, 1, "R", .8), (3, .5, "5", .6), (3.5, .5, "A", .65))},
    "piano": {0: ((0, 4, "R", .65),), 1: ((0, 4, "R", .7),), 2: ((0, 2, "R", .75), (2, 2, "5", .65)),
              3: ((0, 1.5, "R", .8), (1.5, .5, "8", .6), (2, 2, "5", .7))},
}


class _Line:
    """Keeps the line smooth: each root is placed near the previous bass note."""

    def __init__(self, ctx: Context, register: tuple[int, int]) -> None:
        self.ctx, (self.lo, self.hi) = ctx, register
        self.prev = (self.lo + self.hi) / 2.0 - 3
        rng = ctx.rng("bass", "colour")
        slots = ctx.slots
        # first inversions: never the opening or final chord, only chords with a third
        self.inverted = {i for i, s in enumerate(slots)
                         if 0 < i < len(slots) - 1 and not s.final and len(s.chord.pcs) >= 3
                         and (s.chord.pcs[1] - s.chord.root) % 12 in (3, 4) and rng.random() < INVERSION_SHARE}
        self.chromatic = rng.random(len(slots) + 1) < CHROMATIC_SHARE

    def root(self, beat: float) -> int:
        slot = chord_at(self.ctx.slots, beat)
        index = self.ctx.slots.index(slot)
        pc = slot.chord.pcs[1] if index in self.inverted else slot.chord.root
        p = nearest_pitch(pc, self.prev)
        while p > self.hi:
            p -= 12
        while p < self.lo:
            p += 12
        return p

    def tonic(self, beat: float) -> int:
        p = nearest_pitch(chord_at(self.ctx.slots, beat).tonic, self.prev)
        while p > self.hi:
            p -= 12
        while p < self.lo:
            p += 12
        return p

    def pitch(self, kind: str, beat: float, next_beat: float, held: bool = False) -> int:
        """The note of pattern ``kind``; ``held``: a pedal, the tonic whatever the chord."""
        if held:
            root = self.tonic(beat)
            p = root + 12 if kind == "8" and root + 12 <= self.hi + 5 else root
            self.prev = root
            return p
        root = self.root(beat)
        if kind == "5":
            fifth = root + 7 if root + 7 <= self.hi + 2 else root - 5
            p = fifth if chord_at(self.ctx.slots, beat).chord.pcs[2] == fifth % 12 else root
        elif kind == "8":
            p = root + 12 if root + 12 <= self.hi + 5 else root
        elif kind == "A":
            target = self.root(next_beat)
            if target % 12 == root % 12:
                p = root + 7 if root + 7 <= self.hi + 2 else root - 5
            elif self.chromatic[self.ctx.slots.index(chord_at(self.ctx.slots, next_beat))]:
                p = target - 1 if target > root else target + 1
            else:
                key = scale(chord_at(self.ctx.slots, next_beat).tonic, self.ctx.mode)
                below = [s for s in range(target - 2, target) if s % 12 in key]
                p = below[-1] if below and target > root else target + (1 if target < root else -1)
        else:
            p = root
        self.prev = p
        return p


def write(part: Part, ctx: Context) -> list[Event]:
    table = PATTERNS.get(part.style, PATTERNS["half"])
    line = _Line(ctx, part.register)
    grid, form = ctx.grid, ctx.form
    events: list[Event] = []
    hr = ctx.style.harmonic_rhythm
    for bar in range(grid.bars):
        level = max(form.level(bar), 0)
        held = pedal(ctx.style.name, form.section_at(bar).name) and not chord_at(ctx.slots, 4.0 * bar).pivot
        pattern = list(PATTERNS["cinematic"][3] if ctx.pulse and level >= 1 else table[level])
        for slot in ctx.slots:   # a chord change inside the bar gets its own root
            offset = slot.start - 4.0 * bar
            if 0.0 < offset < 4.0 and not slot.final and all(abs(s - offset) > 1e-6 for s, *_ in pattern):
                pattern = [e for e in pattern if e[0] < offset] + [(offset, 4.0 - offset, "R", 0.8)] + \
                          [e for e in pattern if e[0] > offset]
        for start, beats, kind, vel in pattern:
            beat = 4.0 * bar + start
            if beat >= grid.beats:
                continue
            slot = chord_at(ctx.slots, beat)
            if level == 0 and hr > 1 and slot.start < 4.0 * bar:
                continue                       # a long chord keeps ringing from its first bar
            if level == 0 and hr > 1:
                beats = slot.beats
            end = min(beat + beats, slot.start + slot.beats, grid.beats)
            if kind == "A" and end - beat < 0.25:
                continue
            p = line.pitch(kind, beat, beat + beats, held)
            events.append(Event(beat, end - beat, p, vel * (0.75 + 0.25 * form.bar_energy[bar])))
    for hit in form.hits:
        if hit < grid.beats:
            events = [e for e in events if not (hit <= e.start < hit + 1.0)]
            events.append(Event(hit, 1.0, line.root(hit), 1.0))
    final = ctx.final
    if final is not None:
        root = line.root(final.start)
        events.append(Event(final.start, final.beats, root - 12 if root - 12 >= part.register[0] else root, 0.85))
    return _monophonic(events)


def _monophonic(events: list[Event]) -> list[Event]:
    """A bass plays one note at a time: each note ends where the next begins."""
    events = sorted(events, key=lambda e: e.start)
    out = []
    for e, nxt in zip(events, events[1:] + [None]):
        beats = e.beats if nxt is None else min(e.beats, nxt.start - e.start)
        if beats > 1e-6:
            out.append(Event(e.start, beats, e.pitch, e.velocity, e.nudge_s))
    return out
