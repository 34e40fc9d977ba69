"""The whole-stay acceptance flow (issues #3, #9), from availability to check-out across OPERA's night audit, for
any MCP client: over HTTP (tests/e2e/test_whole_stay.py) and over stdio (tests/e2e/test_stdio.py)."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest
from mcp import Client

from tests.support.mcp_client import call_ok

#: The sandbox's business date, months away from the machine's clock: "today" must come from OPERA (bof).
BUSINESS_DATE = "2026-05-01"
DEPARTURE = "2026-05-02"
#: OHIP operations a whole stay must have caused.
STAY_OPERATIONS = frozenset({"postRoomAssignment", "postCheckIn", "postBillingCharges", "postBillingPayment",
                             "generateFolio", "postCheckOut", "getBusinessDate"})


async def night_audit(sandbox_url: str) -> dict[str, Any]:
    async with httpx2.AsyncClient() as http:
        response = await http.post(f"{sandbox_url}/_sandbox/night-audit", json={"hotelId": "SAND01"})
    assert response.status_code == 200, response.text
    audit: dict[str, Any] = response.json()["audits"][0]
    return audit


async def whole_stay(client: Client, sandbox: Any, sandbox_url: str) -> None:
    hotel = sandbox.enterprise.hotels["SAND01"]

    offers = await call_ok(client, "check_availability", {"arrival": BUSINESS_DATE, "departure": DEPARTURE,
                                                          "adults": 2, "only_bookable": True})
    offer = next(o for o in offers["offers"] if o["rate_plan"] == "BAR")
    room_type = offer["room_type"]

    guest = await call_ok(client, "create_guest", {"surname": "Okafor", "given_name": "Ada",
                                                   "email": "ada.okafor@example.com"})
    booked = await call_ok(client, "create_reservation", {
        "arrival": BUSINESS_DATE, "departure": DEPARTURE, "room_type": room_type, "rate_plan": "BAR", "adults": 2,
        "profile_id": guest["profile_id"], "payment_method": "CA"})
    reservation_id = booked["reservation_id"]

    modified = await call_ok(client, "modify_reservation", {"reservation_id": reservation_id, "adults": 1,
                                                            "comment": "Late arrival, around 22:00"})
    assert modified["reservation"]["adults"] == 1

    # "Today" is the hotel's business date, not the machine's.
    arrivals = await call_ok(client, "list_arrivals", {"all_pages": True})
    assert arrivals["date"] == BUSINESS_DATE
    assert reservation_id in {r["reservation_id"] for r in arrivals["items"]}

    checked_in = await call_ok(client, "check_in", {"reservation_id": reservation_id})
    room = checked_in["room_id"]
    assert checked_in["room_chosen_by"] == "server" and checked_in["room_type"] == room_type
    assert (await call_ok(client, "get_folio", {"reservation_id": reservation_id}))["balance"]["amount"] == 0

    # OPERA's night audit posts the night's room and tax, and the business date moves on.
    audit = await night_audit(sandbox_url)
    assert audit["businessDate"] == DEPARTURE and audit["nightsPosted"] >= 1
    departures = await call_ok(client, "list_departures", {"all_pages": True})
    assert departures["date"] == DEPARTURE
    assert reservation_id in {r["reservation_id"] for r in departures["items"]}

    await call_ok(client, "post_charge", {"reservation_id": reservation_id, "transaction_code": "2000",
                                          "amount": 42.5, "remark": "Dinner"})
    await call_ok(client, "post_charge", {"reservation_id": reservation_id, "transaction_code": "3000",
                                          "amount": 6.0, "quantity": 3, "remark": "Minibar"})
    folio = await call_ok(client, "get_folio", {"reservation_id": reservation_id, "detail": True})
    postings = [p for w in folio["windows"] for p in w["postings"]]
    assert [(p["transaction_code"], p["posting_date"]) for p in postings[:2]] == [
        ("1000", BUSINESS_DATE), ("1100", BUSINESS_DATE)]  # posted by the audit, for the night of the 1st
    assert [(p["transaction_code"], p["amount"]["amount"]) for p in postings[2:]] == [("2000", 42.5), ("3000", 18.0)]
    room_night = postings[0]["amount"]["amount"] + postings[1]["amount"]["amount"]
    owed = folio["balance"]["amount"]
    assert owed == pytest.approx(room_night + 60.5)

    await call_ok(client, "post_payment", {"reservation_id": reservation_id, "payment_method": "CA",
                                           "amount": owed, "confirm": True})
    assert (await call_ok(client, "get_folio", {"reservation_id": reservation_id}))["balance"]["amount"] == 0
    (payment,) = [e for e in sandbox.requests if e.operation_id == "postBillingPayment"]
    assert payment.json["criteria"]["cashierId"] == 113  # the configured cashier (the sandbox's app cashier)

    out = await call_ok(client, "check_out", {"reservation_id": reservation_id, "confirm": True})
    assert out["status"] == "CheckedOut" and out["room_id"] == room and out["payments"] == []
    assert out["departure_changed_from"] is None  # due out on the new business date: no early departure

    board = await call_ok(client, "get_housekeeping_overview", {"from_room": room, "to_room": room})
    assert [(r["room_id"], r["room_status"], r["front_office_status"]) for r in board["rooms"]] == [
        (room, "Dirty", "Vacant")]
    dirty = await call_ok(client, "find_available_rooms", {"room_type": room_type, "room_status": ["Dirty"],
                                                           "limit": 100})
    assert room in {r["room_id"] for r in dirty["rooms"]}
    record = await call_ok(client, "get_reservation", {"reservation_id": reservation_id})
    assert record["status"] == "CheckedOut"
    assert hotel.reservations[reservation_id].status == "CheckedOut"
