"""The NemoVideo backend, one method per endpoint (docs/protocol.md "Endpoints").

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
import json
import mimetypes
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping
from urllib.parse import urljoin, urlparse

import httpx

from protocol.endpoints import ENDPOINTS, fill
from runtime.document.model import Skill
from skill import errors, settings
from skill.answers import backoff, retry_after, unwrap
from skill.chat_stream import ChatStream
from skill.download import download, take_local

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
    warning: str | None = None   # the engine took the file but something about it needs saying (it ends early)


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
        template = endpoint.path if endpoint else ENDPOINTS[name].path
        if name == "render" and endpoint is not None and endpoint.path.endswith("/draft"):
            template = ENDPOINTS["render"].path  # the old draft endpoint is gone; lambda is live
        values.setdefault("user_id", self.user_id or "me")
        return fill(template, **values)

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
                    backoff(attempt, None)
                    continue
                raise errors.TransportError(f"{method} {path}: could not reach the backend "
                                            f"({exc.__class__.__name__})") from exc
            if response.status_code >= 500 and idempotent and attempt < settings.MAX_RETRIES:
                attempt += 1
                backoff(attempt, retry_after(response.headers.get("retry-after")))
                continue
            return response

    unwrap = staticmethod(unwrap)  # the envelope reader, as callers (and tests) know it on the client

    # ------------------------------------------------------------------ endpoints

    def anonymous_token(self, client_id: str) -> TokenInfo:
        try:
            data = unwrap(self._send("POST", self.path("auth"), idempotent=False, auth=False,
                                          headers={"X-Client-Id": client_id}))
        except errors.BadRequest as exc:  # the only 400 this call documents: missing/invalid client id
            raise errors.MissingClientId(exc.code or 400, str(exc), http_status=exc.http_status) from exc
        token = data.get("token") if isinstance(data, dict) else None
        if not isinstance(token, str) or not token:
            raise errors.ProtocolError("the anonymous-token answer has no token")
        return TokenInfo(token=token, user_id=data.get("user_id"), expires_at=data.get("expires_at"),
                         credits=data.get("credits"))

    def claim_token(self, task_id: str | None, session_id: str) -> str:
        data = unwrap(self._send("POST", self.path("claim"), idempotent=False,
                                      json_body={"task_id": task_id, "session_id": session_id}))
        claim = data.get("claim_token") if isinstance(data, dict) else None
        if not claim:
            raise errors.ProtocolError("the claim-token answer has no claim_token")
        return str(claim)

    def create_session(self, task_name: str, language: str) -> SessionInfo:
        data = unwrap(self._send("POST", self.path("session"), idempotent=False,
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
        return self._files(unwrap(response))

    def upload_urls(self, session_id: str, urls: list[str]) -> list[UploadedFile]:
        response = self._send("POST", self.path("upload", session_id=session_id), idempotent=False,
                              json_body={"urls": urls, "source_type": "url"},
                              timeout=httpx.Timeout(settings.UPLOAD_TIMEOUT_S, connect=settings.CONNECT_TIMEOUT_S))
        return self._files(unwrap(response))

    @staticmethod
    def _files(data: Any) -> list[UploadedFile]:
        items = data.get("files") if isinstance(data, dict) else data
        out = []
        for item in items if isinstance(items, list) else []:
            if isinstance(item, dict):
                out.append(UploadedFile(filename=str(item.get("filename") or item.get("name") or "file"),
                                        file_type=item.get("file_type"), cdn_url=item.get("cdn_url"),
                                        duration=_num(item.get("duration")), width=item.get("width"),
                                        height=item.get("height"), fps=_num(item.get("fps")),
                                        warning=item["warning"] if isinstance(item.get("warning"), str) else None))
        return out

    def release_session(self, session_id: str) -> int:
        """Ask an engine of ours to remove a finished project and its files; the bytes freed."""
        data = unwrap(self._send("DELETE", self.path("release", session_id=session_id), idempotent=True))
        freed = data.get("freed_bytes") if isinstance(data, dict) else None
        return int(freed) if isinstance(freed, int) else 0

    def credits(self) -> Credits:
        data = unwrap(self._send("GET", self.path("credits"), idempotent=True))
        data = data if isinstance(data, dict) else {}
        return Credits(available=data.get("available"), frozen=data.get("frozen"), total=data.get("total"),
                       unlimited=data.get("unlimited") is True)

    def state(self, session_id: str) -> dict[str, Any]:
        data = unwrap(self._send("GET", self.path("state", session_id=session_id), idempotent=True))
        if not isinstance(data, dict):
            return {}
        state = data.get("state") if isinstance(data.get("state"), dict) else data
        return state

    def submit_render(self, render_id: str, session_id: str, draft: Any, fmt: str = "mp4") -> RenderStatus:
        body = {"id": render_id, "sessionId": session_id, "draft": draft,
                "output": {"format": fmt, "quality": "high"}}
        data = unwrap(self._send("POST", self.path("render"), idempotent=False, json_body=body))
        return self._render_status(data, render_id)

    def poll_render(self, render_id: str) -> RenderStatus:
        data = unwrap(self._send("GET", self.path("poll", render_id=render_id), idempotent=True))
        return self._render_status(data, render_id)

    def cancel_render(self, render_id: str) -> None:
        unwrap(self._send("POST", self.path("cancel", render_id=render_id), idempotent=True))

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
        """Stream ``url`` into ``dest``, resumably (see :func:`skill.download.download`).

        The token goes only to the API's own origin, never to a CDN."""
        same_origin = urlparse(url)[:2] == urlparse(self.base_url)[:2]
        return download(self.http, url, dest, progress, source=source, overwrite=overwrite, renumber=renumber,
                        headers=lambda extra: self.headers(auth=True, extra=extra) if same_origin else dict(extra))

    def download_render(self, status: RenderStatus, dest: Path,
                        progress: Callable[[int, int | None], None] | None = None, *,
                        overwrite: bool = False, renumber: bool = False, local: bool = False) -> Path:
        """Download from the output URL, falling back to the documented download endpoint.

        ``local``: the engine runs in this process, and a ``file://`` output URL it gives is copied
        from its disk (any other engine's ``file://`` URL is never read: the endpoint is asked instead)."""
        fallback = self.base_url + self.path("download", render_id=status.id)
        url = status.output_url or ""
        if local and url.startswith("file://"):
            try:
                return take_local(url, dest, progress, source=status.id, overwrite=overwrite, renumber=renumber)
            except FileNotFoundError:
                pass  # gone meanwhile (housekeeping): the endpoint says what became of it
        if url.lower().startswith("file:"):
            url = ""  # never fetched over HTTP, never read from another engine's disk
        if url:
            try:
                return self.download(url, dest, progress, source=status.id, overwrite=overwrite, renumber=renumber)
            except (errors.ApiError, errors.TransportError):
                if url == fallback:
                    raise
        return self.download(fallback, dest, progress, source=status.id, overwrite=overwrite, renumber=renumber)


def redact(value: Any, secrets: Iterable[str]) -> Any:
    """``value`` with every secret replaced by ``***`` (for logs, transcripts, JSON output)."""
    secrets = [s for s in secrets if s]
    if not secrets:
        return value
    text = json.dumps(value, ensure_ascii=False, default=str)
    for secret in secrets:
        text = text.replace(secret, "***")
    return json.loads(text)
