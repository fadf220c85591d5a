"""Media through an S3-compatible store (issue 18): put and got back whole; a render on a Ray worker that
lacks the engine's copy of an upload gets it from the store and hands its output back through it. The
store is moto's S3 server, started by the test on 127.0.0.1 (no network beyond loopback)."""
from __future__ import annotations

import os
import subprocess
import sys
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
