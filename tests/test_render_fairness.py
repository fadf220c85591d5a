"""One render must not block everyone (issue 13, medium 5): users take turns, one running
render each while others wait, and a render past its time budget is stopped and failed."""
from __future__ import annotations

import copy
import threading
import time
from pathlib import Path

import pytest

from support import Api
from engine.export.render_queue import FairQueue


class _Renders:
    """Stand-in renders for the queue: each records that it started and runs until released."""

    def __init__(self, *render_ids: str) -> None:
        self.started: list[str] = []
        self.release = {name: threading.Event() for name in render_ids}
        self.lock = threading.Lock()

    def run(self, render_id: str) -> None:
        with self.lock:
            self.started.append(render_id)
        assert self.release[render_id].wait(10)

    def wait_started(self, count: int) -> list[str]:
        """The renders started so far, once there are ``count`` of them (polled, with a deadline)."""
        deadline = time.monotonic() + 10
        while len(self.started) < count:
            assert time.monotonic() < deadline, self.started
            time.sleep(0.005)
        return list(self.started)


def test_users_take_turns_and_run_one_render_each_while_others_wait() -> None:
    renders = _Renders("a1", "a2", "a3", "b1", "c1")
    release, wait_started = renders.release, renders.wait_started
    queue = FairQueue(2, renders.run, start=False)
    for user, render_id in (("a", "a1"), ("a", "a2"), ("a", "a3"), ("b", "b1"), ("c", "c1")):
        queue.submit(user, render_id)
    queue.start()

    assert sorted(wait_started(2)) == ["a1", "b1"]      # not a1 and a2: b waits
    release["a1"].set()
    assert wait_started(3)[2] == "c1"                    # c's turn before a's second
    release["c1"].set()
    assert wait_started(4)[3] == "a2"
    for event in release.values():
        event.set()
    wait_started(5)
    queue.shutdown()


def test_long_renders_run_beside_the_short_ones_not_in_their_slots() -> None:
    renders = _Renders("long1", "long2", "a1", "b1", "c1")
    release, wait_started = renders.release, renders.wait_started
    queue = FairQueue(2, renders.run, start=False)
    queue.submit("l", "long1", background=True)
    for user in "abc":
        queue.submit(user, f"{user}1")
    queue.submit("m", "long2", background=True)
    queue.start()

    assert sorted(wait_started(3)) == ["a1", "b1", "long1"]  # two short ones beside the long one
    release["a1"].set()
    assert wait_started(4)[3] == "c1"                       # the next short one, not the second long one
    release["long1"].set()
    assert wait_started(5)[4] == "long2"
    for event in release.values():
        event.set()
    queue.shutdown()


@pytest.fixture(scope="module")
def long_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from media.fixtures import VideoSpec, make_video

    return make_video(tmp_path_factory.mktemp("long") / "long.mp4", VideoSpec(seconds=20, width=640, height=360))


def _encoder_niceness(data: Path) -> int:
    """The niceness of the x264 encoder working in ``data``, once it runs (Linux /proc)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for entry in Path("/proc").iterdir():
            try:
                argv = (entry / "cmdline").read_bytes()
                if b"libx264" in argv and str(data).encode() in argv:
                    return int((entry / "stat").read_text().rsplit(")", 1)[1].split()[16])
            except (OSError, ValueError, IndexError):
                continue
        time.sleep(0.02)
    raise AssertionError("no encoder ran")


def test_render_niceness_grows_with_length() -> None:
    from engine.export.render_queue import niceness

    assert [niceness({"d": s * 1000}) for s in (3, 10, 20, 60, 1500)] == [0, 0, 4, 8, 15]


def test_a_short_render_beside_others_encodes_on_its_share_of_the_cores() -> None:
    from engine.export.render_queue import encoder_threads

    short, long = {"d": 3000}, {"d": 60_000}
    assert encoder_threads(short, running=0, cores=2) == 0  # alone: x264's own choice, every core
    assert encoder_threads(short, running=1, cores=2) == 1  # beside another render: one core each
    assert encoder_threads(short, running=3, cores=2) == 1
    assert encoder_threads(short, running=1, cores=8) == 4
    assert encoder_threads(long, running=2, cores=2) == 0  # a long one is niced: it takes what is left


def test_the_engine_encodes_a_short_render_on_one_core_only_while_another_renders(
    engine, long_clip: Path, clip: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import engine.export.executor as executor
    from engine.export.graph import RenderError
    from media.cores import quota_bound, usable_cpus

    threads: dict[str, int] = {}
    release = threading.Event()

    def stand_in(job, progress) -> None:  # noqa: ANN001 - records what the real encoder would be given
        threads[job.out.name.split("~")[0]] = job.threads
        if int(job.draft["d"]) > 10_000:
            assert release.wait(60)
        raise RenderError("stand-in render")

    monkeypatch.setattr(executor, "render", stand_in)
    long_user, short_user = Api(engine.url).login("long-user"), Api(engine.url).login("short-user")
    long_user.upload(long_clip)
    long_user.chat('add a title "Long"')
    short_user.upload(clip)
    short_user.chat('add a title "Short"')
    r = long_user.post("/api/render/proxy/lambda", json={"id": "render_long", "sessionId": long_user.session_id,
                                                         "draft": long_user.state()["draft"]})
    assert r.json()["success"], r.text
    long_user.wait("render_long", ("processing",))
    short_user.render("render_beside")
    release.set()
    long_user.wait("render_long", ("failed",))
    short_user.render("render_alone")
    alone = usable_cpus() if quota_bound() else 0  # x264's own choice, or told a CPU quota's cores
    assert threads == {"render_long": alone, "render_beside": max(1, usable_cpus() // 2), "render_alone": alone}


def test_a_short_render_of_another_user_does_not_wait_for_a_long_one(engine, engine_config, long_clip: Path,
                                                                     clip: Path) -> None:
    long_user, short_user = Api(engine.url).login("long-user"), Api(engine.url).login("short-user")
    long_user.upload(long_clip)
    long_user.chat('add a title "Long"')
    short_user.upload(clip)
    short_user.chat('add a title "Short"')
    short = copy.deepcopy(short_user.state()["draft"])
    short["d"] = 1500
    for track in short["t"]:
        for seg in track["sg"]:
            seg["st"], seg["d"] = 0, 1500
    r = long_user.post("/api/render/proxy/lambda", json={"id": "render_long", "sessionId": long_user.session_id,
                                                         "draft": long_user.state()["draft"]})
    assert r.json()["success"], r.text
    long_user.wait("render_long", ("processing",))
    assert _encoder_niceness(engine_config.data_dir) > 0      # the long one yields the CPU
    assert short_user.render("render_short", short)["status"] == "completed"
    assert long_user.get("/api/render/proxy/lambda/render_long").json()["data"]["status"] == "processing"
    assert long_user.wait("render_long", ("completed", "failed"), timeout=300)["status"] == "completed"


def _saved(data: Path, render_id: str) -> dict:
    """A render's record as the engine keeps it (with its start and finish times)."""
    import json

    [path] = (data / "renders").glob(f"{render_id}~*.json")
    return json.loads(path.read_text())


def test_short_renders_of_two_users_run_side_by_side_while_a_long_one_runs(engine, engine_config, long_clip: Path,
                                                                           clip: Path) -> None:
    long_user = Api(engine.url).login("long-user")
    long_user.upload(long_clip)
    long_user.chat('add a title "Long"')
    shorts = [Api(engine.url).login(f"short-{n}") for n in range(2)]
    for n, api in enumerate(shorts):
        api.upload(clip)
        api.chat(f'add a title "Short {n}"')
    r = long_user.post("/api/render/proxy/lambda", json={"id": "render_long", "sessionId": long_user.session_id,
                                                         "draft": long_user.state()["draft"]})
    assert r.json()["success"], r.text
    long_user.wait("render_long", ("processing",))
    drafts = [api.state()["draft"] for api in shorts]
    for draft in drafts:
        draft["m"] = {**draft["m"], "width": 320, "height": 180}  # quick: the queue is under test
    shorts[0].faults(render_delay_s=1.0)  # neither can finish before the other is submitted
    for n, (api, draft) in enumerate(zip(shorts, drafts)):
        assert api.post("/api/render/proxy/lambda", json={"id": f"render_short{n}", "sessionId": api.session_id,
                                                          "draft": draft}).json()["success"]
    for n, api in enumerate(shorts):
        assert api.wait(f"render_short{n}", ("completed", "failed"), timeout=120)["status"] == "completed"
    first, second, long = (_saved(engine_config.data_dir, r) for r in ("render_short0", "render_short1", "render_long"))
    assert long["status"] == "processing"  # all of it happened while the long one was encoding
    # side by side: each started before the other finished (they used to take the one slot in turn)
    assert second["started_at"] < first["finished_at"] and first["started_at"] < second["finished_at"]


def test_a_render_past_its_time_budget_is_stopped_and_failed(engine_config, long_clip: Path) -> None:
    from engine.embedded import start

    engine_config.render_budget_s = 1.0
    with start(engine_config) as server:
        api = Api(server.url).login()
        api.upload(long_clip)
        api.chat('add a title "Slow"')
        began = time.monotonic()
        result = api.render("render_slow")
        assert result["status"] == "failed" and "took longer than its 1 s budget" in result["error"], result
        assert time.monotonic() - began < 60
