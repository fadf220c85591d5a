"""DNS rebinding (issue 13, high 2): the engine answers only to the names it is reached by on purpose.

A page whose name is re-pointed at 127.0.0.1 sends its own name in ``Host``; such requests
get a 421 with a JSON reason and change nothing."""
from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from support import serve_engine
from engine.api.host_check import HostCheck, host_name


def test_a_rebound_name_is_refused_and_issues_no_token(engine) -> None:
    port = engine.url.rsplit(":", 1)[1]
    for host in ("attacker.example", f"attacker.example:{port}", "127.0.0.1.attacker.example", "localhost.:x"):
        r = httpx.post(f"{engine.url}/api/auth/anonymous-token", headers={"Host": host, "X-Client-Id": "page"})
        assert r.status_code == 421, host
        assert r.headers["content-type"] == "application/json" and r.json()["code"] == 421
        assert "--allow-host" in r.json()["message"]
    store = engine.server.config.app.state.engine.store  # type: ignore[attr-defined]
    assert store.db.load("users") == {}  # no user was made for the page


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "LOCALHOST", "localhost.", "[::1]"])
def test_the_loopback_names_are_answered(engine, host: str) -> None:
    port = engine.url.rsplit(":", 1)[1]
    r = httpx.get(f"{engine.url}/healthz", headers={"Host": f"{host}:{port}"})
    assert r.status_code == 200 and r.json()["ok"] is True


def test_serve_allow_host_adds_names_and_links_use_them(tmp_path: Path) -> None:
    engine, url = serve_engine("--data", str(tmp_path / "engine"), "--allow-host", "studio.lan",
                               "--allow-host", "Music.Home")
    try:
        assert httpx.get(f"{url}/healthz", headers={"Host": "studio.lan"}).status_code == 200
        assert httpx.get(f"{url}/healthz", headers={"Host": "music.home:8765"}).status_code == 200
        assert httpx.get(f"{url}/healthz", headers={"Host": "other.lan"}).status_code == 421
        r = httpx.post(f"{url}/api/auth/anonymous-token", headers={"Host": "studio.lan", "X-Client-Id": "c"})
        assert r.json()["code"] == 0
    finally:
        engine.terminate()
        engine.wait(10)


def test_serve_refuses_an_allow_host_that_is_not_a_name() -> None:
    from support import run_cli

    result = run_cli("serve", "--port", "0", "--allow-host", "http://studio.lan:80")
    assert result.returncode != 0 and "--allow-host http://studio.lan:80: not a host name" in result.stderr
    assert "Traceback" not in result.stderr


def test_bound_to_every_interface_any_address_literal_passes_but_names_need_allowing() -> None:
    check = HostCheck(lambda *a: None, "0.0.0.0", ["studio.lan"])  # type: ignore[arg-type, return-value]
    assert check.allows("192.168.1.20:8765") and check.allows("[fe80::1]:8765") and check.allows("studio.lan")
    assert not check.allows("attacker.example") and not check.allows(None) and not check.allows("")
    assert not HostCheck(lambda *a: None, "127.0.0.1").allows("192.168.1.20")  # type: ignore[arg-type, return-value]
    assert host_name("[::1]:80") == "::1" and host_name("a b") is None and host_name("x:y") is None
