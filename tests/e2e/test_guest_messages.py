"""Guest messages (rsv postGuestMessages, getGuestMessages, putGuestMessages) through the MCP SDK client over HTTP.

A message left twice reaches the guest twice, and Oracle does not say OPERA refuses a second one of the same text: the
sandbox, following that, takes it again. So the tool reads the stay's messages before it posts, and a POST whose
answer is lost is settled by finding the new message instead of posting again."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from tests.support.mcp_client import call_error, call_ok, mcp_client
from tests.support.sandbox_state import inject_fault
from tests.support.servers import ServerThread

TEXT = "Kate Oracle phoned, please call her back on 555 0100."


def sent(sandbox: Any, operation: str, reservation_id: str) -> int:
    return sum(1 for e in sandbox.requests if e.operation_id == operation and reservation_id in e.path)


def in_house(hotel: Any, skip: int = 0) -> Any:
    found = [r for r in sorted(hotel.reservations.values(), key=lambda r: int(r.reservation_id))
             if r.status == "InHouse" and not r.guest_messages]
    return found[skip]


async def test_a_message_is_left_listed_handed_over_and_then_no_longer_waits(server: ServerThread, hotel: Any) -> None:
    sandbox = server.app.state.sandbox
    guest = in_house(hotel)
    args = {"reservation_id": guest.reservation_id}
    async with mcp_client(server.url) as client:
        left = await call_ok(client, "leave_guest_message", {**args, "text": TEXT, "recipient": "Ms Rivera"})
        waiting = await call_ok(client, "list_guest_messages", args)
        message_id = left["left"]["message_id"]
        received = await call_ok(client, "mark_message_received", {**args, "message_id": message_id})
        again = await call_ok(client, "mark_message_received", {**args, "message_id": message_id})
        after = await call_ok(client, "list_guest_messages", args)
        everything = await call_ok(client, "list_guest_messages", {**args, "include_received": True})
    [stored] = guest.guest_messages
    assert (stored.text, stored.recipient, stored.operator) == (TEXT, "Ms Rivera", "opera-cloud-mcp")
    assert TEXT in left["left"]["text"] and left["left"]["text"].startswith("⟦")  # OPERA's text, marked as data
    assert left["left"]["delivered"] is False and "mark_message_received" in left["next_step"]
    assert [m["message_id"] for m in waiting["messages"]] == [message_id]
    assert "1 message(s) wait" in waiting["next_step"]
    assert received["received"]["delivered"] is True and again["received"]["delivered"] is True
    assert stored.delivered and stored.delivered_by == "opera-cloud-mcp"
    assert after["messages"] == [] and "no message waits" in after["next_step"]
    assert [m["delivered"] for m in everything["messages"]] == [True]
    assert sent(sandbox, "postGuestMessages", guest.reservation_id) == 1
    assert sent(sandbox, "putGuestMessages", guest.reservation_id) == 1  # the repeat changed nothing


async def test_a_closed_stay_a_card_number_or_an_unknown_message_is_refused_before_opera_is_asked(
        server: ServerThread, hotel: Any) -> None:
    sandbox = server.app.state.sandbox
    gone = next(r for r in hotel.reservations.values() if r.status == "CheckedOut")
    guest = in_house(hotel, 1)
    async with mcp_client(server.url) as client:
        seen = len(sandbox.requests)
        closed = await call_error(client, "leave_guest_message", {"reservation_id": gone.reservation_id,
                                                                  "text": TEXT})
        card = await call_error(client, "leave_guest_message", {"reservation_id": guest.reservation_id,
                                                                "text": "pay with 4111 1111 1111 1111"})
        unknown = await call_error(client, "mark_message_received", {"reservation_id": guest.reservation_id,
                                                                     "message_id": "999999"})
        asked = {e.operation_id for e in sandbox.requests[seen:]}
    assert "is CheckedOut, so there is no guest to hand a message to" in closed and "nothing was left" in closed
    assert "card number" in card and "4111" not in card
    assert "has no message 999999" in unknown and "nothing was changed" in unknown
    assert not asked & {"postGuestMessages", "putGuestMessages"}
    assert not gone.guest_messages and not guest.guest_messages


async def test_the_same_key_leaves_one_message_and_another_call_leaves_another(
        server: ServerThread, hotel: Any) -> None:
    guest = in_house(hotel, 2)
    args = {"reservation_id": guest.reservation_id, "text": TEXT, "idempotency_key": f"msg-{guest.reservation_id}"}
    async with mcp_client(server.url) as client:
        first = await call_ok(client, "leave_guest_message", args)
        repeat = await call_ok(client, "leave_guest_message", args)
        other = await call_ok(client, "leave_guest_message",
                              {**args, "idempotency_key": f"msg2-{guest.reservation_id}"})
    assert repeat == first and len(other["messages"]) == 2
    assert [m.text for m in guest.guest_messages] == [TEXT, TEXT]


@pytest.mark.sandbox(business_date=date(2026, 5, 1))
async def test_a_message_whose_answer_is_lost_is_left_once(app_url: str, sandbox_server: Any) -> None:
    """OPERA takes the message and the answer is lost. A blind repeat would leave it twice; the tool reads the stay's
    messages instead and finds the new one: one POST, one message."""
    sandbox = sandbox_server.sandbox
    hotel = sandbox.enterprise.hotels["SAND01"]
    guest = in_house(hotel)
    async with mcp_client(app_url) as client:
        await inject_fault(sandbox_server.url, operation="postGuestMessages", mode="drop")
        left = await call_ok(client, "leave_guest_message", {"reservation_id": guest.reservation_id, "text": TEXT})
    assert TEXT in left["left"]["text"] and len(left["messages"]) == 1
    assert len(guest.guest_messages) == 1
    assert sent(sandbox, "postGuestMessages", guest.reservation_id) == 1


@pytest.mark.sandbox(business_date=date(2026, 5, 1))
async def test_a_message_opera_never_took_is_reported_not_left_even_when_the_same_text_was_left_before(
        app_url: str, sandbox_server: Any) -> None:
    """The same message was left earlier; now the connection is reset before OPERA takes the new one. The earlier
    message must not pass for the new one: the agent is told it was not left, so it is not lost unseen."""
    sandbox = sandbox_server.sandbox
    hotel = sandbox.enterprise.hotels["SAND01"]
    guest = in_house(hotel)
    async with mcp_client(app_url) as client:
        await call_ok(client, "leave_guest_message", {"reservation_id": guest.reservation_id, "text": TEXT})
        await inject_fault(sandbox_server.url, operation="postGuestMessages", mode="reset")
        error = await call_error(client, "leave_guest_message", {"reservation_id": guest.reservation_id,
                                                                 "text": TEXT})
    assert "the outcome of rsv.postGuestMessages" in error and "list_guest_messages to see whether" in error
    assert len(guest.guest_messages) == 1
