"""The OHIP client's policies seen from an MCP agent: the whole server over HTTP, pointed at a live sandbox."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Any

import httpx2
import pytest

from tests.support.apps import running_app, settings_for_sandbox
from tests.support.mcp_client import call_error, call_ok, mcp_client, text_of

pytestmark = pytest.mark.sandbox(business_date=date(2026, 5, 1))


def metric(app_url: str, line_prefix: str) -> float:
    for line in httpx2.get(f"{app_url}/metrics", timeout=10).text.splitlines():
        if line.startswith(line_prefix + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def test_fifty_concurrent_tool_calls_on_a_cold_server_fetch_one_token(sandbox_server: Any) -> None:
    settings = settings_for_sandbox(sandbox_server.url, requests_per_second=500.0, burst_capacity=100)
    with running_app(settings) as srv:
        async with mcp_client(srv.url) as client:
            results = await asyncio.gather(*(
                # distinct page sizes, so that every call really reaches OHIP instead of the response cache
                client.call_tool("search_reservations", {"arrival_from": "2026-05-01", "arrival_to": "2026-05-01",
                                                         "limit": n})
                for n in range(1, 51)
            ))
        failed = [text_of(r) for r in results if r.is_error]
        assert not failed, failed[:3]
        assert metric(srv.url, 'opera_ohip_token_requests_total{outcome="success"}') == 1
    assert sandbox_server.sandbox.token_requests == 1
    searches = [e for e in sandbox_server.sandbox.requests if e.operation_id == "getHotelReservations"]
    assert len(searches) >= 50 and {e.status for e in searches} == {200}


async def test_a_booking_whose_answer_is_lost_is_reported_as_unknown_not_repeated(sandbox_server: Any) -> None:
    with running_app(settings_for_sandbox(sandbox_server.url, max_retries=3)) as srv:
        async with mcp_client(srv.url) as client:
            sandbox_server.sandbox.faults.inject(operation="postReservation", mode="drop", times=1)
            error = await call_error(client, "create_reservation", {
                "arrival": "2026-05-20", "departure": "2026-05-22", "room_type": "KNG", "rate_plan": "BAR",
                "adults": 1, "given_name": "Ines", "surname": "Lostreply",
            })
            assert "unknown" in error and "search_reservations" in error
            assert "Traceback" not in error

            found = await call_ok(client, "search_reservations", {"surname": "Lostreply"})
            assert len(found["reservations"]) == 1  # booked exactly once, and the agent can find it
    posts = [e for e in sandbox_server.sandbox.requests if e.operation_id == "postReservation"]
    assert len(posts) == 1
