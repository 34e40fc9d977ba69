"""Housekeeping toolset: the housekeeping board (counts by status and rooms), room status updates, rooms out of
order or out of service and back, and guest service requests (Do Not Disturb, Make Up Room)."""

from datetime import date as Date
from datetime import timedelta
from typing import Annotated, cast

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, Field

from app.opera.business_date import BusinessDateAPI
from app.opera.errors import OperaBadRequestError, OperaError, OperaNotFoundError
from app.opera.front_office import FrontOfficeStatus, RoomStatus
from app.opera.housekeeping import (
    HousekeepingAPI,
    HousekeepingBoard,
    HousekeepingRoom,
    HousekeepingState,
    OutOfServiceKind,
    ServiceRequest,
    StatusCount,
)
from app.opera.lov import ListsOfValuesAPI, codes_text
from app.opera.models import OperaWarning, PageInfo
from app.tools.billing import GuardedText, HotelId, refuse_card_numbers
from app.tools.registry import ToolDef, ToolServices, tool_error

RoomNumber = Annotated[str, Field(min_length=1, max_length=20, pattern=r"^[A-Za-z0-9_-]+$")]
RoomNumbers = Annotated[
    list[RoomNumber], Field(min_length=1, max_length=50, description="room numbers, e.g. ['101', '102'] (1..50)")
]

#: all_pages stops here: larger than any single hotel's room count.
MAX_ROOMS = 2000
PAGE = 100
#: How far ahead return_to_service looks for a room's period out of service (a repair booked to start later).
OUT_OF_SERVICE_AHEAD = 90


class HousekeepingOverview(BaseModel):
    hotel_id: str
    counts: list[StatusCount] = Field(description="rooms per housekeeping status over the whole filtered board")
    rooms: list[HousekeepingRoom]
    page: PageInfo
    warnings: list[OperaWarning] = Field(default_factory=list)


class RoomsUpdated(BaseModel):
    hotel_id: str
    room_ids: list[str]
    room_status: str | None = Field(default=None, description="the housekeeping status now set")
    housekeeping_status: str | None = Field(default=None, description="the housekeeper's occupancy now set")
    service_request: str | None = Field(default=None, description="the guest service request now set")
    condition: str | None = Field(default=None, description="the room condition now set (null: cleared)")
    reason_code: str | None = Field(default=None, description="why the rooms are out of order/service")
    from_date: Date | None = Field(default=None, description="first night out of order/service")
    through_date: Date | None = Field(default=None, description="last night out of order/service")
    return_status: str | None = Field(default=None, description="the status the rooms take back in service")
    warnings: list[OperaWarning] = Field(default_factory=list)
    next_step: str


def unique_rooms(rooms: list[str]) -> list[str]:
    return list(dict.fromkeys(r.strip() for r in rooms))


def build(services: ToolServices) -> list[ToolDef]:
    housekeeping = HousekeepingAPI(services.http)
    lov = ListsOfValuesAPI(services.http)
    business = BusinessDateAPI(services.http)

    async def get_housekeeping_overview(
        room_status: Annotated[
            list[RoomStatus] | None, Field(max_length=6, description="only rooms in these statuses")
        ] = None,
        front_office_status: Annotated[
            FrontOfficeStatus | None, Field(description="only Vacant or only Occupied rooms")
        ] = None,
        room_type: Annotated[
            str | None, Field(max_length=20, pattern=r"^[A-Za-z0-9_-]+$", description="only this room type")
        ] = None,
        floor: Annotated[str | None, Field(max_length=10, description="only this floor")] = None,
        from_room: Annotated[str | None, Field(max_length=20, description="first room number of a range")] = None,
        to_room: Annotated[str | None, Field(max_length=20, description="last room number of a range")] = None,
        service_request: Annotated[
            ServiceRequest | None, Field(description="only rooms with this guest request, e.g. DoNotDisturb")
        ] = None,
        limit: Annotated[int, Field(ge=1, le=100, description="rooms per page (1..100)")] = 20,
        offset: Annotated[int, Field(ge=0, description="index of the first room; use page.next_offset")] = 0,
        all_pages: Annotated[bool, Field(description="true reads every page, with progress; ignores limit")] = False,
        hotel_id: HotelId = None,
        ctx: Context | None = None,
    ) -> HousekeepingOverview:
        hotel = services.hotel(hotel_id)

        async def board(size: int, start: int) -> HousekeepingBoard:
            return await housekeeping.overview(
                hotel,
                room_statuses=room_status or (),
                front_office_statuses=[front_office_status] if front_office_status else (),
                room_types=[room_type] if room_type else (),
                floors=[floor] if floor else (),
                from_room=from_room,
                to_room=to_room,
                service_request=service_request,
                limit=size,
                offset=start,
            )

        try:
            first = await board(PAGE if all_pages else limit, offset)
            rooms = list(first.rooms)
            warnings = list(first.warnings)
            last = first
            while all_pages and last.page.has_more and last.rooms and len(rooms) < MAX_ROOMS:
                if ctx is not None:
                    await ctx.report_progress(len(rooms), last.page.total, f"{len(rooms)} rooms read")
                last = await board(PAGE, offset + len(rooms))
                rooms.extend(last.rooms)
                warnings.extend(last.warnings)
        except OperaError as exc:
            raise tool_error(
                exc, what=f"get_housekeeping_overview for {hotel}", next_step="check the filters"
            ) from None
        if all_pages and ctx is not None:
            await ctx.report_progress(len(rooms), len(rooms), "board read")
        page = first.page
        if all_pages:
            page = PageInfo(
                offset=offset, limit=len(rooms), count=len(rooms), total=last.page.total,
                has_more=last.page.has_more, next_offset=offset + len(rooms) if last.page.has_more else None,
            )
        return HousekeepingOverview(hotel_id=hotel, counts=first.counts, rooms=rooms, page=page, warnings=warnings)

    async def update_room_status(
        room_ids: RoomNumbers,
        room_status: Annotated[
            RoomStatus | None,
            Field(
                description=(
                    "new status: Clean, Dirty, Pickup or Inspected; or OutOfOrder / OutOfService, which need "
                    "reason_code, from_date and through_date"
                )
            ),
        ] = None,
        housekeeping_status: Annotated[
            FrontOfficeStatus | None,
            Field(description="what the housekeeper found: Vacant or Occupied (for discrepancy checks)"),
        ] = None,
        reason_code: Annotated[
            str | None,
            Field(
                max_length=20, pattern=r"^[A-Za-z0-9_-]+$",
                description="OutOfOrder/OutOfService only: the hotel's reason code, e.g. MAINT",
            ),
        ] = None,
        from_date: Annotated[
            Date | None, Field(description="OutOfOrder/OutOfService only: first night, YYYY-MM-DD (today or later)")
        ] = None,
        through_date: Annotated[
            Date | None, Field(description="OutOfOrder/OutOfService only: last night, YYYY-MM-DD")
        ] = None,
        return_status: Annotated[
            HousekeepingState,
            Field(description="OutOfOrder/OutOfService only: status once back in service (default Dirty)"),
        ] = "Dirty",
        remarks: Annotated[
            str | None, Field(max_length=2000, description="OutOfOrder/OutOfService only: what is to be repaired")
        ] = None,
        return_to_service: Annotated[
            OutOfServiceKind | None,
            Field(
                description=(
                    "end the rooms' OutOfOrder or OutOfService period (repair done); room_status is then the status "
                    "they take, default the return_status given when they were taken out"
                )
            ),
        ] = None,
        hotel_id: HotelId = None,
    ) -> RoomsUpdated:
        hotel = services.hotel(hotel_id)
        rooms = unique_rooms(room_ids)
        if return_to_service is not None:
            if room_status in ("OutOfOrder", "OutOfService") or housekeeping_status is not None:
                raise ToolError(
                    "return_to_service goes with room_status Clean, Dirty, Pickup or Inspected (or none) and no "
                    "housekeeping_status; nothing was changed"
                )
            back = cast("HousekeepingState | None", room_status)
            return await end_out_of_service(hotel, rooms, return_to_service, back)
        if room_status in ("OutOfOrder", "OutOfService"):
            return await take_out_of_service(
                hotel, rooms, "OutOfOrder" if room_status == "OutOfOrder" else "OutOfService",
                housekeeping_status=housekeeping_status, reason_code=reason_code, from_date=from_date,
                through_date=through_date, return_status=return_status, remarks=remarks,
            )
        if room_status is None and housekeeping_status is None:
            raise ToolError(
                "update_room_status needs room_status (Clean, Dirty, Pickup, Inspected, OutOfOrder, OutOfService) "
                "and/or housekeeping_status (Vacant, Occupied); nothing was changed"
            )
        repair_only = [name for name, value in (
            ("reason_code", reason_code), ("from_date", from_date), ("through_date", through_date),
            ("remarks", remarks),
        ) if value is not None]
        if repair_only:
            raise ToolError(
                f"{', '.join(repair_only)} only go with room_status OutOfOrder or OutOfService; nothing was changed"
            )
        state = cast("HousekeepingState | None", room_status)  # OutOfOrder/OutOfService returned above
        try:
            warnings = await housekeeping.update_room_status(
                hotel, rooms, room_status=state, housekeeping_status=housekeeping_status
            )
        except OperaNotFoundError as exc:
            raise tool_error(
                exc, what=f"update_room_status of {', '.join(rooms)}",
                next_step="check the room numbers with get_housekeeping_overview; no room was changed",
            ) from None
        except OperaError as exc:
            raise tool_error(
                exc, what=f"update_room_status of {', '.join(rooms)}",
                next_step=(
                    "a room out of order/service changes status when it returns to service "
                    "(return_to_service=OutOfOrder/OutOfService); check each room with get_housekeeping_overview"
                ),
            ) from None
        return RoomsUpdated(
            hotel_id=hotel, room_ids=rooms, room_status=room_status, housekeeping_status=housekeeping_status,
            warnings=warnings,
            next_step="Clean/Inspected vacant rooms can now be given to arrivals (find_available_rooms, check_in)",
        )

    async def take_out_of_service(
        hotel: str,
        rooms: list[str],
        kind: OutOfServiceKind,
        *,
        housekeeping_status: str | None,
        reason_code: str | None,
        from_date: Date | None,
        through_date: Date | None,
        return_status: HousekeepingState,
        remarks: str | None,
    ) -> RoomsUpdated:
        missing = [name for name, value in (
            ("reason_code", reason_code), ("from_date", from_date), ("through_date", through_date),
        ) if value is None]
        if missing:
            raise ToolError(
                f"room_status {kind} needs {', '.join(missing)}: the reason code (e.g. MAINT) and the first and last "
                "night out of service; nothing was changed"
            )
        if housekeeping_status is not None:
            raise ToolError(f"housekeeping_status cannot be set together with {kind}; nothing was changed")
        assert reason_code is not None and from_date is not None and through_date is not None
        if through_date < from_date:
            raise ToolError(
                f"through_date {through_date} is before from_date {from_date}; nothing was changed"
            )
        try:
            warnings = await housekeeping.take_out_of_service(
                hotel, rooms, kind=kind, start=from_date, end=through_date, reason_code=reason_code.upper(),
                return_status=return_status, remarks=remarks,
            )
        except OperaNotFoundError as exc:
            raise tool_error(
                exc, what=f"{kind} for {', '.join(rooms)}",
                next_step="check the room numbers with get_housekeeping_overview; no room was changed",
            ) from None
        except OperaBadRequestError as exc:
            if not await already_out(hotel, rooms, kind, from_date, through_date, reason_code.upper()):
                raise tool_error(
                    exc, what=f"{kind} for {', '.join(rooms)}",
                    next_step=(
                        "a room occupied or assigned to a stay on those nights cannot be taken out of service; the "
                        "reason must be one the hotel configured (the error lists them); retry with the rooms that "
                        "qualify"
                    ),
                ) from None
            # a repeat: every room already has exactly this period, so the goal is reached
            warnings = [OperaWarning(message=f"the rooms were already {kind} for these nights; nothing was changed")]
        except OperaError as exc:
            raise tool_error(
                exc, what=f"{kind} for {', '.join(rooms)}",
                next_step=(
                    "a room occupied or assigned to a stay on those nights cannot be taken out of service; the reason "
                    "must be one the hotel configured (the error lists them); retry with the rooms that qualify"
                ),
            ) from None
        return RoomsUpdated(
            hotel_id=hotel, room_ids=rooms, room_status=kind, reason_code=reason_code.upper(), from_date=from_date,
            through_date=through_date, return_status=return_status, warnings=warnings,
            next_step=f"update_room_status(return_to_service={kind}) when the work is done",
        )

    async def already_out(
        hotel: str, rooms: list[str], kind: OutOfServiceKind, start: Date, end: Date, reason: str
    ) -> bool:
        try:
            periods = await housekeeping.out_of_service_rooms(hotel, kind, start, end)
        except OperaError:
            return False
        same = {p.room_id for p in periods if (p.start, p.end, (p.reason_code or "").upper()) == (start, end, reason)}
        return all(room in same for room in rooms)

    async def statuses_given(hotel: str, rooms: list[str], kind: OutOfServiceKind) -> dict[str, str]:
        """The return status each room was given when it was taken out of service (its current or next period of
        this kind, as OPERA lists them), so that the completion names it, as Oracle asks; {} when unreadable."""
        try:
            today = await business.today(hotel)
            periods = await housekeeping.out_of_service_rooms(
                hotel, kind, today, today + timedelta(days=OUT_OF_SERVICE_AHEAD)
            )
        except OperaError:
            return {}
        given: dict[str, str] = {}
        for period in sorted(periods, key=lambda p: p.start or today):
            if period.room_id in rooms and period.return_status and period.room_id not in given:
                given[period.room_id] = period.return_status
        return given

    async def end_out_of_service(
        hotel: str, rooms: list[str], kind: OutOfServiceKind, return_status: HousekeepingState | None
    ) -> RoomsUpdated:
        what = f"return_to_service {kind} of {', '.join(rooms)}"
        given = {} if return_status else await statuses_given(hotel, rooms, kind)
        taken = {given[r] for r in rooms if r in given}
        shown = return_status or (taken.pop() if len(taken) == 1 and len(given) == len(rooms) else None)
        try:
            warnings = await housekeeping.return_to_service(hotel, rooms, kind=kind, return_status=return_status,
                                                            per_room=given)
        except OperaNotFoundError as exc:
            raise tool_error(
                exc, what=what, next_step="check the room numbers with get_housekeeping_overview; no room was changed"
            ) from None
        except OperaBadRequestError as exc:
            # A repeat after the rooms came back: nothing of this kind is left on them, so the goal is reached.
            try:
                still = await housekeeping.overview(hotel, room_statuses=[kind], limit=100)
            except OperaError:
                still = None
            if still is None or still.page.has_more or any(r.room_id in rooms for r in still.rooms):
                raise tool_error(
                    exc, what=what,
                    next_step=(
                        "check with get_housekeeping_overview whether each room is OutOfOrder or OutOfService and "
                        "retry with return_to_service set to what it shows"
                    ),
                ) from None
            warnings = [OperaWarning(message=f"none of these rooms is {kind} any more; nothing was changed")]
        except OperaError as exc:
            raise tool_error(exc, what=what, next_step="retry; the rooms are unchanged if OPERA refused") from None
        if given and shown is None:
            listed = ", ".join(f"{room} {given.get(room, 'as OPERA keeps it')}" for room in rooms)
            warnings = [*warnings, OperaWarning(message=f"the rooms take back the statuses they were given: {listed}")]
        return RoomsUpdated(
            hotel_id=hotel, room_ids=rooms, room_status=shown, return_status=shown,
            warnings=warnings,
            next_step="the rooms are back in service; Clean/Inspected vacant ones can go to arrivals "
            "(find_available_rooms)",
        )

    async def set_service_request(
        room_ids: RoomNumbers,
        request: Annotated[
            ServiceRequest,
            Field(description="DoNotDisturb, MakeUpRoom, ServiceDeclined, or NoStatusSelected to clear it"),
        ],
        hotel_id: HotelId = None,
    ) -> RoomsUpdated:
        hotel = services.hotel(hotel_id)
        rooms = unique_rooms(room_ids)
        try:
            warnings = await housekeeping.set_service_request(hotel, rooms, request)
        except OperaError as exc:
            raise tool_error(
                exc, what=f"set_service_request {request} on {', '.join(rooms)}",
                next_step="check the room numbers with get_housekeeping_overview",
            ) from None
        return RoomsUpdated(
            hotel_id=hotel, room_ids=rooms, service_request=request, warnings=warnings,
            next_step="get_housekeeping_overview(service_request=...) shows the rooms with this request",
        )

    async def refuse_unknown_condition(hotel: str, code: str) -> None:
        """Refuse, before OPERA is asked, a code that is not among the property's active room conditions (lov
        RoomConditions), listing them; when the list cannot be read, OPERA decides."""
        known = await lov.refusing(hotel, "RoomConditions", code)
        if known:
            raise ToolError(
                f"condition {code!r} is not a room condition of {hotel}; nothing was changed. Next step: "
                f"set_room_condition with one of {codes_text(known)}"
            )

    async def set_room_condition(
        room_ids: RoomNumbers,
        condition: Annotated[str | None, Field(
            min_length=1, max_length=8, pattern=r"^[A-Za-z0-9]+$",
            description="the hotel's room condition code, e.g. SHOW (a show room); leave out with clear=true")] = None,
        remarks: Annotated[GuardedText | None, Field(
            max_length=200, description="what the desk should know, e.g. 'sales tour at 4pm'")] = None,
        clear: Annotated[bool, Field(description="true removes the rooms' condition")] = False,
        include_occupied: Annotated[bool, Field(
            description="true sets it on an occupied room too (OPERA refuses one otherwise)")] = False,
        hotel_id: HotelId = None,
    ) -> RoomsUpdated:
        hotel = services.hotel(hotel_id)
        rooms = unique_rooms(room_ids)
        if clear == (condition is not None):
            raise ToolError(
                "set_room_condition needs either condition (a code, e.g. SHOW) or clear=true, not "
                f"{'both' if clear else 'neither'}; nothing was changed"
            )
        if clear and remarks:
            raise ToolError("set_room_condition: remarks go with a condition, not with clear=true; nothing was changed")
        code = condition.upper() if condition is not None else None
        note = refuse_card_numbers("remarks", remarks, 200)
        if code is not None:
            await refuse_unknown_condition(hotel, code)
        try:
            warnings = await housekeeping.set_room_condition(
                hotel, rooms, code, remarks=note, include_occupied=include_occupied
            )
        except OperaError as exc:
            step = ("check the room numbers with get_housekeeping_overview"
                    + ("" if include_occupied else ", and use include_occupied=true for an occupied room"))
            raise tool_error(exc, what=f"set_room_condition {code or 'clear'} on {', '.join(rooms)}",
                             next_step=step) from None
        return RoomsUpdated(
            hotel_id=hotel, room_ids=rooms, condition=code, warnings=warnings,
            next_step=("find_available_rooms shows whether the condition keeps the rooms out of the rooms offered "
                       "for assignment; assign_room still gives a room with a condition, with a warning"
                       if code else "the rooms have no condition now"),
        )

    return [
        ToolDef(
            name="get_housekeeping_overview", toolset="housekeeping", access="read", fn=get_housekeeping_overview,
            title="Housekeeping board",
            description=(
                "The housekeeping board: counts by status (Clean, Dirty, Inspected, Out of Order...) and the rooms "
                "with status, occupancy and guest requests. Filter by status, floor, room type or request. Use it to "
                "plan cleaning; next: update_room_status. Paged, or all_pages=true."
            ),
            read_only=True, idempotent=True,
        ),
        ToolDef(
            name="update_room_status", toolset="housekeeping", access="write", fn=update_room_status,
            title="Set room status",
            description=(
                "Set rooms Clean, Inspected, Dirty or Pickup; or OutOfOrder/OutOfService with reason_code, from_date, "
                "through_date and return_status (not occupied rooms or rooms assigned on those nights), and back with "
                "return_to_service=OutOfOrder/OutOfService. Repeating it is harmless. Next: find_available_rooms or "
                "check_in for waiting arrivals."
            ),
            idempotent=True,
        ),
        ToolDef(
            name="set_service_request", toolset="housekeeping", access="write", fn=set_service_request,
            title="Guest service request",
            description=(
                "Set a guest's housekeeping request on rooms: DoNotDisturb, MakeUpRoom, ServiceDeclined, or "
                "NoStatusSelected to clear it; repeating it is harmless. Housekeeping sees it on "
                "get_housekeeping_overview."
            ),
            idempotent=True,
        ),
        ToolDef(
            name="set_room_condition", toolset="housekeeping", access="write", fn=set_room_condition,
            title="Set or clear a room condition",
            description=(
                "Set the hotel's room condition on rooms (a show room, a photo shoot, a minibar removed; code and "
                "remarks), or clear=true to remove it. The code's configuration decides whether the rooms stay among "
                "the rooms offered for assignment. An occupied room needs include_occupied=true. Repeating it is "
                "harmless."
            ),
            idempotent=True,
        ),
    ]
