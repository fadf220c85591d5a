"""The workspace page over plain HTTP, and ``ai-music open`` (the browser itself: test_workspace_browser.py)."""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from support import ROOT, Api, run_cli, serve_engine


def config_of(page: str) -> dict:
    block = re.search(r'<script type="application/json" id="workspace-config">(.*?)</script>', page, re.S)
    return json.loads(block.group(1))


def test_the_page_runs_no_inline_script_and_says_so_in_its_policy(engine) -> None:
    r = httpx.get(f"{engine.url}/workspace")
    assert r.status_code == 200
    policy = r.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy and "frame-ancestors 'none'" in policy
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", r.text, re.S)
    # every script is either a file from this origin or a JSON data block, which browsers never run
    assert all('src="/workspace/static/' in attrs and not body or 'type="application/json"' in attrs
               for attrs, body in scripts)
    js = httpx.get(f"{engine.url}/workspace/static/workspace.js")
    assert js.status_code == 200 and js.headers["content-type"].startswith("text/javascript")
    assert "innerHTML" not in js.text  # user text is set with textContent only
    assert httpx.get(f"{engine.url}/workspace/static/..%2Fpage.py").status_code == 404
    assert "Authorization" in js.text and "?token" not in js.text


def test_the_page_follows_the_browsers_language(engine) -> None:
    zh = httpx.get(f"{engine.url}/workspace", headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"}).text
    en = httpx.get(f"{engine.url}/workspace", headers={"Accept-Language": "en-GB,en;q=0.9,zh;q=0.5"}).text
    assert '<html lang="zh-CN">' in zh and "发送" in zh and config_of(zh)["strings"]["send"] == "发送"
    assert '<html lang="en">' in en and ">Send<" in en


def test_the_page_carries_the_upload_limits_and_endpoints(engine) -> None:
    config = config_of(httpx.get(f"{engine.url}/workspace").text)
    assert config["maxUploadBytes"] == 500 * 1024 * 1024 and "mp4" in config["formats"] and "txt" not in config["formats"]
    assert config["endpoints"]["chat"] == {"method": "POST", "path": "/run_sse"}


def test_a_claim_token_opens_its_project_for_the_page(engine, api: Api, clip: Path) -> None:
    api.upload(clip)
    claim = api.post("/api/auth/claim-token", json={"session_id": api.session_id}).json()["data"]["claim_token"]
    r = httpx.post(f"{engine.url}/workspace/api/claim", json={"claim_token": claim})
    data = r.json()["data"]
    assert data["session_id"] == api.session_id and data["token"].startswith("nmv_usr_")
    page = Api(engine.url)
    page.token, page.session_id = data["token"], data["session_id"]
    assert page.state()["video_infos"][0]["filename"] == "clip.mp4"
    # the claim page links to the workspace with the claim in the fragment (never sent to a server)
    assert f'href="/workspace#ct={claim}"' in httpx.get(f"{engine.url}/workspace/claim?ct={claim}").text


def test_a_claim_links_token_opens_that_project_and_nothing_else(engine, api: Api) -> None:
    other_project = api.post("/api/tasks/me/with-session/nemo_agent", json={"task_name": "private"}).json()["data"]
    r = api.post("/api/auth/claim-token", json={"session_id": api.session_id}).json()["data"]
    assert r["expires_in"] <= 24 * 3600  # a link, not a standing key
    data = httpx.post(f"{engine.url}/workspace/api/claim", json={"claim_token": r["claim_token"]}).json()["data"]
    page = Api(engine.url)
    page.token, page.session_id = data["token"], data["session_id"]
    assert page.get(f"/api/state/nemo_agent/me/{api.session_id}/latest").status_code == 200
    mine = page.get(f"/api/state/nemo_agent/me/{other_project['session_id']}/latest")
    assert mine.status_code == 404 and mine.json()["code"] == 1002  # as for another user
    assert "available" not in page.get("/api/credits/balance/simple").json().get("data", {})
    made = page.post("/api/tasks/me/with-session/nemo_agent", json={"task_name": "x"})
    assert made.status_code == 404 and "session_id" not in made.json().get("data", {})
    claim = page.post("/api/auth/claim-token", json={"session_id": other_project["session_id"]})
    assert claim.status_code == 404
    assert api.get("/api/credits/balance/simple").status_code == 200  # the owner's own token still opens everything


def test_a_bad_or_cross_site_claim_is_refused(engine) -> None:
    bad = httpx.post(f"{engine.url}/workspace/api/claim", json={"claim_token": "clm_nothing"})
    assert bad.status_code == 404 and bad.json()["code"] == 1002
    form = httpx.post(f"{engine.url}/workspace/api/claim", data={"claim_token": "clm_nothing"})
    assert form.status_code == 415  # a cross-site form post can't make JSON


def _open(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "runtime.cli", "open", "--no-browser", *args],
                            cwd=os.environ.get("HOME") or ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


@pytest.mark.slow  # starts engines in their own processes
def test_open_starts_an_engine_and_prints_the_workspace_with_the_video(clip: Path, tmp_path: Path) -> None:
    proc = _open(str(clip), "--port", "0", "--data", str(tmp_path / "engine"))
    try:
        first = proc.stdout.readline()
        link = re.search(r"(http://127\.0\.0\.1:\d+)/workspace#ct=(clm_[\w-]+)", first)
        assert link, first + proc.stderr.read()
        assert "Ctrl-C" in proc.stdout.readline()
        url, claim = link.groups()
        assert httpx.get(f"{url}/workspace").status_code == 200
        data = httpx.post(f"{url}/workspace/api/claim", json={"claim_token": claim}).json()["data"]
        page = Api(url)
        page.token, page.session_id = data["token"], data["session_id"]
        assert [i["filename"] for i in page.state()["video_infos"]] == ["clip.mp4"]
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 0


@pytest.mark.slow  # starts engines in their own processes
def test_open_reuses_an_engine_that_answers(clip: Path) -> None:
    server, url = serve_engine()
    try:
        assert f"{url}/workspace" in server.stdout.readline() + server.stdout.readline()  # serve says where
        port = url.rsplit(":", 1)[1]
        done = run_cli("open", "--no-browser", "--port", port, str(clip), timeout=60)
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith(f"ai-music workspace: {url}/workspace#ct=clm_")
        assert "Ctrl-C" not in done.stdout  # nothing started here, nothing to stop
    finally:
        server.terminate()
        server.wait(timeout=60)


@pytest.mark.slow  # starts engines in their own processes
def test_open_refuses_a_file_it_cannot_use_in_one_line(tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("hello")
    server, url = serve_engine()
    try:
        done = run_cli("open", "--no-browser", "--port", url.rsplit(":", 1)[1], str(notes), timeout=60)
    finally:
        server.terminate()
        server.wait(timeout=60)
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert "unsupported file type '.txt' (notes.txt)" in done.stderr and "Traceback" not in done.stderr
    missing = run_cli("open", "--no-browser", str(tmp_path / "nope.mp4"))
    assert missing.returncode == 2 and "no such file" in missing.stderr


def test_the_fit_facts_are_on_the_timeline_as_the_mix_uses_them(engine, api: Api, clip: Path) -> None:
    api.upload(clip)
    api.chat("add calm music")
    facts = api.get(f"/workspace/api/fit/{api.session_id}").json()["data"]
    assert facts["cuts"] == [4.0]  # the clip's scene cut
    assert facts["speech"] and all(0 <= a < b <= 6.0 for a, b in facts["speech"])
    (curve,) = facts["duck"]
    inside = [db for t, db in curve if any(a + 0.3 < t < b - 0.3 for a, b in facts["speech"])]
    assert inside and max(inside) == pytest.approx(-14.0, abs=0.1)  # DUCK_DB while someone speaks
    other = Api(engine.url).login("someone-else")
    assert other.get(f"/workspace/api/fit/{api.session_id}").json()["code"] == 1002


def test_the_timeline_thumbnails_show_each_scene_where_it_plays(engine, engine_config, api: Api, clip: Path) -> None:
    import io

    from PIL import Image, ImageChops, ImageStat

    assert api.get(f"/workspace/api/thumbs/{api.session_id}").status_code == 404  # nothing on the timeline yet
    api.upload(clip)
    r = api.get(f"/workspace/api/thumbs/{api.session_id}")
    assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
    strip = Image.open(io.BytesIO(r.content)).convert("RGB")
    assert strip.size == (12 * 160, 90)  # 12 tiles over 6 s: half a second each
    tiles = [strip.crop((k * 160, 0, k * 160 + 160, 90)) for k in range(12)]
    change = [sum(ImageStat.Stat(ImageChops.difference(a, b)).mean) / 3 for a, b in zip(tiles, tiles[1:])]
    # the moving first scene (a new frame in every tile), the cut at 4 s, then the still bars
    assert all(c > 3 for c in change[:7]) and change[7] > 60 and all(c < 3 for c in change[8:]), change
    cached = list((engine_config.data_dir / "sessions" / api.session_id / "workspace").glob("thumbs-*.jpg"))
    api.chat("add a title 'Hello'")  # the picture's clips did not change: the same strip, made once
    assert api.get(f"/workspace/api/thumbs/{api.session_id}").content == r.content
    assert list((engine_config.data_dir / "sessions" / api.session_id / "workspace").glob("thumbs-*.jpg")) == cached


def test_the_waveform_and_the_soundtrack_are_the_mix_the_export_carries(engine, api: Api, clip: Path,
                                                                        tmp_path: Path) -> None:
    import numpy as np

    from media.audio import decode_audio
    from media.probe import probe

    api.upload(clip)
    api.chat("add upbeat music")
    wave = api.get(f"/workspace/api/waveform/{api.session_id}", params={"columns": 300}).json()["data"]
    assert wave["columns"] == 300 and len(wave["peaks"]) == 300 and wave["duration_s"] == 6.0
    # sounding most of the time (how much depends on the piece the session's seed gives: an intro
    # or a breakdown is quieter, so not every column)
    assert all(0 <= p <= 1.0 for p in wave["peaks"]) and sum(p > 0.05 for p in wave["peaks"]) > 150
    assert len(api.get(f"/workspace/api/waveform/{api.session_id}", params={"columns": 10**6}).json()["data"]["peaks"]) \
        == 2000
    assert api.get(f"/workspace/api/waveform/{api.session_id}", params={"columns": "x"}).status_code == 400
    r = api.get(f"/workspace/api/soundtrack/{api.session_id}")
    assert r.status_code == 200 and r.headers["content-type"] == "audio/mp4"
    saved = tmp_path / "soundtrack.m4a"
    saved.write_bytes(r.content)
    got = probe(saved)
    assert got.video is None and got.audio.codec == "aac" and got.duration_s == pytest.approx(6.0, abs=0.1)
    heard = np.abs(decode_audio(saved, sample_rate=8000, channels=1).reshape(-1)[:48000])
    drawn = [min(float(part.max()), 1.0) for part in np.array_split(heard, 300)]  # drawn from what plays
    assert max(abs(a - b) for a, b in zip(wave["peaks"], drawn)) < 0.02


def test_a_project_opened_again_shows_its_chat(engine, api: Api, clip: Path) -> None:
    api.upload(clip)
    api.chat("add a title '<b>Hi</b>'")
    api.chat("add calm music")
    said = api.get(f"/workspace/api/messages/{api.session_id}").json()["data"]["messages"]
    assert [m["role"] for m in said] == ["user", "model", "user", "model"]
    assert said[0]["text"] == "add a title '<b>Hi</b>'" and said[2]["text"] == "add calm music"
    assert "BPM" in said[3]["text"]


def test_the_workspace_media_answer_only_the_projects_owner(engine, api: Api, clip: Path) -> None:
    api.upload(clip)
    api.chat("add calm music")
    other = Api(engine.url).login("someone-else")
    for what in ("thumbs", "waveform", "soundtrack", "messages"):
        assert api.get(f"/workspace/api/{what}/{api.session_id}").status_code == 200, what
        r = other.get(f"/workspace/api/{what}/{api.session_id}")
        assert r.status_code == 404 and r.json()["code"] == 1002, what  # as if there were no such project
        anonymous = httpx.get(f"{engine.url}/workspace/api/{what}/{api.session_id}")
        assert anonymous.status_code == 401 and anonymous.json()["code"] == 1001, what


@pytest.mark.slow  # two CLI processes, each a turn
def test_say_prints_the_projects_workspace_link_once(engine, cli_env, clip: Path) -> None:
    first = run_cli("say", "add a title 'Hi'", "--attach", str(clip), "--json", env=cli_env, timeout=180)
    data = json.loads(first.stdout)
    (link,) = data["links"]
    assert link.startswith(f"{engine.url}/workspace/claim?ct=clm_")
    opened = httpx.post(f"{engine.url}/workspace/api/claim", json={"claim_token": link.split("ct=", 1)[1]})
    assert opened.json()["data"]["session_id"] == data["session_id"]  # the link opens this very project
    again = json.loads(run_cli("say", "add calm music", "--json", env=cli_env, timeout=180).stdout)
    assert again["session_id"] == data["session_id"] and again["links"] == []  # said once is enough
    shown = run_cli("say", "add a title 'Bye'", "--new", "--attach", str(clip), env=cli_env, timeout=180)
    # on a terminal too the link is whole (other token-shaped text is still hidden) and opens that project
    printed = re.search(rf"in your browser: {re.escape(engine.url)}/workspace/claim\?ct=(clm_[\w-]+)\n", shown.stdout)
    assert printed, shown.stdout
    opened = httpx.post(f"{engine.url}/workspace/api/claim", json={"claim_token": printed.group(1)}).json()["data"]
    assert opened["session_id"] != data["session_id"]  # --new: the new project's own link
