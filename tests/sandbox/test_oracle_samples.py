"""A whole stay driven by Oracle's own sample bodies (tests/contract/samples, the shapes of Oracle's published
specs and samples), not by the bodies our client builds: only ids, dates and amounts are swapped in. Every field
the samples carry that our client never sends (cashierId 4, postIt, applyRoutingInstructions, postingReference,
stopCheckin, fetchReservationInstruction, reservationIdList on a room assignment, stopCheckout, emails, ...) must
be accepted and must not change the outcome, so a sandbox rule that only lets our client's shape through fails here.
The fixture validates every exchange against Oracle's schemas at teardown."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import httpx2

from tests.contract.plugin import SandboxServer

SAMPLES = Path(__file__).parents[1] / "contract" / "samples"
HOTEL = "/hotels/SAND01"


def sample(name: str) -> Any:
    return copy.deepcopy(json.loads((SAMPLES / f"{name}.json").read_text(encoding="utf-8")))


def created_id(response: httpx2.Response) -> str:
    assert response.status_code == 201, response.text
    return response.headers["location"].rsplit("/", 1)[1]


async def folio_window(ohip: httpx2.AsyncClient, reservation_id: str) -> dict[str, Any]:
    response = await ohip.get(
        f"/csh/v1{HOTEL}/reservations/{reservation_id}/folios",
        params=[("fetchInstructions", "Postings"), ("fetchInstructions", "Totalbalance")],
    )
    assert response.status_code == 200, response.text
    window: dict[str, Any] = response.json()["reservationFolioInformation"]["folioWindows"][0]
    return window


async def room_status(ohip: httpx2.AsyncClient, room_id: str) -> dict[str, Any]:
    response = await ohip.get(f"/fof/v1{HOTEL}/rooms", params={"fromRoomNumber": room_id, "toRoomNumber": room_id})
    assert response.status_code == 200, response.text
    status: dict[str, Any] = response.json()["hotelRoomsDetails"]["room"][0]["housekeeping"]["roomStatus"]
    return status


async def test_a_whole_stay_from_oracles_sample_bodies(ohip: httpx2.AsyncClient, sandbox_server: SandboxServer) -> None:
    today = sandbox_server.config.business_date
    assert today is not None

    # postProfile, exactly as Oracle's sample: the guest and her e-mail are kept.
    profile_id = created_id(await ohip.post("/crm/v1/profiles", json=sample("postProfile.body")))
    profile = (await ohip.get(f"/crm/v1/profiles/{profile_id}")).json()["profileDetails"]
    name = profile["customer"]["personName"][0]
    assert (name["givenName"], name["surname"]) == ("Ann", "Smith")
    emails = [e["email"]["emailAddress"] for e in profile["emails"]["emailInfo"]]
    assert emails == ["ann@example.com"]

    # postReservation: the sample's two nights moved to today, its guest swapped for Ann.
    body = sample("postReservation.body")
    stay = body["reservations"]["reservation"][0]
    arrival = today.isoformat()
    departure = today.fromordinal(today.toordinal() + 2).isoformat()
    stay["roomStay"].update(arrivalDate=arrival, departureDate=departure)
    rate = stay["roomStay"]["roomRates"][0]
    rate.update(start=arrival, end=departure)
    rate["rates"]["rate"][0].update(start=arrival, end=departure)
    stay["reservationGuests"][0]["profileInfo"]["profileIdList"][0]["id"] = profile_id
    reservation_id = created_id(await ohip.post(f"/rsv/v1{HOTEL}/reservations", json=body))
    reservation_url = f"/rsv/v1{HOTEL}/reservations/{reservation_id}"
    booked = (await ohip.get(reservation_url)).json()["reservations"]["reservation"][0]
    assert booked["computedReservationStatus"] == "DueIn"
    assert booked["roomStay"]["roomRates"][0]["roomType"] == "KNG"
    guest_ids = booked["reservationGuests"][0]["profileInfo"]["profileIdList"]
    assert {"id": profile_id, "type": "Profile"} in guest_ids

    # A vacant King nobody is arriving into, clean or inspected.
    rooms = await ohip.get(
        f"/fof/v1{HOTEL}/rooms",
        params=[("roomType", "KNG"), ("hotelFORoomStatus", "Vacant"), ("hotelRoomStatus", "Inspected"),
                ("hotelRoomStatus", "Clean"), ("limit", 100)],
    )
    free = [
        room["roomId"]
        for room in rooms.json()["hotelRoomsDetails"]["room"]
        if room["housekeeping"]["roomStatus"]["reservationStatusList"] == ["NotReserved"]
    ]
    room_id = free[0]

    # postRoomAssignment: Oracle's sample names the reservation in the body as well as in the path.
    body = sample("postRoomAssignment.body")
    body["criteria"]["reservationIdList"][0]["id"] = reservation_id
    body["criteria"]["roomId"] = room_id
    assigned = await ohip.post(f"/fof/v1{HOTEL}/reservations/{reservation_id}/roomAssignments", json=body)
    assert assigned.status_code == 201, assigned.text
    booked = (await ohip.get(reservation_url)).json()["reservations"]["reservation"][0]
    assert booked["roomStay"]["currentRoomInfo"]["roomId"] == room_id

    # postCheckIn: the sample has no hotelId in its body (the path carries it) and asks for the reservation back.
    body = sample("postCheckIn.body")
    body["reservation"]["roomId"] = room_id
    checked_in = await ohip.post(f"/fof/v1{HOTEL}/reservations/{reservation_id}/checkIns", json=body)
    assert checked_in.status_code == 201, checked_in.text
    assert checked_in.json()["reservation"][0]["reservationStatus"] == "InHouse"
    assert (await room_status(ohip, room_id))["frontOfficeStatus"] == "Occupied"

    # postBillingCharges under desk clerk 4, posted at once (postIt false means "no post-it", not "do not post").
    body = sample("postBillingCharges.body")
    body["criteria"]["reservationId"]["id"] = reservation_id
    charged = await ohip.post(f"/csh/v1{HOTEL}/reservations/{reservation_id}/charges", json=body)
    assert charged.status_code == 201, charged.text
    expected = sample("postBillingCharges.201")["postings"][0]
    posting = charged.json()["postings"][0]
    for key in ("transactionCode", "transactionAmount", "quantity", "folioWindowNo", "remark"):
        assert posting[key] == expected[key], key
    window = await folio_window(ohip, reservation_id)
    postings = [(p["transactionCode"], p["transactionAmount"]) for p in window["folios"][0]["postings"]]
    assert postings == [("2000", 12.5)]
    assert window["balance"]["amount"] == 12.5

    # The night audit posts the first night (room 1000, tax 1100) and moves the business date on by one day.
    audit = await ohip.post("/_sandbox/night-audit", json={"hotelId": "SAND01"})
    assert audit.status_code == 200, audit.text
    tomorrow = audit.json()["audits"][0]["businessDate"]
    assert arrival < tomorrow < departure

    # putReservation, the sample's change: a child joins the stay and a comment is added; the dates stay.
    body = sample("putReservation.body")
    change = body["reservations"][0]
    change["reservationIdList"][0]["id"] = reservation_id
    change["roomStay"]["departureDate"] = departure
    changed = await ohip.put(reservation_url, json=body)
    assert changed.status_code == 200, changed.text
    record = (await ohip.get(reservation_url)).json()["reservations"]["reservation"][0]
    assert record["roomStay"]["guestCounts"] == {"adults": 2, "children": 1}
    assert record["roomStay"]["departureDate"] == departure
    assert "Late arrival" in [c["comment"]["text"]["value"] for c in record["comments"]]

    # The guest leaves a night early: Oracle's check-out is for a guest due out, so csh putForEarlyDeparture
    # (Oracle's early-departure operation; no sample of it exists, so its body is built from the spec) comes first.
    early = {"criteria": {"hotelId": "SAND01", "reservationIdList": [{"id": reservation_id, "type": "Reservation"}],
                          "cashierId": 4, "postEarlyDeparturePenalty": False}}
    changed = await ohip.put(f"/csh/v1{HOTEL}/reservations/{reservation_id}/earlyDeparture", json=early)
    assert changed.status_code == 200, changed.text
    shortened = (await ohip.get(reservation_url)).json()["reservations"]["reservation"][0]
    assert shortened["roomStay"]["departureDate"] == tomorrow
    assert shortened["computedReservationStatus"] == "DueOut"

    # postBillingPayment: the sample's cash payment, for what the guest owes (the minibar, the night and its tax).
    window = await folio_window(ohip, reservation_id)
    assert [p["transactionCode"] for p in window["folios"][0]["postings"]] == ["2000", "1000", "1100"]
    owed = window["balance"]["amount"]
    assert owed > 12.5
    body = sample("postBillingPayment.body")
    body["criteria"]["reservationId"]["id"] = reservation_id
    body["criteria"]["postingAmount"]["amount"] = owed
    paid = await ohip.post(f"/csh/v1{HOTEL}/reservations/{reservation_id}/payments", json=body)
    assert paid.status_code == 201, paid.text
    assert (await folio_window(ohip, reservation_id))["balance"]["amount"] == 0

    # postCheckOut: the sample leaves the room Dirty.
    body = sample("postCheckOut.body")
    body["reservation"]["reservationIdList"][0]["id"] = reservation_id
    checked_out = await ohip.post(f"/csh/v1{HOTEL}/reservations/{reservation_id}/checkOuts", json=body)
    assert checked_out.status_code == 201, checked_out.text
    final = (await ohip.get(reservation_url)).json()["reservations"]["reservation"][0]
    assert final["reservationStatus"] == "CheckedOut"
    status = await room_status(ohip, room_id)
    assert (status["frontOfficeStatus"], status["roomStatus"]) == ("Vacant", "Dirty")

    # putRoomRelatedStatus: housekeeping cleans it, with the housekeeper's Vacant report alongside.
    body = sample("putRoomRelatedStatus.body")
    body["roomList"] = [{"roomId": room_id}]
    cleaned = await ohip.put(f"/hsk/v1{HOTEL}/rooms/status", json=body)
    assert cleaned.status_code == 200, cleaned.text
    status = await room_status(ohip, room_id)
    assert (status["frontOfficeStatus"], status["roomStatus"]) == ("Vacant", "Clean")
