"""OPERA housekeeping (hsk): the housekeeping board, room status updates and guest service requests (DND/MUR).

Note Oracle's naming trap: hsk calls the clean/dirty value `housekeepingRoomStatus` (fof says `roomStatus`), and
`housekeepingStatus` is the housekeeper's view of occupancy (Vacant/Occupied).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, Field

from app.opera.front_office import page_info
from app.opera.http import OperaHTTP, Operation
from app.opera.models import OperaWarning, PageInfo, warnings_from
from app.opera.reservations import as_dict

GET_HOUSEKEEPING_OVERVIEW = Operation("hsk", "getHousekeepingOverview", "GET", "/hotels/{hotelId}/housekeepingOverview")
PUT_ROOM_RELATED_STATUS = Operation("hsk", "putRoomRelatedStatus", "PUT", "/hotels/{hotelId}/rooms/status")
SET_SERVICE_REQUEST = Operation("hsk", "setGuestHousekeepingServiceRequest", "PUT", "/hotels/{hotelId}/serviceRequests")

#: Oracle's `guestHousekeepingServiceRequestType`; NoStatusSelected clears a request.
ServiceRequest = Literal["DoNotDisturb", "MakeUpRoom", "NoStatusSelected", "ServiceDeclined"]


class HousekeepingRoom(BaseModel):
    """A room on the housekeeping board."""

    room_id: str = Field(description="room number")
    room_type: str | None = None
    room_class: str | None = None
    floor: str | None = None
    room_status: str | None = Field(
        default=None, description="Clean, Dirty, Pickup, Inspected, OutOfOrder or OutOfService"
    )
    front_office_status: str | None = Field(default=None, description="Vacant or Occupied per the front desk")
    housekeeping_status: str | None = Field(default=None, description="Vacant or Occupied per housekeeping")
    reservation_statuses: list[str] = Field(
        default_factory=list, description="Arrival, Arrived, DayUse, DueOut, Departed, NotReserved, StayOver"
    )
    service_request: str | None = Field(default=None, description="DoNotDisturb, MakeUpRoom, ...")
    guests: int | None = Field(default=None, description="persons in the room per the front desk")


class StatusCount(BaseModel):
    room_status: str
    rooms: int


class HousekeepingBoard(BaseModel):
    rooms: list[HousekeepingRoom]
    counts: list[StatusCount] = Field(
        default_factory=list, description="rooms per housekeeping status over the whole filtered board"
    )
    page: PageInfo
    warnings: list[OperaWarning] = Field(default_factory=list)


def _room(raw: dict[str, Any]) -> HousekeepingRoom:
    room_type = as_dict(raw.get("roomType"))
    housekeeping = as_dict(raw.get("housekeeping"))
    status = as_dict(housekeeping.get("housekeepingRoomStatus"))
    persons = as_dict(housekeeping.get("roomPersons")).get("frontOfficePersons")
    return HousekeepingRoom(
        room_id=str(raw.get("roomId", "")),
        room_type=room_type.get("roomType"),
        room_class=room_type.get("roomClass"),
        floor=raw.get("floor"),
        room_status=status.get("housekeepingRoomStatus"),
        front_office_status=status.get("frontOfficeStatus"),
        housekeeping_status=status.get("housekeepingStatus"),
        reservation_statuses=[str(s) for s in status.get("reservationStatusList") or []],
        service_request=housekeeping.get("guestServiceRequest"),
        guests=int(persons) if isinstance(persons, (int, float, str)) and str(persons).isdigit() else None,
    )


class HousekeepingAPI:
    """hsk: the board, status updates, DND/make-up-room requests."""

    def __init__(self, http: OperaHTTP) -> None:
        self._http = http

    async def overview(
        self,
        hotel_id: str,
        *,
        room_statuses: Sequence[str] = (),
        front_office_statuses: Sequence[str] = (),
        room_types: Sequence[str] = (),
        floors: Sequence[str] = (),
        from_room: str | None = None,
        to_room: str | None = None,
        service_request: str | None = None,
        limit: int = 20,
        offset: int = 0,
    ) -> HousekeepingBoard:
        """getHousekeepingOverview with its status counts (fetchInstructions=Summary)."""
        params: dict[str, Any] = {
            "housekeepingRoomStatus": list(room_statuses) or None,
            "frontOfficeRoomStatus": list(front_office_statuses) or None,
            "roomType": list(room_types) or None,
            "floor": list(floors) or None,
            "fromRoomNumber": from_room,
            "toRoomNumber": to_room,
            "guestServiceRequest": service_request,
            "fetchInstructions": ["Summary"],
            "limit": limit,
            "offset": offset,
        }
        # Room status moves all day (attendants, check-outs elsewhere): never serve the board from a cache.
        response = await self._http.call(GET_HOUSEKEEPING_OVERVIEW, hotel_id=hotel_id, params=params)
        body = response.body or {}
        info = as_dict(body.get("housekeepingRoomInfo"))
        raw_rooms = as_dict(info.get("housekeepingRooms")).get("room")
        rooms = [_room(r) for r in raw_rooms or [] if isinstance(r, dict)]
        counts = [
            StatusCount(room_status=str(c["housekeepingRoomStatus"]), rooms=int(c.get("numberOfRooms") or 0))
            for c in body.get("housekeepingRoomStatusInfoList") or []
            if isinstance(c, dict) and c.get("housekeepingRoomStatus")
        ]
        return HousekeepingBoard(
            rooms=rooms,
            counts=counts,
            page=page_info(body, info, offset, limit, len(rooms)),
            warnings=warnings_from(body),
        )

    async def update_room_status(
        self,
        hotel_id: str,
        room_ids: Sequence[str],
        *,
        room_status: str | None = None,
        housekeeping_status: str | None = None,
    ) -> list[OperaWarning]:
        """putRoomRelatedStatus: set the clean/dirty status and/or the housekeeper's occupancy of several rooms."""
        body: dict[str, Any] = {"roomList": [{"roomId": r} for r in room_ids]}
        if room_status:
            body["housekeepingRoomStatus"] = room_status
        if housekeeping_status:
            body["housekeepingStatus"] = housekeeping_status
        response = await self._http.call(PUT_ROOM_RELATED_STATUS, hotel_id=hotel_id, json=body)
        return warnings_from(response.body)

    async def set_service_request(self, hotel_id: str, room_ids: Sequence[str], request: str) -> list[OperaWarning]:
        """setGuestHousekeepingServiceRequest: DoNotDisturb, MakeUpRoom, ServiceDeclined or NoStatusSelected (clear)."""
        body = {"criteria": {"hotelId": hotel_id, "roomList": list(room_ids), "status": request}}
        response = await self._http.call(SET_SERVICE_REQUEST, hotel_id=hotel_id, json=body)
        return warnings_from(response.body)
