"""What the engine remembers on disk: users and their credits, sessions, renders.

A restarted engine must keep sessions and finished renders (issue: "a restarted server
keeps sessions"), so every change is written through to its backend (``engine.state_db``).
The store is written once against one backend interface (``engine.state_db.StateDB``): every
read asks the backend and every change runs in one backend transaction, re-reading its row
under that row's lock first. The default backend is the data dir (``engine.state_local``):
reads come from memory, the transaction is one lock, the engine is one process. With
``database`` (a PostgreSQL URL, ``engine.state_pg``) several engines share the rows: reads go
to the database and row locks are the database's, so engines never undo each other's edits or
spend the same credits twice.
Media stay in the data dir either way, which those engines then share.

Layout of the data dir (with a database, only the media and renders' files)::

    <data>/state.sqlite3              users (credits when metered, token hashes, client id hash) and claim-link
                                      hashes, one row each (engine.user_db; an older users.json is imported)
    <data>/sessions/<sid>/session.json   task, owner, state (draft, uploads, analyses), history
    <data>/sessions/<sid>/media/      uploaded files (named by content hash)
    <data>/renders/<key>.json         status, progress, draft, output format and file; the key is the
                                      client's render id scoped to its user (render_key)
    <data>/renders/<key>.mp4          the finished render (.wav / .mp3 / .zip for music-only exports)
    <data>/music/<key>.wav            synthesised music, reused across renders
    <data>/mixes/<key>.m4a            finished soundtracks (music + ducked original), reused
    <data>/state-in-database          only with a database: says so (an engine without one, and ``ai-music clean``, refuse the dir)
    <data>/.lock                      held (shared) by every engine using the dir; ``ai-music clean`` takes it
                                      exclusively, so it never frees files an engine is working with
    <data>/engine.log                 the embedded engine's log (rotated)

What may go, and when, is ``engine.housekeeping``'s business. With an object store
(``--object-store``, ``engine.object_store``) what the store deletes on disk it deletes there too.
"""

from __future__ import annotations

import contextlib
import copy
import errno
import fcntl
import functools
import hashlib
import logging
import os
import secrets
import shutil
import asyncio
import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, TypeVar

from engine.permissions import DIR_MODE, secure_tree
from engine.state_db import DBError, Row, StateDB, is_database_url
from engine.state_local import LocalState
from engine.user_db import FILE as USERS_FILE

if TYPE_CHECKING:
    from engine.object_store import ObjectStore

#: In a data dir whose state is in a database: ``ai-music clean`` must not take its media for orphans.
DATABASE_MARK = "state-in-database"
TOKEN_TTL_S = 7 * 24 * 3600
DROPS_QUEUED = 1000  # object deletes waiting at most (each a file or a folder)
MAX_LIVE_TOKENS = 20  # per user: a client that keeps asking replaces its oldest
CLAIM_TTL_S = 24 * 3600  # a claim link is re-opened (page, videos, workspace) but not kept: one day
log = logging.getLogger(__name__)
T = TypeVar("T")
CALL_THREADS = 8  # store calls at once off the event loop (engine.state_pg pools more connections than this)


class StoreError(RuntimeError):
    """Persisting failed (disk full, permissions); the message is fit for a user."""


class DataDirBusy(RuntimeError):
    """Another engine is using the data dir (``ai-music clean`` must not pull files from under it)."""


def lock_data_dir(root: Path, *, exclusive: bool) -> int:
    """Hold ``<root>/.lock``: shared while an engine runs, exclusive while it is cleaned.

    Returns the descriptor (closing it releases the lock); raises :class:`DataDirBusy`
    when the other kind is held."""
    root.mkdir(parents=True, exist_ok=True)
    fd = os.open(root / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise DataDirBusy(str(root)) from None
    return fd


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def store_error(exc: OSError) -> StoreError:
    """The one-line :class:`StoreError` for a failed write to the data dir (HTTP 507)."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return StoreError("the engine's disk is full; free some space and try again")
    if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return StoreError(
            "the engine cannot write to its data dir (read-only or not permitted); check the folder's permissions"
        )
    return StoreError(f"the engine could not save its state ({exc.strerror or exc.__class__.__name__})")


def _db_error(exc: DBError) -> StoreError:
    if exc.kind == "full":
        return StoreError("the engine's disk is full; free some space and try again")
    if exc.kind == "read-only":
        return StoreError(
            "the engine cannot write to its data dir (read-only or not permitted); check the folder's permissions"
        )
    return StoreError(f"the engine could not save its state ({exc})")


def render_key(user_id: str, render_id: str) -> str:
    """Where a user's render is kept. Render ids are the client's choice, so they are scoped to
    their user: the same id from two users is two renders, and no answer about one user's id
    depends on another's (a global id space answered "already used" for someone else's)."""
    return f"{render_id}~{hashlib.sha256(user_id.encode('utf-8')).hexdigest()[:16]}"


def client_render_id(record: dict[str, Any]) -> str:
    """The id the client chose for a render (a record saved before ids were scoped has only ``id``)."""
    return str(record.get("render_id") or record["id"])


def client_key(client_id: str) -> str:
    """What is kept of a client id: its hash. The id itself mints that user's tokens, so it is never stored."""
    return "sha256:" + hashlib.sha256(client_id.encode("utf-8")).hexdigest()


def client_key_of(saved: dict[str, Any]) -> str:
    """The client key of a saved user, from its hash, or from the clear id an older engine stored."""
    if saved.get("client_id_hash"):
        return str(saved["client_id_hash"])
    return client_key(str(saved["client_id"])) if saved.get("client_id") else ""


@dataclass
class User:
    user_id: str
    client_id: str  # client_key() of the id, never the id itself
    credits_available: int
    credits_frozen: int
    credits_total: int
    tokens: dict[str, float]  # sha256(token) → expiry (unix time)
    metered: bool = True  # False: made by an engine that does not meter (no balance kept)

    def to_json(self) -> dict[str, Any]:
        credits: dict[str, Any] = (
            {"available": self.credits_available, "frozen": self.credits_frozen, "total": self.credits_total}
            if self.metered
            else {"available": None}
        )
        return {"user_id": self.user_id, "client_id_hash": self.client_id, **credits, "tokens": self.tokens}

    @classmethod
    def from_json(cls, data: dict[str, Any], starting_credits: int | None) -> "User":
        """A user as saved; one never metered before starts with the credits of this engine, if it meters."""
        if data.get("available") is None:
            start = starting_credits or 0
            return cls(
                user_id=data["user_id"],
                client_id=client_key_of(data),
                credits_available=start,
                credits_frozen=0,
                credits_total=start,
                tokens=dict(data.get("tokens", {})),
                metered=starting_credits is not None,
            )
        return cls(
            user_id=data["user_id"],
            client_id=client_key_of(data),
            credits_available=int(data.get("available", 0)),
            credits_frozen=int(data.get("frozen", 0)),
            credits_total=int(data.get("total", 0)),
            tokens=dict(data.get("tokens", {})),
        )


def check_mode(root: Path, database: str | None) -> None:
    """Refuse a data dir another kind of engine keeps projects in: each would take the other's
    project folders for garbage (it cannot see their sessions) and free them after a render."""
    if database is None and (root / DATABASE_MARK).exists():
        raise StoreError(
            "this data dir's projects are in a PostgreSQL database: start the engine with "
            "--database and that database's URL, or give it another --data dir"
        )
    if database is not None and _holds_local_projects(root):
        raise StoreError(
            "this data dir holds projects of an engine without a database; "
            "give the engines that share a database a --data dir of their own"
        )


def _holds_local_projects(root: Path) -> bool:
    """Whether an engine without a database left sessions or users here."""
    if next(root.glob("sessions/*/session.json"), None) is not None or (root / "users.json").exists():
        return True
    if not (root / USERS_FILE).exists():
        return False
    try:
        with contextlib.closing(sqlite3.connect(f"file:{root / USERS_FILE}?mode=ro", uri=True)) as conn:
            return conn.execute("SELECT 1 FROM users UNION ALL SELECT 1 FROM claims LIMIT 1").fetchone() is not None
    except sqlite3.Error:
        return True  # cannot tell: sharing it could cost someone their projects


def open_state(
    root: Path, database: str | None, full: Callable[[], bool], legacy_user: Callable[[Row], Row]
) -> StateDB:
    """The data dir's own files (``database`` None), or the PostgreSQL database at that URL."""
    if database is None:
        return LocalState(root, full, legacy_user)
    if not is_database_url(database):
        raise DBError("other", "the database must be a postgresql:// URL")
    from engine.state_pg import PostgresState  # psycopg only when asked for (engine.state_pg)

    return PostgresState(database)


def _worded(work: Callable[..., T]) -> Callable[..., T]:
    """The backend's failures as one line fit for a user (:class:`StoreError`)."""

    @functools.wraps(work)
    def call(*args: Any, **kwargs: Any) -> T:
        try:
            return work(*args, **kwargs)
        except DBError as exc:
            raise _db_error(exc) from None
        except OSError as exc:
            raise store_error(exc) from exc

    return call


class Store:
    """Engine state with write-through persistence (on its own, or shared with other engines).

    Written once against the backend interface (``engine.state_db.StateDB``): every read asks the
    backend (memory for the data dir's files, the database when shared), and every change runs in
    one backend transaction that re-reads its row under that row's lock first."""

    def __init__(
        self,
        root: str | os.PathLike[str],
        *,
        starting_credits: int | None = None,
        full: Callable[[], bool] = lambda: False,
        database: str | None = None,
    ) -> None:
        self.root = Path(root)
        self.full = full
        secure_tree(self.root)  # 0700 / 0600: other accounts read nothing (engine.permissions)
        for sub in ("sessions", "renders", "music"):
            (self.root / sub).mkdir(exist_ok=True, mode=DIR_MODE)
        check_mode(self.root, database)
        self.starting_credits = starting_credits
        try:
            self.db = open_state(self.root, database, full, lambda u: User.from_json(u, starting_credits).to_json())
            self.db.load("users")  # warms the data dir's rows (a no-op on PostgreSQL)
            self.db.load("sessions")  # what this engine has seen (``sessions``), before its first request
        except DBError as exc:
            if database is None:
                raise _db_error(exc) from None
            reason = str(exc) if exc.kind == "missing" else f"the engine could not reach its database ({exc})"
            raise StoreError(reason) from None
        #: other engines write the same rows: what this one has not seen may still exist
        self.shared = self.db.shared
        if self.shared:
            (self.root / DATABASE_MARK).write_text(
                "This data dir's projects are in a PostgreSQL database "
                "(ai-music serve --database); their media are here.\n"
            )
        self.calls = ThreadPoolExecutor(max_workers=CALL_THREADS, thread_name_prefix="store")
        #: where media are also kept (set by the engine with ``--object-store``): deleted there with the files here,
        #: on a thread of their own (a store that stopped answering must not hold up the render worker's clean-up)
        self.objects: ObjectStore | None = None
        self.dropping = ThreadPoolExecutor(max_workers=1, thread_name_prefix="object-delete")
        self.drops_lock = threading.Lock()
        self.drops_waiting = 0  # bounded: past DROPS_QUEUED the rest is left to the bucket's lifecycle rule

    async def call(self, work: Callable[..., T], *args: Any) -> T:
        """``work(*args)`` — code that calls the store — in the store's threads, off the event loop: a slow
        database, or a row another engine holds locked, then stalls the request waiting on it, never
        ``/healthz`` or another user's request (nor does a fsync of the data dir's files)."""
        return await asyncio.get_running_loop().run_in_executor(self.calls, functools.partial(work, *args))

    def close(self) -> None:
        self.calls.shutdown(wait=True)
        self.dropping.shutdown(wait=False, cancel_futures=True)
        self.db.close()

    @property
    def sessions(self) -> dict[str, dict[str, Any]]:
        """The sessions as this engine last saw them, asking nobody (health; all of them on the data dir's files)."""
        return self.db.view("sessions")

    # ------------------------------------------------------------------ the backend

    def _put(self, table: str, rows: Iterable[tuple[str, Row]]) -> None:
        _worded(self.db.put)(table, rows)

    def _get(self, table: str, key: str, *, for_update: bool = False) -> Row | None:
        return _worded(self.db.get)(table, key, for_update=for_update)

    @contextlib.contextmanager
    def _changing(self) -> Iterator[None]:
        """One backend transaction: rows locked inside stay locked to its end."""
        try:
            with self.db.transaction():
                yield
        except DBError as exc:
            raise _db_error(exc) from None

    def _user(self, saved: Row | None) -> User | None:
        """A User of its own for each caller: the store's threads read users while others change them,
        so no object is shared between requests (a change re-reads its row under the row's lock)."""
        return None if saved is None else User.from_json(saved, self.starting_credits)

    def _reload(self, user: User) -> None:
        """Re-read ``user`` under its row lock (inside :meth:`_changing`) before changing it: what other
        engines, and this engine's other threads, wrote counts."""
        if (saved := self._get("users", user.user_id, for_update=True)) is not None:
            vars(user).update(vars(User.from_json(saved, self.starting_credits)))

    # ------------------------------------------------------------------ users & tokens

    def _save_users(self, *users: User) -> None:
        """Persist these users: one row each."""
        self._put("users", ((u.user_id, u.to_json()) for u in users))

    def issue_token(self, client_id: str) -> tuple[str, User, float]:
        """A new anonymous token for ``client_id`` (same user — and credits — as before)."""
        with self._changing():
            key = client_key(client_id)
            self.db.hold(f"client:{key}")  # two engines' first tokens make one user
            user = self._user(_worded(self.db.user_with_client)(key))
            if user is not None:
                self._reload(user)
            else:
                user = User.from_json(
                    {"user_id": f"anon_{secrets.token_hex(8)}", "client_id_hash": key}, self.starting_credits
                )
            token, expires = self._new_token(user)
            return token, user, expires

    def _new_token(self, user: User) -> tuple[str, float]:
        token = f"nmv_usr_{secrets.token_urlsafe(24)}"
        now = time.time()
        live = sorted(((exp, h) for h, exp in user.tokens.items() if exp > now), reverse=True)
        user.tokens = {h: exp for exp, h in live[: MAX_LIVE_TOKENS - 1]}  # the oldest give way
        user.tokens[_hash(token)] = expires = now + TOKEN_TTL_S
        self._save_users(user)
        return token, expires

    def user_for_token(self, token: str) -> User | None:
        digest = _hash(token)
        user = self._user(_worded(self.db.user_with_token)(digest))  # another engine may have issued it
        expiry = user.tokens.get(digest) if user is not None else None
        return user if expiry is not None and expiry > time.time() else None

    def user_by_id(self, user_id: str) -> User | None:
        return self._user(self._get("users", user_id))

    def expire_tokens(self, token: str | None = None) -> int:
        """Expire one token (or all): the fault injector's "token expired"."""
        with self._changing():
            users = [self._user(saved) for saved in _worded(self.db.load)("users").values()]
            count, changed = 0, {}
            for user in users:
                assert user is not None
                for digest in list(user.tokens):
                    if token is None or digest == _hash(token):
                        user.tokens[digest] = 0.0
                        count += 1
                        changed[user.user_id] = user  # a User is not hashable: one save per user id
            self._save_users(*changed.values())
            return count

    def issue_claim(self, user: User, task_id: str, session_id: str) -> str:
        claim = f"clm_{secrets.token_urlsafe(18)}"
        self._put(
            "claims",
            [
                (
                    _hash(claim),
                    {
                        "task_id": task_id,
                        "session_id": session_id,
                        "user_id": user.user_id,
                        "expires": time.time() + CLAIM_TTL_S,
                    },
                )
            ],
        )
        return claim

    def claim(self, claim_token: str) -> dict[str, Any] | None:
        entry = self._live_claim(claim_token)
        return entry if entry and not entry.get("bearer") else None

    def _live_claim(self, token: str) -> dict[str, Any] | None:
        entry = self._get("claims", _hash(token))
        return copy.deepcopy(entry) if entry and entry.get("expires", 0) > time.time() else None

    def issue_session_token(self, claim: dict[str, Any]) -> str:
        """A bearer token for the claim's one session, expiring with the claim: what a claim link
        hands the workspace. Kept beside the claims (every backend stores those), not on the user,
        whose tokens open every project and the account."""
        token = f"nmv_usr_{secrets.token_urlsafe(24)}"
        entry = {key: claim[key] for key in ("task_id", "session_id", "user_id", "expires")}
        self._put("claims", [(_hash(token), {**entry, "bearer": True})])
        return token

    def user_for_session_token(self, token: str) -> tuple[User, str] | None:
        """The owner and the one session a claim's token opens (None: not such a token, or expired)."""
        entry = self._live_claim(token)
        user = self.user_by_id(entry["user_id"]) if entry and entry.get("bearer") else None
        return (user, entry["session_id"]) if user is not None else None

    # ------------------------------------------------------------------ credits

    @property
    def metered(self) -> bool:
        """Whether edits cost credits here; an engine on your own machine never runs out."""
        return self.starting_credits is not None

    def _change_user(self, user: User, **values: int) -> None:
        """Apply ``values`` to ``user`` and persist; on a failed write, nothing changes."""
        old = {k: getattr(user, k) for k in values}
        for key, value in values.items():
            setattr(user, key, value)
        try:
            self._save_users(user)
        except StoreError:
            for key, value in old.items():
                setattr(user, key, value)
            raise

    def reserve(self, user: User, amount: int) -> bool:
        """Freeze ``amount`` credits for a running edit; False if the balance is short."""
        with self._changing():
            if amount <= 0 or not self.metered:
                return True
            self._reload(user)  # shared: what other engines spent counts
            if user.credits_available < amount:
                return False
            self._change_user(
                user, credits_available=user.credits_available - amount, credits_frozen=user.credits_frozen + amount
            )
            return True

    def settle(self, user: User, reserved: int, spent: int) -> None:
        """Release a reservation, charging ``spent`` (≤ reserved) of it."""
        with self._changing():
            if reserved <= 0 or not self.metered:
                return  # nothing was frozen: nothing to write
            self._reload(user)
            spent = max(0, min(spent, reserved))
            values = {
                "credits_frozen": max(0, user.credits_frozen - reserved),
                "credits_available": user.credits_available + reserved - spent,
                "credits_total": user.credits_total - spent,
            }
            try:
                self._change_user(user, **values)
            except StoreError:
                for key, value in values.items():  # keep the books right in memory; disk catches up later
                    setattr(user, key, value)
                self.db.remember("users", [(user.user_id, user.to_json())])

    # ------------------------------------------------------------------ sessions

    def session_dir(self, session_id: str) -> Path:
        return self.root / "sessions" / session_id

    def create_session(self, user: User, task_name: str, language: str) -> dict[str, Any]:
        session_id = str(secrets.randbelow(10**18) + 10**18)
        session = {
            "session_id": session_id,
            "task_id": f"task_{secrets.token_hex(8)}",
            "user_id": user.user_id,
            "task_name": task_name,
            "language": language,
            "created_at": time.time(),
            "state": {
                "draft": None,
                "video_infos": [],
                "canvas_config": {"width": 1920, "height": 1080, "aspect": "16:9"},
                "video_analyses": {},
                "generated_media": [],
            },
            "history": [],
            "messages": [],
            "version": 0,
        }
        self.save_session(session)
        return copy.deepcopy(session)

    def session(self, session_id: str) -> dict[str, Any] | None:
        found = self._get("sessions", session_id)
        return copy.deepcopy(found) if found else None

    def all_sessions(self) -> dict[str, dict[str, Any]]:
        """Every session (shared: as the database has them now): what housekeeping must not free."""
        return _worded(self.db.load)("sessions")

    def save_session(self, session: dict[str, Any]) -> None:
        self._put("sessions", [(session["session_id"], session)])

    def update_session(self, session_id: str, change: Callable[[dict[str, Any]], Any]) -> Any:
        """Apply ``change`` to a copy and persist it; the stored session changes only on success.

        The row stays locked from the read to the write, so another engine's change to the same
        session waits rather than being overwritten."""
        with self._changing():
            current = self._get("sessions", session_id, for_update=True)
            if current is None:
                raise KeyError(session_id)
            working = copy.deepcopy(current)
            result = change(working)
            working["version"] = int(working.get("version", 0)) + 1
            self.save_session(working)
            return result

    def forget_session(self, session_id: str) -> None:
        _worded(self.db.delete)("sessions", [session_id])

    def delete_session(self, session_id: str) -> None:
        """Remove a project for good: its session, its media and its renders (records and files)."""
        for record in [r for r in self.iter_renders() if r.get("session_id") == session_id]:
            self.delete_render(record["id"])
        self.forget_session(session_id)
        shutil.rmtree(self.session_dir(session_id), ignore_errors=True)
        self.drop_objects(self.session_dir(session_id), tree=True)

    def drop_objects(self, *paths: Path, tree: bool = False) -> None:
        """The object-store copies of files (or, ``tree``, folders) just deleted here; nothing without a store.
        Bounded and idempotent (engine.object_store): a copy already gone, or a store away, fails nothing."""
        objects = self.objects
        if objects is None or not paths:
            return
        with self.drops_lock:
            if self.drops_waiting >= DROPS_QUEUED:
                log.warning("object deletes are backed up (the store does not answer?): %d left to the bucket's rule",
                            len(paths))
                return
            self.drops_waiting += 1

        def drop() -> None:
            try:
                if not tree:  # a file made again meanwhile (the same content key composed again) keeps its object
                    objects.delete(*[path for path in paths if not os.path.exists(path)])
                for path in paths if tree else ():
                    objects.delete_tree(path)
            except Exception:  # noqa: BLE001 - best effort, and nobody waits on this future: say it
                log.exception("deleting objects from the object store failed")
            finally:
                with self.drops_lock:
                    self.drops_waiting -= 1

        try:
            self.dropping.submit(drop)
        except RuntimeError:  # closing: the bucket's lifecycle rule is the backstop
            with self.drops_lock:
                self.drops_waiting -= 1

    def objects_dropped(self, timeout: float = 60.0) -> None:
        """Wait until the object deletes asked for so far are done (tests, and a clean shutdown)."""
        self.dropping.submit(lambda: None).result(timeout)

    # ------------------------------------------------------------------ renders

    def render_path(self, render_id: str, suffix: str = ".json") -> Path:
        return self.root / "renders" / f"{render_id}{suffix}"

    def save_render(self, record: dict[str, Any]) -> None:
        """Persist a render record. A render already known changes in memory even when the disk
        cannot follow (full, read-only): its poll must say how it ended, not "processing" forever.
        A new one is known only once saved, so a refused submit leaves no job nobody runs."""
        try:
            self._put("renders", [(record["id"], record)])
        except StoreError:
            if self.db.view("renders").get(record["id"]) is not None:
                self.db.remember("renders", [(record["id"], record)])
            raise

    def note_render_progress(self, record: dict[str, Any]) -> None:
        """A running render's phase and percentage: kept in memory where only this engine answers its polls
        (a crash requeues a running render whatever its progress was, so nothing is lost by not writing it),
        saved where other engines read the database. A file write with fsync was 10-70 ms each, several
        times in every render, on the render's own thread."""
        if self.shared:
            self.save_render(record)
        else:
            self.db.remember("renders", [(record["id"], record)])

    def render(self, render_id: str) -> dict[str, Any] | None:
        found = self._get("renders", render_id)
        return copy.deepcopy(found) if found else None

    def render_of(self, user_id: str, render_id: str) -> dict[str, Any] | None:
        """The user's render with the client's id ``render_id`` (None: not theirs, or none)."""
        found = self.render(render_key(user_id, render_id))
        if found is None:  # saved before ids were scoped: keyed by the client's id alone
            legacy = self.render(render_id)
            if legacy and "render_id" not in legacy and legacy.get("user_id") == user_id:
                found = legacy
        return found

    def render_output(self, record: dict[str, Any]) -> Path | None:
        """Where a render's file is (or was): ``renders/<file>``; None for one that never produced one."""
        name = record.get("file")
        return self.root / "renders" / str(name) if name else None

    def expire_render(self, render_id: str) -> None:
        """Delete a finished render's file but keep its record: a later download is told why (410)."""
        record = self.render(render_id)
        if record is None:
            return
        path = self.render_output(record)
        if path is not None:
            path.unlink(missing_ok=True)
            self.drop_objects(path)
        if not record.get("expired"):
            try:
                self.save_render({**record, "expired": True})
            except StoreError:
                pass  # the file is gone either way; the record says so next time it is written

    def delete_render(self, render_id: str) -> None:
        record = self.render(render_id)
        if record is not None and (path := self.render_output(record)) is not None:
            path.unlink(missing_ok=True)
            self.drop_objects(path)
        _worded(self.db.delete)("renders", [render_id])
        shutil.rmtree(self.render_path(render_id, ".work"), ignore_errors=True)
        self.drop_objects(self.render_path(render_id, ".work"), tree=True)  # a killed try's progress report

    def lease_render(self, render_id: str) -> bool:
        """Whether this engine may run the render: always on its own; when shared, only if no other
        live engine runs it (held until :meth:`release_render` or this engine's end). A database
        that does not answer raises :class:`StoreError`: then nobody may start it here."""
        return _worded(self.db.lease)(f"render:{render_id}")

    def watch_leases(self, lapsed: Callable[[str], Any]) -> None:
        """``lapsed(render_id)`` for each render whose lease could not be renewed in time (engine.state_pg's
        heartbeat): this engine holds it no more and must stop it — another may take it up."""
        prefix = "render:"

        def each(names: list[str]) -> None:
            for name in names:
                if name.startswith(prefix):
                    lapsed(name[len(prefix):])

        self.db.watch(each)

    def release_render(self, render_id: str) -> None:
        with contextlib.suppress(DBError):  # a lost connection has released it already
            self.db.release(f"render:{render_id}")

    def iter_renders(self) -> Iterator[dict[str, Any]]:
        records = [copy.deepcopy(r) for r in _worded(self.db.load)("renders").values()]
        yield from records
