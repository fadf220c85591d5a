"""Music that fits the video: the cheap, hard properties of bench/music_quality.py, on short clips.

A 12 s clip with two scene cuts and three spoken phrases (like media.fixtures' voice:
2.6 s phrases, 1.4 s pauses). The bench measures the same and more (tempo by beat
tracking, true peak by an independent oversampler) on generated videos with librosa;
these checks need numpy only and run in seconds.
"""
from __future__ import annotations

import numpy as np
import pytest

from engine.export.mix import duck_envelope
from engine.music import GENRES, Brief, Cues, compose, make_music

SR = 48000
CUTS = (4.2, 8.3)                                   # >= 4 s apart, as the bench counts them
SPEECH = ((1.0, 3.6), (5.0, 7.6), (9.0, 10.0))
CLIP = Cues(12.0, cuts=CUTS, speech=SPEECH)
ONSET_DELTA_DB = 2.0        # band flux that counts as an attack; every piece is at -16 LUFS, so one fits all


def _onsets_per_s(x: np.ndarray) -> float:
    """Spectral-flux onsets (40 log bands, 2048/512 frames) above an absolute threshold, per second."""
    frame, hop = 2048, 512
    starts = hop * np.arange(1 + (x.size - frame) // hop)
    spec = np.abs(np.fft.rfft(x[starts[:, None] + np.arange(frame)] * np.hanning(frame), axis=1)) ** 2
    freqs = np.fft.rfftfreq(frame, 1 / SR)
    edges = np.geomspace(40.0, 16000.0, 41)
    bands = np.stack([spec[:, (freqs >= lo) & (freqs < hi)].sum(axis=1) for lo, hi in zip(edges, edges[1:])], axis=1)
    flux = np.maximum(np.diff(10 * np.log10(bands + 1e-10), axis=0), 0.0).mean(axis=1)
    peaks = np.flatnonzero((flux[1:-1] > flux[:-2]) & (flux[1:-1] >= flux[2:]) & (flux[1:-1] > ONSET_DELTA_DB))
    kept = [p for i, p in enumerate(peaks) if i == 0 or p - peaks[i - 1] > 3]   # one per 30 ms
    return len(kept) / (x.size / SR)


def _centroid(x: np.ndarray) -> float:
    spec = np.abs(np.fft.rfft(x))
    return float((spec * np.fft.rfftfreq(x.size, 1 / SR)).sum() / spec.sum())


@pytest.mark.parametrize("genre", GENRES)
def test_scene_cuts_get_a_section_change_or_fill_within_a_beat(genre: str) -> None:
    hits = 0
    for seed in range(3):
        score = compose(Brief(genre=genre, seed=seed), Cues(12.0, cuts=CUTS))
        marks = [s.start_s for s in score.sections[1:]] + list(score.fills)
        hits += sum(1 for c in CUTS if any(abs(m - c) <= score.beat_s for m in marks))
    assert hits >= 0.8 * 3 * len(CUTS)


@pytest.mark.parametrize("genre", ["lofi", "ambient", "corporate", "piano"])
def test_ducked_music_sits_10_db_lower_while_someone_speaks(genre: str) -> None:
    """Level inside speech vs >= one ramp away from it, before the final chord (its fade is not ducking)."""
    music = make_music(Brief(genre=genre, seed=1), CLIP)
    n = music.audio.shape[0]
    env = duck_envelope(n, list(SPEECH), SR)
    ducked = music.audio.astype(np.float64) * env[:, None]
    body = np.arange(n) < music.score.final_chord_s * SR
    speech = np.zeros(n, dtype=bool)
    for a, b in SPEECH:
        speech[int(a * SR):int(b * SR)] = True
    clear = body & (env >= 1.0 - 1e-6)
    depth = 10 * np.log10(np.mean(ducked[clear] ** 2) / np.mean(ducked[body & speech] ** 2))
    assert depth >= 10.0


@pytest.mark.parametrize("calm,energetic", [
    (Brief(genre="ambient", mood="calm", seed=1), Brief(genre="electronic", mood="energetic", intensity="high", seed=1)),
    (Brief(genre="corporate", mood="calm", intensity="calm", seed=1),
     Brief(genre="corporate", mood="energetic", intensity="high", seed=1)),
], ids=["ambient-vs-electronic", "corporate"])
def test_calm_briefs_sound_sparser_and_darker_than_energetic_ones(calm: Brief, energetic: Brief) -> None:
    quiet, busy = (make_music(b, CLIP) for b in (calm, energetic))
    assert quiet.score.bpm < busy.score.bpm
    q, b = quiet.audio.mean(axis=1), busy.audio.mean(axis=1)
    assert _onsets_per_s(b) > 2 * _onsets_per_s(q)
    assert _centroid(b) > _centroid(q)


def test_two_seeds_of_one_brief_are_different_music() -> None:
    a, b = (make_music(Brief(genre="lofi", seed=s), CLIP).audio.mean(axis=1) for s in (1, 2))
    assert np.corrcoef(a, b)[0, 1] < 0.5
