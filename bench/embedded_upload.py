"""A local file into the embedded engine: HTTP multipart body vs. the file:// grant (issue 16, item 3).

Both go through the same client and engine as ``ai-music run`` (``runtime.backend.connect``,
local); each request includes what the engine does with any upload (probe, store by hash).
Alternating, so machine load hits both alike; the load average is printed beside the figures.

    .venv/bin/python bench/embedded_upload.py [FILE ...]
"""
from __future__ import annotations

import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from e2e import OUT  # noqa: E402

REPEATS = 3


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    from runtime.backend import connect
    from runtime.document import load_skill

    files = [Path(a) for a in sys.argv[1:]] or [OUT / "demo-60s-1080p.mp4"]
    skill = load_skill(Path(__file__).resolve().parent.parent / "SKILL.md")
    with tempfile.TemporaryDirectory() as tmp, connect(skill, "local", engine={"data_dir": Path(tmp) / "e"}) as conn:
        assert conn.backend.grant is not None
        ways = {"HTTP multipart body": lambda s, p: conn.client.upload_files(s.session_id, [p]),
                "file:// grant (clone/copy)": lambda s, p: conn.client.upload_urls(s.session_id, [conn.backend.grant(p)])}
        for path in files:
            times: dict[str, list[tuple[float, float]]] = {name: [] for name in ways}
            for _ in range(REPEATS):
                for name, way in ways.items():
                    wall, cpu = time.perf_counter(), _cpu()
                    conn.in_session(lambda s: way(s, path))  # noqa: B023 - called at once
                    times[name].append((time.perf_counter() - wall, _cpu() - cpu))
            print(f"{path.name} ({path.stat().st_size / 1e6:.0f} MB), median of {REPEATS}, "
                  f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}:")
            for name, rows in times.items():
                print(f"  {name:<28} {statistics.median(w for w, _ in rows):6.2f} s wall "
                      f"{statistics.median(c for _, c in rows):6.2f} CPU-s (this process: client + engine)")


if __name__ == "__main__":
    main()
