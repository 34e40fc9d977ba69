"""The availability toolset through the MCP SDK client over HTTP, against our app pointed at a live sandbox."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from tests.support.mcp_client import call_error, call_ok, mcp_client

pytestmark = pytest.mark.sandbox(business_date=date(2026, 5, 1))


async def test_availability_offers_prices_and_rooms_left_then_book_one(app_url: str) -> None:
    stay = {"arrival": "2026-05-20", "departure": "2026-05-23", "adults": 2}
    async with mcp_client(app_url) as client:
        report = await call_ok(client, "check_availability", stay)
        assert report["nights"] == 3 and report["offers"]
        offer = next(o for o in report["offers"] if o["bookable"] and o["room_type"] == "STE")
        assert offer["total"]["amount"] > 0 and offer["nightly"]
        left = {r["room_type"]: r["rooms_left"] for r in report["rooms_left"]}
        assert left["STE"] > 0 and report["rooms_left_note"] is None
        assert "create_reservation" in report["next_step"]

        await call_ok(client, "create_reservation", {
            **stay, "room_type": offer["room_type"], "rate_plan": offer["rate_plan"], "surname": "Offerman",
        })
        after = await call_ok(client, "check_availability", {**stay, "room_types": ["STE"]})
        assert {o["room_type"] for o in after["offers"]} == {"STE"}
        assert {r["room_type"]: r["rooms_left"] for r in after["rooms_left"]}["STE"] == left["STE"] - 1


async def test_rate_plans_in_the_handshake_era(app_url: str) -> None:
    async with mcp_client(app_url, mode="legacy") as client:
        plans = await call_ok(client, "list_rate_plans")
        codes = [p["rate_plan"] for p in plans["rate_plans"]]
        assert "BAR" in codes and plans["hotel_id"] == "SAND01"

        one = await call_ok(client, "get_rate_plan", {"rate_plan": codes[-1]})
        assert one["rate_plan"] == codes[-1] and one["description"]

        only = await call_ok(client, "check_availability", {
            "arrival": "2026-05-10", "departure": "2026-05-11", "rate_plans": [codes[-1]], "only_bookable": True,
        })
        assert only["offers"], "the seeded hotel can sell this rate plan on these dates"
        assert {o["rate_plan"] for o in only["offers"]} == {codes[-1]}
        assert all(o["bookable"] for o in only["offers"])


async def test_bad_input_gets_a_specific_error(app_url: str, sandbox_server: Any) -> None:
    async with mcp_client(app_url) as client:
        before = len(sandbox_server.sandbox.requests)
        error = await call_error(client, "check_availability", {"arrival": "2026-05-03", "departure": "2026-05-01"})
        assert "departure 2026-05-01 is not after arrival 2026-05-03" in error
        error = await call_error(client, "check_availability", {"arrival": "2026-05-01", "departure": "2026-09-01"})
        assert "123 nights, more than the 90 allowed" in error
        error = await call_error(client, "check_availability", {"arrival": "2026-05-01", "departure": "2026-05-02",
                                                                "adults": 0})
        assert "adults" in error
        assert len(sandbox_server.sandbox.requests) == before, "refused before any OHIP call"

        error = await call_error(client, "get_rate_plan", {"rate_plan": "NOPE"})
        assert "no rate plan NOPE in SAND01" in error and "list_rate_plans" in error
