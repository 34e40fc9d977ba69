"""OPERA's room conditions: a room the hotel set aside (a show room, a photo shoot) is left out of the rooms offered
for assignment, and one with a note (minibar removed) is offered with it. A condition never stops the desk from
selling the room, so a room named on purpose is still assigned, with the condition as a warning. The old client
never read conditions and asked getHotelRooms without includeAllRoomConditions, so a room named on purpose was
"not found". Through the MCP SDK client against our app with its embedded sandbox; the conditions are the desk's,
set in the hotel's state."""

from __future__ import annotations

from typing import Any

from tests.support.mcp_client import call_error, call_ok, mcp_client
from tests.support.servers import ServerThread


def set_condition(server: ServerThread, room_id: str, code: str | None, remarks: str | None = None) -> None:
    server.app.state.sandbox.enterprise.set_room_condition("SAND01", [room_id], code, remarks=remarks)


async def due_in_with_rooms(hotel: Any, client: Any, count: int) -> tuple[Any, list[dict[str, Any]]]:
    """A guest due in with no room yet, and the ready rooms find_available_rooms offers them (at least `count`)."""
    for guest in [r for r in hotel.reservations.values() if hotel.computed_status(r) == "DueIn" and not r.room_id]:
        free = await call_ok(client, "find_available_rooms", {"reservation_id": guest.reservation_id, "limit": 50})
        if len(free["rooms"]) >= count:
            return guest, free["rooms"]
    raise AssertionError(f"no guest due in with {count} ready rooms in the seed")


async def test_a_room_set_aside_is_not_offered_and_a_noted_one_is_offered_with_its_note(
    server: ServerThread, hotel: Any
) -> None:
    async with mcp_client(server.url) as client:
        guest, offered = await due_in_with_rooms(hotel, client, 2)
        show, minibar = offered[0]["room_id"], offered[1]["room_id"]
        set_condition(server, show, "SHOW", "sales tour at 4pm")
        set_condition(server, minibar, "MINIB")
        try:
            after = await call_ok(client, "find_available_rooms", {"reservation_id": guest.reservation_id,
                                                                   "limit": 50})
        finally:
            set_condition(server, show, None)
            set_condition(server, minibar, None)
    listed = {r["room_id"]: r for r in after["rooms"]}
    assert show not in listed
    assert listed[minibar]["condition"] == {"code": "MINIB", "description": "Minibar removed", "available": True,
                                            "remarks": None}


async def test_check_in_never_picks_a_room_set_aside(server: ServerThread, hotel: Any) -> None:
    async with mcp_client(server.url) as client:
        guest, offered = await due_in_with_rooms(hotel, client, 2)
        # the room check_in would pick: Inspected before Clean, then by number
        first = sorted(offered, key=lambda r: (r["room_status"] != "Inspected", r["room_id"]))[0]["room_id"]
        set_condition(server, first, "PHOTO")
        try:
            done = await call_ok(client, "check_in", {"reservation_id": guest.reservation_id})
        finally:
            set_condition(server, first, None)
    assert done["room_id"] != first
    assert guest.status == "InHouse" and guest.room_id == done["room_id"]


async def test_a_room_set_aside_is_still_given_when_named_with_the_condition_as_a_warning(
    server: ServerThread, hotel: Any
) -> None:
    async with mcp_client(server.url) as client:
        guest, offered = await due_in_with_rooms(hotel, client, 1)
        show = offered[0]["room_id"]
        set_condition(server, show, "SHOW", "sales tour at 4pm")
        try:
            done = await call_ok(client, "assign_room", {"reservation_id": guest.reservation_id, "room_id": show})
            assert guest.room_id == show  # the old client said the hotel has no such room
            checked_in = await call_ok(client, "check_in", {"reservation_id": guest.reservation_id})
        finally:
            set_condition(server, show, None)
    assert guest.status == "InHouse" and checked_in["room_id"] == show
    for result in (done, checked_in):
        (warning,) = [w for w in result["warnings"] if w["code"] == "ROOM_CONDITION"]
        assert "SHOW (Show room for a sales tour)" in warning["message"]
        assert "out of the rooms OPERA offers" in warning["message"] and "sales tour at 4pm" in warning["message"]


async def test_set_room_condition_sets_aside_a_room_and_clear_gives_it_back(server: ServerThread, hotel: Any) -> None:
    """The tool's own write (hsk setRoomCondition), end to end: a show room leaves the rooms offered and the same call
    again changes nothing; clear=true puts it back."""
    async with mcp_client(server.url) as client:
        guest, offered = await due_in_with_rooms(hotel, client, 1)
        show = offered[0]["room_id"]
        args = {"room_ids": [show], "condition": "show", "remarks": "sales tour at 4pm"}
        done = await call_ok(client, "set_room_condition", args)
        again = await call_ok(client, "set_room_condition", args)
        condition = hotel.rooms[show].condition
        aside = await call_ok(client, "find_available_rooms", {"reservation_id": guest.reservation_id, "limit": 50})
        cleared = await call_ok(client, "set_room_condition", {"room_ids": [show], "clear": True})
        back = await call_ok(client, "find_available_rooms", {"reservation_id": guest.reservation_id, "limit": 50})
    assert done["condition"] == again["condition"] == "SHOW" and done["room_ids"] == [show]
    assert condition is not None and (condition.code.code, condition.remarks) == ("SHOW", "sales tour at 4pm")
    assert show not in {r["room_id"] for r in aside["rooms"]}
    assert cleared["condition"] is None and hotel.rooms[show].condition is None
    assert show in {r["room_id"] for r in back["rooms"]}


async def test_set_room_condition_refuses_what_it_cannot_do_and_sets_an_occupied_room_only_when_told(
    server: ServerThread, hotel: Any
) -> None:
    sandbox = server.app.state.sandbox
    occupied = next(r.room_id for r in hotel.reservations.values() if r.status == "InHouse" and r.room_id)
    vacant = next(r.room_id for r in hotel.rooms.values()
                  if hotel.front_office_status(r.room_id) == "Vacant" and r.condition is None)
    async with mcp_client(server.url) as client:
        seen = len(sandbox.requests)
        neither = await call_error(client, "set_room_condition", {"room_ids": [vacant]})
        both = await call_error(client, "set_room_condition", {"room_ids": [vacant], "condition": "SHOW",
                                                               "clear": True})
        card = await call_error(client, "set_room_condition", {"room_ids": [vacant], "condition": "SHOW",
                                                               "remarks": "guest card 4111 1111 1111 1111"})
        unknown = await call_error(client, "set_room_condition", {"room_ids": [vacant], "condition": "NOPE"})
        asked = {e.operation_id for e in sandbox.requests[seen:]}
        refused = await call_error(client, "set_room_condition", {"room_ids": [occupied], "condition": "CONN"})
        untouched = hotel.rooms[occupied].condition
        told = await call_ok(client, "set_room_condition", {"room_ids": [occupied], "condition": "CONN",
                                                            "include_occupied": True})
        set_on = hotel.rooms[occupied].condition
        await call_ok(client, "set_room_condition", {"room_ids": [occupied], "clear": True})
    assert "either condition" in neither and "not neither" in neither and "not both" in both
    assert "card number" in card and "4111" not in card
    assert "setRoomCondition" not in asked  # refused before OPERA is asked
    assert "'NOPE' is not a room condition of SAND01" in unknown and "SHOW (Show room for a sales tour)" in unknown
    assert "occupied" in refused and "include_occupied=true" in refused and untouched is None
    assert told["condition"] == "CONN" and set_on is not None and set_on.code.code == "CONN"
    assert hotel.rooms[vacant].condition is None
