"""The sandbox's fof routes over real HTTP: the room list and its filters, room assignment, check-in and their
undo operations, with the refusals a front desk meets (wrong room type, occupied or out-of-order room, not due in).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import httpx2
import pytest

from tests.contract.plugin import SandboxServer

BD = date(2026, 5, 1)
ROOMS = "/fof/v1/hotels/SAND01/rooms"
RSV = "/rsv/v1/hotels/SAND01/reservations"


async def book(ohip: httpx2.AsyncClient, room_type: str = "KNG", arrival: date = BD, nights: int = 2,
               rate_plan: str = "BAR") -> str:
    """A new reservation with a cash payment method; its id comes from Location."""
    start, end = arrival.isoformat(), (arrival + timedelta(days=nights)).isoformat()
    stay = {
        "arrivalDate": start,
        "departureDate": end,
        "guestCounts": {"adults": 1, "children": 0},
        "roomRates": [
            {"roomType": room_type, "ratePlanCode": rate_plan, "start": start, "end": end, "numberOfUnits": 1}
        ],
    }
    guest = {"customer": {"personName": [{"givenName": "Tess", "surname": "Ferrand", "nameType": "Primary"}]}}
    reservation = {
        "hotelId": "SAND01",
        "roomStay": stay,
        "reservationGuests": [{"primary": True, "profileInfo": {"profile": guest}}],
        "reservationPaymentMethods": [{"paymentMethod": "CA", "folioView": 1}],
    }
    response = await ohip.post(RSV, json={"reservations": {"reservation": [reservation]}})
    assert response.status_code == 201, response.text
    return response.headers["location"].rsplit("/", 1)[1]


async def rooms(ohip: httpx2.AsyncClient, *params: tuple[str, Any]) -> list[dict[str, Any]]:
    response = await ohip.get(ROOMS, params=[*params, ("limit", 200)])
    assert response.status_code == 200, response.text
    rows: list[dict[str, Any]] = response.json()["hotelRoomsDetails"]["room"]
    return rows


def status_of(room: dict[str, Any]) -> dict[str, Any]:
    status: dict[str, Any] = room["housekeeping"]["roomStatus"]
    return status


async def free_room(ohip: httpx2.AsyncClient, room_type: str) -> str:
    """A vacant, clean or inspected room of the type that no arrival holds."""
    rows = await rooms(
        ohip,
        ("roomType", room_type),
        ("hotelFORoomStatus", "Vacant"),
        ("hotelRoomStatus", "Clean"),
        ("hotelRoomStatus", "Inspected"),
    )
    free = [r["roomId"] for r in rows if status_of(r)["reservationStatusList"] == ["NotReserved"]]
    assert free, f"no free {room_type} room in the seed"
    return free[0]


async def assign(ohip: httpx2.AsyncClient, reservation_id: str, room_id: str, **criteria: Any) -> httpx2.Response:
    body = {"criteria": {"hotelId": "SAND01", "roomId": room_id, **criteria}}
    return await ohip.post(f"/fof/v1/hotels/SAND01/reservations/{reservation_id}/roomAssignments", json=body)


async def check_in(ohip: httpx2.AsyncClient, reservation_id: str, room_id: str | None = None, *,
                   ignore_warnings: bool = True) -> httpx2.Response:
    details: dict[str, Any] = {"ignoreWarnings": ignore_warnings}
    if room_id:
        details["roomId"] = room_id
    url = f"/fof/v1/hotels/SAND01/reservations/{reservation_id}/checkIns"
    return await ohip.post(url, json={"reservation": details, "fetchReservationInstruction": ["ReservationDetail"]})


async def reservation(ohip: httpx2.AsyncClient, reservation_id: str) -> dict[str, Any]:
    body: dict[str, Any] = (await ohip.get(f"{RSV}/{reservation_id}")).json()
    return body["reservations"]["reservation"][0]  # type: ignore[no-any-return]


# ------------------------------------------------------------------------------------------------ room list


async def test_rooms_list_every_room_with_paging(ohip: httpx2.AsyncClient) -> None:
    first = (await ohip.get(ROOMS, params={"limit": 30})).json()
    second = (await ohip.get(ROOMS, params={"limit": 30, "offset": 30})).json()

    assert (first["totalResults"], first["count"], first["hasMore"]) == (100, 30, True)
    ids = [r["roomId"] for r in first["hotelRoomsDetails"]["room"] + second["hotelRoomsDetails"]["room"]]
    assert len(set(ids)) == 60
    row = first["hotelRoomsDetails"]["room"][0]
    assert row["roomType"]["pseudo"] is False
    assert status_of(row)["frontOfficeStatus"] in ("Vacant", "Occupied")


async def test_room_status_and_front_office_filters(ohip: httpx2.AsyncClient) -> None:
    dirty = await rooms(ohip, ("hotelRoomStatus", "Dirty"))
    occupied = await rooms(ohip, ("hotelFORoomStatus", "Occupied"))

    assert dirty and all(status_of(r)["roomStatus"] == "Dirty" for r in dirty)
    assert occupied and all(status_of(r)["frontOfficeStatus"] == "Occupied" for r in occupied)
    assert all({"StayOver", "DueOut", "Arrived"} & set(status_of(r)["reservationStatusList"]) for r in occupied)
    assert all(r["housekeeping"]["roomPersons"]["frontOfficePersons"] >= 1 for r in occupied)


@pytest.mark.lenient_requests  # the workflow's alias of hotelFORoomStatus, not a name Oracle declares
async def test_the_workflow_spelling_of_the_vacancy_filter_is_accepted(ohip: httpx2.AsyncClient) -> None:
    by_spec = await rooms(ohip, ("hotelFORoomStatus", "Vacant"))
    by_workflow = await rooms(ohip, ("hotelRoomFrontOfficeStatus", "Vacant"))

    assert by_spec and [r["roomId"] for r in by_spec] == [r["roomId"] for r in by_workflow]
    assert all(status_of(r)["frontOfficeStatus"] == "Vacant" for r in by_spec)


async def test_room_type_floor_and_number_range_filters(ohip: httpx2.AsyncClient) -> None:
    suites = await rooms(ohip, ("roomType", "STE"))
    ranged = await rooms(ohip, ("fromRoomNumber", "105"), ("toRoomNumber", "110"))
    floor = suites[0]["floor"]
    on_floor = await rooms(ohip, ("floor", floor))

    assert suites and {r["roomType"]["roomType"] for r in suites} == {"STE"}
    assert ranged and all(105 <= int(r["roomId"]) <= 110 for r in ranged)
    assert on_floor and {r["floor"] for r in on_floor} == {floor}


async def test_an_unknown_room_status_filter_is_refused_naming_the_parameter(ohip: httpx2.AsyncClient) -> None:
    response = await ohip.get(ROOMS, params={"hotelRoomStatus": "Filthy"})
    assert response.status_code == 400
    assert response.json()["o:errorPath"] == "hotelRoomStatus"
    assert "Inspected" in response.json()["detail"]


async def test_a_date_window_over_180_days_is_refused(ohip: httpx2.AsyncClient) -> None:
    params = {"hotelRoomStartDate": "2026-05-01", "hotelRoomEndDate": "2026-12-31"}
    response = await ohip.get(ROOMS, params=params)
    assert response.status_code == 400
    assert "180" in response.json()["detail"]


# ----------------------------------------------------------------------------------------------- assignment


async def test_assigning_a_free_room_shows_in_rsv_and_in_the_room_list(ohip: httpx2.AsyncClient) -> None:
    reservation_id = await book(ohip)
    room_id = await free_room(ohip, "KNG")

    response = await assign(ohip, reservation_id, room_id)

    assert response.status_code == 201, response.text
    assert (await reservation(ohip, reservation_id))["roomStay"]["currentRoomInfo"]["roomId"] == room_id
    row = (await rooms(ohip, ("fromRoomNumber", room_id), ("toRoomNumber", room_id)))[0]
    assert status_of(row)["reservationStatusList"] == ["Arrival"]


async def test_a_room_of_another_type_is_refused_unless_the_new_type_is_charged(ohip: httpx2.AsyncClient) -> None:
    reservation_id = await book(ohip, "KNG")
    double = await free_room(ohip, "DBL")

    refused = await assign(ohip, reservation_id, double)

    assert refused.status_code == 400
    detail = refused.json()["detail"]
    assert "DBL" in detail and "KNG" in detail and "updateRoomTypeCharged" in detail
    assert "currentRoomInfo" not in (await reservation(ohip, reservation_id))["roomStay"]

    upgraded = await assign(ohip, reservation_id, double, updateRoomTypeCharged=True)

    assert upgraded.status_code == 201, upgraded.text
    assert "DBL" in upgraded.json()["warnings"][0]["value"]
    stay = (await reservation(ohip, reservation_id))["roomStay"]
    assert stay["currentRoomInfo"] == {"roomId": double, "roomType": "DBL"}
    assert stay["roomRates"][0]["roomType"] == "DBL"


async def test_a_refused_upgrade_leaves_the_booked_room_type(ohip: httpx2.AsyncClient) -> None:
    reservation_id = await book(ohip, "KNG")
    dirty = await rooms(ohip, ("roomType", "DBL"), ("hotelFORoomStatus", "Vacant"), ("hotelRoomStatus", "Dirty"))
    room_id = next(r["roomId"] for r in dirty if status_of(r)["reservationStatusList"] == ["NotReserved"])

    response = await assign(ohip, reservation_id, room_id, updateRoomTypeCharged=True)

    assert response.status_code == 400
    assert "Dirty" in response.json()["detail"]
    stay = (await reservation(ohip, reservation_id))["roomStay"]
    assert stay["roomRates"][0]["roomType"] == "KNG"
    assert "currentRoomInfo" not in stay


async def test_assigning_an_unknown_room_is_404(ohip: httpx2.AsyncClient) -> None:
    reservation_id = await book(ohip)
    response = await assign(ohip, reservation_id, "9999")
    assert response.status_code == 404
    assert "9999" in response.json()["detail"]


async def test_an_occupied_room_cannot_be_assigned(ohip: httpx2.AsyncClient) -> None:
    reservation_id = await book(ohip)
    occupied = await rooms(ohip, ("roomType", "KNG"), ("hotelFORoomStatus", "Occupied"))
    staying = [r for r in occupied if "StayOver" in status_of(r)["reservationStatusList"]]

    response = await assign(ohip, reservation_id, staying[0]["roomId"])

    assert response.status_code == 400
    assert "occupied" in response.json()["detail"]


async def test_an_out_of_order_room_cannot_be_assigned(ohip: httpx2.AsyncClient) -> None:
    reservation_id = await book(ohip)
    room_id = await free_room(ohip, "KNG")
    # A repair over the stay's nights (hsk postOutOfOrderRooms), as OPERA takes a room out of order.
    body = {"criteria": {"roomRangeList": {"roomIds": [room_id], "roomOutOfOrder": {
        "start": BD.isoformat(), "end": (BD + timedelta(days=30)).isoformat(), "reasonCode": "PLUMB",
        "returnStatus": "Dirty"}}}}
    repaired = await ohip.post("/hsk/v1/hotels/SAND01/rooms/outOfOrderRooms", json=body)
    assert repaired.status_code == 201, repaired.text

    response = await assign(ohip, reservation_id, room_id)

    assert response.status_code == 400
    assert "OutOfOrder" in response.json()["detail"]


async def test_unassigning_frees_the_room(ohip: httpx2.AsyncClient) -> None:
    reservation_id = await book(ohip)
    room_id = await free_room(ohip, "KNG")
    await assign(ohip, reservation_id, room_id)

    url = f"/fof/v1/hotels/SAND01/reservations/{reservation_id}/rooms"
    response = await ohip.put(url, json={"overrideRoomNumberLocked": True})

    assert response.status_code == 200, response.text
    assert "currentRoomInfo" not in (await reservation(ohip, reservation_id))["roomStay"]
    again = await ohip.put(url, json={})
    assert again.status_code == 400
    assert "no room" in again.json()["detail"]


# ------------------------------------------------------------------------------------------------- check-in


async def test_check_in_makes_the_guest_in_house_and_the_room_occupied(ohip: httpx2.AsyncClient) -> None:
    reservation_id = await book(ohip, "QUN")
    room_id = await free_room(ohip, "QUN")

    response = await check_in(ohip, reservation_id, room_id)

    assert response.status_code == 201, response.text
    body = response.json()
    assert body["reservation"][0]["reservationStatus"] == "InHouse"
    assert any(w["code"] == "ROOM_ASSIGNED" for w in body["warnings"])
    row = (await rooms(ohip, ("fromRoomNumber", room_id), ("toRoomNumber", room_id)))[0]
    assert status_of(row)["frontOfficeStatus"] == "Occupied"
    assert status_of(row)["reservationStatusList"] == ["Arrived"]
    assert (await reservation(ohip, reservation_id))["computedReservationStatus"] == "InHouse"
    # Nothing is posted at check-in: the night audit posts room and tax (REAL-OPERA S6).
    folio = (await ohip.get(f"/csh/v1/hotels/SAND01/reservations/{reservation_id}/folios")).json()
    assert folio["reservationFolioInformation"]["folioWindows"][0]["balance"]["amount"] == 0


async def test_check_in_of_a_reservation_that_is_not_due_in_is_refused(ohip: httpx2.AsyncClient) -> None:
    tomorrow = await book(ohip, "DBL", arrival=BD + timedelta(days=1))
    room_id = await free_room(ohip, "DBL")

    response = await check_in(ohip, tomorrow, room_id)

    assert response.status_code == 400
    assert "DueIn" in response.json()["detail"]
    assert (await reservation(ohip, tomorrow))["reservationStatus"] == "Reserved"


async def test_check_in_into_a_dirty_room_is_a_warning_that_ignore_warnings_overrides(
        ohip: httpx2.AsyncClient) -> None:
    """"The status of the room needs to be reviewed" is one of postCheckIn's validation checks, and ignoreWarnings
    "dictates whether to ignore warnings before check in": without it a dirty room is refused, with it the guest is
    checked in and the answer says so."""
    reservation_id = await book(ohip, "KNG")
    room_id = await free_room(ohip, "KNG")
    await assign(ohip, reservation_id, room_id)
    body = {"roomList": [{"roomId": room_id}], "housekeepingRoomStatus": "Dirty"}
    assert (await ohip.put("/hsk/v1/hotels/SAND01/rooms/status", json=body)).status_code == 200

    refused = await check_in(ohip, reservation_id, ignore_warnings=False)
    assert refused.status_code == 400 and "Dirty" in refused.json()["detail"]
    assert (await reservation(ohip, reservation_id))["computedReservationStatus"] == "DueIn"

    overridden = await check_in(ohip, reservation_id)
    assert overridden.status_code == 201, overridden.text
    assert [w["code"] for w in overridden.json()["warnings"] if w["code"] == "ROOM_NOT_READY"] == ["ROOM_NOT_READY"]
    assert (await reservation(ohip, reservation_id))["computedReservationStatus"] == "InHouse"


async def test_check_in_with_another_room_than_the_assigned_one_is_refused(ohip: httpx2.AsyncClient) -> None:
    """postCheckIn's roomId is the "expected room no.": OPERA checks that it matches the room assigned."""
    reservation_id = await book(ohip, "KNG")
    room_id = await free_room(ohip, "KNG")
    await assign(ohip, reservation_id, room_id)
    other = next(r["roomId"] for r in await rooms(ohip, ("roomType", "KNG"), ("hotelFORoomStatus", "Vacant"),
                                                   ("hotelRoomStatus", "Inspected"))
                 if r["roomId"] != room_id)

    response = await check_in(ohip, reservation_id, other)

    assert response.status_code == 400 and room_id in response.json()["detail"]
    assert (await reservation(ohip, reservation_id))["computedReservationStatus"] == "DueIn"


async def test_check_in_without_any_room_is_refused(ohip: httpx2.AsyncClient) -> None:
    reservation_id = await book(ohip, "KNG")
    response = await check_in(ohip, reservation_id)
    assert response.status_code == 400
    assert "assign" in response.json()["detail"]


async def test_cancelling_a_check_in_returns_the_guest_to_due_in(ohip: httpx2.AsyncClient) -> None:
    reservation_id = await book(ohip, "KNG")
    room_id = await free_room(ohip, "KNG")
    assert (await check_in(ohip, reservation_id, room_id)).status_code == 201

    url = f"/fof/v1/hotels/SAND01/reservations/{reservation_id}/checkIns"
    response = await ohip.delete(url, params={"roomStatus": "Inspected"})

    assert response.status_code == 200, response.text
    assert (await reservation(ohip, reservation_id))["computedReservationStatus"] == "DueIn"
    row = (await rooms(ohip, ("fromRoomNumber", room_id), ("toRoomNumber", room_id)))[0]
    assert (status_of(row)["frontOfficeStatus"], status_of(row)["roomStatus"]) == ("Vacant", "Inspected")


async def test_a_check_in_with_a_charge_posted_is_not_reversed_and_the_charge_stays(ohip: httpx2.AsyncClient) -> None:
    """Oracle's user guide: a check-in is reversed only if "checked in today and has a zero balance (that is, no
    charges posted...)". The sandbox used to reverse it and drop the folio, charges and all."""
    reservation_id = await book(ohip, "KNG")
    room_id = await free_room(ohip, "KNG")
    assert (await check_in(ohip, reservation_id, room_id)).status_code == 201
    criteria = {"hotelId": "SAND01", "reservationId": {"id": reservation_id, "type": "Reservation"},
                "charges": [{"transactionCode": "2000", "price": {"amount": 12.5, "currencyCode": "USD"}}]}
    posted = await ohip.post(f"/csh/v1/hotels/SAND01/reservations/{reservation_id}/charges",
                             json={"criteria": criteria})
    assert posted.status_code == 201, posted.text

    response = await ohip.delete(f"/fof/v1/hotels/SAND01/reservations/{reservation_id}/checkIns")

    assert response.status_code == 400 and response.json()["o:errorCode"] == "OHIPSIM-FOF-POSTINGS"
    assert (await reservation(ohip, reservation_id))["computedReservationStatus"] == "InHouse"
    folio = (await ohip.get(f"/csh/v1/hotels/SAND01/reservations/{reservation_id}/folios")).json()
    assert folio["reservationFolioInformation"]["folioWindows"][0]["balance"]["amount"] == 12.5


async def test_rooms_of_another_hotel_are_its_own(ohip: httpx2.AsyncClient) -> None:
    response = await ohip.get("/fof/v1/hotels/SAND02/rooms", params={"roomType": "TWN"})
    assert response.status_code == 200
    body = response.json()
    assert body["hotelRoomsDetails"]["hotelId"] == "SAND02"
    assert body["totalResults"] > 0


async def alerts_of(ohip: httpx2.AsyncClient, reservation_id: str, *params: tuple[str, Any]) -> list[dict[str, Any]]:
    response = await ohip.get(f"{RSV}/{reservation_id}/alerts", params=list(params))
    assert response.status_code == 200, response.text
    alerts: list[dict[str, Any]] = response.json().get("alerts", [])
    return alerts


async def test_reservation_alerts_are_kept_listed_by_area_and_a_stop_alert_holds_the_check_in(
    ohip: httpx2.AsyncClient,
) -> None:
    """rsv postBulkReservationAlerts and getAlertNotices (alertArea); an alert with stopCheckInCheckOut ("the
    Reservation Stop Check In/Check Out Global Alert") holds postCheckIn until it is changed by its id."""
    reservation_id = await book(ohip)
    body = {"reservations": [{"hotelId": "SAND01", "reservationId": {"id": reservation_id, "type": "Reservation"},
                              "alert": [{"code": "DEP", "area": "CheckIn", "description": "Collect the deposit",
                                         "stopCheckInCheckOut": True},
                                        {"code": "PRK", "area": "CheckOut", "description": "Parking card"}]}]}
    posted = await ohip.post(f"{RSV}/alerts", json=body)
    assert posted.status_code == 201, posted.text
    every = await alerts_of(ohip, reservation_id)
    assert [(a["code"], a["area"], a["stopCheckInCheckOut"]) for a in every] == [
        ("DEP", "CheckIn", True), ("PRK", "CheckOut", False)]
    assert [a["code"] for a in await alerts_of(ohip, reservation_id, ("alertArea", "CheckOut"))] == ["PRK"]

    held = await check_in(ohip, reservation_id, await free_room(ohip, "KNG"))
    assert held.status_code == 400 and held.json()["o:errorCode"] == "OHIPSIM-ALERT-STOP"
    assert "Collect the deposit" in held.json()["detail"]
    lifted = {"reservations": [{"reservationId": {"id": reservation_id, "type": "Reservation"}, "alert": [
        {"id": every[0]["id"], "code": "DEP", "area": "CheckIn", "description": "Deposit collected"}]}]}
    assert (await ohip.post(f"{RSV}/alerts", json=lifted)).status_code == 201
    assert len(await alerts_of(ohip, reservation_id)) == 2
    assert (await check_in(ohip, reservation_id, await free_room(ohip, "KNG"))).status_code == 201


@pytest.mark.lenient_requests
async def test_an_alert_of_an_area_opera_does_not_have_is_refused_and_nothing_is_kept(ohip: httpx2.AsyncClient) -> None:
    reservation_id = await book(ohip)
    alerts = [{"code": "OK", "area": "checkin", "description": "fine"},
              {"code": "X", "area": "Lobby", "description": "?"}]
    bad = await ohip.post(f"{RSV}/alerts", json={"reservations": [
        {"reservationId": {"id": reservation_id, "type": "Reservation"}, "alert": alerts}]})
    assert bad.status_code == 400 and "Lobby" in bad.json()["detail"]
    assert await alerts_of(ohip, reservation_id) == []


# ---------------------------------------------------------------------------------------- Do Not Move (lock)


async def test_a_room_locked_to_a_stay_stays_with_it_unless_overridden(ohip: httpx2.AsyncClient) -> None:
    """roomNumberLocked: "when true, indicates a room number cannot be changed"; the request's flag "updates the do
    not move flag", and overrideInstructions.roomNumberLocked overrides the flag in the database."""
    reservation_id = await book(ohip)
    locked = await free_room(ohip, "KNG")
    assert (await assign(ohip, reservation_id, locked, roomNumberLocked=True)).status_code == 201
    other = await free_room(ohip, "KNG")
    assert (await reservation(ohip, reservation_id))["roomStay"]["roomNumberLocked"] is True

    refused = await assign(ohip, reservation_id, other)
    unassign = await ohip.put(f"/fof/v1/hotels/SAND01/reservations/{reservation_id}/rooms", json={})
    same = await assign(ohip, reservation_id, locked)  # no flag sent: the lock stays
    still = await reservation(ohip, reservation_id)

    assert refused.status_code == 400 and refused.json()["o:errorCode"] == "OHIPSIM-FOF-ROOM-LOCKED"
    assert f"locked to room {locked} (Do Not Move)" in refused.json()["detail"]
    assert unassign.status_code == 400 and "overrideRoomNumberLocked" in unassign.json()["detail"]
    assert same.status_code == 201
    assert still["roomStay"]["currentRoomInfo"]["roomId"] == locked and still["roomStay"]["roomNumberLocked"] is True
    row = (await ohip.get(RSV, params={"reservationIdList": reservation_id})).json()
    assert row["reservations"]["reservationInfo"][0]["roomStay"]["roomNumberLocked"] is True

    moved = await assign(ohip, reservation_id, other, overrideInstructions={"roomNumberLocked": True})
    after = (await reservation(ohip, reservation_id))["roomStay"]
    assert moved.status_code == 201, moved.text
    assert after["currentRoomInfo"]["roomId"] == other and after["roomNumberLocked"] is False


async def test_sending_the_lock_false_lifts_it(ohip: httpx2.AsyncClient) -> None:
    reservation_id = await book(ohip)
    room_id = await free_room(ohip, "KNG")
    await assign(ohip, reservation_id, room_id, roomNumberLocked=True)
    assert (await reservation(ohip, reservation_id))["roomStay"]["roomNumberLocked"] is True

    lifted = await assign(ohip, reservation_id, room_id, roomNumberLocked=False)
    assert (await reservation(ohip, reservation_id))["roomStay"]["roomNumberLocked"] is False
    other = await free_room(ohip, "KNG")
    moved = await assign(ohip, reservation_id, other)

    assert lifted.status_code == 201 and moved.status_code == 201, moved.text
    assert (await reservation(ohip, reservation_id))["roomStay"]["currentRoomInfo"]["roomId"] == other


async def test_a_locked_stay_keeps_its_room_type(ohip: httpx2.AsyncClient) -> None:
    reservation_id = await book(ohip, "KNG")
    room_id = await free_room(ohip, "KNG")
    await assign(ohip, reservation_id, room_id, roomNumberLocked=True)
    change = {"reservationIdList": [{"id": reservation_id, "type": "Reservation"}], "hotelId": "SAND01",
              "roomStay": {"roomRates": [{"roomType": "DBL"}]}}
    body = {"reservations": [change]}

    response = await ohip.put(f"{RSV}/{reservation_id}", json=body)

    assert response.status_code == 400 and response.json()["o:errorCode"] == "OHIPSIM-FOF-ROOM-LOCKED"
    stay = (await reservation(ohip, reservation_id))["roomStay"]
    assert stay["currentRoomInfo"] == {"roomId": room_id, "roomType": "KNG"}


# ------------------------------------------------------------------------------------------------ room moves


async def move(ohip: httpx2.AsyncClient, reservation_id: str, to_room: str, **criteria: Any) -> httpx2.Response:
    body = {"criteria": {"hotelId": "SAND01", "reservationIdList": [{"id": reservation_id, "type": "Reservation"}],
                         **criteria}}
    return await ohip.put(f"/fof/v1/hotels/SAND01/reservations/{reservation_id}/rooms/{to_room}/roomMoves", json=body)


async def move_history(ohip: httpx2.AsyncClient, reservation_id: str) -> httpx2.Response:
    return await ohip.get(f"/fof/v1/hotels/SAND01/reservations/{reservation_id}/roomMoveHistory")


async def test_an_in_house_guest_moves_the_room_left_takes_its_status_and_the_history_says_so(
        ohip: httpx2.AsyncClient) -> None:
    reservation_id = await book(ohip, "QUN")
    first = await free_room(ohip, "QUN")
    assert (await check_in(ohip, reservation_id, first)).status_code == 201
    assert (await move_history(ohip, reservation_id)).status_code == 204  # "RoomMoveHistory not found."
    second = await free_room(ohip, "QUN")
    assert second != first

    # the original room in the body, the target in the path (Oracle's workflow "Perform a Room Move")
    response = await move(ohip, reservation_id, second, roomId=first, oldRoomStatus="Pickup", reasonCode="NSE",
                          description="Noise from the street")

    assert response.status_code == 200, response.text
    assert (await reservation(ohip, reservation_id))["roomStay"]["currentRoomInfo"]["roomId"] == second
    left = (await rooms(ohip, ("fromRoomNumber", first), ("toRoomNumber", first)))[0]
    taken = (await rooms(ohip, ("fromRoomNumber", second), ("toRoomNumber", second)))[0]
    assert status_of(left)["frontOfficeStatus"] == "Vacant" and status_of(left)["roomStatus"] == "Pickup"
    assert status_of(taken)["frontOfficeStatus"] == "Occupied"
    history = await move_history(ohip, reservation_id)
    assert history.status_code == 200
    [entry] = history.json()["roomMoveHistoryDetails"]
    assert (entry["fromRoom"], entry["toRoom"], entry["reasonCode"]) == (first, second, "NSE")
    assert entry["description"] == "Noise from the street" and entry["date"].startswith(BD.isoformat())

    # without oldRoomStatus the room left is Dirty, as a room a guest used is
    third = await free_room(ohip, "QUN")
    assert (await move(ohip, reservation_id, third, roomId=third)).status_code == 200  # the spec's reading
    assert status_of((await rooms(ohip, ("fromRoomNumber", second), ("toRoomNumber", second)))[0])[
        "roomStatus"] == "Dirty"
    assert len((await move_history(ohip, reservation_id)).json()["roomMoveHistoryDetails"]) == 2


async def test_a_room_move_is_refused_when_not_in_house_or_into_a_room_that_cannot_take_the_guest(
        ohip: httpx2.AsyncClient) -> None:
    due_in = await book(ohip, "QUN")
    target = await free_room(ohip, "QUN")
    refused = await move(ohip, due_in, target)
    assert refused.status_code == 400 and refused.json()["o:errorCode"] == "OHIPSIM-FOF-NOT-INHOUSE"

    in_house = await book(ohip, "QUN")
    mine = await free_room(ohip, "QUN")
    assert (await check_in(ohip, in_house, mine)).status_code == 201
    other_type = await free_room(ohip, "KNG")
    cases = {
        "OHIPSIM-FOF-SAME-ROOM": await move(ohip, in_house, mine),
        "OHIPSIM-FOF-ROOMTYPE": await move(ohip, in_house, other_type),
        "OHIPSIM-FOF-ROOM-MISMATCH": await move(ohip, in_house, await free_room(ohip, "QUN"), roomId=other_type),
        "OHIPSIM-FOF-REASON": await move(ohip, in_house, await free_room(ohip, "QUN"), reasonCode="NOPE"),
    }
    for code, response in cases.items():
        assert response.status_code == 400 and response.json()["o:errorCode"] == code, (code, response.text)
    dirty = await free_room(ohip, "QUN")
    put = await ohip.put("/hsk/v1/hotels/SAND01/rooms/status",
                         json={"roomList": [{"roomId": dirty}], "housekeepingRoomStatus": "Dirty"})
    assert put.status_code in (200, 201), put.text
    not_clean = await move(ohip, in_house, dirty)
    assert not_clean.status_code == 400 and not_clean.json()["o:errorCode"] == "OHIPSIM-FOF-ROOM-DIRTY"
    overridden = await move(ohip, in_house, dirty, overrideInstructions={"dirtyRoom": True})
    assert overridden.status_code == 200, overridden.text
    assert (await reservation(ohip, in_house))["roomStay"]["currentRoomInfo"]["roomId"] == dirty


# ------------------------------------------------------------------------------------------------ wake-up calls


def wake_up_body(reservation_id: str, room_id: str, call_time: str, start: str, end: str | None = None) -> dict[
        str, Any]:
    """As Oracle's workflow "Schedule a Wake Up Call" sends it (callTime in the hotel's local time, space-separated)."""
    span = {"startDate": start, **({"endDate": end} if end else {})}
    return {"calls": [{
        "reservationInfo": {"reservationIdList": [{"type": "Reservation", "id": reservation_id}], "hotelId": "SAND01",
                            "room": room_id},
        "callTime": call_time, "isFollowUpCall": False, "status": "Pending", "timeSpan": span}]}


async def test_wake_up_calls_are_set_daily_listed_and_cancelled(ohip: httpx2.AsyncClient) -> None:
    reservation_id = await book(ohip, "QUN", nights=3)
    room_id = await free_room(ohip, "QUN")
    assert (await check_in(ohip, reservation_id, room_id)).status_code == 201
    url = f"/fof/v1/hotels/SAND01/reservations/{reservation_id}/wakeUpCalls"
    assert (await ohip.get(url)).status_code == 204

    day1, day3 = (BD + timedelta(days=1)).isoformat(), (BD + timedelta(days=3)).isoformat()
    posted = await ohip.post(url, json=wake_up_body(reservation_id, room_id, f"{day1} 06:30:00", day1, day3))
    assert posted.status_code == 201, posted.text
    # Oracle does not say a second call at the same time is refused: it is set again
    again = await ohip.post(url, json=wake_up_body(reservation_id, room_id, f"{day1} 06:30:00", day1))
    assert again.status_code == 201, again.text

    calls = (await ohip.get(url, params={"fetchPending": "true"})).json()["calls"]
    assert [c["callTime"] for c in calls] == [f"{day1}T06:30:00", f"{day1}T06:30:00",
                                              f"{(BD + timedelta(days=2)).isoformat()}T06:30:00", f"{day3}T06:30:00"]
    assert {c["reservationInfo"]["room"] for c in calls} == {room_id} and {c["status"] for c in calls} == {"Pending"}

    cancelled = await ohip.delete(url, params={"callTime": f"{day1} 06:30:00", "startDate": day1})
    assert cancelled.status_code == 200, cancelled.text
    assert len((await ohip.get(url, params={"fetchPending": "true"})).json()["calls"]) == 2
    gone = (await ohip.get(url, params={"fetchCancelled": "true", "fetchPending": "false"})).json()["calls"]
    assert [c["status"] for c in gone] == ["Cancelled", "Cancelled"]
    twice = await ohip.delete(url, params={"callTime": f"{day1} 06:30:00", "startDate": day1})
    assert twice.status_code == 400 and twice.json()["o:errorCode"] == "OHIPSIM-FOF-WAKEUP"


async def test_a_wake_up_call_needs_the_guest_in_house_in_that_room_within_the_stay(ohip: httpx2.AsyncClient) -> None:
    reservation_id = await book(ohip, "QUN")
    room_id = await free_room(ohip, "QUN")
    url = f"/fof/v1/hotels/SAND01/reservations/{reservation_id}/wakeUpCalls"
    day1 = (BD + timedelta(days=1)).isoformat()
    not_in = await ohip.post(url, json=wake_up_body(reservation_id, room_id, f"{day1} 06:30:00", day1))
    assert not_in.status_code == 400 and not_in.json()["o:errorCode"] == "OHIPSIM-FOF-NOT-INHOUSE"
    assert (await check_in(ohip, reservation_id, room_id)).status_code == 201
    other = await ohip.post(url, json=wake_up_body(reservation_id, "9999", f"{day1} 06:30:00", day1))
    assert other.status_code == 400 and other.json()["o:errorCode"] == "OHIPSIM-FOF-ROOM-MISMATCH"
    late = (BD + timedelta(days=5)).isoformat()
    outside = await ohip.post(url, json=wake_up_body(reservation_id, room_id, f"{late} 06:30:00", late))
    assert outside.status_code == 400 and outside.json()["o:errorCode"] == "OHIPSIM-FOF-WAKEUP"
    assert (await ohip.get(url)).status_code == 204


# ------------------------------------------------------------------------------------------------ queue for rooms


async def test_the_queue_takes_arrivals_of_the_day_in_order_keeps_a_place_and_check_in_or_delete_takes_them_off(
        ohip: httpx2.AsyncClient, sandbox_server: SandboxServer) -> None:
    queue = "/fof/v1/hotels/SAND01/queuedReservations"
    empty = await ohip.get(queue)
    first, second = await book(ohip), await book(ohip)
    later = await book(ohip, arrival=BD + timedelta(days=3))
    body = {"reservationId": {"type": "Reservation", "idContext": "OPERA", "id": first}, "hotelId": "SAND01"}
    added = await ohip.put(f"{queue}/{first}", json=body)
    await ohip.put(f"{queue}/{second}", json={"hotelId": "SAND01"})
    again = await ohip.put(f"{queue}/{first}", json=body)
    future = await ohip.put(f"{queue}/{later}", json={"hotelId": "SAND01"})
    listed = await ohip.get(queue)
    room = await free_room(ohip, "KNG")
    assert (await check_in(ohip, first, room)).status_code == 201
    removed = await ohip.delete(f"{queue}/{second}")
    gone = await ohip.delete(f"{queue}/{second}")
    after = await ohip.get(queue)

    assert empty.status_code == 204 and after.status_code == 204
    assert added.status_code == 200 and added.json()["queueInfo"]["priority"] == 1
    assert added.json()["queueInfo"]["queueDate"] == BD.isoformat()
    assert again.json()["queueInfo"]["priority"] == 1  # queued again, it keeps its place
    assert future.status_code == 400 and "day of arrival" in future.json()["detail"]
    rows = listed.json()["reservations"]["reservationInfo"]
    assert [r["reservationIdList"][0]["id"] for r in rows] == [first, second]
    assert removed.status_code == 200 and gone.status_code == 404
    assert sandbox_server.sandbox.enterprise.hotels["SAND01"].room_queue == {}


async def test_a_reservation_no_longer_due_in_does_not_hold_a_place_in_the_queue(
        ohip: httpx2.AsyncClient, sandbox_server: SandboxServer) -> None:
    queue = "/fof/v1/hotels/SAND01/queuedReservations"
    first, second = await book(ohip), await book(ohip)
    await ohip.put(f"{queue}/{first}", json={"hotelId": "SAND01"})
    sandbox_server.sandbox.enterprise.hotels["SAND01"].reservations[first].status = "Cancelled"
    added = await ohip.put(f"{queue}/{second}", json={"hotelId": "SAND01"})
    listed = await ohip.get(queue)
    assert added.json()["queueInfo"]["priority"] == 1
    assert [r["reservationIdList"][0]["id"] for r in listed.json()["reservations"]["reservationInfo"]] == [second]
