"""Reference recordings for bench/music_realism.py: produced music Debian packages, fetched by name.

Nothing here is committed: each package is fetched with ``apt-get download`` into the
cache directory the first time, unpacked with dpkg-deb, and excerpts are decoded with
ffmpeg (imageio-ffmpeg's binary) from the middle of each track.

  singularity-music  Endgame: Singularity's score, orchestral / ambient electronic,
                     by Max McCracken, CC-BY-SA 3.0 (its copyright file)
  drascula-music     Drascula's soundtrack, band-produced game music, Alcachofa Soft,
                     free redistribution licence (its copyright file)
"""
from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np

PACKAGES = {
    "singularity-music": ("usr/share/games/singularity/music", 10),
    "drascula-music": ("usr/share/scummvm/drascula/audio", 6),
}


def _fetch(package: str, cache: Path) -> Path:
    root = cache / package
    if not root.is_dir():
        cache.mkdir(parents=True, exist_ok=True)
        subprocess.run(["apt-get", "download", package], cwd=cache, check=True, capture_output=True)
        deb = next(cache.glob(f"{package}_*.deb"))
        subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
        deb.unlink()
    return root


def _excerpt(path: Path, sr: int, seconds: float) -> np.ndarray | None:
    import imageio_ffmpeg

    ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
    probe = subprocess.run([ffmpeg, "-i", str(path), "-f", "f32le", "-ac", "2", "-ar", str(sr), "-"],
                           capture_output=True, check=False)
    x = np.frombuffer(probe.stdout, dtype=np.float32).reshape(-1, 2)
    n = int(seconds * sr)
    if len(x) < n + sr:
        return None
    a = (len(x) - n) // 2
    return np.array(x[a:a + n])


def reference_tracks(cache: Path, sr: int, seconds: float) -> dict[str, list[tuple[str, np.ndarray]]]:
    """{package: [(track name, (n, 2) float32 excerpt)]}, up to the package's count of tracks."""
    out: dict[str, list[tuple[str, np.ndarray]]] = {}
    for package, (folder, count) in PACKAGES.items():
        root = _fetch(package, cache) / folder
        tracks = []
        for path in sorted(root.glob("*.ogg")):
            x = _excerpt(path, sr, seconds)
            if x is not None and np.abs(x).max() > 0.01:
                tracks.append((path.stem, x))
            if len(tracks) == count:
                break
        out[package] = tracks
    return out
