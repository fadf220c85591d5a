"""Media through an S3-compatible store (issue 18): put and got back whole; a render on a Ray worker that
lacks the engine's copy of an upload gets it from the store and hands its output back through it, and
reports its progress there too; the soundtrack the engine prepared reaches such a worker; what the engine
deletes on its disk goes from the bucket too. The store is moto's S3 server, started by the test on
127.0.0.1 (no network beyond loopback)."""
from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from support import ROOT, Api
from media.verify import check_playable

BUCKET = "ai-music-test"


@pytest.fixture(scope="module")
def s3_endpoint():  # noqa: ANN201 - the server's URL
    """moto's S3 on loopback, and boto3's environment pointed at it — for this process and for the Ray
    workers of a cluster started after (they inherit it)."""
    server_module = pytest.importorskip("moto.server", reason="moto[server] not installed: pip install -e '.[test]'")
    import socket

    with socket.socket() as sock:  # a free loopback port (moto's server cannot report the one it got)
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = server_module.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    url = f"http://127.0.0.1:{port}"
    settings = {"AWS_ENDPOINT_URL": url, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
                "AWS_DEFAULT_REGION": "us-east-1"}
    before = {name: os.environ.get(name) for name in settings}
    os.environ.update(settings)
    yield url
    for name, value in before.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    server.stop()


@pytest.fixture
def s3(s3_endpoint: str):  # noqa: ANN201 - a boto3 client on a fresh bucket
    import boto3

    from engine import object_store

    object_store._client.cache_clear()
    client = boto3.client("s3")
    client.create_bucket(Bucket=BUCKET)
    yield client
    for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        client.delete_object(Bucket=BUCKET, Key=item["Key"])
    client.delete_bucket(Bucket=BUCKET)
    object_store._client.cache_clear()


def test_a_file_put_in_the_store_comes_back_whole_where_the_disk_lost_it(s3, tmp_path: Path) -> None:
    from engine.object_store import ObjectStore

    store = ObjectStore.from_url(f"s3://{BUCKET}/deploy-1", tmp_path)
    media = tmp_path / "sessions" / "abc" / "media" / "clip.mp4"
    media.parent.mkdir(parents=True)
    payload = os.urandom(3 << 20)  # several parts of a multipart transfer
    media.write_bytes(payload)
    store.put(media)
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]] == ["deploy-1/sessions/abc/media/clip.mp4"]
    media.unlink()  # a worker on another machine: the path, not the file
    assert store.fetch(media).read_bytes() == payload
    assert [p.name for p in media.parent.iterdir()] == ["clip.mp4"]  # no partial download left beside it
    with pytest.raises(FileNotFoundError, match="gone.mp4"):
        store.fetch(media.with_name("gone.mp4"))


def test_an_object_store_url_that_is_not_s3_is_refused_in_one_line(tmp_path: Path) -> None:
    from engine.object_store import ObjectStore, ObjectStoreError

    with pytest.raises(ObjectStoreError, match=r"takes s3://bucket\[/prefix\]"):
        ObjectStore.from_url("https://bucket.example/prefix", tmp_path)


@pytest.mark.slow
def test_a_ray_render_gets_an_upload_the_engine_disk_lost_from_the_store(s3_endpoint, ray_cluster, s3, engine_config,
                                                                         clip: Path, tmp_path: Path) -> None:
    """The Ray workers share this machine's disk, so "a worker without the data dir" is played by
    deleting the upload from the disk after it was put: only the store still has it."""
    from engine.embedded import start

    engine_config.ray_address = ray_cluster
    engine_config.object_store = f"s3://{BUCKET}/engine"
    server = start(engine_config)
    try:
        api = Api(server.url).login()
        api.upload(clip)
        api.chat('add a title "From the bucket"')
        for media in (engine_config.data_dir / "sessions" / api.session_id / "media").iterdir():
            media.unlink()
        draft = api.state()["draft"]
        result = api.render("render_s3", timeout=300)
        assert result["status"] == "completed", result
        out = tmp_path / "out.mp4"
        out.write_bytes(api.get("/api/render/proxy/render_s3/download").content)
        check_playable(out, int(draft["d"]) / 1000)
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]]
        assert any(k.startswith(f"engine/sessions/{api.session_id}/media/") for k in keys), keys  # the upload
        assert any(k.startswith("engine/renders/") and k.endswith(".mp4") for k in keys), keys  # the output
    finally:
        server.stop()


def test_serve_with_an_object_store_imports_boto3_and_reaches_it(s3, tmp_path: Path) -> None:
    code = ("import sys, uvicorn\nfrom runtime.cli import main\n"
            "uvicorn.Server.run = lambda self, sockets=None: print('boto3' in sys.modules)\n"
            "sys.exit(main(['serve', '--port', '0', *sys.argv[1:]]))")
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    ok = subprocess.run([sys.executable, "-c", code, "--data", str(tmp_path / "a"), "--object-store",
                         f"s3://{BUCKET}/x"], capture_output=True, text=True, timeout=120, cwd=ROOT, env=env)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.splitlines()[-1] == "True"
    assert f"media also in s3://{BUCKET}/x" in ok.stdout
    missing = subprocess.run([sys.executable, "-c", code, "--data", str(tmp_path / "b"), "--object-store",
                              "s3://no-such-bucket"], capture_output=True, text=True, timeout=120, cwd=ROOT, env=env)
    assert missing.returncode != 0
    assert missing.stderr.strip().startswith("ai-music: cannot reach the object store s3://no-such-bucket:"), \
        missing.stderr


def _keys(s3, prefix: str = "") -> list[str]:  # noqa: ANN001 - a boto3 client
    return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", []))


@pytest.fixture(scope="module")
def long_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """20 s of 640x360: upscaled to 1080p with a title it encodes for seconds, long enough to kill mid-way."""
    from media.fixtures import VideoSpec, make_video

    return make_video(tmp_path_factory.mktemp("long") / "long.mp4", VideoSpec(seconds=20, width=640, height=360))


@pytest.mark.slow
def test_a_ray_render_reports_progress_through_the_store_and_resumes_it_after_its_worker_died(
        s3_endpoint, ray_cluster, s3, engine_config, long_clip: Path, tmp_path: Path) -> None:
    """A worker without the engine's disk cannot write the progress file the engine reads: its reports go
    to the store (no progress file is ever written), the client sees progress advance, and after the
    worker is killed mid-encode it sees the retry's progress advance again; the output plays."""
    from engine.embedded import start

    engine_config.ray_address = ray_cluster
    engine_config.object_store = f"s3://{BUCKET}/engine"
    server = start(engine_config)
    renders = engine_config.data_dir / "renders"
    try:
        api = Api(server.url).login()
        api.upload(long_clip)
        api.chat('add a title "Far away"')
        draft = api.state()["draft"]
        r = api.post("/api/render/proxy/lambda", json={"id": "render_far", "sessionId": api.session_id, "draft": draft})
        assert r.json()["success"], r.text

        def report() -> dict:
            keys = [k for k in _keys(s3, "engine/renders/render_far~") if k.endswith("/progress.json")]
            try:
                return json.loads(s3.get_object(Bucket=BUCKET, Key=keys[0])["Body"].read()) if keys else {}
            except s3.exceptions.NoSuchKey:  # listed, then removed as the render ended: no report now
                return {}

        def poll() -> dict:
            assert not list(renders.glob("*.work/*/progress.json")), "progress went through the engine's disk"
            return api.get("/api/render/proxy/lambda/render_far").json()["data"]

        before: set[int] = set()
        deadline = time.monotonic() + 180
        while (seen := report()).get("stage") != "encoding video" or len(before - {0, 100}) < 2:
            assert time.monotonic() < deadline, f"no progress came through the store: {seen}, {sorted(before)}"
            before.add(int(poll()["progress"]))
            time.sleep(0.05)
        killed = int(seen["pid"])
        assert killed != os.getpid()
        os.kill(killed, signal.SIGKILL)  # the Ray worker running the task, mid-encode
        after: list[int] = []
        deadline = time.monotonic() + 300
        while (done := poll())["status"] not in ("completed", "failed", "cancelled"):
            assert time.monotonic() < deadline, "the render never ended"
            if report().get("pid") not in (None, killed):  # the retry reports
                after.append(int(done["progress"]))
            time.sleep(0.05)
        assert done["status"] == "completed", done
        assert len(set(after) - {0, 100}) >= 2, f"the retry's progress never advanced for the client: {after}"
        out = tmp_path / "out.mp4"
        out.write_bytes(api.get("/api/render/proxy/render_far/download").content)
        check_playable(out, int(draft["d"]) / 1000)
        assert not [k for k in _keys(s3, "engine/renders/") if k.endswith("progress.json")]  # the retry's is gone
    finally:
        server.stop()


def test_a_worker_without_the_engines_disk_gets_the_prepared_soundtrack_from_the_store(s3, tmp_path: Path) -> None:
    """The engine prepared the soundtrack after the edit; it goes to the store under its content key, and a
    worker that has neither it nor the music to build it from gets it from there."""
    from engine.export.remote_render import share_soundtrack, soundtrack_via
    from engine.export.soundtrack import SoundtrackOrder
    from engine.object_store import ObjectStore

    store = ObjectStore.from_url(f"s3://{BUCKET}/deploy-1", tmp_path)
    order = SoundtrackOrder({"d": 3000, "t": []}, {}, [], tmp_path / "mixes", tmp_path / "music", objects=store)
    prepared = order.cached_path()
    assert prepared is not None
    prepared.parent.mkdir()
    prepared.write_bytes(b"the engine's mix" * 1000)
    share_soundtrack(order, store)
    assert _keys(s3) == [f"deploy-1/mixes/{prepared.name}"]  # named by what shapes the audio
    share_soundtrack(order, store)  # the next render of the same audio: nothing new
    prepared.unlink()  # the worker's machine
    assert soundtrack_via(order, store)().read_bytes() == b"the engine's mix" * 1000


def test_what_the_engine_deletes_on_its_disk_goes_from_the_bucket_too(s3, tmp_path: Path, monkeypatch, caplog) -> None:
    """A deleted project (uploads, renders, a killed try's progress), an expired render's file and a stale
    cache file go from the store too; deleting again is no error; a large folder goes in bounded steps."""
    from engine import housekeeping, object_store
    from engine.object_store import ObjectStore
    from engine.store import Store

    store = Store(tmp_path / "engine")
    store.objects = ObjectStore.from_url(f"s3://{BUCKET}/e", store.root)
    _, user, _ = store.issue_token("laptop")
    kept, gone = (store.create_session(user, name, "en")["session_id"] for name in ("kept", "gone"))
    files = {}
    for sid in (kept, gone):
        files[sid] = [store.session_dir(sid) / "media" / "clip.mp4", store.render_path(f"r-{sid}", ".mp4"),
                      store.render_path(f"r-{sid}", ".work") / "a1" / "progress.json"]
        store.save_render({"id": f"r-{sid}", "session_id": sid, "user_id": user.user_id, "status": "completed",
                           "file": f"r-{sid}.mp4"})
    stale = store.root / "music" / "old.wav"
    for path in [*files[kept], *files[gone], stale]:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")
        store.objects.put(path)
    total = len(_keys(s3))
    assert total == 7
    store.delete_session(gone)
    store.objects_dropped()
    assert _keys(s3) == sorted(store.objects.key(p) for p in [*files[kept], stale])
    store.delete_session(gone)  # again: nothing there, nothing raised
    store.expire_render(f"r-{kept}")
    store.objects_dropped()
    assert store.objects.key(files[kept][1]) not in _keys(s3)
    housekeeping.free(store, [housekeeping.Garbage("music", stale, 1)])
    store.objects_dropped()
    assert _keys(s3) == sorted(store.objects.key(p) for p in (files[kept][0], files[kept][2]))

    monkeypatch.setattr(object_store, "DELETE_MAX_KEYS", 3)
    monkeypatch.setattr(object_store, "DELETE_BATCH", 2)
    folder = store.session_dir(kept) / "media"
    for n in range(4):
        (folder / f"{n}.mp4").write_bytes(b"y")
        store.objects.put(folder / f"{n}.mp4")
    with caplog.at_level(logging.WARNING, logger="engine.object_store"):
        store.drop_objects(folder, tree=True)
        store.objects_dropped()
    assert len(_keys(s3, store.objects.key(folder))) == 2 and "deleting the first ones only" in caplog.text
    store.drop_objects(folder, tree=True)  # the next delete of the folder goes on
    store.objects_dropped()
    assert _keys(s3, store.objects.key(folder)) == []


def test_a_store_that_does_not_answer_holds_up_no_clean_up(tmp_path: Path, monkeypatch) -> None:
    """Deletes go on a thread of their own: the render worker's clean-up after a render (housekeeping) returns
    at once while the store hangs, and a backlog is bounded."""
    import threading

    from engine import store as store_module
    from engine.object_store import ObjectStore
    from engine.store import Store

    store = Store(tmp_path / "engine")
    store.objects = ObjectStore.from_url(f"s3://{BUCKET}/e", store.root)
    hung, deleted = threading.Event(), []
    monkeypatch.setattr(ObjectStore, "delete", lambda self, *paths: (hung.wait(30), deleted.extend(paths)))
    monkeypatch.setattr(store_module, "DROPS_QUEUED", 3)
    try:
        for n in range(5):
            store.drop_objects(store.root / "music" / f"{n}.wav")  # returns although the store hangs
        assert not deleted and store.drops_waiting == 3  # the fourth and fifth are left to the bucket's rule
        hung.set()
        store.objects_dropped()
        assert [p.name for p in deleted] == ["0.wav", "1.wav", "2.wav"] and store.drops_waiting == 0
    finally:
        hung.set()
        store.close()
