"""What in the engine's data dir nothing needs any more — and freeing it.

Every job leaves an upload, music, a soundtrack and a full copy of the rendered video in
the data dir; without this module it only grows. What a project needs is small and
known: its uploads (``video_infos``), the music its current draft and its undo steps
use (undo must keep working), the soundtrack of its current draft, and its latest
render of each kind — video, WAV, MP3, stems (a download resumes from it; the project
page plays it). Everything else can go:

- a running engine frees, after each finished render, the older renders of that
  project, and cache files no project refers to that are older than ``GRACE_S`` (a
  piece being composed right now is not referred to *yet*);
- ``ai-music run`` releases its whole project once its output is written
  (:func:`release`);
- ``ai-music clean`` frees whatever is not a project the client can still reach
  (:func:`find` with ``keep``), while no engine uses the dir (``store.lock_data_dir``).
"""
from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

from engine.store import Store

GRACE_S = 15 * 60

#: what each kind of garbage is, for people (``ai-music clean`` groups by it)
KINDS = {
    "project": "old projects (uploads, music, renders)",
    "render": "earlier renders of kept projects",
    "music": "cached music no project uses",
    "soundtrack": "cached soundtracks no project uses",
    "leftover": "leftovers of interrupted work",
    "sound": "uploads' sound decoded for a mix (decoded again if needed)",
}

SoundtrackKey = Callable[[dict[str, Any]], "str | None"]


@dataclass(frozen=True)
class Garbage:
    kind: str           # a key of KINDS
    path: Path
    size: int
    session_id: str | None = None
    render_id: str | None = None


def size_of(path: Path) -> int:
    try:
        if path.is_dir() and not path.is_symlink():
            return sum(size_of(child) for child in path.iterdir())
        return path.lstat().st_size
    except OSError:
        return 0


def _drafts(session: dict[str, Any]) -> Iterable[dict[str, Any]]:
    state = session.get("state") or {}
    for draft in [state.get("draft"), *session.get("history", [])]:
        if isinstance(draft, dict):
            yield draft


def music_keys(session: dict[str, Any]) -> set[str]:
    """The composed pieces the project's current draft and its undo steps play."""
    keys = set()
    for draft in _drafts(session):
        for track in draft.get("t", []) or []:
            for seg in track.get("sg", []) if isinstance(track, dict) else []:
                src = str(seg.get("src", "")) if isinstance(seg, dict) else ""
                if src.startswith("music:") and src != "music:pending":
                    keys.add(src.split(":", 1)[1])
    return keys


def _sessions(store: Store) -> dict[str, dict[str, Any]]:
    """A snapshot (other threads add sessions meanwhile; a saved session is replaced, never edited)."""
    return store.all_sessions()


def _old(path: Path, now: float, grace_s: float) -> bool:
    try:
        return now - path.lstat().st_mtime >= grace_s
    except OSError:
        return False


def _latest_renders(records: list[dict[str, Any]]) -> set[str]:
    """The newest finished render of each kind (the video, a WAV, an MP3, the stems)."""
    latest: dict[str, dict[str, Any]] = {}
    for record in records:
        if record.get("status") != "completed" or record.get("expired"):
            continue
        kind = str((record.get("output") or {}).get("format") or "mp4").lower()
        order = (record.get("finished_at") or 0, record.get("created_at") or 0)
        if kind not in latest or order > (latest[kind].get("finished_at") or 0, latest[kind].get("created_at") or 0):
            latest[kind] = record
    return {r["id"] for r in latest.values()}


def find(store: Store, soundtrack_key: SoundtrackKey, *, keep: set[str] | None = None,
         grace_s: float = GRACE_S, now: float | None = None) -> list[Garbage]:
    """What can be freed. ``keep``: the only sessions to keep (None = all of them). Files younger
    than ``grace_s`` that nothing refers to yet are spared (0 when no engine is running)."""
    now = time.time() if now is None else now
    sessions = _sessions(store)
    kept = {sid: s for sid, s in sessions.items() if keep is None or sid in keep}
    renders = list(store.iter_renders())
    out: list[Garbage] = []

    # whole projects the client can no longer reach (and folders of forgotten sessions)
    folders = [p for p in (store.root / "sessions").iterdir() if p.is_dir()] if (store.root / "sessions").is_dir() \
        else []
    for folder in folders:
        sid = folder.name
        if sid in kept:
            continue
        if sid not in sessions and (store.shared or not _old(folder, now, grace_s)):
            continue  # a session being created right now has its folder before its record; one in a
            # shared dir may be another engine's (engine.store.check_mode keeps other kinds out)
        size = size_of(folder) + sum(_render_size(store, r) for r in renders if r.get("session_id") == sid)
        out.append(Garbage("project", folder, size, session_id=sid))
    gone = {g.session_id for g in out}
    for record in renders:
        sid = record.get("session_id")
        if sid in gone or sid in kept or record.get("status") in ("pending", "processing"):
            continue
        if sid not in sessions or keep is not None:  # a render whose project no longer exists
            out.append(Garbage("project", store.render_path(record["id"]), _render_size(store, record),
                               session_id=sid, render_id=record["id"]))

    # in kept projects: uploads nothing refers to, renders older than the latest, stale work folders
    for sid, session in kept.items():
        media = store.session_dir(sid) / "media"
        wanted = {i.get("stored_as") for i in (session.get("state") or {}).get("video_infos", [])}
        if media.is_dir():
            for path in media.iterdir():
                if path.name not in wanted and _old(path, now, grace_s):
                    kind = "sound" if path.name.startswith(".") and path.suffix == ".f32" else "leftover"
                    out.append(Garbage(kind, path, size_of(path), session_id=sid))
        own = [r for r in renders if r.get("session_id") == sid]
        latest = _latest_renders(own)
        for record in own:
            path = store.render_output(record)
            if record["id"] not in latest and record.get("status") == "completed" and path is not None \
                    and path.exists():
                out.append(Garbage("render", path, size_of(path), session_id=sid, render_id=record["id"]))
    running = {r["id"] for r in renders if r.get("status") in ("pending", "processing")}
    for work in (store.root / "renders").glob("*.work"):
        if work.name[:-len(".work")] not in running and _old(work, now, grace_s):
            out.append(Garbage("leftover", work, size_of(work)))

    # caches: what no kept project uses (files written moments ago may be about to be used)
    used_music = set().union(*(music_keys(s) for s in kept.values())) if kept else set()
    used_mixes = {k for k in (soundtrack_key(s) for s in kept.values()) if k}
    for folder, used, kind in ((store.root / "music", used_music, "music"),
                               (store.root / "mixes", used_mixes, "soundtrack")):
        if not folder.is_dir():
            continue
        for path in folder.iterdir():
            temporary = path.name.startswith(".")
            if (temporary or path.stem not in used) and _old(path, now, grace_s):
                out.append(Garbage("leftover" if temporary else kind, path, size_of(path)))
    return out


def _render_size(store: Store, record: dict[str, Any]) -> int:
    path = store.render_output(record)
    return size_of(store.render_path(record["id"])) + (size_of(path) if path is not None else 0) \
        + size_of(store.render_path(record["id"], ".work"))


def free(store: Store, garbage: Iterable[Garbage]) -> int:
    """Delete ``garbage``; returns the bytes freed. Render records of kept projects stay (expired)."""
    freed = 0
    for item in garbage:
        if item.kind == "project" and item.render_id is None and item.session_id is not None:
            store.delete_session(item.session_id)
        elif item.kind == "project" and item.render_id is not None:
            store.delete_render(item.render_id)
        elif item.kind == "render" and item.render_id is not None:
            store.expire_render(item.render_id)
        elif item.path.is_dir():
            shutil.rmtree(item.path, ignore_errors=True)
            store.drop_objects(item.path, tree=True)
        else:
            try:
                item.path.unlink()
            except FileNotFoundError:
                pass
            except OSError:
                continue
            store.drop_objects(item.path)
        freed += item.size
    return freed


def release(store: Store, session_id: str, soundtrack_key: SoundtrackKey) -> int:
    """Remove one finished project now, with the cache files only it used; the bytes freed."""
    session = store.session(session_id)
    if session is None:
        return 0
    others = [s for sid, s in _sessions(store).items() if sid != session_id]
    music = music_keys(session) - set().union(*(music_keys(s) for s in others))
    mix = soundtrack_key(session)
    shared_mix = mix is None or any(soundtrack_key(s) == mix for s in others)
    files = [store.root / "music" / f"{key}.wav" for key in music]
    if not shared_mix:
        files.append(store.root / "mixes" / f"{mix}.m4a")
    size = size_of(store.session_dir(session_id)) + sum(size_of(p) for p in files) + sum(
        _render_size(store, r) for r in store.iter_renders() if r.get("session_id") == session_id)
    store.delete_session(session_id)
    for path in files:
        try:
            os.unlink(path)
        except OSError:
            pass
    store.drop_objects(*files)
    return size
