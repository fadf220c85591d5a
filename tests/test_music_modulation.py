"""The key change into the climax: heard in every pitched part, and the piece ends in the new key.

Pop, corporate and film cues long enough for a climax lift it up a step; a listener hears
the whole band move to the new key at the section start, after one bar of its dominant,
and the final cadence lands on the new key's tonic. Loops, short clips and genres that
stay in one key do not change. Scores only (composing is cheap; nothing is rendered).
"""

from __future__ import annotations

import numpy as np
import pytest

from engine.music import Brief, Cues, compose
from engine.music.harmony import LIFT_PLAIN_BARS
from engine.music.score import Score
from engine.music.styles import STYLES
from engine.music.theory import MINOR_LIKE, scale

KS_MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
KS_MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])
PITCHED = ("bass", "comp", "pad", "arp", "lead", "counter")


def _cues(seconds: float) -> Cues:
    return Cues(seconds, cuts=tuple(float(t) for t in np.arange(7.3, seconds - 3, 7.9)))


def _heard_key(score: Score, start_s: float, end_s: float, roles: tuple[str, ...] = PITCHED) -> int:
    """Tonic of the key the notes in [start_s, end_s) are heard in: the best Krumhansl fit of
    their duration-weighted pitch classes, with the piece's mode."""
    names = {p.name for p in score.parts if p.role in roles}
    hist = np.zeros(12)
    for n in score.notes:
        if n.part in names and start_s <= n.time < end_s:
            hist[n.pitch % 12] += min(n.end, end_s) - n.time
    profile = KS_MINOR if score.mode in MINOR_LIKE else KS_MAJOR
    return int(np.argmax([np.corrcoef(hist, np.roll(profile, k))[0, 1] for k in range(12)]))


@pytest.mark.parametrize("genre,seed", [("corporate", 1), ("cinematic", 2), ("upbeat", 3), ("acoustic", 1)])
def test_climax_lifts_the_key_and_the_piece_ends_on_the_new_tonic(genre: str, seed: int) -> None:
    score = compose(Brief(genre=genre, seed=seed), _cues(90.0))
    assert len(score.key_changes) == 1
    change = score.key_changes[0]
    lifted = (score.tonic + STYLES[genre].lift) % 12
    assert change.tonic == lifted == score.final_tonic
    climax = next(s for s in score.sections if s.name == "climax")
    assert change.start_s == pytest.approx(climax.start_s)  # on the section boundary
    # the band is heard in the home key before the pivot bar and in the new key after the lift
    assert _heard_key(score, 0.0, change.start_s - score.bar_s) == score.tonic
    assert _heard_key(score, change.start_s, score.final_chord_s) == lifted
    # the bar before is the new key's dominant, the lift opens on the new tonic
    before = next(c for c in reversed(score.chords) if c.start_s < change.start_s - 1e-6)
    at = next(c for c in score.chords if abs(c.start_s - change.start_s) < 1e-6)
    assert (before.root - lifted) % 12 == 7 and at.root == lifted
    # and the cadence lands on the new tonic: chord, bass and melody
    assert score.chords[-1].root == lifted and score.chords[-2].root != lifted
    final = [n for n in score.notes if abs(n.time - score.final_chord_s) < 1e-6]
    bass = {n.pitch % 12 for n in final if score.part(n.part).role == "bass"}
    lead = [n for n in score.notes if score.part(n.part).role == "lead"]
    assert bass == {lifted} and lead[-1].pitch % 12 == lifted


@pytest.mark.parametrize("genre,seed", [("corporate", 1), ("cinematic", 2)])
@pytest.mark.parametrize("role", ["bass", "comp", "lead", "counter"])
def test_every_pitched_part_follows_the_key_change(genre: str, seed: int, role: str) -> None:
    """Melody, bass, comping and counter-line each move into the new key over the phrase
    that states it (its scale's own tones replace the old ones), not only the chord symbols.
    Chromatic passing tones (film styles) keep this from being a purity test."""
    score = compose(Brief(genre=genre, seed=seed), _cues(90.0))
    change = score.key_changes[0]
    old, new = set(scale(score.tonic, score.mode)), set(scale(change.tonic, score.mode))
    names = {p.name for p in score.parts if p.role == role}
    phrase_end = change.start_s + LIFT_PLAIN_BARS * score.bar_s
    after = [n.pitch % 12 for n in score.notes if n.part in names and change.start_s <= n.time < phrase_end]
    assert len(after) >= 4
    fits_new = np.mean([pc in new for pc in after])
    fits_old = np.mean([pc in old for pc in after])
    assert fits_new >= 0.75 and fits_new >= fits_old
    assert any(pc in new - old for pc in after)  # the new key's own tones are played


@pytest.mark.parametrize(
    "brief,seconds",
    [
        (Brief(genre="lofi", seed=1), 90.0),  # stays home by style
        (Brief(genre="corporate", seed=1), 14.0),  # too short for a lift
        (Brief(genre="corporate", seed=1, loopable=True), 90.0),
    ],
)
def test_no_key_change_where_it_does_not_belong(brief: Brief, seconds: float) -> None:
    score = compose(brief, _cues(seconds))
    assert score.key_changes == () and score.final_tonic == score.tonic
    assert {c.root for c in score.chords[:1]} == {score.tonic}
    if not score.loopable:
        assert score.chords[-1].root == score.tonic


def test_a_lifted_piece_is_the_same_for_the_same_seed() -> None:
    a = compose(Brief(genre="cinematic", seed=5), _cues(90.0))
    b = compose(Brief(genre="cinematic", seed=5), _cues(90.0))
    other = compose(Brief(genre="cinematic", seed=6), _cues(90.0))
    assert a.key_changes and a == b
    assert other.notes != a.notes


def test_the_lift_is_described_for_the_reply_and_the_picture() -> None:
    """Music.describe()'s key_changes: when, to which key, how far up, into which section (JSON-ready)."""
    import json

    from engine.chat.replies import music_line
    from engine.music.make import key_changes

    score = compose(Brief(genre="cinematic", seed=2), _cues(90.0))
    [described] = json.loads(json.dumps(key_changes(score)))
    change = score.key_changes[0]
    assert described == {"start_s": round(change.start_s, 3), "key": change.key, "semitones": 2, "section": "climax"}
    facts = {"genre": "cinematic", "mood": "epic", "bpm": score.bpm, "key": score.key_name(), "duration_s": 90.0,
             "sections": [(s.name, s.start_s, s.end_s) for s in score.sections], "key_changes": [described]}
    at = f"{round(change.start_s, 1):g}s"
    assert f"modulating up a whole step to {change.key} into the climax at {at}" in music_line(facts, "en")
    assert f"{round(change.start_s, 1):g} 秒进入高潮时升一个全音转到 {change.key}" in music_line(facts, "zh")
    assert "modulating" not in music_line({**facts, "key_changes": []}, "en")
    assert key_changes(compose(Brief(genre="lofi", seed=1), _cues(90.0))) == []
