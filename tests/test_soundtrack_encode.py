"""The soundtrack's AAC encoder is fed through a pipe: the same audio as through a WAV, and no
encoder left running when the mix before it fails."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from engine.export import soundtrack
from engine.export import aac
from engine.export.aac import AUDIO_BITRATE
from media.audio import write_wav
from media.ffmpeg import FFmpegError, pathlike, run


def _decoded(path: Path) -> str:
    return hashlib.sha256(run(["-i", pathlike(path), "-f", "s16le", "-"], timeout=60, what="decode").stdout).hexdigest()


def test_piped_encode_gives_the_audio_a_wav_gives(tmp_path: Path) -> None:
    t = np.arange(48000 * 3) / 48000
    audio = np.stack([0.3 * np.sin(2 * np.pi * 220 * t), 0.2 * np.sin(2 * np.pi * 330 * t)], axis=1).astype(np.float32)
    write_wav(tmp_path / "mix.wav", audio, 48000)
    run(
        [
            "-i",
            pathlike(tmp_path / "mix.wav"),
            "-c:a",
            "aac",
            "-aac_coder",
            "fast",
            "-b:a",
            AUDIO_BITRATE,
            "-f",
            "mp4",
            "-y",
            pathlike(tmp_path / "via-wav.m4a"),
        ],
        timeout=60,
        what="encode",
    )
    encoder = soundtrack.AacEncoder(tmp_path / "piped.m4a", 48000, len(audio))
    try:
        encoder.encode(audio)
    finally:
        encoder.stop()
    assert _decoded(tmp_path / "piped.m4a") == _decoded(tmp_path / "via-wav.m4a")


@pytest.mark.parametrize("duration_ms", [1000, 60_000])  # one encoder; two halves and their mux
def test_a_failed_mix_leaves_no_encoder_running(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                started: list[soundtrack.AacEncoder], duration_ms: int) -> None:
    def failing_mix(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise FileNotFoundError("music music:abc has not been composed yet")

    monkeypatch.setattr(soundtrack, "build_soundtrack", failing_mix)
    with pytest.raises(FileNotFoundError):
        soundtrack.build(tmp_path, "key", {"d": duration_ms, "t": []}, {}, lambda key: tmp_path / f"{key}.wav", [],
                         None)
    assert started == []  # the encoders start once a mix is done: a failed one leaves none to stop
    assert [p.name for p in tmp_path.iterdir()] == []


@pytest.mark.parametrize("duration_ms", [1000, 60_000])
def test_a_failed_encoder_is_one_line_and_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         started: list[soundtrack.AacEncoder], duration_ms: int) -> None:
    monkeypatch.setattr(aac, "AUDIO_BITRATE", "lots")  # every encoder refuses it
    monkeypatch.setattr(soundtrack, "build_soundtrack",
                        lambda *args, **kwargs: np.zeros((duration_ms * 48, 2), dtype=np.float32))
    with pytest.raises(FFmpegError) as failed:
        soundtrack.build(tmp_path, "key", {"d": duration_ms, "t": []}, {}, lambda key: tmp_path / f"{key}.wav", [],
                         None)
    assert str(failed.value).startswith("encode the soundtrack: ") and "\n" not in str(failed.value)
    assert all(proc.poll() is not None for proc in started[0].procs)
    assert [p.name for p in tmp_path.iterdir()] == []
