"""Counter-melody: a slower second line that answers the lead in the later sections.

Why guide tones: a line that moves between the chords' thirds and sevenths, by step where
it can, outlines the harmony (it sounds written, not doubled), and moving in longer values
than the lead keeps the two lines apart. It plays only where orchestration.counter_sections
says, so a piece's first statement is plainer than its answer.
"""
from __future__ import annotations

from .context import Context, Event
from .harmony import ChordSlot, chord_at
from .orchestration import counter_sections
from .score import Part
from .theory import Chord, chord_scale, nearest_pitch

# progression families whose counter-lines pass chromatically (jazz, film and ambient writing)
CHROMATIC_FAMILIES = frozenset({"jazzy", "epic", "ambient"})
# bar rhythms (beats, "t" chord tone / "p" passing tone toward the next bar's tone)
RHYTHMS: tuple[tuple[tuple[float, str], ...], ...] = (
    ((2.0, "t"), (2.0, "p")),
    ((3.0, "t"), (1.0, "p")),
    ((4.0, "t"),),
    ((1.5, "t"), (2.5, "p")),
)


def _guide(c: Chord, near: float, lo: int, hi: int) -> int:
    """The chord's third or seventh (fifth in a triad) nearest ``near``, inside the register."""
    pcs = [c.pcs[1]] + ([c.pcs[3]] if len(c.pcs) >= 4 else [c.pcs[2]])
    best = None
    for pc in pcs:
        p = nearest_pitch(pc, near)
        while p > hi:
            p -= 12
        while p < lo:
            p += 12
        if best is None or abs(p - near) < abs(best - near):
            best = p
    return int(best if best is not None else lo)


def _passing(frm: int, to: int, slot: ChordSlot, ctx: Context) -> int:
    """One scale step from ``frm`` toward ``to`` (a neighbour above when they are the same),
    in the key the chord is heard in; in the families that use them, the semitone between
    two tones a whole step apart."""
    sc = chord_scale(slot.chord, slot.tonic, ctx.mode)
    direction = 1 if to >= frm else -1
    if abs(to - frm) == 2 and ctx.style.family in CHROMATIC_FAMILIES:
        return frm + direction
    for d in range(1, 4):
        p = frm + direction * d
        if p % 12 in sc:
            return p
    return frm


def write(part: Part, ctx: Context) -> list[Event]:
    """Counter-melody events in the later sections, silent while someone speaks."""
    grid, form = ctx.grid, ctx.form
    lo, hi = part.register
    rng = ctx.rng("counter", part.name)
    prev = (lo + hi) / 2.0
    events: list[Event] = []
    for section in counter_sections(form):
        pair = rng.permutation(len(RHYTHMS))[:2]
        for bar in range(section.start_bar, min(section.end_bar, grid.bars)):
            rhythm = RHYTHMS[int(pair[(bar - section.start_bar) % 2])]
            here = chord_at(ctx.slots, 4.0 * bar).chord
            tone = _guide(here, prev, lo, hi)
            after = _guide(chord_at(ctx.slots, 4.0 * bar + 4.0).chord, tone, lo, hi)
            vel = 0.5 + 0.3 * form.bar_energy[bar]
            t = 4.0 * bar
            for beats, kind in rhythm:
                if t >= grid.beats:
                    break
                slot = chord_at(ctx.slots, t)
                if slot.chord is not here:          # a change inside the bar: its own guide tone
                    pitch = _guide(slot.chord, tone, lo, hi)
                else:
                    pitch = tone if kind == "t" else _passing(tone, after, slot, ctx)
                length = min(beats, grid.beats - t)
                if not any(a <= t < b for a, b in ctx.speech_beats):
                    events.append(Event(t, length * 0.95, pitch, vel * (1.0 if kind == "t" else 0.85)))
                t += beats
            prev = tone
    return events
