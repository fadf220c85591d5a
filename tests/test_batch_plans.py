"""``ai-music batch --plan`` bookkeeping, fast: the batch loop and the picture rule with a stand-in job.

The job stands in for upload → render → download (it writes bytes) and the fetch for the engine's
picture; what is under test is what the batch decides: what it redoes, what it replaces or
removes, what it records and says. The real thing end to end is in ``test_batch.py``.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from runtime import batch, batch_plans
from runtime.job import NoPicture, write_picture


def _drawn(picture: Path, mine: Path | None) -> Path | NoPicture:
    return write_picture(b"the picture the batch drew", picture, mine)


class Stand:
    """A batch of one video, ``in/a.mp4``, into ``out/``; every run's lines and jobs kept."""

    def __init__(self, root: Path) -> None:
        self.video = root / "in" / "a.mp4"
        self.video.parent.mkdir()
        self.video.write_bytes(b"first cut")
        self.out = root / "out"
        self.jobs = 0
        self.lines: list[str] = []

    def run(self, plans: bool, ends: str = "done") -> batch.Summary:
        def job(item: batch.Item, folder: Path, earlier: batch.Earlier) -> tuple[Path | None, str | None, dict]:
            self.jobs += 1
            if ends == "interrupted":
                raise KeyboardInterrupt
            if ends == "failed":
                return None, "the render failed", {}
            output = earlier.output or folder / "a-music.mp4"
            output.write_bytes(b"music video of " + item.video.read_bytes())
            return output, None, batch_plans.after_video(_drawn if plans else None, output, earlier.picture)

        self.lines = []
        return batch.run_batch([batch.Item(self.video, "calm piano")], self.out, job, self.lines.append, plans)

    def entry(self) -> dict:
        return next(iter(json.loads((self.out / batch.MANIFEST).read_text())["items"].values()))


@pytest.mark.parametrize("ends", ["done", "failed", "interrupted"])
def test_a_video_finished_without_its_picture_is_never_made_again_for_it(tmp_path: Path, ends: str) -> None:
    """Its project is gone: a new one is other music and spends credits, over a finished file. It stays
    done, its line says why there is no picture, the summary how to get a video with one (the batch's
    instruction kept)."""
    stand = Stand(tmp_path)
    stand.run(plans=False)
    made = (stand.out / "a-music.mp4").read_bytes()

    summary = stand.run(plans=True, ends=ends)
    assert stand.jobs == 1 and summary.exit_code == 0
    line = stand.lines[0]
    assert line.startswith("[1/1] a.mp4: done earlier → a-music.mp4; no fit picture: ")
    assert line.endswith("its project was released (made without --plan)") and len(line) < 140
    assert stand.lines[-1].startswith("Batch: 1 of 1 done, 1 from an earlier run, 1 without a fit picture;")
    assert stand.lines[-1].endswith(f"`ai-music run {stand.video} 'calm piano' --plan PLAN.png`")  # said once
    assert stand.entry()["status"] == "done" and (stand.out / "a-music.mp4").read_bytes() == made
    assert not list(stand.out.glob("*.png"))


def test_a_picture_name_someone_else_holds_is_numbered_and_their_file_kept(tmp_path: Path) -> None:
    """The user's own `a-music-plan.png` is never written over, nor is the picture skipped for it: the batch
    draws `a-music-plan-2.png`, and that one is its own to replace when the video is redone."""
    stand = Stand(tmp_path)
    stand.out.mkdir()
    theirs = stand.out / "a-music-plan.png"
    theirs.write_bytes(b"the user's own picture")

    stand.run(plans=True)
    assert "✓ a-music.mp4 + a-music-plan-2.png (" in stand.lines[1] and "already exists" not in stand.lines[1]
    assert stand.entry()["plan"] == {"path": str(stand.out / "a-music-plan-2.png"),
                                     "output": str(stand.out / "a-music.mp4")}
    assert "plan_error" not in stand.entry() and stand.entry()["picture"]["path"].endswith("a-music-plan-2.png")

    stand.video.write_bytes(b"second cut")  # changed input: redone, its own picture replaced, not -plan-3
    stand.run(plans=True)
    assert stand.jobs == 2 and sorted(p.name for p in stand.out.glob("*.png")) == ["a-music-plan-2.png",
                                                                                   "a-music-plan.png"]
    assert theirs.read_bytes() == b"the user's own picture"


@pytest.mark.parametrize("last_with_plan", [False, True])
def test_a_picture_the_batch_removed_is_no_longer_its_own(tmp_path: Path, last_with_plan: bool) -> None:
    """The reviewer's sequence: the batch's picture goes with the video it showed; a file the user puts
    under that name afterwards is theirs, whatever the next run asks for."""
    stand = Stand(tmp_path)
    stand.run(plans=True)
    picture = stand.out / "a-music-plan.png"
    assert picture.read_bytes() == b"the picture the batch drew" and stand.entry()["picture"]["path"] == str(picture)

    stand.video.write_bytes(b"second cut, longer")
    stand.run(plans=False)  # the video is made again: the picture of the old one goes
    assert not picture.exists() and "picture" not in stand.entry() and "plan" not in stand.entry()

    picture.write_bytes(b"the user's own picture")
    stand.video.write_bytes(b"third cut, longer still")
    stand.run(plans=last_with_plan)
    assert stand.jobs == 3 and picture.read_bytes() == b"the user's own picture"
    assert (stand.out / "a-music.mp4").read_bytes() == b"music video of third cut, longer still"


@pytest.mark.parametrize("again_with_plan", [False, True])
def test_a_picture_the_user_replaced_since_is_theirs(tmp_path: Path, again_with_plan: bool) -> None:
    """The batch's picture, overwritten by the user with their own under the same name: no longer the batch's
    to replace or remove when the video is made again."""
    stand = Stand(tmp_path)
    stand.run(plans=True)
    picture = stand.out / "a-music-plan.png"
    picture.write_bytes(b"the user's own, edited picture")
    stand.video.write_bytes(b"second cut, longer")

    stand.run(plans=again_with_plan)
    assert stand.jobs == 2 and picture.read_bytes() == b"the user's own, edited picture"
    held = stand.entry().get("picture")  # with --plan, the new picture is numbered beside theirs
    assert (held["path"] == str(stand.out / "a-music-plan-2.png")) if again_with_plan else held is None


def test_an_old_picture_that_cannot_be_removed_is_said_on_the_items_line(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    stand = Stand(tmp_path)
    stand.run(plans=True)
    picture = stand.out / "a-music-plan.png"
    unlink = Path.unlink

    def refused(path: Path, missing_ok: bool = False) -> None:
        if path == picture:
            raise PermissionError(13, "Permission denied")
        unlink(path, missing_ok=missing_ok)

    monkeypatch.setattr(Path, "unlink", refused)
    stand.video.write_bytes(b"second cut")

    summary = stand.run(plans=False)
    assert summary.exit_code == 0 and stand.entry()["status"] == "done"
    assert "✓ a-music.mp4 (" in stand.lines[1] and stand.lines[1].endswith(
        "; could not remove a-music-plan.png, the picture of the video this one replaced (Permission denied)")
    assert picture.is_file() and stand.entry()["picture"]["path"] == str(picture)  # still the batch's to deal with
