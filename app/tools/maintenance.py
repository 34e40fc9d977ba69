"""Room maintenance requests, in the housekeeping toolset: report what is broken in a room (a light bulb, a lock, the
air conditioning), list the open requests, resolve one. A request leaves the room sellable; a room that cannot be
sold goes Out of Order with update_room_status.
"""

from collections.abc import Mapping
from typing import Annotated, Any

from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, Field

from app.opera.errors import OperaError
from app.opera.lov import ListsOfValuesAPI, codes_text
from app.opera.maintenance import MaintenanceAPI, MaintenanceRequest, MaintenanceStatus
from app.opera.models import OperaWarning
from app.tools.billing import GuardedText, HotelId, refuse_card_numbers
from app.tools.housekeeping import RoomNumber, RoomNumbers, unique_rooms
from app.tools.registry import ExactlyOnce, IdempotencyKey, ToolDef, ToolServices, tool_error

MaintenanceCode = Annotated[str, Field(min_length=1, max_length=20, pattern=r"^[A-Za-z0-9_-]+$",
                                       description="the hotel's maintenance code, e.g. AIRCON, LIGHT, PLUMB")]
MaintenanceId = Annotated[str, Field(min_length=1, max_length=20, pattern=r"^[0-9A-Za-z-]+$",
                                     description="the request's maintenance_id (list_maintenance)")]


class MaintenanceReport(BaseModel):
    hotel_id: str
    maintenance_code: str
    requests: list[MaintenanceRequest] = Field(description="the requests OPERA made, one per room")
    warnings: list[OperaWarning] = Field(default_factory=list)
    next_step: str


class MaintenanceList(BaseModel):
    hotel_id: str
    status: str = Field(description="which requests: UnResolved, Resolved or All")
    requests: list[MaintenanceRequest]
    next_step: str


class MaintenanceResolved(BaseModel):
    hotel_id: str
    request: MaintenanceRequest
    already_resolved: bool = Field(description="true: it was resolved before, and nothing was sent")
    next_step: str


def build(services: ToolServices) -> list[ToolDef]:
    maintenance = MaintenanceAPI(services.http)
    lov = ListsOfValuesAPI(services.http)

    async def refuse_unknown_code(hotel: str, code: str) -> None:
        """Refuse, before OPERA is asked, a code that is not among the property's active maintenance codes (lov
        MaintenanceCodes), listing them; when the list cannot be read, OPERA decides."""
        known = await lov.refusing(hotel, "MaintenanceCodes", code)
        if known:
            raise ToolError(
                f"maintenance code {code!r} is not one of {hotel}'s; nothing was reported. Next step: "
                f"report_maintenance with one of {codes_text(known)}"
            )

    async def open_ones(hotel: str, rooms: list[str], code: str) -> list[MaintenanceRequest]:
        only = rooms[0] if len(rooms) == 1 else None
        found = await maintenance.requests(hotel, room_id=only, codes=[code], status="UnResolved")
        return [r for r in found if r.room_id in rooms]

    async def report_maintenance(
        room_ids: RoomNumbers,
        maintenance_code: MaintenanceCode,
        remarks: Annotated[GuardedText | None, Field(
            max_length=500, description="what is wrong, for the engineer, e.g. 'AC blows warm air'")] = None,
        hotel_id: HotelId = None,
        idempotency_key: IdempotencyKey = None,
    ) -> MaintenanceReport:
        hotel = services.hotel(hotel_id)
        rooms = unique_rooms(room_ids)
        code = maintenance_code.strip().upper()
        note = services.stamped(refuse_card_numbers("remarks", remarks, 500))
        await refuse_unknown_code(hotel, code)
        what = f"report_maintenance {code} for room {', '.join(rooms)}"
        try:
            before = {r.maintenance_id for r in await open_ones(hotel, rooms, code)}
            warnings = await maintenance.report(hotel, rooms, code, note)
        except OperaError as exc:
            raise tool_error(exc, what=what, next_step="check the room numbers with get_housekeeping_overview, "
                                                       "and the open requests with list_maintenance") from None
        try:
            made = [r for r in await open_ones(hotel, rooms, code) if r.maintenance_id not in before]
        except OperaError:
            made = []  # reported: OPERA answers with no id, and the read that finds them failed
        return MaintenanceReport(
            hotel_id=hotel, maintenance_code=code, requests=made, warnings=warnings,
            next_step=("list_maintenance shows the open requests; resolve_maintenance with a maintenance_id when it "
                       "is fixed; a room that cannot be sold until then goes out of order with update_room_status"),
        )

    async def find_report(args: Mapping[str, Any], reference: str) -> MaintenanceReport | None:
        hotel, code = str(args["hotel_id"]), str(args["maintenance_code"]).strip().upper()
        rooms = unique_rooms(list(args["room_ids"]))
        found = await maintenance.requests(hotel, codes=[code], status="All")
        mine = [r for r in found if r.room_id in rooms and r.remarks and f"[{reference}]" in r.remarks]
        if not mine:
            return None
        return MaintenanceReport(hotel_id=hotel, maintenance_code=code, requests=mine,
                                 next_step="list_maintenance shows the open requests")

    async def list_maintenance(
        room_id: Annotated[RoomNumber | None, Field(description="only this room")] = None,
        status: Annotated[MaintenanceStatus, Field(description="UnResolved (default), Resolved or All")]
        = "UnResolved",
        maintenance_code: Annotated[MaintenanceCode | None, Field(description="only this code")] = None,
        hotel_id: HotelId = None,
    ) -> MaintenanceList:
        hotel = services.hotel(hotel_id)
        codes = [maintenance_code.strip().upper()] if maintenance_code else []
        try:
            found = await maintenance.requests(hotel, room_id=room_id, codes=codes, status=status)
        except OperaError as exc:
            raise tool_error(exc, what=f"list_maintenance for {hotel}", next_step="retry shortly") from None
        return MaintenanceList(
            hotel_id=hotel, status=status, requests=found,
            next_step="resolve_maintenance with a maintenance_id once it is fixed" if found else
            "nothing matches; report_maintenance records a new request",
        )

    async def resolve_maintenance(maintenance_id: MaintenanceId, hotel_id: HotelId = None) -> MaintenanceResolved:
        hotel = services.hotel(hotel_id)
        what = f"resolve_maintenance {maintenance_id}"
        try:
            current = await maintenance.requests(hotel, maintenance_id=maintenance_id, status="All")
        except OperaError as exc:
            raise tool_error(exc, what=what, next_step="retry shortly") from None
        request = next((r for r in current if r.maintenance_id == maintenance_id), None)
        if request is None:
            raise ToolError(f"no maintenance request {maintenance_id} in {hotel}; nothing was changed. Next step: "
                            "list_maintenance shows the open requests and their maintenance_id")
        if request.resolved:
            return MaintenanceResolved(hotel_id=hotel, request=request, already_resolved=True,
                                       next_step="nothing to do: it was resolved before")
        try:
            await maintenance.resolve(hotel, maintenance_id)
            after = await maintenance.requests(hotel, maintenance_id=maintenance_id, status="All")
        except OperaError as exc:
            raise tool_error(exc, what=what, next_step="list_maintenance with status=All shows whether it is "
                                                       "resolved; resolving it again is harmless") from None
        done = next((r for r in after if r.maintenance_id == maintenance_id), request)
        return MaintenanceResolved(hotel_id=hotel, request=done, already_resolved=False,
                                   next_step="list_maintenance shows what is still open")

    return [
        ToolDef(
            name="report_maintenance", toolset="housekeeping", access="write", fn=report_maintenance,
            title="Report a maintenance problem",
            description=(
                "Report what is broken in rooms (maintenance_code from the hotel's list: AIRCON, LIGHT, PLUMB...; "
                "remarks for the engineer); one request per room. The room stays sellable: if it cannot be sold, "
                "also update_room_status OutOfOrder. Each call without idempotency_key reports again. Next: "
                "list_maintenance."
            ),
            exactly_once=ExactlyOnce(find_report, found_by="the reference in the request's remarks",
                                     check_first=True),
        ),
        ToolDef(
            name="list_maintenance", toolset="housekeeping", access="read", fn=list_maintenance,
            title="Maintenance requests",
            description=(
                "The hotel's room maintenance requests: open ones by default (status=Resolved or All), for one room "
                "or one code. Next: resolve_maintenance."
            ),
            read_only=True, idempotent=True,
        ),
        ToolDef(
            name="resolve_maintenance", toolset="housekeeping", access="write", fn=resolve_maintenance,
            title="Resolve a maintenance request",
            description=(
                "Mark a room maintenance request fixed, by maintenance_id (list_maintenance). A request already "
                "resolved is left as it is; repeating it is harmless."
            ),
            idempotent=True,
        ),
    ]
