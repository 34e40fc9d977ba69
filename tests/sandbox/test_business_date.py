"""The hotel's business date (bof getBusinessDate) moves only by OPERA's night audit, never by the machine's clock:
the `opera-cloud-mcp sandbox --night-audits N` flag runs N audits at start-up, in its own process."""

from __future__ import annotations

import httpx2

from app.config import SANDBOX_APP_KEY
from tests.sandbox.conftest import fetch_token
from tests.support.fleet import standalone_sandbox


async def test_the_cli_flag_runs_night_audits_and_bof_answers_the_moved_business_date() -> None:
    with standalone_sandbox("--night-audits", "3") as sandbox:
        async with httpx2.AsyncClient(base_url=sandbox.url, timeout=15) as client:
            token = await fetch_token(client)
            headers = {"Authorization": f"Bearer {token}", "x-app-key": SANDBOX_APP_KEY}
            answers = {
                hotel: await client.get(f"/bof/v1/hotels/{hotel}/businessDate", headers={**headers, "x-hotelid": hotel})
                for hotel in ("SAND01", "SAND02")
            }
            audit = await client.post("/_sandbox/night-audit", json={"hotelId": "SAND02"})
    for hotel, answer in answers.items():
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"hotels": [{"hotelId": hotel, "businessDate": "2026-05-04"}]}  # 1st + 3 audits
    assert audit.json()["audits"][0]["closed"] == "2026-05-04"
