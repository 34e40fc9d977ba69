"""The contract checker itself is proven: it accepts Oracle-conformant samples and rejects a misplaced key with
the right JSON path, and it knows which endpoints exist."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from tests.contract.checker import check_body, check_exchange, resolve

SAMPLES = Path(__file__).parent / "samples"

CASES = [
    ("GET", "/rsv/v1/hotels/SAND01/reservations/100001", "getReservation", "200", "getReservation.200.json"),
    ("GET", "/rsv/v1/hotels/SAND01/reservations", "getHotelReservations", "200", "getHotelReservations.200.json"),
    ("GET", "/par/v1/hotels/SAND01/availability", "getHotelAvailability", "200", "getHotelAvailability.200.json"),
    ("POST", "/rsv/v1/hotels/SAND01/reservations", "postReservation", "request", "postReservation.body.json"),
    ("PUT", "/rsv/v1/hotels/SAND01/reservations/100001", "putReservation", "request", "putReservation.body.json"),
    (
        "POST",
        "/rsv/v1/hotels/SAND01/reservations/100001/cancellations",
        "postCancelReservation",
        "request",
        "postCancelReservation.body.json",
    ),
    (
        "POST",
        "/rsv/v1/hotels/SAND01/reservations/100001/cancellations",
        "postCancelReservation",
        "201",
        "postCancelReservation.201.json",
    ),
    ("GET", "/csh/v1/hotels/SAND01/reservations/100001/folios", "getFolio", "200", "getFolio.200.json"),
    ("GET", "/fof/v1/hotels/SAND01/rooms", "getHotelRooms", "200", "getHotelRooms.200.json"),
    (
        "GET",
        "/hsk/v1/hotels/SAND01/housekeepingOverview",
        "getHousekeepingOverview",
        "200",
        "getHousekeepingOverview.200.json",
    ),
    ("GET", "/crm/v1/profiles/200001", "getProfile", "200", "getProfile.200.json"),
    ("GET", "/rsv/v1/hotels/SAND01/reservations/999", "getReservation", "404", "error.json"),
    ("POST", "/oauth/v1/tokens", "getToken", "200", "getToken.200.json"),
    ("POST", "/crm/v1/profiles", "postProfile", "request", "postProfile.body.json"),
    (
        "POST",
        "/fof/v1/hotels/SAND01/reservations/100001/roomAssignments",
        "postRoomAssignment",
        "request",
        "postRoomAssignment.body.json",
    ),
    ("POST", "/fof/v1/hotels/SAND01/reservations/100001/checkIns", "postCheckIn", "request", "postCheckIn.body.json"),
    (
        "POST",
        "/csh/v1/hotels/SAND01/reservations/100001/charges",
        "postBillingCharges",
        "request",
        "postBillingCharges.body.json",
    ),
    (
        "POST",
        "/csh/v1/hotels/SAND01/reservations/100001/charges",
        "postBillingCharges",
        "201",
        "postBillingCharges.201.json",
    ),
    (
        "POST",
        "/csh/v1/hotels/SAND01/reservations/100001/payments",
        "postBillingPayment",
        "request",
        "postBillingPayment.body.json",
    ),
    (
        "POST",
        "/csh/v1/hotels/SAND01/reservations/100001/checkOuts",
        "postCheckOut",
        "request",
        "postCheckOut.body.json",
    ),
    ("PUT", "/hsk/v1/hotels/SAND01/rooms/status", "putRoomRelatedStatus", "request", "putRoomRelatedStatus.body.json"),
]


def load(name: str) -> object:
    return json.loads((SAMPLES / name).read_text(encoding="utf-8"))


@pytest.mark.parametrize(("method", "path", "operation_id", "which", "sample"), CASES)
def test_checker_accepts_conformant_samples(method: str, path: str, operation_id: str, which: str, sample: str) -> None:
    op = resolve(method, path)
    assert op is not None and op.operation_id == operation_id
    assert check_body(op, which, load(sample)) == []


def test_checker_rejects_a_misplaced_key_naming_its_path() -> None:
    body = copy.deepcopy(load("getHotelAvailability.200.json"))
    assert isinstance(body, dict)
    rate = body["hotelAvailability"][0]["roomStays"][0]["roomRates"][0]
    rate["guarantee"] = {"guaranteeCode": "6PM"}  # belongs on the roomStay, not the rate line
    op = resolve("GET", "/par/v1/hotels/SAND01/availability")
    assert op is not None
    problems = check_body(op, "200", body)
    assert len(problems) == 1
    assert "$.hotelAvailability[0].roomStays[0].roomRates[0]" in problems[0]
    assert "'guarantee' was unexpected" in problems[0]
    assert "par.getHotelAvailability response 200" in problems[0]


def test_checker_rejects_a_wrong_type_and_dates_are_not_length_checked() -> None:
    body = copy.deepcopy(load("getReservation.200.json"))
    assert isinstance(body, dict)
    body["reservations"]["reservation"][0]["roomStay"]["guestCounts"]["adults"] = "two"
    op = resolve("GET", "/rsv/v1/hotels/SAND01/reservations/1")
    assert op is not None
    problems = check_body(op, "200", body)
    assert problems and "roomStay.guestCounts.adults" in problems[0]
    folio = resolve("GET", "/csh/v1/hotels/SAND01/reservations/1/folios")
    assert folio is not None and check_body(folio, "200", load("getFolio.200.json")) == []  # 10-char dates pass


def test_invented_endpoints_are_violations_but_gateway_refusals_are_not() -> None:
    assert check_exchange("GET", "/rsv/v1/hotels/SAND01/inventedThing", 200, None, {}) != []
    assert check_exchange("GET", "/rsv/v1/hotels/SAND01/inventedThing", 404, None, {}) == []
    assert check_exchange("GET", "/_sandbox/stats", 200, None, {}) == []


def test_the_most_literal_template_wins() -> None:
    op = resolve("PUT", "/hsk/v1/hotels/SAND01/rooms/status")
    assert op is not None and op.operation_id == "putRoomRelatedStatus"
