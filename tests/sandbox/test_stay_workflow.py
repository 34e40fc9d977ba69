"""A whole stay through the sandbox at the raw OHIP level, the way Oracle's workflows run it: token, profile,
booking, room assignment, check-in, charges, folio, payment, folio generation, check-out; then the room and the
reservation read back through fof and rsv."""

from __future__ import annotations

from datetime import timedelta

import httpx2

from app.config import SANDBOX_APP_KEY, SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, SANDBOX_ENTERPRISE_ID
from tests.contract.plugin import SandboxServer


def test_a_whole_stay_from_booking_to_check_out(sandbox_server: SandboxServer) -> None:
    today = sandbox_server.config.business_date
    assert today is not None
    token = httpx2.post(
        f"{sandbox_server.url}/oauth/v1/tokens",
        auth=(SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET),
        headers={"x-app-key": SANDBOX_APP_KEY, "enterpriseId": SANDBOX_ENTERPRISE_ID},
        data={"grant_type": "client_credentials", "scope": "urn:opc:hgbu:ws:__myscopes__"},
    )
    assert token.status_code == 200
    headers = {
        "Authorization": f"Bearer {token.json()['access_token']}",
        "x-app-key": SANDBOX_APP_KEY,
        "x-hotelid": "SAND01",
    }
    with httpx2.Client(base_url=sandbox_server.url, headers=headers) as ohip:
        # Profile: the id comes back only in Location.
        profile = ohip.post(
            "/crm/v1/profiles",
            json={
                "profileDetails": {
                    "customer": {"personName": [{"givenName": "Wren", "surname": "Holloway", "nameType": "Primary"}]},
                    "profileType": "Guest",
                }
            },
        )
        assert profile.status_code == 201
        profile_id = profile.headers["location"].rsplit("/", 1)[1]

        # Book a King for tonight.
        guest_ids = [{"id": profile_id, "type": "Profile"}]
        arrival, departure = today.isoformat(), (today + timedelta(days=1)).isoformat()
        booking = ohip.post(
            "/rsv/v1/hotels/SAND01/reservations",
            json={
                "reservations": {
                    "reservation": [
                        {
                            "hotelId": "SAND01",
                            "roomStay": {
                                "arrivalDate": arrival,
                                "departureDate": departure,
                                "guestCounts": {"adults": 2, "children": 0},
                                "guarantee": {"guaranteeCode": "6PM"},
                                "roomRates": [
                                    {
                                        "roomType": "KNG",
                                        "ratePlanCode": "BAR",
                                        "start": arrival,
                                        "end": departure,
                                        "numberOfUnits": 1,
                                        "marketCode": "LEISURE",
                                        "sourceCode": "PHONE",
                                    }
                                ],
                            },
                            "reservationGuests": [{"primary": True, "profileInfo": {"profileIdList": guest_ids}}],
                            "reservationPaymentMethods": [{"paymentMethod": "CA", "folioView": 1}],
                        }
                    ]
                }
            },
        )
        assert booking.status_code == 201, booking.text
        reservation_id = booking.headers["location"].rsplit("/", 1)[1]
        reservation_url = f"/rsv/v1/hotels/SAND01/reservations/{reservation_id}"
        booked = ohip.get(reservation_url).json()["reservations"]["reservation"][0]
        assert booked["computedReservationStatus"] == "DueIn"
        nightly = booked["roomStay"]["roomRates"][0]["rates"]["rate"][0]["base"]["amountBeforeTax"]

        # A vacant, inspected or clean King nobody else is arriving into.
        rooms = ohip.get(
            "/fof/v1/hotels/SAND01/rooms",
            params=[
                ("roomType", "KNG"),
                ("hotelFORoomStatus", "Vacant"),
                ("hotelRoomStatus", "Inspected"),
                ("hotelRoomStatus", "Clean"),
                ("limit", 100),
            ],
        ).json()["hotelRoomsDetails"]["room"]
        free = [r for r in rooms if r["housekeeping"]["roomStatus"]["reservationStatusList"] == ["NotReserved"]]
        room_id = free[0]["roomId"]

        assigned = ohip.post(
            f"/fof/v1/hotels/SAND01/reservations/{reservation_id}/roomAssignments",
            json={"criteria": {"hotelId": "SAND01", "roomId": room_id, "roomNumberLocked": False}},
        )
        assert assigned.status_code == 201, assigned.text

        checked_in = ohip.post(
            f"/fof/v1/hotels/SAND01/reservations/{reservation_id}/checkIns",
            json={"reservation": {"roomId": room_id, "ignoreWarnings": True}, "includeNotifications": True},
        )
        assert checked_in.status_code == 201, checked_in.text
        assert checked_in.json()["reservation"][0]["reservationStatus"] == "InHouse"

        charges_url = f"/csh/v1/hotels/SAND01/reservations/{reservation_id}/charges"
        for code, amount, quantity in (("2000", 45.0, 1), ("3000", 6.5, 2)):
            charge = ohip.post(
                charges_url,
                json={
                    "criteria": {
                        "hotelId": "SAND01",
                        "reservationId": {"id": reservation_id, "type": "Reservation"},
                        "charges": [
                            {
                                "transactionCode": code,
                                "price": {"amount": amount, "currencyCode": "USD"},
                                "postingQuantity": quantity,
                                "folioWindowNo": 1,
                            }
                        ],
                    }
                },
            )
            assert charge.status_code == 201, charge.text

        # The night audit posts the night (room and tax) and makes the guest due out on the next business date.
        audit = ohip.post("/_sandbox/night-audit", json={"hotelId": "SAND01"})
        assert audit.status_code == 200 and audit.json()["audits"][0]["businessDate"] == departure

        folio_url = f"/csh/v1/hotels/SAND01/reservations/{reservation_id}/folios"
        folio = ohip.get(folio_url, params=[("fetchInstructions", "Postings"), ("fetchInstructions", "Totalbalance")])
        window = folio.json()["reservationFolioInformation"]["folioWindows"][0]
        postings = window["folios"][0]["postings"]
        tax = round(nightly * 0.10, 2)
        assert [(p["transactionCode"], p["transactionAmount"]) for p in postings] == [
            ("2000", 45.0),
            ("3000", 13.0),
            ("1000", nightly),
            ("1100", tax),
        ]
        balance = window["balance"]["amount"]
        assert balance == round(nightly + tax + 45.0 + 13.0, 2)

        paid = ohip.post(
            f"/csh/v1/hotels/SAND01/reservations/{reservation_id}/payments",
            json={
                "criteria": {
                    "hotelId": "SAND01",
                    "reservationId": {"id": reservation_id, "type": "Reservation"},
                    "paymentMethod": {"paymentMethod": "CA"},
                    "postingAmount": {"amount": balance, "currencyCode": "USD"},
                    "folioWindowNo": 1,
                    "cashierId": 113,
                }
            },
        )
        assert paid.status_code == 201, paid.text

        generated = ohip.post(
            folio_url,
            json={"criteria": {"hotelId": "SAND01", "eventType": "CheckOut", "folioWindowNo": 1, "cashierId": 113}},
        )
        assert generated.status_code == 201, generated.text
        assert generated.json()["folioWindows"][0]["balance"]["amount"] == 0

        checked_out = ohip.post(
            f"/csh/v1/hotels/SAND01/reservations/{reservation_id}/checkOuts",
            json={
                "reservation": {
                    "hotelId": "SAND01",
                    "reservationIdList": [{"id": reservation_id, "type": "Reservation"}],
                    "eventType": "CheckOut",
                    "checkoutInstr": {"roomStatus": "Dirty", "ignoreWarnings": True},
                    "cashierId": 113,
                },
                "verificationOnly": False,
            },
        )
        assert checked_out.status_code == 201, checked_out.text

        room = ohip.get("/fof/v1/hotels/SAND01/rooms", params={"fromRoomNumber": room_id, "toRoomNumber": room_id})
        status = room.json()["hotelRoomsDetails"]["room"][0]["housekeeping"]["roomStatus"]
        assert (status["frontOfficeStatus"], status["roomStatus"]) == ("Vacant", "Dirty")
        assert "Departed" in status["reservationStatusList"]
        final = ohip.get(reservation_url).json()["reservations"]["reservation"][0]
        assert final["reservationStatus"] == "CheckedOut"
