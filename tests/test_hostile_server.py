"""The client against a hostile server (issue 13, medium 12): bounded waits and stream sizes,
and nothing it says can drive the terminal or show a token."""
from __future__ import annotations

import io

import pytest

from runtime.terminal import CollectingOutput, TerminalOutput
from skill import sse
from skill.answers import MAX_RETRY_AFTER_S, retry_after as _retry_after
from skill.shown import REDACTED, remember, shown


@pytest.mark.parametrize("header, wait", [("100000", MAX_RETRY_AFTER_S), ("inf", None), ("-inf", None),
                                          ("nan", None), ("1e999", None), ("-5", 0.0), ("2.5", 2.5),
                                          ("Fri, 31 Dec 9999 23:59:59 GMT", MAX_RETRY_AFTER_S), ("soon", None)])
def test_retry_after_is_capped_at_120_s_and_junk_is_no_hint(header: str, wait: float | None) -> None:
    assert _retry_after(header) == wait


def test_a_line_that_never_ends_stops_the_stream_at_16_mib() -> None:
    def endless():  # noqa: ANN202 - 1 MiB chunks of one line, for ever
        yield "data: "
        while True:
            yield "x" * (1 << 20)

    with pytest.raises(sse.TooLarge, match="over 16 MiB"):
        for _ in sse.lines(endless()):
            pass


def test_an_event_that_never_dispatches_stops_at_16_mib() -> None:
    decoder = sse.Decoder()
    with pytest.raises(sse.TooLarge, match="event over 16 MiB"):
        for _ in range(40):
            decoder.feed("data: " + "y" * (1 << 20))  # data lines, no blank line to dispatch them


def test_terminal_escapes_from_the_server_are_not_printed() -> None:
    out, err = io.StringIO(), io.StringIO()
    terminal = TerminalOutput(out, err, live=False)
    terminal.say("Done\x1b]0;pwned\x07 \x1b[2J\x9b31mred\x00")
    terminal.error("failed\x1b[8m hidden")
    assert out.getvalue() == "Done]0;pwned [2J31mred\n" and err.getvalue() == "failed[8m hidden\n"
    assert "\x1b" not in out.getvalue() + err.getvalue()


def test_a_token_echoed_by_the_server_is_never_shown(monkeypatch) -> None:
    monkeypatch.setenv("NEMO_TOKEN", "cloud-secret-token-1234")
    remember("issued-token-abcdefgh")
    said = "your token is cloud-secret-token-1234, also issued-token-abcdefgh and nmv_usr_AbCdEf123456789"
    assert shown(said) == f"your token is {REDACTED}, also {REDACTED} and {REDACTED}"
    collected = CollectingOutput()
    collected.say(said)
    collected.error("401 for nmv_usr_AbCdEf123456789")
    assert "cloud-secret" not in collected.text() and "nmv_usr_AbC" not in str(collected.errors)
    assert shown("line one\nline two\tcolumn") == "line one\nline two\tcolumn"


def test_a_claim_link_the_client_made_is_shown_whole_but_no_other_claim_token() -> None:
    out, err = io.StringIO(), io.StringIO()
    terminal = TerminalOutput(out, err, live=False)
    terminal.link("Open the project in your browser:", "http://127.0.0.1:8765/workspace/claim?ct=clm_ForTheUser123456")
    # the server echoing that same claim back is still hidden: nothing is exempt for the process's life
    terminal.say("echoed clm_ForTheUser123456, clm_SomethingElse98765 and nmv_clm_ForTheUser123456")
    link, echoed = out.getvalue().splitlines()
    assert link == "Open the project in your browser: http://127.0.0.1:8765/workspace/claim?ct=clm_ForTheUser123456"
    assert echoed == f"echoed {REDACTED}, {REDACTED} and {REDACTED}"
    assert shown("clm_ForTheUser123456") == REDACTED


def test_a_download_longer_than_declared_or_allowed_is_refused_and_removed(tmp_path, monkeypatch) -> None:
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from skill import errors, settings
    from skill.client import Client

    class Endless(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            self.send_response(200)
            if self.path == "/declared":
                self.send_header("Content-Length", "1000")
            self.end_headers()
            try:
                for _ in range(64):
                    self.wfile.write(b"\0" * 65536)
            except OSError:
                pass

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Endless)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setattr(settings, "MAX_DOWNLOAD_BYTES", 1 << 20)
    from support import BUNDLED
    from runtime.document import load_skill

    client = Client(f"http://127.0.0.1:{server.server_address[1]}", load_skill(BUNDLED), {})
    try:
        declared = client.download(client.base_url + "/declared", tmp_path / "declared.mp4")
        assert declared.stat().st_size == 1000                     # the declared length, not what followed
        dest = tmp_path / "endless.mp4"
        with pytest.raises(errors.TransportError, match="more than the 1 MB"):
            client.download(client.base_url + "/endless", dest)   # no length: the limit stops it
        assert not dest.exists() and not list(tmp_path.glob("endless.mp4.part*"))
    finally:
        server.shutdown()
        client.http.close()
