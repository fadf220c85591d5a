"""How many cores the engine sizes its threads and processes for, in a container with a CPU quota."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

import media.cores as cores


def _tree(tmp_path: Path, proc: str, files: dict[str, str]) -> tuple[Path, Path]:
    root = tmp_path / "cgroup"
    root.mkdir(parents=True)
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    (tmp_path / "proc-cgroup").write_text(proc)
    return root, tmp_path / "proc-cgroup"


def _pinned(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, proc: str, files: dict[str, str], cpus: int = 64) -> int:
    """usable_cpus() for a process on ``cpus`` cores whose cgroup files are ``files``."""
    root, proc_file = _tree(tmp_path, proc, files)
    monkeypatch.setattr(cores, "CGROUP_ROOT", root)
    monkeypatch.setattr(cores, "PROC_CGROUP", proc_file)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(cpus)), raising=False)
    return cores.usable_cpus()


def test_a_pod_limited_to_two_cpus_of_a_64_core_node_sizes_everything_for_two(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """cgroup v2 (Kubernetes, Docker ``--cpus 2``): cpu.max says 200000 µs per 100000 µs period."""
    assert _pinned(monkeypatch, tmp_path, "0::/kubepods/pod1/engine\n",
                   {"kubepods/pod1/engine/cpu.max": "200000 100000\n", "cpu.max": "max 100000\n"}) == 2
    from engine.export.render_queue import encoder_threads

    assert encoder_threads({"d": 3000}, running=1) == 1  # a short render beside another: half of 2, not of 64
    assert encoder_threads({"d": 3000}, running=0) == 2  # alone: told 2, where x264's own choice would count 64


def test_a_tighter_limit_above_the_process_s_own_cgroup_binds_and_part_of_a_cpu_counts_whole(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert _pinned(monkeypatch, tmp_path, "0::/a/b\n", {"a/b/cpu.max": "max 100000\n", "a/cpu.max": "150000 100000\n"}) == 2
    assert _pinned(monkeypatch, tmp_path / "half", "0::/\n", {"cpu.max": "50000 100000\n"}) == 1  # never 0


def test_cgroup_v1_quota_and_no_limit_at_all(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    v1 = "4:cpu,cpuacct:/docker/abc\n3:memory:/docker/abc\n0::/\n"
    assert _pinned(monkeypatch, tmp_path, v1, {"cpu,cpuacct/docker/abc/cpu.cfs_quota_us": "100000\n",
                                               "cpu,cpuacct/docker/abc/cpu.cfs_period_us": "100000\n"}) == 1
    assert _pinned(monkeypatch, tmp_path / "none", v1, {"cpu,cpuacct/docker/abc/cpu.cfs_quota_us": "-1\n",
                                                        "cpu,cpuacct/docker/abc/cpu.cfs_period_us": "100000\n"}, cpus=6) == 6


def test_unreadable_or_odd_cgroup_files_leave_the_affinity_s_count(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert _pinned(monkeypatch, tmp_path, "0::/x\n", {"x/cpu.max": "lots\n"}, cpus=3) == 3
    for odd in ("inf 100000", "nan 100000", "100000 0", "-5 100000"):
        assert _pinned(monkeypatch, tmp_path / odd.split()[0], "0::/x\n", {"x/cpu.max": odd}, cpus=3) == 3
    # a cgroup outside this namespace (path with ..): the namespace root's limit is not the process's
    assert _pinned(monkeypatch, tmp_path / "outside", "0::/../../other\n", {"cpu.max": "100000 100000"}, cpus=3) == 3
    assert _pinned(monkeypatch, tmp_path / "none", "garbage", {}, cpus=3) == 3
    monkeypatch.setattr(cores, "PROC_CGROUP", tmp_path / "missing")
    assert cores.usable_cpus() == 3
