"""Receiving media: multipart bodies streamed to disk, and ``file://``/loopback URLs.

A product demo can be hundreds of megabytes, so nothing is held in memory: multipart
parts are parsed as they arrive (python-multipart's streaming parser) and written
straight to a temporary file in the session's media folder, hashing on the way. The
500 MB limit is enforced *while* streaming — the request is refused the moment it is
crossed and the partial file removed (4002). Names from the client are only ever used
for display and for the extension: files are stored as ``<hash>.<ext>``, so no name
can traverse out of the folder. URLs are fetched only from this machine (``http(s)://127.0.0.1``,
and ``file://`` paths the in-process client attached, ``engine.local_files``): the engine never
reaches the network.
"""
from __future__ import annotations

import asyncio
import errno
import hashlib
import ipaddress
import os
import re
import secrets
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any, AsyncIterator, BinaryIO, Callable
from urllib.parse import unquote, urlparse

from engine.api.local_copy import TooLarge, copy_into
from engine.local_files import LocalFiles, NotGranted
from engine.permissions import private_opener
from protocol.codes import AppCode

CHUNK = 1 << 20
URL_DEADLINE_S = 600.0  # a whole loopback fetch; a server trickling bytes must not hold an upload for ever


class UploadRefused(Exception):
    """An upload the engine refuses; carries the protocol error code (4001/4002/400)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class Received:
    """One file on disk, not yet probed."""

    filename: str
    extension: str
    path: Path
    size: int
    sha256: str


def safe_filename(raw: str) -> str:
    """A display name from a client-supplied one: no directories, controls or NULs."""
    name = unicodedata.normalize("NFC", raw.replace("\x00", "")).replace("\\", "/").split("/")[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip().strip(".")
    if len(name) > 200:
        stem, dot, ext = name.rpartition(".")
        name = (stem[:180] + dot + ext[:10]) if dot else name[:200]
    return name or "upload"


def extension_of(name: str) -> str:
    match = re.search(r"\.([A-Za-z0-9]{1,8})$", name)
    return match.group(1).lower() if match else ""


class _Sink:
    """Writes one incoming file to a temp file, hashing and counting."""

    def __init__(self, folder: Path, filename: str, limit: int, used: int,
                 full: Callable[[], bool] = lambda: False) -> None:
        self.full = full
        self.filename = safe_filename(filename)
        self.extension = extension_of(self.filename)
        self.path = folder / f".incoming-{secrets.token_hex(8)}"
        self.fh = open(self.path, "wb", opener=private_opener)
        self.hash = hashlib.sha256()
        self.size = 0
        self.limit = limit
        self.used = used

    def write(self, data: bytes) -> None:
        self.size += len(data)
        if self.used + self.size > self.limit:
            raise UploadRefused(AppCode.FILE_TOO_LARGE, f"file too large: the limit is {self.limit // (1024 * 1024)} MB")
        if self.full():
            raise OSError(errno.ENOSPC, "No space left on device (simulated)")
        self.hash.update(data)
        self.fh.write(data)

    def close(self) -> Received:
        self.fh.close()
        return Received(self.filename, self.extension, self.path, self.size, self.hash.hexdigest())

    def discard(self) -> None:
        self.fh.close()
        self.path.unlink(missing_ok=True)


async def receive_multipart(body: AsyncIterator[bytes], content_type: str, folder: Path, limit: int,
                            full: Callable[[], bool] = lambda: False) -> list[Received]:
    """Stream the ``files`` parts of a multipart body into ``folder``.

    Raises :class:`UploadRefused` (4002 over the limit, 400 malformed); on any failure
    every partial file is removed.
    """
    from python_multipart.multipart import MultipartParser, parse_options_header

    _, params = parse_options_header(content_type)
    boundary = params.get(b"boundary")
    if not boundary:
        raise UploadRefused(AppCode.BAD_REQUEST, "multipart body without a boundary")
    folder.mkdir(parents=True, exist_ok=True)
    done: list[Received] = []
    state: dict[str, object] = {"sink": None, "field": b"", "value": b"", "headers": {}}

    def on_part_begin() -> None:
        state["headers"] = {}

    def on_header_field(data: bytes, start: int, end: int) -> None:
        state["field"] = bytes(state["field"]) + data[start:end]  # type: ignore[arg-type]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        state["value"] = bytes(state["value"]) + data[start:end]  # type: ignore[arg-type]

    def on_header_end() -> None:
        headers = state["headers"]
        assert isinstance(headers, dict)
        headers[bytes(state["field"]).lower()] = bytes(state["value"])  # type: ignore[arg-type]
        state["field"], state["value"] = b"", b""

    def on_headers_finished() -> None:
        headers = state["headers"]
        assert isinstance(headers, dict)
        _, options = parse_options_header(headers.get(b"content-disposition", b""))
        name = options.get(b"name", b"").decode("utf-8", "replace")
        filename = options.get(b"filename")
        if name == "files" and filename is not None:
            used = sum(r.size for r in done)
            state["sink"] = _Sink(folder, filename.decode("utf-8", "replace"), limit, used, full)

    def on_part_data(data: bytes, start: int, end: int) -> None:
        sink = state["sink"]
        if isinstance(sink, _Sink):
            sink.write(data[start:end])

    def on_part_end() -> None:
        sink = state["sink"]
        if isinstance(sink, _Sink):
            done.append(sink.close())
        state["sink"] = None

    parser = MultipartParser(boundary, {
        "on_part_begin": on_part_begin, "on_header_field": on_header_field, "on_header_value": on_header_value,
        "on_header_end": on_header_end, "on_headers_finished": on_headers_finished, "on_part_data": on_part_data,
        "on_part_end": on_part_end,
    })
    try:
        async for chunk in body:
            parser.write(chunk)
        parser.finalize()
    except (UploadRefused, OSError):
        _cleanup(state, done)
        raise
    except Exception as exc:  # malformed multipart from python-multipart
        _cleanup(state, done)
        raise UploadRefused(AppCode.BAD_REQUEST, f"malformed multipart body ({exc.__class__.__name__})") from exc
    except BaseException:  # the client went away mid-upload (cancelled): leave nothing behind
        _cleanup(state, done)
        raise
    if isinstance(state["sink"], _Sink):  # body ended inside a part
        _cleanup(state, done)
        raise UploadRefused(AppCode.BAD_REQUEST, "the upload was cut off before the file ended")
    return done


def _cleanup(state: dict[str, object], done: list[Received]) -> None:
    sink = state.get("sink")
    if isinstance(sink, _Sink):
        sink.discard()
    discard_all(done)
    done.clear()


def discard_all(received: list[Received]) -> None:
    """Remove files already taken in, when the request they came with is refused after all."""
    for item in received:
        item.path.unlink(missing_ok=True)


def _loopback(host: str | None, allowed: tuple[str, ...]) -> bool:
    if not host:
        return False
    if host in allowed:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


async def receive_urls(urls: list[Any], folder: Path, limit: int, allowed_hosts: tuple[str, ...], *,
                       local_files: LocalFiles | None) -> list[Received]:
    """Fetch every URL into ``folder``; the size limit counts them together, and if one fails
    the files already fetched are removed — a refused request leaves nothing behind."""
    done: list[Received] = []
    try:
        for url in urls:
            done.append(await receive_url(url, folder, limit, allowed_hosts, local_files=local_files,
                                          used=sum(r.size for r in done)))
    except BaseException:
        discard_all(done)
        raise
    return done


async def receive_url(url: Any, folder: Path, limit: int, allowed_hosts: tuple[str, ...], *,
                      local_files: LocalFiles | None, used: int = 0) -> Received:
    """Copy a granted ``file://`` path or fetch a loopback ``http(s)://`` URL into ``folder``.

    ``file://`` is read only by an engine holding ``local_files`` (the CLI's own, in its
    process) and only for files its user attached; any other engine refuses every one alike.
    """
    if not isinstance(url, str) or not url or "\x00" in url or len(url) > 8192:
        raise UploadRefused(AppCode.UNSUPPORTED_FILE, "not a usable URL")
    parsed = urlparse(url)
    folder.mkdir(parents=True, exist_ok=True)
    if parsed.scheme == "file":
        if local_files is None:
            raise UploadRefused(AppCode.UNSUPPORTED_FILE, str(NotGranted()))
        try:
            fh, name = local_files.open(url)
        except NotGranted as exc:
            raise UploadRefused(AppCode.UNSUPPORTED_FILE, str(exc)) from None
        return await asyncio.to_thread(_copy_file, fh, name, folder, limit, used)
    if parsed.scheme in ("http", "https"):
        if not _loopback(parsed.hostname, allowed_hosts):
            raise UploadRefused(AppCode.UNSUPPORTED_FILE, "the local engine only fetches URLs on this machine (127.0.0.1); "
                                      "download the file and send it instead")
        import httpx

        sink = _Sink(folder, os.path.basename(unquote(parsed.path)) or "download", limit, used)
        try:
            async with asyncio.timeout(URL_DEADLINE_S), httpx.AsyncClient(
                    timeout=httpx.Timeout(30.0), follow_redirects=False, trust_env=False) as client:
                async with client.stream("GET", url) as response:
                    if response.status_code != 200:
                        raise UploadRefused(AppCode.UNSUPPORTED_FILE, f"fetching the URL answered HTTP {response.status_code}")
                    async for chunk in response.aiter_bytes(CHUNK):
                        sink.write(chunk)
        except TimeoutError:
            sink.discard()
            raise UploadRefused(AppCode.UNSUPPORTED_FILE, f"fetching the URL took longer than {URL_DEADLINE_S / 60:g} min; "
                                      "download the file and send it instead") from None
        except httpx.HTTPError as exc:
            sink.discard()
            raise UploadRefused(AppCode.UNSUPPORTED_FILE, f"could not fetch the URL ({exc.__class__.__name__})") from exc
        except BaseException:
            sink.discard()
            raise
        return sink.close()
    raise UploadRefused(AppCode.UNSUPPORTED_FILE, f"unsupported URL scheme '{parsed.scheme}': use file:// or http://127.0.0.1")


def _copy_file(source: BinaryIO, name: str, folder: Path, limit: int, used: int) -> Received:
    """Take an opened local file in (on a worker thread: even a clone must not stall the server).

    Cloned or copied in the kernel (``engine.api.local_copy``), then hashed from the engine's
    own copy, so the hash is of exactly the bytes stored even if the user's file changes meanwhile."""
    filename = safe_filename(name)
    path = folder / f".incoming-{secrets.token_hex(8)}"
    try:
        with source as fh, open(path, "wb", opener=private_opener) as out:
            size = copy_into(fh, out, limit - used)
        with open(path, "rb") as stored:
            digest = hashlib.file_digest(stored, "sha256").hexdigest()
    except TooLarge:
        path.unlink(missing_ok=True)
        raise UploadRefused(AppCode.FILE_TOO_LARGE, f"file too large: the limit is {limit // (1024 * 1024)} MB") from None
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return Received(filename, extension_of(filename), path, size, digest)
