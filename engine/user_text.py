"""Text for people names their files, never ours.

Uploads live in the engine's data directory under hashed names (``3f2a….mp4``), beside
temp files (``.incoming-…``) and render work folders; ffmpeg's complaints quote those
paths. An error that reaches a user passes through :func:`user_facing` first, which puts
the name the user gave the file in place of ours and drops the rest of our paths.
"""
from __future__ import annotations

import os
import re
from typing import Any, Mapping

_INCOMING = re.compile(r"\.incoming-[0-9a-f]+")


def user_facing(text: str, root: str | os.PathLike[str], names: Mapping[str, str]) -> str:
    """``text`` with paths under ``root`` cut to their file name, our names (``names``: stored
    name → the user's file name) replaced by the user's, and temp names by "the upload"."""
    base = re.escape(os.fspath(root).rstrip("/\\"))
    # our paths never contain spaces or quotes, whatever the data directory's own name holds
    text = re.sub(base + r"[/\\][^\s'\"]*", lambda m: _name(m.group(0), names), text)
    for ours, theirs in names.items():
        text = text.replace(ours, theirs)
    return _INCOMING.sub("the upload", text)


def upload_names(state: Mapping[str, Any]) -> dict[str, str]:
    """A session state's uploads: stored name → the name the user gave the file, for :func:`user_facing`."""
    return {i["stored_as"]: i.get("filename") or "the upload" for i in state.get("video_infos", [])
            if isinstance(i, dict) and i.get("stored_as")}


def _name(path: str, names: Mapping[str, str]) -> str:
    core = path.rstrip(".,:;)")
    name = os.path.basename(core.replace("\\", "/"))
    return names.get(name, name) + path[len(core):]
