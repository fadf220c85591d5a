"""Run a command and measure it: wall time and the peak RSS of its whole process tree.

``ru_maxrss`` only covers one process; the engine's work happens partly in ffmpeg
children, so the tree is sampled from /proc every 20 ms and the peak of the sum kept.
``served_engine`` runs ``ai-music serve`` as its own process for the benchmarks that
must not share a GIL with the engine, and always stops it.
"""
from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

#: ``python -c`` code running a checkout's CLI as the installed ``ai-music`` script does: its console entry
#: (``runtime.cli.entry``: out without the interpreter's teardown), else ``sys.exit(main())`` for older trees
CLI_ENTRY = ("import sys, runtime.cli as cli; sys.argv[0] = 'ai-music'\n"
             "entry = getattr(cli, 'entry', None)\nentry() if entry else sys.exit(cli.main())")

EXE = str(Path(sys.executable).parent / "ai-music")


@dataclass(frozen=True)
class Measured:
    seconds: float
    peak_rss_mb: float
    returncode: int
    stdout: str
    stderr: str


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == pid:
            found.append(int(entry.name))
    return found


def _rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _cmdline(pid: int) -> bytes | None:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None


def _private_kb(pid: int) -> int:
    try:
        lines = Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()
    except OSError:
        return 0
    return sum(int(line.split()[1]) for line in lines if line.startswith(("Private_Clean:", "Private_Dirty:")))


def tree_rss_kb(pid: int) -> int:
    """RSS of ``pid`` and its descendants (:func:`tree_processes`)."""
    return sum(kb for _, _, kb in tree_processes(pid))


def tree_processes(pid: int) -> list[tuple[int, bytes, int]]:
    """(pid, command line as /proc has it, kB) of ``pid`` and each live descendant. A child that has not exec'd
    (same command line as its parent) shares the parent's pages copy-on-write, so only its private pages count:
    the engine spawns ffmpeg with a preexec_fn (fork, then exec), and a spawn caught mid-way counted the engine
    twice (1.1 GB)."""
    found, stack = [], [(pid, None)]
    while stack:
        current, parent_cmd = stack.pop()
        cmd = _cmdline(current)
        if cmd is None:  # gone
            continue
        kb = _private_kb(current) if parent_cmd is not None and cmd == parent_cmd else _rss_kb(current)
        found.append((current, cmd, kb))
        stack.extend((child, cmd) for child in _children(current))
    return found


def tree_cpu_s(pid: int) -> float:
    """CPU seconds (user + system) of ``pid``'s descendants, with what each has reaped of its own children
    (an ffmpeg's seconds count once its parent waited for it). Barely moves with machine load, unlike wall time."""
    total, stack = 0, _children(pid)
    while stack:
        current = stack.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += sum(int(f) for f in fields[11:15])  # utime stime cutime cstime
        stack.extend(_children(current))
    return total / os.sysconf("SC_CLK_TCK")


class PeakRss:
    """Samples a process tree's RSS on a thread until stopped; ``mb`` is the peak seen."""

    def __init__(self, pid: int, every_s: float = 0.02) -> None:
        self.pid, self.every_s, self.peak_kb = pid, every_s, 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._done.is_set():
            self.peak_kb = max(self.peak_kb, tree_rss_kb(self.pid))
            self._done.wait(self.every_s)

    def stop(self) -> float:
        self._done.set()
        self._thread.join()
        return self.mb

    @property
    def mb(self) -> float:
        return self.peak_kb / 1024


def measure(cmd: list[str], env: dict[str, str] | None = None, cwd: str | None = None) -> Measured:
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env or dict(os.environ), cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    peak = PeakRss(proc.pid)
    out, err = proc.communicate()
    elapsed = time.perf_counter() - started
    return Measured(elapsed, peak.stop(), proc.returncode, out, err)


@contextlib.contextmanager
def served_engine(data_dir: Path, *options: str, startup_s: float = 30.0) -> Iterator[subprocess.Popen[bytes]]:
    """``ai-music serve`` on a free loopback port, ready (polled) when yielded; ``.url`` is set."""
    import httpx

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen([EXE, "serve", "--port", str(port), "--data", str(data_dir), *options],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    proc.url = f"http://127.0.0.1:{port}"  # type: ignore[attr-defined]
    try:
        deadline = time.monotonic() + startup_s
        while True:
            try:
                httpx.get(f"{proc.url}/healthz", timeout=1)  # type: ignore[attr-defined]
                break
            except httpx.HTTPError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("the engine did not start (run `ai-music serve` by hand to see why)")
                time.sleep(0.05)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
