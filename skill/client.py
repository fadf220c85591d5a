"""The NemoVideo backend, one method per endpoint (PROTOCOL.md "Endpoints").

This layer speaks HTTP and reads answers tolerantly; it does not decide *policy* (which
errors to recover from and how — that is ``skill.connection``). It does own the safe
retries: idempotent calls (GETs, polls, downloads) are retried on transport errors and
5xx with exponential back-off and jitter; a POST that creates something is never
retried here, and a chat message is never re-sent at all (double charge).

Every request carries the attribution headers; every request but the anonymous-token
call carries the bearer token — in a header, never in a URL. Downloads send the token
only to the API's own origin, never to a CDN.
"""
from __future__ import annotations

import contextlib
import email.utils
import json
import math
import mimetypes
import os
import queue
import random
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping
from urllib.parse import urljoin, urlparse

import httpx

from runtime.skillfile import Skill
from skill import errors, settings
from skill.events import StreamEvent, parse
from skill.sse import Decoder, TooLarge, lines

CANONICAL_PATHS = {
    "auth": "/api/auth/anonymous-token",
    "claim": "/api/auth/claim-token",
    "session": "/api/tasks/me/with-session/nemo_agent",
    "chat": "/run_sse",
    "upload": "/api/upload-video/nemo_agent/me/{session_id}",
    "credits": "/api/credits/balance/simple",
    "state": "/api/state/nemo_agent/me/{session_id}/latest",
    "render": "/api/render/proxy/lambda",
    "poll": "/api/render/proxy/lambda/{render_id}",
    "cancel": "/api/render/proxy/lambda/{render_id}/cancel",
    "download": "/api/render/proxy/{render_id}/download",
    # not in the cloud protocol: the embedded engine frees a finished project's files (ai-music run)
    "release": "/api/session/nemo_agent/me/{session_id}",
}
RequestHook = Callable[[dict[str, Any]], None]


@dataclass(frozen=True)
class TokenInfo:
    token: str
    user_id: str | None
    expires_at: str | None
    credits: int | None


@dataclass(frozen=True)
class SessionInfo:
    session_id: str
    task_id: str | None
    user_id: str | None


@dataclass(frozen=True)
class Credits:
    available: int | None
    frozen: int | None
    total: int | None
    unlimited: bool = False  # the backend does not meter (an engine on your own machine)


@dataclass(frozen=True)
class RenderStatus:
    id: str
    status: str           # pending | processing | completed | failed | cancelled | unknown
    progress: int | None
    output_url: str | None
    error: str | None
    stage: str | None = None  # what the backend is doing now ("mixing", "encoding video"), if it says


@dataclass(frozen=True)
class UploadedFile:
    filename: str
    file_type: str | None
    cdn_url: str | None
    duration: float | None
    width: int | None
    height: int | None
    fps: float | None


MAX_RETRY_AFTER_S = 120.0  # as openai-python: a server's "come back in 28 hours" is not obeyed


def _retry_after(value: str | None) -> float | None:
    """The wait a ``Retry-After`` asks for, at most 120 s; junk (``inf``, ``nan``, a bad date) is no hint."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:  # an HTTP date; a malformed one means "no hint", not a crash
            parsed = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        seconds = parsed.timestamp() - time.time()
    if not math.isfinite(seconds):
        return None
    return min(MAX_RETRY_AFTER_S, max(0.0, seconds))


def _app_code(value: Any) -> int | None:
    """An envelope's ``code`` as a number (some variants send "2001"); 0 and junk mean none."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value or None
    if isinstance(value, str) and value.strip().isdigit():
        return int(value) or None
    return None


def _num(value: Any) -> float | None:
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


class _CountingFile:
    """A file object that reports how much of it was read (upload progress)."""

    def __init__(self, path: Path, on_read: Callable[[int], None]) -> None:
        self._fh = path.open("rb")
        self._on_read = on_read

    def read(self, size: int = -1) -> bytes:
        chunk = self._fh.read(size)
        self._on_read(len(chunk))
        return chunk

    def fileno(self) -> int:
        return self._fh.fileno()

    def seek(self, *args: Any) -> int:
        return self._fh.seek(*args)

    def tell(self) -> int:
        return self._fh.tell()

    def close(self) -> None:
        self._fh.close()


_END = object()


class ChatStream:
    """A live ``/run_sse`` stream, read on a thread so the caller can wake up on a timer.

    ``get(timeout)`` returns the next :class:`StreamEvent`, ``None`` when nothing arrived
    within ``timeout`` (time for a "still working" notice), or raises
    :class:`~skill.errors.StreamDropped` if the connection broke. ``closed`` turns True
    when the backend ended the stream normally.
    """

    def __init__(self, client: httpx.Client, request: httpx.Request) -> None:
        self._queue: "queue.Queue[Any]" = queue.Queue()
        self._client = client
        self._request = request
        self._response: httpx.Response | None = None
        self._stop = threading.Event()
        self.closed = False
        self._ready = threading.Event()
        self._open_error: BaseException | None = None
        self._thread = threading.Thread(target=self._read, daemon=True, name="sse-reader")
        self._thread.start()
        self._ready.wait()
        if self._open_error is not None:
            raise self._open_error

    def _read(self) -> None:
        try:
            self._open()
        except BaseException as exc:  # whatever happened, the caller must not wait forever
            if self._open_error is None:
                self._open_error = errors.TransportError(f"could not open the stream ({exc.__class__.__name__})")
            self._ready.set()
            return
        if self._response is not None:
            self._pump(self._response)

    def _open(self) -> None:
        """Send the request; on success leave ``_response`` set, else ``_open_error``."""
        try:
            response = self._client.send(self._request, stream=True)
        except httpx.HTTPError as exc:
            self._open_error = errors.TransportError(f"could not reach the backend ({exc.__class__.__name__})")
            self._ready.set()
            return
        if response.status_code >= 400 or "text/event-stream" not in response.headers.get("content-type", ""):
            try:
                response.read()
                self._open_error = _error_from_response(response)
            except httpx.HTTPError as exc:
                self._open_error = errors.TransportError(f"the backend connection failed ({exc.__class__.__name__})")
            finally:
                response.close()
            self._ready.set()
            return
        self._response = response
        self._ready.set()

    def _pump(self, response: httpx.Response) -> None:
        decoder = Decoder()
        try:
            for line in lines(response.iter_text()):
                if self._stop.is_set():
                    return
                raw = decoder.feed(line)
                if raw is not None:
                    for event in parse(raw):
                        self._queue.put(event)
            last = decoder.flush()
            if last is not None:
                for event in parse(last):
                    self._queue.put(event)
            self._queue.put(_END)
        except TooLarge as exc:  # a hostile stream: the turn fails, nothing is retried
            if not self._stop.is_set():
                self._queue.put(errors.ProtocolError(str(exc)))
        except Exception as exc:  # a broken stream must reach the reader, never hang it
            if not self._stop.is_set():
                self._queue.put(errors.StreamDropped(f"the stream broke ({exc.__class__.__name__})"))
        finally:
            response.close()

    def get(self, timeout: float) -> StreamEvent | None:
        if self.closed:
            return None
        try:
            item = self._queue.get(timeout=max(0.0, timeout))
        except queue.Empty:
            return None
        if item is _END:
            self.closed = True
            return None
        if isinstance(item, BaseException):
            self.closed = True
            raise item
        return item

    def close(self) -> None:
        self._stop.set()
        if self._response is not None:
            self._response.close()


def _error_from_response(response: httpx.Response) -> errors.ApiError:
    status = response.status_code
    retry = _retry_after(response.headers.get("retry-after"))
    body: Any = None
    try:
        body = response.json()
    except ValueError:
        body = None
    code, message = status, f"HTTP {status}"
    if isinstance(body, dict):
        code = _app_code(body.get("code")) or status
        message = str(body.get("message") or body.get("msg") or body.get("error") or message)
    return errors.api_error(code, message, http_status=status, retry_after=retry, body=body)


class Client:
    def __init__(self, base_url: str, skill: Skill, attribution: Mapping[str, str], *,
                 transport: httpx.BaseTransport | None = None, hooks: Iterable[RequestHook] = ()) -> None:
        self.base_url = base_url.rstrip("/")
        self.skill = skill
        self.attribution = dict(attribution)
        self.token: str | None = None
        self.user_id: str | None = None
        self.hooks = list(hooks)
        timeout = httpx.Timeout(settings.READ_TIMEOUT_S, connect=settings.CONNECT_TIMEOUT_S)
        self.http = httpx.Client(timeout=timeout, transport=transport, trust_env=False,
                                 headers={"User-Agent": "ai-music/0.1"},
                                 event_hooks={"response": [self._on_response]} if self.hooks else None)

    def close(self) -> None:
        self.http.close()

    # ------------------------------------------------------------------ plumbing

    def path(self, name: str, **values: str) -> str:
        endpoint = self.skill.endpoint(name)
        template = endpoint.path if endpoint else CANONICAL_PATHS[name]
        if name == "render" and endpoint is not None and endpoint.path.endswith("/draft"):
            template = CANONICAL_PATHS["render"]  # the old draft endpoint is gone; lambda is live
        values.setdefault("user_id", self.user_id or "me")
        path = template.replace("{user_id}", values["user_id"])
        for key, value in values.items():
            path = path.replace("{" + key + "}", value)
        return path

    def headers(self, *, auth: bool = True, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        out = {k: v for k, v in self.attribution.items() if v}
        if auth and self.token:
            out["Authorization"] = f"Bearer {self.token}"
        if extra:
            out.update(extra)
        return out

    def _notify(self, request: httpx.Request, body: Any) -> None:
        if not self.hooks:
            return
        record = {"method": request.method, "path": request.url.path, "headers": dict(request.headers),
                  "body": body, "time": time.time(), "status": None, "response": None}
        request.extensions["ai_music_record"] = record
        for hook in self.hooks:
            hook(record)

    @staticmethod
    def _on_response(response: httpx.Response) -> None:
        """Complete the request's record with the answer (JSON bodies only: not streams)."""
        record = response.request.extensions.get("ai_music_record")
        if record is None:
            return
        record["status"] = response.status_code
        if "application/json" in response.headers.get("content-type", ""):
            try:
                record["response"] = json.loads(response.read())
            except (ValueError, httpx.HTTPError):
                pass

    def _send(self, method: str, path: str, *, idempotent: bool, auth: bool = True, json_body: Any = None,
              files: Any = None, headers: Mapping[str, str] | None = None,
              timeout: httpx.Timeout | None = None) -> httpx.Response:
        url = path if path.startswith("http") else self.base_url + path
        attempt = 0
        while True:
            request = self.http.build_request(method, url, json=json_body, files=files,
                                              headers=self.headers(auth=auth, extra=headers),
                                              timeout=timeout or httpx.USE_CLIENT_DEFAULT)
            self._notify(request, json_body if json_body is not None else ("<multipart>" if files else None))
            try:
                response = self.http.send(request)
            except httpx.HTTPError as exc:
                if idempotent and attempt < settings.MAX_RETRIES:
                    attempt += 1
                    self._backoff(attempt, None)
                    continue
                raise errors.TransportError(f"{method} {path}: could not reach the backend "
                                            f"({exc.__class__.__name__})") from exc
            if response.status_code >= 500 and idempotent and attempt < settings.MAX_RETRIES:
                attempt += 1
                self._backoff(attempt, _retry_after(response.headers.get("retry-after")))
                continue
            return response

    @staticmethod
    def _backoff(attempt: int, retry_after: float | None) -> None:
        delay = retry_after if retry_after is not None else min(
            settings.MAX_RETRY_DELAY_S, settings.INITIAL_RETRY_DELAY_S * 2 ** (attempt - 1))
        time.sleep(delay * (1 if retry_after is not None else random.uniform(0.75, 1.0)))

    @staticmethod
    def unwrap(response: httpx.Response) -> Any:
        """The ``data`` of any envelope variant, or the matching :class:`ApiError`."""
        if response.status_code >= 400:
            raise _error_from_response(response)
        try:
            body = response.json()
        except ValueError:
            raise errors.ProtocolError(f"the backend answered {response.request.url.path} with something "
                                       "that is not JSON") from None
        if not isinstance(body, dict):
            return body
        code = _app_code(body.get("code"))
        if code:
            raise errors.api_error(code, str(body.get("message") or body.get("msg") or f"error {code}"),
                                   http_status=response.status_code, body=body)
        if body.get("success") is False:
            raise errors.api_error(response.status_code or 500,
                                   str(body.get("message") or body.get("error") or "request failed"),
                                   http_status=response.status_code, body=body)
        if "data" in body and isinstance(body["data"], (dict, list)):
            return body["data"]
        return body

    # ------------------------------------------------------------------ endpoints

    def anonymous_token(self, client_id: str) -> TokenInfo:
        try:
            data = self.unwrap(self._send("POST", self.path("auth"), idempotent=False, auth=False,
                                          headers={"X-Client-Id": client_id}))
        except errors.BadRequest as exc:  # the only 400 this call documents: missing/invalid client id
            raise errors.MissingClientId(exc.code or 400, str(exc), http_status=exc.http_status) from exc
        token = data.get("token") if isinstance(data, dict) else None
        if not isinstance(token, str) or not token:
            raise errors.ProtocolError("the anonymous-token answer has no token")
        return TokenInfo(token=token, user_id=data.get("user_id"), expires_at=data.get("expires_at"),
                         credits=data.get("credits"))

    def claim_token(self, task_id: str | None, session_id: str) -> str:
        data = self.unwrap(self._send("POST", self.path("claim"), idempotent=False,
                                      json_body={"task_id": task_id, "session_id": session_id}))
        claim = data.get("claim_token") if isinstance(data, dict) else None
        if not claim:
            raise errors.ProtocolError("the claim-token answer has no claim_token")
        return str(claim)

    def create_session(self, task_name: str, language: str) -> SessionInfo:
        data = self.unwrap(self._send("POST", self.path("session"), idempotent=False,
                                      json_body={"task_name": task_name, "language": language}))
        if not isinstance(data, dict) or not data.get("session_id"):
            raise errors.ProtocolError("the session answer has no session_id")
        return SessionInfo(session_id=str(data["session_id"]), task_id=data.get("task_id"),
                           user_id=data.get("user_id"))

    def open_chat(self, session_id: str, text: str) -> ChatStream:
        body = {"app_name": "nemo_agent", "user_id": self.user_id or "me", "session_id": session_id,
                "new_message": {"role": "user", "parts": [{"text": text}]}}
        if self.skill.user_in_path == "me":
            body["user_id"] = "me"
        request = self.http.build_request(
            "POST", self.base_url + self.path("chat"), json=body,
            headers=self.headers(extra={"Accept": "text/event-stream"}),
            timeout=httpx.Timeout(None, connect=settings.CONNECT_TIMEOUT_S))
        self._notify(request, body)
        return ChatStream(self.http, request)

    def upload_files(self, session_id: str, paths: list[Path], progress: Callable[[int], None] | None = None
                     ) -> list[UploadedFile]:
        with contextlib.ExitStack() as opened:  # every file is closed, even if a later one fails to open
            handles = [opened.enter_context(contextlib.closing(_CountingFile(p, progress or (lambda n: None))))
                       for p in paths]
            files = [("files", (p.name, fh, mimetypes.guess_type(p.name)[0] or "application/octet-stream"))
                     for p, fh in zip(paths, handles)]
            response = self._send("POST", self.path("upload", session_id=session_id), idempotent=False, files=files,
                                  timeout=httpx.Timeout(settings.UPLOAD_TIMEOUT_S, connect=settings.CONNECT_TIMEOUT_S))
        return self._files(self.unwrap(response))

    def upload_urls(self, session_id: str, urls: list[str]) -> list[UploadedFile]:
        response = self._send("POST", self.path("upload", session_id=session_id), idempotent=False,
                              json_body={"urls": urls, "source_type": "url"},
                              timeout=httpx.Timeout(settings.UPLOAD_TIMEOUT_S, connect=settings.CONNECT_TIMEOUT_S))
        return self._files(self.unwrap(response))

    @staticmethod
    def _files(data: Any) -> list[UploadedFile]:
        items = data.get("files") if isinstance(data, dict) else data
        out = []
        for item in items if isinstance(items, list) else []:
            if isinstance(item, dict):
                out.append(UploadedFile(filename=str(item.get("filename") or item.get("name") or "file"),
                                        file_type=item.get("file_type"), cdn_url=item.get("cdn_url"),
                                        duration=_num(item.get("duration")), width=item.get("width"),
                                        height=item.get("height"), fps=_num(item.get("fps"))))
        return out

    def release_session(self, session_id: str) -> int:
        """Ask an engine of ours to remove a finished project and its files; the bytes freed."""
        data = self.unwrap(self._send("DELETE", self.path("release", session_id=session_id), idempotent=True))
        freed = data.get("freed_bytes") if isinstance(data, dict) else None
        return int(freed) if isinstance(freed, int) else 0

    def credits(self) -> Credits:
        data = self.unwrap(self._send("GET", self.path("credits"), idempotent=True))
        data = data if isinstance(data, dict) else {}
        return Credits(available=data.get("available"), frozen=data.get("frozen"), total=data.get("total"),
                       unlimited=data.get("unlimited") is True)

    def state(self, session_id: str) -> dict[str, Any]:
        data = self.unwrap(self._send("GET", self.path("state", session_id=session_id), idempotent=True))
        if not isinstance(data, dict):
            return {}
        state = data.get("state") if isinstance(data.get("state"), dict) else data
        return state

    def submit_render(self, render_id: str, session_id: str, draft: Any, fmt: str = "mp4") -> RenderStatus:
        body = {"id": render_id, "sessionId": session_id, "draft": draft,
                "output": {"format": fmt, "quality": "high"}}
        data = self.unwrap(self._send("POST", self.path("render"), idempotent=False, json_body=body))
        return self._render_status(data, render_id)

    def poll_render(self, render_id: str) -> RenderStatus:
        data = self.unwrap(self._send("GET", self.path("poll", render_id=render_id), idempotent=True))
        return self._render_status(data, render_id)

    def cancel_render(self, render_id: str) -> None:
        self.unwrap(self._send("POST", self.path("cancel", render_id=render_id), idempotent=True))

    def _render_status(self, data: Any, render_id: str) -> RenderStatus:
        """Status in ``data`` or at the top level; URL as ``outputUrl`` or ``output.url``."""
        data = data if isinstance(data, dict) else {}
        inner = data.get("data") if isinstance(data.get("data"), dict) else data
        output = inner.get("output") if isinstance(inner.get("output"), dict) else {}
        url = inner.get("outputUrl") or inner.get("output_url") or output.get("url") or inner.get("url")
        progress = inner.get("progress")
        return RenderStatus(
            id=str(inner.get("id") or inner.get("taskId") or render_id),
            status=str(inner.get("status") or "unknown").lower(),
            progress=int(progress) if isinstance(progress, (int, float)) else None,
            output_url=urljoin(self.base_url + "/", url) if isinstance(url, str) and url else None,
            error=inner.get("error") or inner.get("message"),
            stage=str(inner["stage"])[:60] if isinstance(inner.get("stage"), str) and inner["stage"] else None,
        )

    def download(self, url: str, dest: Path, progress: Callable[[int, int | None], None] | None = None,
                 *, source: str | None = None, overwrite: bool = False, renumber: bool = False) -> Path:
        """Stream ``url`` into ``dest`` via ``dest.part``; a later call resumes it with Range.

        ``source`` names what is being fetched (a render id); the part file's sidecar records
        it with the server's validator, so a part left by a *different* render is thrown
        away instead of being glued onto this one, and If-Range makes a changed file restart.
        A file that appeared at ``dest`` meanwhile is never replaced unless ``overwrite``:
        with ``renumber`` the next free name is taken (the path returned says which).
        """
        same_origin = urlparse(url)[:2] == urlparse(self.base_url)[:2]
        part = _PartFile(dest, source or url.split("?", 1)[0])
        dest.parent.mkdir(parents=True, exist_ok=True)
        attempt = 0
        while True:
            have, validator = part.resumable()
            extra = {"Range": f"bytes={have}-"} if have else {}
            if have and validator:
                extra["If-Range"] = validator
            headers = self.headers(auth=True, extra=extra) if same_origin else extra
            try:
                self._fetch(url, headers, part, have, progress)
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
                    self._backoff(attempt, None)
                    continue
                raise errors.TransportError(f"download failed ({exc.__class__.__name__}); "
                                            "run the command again to resume it") from exc
            return part.finish(overwrite=overwrite, renumber=renumber)

    def _fetch(self, url: str, headers: Mapping[str, str], part: "_PartFile", have: int,
               progress: Callable[[int, int | None], None] | None) -> None:
        """One GET into the part file; raises ``_RestartDownload`` when the part is unusable."""
        timeout = httpx.Timeout(settings.READ_TIMEOUT_S, connect=settings.CONNECT_TIMEOUT_S)
        with self.http.stream("GET", url, headers=headers, timeout=timeout, follow_redirects=True) as response:
            if response.status_code == 416:  # our part is not a prefix of what is there now
                raise _RestartDownload
            if response.status_code >= 400:
                response.read()
                raise _error_from_response(response)
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

    def download_render(self, status: RenderStatus, dest: Path,
                        progress: Callable[[int, int | None], None] | None = None, *,
                        overwrite: bool = False, renumber: bool = False) -> Path:
        """Download from the output URL, falling back to the documented download endpoint."""
        fallback = self.base_url + self.path("download", render_id=status.id)
        if status.output_url:
            try:
                return self.download(status.output_url, dest, progress, source=status.id, overwrite=overwrite,
                                     renumber=renumber)
            except (errors.ApiError, errors.TransportError):
                if status.output_url == fallback:
                    raise
        return self.download(fallback, dest, progress, source=status.id, overwrite=overwrite, renumber=renumber)


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


class _PartFile:
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
                    _rename_no_clobber(self.path, final)
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


def _rename_no_clobber(src: Path, dst: Path) -> None:
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


def redact(value: Any, secrets: Iterable[str]) -> Any:
    """``value`` with every secret replaced by ``***`` (for logs, transcripts, JSON output)."""
    secrets = [s for s in secrets if s]
    if not secrets:
        return value
    text = json.dumps(value, ensure_ascii=False, default=str)
    for secret in secrets:
        text = text.replace(secret, "***")
    return json.loads(text)
