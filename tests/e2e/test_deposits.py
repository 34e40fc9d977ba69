"""Deposits before the stay (post_deposit, csh postDepositPayment) through the MCP SDK client over HTTP, against a
standalone sandbox: taken once whatever is lost, kept on the reservation until check-in, then on the folio so that
check-out takes only what is left; refused where OPERA takes no deposit; and what a cancellation says of one."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.apps import running_app, settings_for_sandbox
from tests.support.mcp_client import call_error, call_ok, mcp_client
from tests.support.sandbox_state import BUSINESS_DATE, inject_fault, stay
from tests.support.whole_stay import night_audit


@pytest.fixture
def app(sandbox_server: Any) -> Iterator[Any]:
    with running_app(settings_for_sandbox(sandbox_server.url)) as srv:
        yield srv


def ledger(sandbox_server: Any, reservation_id: str) -> list[Any]:
    return list(sandbox_server.sandbox.enterprise.hotels["SAND01"].reservations[reservation_id].deposits)


def sent(sandbox_server: Any, operation: str) -> list[Any]:
    return [e for e in sandbox_server.sandbox.requests if e.operation_id == operation]


async def test_a_deposit_matures_at_check_in_and_check_out_takes_only_the_rest(app: Any, sandbox_server: Any) -> None:
    tomorrow = str(BUSINESS_DATE.replace(day=BUSINESS_DATE.day + 1))
    async with mcp_client(app.url) as client:
        booked = await call_ok(client, "create_reservation", stay(
            "Deposito", days_ahead=0, departure=tomorrow, payment_method="CA"))
        reservation_id = booked["reservation_id"]
        taken = await call_ok(client, "post_deposit", {"reservation_id": reservation_id, "payment_method": "CA",
                                                       "amount": 80, "reference": "booking deposit",
                                                       "confirm": True})
        record = await call_ok(client, "get_reservation", {"reservation_id": reservation_id})
        assert record["deposit_paid"] == {"amount": 80.0, "currency": "USD"}

        await call_ok(client, "check_in", {"reservation_id": reservation_id})
        await night_audit(sandbox_server.url)
        folio = await call_ok(client, "get_folio", {"reservation_id": reservation_id, "detail": True})
        out = await call_ok(client, "check_out", {"reservation_id": reservation_id, "payment_method": "CA",
                                                  "confirm": True})

    assert taken["deposit_paid"] == {"amount": 80.0, "currency": "USD"} and taken["amount"]["amount"] == 80.0
    (line,) = ledger(sandbox_server, reservation_id)
    assert [p["transaction_no"] for p in taken["deposits"]] == [line.transaction_no]
    assert "booking deposit" in (line.reference or "") and line.cashier_id == 113
    postings = [p for w in folio["windows"] for p in w["postings"]]
    assert line.transaction_no in {p["transaction_no"] for p in postings}  # the deposit, now on the folio
    charged = sum(p["amount"]["amount"] for p in postings if p["kind"] == "Revenue")
    assert charged > 80 and folio["balance"]["amount"] == pytest.approx(charged - 80)
    assert out["status"] == "CheckedOut"
    assert [p["amount"]["amount"] for p in out["payments"]] == [pytest.approx(charged - 80)]  # not the deposit again


async def test_a_deposit_whose_answer_is_lost_is_taken_once_and_the_repeat_returns_it(
    app: Any, sandbox_server: Any,
) -> None:
    deposit = {"payment_method": "CA", "amount": 45.5, "confirm": True, "idempotency_key": str(uuid.uuid4())}
    async with mcp_client(app.url) as client:
        reservation_id = (await call_ok(client, "create_reservation", stay("Perdido")))["reservation_id"]
        deposit["reservation_id"] = reservation_id
        await inject_fault(sandbox_server.url, operation="postDepositPayment", mode="drop")
        lost = await call_error(client, "post_deposit", deposit)
        found = await call_ok(client, "post_deposit", deposit)
        again = await call_ok(client, "post_deposit", deposit)

    assert "unknown" in lost
    (line,) = ledger(sandbox_server, reservation_id)
    assert line.amount == 45.5
    assert [p["transaction_no"] for p in found["deposits"]] == [line.transaction_no] == [
        p["transaction_no"] for p in again["deposits"]]
    assert found["deposit_paid"]["amount"] == 45.5
    assert len(sent(sandbox_server, "postDepositPayment")) == 1


async def test_a_deposit_without_a_key_whose_answer_is_lost_says_what_to_check(app: Any, sandbox_server: Any) -> None:
    async with mcp_client(app.url) as client:
        reservation_id = (await call_ok(client, "create_reservation", stay("Sinclave")))["reservation_id"]
        await inject_fault(sandbox_server.url, operation="postDepositPayment", mode="drop")
        lost = await call_error(client, "post_deposit", {"reservation_id": reservation_id, "payment_method": "CA",
                                                         "amount": 20, "confirm": True})
    assert "unknown" in lost and "list_deposits" in lost
    assert len(ledger(sandbox_server, reservation_id)) == 1  # OPERA took it: the agent must look, not repeat


async def test_deposits_are_refused_where_opera_takes_none_before_anything_is_sent(
    app: Any, sandbox_server: Any,
) -> None:
    hotel = sandbox_server.sandbox.enterprise.hotels["SAND01"]
    in_house = next(r for r in hotel.reservations.values() if r.status == "InHouse")
    async with mcp_client(app.url) as client:
        future = (await call_ok(client, "create_reservation", stay("Rechazo")))["reservation_id"]
        cancelled = (await call_ok(client, "create_reservation", stay("Anulado")))["reservation_id"]
        await call_ok(client, "cancel_reservation", {"reservation_id": cancelled, "confirm": True})
        args = {"payment_method": "CA", "amount": 30, "confirm": True}
        guest_in_house = await call_error(client, "post_deposit", args | {"reservation_id": in_house.reservation_id})
        after_cancel = await call_error(client, "post_deposit", args | {"reservation_id": cancelled})
        card = await call_error(client, "post_deposit", args | {"reservation_id": future, "payment_method": "VA"})
        unknown = await call_error(client, "post_deposit", args | {"reservation_id": "999999999"})

    assert "InHouse" in guest_in_house and "post_payment" in guest_in_house
    assert "Cancelled" in after_cancel and "reinstate_reservation" in after_cancel
    assert "no VA card on file" in card and "nothing was posted" in card
    assert "999999999" in unknown and "search_reservations" in unknown
    assert sent(sandbox_server, "postDepositPayment") == []
    assert all(not r.deposits for r in hotel.reservations.values())


async def test_a_deposit_is_confirmed_by_a_human_who_is_told_what_it_takes(app: Any, sandbox_server: Any) -> None:
    async with mcp_client(app.url) as client:
        reservation_id = (await call_ok(client, "create_reservation", stay("Preguntado")))["reservation_id"]
        asked = await call_error(client, "post_deposit", {"reservation_id": reservation_id, "payment_method": "CA",
                                                          "amount": 60})
    assert "Take a deposit of 60.00 USD by" in asked and "Preguntado" in asked and "confirm=true" in asked
    assert sent(sandbox_server, "postDepositPayment") == [] and ledger(sandbox_server, reservation_id) == []


async def test_a_cancellation_says_the_deposit_it_does_not_refund(app: Any, sandbox_server: Any) -> None:
    async with mcp_client(app.url) as client:
        reservation_id = (await call_ok(client, "create_reservation", stay("Retenido")))["reservation_id"]
        await call_ok(client, "post_deposit", {"reservation_id": reservation_id, "payment_method": "CA",
                                               "amount": 120, "confirm": True})
        dry = await call_ok(client, "cancel_reservation", {"reservation_id": reservation_id, "dry_run": True})
        done = await call_ok(client, "cancel_reservation", {"reservation_id": reservation_id, "confirm": True})

    for report in (dry, done):
        assert report["deposit_held"] == {"amount": 120.0, "currency": "USD"}
        assert "deposit of 120.00 USD" in report["message"] and "does not refund" in report["message"]
    assert "refund_deposit" in done["message"]  # the next step, offered to this caller
    assert done["status"] == "Cancelled" and [p.amount for p in ledger(sandbox_server, reservation_id)] == [120.0]


async def test_a_deposit_request_is_shown_and_taken_in_full_by_default_applied_to_it(
    app: Any, sandbox_server: Any,
) -> None:
    async with mcp_client(app.url) as client:
        booked = await call_ok(client, "create_reservation", stay("Anticipo", days_ahead=20, rate_plan="ADV"))
        reservation_id = booked["reservation_id"]
        before = await call_ok(client, "get_reservation", {"reservation_id": reservation_id})
        asked = await call_error(client, "post_deposit", {"reservation_id": reservation_id, "payment_method": "CA"})
        taken = await call_ok(client, "post_deposit", {"reservation_id": reservation_id, "payment_method": "CA",
                                                       "confirm": True})
        after = await call_ok(client, "get_reservation", {"reservation_id": reservation_id})

    record = sandbox_server.sandbox.enterprise.hotels["SAND01"].reservations[reservation_id]
    total = record.deposit_required
    assert total > 0
    due = before["deposit_due"]
    assert due["amount_due"] == {"amount": total, "currency": "USD"} and due["due_by"] == str(BUSINESS_DATE)
    assert "DEP100" in due["rule"] and "policy_id" not in due
    assert f"asks {total:.2f} USD by {BUSINESS_DATE}" in asked
    assert taken["amount"]["amount"] == total and taken["deposit_due"] == {"amount": 0.0, "currency": "USD"}
    (sent_body,) = [e.json for e in sent(sandbox_server, "postDepositPayment")]
    assert sent_body["criteria"]["depositPolicyId"] == {"id": record.deposit_request.policy_id, "type": "Policy"}
    assert record.deposit_due == 0 and after["deposit_due"]["amount_due"]["amount"] == 0
    assert after["deposit_paid"] == {"amount": total, "currency": "USD"}


async def test_without_a_deposit_request_the_amount_must_be_given(app: Any, sandbox_server: Any) -> None:
    async with mcp_client(app.url) as client:
        reservation_id = (await call_ok(client, "create_reservation", stay("Sinregla")))["reservation_id"]
        record = await call_ok(client, "get_reservation", {"reservation_id": reservation_id})
        error = await call_error(client, "post_deposit", {"reservation_id": reservation_id, "payment_method": "CA",
                                                          "confirm": True})
    assert record["deposit_due"] is None
    assert "no deposit request" in error and "give the amount" in error
    assert sent(sandbox_server, "postDepositPayment") == []
