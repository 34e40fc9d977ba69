"""Several replicas are one service: real `python -m app` processes on loopback sharing one real redis-server and
one sandbox. Exactly once across replicas (lost answers, an agent's timeout, SIGTERM mid-write), no lost updates,
changes seen at once everywhere, and a Redis outage that refuses writes, keeps reads and heals by itself."""

from __future__ import annotations

import asyncio
import signal
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx2
import pytest
from mcp.types import ElicitResult

from tests.support.fleet import Process, RoundRobin, replicas
from tests.support.mcp_client import call_error, call_ok, mcp_client
from tests.support.sandbox_state import BUSINESS_DATE, RAW_HEADERS, bookings_of, inject_fault, raw_call, stay
from tests.support.servers import serve


@pytest.fixture
def fleet(sandbox_server: Any, redis_server: Any) -> Iterator[list[Process]]:
    with replicas(sandbox_server.url, redis_server.url, 2) as started:
        yield started


async def test_a_lost_answer_on_one_replica_repeated_on_another_happens_once(
    fleet: list[Process], sandbox_server: Any,
) -> None:
    a, b = fleet
    sandbox = sandbox_server.sandbox
    guest = next(r for r in sandbox.enterprise.hotels["SAND01"].reservations.values() if r.status == "InHouse")
    book_key, charge_key, pay_key = (str(uuid.uuid4()) for _ in range(3))
    charge = {"reservation_id": guest.reservation_id, "transaction_code": "2010", "amount": 9.5,
              "reference": "fleet-1", "idempotency_key": charge_key}
    payment = {"reservation_id": guest.reservation_id, "payment_method": "CA", "amount": 3.75, "confirm": True,
               "idempotency_key": pay_key}
    for operation in ("postReservation", "postBillingCharges", "postBillingPayment"):
        await inject_fault(sandbox_server.url, operation=operation, mode="drop")
    async with mcp_client(a.url) as on_a:
        booking = stay("Acrossreplicas", idempotency_key=book_key)
        assert "unknown" in await call_error(on_a, "create_reservation", booking)
        assert "unknown" in await call_error(on_a, "post_charge", charge)
        assert "unknown" in await call_error(on_a, "post_payment", payment)
    async with mcp_client(b.url) as on_b:
        booked = await call_ok(on_b, "create_reservation", stay("Acrossreplicas", idempotency_key=book_key))
        charged = await call_ok(on_b, "post_charge", charge)
        paid = await call_ok(on_b, "post_payment", payment)
    async with mcp_client(a.url) as on_a:
        assert await call_ok(on_a, "create_reservation", stay("Acrossreplicas", idempotency_key=book_key)) == booked
        assert await call_ok(on_a, "post_charge", charge) == charged
        assert await call_ok(on_a, "post_payment", payment) == paid
    made = bookings_of(sandbox, "Acrossreplicas")
    assert len(made) == 1 and booked["reservation_id"] == made[0].reservation_id
    record = sandbox.enterprise.hotels["SAND01"].reservations[guest.reservation_id]
    postings = [p for w in record.folio_windows.values() for p in w.postings]
    assert len([p for p in postings if "fleet-1" in (p.reference or "")]) == 1
    assert len([p for p in postings if p.transaction_type == "Payment" and p.amount == 3.75]) == 1


async def test_a_deposit_lost_on_one_replica_and_repeated_on_both_at_once_is_taken_once(
    fleet: list[Process], sandbox_server: Any,
) -> None:
    a, b = fleet
    deposit = {"payment_method": "CA", "amount": 33.25, "confirm": True, "idempotency_key": str(uuid.uuid4())}
    async with mcp_client(a.url) as on_a:
        deposit["reservation_id"] = (await call_ok(on_a, "create_reservation", stay("Depfleet")))["reservation_id"]
        await inject_fault(sandbox_server.url, operation="postDepositPayment", mode="drop")
        assert "unknown" in await call_error(on_a, "post_deposit", deposit)
    async with mcp_client(a.url) as on_a, mcp_client(b.url) as on_b:
        first, second = await asyncio.gather(call_ok(on_a, "post_deposit", deposit),
                                             call_ok(on_b, "post_deposit", deposit))
    record = sandbox_server.sandbox.enterprise.hotels["SAND01"].reservations[deposit["reservation_id"]]
    assert [p.amount for p in record.deposits] == [33.25]
    assert first == second and [p["transaction_no"] for p in first["deposits"]] == [record.deposits[0].transaction_no]
    assert len([e for e in sandbox_server.sandbox.requests if e.operation_id == "postDepositPayment"]) == 1


async def test_a_refund_lost_on_one_replica_and_repeated_on_both_at_once_is_made_once(
    fleet: list[Process], sandbox_server: Any,
) -> None:
    a, b = fleet
    refund = {"reason": "cancelled in time", "confirm": True, "idempotency_key": str(uuid.uuid4())}
    async with mcp_client(a.url) as on_a:
        refund["reservation_id"] = (await call_ok(on_a, "create_reservation", stay("Reembolso")))["reservation_id"]
        await call_ok(on_a, "post_deposit", {"reservation_id": refund["reservation_id"], "payment_method": "CA",
                                             "amount": 41.5, "confirm": True})
        await call_ok(on_a, "cancel_reservation", {"reservation_id": refund["reservation_id"], "confirm": True})
        await inject_fault(sandbox_server.url, operation="postDepositPayment", mode="stall", delay=1.5)
        lost = call_ok(on_a, "refund_deposit", refund)
        async with mcp_client(b.url) as on_b:
            first, second = await asyncio.gather(lost, call_ok(on_b, "refund_deposit", refund))
    record = sandbox_server.sandbox.enterprise.hotels["SAND01"].reservations[refund["reservation_id"]]
    assert [p.amount for p in record.deposits] == [41.5, -41.5]
    assert first["refund"] == second["refund"]
    assert first["refund"][0]["transaction_no"] == record.deposits[1].transaction_no
    refunds = [e for e in sandbox_server.sandbox.requests if e.operation_id == "postDepositPayment"
               and e.json["criteria"]["postingAmount"]["amount"] < 0]
    assert len(refunds) == 1


def three_writes(sandbox: Any, tag: str, surname: str) -> tuple[Any, dict[str, dict[str, Any]]]:
    """A booking, a charge and a payment for an in-house guest, each with its own key (the charge tagged `tag`)."""
    guest = next(r for r in sandbox.enterprise.hotels["SAND01"].reservations.values() if r.status == "InHouse")
    return guest, {
        "create_reservation": stay(surname, idempotency_key=str(uuid.uuid4())),
        "post_charge": {"reservation_id": guest.reservation_id, "transaction_code": "2010", "amount": 4.5,
                        "reference": tag, "idempotency_key": str(uuid.uuid4())},
        "post_payment": {"reservation_id": guest.reservation_id, "payment_method": "CA", "amount": 2.25,
                         "confirm": True, "idempotency_key": str(uuid.uuid4())},
    }


def assert_one_of_each(sandbox: Any, guest: Any, tag: str, surname: str, again: dict[str, Any]) -> None:
    made = bookings_of(sandbox, surname)
    assert len(made) == 1 and again["create_reservation"]["reservation_id"] == made[0].reservation_id
    postings = [p for w in sandbox.enterprise.hotels["SAND01"].reservations[guest.reservation_id].folio_windows.values()
                for p in w.postings]
    assert len([p for p in postings if tag in (p.reference or "")]) == 1
    assert len([p for p in postings if p.transaction_type == "Payment" and p.amount == 2.25]) == 1


async def test_an_agent_that_times_out_on_one_replica_and_repeats_on_another_gets_one_write(
    fleet: list[Process], sandbox_server: Any,
) -> None:
    a, b = fleet
    sandbox = sandbox_server.sandbox
    guest, writes = three_writes(sandbox, "gaveup-1", "Gaveup")
    for operation in ("postReservation", "postBillingCharges", "postBillingPayment"):
        await inject_fault(sandbox_server.url, operation=operation, mode="stall", delay=2.0)
    async with httpx2.AsyncClient(timeout=0.5) as http:
        for tool, arguments in writes.items():
            with pytest.raises(httpx2.ReadTimeout):
                await http.post(f"{a.url}/mcp", json=raw_call(tool, arguments), headers=RAW_HEADERS)
    async with mcp_client(b.url) as on_b:
        again = {tool: await call_ok(on_b, tool, arguments) for tool, arguments in writes.items()}
    assert_one_of_each(sandbox, guest, "gaveup-1", "Gaveup", again)


async def test_sigterm_mid_write_then_the_same_key_on_another_replica_happens_once(
    sandbox_server: Any, redis_server: Any,
) -> None:
    sandbox = sandbox_server.sandbox
    guest, writes = three_writes(sandbox, "sigterm-1", "Sigterm")
    # A drains for 2 s only, while OHIP takes 6 s to answer writes it has already made.
    with replicas(sandbox_server.url, redis_server.url, 1, shutdown_delay=0, graceful_shutdown_timeout=2) as (a,), \
            replicas(sandbox_server.url, redis_server.url, 1) as (b,):
        for operation in ("postReservation", "postBillingCharges", "postBillingPayment"):
            await inject_fault(sandbox_server.url, operation=operation, mode="stall", delay=6.0)
        async with httpx2.AsyncClient(timeout=20) as http:
            pending = [asyncio.create_task(http.post(f"{a.url}/mcp", json=raw_call(tool, arguments),
                                                     headers=RAW_HEADERS))
                       for tool, arguments in writes.items()]
            await asyncio.sleep(1.5)
            a.signal(signal.SIGTERM)
            answers = await asyncio.gather(*pending)
        for answer in answers:
            assert answer.status_code == 200
            assert "outcome is unknown" in answer.text and "same idempotency_key" in answer.text
        assert await asyncio.to_thread(a.wait, 20) == 1  # not a clean drain: calls were cut
        async with mcp_client(b.url) as on_b:
            again = {tool: await call_ok(on_b, tool, arguments) for tool, arguments in writes.items()}
    assert_one_of_each(sandbox, guest, "sigterm-1", "Sigterm", again)


async def test_a_change_on_one_replica_is_read_on_the_other_at_once(
    fleet: list[Process], sandbox_server: Any,
) -> None:
    a, b = fleet
    async with mcp_client(a.url) as on_a, mcp_client(b.url) as on_b:
        booked = await call_ok(on_a, "create_reservation", stay("Seenatonce"))
        rid = booked["reservation_id"]
        assert (await call_ok(on_b, "get_reservation", {"reservation_id": rid}))["status"] == "Reserved"  # cached
        await call_ok(on_a, "cancel_reservation", {"reservation_id": rid, "confirm": True})
        assert (await call_ok(on_b, "get_reservation", {"reservation_id": rid}))["status"] == "Cancelled"


async def test_changes_made_on_two_replicas_both_survive(fleet: list[Process], sandbox_server: Any) -> None:
    a, b = fleet
    async with mcp_client(a.url) as on_a, mcp_client(b.url) as on_b:
        rid = (await call_ok(on_a, "create_reservation", stay("Twochanges")))["reservation_id"]
        await call_ok(on_b, "get_reservation", {"reservation_id": rid})  # B has it cached
        await call_ok(on_a, "modify_reservation", {"reservation_id": rid, "comment": "late arrival"})
        await call_ok(on_b, "modify_reservation", {"reservation_id": rid,
                                                   "departure": str(BUSINESS_DATE + timedelta(days=43))})
        await call_ok(on_a, "modify_reservation", {"reservation_id": rid, "room_type": "QUN"})
        await call_ok(on_b, "modify_reservation", {"reservation_id": rid, "comment": "extra pillow"})
        await call_ok(on_b, "modify_reservation", {"reservation_id": rid,
                                                   "departure": str(BUSINESS_DATE + timedelta(days=44))})
    held = sandbox_server.sandbox.enterprise.hotels["SAND01"].reservations[rid]
    assert [c.text for c in held.comments] == ["late arrival", "extra pillow"]
    assert held.room_type == "QUN" and held.departure == BUSINESS_DATE + timedelta(days=44)


async def test_redis_down_refuses_writes_keeps_reads_and_heals_by_itself(
    fleet: list[Process], sandbox_server: Any, redis_server: Any,
) -> None:
    a, b = fleet
    key = str(uuid.uuid4())
    async with mcp_client(a.url) as on_a:
        rid = (await call_ok(on_a, "create_reservation", stay("Outage", idempotency_key=key)))["reservation_id"]
    redis_server.stop()
    async with mcp_client(a.url) as on_a, mcp_client(b.url) as on_b:
        refused = await call_error(on_b, "create_reservation", stay("Outage2", idempotency_key=str(uuid.uuid4())))
        assert "Redis" in refused and "nothing was changed" in refused
        assert (await call_ok(on_a, "get_reservation", {"reservation_id": rid}))["reservation_id"] == rid
        assert (await call_ok(on_b, "search_reservations", {"surname": "Outage"}))["reservations"]
        async with httpx2.AsyncClient() as http:
            ready = await http.get(f"{a.url}/ready")
            assert ready.status_code == 503 and "Redis" in ready.text
    assert bookings_of(sandbox_server.sandbox, "Outage2") == []
    redis_server.start()  # empty: a restarted Redis without persistence lost every record
    deadline = time.monotonic() + 15
    async with httpx2.AsyncClient() as http:
        while (await http.get(f"{b.url}/ready")).status_code != 200:
            assert time.monotonic() < deadline, "the replica did not recover"
            await asyncio.sleep(0.2)
    async with mcp_client(b.url) as on_b:
        again = await call_ok(on_b, "create_reservation", stay("Outage", idempotency_key=key))
        fresh = await call_ok(on_b, "create_reservation", stay("Outage3", idempotency_key=str(uuid.uuid4())))
    assert again["reservation_id"] == rid and len(bookings_of(sandbox_server.sandbox, "Outage")) == 1
    assert len(bookings_of(sandbox_server.sandbox, "Outage3")) == 1 and fresh["reservation_id"]


async def test_a_clerks_change_in_opera_survives_a_change_built_on_a_cached_read(
    fleet: list[Process], sandbox_server: Any,
) -> None:
    """A change made in OPERA itself (no replica saw it, nothing was invalidated) is not overwritten: the read a
    write is built from never comes from the cache."""
    a, _ = fleet
    async with mcp_client(a.url) as on_a:
        rid = (await call_ok(on_a, "create_reservation", stay("Clerkchange")))["reservation_id"]
        assert (await call_ok(on_a, "get_reservation", {"reservation_id": rid}))["room_type"] == "KNG"  # cached
        held = sandbox_server.sandbox.enterprise.hotels["SAND01"].reservations[rid]
        held.room_type = "DBL"  # the clerk moves the guest to a double at the desk
        await call_ok(on_a, "modify_reservation", {"reservation_id": rid,
                                                   "departure": str(BUSINESS_DATE + timedelta(days=43))})
    assert held.room_type == "DBL" and held.departure == BUSINESS_DATE + timedelta(days=43)


async def test_a_confirmation_whose_two_legs_land_on_two_replicas_goes_through(
    fleet: list[Process], sandbox_server: Any,
) -> None:
    """Sessionless elicitation seals its state in the answer; the retry may reach another replica, which must be able
    to open it (every replica derives the same key)."""
    balancer = RoundRobin([r.url for r in fleet])
    asked: list[str] = []

    async def human(context: Any, params: Any) -> ElicitResult:
        asked.append(params.message)
        return ElicitResult(action="accept", content={"confirm": True})

    with serve(balancer.app()) as front:
        async with mcp_client(front.url, elicitation_callback=human) as client:
            rid = (await call_ok(client, "create_reservation", stay("Twolegs")))["reservation_id"]
            before = dict(balancer.sent)
            cancelled = await call_ok(client, "cancel_reservation", {"reservation_id": rid})
    legs = {url: balancer.sent[url] - before[url] for url in before}
    assert len(asked) == 1 and cancelled["cancelled"] is True
    assert all(count >= 1 for count in legs.values()), legs  # the question and the answer met different replicas
    assert sandbox_server.sandbox.enterprise.hotels["SAND01"].reservations[rid].status == "Cancelled"
