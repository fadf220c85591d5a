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
