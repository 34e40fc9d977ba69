"""Guest service requests at the front desk: "3 fresh towels please", "please remove the minibar". A request goes to
the department that does it (housekeeping, engineering...), which completes it; the desk then follows up with the
guest and closes it (OPERA's three stages: Open, PendingFollowUp, Closed).

A request is a write the department acts on twice if it is made twice, and OPERA answers a new one with no id:
`open_guest_request` reads the stay's requests before it posts and, when the answer is lost, settles it by finding
the new request of that code and comment instead of posting again. Completing and closing read the request first and
send nothing when it is already that far.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, Field

from app.opera.errors import OperaError
from app.opera.lov import ListsOfValuesAPI, codes_text
from app.opera.models import OperaWarning
from app.opera.reservations import CLOSED_STATUSES, ReservationsAPI
from app.opera.service_requests import STAGES, RequestStatus, ServiceRequest, ServiceRequestsAPI, stage
from app.security.untrusted import guest_label
from app.tools.billing import GuardedText, HotelId, ReservationId, refuse_card_numbers
from app.tools.registry import ExactlyOnce, IdempotencyKey, ToolDef, ToolServices, read_reservation, tool_error

Code = Annotated[str, Field(min_length=1, max_length=20, pattern=r"^[A-Za-z0-9_-]+$")]
RequestId = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[0-9A-Za-z-]+$",
                                 description="the request's service_request_id (list_guest_requests)")]
#: What OPERA keeps: a comment and a close description of up to 2000 characters, an action of up to 200.
MAX_COMMENT = 500
MAX_ACTION = 200
MAX_FOLLOW_UP = 500
StatusFilter = Literal["Open", "PendingFollowUp", "Closed", "NotClosed", "All"]
FILTERS: dict[str, tuple[RequestStatus, ...]] = {
    "Open": ("Open",), "PendingFollowUp": ("PendingFollowUp",), "Closed": ("Closed",),
    "NotClosed": ("Open", "PendingFollowUp"), "All": STAGES,
}


class GuestRequestOpened(BaseModel):
    hotel_id: str
    reservation_id: str
    guest_name: str | None = None
    request: ServiceRequest | None = Field(description="the request this call opened (None: opened, but the read "
                                                       "that finds it failed; list_guest_requests shows it)")
    warnings: list[OperaWarning] = Field(default_factory=list)
    next_step: str


class GuestRequestList(BaseModel):
    hotel_id: str
    status: str = Field(description="which requests: Open, PendingFollowUp, Closed, NotClosed or All")
    requests: list[ServiceRequest] = Field(description="oldest first")
    next_step: str


class GuestRequestChanged(BaseModel):
    hotel_id: str
    request: ServiceRequest
    unchanged: bool = Field(description="true: it was already this far, and nothing was sent")
    warnings: list[OperaWarning] = Field(default_factory=list)
    next_step: str


def build(services: ToolServices) -> list[ToolDef]:
    api = ServiceRequestsAPI(services.http)
    lov = ListsOfValuesAPI(services.http)
    reservations = ReservationsAPI(services.http)
    metrics = services.metrics

    async def refuse_unknown(hotel: str, name: str, field: str, value: str) -> None:
        """Refuse, before OPERA is asked, a value not among the property's active ones of list `name`, listing them;
        when the list cannot be read, OPERA decides."""
        known = await lov.refusing(hotel, name, value)
        if known:
            raise ToolError(f"open_guest_request refused: {field} {value!r} is not one of {hotel}'s; nothing was "
                            f"opened. Next step: open_guest_request with one of {codes_text(known)}")

    def ours(found: list[ServiceRequest], code: str, comment: str, before: set[str]) -> ServiceRequest | None:
        """The newest request of this code and comment that was not there before the POST."""
        made = [r for r in found if r.service_request_id not in before and r.code == code
                and (r.comment or "").strip() == comment.strip()]
        return made[-1] if made else None

    async def open_guest_request(
        reservation_id: ReservationId,
        code: Annotated[Code, Field(description=(
            "what is asked, the hotel's service request code, e.g. TOWEL, PILLOW, MIN (minibar); an unknown one is "
            "refused with the hotel's list"))],
        department: Annotated[Code, Field(description=(
            "the department that does it, e.g. HSK (housekeeping), ENG (engineering); an unknown one is refused "
            "with the hotel's list"))],
        comment: Annotated[GuardedText, Field(min_length=1, max_length=MAX_COMMENT, description=(
            "what the guest asked for, for the department, e.g. '3 fresh towels please'"))],
        priority: Annotated[Code | None, Field(description="the hotel's priority code, e.g. HIGH")] = None,
        hotel_id: HotelId = None,
        idempotency_key: IdempotencyKey = None,
    ) -> GuestRequestOpened:
        hotel = services.hotel(hotel_id)
        wanted, unit = code.strip().upper(), department.strip().upper()
        level = priority.strip().upper() if priority else None
        text = services.stamped(refuse_card_numbers("comment", comment, MAX_COMMENT)) or ""
        if not text.strip():
            raise ToolError("open_guest_request: comment is empty; nothing was opened")
        record = await read_reservation(reservations, hotel, reservation_id, "open_guest_request",
                                        find_with="list_in_house or list_arrivals")
        if record.status in CLOSED_STATUSES:
            raise ToolError(
                f"open_guest_request refused: reservation {reservation_id} ({guest_label(record.guest_name)}) is "
                f"{record.status}, so there is no stay to serve; nothing was opened"
            )
        await refuse_unknown(hotel, "ServiceRequestCodes", "code", wanted)
        await refuse_unknown(hotel, "Departments", "department", unit)
        if level:
            await refuse_unknown(hotel, "ServiceRequestPriority", "priority", level)
        what = f"open_guest_request {wanted} on reservation {reservation_id}"
        try:
            before = {r.service_request_id for r in await api.requests(hotel, reservation_id=reservation_id)}
        except OperaError as exc:
            raise tool_error(exc, what=f"{what}: reading the stay's requests", next_step="retry") from None
        made: ServiceRequest | None = None
        try:
            warnings = await api.open(hotel, reservation_id=reservation_id, code=wanted, department=unit,
                                      comment=text, priority=level, room=record.room_id,
                                      profile_id=record.profile_id)
        except OperaError as exc:
            # A lost answer after OPERA took it: the new request of this code and comment decides (never a blind
            # repeat).
            try:
                made = ours(await api.requests(hotel, reservation_id=reservation_id), wanted, text, before)
            except OperaError:
                made = None
            if made is None:
                raise tool_error(exc, what=what, next_step="list_guest_requests shows whether it was opened before "
                                                           "opening it again") from None
            warnings = []
        metrics.front_desk_events.labels("service_request").inc()
        if made is None:
            try:
                made = ours(await api.requests(hotel, reservation_id=reservation_id), wanted, text, before)
            except OperaError:
                made = None  # opened: OPERA answers with no id, and the read that finds it failed
        return GuestRequestOpened(
            hotel_id=hotel, reservation_id=reservation_id, guest_name=record.guest_name, request=made,
            warnings=warnings,
            next_step=("the department has it; complete_guest_request with what was done once it is done, then "
                       "close_guest_request after asking the guest"),
        )

    async def find_opened(args: Mapping[str, Any], reference: str) -> GuestRequestOpened | None:
        hotel, reservation_id = str(args["hotel_id"]), str(args["reservation_id"])
        wanted = str(args["code"]).strip().upper()
        found = [r for r in await api.requests(hotel, reservation_id=reservation_id, codes=[wanted])
                 if r.comment and f"[{reference}]" in r.comment]
        if not found:
            return None  # not there: the request is opened
        return GuestRequestOpened(hotel_id=hotel, reservation_id=reservation_id, guest_name=found[-1].guest_name,
                                  request=found[-1], next_step="the request was opened by the first call with this key")

    async def list_guest_requests(
        reservation_id: Annotated[ReservationId | None, Field(description="only this stay's requests")] = None,
        room: Annotated[str | None, Field(max_length=20, pattern=r"^[A-Za-z0-9-]+$",
                                          description="only this room's requests")] = None,
        status: Annotated[StatusFilter, Field(description=(
            "NotClosed (default: open or waiting for the follow-up), Open, PendingFollowUp, Closed or All"))]
        = "NotClosed",
        department: Annotated[Code | None, Field(description="only this department's, e.g. HSK")] = None,
        hotel_id: HotelId = None,
    ) -> GuestRequestList:
        hotel = services.hotel(hotel_id)
        units = [department.strip().upper()] if department else []
        try:
            found = await api.requests(hotel, reservation_id=reservation_id, room=room, statuses=FILTERS[status],
                                       departments=units)
        except OperaError as exc:
            raise tool_error(exc, what=f"list_guest_requests for {hotel}", next_step="retry shortly") from None
        waiting = [r for r in found if r.status == "PendingFollowUp"]
        return GuestRequestList(
            hotel_id=hotel, status=status, requests=found,
            next_step=(f"{len(waiting)} request(s) are done and wait for the follow-up with the guest: "
                       "close_guest_request" if waiting else
                       "complete_guest_request once the department has done one" if found else
                       "nothing matches; open_guest_request records a new request"),
        )

    async def current(hotel: str, request_id: str, reservation_id: str | None, tool: str) -> ServiceRequest:
        try:
            found = await api.requests(hotel, reservation_id=reservation_id)
        except OperaError as exc:
            raise tool_error(exc, what=f"{tool} {request_id}: reading the requests", next_step="retry") from None
        request = next((r for r in found if r.service_request_id == request_id), None)
        if request is None:
            where = f"on reservation {reservation_id}" if reservation_id else f"in {hotel}"
            raise ToolError(f"{tool} refused: no service request {request_id} {where}; nothing was changed. Next "
                            "step: list_guest_requests with status=All shows the requests and their "
                            "service_request_id")
        return request

    async def advance(
        hotel: str, request: ServiceRequest, status: RequestStatus, tool: str, *, action: str | None,
        follow_up: str | None, reservation_id: str | None,
    ) -> GuestRequestChanged:
        try:
            warnings = await api.advance(hotel, request, status, action=action, close_description=follow_up)
        except OperaError as exc:
            raise tool_error(exc, what=f"{tool} {request.service_request_id}", next_step=(
                f"list_guest_requests with status=All shows whether it is {status}; {tool} again is harmless, as it "
                "reads the request first")) from None
        try:
            after = await current(hotel, request.service_request_id, reservation_id, tool)
        except ToolError:
            after = request  # changed; the read that shows it failed
        return GuestRequestChanged(hotel_id=hotel, request=after, unchanged=False, warnings=warnings, next_step=(
            "ask the guest whether all is well, then close_guest_request with the follow-up"
            if status == "PendingFollowUp" else "nothing more to do: the request is closed"))

    async def complete_guest_request(
        service_request_id: RequestId,
        action_taken: Annotated[GuardedText, Field(min_length=1, max_length=MAX_ACTION, description=(
            "what the department did, e.g. '3 towels delivered to room 101'"))],
        reservation_id: Annotated[ReservationId | None, Field(description=(
            "the stay the request is on (list_guest_requests shows it); it makes the read that finds the request "
            "smaller"))] = None,
        hotel_id: HotelId = None,
    ) -> GuestRequestChanged:
        hotel = services.hotel(hotel_id)
        action = refuse_card_numbers("action_taken", action_taken, MAX_ACTION) or ""
        if not action.strip():
            raise ToolError("complete_guest_request: action_taken is empty; nothing was changed")
        request = await current(hotel, service_request_id, reservation_id, "complete_guest_request")
        if stage(request.status) >= stage("PendingFollowUp"):
            return GuestRequestChanged(hotel_id=hotel, request=request, unchanged=True, next_step=(
                "nothing to send: it was completed before" + (
                    "; close_guest_request after the follow-up with the guest" if request.status != "Closed"
                    else " and is closed")))
        return await advance(hotel, request, "PendingFollowUp", "complete_guest_request", action=action,
                             follow_up=None, reservation_id=reservation_id)

    async def close_guest_request(
        service_request_id: RequestId,
        follow_up: Annotated[GuardedText, Field(min_length=1, max_length=MAX_FOLLOW_UP, description=(
            "the follow-up with the guest, e.g. 'Guest confirmed, thanked the team'"))],
        action_taken: Annotated[GuardedText | None, Field(max_length=MAX_ACTION, description=(
            "what the department did, when the request was not completed with complete_guest_request"))] = None,
        reservation_id: Annotated[ReservationId | None, Field(description=(
            "the stay the request is on; it makes the read that finds the request smaller"))] = None,
        hotel_id: HotelId = None,
    ) -> GuestRequestChanged:
        hotel = services.hotel(hotel_id)
        note = refuse_card_numbers("follow_up", follow_up, MAX_FOLLOW_UP) or ""
        if not note.strip():
            raise ToolError("close_guest_request: follow_up is empty; nothing was changed")
        action = refuse_card_numbers("action_taken", action_taken, MAX_ACTION)
        request = await current(hotel, service_request_id, reservation_id, "close_guest_request")
        if request.status == "Closed":
            return GuestRequestChanged(hotel_id=hotel, request=request, unchanged=True,
                                       next_step="nothing to send: it was closed before")
        if not (action or request.action):
            raise ToolError(
                f"close_guest_request refused: request {service_request_id} is {request.status} and OPERA holds no "
                "action taken for it; nothing was changed. Next step: close_guest_request with action_taken (what "
                "the department did), or complete_guest_request first"
            )
        return await advance(hotel, request, "Closed", "close_guest_request", action=action or request.action,
                             follow_up=note, reservation_id=reservation_id)

    return [
        ToolDef(
            name="open_guest_request", toolset="front_desk", access="write", fn=open_guest_request,
            title="Open a guest service request",
            description=(
                "Ask a department to do something for a guest (code from the hotel's list: TOWEL, PILLOW, MIN...; "
                "department: HSK, ENG...; comment: what the guest asked) on a stay due to arrive or in house; "
                "OPERA gives it the guest and room of the stay. The stay's requests are read first and a lost "
                "answer is settled by reading them, so a request is never opened twice; idempotency_key makes a "
                "repeat return the first result. Next: complete_guest_request, then close_guest_request."
            ),
            exactly_once=ExactlyOnce(find_opened, found_by="the reference in the request's comment",
                                     check_first=True),
        ),
        ToolDef(
            name="list_guest_requests", toolset="front_desk", access="read", fn=list_guest_requests,
            title="Guest service requests",
            description=(
                "The hotel's guest service requests, for one stay, room or department: those not closed by default "
                "(status=Open, PendingFollowUp, Closed or All), with what was asked, what was done and the "
                "follow-up. Next: complete_guest_request or close_guest_request."
            ),
            read_only=True, idempotent=True,
        ),
        ToolDef(
            name="complete_guest_request", toolset="front_desk", access="write", fn=complete_guest_request,
            title="Complete a guest service request",
            description=(
                "Record that the department has done a request (OPERA's PendingFollowUp), with action_taken, by "
                "service_request_id (list_guest_requests). A request already completed or closed is left as it is; "
                "repeating it is harmless. Next: close_guest_request after asking the guest."
            ),
            idempotent=True,
        ),
        ToolDef(
            name="close_guest_request", toolset="front_desk", access="write", fn=close_guest_request,
            title="Close a guest service request",
            description=(
                "Close a request once the follow-up with the guest is done (follow_up: what the guest said), by "
                "service_request_id; a request not yet completed also needs action_taken. A closed request is left "
                "as it is; repeating it is harmless."
            ),
            idempotent=True,
        ),
    ]
