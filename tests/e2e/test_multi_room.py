"""Multi-room reservations through the MCP SDK client over HTTP, against our app pointed at a live sandbox.

A reservation can hold several rooms (its rate line's numberOfUnits): a family booking three rooms is one
reservation. OPERA assigns a room to and checks in one room per reservation, so its check-in workflow splits such a
reservation first (rsv putSplitMultiRoomReservation). The old client read every reservation as one room: it showed a
three-room booking at one room's total, tried to check it in, and a date change sent numberOfUnits 1, which OPERA
reads as the rooms the reservation holds from then on (two rooms given up without a word)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from tests.support.mcp_client import call_error, call_ok, mcp_client
from tests.support.sandbox_state import inject_fault

pytestmark = pytest.mark.sandbox(business_date=date(2026, 5, 1))


def sent(sandbox: Any, operation: str, reservation_id: str) -> int:
    return sum(1 for e in sandbox.requests if e.operation_id == operation and reservation_id in e.path)


async def book_three_rooms(client: Any, surname: str) -> str:
    booked = await call_ok(client, "create_reservation", {
        "arrival": "2026-05-01", "departure": "2026-05-03", "room_type": "KNG", "rate_plan": "BAR", "adults": 2,
        "rooms": 3, "given_name": "Ines", "surname": surname, "payment_method": "CA"})
    assert booked["reservation"]["rooms"] == 3
    return str(booked["reservation_id"])


async def test_a_three_room_booking_is_shown_kept_and_split_before_any_room_is_checked_in(
        app_url: str, sandbox_server: Any) -> None:
    sandbox = sandbox_server.sandbox
    hotel = sandbox.enterprise.hotels["SAND01"]
    nightly = hotel.rate_plans["BAR"].prices["KNG"]
    stay = {"arrival": "2026-05-01", "departure": "2026-05-03", "room_types": ["KNG"]}

    def kng_left(report: dict[str, Any]) -> int:
        return int(next(r["rooms_left"] for r in report["rooms_left"] if r["room_type"] == "KNG"))

    async with mcp_client(app_url) as client:
        before = kng_left(await call_ok(client, "check_availability", stay))
        asked = await call_ok(client, "check_availability", {**stay, "rooms": 3})
        assert "create_reservation" in asked["next_step"] and "rooms=3" in asked["next_step"]
        rid = await book_three_rooms(client, "Threeroom")
        assert hotel.reservations[rid].rooms == 3
        assert kng_left(await call_ok(client, "check_availability", stay)) == before - 3  # a room each
        total = {"amount": pytest.approx(nightly * 2 * 3), "currency": "USD"}
        record = await call_ok(client, "get_reservation", {"reservation_id": rid})
        [row] = (await call_ok(client, "search_reservations", {"surname": "Threeroom"}))["reservations"]
        for reading in (record, row):
            assert (reading["rooms"], reading["total"]) == (3, total)

        # A room is given to one room's reservation: both steps are refused before OPERA is asked, naming the split.
        refused = await call_error(client, "check_in", {"reservation_id": rid})
        assert "holds 3 rooms" in refused and f"split_reservation reservation_id={rid}" in refused
        refused = await call_error(client, "assign_room", {"reservation_id": rid, "room_id": "101"})
        assert "holds 3 rooms" in refused
        assert sent(sandbox, "postRoomAssignment", rid) == sent(sandbox, "postCheckIn", rid) == 0

        # A date change keeps the three rooms (the old client sent numberOfUnits 1 with the new dates).
        await call_ok(client, "modify_reservation", {"reservation_id": rid, "departure": "2026-05-04"})
        assert hotel.reservations[rid].rooms == 3 and hotel.reservations[rid].departure == date(2026, 5, 4)

        split = await call_ok(client, "split_reservation", {"reservation_id": rid})
        assert split["split"] is True
        ids = [r["reservation_id"] for r in split["reservations"]]
        assert ids[0] == rid and len(set(ids)) == 3
        made = [hotel.reservations[i] for i in ids]
        assert [r.rooms for r in made] == [1, 1, 1]
        assert len({r.confirmation_number for r in made}) == 3
        assert all(r.departure == date(2026, 5, 4) and r.payment_method == "CA" and r.profile_id == made[0].profile_id
                   for r in made)
        assert all(r["guest_name"] == "⟦Ines Threeroom⟧" for r in split["reservations"])

        again = await call_ok(client, "split_reservation", {"reservation_id": rid})
        assert again["split"] is False and [r["reservation_id"] for r in again["reservations"]] == ids
        assert sent(sandbox, "putSplitMultiRoomReservation", rid) == 1

        for reservation_id in ids:
            checked = await call_ok(client, "check_in", {"reservation_id": reservation_id})
            assert checked["room_id"]
    assert {hotel.reservations[i].status for i in ids} == {"InHouse"}
    assert len({hotel.reservations[i].room_id for i in ids}) == 3


async def test_a_split_whose_answer_is_lost_is_made_once(app_url: str, sandbox_server: Any) -> None:
    """OPERA splits the reservation and the answer never arrives. A blind repeat would split again what a first
    split left (with splitAll false, one more room each time); the tool reads the reservation instead, sees one
    room, and reports the split made: three reservations, one PUT."""
    sandbox = sandbox_server.sandbox
    hotel = sandbox.enterprise.hotels["SAND01"]
    async with mcp_client(app_url) as client:
        rid = await book_three_rooms(client, "Lostsplit")
        await inject_fault(sandbox_server.url, operation="putSplitMultiRoomReservation", mode="drop")
        split = await call_ok(client, "split_reservation", {"reservation_id": rid})
    assert split["split"] is True and len(split["reservations"]) == 3
    linked = [r for r in hotel.reservations.values() if r.linked_to == rid]
    assert sorted(r.reservation_id for r in linked) == sorted(r["reservation_id"] for r in split["reservations"])
    assert sum(r.rooms for r in linked) == 3
    assert sent(sandbox, "putSplitMultiRoomReservation", rid) == 1


async def test_more_rooms_than_are_left_is_refused_and_books_nothing(app_url: str, sandbox_server: Any) -> None:
    hotel = sandbox_server.sandbox.enterprise.hotels["SAND01"]
    left = hotel.rooms_left_for_stay("STE", date(2026, 5, 20), date(2026, 5, 22))
    assert 0 < left < 9, "the seeded hotel has a few suites left on those nights"
    before = len(hotel.reservations)
    async with mcp_client(app_url) as client:
        refused = await call_error(client, "create_reservation", {
            "arrival": "2026-05-20", "departure": "2026-05-22", "room_type": "STE", "rate_plan": "BAR",
            "adults": 1, "rooms": left + 1, "surname": "Toomany"})
    assert f"Only {left} rooms of type STE are left on 2026-05-2" in refused and f"{left + 1} were asked" in refused
    assert len(hotel.reservations) == before
