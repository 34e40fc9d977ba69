"""The sandbox's room maintenance requests over real HTTP (hsk postRoomMaintenance, getRoomMaintenance,
resolveRoomMaintenance, with the bodies of Oracle's workflow "Create a Room Maintenance Request") and their codes
(lov MaintenanceCodes)."""

from __future__ import annotations

from typing import Any

import httpx2

HSK = "/hsk/v1/hotels/SAND01"


async def report(ohip: httpx2.AsyncClient, code: str, rooms: list[str], **criteria: Any) -> httpx2.Response:
    body = {"criteria": {"roomIds": rooms, "hotelId": "SAND01", "maintenanceCode": code, **criteria}}
    return await ohip.post(f"{HSK}/rooms/maintenanceCodes/{code}", json=body)


async def requests_of(ohip: httpx2.AsyncClient, **query: Any) -> list[dict[str, Any]]:
    response = await ohip.get(f"{HSK}/rooms/maintenances", params=query)
    if response.status_code == 204:
        return []
    assert response.status_code == 200, response.text
    rows: list[dict[str, Any]] = response.json()["roomMaintenance"]["roomMaintenance"]
    return rows


async def test_a_request_per_room_is_listed_until_resolved(ohip: httpx2.AsyncClient) -> None:
    assert await requests_of(ohip, roomMaintenanceStatus="All") == []

    made = await report(ohip, "AIRCON", ["101", "102"], remarks="AC Repair")

    assert made.status_code == 201, made.text
    assert made.headers["Location"].endswith("/hsk/v1/hotels/SAND01/rooms/maintenances")
    open_ones = await requests_of(ohip, roomMaintenanceStatus="UnResolved")
    assert [(r["roomInfo"]["roomId"], r["maintenanceCode"], r["remarks"]) for r in open_ones] == [
        ("101", "AIRCON", "AC Repair"), ("102", "AIRCON", "AC Repair")]
    first = open_ones[0]["maintenanceId"]
    assert first["type"] == "RoomMaintenanceId"
    assert [r["roomInfo"]["roomId"] for r in await requests_of(ohip, roomId="102")] == ["102"]

    body = {"criteria": {"maintenanceId": first, "hotelId": "SAND01"}}
    resolved = await ohip.put(f"{HSK}/maintenances/{first['id']}/resolve", json=body)
    again = await ohip.put(f"{HSK}/maintenances/{first['id']}/resolve", json=body)

    assert resolved.status_code == 200 and again.status_code == 200
    (done,) = await requests_of(ohip, roomMaintenanceStatus="Resolved")
    assert done["maintenanceId"] == first and "resolveDate" in done["resolveInfo"]
    assert [r["roomInfo"]["roomId"] for r in await requests_of(ohip, roomMaintenanceStatus="UnResolved")] == ["102"]
    assert len(await requests_of(ohip, roomMaintenanceStatus="All", maintenanceCodes="AIRCON")) == 2


async def test_maintenance_refusals_are_specific_and_record_nothing(ohip: httpx2.AsyncClient) -> None:
    unknown_code = await report(ohip, "UFO", ["101"])
    unknown_room = await report(ohip, "TV", ["101", "9999"])
    mismatch = await ohip.post(f"{HSK}/rooms/maintenanceCodes/TV",
                               json={"criteria": {"roomIds": ["101"], "maintenanceCode": "LOCK"}})
    card = await report(ohip, "TV", ["103"], remarks="guest card 4111 1111 1111 1111 left in room")
    missing = await ohip.put(f"{HSK}/maintenances/424242/resolve", json={})

    assert unknown_code.status_code == 400 and "AIRCON" in unknown_code.json()["detail"]
    assert unknown_room.status_code == 404 and "9999" in unknown_room.json()["detail"]
    assert mismatch.status_code == 400 and "LOCK" in mismatch.json()["detail"]
    assert missing.status_code == 404
    assert card.status_code == 201
    (only,) = await requests_of(ohip, roomMaintenanceStatus="All")
    assert only["roomInfo"]["roomId"] == "103" and "4111 1111 1111 1111" not in only["remarks"]


async def test_the_maintenance_codes_are_a_list_of_values(ohip: httpx2.AsyncClient) -> None:
    response = await ohip.get("/lov/v1/listOfValues/MaintenanceCodes")
    assert response.status_code == 200, response.text
    codes = [i["code"] for i in response.json()["listOfValues"]["items"]]
    assert "AIRCON" in codes and "PLUMB" in codes
