"""Attack table, tool rows: scopes, hotel allow-lists, path-shaped ids, idempotency, confirmation of destructive
actions and the audit trail, through the MCP SDK client over real HTTP in both protocol eras."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

import pytest
from mcp.types import ElicitResult

from tests.security.conftest import Keys, client_with
from tests.support.mcp_client import call_error, call_ok

BUSINESS_DATE = date(2026, 5, 1)


def booking(**overrides: Any) -> dict[str, Any]:
    args: dict[str, Any] = {
        "arrival": str(BUSINESS_DATE + timedelta(days=20)), "departure": str(BUSINESS_DATE + timedelta(days=22)),
        "room_type": "KNG", "rate_plan": "BAR", "adults": 1, "given_name": "Ann", "surname": "Securitytest",
    }
    args.update(overrides)
    return args


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def created_reservations(app: Any) -> list[Any]:
    return [e for e in app.sandbox.requests if e.operation_id == "postReservation" and e.status < 300]


def cancellations(app: Any) -> list[Any]:
    """postCancelReservation requests that may cancel (not OHIP's verificationOnly check, which the preview sends)."""
    return [e for e in app.sandbox.requests if e.operation_id == "postCancelReservation"
            and not (e.json or {}).get("verificationOnly")]


@pytest.fixture
def keyed_app(start_app, api_keys: Keys) -> Any:
    return start_app(mcp_auth="api_key", mcp_api_keys=api_keys.lines)


async def test_a_read_only_key_sees_no_write_tools_and_cannot_call_one(keyed_app: Any, api_keys: Keys) -> None:
    async with client_with(keyed_app.url, bearer(api_keys.reader)) as client:
        names = {t.name for t in (await client.list_tools()).tools}
        assert "search_reservations" in names
        assert not names & {"create_reservation", "cancel_reservation", "post_charge", "check_out"}
        text = await call_error(client, "create_reservation", booking())
    assert "opera:write" in text and "reader" in text
    assert created_reservations(keyed_app) == []
    assert keyed_app.metric("opera_mcp_refused_calls_total", reason="scope") == 1
    event = keyed_app.audit_events()[-1]
    assert (event["tool"], event["outcome"], event["reason"]) == ("create_reservation", "refused", "scope")
    assert event["caller"]["name"] == "reader"


async def test_a_write_key_without_billing_cannot_take_payments(keyed_app: Any, api_keys: Keys) -> None:
    async with client_with(keyed_app.url, bearer(api_keys.writer), mode="legacy") as client:
        names = {t.name for t in (await client.list_tools()).tools}
        assert "create_reservation" in names and "post_payment" not in names
        text = await call_error(client, "post_payment", {"reservation_id": "100001", "payment_method": "CA",
                                                         "amount": 10, "confirm": True})
    assert "opera:billing" in text
    assert not [e for e in keyed_app.sandbox.requests if e.operation_id == "postBillingPayment"]


async def test_a_caller_of_sand01_cannot_touch_sand02(keyed_app: Any, api_keys: Keys) -> None:
    async with client_with(keyed_app.url, bearer(api_keys.cashier)) as client:
        await call_ok(client, "search_reservations", {"hotel_id": "SAND01", "limit": 1})
        text = await call_error(client, "search_reservations", {"hotel_id": "SAND02", "limit": 1})
        assert "SAND02" in text and "SAND01" in text
        await call_error(client, "cancel_reservation", {"hotel_id": "SAND02", "reservation_id": "100001",
                                                        "confirm": True})
    assert not [e for e in keyed_app.sandbox.requests if "/hotels/SAND02" in e.path]
    assert keyed_app.metric("opera_mcp_refused_calls_total", reason="hotel") == 2
    refused = [e for e in keyed_app.audit_events() if e["reason"] == "hotel"]
    assert [e["tool"] for e in refused] == ["search_reservations", "cancel_reservation"]
    assert all(e["hotel_id"] == "SAND02" and e["caller"]["name"] == "cashier" for e in refused)


@pytest.mark.parametrize("bad_id", ["123/cancellations", "../../oauth/v1/tokens", "1%0d%0aX-Evil: 1", "1\r\nX-Evil: 1"])
async def test_path_shaped_ids_are_refused_before_any_ohip_call(keyed_app: Any, api_keys: Keys, bad_id: str) -> None:
    async with client_with(keyed_app.url, bearer(api_keys.cashier)) as client:
        await call_ok(client, "search_reservations", {"limit": 1})  # warm: token fetched, baseline logged
        before = len(keyed_app.sandbox.requests)
        for tool, extra in (("get_reservation", {}), ("cancel_reservation", {"confirm": True}),
                            ("get_folio", {}), ("check_out", {"confirm": True})):
            await call_error(client, tool, {"reservation_id": bad_id, **extra})
    assert keyed_app.sandbox.requests[before:] == []
    refused = [e for e in keyed_app.audit_events() if e["outcome"] == "refused"]
    assert len(refused) == 4
    assert keyed_app.metric("opera_mcp_refused_calls_total", reason="invalid_arguments") == 4


async def test_the_same_idempotency_key_twice_books_once(keyed_app: Any, api_keys: Keys) -> None:
    key = str(uuid.uuid4())
    async with client_with(keyed_app.url, bearer(api_keys.writer)) as client:
        first = await call_ok(client, "create_reservation", booking(idempotency_key=key))
        again = await call_ok(client, "create_reservation", booking(idempotency_key=key))
        other_args = await call_error(client, "create_reservation", booking(idempotency_key=key, adults=2))
    assert again == first
    assert len(created_reservations(keyed_app)) == 1
    assert "different arguments" in other_args
    assert keyed_app.metric("opera_mcp_idempotent_replays_total", tool="create_reservation") == 1
    assert keyed_app.metric("opera_mcp_refused_calls_total", reason="idempotency_mismatch") == 1
    outcomes = [e["outcome"] for e in keyed_app.audit_events() if e["tool"] == "create_reservation"]
    assert outcomes == ["ok", "replayed", "refused"]
    # The first call's key survives the refused one: repeating the first arguments still replays.
    async with client_with(keyed_app.url, bearer(api_keys.writer), mode="legacy") as client:
        assert await call_ok(client, "create_reservation", booking(idempotency_key=key)) == first
    assert len(created_reservations(keyed_app)) == 1


async def test_concurrent_repeats_of_one_idempotency_key_book_once(keyed_app: Any, api_keys: Keys) -> None:
    import asyncio

    key = str(uuid.uuid4())
    async with client_with(keyed_app.url, bearer(api_keys.writer)) as client:
        results = await asyncio.gather(*(call_ok(client, "create_reservation", booking(idempotency_key=key))
                                         for _ in range(4)))
    assert all(r == results[0] for r in results)
    assert len(created_reservations(keyed_app)) == 1


async def test_idempotency_keys_belong_to_their_caller(keyed_app: Any, api_keys: Keys) -> None:
    key = str(uuid.uuid4())
    async with client_with(keyed_app.url, bearer(api_keys.writer)) as writer:
        mine = await call_ok(writer, "create_reservation", booking(idempotency_key=key))
    async with client_with(keyed_app.url, bearer(api_keys.cashier)) as cashier:
        theirs = await call_ok(cashier, "create_reservation", booking(idempotency_key=key))
    assert theirs["reservation_id"] != mine["reservation_id"]
    assert len(created_reservations(keyed_app)) == 2


async def test_every_write_is_audited_with_its_ids_and_ohip_request_ids(keyed_app: Any, api_keys: Keys) -> None:
    async with client_with(keyed_app.url, bearer(api_keys.writer)) as client:
        made = await call_ok(client, "create_reservation", booking())
    [event] = [e for e in keyed_app.audit_events() if e["tool"] == "create_reservation"]
    assert event["outcome"] == "ok" and event["hotel_id"] == "SAND01"
    assert event["caller"] == {"kind": "api_key", "name": "writer", "client_id": "writer", "subject": "writer"}
    reservation_id = made.get("reservation_id") or made["reservation"]["reservation_id"]
    assert event["ids"]["reservation_id"] == reservation_id
    [post] = created_reservations(keyed_app)
    assert post.header("x-request-id") in event["ohip_request_ids"]
    assert "Securitytest" not in str(event)  # names and contact details stay out of the audit trail


async def test_cancel_without_confirmation_on_a_client_without_elicitation_is_refused(
        keyed_app: Any, api_keys: Keys) -> None:
    async with client_with(keyed_app.url, bearer(api_keys.writer)) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        assert "confirm=true" in (tools["cancel_reservation"].description or "")
        made = await call_ok(client, "create_reservation", booking())
        rid = made.get("reservation_id") or made["reservation"]["reservation_id"]
        text = await call_error(client, "cancel_reservation", {"reservation_id": rid})
        assert "confirm=true" in text and "Securitytest" in text  # what to do, and the summary to show the human
        assert not cancellations(keyed_app)
        await call_ok(client, "cancel_reservation", {"reservation_id": rid, "confirm": True})
    [cancel] = cancellations(keyed_app)
    assert cancel.status < 300
    assert keyed_app.metric("opera_mcp_refused_calls_total", reason="confirmation_missing") == 1


@pytest.mark.parametrize("answer", ["accept", "decline"])
async def test_a_client_with_elicitation_asks_the_human(keyed_app: Any, api_keys: Keys, answer: str) -> None:
    asked: list[str] = []

    async def human(context: Any, params: Any) -> ElicitResult:
        asked.append(params.message)
        if answer == "accept":
            return ElicitResult(action="accept", content={"confirm": True})
        return ElicitResult(action="decline")

    async with client_with(keyed_app.url, bearer(api_keys.writer), elicitation_callback=human) as client:
        made = await call_ok(client, "create_reservation", booking())
        rid = made.get("reservation_id") or made["reservation"]["reservation_id"]
        # confirm=true from the agent does not stand in for the human when the client can ask them.
        result = await client.call_tool("cancel_reservation", {"reservation_id": rid, "confirm": True})
    assert len(asked) == 1
    assert "Securitytest" in asked[0] and "Cancel" in asked[0] and "SAND01" in asked[0]
    cancels = cancellations(keyed_app)
    if answer == "accept":
        assert not result.is_error
        assert len(cancels) == 1
    else:
        assert result.is_error
        assert cancels == []
        assert keyed_app.audit_events()[-1]["reason"] == "confirmation_declined"
