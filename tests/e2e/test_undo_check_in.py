"""Reversing a check-in made by mistake (fof deleteCheckin), through the MCP SDK client over HTTP.

Oracle's user guide: "You can reverse a checked-in (that is, in-house) reservation if the reservation was checked in
today and has a zero balance (that is, no charges posted or deposit payments transferred on check-in)". So the tool
refuses, before OPERA is asked, a guest who arrived on an earlier day or whose folio holds a posting; the sandbox,
which reversed such a check-in and dropped its folio (charges and all), now refuses it too."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from tests.support.mcp_client import call_error, call_ok, mcp_client
from tests.support.sandbox_state import inject_fault
from tests.support.servers import ServerThread


def undos_sent(sandbox: Any, reservation_id: str) -> int:
    return sum(1 for e in sandbox.requests if e.operation_id == "deleteCheckin" and reservation_id in e.path)


async def checked_in_today(hotel: Any, client: Any) -> Any:
    """A guest due in today with no room yet, checked in now through the tool (which picks a ready room)."""
    for guest in sorted(hotel.reservations.values(), key=lambda r: int(r.reservation_id)):
        if hotel.computed_status(guest) != "DueIn" or guest.rooms != 1 or guest.room_id or guest.alerts:
            continue
        await call_ok(client, "check_in", {"reservation_id": guest.reservation_id})
        assert guest.status == "InHouse"
        return guest
    raise AssertionError("no guest due in today in the seed")


async def test_a_check_in_made_by_mistake_is_reversed_and_the_guest_can_be_checked_in_again(
        server: ServerThread, hotel: Any) -> None:
    sandbox = server.app.state.sandbox
    async with mcp_client(server.url) as client:
        guest = await checked_in_today(hotel, client)
        room = guest.room_id
        undone = await call_ok(client, "undo_check_in", {"reservation_id": guest.reservation_id,
                                                         "room_status": "Inspected"})
        assert guest.status == "Reserved" and guest.room_id == room
        assert hotel.front_office_status(room) == "Vacant" and hotel.rooms[room].room_status == "Inspected"
        arrivals = await call_ok(client, "list_arrivals", {"all_pages": True})
        again = await call_ok(client, "check_in", {"reservation_id": guest.reservation_id})
    assert undone["undone"] is True and undone["status"] == "DueIn" and undone["room_id"] == room
    assert undone["room_status"] == "Inspected" and f"check_in into room {room}" in undone["next_step"]
    assert guest.reservation_id in [r["reservation_id"] for r in arrivals["items"]]
    assert again["room_id"] == room and guest.status == "InHouse"
    assert undos_sent(sandbox, guest.reservation_id) == 1


async def test_keep_room_false_gives_the_room_up(server: ServerThread, hotel: Any) -> None:
    async with mcp_client(server.url) as client:
        guest = await checked_in_today(hotel, client)
        undone = await call_ok(client, "undo_check_in", {"reservation_id": guest.reservation_id,
                                                         "keep_room": False})
    assert undone["room_id"] is None and guest.room_id is None and guest.status == "Reserved"


async def test_a_check_in_of_an_earlier_day_or_with_a_posting_is_refused_before_opera_is_asked(
        server: ServerThread, hotel: Any) -> None:
    sandbox = server.app.state.sandbox
    async with mcp_client(server.url) as client:
        earlier = next(r for r in hotel.reservations.values()
                       if r.status == "InHouse" and r.arrival < hotel.business_date)
        charged = await checked_in_today(hotel, client)
        await call_ok(client, "post_charge", {"reservation_id": charged.reservation_id, "transaction_code": "2000",
                                              "amount": 14.0})
        seen = len(sandbox.requests)
        old = await call_error(client, "undo_check_in", {"reservation_id": earlier.reservation_id})
        posted = await call_error(client, "undo_check_in", {"reservation_id": charged.reservation_id})
        sent = {e.operation_id for e in sandbox.requests[seen:]}
    assert f"arrived on {earlier.arrival.isoformat()}" in old and "only a check-in made today" in old
    assert "has 1 posting(s) on its folio" in posted and "nothing was changed" in posted
    assert "deleteCheckin" not in sent
    assert earlier.status == "InHouse" and charged.status == "InHouse"
    assert [p.amount for w in charged.folio_windows.values() for p in w.postings] == [14.0]


async def test_a_guest_already_due_in_is_not_reversed_again(server: ServerThread, hotel: Any) -> None:
    sandbox = server.app.state.sandbox
    async with mcp_client(server.url) as client:
        guest = next(r for r in hotel.reservations.values() if hotel.computed_status(r) == "DueIn")
        again = await call_ok(client, "undo_check_in", {"reservation_id": guest.reservation_id})
    assert again["undone"] is False and "nothing was reversed" in again["next_step"]
    assert undos_sent(sandbox, guest.reservation_id) == 0


@pytest.mark.sandbox(business_date=date(2026, 5, 1))
async def test_a_reversal_whose_answer_is_lost_is_made_once(app_url: str, sandbox_server: Any) -> None:
    """OPERA reverses the check-in and the answer is lost. A blind repeat of the DELETE meets "only a guest checked
    in today" and would be reported as a failure; the tool reads the reservation instead, with one DELETE."""
    sandbox = sandbox_server.sandbox
    hotel = sandbox.enterprise.hotels["SAND01"]
    async with mcp_client(app_url) as client:
        guest = await checked_in_today(hotel, client)
        await inject_fault(sandbox_server.url, operation="deleteCheckin", mode="drop")
        undone = await call_ok(client, "undo_check_in", {"reservation_id": guest.reservation_id})
    assert undone["undone"] is True and undone["status"] == "DueIn"
    assert guest.status == "Reserved"
    assert undos_sent(sandbox, guest.reservation_id) == 1
