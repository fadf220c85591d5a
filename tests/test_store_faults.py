"""Disk faults in the store (issue 13, mediums 7 and 8): a render failing on a full disk ends
``failed`` with a reason, not ``processing`` forever."""
from __future__ import annotations

from pathlib import Path

from support import Api


def test_a_render_that_fails_on_a_full_disk_is_failed_with_a_reason(api: Api, clip: Path) -> None:
    api.upload(clip)
    api.chat('add a title "Full"')
    api.faults(render_delay_s=1.0)
    r = api.post("/api/render/proxy/lambda", json={"id": "render_full", "sessionId": api.session_id,
                                                   "draft": api.state()["draft"]})
    assert r.json()["success"] is True
    api.faults(disk_full=True, render_delay_s=1.0)  # the disk fills while the render waits to start
    try:
        ended = api.wait("render_full", ("completed", "failed", "cancelled"), timeout=60)
    finally:
        api.faults(disk_full=False)
    assert ended["status"] == "failed" and "disk is full" in ended["error"], ended


class _ReadOnly:
    """The data dir's writes fail as on a read-only file system (EROFS), at the file layer the store uses."""

    def __init__(self, root: Path, monkeypatch) -> None:  # noqa: ANN001
        import os
        import pathlib

        self.on = False
        root_s = str(root)

        def inside(path: object) -> bool:
            return self.on and str(path).startswith(root_s)

        def refuse(path: object) -> OSError:
            import errno

            return OSError(errno.EROFS, "Read-only file system", str(path))

        real_open, real_mkdir, real_unlink, real_replace = (pathlib.Path.open, pathlib.Path.mkdir,
                                                            pathlib.Path.unlink, os.replace)

        def open_(self_, mode="r", *a, **kw):  # noqa: ANN001, ANN202
            if inside(self_) and any(c in mode for c in "wax+"):
                raise refuse(self_)
            return real_open(self_, mode, *a, **kw)

        def mkdir(self_, mode=0o777, parents=False, exist_ok=False):  # noqa: ANN001, ANN202
            if inside(self_) and not (exist_ok and self_.is_dir()):
                raise refuse(self_)
            return real_mkdir(self_, mode, parents, exist_ok)

        def unlink(self_, missing_ok=False):  # noqa: ANN001, ANN202
            if inside(self_):
                raise refuse(self_)  # EROFS comes before "no such file"
            return real_unlink(self_, missing_ok)

        def replace(src, dst, *a, **kw):  # noqa: ANN001, ANN202
            if inside(dst):
                raise refuse(dst)
            return real_replace(src, dst, *a, **kw)

        monkeypatch.setattr(pathlib.Path, "open", open_)
        monkeypatch.setattr(pathlib.Path, "mkdir", mkdir)
        monkeypatch.setattr(pathlib.Path, "unlink", unlink)
        real_os_open = os.open

        def os_open(path, flags, *a, **kw):  # noqa: ANN001, ANN202
            if inside(path) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
                raise refuse(path)
            return real_os_open(path, flags, *a, **kw)

        from engine import user_db

        real_write = user_db.UserDB._write

        def db_write(db, *a, **kw):  # noqa: ANN001, ANN202 - SQLite writes from C: refuse them at its layer
            if inside(db.path):
                raise user_db.DBError("read-only", "attempt to write a readonly database")
            return real_write(db, *a, **kw)

        monkeypatch.setattr(os, "replace", replace)
        monkeypatch.setattr(os, "open", os_open)
        monkeypatch.setattr(user_db.UserDB, "_write", db_write)


def test_a_read_only_data_dir_answers_507_in_json_and_freezes_no_credits(api: Api, engine_config, clip: Path,
                                                                          monkeypatch) -> None:
    read_only = _ReadOnly(engine_config.data_dir, monkeypatch)
    read_only.on = True
    chat = {"app_name": "nemo_agent", "user_id": "me", "session_id": api.session_id,
            "new_message": {"parts": [{"text": 'add a title "Locked"'}]}}
    answers = {
        "chat": api.post("/run_sse", json=chat),
        "upload": api.upload(clip),
        "session": api.post("/api/tasks/me/with-session/nemo_agent", json={"task_name": "x"}),
        "token": api.http.post("/api/auth/anonymous-token", headers={"X-Client-Id": "someone-new"}),
    }
    for name, r in answers.items():
        assert r.status_code == 507, (name, r.status_code, r.text)
        assert "read-only" in r.json()["message"] and "Traceback" not in r.text, name
    read_only.on = False
    balance = api.get("/api/credits/balance/simple").json()["data"]
    assert (balance["available"], balance["frozen"]) == (100, 0)  # nothing stays reserved
    assert api.upload(clip).json()["code"] == 0                    # and the engine works again


def test_a_real_read_only_data_dir_answers_507_in_json(tmp_path: Path) -> None:
    import os

    import pytest

    from support import serve_engine

    if os.geteuid() == 0:
        pytest.skip("root writes into a 0500 directory anyway")
    data = tmp_path / "engine"
    engine, url = serve_engine("--data", str(data))
    try:
        api = Api(url).login()
        for folder in [data, *[p for p in data.rglob("*") if p.is_dir()]]:
            folder.chmod(0o500)
        r = api.post("/api/tasks/me/with-session/nemo_agent", json={"task_name": "x"})
        assert r.status_code == 507 and "read-only" in r.json()["message"]
        assert "Traceback" not in r.text
    finally:
        for folder in [data, *[p for p in data.rglob("*") if p.is_dir()]]:
            folder.chmod(0o700)
        engine.terminate()
        engine.wait(10)
