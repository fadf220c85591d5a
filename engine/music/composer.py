"""compose(): from (Brief, Cues) to a Score — deterministic for its inputs.

Order of decisions: resolve the brief, fit the tempo grid to the clip, plan the form
against the picture, write the progression, then let each part's writer fill in notes;
timing (swing, humanisation, the final hold) is applied here, once, for every part.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from . import bassline, comping, counterline, drums, melody, textures
from . import constants as C
from .arrangement import choose_parts
from .brief import Brief, Cues
from .context import Context, Event
from .form import plan
from .grid import fit, tempo_window
from .harmony import VoiceLeader, progression
from .resolver import resolve
from .modulation import lift_bar
from .score import ChordEvent, KeyChange, Note, Part, Score, Section
from .styles import MOODS_TABLE, STYLES, Style, groups_of
from .theory import MINOR_LIKE, chord, parse_key, tonic_name


def compose(brief: Brief, cues: Cues) -> Score:
    """The whole piece as notes and structure; the same inputs always give the same Score."""
    requested = brief.bpm is not None
    b = resolve(brief, cues)
    style, mood = STYLES[b.genre], MOODS_TABLE[b.mood]
    tonic, mode = parse_key(b.key or "C")
    mode = mode or mood.mode
    brightness = float(np.clip(b.brightness + mood.brightness, -1.0, 1.0))
    lo, pref, hi = style.tempo
    bpm = float(b.bpm or pref)
    grid = None
    if cues.duration_s >= C.SWELL_MAX_S:
        grid = fit(cues.duration_s, bpm, tempo_window(bpm, lo, hi, requested, cues.duration_s), b.loopable, requested)
    if grid is None:
        return _swell(b, cues, style, tonic, mode, brightness, bpm)
    grid = dataclasses.replace(grid, swing=style.swing, swing_unit=style.swing_unit)
    form = plan(grid, cues, b, mood.energy)
    parts = choose_parts(style, b)
    ctx = Context(
        grid=grid, form=form, slots=(), style=style, tonic=tonic, mode=mode, brightness=brightness, seed=b.seed,
        speech_beats=tuple((s / grid.beat_s, e / grid.beat_s) for s, e in cues.speech),
        has_drums=any(p.role == "drums" for p in parts), has_fx=any(p.role == "fx" for p in parts), pulse=mood.pulse)
    lift_at = lift_bar(form, style.lift, grid.loopable)
    ctx = dataclasses.replace(ctx, slots=progression(form, grid, style, tonic, mode, ctx.rng("progression"), lift_at))
    first_comp = next((p.name for p in parts if p.role == "comp"), None)
    pulse = _pulse(ctx, form.hits)
    notes: list[Note] = []
    for part in parts:
        events = _write(part, ctx, pickups=part.name == first_comp and not (ctx.has_drums or ctx.has_fx))
        notes.extend(_perform(events, part, ctx, pulse))
    notes.sort(key=lambda n: (n.time, n.part, n.pitch))
    return _score(b, cues, style, ctx, parts, tuple(notes), lift_at)


def _write(part: Part, ctx: Context, pickups: bool) -> list[Event]:
    if part.role == "drums":
        return drums.write(part, ctx)
    if part.role == "bass":
        return bassline.write(part, ctx)
    if part.role in ("comp", "pad", "arp"):
        return comping.write(part, ctx, lead_fills=pickups)
    if part.role == "drone":
        return comping.write_drone(part, ctx)
    if part.role == "lead":
        return [Event(n.start, n.beats, n.pitch, n.velocity) for n in melody.write_melody(
            ctx.form, ctx.grid, ctx.slots, ctx.mode, part.register, ctx.brightness, part.style,
            part.min_level, ctx.rng("melody", part.name), ctx.speech_beats)]
    if part.role == "counter":
        return counterline.write(part, ctx)
    if part.role == "vinyl":
        return textures.write_vinyl(part, ctx)
    if part.role == "fx":
        return textures.write_fx(part, ctx)
    raise ValueError(f"unknown role {part.role!r}")


def _pulse(ctx: Context, hits: tuple[float, ...]) -> np.ndarray:
    """Seconds each beat is pushed or laid back, shared by the whole band.

    Why shared: a band breathes together (the beat-to-beat spacing varies a few percent,
    as in recorded music) while staying tight with itself; random jitter per note would
    only smear it. Beats with a requested hit stay exactly on the grid.
    """
    n = int(np.ceil(ctx.grid.beats)) + 2
    pulse = np.clip(ctx.rng("pulse").normal(0.0, C.PULSE_S, n), -C.PULSE_MAX_S, C.PULSE_MAX_S)
    for h in hits:
        pulse[int(round(h)) % n] = 0.0
    return pulse


def _groove(part: Part, pitch: int, beat: float) -> float:
    """Seconds a drum piece sits off its step: the backbeat laid back, hats breathing across the 16ths."""
    if part.role != "drums":
        return 0.0
    if pitch in (38, 39, 37):
        return C.BACKBEAT_LATE_S
    if pitch in (42, 46, 70, 54):
        return C.HAT_GROOVE_S[int(round((beat % 1.0) * 4)) % 4]
    return 0.0


def _perform(events: list[Event], part: Part, ctx: Context, pulse: np.ndarray) -> list[Note]:
    """Beats to seconds: swing, the band's pulse and groove, humanised velocities, the final hold, the clip end."""
    grid = ctx.grid
    rng = ctx.rng("humanize", part.name)
    drum = part.role == "drums"
    fx = part.role in ("fx", "vinyl")
    final_s = grid.body_s
    hold_end = final_s + C.HOLD_SHARE * grid.tail_s if not grid.loopable else grid.duration_s
    seen: dict[tuple[float, int], int] = {}
    out: list[Note] = []
    if not events:
        return out
    jitter = np.clip(rng.normal(0.0, C.HUMANIZE_S * (0.6 if drum else 1.0), len(events)), -C.HUMANIZE_MAX_S, C.HUMANIZE_MAX_S)
    vel_j = rng.normal(0.0, C.VELOCITY_JITTER, len(events))
    for e, dj, dv in zip(events, jitter, vel_j):
        start = grid.time(e.start)
        on_final = e.start >= grid.beats - 1e-9 and not grid.loopable
        end = hold_end if on_final else min(grid.time(e.start + e.beats), final_s if not grid.loopable else grid.duration_s)
        if fx:
            end = grid.time(e.start + e.beats) if e.start + e.beats <= grid.beats else hold_end
        if not (on_final or fx):
            k = int(np.floor(e.start))
            frac = e.start - k
            push = (1.0 - frac) * pulse[k % len(pulse)] + frac * pulse[(k + 1) % len(pulse)]
            start += float(dj) + float(push) + _groove(part, e.pitch, e.start)
        start += e.nudge_s
        start = max(start, 0.0)
        end = min(end, hold_end)
        if end - start < 0.02:
            continue
        vel = float(np.clip(e.velocity * (1.0 + (0.0 if fx else dv)), 0.05, 1.0))
        key = (round(e.start, 4), e.pitch)
        if drum and key in seen:          # same drum twice on one step: keep the louder
            i = seen[key]
            if out[i].velocity < vel:
                out[i] = dataclasses.replace(out[i], velocity=vel)
            continue
        seen[key] = len(out)
        out.append(Note(part.name, start, end - start, int(e.pitch), vel))
    return out


def _score(b: Brief, cues: Cues, style: Style, ctx: Context, parts: tuple[Part, ...], notes: tuple[Note, ...],
           lift_at: int | None) -> Score:
    grid, form = ctx.grid, ctx.form
    key_changes = ()
    if lift_at is not None:
        lifted = (ctx.tonic + style.lift) % 12
        key_changes = (KeyChange(lift_at * grid.bar_s, lifted, f"{tonic_name(lifted, ctx.mode)} {ctx.mode}"),)
    beat = grid.beat_s
    final_s = grid.body_s if not grid.loopable else grid.duration_s
    sections = [Section(s.name, s.start_bar * grid.bar_s, min(s.end_bar * grid.bar_s, final_s), round(s.energy, 3))
                for s in form.sections]
    if not grid.loopable:
        sections.append(Section("ending", final_s, grid.duration_s, round(form.bar_energy[-1] * 0.8, 3)))
    chords = tuple(ChordEvent(s.start * beat, min((s.start + s.beats) * beat, grid.duration_s), s.chord.symbol,
                              s.chord.root, s.chord.pcs) for s in ctx.slots)
    sounding = {n.part for n in notes}
    used_parts = tuple(p for p in parts if p.name in sounding)
    return Score(
        genre=b.genre, mood=b.mood, seed=b.seed, bpm=grid.bpm, key=tonic_name(ctx.tonic, ctx.mode), mode=ctx.mode,
        tonic=ctx.tonic, bars=grid.bars, beats_per_bar=4, start_offset_s=0.0, duration_s=cues.duration_s,
        final_chord_s=final_s, last_note_end_s=max((n.end for n in notes), default=0.0), loopable=grid.loopable,
        swing=grid.swing, brightness=ctx.brightness, sections=tuple(sections),
        fills=tuple(f * beat for f in form.fills), hits=tuple(h * beat for h in form.hits), chords=chords,
        parts=used_parts, notes=notes, instruments=tuple(sorted({g for p in used_parts for g in groups_of(p)})),
        reverb_s=style.reverb_s, stem_levels=style.stem_levels, key_changes=key_changes)


def _swell(b: Brief, cues: Cues, style: Style, tonic: int, mode: str, brightness: float, bpm: float) -> Score:
    """Clips too short for a bar: one tonic chord that swells in and fades out."""
    d = cues.duration_s
    pad = Part("swell", "harmony", "pad_warm", "pad", "pad", register=(52, 76), spread=0.5, send=0.4)
    bass = Part("swell_bass", "bass", "sub_round", "bass", "sustain", register=(33, 48))
    tonic_token = "i" if mode in MINOR_LIKE else "I"
    c = chord(tonic_token, tonic, "triad")
    voicing = VoiceLeader(pad.register, 4).voice(c)
    end = round(d * 0.7, 6)
    notes = [Note(pad.name, 0.0, end, p, 0.6) for p in voicing]
    root = 36 + (tonic - 36) % 12
    notes.append(Note(bass.name, 0.0, end, root, 0.55))
    return Score(
        genre=b.genre, mood=b.mood, seed=b.seed, bpm=bpm, key=tonic_name(tonic, mode), mode=mode, tonic=tonic,
        bars=0, beats_per_bar=4, start_offset_s=0.0, duration_s=d, final_chord_s=0.0, last_note_end_s=end,
        loopable=False, swing=0.5, brightness=brightness, sections=(Section("swell", 0.0, d, 0.3),), fills=(), hits=(),
        chords=(ChordEvent(0.0, d, tonic_token, c.root, c.pcs),), parts=(pad, bass), notes=tuple(notes),
        instruments=("bass", "pad"), reverb_s=style.reverb_s, stem_levels=style.stem_levels)
