"""`ai-music serve --database postgresql://…`: several engine processes, one service (issue 18).

Without the option, serve is what it always was: PostgreSQL's driver is not even imported."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from support import ROOT, Api, run_cli, serve_engine

# Runs `ai-music serve` up to the moment it would start serving (the app is built, the store
# open), then prints which of the optional back ends it imported.
_IMPORTED = """
import sys, uvicorn
from runtime.cli import main
uvicorn.Server.run = lambda self, sockets=None: print(sorted(m for m in ("psycopg", "pgserver", "ray", "boto3", "botocore") if m in sys.modules))
main(["serve", "--port", "0", *sys.argv[1:]])
"""


def _imported_by_serve(*options: str) -> list[str]:
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}  # a cluster here would import ray
    result = subprocess.run([sys.executable, "-c", _IMPORTED, *options], capture_output=True, text=True,
                            timeout=120, cwd=ROOT, env=env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1].replace("'", '"'))


def test_serve_without_a_database_imports_no_postgresql(tmp_path: Path) -> None:
    assert _imported_by_serve("--data", str(tmp_path / "plain")) == []


def test_the_import_check_sees_the_driver_when_it_is_used(tmp_path: Path, postgres_url: str) -> None:
    assert "psycopg" in _imported_by_serve("--data", str(tmp_path / "shared"), "--database", postgres_url)


def test_a_database_that_does_not_answer_is_one_line_without_its_password(tmp_path: Path) -> None:
    result = run_cli("serve", "--port", "0", "--data", str(tmp_path / "engine"),
                     "--database", "postgresql://admin:s3cret@127.0.0.1:9/ai?connect_timeout=2", timeout=60)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "s3cret" not in result.stdout + result.stderr
    assert "--database: " in result.stderr and "database did not answer" in result.stderr


def test_a_database_without_the_postgres_extra_says_what_to_install(tmp_path: Path) -> None:
    blocked = ("import sys; sys.modules['psycopg'] = None\n"  # as if 'ai-music[postgres]' were not installed
               "from runtime.cli import main; sys.exit(main(sys.argv[1:]))")
    result = subprocess.run([sys.executable, "-c", blocked, "serve", "--port", "0", "--data", str(tmp_path / "engine"),
                             "--database", "postgresql://ai@127.0.0.1/ai"], capture_output=True, text=True,
                            timeout=120, cwd=ROOT)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "pip install 'ai-music[postgres]'" in result.stderr


def test_a_database_that_is_not_postgresql_is_refused(tmp_path: Path) -> None:
    result = run_cli("serve", "--port", "0", "--data", str(tmp_path / "engine"), "--database", "sqlite:///x.db")
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "--database must be a postgresql:// URL" in result.stderr


@pytest.mark.slow
def test_two_engines_on_one_database_serve_one_session(tmp_path: Path, postgres_url: str, clip: Path) -> None:
    """As behind a load balancer: the session made, and the clip uploaded, through one engine are
    read, edited, paid for and rendered through the other, and each sees the other's changes at once."""
    options = ("--data", str(tmp_path / "engine"), "--database", postgres_url, "--credits", "100")
    first, first_url = serve_engine(*options)
    try:
        second, second_url = serve_engine(*options)
        try:
            one = Api(first_url).login()
            assert one.upload(clip).json()["code"] == 0
            other = Api(second_url)
            other.token, other.session_id = one.token, one.session_id
            uploaded = other.state()["video_infos"]
            assert [v["filename"] for v in uploaded] == [clip.name]
            media = other.get(uploaded[0]["cdn_url"].replace(first_url, second_url))  # the shared data dir
            assert media.status_code == 200 and media.content == clip.read_bytes()

            events = other.chat('add a title "Shared" for 2 seconds')
            parts = [p for e in events for p in e["content"]["parts"]]
            assert any("functionResponse" in p and p["functionResponse"]["response"]["status"] == "ok" for p in parts)
            assert "Shared" in json.dumps(one.state()["draft"])
            assert one.get("/api/credits/balance/simple").json()["data"]["available"] == 95

            # the render runs in the engine that took it; its progress and its file reach the other
            body = {"id": "shared-render", "sessionId": one.session_id, "draft": one.state()["draft"],
                    "output": {"format": "mp4", "quality": "high"}}
            assert other.post("/api/render/proxy/lambda", json=body).json()["success"] is True
            assert one.wait("shared-render", ("completed", "failed"), timeout=180)["status"] == "completed"
            video = one.get("/api/render/proxy/shared-render/download")
            assert video.status_code == 200 and video.content[4:8] == b"ftyp"
        finally:
            second.terminate()
            second.wait(timeout=30)
    finally:
        first.terminate()
        first.wait(timeout=30)


def test_clean_leaves_alone_a_data_dir_whose_projects_are_in_postgresql(tmp_path: Path, postgres_url: str) -> None:
    """Its sessions are not in the dir, so every project's media would look orphaned to clean."""
    from engine.store import Store

    store = Store(tmp_path / "engine", database=postgres_url)
    _, user, _ = store.issue_token("laptop")
    upload = store.session_dir(store.create_session(user, "holiday", "en")["session_id"]) / "media" / "clip.mp4"
    upload.parent.mkdir(parents=True)
    upload.write_bytes(b"the user's video")
    store.close()
    result = run_cli("clean", "--data", str(tmp_path / "engine"))
    assert result.returncode == 1 and "PostgreSQL" in result.stderr and "Traceback" not in result.stderr
    assert upload.read_bytes() == b"the user's video"


@pytest.mark.slow
def test_music_through_one_engine_waits_for_a_clip_another_engine_took_in(tmp_path: Path, postgres_url: str,
                                                                          clip: Path) -> None:
    """The engine that took the upload may be gone before analysing it; the one asked for music
    analyses it then (speech decides how loud the music may be), as the uploading one would have."""
    import time

    from engine.config import EngineConfig
    from engine.embedded import start
    from engine.store import Store

    def config() -> EngineConfig:
        return EngineConfig(data_dir=tmp_path / "engine", database=postgres_url)

    with start(config()) as first:
        one = Api(first.url).login()
        file_id = one.upload(clip).json()["data"]["files"][0]["file_id"]
        deadline = time.monotonic() + 60
        while file_id not in one.state()["video_analyses"]:  # let it finish: a stopping engine waits for it
            assert time.monotonic() < deadline, "the upload was never analysed"
            time.sleep(0.1)
    store = Store(tmp_path / "engine", database=postgres_url)  # …as if it had stopped before it finished
    store.update_session(one.session_id, lambda session: session["state"]["video_analyses"].clear())
    store.close()

    with start(config()) as second:
        other = Api(second.url)
        other.token, other.session_id = one.token, one.session_id
        other.chat("add calm background music")
        analyses = other.state()["video_analyses"]
        assert list(analyses) == [file_id] and "error" not in analyses[file_id]


def test_serve_without_a_database_refuses_a_dir_whose_projects_are_in_one(tmp_path: Path) -> None:
    """Its tidy-up would take every PostgreSQL project's media for garbage."""
    data = tmp_path / "engine"
    data.mkdir()
    (data / "state-in-database").write_text("marked by an engine with --database\n")
    result = run_cli("serve", "--port", "0", "--data", str(data))
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "projects are in a PostgreSQL database: start the engine with --database" in result.stderr
    assert result.stderr.strip().count("\n") == 0
