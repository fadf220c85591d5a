"""The claim page (issue 13, low): it runs nothing, cannot be framed, and does not pass its link on."""
from __future__ import annotations

from pathlib import Path

import httpx

from support import Api


def test_the_claim_page_and_its_video_carry_security_headers(api: Api, clip: Path) -> None:
    api.upload(clip)
    r = api.post("/api/auth/claim-token", json={"session_id": api.session_id})
    page = httpx.get(f"{api.url}/workspace/claim", params={"ct": r.json()["data"]["claim_token"]})
    assert page.status_code == 200
    csp = page.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp and "script-src" not in csp
    assert page.headers["x-frame-options"] == "DENY" and page.headers["referrer-policy"] == "no-referrer"
    assert page.headers["x-content-type-options"] == "nosniff"
    expired = httpx.get(f"{api.url}/workspace/claim", params={"ct": "clm_nope"})
    assert expired.status_code == 404 and expired.headers["x-frame-options"] == "DENY"
    assert api.get("/api/credits/balance/simple").headers["x-content-type-options"] == "nosniff"
