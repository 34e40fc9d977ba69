"""OPERA room maintenance requests (hsk): "changing a light bulb, repairing a faulty lock, service a faulty air
conditioning unit and so on, for guest rooms" (Oracle's workflow "Create a Room Maintenance Request"). A request is
not a repair that takes the room out of inventory: that is Out of Order (housekeeping.take_out_of_service).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

from app.opera.http import OperaHTTP, Operation
from app.opera.models import OperaWarning, as_moment, as_text, warnings_from
from app.opera.reservations import as_date, as_dict, as_list

POST_ROOM_MAINTENANCE = Operation(
    "hsk", "postRoomMaintenance", "POST", "/hotels/{hotelId}/rooms/maintenanceCodes/{maintenanceCode}"
)
GET_ROOM_MAINTENANCE = Operation("hsk", "getRoomMaintenance", "GET", "/hotels/{hotelId}/rooms/maintenances")
# Oracle's path spells the parameter `mainteananceId`.
RESOLVE_ROOM_MAINTENANCE = Operation(
    "hsk", "resolveRoomMaintenance", "PUT", "/hotels/{hotelId}/maintenances/{mainteananceId}/resolve"
)

MaintenanceStatus = Literal["UnResolved", "Resolved", "All"]


class MaintenanceRequest(BaseModel):
    """One room maintenance request (hsk roomMaintenanceType)."""

    maintenance_id: str = Field(description="OPERA's id of the request; resolve_maintenance takes it")
    room_id: str | None = None
    maintenance_code: str | None = Field(default=None, description="what is wrong, e.g. AIRCON")
    remarks: str | None = None
    reported_at: datetime | None = None
    reported_by: str | None = None
    resolved: bool = False
    resolved_on: date | None = None
    resolved_by: str | None = None


def request_from(raw: dict[str, object]) -> MaintenanceRequest | None:
    number = as_text(as_dict(raw.get("maintenanceId")).get("id"))
    if number is None:
        return None
    resolve = as_dict(raw.get("resolveInfo"))
    reported = as_moment(raw.get("createDateTime"))
    return MaintenanceRequest(
        maintenance_id=number,
        room_id=as_text(as_dict(raw.get("roomInfo")).get("roomId")),
        maintenance_code=as_text(raw.get("maintenanceCode")),
        remarks=as_text(raw.get("remarks")),
        reported_at=reported,
        reported_by=as_text(raw.get("creatorId")),
        resolved=bool(resolve),
        resolved_on=as_date(resolve.get("resolveDate")),
        resolved_by=as_text(resolve.get("resolveUser")),
    )


class MaintenanceAPI:
    """hsk room maintenance requests."""

    def __init__(self, http: OperaHTTP) -> None:
        self._http = http

    async def requests(
        self, hotel_id: str, *, room_id: str | None = None, codes: Sequence[str] = (),
        status: MaintenanceStatus = "UnResolved", maintenance_id: str | None = None,
    ) -> list[MaintenanceRequest]:
        """getRoomMaintenance, filtered; [] on 204. Never cached: a request reported or resolved a minute ago
        counts. The status is always sent, so OPERA's default does not matter."""
        params: dict[str, str | list[str] | None] = {"roomMaintenanceStatus": status, "roomId": room_id,
                                     "maintenanceCodes": list(codes) or None, "maintenanceId": maintenance_id}
        response = await self._http.call(GET_ROOM_MAINTENANCE, hotel_id=hotel_id, params=params, cache="none")
        if response.status == 204:
            return []
        rows = as_list(as_dict(as_dict(response.body).get("roomMaintenance")).get("roomMaintenance"))
        return [r for row in rows if isinstance(row, dict) and (r := request_from(row))]

    async def report(
        self, hotel_id: str, room_ids: Sequence[str], code: str, remarks: str | None
    ) -> list[OperaWarning]:
        """postRoomMaintenance, in the body of Oracle's workflow: one request per room. OPERA answers with no id,
        so the caller reads the requests back; a POST is never repeated blindly."""
        criteria: dict[str, object] = {"roomIds": list(room_ids), "hotelId": hotel_id, "maintenanceCode": code}
        if remarks:
            criteria["remarks"] = remarks
        response = await self._http.call(
            POST_ROOM_MAINTENANCE, hotel_id=hotel_id, path_params={"maintenanceCode": code},
            json={"criteria": criteria},
        )
        return warnings_from(response.body)

    async def resolve(self, hotel_id: str, maintenance_id: str) -> list[OperaWarning]:
        """resolveRoomMaintenance, in the body of Oracle's workflow."""
        body = {"criteria": {"maintenanceId": {"type": "RoomMaintenanceId", "id": maintenance_id},
                             "hotelId": hotel_id}}
        response = await self._http.call(
            RESOLVE_ROOM_MAINTENANCE, hotel_id=hotel_id, path_params={"mainteananceId": maintenance_id}, json=body
        )
        return warnings_from(response.body)
