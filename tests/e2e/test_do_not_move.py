"""OPERA's Do Not Move: a room the desk locked to a stay (roomNumberLocked) stays with it. postRoomAssignment's
`roomNumberLocked` "updates the do not move flag", so the old client, which sent false on every assignment, lifted
the desk's lock whenever it assigned, and its moves met OPERA's refusal. Through the MCP SDK client against our app
with its embedded sandbox; the lock is the desk's, set in the hotel's state."""

from __future__ import annotations

from typing import Any

from tests.support.mcp_client import call_error, call_ok, mcp_client
from tests.support.servers import ServerThread


async def locked_stay(server: ServerThread, hotel: Any, client: Any) -> tuple[Any, str, str]:
    """A guest due in (with no room yet) whom the desk locked into a ready room, and another ready room for them."""
    for guest in [r for r in hotel.reservations.values() if hotel.computed_status(r) == "DueIn" and not r.room_id]:
        free = await call_ok(client, "find_available_rooms", {"reservation_id": guest.reservation_id, "limit": 2})
        if len(free["rooms"]) == 2:
            mine, other = (r["room_id"] for r in free["rooms"])
            server.app.state.sandbox.enterprise.assign_room("SAND01", guest.reservation_id, mine, lock=True)
            return guest, mine, other
    raise AssertionError("no guest due in with two ready rooms in the seed")


def sent_since(server: ServerThread, seen: int) -> set[str]:
    return {e.operation_id for e in server.app.state.sandbox.requests[seen:]}


async def test_assigning_the_locked_room_again_keeps_the_desks_lock(server: ServerThread, hotel: Any) -> None:
    async with mcp_client(server.url) as client:
        guest, mine, _ = await locked_stay(server, hotel, client)
        done = await call_ok(client, "assign_room", {"reservation_id": guest.reservation_id, "room_id": mine})
        shown = await call_ok(client, "get_reservation", {"reservation_id": guest.reservation_id})
    assert guest.room_id == mine and guest.room_locked  # the old client's false had lifted it
    assert done["do_not_move"] is True
    assert shown["room_id"] == mine and shown["room_locked"] is True


async def test_another_room_is_refused_before_opera_is_asked_and_check_in_keeps_the_locked_room(
    server: ServerThread, hotel: Any
) -> None:
    async with mcp_client(server.url) as client:
        guest, mine, other = await locked_stay(server, hotel, client)
        seen = len(server.app.state.sandbox.requests)
        moved = await call_error(client, "assign_room", {"reservation_id": guest.reservation_id, "room_id": other})
        checked_elsewhere = await call_error(
            client, "check_in", {"reservation_id": guest.reservation_id, "room_id": other})
        sent = sent_since(server, seen)
        listed = await call_ok(client, "find_available_rooms", {"reservation_id": guest.reservation_id})
        done = await call_ok(client, "check_in", {"reservation_id": guest.reservation_id})
    for error in (moved, checked_elsewhere):
        assert f"is locked to room {mine} (OPERA's Do Not Move" in error and "nothing was changed" in error
        assert f"assign_room room_id={mine} do_not_move=false" in error
    assert f"check_in without room_id puts the guest in room {mine}" in checked_elsewhere
    assert not sent & {"postRoomAssignment", "postCheckIn"}
    assert [r["room_id"] for r in listed["rooms"]] == [mine]
    assert [w["code"] for w in listed["warnings"]] == ["DO_NOT_MOVE"]
    assert done["room_id"] == mine and guest.status == "InHouse" and guest.room_id == mine


async def test_the_human_can_lift_the_lock_and_then_move_the_guest(server: ServerThread, hotel: Any) -> None:
    async with mcp_client(server.url) as client:
        guest, mine, other = await locked_stay(server, hotel, client)
        lifted = await call_ok(client, "assign_room", {"reservation_id": guest.reservation_id, "room_id": mine,
                                                       "do_not_move": False})
        moved = await call_ok(client, "assign_room", {"reservation_id": guest.reservation_id, "room_id": other})
        assert guest.room_id == other and not guest.room_locked
        locked = await call_ok(client, "assign_room", {"reservation_id": guest.reservation_id, "room_id": other,
                                                       "do_not_move": True})
    assert lifted["do_not_move"] is False and moved["do_not_move"] is False and locked["do_not_move"] is True
    assert guest.room_id == other and guest.room_locked


async def test_a_room_type_change_of_a_locked_stay_is_refused_before_opera_is_asked(
    server: ServerThread, hotel: Any
) -> None:
    async with mcp_client(server.url) as client:
        guest, mine, _ = await locked_stay(server, hotel, client)
        booked = guest.room_type
        other_type = next(t for t in hotel.room_types if t != booked)
        seen = len(server.app.state.sandbox.requests)
        error = await call_error(client, "modify_reservation", {"reservation_id": guest.reservation_id,
                                                                "room_type": other_type})
        sent = sent_since(server, seen)
    assert f"locked to room {mine}, a {booked} (OPERA's Do Not Move" in error and "nothing was changed" in error
    assert "putReservation" not in sent
    assert guest.room_type == booked and guest.room_id == mine and guest.room_locked
