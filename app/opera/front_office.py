"""OPERA front office (fof): the hotel's rooms and their status, room assignment and check-in.

Speaks OHIP only: builds fof request bodies exactly as Oracle's schemas name them and parses replies into our models.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, Field

from app.opera.http import OperaHTTP, OperaResponse, Operation
from app.opera.models import OperaWarning, PageInfo, as_moment, warnings_from
from app.opera.reservations import as_date, as_dict, status_of

GET_HOTEL_ROOMS = Operation("fof", "getHotelRooms", "GET", "/hotels/{hotelId}/rooms")
POST_ROOM_ASSIGNMENT = Operation(
    "fof", "postRoomAssignment", "POST", "/hotels/{hotelId}/reservations/{reservationId}/roomAssignments"
)
POST_CHECK_IN = Operation("fof", "postCheckIn", "POST", "/hotels/{hotelId}/reservations/{reservationId}/checkIns")
DELETE_CHECK_IN = Operation(
    "fof", "deleteCheckin", "DELETE", "/hotels/{hotelId}/reservations/{reservationId}/checkIns"
)
WAKE_UP_CALLS_PATH = "/hotels/{hotelId}/reservations/{reservationId}/wakeUpCalls"
POST_WAKE_UP_CALL = Operation("fof", "postWakeUpCall", "POST", WAKE_UP_CALLS_PATH)
GET_WAKE_UP_CALL = Operation("fof", "getWakeUpCall", "GET", WAKE_UP_CALLS_PATH)
DELETE_WAKE_UP_CALL = Operation("fof", "deleteWakeUpCall", "DELETE", WAKE_UP_CALLS_PATH)
PUT_ROOM_MOVE = Operation(
    "fof", "moveInHouseGuest", "PUT", "/hotels/{hotelId}/reservations/{reservationId}/rooms/{roomId}/roomMoves"
)
GET_ROOM_MOVE_HISTORY = Operation(
    "fof", "getRoomMoveHistory", "GET", "/hotels/{hotelId}/reservations/{reservationId}/roomMoveHistory"
)

#: Oracle's enums (fof `housekeepingRoomStatusType`, `frontOfficeRoomStatusType`), so callers can be refused
#: before any OHIP call.
RoomStatus = Literal["Clean", "Dirty", "Pickup", "Inspected", "OutOfOrder", "OutOfService"]
FrontOfficeStatus = Literal["Vacant", "Occupied"]


class RoomCondition(BaseModel):
    """A condition the hotel set on a room (hsk setRoomCondition): a show room, a photo shoot, a minibar removed.
    It never stops the desk from selling the room; one that is not `available` is left out of the rooms offered."""

    code: str = Field(description="the hotel's room condition code, e.g. SHOW")
    description: str | None = None
    available: bool = Field(
        description="false: OPERA keeps the room out of the available room search (assignment type NotAvailable)"
    )
    remarks: str | None = Field(default=None, description="the desk's remarks on the condition")


def condition_from(housekeeping: dict[str, Any]) -> RoomCondition | None:
    """hsk `roomConditionType` (`housekeeping.roomCondition`), in getHotelRooms and the housekeeping board."""
    raw = as_dict(housekeeping.get("roomCondition"))
    code = as_dict(raw.get("roomCondition")).get("code")
    if not code:
        return None
    remarks = raw.get("remarks")
    return RoomCondition(
        code=str(code), description=as_dict(raw.get("roomCondition")).get("description"),
        available=raw.get("assignmentType") != "NotAvailable", remarks=str(remarks) if remarks else None,
    )


class Room(BaseModel):
    """One room as the front desk sees it: what it is and whether a guest can go in."""

    room_id: str = Field(description="room number")
    room_type: str | None = Field(default=None, description="room type code, e.g. KNG")
    room_class: str | None = None
    description: str | None = None
    floor: str | None = None
    room_status: str | None = Field(
        default=None, description="housekeeping condition: Clean, Dirty, Pickup, Inspected, OutOfOrder, OutOfService"
    )
    front_office_status: str | None = Field(default=None, description="Vacant or Occupied, as the front desk sees it")
    housekeeping_status: str | None = Field(default=None, description="Vacant or Occupied, as housekeeping saw it")
    reservation_statuses: list[str] = Field(
        default_factory=list, description="Arrival, Arrived, DayUse, DueOut, Departed, NotReserved, StayOver"
    )
    service_request: str | None = Field(default=None, description="DoNotDisturb, MakeUpRoom, ...")
    features: list[str] = Field(default_factory=list, description="room feature codes, e.g. NS (non smoking)")
    next_stay_date: date | None = Field(
        default=None, description="the next day another stay is assigned to the room, or it goes out of order"
    )
    condition: RoomCondition | None = Field(default=None, description="the condition the hotel set on the room")

    @property
    def ready_for_guest(self) -> bool:
        return self.front_office_status == "Vacant" and self.room_status in READY_STATUSES


#: getHotelRooms answers for at most 180 days (Oracle's operation description); nextStayDate covers the rest.
MAX_ROOM_WINDOW = timedelta(days=180)
#: Housekeeping statuses a guest can be put in a room with; out of order/service rooms are never assignable.
READY_STATUSES = ("Clean", "Inspected")
OUT_OF_SERVICE = ("OutOfOrder", "OutOfService")


@dataclass(frozen=True)
class Stay:
    """The stay a room is sought for: its nights, its room type, and the business date (a stay arriving today needs
    a room that is vacant and ready now). `reservation_id` and `own_room` name the stay itself, whose own
    assignment never counts against it."""

    arrival: date
    departure: date
    today: date
    room_type: str | None = None
    reservation_id: str | None = None
    own_room: str | None = None

    @property
    def last_day(self) -> date:
        """The day after the stay's last night; a day use (arrival == departure) holds its one day."""
        return max(self.departure, self.arrival + timedelta(days=1))

    @property
    def arriving_today(self) -> bool:
        return self.arrival <= self.today


def unassignable_because(
    room: Room, stay: Stay, *, statuses: Sequence[str] = READY_STATUSES, vacant_only: bool = True
) -> str | None:
    """Why `room` cannot be assigned to `stay`, or None when it can: the one rule find_available_rooms, assign_room
    and the check-in picker share, and OPERA's (postRoomAssignment refuses another room type, a room out of order or
    service, one held by another stay on the same nights, and on the arrival day one that is occupied or not Clean
    or Inspected; getHotelRooms' date window and nextStayDate say which rooms are held)."""
    if stay.room_type and room.room_type and room.room_type != stay.room_type:
        return f"it is a {room.room_type} room and the stay booked {stay.room_type}"
    if room.room_status in OUT_OF_SERVICE:
        return f"it is {room.room_status}"
    if room.room_id == stay.own_room:
        return None
    if stay.arriving_today:
        if vacant_only and room.front_office_status not in (None, "Vacant"):
            return f"it is {room.front_office_status}"
        if room.room_status not in statuses:
            return f"it is {room.room_status}, not {' or '.join(statuses)}"
        if "Arrival" in room.reservation_statuses:
            return "it is assigned to another guest arriving today"
    if room.next_stay_date is not None and room.next_stay_date < stay.last_day:
        return (f"it is assigned to another stay, or out of order, from {room.next_stay_date.isoformat()}, "
                f"before this stay ends on {stay.last_day.isoformat()}")
    return None


class RoomPage(BaseModel):
    items: list[Room]
    page: PageInfo
    warnings: list[OperaWarning] = Field(default_factory=list)


class RoomAssignment(BaseModel):
    reservation_id: str
    room_id: str
    warnings: list[OperaWarning] = Field(default_factory=list)


class CheckIn(BaseModel):
    """What OHIP answered to a check-in: the room and the reservation's new status, when it says."""

    reservation_id: str
    room_id: str
    status: str | None = Field(default=None, description="reservation status after check-in, e.g. InHouse")
    warnings: list[OperaWarning] = Field(default_factory=list)


class RoomMove(BaseModel):
    """One move of an in-house guest from room to room (fof `roomMoveDetailType`)."""

    from_room: str | None = Field(default=None, description="the room the guest left")
    to_room: str | None = Field(default=None, description="the room the guest moved to")
    moved_on: date | None = Field(default=None, description="the business date of the move")
    reason_code: str | None = Field(default=None, description="the hotel's room move reason code")
    description: str | None = Field(default=None, description="why the guest moved, in the desk's words")
    moved_by: str | None = Field(default=None, description="the OPERA user who moved the guest")


class WakeUpCall(BaseModel):
    """One wake-up call of a stay (fof `wakeUpCallType`), at the hotel's local time."""

    call_time: datetime = Field(description="when the phone rings, the hotel's local time")
    status: str | None = Field(default=None, description="Pending, Completed, NoAnswer or Cancelled")
    room_id: str | None = None
    instructions: str | None = None


def wake_up_text(moment: datetime) -> str:
    """A callTime as Oracle's samples write it: the hotel's local time, "2022-07-14 07:00:00"."""
    return moment.replace(tzinfo=None, microsecond=0).isoformat(sep=" ")


def _wake_up_call(raw: dict[str, Any]) -> WakeUpCall | None:
    parsed = as_moment(raw.get("callTime"))
    if parsed is None:
        return None
    moment = parsed.replace(tzinfo=None)
    info = as_dict(raw.get("reservationInfo"))
    room, status, instructions = info.get("room"), raw.get("status"), raw.get("instructions")
    return WakeUpCall(call_time=moment, status=str(status) if status else None, room_id=str(room) if room else None,
                      instructions=str(instructions) if instructions else None)


def page_info(
    body: dict[str, Any] | None, holder: dict[str, Any] | None, offset: int, limit: int, count: int
) -> PageInfo:
    """OHIP paging fields (hasMore, totalResults, ...) wherever the module puts them, as our PageInfo."""
    src = holder if isinstance(holder, dict) else (body or {})
    has_more = bool(src.get("hasMore", False))
    total = src.get("totalResults")
    return PageInfo(
        offset=int(src.get("offset", offset) or offset),
        limit=int(src.get("limit", limit) or limit),
        count=count,
        total=int(total) if isinstance(total, (int, float)) else None,
        has_more=has_more,
        next_offset=(offset + count) if has_more else None,
    )


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _room(raw: dict[str, Any]) -> Room:
    room_type = as_dict(raw.get("roomType"))
    housekeeping = as_dict(raw.get("housekeeping"))
    status = as_dict(housekeeping.get("roomStatus"))
    description = raw.get("roomDescription") or room_type.get("shortDescription")
    description = description or as_dict(raw.get("description")).get("defaultText")
    features = _list(raw.get("roomFeatures"))
    return Room(
        room_id=str(raw.get("roomId", "")),
        room_type=room_type.get("roomType"),
        room_class=room_type.get("roomClass"),
        description=description,
        floor=raw.get("floor"),
        room_status=status.get("roomStatus"),
        front_office_status=status.get("frontOfficeStatus"),
        housekeeping_status=status.get("housekeepingStatus"),
        reservation_statuses=[str(s) for s in _list(status.get("reservationStatusList"))],
        service_request=housekeeping.get("guestServiceRequest"),
        features=[str(f["code"]) for f in features if isinstance(f, dict) and f.get("code")],
        next_stay_date=as_date(as_dict(raw.get("roomOccupancyInfo")).get("nextStayDate")),
        condition=condition_from(housekeeping),
    )


def rooms_from(response: OperaResponse, offset: int, limit: int) -> RoomPage:
    body = response.body or {}
    raw_rooms = _list(as_dict(body.get("hotelRoomsDetails")).get("room"))
    items = [_room(r) for r in raw_rooms if isinstance(r, dict)]
    return RoomPage(items=items, page=page_info(body, None, offset, limit, len(items)), warnings=warnings_from(body))


class FrontOfficeAPI:
    """fof: rooms, room assignment, check-in."""

    def __init__(self, http: OperaHTTP) -> None:
        self._http = http

    async def rooms(
        self,
        hotel_id: str,
        *,
        room_statuses: Sequence[str] = (),
        front_office_statuses: Sequence[str] = (),
        room_types: Sequence[str] = (),
        floor: str | None = None,
        from_room: str | None = None,
        to_room: str | None = None,
        stay: Stay | None = None,
        window: bool = True,
        limit: int = 20,
        offset: int = 0,
        fresh: bool = False,
    ) -> RoomPage:
        """getHotelRooms. `fresh` skips the response cache: use it when about to put a guest in a room. With a
        `stay`, OPERA is asked for the rooms free on its nights (hotelRoomStartDate/EndDate and reservationId, unless
        `window` is false: then every room comes back, to say why one is not free) and for each room's next stay."""
        params: dict[str, Any] = {
            "hotelRoomStatus": list(room_statuses) or None,
            # The v1 spec's name. WORKFLOWS.md and Postman say hotelRoomFrontOfficeStatus, which fof v1 does not
            # declare (Oracle's samples with it call /fof/v0); callers re-check Vacant on every row in case either
            # name is ignored.
            "hotelFORoomStatus": list(front_office_statuses) or None,
            "roomType": list(room_types) or None,
            "floor": floor,
            "fromRoomNumber": from_room,
            "toRoomNumber": to_room,
            # OPERA leaves out a room whose condition takes it out of assignment unless all are asked for; callers
            # read each room's condition and decide, so a named room is never "not found" for its condition.
            "includeAllRoomConditions": True,
            "limit": limit,
            "offset": offset,
        }
        if stay is not None:
            params["includeNextStayInfo"] = True
            params["reservationId"] = stay.reservation_id
            if window:
                params["hotelRoomStartDate"] = stay.arrival.isoformat()
                params["hotelRoomEndDate"] = min(stay.last_day, stay.arrival + MAX_ROOM_WINDOW).isoformat()
        response = await self._http.call(
            GET_HOTEL_ROOMS, hotel_id=hotel_id, params=params, cache="none" if fresh else "rooms"
        )
        return rooms_from(response, offset, limit)

    async def room(self, hotel_id: str, room_id: str, *, stay: Stay | None = None) -> Room | None:
        """One room by number, read fresh (about to decide on it), or None when OPERA does not list it. With a
        `stay`, its next stay and whether it is free on the stay's nights come with it (every room is listed: no
        date window)."""
        rows = await self.rooms(hotel_id, from_room=room_id, to_room=room_id, stay=stay, window=False, limit=5,
                                fresh=True)
        return next((r for r in rows.items if r.room_id == room_id), None)

    async def assign_room(
        self, hotel_id: str, reservation_id: str, room_id: str, *, lock_room: bool
    ) -> RoomAssignment:
        """postRoomAssignment. OPERA refuses a room of another type than booked, or one that is not free.

        `roomNumberLocked` is not a request option but the stay's Do Not Move flag, which the call sets ("Update the
        do not move flag used to locking the reservation room number"): the caller passes the flag the stay is to
        keep, never a blind false that would lift a lock the desk set."""
        body = {
            "criteria": {
                "hotelId": hotel_id,
                "reservationIdList": [{"id": reservation_id, "type": "Reservation"}],
                "roomId": room_id,
                "roomNumberLocked": lock_room,
                "updateRoomTypeCharged": False,
            }
        }
        response = await self._http.call(
            POST_ROOM_ASSIGNMENT, hotel_id=hotel_id, path_params={"reservationId": reservation_id}, json=body
        )
        return RoomAssignment(reservation_id=reservation_id, room_id=room_id, warnings=warnings_from(response.body))

    async def check_in(self, hotel_id: str, reservation_id: str, room_id: str) -> CheckIn:
        """postCheckIn of a Due-In reservation into `room_id` (already assigned, or assigned by this call)."""
        body = {
            "reservation": {
                "roomId": room_id,
                "ignoreWarnings": True,
                "stopCheckin": False,
                "printRegistration": False,
            },
            "fetchReservationInstruction": ["ReservationDetail"],
            "includeNotifications": True,
        }
        response = await self._http.call(
            POST_CHECK_IN, hotel_id=hotel_id, path_params={"reservationId": reservation_id}, json=body
        )
        returned = as_dict(response.body).get("reservation")
        status = None
        if isinstance(returned, list) and returned and isinstance(returned[0], dict):
            status = status_of(returned[0])
        return CheckIn(
            reservation_id=reservation_id, room_id=room_id, status=status, warnings=warnings_from(response.body)
        )

    async def undo_check_in(
        self, hotel_id: str, reservation_id: str, *, unassign_room: bool, room_status: str | None
    ) -> list[OperaWarning]:
        """deleteCheckin: "revert a reservation that has been checked in ... to a Due in/Arrival status". OPERA
        allows it for a check-in made today with nothing posted. `room_status` is what the room becomes; with
        `unassign_room` the stay gives the room up. Never repeated blindly: a repeat of one that was made is refused
        (the guest is no longer in house), so a lost answer is settled by reading the reservation."""
        params: dict[str, Any] = {"unassignRoom": unassign_room}
        if room_status:
            params["roomStatus"] = room_status
        response = await self._http.call(
            DELETE_CHECK_IN, hotel_id=hotel_id, path_params={"reservationId": reservation_id}, params=params,
            idempotent=False,
        )
        return warnings_from(response.body)

    async def move_room(
        self, hotel_id: str, reservation_id: str, *, from_room: str, to_room: str, lock_room: bool,
        old_room_status: str, reason_code: str | None, description: str | None,
    ) -> list[OperaWarning]:
        """moveInHouseGuest: a checked-in guest changes rooms (the folio stays with the reservation).

        Oracle's workflow "Perform a Room Move" puts the target room in the path and the original room in the body
        (`criteria.roomId`). `oldRoomStatus` is what the room left becomes; `roomNumberLocked` is the stay's Do Not
        Move flag, passed as the stay has it. Never repeated blindly: after a lost answer the caller reads which
        room the reservation holds."""
        criteria: dict[str, Any] = {
            "hotelId": hotel_id,
            "reservationIdList": [{"id": reservation_id, "type": "Reservation"}],
            "roomId": from_room,
            "updateRoomTypeCharged": False,
            "roomNumberLocked": lock_room,
            "oldRoomStatus": old_room_status,
        }
        if reason_code:
            criteria["reasonCode"] = reason_code
        if description:
            criteria["description"] = description
        response = await self._http.call(
            PUT_ROOM_MOVE, hotel_id=hotel_id, path_params={"reservationId": reservation_id, "roomId": to_room},
            json={"criteria": criteria}, idempotent=False,
        )
        return warnings_from(response.body)

    async def room_moves(self, hotel_id: str, reservation_id: str) -> list[RoomMove]:
        """getRoomMoveHistory: the reservation's room moves, oldest first; [] on 204 (none)."""
        response = await self._http.call(
            GET_ROOM_MOVE_HISTORY, hotel_id=hotel_id, path_params={"reservationId": reservation_id}, cache="none"
        )
        if response.status == 204:
            return []
        moves: list[RoomMove] = []
        for raw in _list(as_dict(response.body).get("roomMoveHistoryDetails")):
            entry = as_dict(raw)
            moves.append(RoomMove(
                from_room=entry.get("fromRoom"), to_room=entry.get("toRoom"),
                moved_on=as_date(entry.get("date")), reason_code=entry.get("reasonCode"),
                description=entry.get("description"), moved_by=entry.get("movedBy"),
            ))
        return moves

    async def wake_up_calls(self, hotel_id: str, reservation_id: str, *, cancelled: bool = False) -> list[WakeUpCall]:
        """getWakeUpCall: the stay's pending calls (and cancelled ones when asked), by time; [] on 204."""
        params = {"fetchPending": True, "fetchCancelled": cancelled, "fetchCompleted": False, "fetchNoAnswer": False}
        response = await self._http.call(
            GET_WAKE_UP_CALL, hotel_id=hotel_id, path_params={"reservationId": reservation_id}, params=params,
            cache="none",
        )
        if response.status == 204:
            return []
        calls = [c for raw in _list(as_dict(response.body).get("calls")) if (c := _wake_up_call(as_dict(raw)))]
        return sorted(calls, key=lambda c: c.call_time)

    async def set_wake_up_call(
        self, hotel_id: str, reservation_id: str, *, room_id: str, call_time: datetime, last_day: date,
        instructions: str | None,
    ) -> list[OperaWarning]:
        """postWakeUpCall as Oracle's workflow "Schedule a Wake Up Call" sends it: one call at `call_time`, daily
        through `last_day` (timeSpan). A POST: never repeated blindly; the caller reads the calls after a lost
        answer, since OPERA is not documented to refuse a second call at the same time."""
        call: dict[str, Any] = {
            "reservationInfo": {
                "reservationIdList": [{"id": reservation_id, "type": "Reservation"}],
                "hotelId": hotel_id,
                "room": room_id,
            },
            "callTime": wake_up_text(call_time),
            "isFollowUpCall": False,
            "status": "Pending",
            "timeSpan": {"startDate": call_time.date().isoformat(), "endDate": last_day.isoformat()},
        }
        if instructions:
            call["instructions"] = instructions
        response = await self._http.call(
            POST_WAKE_UP_CALL, hotel_id=hotel_id, path_params={"reservationId": reservation_id},
            json={"calls": [call]},
        )
        return warnings_from(response.body)

    async def cancel_wake_up_call(self, hotel_id: str, reservation_id: str, call_time: datetime) -> list[OperaWarning]:
        """deleteWakeUpCall with callTime and startDate, as Oracle's workflow sends it ("this will set the wake up
        call to cancelled"). Never repeated blindly: a lost answer is settled by reading the calls."""
        response = await self._http.call(
            DELETE_WAKE_UP_CALL, hotel_id=hotel_id, path_params={"reservationId": reservation_id},
            params={"callTime": [wake_up_text(call_time)], "startDate": call_time.date().isoformat()},
            idempotent=False,
        )
        return warnings_from(response.body)
