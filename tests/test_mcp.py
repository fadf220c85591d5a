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
    from mcp import Client

    progress: list[tuple[float, float | None, str | None]] = []

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        progress.append((done, total, message))

    async def session() -> tuple[list[str], dict, dict]:
        async with Client(params({"NEMO_POLL_INTERVAL": "0.2"}), read_timeout_seconds=240) as client:
            tools = await client.list_tools()
            names = sorted(t.name for t in tools.tools)
            result = await client.call_tool("make_music_video", {"video": str(clip),
                                                                 "output_path": str(tmp_path / "v.mp4")},
                                            progress_callback=on_progress)
            bad = await client.call_tool("upload", {"paths": [str(tmp_path / "nope.mov")]})
            return names, result.structured_content, {"error": bad.is_error, "text": bad.content[0].text}

    names, result, bad = anyio.run(session)
    assert names == ["chat", "credits", "export", "make_music_video", "state", "upload"]
    assert result["path"] == str(tmp_path / "v.mp4")
    info = probe(result["path"])
    assert (info.video.width, info.video.height) == (1920, 1080) and info.audio.codec == "aac"
    assert "BPM" in result["reply"]
    assert any(label == "Rendering" for _, _, label in progress), progress
    assert bad["error"] and "no such file" in bad["text"]


@pytest.mark.parametrize("tool", ["state", "credits"])
def test_tools_describe_themselves(tool: str) -> None:
    from runtime.mcp_server import build

    server = build()
    tools = anyio.run(server.list_tools)
    described = {t.name: t.description for t in tools}
    assert len(described[tool]) > 60 and "Returns" in described["make_music_video"]
