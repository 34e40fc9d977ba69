"""The caller's scope and hotel are checked before any confirmation prompt and before any OHIP request, on tools,
resources and prompts alike; every billing tool (post_charge, correct_charge, post_payment, post_deposit,
refund_deposit, check_out) needs opera:billing. Real guests of the embedded sandbox, so that a check that moved or
vanished would let the call read OHIP, show a guest's name to the human, or post."""

from __future__ import annotations

from typing import Any

import pytest
from mcp.shared.exceptions import MCPError

from tests.security.conftest import Keys, RunningApp, client_with
from tests.support.humans import Human
from tests.support.mcp_client import Mode, call_error

BILLING_TOOLS = {"post_charge", "correct_charge", "post_payment", "post_deposit", "refund_deposit", "check_out"}
#: Confirmed tools take confirm=true: the agent's yes, which must not get a caller past its scope or hotel.
CONFIRMED = {"post_payment", "post_deposit", "refund_deposit", "check_out", "cancel_reservation"}


@pytest.fixture
def app(start_app: Any, api_keys: Keys) -> RunningApp:
    running: RunningApp = start_app(mcp_auth="api_key", mcp_api_keys=api_keys.lines)
    return running


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def in_house_owing(app: RunningApp, hotel_id: str) -> Any:
    """An in-house guest due out today who owes money: every billing tool has something real to do for them."""
    hotel = app.sandbox.enterprise.hotels[hotel_id]
    for r in hotel.reservations.values():
        if r.status == "InHouse" and r.balance > 0 and hotel.computed_status(r) == "DueOut" and r.cards:
            return r
    raise AssertionError(f"the seeded hotel {hotel_id} has no in-house guest due out with a balance")


def guest_name(app: RunningApp, reservation: Any) -> tuple[str, str]:
    profile = app.sandbox.enterprise.profiles[reservation.profile_id]
    return profile.given_name, profile.surname


def billing_calls(reservation_id: str, hotel_id: str) -> dict[str, dict[str, Any]]:
    """Schema-valid arguments for each billing tool, so that nothing but the caller checks can stop them."""
    return {
        "post_charge": {"reservation_id": reservation_id, "transaction_code": "2000", "amount": 12.5,
                        "hotel_id": hotel_id},
        "correct_charge": {"reservation_id": reservation_id, "transaction_no": 1, "reason": "not consumed",
                           "hotel_id": hotel_id},
        "post_deposit": {"reservation_id": reservation_id, "payment_method": "CA", "amount": 10,
                         "hotel_id": hotel_id},
        "post_payment": {"reservation_id": reservation_id, "payment_method": "CA", "amount": 10,
                         "hotel_id": hotel_id},
        "refund_deposit": {"reservation_id": reservation_id, "reason": "cancelled in time", "hotel_id": hotel_id},
        "check_out": {"reservation_id": reservation_id, "payment_method": "CA", "hotel_id": hotel_id},
    }


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_every_billing_tool_needs_opera_billing_before_any_prompt_or_ohip_request(
        app: RunningApp, api_keys: Keys, mode: Mode) -> None:
    guest = in_house_owing(app, "SAND01")
    human = Human()
    async with client_with(app.url, bearer(api_keys.cashier), mode=mode) as cashier:
        cashier_tools = {t.name for t in (await cashier.list_tools()).tools}
    async with client_with(app.url, bearer(api_keys.writer), mode=mode, elicitation_callback=human) as writer:
        writer_tools = {t.name for t in (await writer.list_tools()).tools}
        assert cashier_tools - writer_tools == BILLING_TOOLS  # every tool that moves money or ends a stay
        before = len(app.ohip_business_requests())
        for tool, args in billing_calls(guest.reservation_id, "SAND01").items():
            text = await call_error(writer, tool, {**args, **({"confirm": True} if tool in CONFIRMED else {})})
            assert "opera:billing" in text and "writer" in text, (tool, text)
    assert human.asked == []
    assert len(app.ohip_business_requests()) == before, "a caller without opera:billing made OHIP requests"
    assert app.metric("opera_mcp_refused_calls_total", reason="scope") == len(BILLING_TOOLS)
    refused = [(e["tool"], e["reason"]) for e in app.audit_events() if e.get("outcome") == "refused"]
    assert sorted(refused) == sorted((tool, "scope") for tool in BILLING_TOOLS)


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_another_hotels_guest_is_never_shown_in_a_prompt_or_read_from_ohip(
        app: RunningApp, api_keys: Keys, mode: Mode) -> None:
    guest = in_house_owing(app, "SAND02")
    given, surname = guest_name(app, guest)
    human = Human()
    calls = {**billing_calls(guest.reservation_id, "SAND02"),
             "cancel_reservation": {"reservation_id": guest.reservation_id, "hotel_id": "SAND02"}}
    async with client_with(app.url, bearer(api_keys.cashier), mode=mode, elicitation_callback=human) as client:
        for tool, args in calls.items():
            text = await call_error(client, tool, {**args, **({"confirm": True} if tool in CONFIRMED else {})})
            assert "SAND02" in text and "SAND01" in text, (tool, text)
            assert surname not in text and given not in text
    assert human.asked == []
    assert [e for e in app.sandbox.requests if e.headers.get("x-hotelid") == "SAND02" or "SAND02" in e.path] == []
    assert app.metric("opera_mcp_refused_calls_total", reason="hotel") == len(calls)


async def test_a_sand01_key_cannot_read_the_sand02_configuration_or_prompts(app: RunningApp, api_keys: Keys) -> None:
    async with client_with(app.url, bearer(api_keys.cashier)) as client:
        own = await client.read_resource("opera://hotels/SAND01/configuration")
        assert own.contents
        with pytest.raises(MCPError) as refused:
            await client.read_resource("opera://hotels/SAND02/configuration")
        assert "SAND02" in str(refused.value) and "SAND01" in str(refused.value)
        for prompt, args in (("arrivals_briefing", {"hotel_id": "SAND02"}),
                             ("checkout_assistant", {"hotel_id": "sand02", "room": "101"}),
                             ("housekeeping_report", {"hotel_id": "SAND02"})):
            with pytest.raises(MCPError) as prompt_refused:
                await client.get_prompt(prompt, args)
            assert "SAND01" in str(prompt_refused.value), prompt
    async with client_with(app.url, bearer(api_keys.other_hotel)) as sand02_desk:
        # The default hotel (SAND01) is not this caller's either: a prompt naming no hotel is refused too.
        with pytest.raises(MCPError) as default_refused:
            await sand02_desk.get_prompt("housekeeping_report", {})
        assert "SAND01" in str(default_refused.value) and "SAND02" in str(default_refused.value)
        assert (await sand02_desk.get_prompt("housekeeping_report", {"hotel_id": "SAND02"})).messages
    assert [e for e in app.sandbox.requests if e.headers.get("x-hotelid") == "SAND02" or "SAND02" in e.path] == []
    assert app.metric("opera_mcp_refused_calls_total", reason="hotel") == 5
