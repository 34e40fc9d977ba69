"""Reservations in the sandbox over real HTTP: search, read, book, change, cancel, reinstate, and refusals."""

from __future__ import annotations

from datetime import date, timedelta

import httpx

from tests.contract.plugin import SandboxServer

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


async def test_search_arrivals_today_lists_only_due_in_guests(ohip: httpx.AsyncClient) -> None:
    r = await ohip.get(RSV, params={"searchType": "Arrival", "limit": 200})
    assert r.status_code == 200
    rows = r.json()["reservations"]["reservationInfo"]
    assert rows, "the seed has arrivals on the business date"
    assert {row["computedReservationStatus"] for row in rows} == {"DueIn"}
    assert all(row["roomStay"]["arrivalDate"] == BD.isoformat() for row in rows)


async def test_book_then_read_back_and_find_by_confirmation(
    ohip: httpx.AsyncClient, sandbox_server: SandboxServer
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


async def test_missing_reservation_is_404_with_detail(ohip: httpx.AsyncClient) -> None:
    r = await ohip.get(f"{RSV}/999999999")
    assert r.status_code == 404
    body = r.json()
    assert body["o:errorCode"] == "OHIPSIM-RSV-404"
    assert "999999999" in body["detail"]
