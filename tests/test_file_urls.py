"""``file://`` uploads (issue 13, high 1): a served engine never reads this machine's disk by URL;
the CLI's own in-process engine reads only the files its user attached, never its data dir,
and every refusal reads the same, so nobody learns which paths exist."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from support import Api, run_cli, serve_engine
from engine.local_files import REFUSED


def _upload_url(api: Api, url: str):  # noqa: ANN202
    return api.post(f"/api/upload-video/nemo_agent/me/{api.session_id}", json={"urls": [url], "source_type": "url"})


def test_a_served_engine_reads_no_local_file_and_says_the_same_whether_it_exists(tmp_path: Path, clip: Path) -> None:
    engine, url = serve_engine("--data", str(tmp_path / "engine"))
    try:
        victim, attacker = Api(url).login("victim"), Api(url).login("attacker")
        assert victim.upload(clip).json()["code"] == 0
        victims_media = next((tmp_path / "engine" / "sessions" / victim.session_id / "media").iterdir())
        answers = {}
        for name, target in {"readable media": clip.as_uri(), "another user's upload": victims_media.as_uri(),
                             "missing": (tmp_path / "nope.mp4").as_uri(), "a folder": tmp_path.as_uri(),
                             "dot-dot": f"file://{tmp_path}/engine/%2e%2e/engine/sessions"}.items():
            r = _upload_url(attacker, target)
            answers[name] = (r.status_code, r.json()["code"], r.json()["message"])
        assert set(answers.values()) == {(415, 4001, REFUSED)}, answers
        assert attacker.state()["video_infos"] == []
    finally:
        engine.terminate()
        engine.wait(10)


@pytest.fixture
def granted(engine_config, tmp_path: Path):  # noqa: ANN201 - (Api, LocalFiles)
    """An engine as the CLI embeds it: it holds the grants of its in-process client."""
    from engine.embedded import start
    from engine.local_files import LocalFiles

    engine_config.local_files = LocalFiles(engine_config.data_dir)
    server = start(engine_config)
    try:
        yield Api(server.url).login(), engine_config.local_files
    finally:
        server.stop()


def test_the_embedded_engine_reads_only_what_its_user_attached(granted, clip: Path, tmp_path: Path) -> None:
    api, files = granted
    other = tmp_path / "other.mp4"
    shutil.copy(clip, other)
    assert _upload_url(api, other.as_uri()).json()["message"] == REFUSED          # not attached
    r = _upload_url(api, files.grant(clip))
    assert r.json()["code"] == 0 and r.json()["data"]["files"][0]["filename"] == "clip.mp4"
    # a name granted once, swapped afterwards for a link to another file, reads nothing
    swapped = tmp_path / "swapped.mp4"
    shutil.copy(clip, swapped)
    url = files.grant(swapped)
    swapped.unlink()
    swapped.symlink_to(other)
    assert _upload_url(api, url).json()["message"] == REFUSED


def test_the_embedded_engine_never_reads_its_own_data_dir(granted, clip: Path, tmp_path: Path) -> None:
    from engine.local_files import NotGranted

    api, files = granted
    assert api.upload(clip).json()["code"] == 0
    stored = next((Path(files.data_dir) / "sessions" / api.session_id / "media").iterdir())
    with pytest.raises(NotGranted):
        files.grant(stored)                                   # not even when its own client asks
    outside = tmp_path / "outside.mp4"
    outside.symlink_to(stored)
    with pytest.raises(NotGranted):
        files.grant(outside)                                  # nor through a link
    escaped = f"file://{files.data_dir}/sessions/%2e%2e/sessions/{api.session_id}/media/{stored.name}"
    assert _upload_url(api, escaped).json()["message"] == REFUSED


def test_say_attaches_a_file_url_to_the_embedded_engine(clip: Path, tmp_path: Path) -> None:
    spaced = tmp_path / "my demo.mp4"
    shutil.copy(clip, spaced)
    env = {"AI_MUSIC_ENGINE_DIR": str(tmp_path / "engine")}
    result = run_cli("say", "--attach", spaced.as_uri(), "add a title 'Hi'", env=env)
    assert result.returncode == 0, result.stderr
    assert "my demo.mp4" in result.stdout and os.path.exists(spaced)


def test_the_cli_engine_takes_a_local_file_from_disk_not_as_an_upload_body(clip: Path, tmp_path: Path) -> None:
    """Issue 16, item 3: attaching a file to the CLI's own engine sends its path, not its bytes;
    what the user gets back is what an upload gives, and editing the file later in place
    leaves the engine's copy as it was."""
    from runtime.backend import connect
    from runtime.document import load_skill
    from runtime.terminal import CollectingOutput
    from skill.actions.upload import upload
    from support import BUNDLED

    mine = tmp_path / "my clip.mp4"
    shutil.copy(clip, mine)
    calls: list[dict] = []
    with connect(load_skill(BUNDLED), "local", hooks=(calls.append,),
                 engine={"data_dir": tmp_path / "engine"}) as conn:
        out = CollectingOutput()
        taken = upload(conn, [str(mine)], out)
        bodies = [c["body"] for c in calls if c["path"].startswith("/api/upload-video")]
        assert bodies == [{"urls": [mine.as_uri()], "source_type": "url"}]   # no multipart body
        sent = conn.in_session(lambda s: conn.client.upload_files(s.session_id, [mine]))
    assert list(taken.files) == sent and taken.files[0].filename == "my clip.mp4"
    size = mine.stat().st_size
    assert out.progress_events == [("Uploading", 0, size), ("Uploading", size, size)]  # the phase still shows
    stored = next((tmp_path / "engine" / "sessions").glob("*/media/*.mp4"))
    with open(mine, "r+b") as fh:                                 # ffmpeg -y and in-place saves do this
        fh.write(b"\0" * 4096)
    assert stored.read_bytes() == clip.read_bytes()


def test_a_granted_file_over_the_size_limit_is_refused_and_leaves_nothing(engine_config, clip: Path) -> None:
    from engine.embedded import start
    from engine.local_files import LocalFiles

    engine_config.local_files = LocalFiles(engine_config.data_dir)
    engine_config.max_upload_bytes = clip.stat().st_size - 1
    with start(engine_config) as server:
        api = Api(server.url).login()
        r = _upload_url(api, engine_config.local_files.grant(clip))
        assert r.json()["code"] == 4002 and r.json()["message"].startswith("file too large")
        assert not list((engine_config.data_dir / "sessions").glob("*/media/*")), "a partial copy was left"
