"""The offline music engine: what a user hears when they ask for music for a clip.

Short clips (3-30 s) keep the file fast; each test names the promise it checks.
"""
from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from scipy import signal

from engine.music import (
    GENRES, Brief, Cues, compose, integrated_lufs, make_music, master, resolve, synthesize, true_peak_dbtp,
)

SR = 48000


@pytest.fixture(scope="module")
def pieces() -> dict[str, object]:
    """One 8 s piece per genre, shared by the loudness/sanity tests."""
    cues = Cues(8.0, cuts=(4.1,), energy=tuple(0.3 + 0.05 * i for i in range(16)))
    return {g: make_music(Brief(genre=g, seed=7), cues) for g in GENRES}


# --- length and ending ---------------------------------------------------------------

@pytest.mark.parametrize("duration,genre", [(3.0, "lofi"), (7.5, "corporate"), (12.34, "cinematic"),
                                            (30.0, "electronic"), (1.2, "ambient"), (2.0, "piano")])
def test_length_is_exact_to_the_sample(duration: float, genre: str) -> None:
    music = make_music(Brief(genre=genre), Cues(duration))
    assert music.audio.shape == (round(duration * SR), 2)
    assert all(s.shape == music.audio.shape for s in music.stems.values())


def test_loopable_piece_is_exact_length_and_has_no_tail() -> None:
    music = make_music(Brief(genre="upbeat", loopable=True), Cues(15.0))
    assert music.audio.shape[0] == 15 * SR
    assert music.score.tail_s == 0.0
    # the end flows into the start: the last 50 ms still sound
    assert np.abs(music.audio[-int(0.05 * SR):]).max() > 1e-3


@pytest.mark.parametrize("genre", ["lofi", "acoustic", "ambient", "piano"])
def test_piece_ends_in_silence_after_its_last_note(genre: str) -> None:
    music = make_music(Brief(genre=genre), Cues(9.0))
    score = music.score
    assert score.last_note_end_s < score.duration_s
    assert all(n.end <= score.last_note_end_s + 1e-9 for n in score.notes)
    assert np.abs(music.audio[-int(0.05 * SR):]).max() < 1e-3


@pytest.mark.parametrize("genre,seed", [("corporate", 0), ("lofi", 1), ("cinematic", 2), ("hiphop", 3)])
def test_final_chord_is_the_tonic_on_a_downbeat(genre: str, seed: int) -> None:
    score = compose(Brief(genre=genre, seed=seed), Cues(14.0))
    bars_in = (score.final_chord_s - score.start_offset_s) / score.bar_s
    assert abs(bars_in - round(bars_in)) < 1e-9 and round(bars_in) == score.bars
    final = [n for n in score.notes if abs(n.time - score.final_chord_s) < 1e-6]
    harmony = {n.pitch % 12 for n in final if score.part(n.part).stem == "harmony"}
    bass = [n.pitch % 12 for n in final if score.part(n.part).stem == "bass"]
    assert score.tonic in harmony
    assert bass and set(bass) == {score.tonic}
    last_chord = score.chords[-1]
    assert last_chord.root == score.tonic and last_chord.start_s == pytest.approx(score.final_chord_s)
    # and it is approached by a cadence chord, not by itself
    assert score.chords[-2].root != score.tonic


# --- loudness, peaks, sanity ------------------------------------------------------------

@pytest.mark.parametrize("genre", GENRES)
def test_loudness_and_true_peak_meet_the_delivery_spec(pieces: dict, genre: str) -> None:
    audio = pieces[genre].audio
    assert integrated_lufs(audio, SR) == pytest.approx(-16.0, abs=1.0)
    assert true_peak_dbtp(audio, SR) <= -1.0
    assert audio.dtype == np.float32 and np.isfinite(audio).all() and np.abs(audio).max() <= 1.0
    assert np.abs(audio.mean(axis=0)).max() < 1e-3                       # no DC


@pytest.mark.parametrize("genre", GENRES)
def test_mix_is_mono_compatible(pieces: dict, genre: str) -> None:
    audio = pieces[genre].audio.astype(np.float64)
    assert np.corrcoef(audio[:, 0], audio[:, 1])[0, 1] > 0.3
    mono = audio.mean(axis=1)
    # folding to mono loses little level (no big out-of-phase content)
    assert 10 * np.log10((mono ** 2).mean() / (audio ** 2).mean()) > -3.0


def test_minus_14_lufs_target_works() -> None:
    music = make_music(Brief(genre="electronic"), Cues(10.0), target_lufs=-14.0)
    assert integrated_lufs(music.audio, SR) == pytest.approx(-14.0, abs=1.0)
    assert true_peak_dbtp(music.audio, SR) <= -1.0


def test_master_handles_foreign_audio() -> None:
    rng = np.random.default_rng(0)
    loud = np.clip(rng.standard_normal((5 * SR, 2)) * 0.5 + 0.2, -1.5, 1.5).astype(np.float32)   # DC, overs
    out = master(loud, SR)
    assert integrated_lufs(out, SR) == pytest.approx(-16.0, abs=1.0)
    assert true_peak_dbtp(out, SR) <= -1.0
    assert np.abs(out.mean(axis=0)).max() < 1e-3


def test_true_peak_matches_a_full_oversampling_reference() -> None:
    t = np.arange(SR) / SR
    tone = np.sin(2 * np.pi * SR / 4 * t + np.pi / 4)            # samples at -3 dB, peaks at 0 dB
    assert true_peak_dbtp(tone, SR) == pytest.approx(0.0, abs=0.1)
    rng = np.random.default_rng(1)
    music_like = signal.sosfilt(signal.butter(4, 9000, fs=SR, output="sos"), rng.standard_normal(SR * 2)) * 0.3
    reference = 20 * np.log10(np.abs(signal.resample_poly(music_like, 4, 1)).max())
    assert true_peak_dbtp(music_like, SR) == pytest.approx(reference, abs=0.2)


def test_stems_carry_the_master_gain(pieces: dict) -> None:
    """Stems sum to the mastered mix up to the master's DC/mono-bass filters (phase only)."""
    music = pieces["lofi"]
    total = sum(np.asarray(s, dtype=np.float64) for s in music.stems.values())
    audio = music.audio.astype(np.float64)
    block = SR // 10
    m = len(audio) // block
    def level(x: np.ndarray) -> np.ndarray:
        return 10 * np.log10((x[: m * block] ** 2).reshape(m, block * 2).mean(axis=1) + 1e-20)
    loud = level(audio) > level(audio).max() - 30
    assert np.abs(level(total)[loud] - level(audio)[loud]).max() < 1.0


# --- memory ---------------------------------------------------------------------------

PEAK_RSS_20S_MB = 46.0       # measured: lofi, 20 s: the mix, two stems in flight, caches, its recordings


def test_a_piece_costs_a_few_copies_of_its_audio_in_memory() -> None:
    """The whole run of a 60 s video must fit in 400 MB: 20 s of music may raise peak RSS by
    at most 1.5x what it measured (about three copies of the audio), in a fresh process."""
    code = textwrap.dedent("""
        import resource
        import scipy.signal
        import engine.music as m
        base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        m.make_music(m.Brief(genre="lofi", seed=1), m.Cues(20.0, cuts=(5.0, 12.0, 16.0)))
        print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) / 1024)
    """)
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True)
    assert float(out.stdout) < 1.5 * PEAK_RSS_20S_MB


# --- determinism and variety -------------------------------------------------------------

def test_same_seed_same_music_different_seed_different_music() -> None:
    cues = Cues(8.0, cuts=(4.0,))
    a = make_music(Brief(genre="lofi", seed=11), cues)
    b = make_music(Brief(genre="lofi", seed=11), cues)
    c = make_music(Brief(genre="lofi", seed=12), cues)
    assert np.array_equal(a.audio, b.audio)
    assert a.score == b.score
    assert not np.array_equal(a.audio, c.audio)
    lead = lambda m: [(round(n.time, 2), n.pitch) for n in m.score.notes if n.part == "lead"]  # noqa: E731
    chords = lambda m: [c.symbol for c in m.score.chords]  # noqa: E731
    assert lead(a) != lead(c) or chords(a) != chords(c)


def test_seeds_choose_different_progressions_and_motifs() -> None:
    cues = Cues(30.0)
    scores = [compose(Brief(genre="corporate", seed=s), cues) for s in range(6)]
    progressions = {tuple(c.symbol for c in s.chords) for s in scores}
    melodies = {tuple(n.pitch for n in s.notes if n.part == "lead")[:8] for s in scores}
    assert len(progressions) >= 3 and len(melodies) >= 3


# --- tempo, form and the picture ----------------------------------------------------------

@pytest.mark.parametrize("bpm,duration", [(90.0, 7.5), (120.0, 12.34), (72.0, 30.0), (128.0, 45.0), (100.0, 3.0)])
def test_requested_bpm_is_honoured_within_3_percent(bpm: float, duration: float) -> None:
    score = compose(Brief(genre="corporate", bpm=bpm), Cues(duration))
    assert abs(score.bpm / bpm - 1.0) <= 0.03
    assert score.bars >= 1


@pytest.mark.parametrize("genre,seed", [("corporate", 0), ("cinematic", 1), ("lofi", 2), ("ambient", 3), ("piano", 4)])
def test_sections_and_fills_land_on_scene_cuts(genre: str, seed: int) -> None:
    cuts = (4.3, 9.1, 13.6, 18.4, 23.0, 27.9, 32.2, 36.5)
    score = compose(Brief(genre=genre, seed=seed), Cues(40.0, cuts=cuts))
    marks = list(score.fills) + [s.start_s for s in score.sections]
    near = [min(abs(m - c) for m in marks) <= score.beat_s for c in cuts]
    assert sum(near) >= 0.8 * len(cuts)
    # section boundaries sit on bar lines
    for s in score.sections[:-1]:
        assert (s.start_s / score.bar_s) == pytest.approx(round(s.start_s / score.bar_s), abs=1e-9)


def test_requested_hits_get_an_accent() -> None:
    score = compose(Brief(genre="corporate", hits=(6.0,)), Cues(16.0))
    (hit,) = score.hits
    assert abs(hit - 6.0) <= score.beat_s / 2
    at_hit = [n for n in score.notes if abs(n.time - hit) < 0.015]
    stems = {score.part(n.part).stem for n in at_hit}
    assert {"drums", "bass", "harmony"} <= stems
    assert any(n.pitch == 49 for n in at_hit)                               # crash


def test_build_starts_sparse_and_ends_full() -> None:
    score = compose(Brief(genre="upbeat", intensity="build"), Cues(30.0))
    half = score.final_chord_s / 2
    early = sum(1 for n in score.notes if n.time < half)
    late = sum(1 for n in score.notes if half <= n.time < score.final_chord_s)
    assert late > 1.5 * early
    assert score.sections[0].energy < score.sections[-2].energy


def test_energy_curve_is_followed() -> None:
    energy = tuple([0.1] * 20 + [0.95] * 20)          # quiet first 10 s, busy last 10 s
    score = compose(Brief(genre="electronic", intensity="follow"), Cues(20.0, energy=energy))
    quiet = sum(1 for n in score.notes if n.time < 9.0)
    busy = sum(1 for n in score.notes if 10.0 <= n.time < 19.0)
    assert busy > 1.5 * quiet


# --- arrangement and sound ------------------------------------------------------------

def test_no_drums_means_a_silent_drum_stem() -> None:
    music = make_music(Brief(genre="upbeat", remove=("drums",)), Cues(8.0))
    assert not np.any(music.stems["drums"])
    assert "drums" not in music.score.instruments
    assert np.abs(music.stems["harmony"]).max() > 0.01


def test_ambient_has_no_drums_by_default_but_can_add_them() -> None:
    plain = compose(Brief(genre="ambient"), Cues(12.0))
    assert "drums" not in plain.instruments and not plain.notes_in_stem("drums")
    added = compose(Brief(genre="ambient", add=("drums",)), Cues(12.0))
    assert "drums" in added.instruments and added.notes_in_stem("drums")


def test_calm_is_sparser_and_darker_than_energetic() -> None:
    cues = Cues(12.0)
    calm = make_music(Brief(genre="corporate", mood="calm", intensity="calm"), cues)
    hot = make_music(Brief(genre="corporate", mood="energetic", intensity="high"), cues)

    def onsets_per_s(m: object) -> float:
        return len({round(n.time, 2) for n in m.score.notes}) / 12.0   # type: ignore[attr-defined]

    def centroid(m: object) -> float:
        x = m.audio.mean(axis=1)                                         # type: ignore[attr-defined]
        spec = np.abs(np.fft.rfft(x))
        freqs = np.fft.rfftfreq(len(x), 1 / SR)
        return float((spec * freqs).sum() / spec.sum())

    assert onsets_per_s(hot) > 1.5 * onsets_per_s(calm)
    assert centroid(hot) > centroid(calm)


def test_genres_sound_different() -> None:
    cues = Cues(10.0)
    bands = {}
    for genre in ("lofi", "electronic", "ambient", "acoustic"):
        x = make_music(Brief(genre=genre), cues).audio.mean(axis=1)
        spec = np.abs(np.fft.rfft(x)) ** 2
        f = np.fft.rfftfreq(len(x), 1 / SR)
        edges = [0, 150, 600, 2500, 8000, SR / 2]
        e = np.array([spec[(f >= a) & (f < b)].sum() for a, b in zip(edges, edges[1:])])
        bands[genre] = e / e.sum()
    names = list(bands)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            assert np.abs(bands[a] - bands[b]).sum() > 0.05, (a, b)


def test_brief_requests_are_resolved_from_the_picture() -> None:
    slow = resolve(Brief(), Cues(30.0, pace=0.1, energy=(0.2,) * 10))
    fast = resolve(Brief(), Cues(30.0, pace=0.9, energy=(0.8,) * 10))
    assert slow.genre == "ambient" and fast.genre == "electronic"
    assert slow.bpm is not None and fast.bpm is not None and slow.bpm < fast.bpm
    keyed = resolve(Brief(genre="piano", key="F# minor", bpm=77), Cues(10.0))
    assert keyed.key == "F# minor" and keyed.bpm == 77
    with pytest.raises(ValueError):
        Brief(genre="polka")


def test_synthesize_alone_gives_stems_that_sum_to_the_mix() -> None:
    rendered = synthesize(compose(Brief(genre="hiphop"), Cues(6.0)))
    total = sum(rendered.stems.values())
    assert np.allclose(total, rendered.mix, atol=1e-5)
    assert set(rendered.stems) == {"drums", "bass", "harmony", "lead", "texture"}


def test_describe_is_json_ready() -> None:
    import json

    music = make_music(Brief(genre="acoustic", hits=(3.0,)), Cues(8.0, cuts=(4.0,)))
    info = json.loads(json.dumps(music.describe()))
    assert info["genre"] == "acoustic" and info["duration_s"] == 8.0
    assert info["lufs"] == pytest.approx(-16.0, abs=1.0) and info["true_peak_dbtp"] <= -1.0
    assert info["sections"] and info["hits"]


@pytest.mark.parametrize("genre", ["corporate", "lofi", "piano", "electronic"])
def test_melody_keeps_to_chord_tones_steps_and_a_tonic_ending(genre: str) -> None:
    score = compose(Brief(genre=genre, seed=5, intensity="high"), Cues(30.0))
    lead = score.notes_of(next(p.name for p in score.parts if p.role == "lead"))
    beat = score.beat_s

    def chord_at(t: float):  # noqa: ANN202
        return next(c for c in score.chords if c.start_s - 0.02 <= t < c.end_s - 0.02)

    strong = [n for n in lead if round(n.time / beat, 1) % 2 == 0 and n.time < score.final_chord_s]
    assert sum(n.pitch % 12 in chord_at(n.time).pcs for n in strong) >= 0.9 * len(strong)
    steps = [abs(b.pitch - a.pitch) <= 2 for a, b in zip(lead, lead[1:])]
    assert sum(steps) >= 0.5 * len(steps)
    assert lead[-1].time == pytest.approx(score.final_chord_s) and lead[-1].pitch % 12 == score.tonic


def test_lead_steps_aside_while_someone_speaks() -> None:
    speech = ((4.0, 12.0),)
    score = compose(Brief(genre="upbeat", intensity="high"), Cues(20.0, speech=speech))
    lead = score.notes_of("lead")
    assert lead and not [n for n in lead if 4.0 + 0.05 <= n.time < 12.0 - 0.05]


def test_brightness_moves_the_spectrum() -> None:
    def centroid(brightness: float) -> float:
        x = make_music(Brief(genre="corporate", brightness=brightness), Cues(8.0)).audio.mean(axis=1)
        spec = np.abs(np.fft.rfft(x))
        return float((spec * np.fft.rfftfreq(len(x), 1 / SR)).sum() / spec.sum())

    assert centroid(-1.0) < centroid(0.0) < centroid(1.0)


@pytest.mark.parametrize("genre", ["lofi", "cinematic"])
def test_a_long_piece_rendered_span_by_span_is_the_same_stems(genre: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Long pieces render notes a span at a time (issue 13 item 6): notes that cross a span's edge,
    the pump, bus filters and compressor, level and room give the whole-buffer render bit for bit."""
    from engine.music import constants
    from engine.music.brief import STEMS
    from engine.music.synth import render_stem

    score = compose(Brief(genre=genre, seed=5), Cues(duration_s=20.0, cuts=(7.0, 13.0)))
    whole = {stem: render_stem(score, stem) for stem in STEMS}
    monkeypatch.setattr(constants, "PARALLEL_MAX_S", 5.0)
    monkeypatch.setattr(constants, "RENDER_SPAN", 2 * constants.CHUNK)      # 2.7 s spans
    monkeypatch.setattr(constants, "WAVE_CACHE_MB", 1.0)                    # waveforms rendered again
    for stem in STEMS:
        assert np.array_equal(render_stem(score, stem), whole[stem]), stem


class _Inline:
    """An executor that runs each task as it is submitted, on the submitting thread."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        pass

    def __enter__(self) -> _Inline:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def submit(self, fn, *args, **kwargs):  # noqa: ANN001, ANN201
        from concurrent.futures import Future

        future: Future = Future()
        future.set_result(fn(*args, **kwargs))
        return future


@pytest.mark.parametrize("genre", ["ambient", "cinematic"])
def test_the_second_core_changes_no_sample(genre: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Stems, notes made ahead on the helper, mastering's paired filters and its passes over the
    two halves of the timeline run on two cores: the piece is the one a single thread renders,
    bit for bit."""
    from engine.music import stream, synth

    brief, cues = Brief(genre=genre, seed=3), Cues(duration_s=20.0, cuts=(6.0, 13.0), energy=(0.3, 0.8, 0.5))
    parallel = make_music(brief, cues).audio
    monkeypatch.setattr(stream, "_helper", _Inline())
    monkeypatch.setattr(synth, "ThreadPoolExecutor", _Inline)
    serial = make_music(brief, cues).audio
    assert serial.tobytes() == parallel.tobytes()


def test_a_short_ambient_piece_keeps_its_recorded_shape() -> None:
    """Each streaming step's RMS as recorded from the engine before the second core (commit
    c407bee, whose sha256 of this piece was 69be6ab3…): a speed-up that splits work wrongly
    between the cores (a step gained twice, dropped or shifted) moves a step's RMS by far more
    than the tolerance even when both cores agree. Not the exact bits: numpy's SIMD paths differ
    between CPUs in the last bits, and the test must hold on any machine.

    If this fails, the music itself changed: intended changes to the sound record new figures
    (and say so in their commit); a speed-up must never need to.
    """
    from engine.music.constants import CHUNK

    music = make_music(Brief(genre="ambient", seed=11), Cues(9.0, cuts=(4.5,)))   # 7 steps: halves of 4 and 3
    audio = np.asarray(music.audio, dtype=np.float64)
    rms = [float(np.sqrt(np.mean(audio[i:i + CHUNK] ** 2))) for i in range(0, len(audio), CHUNK)]
    recorded = [0.076135, 0.108487, 0.118128, 0.127942, 0.140744, 0.144088, 0.105415]
    assert rms == pytest.approx(recorded, rel=1e-4, abs=1e-6)


@pytest.mark.parametrize("genre", ["lofi", "electronic", "ambient"])
def test_a_pieces_loudness_and_true_peak_are_what_its_audio_measures(genre: str) -> None:
    """describe() takes them from the master (measured again they were 0.06 s of every composition):
    they must be the figures a meter reads off the finished audio, to the reported hundredth."""
    from engine.music.loudness import measure_lufs

    music = make_music(Brief(genre=genre, seed=4), Cues(20.0, cuts=(6.0, 13.0)))
    facts = music.describe()
    assert facts["lufs"] == round(measure_lufs(music.audio, SR), 2)
    assert facts["true_peak_dbtp"] == round(true_peak_dbtp(music.audio, SR), 2)
    assert facts["lufs"] == pytest.approx(integrated_lufs(music.audio, SR), abs=0.05)  # the reference meter


def test_silence_and_a_piece_too_short_to_gate_report_no_loudness() -> None:
    from engine.music.mastering import master_measured

    silent = master_measured(np.zeros((SR, 2), dtype=np.float32), SR)
    assert silent.lufs == float("-inf") and silent.true_peak_dbtp == float("-inf")
    blip = np.zeros((SR // 4, 2), dtype=np.float32)
    blip[100:200] = 0.5
    short = master_measured(blip, SR)
    assert short.lufs == float("-inf") and short.true_peak_dbtp == pytest.approx(true_peak_dbtp(blip, SR), abs=0.01)
    assert short.true_peak_dbtp <= -1.0
    # long enough to gate, but every block under the -70 LUFS gate: normalised by its true peak, then measured
    from engine.music.loudness import measure_lufs

    hush = (np.random.default_rng(1).standard_normal((5 * SR, 2)) * 1e-4).astype(np.float32)
    quiet = master_measured(hush, SR)
    assert np.isfinite(quiet.lufs) and quiet.lufs == pytest.approx(measure_lufs(hush, SR), abs=1e-6)
