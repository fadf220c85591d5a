"""The protocol's endpoints, spelled once: name, method, canonical path template.

Three parts of the project speak these paths: the client sends them (``skill.client``), the
engine serves them (``engine.app``), and the interpreter recognises them in a skill document
(``runtime.document.extract``), whose authors write placeholders many ways — the extractor
normalises them to the four spellings used here: ``{user_id}``, ``{session_id}``,
``{render_id}``, ``{file_id}``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

PLACEHOLDER = re.compile(r"\{(user_id|session_id|render_id|file_id)\}")


@dataclass(frozen=True)
class Spec:
    name: str
    method: str
    path: str                                  # what a client sends (after filling placeholders)
    also: tuple[str, ...] = ()                 # older spellings documents use: recognised, never sent
    cloud: bool = True                         # False: only the embedded engine serves it
    pattern: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        alternatives = "|".join(PLACEHOLDER.sub("[^/]+", re.escape(p).replace(r"\{", "{").replace(r"\}", "}"))
                                for p in (self.path, *self.also))
        object.__setattr__(self, "pattern", re.compile(f"^(?:{alternatives})$"))


#: In the order a client meets them; order matters for :func:`recognise` (render before poll).
SPECS: tuple[Spec, ...] = (
    Spec("auth", "POST", "/api/auth/anonymous-token"),
    Spec("claim", "POST", "/api/auth/claim-token"),
    Spec("session", "POST", "/api/tasks/{user_id}/with-session/nemo_agent"),
    Spec("chat", "POST", "/run_sse"),
    Spec("upload", "POST", "/api/upload-video/nemo_agent/{user_id}/{session_id}"),
    Spec("credits", "GET", "/api/credits/balance/simple"),
    Spec("state", "GET", "/api/state/nemo_agent/{user_id}/{session_id}/latest"),
    Spec("render", "POST", "/api/render/proxy/lambda", also=("/api/render/proxy/draft",)),
    Spec("cancel", "POST", "/api/render/proxy/lambda/{render_id}/cancel"),
    Spec("download", "GET", "/api/render/proxy/{render_id}/download"),
    Spec("poll", "GET", "/api/render/proxy/lambda/{render_id}", also=("/api/render/proxy/{render_id}",)),
    Spec("media", "GET", "/api/media/{session_id}/{file_id}", cloud=False),
    # the embedded engine frees a finished project's files (ai-music run)
    Spec("release", "DELETE", "/api/session/nemo_agent/{user_id}/{session_id}", cloud=False),
    # the embedded engine draws how the music fits the video (ai-music run --plan, "show me how the music fits")
    Spec("fit_picture", "GET", "/api/fit/{session_id}/picture.png", cloud=False),
)
ENDPOINTS: dict[str, Spec] = {spec.name: spec for spec in SPECS}


def fill(template: str, **values: str) -> str:
    """``template`` with the placeholders ``values`` gives filled (others stay as they are)."""
    return PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), template)


def recognise(path: str) -> Spec | None:
    """The protocol endpoint a (placeholder-normalised) path from a document is, if any."""
    return next((spec for spec in SPECS if spec.cloud and spec.pattern.match(path)), None)
