"""Ctrl-C that never lands between a lock's acquire and the ``with`` block that releases it.

Python raises KeyboardInterrupt at the next bytecode check after the signal, which can be inside a
context manager's ``__enter__`` just after it acquired a lock (or inside ``__exit__`` before it
released it). httpcore's connection pool guards its state that way (``ThreadLock.__enter__``); an
interrupt there leaves the pool's lock held, and the pool's own clean-up then waits for it forever
(encode/httpcore#990): the chat REPL hung after Ctrl-C during ``/export`` about once in 200 tries.

``install()`` replaces Python's SIGINT handler with one that raises as the default one does, except
while the interrupted frame is a context manager's ``__enter__`` or ``__exit__``: there it returns,
and a relay thread sends the signal again a few milliseconds later, when the main thread has left
that method (the ``with`` body releases the lock on the way out). Those methods are short (no I/O
under a pool lock), so the interrupt arrives late by milliseconds, never lost. (Asking for the
signal again from inside the handler would not do: Python checks for signals right after that call,
still inside the handler, so it would raise there or recurse.)
"""
from __future__ import annotations

import signal
import threading
import time
from types import FrameType

_UNSAFE = frozenset({"__enter__", "__exit__"})
RESEND_AFTER_S = 0.005


class _Relay:
    """A daemon thread that sends SIGINT to the main thread again when asked; asked by releasing a
    plain lock, which a signal handler can do without waiting on anything."""

    def __init__(self) -> None:
        self.asked = threading.Lock()
        self.asked.acquire()
        self.main = threading.main_thread().ident
        threading.Thread(target=self._run, name="ctrl-c relay", daemon=True).start()

    def ask(self) -> None:
        try:
            self.asked.release()
        except RuntimeError:  # already asked: one resend is on its way
            pass

    def _run(self) -> None:
        while True:
            self.asked.acquire()
            time.sleep(RESEND_AFTER_S)
            signal.pthread_kill(self.main, signal.SIGINT)


_relay: _Relay | None = None


def _on_interrupt(signum: int, frame: FrameType | None) -> None:
    if frame is not None and frame.f_code.co_name in _UNSAFE and _relay is not None:
        _relay.ask()
        return
    raise KeyboardInterrupt


def install() -> None:
    """Use the safe handler for Ctrl-C, unless someone chose another one (only Python's default is
    replaced; a process that ignores SIGINT keeps ignoring it). Main thread only, as signals are."""
    global _relay
    if threading.current_thread() is threading.main_thread() \
            and signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        _relay = _relay or _Relay()
        signal.signal(signal.SIGINT, _on_interrupt)
