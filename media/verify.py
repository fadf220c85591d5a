"""Does a finished output play to its end? A cheap check before a render is called completed.

A render killed mid-write, or written by two ffmpegs at once, can leave a file whose header
promises more than its data holds; a client would download it as if it were fine. Reading
the container's duration and decoding its last moments (every stream must reach the end)
catches both. The decoder starts at the keyframe before them, so the cost is about one GOP
whatever the length: 30 frames of 1080p for a 3 s render, where a 1.5 s tail decoded all 90
and cost a quarter of the render's CPU.

A picture the fast path copied packet for packet from the upload is decoded too: the upload's
checks (probe, duration) read packets only, so this is the only decode of that picture before a
client gets it — an upload whose slices are damaged must not come out as a completed render.
"""
from __future__ import annotations

import re
import zipfile
from fractions import Fraction
from pathlib import Path

from media.ffmpeg import FFmpegError, pathlike, run
from media.probe import ProbeError, parse_probe

TAIL_S = 0.8  # past END_SLACK_S: a stream that reaches its allowed end has frames in it
END_SLACK_S = 0.5  # a stream may end this much before the container says (audio frames, rounding)


class Unplayable(Exception):
    """The output does not decode to its end; ``str()`` says why in one line."""


def check_playable(path: Path, expected_s: float | None = None, *, timeout: float = 60.0) -> None:
    """Raise :class:`Unplayable` unless ``path`` has a duration (near ``expected_s``) and its last packets decode.

    One ffmpeg reads the summary (duration) and decodes the tail: a separate probe was a second process
    start on the render's critical path (the finish waits for this check), a tenth of a second and more
    on a busy machine. Its messages carry their level, so the summary and the errors are told apart."""
    if path.suffix.lower() == ".zip":
        _check_zip(path)
        return
    try:
        # from the keyframe before the tail, not cut at it: a slow stream's last frame starts before the tail
        # (an output shorter than the tail: ffmpeg warns that the seek is before the start, and decodes it all)
        # one decoding thread: frame threads each hold frames of their own and, for one GOP, buy no time on a
        # busy machine (a 1080p tail: 115 → 99 MB, 0.17 → 0.15 CPU-s, 0.22 → 0.16 s wall at load 4.5)
        proc = run(["-loglevel", "level+info", "-threads", "1", "-sseof", f"-{TAIL_S:.3f}", "-noaccurate_seek",
                    "-i", pathlike(path), "-map", "0", "-copyts", "-f", "framecrc", "-"],
                   timeout=timeout, what="check the output", check=False)
    except FFmpegError:
        raise Unplayable("the output could not be read in time") from None
    summary, errors = _messages(proc.stderr.decode("utf-8", "replace"))
    try:
        info = parse_probe(str(path), summary)
    except ProbeError:
        raise Unplayable("the output cannot be read") from None
    duration = info.duration_s
    if not duration or duration <= 0:
        raise Unplayable("the output has no duration")
    if expected_s and abs(duration - expected_s) > max(0.5, 0.02 * expected_s):
        raise Unplayable(f"the output lasts {duration:.2f} s instead of {expected_s:.2f} s")
    if proc.returncode != 0 or errors:
        raise Unplayable("the end of the output does not decode")
    ends = stream_ends(proc.stdout.decode("ascii", "replace"))
    short = [i for i, end in ends.items() if end < duration - END_SLACK_S]
    if not ends or short:
        reached = min(ends.values(), default=0.0)
        raise Unplayable(f"the output stops at {reached:.2f} s of its {duration:.2f} s (its end is missing)")


# a message's level tag, after the tags of the contexts that logged it ("[h264 @ 0x55d…] [error] …"); only at the
# start of a line: a line without it continues the message before (a multi-line title of the input, say), and
# text inside it that looks like a tag is the input's, not ffmpeg's
_LEVEL = re.compile(r"^(?:\[[^\]\n]* @ 0x[0-9a-fA-F]+\] )*\[(trace|debug|verbose|info|warning|error|fatal|panic)\] ")


def _messages(stderr: str) -> tuple[str, list[str]]:
    """ffmpeg's ``level+info`` log → (the input's summary as ``ffmpeg -i`` prints it, the error lines)."""
    summary: list[str] = []
    errors: list[str] = []
    reading = True  # the input's summary; it ends where the output's begins (its streams would read as ours)
    for line in stderr.splitlines():
        level = _LEVEL.match(line)
        if level is None:
            continue
        if level.group(1) in ("error", "fatal", "panic"):
            errors.append(line)
        elif level.group(1) == "info" and reading:
            text = line[level.end():]
            reading = not text.startswith(("Stream mapping:", "Output #"))
            if reading and level.start(1) == 1:  # its own line, not a context's (a stream's decoder)
                summary.append(text)
    return "\n".join(summary), errors


def stream_ends(framecrc: str) -> dict[int, float]:
    """Per stream, where its last decoded frame ends (seconds), from ffmpeg's ``framecrc`` listing;
    0 for a stream with no frame in it (it ended before the part decoded)."""
    bases: dict[int, Fraction] = {}
    ends: dict[int, float] = {}
    for line in framecrc.splitlines():
        if line.startswith("#tb "):
            index, _, base = line[4:].partition(":")
            bases[int(index)] = Fraction(base.strip())
            ends.setdefault(int(index), 0.0)
        elif line and not line.startswith("#"):
            fields = [f.strip() for f in line.split(",")]
            index, pts, length = int(fields[0]), int(fields[2]), int(fields[3])
            ends[index] = max(ends.get(index, 0.0), float((pts + length) * bases.get(index, Fraction(1))))
    return ends


def _check_zip(path: Path) -> None:
    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
    except (zipfile.BadZipFile, OSError):
        raise Unplayable("the output archive is damaged") from None
    if bad is not None:
        raise Unplayable(f"the output archive is damaged ({bad} does not read)")
