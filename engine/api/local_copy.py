"""Taking a granted local file into the data dir without pushing its bytes through Python.

The embedded engine stores its own copy of the user's file (issue 16, item 3). A hard link
would be free, but it shares the user's inode: ``ffmpeg -y`` or an editor saving in place
would rewrite the stored media under a finished project (whose analysis and file id are
keyed by the old bytes), and making the engine's copy read-only would change the mode of
the user's own file. So the copy is a copy-on-write clone (``FICLONE``: no data copied on
btrfs, XFS, bcachefs; later edits of either side stay private), else an in-kernel
``copy_file_range`` (page cache to page cache, no trip through user space; a reflink too on
filesystems that do it there), else a plain read/write copy (another filesystem on an old
kernel).
"""
from __future__ import annotations

import errno
import fcntl
import os
from typing import BinaryIO

FICLONE = 0x40049409  # linux/fs.h: _IOW(0x94, 9, int)
CHUNK = 1 << 30
#: copy_file_range cannot do it here (not this filesystem pair, not this kernel): copy it in user space
_NOT_HERE = {errno.EXDEV, errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL, errno.ENOTTY, errno.EBADF, errno.EPERM}


class TooLarge(Exception):
    """The file grew past the size allowed while it was being copied."""


def copy_into(source: BinaryIO, target: BinaryIO, limit: int) -> int:
    """Copy ``source`` into the empty ``target`` by the cheapest safe means; the bytes copied.

    Raises :class:`TooLarge` as soon as more than ``limit`` bytes arrive (a file still being written)."""
    src, dst = source.fileno(), target.fileno()
    size = os.fstat(src).st_size
    if size > limit:
        raise TooLarge()
    try:
        fcntl.ioctl(dst, FICLONE, src)
        if os.fstat(dst).st_size <= limit:
            return os.fstat(dst).st_size
        raise TooLarge()
    except OSError:
        pass  # not a reflinking filesystem, or another one: copy
    copied = 0
    try:
        while n := os.copy_file_range(src, dst, min(CHUNK, limit + 1 - copied)):
            copied += n
            if copied > limit:
                raise TooLarge()
        return copied
    except OSError as exc:
        if exc.errno not in _NOT_HERE or copied:
            raise
    # refused before copying anything (both offsets still at 0): copy in user space
    while chunk := source.read(1 << 20):
        copied += len(chunk)
        if copied > limit:
            raise TooLarge()
        target.write(chunk)
    return copied

