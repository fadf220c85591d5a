"""Credits: a tool on your own machine never runs out; a shared engine meters only when asked."""
from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import pytest

from support import run_cli, serve_engine

pytestmark = pytest.mark.slow  # renders video or runs whole commands: minutes (bin/test -m 'not slow' skips)


@pytest.fixture(scope="module")
def short_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from media.fixtures import VideoSpec, make_video

    return make_video(tmp_path_factory.mktemp("credits") / "short.mp4",
                      VideoSpec(seconds=2, width=320, height=180, scene_seconds=[1.0, 1.0]))


def test_a_new_user_can_run_eight_jobs_in_a_row_on_one_engine(short_clip: Path, tmp_path: Path,
                                                              isolated_home: Path) -> None:
    """The new-user check: the embedded engine (same data dir every time) never meters."""
    env = {"NEMO_POLL_INTERVAL": "0.1"}
    for number in range(8):
        result = run_cli("run", str(short_clip), "add calm piano music", "-o", str(tmp_path / f"take{number}.mp4"),
                         env=env, cwd=tmp_path)
        assert result.returncode == 0, f"run {number + 1}: {result.stderr or result.stdout}"
        assert (tmp_path / f"take{number}.mp4").stat().st_size > 0
        # nothing may point at the engine's port: it is gone the moment the command ends
        assert not re.search(r"https?://(?:127\.0\.0\.1|localhost)", result.stdout + result.stderr)
    credits = run_cli("say", "--json", "credits", env=env, cwd=tmp_path)
    data = json.loads(credits.stdout)
    assert data["credits"]["unlimited"] is True and "unlimited" in data["reply"]
    assert len(list((isolated_home / ".local" / "share" / "ai-music").glob("engine"))) == 1


def test_an_unmetered_engine_says_so_and_charges_nothing(engine_config, clip: Path) -> None:
    from support import Api
    from engine.embedded import start

    engine_config.starting_credits = None
    with start(engine_config) as server:
        api = Api(server.url).login()
        api.upload(clip)
        events = api.chat("add lo-fi music")
        text = " ".join(p.get("text", "") for e in events for p in e.get("content", {}).get("parts", []))
        balance = api.get("/api/credits/balance/simple").json()["data"]
        page = httpx.get(f"{server.url}/register?bind=anyone")
    assert balance == {"available": None, "frozen": 0, "total": None, "unlimited": True}
    assert "credit" not in text.lower()  # no "running low" nudge from an engine that does not count
    assert page.status_code == 200 and "does not meter" in page.text


def test_serve_with_credits_meters_and_its_registration_link_opens(clip: Path, tmp_path: Path) -> None:
    proc, url = serve_engine("--credits", "10", "--data", str(tmp_path / "engine"))
    try:
        env = {"NEMO_API_URL": url}
        assert "10 available" in run_cli("say", "credits", env=env, cwd=tmp_path).stdout
        result = run_cli("say", "--json", "--attach", str(clip), "add lo-fi music", env=env, cwd=tmp_path)
        data = json.loads(result.stdout)
        assert data["errors"][0]["code"] == 2001, data
        link = re.search(r"https?://\S+/register\?bind=anon_\w+", data["errors"][0]["message"]).group(0)
        assert link.startswith(url)  # the engine's own page, not a site that doesn't know this user
        page = httpx.get(link)
        assert page.status_code == 200 and "<b>10</b> credits available" in page.text
    finally:
        proc.terminate()
        proc.wait(timeout=30)
