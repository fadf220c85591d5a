"""Uploading a 500 MB file to the local engine: throughput and the client's memory.

The client streams multipart bodies from disk, so its memory must not grow with the
file (target: peak RSS < 50 MB above its baseline). The file is sparse — 500 MB on paper,
nothing on disk — so the benchmark costs no disk space. The engine refuses it as media
after receiving it (it is all zeros), which is fine: the upload is what is measured. The
engine runs as its own process (``ai-music serve``), so this process's peak RSS is the
client's alone. The peer is ``curl -F files=@…`` to the same endpoint, in the same run.

    .venv/bin/python bench/upload.py [MB]
"""
from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _proc import served_engine  # noqa: E402

SIZE_MB = int(sys.argv[1]) if len(sys.argv) > 1 else 500


def main() -> None:
    from runtime.attribution import headers
    from runtime.document import load_skill
    from skill import errors
    from skill.client import Client

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.mp4"
        with path.open("wb") as fh:
            fh.truncate(SIZE_MB * 1024 * 1024)
        with served_engine(Path(tmp) / "engine") as engine:
            skill = load_skill(None)
            client = Client(engine.url, skill, headers(skill))
            client.token = client.anonymous_token("bench").token
            session = client.create_session("bench", "en")
            baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            started = time.perf_counter()
            try:
                client.upload_files(session.session_id, [path])
            except errors.UnsupportedFile:
                pass  # zeros are not a video; the bytes went through
            seconds = time.perf_counter() - started
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            curl = shutil.which("curl")
            curl_s = None
            if curl:
                t = time.perf_counter()
                # the token goes in on stdin (curl --config -), never on a command line `ps` shows
                subprocess.run([curl, "-s", "-o", os.devnull, "--config", "-",
                                "-F", f"files=@{path}", f"{engine.url}/api/upload-video/nemo_agent/me/"
                                                       f"{session.session_id}"],
                               input=f'header = "Authorization: Bearer {client.token}"\n', text=True, check=False)
                curl_s = time.perf_counter() - t
            client.close()
    print(f"upload of a {SIZE_MB} MB file to the local engine (loopback, engine in its own process)")
    print(f"ai-music client: {seconds:.2f} s = {SIZE_MB / seconds:.0f} MB/s; peak RSS of this process "
          f"{peak:.0f} MB, {peak - baseline:.1f} MB above the baseline before the upload (target < 50 MB)")
    if curl_s:
        print(f"peer: curl -F files=@…: {curl_s:.2f} s = {SIZE_MB / curl_s:.0f} MB/s")


if __name__ == "__main__":
    main()
