"""The soundtrack's AAC: ffmpeg's encoder fed 16-bit PCM through pipes, a long one in two halves at once.

ffmpeg's AAC encoder is single-threaded: a minute takes ~0.45 s, on the fast path's critical
path (issue 16), while a second core often idles. A long soundtrack is therefore encoded
by two ffmpegs at once, each on one half, into raw ADTS frames that are spliced and muxed:

* the seam M is a whole number of 1024-sample frames near the middle. The head encoder gets
  samples [0, M + POSTROLL_FRAMES·1024) and we keep its first M/1024 frames; the tail encoder
  gets [M - PREROLL_FRAMES·1024, N) and we drop its first PREROLL_FRAMES frames. Both see the
  same samples around the seam, so their MDCT windows overlap-add there as one encoder's do.
* ADTS carries no encoder delay, so the mux shifts the timestamps back by the 1024 priming
  samples and shortens the last packet to end at N: the mp4's edit list then makes the
  decode sample-aligned with the input and exactly N long, as a single encode's is.

The splice's mux leans on ffmpeg's ``setts`` filter, checked on the bundled ffmpeg only: should
the halves fail in any way, or their file not last exactly N samples (another ffmpeg through
``AI_MUSIC_FFMPEG`` reading ``setts``' options otherwise), the soundtrack is encoded again by one
encoder, and the log says why.
"""
from __future__ import annotations

import shutil
import subprocess
import tempfile
import threading
from concurrent.futures import Future, ThreadPoolExecutor
import contextlib
import logging
from pathlib import Path
from typing import IO, Any, Callable, Iterator

from media import children
from media.cores import usable_cpus
from media.audio import s16_blocks
from media.ffmpeg import FFmpegError, ffmpeg_exe, last_line, pathlike
from media.probe import ProbeError, probe

AUDIO_BITRATE = "192k"
ENCODE_TIMEOUT_S = 600.0
FRAME = 1024            # samples per AAC frame
# Shorter soundtracks take one encoder: below this the second ffmpeg's start-up, the pre-roll and the mux
# (~0.05 CPU-s) cost about what the halved encode saves. bench/aac_split.py --split-from 0, paired
# medians of 11 (load 2.8 on 2 cores): 8 s 0.93x, 10 s 1.02x, 12 s 1.02x, 15 s 1.13x, 60 s 1.47x.
SPLIT_MIN_S = 15.0
# Frames the tail encoder encodes before the seam and we drop. Measured on a real 60 s soundtrack
# (SNR in ±4096 samples around the seam minus the single encoder's there, mean of 9 seams):
# Q=1 -20.8 dB, 2 -17.7, 4 -3.5, 8 -2.1, 16 -1.6, 32 -0.3; and by the plucks of
# tests/test_soundtrack_halves.py (error at the seam over the worst at any other pluck): Q=2 21x,
# 4 3.6x, 8 0.5x, 32 0.2x. A fresh encoder's first frames are not yet in its steady state (window
# sequence, bit reservoir). 32 frames are 0.7 s of extra encoding, ~2% of a minute's halves.
PREROLL_FRAMES = 32
# Frames the head encoder encodes past the seam: without one, its last kept frame is coded
# looking ahead at the end of its input (worst seam in a transient-rich signal -18 dB; with
# it -3 dB, and more frames change nothing).
POSTROLL_FRAMES = 1
_ADTS_HEADER = 7
_SPOOL_BYTES = 8 << 20   # the tail's frames held in memory: 5.5 minutes at 192k
log = logging.getLogger(__name__)


class AacEncoder:
    """ffmpeg's AAC encoder for ``frames`` samples fed through pipes, a block at a time (no WAV on disk).

    The processes start at construction. The "fast" AAC coder is
    ~2.5x quicker than the default at the same bitrate, inaudibly so at 192k."""

    def __init__(self, out: Path, sample_rate: int, frames: int, channels: int = 2) -> None:
        self.out, self.frames, self.sample_rate = out, frames, sample_rate
        self.seam = frames // 2 // FRAME * FRAME if frames >= SPLIT_MIN_S * sample_rate and usable_cpus() > 1 else 0
        self.pcm = ["-f", "s16le", "-ar", str(sample_rate), "-ac", str(channels), "-i", "pipe:0",
                    "-c:a", "aac", "-aac_coder", "fast", "-b:a", AUDIO_BITRATE]
        self.procs: list[subprocess.Popen[bytes]] = []
        self.timed_out = False
        try:
            self._start_all()
        except BaseException:
            self.stop()
            raise

    def _start_all(self) -> None:
        pcm, out, frames, sample_rate = self.pcm, self.out, self.frames, self.sample_rate
        if not self.seam:
            self.procs.append(_start([*pcm, "-f", "mp4", "-y", pathlike(out)], stdout=False))
            return
        # ADTS timestamps count from the priming frame, in the demuxer's time base (SR/TB: samples to
        # it); out in 1/SR, the mp4's time scales are the single encode's (the demuxer's, 1/28224000,
        # would need 64-bit durations past 152 s)
        end = f"({frames}+{FRAME})/SR/TB"
        setts = f"setts=ts=PTS-{FRAME}/SR/TB:duration=min(DURATION\\,{end}-PTS):time_base=1/{sample_rate}"
        for _half in range(2):
            self.procs.append(_start([*pcm, "-f", "adts", "pipe:1"], stdout=True))
        self.procs.append(_start(["-f", "aac", "-i", "pipe:0", "-c", "copy", "-bsf:a", setts,
                                  "-f", "mp4", "-y", pathlike(out)], stdout=False))

    def encode(self, audio: Any) -> None:
        """Feed all of ``audio`` (float, ±1, ``(frames, channels)``) and wait for the file; FFmpegError if it fails."""
        if len(audio) != self.frames:
            raise ValueError(f"the encoder expects {self.frames} samples, not {len(audio)}")
        if self.seam:
            why = self._run(lambda: self._encode_halves(audio)) or self._wrong_length()
            if not why:
                return
            if self.timed_out:  # one encoder would not do better in the time left
                raise FFmpegError(f"encode the soundtrack: {why}")
            log.warning("the soundtrack's AAC in two halves failed (%s); encoding it with one encoder", why)
            self.stop()
            self.seam, self.procs, self.timed_out = 0, [], False
            self._start_all()
        why = self._run(lambda: _feed(self.procs[0], audio))
        if why:
            raise FFmpegError(f"encode the soundtrack: {why}")

    def _run(self, feed: Callable[[], None]) -> str:
        """Feed the processes under the watchdog and wait for them: why they failed, "" if they did not
        (the mux's reason first: a mux that stopped is what broke its inputs' pipes)."""
        watchdog = threading.Timer(ENCODE_TIMEOUT_S, self._time_out)
        watchdog.start()
        try:
            cut = ""
            try:
                feed()
            except FFmpegError as exc:  # an encoder's output cut off mid-frame: its own reason says more, if any
                cut = str(exc).removeprefix("encode the soundtrack: ")
            failures = [_failure(proc) for proc in reversed(self.procs)]
        finally:
            watchdog.cancel()
        if self.timed_out:
            return f"it took longer than {ENCODE_TIMEOUT_S:g} s and was stopped"
        return next((f for f in failures if f), cut)

    def _wrong_length(self) -> str:
        """Why the spliced file is not exactly ``frames`` long ("" when it is)."""
        try:
            seconds = probe(self.out).duration_s
        except (ProbeError, FFmpegError):
            return "its file cannot be read"
        expected = self.frames / self.sample_rate
        if seconds is None or abs(seconds - expected) > 0.5 * FRAME / self.sample_rate:  # ffmpeg says it to 10 ms
            return f"its file lasts {seconds} s, not {expected:.3f} s"
        return ""

    def _time_out(self) -> None:
        self.timed_out = True
        self._kill()

    def _encode_halves(self, audio: Any) -> None:
        """Both halves encoded at once; the head's frames go to the mux as they come, then the tail's."""
        head, tail, mux = self.procs
        assert head.stdout is not None and tail.stdout is not None and mux.stdin is not None
        kept = self.seam // FRAME
        with ThreadPoolExecutor(max_workers=3, thread_name_prefix="aac") as pool:
            fed: list[Future[None]] = [
                pool.submit(_feed, head, audio[:self.seam + POSTROLL_FRAMES * FRAME]),
                pool.submit(_feed, tail, audio[self.seam - PREROLL_FRAMES * FRAME:])]
            spooled = pool.submit(_spool, tail.stdout, PREROLL_FRAMES, self.out.parent)
            try:
                for i, frame in enumerate(_adts_frames(head.stdout)):
                    if i < kept:
                        mux.stdin.write(frame)
                with spooled.result() as rest:
                    shutil.copyfileobj(rest, mux.stdin)
                mux.stdin.close()
            except BrokenPipeError:  # the mux stopped reading (its exit status and message say why): the halves
                self._kill()          # would fill their pipes and wait for a reader forever
            except BaseException:
                self._kill()  # the threads' pipes break and they end: the pool can be left
                raise
            for future in fed:
                future.result()

    def _kill(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()

    def stop(self) -> None:
        """End the encoders whatever happened (a mix that failed leaves them waiting for input)."""
        self._kill()
        for proc in self.procs:
            proc.wait()
            for pipe in (proc.stdin, proc.stdout, proc.stderr):
                if pipe is not None:
                    with contextlib.suppress(OSError):  # a buffered write to a dead process: nothing to keep
                        pipe.close()


def _start(args: list[str], *, stdout: bool) -> subprocess.Popen[bytes]:
    return subprocess.Popen([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", *args], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE if stdout else subprocess.DEVNULL, stderr=subprocess.PIPE,
                            **children.options())


def _feed(proc: subprocess.Popen[bytes], audio: Any) -> None:
    """Write ``audio`` as s16 into ``proc`` and close its input, also when reading ``audio`` fails (else
    ffmpeg would wait for the rest, and whoever reads its output with it)."""
    assert proc.stdin is not None
    try:
        for block in s16_blocks(audio):
            proc.stdin.write(block)
    except BrokenPipeError:
        pass  # ffmpeg stopped reading: its exit status and message say why
    finally:
        try:
            proc.stdin.close()
        except BrokenPipeError:
            pass


def _failure(proc: subprocess.Popen[bytes]) -> str:
    """Why ``proc`` failed ("" if it did not), once it has ended."""
    assert proc.stderr is not None
    message = proc.stderr.read().decode("utf-8", "replace")
    code = proc.wait()
    return "" if code == 0 else last_line(message) if message.strip() else f"ffmpeg exited {code}"


def _spool(stream: IO[bytes], skip: int, beside: Path) -> IO[bytes]:
    """The ADTS frames of ``stream`` after its first ``skip``, rewound: in memory up to _SPOOL_BYTES, then
    in a nameless file beside the output (the tail of a three-hour soundtrack is 130 MB; none is left
    behind, whatever happens)."""
    spool = tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES, dir=beside)
    try:
        for i, frame in enumerate(_adts_frames(stream)):
            if i >= skip:
                spool.write(frame)
    except BaseException:
        spool.close()
        raise
    spool.seek(0)
    return spool


def _adts_frames(stream: IO[bytes]) -> Iterator[bytes]:
    """The ADTS frames of ``stream`` (header included) until it ends; FFmpegError if it is not ADTS."""
    while header := stream.read(_ADTS_HEADER):
        if len(header) < _ADTS_HEADER or header[0] != 0xFF or header[1] & 0xF0 != 0xF0:
            raise FFmpegError("encode the soundtrack: the encoder's output is not ADTS")
        size = (header[3] & 0x03) << 11 | header[4] << 3 | header[5] >> 5
        body = stream.read(size - _ADTS_HEADER)
        if len(body) != size - _ADTS_HEADER:
            raise FFmpegError("encode the soundtrack: the encoder's output ended in a frame")
        yield header + body
