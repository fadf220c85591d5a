"""Paths typed or dropped into the REPL: each one is attached, or one line says why not."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from runtime import typed_paths

EXTENSIONS = ("mp4", "mov", "png", "mp3")


@pytest.fixture
def videos(clip: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``My Videos/demo (1).mp4`` and ``demo.mp4``, in the current directory."""
    folder = tmp_path / "My Videos"
    folder.mkdir()
    shutil.copy(clip, folder / "demo (1).mp4")
    shutil.copy(clip, tmp_path / "demo.mp4")
    monkeypatch.chdir(tmp_path)
    return folder / "demo (1).mp4"


@pytest.mark.parametrize("typed", [
    "'{p}' add music",                           # GNOME/VS Code: quoted
    "{escaped} add music",                       # macOS Terminal, iTerm: backslash-escaped
    "{p} add music",                             # typed, spaces and all
    "file://{url} add music",                    # some file managers
])
def test_a_dropped_path_is_one_file_and_the_rest_is_the_message(videos: Path, typed: str) -> None:
    from urllib.parse import quote

    escaped = str(videos).replace(" ", "\\ ").replace("(", "\\(").replace(")", "\\)")
    line = typed.format(p=videos, escaped=escaped, url=quote(str(videos)))
    found = typed_paths.find(line, EXTENSIONS)
    assert found.files == [str(videos)] and found.problems == [] and found.rest == "add music"


@pytest.mark.parametrize("typed, problem", [
    ("dmeo.mp4 add music", "dmeo.mp4: no such file — did you mean demo.mp4?"),
    ("demo.mpp add music", "demo.mpp: no such file — did you mean demo.mp4?"),
    ("My Videos add music", None),                                   # no path-looking word: just a message
    ("./My Videos/demo (2).mp4 add music", "./My Videos/demo (2).mp4: no such file — did you mean "
                                           "My Videos/demo (1).mp4?"),
    ("./My\\ Videos", "./My Videos is a folder; send a video, image or audio file"),
])
def test_a_path_that_is_not_a_file_is_one_line_saying_why(videos: Path, typed: str, problem: str | None) -> None:
    found = typed_paths.find(typed, EXTENSIONS)
    assert found.files == []
    assert found.problems == ([problem] if problem else [])


def test_words_that_only_look_a_bit_like_paths_are_a_message(videos: Path) -> None:
    for line in ("make it 50/50", "add a title 'Intro.mp4'", "use the lo-fi/chill style", "visit example.com",
                 "go to /status"):
        found = typed_paths.find(line, EXTENSIONS)
        assert (found.files, found.problems, found.rest) == ([], [], line)
