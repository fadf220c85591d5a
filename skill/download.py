"""Resumable downloads: ``<dest>.part`` plus a sidecar, Range/If-Range, never clobbering a file.

A 1080p render can be hundreds of megabytes over a slow link; an interrupted download is
resumed by the next command, and a part left by a *different* render is thrown away
instead of being glued onto this one.
"""
from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path
from typing import Any, Callable, Mapping
from urllib.parse import unquote, urlparse

import httpx

from skill import errors, settings
from skill.answers import backoff, error_from_response


def download(http: httpx.Client, url: str, dest: Path, progress: Callable[[int, int | None], None] | None = None,
         *, source: str | None = None, overwrite: bool = False, renumber: bool = False,
         headers: Callable[[Mapping[str, str]], dict[str, str]] = dict) -> Path:
    """Stream ``url`` into ``dest`` via ``dest.part``; a later call resumes it with Range.

    ``source`` names what is being fetched (a render id); the part file's sidecar records
    it with the server's validator, so a part left by a *different* render is thrown
    away instead of being glued onto this one, and If-Range makes a changed file restart.
    A file that appeared at ``dest`` meanwhile is never replaced unless ``overwrite``:
    with ``renumber`` the next free name is taken (the path returned says which).
    ``headers`` turns the Range/If-Range headers into the request's (adding the token for
    the API's own origin only).
    """
    part = PartFile(dest, source or url.split("?", 1)[0])
    dest.parent.mkdir(parents=True, exist_ok=True)
    attempt = 0
    while True:
        have, validator = part.resumable()
        extra = {"Range": f"bytes={have}-"} if have else {}
        if have and validator:
            extra["If-Range"] = validator
        try:
            _fetch(http, url, headers(extra), part, have, progress)
        except _Refused as exc:
            part.discard()
            raise errors.TransportError(f"download refused: {exc}") from None
        except _RestartDownload:
            part.discard()
            if attempt < settings.MAX_RETRIES:
                attempt += 1
                continue
            raise errors.TransportError("download failed: the server would not resume it; "
                                        "run the command again") from None
        except (httpx.HTTPError, errors.TransportError) as exc:
            if attempt < settings.MAX_RETRIES:
                attempt += 1
                backoff(attempt, None)
                continue
            raise errors.TransportError(f"download failed ({exc.__class__.__name__}); "
                                        "run the command again to resume it") from exc
        return part.finish(overwrite=overwrite, renumber=renumber)


def take_local(url: str, dest: Path, progress: Callable[[int, int | None], None] | None = None, *,
               source: str | None = None, overwrite: bool = False, renumber: bool = False) -> Path:
    """Copy the ``file://`` render of the engine embedded in this process into ``dest`` (via ``dest.part``,
    named as :func:`download` names it): ``shutil.copyfile`` copies in the kernel, where an HTTP download
    of the same bytes went through both ends of a socket in this one process. FileNotFoundError when the
    file is not there."""
    parsed = urlparse(url)
    if parsed.scheme != "file" or parsed.netloc not in ("", "localhost"):
        raise FileNotFoundError(url)
    part = PartFile(dest, source or url)
    part.discard()
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(unquote(parsed.path), part.path)
    size = part.size()
    if progress:
        progress(size, size)
    return part.finish(overwrite=overwrite, renumber=renumber)


def _fetch(http: httpx.Client, url: str, headers: Mapping[str, str], part: "PartFile", have: int,
           progress: Callable[[int, int | None], None] | None) -> None:
    """One GET into the part file; raises ``_RestartDownload`` when the part is unusable."""
    timeout = httpx.Timeout(settings.READ_TIMEOUT_S, connect=settings.CONNECT_TIMEOUT_S)
    with http.stream("GET", url, headers=headers, timeout=timeout, follow_redirects=True) as response:
        if response.status_code == 416:  # our part is not a prefix of what is there now
            raise _RestartDownload
        if response.status_code >= 400:
            response.read()
            raise error_from_response(response)
        if response.status_code not in (200, 206):
            raise errors.TransportError(f"download answered HTTP {response.status_code}, not the file")
        resumed = response.status_code == 206
        if resumed and _range_start(response.headers.get("content-range")) != have:
            raise _RestartDownload
        total = response.headers.get("content-length")
        expected = (int(total) + (have if resumed else 0)) if total and total.isdigit() else None
        validator = response.headers.get("etag") or response.headers.get("last-modified")
        limit = min(expected, settings.MAX_DOWNLOAD_BYTES) if expected is not None else settings.MAX_DOWNLOAD_BYTES
        deadline = time.monotonic() + settings.DOWNLOAD_DEADLINE_S  # stalls: the read timeout above
        with part.open(append=resumed, validator=validator) as fh:
            done = have if resumed else 0
            for chunk in response.iter_bytes(1 << 20):
                done += len(chunk)
                if done > limit:
                    raise _Refused(f"the server sent more than the {limit / 1024 ** 2:.0f} MB the download may be")
                if time.monotonic() > deadline:
                    raise _Refused(f"the download took longer than {settings.DOWNLOAD_DEADLINE_S / 60:.0f} min")
                fh.write(chunk)
                if progress:
                    progress(done, expected)
        if expected is not None and part.size() != expected:
            raise errors.TransportError("the download ended early")


class _Refused(Exception):
    """A download the server made unacceptable (too big, too long): not retried."""


class _RestartDownload(Exception):
    """The part file cannot be continued (416, or the server resumed at another offset)."""


def _range_start(content_range: str | None) -> int | None:
    """The first byte of ``Content-Range: bytes a-b/n``; None when absent or unreadable."""
    try:
        return int((content_range or "").split()[1].split("-")[0])
    except (IndexError, ValueError):
        return None


class PartFile:
    """``<dest>.part`` plus a sidecar saying which file it is a prefix of (and its validator)."""

    def __init__(self, dest: Path, source: str) -> None:
        self.dest = dest
        self.path = dest.with_name(dest.name + ".part")
        self.meta = dest.with_name(dest.name + ".part.json")
        self.source = source

    def resumable(self) -> tuple[int, str | None]:
        """Bytes already held for *this* source, and the validator to send with If-Range."""
        try:
            meta = json.loads(self.meta.read_text())
            size = self.path.stat().st_size
        except (OSError, ValueError):
            self.discard()
            return 0, None
        if not isinstance(meta, dict) or meta.get("source") != self.source:
            self.discard()
            return 0, None
        return size, meta.get("validator") if isinstance(meta.get("validator"), str) else None

    def open(self, *, append: bool, validator: str | None) -> Any:
        if not append:
            self.meta.write_text(json.dumps({"source": self.source, "validator": validator}))
        return self.path.open("ab" if append else "wb")

    def size(self) -> int:
        return self.path.stat().st_size

    def discard(self) -> None:
        self.path.unlink(missing_ok=True)
        self.meta.unlink(missing_ok=True)

    def finish(self, *, overwrite: bool, renumber: bool) -> Path:
        """Give the part its final name — without replacing a file someone put there meanwhile."""
        final, number = self.dest, 1
        while True:
            try:
                if overwrite:
                    os.replace(self.path, final)
                else:
                    rename_no_clobber(self.path, final)
                break
            except FileExistsError:
                if not renumber:
                    raise errors.LocalWriteError(
                        f"{final} appeared while rendering; not replaced",
                        user_message=f"{final} appeared while the video was rendering, so it was not replaced. "
                                     "Export again with another name (-o), or add --overwrite.") from None
                number += 1
                final = self.dest.with_name(f"{self.dest.stem}-{number}{self.dest.suffix}")
        self.meta.unlink(missing_ok=True)
        return final


def rename_no_clobber(src: Path, dst: Path) -> None:
    """Rename, failing with FileExistsError if ``dst`` exists (a hard link is atomic about it)."""
    try:
        os.link(src, dst)
    except FileExistsError:
        raise
    except OSError:  # no hard links on this file system (FAT, some network shares): check, then rename
        if dst.exists():
            raise FileExistsError(dst) from None
        os.replace(src, dst)
        return
    os.unlink(src)
