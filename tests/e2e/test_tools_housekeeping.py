"""Housekeeping tools through the MCP SDK client over HTTP, against our app with its embedded sandbox."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

from tests.support.mcp_client import call_error, call_ok, mcp_client
from tests.support.servers import ServerThread


async def test_overview_counts_rooms_by_status_and_walks_all_pages(server: ServerThread, hotel: Any) -> None:
    seen: list[float] = []

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        seen.append(done)

    async with mcp_client(server.url) as client:
        result = await client.call_tool("get_housekeeping_overview", {"all_pages": True},
                                        progress_callback=on_progress)
    assert not result.is_error, result.content
    board = result.structured_content
    assert board is not None
    expected = Counter(hotel.room_status(room) for room in hotel.rooms.values())
    assert {c["room_status"]: c["rooms"] for c in board["counts"]} == dict(expected)
    assert sorted(r["room_id"] for r in board["rooms"]) == sorted(hotel.rooms)
    assert board["page"]["has_more"] is False
    assert seen and seen[-1] == len(hotel.rooms)


async def test_overview_filters_and_refuses_a_bad_page_size(server: ServerThread, hotel: Any) -> None:
    occupied_dirty = {
        room.room_id for room in hotel.rooms.values()
        if hotel.room_status(room) == "Dirty" and hotel.front_office_status(room.room_id) == "Occupied"
    }
    async with mcp_client(server.url, mode="legacy") as client:
        board = await call_ok(client, "get_housekeeping_overview",
                              {"room_status": ["Dirty"], "front_office_status": "Occupied", "limit": 100})
        error = await call_error(client, "get_housekeeping_overview", {"limit": 0})
    assert {r["room_id"] for r in board["rooms"]} == occupied_dirty
    assert "limit" in error and "1-100" in error


async def test_rooms_cleaned_show_clean_and_repeating_the_update_is_harmless(server: ServerThread, hotel: Any) -> None:
    rooms = [room.room_id for room in hotel.rooms.values()
             if hotel.room_status(room) == "Dirty" and hotel.front_office_status(room.room_id) == "Vacant"][:3]
    async with mcp_client(server.url) as client:
        first = await call_ok(client, "update_room_status", {"room_ids": rooms, "room_status": "Clean"})
        again = await call_ok(client, "update_room_status", {"room_ids": rooms, "room_status": "Clean"})
        boards = [await call_ok(client, "get_housekeeping_overview", {"from_room": r, "to_room": r})
                  for r in rooms]
    assert first["room_ids"] == rooms and first["room_status"] == "Clean"
    assert again["room_ids"] == rooms
    assert all(hotel.rooms[r].room_status == "Clean" for r in rooms)
    assert [[(x["room_id"], x["room_status"]) for x in b["rooms"]] for b in boards] == [[(r, "Clean")] for r in rooms]


async def test_an_unknown_room_number_is_refused_and_nothing_changes(server: ServerThread, hotel: Any) -> None:
    real = next(iter(hotel.rooms))
    before = hotel.rooms[real].room_status
    target = "Pickup" if before != "Pickup" else "Dirty"
    async with mcp_client(server.url) as client:
        error = await call_error(client, "update_room_status", {"room_ids": [real, "9999"], "room_status": target})
    assert "9999" in error and "get_housekeeping_overview" in error
    assert hotel.rooms[real].room_status == before


async def test_an_occupied_room_cannot_go_out_of_order(server: ServerThread, hotel: Any) -> None:
    occupied = next(r.room_id for r in hotel.reservations.values() if r.status == "InHouse" and r.room_id)
    async with mcp_client(server.url) as client:
        today = hotel.business_date.isoformat()
        error = await call_error(client, "update_room_status", {
            "room_ids": [occupied], "room_status": "OutOfOrder", "reason_code": "MAINT", "from_date": today,
            "through_date": today,
        })
        no_reason = await call_error(client, "update_room_status",
                                     {"room_ids": [occupied], "room_status": "OutOfOrder"})
        nothing = await call_error(client, "update_room_status", {"room_ids": [occupied]})
    assert occupied in error and "OutOfOrder" in error
    assert hotel.room_status(hotel.rooms[occupied]) != "OutOfOrder"
    assert "reason_code, from_date, through_date" in no_reason
    assert "needs room_status" in nothing


async def test_a_room_goes_out_of_order_and_back_and_repeats_are_harmless(server: ServerThread, hotel: Any) -> None:
    room = next(r.room_id for r in hotel.rooms.values()
                if hotel.room_status(r) == "Clean" and hotel.front_office_status(r.room_id) == "Vacant"
                and hotel.arrival_for(r.room_id) is None
                and not any(x.room_id == r.room_id and x.status == "Reserved" for x in hotel.reservations.values()))
    today = hotel.business_date
    out = {"room_ids": [room], "room_status": "OutOfOrder", "reason_code": "plumb", "from_date": today.isoformat(),
           "through_date": (today + timedelta(days=2)).isoformat()}
    async with mcp_client(server.url) as client:
        first = await call_ok(client, "update_room_status", out)
        repeat = await call_ok(client, "update_room_status", out)
        found = await call_ok(client, "find_available_rooms", {"room_type": hotel.rooms[room].room_type, "limit": 100})
        back = await call_ok(client, "update_room_status",
                             {"room_ids": [room], "return_to_service": "OutOfOrder", "room_status": "Inspected"})
        back_again = await call_ok(client, "update_room_status",
                                   {"room_ids": [room], "return_to_service": "OutOfOrder"})
    assert first["reason_code"] == "PLUMB" and first["return_status"] == "Dirty"
    assert repeat["warnings"] and "already" in repeat["warnings"][0]["message"]
    assert room not in [r["room_id"] for r in found["rooms"]]
    assert back["room_status"] == "Inspected" and hotel.room_status(hotel.rooms[room]) == "Inspected"
    assert "nothing was changed" in back_again["warnings"][0]["message"]


async def test_a_room_back_in_service_takes_the_status_it_was_given_and_the_completion_names_it(
        server: ServerThread, hotel: Any) -> None:
    """Oracle's completeOutOfOrderRooms: "Specify in the request what status the room(s) should be returned to". A
    return without room_status sends the status the room was given when it went out of order (read from
    getOutOfOrderRooms), and says which; the old client sent none and answered room_status null."""
    room = next(r.room_id for r in sorted(hotel.rooms.values(), key=lambda r: r.room_id, reverse=True)
                if hotel.room_status(r) in ("Clean", "Dirty") and hotel.front_office_status(r.room_id) == "Vacant"
                and hotel.arrival_for(r.room_id) is None and not r.repairs
                and not any(x.room_id == r.room_id and x.status == "Reserved" for x in hotel.reservations.values()))
    today = hotel.business_date
    async with mcp_client(server.url) as client:
        await call_ok(client, "update_room_status", {
            "room_ids": [room], "room_status": "OutOfOrder", "reason_code": "MAINT", "from_date": today.isoformat(),
            "through_date": (today + timedelta(days=1)).isoformat(), "return_status": "Pickup"})
        back = await call_ok(client, "update_room_status", {"room_ids": [room], "return_to_service": "OutOfOrder"})
    assert back["room_status"] == back["return_status"] == "Pickup"
    assert hotel.room_status(hotel.rooms[room]) == "Pickup"
    [completion] = [e for e in server.app.state.sandbox.requests if e.operation_id == "completeOutOfOrderRooms"
                    and e.json["criteria"]["roomRepairByRoomNumber"][0]["roomId"] == room]
    assert completion.json["criteria"]["roomRepairByRoomNumber"] == [
        {"roomId": room, "roomOutOfOrder": {"returnStatus": "Pickup"}}]


async def test_do_not_disturb_is_set_shown_and_cleared(server: ServerThread, hotel: Any) -> None:
    rooms = [r.room_id for r in hotel.reservations.values() if r.status == "InHouse" and r.room_id][:2]
    async with mcp_client(server.url) as client:
        done = await call_ok(client, "set_service_request", {"room_ids": rooms, "request": "DoNotDisturb"})
        board = await call_ok(client, "get_housekeeping_overview",
                              {"service_request": "DoNotDisturb", "limit": 100})
        await call_ok(client, "set_service_request", {"room_ids": rooms, "request": "NoStatusSelected"})
        after = await call_ok(client, "get_housekeeping_overview", {"service_request": "DoNotDisturb", "limit": 100})
        error = await call_error(client, "set_service_request", {"room_ids": rooms, "request": "Breakfast"})
    assert done["service_request"] == "DoNotDisturb"
    assert set(rooms) <= {r["room_id"] for r in board["rooms"]}
    assert all(r["service_request"] == "DoNotDisturb" for r in board["rooms"])
    assert not set(rooms) & {r["room_id"] for r in after["rooms"]}
    assert "DoNotDisturb" in error and "MakeUpRoom" in error
