"""§3.2 Upload — files streamed from disk, or URLs; refused locally when the skill says so.

Before anything is sent, each file is checked against what the document states: it
exists, is a regular non-empty file, has an accepted extension (4001) and is within the
size limit (4002). A file the backend would refuse costs no upload time and no request.
Files go out in one multipart request (several ``files`` fields), read from disk in
chunks, so memory does not grow with file size.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

from skill import errors
from skill.actions import Output
from skill.client import UploadedFile
from skill.connection import Connection


@dataclass(frozen=True)
class UploadResult:
    files: tuple[UploadedFile, ...]
    text: str


def check_file(conn: Connection, raw: str) -> Path:
    """The path to upload, or :class:`~skill.errors.BadInput` saying why not."""
    path = Path(os.path.expanduser(raw))
    if not path.exists():
        raise errors.BadInput(f"{raw}: no such file")
    if path.is_dir():
        raise errors.BadInput(f"{raw} is a folder; send a video, image or audio file")
    if not path.is_file():
        raise errors.BadInput(f"{raw} is not a regular file")
    formats = conn.skill.formats
    ext = path.suffix.lower().lstrip(".")
    if formats.all and ext not in formats.all:
        raise errors.BadInput(f"{path.name}: .{ext or '?'} files are not supported — accepted formats: "
                              f"{', '.join(formats.all)}", code=4001)
    size = path.stat().st_size
    if size == 0:
        raise errors.BadInput(f"{path.name} is empty (0 bytes)")
    limit = conn.settings.max_upload_bytes
    if limit and size > limit:
        raise errors.BadInput(f"{path.name} is {size / 1024 / 1024:.0f} MB; the limit is {limit // 1024 // 1024} MB "
                              "— compress or trim it first", code=4002)
    return path


def check_url(raw: str) -> str:
    parsed = urlparse(raw)
    if parsed.scheme not in ("http", "https", "file") or (parsed.scheme != "file" and not parsed.netloc):
        raise errors.BadInput(f"{raw}: not a http(s):// or file:// URL")
    return raw


def _describe(f: UploadedFile) -> str:
    bits = [f.file_type or "file"]
    if f.duration:
        bits.append(f"{f.duration:.1f}s")
    if f.width and f.height:
        bits.append(f"{f.width}×{f.height}")
    line = f"📎 {f.filename} ({', '.join(bits)})"
    return f"{line}\n⚠️ {f.warning}" if f.warning else line


def _local_path(url: str) -> str | None:
    """The path a ``file://`` URL names on this machine (None for any other URL)."""
    parsed = urlparse(url)
    return unquote(parsed.path) if parsed.scheme == "file" and parsed.netloc in ("", "localhost") else None


def _granted(conn: Connection, path: Path) -> str | None:
    """The ``file://`` URL the embedded engine was granted for ``path``; None: send the bytes."""
    if conn.backend.grant is None:
        return None
    try:
        return conn.backend.grant(path)
    except Exception:  # noqa: BLE001 - not grantable (inside the engine's data dir): send it
        return None


def upload(conn: Connection, items: list[str], out: Output) -> UploadResult:
    """Upload local paths and URLs (checked first; nothing is sent if any check fails).

    A local file (a path or a ``file://`` URL) is the user's own: the engine embedded in this
    process is granted it and takes it straight from disk (a copy-on-write clone or an
    in-kernel copy, no HTTP body: issue 16); any other engine gets it uploaded, since a
    server never reads our disk."""
    urls = [check_url(i) for i in items if "://" in i and _local_path(i) is None]
    local = [check_file(conn, i if "://" not in i else str(_local_path(i))) for i in items
             if "://" not in i or _local_path(i) is not None]
    paths: list[Path] = []
    granted: list[Path] = []
    for path in local:
        url = _granted(conn, path)
        if url is None:
            paths.append(path)
        else:
            urls.append(url)
            granted.append(path)
    uploaded: list[UploadedFile] = []
    if paths:
        total = sum(p.stat().st_size for p in paths)
        sent = [0]

        def progress(n: int) -> None:
            sent[0] += n
            out.progress("Uploading", sent[0], total, "B")

        uploaded += conn.in_session(lambda s: conn.client.upload_files(s.session_id, paths, progress))
        conn.remember_inputs([str(p.resolve()) for p in paths])
    if urls:
        given = sum(p.stat().st_size for p in granted)
        if granted:  # the same phase a user sees for a sent file: the engine takes these in one go
            out.progress("Uploading", 0, given, "B")
        uploaded += conn.in_session(lambda s: conn.client.upload_urls(s.session_id, urls))
        if granted:
            out.progress("Uploading", given, given, "B")
        conn.remember_inputs([str(p.resolve()) for p in granted])
    lines = [_describe(f) for f in uploaded]
    return UploadResult(tuple(uploaded), "\n".join(lines) if lines else "Nothing was uploaded.")
