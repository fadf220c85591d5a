"""What a short render costs and gives: a few seconds of 1080p with a title (issue 13, medium 5).

Five users' 3 s renders share two cores, so everything around the encode counts: a title is
blended only where it is (not by turning every frame into RGB and back), and the picture it
sits on is what the clip looks like without it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from engine.export.graph import RenderJob, _full_graph
from engine.export.mix import Source
from media.ffmpeg import run
from media.probe import probe

pytestmark = pytest.mark.slow  # runs ffmpeg on real frames

SMALL = (480, 270)  # the canvas: small keeps the raw frames cheap; the graph is the same at 1080p


def _draft(title: dict[str, Any] | None, seconds: int = 3) -> dict[str, Any]:
    tracks: list[dict[str, Any]] = [
        {"id": "video", "tt": 0, "sg": [{"id": "v0", "st": 0, "d": seconds * 1000, "ss": 0, "src": "clip"}]}
    ]
    if title is not None:
        tracks.append({"id": "titles", "tt": 7, "sg": [title]})
    return {"d": seconds * 1000, "m": {"width": SMALL[0], "height": SMALL[1]}, "t": tracks}


def _frames(clip: Path, draft: dict[str, Any], work: Path) -> np.ndarray:
    """The picture the encoder would be given, as raw YUV 4:2:0 frames (frames × bytes)."""
    job = RenderJob(
        draft=draft,
        sources={"clip": Source(str(clip), "video", True, 6.0)},
        soundtrack=lambda: work / "unused.m4a",
        out=work / "out.mp4",
        work_dir=work,
    )
    work.mkdir(parents=True, exist_ok=True)
    args = _full_graph(job, None, probe)
    args = args[: args.index("-c:v")]  # the inputs and the graph, not the encoder
    raw = run([*args, "-f", "rawvideo", "-pix_fmt", "yuv420p", "-"], timeout=120, what="run the graph").stdout
    size = SMALL[0] * SMALL[1] * 3 // 2
    return np.frombuffer(raw, dtype=np.uint8).reshape(-1, size)


def test_a_title_changes_only_the_pixels_it_covers(clip: Path, tmp_path: Path) -> None:
    title = {"id": "t", "st": 1000, "d": 1000, "m": {"text": "Short", "position": "center"}}
    plain = _frames(clip, _draft(None), tmp_path / "plain")
    titled = _frames(clip, _draft(title), tmp_path / "titled")
    assert plain.shape == titled.shape and len(plain) == 90  # 3 s at 30 fps
    changed = plain != titled
    # before and after the title's second, every frame is the clip's own, bit for bit
    assert not changed[:27].any() and not changed[63:].any()
    # while it shows, the title is there — and the rest of the frame is untouched
    luma = SMALL[0] * SMALL[1]
    middle = changed[45, :luma].reshape(SMALL[1], SMALL[0])
    assert middle.any()
    rows, cols = np.nonzero(middle)
    assert rows.min() > SMALL[1] // 4 and rows.max() < SMALL[1] * 3 // 4  # a centred title's band
    assert middle.mean() < 0.25


def _frame_luma(path: Path, at: float) -> np.ndarray:
    raw = run(
        ["-ss", f"{at}", "-i", str(path), "-frames:v", "1", "-vf", "format=gray", "-f", "rawvideo", "-"],
        timeout=60,
        what="read a frame",
    ).stdout
    return np.frombuffer(raw, dtype=np.uint8).astype(int)


@pytest.mark.parametrize("sound", ["ready", "still mixing"])
def test_a_short_render_plays_with_its_sound_and_shows_its_title_in_its_span(
    clip: Path, tmp_path: Path, sound: str
) -> None:
    """Whether its soundtrack was prepared before it started (picture and sound in one ffmpeg) or is
    finished while the picture encodes (then muxed), a 3 s render is a whole MP4 with both."""
    import threading

    from engine.export.graph import render
    from media.verify import check_playable

    soundtrack = tmp_path / "sound.m4a"
    run(["-f", "lavfi", "-i", "sine=f=330:d=3", "-c:a", "aac", "-y", str(soundtrack)], timeout=60, what="make a sound")
    encoding = threading.Event()

    def sound_of() -> Path:
        if sound == "still mixing":
            assert encoding.wait(60)  # ready only once the picture is being encoded
        return soundtrack

    def progress(_fraction: float, stage: str) -> None:
        if stage == "encoding video":
            encoding.set()

    title = {"id": "t", "st": 1000, "d": 1000, "m": {"text": "Short", "position": "center"}}
    draft = {**_draft(title), "m": {"width": 1920, "height": 1080}}
    job = RenderJob(
        draft=draft,
        sources={"clip": Source(str(clip), "video", True, 6.0)},
        soundtrack=sound_of,
        out=tmp_path / "out.mp4",
        work_dir=tmp_path / "work",
    )
    out = render(job, progress)
    check_playable(out, 3.0)
    info = probe(out)
    assert info.video is not None and (info.video.width, info.video.height) == (1920, 1080)
    assert info.audio is not None and info.audio.codec == "aac"
    before, during, after = (_frame_luma(out, at) for at in (0.5, 1.5, 2.5))
    clean = np.abs(before - after).mean()  # the clip itself changes a little between frames
    assert np.abs(during - before).mean() > clean + 0.5 and np.abs(during - after).mean() > clean + 0.5


def test_the_title_style_is_judged_on_the_picture_at_each_moment_it_shows(clip: Path) -> None:
    """The three looks at the picture under a title are the frames at those moments,
    in order, laid out as the render lays them out; a gap in the picture is black."""
    from engine.export.backdrop import MOMENTS, picture_under

    segments = [{"st": 0, "d": 2000, "ss": 0, "src": "clip"}, {"st": 2500, "d": 3000, "ss": 3000, "src": "clip"}]
    sources = {"clip": Source(str(clip), "video", True, 6.0)}
    frames = picture_under(segments, sources, probe, 0.0, 3.0, 640, 360)  # moments at 0.45, 1.5 and 2.55 s
    assert [f.shape for f in frames] == [(90, 160)] * 3
    assert frames[2].mean() > 16  # 2.55 s on the timeline is 3.05 s into the clip, not the gap before it
    for frame, at in zip(frames, (0.45, 1.5, 3.05)):
        raw = run(
            [
                "-ss",
                f"{at:.3f}",
                "-i",
                str(clip),
                "-frames:v",
                "1",
                "-vf",
                "scale=160:90:force_original_aspect_ratio=decrease,pad=160:90:(ow-iw)/2:(oh-ih)/2:color=black,"
                "setsar=1,format=gray",
                "-f",
                "rawvideo",
                "-",
            ],
            timeout=60,
            what="read a frame",
        ).stdout
        assert np.array_equal(frame, np.frombuffer(raw, dtype=np.uint8).reshape(90, 160))
    gap = picture_under(segments, sources, probe, 2.0, 2.5, 640, 360)  # all three moments fall in the gap
    assert len(gap) == len(MOMENTS) and all((f == 16).all() for f in gap)


def test_a_smart_render_judges_the_title_on_keyframes_inside_its_span(clip: Path) -> None:
    """Where the keyframes are known (a file the smart render can cut), each look at the picture
    under a title takes the keyframe inside the title's span nearest its moment — a one-frame
    decode instead of the GOP's run-up (0.6 → 0.25 CPU s on a 1080p title) — and never one
    outside the span."""
    from engine.export.backdrop import picture_under
    from media.smart_render import cuttable, keyframe_times

    keyframes = keyframe_times(cuttable(clip))
    assert keyframes[:3] == [0.0, 2.0, 4.0]  # 2 s GOPs, the cut at 4 s on one of them
    segments = [{"st": 0, "d": 6000, "ss": 0, "src": "clip"}]
    sources = {"clip": Source(str(clip), "video", True, 6.0)}
    snapped = picture_under(segments, sources, probe, 1.5, 4.5, 640, 360, keyframes)  # moments 1.95, 3.0, 4.05
    at_2, at_4 = (picture_under(segments, sources, probe, t, t, 640, 360)[0] for t in (2.0, 4.0))  # exact looks
    assert len(snapped) == 3
    assert np.array_equal(snapped[0], at_2) and np.array_equal(snapped[1], at_2) and np.array_equal(snapped[2], at_4)
    assert not np.array_equal(at_2, at_4)  # the two scenes differ: each look landed on its own keyframe
    # the keyframe at 0 s is before this span: every moment is looked at where it is
    early = picture_under(segments, sources, probe, 0.5, 1.9, 640, 360, keyframes)
    assert all(np.array_equal(a, b) for a, b in zip(early, picture_under(segments, sources, probe, 0.5, 1.9, 640, 360)))
