"""kill -9 mid-render (issue 13, high 3): the engine's ffmpeg dies with it, the resumed render
starts from clean files, and a render is completed only if its file plays to the end."""
from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import pytest

from support import Api, serve_engine
from media.verify import check_playable


def _ffmpegs_on(data: Path) -> list[int]:
    """Pids of live ffmpeg processes working in ``data`` (zombies have no command line)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if argv and b"ffmpeg" in os.path.basename(argv[0]) and any(str(data).encode() in a for a in argv):
            found.append(int(entry.name))
    return found


@pytest.fixture(scope="module")
def long_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """20 s of 640x360: upscaled to 1080p with a title it takes seconds to encode, long enough to kill."""
    from media.fixtures import VideoSpec, make_video

    return make_video(tmp_path_factory.mktemp("long") / "long.mp4", VideoSpec(seconds=20, width=640, height=360))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc; PR_SET_PDEATHSIG is Linux's")
def test_a_killed_engine_takes_its_ffmpeg_with_it_and_the_resumed_render_plays(tmp_path: Path,
                                                                                long_clip: Path) -> None:
    data = tmp_path / "engine"
    engine, url = serve_engine("--data", str(data), "--test-api")
    orphans: list[int] = []
    try:
        api = Api(url).login()
        api.upload(long_clip)
        api.chat('add a title "Survivor"')
        draft = api.state()["draft"]
        api.post("/api/render/proxy/lambda", json={"id": "render_cut", "sessionId": api.session_id, "draft": draft})
        deadline = time.monotonic() + 120
        while not [p for p in _ffmpegs_on(data) if b"libx264" in Path(f"/proc/{p}/cmdline").read_bytes()]:
            assert time.monotonic() < deadline, "the render never started encoding"
            assert api.get("/api/render/proxy/lambda/render_cut").json()["data"]["status"] != "completed"
            time.sleep(0.02)
    finally:
        engine.send_signal(signal.SIGKILL)
        engine.wait()
    try:
        deadline = time.monotonic() + 2.0  # the kernel kills them at once; an orphan would encode for seconds
        while (orphans := _ffmpegs_on(data)) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert orphans == [], "ffmpeg outlived the engine that started it"
    finally:
        for pid in orphans:  # the old behaviour: stop the orphans this test caused
            os.kill(pid, signal.SIGKILL)
    engine, url = serve_engine("--data", str(data), "--test-api")
    moved = Api(url)
    moved.token, moved.session_id = api.token, api.session_id
    try:
        resumed = moved.wait("render_cut", ("completed", "failed"), timeout=180)
        assert resumed["status"] == "completed", resumed
        out = tmp_path / "out.mp4"
        out.write_bytes(moved.get("/api/render/proxy/render_cut/download").content)
        check_playable(out, int(draft["d"]) / 1000)  # whole, to its last packet
        assert not list((data / "renders").glob("*.work"))  # no try's leftovers
    finally:
        engine.terminate()
        engine.wait(10)


def test_a_render_whose_file_does_not_play_to_the_end_is_failed(api: Api, clip: Path, monkeypatch) -> None:
    import engine.export.executor as renders  # the in-process executor's render

    real = renders.render

    def cut_short(job, progress):  # noqa: ANN001, ANN202 - the disk or a second writer damaged the file
        out = real(job, progress)
        data = out.read_bytes()
        out.write_bytes(data[: len(data) * 3 // 5])
        return out

    monkeypatch.setattr(renders, "render", cut_short)
    api.upload(clip)
    api.chat('add a title "Broken"')
    result = api.render("render_damaged")
    assert result["status"] == "failed" and "damaged" in result["error"], result
    assert "outputUrl" not in result
    assert api.get("/api/render/proxy/render_damaged/download").status_code == 409


def test_resuming_a_render_removes_what_earlier_tries_left(tmp_path: Path) -> None:
    from engine.export.render_attempts import clear_unfinished, end_attempt, new_attempt

    renders = tmp_path / "renders"
    first, second = new_attempt(renders, "r1"), new_attempt(renders, "r1")
    assert first != second                                   # two tries never share a temp name
    (first / "output.mp4").write_bytes(b"half")
    (renders / "r1.mp4").write_bytes(b"never marked completed")
    (renders / ".r1.mp4.part.mp4").write_bytes(b"an older engine's temp name")
    (renders / "r10.mp4").write_bytes(b"another render")
    clear_unfinished(renders, "r1")
    assert sorted(p.name for p in renders.iterdir()) == ["r10.mp4"]
    third = new_attempt(renders, "r1")
    end_attempt(third)
    assert not (renders / "r1.work").exists()


def test_an_output_whose_sound_stops_seconds_before_its_picture_does_not_pass(tmp_path: Path) -> None:
    from media.ffmpeg import pathlike, run
    from media.verify import Unplayable

    def make(name: str, sound_s: float) -> Path:
        out = tmp_path / name
        run(["-f", "lavfi", "-i", "testsrc2=s=320x180:r=30:d=4", "-f", "lavfi", "-i", f"sine=f=220:d={sound_s}",
             "-c:v", "libx264", "-preset", "ultrafast", "-g", "60", "-c:a", "aac", "-y", pathlike(out)],
            timeout=60, what="make a clip")
        return out

    check_playable(make("whole.mp4", 4), 4)  # picture and sound to the end
    with pytest.raises(Unplayable, match="its end is missing"):  # the sound is gone for the last 2 s
        check_playable(make("mute_end.mp4", 2), 4)


def test_a_slow_frame_rate_output_that_plays_to_its_end_passes(tmp_path: Path) -> None:
    """A slideshow or timelapse at one frame a second: its last frame starts before the decoded
    tail and lasts to the end — the output is whole and must not be deleted as broken."""
    from media.ffmpeg import pathlike, run

    out = tmp_path / "slides.mp4"
    run(["-f", "lavfi", "-i", "testsrc2=s=320x180:r=1:d=3", "-f", "lavfi", "-i", "sine=f=220:d=3",
         "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-shortest", "-y", pathlike(out)],
        timeout=60, what="make a clip")
    check_playable(out, 3)
