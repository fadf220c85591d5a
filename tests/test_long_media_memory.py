"""Long media within the limits must not cost gigabytes (issue 13 item 6).

Each test measures the Python-side peak (tracemalloc sees numpy's buffers) of one phase
on a long-enough input and holds it to a bound that does not grow with the length of
the whole input: the output itself plus blocks, never extra whole-length copies.
"""
from __future__ import annotations

import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from engine.app import _master
from engine.export.mix import Source, build_soundtrack
from media.audio import write_wav
from media.fixtures import VideoSpec, make_video
from protocol.draft import AUDIO, VIDEO

SR = 48000


@pytest.mark.slow
def test_mixing_a_long_soundtrack_holds_only_the_soundtrack(tmp_path: Path) -> None:
    """Video sound + faded, ducked music, mastered: a 10-minute render held five soundtracks' worth (1.4 GB)."""
    seconds = 120
    video = make_video(tmp_path / "v.mp4", VideoSpec(seconds=seconds, width=160, height=90, fps=5, audio="voice"))
    music = tmp_path / "music.wav"
    write_wav(music, (np.random.default_rng(0).standard_normal((SR * seconds, 2)) * 0.1).astype(np.float32), SR)
    ms = seconds * 1000
    draft = {"d": ms, "t": [
        {"tt": VIDEO, "sg": [{"src": "v", "st": 0, "d": ms, "ss": 0}], "m": {}},
        {"tt": AUDIO, "sg": [{"src": "music:k", "st": 0, "d": ms}], "m": {"fade_in_ms": 2000, "fade_out_ms": 3000}}]}
    speech = [(float(t), t + 2.6) for t in range(0, seconds, 4)]
    tracemalloc.start()
    try:
        out = build_soundtrack(draft, {"v": Source(str(video), "video", True, seconds)}, lambda _key: music, speech,
                               master=_master)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
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
    tracemalloc.start()
    try:
        facts = compose_to_wav({"genre": "lofi", "seed": 1}, cues, tmp_path / "music.wav", write_wav)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    music = SR * seconds * 2 * 4
    assert facts["duration_s"] == seconds and facts["lufs"] == pytest.approx(-16.0, abs=0.5)
    assert peak < 1.6 * music, f"{music / 1e6:.0f} MB of music held {peak / 1e6:.0f} MB"
