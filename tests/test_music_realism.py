"""Music that sounds played, not sequenced: recorded instruments, width, movement, no machine repeats.

The cheap, hard versions of bench/music_realism.py's measures, on short clips. The bench
compares medians with recordings; these check that each property is there at all.
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from engine.music import Brief, Cues, compose, make_music
from engine.music import constants as C
from engine.music.drumkit import PIECE_OF, sampled_hit
from engine.music.instruments import VOICINGS
from engine.music.sample_bank import ROOT
from engine.music.sampler import render

SR = 48000


def test_the_shipped_samples_carry_their_licence_and_fit_the_budget() -> None:
    index = json.loads((ROOT / "index.json").read_text())
    files = {d["file"] for d in index["instruments"].values()}
    assert all((ROOT / f).is_file() for f in files)
    assert "MIT" in (ROOT / "COPYRIGHT").read_text() and (ROOT / "SOURCES.md").is_file()
    assert sum(p.stat().st_size for p in ROOT.iterdir()) <= 50e6
    assert all(v.source in index["instruments"] for v in VOICINGS.values())


@pytest.mark.parametrize("genre", ["lofi", "corporate", "acoustic", "hiphop"])
def test_no_drum_is_hit_twice_in_a_row_with_the_same_samples(genre: str) -> None:
    score = compose(Brief(genre=genre, seed=4), Cues(10.0))
    (drums,) = [p for p in score.parts if p.role == "drums"]
    kit = drums.patch.split(":", 1)[1]
    last: dict[str, np.ndarray] = {}
    count: dict[str, int] = {}
    repeats = hits = 0
    for n in score.notes_of(drums.name):                 # as synth._render_drums plays them
        piece = PIECE_OF.get(n.pitch, "snare")
        take = count.get(piece, 0) % C.DRUM_TAKES
        count[piece] = count.get(piece, 0) + 1
        wave = sampled_hit(kit, n.pitch, n.velocity, take, SR)
        if piece in last:
            hits += 1
            repeats += last[piece].shape == wave.shape and np.array_equal(last[piece], wave)
        last[piece] = wave
    assert hits > 10 and repeats == 0


@pytest.mark.parametrize("genre", ["cinematic", "acoustic", "lofi", "electronic"])
def test_the_mix_is_wide_but_folds_to_mono(genre: str) -> None:
    audio = make_music(Brief(genre=genre, seed=1), Cues(10.0)).audio.astype(np.float64)
    assert np.corrcoef(audio[:, 0], audio[:, 1])[0, 1] <= 0.85
    mono = audio.mean(axis=1)
    assert 10 * np.log10(np.mean(mono ** 2) / np.mean(audio ** 2)) > -3.0


def _partial_track_cents(x: np.ndarray, f0: float) -> np.ndarray:
    """Frequency (cents from f0) of the strongest peak near f0, per 4096-sample frame."""
    n, hop = 4096, 1024
    window = np.hanning(n)
    freqs = np.fft.rfftfreq(n, 1 / SR)
    band = np.flatnonzero((freqs > f0 * 0.94) & (freqs < f0 * 1.06))
    out = []
    for a in range(0, len(x) - n, hop):
        mag = np.log(np.abs(np.fft.rfft(x[a:a + n] * window)) + 1e-12)
        k = band[np.argmax(mag[band])]
        off = 0.5 * (mag[k - 1] - mag[k + 1]) / (mag[k - 1] - 2 * mag[k] + mag[k + 1])
        out.append(1200 * np.log2((k + off) * SR / n / f0))
    return np.array(out)


@pytest.mark.parametrize("patch", ["flute_soft", "horn", "epiano"])
def test_a_held_note_moves_in_pitch_as_a_player_would(patch: str) -> None:
    """Our drift and vibrato on top of whatever the recording does: measured against the
    same recording played frozen (no drift, no vibrato), from the same read position."""
    played = VOICINGS[patch]
    frozen = dataclasses.replace(played, drift_cents=0.0, vibrato_cents=0.0)
    a, b = (_partial_track_cents(render(v, 69, 0.7, 3 * SR, SR, 0)[0, SR // 2:], 440.0) for v in (played, frozen))
    movement = a - b
    assert 1.0 <= movement.std() <= 15.0                  # it moves, and stays in tune
    assert abs(np.median(a)) < 25.0


def test_the_same_pitch_played_twice_is_two_performances() -> None:
    a, b = (render(VOICINGS["piano"], 60, 0.6, SR, SR, take) for take in (0, 1))
    assert not np.array_equal(a, b)
    assert np.corrcoef(a[0], b[0])[0, 1] > 0.5            # still the same piano note


def test_sample_set_path_is_inside_the_package() -> None:
    import engine.music

    assert ROOT.parent == Path(engine.music.__file__).resolve().parent


@pytest.mark.parametrize("ratio", [0.5, 1.75, 5.25])
def test_a_read_far_into_a_recording_lands_on_the_right_sample(ratio: float) -> None:
    """Read positions near 2**24 samples (six minutes in) and a note read fast (up two octaves):
    every index is the exact one. Float32 sums of whole numbers are exact below 2**24 only, and
    a fast read's last step goes further than two steps' length past its start."""
    from engine.music.sampler import _STEP, _reads

    steps = 4
    ratios = np.full(steps, ratio)                      # ratios and starts exact in float32 and float64
    for last in (2.0**24 - 4 * _STEP - 1.25, 2.0**24 - _STEP * ratio - 1.5, 2.0**24 + 3.5):
        start = last - (steps - 1) * _STEP * ratio      # the last step starts at ``last``
        index, _, _ = _reads(ratios, 0, steps * _STEP, start)
        assert np.array_equal(index, np.floor(start + ratio * np.arange(steps * _STEP)).astype(np.int64)), last
