"""Music-only exports: the piece as WAV or MP3, or its stems (one WAV per instrument group).

Asked for with ``output.format`` on the render call (``wav``, ``mp3``, ``stems``) — e.g.
after "export the music as mp3" or "give me the stems". The piece is the BGM track's
audio as composed (mastered, full length of the music segment), not the video's mix.
Stems are re-rendered from the same brief and cues, so they line up sample for sample
with the piece and are level-matched to it; they go out as a zip with the full mix.

An export is a :class:`~engine.export.job.Job` (:func:`music_job`) that either executor runs:
paths and the draft in, the file written to ``out``; on Ray it runs on a worker like a render.
"""
from __future__ import annotations

import os
import zipfile
from pathlib import Path
from typing import Any, Callable, Mapping

from engine.export.job import Job
from media.audio import write_wav
from media.ffmpeg import pathlike, run
from protocol.draft import music_track as first_music

FORMATS = {"wav": ("audio/wav", ".wav"), "mp3": ("audio/mpeg", ".mp3"), "stems": ("application/zip", ".zip")}


class MusicExportError(RuntimeError):
    pass


def music_track(draft: Mapping[str, Any]) -> Mapping[str, Any]:
    found = first_music(draft)
    if found is None or not found.get("sg"):
        raise MusicExportError("there is no music in this project to export")
    return found


def music_job(owner: str, draft: Mapping[str, Any], fmt: str, out: Path, work: Path,
              music_path: Callable[[str], Path], cues: dict[str, Any] | None) -> Job:
    """The export of ``draft``'s music to ``out`` as ``fmt``, for an executor (``owner``: whose cancel stops it).

    Every path is made absolute here: a Ray worker runs in another folder."""
    wav = None if fmt == "stems" else _piece(draft, music_path)  # stems are composed again from the brief
    return Job(owner, write_music, (dict(draft), fmt, out.resolve(), work.resolve(), wav and wav.resolve(), cues),
               python=fmt == "stems", inputs=() if wav is None else (wav.resolve(),), outputs=(out.resolve(),))


def _piece(draft: Mapping[str, Any], music_path: Callable[[str], Path]) -> Path | None:
    """The composed piece's WAV in the music cache (None: the music is an upload)."""
    src = str(music_track(draft)["sg"][0].get("src", ""))
    return music_path(src.split(":", 1)[1]) if src.startswith("music:") else None


def write_music(draft: Mapping[str, Any], fmt: str, out: Path, work: Path, wav: Path | None,
                cues: dict[str, Any] | None) -> Path:
    """The export itself, wherever it runs: ``wav`` is the piece (None: an uploaded music)."""
    music = music_track(draft)
    work.mkdir(parents=True, exist_ok=True)
    part = work / f".{out.name}.part"  # the attempt's own folder (engine.export.render_attempts)
    try:
        if fmt == "stems":
            _stems(music, cues, work, part)
        else:
            if wav is None:
                raise MusicExportError("the music is an uploaded file: it is already yours as it is")
            if not wav.is_file():
                raise MusicExportError("the music has not been composed yet")
            codec = ["-c:a", "libmp3lame", "-b:a", "256k", "-f", "mp3"] if fmt == "mp3" else ["-c:a", "pcm_s16le",
                                                                                               "-f", "wav"]
            run(["-i", pathlike(wav), *codec, "-y", pathlike(part)], timeout=300, what=f"export the music as {fmt}")
        os.replace(part, out)
    finally:
        part.unlink(missing_ok=True)
    return out


def _stems(music: Mapping[str, Any], cues: dict[str, Any] | None, work: Path, target: Path) -> None:
    from engine.music import make_music
    from engine.composing import SAMPLE_RATE, to_brief, to_cues

    info = music.get("m", {}).get("music")
    if not info or cues is None:
        raise MusicExportError("stems exist only for music composed here, not for an uploaded music")
    music = make_music(to_brief(info["brief"]), to_cues(cues), sample_rate=SAMPLE_RATE)
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        full = work / "mix.wav"
        write_wav(full, music.audio, SAMPLE_RATE)
        archive.write(full, "mix.wav")
        full.unlink()
        for name in music.stems:
            stem = work / f"{name}.wav"
            write_wav(stem, music.stems[name], SAMPLE_RATE)
            archive.write(stem, f"stems/{name}.wav")
            stem.unlink()
