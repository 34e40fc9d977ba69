"""The sandbox's deposit ledger over real HTTP (csh postDepositPayment, getDepositFolio): a payment taken before the
stay, kept on the reservation until check-in, when it matures onto folio window 1 and counts against the bill;
OPERA's refusals; refunds; what a cancellation and an undone check-in make of it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx2

from tests.contract.plugin import SandboxServer
from tests.sandbox.test_csh import CASHIER, CSH, balance, first_window, folio, guest_in_house, night_audit
from tests.sandbox.test_fof import BD, book, check_in, free_room, reservation


async def deposit(
    ohip: httpx2.AsyncClient, reservation_id: str, amount: float, method: str = "CA", *,
    cashier: int | None = CASHIER, **extra: Any,
) -> httpx2.Response:
    criteria: dict[str, Any] = {
        "hotelId": "SAND01",
        "reservationId": {"id": reservation_id, "type": "Reservation"},
        "paymentMethod": {"paymentMethod": method},
        "postingAmount": {"amount": amount, "currencyCode": "USD"},
        **({"cashierId": cashier} if cashier is not None else {}),
        **extra,
    }
    return await ohip.post(f"{CSH}/reservations/{reservation_id}/depositPayments", json={"criteria": criteria})


async def deposits(ohip: httpx2.AsyncClient, reservation_id: str) -> list[dict[str, Any]]:
    response = await ohip.get(f"{CSH}/depositFolio", params={"id": reservation_id})
    assert response.status_code == 200, response.text
    info = response.json()["reservationDepositFoliosInfo"][0]
    assert info["reservationInfo"]["reservationIdList"][0]["id"] == reservation_id
    found: list[dict[str, Any]] = info.get("deposits", [])
    return found


def deposit_paid(record: dict[str, Any]) -> float | None:
    paid = record["cashiering"]["revenuesAndBalances"].get("totalDepositPaid")
    return None if paid is None else float(paid["amount"])


async def test_a_deposit_before_the_stay_is_on_the_deposit_ledger_not_a_folio(ohip: httpx2.AsyncClient) -> None:
    reservation_id = await book(ohip, arrival=BD + timedelta(days=10))
    assert await deposits(ohip, reservation_id) == []
    assert deposit_paid(await reservation(ohip, reservation_id)) is None

    response = await deposit(ohip, reservation_id, 150.0, postingReference="Booking deposit")

    assert response.status_code == 201, response.text
    assert response.headers["Location"].endswith(f"/reservations/{reservation_id}/depositPayments")
    posted = response.json()["deposits"][0]
    assert (posted["transactionType"], posted["transactionAmount"], posted["reference"]) == (
        "Payment", 150.0, "Booking deposit")
    assert posted["paymentMethod"] == {"paymentMethod": "CA"} and posted["cashierInfo"] == {"cashierId": CASHIER}
    listed = await deposits(ohip, reservation_id)
    assert [d["transactionNo"] for d in listed] == [posted["transactionNo"]]
    assert deposit_paid(await reservation(ohip, reservation_id)) == 150.0
    # "Folios will only exist ... once the guest has checked in": a deposit opens none.
    assert (await ohip.get(f"{CSH}/reservations/{reservation_id}/folios")).status_code == 204


async def test_the_deposit_matures_at_check_in_and_counts_against_the_bill(ohip: httpx2.AsyncClient) -> None:
    reservation_id = await book(ohip, nights=1)
    first = (await deposit(ohip, reservation_id, 60.0)).json()["deposits"][0]
    second = (await deposit(ohip, reservation_id, 40.0)).json()["deposits"][0]

    assert (await check_in(ohip, reservation_id, await free_room(ohip, "KNG"))).status_code == 201

    window = first_window(await folio(ohip, reservation_id, ("fetchInstructions", "Postings")))
    numbers = [p["transactionNo"] for f in window["folios"] for p in f["postings"]]
    assert numbers == [first["transactionNo"], second["transactionNo"]]
    assert await balance(ohip, reservation_id) == -100.0  # a credit until the night's room and tax are posted
    # in house, the deposit is no longer taken: payments go to the folio
    refused = await deposit(ohip, reservation_id, 10.0)
    assert refused.status_code == 400 and refused.json()["o:errorCode"] == "OHIPSIM-RSV-STATUS"
    assert "InHouse" in refused.json()["detail"]
    assert len(await deposits(ohip, reservation_id)) == 2
    await night_audit(ohip)
    charged = float(first_window(await folio(ohip, reservation_id))["revenue"]["amount"])
    assert charged > 100.0  # the night's room and tax
    assert await balance(ohip, reservation_id) == round(charged - 100.0, 2)


async def test_deposit_refusals_are_specific_and_record_nothing(
    ohip: httpx2.AsyncClient, sandbox_server: SandboxServer
) -> None:
    reservation_id = await book(ohip, arrival=BD + timedelta(days=3))

    no_cashier = await deposit(ohip, reservation_id, 20.0, cashier=None)
    unknown_method = await deposit(ohip, reservation_id, 20.0, "ZZ")
    card_without_card = await deposit(ohip, reservation_id, 20.0, "VA")
    card_number = await deposit(
        ohip, reservation_id, 20.0, "VA", paymentMethod={"paymentMethod": "VA",
                                                          "paymentCard": {"cardNumber": "4111111111111111"}},
    )
    zero = await deposit(ohip, reservation_id, 0.0)

    assert no_cashier.status_code == 400 and no_cashier.json()["o:errorCode"] == "OHIPSIM-CSH-CASHIER"
    assert unknown_method.status_code == 400 and unknown_method.json()["o:errorCode"] == "OHIPSIM-CSH-PAYMENT"
    assert card_without_card.status_code == 400 and card_without_card.json()["o:errorCode"] == "OHIPSIM-CSH-CARD"
    assert card_number.status_code == 400 and "4111" not in card_number.text
    assert zero.status_code == 400 and zero.json()["o:errorCode"] == "OHIPSIM-CSH-AMOUNT"
    assert await deposits(ohip, reservation_id) == []
    assert sandbox_server.sandbox.enterprise.hotels["SAND01"].reservation(reservation_id).deposits == []


async def test_a_refund_is_a_negative_deposit_with_a_reference_never_more_than_was_paid(
    ohip: httpx2.AsyncClient,
) -> None:
    reservation_id = await book(ohip, arrival=BD + timedelta(days=5))
    assert (await deposit(ohip, reservation_id, 80.0)).status_code == 201

    unreferenced = await deposit(ohip, reservation_id, -30.0)
    too_much = await deposit(ohip, reservation_id, -80.5, postingReference="Refund")
    refund = await deposit(ohip, reservation_id, -30.0, postingReference="Refund: one night less")

    assert unreferenced.status_code == 400 and unreferenced.json()["o:errorCode"] == "OHIPSIM-CSH-REFERENCE"
    assert too_much.status_code == 400 and "80.00 USD" in too_much.json()["detail"]
    assert refund.status_code == 201, refund.text
    assert [d["transactionAmount"] for d in await deposits(ohip, reservation_id)] == [80.0, -30.0]
    assert deposit_paid(await reservation(ohip, reservation_id)) == 50.0


async def test_a_cancellation_shows_the_deposit_it_leaves_on_the_reservation(ohip: httpx2.AsyncClient) -> None:
    reservation_id = await book(ohip, arrival=BD + timedelta(days=7))
    assert (await deposit(ohip, reservation_id, 120.0)).status_code == 201
    url = f"/rsv/v1/hotels/SAND01/reservations/{reservation_id}/cancellations"
    body: dict[str, Any] = {
        "reason": {"code": "CHG"},
        "reservations": [{"reservationIdList": [{"id": reservation_id, "type": "Reservation"}], "hotelId": "SAND01"}],
    }

    dry = await ohip.post(url, json=body | {"verificationOnly": True})
    done = await ohip.post(url, json=body | {"verificationOnly": False})

    assert dry.status_code == 201 and done.status_code == 201, done.text
    held = {"amountPaid": 120.0, "hasPaid": True}
    assert dry.json()["reservations"][0]["deposit"] == held
    assert done.json()["reservations"][0]["deposit"] == held
    assert [d["transactionAmount"] for d in await deposits(ohip, reservation_id)] == [120.0]
    refused = await deposit(ohip, reservation_id, 5.0)
    assert refused.status_code == 400 and "Cancelled" in refused.json()["detail"]


async def test_a_check_in_that_matured_a_deposit_cannot_be_undone(ohip: httpx2.AsyncClient) -> None:
    # Oracle's user guide: a check-in is reversed only with "a zero balance (that is, no charges posted or deposit
    # payments transferred on check-in)".
    reservation_id = await book(ohip)
    assert (await deposit(ohip, reservation_id, 25.0)).status_code == 201
    assert (await check_in(ohip, reservation_id, await free_room(ohip, "KNG"))).status_code == 201

    undo = await ohip.delete(f"/fof/v1/hotels/SAND01/reservations/{reservation_id}/checkIns")

    assert undo.status_code == 400 and undo.json()["o:errorCode"] == "OHIPSIM-FOF-POSTINGS", undo.text
    assert (await reservation(ohip, reservation_id))["reservationStatus"] == "InHouse"


async def test_the_deposit_folio_needs_a_known_reservation(ohip: httpx2.AsyncClient) -> None:
    missing = await ohip.get(f"{CSH}/depositFolio")
    unknown = await ohip.get(f"{CSH}/depositFolio", params={"id": "999999999"})
    in_house = await guest_in_house(ohip)

    assert missing.status_code == 400 and "id" in missing.json()["detail"]
    assert unknown.status_code == 404
    assert await deposits(ohip, in_house) == []


async def policies(ohip: httpx2.AsyncClient, reservation_id: str) -> dict[str, Any]:
    response = await ohip.get(f"/rsv/v1/hotels/SAND01/reservations/{reservation_id}",
                              params={"fetchInstructions": ["Reservation", "ReservationPolicies"]})
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()["reservations"]["reservation"][0]["reservationPolicies"]
    return found


async def test_a_rate_code_with_a_deposit_rule_gives_the_booking_a_deposit_request(ohip: httpx2.AsyncClient) -> None:
    advance = await book(ohip, arrival=BD + timedelta(days=10), rate_plan="ADV")
    flexible = await book(ohip, arrival=BD + timedelta(days=10))
    total = sum(float(r["total"]["amountBeforeTax"])
                for r in (await reservation(ohip, advance))["roomStay"]["roomRates"])

    (request,) = (await policies(ohip, advance))["depositPolicies"]
    assert request["policy"]["amountPercent"] == {"basisType": "Percentage", "percent": 100, "amount": total,
                                                  "currencyCode": "USD"}
    assert request["policy"]["deadline"]["absoluteDeadline"].startswith(BD.isoformat())  # due at booking
    assert request["amountDue"]["amount"] == total and request["amountPaid"]["amount"] == 0
    assert "depositPolicies" not in await policies(ohip, flexible)
    # policies come only when asked for (fetchInstructions=ReservationPolicies)
    assert "reservationPolicies" not in await reservation(ohip, advance)


async def test_a_deposit_applies_to_the_request_only_when_it_names_it(ohip: httpx2.AsyncClient) -> None:
    reservation_id = await book(ohip, arrival=BD + timedelta(days=12), rate_plan="ADV")
    (request,) = (await policies(ohip, reservation_id))["depositPolicies"]
    due = request["amountDue"]["amount"]

    unallocated = await deposit(ohip, reservation_id, 20.0)
    applied = await deposit(ohip, reservation_id, 50.0, depositPolicyId=request["policyId"])
    wrong = await deposit(ohip, reservation_id, 5.0, depositPolicyId={"id": "1", "type": "Policy"})

    assert unallocated.status_code == 201 and applied.status_code == 201, applied.text
    assert applied.json()["deposits"][0]["depositPolicy"] == {"policyId": request["policyId"]}
    assert "depositPolicy" not in unallocated.json()["deposits"][0]
    assert wrong.status_code == 400 and wrong.json()["o:errorCode"] == "OHIPSIM-CSH-POLICY"
    (after,) = (await policies(ohip, reservation_id))["depositPolicies"]
    assert (after["amountPaid"]["amount"], after["amountDue"]["amount"]) == (50.0, round(due - 50.0, 2))
    assert deposit_paid(await reservation(ohip, reservation_id)) == 70.0  # every deposit, applied or not


def eligible_url(reservation_id: str, transaction_no: Any) -> str:
    return f"{CSH}/reservations/{reservation_id}/transactions/{transaction_no}"


async def cancel(ohip: httpx2.AsyncClient, reservation_id: str) -> None:
    body: dict[str, Any] = {
        "reason": {"code": "CHG"}, "verificationOnly": False,
        "reservations": [{"reservationIdList": [{"id": reservation_id, "type": "Reservation"}], "hotelId": "SAND01"}],
    }
    done = await ohip.post(f"/rsv/v1/hotels/SAND01/reservations/{reservation_id}/cancellations", json=body)
    assert done.status_code == 201, done.text


async def test_a_cancelled_booking_has_its_deposit_refunded_but_takes_no_new_one(ohip: httpx2.AsyncClient) -> None:
    # "If a deposit has been refunded on no-show or cancelled reservations, this data is not deleted" (user guide).
    reservation_id = await book(ohip, arrival=BD + timedelta(days=6))
    paid = (await deposit(ohip, reservation_id, 90.0)).json()["deposits"][0]
    await cancel(ohip, reservation_id)

    refund = await deposit(ohip, reservation_id, -90.0, postingReference="Cancelled in time: full refund",
                           originalTransactionNo=paid["transactionNo"])
    again = await deposit(ohip, reservation_id, -0.01, postingReference="Refund",
                          originalTransactionNo=paid["transactionNo"])

    assert refund.status_code == 201, refund.text
    assert refund.json()["deposits"][0]["transactionAmount"] == -90.0
    assert again.status_code == 400 and again.json()["o:errorCode"] == "OHIPSIM-CSH-AMOUNT"
    assert [d["transactionAmount"] for d in await deposits(ohip, reservation_id)] == [90.0, -90.0]
    assert deposit_paid(await reservation(ohip, reservation_id)) == 0.0
    assert (await deposit(ohip, reservation_id, 10.0)).status_code == 400  # a new deposit is not taken


async def test_a_no_show_has_its_deposit_refunded(ohip: httpx2.AsyncClient) -> None:
    reservation_id = await book(ohip, nights=1)
    paid = (await deposit(ohip, reservation_id, 50.0)).json()["deposits"][0]
    await night_audit(ohip)
    assert (await reservation(ohip, reservation_id))["reservationStatus"] == "NoShow"

    refund = await deposit(ohip, reservation_id, -20.0, postingReference="Goodwill: part refund",
                           originalTransactionNo=paid["transactionNo"])

    assert refund.status_code == 201, refund.text
    assert deposit_paid(await reservation(ohip, reservation_id)) == 30.0


async def test_a_refund_of_a_named_payment_goes_back_its_way_and_never_beyond_it(
    ohip: httpx2.AsyncClient, sandbox_server: SandboxServer
) -> None:
    hotel = sandbox_server.sandbox.enterprise.hotels["SAND01"]
    booked = next(r for r in hotel.reservations.values()
                  if r.status == "Reserved" and r.arrival > BD and r.cards and not r.deposits)
    card = booked.cards[0]
    paying = {"paymentMethod": card.payment_method,
              "paymentCard": {"cardId": {"id": card.card_id, "type": "CreditCard"}}}
    by_card = await deposit(ohip, booked.reservation_id, 60.0, card.payment_method, paymentMethod=paying)
    assert by_card.status_code == 201, by_card.text
    card_deposit = by_card.json()["deposits"][0]
    # the ledger says which card on file paid (by its id, never a number)
    assert card_deposit["paymentMethod"] == paying
    cash_deposit = (await deposit(ohip, booked.reservation_id, 40.0)).json()["deposits"][0]
    number = card_deposit["transactionNo"]

    by_cash = await deposit(ohip, booked.reservation_id, -10.0, postingReference="Refund",
                            originalTransactionNo=number)
    beyond = await deposit(ohip, booked.reservation_id, -60.5, card.payment_method, paymentMethod=paying,
                           postingReference="Refund", originalTransactionNo=number)
    unknown = await deposit(ohip, booked.reservation_id, -5.0, postingReference="Refund", originalTransactionNo=1)
    positive = await deposit(ohip, booked.reservation_id, 5.0, originalTransactionNo=cash_deposit["transactionNo"])
    refund = await deposit(ohip, booked.reservation_id, -60.0, card.payment_method, paymentMethod=paying,
                           postingReference="Refund to card", originalTransactionNo=number)

    assert by_cash.status_code == 400 and by_cash.json()["o:errorCode"] == "OHIPSIM-CSH-PAYMENT", by_cash.text
    assert beyond.status_code == 400 and "60.00 USD left" in beyond.json()["detail"]  # though 100.00 is held
    assert unknown.status_code == 404
    assert positive.status_code == 400 and positive.json()["title"] == "Not a refund"
    assert refund.status_code == 201, refund.text
    assert [d["transactionAmount"] for d in await deposits(ohip, booked.reservation_id)] == [60.0, 40.0, -60.0]


async def test_refund_eligibility_says_whether_a_deposit_payment_can_still_be_refunded(
    ohip: httpx2.AsyncClient,
) -> None:
    reservation_id = await book(ohip, nights=1)
    first = (await deposit(ohip, reservation_id, 30.0)).json()["deposits"][0]
    second = (await deposit(ohip, reservation_id, 20.0)).json()["deposits"][0]
    assert (await deposit(ohip, reservation_id, -30.0, postingReference="Refund",
                          originalTransactionNo=first["transactionNo"])).status_code == 201

    refunded = await ohip.get(eligible_url(reservation_id, first["transactionNo"]))
    open_one = await ohip.get(eligible_url(reservation_id, second["transactionNo"]))
    not_a_deposit = await ohip.get(eligible_url(reservation_id, 123))

    assert refunded.status_code == 200 and refunded.json()["isDepositRefundValid"] is False
    assert "refunded in full" in refunded.json()["warnings"][0]["value"]
    assert open_one.json() == {"isDepositRefundValid": True}
    assert not_a_deposit.status_code == 404
    assert (await check_in(ohip, reservation_id, await free_room(ohip, "KNG"))).status_code == 201
    matured = await ohip.get(eligible_url(reservation_id, second["transactionNo"]))
    assert matured.json()["isDepositRefundValid"] is False and "InHouse" in matured.json()["warnings"][0]["value"]
