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
That decode need not wait for the render, though: :func:`picture_tail` decodes the upload's tail
while the soundtrack is still being mixed (one GOP: 0.1 s for a screen recording, 0.5 s for a
camera's 64-frame GOP), and the output's own check then lists its picture's packets without
decoding them — when they are, byte for byte and with the same parameter sets, a run of the
upload's tail and that tail decodes, that decode stands for theirs; when not (a titled GOP
re-encoded at the end, an upload damaged at its end, any doubt), the output is decoded as before.
"""
from __future__ import annotations

import os
import re
import threading
import zipfile
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from media.ffmpeg import FFmpegError, pathlike, run
from media.one_read import OneRead
from media.probe import ProbeError, Version, file_version, parse_probe

TAIL_S = 0.8  # past END_SLACK_S: a stream that reaches its allowed end has frames in it
END_SLACK_S = 0.5  # a stream may end this much before the container says (audio frames, rounding)


class Unplayable(Exception):
    """The output does not decode to its end; ``str()`` says why in one line."""


def check_playable(path: Path, expected_s: float | None = None, *, timeout: float = 60.0,
                   copied_from: str | os.PathLike[str] | None = None) -> None:
    """Raise :class:`Unplayable` unless ``path`` has a duration (near ``expected_s``) and its last packets decode.

    One ffmpeg reads the summary (duration) and decodes the tail: a separate probe was a second process
    start on the render's critical path (the finish waits for this check), a tenth of a second and more
    on a busy machine. Its messages carry their level, so the summary and the errors are told apart.
    ``copied_from``: the file whose picture the output may have copied (the fast path's upload): the
    output's picture is then listed, not decoded, and compared with that file's checked tail (module doc);
    when it is not that tail, or that tail does not decode, a second run decodes the output as above."""
    if path.suffix.lower() == ".zip":
        _check_zip(path)
        return
    # from the keyframe before the tail, not cut at it: a slow stream's last frame starts before the tail
    # (an output shorter than the tail: ffmpeg warns that the seek is before the start, and decodes it all)
    # one decoding thread: frame threads each hold frames of their own and, for one GOP, buy no time on a
    # busy machine (a 1080p tail: 115 → 99 MB, 0.17 → 0.15 CPU-s, 0.22 → 0.16 s wall at load 4.5)
    listed = ["-c:v", "copy"] if copied_from is not None else []
    try:
        proc = run(["-loglevel", "level+info", "-threads", "1", "-sseof", f"-{TAIL_S:.3f}", "-noaccurate_seek",
                    "-i", pathlike(path), "-map", "0", *listed, "-copyts", "-f", "framecrc", "-"],
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
    framecrc = proc.stdout.decode("ascii", "replace")
    if copied_from is not None:
        source = picture_tail(copied_from, timeout=timeout)
        # not the upload's packets, or the upload's end does not decode (the output may stop before the damage,
        # a frame short where -t cut it), or it could not be read: the output is decoded after all
        if source is None or not source.decodes or not picture_listing(framecrc).within(source.listing):
            check_playable(path, expected_s, timeout=timeout)
            return
    ends = stream_ends(framecrc)
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


Packet = tuple[int, str]  # a packet's size and its Adler-32, as ffmpeg's framecrc lists it


@dataclass(frozen=True)
class PictureListing:
    """The first video stream of a framecrc listing: its codec set-up (extradata: the H.264 parameter sets,
    as size and checksum) and its packets."""

    extradata: str | None
    packets: tuple[Packet, ...]

    def within(self, source: PictureListing) -> bool:
        """Whether this picture is a run of ``source``'s, set up the same: at least one packet, in order and back
        to back — the output's tail is the upload's, perhaps a packet short where ``-t`` cut it."""
        if not self.packets or self.extradata != source.extradata or len(self.packets) > len(source.packets):
            return False
        width, first = len(self.packets), self.packets[0]
        return any(source.packets[i:i + width] == self.packets
                   for i in range(len(source.packets) - width + 1) if source.packets[i] == first)


@dataclass(frozen=True)
class PictureTail:
    """The end of a file's picture from the keyframe before its tail on, listed, and whether it decodes."""

    listing: PictureListing
    decodes: bool


def picture_tail(path: str | os.PathLike[str], *, timeout: float = 60.0) -> PictureTail | None:
    """List and decode the end of ``path``'s picture, as the output check would (one ffmpeg: the packets
    copied to a listing, the same packets decoded to nowhere); None when that could not be done (the file is
    gone, or ffmpeg ran out of time: the output is then decoded itself). Remembered per file version when it
    decodes, and threads asking at once wait for one read (``media.one_read``): the engine asks
    ahead, while a render's soundtrack is mixed, and the render's check asks again."""
    try:
        key = (os.fspath(path), file_version(path))
    except OSError:
        return None
    with _tails.of(key):
        with _decoded_lock:
            known = _decoded.get(key)
        if known is not None:
            return known
        found = _picture_tail(key[0], timeout)
        if found is not None and found.decodes:  # a failure is not kept: a retry reads the file again
            with _decoded_lock:
                _decoded[key] = found
                while len(_decoded) > TAILS_KEPT:
                    _decoded.pop(next(iter(_decoded)))
        return found


TAILS_KEPT = 16  # a GOP's listing each: a few hundred kB for a long-GOP screen recording
_decoded: dict[tuple[str, Version], PictureTail] = {}
_decoded_lock = threading.Lock()
_tails = OneRead()


def _picture_tail(path: str, timeout: float) -> PictureTail | None:
    try:
        proc = run(["-loglevel", "level+info", "-threads", "1", "-sseof", f"-{TAIL_S:.3f}", "-noaccurate_seek",
                    "-i", pathlike(path), "-map", "0:V:0", "-c", "copy", "-f", "framecrc", "pipe:1",
                    "-map", "0:V:0", "-f", "null", "-"], timeout=timeout, what="check the picture's end", check=False)
    except FFmpegError:
        return None
    _, errors = _messages(proc.stderr.decode("utf-8", "replace"))
    return PictureTail(picture_listing(proc.stdout.decode("ascii", "replace")), proc.returncode == 0 and not errors)


def picture_listing(framecrc: str) -> PictureListing:
    """The first video stream's extradata and packets in a framecrc listing of copied packets."""
    video: int | None = None
    extradata: dict[int, str] = {}
    packets: list[Packet] = []
    for line in framecrc.splitlines():
        if line.startswith("#extradata "):
            index, _, value = line[len("#extradata "):].partition(":")
            extradata[int(index)] = " ".join(value.split())
        elif line.startswith("#media_type ") and video is None:
            index, _, kind = line[len("#media_type "):].partition(":")
            if kind.strip() == "video":
                video = int(index)
        elif line and not line.startswith("#") and video is not None:
            fields = [f.strip() for f in line.split(",")]
            if int(fields[0]) == video:
                packets.append((int(fields[4]), fields[5]))
    return PictureListing(extradata.get(video) if video is not None else None, tuple(packets))


def _check_zip(path: Path) -> None:
    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
    except (zipfile.BadZipFile, OSError):
        raise Unplayable("the output archive is damaged") from None
    if bad is not None:
        raise Unplayable(f"the output archive is damaged ({bad} does not read)")
