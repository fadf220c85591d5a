"""How fast the client reads the chat stream: events/s and first-text latency.

The engine runs as its own process (``ai-music serve --test-api``) so server and client
don't share a GIL. The engine's ``flood_events`` switch makes the next chat turn stream
N text chunks as fast as it can; the client parses them with the same code a real chat
uses (our SSE decoder → ADK event reader → queue). Peer: the same stream read with
httpx-sse's decoder, which drops heartbeats (and so can't be ours), in the same run.
Target: ≥ 20,000 events/s.

    .venv/bin/python bench/sse.py [N]
"""
from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

import httpx

N = int(sys.argv[1]) if len(sys.argv) > 1 else 50_000
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _proc import served_engine  # noqa: E402


def main() -> None:
    from runtime.attribution import headers
    from runtime.document import load_skill
    from skill.client import Client

    with tempfile.TemporaryDirectory() as tmp, served_engine(Path(tmp), "--test-api") as server:
        url = server.url
        skill = load_skill(None)
        client = Client(url, skill, headers(skill))
        client.token = client.anonymous_token("bench-sse").token
        session = client.create_session("bench", "en")

        started = time.perf_counter()
        stream = client.open_chat(session.session_id, "what can you do?")
        first_text = None
        while not stream.closed:
            event = stream.get(timeout=30)
            if event is not None and event.kind in ("text", "partial") and first_text is None:
                first_text = time.perf_counter() - started
        stream.close()

        httpx.post(f"{url}/_engine/faults", json={"flood_events": N}).raise_for_status()
        count, t0 = 0, None
        stream = client.open_chat(session.session_id, "what can you do?")
        while not stream.closed:
            event = stream.get(timeout=30)
            if event is not None:
                t0 = t0 or time.perf_counter()
                count += 1
        ours = count / (time.perf_counter() - t0)
        stream.close()

        from httpx_sse import EventSource
        httpx.post(f"{url}/_engine/faults", json={"flood_events": N}).raise_for_status()
        body = {"app_name": "nemo_agent", "user_id": "me", "session_id": session.session_id,
                "new_message": {"parts": [{"text": "what can you do?"}]}}
        with httpx.stream("POST", f"{url}/run_sse", json=body, timeout=60,
                          headers={**client.headers(), "Accept": "text/event-stream"}) as response:
            peer_count, p0 = 0, None
            for sse in EventSource(response).iter_sse():
                json.loads(sse.data)
                p0 = p0 or time.perf_counter()
                peer_count += 1
            peer = peer_count / (time.perf_counter() - p0)
        client.close()
    print(f"chat stream from the engine in another process ({os.cpu_count()} cores), {N} events")
    print(f"first text after the request: {first_text * 1000:.0f} ms")
    print(f"ai-music client (own decoder, ADK reader, reader thread): {ours:,.0f} events/s (target ≥ 20,000)")
    print(f"peer: httpx-sse EventSource + json.loads, same stream:   {peer:,.0f} events/s")


if __name__ == "__main__":
    main()
