"""The idempotency record's state machine, in memory and in a real Redis: claim, replay, mismatch, release, outcome
unknown and its reconciliation, the lease of a claim whose process died, waits, TTL and the size bound."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from app.opera.stores import SharedRedis
from app.security.idempotency import (
    Fresh,
    MemoryIdempotencyStore,
    Mismatch,
    Reconcile,
    RedisIdempotencyStore,
    Replay,
    StillInFlight,
)


@pytest.fixture(params=["memory", "redis"])
async def store(request: pytest.FixtureRequest) -> AsyncIterator[Any]:
    if request.param == "memory":
        yield MemoryIdempotencyStore(wait_s=0.6)
        return
    server = request.getfixturevalue("redis_server")
    shared = SharedRedis(server.url, prefix="test", timeout=1.0)
    try:
        yield RedisIdempotencyStore(shared, wait_s=0.6)
    finally:
        await shared.aclose()


async def test_first_use_is_fresh_and_a_finished_call_is_replayed(store: Any) -> None:
    assert isinstance(await store.begin("k1", "fp", lease_s=30), Fresh)
    await store.complete("k1", "fp", {"reservation_id": "R1"})
    claim = await store.begin("k1", "fp", lease_s=30)
    assert isinstance(claim, Replay) and claim.result == {"reservation_id": "R1"}


async def test_the_same_key_with_other_arguments_is_a_mismatch(store: Any) -> None:
    await store.begin("k2", "fp-a", lease_s=30)
    await store.complete("k2", "fp-a", {"ok": True})
    assert isinstance(await store.begin("k2", "fp-b", lease_s=30), Mismatch)


async def test_a_released_key_is_fresh_again(store: Any) -> None:
    await store.begin("k3", "fp", lease_s=30)
    await store.release("k3")
    assert isinstance(await store.begin("k3", "fp", lease_s=30), Fresh)


async def test_a_release_never_drops_a_finished_result(store: Any) -> None:
    await store.begin("k4", "fp", lease_s=30)
    await store.complete("k4", "fp", {"n": 1})
    await store.release("k4")
    assert isinstance(await store.begin("k4", "fp", lease_s=30), Replay)


async def test_an_unknown_outcome_is_handed_to_exactly_one_repeat_to_reconcile(store: Any) -> None:
    await store.begin("k5", "fp", lease_s=30)
    await store.mark_unknown("k5", "fp")
    first = await store.begin("k5", "fp", lease_s=30)
    assert isinstance(first, Reconcile)
    with pytest.raises(StillInFlight):
        await store.begin("k5", "fp", lease_s=30)  # the reconciling repeat holds it
    await store.complete("k5", "fp", {"found": True})
    assert isinstance(await store.begin("k5", "fp", lease_s=30), Replay)


async def test_the_unknown_since_time_survives_a_failed_reconciliation(store: Any) -> None:
    await store.begin("k6", "fp", lease_s=30)
    await store.mark_unknown("k6", "fp")
    first = await store.begin("k6", "fp", lease_s=30)
    await asyncio.sleep(0.05)
    await store.mark_unknown("k6", "fp")
    second = await store.begin("k6", "fp", lease_s=30)
    assert isinstance(first, Reconcile) and isinstance(second, Reconcile)
    assert second.since == pytest.approx(first.since, abs=0.01)


async def test_a_repeat_waits_for_the_call_in_flight_and_gets_its_result(store: Any) -> None:
    store.wait_s = 30.0  # far beyond the finish below: the repeat is woken by the result, not by its bound
    await store.begin("k7", "fp", lease_s=60)
    repeat = asyncio.create_task(store.begin("k7", "fp", lease_s=60))
    await asyncio.sleep(0.2)
    assert not repeat.done()  # it waits while the first call is in flight
    started = time.monotonic()
    await store.complete("k7", "fp", {"done": 1})
    claim = await asyncio.wait_for(repeat, timeout=10)
    assert isinstance(claim, Replay) and claim.result == {"done": 1}
    assert time.monotonic() - started < 5  # woken by the settle (memory) or its poll (Redis), long before 30 s


async def test_a_repeat_is_told_when_the_call_in_flight_outlasts_the_wait(store: Any) -> None:
    await store.begin("k8", "fp", lease_s=30)
    with pytest.raises(StillInFlight):
        await store.begin("k8", "fp", lease_s=30)


async def test_a_claim_whose_process_died_runs_out_and_is_reconciled(store: Any) -> None:
    await store.begin("k9", "fp", lease_s=0.3)  # nobody completes it: its replica was killed
    claim = await store.begin("k9", "fp", lease_s=30)
    assert isinstance(claim, Reconcile)


async def test_records_expire_after_their_ttl() -> None:
    now = [1000.0]
    store = MemoryIdempotencyStore(ttl_s=60, clock=lambda: now[0])
    await store.begin("old", "fp", lease_s=30)
    await store.complete("old", "fp", {"n": 1})
    now[0] += 61
    assert isinstance(await store.begin("old", "fp", lease_s=30), Fresh)


async def test_redis_records_carry_the_ttl(redis_server: Any) -> None:
    shared = SharedRedis(redis_server.url, prefix="ttl", timeout=1.0)
    try:
        store = RedisIdempotencyStore(shared, ttl_s=120)
        await store.begin("k", "fp", lease_s=30)
        await store.complete("k", "fp", {"n": 1})
        ttl = await shared.client.ttl("ttl:idem:k")
        assert 100 < ttl <= 120
    finally:
        await shared.aclose()


async def test_the_size_bound_drops_only_finished_records() -> None:
    store = MemoryIdempotencyStore(max_entries=2)
    await store.begin("a", "fp", lease_s=30)  # in flight: must survive
    await store.begin("b", "fp", lease_s=30)
    await store.complete("b", "fp", {"n": 2})
    await store.begin("c", "fp", lease_s=30)
    await store.mark_unknown("c", "fp")  # unknown: must survive
    await store.begin("d", "fp", lease_s=30)
    assert store.state_of("a") == "in_flight" and store.state_of("c") == "unknown"
    assert store.state_of("b") is None


async def test_expired_records_are_purged_whatever_their_state() -> None:
    now = [1000.0]
    store = MemoryIdempotencyStore(ttl_s=60, clock=lambda: now[0])
    await store.begin("done", "fp", lease_s=30)
    await store.complete("done", "fp", {"n": 1})
    await store.begin("unknown", "fp", lease_s=30)
    await store.mark_unknown("unknown", "fp")
    await store.begin("young", "fp", lease_s=30)
    now[0] += 30
    await store.begin("younger", "fp", lease_s=30)
    assert len(store) == 4
    now[0] += 31  # the first three are 61 s old, "younger" 31 s
    await store.begin("trigger", "fp", lease_s=30)  # purging happens on use, no timer
    assert [store.state_of(k) for k in ("done", "unknown", "young")] == [None, None, None]
    assert store.state_of("younger") == "in_flight" and len(store) == 2


async def test_a_release_wakes_a_waiting_repeat_which_then_holds_the_key() -> None:
    store = MemoryIdempotencyStore(wait_s=30.0)
    await store.begin("k", "fp", lease_s=60)
    repeat = asyncio.create_task(store.begin("k", "fp", lease_s=60))
    await asyncio.sleep(0.05)
    assert not repeat.done()
    await store.release("k")  # the first call failed before writing anything
    assert isinstance(await asyncio.wait_for(repeat, timeout=5), Fresh)
    assert store.state_of("k") == "in_flight"
