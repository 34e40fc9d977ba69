"""Billing tools through the MCP SDK client over HTTP, against our app with its embedded sandbox: folio, transaction
codes, charges and payments, and that card numbers are refused without ever being repeated or sent to OHIP."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.support.mcp_client import call_error, call_ok, mcp_client, text_of
from tests.support.servers import ServerThread

CARD = "4111111111111111"


def in_house(hotel: Any, index: int = 0) -> Any:
    guests = [r for r in hotel.reservations.values() if r.status == "InHouse" and r.balance > 0]
    return guests[index]


async def test_folio_gives_balances_and_with_detail_every_posting(server: ServerThread, hotel: Any) -> None:
    guest = in_house(hotel)
    async with mcp_client(server.url) as client:
        brief = await call_ok(client, "get_folio", {"reservation_id": guest.reservation_id})
        full = await call_ok(client, "get_folio", {"reservation_id": guest.reservation_id, "detail": True})
    assert brief["balance"] == {"amount": pytest.approx(guest.balance), "currency": "USD"}
    assert all(w["postings"] == [] for w in brief["windows"])
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
    assert any(p["remark"] == "Two beers" for w in folio["windows"] for p in w["postings"])


async def test_charges_with_an_unknown_code_or_no_amount_are_refused(server: ServerThread, hotel: Any) -> None:
    guest = in_house(hotel)
    lines = sum(len(w.postings) for w in guest.folio_windows.values())
    async with mcp_client(server.url) as client:
        unknown = await call_error(client, "post_charge", {"reservation_id": guest.reservation_id,
                                                           "transaction_code": "7777", "amount": 5})
        zero = await call_error(client, "post_charge", {"reservation_id": guest.reservation_id,
                                                        "transaction_code": "2000", "amount": 0})
    assert "7777" in unknown and "list_transaction_codes" in unknown and "nothing was posted" in unknown
    assert "amount" in zero and "greater than 0" in zero
    assert sum(len(w.postings) for w in guest.folio_windows.values()) == lines


async def test_a_payment_lowers_the_balance_and_keeps_only_the_last_four_digits(
    server: ServerThread, hotel: Any
) -> None:
    guest = in_house(hotel, 1)
    before = guest.balance
    async with mcp_client(server.url) as client:
        paid = await call_ok(client, "post_payment", {"reservation_id": guest.reservation_id,
                                                      "payment_method": "VA", "amount": 10, "card_last_four": "1111",
                                                      "confirm": True})
    assert paid["amount"] == {"amount": 10.0, "currency": "USD"} and paid["card_last_four"] == "1111"
    assert guest.balance == pytest.approx(before - 10)
    payment = guest.folio_windows[1].postings[-1]
    assert payment.payment_method == "VA" and payment.reference == "card ending 1111"


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
            "reservation_id": guest.reservation_id, "payment_method": "VA", "amount": 5, "confirm": True,
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
    async with httpx.AsyncClient() as http:
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
