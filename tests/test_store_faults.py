"""Disk faults in the store (issue 13, mediums 7 and 8): a render failing on a full disk ends
``failed`` with a reason, not ``processing`` forever."""
from __future__ import annotations

from pathlib import Path

from conftest import Api


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
