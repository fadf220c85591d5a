"""How many cores this process may run on.

``os.cpu_count()`` counts the machine's; a process pinned to fewer (taskset, a container's cpuset,
a Ray worker) would size its threads, x264's and malloc's arenas for cores it cannot use.
"""
from __future__ import annotations

import os


def usable_cpus() -> int:
    """The cores this process's affinity allows (the machine's count where affinity is unknown), at least 1."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1
