"""The reservations toolset through the MCP SDK client over HTTP, against our app pointed at a live sandbox."""

from __future__ import annotations

from datetime import date
from typing import Any

import httpx2
import pytest

from tests.support.mcp_client import call_error, call_ok, mcp_client

pytestmark = pytest.mark.sandbox(business_date=date(2026, 5, 1))


def reservations_metric(app_url: str, action: str) -> float:
    text = httpx2.get(f"{app_url}/metrics", timeout=10).text
    for line in text.splitlines():
        if line.startswith(f'opera_reservations_total{{action="{action}"}}'):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def test_book_find_change_cancel_and_reinstate_a_stay(app_url: str) -> None:
    async with mcp_client(app_url) as client:
        booked = await call_ok(client, "create_reservation", {
            "arrival": "2026-05-12", "departure": "2026-05-14", "room_type": "KNG", "rate_plan": "BAR",
            "adults": 2, "given_name": "Mara", "surname": "Quillfeather", "comments": ["celebrating"],
        })
        rid, confirmation = booked["reservation_id"], booked["confirmation_number"]
        assert confirmation and booked["reservation"]["status"] == "Reserved"
        assert booked["reservation"]["guest_name"] == "⟦Mara Quillfeather⟧"  # guest text, marked
        # market and source default to the rate plan's classification
        assert booked["reservation"]["market_code"] and booked["reservation"]["source_code"]
        assert "check_in" in booked["next_step"]

        found = await call_ok(client, "search_reservations", {"surname": "Quillfeather"})
        assert [r["reservation_id"] for r in found["reservations"]] == [rid]
        assert found["page"]["has_more"] is False

        by_number = await call_ok(client, "get_reservation", {"confirmation_number": confirmation})
        assert by_number["reservation_id"] == rid and by_number["comments"] == ["⟦celebrating⟧"]

        changed = await call_ok(client, "modify_reservation", {
            "reservation_id": rid, "departure": "2026-05-15", "adults": 1, "comment": "needs a crib",
        })
        assert set(changed["changed"]) == {"departure", "adults", "comment"}
        assert changed["reservation"]["departure"] == "2026-05-15" and changed["reservation"]["adults"] == 1
        assert changed["reservation"]["comments"] == ["⟦celebrating⟧", "⟦needs a crib⟧"]

        trial = await call_ok(client, "cancel_reservation", {"reservation_id": rid, "dry_run": True,
                                                             "confirm": True})
        assert trial["dry_run"] is True and trial["cancelled"] is False and "nothing was changed" in trial["message"]
        assert (await call_ok(client, "get_reservation", {"reservation_id": rid}))["status"] == "Reserved"

        cancelled = await call_ok(client, "cancel_reservation", {"reservation_id": rid, "reason_code": "CHG",
                                                                 "confirm": True})
        assert cancelled["cancelled"] is True and cancelled["cancellation_number"]
        assert cancelled["reservation"]["guest_name"] == "⟦Mara Quillfeather⟧"

        again = await call_ok(client, "reinstate_reservation", {"reservation_id": rid})
        assert again["status"] == "Reserved" and again["cancellation_number"] is None

    for action in ("created", "modified", "cancelled", "reinstated"):
        assert reservations_metric(app_url, action) == 1.0, action


async def test_paging_detail_and_progress_in_the_handshake_era(app_url: str) -> None:
    progress: list[tuple[float, float | None, str | None]] = []

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        progress.append((done, total, message))

    async with mcp_client(app_url, mode="legacy") as client:
        first = await call_ok(client, "search_reservations", {"arrival_from": "2026-05-01",
                                                              "arrival_to": "2026-05-03", "limit": 5})
        assert first["page"]["has_more"] is True and first["page"]["next_offset"] == 5
        second = await call_ok(client, "search_reservations", {"arrival_from": "2026-05-01",
                                                               "arrival_to": "2026-05-03", "limit": 5, "offset": 5})
        assert not {r["reservation_id"] for r in first["reservations"]} & {
            r["reservation_id"] for r in second["reservations"]}

        result = await client.call_tool("search_reservations", {
            "arrival_from": "2026-05-01", "arrival_to": "2026-05-03", "limit": 10, "all_pages": True,
        }, progress_callback=on_progress)
        assert not result.is_error and result.structured_content is not None
        everything = result.structured_content
        assert everything["page"]["count"] == everything["page"]["total"] == len(everything["reservations"]) > 10
        assert everything["page"]["has_more"] is False
        assert progress and progress[-1][0] == len(everything["reservations"])

        detailed = await call_ok(client, "search_reservations", {"status": ["InHouse"], "limit": 3,
                                                                 "detail": True})
        assert len(detailed["reservations"]) == 3
        assert all(r["details"] and r["details"]["guarantee_code"] for r in detailed["reservations"])
        plain = await call_ok(client, "search_reservations", {"status": ["InHouse"], "limit": 3})
        assert all(r["details"] is None for r in plain["reservations"])


async def test_bad_input_gets_a_specific_error_before_or_from_ohip(app_url: str, sandbox_server: Any) -> None:
    async with mcp_client(app_url) as client:
        error = await call_error(client, "get_reservation", {"reservation_id": "987654321"})
        assert "no reservation 987654321 in SAND01" in error and "search_reservations" in error

        error = await call_error(client, "get_reservation", {"confirmation_number": "111"})
        assert "no reservation with confirmation number 111" in error

        error = await call_error(client, "get_reservation", {})
        assert "exactly one of reservation_id or confirmation_number" in error

        before = len(sandbox_server.sandbox.requests)
        error = await call_error(client, "create_reservation", {
            "arrival": "2026-05-03", "departure": "2026-05-01", "room_type": "KNG", "rate_plan": "BAR",
            "adults": 1, "surname": "Backwards",
        })
        assert "departure 2026-05-01 is not after arrival 2026-05-03" in error
        error = await call_error(client, "create_reservation", {
            "arrival": "2026-05-03", "departure": "2026-05-04", "room_type": "KNG", "rate_plan": "BAR", "adults": 1,
        })
        assert "the guest is missing" in error and "search_guests" in error
        error = await call_error(client, "search_reservations", {"limit": 101})
        assert "limit" in error and "100" in error
        error = await call_error(client, "create_reservation", {
            "arrival": "2026-05-03", "departure": "2026-05-04", "room_type": "KNG", "rate_plan": "BAR", "adults": 0,
            "surname": "Nobody",
        })
        assert "adults" in error
        assert len(sandbox_server.sandbox.requests) == before, "refused before any OHIP call"

        error = await call_error(client, "create_reservation", {
            "arrival": "2026-05-03", "departure": "2026-05-04", "room_type": "KNG", "rate_plan": "NOPE",
            "adults": 1, "surname": "Unlucky",
        })
        assert "rate plan NOPE is not offered in SAND01" in error and "check_availability" in error

        error = await call_error(client, "create_reservation", {
            "arrival": "2026-05-03", "departure": "2026-05-04", "room_type": "ZZZ", "rate_plan": "BAR",
            "adults": 1, "surname": "Unlucky",
        })
        assert "ZZZ" in error and "check_availability" in error

        row = (await call_ok(client, "search_reservations", {"status": ["InHouse"], "limit": 1}))["reservations"][0]
        error = await call_error(client, "modify_reservation", {"reservation_id": row["reservation_id"]})
        assert "nothing to change" in error
        error = await call_error(client, "cancel_reservation", {"reservation_id": row["reservation_id"],
                                                                "reason_code": "CHG", "confirm": True})
        assert "cancel_reservation" in error and "HTTP 400" in error
        error = await call_error(client, "cancel_reservation", {"reservation_id": row["reservation_id"],
                                                                "reason_code": "NOPE", "confirm": True})
        assert "cancellation reason NOPE is not configured in SAND01" in error
        error = await call_error(client, "reinstate_reservation", {"reservation_id": row["reservation_id"]})
        assert "only a cancelled reservation" in error

        gone = (await call_ok(client, "search_reservations", {"status": ["Cancelled"], "limit": 1}))["reservations"]
        error = await call_error(client, "modify_reservation", {"reservation_id": gone[0]["reservation_id"],
                                                                "adults": 2})
        assert "is Cancelled and cannot be changed; reinstate_reservation first" in error


async def test_a_comment_whose_put_answer_is_lost_is_not_added_twice(sandbox_server: Any) -> None:
    """REAL-OPERA defect 3: a putReservation that adds an id-less comment is not repeated after a lost answer
    (OPERA would add it again); one that only changes dates is, since repeating it changes nothing more."""
    from tests.support.apps import running_app, settings_for_sandbox

    with running_app(settings_for_sandbox(sandbox_server.url, max_retries=3)) as srv:
        async with mcp_client(srv.url) as client:
            booked = await call_ok(client, "create_reservation", {
                "arrival": "2026-05-10", "departure": "2026-05-12", "room_type": "KNG", "rate_plan": "BAR",
                "adults": 1, "given_name": "Lou", "surname": "Lostcomment", "comments": ["first"],
            })
            rid = booked["reservation_id"]
            sandbox_server.sandbox.faults.inject(operation="putReservation", mode="drop", times=1)
            error = await call_error(client, "modify_reservation", {"reservation_id": rid, "comment": "second"})
            assert "unknown" in error and "get_reservation" in error

            sandbox_server.sandbox.faults.inject(operation="putReservation", mode="drop", times=1)
            await call_ok(client, "modify_reservation", {"reservation_id": rid, "departure": "2026-05-13"})

    held = sandbox_server.sandbox.enterprise.hotels["SAND01"].reservation(rid)
    assert [c.text for c in held.comments] == ["first", "second"]
    assert held.departure == date(2026, 5, 13)
    puts = [e for e in sandbox_server.sandbox.requests if e.operation_id == "putReservation"]
    assert len(puts) == 3  # the comment once, the dates twice


async def test_a_stay_whose_nights_are_priced_apart_is_totalled_night_by_night(
        app_url: str, sandbox_server: Any) -> None:
    """OPERA keeps a rate line per stretch of the stay (Oracle's own examples end a line on its last night: start
    == end for one night), so a stay whose second night costs more comes back as two lines. The old reading took the
    first line only and stretched its rate over every night: 2 x 199 instead of 199 + 249."""
    sandbox = sandbox_server.sandbox
    hotel = sandbox.enterprise.hotels["SAND01"]
    stay = next(r for r in hotel.reservations.values()
                if r.status == "Reserved" and (r.departure - r.arrival).days == 2)
    from app.sandbox.routes.rsv import reservation_body

    record = {"reservations": {"reservation": [reservation_body(sandbox.enterprise, hotel, stay)]}}
    [line] = record["reservations"]["reservation"][0]["roomStay"]["roomRates"]
    first, second = stay.arrival, stay.arrival.fromordinal(stay.arrival.toordinal() + 1)

    def night(day: date, price: float) -> dict[str, Any]:
        base = {"amountBeforeTax": price, "currencyCode": "USD"}
        return {**line, "start": day.isoformat(), "end": day.isoformat(), "total": base,
                "rates": {"rate": [{"base": base, "start": day.isoformat(), "end": day.isoformat()}]}}

    record["reservations"]["reservation"][0]["roomStay"]["roomRates"] = [night(first, 199.0), night(second, 249.0)]
    sandbox.faults.inject(operation="getReservation", status=200, body=record, times=1)
    async with mcp_client(app_url) as client:
        shown = await call_ok(client, "get_reservation", {"reservation_id": stay.reservation_id})
    assert shown["nights"] == 2 and shown["rate_amount"]["amount"] == 199.0
    assert shown["total"] == {"amount": 448.0, "currency": "USD"}
