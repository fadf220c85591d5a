"""Each try at a render writes only its own files, and a resumed render starts from none.

After a ``kill -9`` an ffmpeg of the dead engine may still be writing (where the kernel
cannot kill it with us, see ``media.children``); if the next try used the same temp names,
two encoders would write one file and the result would be a corrupt MP4. So every attempt
works in its own folder, ``renders/<id>.work/<attempt>/`` (the output is written there and
renamed into place when whole), and resuming a render first removes everything earlier
attempts left: their folders, any output never marked completed, and temp files of the
naming older engines used.
"""
from __future__ import annotations

import secrets
import shutil
from pathlib import Path

OUTPUT_SUFFIXES = (".mp4", ".wav", ".mp3", ".zip")


def new_attempt(renders: Path, render_id: str) -> Path:
    """A fresh, empty work folder for one try of ``render_id``."""
    work = renders / f"{render_id}.work" / secrets.token_hex(6)
    work.mkdir(parents=True)
    return work


def end_attempt(work: Path) -> None:
    """Remove the attempt's folder, and the render's work folder once no attempt is left in it."""
    shutil.rmtree(work, ignore_errors=True)
    try:
        work.parent.rmdir()
    except OSError:
        pass  # another attempt still works there, or it is gone already


def clear_unfinished(renders: Path, render_id: str) -> None:
    """Everything earlier tries of an unfinished render left behind (called before resuming it)."""
    shutil.rmtree(renders / f"{render_id}.work", ignore_errors=True)
    for suffix in OUTPUT_SUFFIXES:
        (renders / f"{render_id}{suffix}").unlink(missing_ok=True)
    for stale in renders.glob(f".{render_id}.*.part*"):
        stale.unlink(missing_ok=True)
