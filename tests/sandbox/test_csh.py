"""The sandbox's csh routes over real HTTP: folios, transaction codes, charges (and their voids), payments (under a
cashier, cards from the card on file, card numbers never taken), folio generation and check-out, with the refusals
a cashier meets."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest

from tests.contract.plugin import SandboxServer
from tests.sandbox.test_fof import book, check_in, free_room, reservation, rooms, status_of

CSH = "/csh/v1/hotels/SAND01"
CARD = "4111 1111 1111 1111"
#: The cashier the sandbox seeds for this app (app.config.SANDBOX_CASHIER_ID); 3 and 4 are desk clerks.
CASHIER = 113


async def guest_in_house(ohip: httpx2.AsyncClient, room_type: str = "KNG", **booking: Any) -> str:
    reservation_id = await book(ohip, room_type, **booking)
    room_id = await free_room(ohip, room_type)
    assert (await check_in(ohip, reservation_id, room_id)).status_code == 201
    return reservation_id


async def night_audit(ohip: httpx2.AsyncClient) -> dict[str, Any]:
    response = await ohip.post("/_sandbox/night-audit", json={"hotelId": "SAND01"})
    assert response.status_code == 200, response.text
    audit: dict[str, Any] = response.json()["audits"][0]
    return audit


async def guest_due_out(ohip: httpx2.AsyncClient, room_type: str = "KNG") -> str:
    """A one-night guest after the night audit: due out, with the night's room and tax on the folio."""
    reservation_id = await book(ohip, room_type, nights=1)
    room_id = await free_room(ohip, room_type)
    assert (await check_in(ohip, reservation_id, room_id)).status_code == 201
    await night_audit(ohip)
    return reservation_id


async def folio(ohip: httpx2.AsyncClient, reservation_id: str, *params: tuple[str, Any]) -> dict[str, Any]:
    response = await ohip.get(f"{CSH}/reservations/{reservation_id}/folios", params=list(params))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def first_window(body: dict[str, Any]) -> dict[str, Any]:
    window: dict[str, Any] = body["reservationFolioInformation"]["folioWindows"][0]
    return window


async def charge(ohip: httpx2.AsyncClient, reservation_id: str, *charges: dict[str, Any]) -> httpx2.Response:
    criteria = {"hotelId": "SAND01", "reservationId": {"id": reservation_id, "type": "Reservation"}}
    body = {"criteria": {**criteria, "charges": list(charges)}}
    return await ohip.post(f"{CSH}/reservations/{reservation_id}/charges", json=body)


async def pay(
    ohip: httpx2.AsyncClient,
    reservation_id: str,
    amount: float,
    method: str = "CA",
    card: dict[str, Any] | None = None,
    cashier: int | None = CASHIER,
    **extra: Any,
) -> httpx2.Response:
    payment_method: dict[str, Any] = {"paymentMethod": method}
    if card is not None:
        payment_method["paymentCard"] = card
    criteria = {
        "hotelId": "SAND01",
        "reservationId": {"id": reservation_id, "type": "Reservation"},
        "paymentMethod": payment_method,
        "postingAmount": {"amount": amount, "currencyCode": "USD"},
        "folioWindowNo": 1,
        **({"cashierId": cashier} if cashier is not None else {}),
        **extra,
    }
    return await ohip.post(f"{CSH}/reservations/{reservation_id}/payments", json={"criteria": criteria})


async def generate_folio(
    ohip: httpx2.AsyncClient, reservation_id: str, event: str = "CheckOut", cashier: int | None = CASHIER
) -> httpx2.Response:
    criteria: dict[str, Any] = {"eventType": event, "folioWindowNo": 1}
    if cashier is not None:
        criteria["cashierId"] = cashier
    return await ohip.post(f"{CSH}/reservations/{reservation_id}/folios", json={"criteria": criteria})


def guest_with_card(sandbox_server: SandboxServer) -> tuple[str, Any]:
    """A seeded in-house guest of SAND01 whose reservation holds a card on file, and that card."""
    hotel = sandbox_server.sandbox.enterprise.hotels["SAND01"]
    found = next(r for r in hotel.reservations.values() if r.status == "InHouse" and r.cards and r.balance > 0)
    return found.reservation_id, found.cards[0]


async def check_out(ohip: httpx2.AsyncClient, reservation_id: str, **options: Any) -> httpx2.Response:
    instructions = {"roomStatus": options.pop("room_status", "Dirty"), "ignoreWarnings": True}
    cashier = options.pop("cashier", CASHIER)
    body = {
        "reservation": {
            "hotelId": "SAND01",
            "reservationIdList": [{"id": reservation_id, "type": "Reservation"}],
            "eventType": "CheckOut",
            "checkoutInstr": instructions,
            **({"cashierId": cashier} if cashier is not None else {}),
        },
        "verificationOnly": options.pop("verification_only", False),
    }
    return await ohip.post(f"{CSH}/reservations/{reservation_id}/checkOuts", json=body)


async def balance(ohip: httpx2.AsyncClient, reservation_id: str) -> float:
    window = first_window(await folio(ohip, reservation_id, ("fetchInstructions", "Totalbalance")))
    return float(window["balance"]["amount"])


# ---------------------------------------------------------------------------------------------------- folios


async def test_a_reservation_never_checked_in_has_no_folio_204(ohip: httpx2.AsyncClient) -> None:
    """getFolio: "Folios will only exist ... once the guest has checked in"; before that OHIP answers 204, and a
    checked-in guest with nothing posted has an empty window 1."""
    reservation_id = await book(ohip)

    response = await ohip.get(f"{CSH}/reservations/{reservation_id}/folios")
    assert response.status_code == 204 and response.content == b""

    room_id = await free_room(ohip, "KNG")
    assert (await check_in(ohip, reservation_id, room_id)).status_code == 201
    window = first_window(await folio(ohip, reservation_id))
    assert window["folioWindowNo"] == 1


async def test_the_folio_of_an_unknown_reservation_is_404(ohip: httpx2.AsyncClient) -> None:
    response = await ohip.get(f"{CSH}/reservations/999999999/folios")
    assert response.status_code == 404
    assert "999999999" in response.json()["detail"]


async def test_folio_fetch_instructions_keep_oracle_casing(ohip: httpx2.AsyncClient) -> None:
    reservation_id = await book(ohip)
    response = await ohip.get(
        f"{CSH}/reservations/{reservation_id}/folios", params={"fetchInstructions": "TotalBalance"}
    )
    assert response.status_code == 400
    assert "Totalbalance" in response.json()["detail"]


async def test_a_summary_folio_has_balances_without_postings(ohip: httpx2.AsyncClient) -> None:
    reservation_id = await guest_due_out(ohip)

    window = first_window(await folio(ohip, reservation_id, ("summaryOnly", "true")))

    assert window["balance"]["amount"] > 0
    assert "folios" not in window


async def test_folio_postings_page_within_a_window(ohip: httpx2.AsyncClient) -> None:
    reservation_id = await guest_due_out(ohip)
    await charge(ohip, reservation_id, {"transactionCode": "2010"}, {"transactionCode": "4000"})

    window = first_window(await folio(ohip, reservation_id, ("limit", "2"), ("offset", "1")))

    # the audit's room (1000) and tax (1100), then the two charges
    assert [p["transactionCode"] for p in window["folios"][0]["postings"]] == ["1100", "2010"]
    assert (window["totalResults"], window["count"], window["hasMore"]) == (4, 2, True)


# --------------------------------------------------------------------------------------------------- codes


async def test_transaction_codes_are_listed_and_filtered(ohip: httpx2.AsyncClient) -> None:
    every = (await ohip.get(f"{CSH}/transactionCodes")).json()["trxCodes"]
    by_code = (await ohip.get(f"{CSH}/transactionCodes", params={"code": "3000"})).json()["trxCodes"]
    by_text = (await ohip.get(f"{CSH}/transactionCodes", params={"description": "room serv"})).json()["trxCodes"]
    audit_only = (await ohip.get(f"{CSH}/transactionCodes", params={"manualPostAllowed": "false"})).json()["trxCodes"]

    assert {"1000", "2000", "9000"} <= {c["transactionCode"] for c in every}
    assert [(c["transactionCode"], c["description"], c["price"]["amount"]) for c in by_code] == [
        ("3000", "Minibar", 12.0)
    ]
    assert [c["transactionCode"] for c in by_text] == ["2020"]
    # room, tax and the early-departure penalty: posted by the night audit and by OPERA itself, never by hand
    assert [c["transactionCode"] for c in audit_only] == ["1000", "1050", "1100"]


# -------------------------------------------------------------------------------------------------- charges


async def test_charges_post_to_the_folio(ohip: httpx2.AsyncClient) -> None:
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


async def test_an_unknown_transaction_code_is_refused_by_name(ohip: httpx2.AsyncClient) -> None:
    reservation_id = await guest_in_house(ohip)
    response = await charge(ohip, reservation_id, {"transactionCode": "8888", "price": {"amount": 10}})
    assert response.status_code == 400
    assert "8888" in response.json()["detail"] and "getTransactionCodes" in response.json()["detail"]


async def test_room_revenue_cannot_be_posted_by_hand(ohip: httpx2.AsyncClient) -> None:
    reservation_id = await guest_in_house(ohip)
    response = await charge(ohip, reservation_id, {"transactionCode": "1000", "price": {"amount": 100}})
    assert response.status_code == 400
    assert "1000" in response.json()["detail"]


async def test_charges_need_an_amount_and_a_quantity_other_than_zero(ohip: httpx2.AsyncClient) -> None:
    reservation_id = await guest_in_house(ohip)
    zero = await charge(ohip, reservation_id, {"transactionCode": "2000", "price": {"amount": 0}})
    no_quantity = await charge(ohip, reservation_id, {"transactionCode": "2000", "postingQuantity": 0})

    assert zero.status_code == 400 and zero.json()["o:errorPath"] == "criteria.charges[0].price.amount"
    assert no_quantity.status_code == 400 and "postingQuantity" in no_quantity.json()["detail"]


async def test_a_negative_amount_or_quantity_voids_as_in_oracles_hpi_samples(ohip: httpx2.AsyncClient) -> None:
    reservation_id = await guest_in_house(ohip)
    before = await balance(ohip, reservation_id)
    await charge(ohip, reservation_id, {"transactionCode": "2000", "price": {"amount": 59.5}, "postingQuantity": 1})

    by_amount = await charge(ohip, reservation_id, {"transactionCode": "2000", "price": {"amount": -3.2}})
    by_quantity = await charge(
        ohip, reservation_id, {"transactionCode": "2000", "price": {"amount": 59.5}, "postingQuantity": -1}
    )

    assert by_amount.status_code == 201, by_amount.text
    assert by_quantity.status_code == 201, by_quantity.text
    assert by_amount.json()["postings"][0]["transactionAmount"] == -3.2
    assert (by_quantity.json()["postings"][0]["transactionAmount"], by_quantity.json()["postings"][0]["quantity"]) == (
        -59.5, -1
    )
    assert await balance(ohip, reservation_id) == round(before - 3.2, 2)


async def test_a_charge_may_name_its_cashier_or_not_as_the_hpi_samples_do(ohip: httpx2.AsyncClient) -> None:
    reservation_id = await guest_in_house(ohip)
    url = f"{CSH}/reservations/{reservation_id}/charges"
    charges = [{"transactionCode": "2010", "price": {"amount": 9}}]

    named = await ohip.post(url, json={"criteria": {"cashierId": 4, "charges": charges}})
    unnamed = await ohip.post(url, json={"criteria": {"charges": charges}})
    unknown = await ohip.post(url, json={"criteria": {"cashierId": 999, "charges": charges}})

    assert named.status_code == 201 and named.json()["postings"][0]["cashierInfo"] == {"cashierId": 4}
    assert unnamed.status_code == 201 and "cashierInfo" not in unnamed.json()["postings"][0]
    assert unknown.status_code == 400 and "999" in unknown.json()["detail"]


async def test_one_bad_charge_posts_none_of_the_batch(ohip: httpx2.AsyncClient) -> None:
    reservation_id = await guest_in_house(ohip)
    before = await balance(ohip, reservation_id)

    response = await charge(
        ohip, reservation_id, {"transactionCode": "2000", "price": {"amount": 20}}, {"transactionCode": "8888"}
    )

    assert response.status_code == 400
    assert await balance(ohip, reservation_id) == before


async def test_only_in_house_guests_take_charges(ohip: httpx2.AsyncClient) -> None:
    reservation_id = await book(ohip)
    response = await charge(ohip, reservation_id, {"transactionCode": "2000", "price": {"amount": 20}})
    assert response.status_code == 400
    assert "DueIn" in response.json()["detail"]


# ------------------------------------------------------------------------------------------------- payments


async def test_a_cash_payment_lowers_the_balance(ohip: httpx2.AsyncClient) -> None:
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


async def test_a_payment_without_a_cashier_or_with_an_unknown_one_is_refused(
    ohip: httpx2.AsyncClient, sandbox_server: SandboxServer
) -> None:
    reservation_id = await guest_in_house(ohip)
    owed = await balance(ohip, reservation_id)

    missing = await pay(ohip, reservation_id, 10.0, cashier=None)
    unknown = await pay(ohip, reservation_id, 10.0, cashier=999)
    desk = await pay(ohip, reservation_id, 10.0, cashier=3)

    assert missing.status_code == 400 and missing.json()["o:errorCode"] == "OHIPSIM-CSH-CASHIER"
    assert "cashierId" in missing.json()["detail"] and "113" in missing.json()["detail"]
    assert unknown.status_code == 400 and "Cashier 999 does not exist" in unknown.json()["detail"]
    assert desk.status_code == 201 and desk.json()["postings"][0]["cashierInfo"] == {"cashierId": 3}
    assert await balance(ohip, reservation_id) == round(owed - 10.0, 2)
    hotel = sandbox_server.sandbox.enterprise.hotels["SAND01"]
    assert hotel.reservation(reservation_id).folio_windows[1].postings[-1].cashier_id == 3


async def test_a_card_payment_is_taken_from_the_card_on_file_by_its_id(
    ohip: httpx2.AsyncClient, sandbox_server: SandboxServer
) -> None:
    reservation_id, card = guest_with_card(sandbox_server)
    method = (await reservation(ohip, reservation_id))["reservationPaymentMethods"][0]
    assert method["paymentMethod"] == card.payment_method
    assert method["paymentCard"]["cardId"] == {"id": card.card_id, "type": "CreditCard"}
    shown = method["paymentCard"]
    assert shown["cardNumberLast4Digits"] == card.last_four and "cardNumber" not in shown

    paying = {"cardId": method["paymentCard"]["cardId"], "cardType": method["paymentCard"]["cardType"]}
    response = await pay(ohip, reservation_id, 20.0, card.payment_method, paying)

    assert response.status_code == 201, response.text
    posting = response.json()["postings"][0]
    description = sandbox_server.sandbox.enterprise.hotels["SAND01"].payment_methods[card.payment_method].description
    assert posting["remark"] == f"{description} ending {card.last_four}"
    stored = sandbox_server.sandbox.enterprise.hotels["SAND01"].reservation(reservation_id).folio_windows[1]
    assert (stored.postings[-1].card_id, stored.postings[-1].cashier_id) == (card.card_id, CASHIER)


async def test_a_card_payment_without_a_card_on_file_or_with_a_card_number_is_refused(
    ohip: httpx2.AsyncClient, sandbox_server: SandboxServer
) -> None:
    cash_guest = await guest_in_house(ohip)
    card_guest, card = guest_with_card(sandbox_server)
    other = "MC" if card.payment_method != "MC" else "VA"

    no_card = await pay(ohip, cash_guest, 10.0, "VA")
    not_on_file = await pay(ohip, cash_guest, 10.0, "VA", {"cardId": {"id": card.card_id, "type": "CreditCard"}})
    other_method = await pay(ohip, card_guest, 10.0, other, {"cardId": {"id": card.card_id, "type": "CreditCard"}})
    clear_number = await pay(ohip, card_guest, 10.0, card.payment_method, {"cardNumber": CARD, "cardType": "Va"})

    assert no_card.status_code == 400 and no_card.json()["o:errorCode"] == "OHIPSIM-CSH-CARD"
    assert "paymentCard.cardId" in no_card.json()["detail"] and "no card" in no_card.json()["detail"]
    assert not_on_file.status_code == 400 and "not a VA card on file" in not_on_file.json()["detail"]
    assert other_method.status_code == 400 and f"not a {other} card on file" in other_method.json()["detail"]
    assert clear_number.status_code == 400 and "tokenization" in clear_number.json()["detail"]
    assert "4111" not in clear_number.text
    hotel = sandbox_server.sandbox.enterprise.hotels["SAND01"]
    paid = [p for r in (cash_guest, card_guest) for w in hotel.reservation(r).folio_windows.values()
            for p in w.postings if p.transaction_type == "Payment" and p.posting_date == hotel.business_date]
    assert paid == []


async def test_payment_refusals_are_specific(ohip: httpx2.AsyncClient) -> None:
    reservation_id = await guest_in_house(ohip)

    unknown = await pay(ohip, reservation_id, 10.0, "ZZ")
    zero = await pay(ohip, reservation_id, 0.0)
    cash_with_card = await pay(ohip, reservation_id, 10.0, "CA", {"cardId": {"id": "22701", "type": "CreditCard"}})

    assert unknown.status_code == 400 and "ZZ" in unknown.json()["detail"] and "VA" in unknown.json()["detail"]
    assert zero.status_code == 400 and zero.json()["o:errorPath"] == "postingAmount.amount"
    assert cash_with_card.status_code == 400 and "not a card" in cash_with_card.json()["detail"]


# ---------------------------------------------------------------------------------------- folio and check-out


async def test_a_check_out_folio_needs_a_zero_balance_an_interim_bill_does_not(ohip: httpx2.AsyncClient) -> None:
    reservation_id = await guest_due_out(ohip)
    owed = await balance(ohip, reservation_id)

    refused = await generate_folio(ohip, reservation_id)
    interim = await generate_folio(ohip, reservation_id, "InterimBill")

    assert refused.status_code == 400
    assert f"{owed:.2f}" in refused.json()["detail"]
    assert interim.status_code == 201, interim.text
    generated = interim.json()["folioWindows"][0]
    assert generated["folios"][0]["folioNo"] > 0
    assert generated["balance"]["amount"] == owed


async def test_check_out_with_an_open_balance_states_the_balance(ohip: httpx2.AsyncClient) -> None:
    reservation_id = await guest_due_out(ohip)
    owed = await balance(ohip, reservation_id)

    response = await check_out(ohip, reservation_id)

    assert response.status_code == 400
    assert f"{owed:.2f} USD" in response.json()["detail"]
    assert (await reservation(ohip, reservation_id))["reservationStatus"] == "InHouse"


async def test_a_verification_only_check_out_changes_nothing(ohip: httpx2.AsyncClient) -> None:
    reservation_id = await guest_due_out(ohip)
    await pay(ohip, reservation_id, await balance(ohip, reservation_id))

    dry = await check_out(ohip, reservation_id, verification_only=True)

    assert dry.status_code == 201, dry.text
    assert (await reservation(ohip, reservation_id))["reservationStatus"] == "InHouse"

    real = await check_out(ohip, reservation_id, room_status="Pickup")

    assert real.status_code == 201, real.text
    final = await reservation(ohip, reservation_id)
    assert final["reservationStatus"] == "CheckedOut"
    room_id = final["roomStay"]["currentRoomInfo"]["roomId"]
    row = (await rooms(ohip, ("fromRoomNumber", room_id), ("toRoomNumber", room_id)))[0]
    assert (status_of(row)["frontOfficeStatus"], status_of(row)["roomStatus"]) == ("Vacant", "Pickup")


async def test_a_verification_only_check_out_still_refuses_an_open_balance(ohip: httpx2.AsyncClient) -> None:
    reservation_id = await guest_due_out(ohip)
    response = await check_out(ohip, reservation_id, verification_only=True)
    assert response.status_code == 400
    assert "balance" in response.json()["detail"]


async def test_only_an_in_house_guest_can_check_out(ohip: httpx2.AsyncClient) -> None:
    reservation_id = await book(ohip)
    response = await check_out(ohip, reservation_id)
    assert response.status_code == 400
    assert "DueIn" in response.json()["detail"]


@pytest.mark.lenient_requests  # a room status outside Oracle's list, on purpose
async def test_check_out_refuses_an_unknown_room_status(ohip: httpx2.AsyncClient) -> None:
    reservation_id = await guest_due_out(ohip)
    await pay(ohip, reservation_id, await balance(ohip, reservation_id))
    response = await check_out(ohip, reservation_id, room_status="Sparkling")
    assert response.status_code == 400
    assert "Sparkling" in response.json()["detail"]


async def test_folio_generation_and_check_out_need_a_cashier(ohip: httpx2.AsyncClient) -> None:
    reservation_id = await guest_due_out(ohip)
    await pay(ohip, reservation_id, await balance(ohip, reservation_id))

    folio_without = await generate_folio(ohip, reservation_id, cashier=None)
    folio_unknown = await generate_folio(ohip, reservation_id, cashier=7)
    dry_without = await check_out(ohip, reservation_id, verification_only=True, cashier=None)
    without = await check_out(ohip, reservation_id, cashier=None)

    for response, path in ((folio_without, "criteria.cashierId"), (folio_unknown, "criteria.cashierId"),
                           (dry_without, "reservation.cashierId"), (without, "reservation.cashierId")):
        assert response.status_code == 400 and response.json()["o:errorCode"] == "OHIPSIM-CSH-CASHIER", response.text
        assert response.json()["o:errorPath"] == path
    assert (await reservation(ohip, reservation_id))["reservationStatus"] == "InHouse"

    assert (await generate_folio(ohip, reservation_id, cashier=4)).status_code == 201
    assert (await check_out(ohip, reservation_id, cashier=4)).status_code == 201
    assert (await reservation(ohip, reservation_id))["reservationStatus"] == "CheckedOut"


async def reinstate(ohip: httpx2.AsyncClient, reservation_id: str, **extra: Any) -> httpx2.Response:
    """reinstateCheckOut in the body of Oracle's workflow "Reverse a check out"."""
    body = {"reservationId": {"idContext": "OPERA", "id": reservation_id, "type": "Reservation"},
            "notifyInterfaces": True, "overrideFlag": False, "cashierId": CASHIER, **extra}
    body = {k: v for k, v in body.items() if v is not None}
    return await ohip.put(f"{CSH}/reservations/{reservation_id}/checkOuts/reinstate", json=body)


def postings_of(window: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for f in window.get("folios", []) for p in f.get("postings", [])]


async def checked_out_today(ohip: httpx2.AsyncClient) -> str:
    reservation_id = await guest_due_out(ohip)
    await pay(ohip, reservation_id, await balance(ohip, reservation_id))
    assert (await check_out(ohip, reservation_id)).status_code == 201
    return reservation_id


async def test_a_guest_checked_out_today_is_reinstated_once_with_the_folio_kept_and_can_be_charged(
        ohip: httpx2.AsyncClient) -> None:
    reservation_id = await checked_out_today(ohip)
    late = {"transactionCode": "2000", "price": {"amount": 9.5, "currencyCode": "USD"}, "postingQuantity": 1}
    before = first_window(await folio(ohip, reservation_id, ("fetchInstructions", "Postings")))
    closed = await charge(ohip, reservation_id, late)

    done = await reinstate(ohip, reservation_id)
    again = await reinstate(ohip, reservation_id)
    after = await reservation(ohip, reservation_id)
    charged = await charge(ohip, reservation_id, late)

    assert closed.status_code == 400  # a checked-out folio takes no charge: it is reinstated first
    assert done.status_code == 200, done.text
    assert again.status_code == 400 and "only a checked-out reservation" in again.json()["detail"]
    assert after["reservationStatus"] == "InHouse"
    room_id = after["roomStay"]["currentRoomInfo"]["roomId"]
    row = (await rooms(ohip, ("fromRoomNumber", room_id), ("toRoomNumber", room_id)))[0]
    assert status_of(row)["frontOfficeStatus"] == "Occupied"
    assert charged.status_code == 201, charged.text
    kept = first_window(await folio(ohip, reservation_id, ("fetchInstructions", "Postings")))
    # the settled folio is kept, the charge added
    assert len(postings_of(kept)) == len(postings_of(before)) + 1 and postings_of(kept)[-1]["transactionCode"] == "2000"
    assert await balance(ohip, reservation_id) == 9.5


async def test_reinstating_is_refused_after_the_departure_day_without_a_cashier_or_into_an_occupied_room(
        ohip: httpx2.AsyncClient, sandbox_server: SandboxServer) -> None:
    hotel = sandbox_server.sandbox.enterprise.hotels["SAND01"]
    earlier = next(r for r in hotel.reservations.values() if r.status == "CheckedOut")
    old = await reinstate(ohip, earlier.reservation_id)
    reservation_id = await checked_out_today(ohip)
    no_cashier = await reinstate(ohip, reservation_id, cashierId=None)
    left = hotel.reservations[reservation_id]
    other = next(r for r in hotel.reservations.values() if hotel.computed_status(r) == "DueIn" and not r.room_id)
    other.status, other.room_id = "InHouse", left.room_id  # another guest checked into the room meanwhile
    occupied = await reinstate(ohip, reservation_id)
    still = left.status
    shared = await reinstate(ohip, reservation_id, overrideFlag=True)

    assert old.status_code == 400 and "only before the End of Day of its departure date" in old.json()["detail"]
    assert earlier.status == "CheckedOut"
    assert no_cashier.status_code == 400 and "cashier" in no_cashier.json()["detail"].lower()
    assert occupied.status_code == 400 and f"checked-in reservation {other.reservation_id}" in occupied.json()["detail"]
    assert still == "CheckedOut"
    assert shared.status_code == 200 and left.status == "InHouse"


async def test_an_early_departure_is_refused_until_the_departure_is_moved_to_the_business_date(
    ohip: httpx2.AsyncClient,
) -> None:
    """postCheckOut is for a guest "in due out status"; Oracle's workflow moves the departure first (putReservation)."""
    reservation_id = await book(ohip, nights=3)
    assert (await check_in(ohip, reservation_id, await free_room(ohip, "KNG"))).status_code == 201
    await night_audit(ohip)  # one night stayed; the business date is 2026-05-02, the departure 2026-05-04
    refused = await check_out(ohip, reservation_id)
    dry = await check_out(ohip, reservation_id, verification_only=True)
    for response in (refused, dry):
        assert response.status_code == 400 and response.json()["o:errorCode"] == "OHIPSIM-CSH-NOT-DUE-OUT"
        assert "2026-05-02" in response.json()["detail"]
    assert (await reservation(ohip, reservation_id))["reservationStatus"] == "InHouse"

    stay = {"roomStay": {"departureDate": "2026-05-02"}}
    body = {"reservations": [{"reservationIdList": [{"id": reservation_id, "type": "Reservation"}],
                              "hotelId": "SAND01", **stay}]}
    moved = await ohip.put(f"/rsv/v1/hotels/SAND01/reservations/{reservation_id}", json=body)
    assert moved.status_code == 200, moved.text
    await pay(ohip, reservation_id, await balance(ohip, reservation_id))
    out = await check_out(ohip, reservation_id)
    assert out.status_code == 201, out.text
    assert (await reservation(ohip, reservation_id))["reservationStatus"] == "CheckedOut"


async def early_departure(ohip: httpx2.AsyncClient, reservation_id: str, **criteria: Any) -> httpx2.Response:
    body = {"criteria": {"hotelId": "SAND01", "reservationIdList": [{"id": reservation_id, "type": "Reservation"}],
                         "ignoreRateRestriction": False, "postEarlyDeparturePenalty": False, **criteria}}
    return await ohip.put(f"{CSH}/reservations/{reservation_id}/earlyDeparture", json=body)


async def test_put_for_early_departure_makes_an_in_house_guest_due_out_with_oracles_refusals(
    ohip: httpx2.AsyncClient,
) -> None:
    """csh putForEarlyDeparture: "the reservation will be changed to a Due Out status with the departure date being
    the current business date. Only Inhouse reservations can be changed"; FOF00157 and FOF00158 are Oracle's codes."""
    due_in = await book(ohip, nights=3)
    refused = await early_departure(ohip, due_in)
    assert refused.status_code == 400 and refused.json()["o:errorCode"] == "FOF00157"
    assert "DueIn" in refused.json()["detail"]

    reservation_id = await book(ohip, nights=3)
    assert (await check_in(ohip, reservation_id, await free_room(ohip, "KNG"))).status_code == 201
    await night_audit(ohip)  # one night stayed; the business date is 2026-05-02, the departure 2026-05-04
    mismatch = await ohip.put(
        f"{CSH}/reservations/{reservation_id}/earlyDeparture",
        json={"criteria": {"hotelId": "SAND01", "reservationIdList": [{"id": due_in, "type": "Reservation"}]}},
    )
    assert mismatch.status_code == 400 and reservation_id in mismatch.json()["detail"]
    unknown_cashier = await early_departure(ohip, reservation_id, cashierId=999)
    assert unknown_cashier.status_code == 400 and "Cashier 999" in unknown_cashier.json()["detail"]
    assert (await reservation(ohip, reservation_id))["roomStay"]["departureDate"] == "2026-05-04"

    done = await early_departure(ohip, reservation_id, cashierId=4)
    assert done.status_code == 200, done.text
    record = await reservation(ohip, reservation_id)
    assert record["roomStay"]["departureDate"] == "2026-05-02"
    assert (record["reservationStatus"], record["computedReservationStatus"]) == ("InHouse", "DueOut")
    again = await early_departure(ohip, reservation_id)
    assert again.status_code == 400 and again.json()["o:errorCode"] == "FOF00158"
    assert (await reservation(ohip, reservation_id))["roomStay"]["departureDate"] == "2026-05-02"

    await pay(ohip, reservation_id, await balance(ohip, reservation_id))
    assert (await check_out(ohip, reservation_id)).status_code == 201
    assert (await reservation(ohip, reservation_id))["reservationStatus"] == "CheckedOut"


async def test_verify_names_the_early_departure_penalty_and_the_put_posts_it_only_when_asked_and_once(
    ohip: httpx2.AsyncClient, sandbox_server: SandboxServer
) -> None:
    """csh verifyForEarlyDeparture answers earlyDepartureDetails.penaltyAmount/penaltyDescription ("Amount that can
    be charged as Early Departure Penalty"); putForEarlyDeparture posts it when postEarlyDeparturePenalty says so
    ("If there is a penalty applicable this can be posted"). The sandbox's rule: the advance-purchase rate charges
    the nights booked and not stayed."""
    hotel = sandbox_server.sandbox.enterprise.hotels["SAND01"]
    flexible, waived, charged = [await book(ohip, nights=4) for _ in range(3)]
    for reservation_id in (flexible, waived, charged):
        assert (await check_in(ohip, reservation_id, await free_room(ohip, "KNG"))).status_code == 201
    await night_audit(ohip)  # the business date is 2026-05-02; three nights are left of each stay
    for reservation_id in (waived, charged):
        hotel.reservations[reservation_id].rate_plan = "ADV"
    rate = hotel.reservations[charged].rate_amount

    none = await ohip.get(f"{CSH}/reservations/{flexible}/earlyDeparture/verify")
    assert none.status_code == 200 and "earlyDepartureDetails" not in none.json()
    verified = await ohip.get(f"{CSH}/reservations/{charged}/earlyDeparture/verify",
                              params={"postEarlyDeparturePenalty": "true", "cashierId": CASHIER})
    assert verified.status_code == 200, verified.text
    details = verified.json()["earlyDepartureDetails"]
    assert details["penaltyAmount"] == {"amount": round(rate * 3, 2), "currencyCode": "USD"}
    assert "not stayed" in details["penaltyDescription"]

    before = await balance(ohip, waived)
    assert (await early_departure(ohip, waived)).status_code == 200
    assert await balance(ohip, waived) == before  # the flag was false: nothing charged
    before = await balance(ohip, charged)
    assert (await early_departure(ohip, charged, postEarlyDeparturePenalty=True)).status_code == 200
    assert await balance(ohip, charged) == pytest.approx(before + rate * 3)
    again = await early_departure(ohip, charged, postEarlyDeparturePenalty=True)
    assert again.status_code == 400 and again.json()["o:errorCode"] == "FOF00158"
    assert await balance(ohip, charged) == pytest.approx(before + rate * 3)
    late = await ohip.get(f"{CSH}/reservations/{charged}/earlyDeparture/verify")
    assert late.status_code == 400 and late.json()["o:errorCode"] == "FOF00158"


async def test_each_night_is_priced_posted_and_charged_at_its_own_rate(
    ohip: httpx2.AsyncClient, sandbox_server: SandboxServer
) -> None:
    """The bed-and-breakfast package costs more on Friday and Saturday nights. A stay from Friday 2026-05-01 to
    Monday shows each night's rate on its record, the night audit posts each night at its own rate, and an early
    departure's penalty charges the nights not stayed at theirs (a flat sandbox charged the first night's every
    night, and hid a client that read one rate as the stay's)."""
    hotel = sandbox_server.sandbox.enterprise.hotels["SAND01"]
    plan = hotel.rate_plans["PKG"]
    weekday, weekend = plan.prices["KNG"], plan.weekend_prices["KNG"]
    assert weekend > weekday
    reservation_id = await guest_in_house(ohip, "KNG", rate_plan="PKG", nights=3)
    [line] = (await reservation(ohip, reservation_id))["roomStay"]["roomRates"]
    assert [(r["start"], r["base"]["amountBeforeTax"]) for r in line["rates"]["rate"]] == [
        ("2026-05-01", weekend), ("2026-05-02", weekend), ("2026-05-03", weekday)]
    assert line["total"]["amountBeforeTax"] == pytest.approx(2 * weekend + weekday)

    await night_audit(ohip)  # Friday night posted; the business date is Saturday 2026-05-02
    window = first_window(await folio(ohip, reservation_id, ("fetchInstructions", "Postings")))
    postings = window["folios"][0]["postings"]
    rooms_posted = [p for p in postings if p["transactionCode"] == "1000"]
    assert [(p["postingDate"], p["postedAmount"]["amount"]) for p in rooms_posted] == [("2026-05-01", weekend)]

    hotel.reservations[reservation_id].rate_plan = "ADV"  # a plan with an early-departure penalty
    verified = await ohip.get(f"{CSH}/reservations/{reservation_id}/earlyDeparture/verify")
    assert verified.status_code == 200, verified.text
    penalty = verified.json()["earlyDepartureDetails"]["penaltyAmount"]
    assert penalty == {"amount": round(weekend + weekday, 2), "currencyCode": "USD"}  # Saturday and Sunday


async def test_an_early_departure_on_the_arrival_day_becomes_a_day_use(ohip: httpx2.AsyncClient) -> None:
    """A guest who arrived on the business date and leaves the same day: departure = arrival, no night posted."""
    reservation_id = await book(ohip, nights=2)
    assert (await check_in(ohip, reservation_id, await free_room(ohip, "KNG"))).status_code == 201
    assert (await early_departure(ohip, reservation_id)).status_code == 200
    stay = (await reservation(ohip, reservation_id))["roomStay"]
    assert stay["arrivalDate"] == stay["departureDate"] == "2026-05-01"
    assert await balance(ohip, reservation_id) == 0
    assert (await check_out(ohip, reservation_id)).status_code == 201


async def day_use_room_and_tax(ohip: httpx2.AsyncClient, reservation_id: str, **body: Any) -> httpx2.Response:
    payload = {"reservationId": {"id": reservation_id, "type": "Reservation"}, "cashierId": CASHIER, **body}
    return await ohip.post(f"/csh/v1/reservations/{reservation_id}/postRoomAndTaxForDayUse", json=payload)


async def test_a_day_use_is_posted_its_room_and_tax_on_each_call_and_only_a_day_use(ohip: httpx2.AsyncClient) -> None:
    """postRoomAndTaxForDayUse (no hotel in the path: x-hotelid names it) posts the day's room and tax of a day use,
    and getFolio's roomAndTaxPosted says so. Oracle says nothing of a repeat, so the sandbox posts them again on each
    call (a client must read the flag first); the night audit does not post that date again."""
    due_in = await book(ohip, nights=2)
    refused = await day_use_room_and_tax(ohip, due_in)
    assert refused.status_code == 400 and "DueIn" in refused.json()["detail"]

    reservation_id = await book(ohip, nights=2)
    assert (await check_in(ohip, reservation_id, await free_room(ohip, "KNG"))).status_code == 201
    staying = await day_use_room_and_tax(ohip, reservation_id)
    assert staying.status_code == 400 and staying.json()["o:errorCode"] == "OHIPSIM-CSH-NOT-DAY-USE"
    assert "2026-05-03" in staying.json()["detail"]
    assert await balance(ohip, reservation_id) == 0

    assert (await early_departure(ohip, reservation_id)).status_code == 200  # now a day use
    assert (await folio(ohip, reservation_id))["reservationFolioInformation"]["roomAndTaxPosted"] is False
    other = await day_use_room_and_tax(ohip, reservation_id, reservationId={"id": due_in, "type": "Reservation"})
    assert other.status_code == 400 and reservation_id in other.json()["detail"]
    posted = await day_use_room_and_tax(ohip, reservation_id)
    assert posted.status_code == 201, posted.text
    assert posted.headers["location"].endswith(f"/csh/v1/hotels/SAND01/reservations/{reservation_id}/folios")
    assert (await folio(ohip, reservation_id))["reservationFolioInformation"]["roomAndTaxPosted"] is True
    assert (await day_use_room_and_tax(ohip, reservation_id)).status_code == 201
    await night_audit(ohip)  # the guest is still in house: the audit extends the stay but does not post the day again
    postings = first_window(await folio(ohip, reservation_id))["folios"][0]["postings"]
    assert [(p["transactionCode"], p["postingDate"]) for p in postings] == [
        ("1000", "2026-05-01"), ("1100", "2026-05-01"), ("1000", "2026-05-01"), ("1100", "2026-05-01")
    ]
    room, tax = (p["postedAmount"]["amount"] for p in postings[:2])
    assert await balance(ohip, reservation_id) == round(2 * (room + tax), 2)


async def test_the_night_audit_posts_room_and_tax_records_no_shows_and_moves_the_date(
    ohip: httpx2.AsyncClient,
) -> None:
    staying = await guest_in_house(ohip)
    assert await balance(ohip, staying) == 0  # nothing is posted at check-in
    no_show = await book(ohip)
    audit = await night_audit(ohip)
    assert (audit["closed"], audit["businessDate"]) == ("2026-05-01", "2026-05-02")
    assert no_show in audit["noShows"] and audit["nightsPosted"] >= 1
    postings = first_window(await folio(ohip, staying))["folios"][0]["postings"]
    assert [(p["transactionCode"], p["postingDate"]) for p in postings] == [
        ("1000", "2026-05-01"), ("1100", "2026-05-01")
    ]
    room, tax = (p["postedAmount"]["amount"] for p in postings)
    assert tax == round(room * 0.10, 2)
    assert (await reservation(ohip, no_show))["reservationStatus"] == "NoShow"
    business = await ohip.get("/bof/v1/hotels/SAND01/businessDate")
    assert business.json() == {"hotels": [{"hotelId": "SAND01", "businessDate": "2026-05-02"}]}
