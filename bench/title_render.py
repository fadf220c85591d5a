"""A title on a 60 s 1080p clip: the smart render (only the GOPs under the title re-encoded)
beside the full re-encode it replaces (issue 16, item 1).

For two generated 60 s 1920x1080 30 fps H.264 inputs — camera-like (motion and grain at
10.7 Mbit/s, B-frames, as a phone writes it) and the demo of scenes — runs
``ai-music run CLIP "… and add a title 'Launch Day' for 3 seconds" -o OUT`` cold (whole
process: engine start, upload, analysis, music, render) with ``AI_MUSIC_SMART_RENDER=0``
(before: the whole picture re-encoded) and with the default (after), and prints wall time,
output size against the input's, whether ffmpeg decodes the output without a single error,
and how many of its frames are bit-identical to the input's. Targets: title ≤ 4 s whole
process, output ≤ 1.3× the input.

    .venv/bin/python bench/title_render.py
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _proc import measure  # noqa: E402
from e2e import EXE, OUT, TITLE_PROMPT, fresh_env  # noqa: E402


def frame_md5s(path: Path) -> list[str]:
    from media.ffmpeg import ffmpeg_exe

    out = subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(path), "-map", "0:v", "-f", "framemd5", "-"],
                         capture_output=True, text=True, check=True).stdout
    return [line.rsplit(",", 1)[1].strip() for line in out.splitlines() if line and not line.startswith("#")]


def decodes_clean(path: Path) -> bool:
    from media.ffmpeg import ffmpeg_exe

    proc = subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(path), "-f", "null", "-"],
                          capture_output=True, text=True)
    return proc.returncode == 0 and not proc.stderr.strip()


def main() -> None:
    from media.fixtures import VideoSpec, make_busy, make_video

    OUT.mkdir(parents=True, exist_ok=True)
    inputs = [("camera-like 1080p", OUT / "busy-60s-1080p.mp4"), ("demo 1080p", OUT / "demo-60s-1080p.mp4")]
    if not inputs[0][1].exists():
        print("generating the 60 s camera-like clip…", flush=True)
        make_busy(inputs[0][1], seconds=60, width=1920, height=1080, kbps=10_700)
    if not inputs[1][1].exists():
        print("generating the 60 s demo clip…", flush=True)
        make_video(inputs[1][1], VideoSpec(seconds=60, width=1920, height=1080, fps=30, audio="voice"))
    print(f"60 s 1920x1080 30 fps inputs, a 3 s title, {os.cpu_count()} cores, whole process cold")
    print(f"{'input':<19} {'render':<26} {'wall':>7} {'out MB':>7} {'× in':>6} {'clean':>6} {'frames = input':>15}")
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        for number, (name, source) in enumerate(inputs):
            source_md5 = frame_md5s(source)
            for label, smart in (("full re-encode (before)", "0"), ("smart render (after)", "1")):
                out = tmp / f"{number}-{smart}.mp4"
                env = {**fresh_env(tmp / f"{number}-{smart}"), "AI_MUSIC_SMART_RENDER": smart}
                ran = measure([EXE, "run", str(source), TITLE_PROMPT, "-o", str(out)], env=env)
                if ran.returncode != 0:
                    raise SystemExit(f"ai-music run failed on {source.name}:\n{ran.stderr}")
                md5 = frame_md5s(out)
                same = sum(a == b for a, b in zip(md5, source_md5))
                ratio = out.stat().st_size / source.stat().st_size
                print(f"{name:<19} {label:<26} {ran.seconds:6.1f}s {out.stat().st_size / 1e6:7.1f} {ratio:6.2f} "
                      f"{'yes' if decodes_clean(out) else 'NO':>6} {same:>7}/{len(source_md5)}", flush=True)
    print("targets: title ≤ 4 s whole process · output ≤ 1.3x the input · zero decode errors")


if __name__ == "__main__":
    main()
