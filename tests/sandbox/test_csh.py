"""The sandbox's csh routes over real HTTP: folios, transaction codes, charges, payments (card numbers never
kept), folio generation and check-out, with the refusals a cashier meets."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.sandbox.test_fof import book, check_in, free_room, reservation, rooms, status_of

CSH = "/csh/v1/hotels/SAND01"
CARD = "4111 1111 1111 1111"


async def guest_in_house(ohip: httpx.AsyncClient, room_type: str = "KNG") -> str:
    reservation_id = await book(ohip, room_type)
    room_id = await free_room(ohip, room_type)
    assert (await check_in(ohip, reservation_id, room_id)).status_code == 201
    return reservation_id


async def folio(ohip: httpx.AsyncClient, reservation_id: str, *params: tuple[str, Any]) -> dict[str, Any]:
    response = await ohip.get(f"{CSH}/reservations/{reservation_id}/folios", params=list(params))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def first_window(body: dict[str, Any]) -> dict[str, Any]:
    window: dict[str, Any] = body["reservationFolioInformation"]["folioWindows"][0]
    return window


async def charge(ohip: httpx.AsyncClient, reservation_id: str, *charges: dict[str, Any]) -> httpx.Response:
    criteria = {"hotelId": "SAND01", "reservationId": {"id": reservation_id, "type": "Reservation"}}
    body = {"criteria": {**criteria, "charges": list(charges)}}
    return await ohip.post(f"{CSH}/reservations/{reservation_id}/charges", json=body)


async def pay(
    ohip: httpx.AsyncClient,
    reservation_id: str,
    amount: float,
    method: str = "CA",
    card: dict[str, Any] | None = None,
    **extra: Any,
) -> httpx.Response:
    payment_method: dict[str, Any] = {"paymentMethod": method}
    if card is not None:
        payment_method["paymentCard"] = card
    criteria = {
        "hotelId": "SAND01",
        "reservationId": {"id": reservation_id, "type": "Reservation"},
        "paymentMethod": payment_method,
        "postingAmount": {"amount": amount, "currencyCode": "USD"},
        "folioWindowNo": 1,
        **extra,
    }
    return await ohip.post(f"{CSH}/reservations/{reservation_id}/payments", json={"criteria": criteria})


async def check_out(ohip: httpx.AsyncClient, reservation_id: str, **options: Any) -> httpx.Response:
    instructions = {"roomStatus": options.pop("room_status", "Dirty"), "ignoreWarnings": True}
    body = {
        "reservation": {
            "hotelId": "SAND01",
            "reservationIdList": [{"id": reservation_id, "type": "Reservation"}],
            "eventType": "CheckOut",
            "checkoutInstr": instructions,
        },
        "verificationOnly": options.pop("verification_only", False),
    }
    return await ohip.post(f"{CSH}/reservations/{reservation_id}/checkOuts", json=body)


async def balance(ohip: httpx.AsyncClient, reservation_id: str) -> float:
    window = first_window(await folio(ohip, reservation_id, ("fetchInstructions", "Totalbalance")))
    return float(window["balance"]["amount"])


# ---------------------------------------------------------------------------------------------------- folios


async def test_a_reservation_never_checked_in_has_no_folio_204(ohip: httpx.AsyncClient) -> None:
    """getFolio: "Folios will only exist ... once the guest has checked in"; before that OHIP answers 204, and a
    checked-in guest with nothing posted has an empty window 1."""
    reservation_id = await book(ohip)

    response = await ohip.get(f"{CSH}/reservations/{reservation_id}/folios")
    assert response.status_code == 204 and response.content == b""

    room_id = await free_room(ohip, "KNG")
    assert (await check_in(ohip, reservation_id, room_id)).status_code == 201
    window = first_window(await folio(ohip, reservation_id))
    assert window["folioWindowNo"] == 1


async def test_the_folio_of_an_unknown_reservation_is_404(ohip: httpx.AsyncClient) -> None:
    response = await ohip.get(f"{CSH}/reservations/999999999/folios")
    assert response.status_code == 404
    assert "999999999" in response.json()["detail"]


async def test_folio_fetch_instructions_keep_oracle_casing(ohip: httpx.AsyncClient) -> None:
    reservation_id = await book(ohip)
    response = await ohip.get(
        f"{CSH}/reservations/{reservation_id}/folios", params={"fetchInstructions": "TotalBalance"}
    )
    assert response.status_code == 400
    assert "Totalbalance" in response.json()["detail"]


async def test_a_summary_folio_has_balances_without_postings(ohip: httpx.AsyncClient) -> None:
    reservation_id = await guest_in_house(ohip)

    window = first_window(await folio(ohip, reservation_id, ("summaryOnly", "true")))

    assert window["balance"]["amount"] > 0
    assert "folios" not in window


async def test_folio_postings_page_within_a_window(ohip: httpx.AsyncClient) -> None:
    reservation_id = await guest_in_house(ohip)
    await charge(ohip, reservation_id, {"transactionCode": "2010"}, {"transactionCode": "4000"})

    window = first_window(await folio(ohip, reservation_id, ("limit", "2"), ("offset", "1")))

    assert [p["transactionCode"] for p in window["folios"][0]["postings"]] == ["2010", "4000"]
    assert (window["totalResults"], window["count"], window["hasMore"]) == (3, 2, False)


# --------------------------------------------------------------------------------------------------- codes


async def test_transaction_codes_are_listed_and_filtered(ohip: httpx.AsyncClient) -> None:
    every = (await ohip.get(f"{CSH}/transactionCodes")).json()["trxCodes"]
    by_code = (await ohip.get(f"{CSH}/transactionCodes", params={"code": "3000"})).json()["trxCodes"]
    by_text = (await ohip.get(f"{CSH}/transactionCodes", params={"description": "room serv"})).json()["trxCodes"]
    audit_only = (await ohip.get(f"{CSH}/transactionCodes", params={"manualPostAllowed": "false"})).json()["trxCodes"]

    assert {"1000", "2000", "9000"} <= {c["transactionCode"] for c in every}
    assert [(c["transactionCode"], c["description"], c["price"]["amount"]) for c in by_code] == [
        ("3000", "Minibar", 12.0)
    ]
    assert [c["transactionCode"] for c in by_text] == ["2020"]
    assert [c["transactionCode"] for c in audit_only] == ["1000"]


# -------------------------------------------------------------------------------------------------- charges


async def test_charges_post_to_the_folio(ohip: httpx.AsyncClient) -> None:
    reservation_id = await guest_in_house(ohip)
    before = await balance(ohip, reservation_id)

    response = await charge(
        ohip,
        reservation_id,
        {"transactionCode": "2000", "price": {"amount": 38.5, "currencyCode": "USD"}, "postingRemark": "Dinner"},
        {"transactionCode": "3000", "postingQuantity": 2},
    )

    assert response.status_code == 201, response.text
    postings = response.json()["postings"]
    assert [(p["transactionCode"], p["transactionAmount"], p["quantity"]) for p in postings] == [
        ("2000", 38.5, 1),
        ("3000", 24.0, 2),
    ]
    assert postings[0]["remark"] == "Dinner"
    assert await balance(ohip, reservation_id) == round(before + 62.5, 2)


async def test_an_unknown_transaction_code_is_refused_by_name(ohip: httpx.AsyncClient) -> None:
    reservation_id = await guest_in_house(ohip)
    response = await charge(ohip, reservation_id, {"transactionCode": "8888", "price": {"amount": 10}})
    assert response.status_code == 400
    assert "8888" in response.json()["detail"] and "getTransactionCodes" in response.json()["detail"]


async def test_room_revenue_cannot_be_posted_by_hand(ohip: httpx.AsyncClient) -> None:
    reservation_id = await guest_in_house(ohip)
    response = await charge(ohip, reservation_id, {"transactionCode": "1000", "price": {"amount": 100}})
    assert response.status_code == 400
    assert "1000" in response.json()["detail"]


async def test_charges_need_a_positive_amount_and_quantity(ohip: httpx.AsyncClient) -> None:
    reservation_id = await guest_in_house(ohip)
    zero = await charge(ohip, reservation_id, {"transactionCode": "2000", "price": {"amount": 0}})
    negative = await charge(ohip, reservation_id, {"transactionCode": "2000", "price": {"amount": -5}})
    no_quantity = await charge(ohip, reservation_id, {"transactionCode": "2000", "postingQuantity": 0})

    assert zero.status_code == 400 and zero.json()["o:errorPath"] == "criteria.charges[0].price.amount"
    assert negative.status_code == 400
    assert no_quantity.status_code == 400 and "postingQuantity" in no_quantity.json()["detail"]


async def test_one_bad_charge_posts_none_of_the_batch(ohip: httpx.AsyncClient) -> None:
    reservation_id = await guest_in_house(ohip)
    before = await balance(ohip, reservation_id)

    response = await charge(
        ohip, reservation_id, {"transactionCode": "2000", "price": {"amount": 20}}, {"transactionCode": "8888"}
    )

    assert response.status_code == 400
    assert await balance(ohip, reservation_id) == before


async def test_only_in_house_guests_take_charges(ohip: httpx.AsyncClient) -> None:
    reservation_id = await book(ohip)
    response = await charge(ohip, reservation_id, {"transactionCode": "2000", "price": {"amount": 20}})
    assert response.status_code == 400
    assert "DueIn" in response.json()["detail"]


# ------------------------------------------------------------------------------------------------- payments


async def test_a_cash_payment_lowers_the_balance(ohip: httpx.AsyncClient) -> None:
    reservation_id = await guest_in_house(ohip)
    owed = await balance(ohip, reservation_id)

    response = await pay(ohip, reservation_id, 50.0, postingReference="Deposit at desk")

    assert response.status_code == 201, response.text
    posting = response.json()["postings"][0]
    assert (posting["transactionType"], posting["transactionCode"], posting["transactionAmount"]) == (
        "Payment",
        "9000",
        50.0,
    )
    assert posting["reference"] == "Deposit at desk"
    assert await balance(ohip, reservation_id) == round(owed - 50.0, 2)


async def test_a_card_payment_keeps_only_the_last_four_digits(ohip: httpx.AsyncClient) -> None:
    reservation_id = await guest_in_house(ohip)

    card = {"cardType": "Ax", "cardNumber": CARD, "cardHolderName": "Tess Ferrand"}
    response = await pay(ohip, reservation_id, 20.0, "VA", card, postingReference=f"card {CARD}")

    assert response.status_code == 201, response.text
    posting = response.json()["postings"][0]
    assert posting["remark"] == "Visa ending 1111"
    assert posting["reference"] == "card XXXX1111"
    digits = CARD.replace(" ", "")
    folio_text = (await ohip.get(f"{CSH}/reservations/{reservation_id}/folios")).text
    for text in (response.text, folio_text):
        assert digits not in text and CARD not in text


async def test_payment_refusals_are_specific_and_never_echo_a_card_number(ohip: httpx.AsyncClient) -> None:
    reservation_id = await guest_in_house(ohip)

    unknown = await pay(ohip, reservation_id, 10.0, "ZZ")
    zero = await pay(ohip, reservation_id, 0.0)
    cash_with_card = await pay(ohip, reservation_id, 10.0, "CA", {"cardNumber": CARD})
    short_card = await pay(ohip, reservation_id, 10.0, "VA", {"cardNumber": "4111 11"})

    assert unknown.status_code == 400 and "ZZ" in unknown.json()["detail"] and "VA" in unknown.json()["detail"]
    assert zero.status_code == 400 and zero.json()["o:errorPath"] == "postingAmount.amount"
    assert cash_with_card.status_code == 400 and "not a card" in cash_with_card.json()["detail"]
    assert short_card.status_code == 400 and "12 to 19 digits" in short_card.json()["detail"]
    for response in (cash_with_card, short_card):
        assert "4111" not in response.text


# ---------------------------------------------------------------------------------------- folio and check-out


async def test_a_check_out_folio_needs_a_zero_balance_an_interim_bill_does_not(ohip: httpx.AsyncClient) -> None:
    reservation_id = await guest_in_house(ohip)
    owed = await balance(ohip, reservation_id)
    url = f"{CSH}/reservations/{reservation_id}/folios"

    refused = await ohip.post(url, json={"criteria": {"eventType": "CheckOut", "folioWindowNo": 1}})
    interim = await ohip.post(url, json={"criteria": {"eventType": "InterimBill", "folioWindowNo": 1}})

    assert refused.status_code == 400
    assert f"{owed:.2f}" in refused.json()["detail"]
    assert interim.status_code == 201, interim.text
    generated = interim.json()["folioWindows"][0]
    assert generated["folios"][0]["folioNo"] > 0
    assert generated["balance"]["amount"] == owed


async def test_check_out_with_an_open_balance_states_the_balance(ohip: httpx.AsyncClient) -> None:
    reservation_id = await guest_in_house(ohip)
    owed = await balance(ohip, reservation_id)

    response = await check_out(ohip, reservation_id)

    assert response.status_code == 400
    assert f"{owed:.2f} USD" in response.json()["detail"]
    assert (await reservation(ohip, reservation_id))["reservationStatus"] == "InHouse"


async def test_a_verification_only_check_out_changes_nothing(ohip: httpx.AsyncClient) -> None:
    reservation_id = await guest_in_house(ohip)
    await pay(ohip, reservation_id, await balance(ohip, reservation_id))

    dry = await check_out(ohip, reservation_id, verification_only=True)

    assert dry.status_code == 201, dry.text
    assert (await reservation(ohip, reservation_id))["reservationStatus"] == "InHouse"

    real = await check_out(ohip, reservation_id, room_status="Pickup")

    assert real.status_code == 201, real.text
    assert real.json()["warnings"][0]["code"] == "EARLY_DEPARTURE"
    final = await reservation(ohip, reservation_id)
    assert final["reservationStatus"] == "CheckedOut"
    room_id = final["roomStay"]["currentRoomInfo"]["roomId"]
    row = (await rooms(ohip, ("fromRoomNumber", room_id), ("toRoomNumber", room_id)))[0]
    assert (status_of(row)["frontOfficeStatus"], status_of(row)["roomStatus"]) == ("Vacant", "Pickup")


async def test_a_verification_only_check_out_still_refuses_an_open_balance(ohip: httpx.AsyncClient) -> None:
    reservation_id = await guest_in_house(ohip)
    response = await check_out(ohip, reservation_id, verification_only=True)
    assert response.status_code == 400
    assert "balance" in response.json()["detail"]


async def test_only_an_in_house_guest_can_check_out(ohip: httpx.AsyncClient) -> None:
    reservation_id = await book(ohip)
    response = await check_out(ohip, reservation_id)
    assert response.status_code == 400
    assert "DueIn" in response.json()["detail"]


@pytest.mark.lenient_requests  # a room status outside Oracle's list, on purpose
async def test_check_out_refuses_an_unknown_room_status(ohip: httpx.AsyncClient) -> None:
    reservation_id = await guest_in_house(ohip)
    await pay(ohip, reservation_id, await balance(ohip, reservation_id))
    response = await check_out(ohip, reservation_id, room_status="Sparkling")
    assert response.status_code == 400
    assert "Sparkling" in response.json()["detail"]
