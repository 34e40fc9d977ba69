"""Reinstating a guest checked out today (csh reinstateCheckOut), through the MCP SDK client over HTTP.

The desk's case: the minibar is counted after the guest has checked out. A checked-out folio takes no charge, so OPERA
reinstates the stay first ("in order to post additional transactions"). Oracle's user guide: "You can reinstate a
checked out reservation only before the End of Day process on the date of departure", and the spec's overrideFlag
reinstates "even if some other guest already checked in into same room" (OPERA then makes the two a share). The tool
refuses another day and an occupied room before OPERA is asked, and never repeats the PUT blindly."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from tests.support.mcp_client import call_error, call_ok, mcp_client
from tests.support.sandbox_state import inject_fault
from tests.support.servers import ServerThread


def reinstates_sent(sandbox: Any, reservation_id: str) -> int:
    return sum(1 for e in sandbox.requests if e.operation_id == "reinstateCheckOut" and reservation_id in e.path)


async def checked_out_now(hotel: Any, client: Any) -> Any:
    """A guest due out today with a balance and no alerts, checked out now through the tool (paying cash)."""
    for guest in sorted(hotel.reservations.values(), key=lambda r: int(r.reservation_id)):
        if hotel.computed_status(guest) != "DueOut" or guest.balance <= 0 or guest.alerts:
            continue
        await call_ok(client, "check_out", {"reservation_id": guest.reservation_id, "payment_method": "CA",
                                            "confirm": True})
        assert guest.status == "CheckedOut" and guest.balance == 0
        return guest
    raise AssertionError("no guest due out today in the seed")


async def test_a_charge_found_after_check_out_is_posted_after_reinstating_and_settled_at_a_second_check_out(
        server: ServerThread, hotel: Any) -> None:
    sandbox = server.app.state.sandbox
    async with mcp_client(server.url) as client:
        guest = await checked_out_now(hotel, client)
        room = guest.room_id
        minibar = {"reservation_id": guest.reservation_id, "transaction_code": "3000", "amount": 12.5,
                   "remark": "Minibar"}
        closed = await call_error(client, "post_charge", minibar)
        postings = sum(len(w.postings) for w in guest.folio_windows.values())
        undone = await call_ok(client, "undo_check_out", {"reservation_id": guest.reservation_id})
        in_house = guest.status
        occupied = hotel.front_office_status(room)
        charged = await call_ok(client, "post_charge", minibar)
        owed = guest.balance
        out = await call_ok(client, "check_out", {"reservation_id": guest.reservation_id, "payment_method": "CA",
                                                  "confirm": True})
    assert "the guest has checked out" in closed and "undo_check_out reinstates" in closed
    assert undone["undone"] is True and undone["status"] == "DueOut" and undone["room_id"] == room
    assert undone["departure"] == hotel.business_date.isoformat()
    assert "post_charge what was missed" in undone["next_step"] and "check_out again" in undone["next_step"]
    assert "a new idempotency_key" in undone["next_step"]
    assert in_house == "InHouse" and occupied == "Occupied"
    assert charged["total"]["amount"] == 12.5 and owed == 12.5
    assert out["status"] == "CheckedOut" and guest.status == "CheckedOut" and guest.balance == 0
    # the first check-out's postings are kept: one charge and one payment more, nothing lost or doubled
    assert sum(len(w.postings) for w in guest.folio_windows.values()) == postings + 2
    assert reinstates_sent(sandbox, guest.reservation_id) == 1
    [put] = [e for e in sandbox.requests if e.operation_id == "reinstateCheckOut"]
    # never the override that would make the guest share a room someone else was checked into
    assert put.json["overrideFlag"] is False and put.json["notifyInterfaces"] is True
    assert put.json["reservationId"]["id"] == guest.reservation_id and put.json["cashierId"]


async def test_another_day_a_guest_not_checked_out_or_an_occupied_room_is_refused_before_opera_is_asked(
        server: ServerThread, hotel: Any) -> None:
    sandbox = server.app.state.sandbox
    async with mcp_client(server.url) as client:
        earlier = next(r for r in hotel.reservations.values() if r.status == "CheckedOut")
        due_in = next(r for r in hotel.reservations.values()
                      if hotel.computed_status(r) == "DueIn" and not r.room_id and r.rooms == 1)
        in_house = next(r for r in hotel.reservations.values() if r.status == "InHouse")
        guest = await checked_out_now(hotel, client)
        seen = len(sandbox.requests)
        old = await call_error(client, "undo_check_out", {"reservation_id": earlier.reservation_id})
        not_out = await call_error(client, "undo_check_out", {"reservation_id": due_in.reservation_id})
        already = await call_ok(client, "undo_check_out", {"reservation_id": in_house.reservation_id})
        due_in.status, due_in.room_id = "InHouse", guest.room_id  # the desk checked another guest into the room
        try:
            taken = await call_error(client, "undo_check_out", {"reservation_id": guest.reservation_id})
        finally:
            due_in.status, due_in.room_id = "Reserved", None
        sent = {e.operation_id for e in sandbox.requests[seen:]}
    assert f"checked out on {earlier.departure.isoformat()}" in old and "End of Day" in old
    assert "only a guest checked out today is reinstated" in not_out
    assert already["undone"] is False and "nothing was reinstated" in already["next_step"]
    assert f"room {guest.room_id}" in taken and "Occupied by another checked-in guest" in taken
    assert "share" in taken
    assert all("nothing was changed" in e for e in (old, not_out, taken))
    assert "reinstateCheckOut" not in sent
    assert earlier.status == "CheckedOut" and guest.status == "CheckedOut"


@pytest.mark.sandbox(business_date=date(2026, 5, 1))
async def test_a_reinstatement_whose_answer_is_lost_is_made_once(app_url: str, sandbox_server: Any) -> None:
    """OPERA reinstates the stay and the answer is lost. A blind repeat of the PUT meets "only a checked-out
    reservation" and would be reported as a failure; the tool reads the reservation instead, with one PUT."""
    sandbox = sandbox_server.sandbox
    hotel = sandbox.enterprise.hotels["SAND01"]
    async with mcp_client(app_url) as client:
        guest = await checked_out_now(hotel, client)
        await inject_fault(sandbox_server.url, operation="reinstateCheckOut", mode="drop")
        undone = await call_ok(client, "undo_check_out", {"reservation_id": guest.reservation_id})
    assert undone["undone"] is True and undone["status"] == "DueOut"
    assert guest.status == "InHouse"
    assert reinstates_sent(sandbox, guest.reservation_id) == 1


async def test_after_reinstating_the_first_check_outs_key_returns_that_check_out_and_a_new_key_checks_out_again(
        server: ServerThread, hotel: Any) -> None:
    """A key names one write: the first check-out's key, sent again after the stay was reinstated, answers with the
    first check-out from the idempotency store and pays nothing; the undo_check_out result tells the agent to use a
    new key, which checks the guest out again."""
    async with mcp_client(server.url) as client:
        guest = next(r for r in sorted(hotel.reservations.values(), key=lambda r: int(r.reservation_id))
                     if hotel.computed_status(r) == "DueOut" and r.balance > 0 and not r.alerts)
        args = {"reservation_id": guest.reservation_id, "payment_method": "CA", "confirm": True,
                "idempotency_key": f"check-out-{guest.reservation_id}"}
        first = await call_ok(client, "check_out", args)
        undone = await call_ok(client, "undo_check_out", {"reservation_id": guest.reservation_id})
        await call_ok(client, "post_charge", {"reservation_id": guest.reservation_id, "transaction_code": "2000",
                                              "amount": 5.0})
        replayed = await call_ok(client, "check_out", args)
        owed_after_replay = guest.balance
        fresh = await call_ok(client, "check_out", {**args, "idempotency_key": f"check-out-2-{guest.reservation_id}"})
    assert "a new idempotency_key" in undone["next_step"]
    assert replayed == first and owed_after_replay == 5.0  # the replay paid nothing and checked nobody out
    assert fresh["status"] == "CheckedOut" and fresh["settled"]["amount"] == 5.0
    assert guest.status == "CheckedOut" and guest.balance == 0


async def test_a_guest_checked_out_by_mistake_is_reinstated_and_stays_on_to_the_departure_booked(
        server: ServerThread, hotel: Any) -> None:
    async with mcp_client(server.url) as client:
        guest = await checked_out_now(hotel, client)
        undone = await call_ok(client, "undo_check_out", {"reservation_id": guest.reservation_id})
        booked = hotel.business_date + timedelta(days=2)
        await call_ok(client, "modify_reservation", {"reservation_id": guest.reservation_id,
                                                     "departure": booked.isoformat()})
        in_house = await call_ok(client, "list_in_house", {"all_pages": True})
    assert "modify_reservation with the departure booked" in undone["next_step"]
    assert guest.status == "InHouse" and guest.departure == booked
    assert guest.reservation_id in {r["reservation_id"] for r in in_house["items"]}
