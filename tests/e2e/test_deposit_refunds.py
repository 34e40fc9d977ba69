"""Deposit refunds (list_deposits, refund_deposit; csh getDepositFolio, isDepositRefundEligible, postDepositPayment
with a negative amount and originalTransactionNo) through the MCP SDK client over HTTP, against a standalone sandbox:
paid back once whatever answer is lost, on whichever server the agent repeats it; never more than the deposit; back
the way it was paid; refused before OPERA is asked where there is nothing to refund."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest

from tests.support.apps import running_app, settings_for_sandbox
from tests.support.mcp_client import call_error, call_ok, mcp_client
from tests.support.sandbox_state import RAW_HEADERS, inject_fault, raw_call, stay


@pytest.fixture
def app(sandbox_server: Any) -> Iterator[Any]:
    with running_app(settings_for_sandbox(sandbox_server.url)) as srv:
        yield srv


def hotel_of(sandbox_server: Any) -> Any:
    return sandbox_server.sandbox.enterprise.hotels["SAND01"]


def amounts(sandbox_server: Any, reservation_id: str) -> list[float]:
    return [p.amount for p in hotel_of(sandbox_server).reservations[reservation_id].deposits]


def sent(sandbox_server: Any, operation: str) -> list[Any]:
    return [e for e in sandbox_server.sandbox.requests if e.operation_id == operation]


def refunds_sent(sandbox_server: Any) -> list[dict[str, Any]]:
    return [e.json["criteria"] for e in sent(sandbox_server, "postDepositPayment")
            if e.json["criteria"]["postingAmount"]["amount"] < 0]


async def booked_with_deposit(client: Any, surname: str, *amounts: float, cancel: bool = False) -> str:
    reservation_id: str = (await call_ok(client, "create_reservation", stay(surname)))["reservation_id"]
    for amount in amounts:
        await call_ok(client, "post_deposit", {"reservation_id": reservation_id, "payment_method": "CA",
                                               "amount": amount, "confirm": True})
    if cancel:
        await call_ok(client, "cancel_reservation", {"reservation_id": reservation_id, "confirm": True})
    return reservation_id


async def test_a_cancelled_booking_is_refunded_in_parts_never_beyond_its_deposit(
        app: Any, sandbox_server: Any) -> None:
    async with mcp_client(app.url) as client:
        reservation_id = await booked_with_deposit(client, "Devuelto", 100, cancel=True)
        before = await call_ok(client, "list_deposits", {"reservation_id": reservation_id})
        asked = await call_error(client, "refund_deposit", {"reservation_id": reservation_id, "amount": 40,
                                                            "reason": "cancelled in the free period"})
        part = await call_ok(client, "refund_deposit", {"reservation_id": reservation_id, "amount": 40,
                                                        "reason": "cancelled in the free period", "confirm": True})
        middle = await call_ok(client, "list_deposits", {"reservation_id": reservation_id})
        beyond = await call_error(client, "refund_deposit", {"reservation_id": reservation_id, "amount": 60.01,
                                                             "reason": "the rest", "confirm": True})
        rest = await call_ok(client, "refund_deposit", {"reservation_id": reservation_id, "reason": "the rest",
                                                        "confirm": True})
        nothing = await call_error(client, "refund_deposit", {"reservation_id": reservation_id,
                                                              "reason": "once more", "confirm": True})
        record = await call_ok(client, "get_reservation", {"reservation_id": reservation_id})

    (deposit,) = before["lines"]
    number = deposit["transaction_no"]
    assert before["status"] == "Cancelled" and before["held"] == {"amount": 100.0, "currency": "USD"}
    assert deposit["refund_limit"]["amount"] == 100.0 and deposit["refundable"] is True
    assert f"Refund 40.00 USD of deposit {number}" in asked and "Devuelto" in asked and "confirm=true" in asked
    assert part["amount"]["amount"] == 40.0 and part["deposit_held"]["amount"] == 60.0
    assert part["refunded_transaction_no"] == number and part["refund"][0]["amount"]["amount"] == -40.0
    assert [line["kind"] for line in middle["lines"]] == ["deposit", "refund"]
    assert middle["lines"][0]["refund_limit"]["amount"] == 60.0 and middle["held"]["amount"] == 60.0
    assert "at most 60.00 USD" in beyond and "nothing was refunded" in beyond
    assert rest["amount"]["amount"] == 60.0 and rest["deposit_held"]["amount"] == 0.0  # the default: all that is left
    assert "holds no deposit" in nothing
    assert amounts(sandbox_server, reservation_id) == [100.0, -40.0, -60.0]
    assert record["deposit_paid"] == {"amount": 0.0, "currency": "USD"}
    first, second = refunds_sent(sandbox_server)
    assert first["originalTransactionNo"] == number == second["originalTransactionNo"]
    assert first["postingReference"] == f"Refund of deposit {number}: cancelled in the free period"
    assert first["paymentMethod"] == {"paymentMethod": "CA"} and first["cashierId"] == 113


async def test_a_card_deposit_goes_back_to_the_card_that_paid_it(app: Any, sandbox_server: Any) -> None:
    booked = next(r for r in sorted(hotel_of(sandbox_server).reservations.values(), key=lambda r: r.reservation_id)
                  if r.status == "Reserved" and r.cards and not r.deposits and r.cards[0].payment_method == "VA")
    card = booked.cards[0]
    async with mcp_client(app.url) as client:
        await call_ok(client, "post_deposit", {"reservation_id": booked.reservation_id, "payment_method": "VA",
                                               "amount": 75, "card_last_four": card.last_four, "confirm": True})
        asked = await call_error(client, "refund_deposit", {"reservation_id": booked.reservation_id,
                                                            "reason": "guest changed plans"})
        done = await call_ok(client, "refund_deposit", {"reservation_id": booked.reservation_id,
                                                        "reason": "guest changed plans", "confirm": True})

    assert card.last_four in asked
    assert done["payment_method"] == "VA" and done["card_last_four"] == card.last_four
    (criteria,) = refunds_sent(sandbox_server)
    assert criteria["paymentMethod"]["paymentCard"]["cardId"]["id"] == card.card_id
    assert "cardNumber" not in str(criteria)
    assert amounts(sandbox_server, booked.reservation_id) == [75.0, -75.0]


async def test_a_refund_whose_answer_is_lost_is_made_once_with_or_without_a_key(
        app: Any, sandbox_server: Any) -> None:
    async with mcp_client(app.url) as client:
        keyed_id = await booked_with_deposit(client, "Perdida", 50, cancel=True)
        plain_id = await booked_with_deposit(client, "Sinllave", 30, cancel=True)
        keyed = {"reservation_id": keyed_id, "reason": "cancelled", "confirm": True,
                 "idempotency_key": str(uuid.uuid4())}
        await inject_fault(sandbox_server.url, operation="postDepositPayment", mode="drop")
        found = await call_ok(client, "refund_deposit", keyed)  # settled by reading the ledger
        again = await call_ok(client, "refund_deposit", keyed)
        await inject_fault(sandbox_server.url, operation="postDepositPayment", mode="drop")
        settled = await call_ok(client, "refund_deposit", {"reservation_id": plain_id, "reason": "cancelled",
                                                           "confirm": True})

    assert amounts(sandbox_server, keyed_id) == [50.0, -50.0] and amounts(sandbox_server, plain_id) == [30.0, -30.0]
    refund_no = hotel_of(sandbox_server).reservations[keyed_id].deposits[1].transaction_no
    assert found["refund"][0]["transaction_no"] == refund_no == again["refund"][0]["transaction_no"]
    assert settled["refund"][0]["amount"]["amount"] == -30.0
    assert len(refunds_sent(sandbox_server)) == 2  # one each: never a blind repeat


async def test_an_agent_that_times_out_and_repeats_gets_one_refund(app: Any, sandbox_server: Any) -> None:
    async with mcp_client(app.url) as client:
        reservation_id = await booked_with_deposit(client, "Impaciente", 64, cancel=True)
    ask = {"reservation_id": reservation_id, "reason": "cancelled", "confirm": True,
           "idempotency_key": str(uuid.uuid4())}
    # OPERA refunds at once but answers 2 s late; the agent gives up after 0.5 s and asks again with its key.
    await inject_fault(sandbox_server.url, operation="postDepositPayment", mode="stall", delay=2.0)
    async with httpx2.AsyncClient(timeout=0.5) as http:
        with pytest.raises(httpx2.ReadTimeout):
            await http.post(f"{app.url}/mcp", json=raw_call("refund_deposit", ask), headers=RAW_HEADERS)
    async with mcp_client(app.url) as client:
        again = await call_ok(client, "refund_deposit", ask)
    assert amounts(sandbox_server, reservation_id) == [64.0, -64.0]
    assert again["amount"]["amount"] == 64.0 and len(refunds_sent(sandbox_server)) == 1


async def test_a_key_a_second_server_never_saw_finds_the_refund_in_opera(sandbox_server: Any) -> None:
    """The idempotency record is a fast path; OPERA holds the truth. A server with an empty store (another replica,
    a Redis that came back empty) finds the refund by the reference stamped in it instead of refunding again."""
    with running_app(settings_for_sandbox(sandbox_server.url)) as first:
        async with mcp_client(first.url) as client:
            reservation_id = await booked_with_deposit(client, "Replica", 20, 30, cancel=True)
            number = hotel_of(sandbox_server).reservations[reservation_id].deposits[1].transaction_no
            ask = {"reservation_id": reservation_id, "transaction_no": number, "reason": "cancelled",
                   "confirm": True, "idempotency_key": str(uuid.uuid4())}
            made = await call_ok(client, "refund_deposit", ask)
    with running_app(settings_for_sandbox(sandbox_server.url)) as second:
        async with mcp_client(second.url) as client:
            again = await call_ok(client, "refund_deposit", ask)
    assert amounts(sandbox_server, reservation_id) == [20.0, 30.0, -30.0]
    assert made["refund"] == again["refund"] and again["refunded_transaction_no"] == number
    assert len(refunds_sent(sandbox_server)) == 1


async def test_a_lost_answer_when_opera_refunded_nothing_says_what_to_check(app: Any, sandbox_server: Any) -> None:
    async with mcp_client(app.url) as client:
        reservation_id = await booked_with_deposit(client, "Fallida", 80, cancel=True)
        ask = {"reservation_id": reservation_id, "amount": 10, "reason": "goodwill", "confirm": True}
        await call_ok(client, "refund_deposit", ask)
        await inject_fault(sandbox_server.url, operation="postDepositPayment", mode="respond", status=503, times=5)
        failed = await call_error(client, "refund_deposit", ask)
    # The refund of the same amount and reason made before does not pass for one OPERA did not make.
    assert "list_deposits" in failed
    assert amounts(sandbox_server, reservation_id) == [80.0, -10.0]


async def test_a_refund_made_at_the_desk_counts_through_operas_own_check(app: Any, sandbox_server: Any) -> None:
    async with mcp_client(app.url) as client:
        reservation_id = await booked_with_deposit(client, "Mostrador", 50, 30, cancel=True)
        first = hotel_of(sandbox_server).reservations[reservation_id].deposits[0]
        # The front desk refunds the first deposit in OPERA itself, under its own words.
        sandbox_server.sandbox.enterprise.post_deposit(
            "SAND01", reservation_id, "CA", -50.0, reference="desk refund", cashier_id=113,
            original_transaction_no=first.transaction_no)
        listed = await call_ok(client, "list_deposits", {"reservation_id": reservation_id})
        refused = await call_error(client, "refund_deposit", {"reservation_id": reservation_id,
                                                              "transaction_no": first.transaction_no,
                                                              "reason": "cancelled", "confirm": True})

    assert [line["refundable"] for line in listed["lines"] if line["kind"] == "deposit"] == [False, True]
    assert "refused by OPERA" in refused and "refunded in full" in refused and "nothing was refunded" in refused
    assert amounts(sandbox_server, reservation_id) == [50.0, 30.0, -50.0] and refunds_sent(sandbox_server) == []


async def test_refunds_are_refused_before_opera_is_asked_where_there_is_nothing_to_refund(
        app: Any, sandbox_server: Any) -> None:
    in_house = next(r for r in hotel_of(sandbox_server).reservations.values() if r.status == "InHouse")
    async with mcp_client(app.url) as client:
        two = await booked_with_deposit(client, "Dosdepositos", 20, 30)
        none = await booked_with_deposit(client, "Ninguno")
        numbers = [p.transaction_no for p in hotel_of(sandbox_server).reservations[two].deposits]
        base = {"reason": "cancelled", "confirm": True}
        checked_in = await call_error(client, "refund_deposit", base | {"reservation_id": in_house.reservation_id})
        which = await call_error(client, "refund_deposit", base | {"reservation_id": two})
        not_a_deposit = await call_error(client, "refund_deposit", base | {"reservation_id": two,
                                                                           "transaction_no": 123})
        beyond = await call_error(client, "refund_deposit", base | {"reservation_id": two,
                                                                    "transaction_no": numbers[0], "amount": 25})
        empty = await call_error(client, "refund_deposit", base | {"reservation_id": none})
        card = await call_error(client, "refund_deposit", {"reservation_id": two, "transaction_no": numbers[0],
                                                           "reason": "card 4111 1111 1111 1111", "confirm": True})
        short = await call_error(client, "refund_deposit", {"reservation_id": two, "transaction_no": numbers[0],
                                                            "reason": "  x ", "confirm": True})

    assert "InHouse" in checked_in and "get_folio" in checked_in
    assert "2 deposit payments" in which and all(f"transaction_no {n}" in which for n in numbers)
    assert "123 is not a deposit payment" in not_a_deposit
    assert "at most 20.00 USD" in beyond
    assert "holds no deposit" in empty
    assert "4111" not in card and "card number" in card
    assert "reason" in short
    assert refunds_sent(sandbox_server) == [] and sent(sandbox_server, "isDepositRefundEligible") == []
    assert amounts(sandbox_server, two) == [20.0, 30.0]
