"""OPERA service requests (fof): a request for a department to do something for a guest, their room or their stay
("3 Fresh Towels Please", "Please remove minibar": Oracle's workflows "Create a Service Request for a Guest" and the
Contactless Guest Journey). Oracle's user guide: "Service Requests go through 3 stages. Once a request is created, it
is in the OPEN status. When the request is completed by the associated department, the request moves into the
PENDING FOLLOW UP status. Once the follow up is completed and noted in the request, the request moves into the
CLOSED status."

Not to be confused with the housekeeping service status of a room (Do Not Disturb, Make Up Room: hsk
setGuestHousekeepingServiceRequest), which shares the path's last word.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, PrivateAttr

from app.opera.http import OperaHTTP, Operation
from app.opera.models import OperaWarning, as_moment, as_text, warnings_from
from app.opera.reservations import as_dict, as_list

GET_SERVICE_REQUESTS = Operation("fof", "getServiceRequests", "GET", "/hotels/{hotelId}/serviceRequests")
POST_SERVICE_REQUESTS = Operation("fof", "postServiceRequests", "POST", "/hotels/{hotelId}/serviceRequests")
PUT_SERVICE_REQUESTS = Operation("fof", "putServiceRequests", "PUT", "/hotels/{hotelId}/serviceRequests")

#: The three stages of a guest's request, in order (fof serviceRequestStatusType also lists the room's housekeeping
#: service statuses DoNotDisturb and MakeUpRoom, which are not requests of this kind).
RequestStatus = Literal["Open", "PendingFollowUp", "Closed"]
STAGES: tuple[RequestStatus, ...] = ("Open", "PendingFollowUp", "Closed")


class ServiceRequest(BaseModel):
    """One service request (fof serviceRequest)."""

    service_request_id: str = Field(description="OPERA's id of the request; complete_ and close_guest_request take it")
    status: str | None = Field(default=None, description="Open, PendingFollowUp (done, to follow up) or Closed")
    code: str | None = Field(default=None, description="what is asked, the hotel's code, e.g. TOWEL")
    department: str | None = Field(default=None, description="who does it, e.g. HSK")
    priority: str | None = None
    reservation_id: str | None = None
    guest_name: str | None = None
    room: str | None = None
    comment: str | None = Field(default=None, description="what the guest asked for")
    action: str | None = Field(default=None, description="what the department did")
    close_description: str | None = Field(default=None, description="the follow-up with the guest")
    opened_at: datetime | None = None
    completed_at: datetime | None = None
    closed_at: datetime | None = None
    closed_by: str | None = None
    #: The record as OPERA sent it: a change sends it back whole, with only what changes changed.
    _raw: dict[str, Any] = PrivateAttr(default_factory=dict)


def request_from(raw: dict[str, Any]) -> ServiceRequest | None:
    number = as_text(as_dict(raw.get("serviceRequestId")).get("id"))
    if number is None:
        return None
    reservations = [as_text(as_dict(r).get("id")) for r in as_list(raw.get("reservationIdList"))]
    request = ServiceRequest(
        service_request_id=number,
        status=as_text(raw.get("status")),
        code=as_text(raw.get("code")),
        department=as_text(as_dict(raw.get("department")).get("code")),
        priority=as_text(raw.get("priority")),
        reservation_id=next((r for r in reservations if r), None),
        guest_name=as_text(raw.get("guestName")),
        room=as_text(raw.get("room")),
        comment=as_text(raw.get("comment")),
        action=as_text(raw.get("action")),
        close_description=as_text(raw.get("closeDescription")),
        opened_at=as_moment(raw.get("openDate")),
        completed_at=as_moment(raw.get("completionDate")),
        closed_at=as_moment(raw.get("closedDate")),
        closed_by=as_text(raw.get("closedBy")),
    )
    request._raw = copy.deepcopy(raw)
    return request


def stage(status: str | None) -> int:
    """How far a request has come: 0 Open, 1 PendingFollowUp, 2 Closed (an unknown status counts as Open)."""
    return STAGES.index(status) if status in STAGES else 0


class ServiceRequestsAPI:
    """fof service requests."""

    def __init__(self, http: OperaHTTP) -> None:
        self._http = http

    async def requests(
        self, hotel_id: str, *, reservation_id: str | None = None, room: str | None = None,
        statuses: Sequence[RequestStatus] = STAGES, codes: Sequence[str] = (), departments: Sequence[str] = (),
    ) -> list[ServiceRequest]:
        """getServiceRequests, filtered; [] on 204. Never cached: a request opened or completed a minute ago
        counts. The statuses are always sent, so OPERA's default (and the room statuses the same enum lists) does
        not matter."""
        params: dict[str, str | list[str] | None] = {
            "status": list(statuses), "reservationId": reservation_id, "room": room,
            "code": list(codes) or None, "departmentCodes": list(departments) or None,
        }
        response = await self._http.call(GET_SERVICE_REQUESTS, hotel_id=hotel_id, params=params, cache="none")
        if response.status == 204:
            return []
        rows = as_list(as_dict(response.body).get("serviceRequestsDetails"))
        return [r for row in rows if isinstance(row, dict) and (r := request_from(row))]

    async def open(
        self, hotel_id: str, *, reservation_id: str, code: str, department: str, comment: str,
        priority: str | None = None, room: str | None = None, profile_id: str | None = None,
    ) -> list[OperaWarning]:
        """postServiceRequests, in the body of Oracle's workflow: an Open request on the reservation (and its room
        and guest). OPERA answers with no id, so the caller reads the requests back; a POST is never repeated
        blindly. The open date is left to OPERA, which knows the hotel's clock."""
        detail: dict[str, Any] = {
            "hotelId": hotel_id, "code": code, "status": "Open", "department": {"code": department},
            "reservationIdList": [{"type": "Reservation", "id": reservation_id}], "comment": comment,
        }
        if priority:
            detail["priority"] = priority
        if profile_id:
            detail["profileId"] = {"type": "Profile", "id": profile_id}
        if room:
            detail["room"] = room
        response = await self._http.call(POST_SERVICE_REQUESTS, hotel_id=hotel_id,
                                         json={"serviceRequestsDetails": [detail]})
        return warnings_from(response.body)

    async def advance(
        self, hotel_id: str, request: ServiceRequest, status: RequestStatus, *, action: str | None = None,
        close_description: str | None = None,
    ) -> list[OperaWarning]:
        """putServiceRequests, as Oracle's workflow "Update a Service Request" sends it: the whole record as OPERA
        holds it, with the new status and what the department did (`action`) or the follow-up with the guest
        (`closeDescription`). A PUT of the same record twice leaves it as once."""
        detail = copy.deepcopy(request._raw)
        detail["hotelId"] = detail.get("hotelId") or hotel_id
        detail["status"] = status
        if action is not None:
            detail["action"] = action
        if close_description is not None:
            detail["closeDescription"] = close_description
        response = await self._http.call(PUT_SERVICE_REQUESTS, hotel_id=hotel_id,
                                         json={"serviceRequestsDetails": [detail]})
        return warnings_from(response.body)
