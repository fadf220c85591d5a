"""Which local files an engine may read for a ``file://`` upload: only those its own user attached.

A ``file://`` URL hands the engine's disk to whoever sends it. An engine served to
others (``ai-music serve``) holds no :class:`LocalFiles` and never reads one; the engine
the CLI embeds in its own process gets one, and the CLI grants it each file the user
attached. A grant is the file itself (device and inode, taken when granted), so a
symlink swapped in later, ``..`` or ``%2e%2e`` in the URL, or a path into the engine's
own data dir (other users' renders and media) is never read. Every refusal says the
same thing, so a caller learns nothing about which paths exist.
"""
from __future__ import annotations

import os
import stat
import threading
from pathlib import Path
from typing import BinaryIO
from urllib.parse import unquote, urlparse

REFUSED = "this engine does not read file:// URLs it was not given; upload the file instead"


class NotGranted(Exception):
    """A ``file://`` URL the engine will not read; ``str()`` is :data:`REFUSED`, whatever the reason."""

    def __init__(self) -> None:
        super().__init__(REFUSED)


class LocalFiles:
    """The files the in-process client attached, as (device, inode) pairs; thread-safe."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(os.path.realpath(data_dir))
        self._granted: set[tuple[int, int]] = set()
        self._lock = threading.Lock()

    def grant(self, path: Path) -> str:
        """Allow the engine to read ``path`` (the user attached it); returns the URL to send."""
        real = Path(os.path.realpath(path))
        info = real.stat()
        if not stat.S_ISREG(info.st_mode) or self._inside_data_dir(real):
            raise NotGranted()
        with self._lock:
            self._granted.add((info.st_dev, info.st_ino))
        return Path(os.path.abspath(path)).as_uri()  # the name the user gave (a link's own) is the one shown

    def open(self, url: str) -> tuple[BinaryIO, str]:
        """The granted file a ``file://`` URL names, opened, and its display name; else :class:`NotGranted`."""
        parsed = urlparse(url)
        if parsed.scheme != "file" or parsed.netloc not in ("", "localhost") or parsed.query or parsed.fragment:
            raise NotGranted()
        given = unquote(parsed.path)
        real = Path(os.path.realpath(given))  # ``..``, %2e%2e and symlinks resolved
        if self._inside_data_dir(real):
            raise NotGranted()
        try:
            fd = os.open(real, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
        except OSError:
            raise NotGranted() from None
        info = os.fstat(fd)  # the file opened, not the name: a path swapped after the check is caught here
        with self._lock:
            granted = (info.st_dev, info.st_ino) in self._granted
        if not granted or not stat.S_ISREG(info.st_mode):
            os.close(fd)
            raise NotGranted()
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb"), os.path.basename(given)

    def _inside_data_dir(self, real: Path) -> bool:
        return real == self.data_dir or self.data_dir in real.parents
