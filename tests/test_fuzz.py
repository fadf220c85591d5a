"""Property tests: odd documents, odd text, odd streams, odd drafts — never a crash.

Example counts are fixed per property (``EXAMPLES``) so a run is reproducible in time;
docs/reliability.md records them.
"""
from __future__ import annotations

import json
import random

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from support import BUNDLED, corpus_files
from engine.chat.director import Context, Director
from engine.chat.edits import EditError, Editor
from protocol.draft import read_draft
from runtime.document.errors import SkillError
from runtime.document.router import Router
from runtime.document import Action, load_skill
from skill.draft import summarize
from skill.events import parse
from skill.sse import decode, lines

EXAMPLES = 300
FAST = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ROUTER = Router(load_skill(BUNDLED, cache=False))
DOCS = [p.read_text(encoding="utf-8") for p in [BUNDLED, *corpus_files()]]


# ----------------------------------------------------------------------------- SKILL.md reader

@st.composite
def mutated_document(draw: st.DrawFn) -> str:
    lines = draw(st.sampled_from(DOCS)).split("\n")
    for _ in range(draw(st.integers(1, 8))):
        op = draw(st.sampled_from(["delete", "duplicate", "swap", "insert", "truncate", "garble"]))
        i = draw(st.integers(0, max(0, len(lines) - 1)))
        if op == "delete" and lines:
            del lines[i]
        elif op == "duplicate" and lines:
            lines.insert(i, lines[i])
        elif op == "swap" and len(lines) > 1:
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        elif op == "insert":
            lines.insert(i, draw(st.sampled_from(["---", "| a | b |", "|---|---|", "- \"click\" —", ":", "  - [",
                                                   "name:", "metadata: {", "> ", "```", "| User says... | Action |",
                                                   draw(st.text(max_size=40))])))
        elif op == "truncate" and lines:
            lines[i] = lines[i][: draw(st.integers(0, len(lines[i])))]
        elif op == "garble" and lines:
            lines[i] = draw(st.text(max_size=len(lines[i]) + 5))
    return "\n".join(lines)


@FAST
@given(text=mutated_document())
def test_reader_only_ever_raises_skill_error(tmp_path_factory: pytest.TempPathFactory, text: str) -> None:
    path = tmp_path_factory.mktemp("doc") / "SKILL.md"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        skill = load_skill(path, cache=False)
    except SkillError as exc:
        assert str(path) in str(exc) and "\n" not in str(exc)
        return
    json.dumps(skill.to_json())  # whatever was read is reportable
    if skill.runnable:
        ROUTER.__class__(skill).route("export")


# ----------------------------------------------------------------------------- router

@FAST
@given(text=st.text(max_size=5000))
def test_router_takes_any_text(text: str) -> None:
    route = ROUTER.route(text)
    assert route.action in set(Action)
    for step in route.steps:
        assert step.action in set(Action)


@pytest.mark.parametrize("seed", range(3))
def test_router_takes_a_megabyte(seed: int) -> None:
    rng = random.Random(seed)
    alphabet = "export 导出 credits don't how \"'\n\t/~.mp4 " + "".join(chr(rng.randrange(32, 0x2FFFF)) for _ in range(200))
    text = "".join(rng.choice(alphabet) for _ in range(1_000_000))
    assert ROUTER.route(text).action in set(Action)


# ----------------------------------------------------------------------------- SSE reader

@st.composite
def sse_stream(draw: st.DrawFn) -> tuple[bytes, list[str]]:
    """A stream of events (some multi-line, some comments) and the data a reader must see."""
    ending = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    payloads: list[str] = []
    raw = ""
    for _ in range(draw(st.integers(0, 12))):
        kind = draw(st.sampled_from(["json", "multi", "comment", "empty", "invalid", "huge", "field"]))
        if kind == "comment":
            raw += ": ping" + ending
            continue
        if kind == "json":
            data = json.dumps({"content": {"parts": [{"text": draw(st.text(max_size=30))}]}})
        elif kind == "multi":
            no_newlines = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\r\n"), max_size=20)
            data = draw(no_newlines) + "\n" + "x"
        elif kind == "empty":
            data = ""
        elif kind == "huge":
            data = json.dumps({"content": {"parts": [{"text": "y" * 200_000}]}})
        elif kind == "field":
            raw += "event: update" + ending + "id: 7" + ending + "retry: 100" + ending
            data = "{}"
        else:
            data = "{not json"
        for line in data.split("\n"):
            raw += f"data: {line}" + ending
        raw += ending
        payloads.append(data)
    return raw.encode(), payloads


@FAST
@given(stream=sse_stream(), cuts=st.lists(st.integers(0, 400_000), max_size=20))
def test_sse_reader_any_chunking_and_line_endings(stream: tuple[bytes, list[str]], cuts: list[int]) -> None:
    raw, expected = stream
    points = sorted({c % (len(raw) + 1) for c in cuts})
    chunks = [raw[a:b] for a, b in zip([0, *points], [*points, len(raw)]) if b > a]
    response = httpx.Response(200, content=iter(chunks))
    events = [e for e in decode(lines(response.iter_text())) if not e.comment]
    assert [e.data for e in events] == expected
    for event in events:
        parse(event)  # never raises, whatever the payload


# ----------------------------------------------------------------------------- drafts

json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=10),
                           lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=5), inner,
                                                                                          max_size=5),
                           max_leaves=40)


@FAST
@given(raw=st.one_of(json_values, st.fixed_dictionaries({"t": st.lists(st.dictionaries(
    st.sampled_from(["tt", "sg", "m", "id", "name", "vol", "d", "st"]), json_values, max_size=6), max_size=6)})))
def test_summary_of_any_json(raw: object) -> None:
    text = summarize(raw)
    assert isinstance(text, str) and text


# ----------------------------------------------------------------------------- director

def _session() -> dict:
    video = {"file_id": "f1", "filename": "demo.mp4", "file_type": "video", "stored_as": "x.mp4", "duration": 12.0,
             "has_audio": True}
    session = {"session_id": "1", "task_name": "p", "history": [],
               "state": {"draft": None, "video_infos": [video], "video_analyses": {}, "canvas_config": {}}}
    Editor(session).add_upload(video)
    return session


@FAST
@given(text=st.text(max_size=300) | st.sampled_from([
    "add lo-fi music at 135%", "fade in 999 minutes", "trim the first 99 seconds", "music from 0:30 to 0:10",
    'add a title "" for -3 seconds', "make it 3:2", "undo", "remove the title", "start the music at 1:00",
    "add a title \"x\" from 0:11 to 0:20", "quieter", "no drums and add piano at 300 bpm"]))
def test_director_never_breaks_the_draft(text: str) -> None:
    session = _session()
    plan = Director().plan(text, Context(has_video=True, has_music=False, duration_ms=12000,
                                          uploads=("demo.mp4",)))
    editor = Editor(session)
    editor.snapshot()
    for edit in plan.edits:
        try:
            editor.apply(edit)
        except EditError:
            pass
    draft = read_draft(session["state"]["draft"])
    assert draft is not None and draft.duration_ms is not None and draft.duration_ms > 0
    for track in draft.tracks:
        for seg in track.segments:
            assert seg.start_ms is not None and seg.start_ms >= 0 and seg.duration_ms and seg.duration_ms > 0
            assert seg.end_ms <= draft.duration_ms + 1
    volumes = [t.volume for t in draft.tracks if t.volume is not None]
    assert all(0 <= v <= 2 for v in volumes)

