"""Wake-up calls (fof postWakeUpCall, getWakeUpCall, deleteWakeUpCall) through the MCP SDK client over HTTP.

A wake-up call is a write whose repeat the guest hears: Oracle does not say OPERA refuses a second call at the same
time, and the sandbox, following that, rings twice when asked twice. So the tool reads the stay's pending calls first
and sets only the mornings still missing, and a POST whose answer is lost is settled by reading them again."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest

from tests.support.mcp_client import call_error, call_ok, mcp_client
from tests.support.sandbox_state import inject_fault
from tests.support.servers import ServerThread


def posts_sent(sandbox: Any, reservation_id: str) -> int:
    return sum(1 for e in sandbox.requests if e.operation_id == "postWakeUpCall" and reservation_id in e.path)


def pending_times(guest: Any) -> list[datetime]:
    return sorted(c.call_time for c in guest.wake_up_calls if c.status == "Pending")


def staying(hotel: Any, *, nights: int = 2, skip: int = 0) -> Any:
    """A guest in house staying at least `nights` more nights, with no wake-up call yet."""
    found = [r for r in sorted(hotel.reservations.values(), key=lambda r: int(r.reservation_id))
             if r.status == "InHouse" and r.room_id and not r.wake_up_calls
             and (r.departure - hotel.business_date).days >= nights]
    assert len(found) > skip, "no guest in house for long enough in the seed"
    return found[skip]


async def test_a_wake_up_call_is_set_for_three_mornings_and_a_repeat_rings_once(
        server: ServerThread, hotel: Any) -> None:
    sandbox = server.app.state.sandbox
    guest = staying(hotel, nights=3)
    first = hotel.business_date + timedelta(days=1)
    ask = {"reservation_id": guest.reservation_id, "date": first.isoformat(), "time": "06:30", "days": 3,
           "instructions": "call twice"}
    async with mcp_client(server.url) as client:
        done = await call_ok(client, "set_wake_up_call", ask)
        again = await call_ok(client, "set_wake_up_call", ask)  # the agent asks again, with no key
        more = await call_ok(client, "set_wake_up_call", {**ask, "days": 1, "time": "07:15"})
    mornings = [datetime.combine(first + timedelta(days=n), datetime.min.time()).replace(hour=6, minute=30)
                for n in range(3)]
    assert [datetime.fromisoformat(t) for t in done["changed"]] == mornings
    assert again["changed"] == [] and "already set" in again["next_step"]
    assert pending_times(guest) == sorted([*mornings, mornings[0].replace(hour=7, minute=15)])
    assert {c.instructions for c in guest.wake_up_calls if c.call_time.hour == 6} == {"call twice"}
    assert all(c.room_id == guest.room_id for c in guest.wake_up_calls)
    assert len(more["calls"]) == 4 and more["calls"][0]["status"] == "Pending"
    assert posts_sent(sandbox, guest.reservation_id) == 2  # three mornings in one POST, then the 07:15


async def test_a_cancelled_call_no_longer_rings_and_a_second_cancel_changes_nothing(
        server: ServerThread, hotel: Any) -> None:
    guest = staying(hotel)
    morning = (hotel.business_date + timedelta(days=1)).isoformat()
    async with mcp_client(server.url) as client:
        await call_ok(client, "set_wake_up_call", {"reservation_id": guest.reservation_id, "date": morning,
                                                   "time": "05:45"})
        cancelled = await call_ok(client, "cancel_wake_up_call", {"reservation_id": guest.reservation_id,
                                                                  "date": morning, "time": "05:45"})
        twice = await call_ok(client, "cancel_wake_up_call", {"reservation_id": guest.reservation_id,
                                                              "date": morning, "time": "05:45"})
        unknown = await call_error(client, "cancel_wake_up_call", {"reservation_id": guest.reservation_id,
                                                                   "date": morning, "time": "09:00"})
    assert [c.status for c in guest.wake_up_calls] == ["Cancelled"]
    assert cancelled["changed"] and cancelled["calls"] == []
    assert twice["changed"] == [] and "already cancelled" in twice["next_step"]
    assert "has no wake-up call at" in unknown and "09:00" in unknown


async def test_a_call_outside_the_stay_or_for_a_guest_not_in_house_is_refused_before_opera_is_asked(
        server: ServerThread, hotel: Any) -> None:
    sandbox = server.app.state.sandbox
    guest = staying(hotel)
    # due in with a room already assigned: a room, but not a guest in it
    due_in = next(r for r in hotel.reservations.values() if hotel.computed_status(r) == "DueIn" and r.room_id)
    async with mcp_client(server.url) as client:
        seen = len(sandbox.requests)
        late = await call_error(client, "set_wake_up_call", {
            "reservation_id": guest.reservation_id, "date": guest.departure.isoformat(), "time": "06:00", "days": 2})
        past = await call_error(client, "set_wake_up_call", {
            "reservation_id": guest.reservation_id, "date": (hotel.business_date - timedelta(days=1)).isoformat(),
            "time": "06:00"})
        arriving = await call_error(client, "set_wake_up_call", {
            "reservation_id": due_in.reservation_id, "date": hotel.business_date.isoformat(), "time": "06:00"})
        bad_time = await call_error(client, "set_wake_up_call", {
            "reservation_id": guest.reservation_id, "date": hotel.business_date.isoformat(), "time": "25:00"})
        sent = {e.operation_id for e in sandbox.requests[seen:]}
    assert "is not within the stay" in late and f"on or before {guest.departure.isoformat()}" in late
    assert "is not within the stay" in past
    assert "only for a guest in house" in arriving and "check_in first" in arriving
    assert "time" in bad_time
    assert "postWakeUpCall" not in sent
    assert guest.wake_up_calls == [] and due_in.wake_up_calls == []


@pytest.mark.sandbox(business_date=date(2026, 5, 1))
async def test_a_wake_up_call_whose_answer_is_lost_is_set_once(app_url: str, sandbox_server: Any) -> None:
    """OPERA sets the call and the answer is lost; a blind repeat would set a second call at the same time. The
    tool reads the pending calls instead: one POST, one call; a repeat with the same key sends nothing."""
    sandbox = sandbox_server.sandbox
    hotel = sandbox.enterprise.hotels["SAND01"]
    guest = staying(hotel)
    ask = {"reservation_id": guest.reservation_id, "date": (hotel.business_date + timedelta(days=1)).isoformat(),
           "time": "06:00", "idempotency_key": "wake-up-key-0001"}
    async with mcp_client(app_url) as client:
        await inject_fault(sandbox_server.url, operation="postWakeUpCall", mode="drop")
        done = await call_ok(client, "set_wake_up_call", ask)
        again = await call_ok(client, "set_wake_up_call", ask)
    assert len(done["calls"]) == 1 and len(again["calls"]) == 1
    assert len(pending_times(guest)) == 1
    assert posts_sent(sandbox, guest.reservation_id) == 1
