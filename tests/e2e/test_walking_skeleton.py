"""Issue #2's spine, end to end: the MCP SDK client over HTTP, in both protocol eras, lists the tools and runs
availability, create, search, get, modify and cancel against the sandbox through the pooled OHIP client."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from tests.support.apps import running_app, settings_for_sandbox
from tests.support.mcp_client import call_ok, mcp_client


@pytest.mark.sandbox(business_date=date(2026, 5, 1))
@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_book_find_change_and_cancel_in_both_protocol_eras(sandbox_server: Any, mode: str) -> None:
    surname = f"Skeleton{mode.capitalize()}"
    with running_app(settings_for_sandbox(sandbox_server.url)) as srv:
        async with mcp_client(srv.url, mode=mode) as client:
            assert client.protocol_version == ("2026-07-28" if mode == "auto" else "2025-11-25")
            names = {t.name for t in (await client.list_tools()).tools}
            assert {"search_reservations", "get_reservation", "create_reservation", "modify_reservation",
                    "cancel_reservation", "check_availability", "health_check"} <= names

            offers = await call_ok(client, "check_availability",
                                   {"arrival": "2026-05-10", "departure": "2026-05-12", "adults": 2})
            offer = next(o for o in offers["offers"] if o["bookable"])

            booked = await call_ok(client, "create_reservation", {
                "arrival": "2026-05-10", "departure": "2026-05-12", "room_type": offer["room_type"],
                "rate_plan": offer["rate_plan"], "adults": 2, "given_name": "Ada", "surname": surname})
            reservation_id = booked["reservation_id"]
            assert booked["confirmation_number"]

            found = await call_ok(client, "search_reservations", {"surname": surname})
            assert [r["reservation_id"] for r in found["reservations"]] == [reservation_id]

            record = await call_ok(client, "get_reservation", {"reservation_id": reservation_id})
            assert record["guest_name"].endswith(surname) or surname in record["guest_name"]
            assert (record["arrival"], record["departure"]) == ("2026-05-10", "2026-05-12")

            changed = await call_ok(client, "modify_reservation",
                                    {"reservation_id": reservation_id, "departure": "2026-05-13"})
            assert changed["reservation"]["departure"] == "2026-05-13"

            cancelled = await call_ok(client, "cancel_reservation",
                                      {"reservation_id": reservation_id, "confirm": True})
            assert cancelled["cancelled"] is True and cancelled["cancellation_number"]

            after = await call_ok(client, "get_reservation", {"reservation_id": reservation_id})
            assert after["status"] == "Cancelled"

    # What the sandbox saw: one booking, one change, one cancellation (after its check), all through one token.
    ops = [r.operation_id for r in sandbox_server.sandbox.requests]
    assert ops.count("postReservation") == 1 and ops.count("putReservation") == 1
    # The cancellation is checked with OHIP's verificationOnly request first, then made once.
    cancels = [r for r in sandbox_server.sandbox.requests if r.operation_id == "postCancelReservation"]
    assert [bool((r.json or {}).get("verificationOnly")) for r in cancels] == [True, False]
    assert sandbox_server.sandbox.token_requests == 1
