"""Arrangement by section: what a listener notices change from one section to the next.

The breakdown drops the drums (they come back with a fill), intros and builds of the
styles that use pedals stand on the tonic while the chords move, and a counter-melody
joins only after the first statement. Scores are composed for 60-90 s clips (cheap);
only the drum stem is rendered, to hear the breakdown.
"""
from __future__ import annotations

import numpy as np
import pytest

from engine.music import Brief, Cues, compose
from engine.music.score import Score, Section
from engine.music.synth import render_stem

SR = 48000
SLACK_S = 0.06          # humanised timing may start a note a few ms before its bar line


def _section(score: Score, name: str) -> Section:
    return next(s for s in score.sections if s.name == name)


def _notes_in(score: Score, part: str, s: Section) -> list:
    return [n for n in score.notes_of(part) if s.start_s - SLACK_S <= n.time < s.end_s - SLACK_S]


def _rms_db(x: np.ndarray) -> float:
    return float(10 * np.log10(np.mean(np.square(x, dtype=np.float64)) + 1e-20))


@pytest.mark.parametrize("genre,seed", [("cinematic", 1), ("lofi", 1), ("electronic", 2)])
def test_breakdown_drops_the_drums_until_the_fill_back_in(genre: str, seed: int) -> None:
    score = compose(Brief(genre=genre, seed=seed), Cues(90.0))
    brk, main = _section(score, "breakdown"), _section(score, "main")
    hold_end = brk.end_s - score.bar_s            # the last bar carries the fill into the next section
    assert not [n for n in score.notes_of("drums") if brk.start_s + SLACK_S <= n.time < hold_end - SLACK_S]
    drums = render_stem(score, "drums", SR)
    quiet = drums[:, int((brk.start_s + 3.0) * SR):int(hold_end * SR)]     # after the crash and room decay
    busy = drums[:, int(main.start_s * SR):int(main.end_s * SR)]
    assert _rms_db(quiet) < _rms_db(busy) - 20.0
    fill = [n for n in score.notes_of("drums") if hold_end - SLACK_S <= n.time < brk.end_s]
    assert len(fill) >= 4


@pytest.mark.parametrize("genre,seed,sections", [("cinematic", 1, ("intro", "build")),
                                                 ("electronic", 2, ("intro", "build", "breakdown"))])
def test_bass_holds_a_tonic_pedal_under_moving_chords(genre: str, seed: int, sections: tuple[str, ...]) -> None:
    score = compose(Brief(genre=genre, seed=seed), Cues(90.0))
    bass = next(p.name for p in score.parts if p.role == "bass")
    for name in sections:
        s = _section(score, name)
        notes = _notes_in(score, bass, s)
        roots = {c.root for c in score.chords if s.start_s <= c.start_s < s.end_s}
        assert notes and {n.pitch % 12 for n in notes} == {score.tonic}, name
        assert len(roots) >= 2, name                 # a pedal: the chords above it still move
    main = _notes_in(score, bass, _section(score, "main"))
    assert len({n.pitch % 12 for n in main}) >= 2     # elsewhere the bass follows the chords


def test_styles_without_pedals_keep_their_bass_on_the_chords() -> None:
    score = compose(Brief(genre="lofi", seed=1), Cues(90.0))
    for name in ("intro", "build"):
        assert len({n.pitch % 12 for n in _notes_in(score, "bass", _section(score, name))}) >= 2, name


@pytest.mark.parametrize("genre,seed", [("cinematic", 1), ("lofi", 1), ("acoustic", 1), ("piano", 3),
                                        ("electronic", 2)])
def test_counter_melody_joins_only_after_the_first_statement(genre: str, seed: int) -> None:
    duration = 60.0 if genre == "acoustic" else 90.0
    score = compose(Brief(genre=genre, seed=seed), Cues(duration))
    names = [s.name for s in score.sections]
    first_main = _section(score, "main")
    later = [s for s in score.sections if s.name in ("variation", "climax") and s.start_s > first_main.start_s]
    counter = score.notes_of("counter")
    assert later and counter
    assert all(n.time >= first_main.end_s - SLACK_S for n in counter), names
    for s in later:
        notes = _notes_in(score, "counter", s)
        assert len(notes) >= (s.end_s - s.start_s) / score.bar_s, s.name     # about a note a bar or more
    lead = score.notes_of(next(p.name for p in score.parts if p.role == "lead"))
    assert np.median([n.duration for n in counter]) > np.median([n.duration for n in lead])   # slower than the lead
    downbeats = [n for n in counter if abs((n.time + SLACK_S) % score.bar_s - SLACK_S) < SLACK_S]
    assert len(downbeats) >= len(later)
    for n in downbeats:                              # it outlines the harmony: chord tones on the bar lines
        c = next(c for c in score.chords if c.start_s <= n.time + SLACK_S < c.end_s)
        assert n.pitch % 12 in c.pcs, (n, c)


def test_counter_melody_is_seeded_and_leaves_with_the_lead() -> None:
    def counter(**kw: object) -> tuple:
        return compose(Brief(genre="cinematic", **kw), Cues(90.0)).notes_of("counter")

    assert counter(seed=1) == counter(seed=1)
    assert counter(seed=1) != counter(seed=5)
    assert counter(seed=1, remove=("lead",)) == ()
    assert counter(seed=1, remove=("strings",)) == ()


def test_counter_melody_steps_aside_while_someone_speaks() -> None:
    score = compose(Brief(genre="lofi", seed=1), Cues(90.0))
    later = [s for s in score.sections if s.name in ("variation", "climax")]
    speech = ((later[0].start_s, later[0].end_s),)
    quiet = compose(Brief(genre="lofi", seed=1), Cues(90.0, speech=speech)).notes_of("counter")
    assert quiet and not [n for n in quiet if speech[0][0] + SLACK_S <= n.time < speech[0][1] - SLACK_S]


def test_short_sections_keep_the_harmony_moving() -> None:
    """Sections shorter than a progression's cycle carry the phrase on: a 40 s ambient piece cut
    every 8 s (two-bar sections, two bars per chord) used to sit on the tonic chord throughout."""
    cues = Cues(40.0, cuts=(7.3, 15.2, 23.1, 31.0))
    score = compose(Brief(genre="ambient", seed=1), cues)
    body = [c for c in score.chords if c.end_s <= score.final_chord_s + 1e-6]
    on_tonic = sum(c.end_s - c.start_s for c in body if c.root == score.tonic)
    assert len({c.root for c in body}) >= 3
    assert on_tonic <= 0.6 * score.final_chord_s
