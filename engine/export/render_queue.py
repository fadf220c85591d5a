"""Whose render runs next: round-robin between users, one running render per user while others wait.

With one FIFO worker a 25-minute draft kept another user's 1-second render pending for
its whole length. Here every user has their own line; workers take the next render from
the user after the one served last, and never start a second render of a user who already
has one running while someone else is waiting. A long render runs at a lower CPU priority
(:func:`niceness`) in a slot of its own, beside the two for everybody's short ones. A short render that
starts beside others encodes on its share of the cores (:func:`encoder_threads`). Each render gets a time
budget (:func:`budget_s`): past it, its encoder is stopped and it fails with a reason.
"""
from __future__ import annotations

import math
import threading
from collections import OrderedDict, deque
from typing import Any, Callable, Mapping

from media.cores import quota_bound, usable_cpus

BUDGET_BASE_S = 120.0        # start-up, probing, a soundtrack still being mixed
BUDGET_PER_SECOND = 10.0     # seconds of work per second of draft (1080p ultrafast runs ~0.2-0.5)


def budget_s(draft: Mapping[str, Any]) -> float:
    """How long a render of ``draft`` may take before it is stopped."""
    try:
        seconds = max(0.0, float(draft.get("d") or 0) / 1000)
    except (TypeError, ValueError):
        seconds = 0.0
    return BUDGET_BASE_S + BUDGET_PER_SECOND * seconds


def niceness(draft: Mapping[str, Any]) -> int:
    """How much a render's encoder yields the CPU: 0 for a few seconds, 15 for half an hour.

    Two workers share the cores; a long render at normal priority halves every short one's
    speed. Lowered by its length, it takes the CPU the short ones leave (and all of it alone)."""
    try:
        seconds = float(draft.get("d") or 0) / 1000
    except (TypeError, ValueError):
        return 0
    return 0 if seconds <= 10 else min(15, int(3 * math.log2(seconds / 10)) + 1)


def encoder_threads(draft: Mapping[str, Any], running: int, cores: int | None = None) -> int:
    """x264 threads for a render that starts while ``running`` others run here; 0 is x264's own choice (all cores;
    under a CPU quota that allows fewer, the quota's: x264 and ffmpeg count the affinity).
    The in-process executor asks (``engine.export.executor``); a Ray task takes the CPUs it holds.

    Alone, or long (niced, it takes what the short ones leave, for minutes), a render gets every
    core. A short one beside others gets its share: two 3 s encodes on one thread each use ~10 %
    less CPU than on x264's three threads each fighting for the same two cores, and five users'
    short renders are CPU-bound (issue 13, medium 5)."""
    if running <= 0 or niceness(draft) > 0:
        return 0 if cores is not None or not quota_bound() else usable_cpus()
    return max(1, (cores or usable_cpus()) // (running + 1))


class FairQueue:
    """Worker threads that run ``run(render_id)`` for queued renders, fairly between users.

    ``workers`` renders run at full speed at once; long renders (``background``: their
    encoder is niced) run beside them in slots of their own. With both kinds in the same
    two slots, one long render left every short one a single slot, so five short renders
    of five users went one after another (28-72 s for 3 s clips, issue 13 medium 5)."""

    def __init__(self, workers: int, run: Callable[[str], None], *, background: int = 1,
                 start: bool = True) -> None:
        self._run = run
        self._waiting: OrderedDict[str, deque[tuple[str, bool]]] = OrderedDict()  # user → line; order = whose turn
        self._running: dict[str, int] = {}
        self._slots = {False: max(1, workers), True: max(1, background)}
        self._busy = {False: 0, True: 0}
        self._cond = threading.Condition()
        self._closed = False
        self._threads = [threading.Thread(target=self._work, name=f"render-{n}", daemon=True)
                         for n in range(sum(self._slots.values()))]
        if start:
            self.start()

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def submit(self, user_id: str, render_id: str, *, background: bool = False) -> None:
        with self._cond:
            if self._closed:
                raise RuntimeError("the render queue is shut down")
            self._waiting.setdefault(user_id, deque()).append((render_id, background))
            self._cond.notify()

    def _pick(self) -> tuple[str, str, bool] | None:
        """The next (user, render, background): the first user in turn whose next render has a free
        slot and who has nothing running; a second render of a user only when nobody else waits."""
        room = [u for u, line in self._waiting.items() if self._busy[line[0][1]] < self._slots[line[0][1]]]
        idle = [u for u in room if not self._running.get(u)]
        if idle:
            user = idle[0]
        elif room and all(self._running.get(u) for u in self._waiting):
            user = room[0]
        else:
            return None
        line = self._waiting.pop(user)
        render_id, background = line.popleft()
        if line:
            self._waiting[user] = line  # back of the rotation
        self._running[user] = self._running.get(user, 0) + 1
        self._busy[background] += 1
        return user, render_id, background

    def _work(self) -> None:
        while True:
            with self._cond:
                picked = self._pick()
                while picked is None and not self._closed:
                    self._cond.wait()
                    picked = self._pick()
                if picked is None:
                    return
            user, render_id, background = picked
            try:
                self._run(render_id)
            finally:
                with self._cond:
                    self._running[user] -= 1
                    if not self._running[user]:
                        del self._running[user]
                    self._busy[background] -= 1
                    self._cond.notify_all()

    def shutdown(self) -> None:
        """Drop what waits (it stays pending on disk and resumes next start); wait for what runs."""
        with self._cond:
            self._closed = True
            self._waiting.clear()
            self._cond.notify_all()
        for thread in self._threads:
            if thread.is_alive() and thread is not threading.current_thread():
                thread.join()
