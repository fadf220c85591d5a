"""Finished soundtracks (mix → master → AAC), prepared ahead and reused.

Mixing, mastering and AAC-encoding a minute of audio takes about a second — as long as
the whole fast-path render. The audio of a draft is known as soon as an edit lands, so
the engine starts preparing it right after each chat turn and each upload, while the
client is still reading the reply; the render then only muxes. Soundtracks are keyed by
everything that shapes the audio (tracks that sound, their sources, speech regions), so
a title or aspect change reuses the same soundtrack and a volume change makes a new one.
"""
from __future__ import annotations

import hashlib
import json
import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping

from engine.memory import release_memory
from engine.export.aac import AacEncoder
from engine.export.mix import SAMPLE_RATE, Source, build_soundtrack, drop_kept_decodes, soundtrack_frames
from protocol.draft import AUDIO, VIDEO

if TYPE_CHECKING:
    from engine.object_store import ObjectStore

IN_MEMORY_MAX_S = 90  # soundtracks up to this long are mixed in memory (23 MB a minute), longer ones in a file


def soundtrack_key(draft: Mapping[str, Any], sources: Mapping[str, Source], speech: list[tuple[float, float]]) -> str:
    sounding = [t for t in draft.get("t", []) if t.get("tt") in (VIDEO, AUDIO)]
    used = sorted({s.get("src") for t in sounding for s in t.get("sg", [])} - {None})
    files = [[src, sources[src].path if src in sources else None] for src in used]
    loudness = (draft.get("m") or {}).get("loudness")
    payload = json.dumps([int(draft.get("d") or 0), sounding, files, speech, loudness], sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:24]


class Soundtracks:
    def __init__(self, cache_dir: Path, master: Callable[..., Any] | None) -> None:
        self.cache_dir = cache_dir
        self.master = master
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="soundtrack")
        self.pending: dict[str, Future[Path]] = {}
        # reentrant: a build that is already done runs its done-callback (_forget) at once, in prepare()
        self.lock = threading.RLock()

    def path(self, key: str) -> Path:
        return self.cache_dir / f"{key}.m4a"

    def prepare(self, draft: Mapping[str, Any], sources: Mapping[str, Source], music_path: Callable[[str], Path],
                speech: list[tuple[float, float]]) -> Future[Path] | None:
        """Start building the soundtrack of ``draft`` in the background (if not done)."""
        if not int(draft.get("d") or 0):
            return None
        key = soundtrack_key(draft, sources, speech)
        with self.lock:
            if key in self.pending:
                return self.pending[key]
            done: Future[Path] = Future()
            if self.path(key).is_file():
                done.set_result(self.path(key))
                return done
            future = self.pool.submit(self._build, key, dict(draft), dict(sources), music_path, list(speech))
            self.pending[key] = future
            future.add_done_callback(lambda _f: self._forget(key))
            return future

    def _forget(self, key: str) -> None:
        with self.lock:
            self.pending.pop(key, None)

    def _build(self, key: str, draft: dict[str, Any], sources: dict[str, Source], music_path: Callable[[str], Path],
               speech: list[tuple[float, float]]) -> Path:
        return build(self.cache_dir, key, draft, sources, music_path, speech, self.master)

    def shutdown(self) -> None:
        """Drop queued builds and wait for the running one: nothing writes into the cache afterwards."""
        self.pool.shutdown(wait=True, cancel_futures=True)


def build(cache_dir: Path, key: str, draft: dict[str, Any], sources: dict[str, Source],
          music_path: Callable[[str], Path], speech: list[tuple[float, float]], master: Callable[..., Any] | None) -> Path:
    """Mix, master and encode the soundtrack ``key`` into ``cache_dir``; temp names carry the pid and the
    result is renamed into place, so processes sharing the cache (Ray workers) never see half a file."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    frames = soundtrack_frames(draft)
    # a long float mix lives in a file beside the cache (230 MB for ten minutes, on the disk rather than in
    # memory while the render's x264 runs beside this; media.paged): it is gone once encoded. A short one
    # stays in memory: each pass of the mix and master paged the file's blocks in and out again (a minute:
    # 0.1 s and 0.15 CPU-s of page faults for 23 MB, bench/revisions.py)
    scratch = cache_dir / f".{key}.{os.getpid()}.f32" if frames > IN_MEMORY_MAX_S * SAMPLE_RATE else None
    part = cache_dir / f".{key}.{os.getpid()}.m4a"
    encoder: AacEncoder | None = None
    try:
        audio = build_soundtrack(draft, sources, music_path, speech, master=master, scratch=scratch)
        # started once the mix is done, not beside it: idle there, its three ffmpegs held 80 MB at the
        # mix's own peak for the 30 ms their start-up would have overlapped
        encoder = AacEncoder(part, SAMPLE_RATE, frames)
        encoder.encode(audio)
        del audio
        os.replace(part, cache_dir / f"{key}.m4a")
        drop_kept_decodes(sources)  # they served the first mix; a project kept for later holds only its uploads
    finally:
        try:
            if encoder is not None:
                encoder.stop()
        finally:
            if scratch is not None:
                scratch.unlink(missing_ok=True)
            part.unlink(missing_ok=True)
            release_memory()
    return cache_dir / f"{key}.m4a"


@dataclass(frozen=True)
class SoundtrackOrder:
    """A draft's soundtrack as plain values and paths: any process that sees the data dir can build it.

    A render on a Ray worker gets this instead of the engine's :class:`Soundtracks` pool (whose
    futures live in the API process): it takes the soundtrack from the shared cache when the
    engine prepared it already, else builds it there itself."""

    draft: Mapping[str, Any]
    sources: Mapping[str, Source]
    speech: list[tuple[float, float]]
    cache_dir: Path
    music_dir: Path
    master: Callable[..., Any] | None = None
    objects: ObjectStore | None = None   # a worker without the data dir gets the music from there

    def __call__(self) -> Path:
        ready = self.cached_path()
        if ready is None:
            raise ValueError("the draft is empty")
        if ready.is_file():
            return ready
        return build(self.cache_dir, ready.stem, dict(self.draft), dict(self.sources), self.music_file,
                     list(self.speech), self.master)

    def cached_path(self) -> Path | None:
        """Where this soundtrack is cached (as ``Soundtracks.path``: named by the hash of what shapes it);
        None for an empty draft, which has none."""
        if not int(self.draft.get("d") or 0):
            return None
        return self.cache_dir / f"{soundtrack_key(self.draft, self.sources, self.speech)}.m4a"

    def music_file(self, key: str) -> Path:
        path = self.music_dir / f"{key}.wav"
        return self.objects.fetch(path) if self.objects is not None else path
