"""Issues #3 and #9 acceptance: a whole stay through the MCP SDK client over HTTP, from availability to check-out across
OPERA's night audit, against our app with its embedded sandbox (business date months from the clock); every OHIP
exchange it caused is then checked against Oracle's schemas."""

from __future__ import annotations

import pytest

from tests.contract.plugin import check_recorded
from tests.support.apps import embedded_settings, running_app
from tests.support.mcp_client import mcp_client
from tests.support.whole_stay import BUSINESS_DATE, STAY_OPERATIONS, whole_stay


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_a_whole_stay_from_booking_to_check_out(mode: str) -> None:
    settings, port = embedded_settings(sandbox_business_date=BUSINESS_DATE)
    with running_app(settings, port) as srv:
        sandbox = srv.app.state.sandbox
        async with mcp_client(srv.url, mode=mode) as client:  # type: ignore[arg-type]
            await whole_stay(client, sandbox, f"{srv.url}/sandbox")
    problems = check_recorded(sandbox)
    assert not problems, "\n".join(problems[:20])
    assert {e.operation_id for e in sandbox.requests} >= STAY_OPERATIONS
