"""Billing tools through the MCP SDK client over HTTP, against our app with its embedded sandbox: folio, transaction
codes, charges and their corrections, payments under the configured cashier and from the card on file, and that card
numbers are refused without ever being repeated or sent to OHIP."""

from __future__ import annotations

import json
from typing import Any

import httpx2
import pytest

from tests.support.apps import embedded_settings, running_app
from tests.support.mcp_client import call_error, call_ok, mcp_client, text_of
from tests.support.servers import ServerThread

CARD = "4111111111111111"
#: The app's cashier the embedded sandbox seeds, used by default in sandbox mode (app.config.SANDBOX_CASHIER_ID).
APP_CASHIER = 113


def in_house(hotel: Any, index: int = 0) -> Any:
    guests = [r for r in hotel.reservations.values() if r.status == "InHouse" and r.balance > 0]
    return guests[index]


def with_card(hotel: Any, index: int = 0) -> Any:
    """An in-house guest owing money whose reservation holds a card on file of its own payment method."""
    guests = [r for r in hotel.reservations.values()
              if r.status == "InHouse" and r.balance > 0 and any(c.payment_method == r.payment_method for c in r.cards)]
    return guests[index]


def without_card(hotel: Any) -> Any:
    """An in-house guest owing money with no card on file at all."""
    return next(r for r in hotel.reservations.values() if r.status == "InHouse" and r.balance > 0 and not r.cards)


def sent(sandbox: Any, since: int, operation: str) -> list[Any]:
    """The bodies of the `operation` requests the sandbox received after the first `since` of its log."""
    return [e.json for e in sandbox.requests[since:] if e.operation_id == operation]


async def test_folio_gives_balances_and_with_detail_every_posting(server: ServerThread, hotel: Any) -> None:
    guest = in_house(hotel)
    async with mcp_client(server.url) as client:
        brief = await call_ok(client, "get_folio", {"reservation_id": guest.reservation_id})
        full = await call_ok(client, "get_folio", {"reservation_id": guest.reservation_id, "detail": True})
    assert brief["balance"] == {"amount": pytest.approx(guest.balance), "currency": "USD"}
    assert brief["windows"] and all(w["postings"] == [] for w in brief["windows"])
    postings = [p for w in full["windows"] for p in w["postings"]]
    assert len(postings) == sum(len(w.postings) for w in guest.folio_windows.values())
    assert any(p["transaction_code"] == "1000" for p in postings)


async def test_folio_of_an_unknown_reservation_says_how_to_find_it(server: ServerThread) -> None:
    async with mcp_client(server.url, mode="legacy") as client:
        error = await call_error(client, "get_folio", {"reservation_id": "999999999"})
    assert "999999999" in error and "search_reservations" in error


async def test_transaction_codes_filter_and_page(server: ServerThread, hotel: Any) -> None:
    async with mcp_client(server.url) as client:
        minibar = await call_ok(client, "list_transaction_codes", {"text": "minibar"})
        first = await call_ok(client, "list_transaction_codes", {"limit": 3})
        error = await call_error(client, "list_transaction_codes", {"limit": 101})
    assert [c["code"] for c in minibar["items"]] == ["3000"]
    assert first["page"]["count"] == 3 and first["page"]["has_more"] is True
    assert first["page"]["total"] == len(hotel.transaction_codes)
    assert "limit" in error


async def test_a_charge_shows_on_the_folio(server: ServerThread, hotel: Any) -> None:
    guest = in_house(hotel)
    before = guest.balance
    async with mcp_client(server.url) as client:
        charged = await call_ok(client, "post_charge", {"reservation_id": guest.reservation_id,
                                                        "transaction_code": "2010", "amount": 9.5, "quantity": 2,
                                                        "remark": "Two beers"})
        folio = await call_ok(client, "get_folio", {"reservation_id": guest.reservation_id, "detail": True})
    assert charged["total"] == {"amount": 19.0, "currency": "USD"}
    assert [p["transaction_code"] for p in charged["postings"]] == ["2010"]
    assert folio["balance"]["amount"] == pytest.approx(before + 19.0)
    assert any(p["remark"] == "⟦Two beers⟧" for w in folio["windows"] for p in w["postings"])


async def test_charges_with_an_unknown_code_or_no_amount_are_refused(server: ServerThread, hotel: Any) -> None:
    guest = in_house(hotel)
    lines = sum(len(w.postings) for w in guest.folio_windows.values())
    async with mcp_client(server.url) as client:
        unknown = await call_error(client, "post_charge", {"reservation_id": guest.reservation_id,
                                                           "transaction_code": "7777", "amount": 5})
        zero = await call_error(client, "post_charge", {"reservation_id": guest.reservation_id,
                                                        "transaction_code": "2000", "amount": 0})
    assert "7777" in unknown and "list_transaction_codes" in unknown and "nothing was posted" in unknown
    assert "amount" in zero and "more than 0" in zero
    assert sum(len(w.postings) for w in guest.folio_windows.values()) == lines


async def test_a_card_payment_is_taken_from_the_card_on_file_under_the_apps_cashier(
    server: ServerThread, hotel: Any
) -> None:
    guest = with_card(hotel)
    card = next(c for c in guest.cards if c.payment_method == guest.payment_method)
    before = guest.balance
    sandbox = server.app.state.sandbox
    seen = len(sandbox.requests)
    async with mcp_client(server.url) as client:
        paid = await call_ok(client, "post_payment", {"reservation_id": guest.reservation_id,
                                                      "payment_method": card.payment_method, "amount": 10,
                                                      "card_last_four": card.last_four, "confirm": True})
    assert paid["amount"] == {"amount": 10.0, "currency": "USD"} and paid["card_last_four"] == card.last_four
    assert guest.balance == pytest.approx(before - 10)
    payment = guest.folio_windows[1].postings[-1]
    assert (payment.payment_method, payment.card_id, payment.cashier_id) == (card.payment_method, card.card_id,
                                                                            APP_CASHIER)
    assert payment.reference == f"card ending {card.last_four}"
    [body] = sent(sandbox, seen, "postBillingPayment")
    assert body["criteria"]["cashierId"] == APP_CASHIER
    assert body["criteria"]["paymentMethod"]["paymentCard"] == {"cardId": {"id": card.card_id, "type": "CreditCard"},
                                                                "cardType": card.card_type}


async def test_a_card_payment_without_a_card_on_file_is_refused_before_any_posting(
    server: ServerThread, hotel: Any
) -> None:
    guest = without_card(hotel)
    before = guest.balance
    sandbox = server.app.state.sandbox
    seen = len(sandbox.requests)
    async with mcp_client(server.url) as client:
        error = await call_error(client, "post_payment", {"reservation_id": guest.reservation_id,
                                                          "payment_method": "VA", "amount": 10, "confirm": True})
    assert f"reservation {guest.reservation_id} has no VA card on file" in error and "nothing was posted" in error
    assert "payment terminal" in error and "Payment Instructions" in error
    assert sent(sandbox, seen, "postBillingPayment") == [] and guest.balance == before


async def test_a_card_payment_naming_other_last_digits_than_the_card_on_file_is_refused(
    server: ServerThread, hotel: Any
) -> None:
    guest = with_card(hotel)
    card = next(c for c in guest.cards if c.payment_method == guest.payment_method)
    wrong = "0000" if card.last_four != "0000" else "1111"
    sandbox = server.app.state.sandbox
    seen = len(sandbox.requests)
    async with mcp_client(server.url) as client:
        error = await call_error(client, "post_payment", {"reservation_id": guest.reservation_id,
                                                          "payment_method": card.payment_method, "amount": 10,
                                                          "card_last_four": wrong, "confirm": True})
    assert f"ends {card.last_four}, not {wrong}" in error and "nothing was posted" in error
    assert sent(sandbox, seen, "postBillingPayment") == []


async def test_the_configured_cashier_is_the_one_payments_are_posted_under() -> None:
    settings, port = embedded_settings(cashier_id=4)
    with running_app(settings, port) as srv:
        guest = in_house(srv.app.state.sandbox.enterprise.hotels["SAND01"])
        async with mcp_client(srv.url) as client:
            await call_ok(client, "post_payment", {"reservation_id": guest.reservation_id, "payment_method": "CA",
                                                   "amount": 5, "confirm": True})
        payment = guest.folio_windows[1].postings[-1]
        assert (payment.transaction_type, payment.cashier_id) == ("Payment", 4)


async def test_a_cashier_opera_does_not_know_is_named_as_the_setting_to_fix() -> None:
    settings, port = embedded_settings(cashier_id=999)
    with running_app(settings, port) as srv:
        guest = in_house(srv.app.state.sandbox.enterprise.hotels["SAND01"])
        before = guest.balance
        async with mcp_client(srv.url) as client:
            error = await call_error(client, "post_payment", {"reservation_id": guest.reservation_id,
                                                              "payment_method": "CA", "amount": 5, "confirm": True})
        assert "Cashier 999 does not exist" in error and "OPERA_CASHIER_ID" in error
        assert guest.balance == before


@pytest.mark.parametrize("args", [
    {"payment_method": CARD},
    {"payment_method": f"{CARD[:4]} {CARD[4:8]} {CARD[8:12]} {CARD[12:]}"},
    {"payment_method": "VA", "card_last_four": CARD},
    {"payment_method": "VA", "card_last_four": int(CARD)},
])
async def test_card_numbers_are_refused_never_echoed_and_never_sent(
    server: ServerThread, args: dict[str, Any], hotel: Any
) -> None:
    guest = in_house(hotel)
    sandbox = server.app.state.sandbox
    seen = len(sandbox.requests)
    async with mcp_client(server.url) as client:
        error = await call_error(client, "post_payment", {"reservation_id": guest.reservation_id, "amount": 5,
                                                          "confirm": True, **args})
    assert "card number" in error
    assert CARD not in error and CARD[:4] + " " + CARD[4:8] not in error and "1111" not in error
    sent = json.dumps([e.json for e in sandbox.requests[seen:]], default=str)
    assert CARD not in sent and "postBillingPayment" not in [e.operation_id for e in sandbox.requests[seen:]]


async def test_a_card_number_in_the_reference_never_reaches_ohip_nor_comes_back(
    server: ServerThread, hotel: Any
) -> None:
    guest = in_house(hotel)
    sandbox = server.app.state.sandbox
    seen = len(sandbox.requests)
    spaced = f"{CARD[:4]} {CARD[4:8]} {CARD[8:12]} {CARD[12:]}"
    async with mcp_client(server.url) as client:
        result = await client.call_tool("post_payment", {
            "reservation_id": guest.reservation_id, "payment_method": "CA", "amount": 5, "confirm": True,
            "reference": f"paid with {spaced}"})
    answer = text_of(result) + json.dumps(result.structured_content)
    sent = json.dumps([e.json for e in sandbox.requests[seen:]], default=str)
    for text in (answer, sent, json.dumps([p.reference for p in guest.folio_windows[1].postings])):
        assert CARD not in text and spaced not in text


async def test_unknown_payment_method_is_refused_with_the_hotels_methods(server: ServerThread, hotel: Any) -> None:
    guest = in_house(hotel)
    async with mcp_client(server.url) as client:
        error = await call_error(client, "post_payment", {"reservation_id": guest.reservation_id,
                                                          "payment_method": "ZZ", "amount": 5, "confirm": True})
    assert "ZZ" in error and "CA" in error and "VA" in error


async def test_charges_and_payments_are_counted_in_metrics(server: ServerThread, hotel: Any) -> None:
    guest = in_house(hotel)
    async with mcp_client(server.url) as client:
        await call_ok(client, "post_charge", {"reservation_id": guest.reservation_id, "transaction_code": "5000",
                                              "amount": 12})
        await call_ok(client, "post_payment", {"reservation_id": guest.reservation_id, "payment_method": "CA",
                                               "amount": 12, "confirm": True})
    async with httpx2.AsyncClient() as http:
        text = (await http.get(f"{server.url}/metrics")).text
    assert 'opera_front_desk_events_total{event="charge"}' in text
    assert 'opera_front_desk_events_total{event="payment"}' in text


async def test_a_reservation_not_yet_checked_in_has_no_folio_and_the_agent_is_told_why(
    server: ServerThread, hotel: Any
) -> None:
    """OHIP answers getFolio with 204 before check-in; that is not a zero balance (the old reading) but no folio."""
    arriving = next(r for r in hotel.reservations.values() if r.status == "Reserved")
    async with mcp_client(server.url) as client:
        error = await call_error(client, "get_folio", {"reservation_id": arriving.reservation_id})
    assert "no folio yet" in error and "check_in" in error and "balance" not in error.lower()


async def test_a_charge_posted_in_error_is_corrected_in_part_then_voided_never_beyond(
    server: ServerThread, hotel: Any
) -> None:
    guest = in_house(hotel, 2)
    before = guest.balance
    async with mcp_client(server.url) as client:
        charged = await call_ok(client, "post_charge", {"reservation_id": guest.reservation_id,
                                                        "transaction_code": "3000", "amount": 12, "quantity": 2})
        number = charged["postings"][0]["transaction_no"]
        part = await call_ok(client, "correct_charge", {"reservation_id": guest.reservation_id,
                                                        "transaction_no": number, "amount": 12,
                                                        "reason": "one minibar item not consumed"})
        rest = await call_ok(client, "correct_charge", {"reservation_id": guest.reservation_id,
                                                        "transaction_no": number, "reason": "guest disputes the rest"})
        beyond = await call_error(client, "correct_charge", {"reservation_id": guest.reservation_id,
                                                             "transaction_no": number, "amount": 1,
                                                             "reason": "once more"})
        paid = await call_ok(client, "post_payment", {"reservation_id": guest.reservation_id, "payment_method": "CA",
                                                      "amount": 1, "confirm": True})
        payment_no = paid["postings"][0]["transaction_no"]
        not_a_charge = await call_error(client, "correct_charge", {"reservation_id": guest.reservation_id,
                                                                   "transaction_no": payment_no, "reason": "wrong"})
        unknown = await call_error(client, "correct_charge", {"reservation_id": guest.reservation_id,
                                                              "transaction_no": 1, "reason": "no such line"})
        no_reason = await call_error(client, "correct_charge", {"reservation_id": guest.reservation_id,
                                                                "transaction_no": number, "reason": " "})
    assert part["amount"] == {"amount": 12.0, "currency": "USD"} and part["remaining"]["amount"] == 12.0
    assert rest["amount"]["amount"] == 12.0 and rest["remaining"]["amount"] == 0.0
    assert "already fully corrected" in beyond and "nothing was posted" in beyond
    assert "is not a charge" in not_a_charge and "get_folio" in not_a_charge
    assert "is not on the folio" in unknown
    assert "reason" in no_reason
    assert guest.balance == pytest.approx(before - 1)
    voids = [p for p in guest.folio_windows[1].postings if p.amount < 0]
    assert [(p.transaction_code, p.amount, p.remark) for p in voids] == [
        ("3000", -12.0, "one minibar item not consumed"), ("3000", -12.0, "guest disputes the rest")
    ]
    assert all(p.reference.startswith(f"Correction of #{number}") for p in voids)


async def test_a_correction_repeated_with_its_key_is_posted_once(server: ServerThread, hotel: Any) -> None:
    guest = in_house(hotel, 3)
    async with mcp_client(server.url) as client:
        charged = await call_ok(client, "post_charge", {"reservation_id": guest.reservation_id,
                                                        "transaction_code": "2010", "amount": 18})
        args = {"reservation_id": guest.reservation_id, "transaction_no": charged["postings"][0]["transaction_no"],
                "amount": 5, "reason": "happy hour price", "idempotency_key": "correct-happy-hour-0001"}
        first = await call_ok(client, "correct_charge", args)
        again = await call_ok(client, "correct_charge", args)
    assert again["postings"] == first["postings"]
    assert len([p for w in guest.folio_windows.values() for p in w.postings if p.amount < 0]) == 1


async def test_check_out_pays_from_the_card_on_file_and_sends_the_cashier_everywhere(
    server: ServerThread, hotel: Any
) -> None:
    guest = next(r for r in hotel.reservations.values()
                 if r.status == "InHouse" and r.balance > 0 and hotel.computed_status(r) == "DueOut"
                 and any(c.payment_method == r.payment_method for c in r.cards))
    card = next(c for c in guest.cards if c.payment_method == guest.payment_method)
    owed = guest.balance
    sandbox = server.app.state.sandbox
    seen = len(sandbox.requests)
    async with mcp_client(server.url) as client:
        done = await call_ok(client, "check_out", {"reservation_id": guest.reservation_id,
                                                   "payment_method": guest.payment_method, "confirm": True})
    assert done["status"] == "CheckedOut" and done["settled"]["amount"] == pytest.approx(owed)
    assert guest.status == "CheckedOut" and guest.checked_out_by == APP_CASHIER
    payments = [p for w in guest.folio_windows.values() for p in w.postings if p.transaction_type == "Payment"]
    assert payments[-1].card_id == card.card_id and payments[-1].cashier_id == APP_CASHIER
    [payment] = sent(sandbox, seen, "postBillingPayment")
    folios = sent(sandbox, seen, "generateFolio")
    [check_out] = sent(sandbox, seen, "postCheckOut")
    assert payment["criteria"]["cashierId"] == APP_CASHIER
    assert folios and all(f["criteria"]["cashierId"] == APP_CASHIER for f in folios)
    assert all(f["criteria"]["profileId"]["id"] == guest.profile_id for f in folios)
    assert check_out["reservation"]["cashierId"] == APP_CASHIER


async def test_check_out_with_a_card_method_and_no_card_on_file_pays_nothing(server: ServerThread, hotel: Any) -> None:
    guest = without_card(hotel)
    owed = guest.balance
    sandbox = server.app.state.sandbox
    seen = len(sandbox.requests)
    async with mcp_client(server.url) as client:
        error = await call_error(client, "check_out", {"reservation_id": guest.reservation_id,
                                                       "payment_method": "MC", "confirm": True})
    assert "no MC card on file" in error and "nothing was posted" in error
    assert sent(sandbox, seen, "postBillingPayment") == [] and sent(sandbox, seen, "postCheckOut") == []
    assert guest.status == "InHouse" and guest.balance == owed
