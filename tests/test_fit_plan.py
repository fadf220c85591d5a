"""The fit picture a user asks for: the engine's endpoint, "show me how the music fits", ``run --plan``.

Content, not pixels: the PNG's size, and what the drawing laid out (engine.export.fit_picture's
elements) from the very inputs the endpoint uses — a 10 s clip with two cuts and a voice.
"""
from __future__ import annotations

import io
import json
from pathlib import Path
from types import SimpleNamespace

import pytest
from PIL import Image

from engine.workspace.plan import SIZE, build_picture, music_facts
from engine.chat.director import Context, Director
from support import Api, run_cli

CUTS = (4.0, 7.0)
MUSIC = Context(has_video=True, has_music=True, duration_ms=10_000, uploads=("demo.mp4",))


@pytest.fixture(scope="module")
def cut_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """10 s, scenes of 4 + 3 + 3 s (cuts at 4 and 7 s), voice-like sound throughout."""
    from media.fixtures import VideoSpec, make_video

    return make_video(tmp_path_factory.mktemp("fit") / "demo.mp4",
                      VideoSpec(seconds=10, width=320, height=180, scene_seconds=[4.0, 3.0, 3.0]))


def _picture_url(api: Api) -> str:
    return f"/api/fit/{api.session_id}/picture.png"


def _replies(events: list[dict]) -> list[str]:
    return [p["text"] for e in events if e.get("turnComplete") for p in e["content"]["parts"] if "text" in p]


def _calls(events: list[dict]) -> list[str]:
    return [p["functionCall"]["name"] for e in events for p in e.get("content", {}).get("parts", [])
            if "functionCall" in p]


@pytest.mark.parametrize("text", [
    "show me how the music fits", "Show me how the music fits the video", "how does the music fit?",
    "why does the music fit", "can you show how the soundtrack lines up", "show the fit picture",
    "看看音乐怎么配合画面", "音乐和画面怎么对上",
])
def test_asking_to_see_the_fit_is_a_question_not_an_edit(text: str) -> None:
    plan = Director().plan(text, MUSIC)
    assert plan.question == "fit" and not plan.edits


@pytest.mark.parametrize("text", ["add music that fits the video", "make the music fit my video"])
def test_asking_for_music_that_fits_still_composes(text: str) -> None:
    plan = Director().plan(text, MUSIC)
    assert plan.question is None and [e.name for e in plan.edits] in (["add_background_music"], ["update_music"])


@pytest.mark.parametrize("text, edit", [
    ("I don't see how the music fits, make it calmer", "update_music"),
    ("the fit picture looks off, lower the music to 30%", "set_music_volume"),
    ("can you make the music fit the video better and then show me how the music fits", "update_music"),
    ("换一首音乐，然后看看音乐怎么配合画面", "regenerate_music"),
])
def test_a_message_that_also_asks_for_a_change_makes_the_change(text: str, edit: str) -> None:
    """Asking to see the fit does not swallow the change asked for in the same message."""
    plan = Director().plan(text, MUSIC)
    assert edit in [e.name for e in plan.edits]


def test_the_engine_draws_the_projects_fit_picture(api: Api, cut_clip: Path, engine_config) -> None:
    assert api.upload(cut_clip).status_code == 200
    early = api.get(_picture_url(api))
    assert early.status_code == 409 and "ask for music first" in early.json()["message"]
    none_yet = _replies(api.chat("show me how the music fits"))
    assert none_yet and "ask me for music first" in none_yet[0]

    api.chat("add calm piano music")
    state = api.state()
    answer = api.get(_picture_url(api))
    assert answer.status_code == 200 and answer.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(answer.content)).size == SIZE

    # what it drew, from the same inputs: the session's music, the analysis, the strip, the WAV
    facts, start_s, key = music_facts(state)
    strip = api.get(f"/workspace/api/thumbs/{api.session_id}").content
    wav = next(Path(engine_config.data_dir).rglob(f"{key}.wav"))
    picture = build_picture(state, facts, start_s, wav, strip)
    assert len(picture.of("thumbnail")) == 12
    assert [round(c.start_s, 1) for c in picture.of("cut")] == list(CUTS)
    tiles = picture.of("thumbnail")                  # one frame per slot, side by side, changing at the cut lines
    assert all(a.box[2] <= b.box[0] for a, b in zip(tiles, tiles[1:]))
    for cut in picture.of("cut"):
        x = (cut.box[0] + cut.box[2]) // 2
        assert any(abs(a.box[2] - x) <= 1 and a.box[2] == b.box[0] for a, b in zip(tiles, tiles[1:]))
    assert picture.of("section") and picture.of("downbeat") and picture.of("beat")
    assert picture.of("speech") and picture.of("duck")[0].label.endswith("dB")
    assert picture.of("loudness")[0].end_s == pytest.approx(facts["duration_s"], abs=0.5)
    lanes = picture.lanes
    assert [n for n in lanes] == ["video", "sections", "beats", "speech", "loudness"]
    assert all(lanes[a][3] < lanes[b][1] for a, b in zip(list(lanes), list(lanes)[1:]))  # stacked, apart


def test_asking_in_chat_links_the_picture_and_does_not_recompose(api: Api, cut_clip: Path) -> None:
    assert api.upload(cut_clip).status_code == 200
    api.chat("add calm piano music")
    before = api.state()
    events = api.chat("show me how the music fits")
    reply = _replies(events)
    assert reply and f"{api.url}{_picture_url(api)}" in reply[0]
    assert not _calls(events)  # a question: no edit, no composition
    assert api.state()["draft"] == before["draft"] and api.state()["generated_media"] == before["generated_media"]
    assert api.get(_picture_url(api)).status_code == 200  # the link opens (with the token)


def test_others_cannot_see_a_projects_picture(api: Api, cut_clip: Path, engine) -> None:
    assert api.upload(cut_clip).status_code == 200
    api.chat("add calm piano music")
    other = Api(engine.url).login("someone-else")
    assert other.get(_picture_url(api)).status_code == 404


@pytest.mark.slow
def test_run_plan_writes_the_picture_and_says_where(cli_env, cut_clip: Path, tmp_path: Path) -> None:
    plan = tmp_path / "plan.png"
    result = run_cli("run", str(cut_clip), "add calm piano music", "--plan", str(plan), env=cli_env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert f"Plan: {plan}" in result.stdout and "MP4: " in result.stdout
    assert Image.open(plan).size == SIZE
    second = tmp_path / "second.png"
    as_json = run_cli("run", str(cut_clip), "--plan", str(second), "--json", env=cli_env, cwd=tmp_path)
    assert as_json.returncode == 0, as_json.stderr
    made = json.loads(as_json.stdout)
    assert made["plan"] == str(second) and second.stat().st_size > 10_000
    assert made["files"][1:] == [str(second)] and made["files"][0].endswith(".mp4")  # every file it wrote
    again = run_cli("run", str(cut_clip), "--plan", str(plan), "--json", env=cli_env, cwd=tmp_path)
    assert again.returncode == 2 and "already exists" in again.stderr  # checked before any upload
    bad = run_cli("run", str(cut_clip), "--plan", str(tmp_path / "plan.jpg"), env=cli_env, cwd=tmp_path)
    assert bad.returncode == 2 and "PNG" in bad.stderr


@pytest.mark.parametrize("status, body, said", [
    (404, {"code": 404, "message": "Not Found"}, "does not draw fit pictures"),      # the cloud: no such path
    (409, {"code": 409, "message": "ask for music first"}, "no fit picture: ask for music first"),
])
def test_a_backend_without_the_picture_gets_one_line_and_no_file(tmp_path: Path, status: int, body: dict,
                                                                 said: str) -> None:
    import httpx

    from runtime.job import save_fit_picture

    seen = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(status, json=body)

    client = SimpleNamespace(base_url="https://cloud.example", path=lambda name, **v: f"/api/fit/{v['session_id']}/p.png",
                             headers=lambda: {"Authorization": "Bearer t"},
                             http=httpx.Client(transport=httpx.MockTransport(answer)))
    conn = SimpleNamespace(client=client, session=SimpleNamespace(session_id="s1"))
    dest = tmp_path / "plan.png"
    assert said in save_fit_picture(conn, dest)
    assert not dest.exists() and not list(tmp_path.iterdir())
    assert seen[0].url.path == "/api/fit/s1/p.png"


@pytest.mark.parametrize("status, body, offered", [
    (404, {"code": 404, "message": "Not Found"}, False),                  # the cloud: no such path
    (404, {"code": 1002, "message": "session not found"}, True),          # an engine of ours, a made-up project
    (401, {"code": 1001, "message": "missing bearer token"}, True),       # ours too, before a token
])
def test_whether_the_backend_draws_the_picture_is_asked_before_the_job(status: int, body: dict, offered: bool) -> None:
    """`run --plan` against a backend without the picture says so before it uploads and spends credits."""
    import httpx

    from runtime.job import fit_picture_offered

    client = SimpleNamespace(base_url="https://cloud.example", path=lambda name, **v: f"/api/fit/{v['session_id']}/p.png",
                             headers=lambda: {"Authorization": "Bearer t"},
                             http=httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(status, json=body))))
    assert fit_picture_offered(SimpleNamespace(client=client)) is offered


def test_the_loudness_curve_is_read_a_block_at_a_time_and_a_bad_file_only_loses_the_curve(tmp_path: Path) -> None:
    """An hour of music is as cheap to draw as a minute: at most one block per pixel of the width, read
    block by block; a damaged WAV draws the picture without the curve instead of failing it."""
    import numpy as np

    from engine.workspace.plan import LOUDNESS_POINTS, wav_loudness
    from media.audio import write_wav

    wav = tmp_path / "piece.wav"
    write_wav(wav, np.full((48_000 * 8, 2), 0.25, dtype=np.float32), 48_000)
    levels, rate = wav_loudness(wav, 8.0)
    assert levels is not None and len(levels) == 20 and abs(rate - 2.5) < 1e-9  # 0.4 s blocks
    assert np.allclose(levels, 20 * np.log10(0.25), atol=0.05)
    coarse, coarse_rate = wav_loudness(wav, 3600.0)  # as if it were an hour: blocks of 3600/1600 s
    assert len(coarse) <= max(1, int(8.0 * LOUDNESS_POINTS / 3600.0) + 1) and coarse_rate < 1.0
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")
    assert wav_loudness(bad, 8.0)[0] is None


@pytest.mark.slow
def test_asking_at_the_prompt_saves_the_picture_beside_the_outputs(cut_clip: Path, tmp_path: Path) -> None:
    """At `ai-music chat`/`say` the engine's link would open only with the token (and the embedded engine's
    port closes with the command): the client saves the picture and names the file."""
    from runtime.backend import connect
    from runtime.conversation import Conversation
    from runtime.document import load_skill
    from runtime.terminal import CollectingOutput
    from support import BUNDLED

    out = CollectingOutput()
    (tmp_path / "demo-plan.png").write_bytes(b"the user's own picture")  # never written over: numbered
    with connect(load_skill(BUNDLED), "local", engine={"data_dir": tmp_path / "engine"}) as conn:
        convo = Conversation(conn, out, output_dir=tmp_path)
        assert convo.turn("add calm piano music", [str(cut_clip)]).ok
        report = convo.turn("show me how the music fits")
    saved = tmp_path / "demo-plan-2.png"  # named as beside an MP4: the video's stem (demo.mp4), -plan.png
    assert report.files == [str(saved)] and Image.open(saved).size == SIZE
    assert (tmp_path / "demo-plan.png").read_bytes() == b"the user's own picture"
    replies, screen = "\n".join(report.replies), "\n".join(out.said + out.streamed)
    assert f"on one time axis: {saved}" in replies and f"on one time axis: {saved}" in screen
    assert "/api/fit/" not in replies + screen and "http://" not in replies + screen  # no dead engine port


@pytest.mark.slow
def test_the_picture_asked_for_is_named_after_the_video_as_the_export_is(cut_clip: Path, tmp_path: Path) -> None:
    """A voice uploaded before the video: the picture was named after the oldest upload (`voice-plan.png`),
    while the export names the MP4 after the video on the timeline (`demo-music.mp4`)."""
    from media.fixtures import make_audio
    from runtime.backend import connect
    from runtime.conversation import Conversation
    from runtime.document import load_skill
    from runtime.terminal import CollectingOutput
    from support import BUNDLED

    voice = make_audio(tmp_path / "voice.wav", seconds=4.0)
    with connect(load_skill(BUNDLED), "local", engine={"data_dir": tmp_path / "engine"}) as conn:
        convo = Conversation(conn, CollectingOutput(), output_dir=tmp_path)
        assert convo.turn("add calm piano music", [str(voice), str(cut_clip)]).ok
        assert conn.inputs()[0] == str(voice)
        report = convo.turn("show me how the music fits")
    assert report.files == [str(tmp_path / "demo-plan.png")] and Image.open(report.files[0]).size == SIZE


def _cloud_with_picture(answer) -> SimpleNamespace:  # noqa: ANN001 — an httpx MockTransport handler
    import httpx

    client = SimpleNamespace(base_url="https://cloud.example", path=lambda name, **v: f"/api/fit/{v['session_id']}/p.png",
                             headers=lambda: {"Authorization": "Bearer t"},
                             http=httpx.Client(transport=httpx.MockTransport(answer)))
    return SimpleNamespace(client=client, session=SimpleNamespace(session_id="s1"))


def test_a_file_that_appears_while_the_picture_is_fetched_is_never_written_over(tmp_path: Path) -> None:
    """The name is free when asked for, the user's file takes it while the engine draws: theirs stays, the
    picture is numbered (an explicit `run --plan` name is left as it is, with one line)."""
    import httpx

    from runtime.job import fit_picture_to, save_fit_picture

    picture = tmp_path / "demo-plan.png"

    def answer(request: httpx.Request) -> httpx.Response:
        picture.write_bytes(b"the user's file, saved meanwhile")
        return httpx.Response(200, content=b"\x89PNG drawn", headers={"content-type": "image/png"})

    conn = _cloud_with_picture(answer)
    assert fit_picture_to(conn, picture) == tmp_path / "demo-plan-2.png"
    assert picture.read_bytes() == b"the user's file, saved meanwhile"
    assert (tmp_path / "demo-plan-2.png").read_bytes() == b"\x89PNG drawn"
    picture.unlink()
    assert save_fit_picture(conn, picture) == f"{picture} already exists; left as it is"
    assert picture.read_bytes() == b"the user's file, saved meanwhile"
    assert save_fit_picture(conn, picture, replace=True) is None  # --overwrite: replaced on purpose
    assert picture.read_bytes() == b"\x89PNG drawn"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo-plan-2.png", "demo-plan.png"]  # no .part left


def test_numbering_stops_with_one_line_when_every_name_is_taken(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from runtime import job

    monkeypatch.setattr(job, "MAX_NUMBER", 3)
    for name in ("demo-plan.png", "demo-plan-2.png", "demo-plan-3.png"):
        (tmp_path / name).write_bytes(b"the user's")
    got = job.write_picture(b"drawn", tmp_path / "demo-plan.png")
    assert isinstance(got, job.NoPicture)
    assert got.message == "no free name for the fit picture: demo-plan-2.png to demo-plan-3.png are all taken"
    assert len(list(tmp_path.iterdir())) == 3
