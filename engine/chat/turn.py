"""One chat turn of the local "backend agent": plan, edit, compose, reply — as ADK events.

The cloud endpoint is Google ADK's ``run_sse``: it streams events whose ``content.parts``
hold ``functionCall``/``functionResponse`` for each tool the agent runs and text for its
reply (docs/protocol.md "SSE stream", shape ★). This module produces the same stream for the
director's edits. The turn runs as its own task and writes events into a queue: if the
client's connection drops, the work still finishes and lands in the session state, which
is exactly the situation SKILL.md §3.6 recovers from — and why a client must never re-send.
"""
from __future__ import annotations

import asyncio
import copy
import logging
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable

from engine.chat import replies
from engine.config import EngineConfig
from engine.analysis.cues import cues_key, timeline_cues
from engine.chat.cut_sync import marked_cuts
from engine.chat.director import Context, Director, Plan
from engine.chat.edit_names import EditName
from engine.chat.edits import COMPOSES_MUSIC, EditError, Editor, Result, music_key
from engine.store import Store, User
from protocol.draft import VIDEO, music_track, track, voice_track
from protocol.endpoints import ENDPOINTS, fill

log = logging.getLogger(__name__)

HEARTBEAT = object()   # queue marker: send an SSE keep-alive comment
DONE = object()        # queue marker: the turn is over
LOW_CREDITS = 20  # below this the backend nudges the user to their account page


def adk_event(invocation: str, parts: list[dict[str, Any]], *, role: str = "model", partial: bool = False,
              turn_complete: bool = False, state_delta: dict[str, Any] | None = None) -> dict[str, Any]:
    """An ADK ``Event`` as ``run_sse`` serialises it (camelCase keys)."""
    event: dict[str, Any] = {
        "id": uuid.uuid4().hex[:12],
        "invocationId": invocation,
        "author": "nemo_agent",
        "timestamp": time.time(),
        "content": {"role": role, "parts": parts},
        "actions": {"stateDelta": state_delta or {}},
    }
    if partial:
        event["partial"] = True
    if turn_complete:
        event["turnComplete"] = True
    return event


def context_of(session: dict[str, Any]) -> Context:
    state = session["state"]
    draft = state.get("draft") or {}
    infos = state.get("video_infos", [])
    return Context(
        has_video=track(draft, VIDEO) is not None if draft else False,
        has_music=music_track(draft) is not None if draft else False,
        duration_ms=draft.get("d") if draft else None,
        uploads=tuple(i["filename"] for i in infos if i["file_type"] in ("video", "image")),
        audio_uploads=tuple(i["filename"] for i in infos if i["file_type"] == "audio"),
    )


def plan_turn(message: str, session: dict[str, Any]) -> Plan:
    return Director().plan(message, context_of(session))


def cost_of(plan: Plan, config: EngineConfig) -> int:
    """Credits a turn reserves: edits cost, composing music costs more, questions are free."""
    if not plan.edits:
        return 0
    cost = config.edit_cost
    if any(e.name in COMPOSES_MUSIC for e in plan.edits):
        cost += config.music_cost
    return cost


@dataclass
class Turn:
    """Everything one turn needs; built by the server, run by :func:`run_turn`."""

    store: Store
    config: EngineConfig
    user: User
    session_id: str
    message: str
    plan: Plan
    reserved: int
    silent: bool
    compose: Callable[[dict[str, Any], dict[str, Any], str], dict[str, Any]]  # (brief, cues, key) → resolved
    wait_for_analyses: Callable[[list[str], float], Any]                      # awaitable per file ids
    committed: Callable[[str], None] = lambda session_id: None                # the draft changed
    edited: Callable[[dict[str, Any]], Any] = lambda session: None            # ...and is about to be saved
    base_url: str = ""                                                        # where the engine's links point
    queue: asyncio.Queue = field(default_factory=asyncio.Queue)
    invocation: str = field(default_factory=lambda: f"e-{uuid.uuid4().hex[:16]}")


async def _heartbeats_while(turn: Turn, job: "asyncio.Future[Any]") -> Any:
    """Await ``job`` and keep the stream alive with heartbeats meanwhile."""
    while True:
        done, _ = await asyncio.wait({job}, timeout=turn.config.heartbeat_interval_s)
        if done:
            return job.result()
        await turn.queue.put(HEARTBEAT)


async def run_turn(turn: Turn) -> None:
    """Run the turn to the end, whatever happens to the connection reading its queue."""
    spent = 0
    try:
        flood = turn.config.faults.take_flood()
        for number in range(flood):
            await turn.queue.put(adk_event(turn.invocation, [{"text": f"chunk {number} "}], partial=True))
        delay = turn.config.faults.heartbeats_only_s
        if delay > 0:
            await _heartbeats_while(turn, asyncio.ensure_future(asyncio.sleep(delay)))
        spent = await _work(turn)
    except Exception as exc:  # noqa: BLE001 - reported in-stream, as the backend does
        await turn.queue.put({"error": f"the engine failed while working on this request: {exc}"})
    finally:
        # shielded: a turn cancelled by the engine stopping still gives back what it did not spend
        await asyncio.shield(turn.store.call(turn.store.settle, turn.user, turn.reserved, spent))
        await turn.queue.put(DONE)


async def _work(turn: Turn) -> int:
    plan = turn.plan
    lang = plan.language
    session = await turn.store.call(turn.store.session, turn.session_id)
    if session is None:
        await turn.queue.put({"error": "session not found", "errorCode": 1002})
        return 0
    if plan.question == "fit":
        text = replies.fit_link(_fit_url(turn, session), lang)
        await _say(turn, text)
        await _save_messages(turn, session, text)
        return 0
    if plan.question is not None or plan.unknown is not None:
        text = replies.answer(plan.question, lang) if plan.question else replies.not_understood(plan.unknown or "", lang)
        await _say(turn, text)
        await _save_messages(turn, session, text)
        return 0

    voice = voice_track(session["state"].get("draft") or {})
    if any(e.name in COMPOSES_MUSIC for e in plan.edits):
        await _analyses_of(turn, session)  # the default music level depends on whether someone speaks
    elif voice is not None and not voice["m"].get("speech"):  # a sound not yet heard: a voice or a song?
        await _analyses_of(turn, session, sorted({s["src"] for s in voice["sg"]}))  # (Editor.settle_sounds)
    editor = Editor(session)
    song = editor.settle_sounds()  # before the snapshot: "undo" never brings a song back as a voice
    editor.snapshot()
    results: list[Result] = []
    failures: list[str] = []
    for number, edit in enumerate(plan.edits, start=1):
        call_id = f"call_{number}_{uuid.uuid4().hex[:6]}"
        await turn.queue.put(adk_event(turn.invocation, [{"functionCall": {"id": call_id, "name": edit.name,
                                                                          "args": dict(edit.args)}}]))
        try:
            result = editor.apply(edit)
            results.append(result)
            response = {"status": "ok", **_json_safe(result.facts)}
        except EditError as exc:
            failures.append(exc.reason_zh if lang == "zh" else str(exc))
            response = {"status": "error", "message": str(exc)}
        await turn.queue.put(adk_event(turn.invocation, [{"functionResponse": {"id": call_id, "name": edit.name,
                                                                               "response": response}}], role="user"))

    music_info = await _ensure_music(turn, session)
    applied = bool(results)
    if applied or song is not None:
        # its soundtrack starts now, not after the session is written (a synced file write) and read back;
        # a head start only: whatever stops it must not cost the user the edit (the render builds it then)
        try:
            await asyncio.to_thread(turn.edited, session)
        except Exception:  # noqa: BLE001
            log.exception("could not start the soundtrack of the edited draft")

        def commit(stored: dict[str, Any]) -> None:
            # analyses may have landed meanwhile: keep the stored ones, take our edits
            for key in ("draft", "canvas_config", "generated_media"):
                stored["state"][key] = session["state"].get(key)
            stored["history"] = session.get("history", [])
        await turn.store.call(turn.store.update_session, turn.session_id, commit)
        await turn.store.call(turn.committed, turn.session_id)

    lines = [replies.describe(r, lang, music_info if r.name in COMPOSES_MUSIC else None) for r in results]
    if song is not None and not any(r.name == EditName.USE_UPLOADED_MUSIC for r in results):
        lines.insert(0, replies.song_settled(song, lang))
    lines += [replies.failed(reason, lang) for reason in failures]
    has_timeline = bool((session["state"].get("draft") or {}).get("t"))
    text = " ".join(line for line in lines if line)
    if applied:
        text = f"{text} {replies.frame_rate_note(session, lang)}".strip()
        text = f"{text} {replies.closing(lang, has_timeline)}".strip()
        if turn.reserved and turn.user.credits_available < LOW_CREDITS:  # unmetered turns reserve nothing
            text = f"{text} {replies.low_credits(lang)}"
    if not turn.silent or not applied:
        await _say(turn, text)
    await _save_messages(turn, session, text)
    if not applied or (song is None and all(r.facts.get("kept") for r in results)):  # the song kept: nothing changed
        return 0
    if music_info is None and any(e.name in COMPOSES_MUSIC for e in plan.edits):  # no piece composed after all
        return max(0, turn.reserved - turn.config.music_cost)  # (the user's own song kept: Editor keeps it)
    return turn.reserved


def _fit_url(turn: Turn, session: dict[str, Any]) -> str | None:
    """The fit picture's address (engine.workspace.plan), once the draft has composed music to draw."""
    music = _generated_music(session)
    if music is None or not (music["m"].get("music") or {}).get("resolved"):
        return None
    return turn.base_url + fill(ENDPOINTS["fit_picture"].path, session_id=turn.session_id)


def _generated_music(session: dict[str, Any]) -> dict[str, Any] | None:
    music = music_track(session["state"].get("draft") or {})
    return music if music is not None and music.get("m", {}).get("kind") == "bgm" else None


def music_order(session: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any], str] | None:
    """The draft's generated music as the composer gets it: ``(music track, cues, cache key)``;
    None when the draft has no generated music. The analyses in ``session`` must be current."""
    music = _generated_music(session)
    if music is None:
        return None
    draft = session["state"]["draft"]
    seg = music["sg"][0]
    cues = timeline_cues(draft, session["state"].get("video_analyses", {}), int(seg["st"]), int(seg["d"]))
    return music, cues, music_key(music, cues_key(cues))


async def _ensure_music(turn: Turn, session: dict[str, Any]) -> dict[str, Any] | None:
    """Compose the session's music if its brief, length or picture changed."""
    if _generated_music(session) is None:
        return None
    await _analyses_of(turn, session)
    order = music_order(session)
    assert order is not None
    music, cues, key = order
    seg = music["sg"][0]
    info = music["m"]["music"]
    if seg.get("src") == f"music:{key}" and info.get("resolved"):
        resolved = info["resolved"]
        resolved["cut_sync"] = marked_cuts(resolved, cues.get("cuts", []), int(seg["st"]) / 1000)
        return resolved
    brief = copy.deepcopy(info["brief"])
    loop = asyncio.get_running_loop()
    job = loop.run_in_executor(None, turn.compose, brief, cues, key)
    resolved = await _heartbeats_while(turn, job)
    resolved["cut_sync"] = marked_cuts(resolved, cues.get("cuts", []), int(seg["st"]) / 1000)
    seg["src"] = f"music:{key}"
    info["resolved"] = resolved
    music["m"]["name"] = resolved.get("name", music["m"]["name"])
    media = session["state"].setdefault("generated_media", [])
    media.append({"id": f"music:{key}", "type": "music", "duration": resolved.get("duration_s"),
                  "genre": resolved.get("genre"), "bpm": resolved.get("bpm"), "seed": resolved.get("seed")})
    del media[:-20]
    return resolved


def analysed_clips(state: dict[str, Any]) -> list[str]:
    """The file ids a turn waits to have analysed: every clip with a picture or sound, not only the
    one on the timeline now ("use the first video and add music" switches first)."""
    return sorted({i["file_id"] for i in state.get("video_infos", []) if i.get("file_type") in ("video", "audio")})


async def _analyses_of(turn: Turn, session: dict[str, Any], file_ids: list[str] | None = None) -> None:
    """Wait (with heartbeats) until the session's clips (or the ``file_ids`` among them) are analysed;
    refresh the analyses in ``session``."""
    file_ids = analysed_clips(session["state"]) if file_ids is None else file_ids
    if not file_ids:
        return
    await _heartbeats_while(turn, asyncio.ensure_future(turn.wait_for_analyses(file_ids, 300.0)))
    fresh = await turn.store.call(turn.store.session, turn.session_id)
    if fresh is not None:
        session["state"]["video_analyses"] = fresh["state"].get("video_analyses", {})


async def _say(turn: Turn, text: str) -> None:
    """Stream ``text`` as partial chunks, then whole, as ADK does."""
    if not text:
        return
    words = text.split(" ")
    size = max(1, len(words) // 3)
    for start in range(0, len(words), size):
        chunk = " ".join(words[start:start + size]) + (" " if start + size < len(words) else "")
        await turn.queue.put(adk_event(turn.invocation, [{"text": chunk}], partial=True))
    await turn.queue.put(adk_event(turn.invocation, [{"text": text}], turn_complete=True))


async def _save_messages(turn: Turn, session: dict[str, Any], reply: str) -> None:
    def append(stored: dict[str, Any]) -> None:
        stored.setdefault("messages", []).extend([
            {"role": "user", "text": turn.message, "time": time.time()},
            {"role": "model", "text": reply, "time": time.time()},
        ])
        del stored["messages"][:-200]
    try:
        await turn.store.call(turn.store.update_session, turn.session_id, append)
    except KeyError:
        pass


def _json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)

