"""An MCP client (the official SDK) drives `ai-music mcp` over stdio, as a host would."""
from __future__ import annotations

import json
import os
import shutil
import struct
import sys
import wave
from pathlib import Path

import pytest
import anyio

from support import ROOT, run_cli
from media.probe import probe

pytestmark = pytest.mark.slow  # renders video or runs whole commands: minutes (bin/test -m 'not slow' skips)


def params(env: dict[str, str], *, stripped: bool = False):  # noqa: ANN201
    """Server parameters; ``stripped`` starts it as hosts do: HOME/PATH/SHELL/TERM and the config's env only."""
    from mcp.client.stdio import StdioServerParameters, get_default_environment

    base = get_default_environment() if stripped else dict(os.environ)
    return StdioServerParameters(command=sys.executable, args=["-m", "runtime.cli", "mcp"], cwd=str(ROOT),
                                 env={**base, "PYTHONPATH": str(ROOT), **env})


def client(server_params, errlog):  # noqa: ANN001, ANN201
    from mcp import Client
    from mcp.client.stdio import stdio_client

    return Client(stdio_client(server_params, errlog=errlog), read_timeout_seconds=240)


def _wav(path: Path, seconds: float) -> Path:
    with wave.open(str(path), "wb") as out:  # 48 kHz stereo 16-bit: ~190 kB per second
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(48_000)
        frame = struct.pack("<hh", 1000, -1000)
        out.writeframes(frame * int(48_000 * seconds))
    return path


def test_a_session_over_mcp(clip: Path, tmp_path: Path) -> None:
    big = _wav(tmp_path / "voice-over.wav", 40)  # 7.7 MB: the upload used to send one notification per chunk
    progress: dict[str, list[tuple[float, float | None, str | None]]] = {"video": [], "upload": []}
    errlog = (tmp_path / "stderr.txt").open("w+")

    def collect(name: str):  # noqa: ANN202
        async def on_progress(done: float, total: float | None, message: str | None) -> None:
            progress[name].append((done, total, message))
        return on_progress

    video = tmp_path / "demo.mp4"
    shutil.copy(clip, video)

    async def session() -> dict:
        async with client(params({"NEMO_POLL_INTERVAL": "0.2"}), errlog) as mcp:
            out: dict = {"version": mcp.server_info.version if mcp.server_info else None}
            out["names"] = sorted(t.name for t in (await mcp.list_tools()).tools)
            made = await mcp.call_tool("make_music_video", {"video": str(video)}, progress_callback=collect("video"))
            out["made"] = made.structured_content
            out["again"] = (await mcp.call_tool("export", {})).structured_content
            taken = await mcp.call_tool("export", {"output_path": str(video)})
            out["taken"] = (taken.is_error, taken.content[0].text)
            out["before"] = (await mcp.call_tool("state", {})).structured_content
            refused = await mcp.call_tool("make_music_video", {"video": str(tmp_path / "nope.mov")})
            out["refused"] = (refused.is_error, refused.content[0].text)
            out["after_refusal"] = (await mcp.call_tool("state", {})).structured_content
            bad = await mcp.call_tool("upload", {"paths": [str(tmp_path / "notes.txt")]})
            out["bad"] = (bad.is_error, bad.content[0].text)
            uploaded = await mcp.call_tool("upload", {"paths": [str(big)]}, progress_callback=collect("upload"))
            out["uploaded"] = uploaded.structured_content
            second = await mcp.call_tool("make_music_video", {"video": str(video)})
            out["second"] = second.structured_content
            out["after_second"] = (await mcp.call_tool("state", {})).structured_content
            return out

    (tmp_path / "notes.txt").write_text("not media")
    out = anyio.run(session)
    assert out["version"] and out["version"][0].isdigit()
    assert out["names"] == ["chat", "credits", "export", "make_music_video", "state", "upload"]
    result = out["made"]
    # named after the input, next to it (the host's working directory is not the user's), never overwritten
    assert result["path"] == str(tmp_path / "demo-music.mp4") and out["again"]["path"] == str(tmp_path / "demo-music-2.mp4")
    assert out["taken"][0] and "input file" in out["taken"][1] and probe(video).duration_s > 5
    info = probe(result["path"])
    assert (info.video.width, info.video.height) == (1920, 1080) and info.audio.codec == "aac"
    assert "BPM" in result["reply"]
    phases = {m.rsplit(" ", 1)[0] for _, _, m in progress["video"] if m and m.endswith("%")}
    assert {"Uploading", "Downloading"} <= phases and any(p.startswith("Encoding") for p in phases), progress["video"]
    values = [v for v, _, _ in progress["video"]]
    assert values == sorted(values) and len(set(values)) == len(values)  # MCP: progress only grows
    # a refused call says why in one plain line (no code), and the project it would have replaced is intact
    assert out["refused"][0] and "no such file" in out["refused"][1] and "BadInput" not in out["refused"][1]
    assert out["after_refusal"]["session_id"] == out["before"]["session_id"]
    assert out["after_refusal"]["timeline"] == out["before"]["timeline"] and out["before"]["timeline"]
    assert out["bad"][0] and "not supported" in out["bad"][1] and "4001" not in out["bad"][1]
    # throttled: about one notification per 5 % of the upload, not one per chunk
    uploads = [p for p in progress["upload"] if p[2] and p[2].startswith("Uploading")]
    assert 2 <= len(uploads) <= 22, uploads
    assert uploads[-1][2] == "Uploading 100%"
    # a second one-shot job releases the first one's project (its MP4 is written) and keeps its own
    assert out["second"]["path"] == str(tmp_path / "demo-music-3.mp4")
    sessions = Path(os.environ["XDG_DATA_HOME"]).rglob("sessions")
    kept = {p.name for folder in sessions for p in folder.iterdir()}
    assert out["before"]["session_id"] not in kept and out["after_second"]["session_id"] in kept, kept
    errlog.seek(0)
    stderr = errlog.read()
    assert "Warning" not in stderr and "HTTP Request" not in stderr and "Traceback" not in stderr, stderr[-2000:]


def test_tools_describe_themselves() -> None:
    from runtime.mcp_server import build

    tools = anyio.run(build().list_tools)
    for tool in tools:
        assert len(tool.description) > 60 and "\n " not in tool.description, tool.name  # no docstring indentation
        for name, prop in tool.input_schema.get("properties", {}).items():
            assert prop.get("description"), f"{tool.name}.{name} has no description"
        assert tool.output_schema and tool.output_schema.get("properties"), tool.name  # not an open object
    state = next(t for t in tools if t.name == "state")
    track = state.output_schema["$defs"]["TimelineTrack"]
    assert {"type", "label", "start_s", "end_s", "volume"} <= set(track["required"])
    made = next(t for t in tools if t.name == "make_music_video")
    assert set(made.output_schema["required"]) == {"path", "reply", "link"}


def test_mcp_and_say_share_state_when_xdg_is_set(clip: Path, tmp_path: Path, isolated_home: Path) -> None:
    """A host starts the server without the user's XDG variables; the printed config carries them."""
    xdg = {"XDG_CONFIG_HOME": str(tmp_path / "xdg-config"), "XDG_DATA_HOME": str(tmp_path / "xdg-data"),
           "XDG_CACHE_HOME": str(tmp_path / "xdg-cache")}
    said = run_cli("say", "--json", "--attach", str(clip), "add lo-fi music", env=xdg)
    session_id = json.loads(said.stdout)["session_id"]
    assert session_id
    config = json.loads(run_cli("mcp", "--print-config", "json", env=xdg).stdout)["mcpServers"]["ai-music"]
    assert config["args"] == ["mcp"] and Path(config["command"]).name == "ai-music" and config["env"] == xdg

    async def state(env: dict[str, str]) -> dict:
        with (tmp_path / "stderr.txt").open("w") as errlog:
            async with client(params({"HOME": str(isolated_home), **env}, stripped=True), errlog) as mcp:
                return (await mcp.call_tool("state", {})).structured_content

    shared = anyio.run(state, config["env"])
    assert shared["session_id"] == session_id and shared["state_dir"] == str(tmp_path / "xdg-config" / "nemovideo")
    assert any(t["type"] == "audio" for t in shared["timeline"])
    apart = anyio.run(state, {})  # what a host without the config's env gets: another folder, another project
    assert apart["state_dir"] == str(isolated_home / ".config" / "nemovideo") and apart["session_id"] != session_id
    claude = run_cli("mcp", "--print-config", "claude", env=xdg).stdout
    assert claude.startswith("claude mcp add ai-music -e XDG_CONFIG_HOME=") and claude.rstrip().endswith(" mcp")


def test_an_unknown_argument_is_refused_and_errors_read_as_plain_words(tmp_path: Path) -> None:
    """A misspelt argument used to be dropped unseen (the MP4 went to the default place); the refusal names
    it and what the tool takes. A refused video reads as the user's problem, not `[9001 BadInput] …`."""
    from mcp.server.mcpserver.exceptions import ToolError

    from runtime.mcp_server import build

    server = build()  # its engine is not started: every call here is refused before it is needed

    async def refusal(name: str, arguments: dict) -> str:
        with pytest.raises(ToolError) as caught:
            await server.call_tool(name, arguments)
        return str(caught.value)

    typo = anyio.run(refusal, "make_music_video", {"video": str(tmp_path / "a.mp4"), "outputpath": "x.mp4"})
    assert typo == ("make_music_video does not take 'outputpath'; it takes video, prompt, output_path, "
                    "overwrite, plan")
    assert anyio.run(refusal, "state", {"verbose": True}) == "state does not take 'verbose'; it takes no arguments"
    missing = anyio.run(refusal, "make_music_video", {"video": str(tmp_path / "nope.mov")})
    assert missing.endswith(f"{tmp_path / 'nope.mov'}: no such file") and "[" not in missing, missing


def _images(result) -> list[bytes]:  # noqa: ANN001 - a CallToolResult
    import base64

    return [base64.b64decode(c.data) for c in result.content if c.type == "image" and c.mime_type == "image/png"]


def test_make_music_video_with_plan_shows_and_saves_the_fit_picture(clip: Path, tmp_path: Path) -> None:
    """The picture comes back as an image the model sees, and is saved as `<output stem>-plan.png`: replaced
    with the video when that is overwritten in place, numbered with it when the video's name was taken."""
    import io

    from PIL import Image

    from engine.workspace.plan import SIZE

    video = tmp_path / "demo.mp4"
    shutil.copy(clip, video)
    errlog = (tmp_path / "stderr.txt").open("w+")

    async def session() -> dict:
        async with client(params({"NEMO_POLL_INTERVAL": "0.2"}), errlog) as mcp:
            out = {}
            out["first"] = await mcp.call_tool("make_music_video", {"video": str(video), "plan": True})
            saved = tmp_path / "demo-music-plan.png"
            out["first_saved"] = (saved.stat().st_ino, saved.read_bytes())
            out["in_place"] = await mcp.call_tool("make_music_video", {
                "video": str(video), "plan": True, "output_path": str(tmp_path / "demo-music.mp4"), "overwrite": True})
            (tmp_path / "fresh-plan.png").write_bytes(b"the user's picture")  # overwrite, but no MP4 there
            out["fresh"] = await mcp.call_tool("make_music_video", {
                "video": str(video), "plan": True, "output_path": str(tmp_path / "fresh.mp4"), "overwrite": True})
            numbered = tmp_path / "fresh-plan-2.png"
            out["fresh_saved"] = (numbered.stat().st_ino, numbered.read_bytes())
            out["fresh_again"] = await mcp.call_tool("make_music_video", {  # in place: its own picture replaced
                "video": str(video), "plan": True, "output_path": str(tmp_path / "fresh.mp4"), "overwrite": True})
            out["numbered"] = await mcp.call_tool("make_music_video", {"video": str(video), "plan": True})
            out["asked"] = await mcp.call_tool("chat", {"message": "show me how the music fits"})
            out["plain"] = await mcp.call_tool("make_music_video", {"video": str(video)})
            return out

    out = anyio.run(session)
    first = out["first"].structured_content
    assert first["path"] == str(tmp_path / "demo-music.mp4") and first["plan"] == str(tmp_path / "demo-music-plan.png")
    assert first["plan_error"] is None
    shown = _images(out["first"])
    assert len(shown) == 1 and Image.open(io.BytesIO(shown[0])).size == SIZE
    assert shown[0] == out["first_saved"][1]  # the image shown is the file saved
    in_place = out["in_place"].structured_content
    assert in_place["path"] == first["path"] and in_place["plan"] == first["plan"]  # replaced, not -plan-2.png
    assert Path(first["plan"]).stat().st_ino != out["first_saved"][0] and _images(out["in_place"])
    fresh = out["fresh"].structured_content  # the MP4 replaced nothing in place: neither does its picture
    assert fresh["path"] == str(tmp_path / "fresh.mp4") and fresh["plan"] == str(tmp_path / "fresh-plan-2.png")
    assert fresh["plan_error"] is None and _images(out["fresh"]) == [out["fresh_saved"][1]]
    assert (tmp_path / "fresh-plan.png").read_bytes() == b"the user's picture"
    again = out["fresh_again"].structured_content  # the user's fresh-plan.png is still theirs, named alike or not
    assert again["path"] == fresh["path"] and again["plan"] == fresh["plan"] and again["plan_error"] is None
    assert Path(fresh["plan"]).stat().st_ino != out["fresh_saved"][0]  # the server's own picture, drawn anew
    assert _images(out["fresh_again"]) == [Path(fresh["plan"]).read_bytes()]
    assert (tmp_path / "fresh-plan.png").read_bytes() == b"the user's picture"
    assert not (tmp_path / "fresh-plan-3.png").exists()
    numbered = out["numbered"].structured_content
    assert numbered["path"] == str(tmp_path / "demo-music-2.mp4")
    assert numbered["plan"] == str(tmp_path / "demo-music-2-plan.png") and Path(numbered["plan"]).is_file()
    assert sorted(p.name for p in tmp_path.glob("demo-*-plan*.png")) == ["demo-music-2-plan.png",
                                                                          "demo-music-plan.png"]
    asked = out["asked"].structured_content
    # asked in words, with no MP4 to pair it with: the same rule, the video's stem (demo.mp4 → demo-plan.png)
    assert asked["picture"] == str(tmp_path / "demo-plan.png") and asked["picture"] in asked["files"]
    assert asked["picture"] in asked["reply"] and "/api/fit/" not in asked["reply"]  # the file, not a dead port
    assert [Image.open(io.BytesIO(png)).size for png in _images(out["asked"])] == [SIZE]
    plain = out["plain"].structured_content  # without plan: no picture asked for, none drawn
    assert plain["plan"] is None and plain["plan_error"] is None and not _images(out["plain"])
    assert not (tmp_path / "demo-music-3-plan.png").exists()


def test_a_backend_without_pictures_says_so_and_still_makes_the_video(engine, clip: Path, tmp_path: Path) -> None:
    """Asked before the upload (the fault is used up once, by that question); the reason is a sentence for
    a model, not the CLI's `--plan` flag; the video is made all the same."""
    from support import Api

    video = tmp_path / "demo.mp4"
    shutil.copy(clip, video)
    # the cloud has no such path: plain 404s, as a backend without the endpoint answers
    Api(engine.url).faults(endpoint=[{"endpoint": "fit_picture", "status": 404, "times": 50, "message": "Not Found"}])
    errlog = (tmp_path / "stderr.txt").open("w+")

    async def session():  # noqa: ANN202
        env = {"NEMO_API_URL": engine.url, "NEMO_POLL_INTERVAL": "0.2", "AI_MUSIC_RECOVERY_WAIT": "0.3"}
        async with client(params(env), errlog) as mcp:
            return await mcp.call_tool("make_music_video", {"video": str(video), "plan": True})

    made = anyio.run(session)
    result = made.structured_content
    assert not made.is_error and result["path"] == str(tmp_path / "demo-music.mp4") and Path(result["path"]).is_file()
    assert result["plan"] is None and "does not draw fit pictures" in result["plan_error"]
    assert "--plan" not in result["plan_error"] and not _images(made)
    assert not list(tmp_path.glob("*-plan.png"))
    left = Api(engine.url).http.get("/_engine/faults").json()["endpoint"]
    assert [f["times"] for f in left if f["endpoint"] == "fit_picture"] == [49]  # asked once, before the job


def test_a_picture_name_already_taken_is_numbered_and_the_users_file_kept(tmp_path: Path) -> None:
    """The MP4 went to a name that was free, yet `<stem>-plan.png` exists: someone else's file, never replaced;
    the picture is saved all the same, numbered (it used to be skipped with an error)."""
    from runtime.fit_beside import refresh
    from runtime.job import NoPicture, write_picture

    theirs = tmp_path / "demo-music-plan.png"
    theirs.write_bytes(b"not ours")
    (tmp_path / "demo-music-plan-2.png").write_bytes(b"not ours either")

    def draw(picture: Path, mine: Path | None) -> Path | NoPicture:
        return write_picture(b"drawn", picture, mine)

    beside = refresh(draw, tmp_path / "demo-music.mp4", mine=None)
    assert beside.path == tmp_path / "demo-music-plan-3.png" and beside.missed is None
    assert beside.path.read_bytes() == b"drawn" and theirs.read_bytes() == b"not ours"
    again = refresh(draw, tmp_path / "demo-music.mp4", mine=beside.path)  # its own earlier picture: replaced
    assert again.path == beside.path and len(list(tmp_path.glob("*.png"))) == 3


def test_the_server_replaces_only_the_pictures_it_wrote(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A user's `fresh-plan.png` beside `fresh.mp4`: the server numbers its picture, and when `fresh.mp4` is
    made again in place it replaces that numbered picture of its own — the user's file, though it has the
    plain name, is never written over nor removed, not even when no picture can be drawn."""
    from runtime import mcp_pictures
    from runtime.job import NoPicture, write_picture

    user = tmp_path / "fresh-plan.png"
    user.write_bytes(b"the user's picture")
    output = tmp_path / "fresh.mp4"
    output.write_bytes(b"video")
    drawn: dict = {}
    calls = []

    def draw(conn: None, picture: Path, mine: Path | None) -> Path | NoPicture:
        calls.append(mine)
        return write_picture(f"picture {len(calls)}".encode(), picture, mine)

    monkeypatch.setattr(mcp_pictures, "fit_picture_to", draw)
    first = mcp_pictures.save_paired(None, output, drawn)
    assert first == (str(tmp_path / "fresh-plan-2.png"), None) and calls == [None]

    again = mcp_pictures.save_paired(None, output, drawn)  # fresh.mp4 made again, in place
    assert again == first and (tmp_path / "fresh-plan-2.png").read_bytes() == b"picture 2"
    assert user.read_bytes() == b"the user's picture" and sorted(p.name for p in tmp_path.glob("*.png")) == [
        "fresh-plan-2.png", "fresh-plan.png"]

    monkeypatch.setattr(mcp_pictures, "fit_picture_to", lambda conn, picture, mine: NoPicture("no fit picture: no music"))
    failed = mcp_pictures.save_paired(None, output, drawn)
    assert failed == (None, "no fit picture: no music")
    assert user.read_bytes() == b"the user's picture"
    assert not (tmp_path / "fresh-plan-2.png").exists()  # its own: it showed the video that is gone
    assert drawn == {}
