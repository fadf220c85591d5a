"""The main job end to end, beside its peers (issue: "Real media, real numbers").

For two generated 60 s 1920x1080 30 fps H.264 clips with a voice-like track — a busy product
demo (a cut every 4-7 s, test patterns) and a talking head (one shot, still backdrop, a figure
that barely moves, webcam bitrate):

1. ``ai-music run VIDEO PROMPT`` — cold, whole process, fresh config and data dirs
   (embedded engine start, upload, analysis, composition, mix, render, download);
2. the same with a title overlay (smart render: only the GOPs under the title re-encoded);
3. moviepy doing the mux part of the job (``VideoFileClip(...).with_audio(
   CompositeAudioClip([...]))`` + ``write_videofile``), given our finished music WAV;
4. a plain ffmpeg stream-copy mux of the same WAV (the physical floor);
5. ``ai-music run`` on 20 s of 4K60 (re-encoded to 1080p60: the big-input case).

``--quick`` leaves out moviepy, the 4K60 run and the size/quality table; ``AI_MUSIC_TREE=CHECKOUT``
runs that checkout's code (its own first on ``sys.path``, as bench/revisions.py does) — together,
before/after figures of two revisions in the same period.

Prints wall time, ratios, peak RSS (whole process tree), the music synthesis real-time
factor, and where the fast path's seconds go, phase by phase (``bench/phases.py``).
Targets on a 2-core machine (issue 16): fast path ≤ 2.5 s and ≥ 15× faster than moviepy;
with a title ≤ 4 s; peak RSS ≤ 300 MB; 20 s of 4K60 ≤ 20 s; synthesis ≥ 50× real time.

Then the re-encode's size and quality on three 60 s inputs — the demo, camera-like 1080p
(motion and grain, 10.7 Mbit/s ≈ 80 MB, as a phone writes it) and the same at 640x360
(1.9 Mbit/s ≈ 14 MB, upscaled onto the 1080p canvas): ``ai-music run`` with a title beside
plain ``ffmpeg -c:v libx264`` (its defaults: medium, CRF 23) fitting the same input onto the
same canvas. Size next to the input's; SSIM and PSNR against the input laid out on the
canvas, from 3.5 s on (after the title): what the encoder lost. Targets: ≤ 1.3× the input
(or ~8 Mbit/s at 1080p30, whichever is lower), SSIM ≥ 0.98.

    .venv/bin/pip install -e '.[bench]' && .venv/bin/python bench/e2e.py
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _proc import CLI_ENTRY, measure  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
TREE = os.environ.get("AI_MUSIC_TREE")
# `ai-music` as installed, or the CLI of another checkout (AI_MUSIC_TREE) with this virtualenv
EXE = str(Path(sys.executable).parent / "ai-music") if not TREE else [sys.executable, "-c", CLI_ENTRY]


def ours(*args: str) -> list[str]:
    """The command line of ``ai-music ARGS``."""
    return [*([EXE] if isinstance(EXE, str) else EXE), *args]
PROMPT = "generate background music that matches the mood and length of my video"
TITLE_PROMPT = PROMPT + " and add a title 'Launch Day' for 3 seconds"


def fresh_env(tmp: Path) -> dict[str, str]:
    env = dict(os.environ)
    for name in ("NEMO_TOKEN", "NEMO_API_URL"):
        env.pop(name, None)
    env.update(XDG_CONFIG_HOME=str(tmp / "config"), XDG_DATA_HOME=str(tmp / "data"),
               XDG_CACHE_HOME=str(tmp / "cache"))
    if TREE:
        env["PYTHONPATH"] = TREE
    return env


def load_average() -> str:
    """The machine's 1/5/15-minute load: on a shared machine a figure means little without it."""
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def moviepy_job(video: Path, music: Path, out: Path) -> str:
    return f"""
from moviepy import VideoFileClip, AudioFileClip, CompositeAudioClip
clip = VideoFileClip({str(video)!r})
music = AudioFileClip({str(music)!r}).with_volume_scaled(0.35)
clip = clip.with_audio(CompositeAudioClip([clip.audio, music]))
clip.write_videofile({str(out)!r}, codec="libx264", audio_codec="aac", logger=None)
"""


def clips() -> list[tuple[str, Path]]:
    """The fast path's inputs, generated once into bench/out: (name, path)."""
    from media.fixtures import VideoSpec, make_talking_head, make_video

    OUT.mkdir(parents=True, exist_ok=True)
    demo, talking = OUT / "demo-60s-1080p.mp4", OUT / "talking-60s-1080p.mp4"
    if not demo.exists():
        print("generating the 60 s 1080p test video…", flush=True)
        make_video(demo, VideoSpec(seconds=60, width=1920, height=1080, fps=30, audio="voice"))
    if not talking.exists():
        print("generating the 60 s 1080p talking head…", flush=True)
        make_talking_head(talking)
    return [("busy demo (cuts, test patterns)", demo), ("talking head (one shot, voice)", talking)]


def clip_rows(video: Path, tmp: Path, quick: bool) -> list[tuple[str, float, float]]:
    """Our fast path and title path on ``video`` beside the floor and moviepy given our music."""
    from media.ffmpeg import ffmpeg_exe

    rows: list[tuple[str, float, float]] = []
    fast = measure(ours("run", str(video), PROMPT, "-o", str(tmp / "fast.mp4")), env=fresh_env(tmp / "a"))
    if fast.returncode != 0:
        raise SystemExit(f"ai-music run failed:\n{fast.stderr}")
    rows.append(("ai-music run (fast path, cold)", fast.seconds, fast.peak_rss_mb))
    titled = measure(ours("run", str(video), TITLE_PROMPT, "-o", str(tmp / "title.mp4")), env=fresh_env(tmp / "b"))
    rows.append(("ai-music run + title (smart render)", titled.seconds, titled.peak_rss_mb))
    # the peers get a given music file: the soundtrack of our own output, extracted untimed
    music = tmp / "music.wav"
    subprocess.run([ffmpeg_exe(), "-loglevel", "error", "-i", str(tmp / "fast.mp4"), "-vn", "-y", str(music)],
                   check=True)
    floor = measure([ffmpeg_exe(), "-loglevel", "error", "-i", str(video), "-i", str(music), "-map", "0:v",
                     "-map", "1:a", "-c:v", "copy", "-c:a", "aac", "-shortest", "-y", str(tmp / "floor.mp4")])
    rows.append(("ffmpeg stream-copy mux (floor)", floor.seconds, floor.peak_rss_mb))
    if quick:
        return rows
    try:
        import moviepy  # noqa: F401
    except ImportError:
        print("moviepy not installed: .venv/bin/pip install -e '.[bench]' to include it")
        return rows
    peer = measure([sys.executable, "-c", moviepy_job(video, music, tmp / "moviepy.mp4")])
    if peer.returncode == 0:
        rows.append(("moviepy with_audio + write_videofile", peer.seconds, peer.peak_rss_mb))
    else:
        print(f"moviepy failed: {peer.stderr.strip().splitlines()[-1:]}")
    return rows


def print_rows(title: str, rows: list[tuple[str, float, float]]) -> None:
    print(f"\n{title}")
    print(f"{'job':<40} {'wall':>8} {'peak RSS':>10}   (load average {load_average()})")
    for name, seconds, rss in rows:
        print(f"{name:<40} {seconds:7.2f}s {rss:8.0f} MB")
    by_name = {name: seconds for name, seconds, _ in rows}
    fast_s = by_name.get("ai-music run (fast path, cold)")
    if fast_s is None:
        return
    if "moviepy with_audio + write_videofile" in by_name:
        print(f"moviepy / ai-music fast path: {by_name['moviepy with_audio + write_videofile'] / fast_s:.1f}x")
    print(f"ai-music fast path / ffmpeg floor: {fast_s / by_name['ffmpeg stream-copy mux (floor)']:.1f}x")


def main() -> None:
    from media.fixtures import VideoSpec, make_video
    from media.probe import probe

    quick = "--quick" in sys.argv[1:]
    inputs = clips()
    tables: list[tuple[str, list[tuple[str, float, float]]]] = []
    rows: list[tuple[str, float, float]] = []
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        for number, (name, video) in enumerate(inputs):
            (tmp / f"c{number}").mkdir()
            tables.append((name, clip_rows(video, tmp / f"c{number}", quick)))
        info = probe(tmp / "c0" / "fast.mp4")
        shutil.copy(tmp / "c0" / "fast.mp4", OUT / "e2e-fast.mp4")
        shutil.copy(tmp / "c0" / "title.mp4", OUT / "e2e-title.mp4")
        if quick:
            for name, clip_table in tables:
                print_rows(f"60 s 1920x1080 30 fps H.264, {name}, {os.cpu_count()} cores", clip_table)
            return
        uhd = OUT / "uhd60-20s.mp4"
        if not uhd.exists():
            print("generating the 20 s 4K60 test video…", flush=True)
            make_video(uhd, VideoSpec(seconds=20, width=3840, height=2160, fps=60, audio="voice"))
        big = measure(ours("run", str(uhd), PROMPT, "-o", str(tmp / "uhd.mp4")), env=fresh_env(tmp / "u"))
        if big.returncode != 0:
            raise SystemExit(f"ai-music run failed on 4K60:\n{big.stderr}")
        rows.append(("20 s 4K60 → 1080p60 (ai-music run)", big.seconds, big.peak_rss_mb))

    video = inputs[0][1]
    from engine.analysis.analyze import analyze
    from engine.music import Brief, Cues, make_music

    analysis = analyze(video)
    cues = Cues(duration_s=60.0, cuts=analysis.scene_cuts, energy=analysis.energy, pace=analysis.pace,
                speech=analysis.speech)
    make_music(Brief(seed=1), cues)  # warm imports and caches
    started = time.perf_counter()
    for seed in range(3):
        make_music(Brief(seed=seed), cues)
    per_piece = (time.perf_counter() - started) / 3

    for number, (name, clip_table) in enumerate(tables):
        output = (f"; output {info.video.width}x{info.video.height} {info.video.codec}+{info.audio.codec}, "
                  f"{info.duration_s:.2f} s") if number == 0 else ""
        print_rows(f"60 s 1920x1080 30 fps H.264, {name}, {os.cpu_count()} cores{output}", clip_table)
    print_rows("big input", rows)
    print(f"music synthesis (compose+synthesize+master, 60 s): {per_piece:.2f} s = {60 / per_piece:.0f}x real time")
    print("targets: fast ≤ 2.5 s · ≥ 15x moviepy · title ≤ 4 s · RSS ≤ 300 MB · 4K60 20 s ≤ 20 s · synthesis ≥ 50x")
    from phases import print_breakdown

    for _, clip in inputs:
        print_breakdown(clip, PROMPT)
    size_and_quality(video)


FIT = ("scale=1920:1080:force_original_aspect_ratio=decrease,pad=1920:1080:(ow-iw)/2:(oh-ih)/2,setsar=1,"
       "format=yuv420p")


def compare(out: Path, source: Path, from_s: float = 3.5) -> tuple[float, float]:
    """SSIM and PSNR (dB) of ``out`` against ``source`` fitted onto the 1080p canvas, from ``from_s`` on."""
    import re

    from media.ffmpeg import ffmpeg_exe

    graph = (f"[0:v]trim=start={from_s},setpts=PTS-STARTPTS,split[a1][a2];"
             f"[1:v]{FIT},trim=start={from_s},setpts=PTS-STARTPTS,split[b1][b2];[a1][b1]ssim;[a2][b2]psnr")
    log = subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", str(out), "-i", str(source),
                          "-filter_complex", graph, "-f", "null", "-"], capture_output=True, text=True).stderr
    ssim = re.search(r"All:([\d.]+)", log)
    psnr = re.search(r"average:([\d.]+|inf)", log)
    return (float(ssim.group(1)) if ssim else float("nan")), (float(psnr.group(1)) if psnr else float("nan"))


def size_and_quality(demo: Path) -> None:
    from media.ffmpeg import ffmpeg_exe
    from media.fixtures import make_busy

    inputs = [("demo 1080p (generated scenes)", demo)]
    for name, width, height, kbps in (("camera-like 1080p", 1920, 1080, 10_700), ("camera-like 360p", 640, 360, 1_900)):
        path = OUT / f"busy-60s-{height}p.mp4"
        if not path.exists():
            print(f"generating the 60 s {width}x{height} camera-like clip…", flush=True)
            make_busy(path, seconds=60, width=width, height=height, kbps=kbps)
        inputs.append((name, path))
    print("\nre-encode with a title, 60 s inputs → 1920x1080 (SSIM/PSNR against the input on the canvas, "
          "after the title)")
    print(f"{'input':<31} {'in MB':>7} {'job':<28} {'out MB':>7} {'× in':>6} {'SSIM':>7} {'PSNR':>6} {'wall':>7}")
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        for number, (name, source) in enumerate(inputs):
            out_path = tmp / f"ours{number}.mp4"
            ran = measure(ours("run", str(source), TITLE_PROMPT, "-o", str(out_path)),
                          env=fresh_env(tmp / f"s{number}"))
            if ran.returncode != 0:
                raise SystemExit(f"ai-music run failed on {source.name}:\n{ran.stderr}")
            peer = tmp / f"peer{number}.mp4"
            plain = measure([ffmpeg_exe(), "-loglevel", "error", "-i", str(source), "-vf", FIT, "-c:v", "libx264",
                             "-c:a", "aac", "-y", str(peer)])
            size_in = source.stat().st_size / 1e6
            for job, out, seconds in (("ai-music run + title", out_path, ran.seconds),
                                      ("ffmpeg libx264 defaults", peer, plain.seconds)):
                ssim, psnr = compare(out, source)
                size = out.stat().st_size / 1e6
                print(f"{name:<31} {size_in:7.1f} {job:<28} {size:7.1f} {size / size_in:6.2f} {ssim:7.4f} "
                      f"{psnr:6.1f} {seconds:6.1f}s", flush=True)
    print("targets: ≤ 1.3x the input (or ~8 Mbit/s ≈ 60 MB a minute at 1080p30, whichever is lower) · SSIM ≥ 0.98")


if __name__ == "__main__":
    main()
