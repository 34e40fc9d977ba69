"""Sandbox routes for the OHIP hsk module: the housekeeping board, room status updates, rooms out of order or out
of service, and guest service requests (Do Not Disturb, Make Up Room). The same rooms show in fof under other key
names."""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable
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
    hotel_of,
    mask_card_numbers,
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
    out_of_order_block,
    room_row,
)
from app.sandbox.state import (
    HOUSEKEEPING_STATUSES,
    ROOM_STATUSES,
    SERVICE_REQUESTS,
    TURNDOWN_STATUSES,
    Hotel,
    RepairKind,
    Room,
    RoomMaintenance,
)

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


def maintenance_row(hotel: Hotel, request: RoomMaintenance) -> dict[str, Any]:
    """One roomMaintenanceType."""
    room = hotel.room(request.room_id)
    row: dict[str, Any] = {
        "maintenanceCode": request.code,
        "maintenanceId": {"id": request.maintenance_id, "type": "RoomMaintenanceId"},
        "roomInfo": {"roomId": room.room_id, "roomType": {"roomType": room.room_type}},
        "createDateTime": request.created.isoformat(timespec="seconds"),
    }
    if request.remarks:
        row["remarks"] = request.remarks
    if request.creator:
        row["creatorId"] = request.creator
    if request.resolved_at is not None:
        row["resolveInfo"] = {"resolveDate": request.resolved_at.date().isoformat(),
                              **({"resolveUser": request.resolved_by} if request.resolved_by else {})}
    return row


def _check_criteria_hotel(criteria: dict[str, Any], hotel: Hotel) -> None:
    """A body naming another hotel than the path is a client bug, not something to guess about."""
    body_hotel = as_text(criteria.get("hotelId"), "criteria.hotelId", max_length=20)
    if body_hotel is not None and body_hotel != hotel.code:
        raise bad_input(f"criteria.hotelId {body_hotel} differs from hotel {hotel.code} in the path", "hotelId")


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


def _range_rooms(hotel: Hotel, room_range: dict[str, Any], path: str) -> list[str]:
    """The rooms from `roomRangeList`: its `roomIds` and/or every room of `range.roomRange` (from..to numbers)."""
    ids = [str(as_text(v, f"{path}.roomIds", max_length=20)) for v in as_list(room_range.get("roomIds")) if v]
    bounds = as_object(as_object(room_range.get("range"), f"{path}.range").get("roomRange"), f"{path}.range.roomRange")
    low = as_text(bounds.get("fromRoomNumber"), f"{path}.range.roomRange.fromRoomNumber", max_length=20)
    high = as_text(bounds.get("toRoomNumber"), f"{path}.range.roomRange.toRoomNumber", max_length=20)
    if low or high:
        chosen = RoomFilter([], [], [], [], [], low or high, high or low).rooms(hotel)
        ids.extend(room.room_id for room, _ in chosen)
    return _room_ids(ids, f"{path}.roomIds")


def _collection(kind: RepairKind) -> str:
    return "outOfOrderRooms" if kind == "OutOfOrder" else "outOfServiceRooms"


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
        counts = Counter(hotel.room_status(room) for room, _ in selection)
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
        # OutOfOrder/OutOfService are in the enum but have their own operations: the state refuses them with 400.
        room_status = as_enum(body.get("housekeepingRoomStatus"), ROOM_STATUSES, "housekeepingRoomStatus")
        turndown = as_enum(body.get("turndownStatus"), TURNDOWN_STATUSES, "turndownStatus")
        # housekeepingStatus is the housekeeper's occupancy report; the sandbox has no discrepancies to record.
        as_enum(body.get("housekeepingStatus"), FRONT_OFFICE_STATUSES, "housekeepingStatus")
        if room_status is None and turndown is None:
            raise bad_input(
                f"Nothing to change: send housekeepingRoomStatus ({', '.join(HOUSEKEEPING_STATUSES)}) and/or "
                "turndownStatus",
                "housekeepingRoomStatus",
            )
        sandbox.enterprise.update_room_status(hotel.code, room_ids, room_status, turndown=turndown)
        return ohip_json({})

    async def set_service_request(request: Request) -> Response:
        hotel = hotel_of(sandbox, request)
        criteria = as_object((await read_json(request)).get("criteria"), "criteria")
        _check_criteria_hotel(criteria, hotel)
        room_ids = _room_ids(criteria.get("roomList"), "criteria.roomList")
        status = as_enum(criteria.get("status"), SERVICE_REQUESTS, "criteria.status")
        if status is None:
            raise bad_input(f"criteria.status is required: one of {', '.join(SERVICE_REQUESTS)}", "criteria.status")
        sandbox.enterprise.set_service_request(hotel.code, room_ids, status)
        return ohip_json({})

    async def set_room_condition(request: Request) -> Response:
        hotel = hotel_of(sandbox, request)
        criteria = as_object((await read_json(request)).get("criteria"), "criteria")
        _check_criteria_hotel(criteria, hotel)
        room_ids = _room_ids(criteria.get("roomNumberList"), "criteria.roomNumberList")
        condition = as_object(criteria.get("roomCondition"), "criteria.roomCondition")
        code_path = "criteria.roomCondition.roomCondition.code"
        code = as_text(as_object(condition.get("roomCondition"), "criteria.roomCondition.roomCondition").get("code"),
                       code_path, max_length=20)
        # Oracle's assignmentType is the code's configuration ("Display in Room Assignment"); it is checked, not kept.
        as_enum(condition.get("assignmentType"), ("Available", "NotAvailable"), "criteria.roomCondition.assignmentType")
        remarks = as_text(condition.get("remarks"), "criteria.roomCondition.remarks", max_length=2000)
        include_occupied = as_bool(criteria.get("includeOccupiedRooms"), "criteria.includeOccupiedRooms")
        sandbox.enterprise.set_room_condition(
            hotel.code, room_ids, code, remarks=remarks, include_occupied=bool(include_occupied)
        )
        return ohip_json({})

    async def post_room_maintenance(request: Request) -> Response:
        # hsk postRoomMaintenance, in the body of Oracle's workflow "Create a Room Maintenance Request".
        hotel = hotel_of(sandbox, request)
        criteria = as_object((await read_json(request)).get("criteria"), "criteria")
        _check_criteria_hotel(criteria, hotel)
        code = str(request.path_params["maintenanceCode"])
        named = as_text(criteria.get("maintenanceCode"), "criteria.maintenanceCode", max_length=20)
        if named is not None and named.upper() != code.upper():
            raise bad_input(f"criteria.maintenanceCode {named} differs from {code} in the path",
                            "criteria.maintenanceCode")
        room_ids = _room_ids(criteria.get("roomIds"), "criteria.roomIds")
        remarks = mask_card_numbers(as_text(criteria.get("remarks"), "criteria.remarks", max_length=2000))
        sandbox.enterprise.report_maintenance(hotel.code, room_ids, code, remarks, creator="INTERFACE")
        return created(request, f"{BASE}/hotels/{hotel.code}/rooms/maintenances", {})

    async def get_room_maintenance(request: Request) -> Response:
        hotel = hotel_of(sandbox, request)
        room = as_text(query_value(request, "roomId"), "roomId", max_length=20)
        codes = {c.upper() for c in query_values(request, "maintenanceCodes")}
        status = as_enum(query_value(request, "roomMaintenanceStatus"), ("All", "UnResolved", "Resolved"),
                         "roomMaintenanceStatus") or "All"
        wanted = as_text(query_value(request, "maintenanceId"), "maintenanceId", max_length=40)
        rows = [
            maintenance_row(hotel, m) for m in hotel.maintenances.values()
            if (room is None or m.room_id == room) and (not codes or m.code in codes)
            and (wanted is None or m.maintenance_id == wanted)
            and (status == "All" or (status == "Resolved") == (m.resolved_at is not None))
        ]
        if not rows:
            return Response(status_code=204)
        return ohip_json({"roomMaintenance": {"roomMaintenance": rows, "hotelId": hotel.code}})

    async def resolve_room_maintenance(request: Request) -> Response:
        hotel = hotel_of(sandbox, request)
        maintenance_id = str(request.path_params["mainteananceId"])
        raw = await request.body()
        criteria = as_object((await read_json(request)).get("criteria"), "criteria") if raw.strip() else {}
        named = as_text(as_object(criteria.get("maintenanceId"), "criteria.maintenanceId").get("id"),
                        "criteria.maintenanceId.id", max_length=40)
        if named is not None and named != maintenance_id:
            raise bad_input(f"criteria.maintenanceId {named} differs from {maintenance_id} in the path",
                            "criteria.maintenanceId")
        sandbox.enterprise.resolve_maintenance(hotel.code, maintenance_id, user="INTERFACE")
        return ohip_json({})

    async def get_room_conditions(request: Request) -> Response:
        hotel = hotel_of(sandbox, request)
        only_with = bool(as_bool(query_value(request, "roomConditionsOnly"), "roomConditionsOnly"))
        only_without = bool(as_bool(query_value(request, "roomWithoutConditionsOnly"), "roomWithoutConditionsOnly"))
        if only_with and only_without:
            raise bad_input("roomConditionsOnly and roomWithoutConditionsOnly exclude each other", "roomConditionsOnly")
        codes = {c.upper() for c in query_values(request, "roomConditions")}
        room = as_text(query_value(request, "room"), "room", max_length=20)

        def also(candidate: Room, day: RoomDay) -> bool:
            code = candidate.condition.code.code.upper() if candidate.condition is not None else None
            return (
                (room is None or candidate.room_id == room)
                and (not only_with or code is not None)
                and (not only_without or code is None)
                and (not codes or code in codes)
            )

        selection = RoomFilter(
            room_statuses=enum_values(request, ROOM_STATUSES, "housekeepingRoomStatus"),
            front_office_statuses=enum_values(request, FRONT_OFFICE_STATUSES, "frontOfficeRoomStatus"),
            room_types=query_values(request, "roomTypes"),
            room_classes=query_values(request, "roomClasses"),
            floors=query_values(request, "floors"),
            from_room=query_value(request, "fromRoomNumber"),
            to_room=query_value(request, "toRoomNumber"),
            also=also,
        ).rooms(hotel)
        if not selection:
            return Response(status_code=204)
        rows = [housekeeping_row(hotel, candidate, day) for candidate, day in selection]
        return ohip_json({"housekeepingRooms": {"room": rows, "hotelId": hotel.code}})

    def post_repair(kind: RepairKind) -> Callable[[Request], Awaitable[Response]]:
        async def handler(request: Request) -> Response:
            hotel = hotel_of(sandbox, request)
            criteria = as_object((await read_json(request)).get("criteria"), "criteria")
            room_range = as_object(criteria.get("roomRangeList"), "criteria.roomRangeList")
            room_ids = _range_rooms(hotel, room_range, "criteria.roomRangeList")
            path = "criteria.roomRangeList.roomOutOfOrder"
            details = as_object(room_range.get("roomOutOfOrder"), path)
            sandbox.enterprise.start_repair(
                hotel.code,
                kind,
                room_ids,
                start=as_date(details.get("start"), f"{path}.start"),
                end=as_date(details.get("end"), f"{path}.end"),
                reason_code=as_text(details.get("reasonCode"), f"{path}.reasonCode", max_length=20),
                return_status=as_enum(details.get("returnStatus"), ROOM_STATUSES, f"{path}.returnStatus"),
                reason_description=as_text(
                    details.get("reasonDescription"), f"{path}.reasonDescription", max_length=80
                ),
                remarks=as_text(details.get("repairRemarks"), f"{path}.repairRemarks", max_length=2000),
            )
            return created(request, f"{BASE}/hotels/{hotel.code}/rooms/{_collection(kind)}", {})

        return handler

    def complete_repair(kind: RepairKind) -> Callable[[Request], Awaitable[Response]]:
        async def handler(request: Request) -> Response:
            hotel = hotel_of(sandbox, request)
            criteria = as_object((await read_json(request)).get("criteria"), "criteria")
            returns: list[tuple[str, str | None]] = []
            for index, entry in enumerate(as_list(criteria.get("roomRepairByRoomNumber"))):
                where = f"criteria.roomRepairByRoomNumber[{index}]"
                entry = as_object(entry, where)
                room_id = as_text(entry.get("roomId"), f"{where}.roomId", max_length=20)
                if room_id is None:
                    raise bad_input(f"{where}.roomId is required", f"{where}.roomId")
                details = as_object(entry.get("roomOutOfOrder"), f"{where}.roomOutOfOrder")
                back = as_enum(details.get("returnStatus"), ROOM_STATUSES, f"{where}.roomOutOfOrder.returnStatus")
                returns.append((room_id, back))
            room_range = as_object(criteria.get("roomRangeList"), "criteria.roomRangeList")
            if room_range:
                path = "criteria.roomRangeList.roomOutOfOrder"
                details = as_object(room_range.get("roomOutOfOrder"), path)
                back = as_enum(details.get("returnStatus"), ROOM_STATUSES, f"{path}.returnStatus")
                returns.extend((room_id, back) for room_id in _range_rooms(hotel, room_range, "criteria.roomRangeList"))
            if not returns:
                raise bad_input(
                    "Name the rooms in criteria.roomRepairByRoomNumber or criteria.roomRangeList", "criteria"
                )
            sandbox.enterprise.complete_repair(hotel.code, kind, returns)
            return ohip_json({})

        return handler

    def get_repairs(kind: RepairKind) -> Callable[[Request], Awaitable[Response]]:
        async def handler(request: Request) -> Response:
            hotel = hotel_of(sandbox, request)
            start = as_date(query_value(request, "startDate"), "startDate")
            if start is None:
                raise bad_input("startDate is required", "startDate")
            end = as_date(query_value(request, "endDate"), "endDate") or start
            if end < start:
                raise bad_input("endDate is before startDate", "endDate")
            room_id = query_value(request, "roomId")
            selection = RoomFilter(
                [], [], query_values(request, "roomTypes"), query_values(request, "roomClasses"), [], None, None,
                also=lambda room, _day: room_id in (None, room.room_id),
            ).rooms(hotel)
            rows = []
            for room, day in selection:
                repairs = [r for r in room.repairs if r.kind == kind and r.covers(start, end)]
                if repairs:
                    row = housekeeping_row(hotel, room, day)
                    row["outOfOrder"] = [out_of_order_block(r, HSK_KEYS) for r in repairs]
                    rows.append(row)
            if not rows:
                return Response(status_code=204)
            return ohip_json({"housekeepingRooms": {"room": rows, "hotelId": hotel.code}})

        return handler

    hotel = f"{BASE}/hotels/{{hotelId}}"
    repairs: list[BaseRoute] = []
    for kind in ("OutOfOrder", "OutOfService"):
        collection = f"{hotel}/rooms/{_collection(kind)}"
        repairs += [
            Route(collection, get_repairs(kind), methods=["GET"], name=f"get{kind}Rooms"),
            Route(collection, post_repair(kind), methods=["POST"], name=f"post{kind}Rooms"),
            Route(collection, complete_repair(kind), methods=["PUT"], name=f"complete{kind}Rooms"),
        ]
    return [
        *repairs,
        Route(
            f"{hotel}/housekeepingOverview",
            get_housekeeping_overview,
            methods=["GET"],
            name="getHousekeepingOverview",
        ),
        Route(f"{hotel}/rooms/status", put_room_related_status, methods=["PUT"], name="putRoomRelatedStatus"),
        Route(f"{hotel}/conditions", get_room_conditions, methods=["GET"], name="getRoomConditions"),
        Route(f"{hotel}/conditions", set_room_condition, methods=["PUT"], name="setRoomCondition"),
        Route(f"{hotel}/rooms/maintenanceCodes/{{maintenanceCode}}", post_room_maintenance, methods=["POST"],
              name="postRoomMaintenance"),
        Route(f"{hotel}/rooms/maintenances", get_room_maintenance, methods=["GET"], name="getRoomMaintenance"),
        Route(f"{hotel}/maintenances/{{mainteananceId}}/resolve", resolve_room_maintenance, methods=["PUT"],
              name="resolveRoomMaintenance"),
        Route(
            f"{hotel}/serviceRequests",
            set_service_request,
            methods=["PUT"],
            name="setGuestHousekeepingServiceRequest",
        ),
    ]
