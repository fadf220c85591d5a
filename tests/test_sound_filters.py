"""The analysis's listening does not wait for scipy.signal's import (~0.7 CPU-s, usually still under
way in the engine's warm-up thread when the first upload is analysed): the sound is decoded and
measured meanwhile, and the loudness comes out the same once the filters arrive."""

from __future__ import annotations

import threading
from concurrent.futures import Future
from pathlib import Path

import pytest

from engine.analysis import sound
from media.ffmpeg import pathlike, run


@pytest.fixture()
def clip(tmp_path: Path) -> Path:
    path = tmp_path / "voice.m4a"
    run(["-f", "lavfi", "-i", "anoisesrc=d=50:c=pink:a=0.2", "-f", "lavfi", "-i", "sine=f=300:d=50",
         "-filter_complex", "[0][1]amix=inputs=2", "-c:a", "aac", "-y", pathlike(path)], timeout=60, what="make a clip")
    return path


def test_the_sound_is_decoded_while_the_filters_are_still_importing(clip: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    expected = sound.listen(clip, 2.0, 60)
    real = sound._loudness_filters(sound.SPEECH_RATE).result(timeout=60)
    pending: Future = Future()
    monkeypatch.setattr(sound, "_loudness_filters", lambda rate: pending)
    decoded = threading.Event()
    stream = sound.stream_audio

    def watched(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        yield from stream(*args, **kwargs)
        decoded.set()

    monkeypatch.setattr(sound, "stream_audio", watched)
    result: list[sound.Sound] = []
    worker = threading.Thread(target=lambda: result.append(sound.listen(clip, 2.0, 60)))
    worker.start()
    try:
        assert decoded.wait(60), "the decode waited for the loudness filters"
    finally:
        pending.set_result(real)
        worker.join(60)
    assert result[0].loudness_lufs == expected.loudness_lufs
    assert result[0].speech == expected.speech
    assert (result[0].level == expected.level).all()
