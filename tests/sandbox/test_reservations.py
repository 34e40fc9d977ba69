"""Reservations in the sandbox over real HTTP: search, read, book, change, cancel, reinstate, and refusals."""

from __future__ import annotations

from datetime import date, timedelta

import httpx2
import pytest

from tests.contract.plugin import SandboxServer
from tests.sandbox.test_fof import check_in, free_room

BD = date(2026, 5, 1)
RSV = "/rsv/v1/hotels/SAND01/reservations"


def booking(
    arrival: date,
    departure: date,
    room_type: str = "KNG",
    rate_plan: str = "BAR",
    adults: int = 2,
    guest: dict | None = None,
) -> dict:
    return {
        "reservations": {
            "reservation": [
                {
                    "hotelId": "SAND01",
                    "roomStay": {
                        "arrivalDate": arrival.isoformat(),
                        "departureDate": departure.isoformat(),
                        "guestCounts": {"adults": adults, "children": 0},
                        "guarantee": {"guaranteeCode": "6PM"},
                        "roomRates": [
                            {
                                "roomType": room_type,
                                "ratePlanCode": rate_plan,
                                "start": arrival.isoformat(),
                                "end": departure.isoformat(),
                                "numberOfUnits": 1,
                                "marketCode": "LEISURE",
                                "sourceCode": "PHONE",
                            }
                        ],
                    },
                    "reservationGuests": [
                        {
                            "primary": True,
                            "profileInfo": guest or {"profileIdList": [{"id": "200001", "type": "Profile"}]},
                        }
                    ],
                    "reservationPaymentMethods": [{"paymentMethod": "CA", "folioView": 1}],
                }
            ]
        }
    }


async def test_search_arrivals_today_lists_only_due_in_guests(ohip: httpx2.AsyncClient) -> None:
    r = await ohip.get(RSV, params={"searchType": "Arrival", "limit": 200})
    assert r.status_code == 200
    rows = r.json()["reservations"]["reservationInfo"]
    assert rows, "the seed has arrivals on the business date"
    assert {row["computedReservationStatus"] for row in rows} == {"DueIn"}
    assert all(row["roomStay"]["arrivalDate"] == BD.isoformat() for row in rows)


async def test_a_search_type_applies_on_its_stay_date(ohip: httpx2.AsyncClient, sandbox_server: SandboxServer) -> None:
    """OPERA's stayDate is "the date for which the search types are applicable"; without it the business date."""
    day = BD + timedelta(days=2)
    hotel = sandbox_server.sandbox.enterprise.hotels["SAND01"]
    expected = {r.reservation_id for r in hotel.reservations.values() if r.status == "Reserved" and r.arrival == day}
    assert expected, "the seed has arrivals two days after the business date"

    r = await ohip.get(RSV, params={"searchType": "Arrival", "stayDate": day.isoformat(), "limit": 200})
    assert r.status_code == 200, r.text
    rows = r.json()["reservations"]["reservationInfo"]
    found = {next(i["id"] for i in row["reservationIdList"] if i["type"] == "Reservation") for row in rows}
    assert found == expected

    without = await ohip.get(
        RSV, params={"searchType": "Arrival", "arrivalStartDate": day.isoformat(), "arrivalEndDate": day.isoformat()}
    )
    assert without.status_code in (200, 204)
    rows = without.json().get("reservations", {}).get("reservationInfo", []) if without.status_code == 200 else []
    assert rows == [], "without stayDate the search type is the business date's arrivals, none of which arrive later"

    bad = await ohip.get(RSV, params={"searchType": "Arrival", "stayDate": "2026-13-01"})
    assert bad.status_code == 400
    assert "stayDate" in bad.text


async def test_book_then_read_back_and_find_by_confirmation(
    ohip: httpx2.AsyncClient, sandbox_server: SandboxServer
) -> None:
    arrival = BD + timedelta(days=3)
    r = await ohip.post(RSV, json=booking(arrival, arrival + timedelta(days=2)))
    assert r.status_code == 201, r.text
    location = r.headers["Location"]
    assert location.startswith(sandbox_server.url + RSV + "/")
    reservation_id = location.rsplit("/", 1)[1]
    got = await ohip.get(f"{RSV}/{reservation_id}")
    assert got.status_code == 200
    res = got.json()["reservations"]["reservation"][0]
    assert res["reservationStatus"] == "Reserved"
    assert res["roomStay"]["roomRates"][0]["roomType"] == "KNG"
    assert res["roomStay"]["total"]["amountBeforeTax"] == 398.0
    confirmation = next(i["id"] for i in res["reservationIdList"] if i["type"] == "Confirmation")
    found = await ohip.get(RSV, params={"confirmationNumberList": confirmation})
    assert [row["reservationIdList"][0]["id"] for row in found.json()["reservations"]["reservationInfo"]] == [
        reservation_id
    ]


async def test_missing_reservation_is_404_with_detail(ohip: httpx2.AsyncClient) -> None:
    r = await ohip.get(f"{RSV}/999999999")
    assert r.status_code == 404
    body = r.json()
    assert body["o:errorCode"] == "OHIPSIM-RSV-404"
    assert "999999999" in body["detail"]


@pytest.mark.parametrize(
    ("change", "code", "needle"),
    [
        ({"departure": -1}, "OHIPSIM-RSV-DATES", "must be after arrival"),
        ({"room_type": "XXX"}, "OHIPSIM-RSV-ROOMTYPE", "Room type XXX does not exist"),
        (
            {"rate_plan": "CORP", "room_type": "STE"},
            "OHIPSIM-RSV-RATEPLAN-ROOMTYPE",
            "cannot be booked for room type STE",
        ),
        ({"adults": 9}, "OHIPSIM-RSV-OCCUPANCY", "sleeps at most"),
        ({"arrival": -2}, "OHIPSIM-RSV-PAST", "before the business date"),
    ],
)
async def test_booking_refusals_name_the_problem(
    ohip: httpx2.AsyncClient, change: dict, code: str, needle: str
) -> None:
    arrival = BD + timedelta(days=2)
    departure = arrival + timedelta(days=2)
    if "departure" in change:
        departure = arrival + timedelta(days=change["departure"])
    if "arrival" in change:
        arrival = BD + timedelta(days=change["arrival"])
    body = booking(
        arrival,
        departure,
        room_type=change.get("room_type", "KNG"),
        rate_plan=change.get("rate_plan", "BAR"),
        adults=change.get("adults", 2),
    )
    r = await ohip.post(RSV, json=body)
    assert r.status_code == 400
    assert r.json()["o:errorCode"] == code
    assert needle in r.json()["detail"]


async def test_booking_with_an_inline_guest_creates_the_profile(
    ohip: httpx2.AsyncClient, sandbox_server: SandboxServer
) -> None:
    guest = {
        "profile": {
            "customer": {"personName": [{"givenName": "Zed", "surname": "Quartermaine", "nameType": "Primary"}]},
            "profileType": "Guest",
        }
    }
    arrival = BD + timedelta(days=1)
    r = await ohip.post(RSV, json=booking(arrival, arrival + timedelta(days=1), guest=guest))
    assert r.status_code == 201, r.text
    found = await ohip.get(RSV, params={"surname": "quarter"})
    rows = found.json()["reservations"]["reservationInfo"]
    assert [row["reservationGuest"]["surname"] for row in rows] == ["Quartermaine"]
    profile_id = rows[0]["reservationGuest"]["id"]
    assert sandbox_server.sandbox.enterprise.profiles[profile_id].given_name == "Zed"


async def test_modify_dates_and_guests_then_cancel_and_reinstate(ohip: httpx2.AsyncClient) -> None:
    arrival = BD + timedelta(days=8)
    made = await ohip.post(RSV, json=booking(arrival, arrival + timedelta(days=2)))
    reservation_id = made.headers["Location"].rsplit("/", 1)[1]
    change = {
        "reservations": [
            {
                "reservationIdList": [{"id": reservation_id, "type": "Reservation"}],
                "hotelId": "SAND01",
                "roomStay": {
                    "departureDate": (arrival + timedelta(days=3)).isoformat(),
                    "guestCounts": {"adults": 1, "children": 1},
                },
                "comments": [{"comment": {"text": {"value": "Late arrival"}, "type": "GEN", "internal": False}}],
            }
        ]
    }
    r = await ohip.put(f"{RSV}/{reservation_id}", json=change)
    assert r.status_code == 200, r.text
    res = r.json()["reservations"]["reservation"][0]
    assert res["roomStay"]["departureDate"] == (arrival + timedelta(days=3)).isoformat()
    assert res["roomStay"]["guestCounts"] == {"adults": 1, "children": 1}
    assert res["comments"][0]["comment"]["text"]["value"] == "Late arrival"
    cancelled = await ohip.post(f"{RSV}/{reservation_id}/cancellations", json={"reason": {"code": "ILL"}})
    assert cancelled.status_code == 201
    refused = await ohip.put(f"{RSV}/{reservation_id}", json=change)
    assert refused.status_code == 400 and "reinstate" in refused.json()["detail"]
    reinstated = await ohip.put(
        f"{RSV}/{reservation_id}/cancellations",
        json={"reservationIdList": [{"id": reservation_id, "type": "Reservation"}]},
    )
    assert reinstated.status_code == 200
    got = await ohip.get(f"{RSV}/{reservation_id}")
    assert got.json()["reservations"]["reservation"][0]["reservationStatus"] == "Reserved"


async def test_cancel_refusals(ohip: httpx2.AsyncClient) -> None:
    checked_out = await ohip.get(RSV, params={"searchType": "CheckedOut", "limit": 1})
    row = checked_out.json()["reservations"]["reservationInfo"][0]
    reservation_id = row["reservationIdList"][0]["id"]
    r = await ohip.post(f"{RSV}/{reservation_id}/cancellations", json={"reason": {"code": "CHG"}})
    assert r.status_code == 400 and "CheckedOut" in r.json()["detail"]
    future = await ohip.get(RSV, params={"arrivalStartDate": (BD + timedelta(days=5)).isoformat(), "limit": 1})
    future_id = future.json()["reservations"]["reservationInfo"][0]["reservationIdList"][0]["id"]
    bad_reason = await ohip.post(f"{RSV}/{future_id}/cancellations", json={"reason": {"code": "ZZZ"}})
    assert bad_reason.status_code == 400 and "ZZZ" in bad_reason.json()["detail"]
    no_reason = await ohip.post(f"{RSV}/{future_id}/cancellations", json={})
    assert no_reason.status_code == 400 and "reason.code" in no_reason.json()["detail"]


async def test_in_house_and_departure_searches(ohip: httpx2.AsyncClient) -> None:
    in_house = await ohip.get(RSV, params={"searchType": "InHouse", "limit": 200})
    statuses = {r["computedReservationStatus"] for r in in_house.json()["reservations"]["reservationInfo"]}
    assert statuses == {"InHouse", "DueOut"}
    due_out = await ohip.get(RSV, params={"expectedDepartures": "true", "limit": 200})
    rows = due_out.json()["reservations"]["reservationInfo"]
    assert rows and all(r["roomStay"]["departureDate"] == BD.isoformat() and r["roomStay"]["roomId"] for r in rows)
    page = await ohip.get(RSV, params={"searchType": "InHouse", "limit": 5, "offset": 5})
    body = page.json()["reservations"]
    assert body["count"] == 5 and body["offset"] == 5 and body["hasMore"] is True
    empty = await ohip.get(RSV, params={"surname": "Nobodyatall"})
    assert empty.status_code == 200 and empty.json()["reservations"]["reservationInfo"] == []


@pytest.mark.lenient_requests
async def test_lenient_input_numeric_strings_and_lone_objects(ohip: httpx2.AsyncClient) -> None:
    arrival = BD + timedelta(days=9)
    body = booking(arrival, arrival + timedelta(days=1))
    res = body["reservations"]["reservation"][0]
    body["reservations"]["reservation"] = res  # a lone object where an array is declared
    res["roomStay"]["guestCounts"]["adults"] = "2"
    res["roomStay"]["roomRates"] = res["roomStay"]["roomRates"][0]
    res["roomStay"]["roomRates"]["roomType"] = "kng"
    r = await ohip.post(RSV, json=body)
    assert r.status_code == 201, r.text
    assert r.json()["reservations"]["reservation"][0]["roomStay"]["guestCounts"]["adults"] == 2


async def test_a_multi_room_reservation_is_split_one_room_or_all_and_linked(
    ohip: httpx2.AsyncClient, sandbox_server: SandboxServer
) -> None:
    """putSplitMultiRoomReservation: splitAll false makes one single-room reservation and deducts one room from the
    original; splitAll true makes one per room it still has; each has its own confirmation number and is linked
    (getLinkedReservationsSummary). A reservation of one room is not split, and has no linked ones (204)."""
    hotel = sandbox_server.sandbox.enterprise.hotels["SAND01"]
    body = booking(BD, BD + timedelta(days=2))
    body["reservations"]["reservation"][0]["roomStay"]["roomRates"][0]["numberOfUnits"] = 4
    made = await ohip.post(RSV, json=body)
    assert made.status_code == 201, made.text
    rid = made.headers["location"].rsplit("/", 1)[1]
    # due in today, but four rooms: no room is given to it, nor is it checked in, before it is split
    refused = await check_in(ohip, rid, await free_room(ohip, "KNG"))
    assert refused.status_code == 400 and refused.json()["o:errorCode"] == "OHIPSIM-RSV-MULTIROOM"
    assert hotel.reservations[rid].status == "Reserved" and hotel.reservations[rid].room_id is None
    record = (await ohip.get(f"{RSV}/{rid}")).json()["reservations"]["reservation"][0]
    assert record["roomStay"]["roomRates"][0]["numberOfUnits"] == 4
    assert record["roomStay"]["total"]["amountBeforeTax"] == pytest.approx(hotel.rate_plans["BAR"].prices["KNG"] * 8)
    assert (await ohip.get(f"{RSV}/{rid}/linkedSummary")).status_code == 204

    def split(split_all: bool) -> dict:
        return {"reservationId": {"id": rid, "type": "Reservation"}, "splitAll": split_all,
                "copyPaymentInformation": False}

    one = await ohip.put(f"/rsv/v1/reservations/{rid}/split", json=split(False))
    assert one.status_code == 200, one.text
    assert len(one.json()["newReservationIdList"]) == 1 and hotel.reservations[rid].rooms == 3
    rest = await ohip.put(f"/rsv/v1/reservations/{rid}/split", json=split(True))
    assert rest.status_code == 200, rest.text
    new_ids = [e["id"] for e in one.json()["newReservationIdList"] + rest.json()["newReservationIdList"]]
    assert len(new_ids) == 3 and hotel.reservations[rid].rooms == 1
    assert all(hotel.reservations[i].rooms == 1 and hotel.reservations[i].payment_method is None for i in new_ids)
    confirmations = {hotel.reservations[i].confirmation_number for i in [rid, *new_ids]}
    assert len(confirmations) == 4
    linked = (await ohip.get(f"{RSV}/{rid}/linkedSummary")).json()["linkedReservationList"]["reservationInfo"]
    linked_ids = [next(x["id"] for x in r["reservationIdList"] if x["type"] == "Reservation") for r in linked]
    assert sorted(linked_ids) == sorted(new_ids)
    assert {r["linkReservationType"] for r in linked} == {"Linked"}

    again = await ohip.put(f"/rsv/v1/reservations/{rid}/split", json=split(True))
    assert again.status_code == 400 and again.json()["o:errorCode"] == "OHIPSIM-RSV-SPLIT"
    rows = (await ohip.get(RSV, params={"confirmationNumberList": hotel.reservations[rid].confirmation_number})).json()
    assert rows["reservations"]["reservationInfo"][0]["roomStay"]["numberOfRooms"] == 1


# ------------------------------------------------------------------------------------------------ guest messages


def message_body(reservation_id: str, text: str, **message: str) -> dict[str, object]:
    """postGuestMessages in the shape of Oracle's workflow "Guest Messages for an In House Guest"."""
    return {"reservationIdList": [{"type": "Reservation", "id": reservation_id}], "hotelId": "SAND01",
            "guestMessages": [{"message": {"messageText": text, "typeOfMessage": "Tm", **message},
                               "delivery": {"deliveryStatus": "Nr"}}]}


async def test_guest_messages_are_taken_twice_when_sent_twice_listed_and_marked_received(
        ohip: httpx2.AsyncClient, sandbox_server: SandboxServer) -> None:
    hotel = sandbox_server.sandbox.enterprise.hotels["SAND01"]
    guest = next(r for r in hotel.reservations.values() if r.status == "InHouse" and not r.guest_messages)
    url = f"{RSV}/{guest.reservation_id}/guestMessages"
    listing = "/rsv/v1/hotels/SAND01/guestMessages"
    none = await ohip.get(listing, params={"reservationId": guest.reservation_id})
    first = await ohip.post(url, json=message_body(guest.reservation_id, "Taxi at 7", recipient="Rivera, Ana"))
    second = await ohip.post(url, json=message_body(guest.reservation_id, "Taxi at 7"))
    made = first.json()["guestMessages"][0]
    marked = await ohip.put(f"{url}/{made['id']}", json={"hotelId": "SAND01", "guestMessages": [
        {"message": {"messageText": "Taxi at 7", "typeOfMessage": "Tm"},
         "delivery": {"deliveryStatus": "Mr", "deliveredBy": "DESK"}}]})
    waiting = await ohip.get(listing, params={"reservationId": guest.reservation_id,
                                              "retrieveUndeliveredMessages": "true",
                                              "retrieveDeliveredMessages": "false"})
    too_many = await ohip.get(listing, params={"reservationId": guest.reservation_id, "limit": 101})
    missing = await ohip.put(f"{url}/1", json={"hotelId": "SAND01", "guestMessages": [
        {"message": {"messageText": "x"}, "delivery": {"deliveryStatus": "Mr"}}]})

    assert none.status_code == 204
    assert first.status_code == second.status_code == 201 and first.headers["location"].endswith("/guestMessages")
    assert made["message"]["recipient"] == "Rivera, Ana" and made["delivery"]["deliveryStatus"] == "Nr"
    assert [m.text for m in guest.guest_messages] == ["Taxi at 7", "Taxi at 7"]  # Oracle does not say it refuses
    assert marked.status_code == 200 and guest.guest_messages[0].delivered
    assert guest.guest_messages[0].delivered_by == "DESK"
    rows = waiting.json()["guestMessages"]
    assert [r["id"] for r in rows] == [str(guest.guest_messages[1].message_id)]
    assert rows[0]["message"]["reservationId"]["id"] == guest.reservation_id
    assert too_many.status_code == 400 and missing.status_code == 404


async def test_a_guest_message_for_a_stay_with_no_guest_or_with_no_text_is_refused(
        ohip: httpx2.AsyncClient, sandbox_server: SandboxServer) -> None:
    hotel = sandbox_server.sandbox.enterprise.hotels["SAND01"]
    gone = next(r for r in hotel.reservations.values() if r.status == "CheckedOut")
    guest = next(r for r in hotel.reservations.values() if r.status == "InHouse")
    closed = await ohip.post(f"{RSV}/{gone.reservation_id}/guestMessages",
                             json=message_body(gone.reservation_id, "Taxi at 7"))
    empty = await ohip.post(f"{RSV}/{guest.reservation_id}/guestMessages",
                            json=message_body(guest.reservation_id, ""))
    other = await ohip.post(f"{RSV}/{guest.reservation_id}/guestMessages",
                            json=message_body(gone.reservation_id, "Taxi at 7"))
    assert closed.status_code == 400 and "CheckedOut" in closed.json()["detail"]
    assert empty.status_code == 400 and "messageText" in empty.json()["detail"]
    assert other.status_code == 400 and "names reservation" in other.json()["detail"]
    assert not gone.guest_messages
