"""The CLI's own engine hands over a finished render as a file, not an HTTP body (issue 16, item 3, the
download's half); no other engine's ``file://`` output URL is ever read from this machine's disk."""
from __future__ import annotations

from pathlib import Path

import pytest

from skill.client import RenderStatus

pytestmark = pytest.mark.slow  # renders video


def test_the_embedded_engine_gives_its_render_as_a_file_and_the_client_copies_it(tmp_path: Path, clip: Path) -> None:
    from runtime.backend import connect
    from runtime.conversation import Conversation
    from runtime.document import load_skill
    from runtime.terminal import CollectingOutput
    from support import BUNDLED

    calls: list[dict] = []
    with connect(load_skill(BUNDLED), "local", hooks=(calls.append,), engine={"data_dir": tmp_path / "engine"}) as conn:
        convo = Conversation(conn, CollectingOutput(), auto_export=True, export_dest=tmp_path / "out.mp4")
        report = convo.turn("add calm piano music", [str(clip)])
        assert report.ok, report.errors
        render_id = next(c["body"]["id"] for c in calls if c["path"] == "/api/render/proxy/lambda")
        status = conn.client.poll_render(render_id)
        rendered = next((tmp_path / "engine" / "renders").glob("*.mp4"))
        assert status.output_url == rendered.resolve().as_uri()
        assert (tmp_path / "out.mp4").read_bytes() == rendered.read_bytes()
    assert not any("/download" in c["path"] for c in calls)  # no HTTP download
    assert not list(tmp_path.glob("out.mp4.part*"))


def test_a_file_url_from_any_other_engine_is_not_read(cli_env, engine, clip: Path, tmp_path: Path) -> None:
    from runtime.backend import connect
    from runtime.conversation import Conversation
    from runtime.document import load_skill
    from runtime.terminal import CollectingOutput
    from support import BUNDLED

    secret = tmp_path / "secret.txt"
    secret.write_text("not for the server to ask for")
    calls: list[dict] = []
    with connect(load_skill(BUNDLED), hooks=(calls.append,)) as conn:  # the served test engine
        assert not conn.backend.local
        convo = Conversation(conn, CollectingOutput(), output_dir=tmp_path)
        convo.turn("add calm piano music", [str(clip)])
        first = Path(convo.turn("export").files[0])
        render_id = next(c["body"]["id"] for c in calls if c["path"] == "/api/render/proxy/lambda")
        assert conn.client.poll_render(render_id).output_url.startswith("http://")  # a served engine: its URL
        forged = RenderStatus(render_id, "completed", 100, secret.as_uri(), None)
        got = conn.client.download_render(forged, tmp_path / "again.mp4", local=conn.backend.local)
        # a local file gone meanwhile (housekeeping): straight to the endpoint, its file:// URL not tried over HTTP
        asked: list[str] = []
        download = conn.client.download
        conn.client.download = lambda url, *args, **kwargs: (asked.append(url), download(url, *args, **kwargs))[1]
        gone = RenderStatus(render_id, "completed", 100, (tmp_path / "gone.mp4").as_uri(), None)
        third = conn.client.download_render(gone, tmp_path / "third.mp4", local=True)
    assert got.read_bytes() == first.read_bytes()  # from the download endpoint, never the named file
    assert third.read_bytes() == first.read_bytes()
    assert len(asked) == 1 and asked[0].startswith("http://") and asked[0].endswith("/download"), asked
