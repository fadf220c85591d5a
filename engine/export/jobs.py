"""Render jobs: queue, progress, cancel, and survival across restarts.

A render record is saved before work starts and after every state change, so the poll
endpoint always has an answer and a restarted engine still knows every job: finished
renders stay downloadable, and jobs that were pending or running when the engine
stopped are queued again (their draft is in the record) instead of being lost — the
client just keeps polling the same id.
"""
from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import CancelledError, Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable

from engine.analysis.cues import speech_on_timeline, timeline_cues
from engine.faults import Faults
from engine.export.mix import Source, sources_from_infos
from engine.export.music_only import FORMATS, MusicExportError, music_job, music_track
from engine.export.graph import Cancelled, RenderError, RenderJob, fast_path_source
from engine import housekeeping
from engine.export import render_attempts
from engine.export.changes import RenderChanges
from engine.export.executor import Executor, InProcess
from engine.export.render_queue import FairQueue, budget_s, niceness
from engine.export.soundtrack import SoundtrackOrder, Soundtracks, soundtrack_key
from engine.store import Store, StoreError, render_key
from engine.user_text import upload_names, user_facing
from media.probe import probe
from media.verify import Unplayable, check_playable, picture_tail

PROGRESS_SAVE_EVERY_S = 1.0
LEASE_RETRY_S = 2.0  # a render the database could not lease (it did not answer) is tried again this often
log = logging.getLogger(__name__)


class RenderManager:
    def __init__(self, store: Store, faults: Faults, workers: int = 1,
                 master: Callable[..., Any] | None = None, budget: float | None = None,
                 executor: Executor | None = None) -> None:
        self.store = store
        self.faults = faults
        self.master = master
        self.soundtracks = Soundtracks(store.root / "mixes", master)
        self.executor = executor or InProcess()  # where the work runs (engine.export.executor)
        self.queue = FairQueue(workers, self._run)  # round-robin between users (engine.export.render_queue)
        self.budget_s = budget  # per render; None: by its length (render_queue.budget_s)
        self.over_budget: set[str] = set()
        self.lost: set[str] = set()  # renders whose lease another engine took: theirs to run and record
        self.jobs: dict[str, RenderJob] = {}
        self.lock = threading.Lock()
        self.retries: set[threading.Timer] = set()  # renders waiting for the database to grant their lease
        self.stopping = False
        self.changes = RenderChanges()  # polls of a running render wait for its next change (engine.api.renders)
        # the end of an upload whose picture a render copies, decoded while its soundtrack is mixed (media.verify)
        self.picture_checks = ThreadPoolExecutor(max_workers=1, thread_name_prefix="picture-check")
        store.watch_leases(self._lapsed)  # a lease lapsed (the database away too long): stop its render

    def resume(self) -> int:
        """Queue again the jobs a previous engine run left unfinished (not those another engine
        sharing the database is running: they are leased to it)."""
        count = 0
        for record in self.store.iter_renders():
            if record.get("status") in ("pending", "processing") and self.store.lease_render(record["id"]):
                record.update(status="pending", progress=0, note="resumed after an engine restart")
                self._save(record)
                render_attempts.clear_unfinished(self.store.root / "renders", record["id"])  # start clean
                self._start(record)
                count += 1
        return count

    def submit(self, render_id: str, session: dict[str, Any], draft: dict[str, Any], output: dict[str, Any]) -> dict:
        """Create the record (or return the existing one for a repeated id) and queue the job.

        ``render_id`` is the client's; the record is kept under it scoped to the session's
        user (``store.render_key``), which is the ``id`` every other part of the engine uses."""
        existing = self.store.render_of(session["user_id"], render_id)
        if existing is not None:
            return existing
        record = {"id": render_key(session["user_id"], render_id), "render_id": render_id,
                  "session_id": session["session_id"], "user_id": session["user_id"], "status": "pending", "progress": 0, "created_at": time.time(), "draft": draft,
                  "output": output, "error": None}
        if not self.store.lease_render(record["id"]):  # the same id sent to another engine this instant: theirs
            return record
        try:
            self._save(record)
        except StoreError:
            self.store.release_render(record["id"])
            raise
        self._start(record)
        return record

    def _save(self, record: dict[str, Any]) -> None:
        """Save the record, and wake the polls waiting for news of it."""
        self.store.save_render(record)
        self.changes.changed(record["id"])

    def cancel(self, render_id: str) -> dict[str, Any] | None:
        record = self.store.render(render_id)
        if record is None:
            return None
        with self.lock:
            job = self.jobs.get(render_id)
            if job is not None:
                job.cancel.set()
                self.executor.stop(job)
            if record["status"] in ("pending", "processing"):
                record.update(status="cancelled", error="cancelled by the user")
                self._save(record)
        return record

    def _start(self, record: dict[str, Any]) -> None:
        self.queue.submit(str(record.get("user_id")), record["id"],  # a niced long one beside the short ones
                          background=niceness(record.get("draft") or {}) > 0)

    def _run(self, render_id: str) -> None:
        """Run one job under its lease; whatever happens, it ends completed, failed or cancelled — never stuck.

        A job another live engine holds is theirs to run. A database that does not answer grants no
        lease: the job is not started — it stays pending, as a poll says once the database is back —
        and is tried again every LEASE_RETRY_S, so no render runs where another engine could take it too."""
        try:
            if not self.store.lease_render(render_id):
                return
            try:
                self._run_leased(render_id)
            finally:
                self.store.release_render(render_id)
        except StoreError as exc:  # the lease, or the record read before the job starts
            log.warning("render %s waits for the database: %s", render_id, exc)
            self._retry_later(render_id)

    def _retry_later(self, render_id: str) -> None:
        def retry() -> None:
            with self.lock:
                self.retries.discard(timer)
                if self.stopping:
                    return  # still pending in the database: resume() takes it at the next start
            try:
                record = self.store.render(render_id)
            except StoreError:
                self._retry_later(render_id)
                return
            if record is not None and record.get("status") == "pending":
                self._start(record)
        timer = threading.Timer(LEASE_RETRY_S, retry)
        timer.daemon = True
        with self.lock:
            if self.stopping:
                return
            self.retries.add(timer)
        timer.start()

    def _run_leased(self, render_id: str) -> None:
        record = self.store.render(render_id)
        if record is None or record["status"] not in ("pending",):
            return
        work = render_attempts.new_attempt(self.store.root / "renders", render_id)  # never a dead try's files
        try:
            self._execute(record, work)
        except Cancelled:
            if render_id in self.over_budget:
                self._fail(record, f"the render took longer than its {self._budget(record):.0f} s budget and was "
                                   "stopped; make the video shorter or try again later")
            elif render_id in self.lost:
                log.warning("render %s stopped here: another engine took its lease and runs it", render_id)
            elif not self.stopping:  # a shutdown leaves the job "processing": resume() picks it up
                self._mark(record, status="cancelled", error="cancelled by the user")
        except (RenderError, MusicExportError, StoreError, OSError) as exc:
            self._fail(record, str(exc))
        except Exception as exc:  # noqa: BLE001 - a render must end failed, never hang "processing"
            if self.stopping:  # cut short by the engine stopping: resume() runs it again next start
                log.info("render %s interrupted by shutdown: %s", render_id, exc)
            else:
                self._fail(record, f"internal error: {exc.__class__.__name__}: {exc}")
                log.exception("render %s failed", render_id)
        finally:
            with self.lock:
                self.jobs.pop(render_id, None)
                self.over_budget.discard(render_id)
                self.lost.discard(render_id)
            render_attempts.end_attempt(work)

    def _execute(self, record: dict[str, Any], work: Path) -> None:
        session = self.store.session(record["session_id"])
        if session is None:
            raise RenderError("the session of this render no longer exists")
        if self.faults.render_delay_s > 0:
            time.sleep(self.faults.render_delay_s)
        if self.stopping:
            raise Cancelled  # the engine is stopping: the job stays queued on disk for the next start
        if self.faults.take_render_failure():
            raise RenderError("render node crashed (injected fault)")
        fmt = str((record.get("output") or {}).get("format") or "mp4").lower()
        media_type, suffix = FORMATS.get(fmt, ("video/mp4", ".mp4"))
        out = self.store.render_path(record["id"], suffix)
        music_only = fmt in FORMATS
        sources, speech = ({}, []) if music_only else self._audio_inputs(session, record["draft"])
        copied = None if music_only else self._check_picture_ahead(record["draft"], sources)
        progress = self._progress_saver(record)

        def soundtrack() -> Path:  # usually ready (prepared after the edit); else this is the "mixing" phase
            for _ in range(2):  # a preparation cancelled while queued is started again, once
                pending = self.soundtracks.prepare(record["draft"], sources, self._music_path, speech)
                if pending is None:
                    raise ValueError("the draft is empty")
                if not pending.done():
                    progress(float(record.get("progress") or 0) / 100, "mixing")
                try:
                    return pending.result()
                except CancelledError:
                    continue
            raise CancelledError

        order = SoundtrackOrder(record["draft"], sources, speech, self.soundtracks.cache_dir, self.store.root / "music",
                                self.master)
        job = RenderJob(draft=record["draft"], sources=sources, out=out, work_dir=work,
                        soundtrack=self.executor.soundtrack(soundtrack, order), nice=niceness(record["draft"]))
        with self.lock:
            if (self.store.render(record["id"]) or {}).get("status") != "pending":
                raise Cancelled  # cancelled while it waited in the queue
            self.jobs[record["id"]] = job
        record.update(status="processing", progress=10 if music_only else 0, started_at=time.time(),
                      stage="exporting music" if music_only else "starting")
        self._save(record)
        watchdog = threading.Timer(self._budget(record), self._stop_over_budget, (record["id"], job))
        watchdog.start()
        try:
            if music_only:
                self._music_only(record, session, fmt, out, work)
            else:
                self.executor.render(job, progress)
        finally:
            watchdog.cancel()
        if job.cancel.is_set():
            raise Cancelled("render cancelled")
        _check_output(job.out, None if music_only else int(record["draft"].get("d") or 0) / 1000, copied)
        self._complete(record, job, media_type)

    def _budget(self, record: dict[str, Any]) -> float:
        return self.budget_s if self.budget_s is not None else budget_s(record.get("draft") or {})

    def _stop_over_budget(self, render_id: str, job: RenderJob) -> None:
        """The render ran past its budget: stop its encoder; ``_run`` records why it failed."""
        with self.lock:
            self.over_budget.add(render_id)
            job.cancel.set()
            self.executor.stop(job)

    def _progress_saver(self, record: dict[str, Any]) -> Callable[[float, str], None]:
        last_save = [0.0]

        def progress(fraction: float, stage: str) -> None:
            changed = stage != record.get("stage")
            record["progress"] = int(round(fraction * 100))
            record["stage"] = stage
            now = time.monotonic()
            if changed or now - last_save[0] >= PROGRESS_SAVE_EVERY_S:  # a poll sees each phase start
                last_save[0] = now
                self._save_progress(record)
        return progress

    def _complete(self, record: dict[str, Any], job: RenderJob, media_type: str) -> None:
        """Mark done — unless a cancel landed while the last step ran (then it stays cancelled)."""
        with self.lock:
            current = self.store.render(record["id"])
            if job.cancel.is_set() or (current or {}).get("status") == "cancelled":
                job.out.unlink(missing_ok=True)
                raise Cancelled
            record.update(status="completed", progress=100, finished_at=time.time(), file=job.out.name,
                          size=job.out.stat().st_size, media_type=media_type)
            self._save(record)
        self.tidy()

    def tidy(self) -> None:
        """After a render: older renders of each project and stale cache files go (engine.housekeeping)."""
        try:
            housekeeping.free(self.store, housekeeping.find(self.store, self.soundtrack_key_of))
        except Exception:  # noqa: BLE001 - tidying is never worth failing a finished render for
            log.exception("could not tidy the data dir")

    def soundtrack_key_of(self, session: dict[str, Any]) -> str | None:
        """The cached soundtrack the session's current draft plays (None: nothing sounds yet)."""
        draft = (session.get("state") or {}).get("draft")
        if not isinstance(draft, dict) or not int(draft.get("d") or 0):
            return None
        sources, speech = self._audio_inputs(session, draft)
        return soundtrack_key(draft, sources, speech)

    def _music_only(self, record: dict[str, Any], session: dict[str, Any], fmt: str, out: Path,
                    work: Path) -> None:
        """WAV/MP3 of the piece, or a zip of its stems (engine.export.music_only)."""
        cues = None
        try:
            seg = music_track(record["draft"])["sg"][0]
            cues = timeline_cues(record["draft"], session["state"].get("video_analyses", {}), int(seg["st"]),
                                 int(seg["d"]))
        except MusicExportError:
            pass
        # on the executor like a render (a Ray worker); a cancel drops its result, as in-process always did
        self.executor.run(music_job(record["id"], record["draft"], fmt, out, work, self._music_path, cues))

    def _music_path(self, key: str) -> Path:
        return self.store.root / "music" / f"{key}.wav"

    def _audio_inputs(self, session: dict[str, Any], draft: dict[str, Any]):  # noqa: ANN202
        media = self.store.session_dir(session["session_id"]) / "media"
        sources = sources_from_infos(session["state"].get("video_infos", []), media)
        return sources, speech_on_timeline(draft, session["state"].get("video_analyses", {}))

    def prepare_audio(self, session_id: str) -> None:
        """Start mixing the session's current draft now, so a render finds it ready."""
        session = self.store.session(session_id)
        if session is not None:
            self.soundtrack_of(session, check_picture=True)

    def _check_picture_ahead(self, draft: dict[str, Any], sources: dict[str, Source]) -> str | None:
        """Start decoding the end of the upload whose picture a render of ``draft`` copies whole (the fast path),
        so the output's check only compares packets; that upload's path, or None when the picture is encoded.
        Not the smart path's: the splice carries parameter sets in band before the copied keyframes, so their
        packets are no longer the upload's, and the output would be decoded after all."""
        try:
            source = fast_path_source(draft, sources, probe)
        except Exception:  # noqa: BLE001 - a head start only: a probe that fails here fails the render, not the turn
            log.warning("could not tell whether a render would copy the picture", exc_info=True)
            return None
        if source is None:
            return None
        try:
            self.picture_checks.submit(picture_tail, source.path)
        except RuntimeError:  # shut down: the engine is stopping (the check at the end reads it itself)
            pass
        return source.path

    def soundtrack_of(self, session: dict[str, Any], check_picture: bool = False) -> Future[Path] | None:
        """The session's current soundtrack (an M4A), built in the background if not cached yet;
        ``check_picture``: the end of a picture its render would copy is decoded ahead too.

        None when nothing sounds yet or the engine is stopping. The workspace plays it and
        draws its waveform, so what the page shows is what the export will carry."""
        draft = (session.get("state") or {}).get("draft")
        if not draft or not draft.get("t"):
            return None
        sources, speech = self._audio_inputs(session, draft)
        try:
            pending = self.soundtracks.prepare(draft, sources, self._music_path, speech)
        except RuntimeError:  # pool shut down: the engine is stopping
            return None
        if check_picture and pending is not None:
            self._check_picture_ahead(draft, sources)
        return pending

    def _save_progress(self, record: dict[str, Any]) -> None:
        if not self._still_leased(record["id"]):
            return
        current = self.store.render(record["id"])
        if current is not None and current.get("status") == "cancelled":
            return
        try:
            self.store.note_render_progress(record)
            self.changes.changed(record["id"])
        except StoreError:
            pass

    def _fail(self, record: dict[str, Any], reason: str) -> None:
        self._mark(record, status="failed", error=self._user_facing(record, reason), finished_at=time.time())

    def _user_facing(self, record: dict[str, Any], reason: str) -> str:
        """The failure in the user's words: their file names, none of our paths."""
        session = self.store.session(str(record.get("session_id"))) or {}
        return user_facing(reason, self.store.root, upload_names(session.get("state", {})))

    def _still_leased(self, render_id: str) -> bool:
        """Whether this engine still holds the render's lease. One lost while the database connection was
        down belongs to the engine that took it (it runs the render again): the work here stops and records
        nothing more. A database away now cannot say: the lease is checked again at the next progress."""
        try:
            if self.store.lease_render(render_id):
                return True
        except StoreError:
            return True
        with self.lock:
            self.lost.add(render_id)
            job = self.jobs.get(render_id)
            if job is not None:
                job.cancel.set()
                self.executor.stop(job)
        return False

    def _lapsed(self, render_id: str) -> None:
        """The database did not confirm this render's lease in time: another engine may take it up, so a
        running render stops and records nothing more (a queued one asks for its lease again when it runs)."""
        with self.lock:
            job = self.jobs.get(render_id)
            if job is None:
                return
            self.lost.add(render_id)
            job.cancel.set()
            self.executor.stop(job)

    def _mark(self, record: dict[str, Any], **fields: Any) -> None:
        """Record how a job ended; a full disk must not turn that into a crash of the worker."""
        if record["id"] in self.lost:
            return  # the engine that took its lease records it
        record.update(fields)
        try:
            self._save(record)
        except StoreError:
            log.warning("could not save the end of render %s", record.get("id"))

    def shutdown(self) -> None:
        """Stop: kill running encodes, drop queued jobs (they stay "pending" on disk and resume
        next start) and wait until no render or soundtrack thread can write another byte."""
        with self.lock:
            self.stopping = True
            jobs = list(self.jobs.values())
            for timer in self.retries:
                timer.cancel()
        for job in jobs:
            job.cancel.set()
            self.executor.stop(job)
        self.queue.shutdown()  # a job waiting for its soundtrack still gets it
        self.soundtracks.shutdown()  # the executor is the engine's, stopped by it (engine.app)
        self.picture_checks.shutdown(wait=False, cancel_futures=True)  # a running one writes nothing: not waited for


def _check_output(path: Path, expected_s: float | None, copied_from: str | None = None) -> None:
    """A render is completed only if its file plays to the end (media.verify); else it failed."""
    try:
        check_playable(path, expected_s, copied_from=copied_from)
    except Unplayable as exc:
        path.unlink(missing_ok=True)
        raise RenderError(f"the finished file was damaged ({exc}); export again") from None


def output_file(store: Store, render_id: str) -> Path | None:
    record = store.render(render_id)
    if record is None or record.get("status") != "completed":
        return None
    path = store.root / "renders" / str(record.get("file") or f"{render_id}.mp4")
    return path if path.is_file() else None
