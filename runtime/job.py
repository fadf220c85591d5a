"""The whole job in one step (``ai-music run``, MCP ``make_music_video``): upload → request → export.

SKILL.md's Quick edit workflow is exactly this: "Upload — "generate background music that
matches the mood and length of my video" — Download MP4". A job whose prompt asks for no
edit — empty, only spaces, or just "export 1080p" — would otherwise render the video as it
came in, without music, and still say "✅ Video ready!". Such a job gets the default request,
the same one an omitted prompt gets; a job always ends with an export.

Kept free of heavy imports: the CLI reads :data:`DEFAULT_REQUEST` for its help text.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterator, Sequence

from protocol.requests import DEFAULT_REQUEST

if TYPE_CHECKING:
    import httpx

    from runtime.document.router import Route
    from skill.connection import Connection

__all__ = ["DEFAULT_REQUEST", "MADE_WITHOUT", "NO_PICTURE", "NoPicture", "fit_picture_to",
           "job_steps", "paired_picture", "picture_for_project", "save_fit_picture", "write_picture"]

NO_PICTURE = "this backend does not draw fit pictures: only the local engine does"
MADE_WITHOUT = f"{NO_PICTURE}; the video is made without it"
MAX_NUMBER = 10_000  # x-plan-2.png … x-plan-10000.png, then a clear error
PICTURE_TIMEOUT_S = 120.0  # twelve frames and one PNG; a loaded machine is slow, never this slow


def job_steps(steps: Sequence["Route"], default_request: str = DEFAULT_REQUEST) -> list["Route"]:
    """``steps`` as a whole job: with a request (the default one after the uploads if the user
    gave none) and ending with an export (unless it already exports)."""
    from runtime.document.router import Route
    from runtime.document.model import Action

    out = list(steps)
    if not any(s.action in (Action.CHAT, Action.UPLOAD) for s in out):
        return out  # "credits", "status": nothing to make a video of
    if not any(s.action is Action.CHAT and s.text.strip() for s in out):
        out = [s for s in out if s.action is not Action.CHAT]  # an empty chat step is no request
        at = max((i + 1 for i, s in enumerate(out) if s.action is Action.UPLOAD), default=0)
        out.insert(at, Route(action=Action.CHAT, reason="no request given: the job's default request",
                             text=default_request, skip_sse=False))
    if not any(s.action is Action.EXPORT for s in out):
        out.append(Route(action=Action.EXPORT, reason="the job ends with an export"))
    return out


def fit_picture_offered(conn: "Connection") -> bool:
    """Whether the backend draws fit pictures, asked before the job runs (and spends credits): an engine of
    ours answers a made-up project with "session not found" (or wants a token); a backend without the
    endpoint answers a plain 404. A backend that cannot be asked is given the benefit of the doubt."""
    import httpx

    client = conn.client
    url = client.base_url + client.path("fit_picture", session_id="0")
    try:
        response = client.http.get(url, headers=client.headers(), timeout=PICTURE_TIMEOUT_S)
    except httpx.HTTPError:
        return True
    return response.status_code != 404 or _code_and_message(response)[0] == 1002


def paired_picture(output: Path) -> Path:
    """The fit picture that goes with a video written to ``output``: ``<output stem>-plan.png`` beside it
    (``x-music-2.mp4`` → ``x-music-2-plan.png``), so each picture names the very file it was drawn for."""
    return output.with_name(f"{output.stem}-plan.png")


def picture_for_project(folder: Path, video: str | None) -> Path:
    """The fit picture asked for in words (``say``, ``chat``, MCP ``chat``), with no MP4 to pair it with:
    ``<video stem>-plan.png`` in ``folder``, by the same rule as :func:`paired_picture`
    (``~/v/demo.mov`` → ``demo-plan.png``; ``ai-music-plan.png`` when the project has no local video)."""
    from skill.destination import stem_of

    return folder / f"{stem_of(video)}-plan.png"


def _names(picture: Path) -> Iterator[Path]:
    """``picture``, then ``<stem>-2.png``, ``<stem>-3.png``… up to :data:`MAX_NUMBER`: a folder that full is
    not one a person keeps, and counting on would never end."""
    yield picture
    for n in range(2, MAX_NUMBER + 1):
        yield picture.with_name(f"{picture.stem}-{n}{picture.suffix}")


@dataclass(frozen=True)
class NoPicture:
    """Why no fit picture was written: ``message`` is the one line for the user; ``lasting`` when asking
    again for the same project cannot help (the backend has no pictures, or the project has no music)."""

    message: str
    lasting: bool = False


def save_fit_picture(conn: "Connection", dest: Path, replace: bool = False) -> str | None:
    """Write the project's fit picture to exactly ``dest`` (``run --plan``, a name the user gave): None when
    written, else the one line saying why not. A file there is replaced only if ``replace``."""
    got = fit_picture_to(conn, dest, mine=dest if replace else None, numbered=False)
    return got.message if isinstance(got, NoPicture) else None


def fit_picture_to(conn: "Connection", picture: Path, mine: Path | None = None,
                   numbered: bool = True) -> Path | NoPicture:
    """Write the project's fit picture (``GET /api/fit/{session_id}/picture.png``) as ``picture``: where it was
    written, else why not (a backend without it answers 404; a project without music 409). A file there is
    someone else's and never written over — the picture takes the next free number (``x-plan-2.png``), or
    without ``numbered`` is not written — unless it is ``mine``, the caller's own earlier picture. The name is
    taken only once the picture is fetched, so a file that appeared meanwhile is never replaced either."""
    import httpx

    client, session = conn.client, conn.session
    if session is None:
        return NoPicture("no project to draw")
    url = client.base_url + client.path("fit_picture", session_id=session.session_id)
    try:
        response = client.http.get(url, headers=client.headers(), timeout=PICTURE_TIMEOUT_S)
    except httpx.HTTPError as exc:
        return NoPicture(f"could not fetch the fit picture ({exc.__class__.__name__})")
    if response.status_code == 200 and response.headers.get("content-type", "").startswith("image/png"):
        return write_picture(response.content, picture, mine, numbered)
    code, message = _code_and_message(response)
    if response.status_code == 404 and code != 1002:
        return NoPicture(NO_PICTURE, lasting=True)
    return NoPicture(f"no fit picture: {message or f'HTTP {response.status_code}'}",
                     lasting=response.status_code == 409)  # 409: nothing to draw, the project has no music


def write_picture(png: bytes, picture: Path, mine: Path | None = None, numbered: bool = True) -> Path | NoPicture:
    """Save ``png`` as ``picture`` by :func:`fit_picture_to`'s rule: where it was written, else why not."""
    part = picture.with_name(f".{picture.name}.{os.getpid()}.part")
    try:
        part.write_bytes(png)
        written = _publish(part, _names(picture) if numbered else iter([picture]), mine)
    except OSError as exc:
        return NoPicture(f"could not write {picture}: {exc.strerror or exc}")
    finally:
        part.unlink(missing_ok=True)
    if written is None:
        return NoPicture(f"no free name for the fit picture: {picture.stem}-2{picture.suffix} to "
                         f"{picture.stem}-{MAX_NUMBER}{picture.suffix} are all taken" if numbered else
                         f"{picture} already exists; left as it is")
    return written


def _publish(part: Path, names: Iterator[Path], mine: Path | None) -> Path | None:
    """Give the written ``part`` the first of ``names`` that is free or ``mine``: that name, None if none is.
    A free name is reserved (created, failing if anything is there) before the picture replaces the empty
    file: a half-written picture never takes a name, and a file the user made is never written over."""
    for name in names:
        if name != mine:
            try:
                with open(name, "xb"):
                    pass
            except FileExistsError:
                continue
        try:
            os.replace(part, name)
        except OSError:
            if name != mine:
                name.unlink(missing_ok=True)  # the empty file that held the name
            raise
        return name
    return None


def _code_and_message(response: "httpx.Response") -> tuple[object, str | None]:
    """The envelope's ``code`` and ``message`` of an answer that is not the picture (None when it has none):
    1002 is an engine of ours saying "session not found"; a plain 404 is a backend without the endpoint."""
    try:
        body = response.json()
    except ValueError:
        return None, None
    if not isinstance(body, dict):
        return None, None
    return body.get("code"), body.get("message")
