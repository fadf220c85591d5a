"""Long media within the limits must not cost gigabytes (issue 13 item 6).

Each test measures the Python-side peak (tracemalloc sees numpy's buffers) of one phase
on a long-enough input and holds it to a bound that does not grow with the length of
the whole input: the output itself plus blocks, never extra whole-length copies.
"""
from __future__ import annotations

import tracemalloc
from pathlib import Path
from typing import Callable, TypeVar

import numpy as np
import pytest

from engine.app import _master
from engine.export.mix import Source, build_soundtrack
from media.audio import write_wav
from media.fixtures import VideoSpec, make_video
from protocol.draft import AUDIO, VIDEO

T = TypeVar("T")

SR = 48000


def _voice_and_noise_music(tmp_path: Path, seconds: int, fades: dict[str, int]) -> tuple[dict, dict, Path, list]:
    """A draft of a voiced video under ``seconds`` of loud noise as its music (with ``fades``),
    its sources, the music file and speech every 4 s: the soundtrack step's long input."""
    video = make_video(tmp_path / "v.mp4", VideoSpec(seconds=seconds, width=160, height=90, fps=5, audio="voice"))
    music = tmp_path / "music.wav"
    write_wav(music, (np.random.default_rng(0).standard_normal((SR * seconds, 2)) * 0.1).astype(np.float32), SR)
    ms = seconds * 1000
    draft = {"d": ms, "t": [
        {"tt": VIDEO, "sg": [{"src": "v", "st": 0, "d": ms, "ss": 0}], "m": {}},
        {"tt": AUDIO, "sg": [{"src": "music:k", "st": 0, "d": ms}], "m": fades}]}
    speech = [(float(t), t + 2.6) for t in range(0, seconds, 4)]
    return draft, {"v": Source(str(video), "video", True, seconds)}, music, speech


def _warm_up_the_mix(tmp_path: Path, fades: dict[str, int]) -> None:
    """Mix 3 s once first: a process's first mix also loads modules and fills caches (filter designs), 36 MB
    the bound is not about — the measurement passed or failed by which tests its worker had run before."""
    warm = tmp_path / "warm"
    warm.mkdir()
    draft, sources, music, speech = _voice_and_noise_music(warm, 3, fades)
    build_soundtrack(draft, sources, lambda _key: music, speech, master=_master)


def _traced_peak(work: Callable[[], T]) -> tuple[T, int]:
    """``work()``'s result and the peak of Python-side allocations (numpy's buffers included) while it ran."""
    tracemalloc.start()
    try:
        return work(), tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.slow
def test_mixing_a_long_soundtrack_holds_only_the_soundtrack(tmp_path: Path) -> None:
    """Video sound + faded, ducked music, mastered: a 10-minute render held five soundtracks' worth (1.4 GB)."""
    seconds = 120
    fades = {"fade_in_ms": 2000, "fade_out_ms": 3000}
    _warm_up_the_mix(tmp_path, fades)
    draft, sources, music, speech = _voice_and_noise_music(tmp_path, seconds, fades)
    out, peak = _traced_peak(lambda: build_soundtrack(draft, sources, lambda _key: music, speech, master=_master))
    assert out.shape == (SR * seconds, 2) and np.abs(out).max() > 0.1
    assert peak < 2 * out.nbytes, f"a {out.nbytes / 1e6:.0f} MB soundtrack held {peak / 1e6:.0f} MB"


@pytest.mark.slow
def test_composing_for_a_long_video_holds_about_one_copy_of_the_music(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Compose, master and write the WAV: the mix and a stem were in memory together (865 MB for ten minutes)."""
    from engine.composing import compose_to_wav
    from engine.music import constants

    seconds = 40
    monkeypatch.setattr(constants, "PARALLEL_MAX_S", 20.0)   # "long" from 20 s, so the test stays quick
    cues = {"duration_s": seconds, "cuts": [12.0, 31.0], "energy": [0.4] * (2 * seconds), "pace": 0.5}
    compose_to_wav({"genre": "lofi", "seed": 1}, cues, tmp_path / "warm.wav", write_wav)  # loads the recordings
    facts, peak = _traced_peak(lambda: compose_to_wav({"genre": "lofi", "seed": 1}, cues, tmp_path / "music.wav",
                                                      write_wav))
    music = SR * seconds * 2 * 4
    assert facts["duration_s"] == seconds and facts["lufs"] == pytest.approx(-16.0, abs=0.5)
    assert peak < 1.6 * music, f"{music / 1e6:.0f} MB of music held {peak / 1e6:.0f} MB"


@pytest.mark.slow
def test_the_renders_soundtrack_step_keeps_the_soundtrack_on_disk(tmp_path: Path) -> None:
    """Mix, master, WAV and AAC while x264 encodes the picture: the float soundtrack (230 MB for ten
    minutes) was held in memory throughout; it now lives in a scratch file, paged in a block at a time."""
    from engine.export.soundtrack import build

    seconds = 120
    _warm_up_the_mix(tmp_path, {"fade_in_ms": 2000})
    draft, sources, music, speech = _voice_and_noise_music(tmp_path, seconds, {"fade_in_ms": 2000})
    m4a, peak = _traced_peak(lambda: build(tmp_path / "mixes", "k", draft, sources, lambda _key: music, speech, _master))
    soundtrack = SR * seconds * 2 * 4
    assert m4a.is_file() and [p.name for p in (tmp_path / "mixes").iterdir()] == ["k.m4a"]  # scratch files gone
    assert peak < soundtrack / 2, f"a {soundtrack / 1e6:.0f} MB soundtrack step held {peak / 1e6:.0f} MB"


def test_a_soundtrack_in_a_scratch_file_is_the_same_soundtrack(tmp_path: Path) -> None:
    """The file-backed mix is bit for bit the in-memory one (mixing, fades, ducking and mastering)."""
    seconds = 8
    music = tmp_path / "music.wav"
    write_wav(music, (np.random.default_rng(1).standard_normal((SR * seconds, 2)) * 0.2).astype(np.float32), SR)
    ms = seconds * 1000
    draft = {"d": ms, "t": [{"tt": AUDIO, "sg": [{"src": "music:k", "st": 500, "d": ms - 500}],
                             "m": {"fade_in_ms": 1000, "fade_out_ms": 1500}}]}
    speech = [(2.0, 4.5)]
    held = build_soundtrack(draft, {}, lambda _key: music, speech, master=_master)
    paged = build_soundtrack(draft, {}, lambda _key: music, speech, master=_master, scratch=tmp_path / "s.f32")
    assert isinstance(paged, np.memmap) and np.array_equal(held, paged)


def _compose_traced(tmp_path: Path, seconds: int) -> tuple[dict, int]:
    from engine.composing import compose_to_wav

    cues = {"duration_s": seconds, "cuts": [float(t) for t in range(30, seconds, 45)], "energy": [0.5] * (2 * seconds)}
    return _traced_peak(lambda: compose_to_wav({"genre": "cinematic", "seed": 2}, cues, tmp_path / f"{seconds}.wav",
                                               write_wav))


@pytest.mark.slow
def test_composing_a_longer_piece_holds_no_more(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Compose, master and write the WAV for 2 and for 8 minutes: the peak does not grow with the length.

    Composing three hours peaked at 5.9 GB: a whole-length stem in memory (0.37 MB per second) and the
    limiter's arrays at 32 samples a knot. Here "long" starts at 60 s and the gain curve is capped at
    2^16 knots, so both pieces take the long path; the 8-minute one may hold only blocks more.
    """
    from engine.music import constants

    monkeypatch.setattr(constants, "PARALLEL_MAX_S", 60.0)
    monkeypatch.setattr(constants, "MAX_GAIN_KNOTS", 1 << 16)
    monkeypatch.setattr(constants, "WAVE_CACHE_MB", 16.0)
    _compose_traced(tmp_path, 20)                                    # loads the recordings
    short, short_peak = _compose_traced(tmp_path, 120)
    long, long_peak = _compose_traced(tmp_path, 480)
    assert long["duration_s"] == 480 and long["lufs"] == pytest.approx(-16.0, abs=0.5)
    grown = 360 * SR * 2 * 4                                         # six more minutes of one stem
    assert long_peak - short_peak < grown / 8, \
        f"2 min held {short_peak / 1e6:.0f} MB, 8 min {long_peak / 1e6:.0f} MB"
