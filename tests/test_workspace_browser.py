"""The web workspace in a real headless Chromium (Debian's ``chromium``, driven by Playwright).

A person's path through the page: upload a generated clip, ask for music, see the cuts and
sections on the timeline, export and download a 1080p H.264 + AAC file; user text that
looks like HTML stays text; a claim link from ``ai-music say`` opens the same project.
Screenshots of every step go to ``$AI_MUSIC_SCREENSHOTS`` (or a temp folder), printed.
"""
from __future__ import annotations

import contextlib
import os
import re
import shutil
from pathlib import Path

import pytest

from media.probe import probe
from support import run_cli

pytestmark = pytest.mark.slow  # a browser and a render: about a minute

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None)
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
WAIT_MS = 120_000  # a loaded 2-core CI box composes and renders slowly


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        pytest.skip("NO CHROMIUM: the workspace browser tests need Debian's `chromium` (.ci/run installs it)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install -e '.[test]' (playwright)")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = Path(os.environ.get("AI_MUSIC_SCREENSHOTS") or tmp_path_factory.mktemp("screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    print(f"\nworkspace screenshots: {folder}")
    return folder


@pytest.fixture
def page(browser, request):
    locale = getattr(request, "param", "en-US")
    context = browser.new_context(locale=locale, accept_downloads=True, viewport={"width": 1100, "height": 1400})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.errors = errors
    yield page
    context.close()


def open_workspace(page, url: str) -> None:
    page.goto(url)
    page.wait_for_selector("body[data-ready='1']", timeout=WAIT_MS)


def send(page, text: str) -> None:
    """Type, send, and wait until the turn ended and the page refreshed (the CSP forbids eval: no wait_for_function)."""
    done = int(page.locator("body").get_attribute("data-turns") or 0)
    page.fill("#message", text)
    page.click("#send")
    page.wait_for_selector(f"body[data-turns='{done + 1}']", timeout=WAIT_MS)


def upload(page, path: Path) -> None:
    done = int(page.locator("body").get_attribute("data-uploads") or 0)
    page.set_input_files("#file", str(path))
    page.wait_for_selector(f"body[data-uploads='{done + 1}']", timeout=WAIT_MS)


def poll(page, expression: str, timeout_s: float = WAIT_MS / 1000):  # noqa: ANN201
    """Evaluate ``expression`` until it is truthy (with a deadline) and return it."""
    import time

    deadline = time.monotonic() + timeout_s
    while (value := page.evaluate(expression)) in (None, False, 0):
        assert time.monotonic() < deadline, f"never true: {expression}"
        page.wait_for_timeout(100)
    return value


def test_upload_music_timeline_export_download(engine, page, clip: Path, shots: Path, tmp_path: Path) -> None:
    open_workspace(page, f"{engine.url}/workspace")
    page.screenshot(path=str(shots / "01-empty.png"), full_page=True)
    assert page.locator("#project").get_attribute("data-session")
    # the token stays out of every URL the page loads
    upload(page, clip)
    assert "clip.mp4" in page.locator("#files").inner_text()
    page.screenshot(path=str(shots / "02-uploaded.png"), full_page=True)

    send(page, "add upbeat music")
    reply = page.locator("#messages li").last.inner_text()
    assert "BPM" in reply and "**" not in reply
    page.wait_for_selector("#timeline svg [data-kind='section']", timeout=WAIT_MS)
    assert page.locator("#timeline [data-kind='cut']").count() == 1  # the clip's one scene cut (at 4 s)
    assert page.locator("#timeline [data-kind='section']").count() >= 2
    assert page.locator("#timeline [data-kind='downbeat']").count() >= 1
    assert page.locator("#timeline [data-kind='speech']").count() >= 1
    assert page.locator("#timeline [data-kind='duck']").count() == 1  # the music ducked under the speech
    # under the time axis: the picture's frames and the new soundtrack's waveform, fetched with the token
    page.wait_for_selector("#timeline image[data-kind='thumbs']", timeout=WAIT_MS)
    page.wait_for_selector("#timeline path[data-kind='waveform']", timeout=WAIT_MS)
    assert page.locator("#timeline image[data-kind='thumbs']").get_attribute("href").startswith("blob:")
    page.screenshot(path=str(shots / "03-music-timeline.png"), full_page=True)

    # the preview: the new soundtrack with the video in step, A/B against the original sound, to the end
    page.click("#preview-play")
    poll(page, "!document.querySelector('#preview-audio').paused")
    assert page.evaluate("[document.querySelector('#preview-audio').muted, document.querySelector('#preview-video').muted]") \
        == [False, True]
    page.click("#ab")
    assert page.locator("#ab").get_attribute("data-hearing") == "original"
    assert page.evaluate("[document.querySelector('#preview-audio').muted, document.querySelector('#preview-video').muted]") \
        == [True, False]
    # driven by seeking, not by real-time playback, which a loaded machine slows: the clip follows
    page.evaluate("document.querySelector('#preview-audio').currentTime = 3")
    poll(page, "document.querySelector('#preview-video').currentTime > 2.5")  # the clip plays under it
    page.screenshot(path=str(shots / "03b-preview.png"), full_page=True)
    page.evaluate("document.querySelector('#preview-audio').currentTime = 5.5")
    page.wait_for_selector("body[data-previews='1']", timeout=WAIT_MS)
    # the picture followed the soundtrack's clock to the end (6 s), not a second of it left behind
    assert page.evaluate("document.querySelector('#preview-video').currentTime") == pytest.approx(6.0, abs=1.0)
    page.click("#ab")
    assert page.locator("#ab").get_attribute("data-hearing") == "new"

    # the reply's "click **Export**" is a real button doing the export
    page.select_option("#export-format", "mp4")
    page.locator("#messages .hint").last.click()
    page.wait_for_selector("#download:not([hidden])", timeout=WAIT_MS)
    poll(page, "document.querySelector('#result').readyState >= 1")
    assert page.evaluate("document.querySelector('#result').duration") == pytest.approx(6.0, abs=0.2)
    page.evaluate("(v => { v.muted = true; return v.play().then(() => true); })(document.querySelector('#result'))")
    poll(page, "document.querySelector('#result').ended", timeout_s=60)  # it plays to the end in the page
    page.screenshot(path=str(shots / "04-exported.png"), full_page=True)
    with page.expect_download() as info:
        page.click("#download")
    saved = tmp_path / "out.mp4"
    info.value.save_as(saved)
    got = probe(saved)
    assert (got.video.width, got.video.height) == (1920, 1080)
    assert got.video.codec == "h264" and got.audio.codec == "aac"
    assert not page.errors, page.errors


FIT_PICTURE = "#messages li.assistant a.fit-picture img"  # the picture shown under the reply that linked it


def _decoded(page) -> int:  # noqa: ANN001
    """The shown picture's width once decoded (0 until then, or if it cannot be)."""
    return page.evaluate(f"(i => i && i.complete ? i.naturalWidth : 0)(document.querySelector('{FIT_PICTURE}'))")


def _opens(page, url: str) -> bool:  # noqa: ANN001
    """Whether a blob URL still loads as an image (a revoked one does not)."""
    return page.evaluate("u => new Promise(r => { const i = new Image(); i.onload = () => r(true); "
                         "i.onerror = () => r(false); i.src = u; })", url)


def test_the_fit_picture_shows_in_the_conversation(engine, page, clip: Path, shots: Path) -> None:
    """Asked for in words, the picture appears under the reply, fetched with the token (a blob URL, never the
    token in an address); Send is free while it loads; a newer picture replaces it and frees the old one, and
    an older one answered late never replaces a newer; an answer that is not a picture is said in one line; a
    picture still loading when "New project" is pressed never lands in the new project."""
    from playwright.sync_api import Error as PlaywrightError

    from engine.workspace.plan import SIZE

    open_workspace(page, f"{engine.url}/workspace")
    upload(page, clip)
    send(page, "add calm music")
    held: list = []
    hold = "**/api/fit/*/picture.png"
    page.route(hold, lambda route: held.append(route))  # the picture's answer waits until the test lets it go
    with page.expect_request(hold, timeout=WAIT_MS) as asked:
        send(page, "show me how the music fits")
    reply = page.locator("#messages li.assistant").last
    assert "/api/fit/" in reply.inner_text()
    assert page.locator("#send").is_enabled() and page.locator(FIT_PICTURE).count() == 0  # the turn is over
    assert asked.value.headers.get("authorization", "").startswith("Bearer ") and len(held) == 1
    held.pop().continue_()
    page.unroute(hold)
    page.wait_for_selector(FIT_PICTURE, timeout=WAIT_MS)
    poll(page, f"(i => i.complete && i.naturalWidth > 0)(document.querySelector('{FIT_PICTURE}'))")
    assert _decoded(page) == SIZE[0]
    first = page.locator(FIT_PICTURE).get_attribute("src")
    assert first.startswith("blob:") and reply.locator("a.fit-picture").count() == 1
    assert reply.locator("a.fit-picture").get_attribute("rel") == "noopener"
    page.screenshot(path=str(shots / "12-fit-picture.png"), full_page=True)
    with page.context.expect_page() as opened:
        page.locator(FIT_PICTURE).click()
    full = opened.value
    full.wait_for_load_state()
    assert full.url == first and full.evaluate("document.querySelector('img').naturalWidth") == SIZE[0]
    full.close()

    send(page, "show me how the music fits")  # again: the new picture replaces the old one
    page.wait_for_selector("body[data-pictures='2']", timeout=WAIT_MS)
    assert page.locator("#messages a.fit-picture").count() == 1 and page.locator(FIT_PICTURE).get_attribute("src") != first
    assert page.locator("#messages li.assistant").last.locator("a.fit-picture").count() == 1
    assert not _opens(page, first)  # the replaced picture's memory was freed

    page.route(hold, lambda route: held.append(route))
    for _ in range(2):  # an older picture still loading when a newer one is asked for…
        with page.expect_request(hold, timeout=WAIT_MS):
            send(page, "show me how the music fits")
    assert page.locator("#send").is_enabled() and len(held) == 2
    older = held.pop(0)
    held.pop().continue_()
    newest = page.locator("#messages li.assistant").last
    newest.locator("a.fit-picture").wait_for(timeout=WAIT_MS)
    with contextlib.suppress(PlaywrightError):  # …answers late (if the page still waits for it): shown nowhere
        older.continue_()
    page.wait_for_selector("body[data-pictures='4']", timeout=WAIT_MS)  # both fetches over
    assert page.locator("#messages a.fit-picture").count() == 1 and newest.locator("a.fit-picture").count() == 1
    assert page.locator("#messages .fit-failed").count() == 0  # an aborted fetch is not a failure to show
    poll(page, f"(i => i.complete && i.naturalWidth > 0)(document.querySelector('{FIT_PICTURE}'))")
    second = page.locator(FIT_PICTURE).get_attribute("src")
    page.unroute(hold)

    page.route(hold, lambda route: route.fulfill(status=200, headers={"Content-Type": "text/html"}, body="<p>no</p>"))
    send(page, "show me how the music fits")  # an answer that is not a picture: one line, nothing put up
    page.wait_for_selector("body[data-pictures='5']", timeout=WAIT_MS)
    failed = page.locator("#messages li.assistant").last.locator(".fit-failed")
    assert failed.inner_text().strip() == "The picture could not be shown: the answer was not a PNG picture"
    page.unroute(hold)
    assert page.locator("#messages li.assistant").last.locator("img").count() == 0

    page.route(hold, lambda route: held.append(route))
    with page.expect_request(hold, timeout=WAIT_MS):
        send(page, "show me how the music fits")  # and once more, with "New project" pressed while it loads
    assert page.locator("#send").is_enabled() and len(held) == 1
    old_session = page.locator("#project").get_attribute("data-session")
    page.click("#new-project")
    page.wait_for_selector(f"#project:not([data-session='{old_session}'])", timeout=WAIT_MS)
    assert not _opens(page, second)  # cleared with the conversation
    with contextlib.suppress(PlaywrightError):  # aborted with the conversation: nothing to answer any more
        held.pop().continue_()
    page.wait_for_selector("body[data-pictures='6']", timeout=WAIT_MS)
    assert page.locator("#messages li").count() == 0 and page.locator("#messages img").count() == 0
    unexpected = [e for e in page.errors if "ERR_FILE_NOT_FOUND" not in e]  # _opens tried revoked URLs on purpose
    assert not unexpected, unexpected


def test_a_reopened_project_shows_its_fit_picture_as_a_fresh_reply_does(engine, page, clip: Path,
                                                                          shots: Path) -> None:
    """Opened again (a reload, a claim link), the chat so far used to show the picture's bare address as text,
    which opens only with the token (a click got 401): the newest reply that linked it shows the picture."""
    from engine.workspace.plan import SIZE

    open_workspace(page, f"{engine.url}/workspace")
    upload(page, clip)
    send(page, "add calm music")
    for _ in range(2):
        send(page, "show me how the music fits")
    page.wait_for_selector("body[data-pictures='2']", timeout=WAIT_MS)
    replies = page.locator("#messages li.assistant").count()

    page.reload()
    page.wait_for_selector("body[data-ready='1']", timeout=WAIT_MS)
    page.wait_for_selector("body[data-pictures='1']", timeout=WAIT_MS)
    assert page.locator("#messages li.assistant").count() == replies  # the conversation is back
    newest = page.locator("#messages li.assistant").last
    assert "/api/fit/" in newest.inner_text() and newest.locator("a.fit-picture").count() == 1
    assert page.locator("#messages a.fit-picture").count() == 1  # one picture live, under the newest link
    poll(page, f"(i => i.complete && i.naturalWidth > 0)(document.querySelector('{FIT_PICTURE}'))")
    assert _decoded(page) == SIZE[0] and page.locator(FIT_PICTURE).get_attribute("src").startswith("blob:")
    assert page.locator("#messages .fit-failed").count() == 0
    page.screenshot(path=str(shots / "13-fit-picture-reopened.png"), full_page=True)
    assert not page.errors, page.errors


def test_music_only_export_plays_as_audio(engine, page, clip: Path, shots: Path, tmp_path: Path) -> None:
    open_workspace(page, f"{engine.url}/workspace")
    upload(page, clip)
    assert "clip.mp4" in page.locator("#files").inner_text()
    send(page, "add calm music")
    page.select_option("#export-format", "wav")
    page.click("#export")
    page.wait_for_selector("#player audio", timeout=WAIT_MS)
    with page.expect_download() as info:
        page.click("#download")
    saved = tmp_path / "music.wav"
    info.value.save_as(saved)
    got = probe(saved)
    assert got.video is None and got.audio is not None and got.duration_s == pytest.approx(6.0, abs=0.2)
    assert page.locator("#credits").is_visible()  # the test engine meters credits; it shows them
    page.screenshot(path=str(shots / "05-music-only.png"), full_page=True)
    first = page.locator("#messages li.assistant").last.inner_text()
    page.click("#another")  # the same call as typing "another one": a new piece
    page.wait_for_selector("body[data-turns='2']", timeout=WAIT_MS)
    assert page.locator("#messages li.user").last.inner_text().endswith("another one")
    again = page.locator("#messages li.assistant").last.inner_text()
    assert "fresh take" in again and "BPM" in again and again != first
    page.reload()  # the same project opened again shows its conversation
    page.wait_for_selector("body[data-ready='1']", timeout=WAIT_MS)
    page.wait_for_selector("#messages li:nth-child(4)", timeout=WAIT_MS)
    assert page.locator("#messages li.user").first.inner_text().endswith("add calm music")


def test_html_in_a_title_and_a_file_name_stays_text(engine, page, clip: Path, shots: Path, tmp_path: Path) -> None:
    hostile = tmp_path / "<img src=x onerror=window.__xss=1>.mp4"
    shutil.copy(clip, hostile)
    open_workspace(page, f"{engine.url}/workspace")
    upload(page, hostile)
    assert "<img src=x" in page.locator("#files").inner_text()
    send(page, "add a title '<script>window.__xss=2</script><b>Bold</b>'")
    page.wait_for_selector("#timeline [data-kind='title']", timeout=WAIT_MS)
    page.screenshot(path=str(shots / "06-xss-as-text.png"), full_page=True)
    assert page.evaluate("window.__xss") is None
    assert page.locator("#files img, #messages img, #messages b, #timeline b, #timeline script").count() == 0
    assert "<b>Bold</b>" in page.locator("#timeline [data-kind='title']").first.text_content()
    assert "onerror" in page.locator("#files").inner_text()
    page.reload()  # the conversation shown again on open is text too
    page.wait_for_selector("#messages li.user", timeout=WAIT_MS)
    assert "<b>Bold</b>" in page.locator("#messages li.user").first.inner_text()
    assert page.evaluate("window.__xss") is None and page.locator("#messages b, #messages script").count() == 0


def test_a_claim_link_from_say_opens_the_same_project(engine, cli_env, page, clip: Path, shots: Path) -> None:
    said = run_cli("say", "add a title 'From the agent' for 2 seconds", "--attach", str(clip), "--json",
                   env=cli_env, timeout=180)
    assert said.returncode == 0, said.stdout + said.stderr
    exported = run_cli("say", "export", "--json", env=cli_env, timeout=300)
    link = next(u for u in re.findall(r"https?://[^\s\"']+", exported.stdout) if "/workspace/claim?ct=" in u)
    page.goto(link)
    page.click("#open-workspace")
    page.wait_for_selector("body[data-ready='1']", timeout=WAIT_MS)
    assert "#ct=" not in page.url  # the claim token leaves the address bar once used
    page.wait_for_selector("#timeline [data-kind='title']", timeout=WAIT_MS)
    assert "From the agent" in page.locator("#timeline").text_content()
    page.wait_for_selector("#messages li.user", timeout=WAIT_MS)  # what the agent said is the chat so far
    assert "add a title 'From the agent'" in page.locator("#messages li.user").first.inner_text()
    session_id = page.locator("#project").get_attribute("data-session")
    assert session_id and session_id in exported.stdout
    page.screenshot(path=str(shots / "07-claimed.png"), full_page=True)
    send(page, "add lofi music")  # a person finishes what the agent started
    page.wait_for_selector("#timeline [data-kind='section']", timeout=WAIT_MS)
    assert page.locator("#project").get_attribute("data-session") == session_id


@pytest.mark.parametrize("page", ["zh-CN"], indirect=True)
def test_the_page_speaks_the_browsers_language(engine, page, shots: Path) -> None:
    open_workspace(page, f"{engine.url}/workspace")
    assert page.locator("h1").inner_text() == "ai-music 工作台"
    assert page.locator("#send").inner_text() == "发送"
    page.screenshot(path=str(shots / "08-zh.png"), full_page=True)
    # the same page by the other loopback name (its own token: storage is per origin)
    open_workspace(page, engine.url.replace("127.0.0.1", "localhost") + "/workspace")
    assert page.locator("#project").get_attribute("data-session")


def test_a_long_wait_shows_a_quiet_still_working(engine, page, clip: Path, shots: Path) -> None:
    from support import Api

    open_workspace(page, f"{engine.url}/workspace")
    upload(page, clip)
    Api(engine.url).faults(heartbeats_only_s=3.0)  # the engine sends only heartbeats for 3 s first
    page.fill("#message", "add calm music")
    page.click("#send")
    page.wait_for_selector("#working:not([hidden])", timeout=WAIT_MS)
    assert "still working" in page.locator("#working").inner_text()
    page.screenshot(path=str(shots / "09-still-working.png"), full_page=True)
    page.wait_for_selector("body[data-turns='1']", timeout=WAIT_MS)
    assert page.locator("#working").is_hidden()


def test_an_export_can_be_cancelled(engine, page, clip: Path, shots: Path) -> None:
    from support import Api

    open_workspace(page, f"{engine.url}/workspace")
    upload(page, clip)
    send(page, "add a title 'Wait for it'")
    Api(engine.url).faults(render_delay_s=6.0)  # long enough to press Cancel, short for teardown
    page.click("#export")
    page.wait_for_selector("#cancel:not([hidden])", timeout=WAIT_MS)
    page.screenshot(path=str(shots / "10-exporting.png"), full_page=True)
    page.click("#cancel")
    page.wait_for_selector("#export-status:has-text('Export cancelled.')", timeout=WAIT_MS)
    assert page.locator("#download").is_hidden() and page.locator("#cancel").is_hidden()


def test_open_shows_its_video_in_the_browser(page, clip: Path, shots: Path, tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys

    from support import ROOT

    proc = subprocess.Popen([sys.executable, "-m", "runtime.cli", "open", "--no-browser", "--port", "0",
                             "--data", str(tmp_path / "engine"), str(clip)],
                            cwd=os.environ.get("HOME") or ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            text=True)
    try:
        link = re.search(r"http://\S+", proc.stdout.readline()).group(0)
        open_workspace(page, link)
        assert "clip.mp4" in page.locator("#files").inner_text()
        page.screenshot(path=str(shots / "11-open.png"), full_page=True)
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)


def test_a_token_from_an_engine_since_reset_is_replaced(engine, page, shots: Path) -> None:
    open_workspace(page, f"{engine.url}/workspace")
    page.evaluate("localStorage.setItem('ai-music.workspace', JSON.stringify("
                  "{client_id: 'gone', token: 'nmv_usr_stale', session_id: 'no-such-session'}))")
    open_workspace(page, f"{engine.url}/workspace")
    assert page.locator("#notice").inner_text() == ""
    assert page.locator("#project").get_attribute("data-session") not in (None, "no-such-session")


def test_a_file_it_cannot_use_is_named_in_one_line(engine, page, tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("hello")
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"not a video at all" * 100)
    open_workspace(page, f"{engine.url}/workspace")
    page.set_input_files("#file", str(notes))
    assert "notes.txt: unsupported file type" in page.locator("#upload-status").inner_text()
    page.set_input_files("#file", str(broken))  # the engine refuses it; its message is shown as it is
    page.wait_for_selector("#upload-status:has-text('broken.mp4 cannot be read: it looks damaged')", timeout=WAIT_MS)
    assert page.locator("#files li").count() == 0


def test_new_project_while_the_history_loads_starts_empty(engine, page, clip: Path) -> None:
    """"New project" pressed while a reopened project's chat is still loading: the old project's messages and
    its fit picture used to land in the new, empty project once they arrived."""
    open_workspace(page, f"{engine.url}/workspace")
    upload(page, clip)
    send(page, "add calm music")
    send(page, "show me how the music fits")
    page.wait_for_selector("body[data-pictures='1']", timeout=WAIT_MS)
    old = page.locator("#project").get_attribute("data-session")
    held: list = []
    page.route("**/workspace/api/messages/**", lambda route: held.append(route))  # the history waits for the test
    page.reload(wait_until="domcontentloaded")
    for _ in range(WAIT_MS // 50):
        if held:
            break
        page.wait_for_timeout(50)
    assert held, "the reopened project never asked for its chat"
    page.click("#new-project")
    poll(page, f"(s => s && s !== {old!r})(document.querySelector('#project').dataset.session)")
    held[0].continue_()
    page.wait_for_selector("body[data-ready='1']", timeout=WAIT_MS)  # set once the history is handled
    assert page.locator("#messages li").count() == 0
    assert page.locator("#messages a.fit-picture").count() == 0
    assert page.locator("#project").get_attribute("data-session") != old
    assert not page.errors, page.errors
