"""PCM in and out of the engine: decode any media through the bundled ffmpeg, read/write WAV.

Why not ``media.ffmpeg.run``: that collects stdout as ``bytes`` and numpy would need a
second copy to get a writable array. A minute of 48 kHz stereo is 23 MB and a long video
is hundreds, so here ffmpeg's f32le output is streamed into one growing ``bytearray``
that numpy then wraps without copying. WAV writes go to a temp file beside the target
and are renamed into place, so a crash never leaves a half-written file under the final
name (the renderer and cache trust whatever file exists).
"""
from __future__ import annotations

import os
import subprocess
import tempfile
import threading
import wave
from pathlib import Path
from typing import BinaryIO, Generator, Iterator, Literal

import numpy as np

from media import children
from media.ffmpeg import FFmpegError, ffmpeg_exe, last_line, pathlike, run
from media.paged import release
from media.probe import first_frame_at

DECODE_TIMEOUT_S = 120.0
# Decoding from the very start keeps ffmpeg's sample-exact timeline (after a seek, WebM/MKV
# audio is stamped from millisecond-rounded packet times); past this point a seek to a few
# seconds before the start saves decoding a long prefix.
PRESEEK_S = 10.0
_CHUNK = 1 << 20
_WAV_BLOCK = 1 << 16  # frames converted to s16 at once

SampleFormat = Literal["s16", "f32"]


def decode_audio(
    path: str | os.PathLike[str],
    sample_rate: int = 48000,
    channels: int = 2,
    start_s: float | None = None,
    duration_s: float | None = None,
    *,
    timeout: float = DECODE_TIMEOUT_S,
) -> np.ndarray:
    """First audio stream of ``path`` as float32 ``(N, channels)`` at ``sample_rate``.

    The sound of a video comes back in step with its picture: sample 0 plays with the
    first frame the renderer shows from ``start_s``. Streams rarely start together (Opus
    pre-skip, AAC priming, a browser recording whose picture starts 20 ms after its
    sound), so the samples are cut from ffmpeg's timeline of the file where that frame
    is stamped, and silence fills in where the sound starts later.

    Raises :class:`FFmpegError` if the file has no audio stream (callers that want
    silence instead check ``probe(path).has_audio``) or ffmpeg fails or times out.
    """
    data = bytearray()
    for piece in _stdout_pieces(_decode_args(path, sample_rate, channels, start_s, duration_s), timeout=timeout,
                                what=f"decode audio of {os.path.basename(path)}"):
        data += piece
    usable = len(data) - len(data) % (4 * channels)
    del data[usable:]
    return np.frombuffer(data, dtype=np.float32).reshape(-1, channels)


def stream_audio(
    path: str | os.PathLike[str],
    sample_rate: int,
    channels: int,
    block: int,
    start_s: float | None = None,
    duration_s: float | None = None,
    *,
    timeout: float = DECODE_TIMEOUT_S,
) -> Generator[np.ndarray, None, None]:
    """The samples :func:`decode_audio` returns, as consecutive ``(block, channels)`` float32 arrays.

    Why: three hours of even 16 kHz mono is 700 MB; a pass that looks at the sound block
    by block needs only a block. Every block but the last is exactly ``block`` frames.
    """
    if not start_s:
        kept = _kept_blocks(path, sample_rate, channels, block, duration_s)
        if kept is not None:
            yield from kept
            return
    size = 4 * channels * block
    pending = bytearray()
    for piece in _stdout_pieces(_decode_args(path, sample_rate, channels, start_s, duration_s), timeout=timeout,
                                what=f"decode audio of {os.path.basename(path)}"):
        pending += piece
        while len(pending) >= size:
            yield np.frombuffer(bytes(pending[:size]), dtype=np.float32).reshape(-1, channels)
            del pending[:size]
    usable = len(pending) - len(pending) % (4 * channels)
    if usable:
        yield np.frombuffer(bytes(pending[:usable]), dtype=np.float32).reshape(-1, channels)


def kept_decode_path(path: str | os.PathLike[str], sample_rate: int, channels: int) -> Path:
    """Where :func:`keep_decode` keeps ``path``'s whole sound: a hidden file beside it."""
    path = Path(path)
    return path.with_name(f".{path.name}.{sample_rate}x{channels}.f32")


def keep_decode(path: str | os.PathLike[str], sample_rate: int, channels: int, *,
                timeout: float = DECODE_TIMEOUT_S) -> Path:
    """Decode ``path``'s sound from the start to the end into :func:`kept_decode_path` (raw float32).

    Why: a stream from the start (:func:`stream_audio` with no ``start_s``) then reads this
    file instead of running ffmpeg — an engine decodes an upload's sound this way while the
    upload is analysed, and the soundtrack mixed after the chat turn, on the job's critical
    path, no longer waits for a decode (0.2 s of a 60 s video). The samples are the very ones
    the stream would decode (the same ffmpeg command, to a file); it is written under a
    temporary name and renamed, so a reader never sees half of it."""
    out = kept_decode_path(path, sample_rate, channels)
    handle, name = tempfile.mkstemp(prefix=f"{out.name}.", suffix=".part", dir=out.parent)  # unique, whoever else writes
    os.close(handle)
    part = Path(name)
    args = _decode_args(path, sample_rate, channels, None, None)
    try:
        run([*args[:-1], "-y", pathlike(part)], timeout=timeout, what=f"decode audio of {os.path.basename(path)}")
        os.replace(part, out)
    finally:
        part.unlink(missing_ok=True)
    return out


def _kept_blocks(path: str | os.PathLike[str], sample_rate: int, channels: int, block: int,
                 duration_s: float | None) -> Iterator[np.ndarray] | None:
    """:func:`stream_audio`'s blocks from the start, read from a decode kept beside ``path`` (None if there is
    none, or it is older than ``path``): ``duration_s`` cuts as ffmpeg's atrim does (to the nearest sample)."""
    kept = kept_decode_path(path, sample_rate, channels)
    try:
        if kept.stat().st_mtime_ns < os.stat(path).st_mtime_ns:
            return None
        samples = np.memmap(kept, dtype=np.float32, mode="r")
    except (OSError, ValueError):  # none kept (or tidied away meanwhile), or an empty one
        return None
    samples = samples[: len(samples) - len(samples) % channels].reshape(-1, channels)
    if duration_s is not None:  # atrim's duration: whole microseconds, rescaled to samples half away from zero
        micros = round(float(f"{duration_s:.6f}") * 1_000_000)
        samples = samples[: (micros * sample_rate + 500_000) // 1_000_000]
    return (samples[a:a + block] for a in range(0, len(samples), block))


def _decode_args(path: str | os.PathLike[str], sample_rate: int, channels: int, start_s: float | None,
                 duration_s: float | None) -> list[str]:
    begin = start_s or 0.0
    shown = first_frame_at(path, begin)
    begin = begin if shown is None else shown
    seek = begin - PRESEEK_S if begin > 2 * PRESEEK_S else 0.0
    window = f"start={begin - seek:.6f}" + (f":duration={duration_s:.6f}" if duration_s is not None else "")
    # timestamps after a seek count from the seek point; first_pts pads a sound that starts late
    return [*(["-ss", f"{seek:.6f}"] if seek else []), "-i", pathlike(path), "-map", "0:a:0", "-vn", "-sn", "-dn",
            "-af", f"aresample={sample_rate}:first_pts=0,atrim={window}",
            "-ac", str(channels), "-f", "f32le", "-"]


def _stdout_pieces(args: list[str], *, timeout: float, what: str) -> Iterator[bytes]:
    """Run ffmpeg and yield its stdout as it comes; stderr is drained on a thread.

    Why not ``media.ffmpeg.run``: that collects stdout as ``bytes``, and a caller that
    wants a writable array or only a block at a time would need a second copy.
    Failures (and a stop by the timeout) raise once the output has ended.
    """
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", *args]
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, **children.options())
    assert proc.stdout is not None and proc.stderr is not None
    err: list[bytes] = []
    drain = threading.Thread(target=lambda: err.append(proc.stderr.read()), daemon=True)
    drain.start()
    timed_out = threading.Event()

    def stop() -> None:
        timed_out.set()
        proc.kill()

    timer = threading.Timer(timeout, stop)
    timer.start()
    try:
        while chunk := proc.stdout.read1(_CHUNK):
            yield chunk
        proc.wait()
    except BaseException:  # includes GeneratorExit: a consumer that stops early stops ffmpeg
        proc.kill()
        proc.wait()
        raise
    finally:
        timer.cancel()
        drain.join()
        proc.stdout.close()
        proc.stderr.close()
    if timed_out.is_set():
        raise FFmpegError(f"{what}: ffmpeg took longer than {timeout:g}s and was stopped")
    if proc.returncode != 0:
        stderr = b"".join(err).decode("utf-8", "replace")
        if "matches no streams" in stderr or "for option 'map'" in stderr:
            raise FFmpegError(f"{what}: the file has no audio stream")
        raise FFmpegError(f"{what}: {last_line(stderr)}")


def write_wav(
    path: str | os.PathLike[str],
    audio: np.ndarray,
    sample_rate: int,
    *,
    sample_format: SampleFormat = "s16",
) -> Path:
    """Write ``audio`` (float, ``(N,)`` or ``(N, C)``, nominal range ±1) as a WAV file.

    ``s16`` clips to ±1 and quantises; ``f32`` keeps the floats as they are (headroom
    for intermediate stems). The file appears under ``path`` only once complete.
    """
    out = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".part", dir=out.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            _write_frames(fh, audio, sample_rate, sample_format)
        os.replace(tmp, out)
    except BaseException:
        os.unlink(tmp)
        raise
    return out


def _write_frames(fh: BinaryIO, audio: np.ndarray, sample_rate: int, sample_format: SampleFormat) -> None:
    """The WAV itself; s16 is converted and written a block at a time.

    Why blocks: converting a whole piece at once held three float32 temporaries of it
    (clip, scale, round) beside the piece itself: 700 MB more for ten minutes of stereo.
    """
    if sample_format == "f32":
        from scipy.io import wavfile  # imported here: scipy.io costs ~0.1 s at engine start

        wavfile.write(fh, sample_rate, np.asarray(audio, dtype=np.float32))
        return
    with wave.open(fh, "wb") as wav:
        wav.setnchannels(1 if audio.ndim == 1 else audio.shape[1])
        wav.setsampwidth(2)
        wav.setframerate(sample_rate)
        for frames in s16_blocks(audio):
            wav.writeframesraw(frames)


def s16_blocks(audio: np.ndarray) -> Iterator[bytes]:
    """``audio`` (float, nominal ±1) as 16-bit little-endian PCM, a block at a time — what a WAV
    holds, for a pipe to ffmpeg. A file-backed soundtrack stays resident a block at a time."""
    for a in range(0, len(audio), _WAV_BLOCK):
        block = np.asarray(audio[a:a + _WAV_BLOCK], dtype=np.float32)
        yield np.round(np.clip(block, -1.0, 1.0) * 32767.0).astype("<i2").tobytes()
        release(audio, a, a + _WAV_BLOCK)


def wav_blocks(path: str | os.PathLike[str], block: int) -> tuple[int, Generator[np.ndarray, None, None]]:
    """The sample rate of a WAV file and its frames as consecutive float32 ``(block, C)`` arrays.

    Exactly what :func:`read_wav` returns, a block at a time: a long piece is read
    without holding it (16-bit files are read with stdlib wave; other formats whole).
    """
    try:
        reader = wave.open(os.fspath(path), "rb")
    except (wave.Error, EOFError):   # float or 24-bit WAV: not for stdlib wave
        data, rate = read_wav(path)
        return rate, (data[a:a + block] for a in range(0, len(data), block))
    if reader.getsampwidth() != 2:
        reader.close()
        data, rate = read_wav(path)
        return rate, (data[a:a + block] for a in range(0, len(data), block))

    def frames() -> Generator[np.ndarray, None, None]:
        with reader:
            channels = reader.getnchannels()
            while raw := reader.readframes(block):
                yield (np.frombuffer(raw, "<i2").astype(np.float32) / 32768.0).reshape(-1, channels)

    return reader.getframerate(), frames()


def read_wav(path: str | os.PathLike[str]) -> tuple[np.ndarray, int]:
    """A WAV file as float32 ``(N, C)`` in ±1 and its sample rate, whatever its sample format."""
    from scipy.io import wavfile

    rate, data = wavfile.read(os.fspath(path))
    if data.dtype == np.uint8:
        samples = (data.astype(np.float32) - 128.0) / 128.0
    elif np.issubdtype(data.dtype, np.integer):
        samples = data.astype(np.float32) / float(-np.iinfo(data.dtype).min)
    else:
        samples = data.astype(np.float32, copy=False)
    return (samples[:, None] if samples.ndim == 1 else samples), int(rate)
