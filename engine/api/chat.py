"""``/run_sse``: one chat turn, streamed as ADK events with heartbeats and stage comments.

The turn itself (plan, edit, compose, reply) is ``engine.chat.turn``; this module only
meters it, starts it and streams its queue. The long waits of a turn get a name on the
wire — an SSE comment (``: stage composing``): a heartbeat to every client, a label to
those who read it.
"""
from __future__ import annotations

import asyncio
import json
from typing import Any

from protocol.codes import AppCode
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from engine.api.envelope import AppError, base_url as _base, engine_of
from engine.chat import turn as agent
from engine.faults import InjectedDrop


class _Stage(str):
    """Queue marker: the turn entered a long phase (sent as an SSE comment, not an event)."""


async def run_sse(request: Request) -> Response:
    engine = engine_of(request)
    config = engine.config
    user = await engine.user(request)
    body = await engine.json_body(request)
    session = await engine.session(user, str(body.get("session_id", "")))
    message = body.get("new_message") or {}
    parts = message.get("parts") if isinstance(message, dict) else None
    if not isinstance(parts, list):
        raise AppError(AppCode.BAD_REQUEST, "new_message.parts must be a list of {\"text\": ...}")
    text = " ".join(str(p.get("text", "")) for p in parts if isinstance(p, dict)).strip()[:20000]
    plan = agent.plan_turn(text, session)
    cost = agent.cost_of(plan, config) if engine.store.metered else 0
    if not await engine.store.call(engine.store.reserve, user, cost):
        # the page behind this link is served below: a 2001 never points at a page that doesn't exist
        raise AppError(AppCode.OUT_OF_CREDITS, f"out of credits: this edit needs {cost}, {user.credits_available} left",
                       data={"register_url": f"{_base(request)}/register?bind={user.user_id}"})
    # The long waits of a turn get a name on the wire, so a client can show the phase: an SSE
    # comment (": stage composing") — a heartbeat to every client, a label to those who read it.
    queue: asyncio.Queue[Any] = asyncio.Queue()
    loop = asyncio.get_running_loop()

    async def wait_for_analyses(file_ids: list[str], timeout: float) -> None:
        await engine.store.call(engine.analyse_missing, session["session_id"], file_ids)
        if any(f in engine.analyses and not engine.analyses[f].done() for f in file_ids):
            queue.put_nowait(_Stage("analysing"))
        await engine.wait_for_analyses(file_ids, timeout)

    def compose(brief: dict[str, Any], cues: dict[str, Any], key: str) -> dict[str, Any]:
        loop.call_soon_threadsafe(queue.put_nowait, _Stage("composing"))
        return engine.compose(brief, cues, key, owner=session["session_id"])

    try:  # from here the turn settles the reservation; until then, any failure gives it back
        turn = agent.Turn(store=engine.store, config=config, user=user, session_id=session["session_id"],
                          message=text, plan=plan, reserved=cost, silent=engine.faults.next_chat_is_silent(),
                          compose=compose, wait_for_analyses=wait_for_analyses,
                          committed=engine.renders.prepare_audio, edited=engine.renders.soundtrack_of, queue=queue,
                          base_url=_base(request))
        task = engine.run_turn(agent.run_turn(turn), session["session_id"])
    except BaseException:
        await asyncio.shield(engine.store.call(engine.store.settle, user, cost, 0))
        raise
    drop_after = engine.faults.take_sse_drop()

    async def stream():  # noqa: ANN202
        sent = 0
        while True:
            item = await turn.queue.get()
            if item is agent.DONE:
                break
            if item is agent.HEARTBEAT:
                yield b": ping\n\n"
                continue
            if isinstance(item, _Stage):
                yield f": stage {item}\n\n".encode()
                continue
            yield f"data: {json.dumps(item, ensure_ascii=False)}\n\n".encode()
            sent += 1
            if drop_after is not None and sent >= drop_after:
                # abort mid-stream (no closing chunk), as a dropped connection looks to a client;
                # the turn task keeps working and its edit still lands
                raise InjectedDrop(f"injected fault: SSE connection dropped after {sent} event(s)")
        await task

    return StreamingResponse(stream(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
