"""The engine's data dir is its users' private data: only the engine's own account may read it.

It holds every user's uploads and renders, the token hashes, and what identifies a client;
a world-readable dir (755 folders, 644 files) handed all of it to every account on the
machine. The root is 0700 (nothing inside is reachable by others whatever its mode), the
files the engine writes are created 0600, and a data dir made by an older engine is
tightened once at start-up. ``ai-music serve`` also runs with umask 077, so what ffmpeg
writes is private as well.
"""
from __future__ import annotations

import os
import stat
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600
PRIVATE_UMASK = 0o077


def secure_tree(root: Path) -> None:
    """Create ``root`` 0700 and take group and other permissions off everything in it (links untouched)."""
    root.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
    _tighten(root, DIR_MODE)
    for folder, dirs, files in os.walk(root):
        for name in dirs:
            _tighten(Path(folder) / name, DIR_MODE)
        for name in files:
            _tighten(Path(folder) / name, FILE_MODE)


def _tighten(path: Path, mode: int) -> None:
    try:
        info = os.lstat(path)
        if not stat.S_ISLNK(info.st_mode) and info.st_mode & 0o077:
            os.chmod(path, stat.S_IMODE(info.st_mode) & ~0o077 | (mode & 0o700))
    except OSError:
        pass  # gone meanwhile, or not ours: the 0700 root still keeps it private


def private_opener(path: str, flags: int) -> int:
    """``open(..., opener=private_opener)``: a new file is created 0600, whatever the umask."""
    return os.open(path, flags, FILE_MODE)
