"""Find and run the ffmpeg binary bundled by imageio-ffmpeg.

Why a wrapper: every caller needs the same three things — the binary's path without a
system install, a hard timeout so a hostile file can't hang us, and an error that names
the file and ffmpeg's own last words instead of a 200-line stderr dump.
"""
from __future__ import annotations

import functools
import os
import subprocess
import threading
from pathlib import Path
from typing import Sequence

from media import children


class FFmpegError(RuntimeError):
    """ffmpeg failed or timed out; ``str()`` is one line fit for a user."""


def ffmpeg_exe() -> str:
    """Path of the ffmpeg to use: ``AI_MUSIC_FFMPEG`` if set, else imageio-ffmpeg's. imageio-ffmpeg runs the
    binary once to check it (0.1 s on a busy machine): threads asking at once wait for that one check (the
    engine's warm-up asks first, the first upload's probe soon after)."""
    with _finding:
        return _ffmpeg_exe()


_finding = threading.Lock()


@functools.cache
def _ffmpeg_exe() -> str:
    override = os.environ.get("AI_MUSIC_FFMPEG")
    if override:
        return override
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def last_line(stderr: str) -> str:
    """The last meaningful line ffmpeg printed (its actual complaint)."""
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
    return lines[-1] if lines else "no output"


def run(
    args: Sequence[str | os.PathLike[str]],
    *,
    timeout: float,
    what: str,
    check: bool = True,
    stdin: bytes | None = None,
) -> subprocess.CompletedProcess[bytes]:
    """Run ``ffmpeg -hide_banner -nostdin ARGS``; raise :class:`FFmpegError` on failure.

    ``what`` names the job for the error message ("probe demo.mp4").
    """
    cmd = [ffmpeg_exe(), "-hide_banner", *(["-nostdin"] if stdin is None else []), *map(str, args)]
    try:
        proc = subprocess.run(
            cmd, input=stdin, capture_output=True, timeout=timeout, check=False, **children.options()
        )
    except subprocess.TimeoutExpired as exc:
        raise FFmpegError(f"{what}: ffmpeg took longer than {timeout:g}s and was stopped") from exc
    if check and proc.returncode != 0:
        err = proc.stderr.decode("utf-8", "replace")
        raise FFmpegError(f"{what}: {last_line(err)}")
    return proc


def pathlike(path: str | os.PathLike[str]) -> str:
    """A path ffmpeg will not mistake for a protocol or option (``-x.mp4``, ``a:b.mp4``)."""
    p = Path(path)
    return str(p if p.is_absolute() else Path.cwd() / p)
