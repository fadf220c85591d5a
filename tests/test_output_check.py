"""The output check (one ffmpeg: summary and tail decode together) passes whole files, short ones included,
and refuses a file without its index, one whose data stops early, and one of the wrong length."""
from __future__ import annotations

from pathlib import Path

import pytest

from media.ffmpeg import run
from media.verify import Unplayable, check_playable


def _make(path: Path, seconds: float, faststart: bool = True, title: str | None = None) -> Path:
    run(["-f", "lavfi", "-i", f"testsrc2=s=320x240:r=30:d={seconds}", "-f", "lavfi", "-i", f"sine=d={seconds}",
         "-c:v", "libx264", "-preset", "ultrafast", "-g", "30", "-c:a", "aac", "-shortest",
         *(["-metadata", f"title={title}"] if title else []),
         *(["-movflags", "+faststart"] if faststart else []), "-y", str(path)], timeout=60, what="make a clip")
    return path


def test_whole_outputs_pass_a_short_one_too(tmp_path: Path) -> None:
    check_playable(_make(tmp_path / "whole.mp4", 4.0), 4.0)
    check_playable(_make(tmp_path / "short.mp4", 0.5), 0.5)  # shorter than the tail: decoded whole, no error


def test_damaged_or_wrong_outputs_are_refused(tmp_path: Path) -> None:
    whole = _make(tmp_path / "whole.mp4", 4.0)
    data = whole.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) * 2 // 3])  # the index up front promises what the data no longer holds
    no_index = tmp_path / "no-index.mp4"
    no_index.write_bytes(_make(tmp_path / "late-index.mp4", 4.0, faststart=False).read_bytes()[:-2000])
    with pytest.raises(Unplayable, match="stops at|does not decode"):
        check_playable(cut, 4.0)
    with pytest.raises(Unplayable, match="cannot be read"):
        check_playable(no_index, 4.0)
    with pytest.raises(Unplayable, match="lasts 4.00 s instead of 9.00 s"):
        check_playable(whole, 9.0)


def test_an_input_title_that_reads_like_ffmpeg_messages_fools_neither_way(tmp_path: Path) -> None:
    """The fast path copies the upload's metadata: a title's second line that looks like an error (or like a
    duration) is the user's text, printed untagged under the tagged line — not a message of ffmpeg's."""
    check_playable(_make(tmp_path / "error.mp4", 2.0, title="line one\n[error] line two"), 2.0)
    check_playable(_make(tmp_path / "duration.mp4", 2.0, title="x\nDuration: 00:00:09.00, start: 0.0"), 2.0)
