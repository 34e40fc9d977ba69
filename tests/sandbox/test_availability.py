"""Availability, inventory, rate plans and lists of values in the sandbox, over real HTTP."""

from __future__ import annotations

from datetime import date, timedelta

import httpx2

from tests.sandbox.test_reservations import RSV, booking

BD = date(2026, 5, 1)
INV = "/inv/v1/hotels/SAND01/hotelInventory"
PAR = "/par/v1/hotels/SAND01/availability"


async def rooms_left(ohip: httpx2.AsyncClient, room_type: str, day: date) -> int:
    r = await ohip.get(
        INV,
        params={
            "dateRangeStart": day.isoformat(),
            "dateRangeEnd": day.isoformat(),
            "roomCountRequested": 1,
            "roomTypes": room_type,
        },
    )
    assert r.status_code == 200, r.text
    inv = r.json()["hotelInventories"][0]["roomTypeInventories"]
    assert [t["code"] for t in inv] == [room_type]
    return int(inv[0]["inventoryCounts"][0]["availableCount"])


async def test_booking_takes_a_room_and_cancelling_gives_it_back(ohip: httpx2.AsyncClient) -> None:
    arrival = BD + timedelta(days=5)
    before = await rooms_left(ohip, "KNG", arrival)
    assert before > 0
    made = await ohip.post(RSV, json=booking(arrival, arrival + timedelta(days=1)))
    assert made.status_code == 201, made.text
    assert await rooms_left(ohip, "KNG", arrival) == before - 1
    reservation_id = made.headers["Location"].rsplit("/", 1)[1]
    cancel = {"reason": {"code": "CHG"}, "verificationOnly": False}
    r = await ohip.post(f"{RSV}/{reservation_id}/cancellations", json=cancel)
    assert r.status_code == 201, r.text
    assert r.json()["reservations"][0]["reservationStatus"] == "Cancelled"
    assert await rooms_left(ohip, "KNG", arrival) == before


async def test_verification_only_cancellation_changes_nothing(ohip: httpx2.AsyncClient) -> None:
    arrival = BD + timedelta(days=4)
    made = await ohip.post(RSV, json=booking(arrival, arrival + timedelta(days=2)))
    reservation_id = made.headers["Location"].rsplit("/", 1)[1]
    left = await rooms_left(ohip, "KNG", arrival)
    r = await ohip.post(
        f"{RSV}/{reservation_id}/cancellations", json={"reason": {"code": "CHG"}, "verificationOnly": True}
    )
    assert r.status_code == 201  # the only status Oracle's spec declares for postCancelReservation
    assert "nothing was changed" in r.json()["warnings"][0]["value"]
    got = await ohip.get(f"{RSV}/{reservation_id}")
    assert got.json()["reservations"]["reservation"][0]["reservationStatus"] == "Reserved"
    assert await rooms_left(ohip, "KNG", arrival) == left


async def test_sold_out_room_type_is_refused_and_shown_restricted(ohip: httpx2.AsyncClient) -> None:
    arrival = BD + timedelta(days=20)
    left = await rooms_left(ohip, "PRS", arrival)
    for _ in range(left):
        r = await ohip.post(RSV, json=booking(arrival, arrival + timedelta(days=1), room_type="PRS"))
        assert r.status_code == 201, r.text
    refused = await ohip.post(RSV, json=booking(arrival, arrival + timedelta(days=1), room_type="PRS"))
    assert refused.status_code == 400
    assert refused.json()["o:errorCode"] == "OHIPSIM-RSV-SOLDOUT"
    assert "PRS is sold out" in refused.json()["detail"]
    avail = await ohip.get(
        PAR,
        params={
            "roomStayStartDate": arrival.isoformat(),
            "roomStayEndDate": (arrival + timedelta(days=1)).isoformat(),
            "adults": 1,
            "roomType": "PRS",
        },
    )
    lines = avail.json()["hotelAvailability"][0]["roomStays"][0]["roomRates"]
    assert lines and {line["availability"] for line in lines} == {"RestrictedDueToInventory"}


async def test_availability_prices_each_night_and_totals_the_stay(ohip: httpx2.AsyncClient) -> None:
    start, end = BD + timedelta(days=10), BD + timedelta(days=13)
    r = await ohip.get(
        PAR,
        params={
            "roomStayStartDate": start.isoformat(),
            "roomStayEndDate": end.isoformat(),
            "adults": 2,
            "ratePlanCode": "BAR",
        },
    )
    assert r.status_code == 200
    segment = r.json()["hotelAvailability"][0]
    lines = segment["roomStays"][0]["roomRates"]
    assert {line["ratePlanCode"] for line in lines} == {"BAR"}
    kng = next(line for line in lines if line["roomType"] == "KNG")
    assert len(kng["rates"]["rate"]) == 3
    assert kng["total"]["amountBeforeTax"] == 3 * 199.0
    assert {rt["roomType"] for rt in segment["masterInfo"]["roomTypes"]["roomType"]} >= {"KNG", "QUN"}


async def test_availability_refuses_a_span_over_90_days(ohip: httpx2.AsyncClient) -> None:
    r = await ohip.get(
        PAR, params={"roomStayStartDate": BD.isoformat(), "roomStayEndDate": (BD + timedelta(days=91)).isoformat()}
    )
    assert r.status_code == 400
    assert "at most 90" in r.json()["detail"]


async def test_rate_plans_and_rate_plan_details(ohip: httpx2.AsyncClient) -> None:
    r = await ohip.get("/rtp/v1/hotels/SAND01/ratePlans")
    codes = [p["ratePlanCode"] for p in r.json()["ratePlans"]]
    assert {"BAR", "AAA", "PKG", "CORP", "ADV"} <= set(codes)
    one = await ohip.get("/rtp/v1/hotels/SAND01/ratePlans/CORP")
    plan = one.json()["ratePlans"][0]
    assert plan["classifications"]["marketCode"] == "CORP"
    assert "STE" not in {t["code"] for t in plan["roomTypeList"]}
    missing = await ohip.get("/rtp/v1/hotels/SAND01/ratePlans/NOPE")
    assert missing.status_code == 404
    info = await ohip.get("/par/v1/hotels/SAND01/rates/PKG")
    assert info.status_code == 200
    assert info.json()["availRatePlanInfoType"]["ratePlan"][0]["ratePlanCode"] == "PKG"


async def test_lists_of_values(ohip: httpx2.AsyncClient) -> None:
    reasons = await ohip.get("/lov/v1/listOfValues/CancellationReasons")
    assert {"CHG", "DUP", "ILL", "WTH"} <= {i["code"] for i in reasons.json()["listOfValues"]["items"]}
    for name in ("MarketCodes", "SourceCodes", "GuaranteeCodes", "ReservationTypes", "RoomFeatures"):
        r = await ohip.get(f"/lov/v1/listOfValues/{name}")
        assert r.status_code == 200 and r.json()["listOfValues"]["itemCount"] > 0, name
    pay = await ohip.get("/lov/v1/listOfValues/hotels/SAND01/paymentMethods")
    assert {"CA", "VA", "MC", "AX"} <= {i["code"] for i in pay.json()["listOfValues"]["items"]}
    rooms = await ohip.get("/lov/v1/listOfValues/hotels/SAND02/roomTypes", headers={"x-hotelid": "SAND02"})
    assert "TWN" in {i["code"] for i in rooms.json()["listOfValues"]["items"]}
    unknown = await ohip.get("/lov/v1/listOfValues/Countries")
    assert unknown.status_code == 404
