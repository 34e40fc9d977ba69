"""OPERA housekeeping (hsk): the housekeeping board, room status updates, guest service requests (DND/MUR) and
room conditions.

Note Oracle's naming trap: hsk calls the clean/dirty value `housekeepingRoomStatus` (fof says `roomStatus`), and
`housekeepingStatus` is the housekeeper's view of occupancy (Vacant/Occupied).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, Field

from app.opera.front_office import RoomCondition, condition_from, page_info
from app.opera.http import OperaHTTP, Operation
from app.opera.models import OperaWarning, PageInfo, warnings_from
from app.opera.reservations import as_dict

GET_HOUSEKEEPING_OVERVIEW = Operation("hsk", "getHousekeepingOverview", "GET", "/hotels/{hotelId}/housekeepingOverview")
PUT_ROOM_RELATED_STATUS = Operation("hsk", "putRoomRelatedStatus", "PUT", "/hotels/{hotelId}/rooms/status")
SET_SERVICE_REQUEST = Operation("hsk", "setGuestHousekeepingServiceRequest", "PUT", "/hotels/{hotelId}/serviceRequests")
#: OutOfOrder/OutOfService have their own operations (reason, nights, return status); putRoomRelatedStatus only
#: sets the four housekeeping states.
POST_OUT_OF_ORDER = Operation("hsk", "postOutOfOrderRooms", "POST", "/hotels/{hotelId}/rooms/outOfOrderRooms")
POST_OUT_OF_SERVICE = Operation("hsk", "postOutOfServiceRooms", "POST", "/hotels/{hotelId}/rooms/outOfServiceRooms")
COMPLETE_OUT_OF_ORDER = Operation("hsk", "completeOutOfOrderRooms", "PUT", "/hotels/{hotelId}/rooms/outOfOrderRooms")
COMPLETE_OUT_OF_SERVICE = Operation(
    "hsk", "completeOutOfServiceRooms", "PUT", "/hotels/{hotelId}/rooms/outOfServiceRooms"
)

SET_ROOM_CONDITION = Operation("hsk", "setRoomCondition", "PUT", "/hotels/{hotelId}/conditions")
GET_OUT_OF_ORDER = Operation("hsk", "getOutOfOrderRooms", "GET", "/hotels/{hotelId}/rooms/outOfOrderRooms")
GET_OUT_OF_SERVICE = Operation("hsk", "getOutOfServiceRooms", "GET", "/hotels/{hotelId}/rooms/outOfServiceRooms")

#: What putRoomRelatedStatus sets, and what a room returns to after a repair.
HousekeepingState = Literal["Clean", "Dirty", "Pickup", "Inspected"]
#: The two ways a room leaves service: OutOfOrder leaves the inventory, OutOfService only the room plan.
OutOfServiceKind = Literal["OutOfOrder", "OutOfService"]

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
    condition: RoomCondition | None = Field(default=None, description="the condition the hotel set on the room")


class RoomOutOfService(BaseModel):
    """One period a room is out of order or out of service (hsk `roomOutOfOrderType`)."""

    room_id: str
    start: date | None = None
    end: date | None = None
    reason_code: str | None = None
    return_status: str | None = None


def _day(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


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
        condition=condition_from(housekeeping),
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
        room_status: HousekeepingState | None = None,
        housekeeping_status: str | None = None,
    ) -> list[OperaWarning]:
        """putRoomRelatedStatus: set the clean/dirty status and/or the housekeeper's occupancy of several rooms.

        OutOfOrder/OutOfService are not set here (Oracle lists Inspected, Clean, Pickup, Dirty): `take_out_of_service`.
        """
        body: dict[str, Any] = {"roomList": [{"roomId": r} for r in room_ids]}
        if room_status:
            body["housekeepingRoomStatus"] = room_status
        if housekeeping_status:
            body["housekeepingStatus"] = housekeeping_status
        response = await self._http.call(PUT_ROOM_RELATED_STATUS, hotel_id=hotel_id, json=body)
        return warnings_from(response.body)

    async def take_out_of_service(
        self,
        hotel_id: str,
        room_ids: Sequence[str],
        *,
        kind: OutOfServiceKind,
        start: date,
        end: date,
        reason_code: str,
        return_status: HousekeepingState,
        remarks: str | None = None,
    ) -> list[OperaWarning]:
        """postOutOfOrderRooms / postOutOfServiceRooms: the rooms leave service from `start` through `end` (both
        nights), for `reason_code` (the hotel's OOO/OOS reasons), and go back to `return_status` when completed."""
        details: dict[str, Any] = {
            "start": start.isoformat(),
            "end": end.isoformat(),
            "reasonCode": reason_code,
            "returnStatus": return_status,
        }
        if remarks:
            details["repairRemarks"] = remarks
        body = {"criteria": {"roomRangeList": {"roomIds": list(room_ids), "roomOutOfOrder": details}}}
        operation = POST_OUT_OF_ORDER if kind == "OutOfOrder" else POST_OUT_OF_SERVICE
        response = await self._http.call(operation, hotel_id=hotel_id, json=body)
        return warnings_from(response.body)

    async def out_of_service_rooms(
        self, hotel_id: str, kind: OutOfServiceKind, start: date, end: date
    ) -> list[RoomOutOfService]:
        """getOutOfOrderRooms / getOutOfServiceRooms: the periods touching `start`..`end` (204: none)."""
        operation = GET_OUT_OF_ORDER if kind == "OutOfOrder" else GET_OUT_OF_SERVICE
        params = {"startDate": start.isoformat(), "endDate": end.isoformat()}
        response = await self._http.call(operation, hotel_id=hotel_id, params=params)
        raw_rooms = as_dict(as_dict(response.body).get("housekeepingRooms")).get("room")
        periods: list[RoomOutOfService] = []
        for raw in raw_rooms if isinstance(raw_rooms, list) else []:
            if not isinstance(raw, dict):
                continue
            blocks = raw.get("outOfOrder")
            for block in blocks if isinstance(blocks, list) else []:
                block = as_dict(block)
                periods.append(
                    RoomOutOfService(
                        room_id=str(raw.get("roomId", "")), start=_day(block.get("start")), end=_day(block.get("end")),
                        reason_code=block.get("reasonCode"), return_status=block.get("returnStatus"),
                    )
                )
        return periods

    async def return_to_service(
        self,
        hotel_id: str,
        room_ids: Sequence[str],
        *,
        kind: OutOfServiceKind,
        return_status: HousekeepingState | None = None,
        per_room: Mapping[str, str] | None = None,
    ) -> list[OperaWarning]:
        """completeOutOfOrderRooms / completeOutOfServiceRooms: end the repair; each room takes `return_status`, else
        its own in `per_room` (Oracle: "Specify in the request what status the room(s) should be returned to")."""
        entries: list[dict[str, Any]] = []
        for room_id in room_ids:
            entry: dict[str, Any] = {"roomId": room_id}
            status = return_status or (per_room or {}).get(room_id)
            if status:
                entry["roomOutOfOrder"] = {"returnStatus": status}
            entries.append(entry)
        body = {"criteria": {"roomRepairByRoomNumber": entries}}
        operation = COMPLETE_OUT_OF_ORDER if kind == "OutOfOrder" else COMPLETE_OUT_OF_SERVICE
        response = await self._http.call(operation, hotel_id=hotel_id, json=body)
        return warnings_from(response.body)

    async def set_room_condition(
        self, hotel_id: str, room_ids: Sequence[str], code: str | None, *, remarks: str | None = None,
        include_occupied: bool = False,
    ) -> list[OperaWarning]:
        """setRoomCondition: "set, change, or delete a condition on rooms". With `code` the rooms take that
        condition (one per room: a new one replaces the old); without, no roomCondition is sent and the condition
        is deleted. The code's own configuration decides whether the rooms stay in OPERA's room assignment list,
        so no assignmentType is sent. `include_occupied`: "If set to true, condition is applied even if the room is
        occupied". A set state: repeating it changes nothing more."""
        criteria: dict[str, Any] = {"hotelId": hotel_id, "roomNumberList": list(room_ids),
                                    "includeOccupiedRooms": include_occupied}
        if code is not None:
            condition: dict[str, Any] = {"roomCondition": {"code": code}}
            if remarks:
                condition["remarks"] = remarks
            criteria["roomCondition"] = condition
        response = await self._http.call(SET_ROOM_CONDITION, hotel_id=hotel_id, json={"criteria": criteria})
        return warnings_from(response.body)

    async def set_service_request(self, hotel_id: str, room_ids: Sequence[str], request: str) -> list[OperaWarning]:
        """setGuestHousekeepingServiceRequest: DoNotDisturb, MakeUpRoom, ServiceDeclined or NoStatusSelected (clear)."""
        body = {"criteria": {"hotelId": hotel_id, "roomList": list(room_ids), "status": request}}
        response = await self._http.call(SET_SERVICE_REQUEST, hotel_id=hotel_id, json=body)
        return warnings_from(response.body)
