"""Ctrl-C while a lock is being taken: the interrupt arrives, and the lock is not left held."""
from __future__ import annotations

import signal
import threading
import time

import pytest

from runtime import interrupts


class _Guard:
    """A lock behind a Python ``__enter__``, as httpcore's pool has one; Ctrl-C arrives right after
    the acquire, the moment the chat REPL hung at (encode/httpcore#990)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()

    def __enter__(self) -> _Guard:
        self.lock.acquire()
        signal.raise_signal(signal.SIGINT)  # as if the user pressed Ctrl-C just now
        return self

    def __exit__(self, *exc: object) -> None:
        self.lock.release()


def _interrupted(guard: _Guard) -> str:
    try:
        with guard:
            time.sleep(5)  # the body: where the interrupt may land
        return "no interrupt"
    except KeyboardInterrupt:
        return "interrupted"


@pytest.fixture
def sigint_restored():
    before = signal.getsignal(signal.SIGINT)
    yield
    signal.signal(signal.SIGINT, before)


def test_ctrl_c_just_after_a_lock_is_taken_interrupts_without_leaving_the_lock_held(sigint_restored) -> None:
    signal.signal(signal.SIGINT, signal.default_int_handler)
    interrupts.install()
    guard = _Guard()
    assert _interrupted(guard) == "interrupted"
    assert not guard.lock.locked()  # the next request can take it


def test_python_s_own_handler_leaves_that_lock_held(sigint_restored) -> None:
    """Why install() exists: the same moment with Python's default handler."""
    signal.signal(signal.SIGINT, signal.default_int_handler)
    guard = _Guard()
    assert _interrupted(guard) == "interrupted"
    assert guard.lock.locked()


def test_a_chosen_handler_is_kept(sigint_restored) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    interrupts.install()
    assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
