"""An upload's sound is decoded for the soundtrack while the upload is analysed (issue 16): the mix after
the chat turn reads that copy instead of waiting for ffmpeg, and mixes exactly the samples it would have
decoded itself."""
from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import numpy as np

from protocol.requests import DEFAULT_REQUEST
from support import Api


def _all(blocks) -> np.ndarray:  # noqa: ANN001
    return np.concatenate(list(blocks))


def test_a_kept_decode_gives_the_samples_ffmpeg_would(clip: Path, tmp_path: Path, monkeypatch) -> None:
    import media.audio as audio

    video = tmp_path / "clip.mp4"
    shutil.copy(clip, video)
    durations = (None, 6.0, 5.5, 1.234567, 3.0004, 1.005, 2.0000105)
    decoded = {d: _all(audio.stream_audio(video, 48000, 2, 1 << 14, 0.0, d)) for d in durations}
    audio.keep_decode(video, 48000, 2)
    ran: list[str] = []
    monkeypatch.setattr(audio, "_stdout_pieces", lambda args, **kw: ran.append(kw["what"]) or iter(()))
    for d in durations:
        assert np.array_equal(_all(audio.stream_audio(video, 48000, 2, 1 << 14, 0.0, d)), decoded[d]), d
    assert not ran, f"ffmpeg decoded again: {ran}"
    list(audio.stream_audio(video, 48000, 2, 1 << 14, 1.0, 2.0))  # a stream from later on still decodes
    assert ran


def test_a_kept_decode_older_than_its_file_is_not_used(clip: Path, tmp_path: Path, monkeypatch) -> None:
    import media.audio as audio

    video = tmp_path / "clip.mp4"
    shutil.copy(clip, video)
    audio.keep_decode(video, 48000, 2)
    later = time.time() + 5
    os.utime(video, (later, later))  # the file changed after its sound was decoded
    ran: list[str] = []
    real = audio._stdout_pieces
    monkeypatch.setattr(audio, "_stdout_pieces", lambda args, **kw: ran.append(kw["what"]) or real(args, **kw))
    assert len(_all(audio.stream_audio(video, 48000, 2, 1 << 14))) == 6 * 48000
    assert ran


def test_the_soundtrack_after_a_turn_reads_the_sound_decoded_at_upload(engine, clip: Path, monkeypatch) -> None:
    import media.audio as audio
    from engine.export.mix import SAMPLE_RATE, build_soundtrack, sources_from_infos

    core = engine.server.config.app.state.engine
    api = Api(engine.url).login()
    api.upload(clip).raise_for_status()
    info = core.store.session(api.session_id)["state"]["video_infos"][0]
    media = core.store.session_dir(api.session_id) / "media"
    kept = audio.kept_decode_path(media / info["stored_as"], SAMPLE_RATE, 2)
    core.analyses[info["file_id"]].result(120)
    deadline = time.monotonic() + 60  # on the engine's decode thread, beside the analysis: nothing orders the two
    while not kept.is_file() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert kept.is_file(), "the upload's sound was not decoded while it was analysed"

    decodes: list[str] = []
    real = audio._stdout_pieces
    monkeypatch.setattr(audio, "_stdout_pieces", lambda args, **kw: decodes.append(kw["what"]) or real(args, **kw))
    api.chat(DEFAULT_REQUEST)
    assert api.render("r-kept")["status"] == "completed"
    assert not decodes, f"the soundtrack decoded the upload again: {decodes}"
    assert not kept.exists(), "the decode outlived the mix it was for (a kept project would hold 23 MB a minute)"

    state = core.store.session(api.session_id)["state"]
    sources = sources_from_infos(state["video_infos"], media)
    speech = [tuple(r) for a in (state.get("video_analyses") or {}).values() for r in a.get("speech", [])]
    audio.keep_decode(media / info["stored_as"], SAMPLE_RATE, 2)
    with_copy = build_soundtrack(state["draft"], sources, core.music_path, speech)
    kept.unlink()
    assert np.array_equal(with_copy, build_soundtrack(state["draft"], sources, core.music_path, speech))
    assert decodes, "without the copy the mix decodes the upload itself"
