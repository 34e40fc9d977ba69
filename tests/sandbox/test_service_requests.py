"""The sandbox's guest service requests over real HTTP (fof postServiceRequests, getServiceRequests,
putServiceRequests, in the bodies of Oracle's workflow "Create a Service Request for a Guest") and their lists (lov
getServiceRequestCodesLOV, Departments, ServiceRequestPriority)."""

from __future__ import annotations

from typing import Any

import httpx2

from tests.contract.plugin import SandboxServer

FOF = "/fof/v1/hotels/SAND01"


def in_house(sandbox_server: SandboxServer, skip: int = 0) -> Any:
    hotel = sandbox_server.sandbox.enterprise.hotels["SAND01"]
    found = [r for r in sorted(hotel.reservations.values(), key=lambda r: int(r.reservation_id))
             if r.status == "InHouse" and r.room_id]
    return found[skip]


def oracle_request(reservation: Any, **changes: Any) -> dict[str, Any]:
    """The detail of Oracle's workflow, for a reservation of the sandbox."""
    detail = {
        "hotelId": "SAND01", "code": "MIN", "status": "Open", "priority": "HIGH", "department": {"code": "HSK"},
        "reservationIdList": [{"type": "Reservation", "id": reservation.reservation_id}],
        "profileId": {"type": "Profile", "id": reservation.profile_id}, "guestName": "Smith, John",
        "room": reservation.room_id, "openDate": "2021-03-15 23:50:00.0", "comment": "Please remove minibar",
    }
    detail.update(changes)
    return {"serviceRequestsDetails": [{k: v for k, v in detail.items() if v is not None}]}


async def listed(ohip: httpx2.AsyncClient, **query: Any) -> list[dict[str, Any]]:
    response = await ohip.get(f"{FOF}/serviceRequests", params=query)
    if response.status_code == 204:
        return []
    assert response.status_code == 200, response.text
    rows: list[dict[str, Any]] = response.json()["serviceRequestsDetails"]
    return rows


async def test_oracle_workflow_opens_lists_and_closes_a_request(
        ohip: httpx2.AsyncClient, sandbox_server: SandboxServer) -> None:
    stay = in_house(sandbox_server)
    made = await ohip.post(f"{FOF}/serviceRequests", json=oracle_request(stay))
    assert made.status_code == 201, made.text
    assert made.headers["Location"].endswith("/fof/v1/hotels/SAND01/serviceRequests")

    (row,) = await listed(ohip, reservationId=stay.reservation_id)
    assert row["serviceRequestId"]["type"] == "ServiceRequestID" and row["serviceRequestId"]["id"]
    assert (row["code"], row["status"], row["priority"], row["department"]) == (
        "MIN", "Open", "HIGH", {"code": "HSK", "description": "Housekeeping"})
    assert (row["room"], row["guestName"], row["comment"]) == (stay.room_id, "Smith, John", "Please remove minibar")
    assert row["openDate"].startswith("2021-03-15T23:50:00")
    assert row["reservationIdList"] == [{"type": "Reservation", "id": stay.reservation_id}]
    assert await listed(ohip, status="Closed") == []
    assert len(await listed(ohip, status=["Open", "Closed"], room=stay.room_id)) == 1

    closing = {**row, "status": "Closed", "action": "Minibar removed", "closedBy": "JDOE",
               "closeDescription": "Guest confirmed the minibar is gone", "completionDate": "2021-03-16 09:00:00.0"}
    put = await ohip.put(f"{FOF}/serviceRequests", json={"serviceRequestsDetails": [closing]})
    assert put.status_code == 200, put.text
    (closed,) = await listed(ohip, status="Closed", departmentCodes="HSK", code="MIN")
    assert (closed["status"], closed["action"], closed["closedBy"]) == ("Closed", "Minibar removed", "JDOE")
    assert closed["completionDate"].startswith("2021-03-16T09:00:00") and closed["closedDate"]
    assert await listed(ohip, status="Open") == []


async def test_a_request_takes_the_stay_guest_and_the_code_department_when_not_named(
        ohip: httpx2.AsyncClient, sandbox_server: SandboxServer) -> None:
    stay = in_house(sandbox_server, 1)
    guest = sandbox_server.sandbox.enterprise.profiles[stay.profile_id]
    body = {"serviceRequestsDetails": [{"code": "LEAK", "comment": "tap drips, card 4111 1111 1111 1111 on desk",
                                        "reservationIdList": [{"type": "Reservation", "id": stay.reservation_id}]}]}
    made = await ohip.post(f"{FOF}/serviceRequests", json=body)
    assert made.status_code == 201, made.text
    (row,) = await listed(ohip, reservationId=stay.reservation_id)
    assert row["department"]["code"] == "ENG"  # LEAK goes to engineering, as the property configured the code
    assert row["room"] == stay.room_id and row["profileId"]["id"] == stay.profile_id
    assert row["guestName"] == f"{guest.surname}, {guest.given_name}"
    assert "4111 1111 1111 1111" not in row["comment"] and "XXXX1111" in row["comment"]
    assert row["status"] == "Open" and "priority" not in row


async def test_completing_needs_the_action_and_closing_the_follow_up(
        ohip: httpx2.AsyncClient, sandbox_server: SandboxServer) -> None:
    stay = in_house(sandbox_server, 2)
    assert (await ohip.post(f"{FOF}/serviceRequests", json=oracle_request(stay, code="TOWEL"))).status_code == 201
    (row,) = await listed(ohip, reservationId=stay.reservation_id)

    def put(**changes: Any) -> Any:
        return ohip.put(f"{FOF}/serviceRequests", json={"serviceRequestsDetails": [{**row, **changes}]})

    no_action = await put(status="PendingFollowUp")
    no_follow_up = await put(status="Closed", action="towels delivered")
    room_status = await put(status="DoNotDisturb")
    missing = await put(serviceRequestId={"type": "ServiceRequestID", "id": "424242"})
    assert no_action.status_code == 400 and "action" in no_action.json()["detail"]
    assert no_follow_up.status_code == 400 and "closeDescription" in no_follow_up.json()["detail"]
    assert room_status.status_code == 400 and "housekeeping service status" in room_status.json()["detail"]
    assert missing.status_code == 404 and "424242" in missing.json()["detail"]
    assert (await listed(ohip, reservationId=stay.reservation_id))[0]["status"] == "Open"

    done = await put(status="PendingFollowUp", action="towels delivered")
    assert done.status_code == 200, done.text
    (pending,) = await listed(ohip, status="PendingFollowUp")
    assert pending["action"] == "towels delivered" and pending["completionDate"] and "closedDate" not in pending


async def test_refused_requests_are_specific_and_record_nothing(
        ohip: httpx2.AsyncClient, sandbox_server: SandboxServer) -> None:
    stay = in_house(sandbox_server)
    answers = {
        "code": await ohip.post(f"{FOF}/serviceRequests", json=oracle_request(stay, code="UFO")),
        "retired": await ohip.post(f"{FOF}/serviceRequests", json=oracle_request(stay, code="NEWS")),
        "department": await ohip.post(f"{FOF}/serviceRequests", json=oracle_request(stay, department={"code": "SPA"})),
        "priority": await ohip.post(f"{FOF}/serviceRequests", json=oracle_request(stay, priority="URGENT")),
        "status": await ohip.post(f"{FOF}/serviceRequests", json=oracle_request(stay, status="Closed")),
        "target": await ohip.post(f"{FOF}/serviceRequests", json=oracle_request(
            stay, reservationIdList=None, profileId=None, room=None)),
        "reservation": await ohip.post(f"{FOF}/serviceRequests", json=oracle_request(
            stay, reservationIdList=[{"type": "Reservation", "id": "999999"}])),
        "room": await ohip.post(f"{FOF}/serviceRequests", json=oracle_request(stay, room="9999")),
        "empty": await ohip.post(f"{FOF}/serviceRequests", json={"serviceRequestsDetails": []}),
    }
    statuses = {name: answer.status_code for name, answer in answers.items()}
    assert statuses == {"code": 400, "retired": 400, "department": 400, "priority": 400, "status": 400,
                        "target": 400, "reservation": 404, "room": 404, "empty": 400}
    detail = {name: answer.json()["detail"] for name, answer in answers.items()}
    assert "UFO" in detail["code"] and "TOWEL" in detail["code"] and "NEWS" not in detail["code"]
    assert "SPA" in detail["department"] and "HSK" in detail["department"]
    assert "URGENT" in detail["priority"] and "HIGH" in detail["priority"]
    assert "created Open" in detail["status"]
    assert "reservation" in detail["target"] and "profile" in detail["target"]
    assert await listed(ohip) == []


async def test_the_lists_a_request_names_are_served(ohip: httpx2.AsyncClient) -> None:
    codes = await ohip.get("/lov/v1/listOfValues/hotels/SAND01/serviceRequestCodes")
    everything = await ohip.get("/lov/v1/listOfValues/hotels/SAND01/serviceRequestCodes",
                                params={"includeInactiveFlag": "true"})
    departments = await ohip.get("/lov/v1/listOfValues/Departments",
                                 params={"parameterName": "HotelCode", "parameterValue": "SAND01"})
    priorities = await ohip.get("/lov/v1/listOfValues/ServiceRequestPriority",
                                params={"parameterName": "HotelCode", "parameterValue": "SAND01"})

    def items(response: httpx2.Response) -> list[str]:
        assert response.status_code == 200, response.text
        return [i["code"] for i in response.json()["listOfValues"]["items"]]

    assert "TOWEL" in items(codes) and "NEWS" not in items(codes) and "NEWS" in items(everything)
    assert items(departments) == ["HSK", "ENG", "FO", "FB", "CON"]
    assert items(priorities) == ["HIGH", "MEDIUM", "LOW"]
