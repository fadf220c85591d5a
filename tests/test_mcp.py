"""An MCP client (the official SDK) drives `ai-music mcp` over stdio."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import anyio
import pytest

from conftest import ROOT
from media.probe import probe


def params(env: dict[str, str]):  # noqa: ANN201
    from mcp.client.stdio import StdioServerParameters

    return StdioServerParameters(command=sys.executable, args=["-m", "runtime.cli", "mcp"], cwd=str(ROOT),
                                 env={k: v for k, v in {**os.environ, **env}.items()
                                      if k in os.environ or k in env})


def test_make_music_video_over_mcp(clip: Path, tmp_path: Path) -> None:
    import shutil

    from mcp import Client

    video = tmp_path / "demo.mp4"
    shutil.copy(clip, video)
    progress: list[tuple[float, float | None, str | None]] = []

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        progress.append((done, total, message))

    async def session() -> tuple[list[str], dict, dict, dict, dict]:
        async with Client(params({"NEMO_POLL_INTERVAL": "0.2"}), read_timeout_seconds=240) as client:
            tools = await client.list_tools()
            names = sorted(t.name for t in tools.tools)
            result = await client.call_tool("make_music_video", {"video": str(video)}, progress_callback=on_progress)
            again = await client.call_tool("export", {})
            taken = await client.call_tool("export", {"output_path": str(video)})
            bad = await client.call_tool("upload", {"paths": [str(tmp_path / "nope.mov")]})
            return (names, result.structured_content, again.structured_content,
                    {"error": taken.is_error, "text": taken.content[0].text},
                    {"error": bad.is_error, "text": bad.content[0].text})

    names, result, again, taken, bad = anyio.run(session)
    assert names == ["chat", "credits", "export", "make_music_video", "state", "upload"]
    # named after the input, next to it (the host's working directory is not the user's), never overwritten
    assert result["path"] == str(tmp_path / "demo-music.mp4") and again["path"] == str(tmp_path / "demo-music-2.mp4")
    assert taken["error"] and "input file" in taken["text"] and probe(video).duration_s > 5
    info = probe(result["path"])
    assert (info.video.width, info.video.height) == (1920, 1080) and info.audio.codec == "aac"
    assert "BPM" in result["reply"]
    phases = {label for _, _, label in progress}
    assert {"Uploading", "Downloading"} <= phases and any(p and p.startswith("Encoding") for p in phases), phases
    assert bad["error"] and "no such file" in bad["text"]


@pytest.mark.parametrize("tool", ["state", "credits"])
def test_tools_describe_themselves(tool: str) -> None:
    from runtime.mcp_server import build

    server = build()
    tools = anyio.run(server.list_tools)
    described = {t.name: t.description for t in tools}
    assert len(described[tool]) > 60 and "Returns" in described["make_music_video"]
