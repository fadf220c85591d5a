"""The work a run does beyond what its output needs (issue 16): one probe per input, and a title's GOP
encode not stacked on the soundtrack's memory peak — while a picture copied from a damaged upload is
still decoded by the output check and refused."""
from __future__ import annotations

import os
import random
import struct
import threading
import time
from pathlib import Path

import pytest

import media.probe
import media.smart_render
import media.verify
from support import Api
from engine.export.graph import RenderJob, render
from engine.export.mix import Source
from media.ffmpeg import pathlike, run
from media.verify import Unplayable, check_playable
from protocol.draft import TEXT, VIDEO
from protocol.requests import DEFAULT_REQUEST


def _spy(monkeypatch: pytest.MonkeyPatch, module: object) -> list[tuple[str, list[str]]]:
    """Every ffmpeg ``module`` runs: (what it is for, its arguments)."""
    seen: list[tuple[str, list[str]]] = []
    real = module.run  # type: ignore[attr-defined]

    def spying(args, **kwargs):  # noqa: ANN001, ANN202
        seen.append((str(kwargs.get("what", "")), [str(a) for a in args]))
        return real(args, **kwargs)

    monkeypatch.setattr(module, "run", spying)
    return seen


def test_a_run_probes_its_input_once(api: Api, clip_1080: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The upload check, the analysis and the render each asked ffmpeg what the file is (3 ffmpegs
    for one answer)."""
    probes = _spy(monkeypatch, media.probe)
    api.upload(clip_1080).raise_for_status()
    api.chat(DEFAULT_REQUEST)
    assert api.render("r-fast")["status"] == "completed"
    assert len([what for what, _ in probes if what.startswith("probe ")]) == 1, probes


def test_a_file_rewritten_in_place_is_probed_again(tmp_path: Path) -> None:
    path = tmp_path / "clip.mp4"
    run(["-f", "lavfi", "-i", "testsrc2=s=320x240:r=30:d=1", "-y", pathlike(path)], timeout=60, what="make a clip")
    assert media.probe.probe(path).video.width == 320
    run(["-f", "lavfi", "-i", "testsrc2=s=160x120:r=30:d=2", "-y", pathlike(path)], timeout=60, what="make a clip")
    assert media.probe.probe(path).video.width == 160
    # the same size, rewritten in place (same inode) and dated elsewhere: a WAV whose header says another rate
    sound = tmp_path / "sound.wav"
    run(["-f", "lavfi", "-i", "sine=d=1:sample_rate=8000", "-c:a", "pcm_s16le", "-bitexact", "-y", pathlike(sound)],
        timeout=60, what="make a sound")
    assert media.probe.probe(sound).audio.sample_rate == 8000
    before = sound.stat()
    fmt = sound.read_bytes().index(b"fmt ")
    with open(sound, "r+b") as f:
        f.seek(fmt + 12)
        f.write(struct.pack("<II", 16000, 32000))  # sample rate, bytes per second
    os.utime(sound, ns=(before.st_atime_ns, before.st_mtime_ns - 5_000_000_000))
    assert (sound.stat().st_size, sound.stat().st_ino) == (before.st_size, before.st_ino)
    assert media.probe.probe(sound).audio.sample_rate == 16000
    with pytest.raises(media.probe.ProbeError):  # not there: ffmpeg's answer, as before, not an OSError
        media.probe.probe(tmp_path / "missing.mp4")


def test_a_copy_put_in_a_files_place_is_read_again_by_probe_and_first_frame_at(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """probe and first_frame_at remember a file by one key (device, inode, size, modification time):
    a copy moved into its place with the same size and time is another file to both (first_frame_at
    went by size and time and answered for the file that was there before)."""
    path = tmp_path / "clip.mp4"
    run(["-f", "lavfi", "-i", "testsrc2=s=160x120:r=30:d=1", "-y", pathlike(path)], timeout=60, what="make a clip")
    runs = _spy(monkeypatch, media.probe)
    asked = [media.probe.probe(path), media.probe.first_frame_at(path, 0.25)]
    assert [media.probe.probe(path), media.probe.first_frame_at(path, 0.25)] == asked and len(runs) == 2  # remembered
    before = path.stat()
    copy = tmp_path / "copy.mp4"
    copy.write_bytes(path.read_bytes())
    os.utime(copy, ns=(before.st_atime_ns, before.st_mtime_ns))
    os.replace(copy, path)
    assert (path.stat().st_size, path.stat().st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    assert [media.probe.probe(path), media.probe.first_frame_at(path, 0.25)] == asked
    assert [what.split()[0] for what, _ in runs[2:]] == ["probe", "read"], runs


def test_threads_asking_first_frame_at_the_same_time_share_one_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An upload's analysis and its decode for the mix ask as it lands: two reads at once were two 70 MB
    ffmpegs, a camera file's memory peak. The second asker now waits for the first one's answer."""
    path = tmp_path / "clip.mp4"
    run(["-f", "lavfi", "-i", "testsrc2=s=160x120:r=30:d=1", "-y", pathlike(path)], timeout=60, what="make a clip")
    seen = _spy(monkeypatch, media.probe)
    real = media.probe.run
    inside = threading.Event()

    def slow(args, **kwargs):  # noqa: ANN001, ANN202 - holds the first read until the other thread has asked
        inside.set()
        time.sleep(0.3)
        return real(args, **kwargs)

    monkeypatch.setattr(media.probe, "run", slow)
    answers: list[float | None] = []
    other = threading.Thread(target=lambda: answers.append(media.probe.first_frame_at(path, 0.5)))
    other.start()
    assert inside.wait(30)
    answers.append(media.probe.first_frame_at(path, 0.5))
    other.join(30)
    assert len(answers) == 2 and answers[0] == answers[1] is not None
    assert len([what for what, _ in seen if what.startswith("read the first frame")]) <= 1


def _clip(path: Path, seconds: float, width: int = 640, height: int = 360) -> Path:
    run(["-f", "lavfi", "-i", f"testsrc2=s={width}x{height}:r=30:d={seconds}", "-f", "lavfi", "-i", f"sine=d={seconds}",
         "-c:v", "libx264", "-preset", "ultrafast", "-g", "30", "-x264-params", "scenecut=0", "-pix_fmt", "yuv420p",
         "-c:a", "aac", "-shortest", "-movflags", "+faststart", "-y", pathlike(path)], timeout=60, what="make a clip")
    return path


def _damaged_tail(path: Path, seconds: float, last_slices: int | None = None) -> Path:
    """An x264 clip on the default canvas (the fast path copies it) whose slices in the last 40 % of the stream
    (or its last ``last_slices`` slices) are overwritten, each NAL's header and first 16 bytes kept: its packets,
    sizes and timestamps all read as sound, only a decode finds the damage."""
    stream = path.with_suffix(".h264")
    run(["-f", "lavfi", "-i", f"testsrc2=s=1920x1080:r=30:d={seconds}", "-c:v", "libx264", "-preset", "ultrafast",
         "-g", "30", "-pix_fmt", "yuv420p", "-bsf:v", "h264_mp4toannexb", "-y", pathlike(stream)],
         timeout=60, what="make a stream")
    data = bytearray(stream.read_bytes())
    noise = random.Random(16)
    starts = [at + 3 for at in range(len(data) - 3) if data[at:at + 3] == b"\0\0\1"]
    slices = [start for start in starts if data[start] & 0x1F in (1, 5)]  # a slice (non-IDR or IDR)
    damaged = set(slices[-last_slices:]) if last_slices else {a for a in slices if a >= len(data) * 0.6}
    for start, end in zip(starts, [*starts[1:], len(data) + 3]):
        if start in damaged:
            data[start + 16:end - 3] = noise.randbytes(end - 3 - start - 16).replace(b"\0", b"\1")  # no zero byte:
            # no start code can appear in it
    stream.write_bytes(bytes(data))
    run(["-f", "h264", "-framerate", "30", "-i", pathlike(stream), "-f", "lavfi", "-i", f"sine=d={seconds}",
         "-c:v", "copy", "-c:a", "aac", "-shortest", "-movflags", "+faststart", "-y", pathlike(path)],
        timeout=60, what="make a clip")
    return path


def test_a_copied_picture_that_does_not_decode_is_refused(api: Api, tmp_path: Path) -> None:
    """The upload's checks read packets only, and the fast path copies them: the output check's decode of
    the tail is the one place a damaged picture is caught before a client downloads it as completed."""
    damaged = _damaged_tail(tmp_path / "damaged.mp4", 4.0)
    with pytest.raises(Unplayable, match="does not decode"):
        check_playable(damaged, 4.0)
    api.upload(damaged).raise_for_status()
    api.chat(DEFAULT_REQUEST)
    assert api.render("r-damaged")["status"] == "failed"


def test_a_copied_picture_is_decoded_before_the_render_ends_not_after(api: Api, clip_1080: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """The output check waited, after the mux, for a decode of the copied picture's last GOP (0.1 s for a
    screen recording, 0.5 s for a camera's): the upload's tail is decoded while the soundtrack is mixed, and
    the output's own check lists its picture's packets — the upload's, byte for byte — without decoding them."""
    runs = _spy(monkeypatch, media.verify)
    api.upload(clip_1080).raise_for_status()
    api.chat(DEFAULT_REQUEST)
    assert api.render("r-fast")["status"] == "completed"
    tails = [args for what, args in runs if what == "check the picture's end"]
    checks = [args for what, args in runs if what == "check the output"]
    assert len(tails) == 1, runs  # the upload's, once: ahead, and the check found it remembered
    assert len(checks) == 1 and "-c:v" in checks[0] and checks[0][checks[0].index("-c:v") + 1] == "copy", runs


def test_an_output_whose_picture_is_not_the_upload_s_is_decoded(tmp_path: Path) -> None:
    """The packet comparison is what lets the check skip the decode: told that a damaged output copied a sound
    upload, the check finds other packets and decodes the output itself."""
    damaged = _damaged_tail(tmp_path / "damaged.mp4", 4.0)
    sound = _clip(tmp_path / "sound.mp4", 4.0, 1920, 1080)
    with pytest.raises(Unplayable, match="does not decode"):
        check_playable(damaged, 4.0, copied_from=sound)
    check_playable(sound, 4.0, copied_from=sound)


def test_an_output_that_stops_before_its_upload_s_damage_plays(tmp_path: Path) -> None:
    """The fast path may copy all but the upload's last frame (``-t`` at the draft's length): when only that
    frame is damaged, the upload's end does not decode but the output's does — it is decoded, not refused."""
    upload = _damaged_tail(tmp_path / "upload.mp4", 4.0, last_slices=1)
    with pytest.raises(Unplayable, match="does not decode"):
        check_playable(upload, 4.0)
    output = tmp_path / "output.mp4"
    run(["-i", pathlike(upload), "-map", "0", "-c", "copy", "-frames:v", "119", "-y", pathlike(output)],
        timeout=60, what="copy all but the last frame")
    check_playable(output, 4.0, copied_from=upload)


def test_a_picture_cut_short_is_refused(tmp_path: Path) -> None:
    whole = _clip(tmp_path / "whole.mp4", 4.0)
    check_playable(whole, 4.0)
    cut = tmp_path / "cut.mp4"
    data = whole.read_bytes()
    cut.write_bytes(data[: len(data) * 2 // 3])  # the index up front promises what the data no longer holds
    with pytest.raises(Unplayable, match="stops at|does not decode"):
        check_playable(cut, 4.0)


def test_the_title_s_gop_encode_waits_for_the_soundtrack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The soundtrack's mix and AAC encode are the engine's memory peak; a 1080p decode-overlay-encode beside
    them made the title path's peak (engine + both ffmpegs). The cheap steps (titles drawn, the source split
    by a stream copy, where an uncuttable file is found out) must not wait for it: the soundtrack here is
    "mixed" until the split is done, and the GOP encode must start only once it has returned."""
    clip = _clip(tmp_path / "clip.mp4", 4.0)
    sound = tmp_path / "sound.m4a"
    run(["-f", "lavfi", "-i", "sine=d=4", "-c:a", "aac", "-y", pathlike(sound)], timeout=60, what="make a soundtrack")
    events: list[str] = []
    encodes: list[list[str]] = []
    split = threading.Event()
    real_run = media.smart_render.run

    def run_step(args, **kwargs):  # noqa: ANN001, ANN202
        if kwargs.get("what") == "encode the titled part":
            assert events == ["split", "soundtrack"], events
            encodes.append([str(a) for a in args])
        done = real_run(args, **kwargs)
        if kwargs.get("what") == "split the picture":
            events.append("split")
            split.set()
        return done

    monkeypatch.setattr(media.smart_render, "run", run_step)

    def soundtrack() -> Path:
        assert split.wait(30.0), "the split waited for the soundtrack"  # a deadline only should it regress
        events.append("soundtrack")
        return sound

    draft = {"d": 4000, "m": {"width": 640, "height": 360},
             "t": [{"tt": VIDEO, "sg": [{"src": "v", "st": 0, "d": 4000, "ss": 0}]},
                   {"tt": TEXT, "sg": [{"st": 1000, "d": 1000, "m": {"text": "Launch Day"}}]}]}
    job = RenderJob(draft=draft, sources={"v": Source(str(clip), "video", True, 4.0)}, soundtrack=soundtrack,
                    out=tmp_path / "out.mp4", work_dir=tmp_path / "work")
    render(job, lambda fraction, stage: None)
    assert events == ["split", "soundtrack"] and len(encodes) == 1
    check_playable(job.out, 4.0)
    assert encodes[0][:2] == ["-threads", "1"]  # one decoder thread: frame threads each hold frames of their own


def test_the_analysis_decodes_at_most_four_spans_per_ffmpeg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each input decoding the picture holds its own frames (~15 MB at 1080p): nine spans in one ffmpeg
    made it the fast path's memory peak, and a long video's cuts would have had no bound at all."""
    import engine.analysis.analyze as analysis
    from media.fixtures import VideoSpec, make_video

    spec = VideoSpec(seconds=60, width=640, height=360, audio="none")  # ten cuts: seven spans decoded at once
    clip = make_video(tmp_path / "cuts.mp4", spec)
    runs = _spy(monkeypatch, analysis)
    result = analysis.analyze(clip, picture="fast")
    assert result.scene_cuts == tuple(spec.cut_times())
    inputs = [args.count("-i") for what, args in runs if what.startswith("analyze picture")]
    assert sum(inputs) > 4 and max(inputs) <= 4, inputs


def test_threads_and_arenas_are_sized_to_the_cores_this_process_may_use(monkeypatch: pytest.MonkeyPatch) -> None:
    """A process pinned to two cores of a 64-core machine (taskset, a container's cpuset) ran x264 on 63
    threads and allowed 64 malloc arenas: each thread and arena holds memory of its own."""
    import engine.memory

    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 64)
    args = media.smart_render._encoder_args("high", 40, 1, 15360, True)
    assert args[args.index("-x264-params") + 1].endswith(":threads=1")
    arenas: list[tuple[int, int]] = []

    class Libc:
        def mallopt(self, param: int, value: int) -> None:
            arenas.append((param, value))

    monkeypatch.setattr(engine.memory, "_libc", lambda: Libc())
    engine.memory.share_arenas()
    assert arenas == [(engine.memory.M_ARENA_MAX, 2)]


def test_keyframes_alone_decode_on_one_thread_for_h264_only_where_the_decoder_threads_by_frame(tmp_path, monkeypatch):
    """H.264's (and HEVC's) decoder threads by frame, which keyframes a GOP apart cannot use: one thread is
    quicker. VP9's (and AV1's) also threads inside a frame, so its keyframes keep the decoder's own choice."""
    from engine.analysis import analyze as analysis
    from media.fixtures import VideoSpec, make_video

    for codec, name, one_thread in (("libx264", "h264.mp4", True), ("libvpx-vp9", "vp9.webm", False)):
        spec = VideoSpec(seconds=4, width=320, height=180, audio="none", codec=codec)
        path = make_video(tmp_path / name, spec)
        runs = _spy(monkeypatch, analysis)
        analysis.analyze(path, picture="fast")
        keys = [args for what, args in runs if what.startswith("analyze picture") and "nokey" in args]
        assert keys, f"{name}: the keyframes were not decoded alone"
        threads = keys[0][keys[0].index("-skip_frame") - 2:keys[0].index("-skip_frame")]
        assert (threads == ["-threads", "1"]) is one_thread, (name, keys[0])
