"""The analysis' fast path: cuts from the packets, keyframes and a few decoded frames.

Each test checks the path taken (the analysis logs it) and that the answer is the one
the full decode gives: cut times within one frame of the real cuts, no false cuts.
"""
from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest

from engine.analysis.analyze import analyze
from media.ffmpeg import pathlike, run
from media.fixtures import VideoSpec, make_video

FRAME = 1 / 30 + 1e-3


def reencode(src: Path, out: Path, *args: str) -> Path:
    run(["-i", pathlike(src), "-an", "-c:v", "libx264", *args, "-y", pathlike(out)], timeout=300, what="re-encode")
    return out


def path_taken(caplog: pytest.LogCaptureFixture) -> str:
    lines = [r.getMessage() for r in caplog.records if r.name == "engine.analysis.analyze"]
    assert len(lines) == 1, lines
    return lines[0]


@pytest.fixture(scope="module")
def scenes(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[float]]:
    """10 s of 1280x720, cuts at 2.5 s (inside a GOP) and 6.0 s (on a keyframe of the 2 s grid),
    encoded without scene detection (x264 ultrafast): the cuts show only as frame sizes and
    keyframe pictures."""
    spec = VideoSpec(seconds=10, width=1280, height=720, audio="voice", scene_seconds=[2.5, 3.5, 4.0])
    return make_video(tmp_path_factory.mktemp("fast") / "scenes.mp4", spec), spec.cut_times()


def test_a_long_enough_hd_clip_finds_its_cuts_without_a_full_decode(scenes, caplog):
    path, real = scenes
    with caplog.at_level(logging.INFO, logger="engine.analysis.analyze"):
        result = analyze(path)
    assert "fast path" in path_taken(caplog)
    assert len(result.scene_cuts) == len(real)
    assert all(abs(found - cut) <= FRAME for found, cut in zip(result.scene_cuts, real))
    full = analyze(path, picture="full")
    assert result.scene_cuts == full.scene_cuts
    assert result.speech == full.speech and len(result.energy) == len(full.energy)


def test_keyframes_placed_at_cuts_by_the_encoder_are_cuts(scenes, tmp_path, caplog):
    """x264's default scene detection starts a GOP at a cut, off the 2 s grid."""
    path, real = scenes
    small = reencode(path, tmp_path / "editor.mp4", "-preset", "veryfast", "-g", "60", "-vf", "scale=640:360")
    with caplog.at_level(logging.INFO, logger="engine.analysis.analyze"):
        result = analyze(small, picture="fast")
    assert "fast path" in path_taken(caplog)
    assert len(result.scene_cuts) == len(real)
    assert all(abs(found - cut) <= FRAME for found, cut in zip(result.scene_cuts, real))


def test_keyframes_off_the_cadence_are_cuts_on_their_frame_for_a_few_decoded_frames(tmp_path, caplog, monkeypatch):
    """An editor's export: a keyframe at each cut, off the 2 s cadence. Each keyframe is the cut,
    on its exact frame: only a few frames after each are decoded, all in one ffmpeg run after
    the keyframes' (the old path started one ffmpeg per window)."""
    spec = VideoSpec(seconds=10, width=1280, height=720, audio="none", scene_seconds=[2.5, 1.6, 3.1, 2.8],
                     scene_sources=("smptehdbars=s={w}x{h}:r={fps}", "rgbtestsrc=s={w}x{h}:r={fps}"))
    path, real = make_video(tmp_path / "src.mp4", spec), spec.cut_times()
    keyed = reencode(path, tmp_path / "keyed.mp4", "-preset", "veryfast", "-g", "60", "-sc_threshold", "0",
                     "-force_key_frames", ",".join(f"{c:.3f}" for c in real))
    import engine.analysis.analyze as analysis
    import engine.analysis.packets as packets

    runs: list[list[str]] = []
    for module in (analysis, packets):
        monkeypatch.setattr(module, "run", lambda args, _run=module.run, **kw: runs.append(list(map(str, args))) or _run(args, **kw))
    with caplog.at_level(logging.INFO, logger="engine.analysis.analyze"):
        result = analyze(keyed, picture="fast")
    taken = path_taken(caplog)
    assert "fast path" in taken
    assert result.scene_cuts == tuple(real)  # exactly on the cut frames
    assert len(runs) <= 3, [r[:8] for r in runs]  # the packets, the keyframes, the frames after them
    around = int(taken.split("keyframes, ")[1].split(" frames")[0])
    assert around < 100  # of 300 (a window around a spike in a still shot is among them)
    monkeypatch.undo()
    assert result.scene_cuts == analyze(keyed, picture="full").scene_cuts


def test_grid_keyframes_after_a_still_gop_are_cuts_without_decoding_that_gop(tmp_path, caplog):
    """A fixed-GOP file whose cuts fall on its 2 s keyframes, between still pictures: no GOP is decoded,
    only the few frames after each such keyframe (the old path decoded each whole GOP before)."""
    spec = VideoSpec(seconds=10, width=1280, height=720, audio="none", scene_seconds=[4.0, 2.0, 4.0],
                     scene_sources=("smptehdbars=s={w}x{h}:r={fps}", "rgbtestsrc=s={w}x{h}:r={fps}"))
    path = make_video(tmp_path / "still.mp4", spec)
    with caplog.at_level(logging.INFO, logger="engine.analysis.analyze"):
        result = analyze(path, picture="fast")
    taken = path_taken(caplog)
    assert "fast path" in taken
    assert result.scene_cuts == (4.0, 6.0)
    around = int(taken.split("keyframes, ")[1].split(" frames")[0])
    assert around < 60  # the two GOPs before the cuts alone are 120 frames (a few after some keyframes calibrate motion)
    assert result.scene_cuts == analyze(path, picture="full").scene_cuts


def test_a_fixed_gop_camera_file_without_cuts_has_none(tmp_path, caplog):
    """Grain and motion everywhere, a keyframe every second, no scene detection: no false cuts."""
    path = tmp_path / "camera.mp4"
    run(["-f", "lavfi", "-i", "testsrc2=s=1280x720:r=30:d=10,noise=alls=8:allf=t+u", "-pix_fmt", "yuv420p",
         "-c:v", "libx264", "-preset", "ultrafast", "-b:v", "6000k", "-g", "30", "-sc_threshold", "0",
         "-y", pathlike(path)], timeout=300, what="generate camera clip")
    with caplog.at_level(logging.INFO, logger="engine.analysis.analyze"):
        result = analyze(path)
    assert "fast path" in path_taken(caplog)
    assert result.scene_cuts == ()
    assert max(result.motion) > 0.1  # it moves, and that is motion, not cuts


def test_an_intra_only_file_falls_back_to_the_full_decode(tmp_path, caplog):
    """Every frame a keyframe: the packets say nothing, so every frame is decoded."""
    spec = VideoSpec(seconds=4, width=320, height=180, audio="none", scene_seconds=[1.5, 2.5])
    path = reencode(make_video(tmp_path / "src.mp4", spec), tmp_path / "intra.mp4", "-preset", "ultrafast", "-g", "1")
    with caplog.at_level(logging.INFO, logger="engine.analysis.analyze"):
        result = analyze(path, picture="fast")
    assert "full decode (every frame is a keyframe" in path_taken(caplog)
    assert len(result.scene_cuts) == 1 and abs(result.scene_cuts[0] - 1.5) <= FRAME


def test_a_fade_through_black_is_one_cut_in_the_black_as_with_the_full_decode(tmp_path):
    """A fade leaves no spike in the packets; its black keyframe, unlike the one before, gets
    the GOP before it decoded, where the fade is found as the full decode finds it."""
    path = tmp_path / "fade.mp4"
    run(["-f", "lavfi", "-i", "testsrc2=s=320x180:r=30:d=10", "-f", "lavfi", "-i", "smptehdbars=s=320x180:r=30:d=10",
         "-filter_complex", "[0:v]fade=t=out:st=9.3:d=0.5[a];[1:v]fade=t=in:st=0:d=1[b];[a][b]concat=n=2:v=1[v]",
         "-map", "[v]", "-pix_fmt", "yuv420p", "-c:v", "libx264", "-preset", "ultrafast", "-g", "30",
         "-y", pathlike(path)], timeout=120, what="generate fade")
    result = analyze(path, picture="fast")
    assert len(result.scene_cuts) == 1 and 9.8 <= result.scene_cuts[0] <= 10.3
    assert result.scene_cuts == analyze(path, picture="full").scene_cuts


def test_an_upload_is_analysed_before_any_chat_turn(api, clip):
    """The analysis starts at upload, so the first chat turn finds it done or under way."""
    api.upload(clip)
    deadline = time.monotonic() + 60
    while not api.state()["video_analyses"] and time.monotonic() < deadline:
        time.sleep(0.05)  # it lands in the session in the background; no chat turn was sent
    (analysis,) = api.state()["video_analyses"].values()
    assert len(analysis["scene_cuts"]) == 1 and abs(analysis["scene_cuts"][0] - 4.0) <= FRAME


def test_the_span_batches_share_one_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each batch of four spans got the whole timeout: a long video's analysis could run for many times
    the time it was given. The batches now share it, and one that would start past it is not started."""
    import types

    import engine.analysis.analyze as analysis
    from media.ffmpeg import FFmpegError

    clock = [100.0]
    given: list[float] = []

    def fake_run(args, *, timeout, what, **kwargs):  # noqa: ANN001, ANN202 - each batch "takes" 4 s
        given.append(timeout)
        clock[0] += 4.0
        for at, arg in enumerate(args):
            if arg == "-y":
                open(args[at + 1], "wb").close()

    monkeypatch.setattr(analysis, "run", fake_run)
    monkeypatch.setattr(analysis, "time", types.SimpleNamespace(monotonic=lambda: clock[0]))
    spans = [analysis._Span(mode="keys")] * 12
    assert len(analysis._thumbs("clip.mp4", 8, 8, spans, 10.0)) == 12
    assert given == [10.0, 6.0, 2.0]
    given.clear()
    with pytest.raises(FFmpegError, match="longer than 7s"):
        analysis._thumbs("clip.mp4", 8, 8, spans, 7.0)
    assert given == [7.0, 3.0]


def test_many_keyframes_are_decoded_by_two_ffmpegs_and_give_the_cuts_of_one(scenes, tmp_path, caplog,
                                                                            monkeypatch: pytest.MonkeyPatch):
    """A keyframe is decoded alone, so one ffmpeg keeps one core busy: from KEY_SPLIT_MIN keyframes (and
    KEY_SPLIT_BYTES) on, two decode half each at once (a camera file's 40 keyframes: 1.1 s → 0.75 s). Every keyframe is
    still seen exactly once — the fast path stays on it and finds what one ffmpeg found."""
    import engine.analysis.analyze as analysis

    path, real = scenes
    dense = reencode(path, tmp_path / "dense.mp4", "-preset", "ultrafast", "-g", "10", "-sc_threshold", "0")
    monkeypatch.setattr(analysis, "KEY_SPLIT_BYTES", 0)  # these keyframes are small: split them anyway
    with caplog.at_level(logging.INFO, logger="engine.analysis.analyze"):
        split = analyze(dense, picture="fast")
    assert "fast path (packets, 30 keyframes" in path_taken(caplog)
    caplog.clear()
    keys_runs: list[int] = []  # keyframe spans per ffmpeg
    real_thumbs = analysis._thumbs

    def counting(path, w, h, spans, timeout, *more, **options):  # noqa: ANN001, ANN002, ANN003, ANN202
        keys_runs.append(sum(s.mode == "keys" for s in spans))
        return real_thumbs(path, w, h, spans, timeout, *more, **options)

    monkeypatch.setattr(analysis, "_thumbs", counting)
    monkeypatch.setattr(analysis, "KEY_SPLIT_MIN", 10_000)
    with caplog.at_level(logging.INFO, logger="engine.analysis.analyze"):
        whole = analyze(dense, picture="fast")
    assert "fast path" in path_taken(caplog)
    assert [k for k in keys_runs if k] == [1]
    assert split.scene_cuts == whole.scene_cuts and len(split.scene_cuts) == len(real)
    assert split.to_json() == whole.to_json()
    keys_runs.clear()
    monkeypatch.setattr(analysis, "KEY_SPLIT_MIN", 8)
    analyze(dense, picture="fast")
    assert [k for k in keys_runs if k] == [1, 1], "the keyframes were not split between two ffmpegs"
    keys_runs.clear()
    monkeypatch.setattr(analysis, "KEY_SPLIT_BYTES", 3_000_000)
    analyze(dense, picture="fast")
    assert [k for k in keys_runs if k] == [1], "small keyframes were split (a second ffmpeg's memory for nothing)"

