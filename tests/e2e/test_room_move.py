"""Moving an in-house guest to another room (fof moveInHouseGuest), through the MCP SDK client over HTTP.

A guest who complains of noise is moved, not re-assigned: postRoomAssignment is for a stay not yet checked in, and
OPERA (like the sandbox) refuses it for a guest in house. The move keeps the folio with the stay, gives the room left
the status the desk names (Dirty unless told), and is kept in the stay's room move history. Its PUT is never repeated
blindly: after a lost answer the room the reservation holds says whether the guest moved."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from tests.support.mcp_client import call_error, call_ok, mcp_client
from tests.support.sandbox_state import inject_fault
from tests.support.servers import ServerThread


def moves_sent(sandbox: Any, reservation_id: str) -> int:
    return sum(1 for e in sandbox.requests if e.operation_id == "moveInHouseGuest" and reservation_id in e.path)


async def guest_in_house(hotel: Any, client: Any, *, wanted: int = 2) -> tuple[Any, list[str]]:
    """A guest in house for more nights, not locked to the room, and `wanted` rooms they could move to."""
    for guest in sorted(hotel.reservations.values(), key=lambda r: int(r.reservation_id)):
        if (guest.status != "InHouse" or guest.room_locked or guest.rooms != 1
                or guest.departure <= hotel.business_date):
            continue
        free = await call_ok(client, "find_available_rooms", {"reservation_id": guest.reservation_id,
                                                              "limit": wanted})
        rooms = [r["room_id"] for r in free["rooms"] if r["room_id"] != guest.room_id]
        if len(rooms) >= wanted:
            return guest, rooms
    raise AssertionError("no guest in house with rooms free to move to in the seed")


async def test_a_guest_moves_to_a_ready_room_keeping_the_folio_and_the_room_left_takes_its_status(
        server: ServerThread, hotel: Any) -> None:
    sandbox = server.app.state.sandbox
    async with mcp_client(server.url) as client:
        guest, (target, _) = await guest_in_house(hotel, client)
        left = guest.room_id
        folio_before = await call_ok(client, "get_folio", {"reservation_id": guest.reservation_id})
        moved = await call_ok(client, "move_room", {
            "reservation_id": guest.reservation_id, "room_id": target, "reason_code": "nse",
            "description": "Noise from the street", "old_room_status": "Pickup"})
        shown = await call_ok(client, "get_reservation", {"reservation_id": guest.reservation_id})
        there = await call_ok(client, "list_in_house", {"room_id": target})
        folio_after = await call_ok(client, "get_folio", {"reservation_id": guest.reservation_id})
    assert moved["moved"] is True and moved["from_room"] == left and moved["room_id"] == target
    assert moved["reason_code"] == "NSE" and moved["old_room_status"] == "Pickup"
    assert [(m["from_room"], m["to_room"], m["reason_code"]) for m in moved["moves"]] == [(left, target, "NSE")]
    assert moved["moves"][0]["description"] == "Noise from the street"
    assert f"room {left} is now Pickup" in moved["next_step"]
    # what the hotel holds: the guest in the new room, the old one vacant and Pickup
    assert guest.room_id == target and guest.status == "InHouse"
    assert hotel.front_office_status(target) == "Occupied" and hotel.front_office_status(left) == "Vacant"
    assert hotel.rooms[left].room_status == "Pickup"
    assert shown["room_id"] == target
    assert [r["reservation_id"] for r in there["items"]] == [guest.reservation_id]
    assert folio_after["balance"] == folio_before["balance"]
    assert moves_sent(sandbox, guest.reservation_id) == 1


async def test_without_a_reason_the_hotels_first_is_sent_and_the_room_left_is_dirty(
        server: ServerThread, hotel: Any) -> None:
    async with mcp_client(server.url) as client:
        guest, (target, _) = await guest_in_house(hotel, client)
        left = guest.room_id
        moved = await call_ok(client, "move_room", {"reservation_id": guest.reservation_id, "room_id": target})
    first_reason = next(iter(hotel.room_move_reasons))
    assert moved["reason_code"] == first_reason and guest.room_moves[-1].reason_code == first_reason
    assert hotel.rooms[left].room_status == "Dirty" and guest.room_id == target


async def test_a_move_that_cannot_be_made_is_refused_before_opera_is_asked(server: ServerThread, hotel: Any) -> None:
    sandbox = server.app.state.sandbox
    async with mcp_client(server.url) as client:
        guest, (target, spare, theirs) = await guest_in_house(hotel, client, wanted=3)
        mine = guest.room_id
        # a guest due in, already given a room: assigned, not in house, so not moved
        due_in = next(r for r in hotel.reservations.values()
                      if hotel.computed_status(r) == "DueIn" and r.rooms == 1 and r.room_type == guest.room_type
                      and not r.room_locked)
        sandbox.enterprise.assign_room("SAND01", due_in.reservation_id, theirs)
        other_type = next(r for r in hotel.rooms.values()
                          if r.room_type != guest.room_type and hotel.front_office_status(r.room_id) == "Vacant")
        occupied = next(r for r in hotel.reservations.values()
                        if r.status == "InHouse" and r.room_id and r.room_type == guest.room_type
                        and r.reservation_id != guest.reservation_id)
        hotel.rooms[spare].room_status = "Dirty"
        seen = len(sandbox.requests)
        errors = {
            "due in": await call_error(client, "move_room", {"reservation_id": due_in.reservation_id,
                                                             "room_id": target}),
            "type": await call_error(client, "move_room", {"reservation_id": guest.reservation_id,
                                                           "room_id": other_type.room_id}),
            "occupied": await call_error(client, "move_room", {"reservation_id": guest.reservation_id,
                                                               "room_id": occupied.room_id}),
            "dirty": await call_error(client, "move_room", {"reservation_id": guest.reservation_id,
                                                            "room_id": spare}),
            "reason": await call_error(client, "move_room", {"reservation_id": guest.reservation_id,
                                                             "room_id": target, "reason_code": "NOPE"}),
        }
        guest.room_locked = True  # the desk locked the guest to the room (Do Not Move)
        errors["locked"] = await call_error(client, "move_room", {"reservation_id": guest.reservation_id,
                                                                  "room_id": target})
        guest.room_locked = False
        sent = {e.operation_id for e in sandbox.requests[seen:]}
    assert "only a checked-in guest is moved" in errors["due in"] and "assign_room" in errors["due in"]
    assert f"it is a {other_type.room_type} room and the stay booked {guest.room_type}" in errors["type"]
    assert "it is Occupied" in errors["occupied"]
    assert "it is Dirty, not Clean or Inspected" in errors["dirty"] and target in errors["dirty"]
    assert "'NOPE' is not a room move reason" in errors["reason"] and "NSE (Noise complaint)" in errors["reason"]
    assert "OPERA's Do Not Move" in errors["locked"]
    assert all("nothing was changed" in e for e in errors.values()), errors
    assert "moveInHouseGuest" not in sent
    assert guest.room_id == mine and due_in.room_id == theirs and due_in.status == "Reserved"


async def test_a_guest_already_in_the_room_is_not_moved_again(server: ServerThread, hotel: Any) -> None:
    sandbox = server.app.state.sandbox
    async with mcp_client(server.url) as client:
        guest, _ = await guest_in_house(hotel, client, wanted=1)
        seen = moves_sent(sandbox, guest.reservation_id)
        again = await call_ok(client, "move_room", {"reservation_id": guest.reservation_id,
                                                    "room_id": guest.room_id})
    assert again["moved"] is False and again["room_id"] == guest.room_id
    assert "nothing was moved" in again["next_step"]
    assert moves_sent(sandbox, guest.reservation_id) == seen


@pytest.mark.sandbox(business_date=date(2026, 5, 1))
async def test_a_move_whose_answer_is_lost_is_made_once(app_url: str, sandbox_server: Any) -> None:
    """OPERA moves the guest and the answer never arrives. A blind repeat would be refused (the guest is already
    there) and reported as a failure, or, with the rooms named the other way round, move the guest back; the tool
    reads the reservation instead and reports the move made, with one PUT."""
    sandbox = sandbox_server.sandbox
    hotel = sandbox.enterprise.hotels["SAND01"]
    async with mcp_client(app_url) as client:
        guest, (target, _) = await guest_in_house(hotel, client)
        left = guest.room_id
        await inject_fault(sandbox_server.url, operation="moveInHouseGuest", mode="drop")
        moved = await call_ok(client, "move_room", {"reservation_id": guest.reservation_id, "room_id": target,
                                                    "idempotency_key": "move-key-0001"})
        repeat = await call_ok(client, "move_room", {"reservation_id": guest.reservation_id, "room_id": target,
                                                     "idempotency_key": "move-key-0001"})
    assert moved["moved"] is True and moved["from_room"] == left and moved["room_id"] == target
    assert repeat["room_id"] == target
    assert guest.room_id == target and len(guest.room_moves) == 1
    assert moves_sent(sandbox, guest.reservation_id) == 1
