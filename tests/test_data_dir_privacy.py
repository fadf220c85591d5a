"""The engine's data dir is private (issue 13, medium 9): folders 0700, files 0600, and no
client id in clear — a client id mints that user's tokens."""
from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import httpx

from support import Api, serve_engine


def _modes(root: Path) -> dict[Path, int]:
    """Every path's mode, skipping what the running engine removes while we walk (its attempt
    folders and temp files are tidied after a render; a vanished file left nothing behind).
    os.walk, not rglob: rglob raises when a folder goes between listing and reading it."""
    modes = {}
    for folder, _dirs, files in os.walk(root):  # symlinked folders are listed, never followed
        for path in [Path(folder), *(Path(folder, name) for name in files)]:
            try:
                modes[path] = path.lstat().st_mode
            except FileNotFoundError:
                continue
    return modes


def _loose(root: Path) -> list[str]:
    return [f"{p.relative_to(root)} {stat.filemode(mode)}" for p, mode in _modes(root).items()
            if not stat.S_ISLNK(mode) and mode & 0o077]


def test_a_served_engine_keeps_everything_it_writes_private(tmp_path: Path, clip: Path) -> None:
    data = tmp_path / "engine"
    engine, url = serve_engine("--data", str(data))
    try:
        api = Api(url).login("a-client-id-nobody-else-knows")
        api.upload(clip)
        api.chat('add a title "Private"')
        assert api.render("render_private")["status"] == "completed"
        assert _loose(data) == []
        assert b"a-client-id-nobody-else-knows" not in _everything(data)
    finally:
        engine.terminate()
        engine.wait(10)


def _everything(root: Path) -> bytes:
    return b"".join(_read(p) for p, mode in _modes(root).items() if stat.S_ISREG(mode))


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return b""


def test_an_older_data_dir_is_tightened_and_its_clear_client_ids_hashed(tmp_path: Path) -> None:
    data = tmp_path / "engine"
    (data / "sessions").mkdir(parents=True)
    (data / "users.json").write_text(json.dumps({  # as an older engine left it: client ids in clear, 644
        "users": {"anon_0123456789abcdef": {"user_id": "anon_0123456789abcdef", "client_id": "old-client",
                                            "available": 42, "frozen": 0, "total": 42, "tokens": {}}},
        "claims": {}}))
    for path in [data, *data.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    engine, url = serve_engine("--data", str(data), "--credits", "100")
    try:
        assert _loose(data) == []
        assert not (data / "users.json").exists() and b"old-client" not in _everything(data)
        again = httpx.post(f"{url}/api/auth/anonymous-token", headers={"X-Client-Id": "old-client"}).json()["data"]
        assert (again["user_id"], again["credits"]) == ("anon_0123456789abcdef", 42)  # the same user, kept
    finally:
        engine.terminate()
        engine.wait(10)
