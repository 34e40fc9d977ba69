"""Sandbox routes for the OHIP fof module: the room list with its status, room assignment and check-in.

The room filters and the occupancy view of a room live here too, because hsk shows the same rooms under
other key names (`roomStatus` here, `housekeepingRoomStatus` there).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from app.sandbox.routes.common import (
    as_bool,
    as_date,
    as_enum,
    as_list,
    as_object,
    as_text,
    bad_input,
    created,
    find_id,
    hotel_of,
    mask_card_numbers,
    ohip_json,
    page_params,
    paged,
    query_value,
    query_values,
    read_json,
)
from app.sandbox.routes.rsv import reservation_body, reservation_path, search_row
from app.sandbox.state import (
    READY_STATUSES,
    ROOM_STATUSES,
    WAKE_UP_STATUSES,
    GuestServiceRequest,
    Hotel,
    ReservationChange,
    Room,
    RoomRepair,
    SandboxError,
    WakeUpCall,
    amount_text,
)

if TYPE_CHECKING:
    from app.sandbox.app import Sandbox

BASE = "/fof/v1"
FRONT_OFFICE_STATUSES = ("Vacant", "Occupied")
#: getHotelRooms serves at most a 180-day window (Oracle's operation description).
MAX_ROOM_DATE_SPAN = 180
#: The stages of a guest service request (fof serviceRequestStatusType also lists DoNotDisturb and MakeUpRoom, the
#: room's housekeeping service status that hsk setGuestHousekeepingServiceRequest sets: no request is in them).
REQUEST_STAGES = ("Open", "PendingFollowUp", "Closed")
SERVICE_REQUEST_STATUSES = (*REQUEST_STAGES, "DoNotDisturb", "MakeUpRoom")


def service_request_body(hotel: Hotel, request: GuestServiceRequest) -> dict[str, Any]:
    """One fof serviceRequest as OPERA lists it."""
    body: dict[str, Any] = {
        "serviceRequestId": {"type": "ServiceRequestID", "id": request.request_id},
        "hotelId": hotel.code,
        "code": request.code,
        "status": request.status,
        "department": {"code": request.department, "description": hotel.departments[request.department].description
                       if request.department in hotel.departments else request.department},
        "openDate": request.opened.isoformat(),
    }
    optional = {
        "priority": request.priority, "guestName": request.guest_name, "room": request.room,
        "comment": request.comment, "action": request.action, "guestContactMethod": request.guest_contact_method,
        "closedBy": request.closed_by, "closeDescription": request.close_description,
        "completionDate": request.completed.isoformat() if request.completed else None,
        "closedDate": request.closed.isoformat() if request.closed else None,
    }
    body.update({k: v for k, v in optional.items() if v is not None})
    if request.reservation_id:
        body["reservationIdList"] = [{"type": "Reservation", "id": request.reservation_id}]
    if request.profile_id:
        body["profileId"] = {"type": "Profile", "idContext": "OPERA", "id": request.profile_id}
    return body


# -------------------------------------------------------------------------------------------- the room's day


@dataclass(frozen=True)
class RoomDay:
    """What the front desk knows about a room today: occupancy, who is in it and who is coming."""

    front_office_status: str  # Vacant | Occupied
    reservation_statuses: list[str]  # hsk/fof `reservationStatusList`
    persons: int  # guests in the room now


def held_for(hotel: Hotel, room: Room, start: date, end: date, *, excluding: str | None = None) -> bool:
    """Another stay holds the room on a night of [start, end) (a day use, start == end, holds its one day): a
    reservation assigned to it, or the guest in it. This is what getHotelRooms' date window leaves out (Oracle's
    workflow "Get a list of hotel rooms available by date range": hotelRoomStartDate/EndDate, optionally the
    reservationId the rooms are for, whose own room stays in)."""
    last = max(end, start + timedelta(days=1))
    return any(
        r.room_id == room.room_id and r.reservation_id != excluding and r.status in ("Reserved", "InHouse")
        and r.arrival < last and start < max(r.departure, r.arrival + timedelta(days=1))
        for r in hotel.reservations.values()
    )


def next_stay(hotel: Hotel, room: Room, *, excluding: str | None = None) -> date | None:
    """fof `roomOccupancyInfo.nextStayDate`: the next arrival assigned to the room, or the next day it is out of
    order or service, from the business date on (includeNextStayInfo=true)."""
    today = hotel.business_date
    days = [
        r.arrival for r in hotel.reservations.values()
        if r.room_id == room.room_id and r.status == "Reserved" and r.arrival >= today and r.reservation_id != excluding
    ]
    days += [max(repair.start, today) for repair in room.repairs if repair.end >= today]
    return min(days, default=None)


def room_day(hotel: Hotel, room: Room) -> RoomDay:
    today = hotel.business_date
    statuses: list[str] = []
    occupant = hotel.occupant(room.room_id)
    if occupant is not None:
        if occupant.departure <= today:
            statuses.append("DueOut")
        elif occupant.arrival == today:
            statuses.append("Arrived")
        else:
            statuses.append("StayOver")
    if hotel.arrival_for(room.room_id) is not None:
        statuses.append("Arrival")
    departed = any(
        r.room_id == room.room_id and r.status == "CheckedOut" and r.departure == today
        for r in hotel.reservations.values()
    )
    if departed:
        statuses.append("Departed")
    return RoomDay(
        front_office_status="Occupied" if occupant is not None else "Vacant",
        reservation_statuses=statuses or ["NotReserved"],
        persons=occupant.adults + occupant.children if occupant is not None else 0,
    )


def room_features(hotel: Hotel, room: Room) -> list[dict[str, str]]:
    return [
        {"code": code, "description": hotel.room_features[code].description if code in hotel.room_features else code}
        for code in room.features
    ]


def _room_number_key(room_id: str) -> tuple[int, int, str]:
    # Room numbers compare as numbers when they are numbers ("99" < "101"), else as text.
    return (0, int(room_id), "") if room_id.isdigit() else (1, 0, room_id)


@dataclass
class RoomFilter:
    """The room filters getHotelRooms and getHousekeepingOverview share (each under its own parameter names)."""

    room_statuses: list[str]
    front_office_statuses: list[str]
    room_types: list[str]
    room_classes: list[str]
    floors: list[str]
    from_room: str | None
    to_room: str | None
    also: Callable[[Room, RoomDay], bool] | None = None

    def rooms(self, hotel: Hotel) -> list[tuple[Room, RoomDay]]:
        low = _room_number_key(self.from_room) if self.from_room else None
        high = _room_number_key(self.to_room) if self.to_room else None
        room_types = {t.upper() for t in self.room_types}
        room_classes = {c.upper() for c in self.room_classes}
        selected: list[tuple[Room, RoomDay]] = []
        for room in sorted(hotel.rooms.values(), key=lambda r: _room_number_key(r.room_id)):
            key = _room_number_key(room.room_id)
            if (low and key < low) or (high and key > high):
                continue
            if self.room_statuses and hotel.room_status(room) not in self.room_statuses:
                continue
            if room_types and room.room_type.upper() not in room_types:
                continue
            room_type = hotel.room_types.get(room.room_type)
            if room_classes and (room_type is None or room_type.room_class.upper() not in room_classes):
                continue
            if self.floors and room.floor not in self.floors:
                continue
            day = room_day(hotel, room)
            if self.front_office_statuses and day.front_office_status not in self.front_office_statuses:
                continue
            if self.also is not None and not self.also(room, day):
                continue
            selected.append((room, day))
        return selected


def enum_values(request: Request, allowed: tuple[str, ...], *names: str) -> list[str]:
    """Every value of a repeated enum query parameter, in Oracle's spelling; 400 naming the parameter if unknown."""
    return [str(as_enum(value, allowed, names[0])) for value in query_values(request, *names)]


# ------------------------------------------------------------------------------------------------- rendering


@dataclass(frozen=True)
class RoomKeys:
    """One room, two spellings: fof and hsk name the same fields differently (CONTRACT 7.7)."""

    pseudo: str
    suite: str
    status: str  # the clean/dirty status, and the object holding it


FOF_KEYS = RoomKeys(pseudo="pseudo", suite="suite", status="roomStatus")
HSK_KEYS = RoomKeys(pseudo="pseudoRoom", suite="isSuiteRoom", status="housekeepingRoomStatus")


def room_row(hotel: Hotel, room: Room, day: RoomDay, keys: RoomKeys = FOF_KEYS) -> dict[str, Any]:
    """One `roomType` row of getHotelRooms (fof keys) or of the housekeeping board (hsk keys)."""
    room_type = hotel.room_types.get(room.room_type)
    type_info: dict[str, Any] = {"roomType": room.room_type, keys.pseudo: bool(room_type and room_type.pseudo)}
    if room_type is not None:
        type_info.update(
            {
                "roomClass": room_type.room_class,
                "shortDescription": room_type.description,
                keys.suite: room_type.room_class == "SUI",
                "maximumOccupancy": room_type.max_occupancy,
            }
        )
    row: dict[str, Any] = {
        "roomId": room.room_id,
        "roomType": type_info,
        "floor": room.floor,
        "roomFeatures": room_features(hotel, room),
        "housekeeping": {
            keys.status: {
                keys.status: hotel.room_status(room),
                "frontOfficeStatus": day.front_office_status,
                "housekeepingStatus": day.front_office_status,
                "reservationStatusList": day.reservation_statuses,
            },
            "guestServiceRequest": room.service_request,
            "roomPersons": {"frontOfficePersons": day.persons, "houseKeepingPersons": day.persons},
        },
    }
    if room.condition is not None:
        condition: dict[str, Any] = {
            "roomCondition": {"code": room.condition.code.code, "description": room.condition.code.description},
            "assignmentType": room.condition.code.assignment_type,
        }
        if room.condition.remarks:
            condition["remarks"] = room.condition.remarks
        row["housekeeping"]["roomCondition"] = condition
    repair = room.repair_on(hotel.business_date)
    if repair is not None:
        row["outOfOrder"] = [out_of_order_block(repair, keys)]
    return row


def out_of_order_block(repair: RoomRepair, keys: RoomKeys = FOF_KEYS) -> dict[str, Any]:
    """A repair as Oracle's `roomOutOfOrderType`: the status shown, the reason, the nights and the status after.

    fof and hsk spell it differently again: `reasonDesc` in fof, `reasonDescription` and a repair id in hsk.
    """
    block: dict[str, Any] = {
        keys.status: repair.kind,
        "returnStatus": repair.return_status,
        "reasonCode": repair.reason_code,
        "start": repair.start.isoformat(),
        "end": repair.end.isoformat(),
    }
    if keys is HSK_KEYS:
        block["roomRepairId"] = {"id": repair.repair_id, "type": "RoomRepair"}
    if repair.reason_description:
        block["reasonDesc" if keys is FOF_KEYS else "reasonDescription"] = repair.reason_description
    if repair.remarks:
        block["repairRemarks"] = repair.remarks
    return block


def warning(text: str, code: str) -> dict[str, str]:
    return {"value": text, "shortText": text[:2000], "code": code, "type": "Warning"}


# ---------------------------------------------------------------------------------------------------- routes


def check_body_target(criteria: dict[str, Any], hotel: Hotel, reservation_id: str, where: str) -> None:
    """A body naming another hotel or reservation than the path is a client bug, not something to guess about.

    The reservation comes as `reservationIdList` (fof, check-out) or as one `reservationId` object (csh criteria).
    """
    body_hotel = as_text(criteria.get("hotelId"), f"{where}.hotelId", max_length=20)
    if body_hotel is not None and body_hotel != hotel.code:
        raise bad_input(f"{where}.hotelId {body_hotel} differs from hotel {hotel.code} in the path", f"{where}.hotelId")
    reference = criteria.get("reservationId")
    if isinstance(reference, dict):
        body_reservation = as_text(reference.get("id"), f"{where}.reservationId.id", max_length=80)
    else:
        body_reservation = find_id(criteria.get("reservationIdList"), "Reservation")
    if body_reservation is not None and body_reservation != reservation_id:
        raise bad_input(
            f"The body names reservation {body_reservation}, the path {reservation_id}",
            f"{where}.reservationId",
        )


def routes(sandbox: Sandbox) -> list[BaseRoute]:
    # Handlers read `sandbox.enterprise` on every call: a reset replaces the whole world.

    async def get_hotel_rooms(request: Request) -> Response:
        hotel = hotel_of(sandbox, request)
        limit, offset = page_params(request)
        start = as_date(query_value(request, "hotelRoomStartDate"), "hotelRoomStartDate")
        end = as_date(query_value(request, "hotelRoomEndDate"), "hotelRoomEndDate")
        if start and end:
            if end < start:
                raise bad_input("hotelRoomEndDate is before hotelRoomStartDate", "hotelRoomEndDate")
            if (end - start).days > MAX_ROOM_DATE_SPAN:
                raise bad_input(
                    f"The date range may span at most {MAX_ROOM_DATE_SPAN} days; got {(end - start).days}",
                    "hotelRoomEndDate",
                )
        wildcard = (query_value(request, "roomNumberWildcard") or "").replace("*", "").replace("%", "")
        for_reservation = as_text(query_value(request, "reservationId"), "reservationId", max_length=80)
        next_stay_info = bool(as_bool(query_value(request, "includeNextStayInfo"), "includeNextStayInfo"))
        checks: list[Callable[[Room, RoomDay], bool]] = []
        if not as_bool(query_value(request, "includeAllRoomConditions"), "includeAllRoomConditions"):
            # "when set to false then room with 'General Assignment' condition type will be excluded": a room whose
            # condition takes it out of room assignment (Not Available) is left out unless all are asked for.
            checks.append(lambda room, day: room.condition is None or room.condition.code.available)
        if wildcard:
            checks.append(lambda room, day: room.room_id.startswith(wildcard))
        if start is not None:
            window_end = end or start + timedelta(days=1)
            checks.append(
                lambda room, day: not held_for(hotel, room, start, window_end, excluding=for_reservation)
            )
        selection = RoomFilter(
            room_statuses=enum_values(request, ROOM_STATUSES, "hotelRoomStatus"),
            # Oracle's WORKFLOWS and Postman say hotelRoomFrontOfficeStatus; the spec says hotelFORoomStatus.
            front_office_statuses=enum_values(
                request, FRONT_OFFICE_STATUSES, "hotelFORoomStatus", "hotelRoomFrontOfficeStatus"
            ),
            room_types=query_values(request, "roomType"),
            room_classes=query_values(request, "roomClass"),
            floors=query_values(request, "floor"),
            from_room=query_value(request, "fromRoomNumber"),
            to_room=query_value(request, "toRoomNumber"),
            also=(lambda room, day: all(check(room, day) for check in checks)) if checks else None,
        ).rooms(hotel)
        page, paging = paged(selection, limit, offset)
        rooms = [room_row(hotel, room, day) for room, day in page]
        if next_stay_info:
            for row, (room, _) in zip(rooms, page, strict=True):
                upcoming = next_stay(hotel, room, excluding=for_reservation)
                if upcoming is not None:
                    row["roomOccupancyInfo"] = {
                        "nextStayDate": upcoming.isoformat(),
                        "nightsToNextStay": (upcoming - hotel.business_date).days,
                    }
        return ohip_json({"hotelRoomsDetails": {"room": rooms, "hotelId": hotel.code}, **paging})

    async def post_room_assignment(request: Request) -> Response:
        hotel = hotel_of(sandbox, request)
        reservation_id = str(request.path_params["reservationId"])
        criteria = as_object((await read_json(request)).get("criteria"), "criteria")
        check_body_target(criteria, hotel, reservation_id, "criteria")
        room_id = as_text(criteria.get("roomId"), "criteria.roomId", max_length=20)
        if room_id is None:
            raise bad_input("criteria.roomId is required: the room to assign", "criteria.roomId")
        overrides = as_object(criteria.get("overrideInstructions"), "criteria.overrideInstructions")
        allow_dirty = bool(as_bool(overrides.get("dirtyRoom"), "criteria.overrideInstructions.dirtyRoom"))
        charge_new_type = bool(as_bool(criteria.get("updateRoomTypeCharged"), "criteria.updateRoomTypeCharged"))
        # roomNumberLocked "updates the do not move flag" (absent: unchanged); the override lets a locked stay move
        lock = as_bool(criteria.get("roomNumberLocked"), "criteria.roomNumberLocked")
        override_lock = bool(
            as_bool(overrides.get("roomNumberLocked"), "criteria.overrideInstructions.roomNumberLocked")
        )

        def assign() -> None:
            enterprise.assign_room(
                hotel.code, reservation_id, room_id, allow_dirty=allow_dirty, lock=lock, override_lock=override_lock
            )

        enterprise = sandbox.enterprise
        reservation = hotel.reservation(reservation_id)
        room = hotel.room(room_id)
        warnings: list[dict[str, str]] = []
        if room.room_type != reservation.room_type and charge_new_type and reservation.status == "Reserved":
            booked = (reservation.room_type, reservation.rate_plan, reservation.rate_amount,
                      reservation.weekend_rate_amount, reservation.room_id, reservation.room_locked)
            if override_lock:
                reservation.room_locked = False  # overridden: the stay may leave its locked room
            try:
                enterprise.modify_reservation(hotel.code, reservation_id, ReservationChange(room_type=room.room_type))
                assign()
            except SandboxError:
                # the room type change only made sense together with this room
                (reservation.room_type, reservation.rate_plan, reservation.rate_amount,
                 reservation.weekend_rate_amount, reservation.room_id, reservation.room_locked) = booked
                raise
            warnings.append(
                warning(
                    f"Room type changed from {booked[0]} to {room.room_type}; the nightly rate is now "
                    f"{amount_text(reservation.rate_on(reservation.arrival), reservation.currency)}",
                    "ROOMTYPE_CHARGED",
                )
            )
        else:
            try:
                assign()
            except SandboxError as exc:
                if exc.error_code == "OHIPSIM-FOF-ROOMTYPE":
                    exc.detail += (
                        f"; assign a {reservation.room_type} room, or send updateRoomTypeCharged=true to charge "
                        f"room type {room.room_type}"
                    )
                raise
        body: dict[str, Any] = {"warnings": warnings} if warnings else {}
        return created(request, reservation_path(hotel.code, reservation_id), body)

    async def delete_assign_room(request: Request) -> Response:
        hotel = hotel_of(sandbox, request)
        reservation_id = str(request.path_params["reservationId"])
        criteria = await read_json(request)
        override = bool(as_bool(criteria.get("overrideRoomNumberLocked"), "overrideRoomNumberLocked"))
        sandbox.enterprise.unassign_room(hotel.code, reservation_id, override_lock=override)
        return ohip_json({})

    async def post_check_in(request: Request) -> Response:
        hotel = hotel_of(sandbox, request)
        reservation_id = str(request.path_params["reservationId"])
        body = await read_json(request)
        details = as_object(body.get("reservation"), "reservation")
        room_id = as_text(details.get("roomId"), "reservation.roomId", max_length=20)
        ignore_warnings = as_bool(details.get("ignoreWarnings"), "reservation.ignoreWarnings") is True
        enterprise = sandbox.enterprise
        assigned_before = hotel.reservation(reservation_id).room_id
        reservation = enterprise.check_in(hotel.code, reservation_id, room_id, ignore_warnings=ignore_warnings)
        warnings: list[dict[str, str]] = []
        if room_id and room_id != assigned_before:
            warnings.append(warning(f"Room {room_id} was assigned at check-in", "ROOM_ASSIGNED"))
        room = hotel.room(str(reservation.room_id))
        if hotel.room_status(room) not in READY_STATUSES:
            warnings.append(warning(f"Room {room.room_id} is {hotel.room_status(room)}; the guest was checked in "
                                    "as ignoreWarnings asked", "ROOM_NOT_READY"))
        if not reservation.payment_method:
            warnings.append(
                warning("No payment method on the reservation; collect one before check-out", "NO_PAYMENT_METHOD")
            )
        answer: dict[str, Any] = {"reservation": [reservation_body(enterprise, hotel, reservation)]}
        if warnings:
            answer["warnings"] = warnings
        return created(request, reservation_path(hotel.code, reservation_id), answer)

    async def delete_check_in(request: Request) -> Response:
        hotel = hotel_of(sandbox, request)
        reservation_id = str(request.path_params["reservationId"])
        room_status = as_enum(query_value(request, "roomStatus"), ROOM_STATUSES, "roomStatus")
        unassign = bool(as_bool(query_value(request, "unassignRoom"), "unassignRoom"))
        room_id = hotel.reservation(reservation_id).room_id
        sandbox.enterprise.undo_check_in(hotel.code, reservation_id, unassign_room=unassign)
        if room_status is not None and room_id is not None:
            sandbox.enterprise.update_room_status(hotel.code, [room_id], room_status)
        return ohip_json({})

    async def move_in_house_guest(request: Request) -> Response:
        hotel = hotel_of(sandbox, request)
        reservation_id = str(request.path_params["reservationId"])
        target = str(request.path_params["roomId"])  # "The target room is in the path" (WF Perform a Room Move)
        criteria = as_object((await read_json(request)).get("criteria"), "criteria")
        check_body_target(criteria, hotel, reservation_id, "criteria")
        # "...and the original room is in the body"; the spec's own text calls criteria.roomId the room "which the
        # reservation will hold", so either reading is taken, and anything else refused.
        from_room = as_text(criteria.get("roomId"), "criteria.roomId", max_length=20)
        overrides = as_object(criteria.get("overrideInstructions"), "criteria.overrideInstructions")
        if as_bool(criteria.get("updateRoomTypeCharged"), "criteria.updateRoomTypeCharged"):
            room = hotel.room(target)
            if room.room_type != hotel.reservation(reservation_id).room_type:
                raise bad_input(
                    "updateRoomTypeCharged with a room of another type is not emulated by this sandbox: a move keeps "
                    "the room type booked", "criteria.updateRoomTypeCharged",
                )
        old_status = as_enum(criteria.get("oldRoomStatus"), ROOM_STATUSES, "criteria.oldRoomStatus")
        reason_code = as_text(criteria.get("reasonCode"), "criteria.reasonCode", max_length=20)
        description = as_text(criteria.get("description"), "criteria.description", max_length=2000)
        sandbox.enterprise.move_room(
            hotel.code, reservation_id, target, from_room=from_room, old_room_status=old_status,
            reason_code=reason_code, description=description,
            lock=as_bool(criteria.get("roomNumberLocked"), "criteria.roomNumberLocked"),
            override_lock=bool(as_bool(overrides.get("roomNumberLocked"),
                                       "criteria.overrideInstructions.roomNumberLocked")),
            allow_dirty=bool(as_bool(overrides.get("dirtyRoom"), "criteria.overrideInstructions.dirtyRoom")),
            moved_by=sandbox.config.username,
        )
        return ohip_json({}, headers={"Location": reservation_path(hotel.code, reservation_id)})

    async def get_room_move_history(request: Request) -> Response:
        hotel = hotel_of(sandbox, request)
        reservation = hotel.reservation(str(request.path_params["reservationId"]))
        if not reservation.room_moves:  # getRoomMoveHistory: 204 "RoomMoveHistory not found."
            return Response(status_code=204)
        details = []
        for move in reservation.room_moves:
            entry: dict[str, Any] = {
                "hotelId": hotel.code,
                "reservationId": {"id": reservation.reservation_id, "type": "Reservation"},
                "date": f"{move.moved_on.isoformat()}T00:00:00",
                "fromRoom": move.from_room,
                "toRoom": move.to_room,
                "movedBy": move.moved_by,
            }
            if move.reason_code:
                entry["reasonCode"] = move.reason_code
            if move.description:
                entry["description"] = move.description
            details.append(entry)
        return ohip_json({"roomMoveHistoryDetails": details})

    def local_moment(value: Any, path: str) -> datetime | None:
        """A date and time in the hotel's local time, as Oracle's samples write it ("2022-07-14 07:00:00",
        "2021-03-15 23:50:00.0") or in ISO form; an offset, when sent, is dropped."""
        text = as_text(value, path, max_length=40)
        if text is None:
            return None
        try:
            return datetime.fromisoformat(text.replace("Z", "+00:00")).replace(tzinfo=None)
        except ValueError:
            raise bad_input(f"{path} {text!r} is not a date and time such as 2026-05-02 07:00:00", path) from None

    def wake_up_time(value: Any, path: str) -> datetime:
        """A wake-up callTime: the call rings at the hotel's clock time."""
        moment = local_moment(value, path)
        if moment is None:
            raise bad_input(f"{path} is required: the wake up date and time", path)
        return moment

    def call_body(hotel: Hotel, reservation_id: str, call: WakeUpCall) -> dict[str, Any]:
        body: dict[str, Any] = {
            "reservationInfo": {
                "reservationIdList": [{"id": reservation_id, "type": "Reservation"}],
                "hotelId": hotel.code,
                "room": call.room_id,
            },
            "callTime": call.call_time.isoformat(),
            "isFollowUpCall": False,
            "status": call.status,
        }
        if call.instructions:
            body["instructions"] = call.instructions
        if call.created is not None:
            body["createDateTime"] = call.created.isoformat()
        return body

    async def post_wake_up_call(request: Request) -> Response:
        hotel = hotel_of(sandbox, request)
        reservation_id = str(request.path_params["reservationId"])
        calls = (await read_json(request)).get("calls")
        if not isinstance(calls, list) or not calls:
            raise bad_input("calls is required: the wake up calls to set", "calls")
        hotel.reservation(reservation_id)
        for index, raw in enumerate(calls):
            call = as_object(raw, f"calls[{index}]")
            info = as_object(call.get("reservationInfo"), f"calls[{index}].reservationInfo")
            check_body_target(info, hotel, reservation_id, f"calls[{index}].reservationInfo")
            span = as_object(call.get("timeSpan"), f"calls[{index}].timeSpan")
            sandbox.enterprise.set_wake_up_call(
                hotel.code, reservation_id, wake_up_time(call.get("callTime"), f"calls[{index}].callTime"),
                start=as_date(span.get("startDate"), f"calls[{index}].timeSpan.startDate"),
                end=as_date(span.get("endDate"), f"calls[{index}].timeSpan.endDate"),
                room_id=as_text(info.get("room"), f"calls[{index}].reservationInfo.room", max_length=20),
                instructions=as_text(call.get("instructions"), f"calls[{index}].instructions"),
            )
        return created(request, f"{BASE}/hotels/{hotel.code}/reservations/{reservation_id}/wakeUpCalls", {})

    async def get_wake_up_call(request: Request) -> Response:
        hotel = hotel_of(sandbox, request)
        reservation_id = str(request.path_params["reservationId"])
        reservation = hotel.reservation(reservation_id)
        flags = {status: as_bool(query_value(request, f"fetch{status}"), f"fetch{status}")
                 for status in WAKE_UP_STATUSES}
        # no fetch flag: every call; any flag: the statuses asked for
        wanted = {s for s, on in flags.items() if on} if any(v is not None for v in flags.values()) \
            else set(WAKE_UP_STATUSES)
        begin = as_date(query_value(request, "beginDate"), "beginDate")
        end = as_date(query_value(request, "endDate"), "endDate")
        calls = [c for c in reservation.wake_up_calls if c.status in wanted
                 and (begin is None or c.call_time.date() >= begin) and (end is None or c.call_time.date() <= end)]
        if not calls:  # getWakeUpCall: 204 when there is none
            return Response(status_code=204)
        calls.sort(key=lambda c: (c.call_time, c.call_id))
        return ohip_json({"calls": [call_body(hotel, reservation_id, c) for c in calls]})

    async def delete_wake_up_call(request: Request) -> Response:
        hotel = hotel_of(sandbox, request)
        reservation_id = str(request.path_params["reservationId"])
        times = query_values(request, "callTime")
        if not times:
            raise bad_input("callTime is required: the time of the wake up call to cancel", "callTime")
        for value in times:
            sandbox.enterprise.cancel_wake_up_call(hotel.code, reservation_id, wake_up_time(value, "callTime"))
        return ohip_json({})

    async def get_reservations_in_queue(request: Request) -> Response:
        hotel = hotel_of(sandbox, request)
        queued = sandbox.enterprise.queued(hotel.code)
        if not queued:
            return Response(status_code=204)
        rows = [search_row(sandbox.enterprise, hotel, r) for r in queued]
        return ohip_json({"reservations": {"reservationInfo": rows, "totalResults": len(rows), "count": len(rows),
                                           "hasMore": False}})

    async def add_reservation_to_queue(request: Request) -> Response:
        hotel = hotel_of(sandbox, request)
        reservation_id = str(request.path_params["reservationId"])
        raw = await request.body()
        if raw.strip():
            check_body_target(await read_json(request), hotel, reservation_id, "body")
        priority, queue_date = sandbox.enterprise.queue_for_room(hotel.code, reservation_id)
        now = sandbox.enterprise.now(hotel)
        waits = [(now - hotel.room_queue[r.reservation_id]).total_seconds()
                 for r in sandbox.enterprise.queued(hotel.code)]
        average = int(sum(waits) / len(waits)) if waits else 0
        return ohip_json({"queueInfo": {"priority": priority, "queueDate": queue_date.isoformat(),
                                        "averageQueueTimeCurrentReservations": average}})

    async def delete_reservation_from_queue(request: Request) -> Response:
        hotel = hotel_of(sandbox, request)
        sandbox.enterprise.remove_from_queue(hotel.code, str(request.path_params["reservationId"]))
        return ohip_json({})

    def request_details(body: dict[str, Any], hotel: Hotel) -> list[tuple[str, dict[str, Any]]]:
        details = as_list(body.get("serviceRequestsDetails"))
        if not details:
            raise bad_input("serviceRequestsDetails must hold at least one service request", "serviceRequestsDetails")
        named: list[tuple[str, dict[str, Any]]] = []
        for index, raw in enumerate(details):
            path = f"serviceRequestsDetails[{index}]"
            detail = as_object(raw, path)
            other = as_text(detail.get("hotelId"), f"{path}.hotelId", max_length=20)
            if other is not None and other.upper() != hotel.code.upper():
                raise bad_input(f"{path}.hotelId {other} differs from {hotel.code} in the path", f"{path}.hotelId")
            named.append((path, detail))
        return named

    def request_text(detail: dict[str, Any], key: str, path: str, max_length: int) -> str | None:
        return mask_card_numbers(as_text(detail.get(key), f"{path}.{key}", max_length=max_length))

    def request_codes(detail: dict[str, Any], path: str) -> dict[str, str | None]:
        """What the request is (its code), who does it (the department's code) and how soon (its priority)."""
        return {
            "code": as_text(detail.get("code"), f"{path}.code", max_length=20),
            "department": as_text(as_object(detail.get("department"), f"{path}.department").get("code"),
                                  f"{path}.department.code", max_length=20),
            "priority": as_text(detail.get("priority"), f"{path}.priority", max_length=20),
        }

    def request_status(detail: dict[str, Any], path: str) -> str | None:
        status = as_enum(detail.get("status"), SERVICE_REQUEST_STATUSES, f"{path}.status")
        if status is not None and status not in REQUEST_STAGES:
            raise bad_input(f"{path}.status {status} is a room's housekeeping service status (hsk "
                            "setGuestHousekeepingServiceRequest), not a stage of a request: Open, PendingFollowUp or "
                            "Closed", f"{path}.status")
        return status

    async def post_service_requests(request: Request) -> Response:
        # fof postServiceRequests, in the body of Oracle's workflow "Create a Service Request for a Guest".
        hotel = hotel_of(sandbox, request)
        made: list[GuestServiceRequest] = []
        for path, detail in request_details(await read_json(request), hotel):
            status = request_status(detail, path)
            if status not in (None, "Open"):
                raise bad_input(f"{path}.status: a service request is created Open, not {status}", f"{path}.status")
            reservations = [as_text(as_object(r, f"{path}.reservationIdList").get("id"),
                                    f"{path}.reservationIdList.id", max_length=80)
                            for r in as_list(detail.get("reservationIdList"))]
            made.append(sandbox.enterprise.open_service_request(
                hotel.code,
                **request_codes(detail, path),
                reservation_id=next((r for r in reservations if r), None),
                profile_id=as_text(as_object(detail.get("profileId"), f"{path}.profileId").get("id"),
                                   f"{path}.profileId.id", max_length=80),
                room=as_text(detail.get("room"), f"{path}.room", max_length=20),
                guest_name=request_text(detail, "guestName", path, 200),
                comment=request_text(detail, "comment", path, 2000),
                guest_contact_method=request_text(detail, "guestContactMethod", path, 100),
                opened=local_moment(detail.get("openDate"), f"{path}.openDate"),
                path=path,
            ))
        # OPERA's 201 carries only a status; the Location names the hotel's requests (there is no GET of one).
        return created(request, f"{BASE}/hotels/{hotel.code}/serviceRequests", {})

    async def put_service_requests(request: Request) -> Response:
        hotel = hotel_of(sandbox, request)
        for path, detail in request_details(await read_json(request), hotel):
            number = as_text(as_object(detail.get("serviceRequestId"), f"{path}.serviceRequestId").get("id"),
                             f"{path}.serviceRequestId.id", max_length=80)
            if number is None:
                raise bad_input(f"{path}.serviceRequestId.id is required: the request to change",
                                f"{path}.serviceRequestId.id")
            sandbox.enterprise.change_service_request(
                hotel.code, number,
                status=request_status(detail, path) or "Open",
                **request_codes(detail, path),
                comment=request_text(detail, "comment", path, 2000),
                action=request_text(detail, "action", path, 200),
                close_description=request_text(detail, "closeDescription", path, 2000),
                guest_contact_method=request_text(detail, "guestContactMethod", path, 100),
                completed=local_moment(detail.get("completionDate"), f"{path}.completionDate"),
                closed=local_moment(detail.get("closedDate"), f"{path}.closedDate"),
                closed_by=as_text(detail.get("closedBy"), f"{path}.closedBy", max_length=80),
                path=path,
            )
        return ohip_json({})

    async def get_service_requests(request: Request) -> Response:
        hotel = hotel_of(sandbox, request)
        codes = {c.upper() for c in query_values(request, "code")}
        statuses = {as_enum(s, SERVICE_REQUEST_STATUSES, "status") for s in query_values(request, "status")}
        priorities = {p.upper() for p in query_values(request, "priorityCodes")}
        departments = {d.upper() for d in query_values(request, "departmentCodes")}
        reservation_id = as_text(query_value(request, "reservationId"), "reservationId", max_length=80)
        profile_id = as_text(query_value(request, "profileId"), "profileId", max_length=80)
        room = as_text(query_value(request, "room"), "room", max_length=20)
        spans: dict[str, date | None] = {}
        for name in ("creationStartDate", "creationEndDate", "closedStartDate", "closedEndDate"):
            spans[name] = as_date(query_value(request, name), name)
        for start, end in (("creationStartDate", "creationEndDate"), ("closedStartDate", "closedEndDate")):
            low, high = spans[start], spans[end]
            if low is not None and high is not None and high < low:
                raise bad_input(f"{end} is before {start}", end)

        def within(moment: datetime | None, start: str, end: str) -> bool:
            low, high = spans[start], spans[end]
            if low is None and high is None:
                return True
            return moment is not None and (low is None or moment.date() >= low) and (high is None
                                                                                     or moment.date() <= high)

        rows = [
            service_request_body(hotel, r) for r in hotel.service_requests.values()
            if (not codes or r.code in codes) and (not statuses or r.status in statuses)
            and (not priorities or (r.priority or "") in priorities)
            and (not departments or r.department in departments)
            and (reservation_id is None or r.reservation_id == reservation_id)
            and (profile_id is None or r.profile_id == profile_id) and (room is None or r.room == room)
            and within(r.opened, "creationStartDate", "creationEndDate")
            and within(r.closed, "closedStartDate", "closedEndDate")
        ]
        if not rows:
            return Response(status_code=204)
        return ohip_json({"serviceRequestsDetails": rows})

    reservation = f"{BASE}/hotels/{{hotelId}}/reservations/{{reservationId}}"
    return [
        Route(f"{BASE}/hotels/{{hotelId}}/queuedReservations", get_reservations_in_queue, methods=["GET"],
              name="getReservationsInQueue"),
        Route(f"{BASE}/hotels/{{hotelId}}/queuedReservations/{{reservationId}}", add_reservation_to_queue,
              methods=["PUT"], name="addReservationToQueue"),
        Route(f"{BASE}/hotels/{{hotelId}}/queuedReservations/{{reservationId}}", delete_reservation_from_queue,
              methods=["DELETE"], name="deleteReservationFromQueue"),
        Route(f"{BASE}/hotels/{{hotelId}}/rooms", get_hotel_rooms, methods=["GET"], name="getHotelRooms"),
        Route(f"{BASE}/hotels/{{hotelId}}/serviceRequests", get_service_requests, methods=["GET"],
              name="getServiceRequests"),
        Route(f"{BASE}/hotels/{{hotelId}}/serviceRequests", post_service_requests, methods=["POST"],
              name="postServiceRequests"),
        Route(f"{BASE}/hotels/{{hotelId}}/serviceRequests", put_service_requests, methods=["PUT"],
              name="putServiceRequests"),
        Route(f"{reservation}/roomAssignments", post_room_assignment, methods=["POST"], name="postRoomAssignment"),
        Route(f"{reservation}/rooms", delete_assign_room, methods=["PUT"], name="deleteAssignRoom"),
        Route(f"{reservation}/checkIns", post_check_in, methods=["POST"], name="postCheckIn"),
        Route(f"{reservation}/checkIns", delete_check_in, methods=["DELETE"], name="deleteCheckin"),
        Route(f"{reservation}/rooms/{{roomId}}/roomMoves", move_in_house_guest, methods=["PUT"],
              name="moveInHouseGuest"),
        Route(f"{reservation}/roomMoveHistory", get_room_move_history, methods=["GET"], name="getRoomMoveHistory"),
        Route(f"{reservation}/wakeUpCalls", post_wake_up_call, methods=["POST"], name="postWakeUpCall"),
        Route(f"{reservation}/wakeUpCalls", get_wake_up_call, methods=["GET"], name="getWakeUpCall"),
        Route(f"{reservation}/wakeUpCalls", delete_wake_up_call, methods=["DELETE"], name="deleteWakeUpCall"),
    ]
