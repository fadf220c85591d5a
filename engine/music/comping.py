"""Harmony parts: chords on the genre's comping rhythm, voice-led, plus pads and drones.

Pattern events are (start beat in bar, beats, how, velocity): how "c" is the whole
voicing, "D"/"U" a down/up strum, "a<i>" one voice of the voicing (arpeggios, Alberti).
"""
from __future__ import annotations

from .context import Context, Event
from .constants import STRUM_S
from .harmony import ChordSlot, VoiceLeader, chord_at
from .score import Part

Pat = tuple[tuple[float, float, str, float], ...]


def _arp(order: tuple[int, ...], step: float, vel: float, accent: float = 0.12) -> Pat:
    return tuple((i * step, step * 0.95, f"a{v}", vel + (accent if (i * step) % 1.0 == 0 else 0.0))
                 for i, v in enumerate(order))


PATTERNS: dict[str, dict[int, Pat]] = {
    "lofi": {0: ((0, 4, "c", .5),), 1: ((0, 2.5, "c", .55), (2.5, 1.5, "c", .45)),
             2: ((0, 1.5, "c", .62), (1.5, 2.5, "c", .52)),
             3: ((0, .75, "c", .68), (1.5, .5, "c", .5), (2.5, 1.5, "c", .58))},
    "hiphop": {0: ((0, 4, "c", .5),), 1: ((0, 3, "c", .58),), 2: ((0, 1.75, "c", .62), (2.5, 1.5, "c", .52)),
               3: ((0, .75, "c", .68), (.75, .75, "c", .48), (2.5, 1, "c", .58), (3.5, .5, "c", .45))},
    "strings": {0: ((0, 4, "c", .5),), 1: ((0, 4, "c", .6),), 2: ((0, 4, "c", .7),), 3: ((0, 2, "c", .8), (2, 2, "c", .72))},
    "pad": {0: ((0, 4, "c", .5),), 1: ((0, 4, "c", .58),), 2: ((0, 4, "c", .65),), 3: ((0, 4, "c", .72),)},
    "arp": {0: ((0, 4, "c", .45),), 1: _arp((0, 1, 2, 3), 1.0, .5), 2: _arp((0, 1, 2, 3, 2, 1, 2, 3), .5, .55),
            3: _arp((0, 1, 2, 3, 1, 2, 3, 2, 0, 1, 2, 3, 1, 2, 3, 2), .25, .55)},
    "offbeat": {0: ((0, 4, "c", .45),), 1: ((0, 1.5, "c", .58), (2, 1.5, "c", .52)),
                2: tuple((i + .5, .35, "c", .7) for i in range(4)),
                3: tuple((i + .5, .3, "c", .75) for i in range(4)) + ((3.75, .2, "c", .55),)},
    "strum": {0: ((0, 4, "D", .5),), 1: ((0, 2, "D", .6), (2, 2, "D", .55)),
              2: ((0, 1, "D", .7), (1, .5, "D", .55), (1.5, 1, "U", .5), (2.5, .5, "U", .5), (3, .5, "D", .6), (3.5, .5, "U", .5)),
              3: tuple((i * .5, .5, "D" if i % 2 == 0 else "U", .75 if i % 4 == 0 else .58) for i in range(8))},
    "pick": {0: ((0, 4, "c", .45),), 1: _arp((0, 2, 1, 3), 1.0, .5), 2: _arp((0, 2, 1, 3, 0, 2, 1, 3), .5, .52),
             3: _arp((0, 2, 3, 1, 2, 3, 0, 3), .5, .58)},
    "piano_lh": {0: ((0, 4, "c", .45),), 1: _arp((0, 1, 2, 1), 1.0, .48), 2: _arp((0, 2, 1, 2, 0, 2, 1, 2), .5, .5),
                 3: _arp((0, 1, 2, 1, 0, 1, 2, 1), .5, .58)},
    "piano_arp": {0: ((0, 4, "c", .4),), 1: ((0, 2, "c", .45), (2, 2, "c", .42)), 2: _arp((0, 1, 2, 1), 1.0, .48),
                  3: _arp((0, 1, 2, 3, 2, 1, 2, 3), .5, .5)},
}
VOICES = {"strum": 5, "pick": 4, "piano_lh": 3, "arp": 4}


def _voice(slot_voicing: tuple[int, ...], how: str) -> list[tuple[int, float]]:
    """(pitch, nudge) pairs for one pattern event."""
    if how.startswith("a"):
        i = int(how[1:]) % len(slot_voicing)
        return [(slot_voicing[i], 0.0)]
    if how == "D":
        return [(p, i * STRUM_S) for i, p in enumerate(slot_voicing)]
    if how == "U":
        upper = slot_voicing[-3:]
        return [(p, i * STRUM_S * 0.8) for i, p in enumerate(reversed(upper))]
    return [(p, 0.0) for p in slot_voicing]


def write(part: Part, ctx: Context, lead_fills: bool = False) -> list[Event]:
    """Comping for roles comp/pad/arp; ``lead_fills`` adds pickup arpeggios into transitions."""
    grid, form = ctx.grid, ctx.form
    style = part.style if part.style in PATTERNS else "pad"
    table = PATTERNS[style]
    lift = int(round(3 * ctx.brightness))              # brighter pieces voice higher
    leader = VoiceLeader((part.register[0] + lift, part.register[1] + lift), VOICES.get(style, 4))
    voicings = {slot.start: leader.voice(slot.chord) for slot in ctx.slots}
    sustained = style in ("pad", "strings")
    section_starts = {s.start_bar for s in form.sections}

    def holding(bar: int) -> bool:
        level = form.level(bar)
        return sustained and part.min_level <= level < 3

    events: list[Event] = []
    for bar in range(grid.bars):
        level = form.level(bar)
        if level < part.min_level:
            continue
        speech = ctx.in_speech(4.0 * bar + 2.0)
        scale = (0.8 + 0.3 * form.bar_energy[bar]) * (0.85 if speech else 1.0)
        if holding(bar):                     # pads hold each chord across bars until something changes
            run_end = bar + 1
            while run_end < grid.bars and holding(run_end) and run_end not in section_starts:
                run_end += 1
            new_run = bar == 0 or not holding(bar - 1) or bar in section_starts
            vel = table[level][0][3] * scale
            for slot in ctx.slots:
                if slot.final or slot.start >= 4.0 * bar + 4.0 or slot.start + slot.beats <= 4.0 * bar:
                    continue
                if slot.start < 4.0 * bar and not new_run:
                    continue
                start = max(slot.start, 4.0 * bar)
                end = min(slot.start + slot.beats, 4.0 * run_end, float(grid.beats))
                events.extend(Event(start, end - start, p, min(vel, 1.0)) for p in voicings[slot.start])
            continue
        for start, beats, how, vel in table[level]:
            beat = 4.0 * bar + start
            if beat >= grid.beats:
                continue
            slot = chord_at(ctx.slots, beat)
            end = min(beat + beats, grid.beats, slot.start + slot.beats)
            for pitch, nudge in _voice(voicings[slot.start], how):
                events.append(Event(beat, end - beat, pitch, min(vel * scale, 1.0), nudge))
        # a chord change inside the bar restarts the chord (cadence bars split in halves)
        for slot in ctx.slots:
            offset = slot.start - 4.0 * bar
            if 0.0 < offset < 4.0 and not slot.final and not any(abs(e.start - slot.start) < 1e-6 for e in events):
                for pitch, _ in _voice(voicings[slot.start], "c"):
                    events.append(Event(slot.start, slot.beats, pitch, 0.6))
    for hit in form.hits:
        if hit < grid.beats:
            slot = chord_at(ctx.slots, hit)
            events.extend(Event(hit, 0.5, p, 1.0) for p in voicings[slot.start])
    if lead_fills:
        events.extend(_pickups(ctx, voicings))
    final = ctx.final
    if final is not None:
        events.extend(Event(final.start, final.beats, p, 0.7) for p in voicings[final.start])
    return events


def _pickups(ctx: Context, voicings: dict[float, tuple[int, ...]]) -> list[Event]:
    """Four rising sixteenths into each transition, when no drum or fx part can mark it."""
    out: list[Event] = []
    for land in ctx.form.fills:
        start = land - 1.0
        if start < 0:
            continue
        slot: ChordSlot = chord_at(ctx.slots, start)
        v = voicings[slot.start]
        for i in range(4):
            out.append(Event(start + 0.25 * i, 0.25, v[min(i, len(v) - 1)] + 12, 0.45 + 0.1 * i))
    return out


def write_drone(part: Part, ctx: Context) -> list[Event]:
    """Tonic and fifth held through each section: the floor ambient pieces stand on."""
    lo, hi = part.register
    events: list[Event] = []
    for s in ctx.form.sections:
        start, end = 4.0 * s.start_bar, min(4.0 * s.end_bar, ctx.grid.beats)
        root = lo + ((chord_at(ctx.slots, start).tonic - lo) % 12)       # the section's key
        vel = 0.45 + 0.3 * s.energy
        events.append(Event(start, end - start, root, vel))
        if root + 7 <= hi:
            events.append(Event(start, end - start, root + 7, vel * 0.8))
    final = ctx.final
    if final is not None:
        events.append(Event(final.start, final.beats, lo + ((final.tonic - lo) % 12), 0.5))
    return events
