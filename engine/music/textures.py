"""Texture parts that are not chords: vinyl bed, risers, cymbal swells, impacts.

FX notes use pitch as a code (see FX) and their duration as the effect's length, so a
riser note *ends* on the transition it announces.
"""
from __future__ import annotations

from .context import Context, Event
from .score import Part

RISER, REVERSE, IMPACT, SWELL = 1, 2, 3, 4          # the "pitch" of an fx note says which effect
FX = {"riser": RISER, "reverse": REVERSE, "impact": IMPACT, "swell": SWELL}
VINYL_PITCH = 0


def write_vinyl(part: Part, ctx: Context) -> list[Event]:
    end = ctx.final.start + ctx.final.beats if ctx.final is not None else ctx.grid.beats
    return [Event(0.0, end, VINYL_PITCH, 0.6)]


def write_fx(part: Part, ctx: Context) -> list[Event]:
    form, grid = ctx.form, ctx.grid
    events: list[Event] = []
    section_starts = {4.0 * s.start_bar for s in form.sections[1:]}
    previous = 0.0
    for land in form.fills:
        bar = max(0, min(int((land - 0.01) // 4), grid.bars - 1))
        level = form.level(bar)
        room = land - previous
        previous = land
        if part.style == "swell" or level == 0:
            length = min(4.0, room - 0.5)
            if length >= 1.0:
                events.append(Event(land - length, length, FX["swell"], 0.5 + 0.3 * form.bar_energy[bar]))
            continue
        big = land in section_starts or form.level(min(int(land // 4), grid.bars - 1)) >= 2
        length = min(4.0 if big else 2.0, room - 0.5)
        if length >= 1.0:
            kind = "riser" if big else "reverse"
            events.append(Event(land - length, length, FX[kind], 0.5 + 0.4 * form.bar_energy[bar]))
        if big and not ctx.has_drums and land < grid.beats:
            events.append(Event(land, 1.0, FX["impact"], 0.8))
    if not ctx.has_drums:
        events.extend(Event(h, 1.0, FX["impact"], 1.0) for h in form.hits)
    return events
