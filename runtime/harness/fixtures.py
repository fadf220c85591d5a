"""Media a scenario asks for, generated with the bundled ffmpeg and cached by spec.

``video: {seconds: 12, size: 1920x1080, audio: voice}`` becomes a real H.264/AAC file;
identical specs share one file (the cache key is the spec), so a suite of thirty
scenarios generates each clip once. Files appear atomically, so parallel workers that
generate the same fixture at once never read half a file.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from media.fixtures import VideoSpec, make_audio, make_image, make_video


def default_cache() -> Path:
    """``$XDG_CACHE_HOME/ai-music/fixtures``: shared by ``ai-music test`` and the pytest plugin."""
    return Path(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")) / "ai-music" / "fixtures"


def make_fixture(cache: Path, name: str, spec: dict[str, Any]) -> Path:
    kind = spec.get("kind", "video")
    fmt = spec.get("format") or {"video": "mp4", "audio": "wav", "image": "png", "file": "bin"}[kind]
    key = hashlib.sha256(json.dumps([kind, spec], sort_keys=True).encode()).hexdigest()[:16]
    target = cache / f"{name}-{key}.{fmt}"
    if target.exists():
        return target
    cache.mkdir(parents=True, exist_ok=True)
    tmp = cache / f".{target.name}.{os.getpid()}.{fmt}"
    try:
        if kind == "video":
            width, height = (int(x) for x in spec.get("size", "640x360").split("x"))
            make_video(tmp, VideoSpec(seconds=float(spec.get("seconds", 6)), width=width, height=height,
                                      fps=int(spec.get("fps", 30)), audio=spec.get("audio", "voice"),
                                      scene_seconds=spec.get("scenes")))
        elif kind == "audio":
            make_audio(tmp, float(spec.get("seconds", 5)), spec.get("audio", "tone"))
        elif kind == "image":
            width, height = (int(x) for x in spec.get("size", "1280x720").split("x"))
            make_image(tmp, width, height)
        else:
            with tmp.open("wb") as fh:
                if spec.get("sparse"):
                    fh.truncate(int(spec.get("bytes", 0)))
                else:
                    fh.write(b"\0" * int(spec.get("bytes", 0)))
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target
