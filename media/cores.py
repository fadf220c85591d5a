"""How many cores this process may run on.

``os.cpu_count()`` counts the machine's; a process pinned to fewer (taskset, a container's cpuset,
a Ray worker) or given a CPU quota (a container's ``--cpus``, a Kubernetes CPU limit: the cgroup's
``cpu.max``, or ``cpu.cfs_quota_us`` under cgroup v1) would size its threads, its worker processes,
x264's threads and malloc's arenas for cores it cannot use — on a 64-core node a pod limited to two
CPUs would start 64 composing processes. A quota of 1.5 CPUs counts as 2 (as joblib's loky rounds it):
two threads still get 1.5 CPUs of work done where one gets 1.

Hand-rolled rather than loky's ``cpu_count``: that import costs 37 ms of every run's start and brings
cloudpickle and a process pool the engine does not use; reading two small files is all it takes.
"""
from __future__ import annotations

import math
import os
from functools import lru_cache
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
PROC_CGROUP = Path("/proc/self/cgroup")


def usable_cpus() -> int:
    """The cores this process's affinity allows (the machine's count where affinity is unknown), no more
    than its cgroup's CPU quota allows; at least 1."""
    cores = _affinity()
    quota = cgroup_cpu_quota(CGROUP_ROOT, PROC_CGROUP)
    return max(1, min(cores, math.ceil(quota) if quota is not None else cores))


def quota_bound() -> bool:
    """Whether a CPU quota allows fewer cores than the affinity: then a child left to its own thread count
    (x264's, ffmpeg's ``-threads 0``, which count the affinity) must be told :func:`usable_cpus`."""
    return usable_cpus() < _affinity()


def _affinity() -> int:
    return (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()) or 1


@lru_cache(maxsize=4)
def cgroup_cpu_quota(root: Path, proc_cgroup: Path) -> float | None:
    """CPUs this process's cgroup (or one above it) may use per period; None where there is no limit
    or no cgroup to read (another OS, a file that cannot be read or parsed). Read once per process:
    a container's quota does not change under a running engine."""
    try:
        lines = proc_cgroup.read_text(encoding="ascii").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    limits: list[float] = []
    for line in lines:
        _, controllers, path = (line.split(":", 2) + ["", ""])[:3]
        relative = path.strip().lstrip("/")
        if ".." in relative.split("/"):  # a cgroup outside this namespace's view: its files are not here
            continue
        if controllers == "":  # cgroup v2: cpu.max ("max 100000" or "150000 100000") at each level up to the root
            for folder in _levels(root / relative, root):
                limits += _quota(folder / "cpu.max", None)
        elif "cpu" in controllers.split(","):  # cgroup v1: cpu.cfs_quota_us (-1: none) over cpu.cfs_period_us
            for mount in (root / controllers, root / "cpu", root / "cpu,cpuacct"):
                for folder in _levels(mount / relative, mount):
                    limits += _quota(folder / "cpu.cfs_quota_us", folder / "cpu.cfs_period_us")
    return min(limits) if limits else None


def _levels(folder: Path, top: Path) -> list[Path]:
    """``folder`` and each folder above it up to ``top`` (inside a container's namespace the path is ``/``)."""
    out = [folder]
    while folder != top and top in folder.parents:
        folder = folder.parent
        out.append(folder)
    return out


def _quota(quota_file: Path, period_file: Path | None) -> list[float]:
    """[CPUs] from one level's files, [] where they say no limit or are missing."""
    try:
        fields = quota_file.read_text(encoding="ascii").split()
        if period_file is not None:
            fields.append(period_file.read_text(encoding="ascii").strip())
        if fields[0] == "max":
            return []
        cpus = float(fields[0]) / float(fields[1])
        return [cpus] if math.isfinite(cpus) and cpus > 0 else []
    except (OSError, ValueError, IndexError, ZeroDivisionError, UnicodeDecodeError):
        return []
