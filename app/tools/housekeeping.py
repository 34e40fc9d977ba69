"""Housekeeping toolset: the housekeeping board (counts by status and rooms), room status updates, and guest
service requests (Do Not Disturb, Make Up Room)."""

from typing import Annotated

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, Field

from app.opera.errors import OperaError, OperaNotFoundError
from app.opera.front_office import FrontOfficeStatus, RoomStatus
from app.opera.housekeeping import HousekeepingAPI, HousekeepingBoard, HousekeepingRoom, ServiceRequest, StatusCount
from app.opera.models import OperaWarning, PageInfo
from app.tools.billing import HotelId
from app.tools.registry import ToolDef, ToolServices, tool_error

RoomNumber = Annotated[str, Field(min_length=1, max_length=20, pattern=r"^[A-Za-z0-9_-]+$")]
RoomNumbers = Annotated[
    list[RoomNumber], Field(min_length=1, max_length=50, description="room numbers, e.g. ['101', '102'] (1..50)")
]

#: all_pages stops here: larger than any single hotel's room count.
MAX_ROOMS = 2000
PAGE = 100


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
    warnings: list[OperaWarning] = Field(default_factory=list)
    next_step: str


def _unique(rooms: list[str]) -> list[str]:
    return list(dict.fromkeys(r.strip() for r in rooms))


def build(services: ToolServices) -> list[ToolDef]:
    housekeeping = HousekeepingAPI(services.http)

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
            RoomStatus | None, Field(description="new housekeeping status, e.g. Clean after cleaning, Inspected")
        ] = None,
        housekeeping_status: Annotated[
            FrontOfficeStatus | None,
            Field(description="what the housekeeper found: Vacant or Occupied (for discrepancy checks)"),
        ] = None,
        hotel_id: HotelId = None,
    ) -> RoomsUpdated:
        hotel = services.hotel(hotel_id)
        if room_status is None and housekeeping_status is None:
            raise ToolError(
                "update_room_status needs room_status (Clean, Dirty, Pickup, Inspected, OutOfOrder, OutOfService) "
                "and/or housekeeping_status (Vacant, Occupied); nothing was changed"
            )
        rooms = _unique(room_ids)
        try:
            warnings = await housekeeping.update_room_status(
                hotel, rooms, room_status=room_status, housekeeping_status=housekeeping_status
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
                    "an occupied room cannot be put OutOfOrder/OutOfService; check each room with "
                    "get_housekeeping_overview and retry with the rooms that qualify"
                ),
            ) from None
        return RoomsUpdated(
            hotel_id=hotel, room_ids=rooms, room_status=room_status, housekeeping_status=housekeeping_status,
            warnings=warnings,
            next_step="Clean/Inspected vacant rooms can now be given to arrivals (find_available_rooms, check_in)",
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
        rooms = _unique(room_ids)
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

    return [
        ToolDef(
            name="get_housekeeping_overview", toolset="housekeeping", access="read", fn=get_housekeeping_overview,
            title="Housekeeping board",
            description=(
                "Show the housekeeping board: how many rooms are Clean, Dirty, Inspected, Out of Order..., and the "
                "rooms with status, occupancy, guest requests (DND, make up room). Filter by status, floor, room "
                "type or request. Use it to plan cleaning or to see why no clean room is free; next: "
                "update_room_status once rooms are done. Paginated, or all_pages=true."
            ),
            read_only=True, idempotent=True,
        ),
        ToolDef(
            name="update_room_status", toolset="housekeeping", access="write", fn=update_room_status,
            title="Set room status",
            description=(
                "Set the housekeeping status of one or more rooms (e.g. Clean or Inspected after cleaning, Dirty, "
                "OutOfService). Setting the same status twice is harmless. Occupied rooms cannot be put out of "
                "order. Next: find_available_rooms / check_in for arrivals waiting for a clean room."
            ),
            idempotent=True,
        ),
        ToolDef(
            name="set_service_request", toolset="housekeeping", access="write", fn=set_service_request,
            title="Guest service request",
            description=(
                "Record a guest's housekeeping request on rooms: DoNotDisturb, MakeUpRoom, ServiceDeclined, or "
                "NoStatusSelected to clear it. Setting it twice is harmless. Housekeeping sees it on "
                "get_housekeeping_overview."
            ),
            idempotent=True,
        ),
    ]
