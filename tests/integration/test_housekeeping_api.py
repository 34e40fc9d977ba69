"""HousekeepingAPI against the sandbox over real HTTP: the board and its counts, status updates seen by the front
office, refusals, and guest service requests."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

import pytest

from app.opera.errors import OperaBadRequestError, OperaNotFoundError
from app.opera.front_office import FrontOfficeAPI
from app.opera.housekeeping import HousekeepingAPI
from app.opera.http import OperaHTTP

HOTEL = "SAND01"


async def test_board_counts_every_room_by_status(http: OperaHTTP, hotel: Any) -> None:
    board = await HousekeepingAPI(http).overview(HOTEL, limit=10)
    expected = Counter(hotel.room_status(room) for room in hotel.rooms.values())
    assert {c.room_status: c.rooms for c in board.counts} == {s: n for s, n in expected.items() if n}
    assert board.page.total == len(hotel.rooms)
    assert board.page.count == 10 and board.page.has_more and board.page.next_offset == 10


async def test_board_filters_by_status(http: OperaHTTP, hotel: Any) -> None:
    dirty = sorted(room.room_id for room in hotel.rooms.values() if hotel.room_status(room) == "Dirty")
    board = await HousekeepingAPI(http).overview(HOTEL, room_statuses=["Dirty"], limit=100)
    assert sorted(r.room_id for r in board.rooms) == dirty
    assert dirty and all(r.room_status == "Dirty" for r in board.rooms)


async def test_rooms_marked_clean_show_clean_on_the_board_and_at_the_front_desk(
    http: OperaHTTP, hotel: Any
) -> None:
    vacant_dirty = [
        room.room_id
        for room in hotel.rooms.values()
        if hotel.room_status(room) == "Dirty" and hotel.front_office_status(room.room_id) == "Vacant"
    ][:2]
    assert len(vacant_dirty) == 2
    api = HousekeepingAPI(http)
    await api.update_room_status(HOTEL, vacant_dirty, room_status="Clean")

    board = await api.overview(HOTEL, from_room=min(vacant_dirty), to_room=max(vacant_dirty), limit=100)
    on_board = {r.room_id: r.room_status for r in board.rooms if r.room_id in vacant_dirty}
    assert on_board == dict.fromkeys(vacant_dirty, "Clean")
    rooms = await FrontOfficeAPI(http).rooms(
        HOTEL, room_statuses=["Clean"], front_office_statuses=["Vacant"], limit=100, fresh=True
    )
    assert set(vacant_dirty) <= {r.room_id for r in rooms.items}


async def test_an_unknown_room_is_not_found_and_nothing_changes(http: OperaHTTP, hotel: Any) -> None:
    real = next(iter(hotel.rooms))
    before = hotel.rooms[real].room_status
    target = "Dirty" if before != "Dirty" else "Clean"
    with pytest.raises(OperaNotFoundError):
        await HousekeepingAPI(http).update_room_status(HOTEL, [real, "9999"], room_status=target)
    assert hotel.rooms[real].room_status == before


async def test_an_occupied_room_cannot_be_put_out_of_order(http: OperaHTTP, hotel: Any) -> None:
    occupied = next(r.room_id for r in hotel.reservations.values() if r.status == "InHouse" and r.room_id)
    today = hotel.business_date
    with pytest.raises(OperaBadRequestError) as caught:
        await HousekeepingAPI(http).take_out_of_service(
            HOTEL, [occupied], kind="OutOfOrder", start=today, end=today, reason_code="MAINT", return_status="Dirty"
        )
    assert occupied in (caught.value.detail or "")
    assert hotel.room_status(hotel.rooms[occupied]) != "OutOfOrder"


async def test_a_room_goes_out_of_order_for_its_nights_and_comes_back_inspected(http: OperaHTTP, hotel: Any) -> None:
    api = HousekeepingAPI(http)
    today = hotel.business_date
    free = await FrontOfficeAPI(http).rooms(HOTEL, room_statuses=["Clean"], front_office_statuses=["Vacant"], limit=100)
    room = next(r.room_id for r in free.items if r.reservation_statuses == ["NotReserved"])

    await api.take_out_of_service(
        HOTEL, [room], kind="OutOfOrder", start=today, end=today + timedelta(days=3), reason_code="ELEC",
        return_status="Dirty", remarks="socket sparks",
    )
    periods = await api.out_of_service_rooms(HOTEL, "OutOfOrder", today, today)
    board = await api.overview(HOTEL, from_room=room, to_room=room)
    await api.return_to_service(HOTEL, [room], kind="OutOfOrder", return_status="Inspected")
    after = await api.overview(HOTEL, from_room=room, to_room=room)

    assert [(p.start, p.end, p.reason_code) for p in periods if p.room_id == room] == [
        (today, today + timedelta(days=3), "ELEC")
    ]
    assert board.rooms[0].room_status == "OutOfOrder"
    assert after.rooms[0].room_status == "Inspected"


async def test_do_not_disturb_shows_on_the_board(http: OperaHTTP, hotel: Any) -> None:
    rooms = [r.room_id for r in hotel.reservations.values() if r.status == "InHouse" and r.room_id][:2]
    api = HousekeepingAPI(http)
    await api.set_service_request(HOTEL, rooms, "DoNotDisturb")
    board = await api.overview(HOTEL, service_request="DoNotDisturb", limit=100)
    assert set(rooms) <= {r.room_id for r in board.rooms}
    assert all(r.service_request == "DoNotDisturb" for r in board.rooms)

    await api.set_service_request(HOTEL, rooms, "NoStatusSelected")
    board = await api.overview(HOTEL, service_request="DoNotDisturb", limit=100)
    assert not set(rooms) & {r.room_id for r in board.rooms}
