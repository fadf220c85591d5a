"""Export as the user sees it: render, poll, retry, resume, download — and a video at the end."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import pytest
import httpx

from support import BUNDLED, ROOT, Api, run_cli
from media.probe import probe
from runtime.backend import connect
from runtime.conversation import Conversation
from runtime.document import load_skill
from runtime.document.model import Action
from runtime.terminal import CollectingOutput

pytestmark = pytest.mark.slow  # renders video or runs whole commands: minutes (bin/test -m 'not slow' skips)


def renders_submitted(calls: list[dict]) -> list[str]:
    return [c["body"]["id"] for c in calls if c["path"] == "/api/render/proxy/lambda"]


def test_export_writes_the_video_and_a_claim_link(cli_env, engine, clip: Path, tmp_path: Path) -> None:
    calls: list[dict] = []
    out = CollectingOutput()
    with connect(load_skill(BUNDLED), hooks=(calls.append,)) as conn:
        convo = Conversation(conn, out, output_dir=tmp_path)
        convo.turn("add a title 'Ship it' for 2 seconds", [str(clip)])
        report = convo.turn("export")
    assert report.ok, report.errors
    path = Path(report.files[0])
    assert path.parent == tmp_path and probe(path).video.height == 1080
    assert not list(tmp_path.glob("*.part"))
    link = report.links[0]
    assert "/workspace/claim?ct=clm_" in link and "nmv_usr_" not in link
    page = httpx.get(link)
    assert page.status_code == 200 and "<svg" in page.text and "Ship it" in page.text
    assert report.replies[-1].startswith("✅ Video ready!")
    # §3.5: export is never sent to the backend as a chat message
    assert all("export" not in json.dumps(c["body"]).lower() for c in calls if c["path"] == "/run_sse")


def test_the_claim_page_plays_each_export_in_the_right_player(cli_env, engine, clip: Path, tmp_path: Path) -> None:
    import re

    with connect(load_skill(BUNDLED)) as conn:
        convo = Conversation(conn, CollectingOutput(), output_dir=tmp_path)
        convo.turn("add calm music", [str(clip)])
        convo.turn("export")
        report = convo.turn("export the music only as wav")
    assert report.ok and report.files[0].endswith(".wav"), report.errors
    page = httpx.get(report.links[0]).text
    video_src = re.search(r'<video [^>]*src="([^"]+)"', page).group(1).replace("&amp;", "&")
    audio_src = re.search(r'<audio [^>]*src="([^"]+)"', page).group(1).replace("&amp;", "&")
    assert httpx.get(engine.url + video_src).headers["content-type"] == "video/mp4"
    assert httpx.get(engine.url + audio_src).headers["content-type"].startswith("audio/")


def test_nothing_to_export_yet(cli_env, engine) -> None:
    with connect(load_skill(BUNDLED)) as conn:
        report = Conversation(conn, CollectingOutput()).turn("export")
    assert report.errors[0]["type"] == "NothingToExport" and "nothing to export yet" in report.replies[0]


def test_failed_render_is_retried_once_with_a_new_id(cli_env, engine, clip: Path, tmp_path: Path) -> None:
    calls: list[dict] = []
    with connect(load_skill(BUNDLED), hooks=(calls.append,)) as conn:
        convo = Conversation(conn, CollectingOutput(), output_dir=tmp_path)
        convo.turn("add a title 'x'", [str(clip)])
        Api(engine.url).faults(render_failures=1)
        report = convo.turn("export")
    ids = renders_submitted(calls)
    assert report.ok and len(ids) == 2 and ids[0] != ids[1]


def test_two_failures_end_with_a_clear_message(cli_env, engine, clip: Path, tmp_path: Path) -> None:
    with connect(load_skill(BUNDLED)) as conn:
        convo = Conversation(conn, CollectingOutput(), output_dir=tmp_path)
        convo.turn("add a title 'x'", [str(clip)])
        Api(engine.url).faults(render_failures=2)
        report = convo.turn("export")
    assert report.errors[0]["type"] == "RenderFailed" and "injected" in report.errors[0]["message"]


def test_interrupted_export_is_resumed_by_the_next_process(cli_env, engine, engine_config, clip: Path,
                                                          tmp_path: Path) -> None:
    first = run_cli("say", "--attach", str(clip), "add a title 'Resume me' for 2 seconds", env=cli_env)
    assert first.returncode == 0, first.stderr
    api = Api(engine.url)
    api.faults(render_delay_s=3.0)
    env = {**os.environ, **cli_env}
    proc = subprocess.Popen([sys.executable, "-m", "runtime.cli", "say", "export", "-o", str(tmp_path / "v.mp4")],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    renders = Path(env["XDG_CONFIG_HOME"]) / "nemovideo" / "renders.json"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not (renders.exists() and "render_" in renders.read_text()):
        time.sleep(0.05)
    pending = json.loads(renders.read_text())
    render_id = next(iter(next(iter(pending.values()))))
    jobs = engine_config.data_dir / "renders"
    while time.monotonic() < deadline and not list(jobs.glob(f"{render_id}~*.json")):  # the engine has the job: interrupt the client
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert not (tmp_path / "v.mp4").exists()
    # Ctrl-C says how to pick the render up again
    assert f"To pick it up: ai-music say export (it writes {tmp_path / 'v.mp4'})" in err.decode(), err
    second = run_cli("say", "--json", "export", env=cli_env)
    data = json.loads(second.stdout)
    assert data["ok"], second.stderr
    assert any("Resuming the render started earlier" in n and render_id in n for n in data["notices"])
    assert Path(data["files"][0]) == tmp_path / "v.mp4" and probe(tmp_path / "v.mp4").duration_s > 5
    assert json.loads(renders.read_text()) == {list(pending)[0]: {}}  # downloaded: nothing pending


def test_edited_draft_after_an_interruption_gets_a_new_render(cli_env, engine, clip: Path, tmp_path: Path) -> None:
    from skill.store import ClientStore

    with connect(load_skill(BUNDLED)) as conn:
        convo = Conversation(conn, CollectingOutput(), output_dir=tmp_path)
        convo.turn("add a title 'a'", [str(clip)])
        conn.store.save_render(conn.backend.key, "render_stale", {
            "session_id": conn.session.session_id, "draft": "0" * 16, "dest": str(tmp_path / "old.mp4")})
        report = convo.turn("export")
    assert report.ok and "render_stale" not in ClientStore().pending_renders(conn.backend.key)


class _Interrupt(Exception):
    pass


def _interrupt_after(limit: int):  # noqa: ANN202
    def progress(done: int, total: int | None) -> None:
        if done >= limit:
            raise _Interrupt
    return progress


@contextmanager
def _exported_then_deleted(clip: Path, tmp_path: Path) -> Iterator[tuple[Any, Any, Path, bytes]]:
    """A finished export whose file the user deleted: (connection, render status, path, its bytes)."""
    calls: list[dict] = []
    with connect(load_skill(BUNDLED), hooks=(calls.append,)) as conn:
        convo = Conversation(conn, CollectingOutput(), output_dir=tmp_path)
        convo.turn("add a title 'a'", [str(clip)])
        path = Path(convo.turn("export").files[0])
        whole = path.read_bytes()
        path.unlink()
        yield conn, conn.client.poll_render(renders_submitted(calls)[0]), path, whole


def test_interrupted_download_resumes_with_a_range_request(cli_env, engine, big_clip: Path, tmp_path: Path) -> None:
    with _exported_then_deleted(big_clip, tmp_path) as (conn, status, path, whole):
        Api(engine.url).faults(download_bps=4_000_000)  # small chunks, so the cut lands mid-file
        try:
            conn.client.download_render(status, path, progress=_interrupt_after(len(whole) // 3))
        except _Interrupt:
            pass
        Api(engine.url).faults(download_bps=0)
        part = path.with_name(path.name + ".part")
        kept = part.stat().st_size
        assert not path.exists() and 0 < kept < len(whole)
        seen: list[dict] = []
        original_send = conn.client.http.send

        def spy(request, **kw):  # noqa: ANN001, ANN003, ANN202
            seen.append(dict(request.headers))
            return original_send(request, **kw)
        conn.client.http.send = spy  # type: ignore[method-assign]
        conn.client.download_render(status, path)
    assert path.read_bytes() == whole and not part.exists()
    assert any(h.get("range") == f"bytes={kept}-" for h in seen)


def test_a_part_left_by_another_render_is_not_glued_onto_this_one(cli_env, engine, clip: Path,
                                                                   tmp_path: Path) -> None:
    with _exported_then_deleted(clip, tmp_path) as (conn, status, path, whole):
        part = path.with_name(path.name + ".part")
        part.write_bytes(b"x" * 1000)  # an earlier, different export's leftovers
        path.with_name(path.name + ".part.json").write_text(json.dumps({"source": "render_other"}))
        conn.client.download_render(status, path)
    assert path.read_bytes() == whole
    assert not part.exists() and not path.with_name(path.name + ".part.json").exists()


def test_an_unwritable_destination_is_refused_before_anything_is_rendered(cli_env, engine, engine_config,
                                                                          clip: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where a folder should be")
    failed = run_cli("run", str(clip), "-o", str(blocker / "out.mp4"), env=cli_env)
    assert failed.returncode == 2 and failed.stdout == ""
    assert "is a file, not a folder" in failed.stderr and "Traceback" not in failed.stderr
    assert not list((engine_config.data_dir / "renders").glob("*.json"))  # nothing was rendered
    first = run_cli("say", "--attach", str(clip), "add a title 'x'", env=cli_env)
    assert first.returncode == 0, first.stderr
    refused = run_cli("say", "export", "-o", str(blocker / "out.mp4"), env=cli_env)
    assert refused.returncode == 2 and "is a file, not a folder" in refused.stderr
    assert not list((engine_config.data_dir / "renders").glob("*.json"))


def test_a_turn_that_exports_reads_the_state_once_after_its_chat(cli_env, engine, clip: Path, tmp_path: Path) -> None:
    """The chat's end, its follow-ups and the export each asked the engine for the project's state: three
    requests in a row for one answer (and 44 ms each, while the engine mixed). The export renders the draft
    the chat's end read."""
    calls: list[dict] = []
    with connect(load_skill(BUNDLED), hooks=(calls.append,)) as conn:
        convo = Conversation(conn, CollectingOutput(), output_dir=tmp_path, auto_export=True)
        report = convo.turn("add a title 'Once' for 2 seconds", [str(clip)])
        turn = list(calls)
        draft = conn.client.state(conn.session.session_id)["draft"]
    assert report.ok and probe(Path(report.files[0])).video.height == 1080
    chat = next(i for i, c in enumerate(turn) if c["path"] == "/run_sse")
    reads = [c for c in turn[chat:] if c["method"] == "GET" and "/api/state/" in c["path"]]
    assert len(reads) == 1, [c["path"] for c in turn[chat:]]
    submitted = next(c for c in turn if c["method"] == "POST" and c["body"] and "draft" in json.dumps(c["body"]))
    assert submitted["body"]["draft"] == draft  # the draft as it stands after the turn, not an older one


def test_an_export_command_after_a_turn_reads_the_state_again(cli_env, engine, clip: Path, tmp_path: Path) -> None:
    """The state a turn's chat read is that turn's: the REPL's /export comes later, after the user may have
    edited in the browser, and must render the project as it is then."""
    calls: list[dict] = []
    with connect(load_skill(BUNDLED), hooks=(calls.append,)) as conn:
        convo = Conversation(conn, CollectingOutput(), output_dir=tmp_path)
        convo.turn("add a title 'Later' for 2 seconds", [str(clip)])
        before = len(calls)
        report = convo.action(Action.EXPORT)
    reads = [c for c in calls[before:] if c["method"] == "GET" and "/api/state/" in c["path"]]
    assert report.ok and len(reads) == 1, [c["path"] for c in calls[before:]]
