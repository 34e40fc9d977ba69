"""Promises that only show in what happens on the way, not in the end state: /ready drops out while the breaker is
open; a write answered 502/504 is "outcome unknown" and drops what the cache held; the business counters move by
one per action; the room picker never tries a room that is not ready; check_out of a guest who is not in house
sends no write at all. Real HTTP: the MCP SDK client, our app, its embedded sandbox."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import httpx2
import pytest

from tests.support.apps import embedded_settings, running_app
from tests.support.mcp_client import call_error, call_ok, mcp_client
from tests.support.servers import ServerThread

BUSINESS_DATE = date(2026, 5, 1)


@pytest.fixture
def desk() -> Iterator[ServerThread]:
    """Our app in sandbox mode, no OHIP retries, a breaker that opens after two failures, long cache TTLs and no
    business-event polling (so only our own invalidation can refresh a cached answer)."""
    settings, port = embedded_settings(max_retries=0, breaker_failure_threshold=2, breaker_cooldown=120,
                                       cache_ttl_reservation=300, cache_ttl_reservations=300, business_events=False)
    with running_app(settings, port) as srv:
        yield srv


def sandbox(srv: ServerThread) -> Any:
    return srv.app.state.sandbox


def hotel(srv: ServerThread) -> Any:
    return sandbox(srv).enterprise.hotels["SAND01"]


def requests(srv: ServerThread, operation: str, since: int = 0) -> list[Any]:
    return [e for e in sandbox(srv).requests[since:] if e.operation_id == operation]


def writes_since(srv: ServerThread, since: int) -> list[str]:
    """Business requests since `since` that may change OPERA (not reads, not the token, not verifications)."""
    return [e.operation_id for e in sandbox(srv).requests[since:] if e.method != "GET" and "/oauth/" not in e.path
            and not (isinstance(e.json, dict) and e.json.get("verificationOnly") is True)]


async def probe(srv: ServerThread, path: str) -> httpx2.Response:
    async with httpx2.AsyncClient(timeout=10) as http:
        return await http.get(f"{srv.url}{path}")


def counter(srv: ServerThread, name: str, **labels: str) -> float:
    return float(srv.app.state.metrics.registry.get_sample_value(name, labels) or 0.0)


async def test_ready_turns_503_while_the_breaker_is_open(desk: ServerThread) -> None:
    async with mcp_client(desk.url) as client:
        await call_ok(client, "search_reservations", {"surname": "Nobody-yet", "limit": 1})
        assert (await probe(desk, "/ready")).status_code == 200
        sandbox(desk).faults.inject(operation="getHotelReservations", status=503, times=2)
        for n in range(2):
            await call_error(client, "search_reservations", {"surname": f"Breaker{n}", "limit": 1})
        ready = await probe(desk, "/ready")
        assert ready.status_code == 503, ready.text
        assert any("circuit breaker open" in reason for reason in ready.json()["reasons"])
        before = len(requests(desk, "getHotelReservations"))
        await call_error(client, "search_reservations", {"surname": "Failfast", "limit": 1})
        assert len(requests(desk, "getHotelReservations")) == before  # failed fast, OHIP spared
    assert (await probe(desk, "/live")).status_code == 200


@pytest.mark.parametrize("status", [502, 504])
async def test_a_booking_answered_by_a_gateway_failure_is_an_unknown_outcome(desk: ServerThread, status: int) -> None:
    surname = f"Gateway{status}"
    sandbox(desk).faults.inject(operation="postReservation", status=status, times=1)
    async with mcp_client(desk.url) as client:
        error = await call_error(client, "create_reservation", {
            "arrival": str(BUSINESS_DATE + timedelta(days=30)), "departure": str(BUSINESS_DATE + timedelta(days=31)),
            "room_type": "KNG", "rate_plan": "BAR", "adults": 1, "given_name": "Gale", "surname": surname,
        })
    assert "unknown" in error and "search_reservations" in error, error
    assert len(requests(desk, "postReservation")) == 1  # never repeated blindly


async def test_a_change_whose_answer_is_lost_is_not_hidden_by_the_cache(desk: ServerThread) -> None:
    stay = next(r for r in hotel(desk).reservations.values()
                if r.status == "Reserved" and r.arrival > BUSINESS_DATE + timedelta(days=3))
    rid, booked = stay.reservation_id, stay.departure
    later = booked + timedelta(days=1)
    async with mcp_client(desk.url) as client:
        first = await call_ok(client, "get_reservation", {"reservation_id": rid})
        reads = len(requests(desk, "getReservation"))
        await call_ok(client, "get_reservation", {"reservation_id": rid})
        assert len(requests(desk, "getReservation")) == reads  # served from the cache
        # OPERA makes the change, then the answer is lost: the server cannot know whether it happened.
        sandbox(desk).faults.inject(operation="putReservation", mode="drop", times=1)
        await call_error(client, "modify_reservation", {"reservation_id": rid, "departure": str(later)})
        assert hotel(desk).reservations[rid].departure == later
        after = await call_ok(client, "get_reservation", {"reservation_id": rid})
    assert first["departure"] == str(booked)
    assert after["departure"] == str(later), "a write of unknown outcome must drop the cached reservation"


def ready_rooms(h: Any, room_type: str) -> set[str]:
    held = {r.room_id for r in h.reservations.values() if r.status in ("Reserved", "InHouse") and r.room_id}
    return {room.room_id for room in h.rooms.values()
            if room.room_type == room_type and room.room_status in ("Clean", "Inspected")
            and h.front_office_status(room.room_id) == "Vacant" and room.room_id not in held}


def assigned_rooms(srv: ServerThread, since: int) -> list[str]:
    found: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                if key == "roomId" and isinstance(inner, str):
                    found.append(inner)
                walk(inner)
        elif isinstance(value, list):
            for inner in value:
                walk(inner)

    for exchange in requests(srv, "postRoomAssignment", since):
        walk(exchange.json)
    return found


async def test_a_whole_stay_moves_each_business_counter_by_one_and_the_picker_tries_only_ready_rooms(
        desk: ServerThread) -> None:
    h = hotel(desk)
    guest = next(r for r in h.reservations.values()
                 if h.computed_status(r) == "DueIn" and r.room_id is None and ready_rooms(h, r.room_type))
    rid = guest.reservation_id
    ready = ready_rooms(h, guest.room_type)
    inspected = sorted(room for room in ready if h.rooms[room].room_status == "Inspected")
    dirty = {room.room_id for room in h.rooms.values() if room.room_type == guest.room_type
             and room.room_status == "Dirty"}
    assert dirty, "the seeded hotel has a dirty room of this type, so a picker that prefers one would show"

    def events(kind: str) -> float:
        return counter(desk, "opera_front_desk_events_total", event=kind)

    async with mcp_client(desk.url, mode="legacy") as client:
        mark = len(sandbox(desk).requests)
        before = events("check_in")
        checked_in = await call_ok(client, "check_in", {"reservation_id": rid})
        assert events("check_in") == before + 1
        tried = assigned_rooms(desk, mark)
        assert tried and set(tried) <= ready, f"the picker tried {tried}; ready rooms were {sorted(ready)}"
        assert tried[0] == (inspected[0] if inspected else sorted(ready)[0])  # Inspected first, then by number
        assert checked_in["room_id"] == tried[-1]

        before = events("charge")
        await call_ok(client, "post_charge", {"reservation_id": rid, "transaction_code": "2000", "amount": 20})
        assert events("charge") == before + 1

        owed = h.reservations[rid].balance
        before = events("payment")
        await call_ok(client, "post_payment", {"reservation_id": rid, "payment_method": "CA", "amount": owed,
                                               "confirm": True})
        assert events("payment") == before + 1
        assert h.reservations[rid].balance == 0

        leaving = next(r for r in h.reservations.values() if h.computed_status(r) == "DueOut" and r.balance > 0)
        before = events("check_out")
        await call_ok(client, "check_out", {"reservation_id": leaving.reservation_id, "payment_method": "CA",
                                            "confirm": True})
        assert events("check_out") == before + 1
        assert h.reservations[leaving.reservation_id].status == "CheckedOut"

        # Checking the same guest out again is refused on its status, before any write reaches OHIP.
        mark = len(sandbox(desk).requests)
        error = await call_error(client, "check_out", {"reservation_id": leaving.reservation_id,
                                                       "confirm": True})
        assert "CheckedOut" in error and "in-house" in error, error
        assert writes_since(desk, mark) == []
        assert events("check_out") == before + 1


async def test_check_out_of_a_guest_who_left_yesterday_sends_no_write(desk: ServerThread) -> None:
    h = hotel(desk)
    guest = next(r for r in h.reservations.values()
                 if r.status == "CheckedOut" and r.departure == h.business_date - timedelta(days=1))
    mark = len(sandbox(desk).requests)
    async with mcp_client(desk.url, mode="legacy") as client:
        error = await call_error(client, "check_out", {"reservation_id": guest.reservation_id, "confirm": True})
    assert "CheckedOut" in error and "in-house" in error, error
    assert writes_since(desk, mark) == []


async def test_a_charge_refused_by_ohip_leaves_its_idempotency_key_free_for_the_retry(desk: ServerThread) -> None:
    h = hotel(desk)
    guest = next(r for r in h.reservations.values() if r.status == "InHouse")
    charge = {"reservation_id": guest.reservation_id, "transaction_code": "2000", "amount": 7.5,
              "remark": "Retried charge", "idempotency_key": "retry-after-503"}
    # OHIP's gateway answers 503: the charge was not processed, so the key must not stay claimed.
    sandbox(desk).faults.inject(operation="postBillingCharges", status=503, times=1)
    async with mcp_client(desk.url) as client:
        await call_error(client, "post_charge", charge)
        posted = await call_ok(client, "post_charge", charge)  # the same call again: it runs, now
        again = await call_ok(client, "post_charge", charge)  # and a third time: the first success, replayed
    assert again == posted
    made = [e for e in requests(desk, "postBillingCharges") if e.status < 300]
    assert len(made) == 1 and len(requests(desk, "postBillingCharges")) == 2
