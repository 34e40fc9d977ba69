"""Sandbox routes for the OHIP hsk module: the housekeeping board, room status updates and guest service
requests (Do Not Disturb, Make Up Room). The same rooms show in fof under other key names."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from app.sandbox.routes.common import (
    as_enum,
    as_list,
    as_object,
    as_text,
    bad_input,
    hotel_of,
    ohip_json,
    page_params,
    paged,
    query_value,
    query_values,
    read_json,
)
from app.sandbox.routes.fof import (
    FRONT_OFFICE_STATUSES,
    HSK_KEYS,
    RoomDay,
    RoomFilter,
    enum_values,
    room_row,
)
from app.sandbox.state import ROOM_STATUSES, SERVICE_REQUESTS, TURNDOWN_STATUSES, Hotel, Room

if TYPE_CHECKING:
    from app.sandbox.app import Sandbox

BASE = "/hsk/v1"
RESERVATION_STATUSES = ("Arrival", "Arrived", "DayUse", "DueOut", "Departed", "NotReserved", "StayOver")
#: Keeps one call from touching the whole hotel by accident; OPERA's screens work floor by floor.
MAX_ROOMS_PER_UPDATE = 200


def housekeeping_row(hotel: Hotel, room: Room, day: RoomDay) -> dict[str, Any]:
    """A board row: the fof room under hsk's key names, plus the turndown the housekeepers plan by."""
    row = room_row(hotel, room, day, HSK_KEYS)
    row["turndownInfo"] = {"turndownStatusInfo": room.turndown}
    return row


def _room_ids(entries: Any, path: str) -> list[str]:
    """Room numbers from `roomList`: objects with roomId (putRoomRelatedStatus) or bare strings (service requests)."""
    room_ids: list[str] = []
    for entry in as_list(entries):
        value = entry.get("roomId") if isinstance(entry, dict) else entry
        room_id = as_text(value, f"{path}.roomId", max_length=20)
        if room_id is None:
            raise bad_input(f"Every entry of {path} needs a roomId", path)
        if room_id not in room_ids:
            room_ids.append(room_id)
    if not room_ids:
        raise bad_input(f"{path} is empty: name at least one room", path)
    if len(room_ids) > MAX_ROOMS_PER_UPDATE:
        raise bad_input(f"{path} may name at most {MAX_ROOMS_PER_UPDATE} rooms per call", path)
    return room_ids


def routes(sandbox: Sandbox) -> list[BaseRoute]:
    # Handlers read `sandbox.enterprise` on every call: a reset replaces the whole world.

    async def get_housekeeping_overview(request: Request) -> Response:
        hotel = hotel_of(sandbox, request)
        limit, offset = page_params(request)
        service_request = as_enum(query_value(request, "guestServiceRequest"), SERVICE_REQUESTS, "guestServiceRequest")
        turndown = enum_values(request, TURNDOWN_STATUSES, "turndownStatus")
        reservation_statuses = set(enum_values(request, RESERVATION_STATUSES, "reservationStatus"))
        room_text = (query_value(request, "roomIdText") or "").strip()

        def also(room: Room, day: RoomDay) -> bool:
            return (
                (service_request is None or room.service_request == service_request)
                and (not turndown or room.turndown in turndown)
                and (not reservation_statuses or bool(reservation_statuses & set(day.reservation_statuses)))
                and room_text in room.room_id
            )

        selection = RoomFilter(
            room_statuses=enum_values(request, ROOM_STATUSES, "housekeepingRoomStatus"),
            front_office_statuses=enum_values(request, FRONT_OFFICE_STATUSES, "frontOfficeRoomStatus"),
            room_types=query_values(request, "roomType"),
            room_classes=query_values(request, "roomClass"),
            floors=query_values(request, "floor"),
            from_room=query_value(request, "fromRoomNumber"),
            to_room=query_value(request, "toRoomNumber"),
            also=also,
        ).rooms(hotel)
        page, paging = paged(selection, limit, offset)
        # The counts cover every room the filters select, not just this page: the board's summary line.
        counts = Counter(room.room_status for room, _ in selection)
        return ohip_json(
            {
                "housekeepingRoomInfo": {
                    "housekeepingRooms": {
                        "room": [housekeeping_row(hotel, room, day) for room, day in page],
                        "hotelId": hotel.code,
                    },
                    **paging,
                },
                "housekeepingRoomStatusInfoList": [
                    {"housekeepingRoomStatus": status, "numberOfRooms": counts[status]} for status in ROOM_STATUSES
                ],
            }
        )

    async def put_room_related_status(request: Request) -> Response:
        hotel = hotel_of(sandbox, request)
        body = await read_json(request)
        room_ids = _room_ids(body.get("roomList"), "roomList")
        room_status = as_enum(body.get("housekeepingRoomStatus"), ROOM_STATUSES, "housekeepingRoomStatus")
        turndown = as_enum(body.get("turndownStatus"), TURNDOWN_STATUSES, "turndownStatus")
        # housekeepingStatus is the housekeeper's occupancy report; the sandbox has no discrepancies to record.
        as_enum(body.get("housekeepingStatus"), FRONT_OFFICE_STATUSES, "housekeepingStatus")
        if room_status is None and turndown is None:
            raise bad_input(
                "Nothing to change: send housekeepingRoomStatus (Clean, Dirty, Pickup, Inspected, OutOfOrder, "
                "OutOfService) and/or turndownStatus",
                "housekeepingRoomStatus",
            )
        sandbox.enterprise.update_room_status(hotel.code, room_ids, room_status, turndown=turndown)
        return ohip_json({})

    async def set_service_request(request: Request) -> Response:
        hotel = hotel_of(sandbox, request)
        criteria = as_object((await read_json(request)).get("criteria"), "criteria")
        body_hotel = as_text(criteria.get("hotelId"), "criteria.hotelId", max_length=20)
        if body_hotel is not None and body_hotel != hotel.code:
            raise bad_input(f"criteria.hotelId {body_hotel} differs from hotel {hotel.code} in the path", "hotelId")
        room_ids = _room_ids(criteria.get("roomList"), "criteria.roomList")
        status = as_enum(criteria.get("status"), SERVICE_REQUESTS, "criteria.status")
        if status is None:
            raise bad_input(f"criteria.status is required: one of {', '.join(SERVICE_REQUESTS)}", "criteria.status")
        sandbox.enterprise.set_service_request(hotel.code, room_ids, status)
        return ohip_json({})

    hotel = f"{BASE}/hotels/{{hotelId}}"
    return [
        Route(
            f"{hotel}/housekeepingOverview",
            get_housekeeping_overview,
            methods=["GET"],
            name="getHousekeepingOverview",
        ),
        Route(f"{hotel}/rooms/status", put_room_related_status, methods=["PUT"], name="putRoomRelatedStatus"),
        Route(
            f"{hotel}/serviceRequests",
            set_service_request,
            methods=["PUT"],
            name="setGuestHousekeepingServiceRequest",
        ),
    ]
