"""FrontOfficeAPI against the sandbox over real HTTP: room lists and filters, assignment refusals, check-in."""

from __future__ import annotations

from typing import Any

import pytest

from app.opera.errors import OperaBadRequestError, OperaNotFoundError
from app.opera.front_office import FrontOfficeAPI
from app.opera.http import OperaHTTP

HOTEL = "SAND01"


def due_in_without_room(hotel: Any) -> Any:
    return next(r for r in hotel.reservations.values() if hotel.computed_status(r) == "DueIn" and r.room_id is None)


def free_ready_room(hotel: Any, room_type: str) -> str:
    """A vacant Clean/Inspected room of the type that no reserved stay holds (so OPERA will accept it)."""
    held = {r.room_id for r in hotel.reservations.values() if r.status in ("Reserved", "InHouse") and r.room_id}
    return next(
        room.room_id
        for room in hotel.rooms.values()
        if room.room_type == room_type
        and room.room_status in ("Clean", "Inspected")
        and hotel.front_office_status(room.room_id) == "Vacant"
        and room.room_id not in held
    )


async def test_vacant_inspected_rooms_of_a_type_are_exactly_those_in_the_hotel(
    http: OperaHTTP, hotel: Any
) -> None:
    expected = sorted(
        room.room_id
        for room in hotel.rooms.values()
        if room.room_type == "KNG"
        and room.room_status == "Inspected"
        and hotel.front_office_status(room.room_id) == "Vacant"
    )
    page = await FrontOfficeAPI(http).rooms(
        HOTEL, room_statuses=["Inspected"], front_office_statuses=["Vacant"], room_types=["KNG"], limit=100
    )
    assert sorted(r.room_id for r in page.items) == expected
    assert expected, "the seed should hold vacant inspected KNG rooms"
    assert all(r.room_type == "KNG" and r.room_status == "Inspected" for r in page.items)
    assert all(r.front_office_status == "Vacant" and r.ready_for_guest for r in page.items)
    assert page.page.total == len(expected)


async def test_room_list_pages_do_not_overlap_and_say_where_the_next_starts(
    http: OperaHTTP, hotel: Any
) -> None:
    api = FrontOfficeAPI(http)
    first = await api.rooms(HOTEL, limit=5)
    second = await api.rooms(HOTEL, limit=5, offset=5)
    assert first.page.count == 5 and first.page.has_more and first.page.next_offset == 5
    assert first.page.total == len(hotel.rooms)
    assert not {r.room_id for r in first.items} & {r.room_id for r in second.items}


async def test_a_room_of_another_type_is_refused_with_ohips_reason(http: OperaHTTP, hotel: Any) -> None:
    reservation = due_in_without_room(hotel)
    other_type = next(t for t in hotel.room_types if t != reservation.room_type and not hotel.room_types[t].pseudo)
    wrong_room = free_ready_room(hotel, other_type)
    with pytest.raises(OperaBadRequestError) as caught:
        await FrontOfficeAPI(http).assign_room(HOTEL, reservation.reservation_id, wrong_room, lock_room=False)
    assert reservation.room_type in (caught.value.detail or "")
    assert hotel.reservations[reservation.reservation_id].room_id is None


async def test_an_unknown_room_is_not_found(http: OperaHTTP, hotel: Any) -> None:
    reservation = due_in_without_room(hotel)
    with pytest.raises(OperaNotFoundError):
        await FrontOfficeAPI(http).assign_room(HOTEL, reservation.reservation_id, "9999", lock_room=False)


async def test_assign_then_check_in_puts_the_guest_in_house_and_the_room_occupied(
    http: OperaHTTP, hotel: Any
) -> None:
    reservation = due_in_without_room(hotel)
    room = free_ready_room(hotel, reservation.room_type)
    api = FrontOfficeAPI(http)

    assigned = await api.assign_room(HOTEL, reservation.reservation_id, room, lock_room=False)
    assert assigned.room_id == room
    checked_in = await api.check_in(HOTEL, reservation.reservation_id, room)

    assert checked_in.room_id == room
    assert checked_in.status in (None, "InHouse", "DueOut")
    assert hotel.reservations[reservation.reservation_id].status == "InHouse"
    listed = await api.rooms(HOTEL, from_room=room, to_room=room, fresh=True)
    assert [r.room_id for r in listed.items] == [room]
    assert listed.items[0].front_office_status == "Occupied"


async def test_checking_in_a_future_reservation_is_refused(http: OperaHTTP, hotel: Any) -> None:
    future = next(r for r in hotel.reservations.values() if r.status == "Reserved" and r.arrival > hotel.business_date)
    room = free_ready_room(hotel, future.room_type)
    with pytest.raises(OperaBadRequestError) as caught:
        await FrontOfficeAPI(http).check_in(HOTEL, future.reservation_id, room)
    assert future.reservation_id in (caught.value.detail or "")
    assert hotel.reservations[future.reservation_id].status == "Reserved"
