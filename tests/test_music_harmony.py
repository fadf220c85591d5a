"""Chromatic harmony a listener of the genre expects: jazz players substitute and alter their
dominants and reach outside the key through a ii–V, film scores move to chromatic mediants,
pop and piano players pass through a diminished chord. Scores only (no rendering): cheap.
"""
from __future__ import annotations

import pytest

from engine.music import Brief, ChordEvent, Cues, compose
from engine.music.theory import scale

SEEDS = range(1, 7)


def _chords(genre: str, seed: int, seconds: float = 60.0) -> tuple[tuple[ChordEvent, ...], int, str]:
    score = compose(Brief(genre=genre, seed=seed), Cues(seconds))
    return score.chords, score.tonic, score.mode


def _dominant(c: ChordEvent) -> bool:
    """A major triad with a minor seventh."""
    return (c.pcs[1] - c.root) % 12 == 4 and 10 in {(pc - c.root) % 12 for pc in c.pcs}


def _tritone_subs(chords: tuple[ChordEvent, ...]) -> int:
    """Dominant sevenths that resolve a semitone down: the substitute for the dominant a tritone away."""
    return sum(1 for a, b in zip(chords, chords[1:]) if _dominant(a) and (a.root - b.root) % 12 == 1)


def _altered(chords: tuple[ChordEvent, ...]) -> int:
    """Dominants with a flat or sharp ninth."""
    return sum(1 for c in chords if _dominant(c) and {(pc - c.root) % 12 for pc in c.pcs} & {1, 3})


def test_lofi_substitutes_and_alters_its_dominants() -> None:
    pieces = [_chords("lofi", seed)[0] for seed in SEEDS]
    assert sum(_tritone_subs(p) > 0 for p in pieces) >= 3
    assert sum(_altered(p) > 0 for p in pieces) >= 2


@pytest.mark.parametrize("genre", ["lofi", "hiphop"])
def test_jazzy_ii_v_leads_into_a_chord_outside_the_key(genre: str) -> None:
    found = 0
    for seed in SEEDS:
        chords, tonic, mode = _chords(genre, seed)
        home = set(scale(tonic, mode))
        for two, five, goal in zip(chords, chords[1:], chords[2:]):
            cadence = (five.root - goal.root) % 12 == 7 and (two.root - five.root) % 12 == 7
            found += cadence and _dominant(five) and goal.root not in home
    assert found >= 2


def test_film_score_moves_to_chromatic_mediants() -> None:
    """In minor: III (a major third up, major) or bvi (minor on the flat sixth), outside the mode."""
    hits = 0
    for seed in SEEDS:
        chords, tonic, _ = _chords("cinematic", seed)
        for c in chords:
            offset, third = (c.root - tonic) % 12, (c.pcs[1] - c.root) % 12
            hits += (offset, third) in ((4, 4), (8, 3))
    assert hits >= 2


@pytest.mark.parametrize("genre", ["corporate", "piano"])
def test_pop_and_piano_pass_through_a_diminished_chord(genre: str) -> None:
    passing = 0
    for seed in SEEDS:
        chords, _, _ = _chords(genre, seed)
        for a, dim, b in zip(chords, chords[1:], chords[2:]):
            diminished = {(pc - dim.root) % 12 for pc in dim.pcs} >= {3, 6, 9}
            passing += diminished and (b.root - dim.root) % 12 == 1 and (b.root - a.root) % 12 == 2
    assert passing >= 2


@pytest.mark.parametrize("genre", ["lofi", "cinematic", "corporate"])
def test_the_chromatic_choices_are_the_same_for_the_same_seed(genre: str) -> None:
    first, second, other = (_chords(genre, s, 45.0)[0] for s in (5, 5, 6))
    assert [c.symbol for c in first] == [c.symbol for c in second]
    assert [c.symbol for c in first] != [c.symbol for c in other]


@pytest.mark.parametrize("genre", ["lofi", "cinematic", "corporate", "piano", "acoustic"])
def test_the_piece_still_opens_on_the_tonic_and_ends_on_it(genre: str) -> None:
    for seed in SEEDS:
        chords, tonic, _ = _chords(genre, seed, 30.0)
        assert chords[0].root == tonic and chords[-1].root == tonic


@pytest.mark.parametrize("genre", ["lofi", "cinematic"])
def test_the_counter_line_passes_chromatically_between_tones_a_step_apart(genre: str) -> None:
    """Three notes a semitone apart in one direction, the middle one outside the mode."""
    passes = 0
    for seed in SEEDS:
        score = compose(Brief(genre=genre, seed=seed), Cues(90.0))
        home = set(scale(score.tonic, score.mode))
        line = [n.pitch for n in score.notes_of("counter")]
        passes += sum(1 for a, b, c in zip(line, line[1:], line[2:])
                      if abs(b - a) == 1 and c - b == b - a and b % 12 not in home)
    assert passes >= 3
