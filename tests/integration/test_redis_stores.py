"""Several replicas as one service through a real redis-server: one OHIP token per fleet, one OHIP budget, one
response cache whose invalidation every replica sees at once, one inbound limit per caller, and each of them
carrying on locally while Redis is away and sharing again, without a restart, when it is back."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import pytest
import redis.asyncio as aioredis

from app.opera.cache import CachedAnswer, ResponseCache
from app.opera.errors import OperaLimiterTimeoutError, OperaSharedStateError
from app.opera.http import OperaHTTP, Operation
from app.opera.stores import (
    RedisCacheStore,
    RedisRateLimiter,
    RedisTokenStore,
    SharedRedis,
    StoreSet,
    open_stores,
)
from app.security.ratelimit import SharedInboundRateLimiter
from app.telemetry.metrics import Metrics
from tests.contract.plugin import SandboxServer
from tests.support.apps import settings_for_sandbox
from tests.support.redis import RedisServer

SEARCH = Operation("rsv", "getHotelReservations", "GET", "/hotels/{hotelId}/reservations")
GET = Operation("rsv", "getReservation", "GET", "/hotels/{hotelId}/reservations/{reservationId}")
MODIFY = Operation("rsv", "putReservation", "PUT", "/hotels/{hotelId}/reservations/{reservationId}")
HOTEL = "SAND01"
#: A cache key as OperaHTTP makes them (it starts with the hotel, whose write epochs a miss reads).
KEY = ResponseCache.key(HOTEL, "GET", "http://ohip/rsv/v1/hotels/SAND01/reservations/1", [])


@asynccontextmanager
async def replica(sandbox: SandboxServer, redis: RedisServer, **overrides: Any) -> AsyncIterator[OperaHTTP]:
    """One replica: its own Settings, metrics, Redis connection and OHIP client, wired as the server wires them."""
    values: dict[str, Any] = {"redis_url": redis.url, "requests_per_second": 1000.0, "burst_capacity": 200}
    values.update(overrides)
    settings = settings_for_sandbox(sandbox.url, **values)
    metrics = Metrics()
    stores = open_stores(settings, metrics)
    await stores.start()
    http = OperaHTTP(settings, metrics, token_store=stores.token_store, cache_store=stores.cache_store,
                     limiter=stores.limiter)
    await http.start()
    try:
        yield http
    finally:
        await http.aclose()
        await stores.aclose()


@asynccontextmanager
async def shared(redis: RedisServer, command_timeout: float = 0.5) -> AsyncIterator[SharedRedis]:
    # The product's default OPERA_REDIS_TIMEOUT: a shorter one turned a loaded 2-core machine's slow command into
    # a fallback to local state, which these fleet-wide assertions then (rightly) failed on.
    connection = SharedRedis(redis.url, prefix="test", timeout=command_timeout, metrics=Metrics())
    await connection.start()
    try:
        yield connection
    finally:
        await connection.aclose()


async def until(condition: Any, within: float = 5.0) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.05)


def business_calls(server: SandboxServer, operation_id: str) -> list[Any]:
    return [e for e in server.sandbox.requests if e.operation_id == operation_id]


async def first_reservation_id(http: OperaHTTP) -> str:
    found = await http.call(SEARCH, hotel_id=HOTEL, params={"searchType": "Arrival", "limit": 1})
    assert found.body is not None
    row = found.body["reservations"]["reservationInfo"][0]
    return str(next(i["id"] for i in row["reservationIdList"] if i["type"] == "Reservation"))


def answer(name: str) -> CachedAnswer:
    return CachedAnswer(200, {"reservation": {"name": name}}, [("content-type", "application/json")], "rid-" + name)


def response_cache(connection: SharedRedis) -> ResponseCache:
    return ResponseCache(Metrics(), enabled=True, ttl=60, max_entries=100,
                         store=RedisCacheStore(connection, 100))


# --- the factory and the connection -----------------------------------------------------------------------------
def test_without_redis_the_factory_keeps_todays_in_process_objects(sandbox_server: SandboxServer) -> None:
    stores = open_stores(settings_for_sandbox(sandbox_server.url), Metrics())
    assert isinstance(stores, StoreSet)
    assert (stores.redis, stores.token_store, stores.cache_store, stores.limiter) == (None, None, None, None)
    assert not isinstance(stores.inbound_limiter, SharedInboundRateLimiter)
    assert stores.health() is None


async def test_health_names_the_target_but_never_the_password(
    redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"redis://:hunter2-secret@127.0.0.1:{redis_server.port}/3"
    connection = SharedRedis(url, prefix="test", timeout=0.3)
    caplog.set_level(logging.DEBUG)
    await connection.start()
    up = connection.status()
    redis_server.stop()
    assert not await connection.check()
    down = connection.status()
    await connection.aclose()
    assert up["status"] == "ok" and up["target"] == f"127.0.0.1:{redis_server.port}/3"
    assert down["status"] == "down" and down["last_error"] == "ConnectionError"
    shown = f"{up} {down} {connection!r} {caplog.text}"
    assert "hunter2" not in shown


async def test_replicas_count_each_other_by_heartbeat(redis_server: RedisServer) -> None:
    async with shared(redis_server) as a:
        async with shared(redis_server) as b:
            await a.heartbeat()
            assert a.fleet_size() == 2 and b.fleet_size() == 2
        await a.heartbeat()  # b left the fleet on close
        assert a.fleet_size() == 1
        assert a.status()["status"] == "ok" and a.status()["latency_ms"] is not None


# --- tokens -----------------------------------------------------------------------------------------------------
async def test_three_cold_replicas_fetch_one_token_for_fifty_calls(
    sandbox_server: SandboxServer, redis_server: RedisServer
) -> None:
    async with AsyncExitStack() as stack:
        replicas = [await stack.enter_async_context(replica(sandbox_server, redis_server)) for _ in range(3)]
        answers = await asyncio.gather(*(
            replicas[i % 3].call(SEARCH, hotel_id=HOTEL, params={"limit": 1}) for i in range(50)
        ))
    assert all(a.status == 200 for a in answers)
    assert sandbox_server.sandbox.token_requests == 1
    calls = business_calls(sandbox_server, "getHotelReservations")
    assert len(calls) == 50 and len({e.token_hash for e in calls}) == 1


async def test_a_401_on_one_replica_keeps_the_newer_token_another_replica_stored(
    sandbox_server: SandboxServer, redis_server: RedisServer
) -> None:
    async with replica(sandbox_server, redis_server) as a, replica(sandbox_server, redis_server) as b:
        await a.call(SEARCH, hotel_id=HOTEL, params={"limit": 1})
        await b.call(SEARCH, hotel_id=HOTEL, params={"limit": 1})  # the same token, from the store
        old = a.token_manager.current_token()
        assert old is not None and b.token_manager.current_token() == old
        sandbox_server.sandbox.tokens.expire_all()
        await a.call(SEARCH, hotel_id=HOTEL, params={"limit": 1})  # 401, a new token, replayed
        new = a.token_manager.current_token()
        assert new is not None and new != old
        await b.call(SEARCH, hotel_id=HOTEL, params={"limit": 1})  # b's 401 must not delete a's new token
        assert b.token_manager.current_token() == new
        store = a._token_store
        assert isinstance(store, RedisTokenStore)
        stored = await store.load()
        assert stored is not None and stored.access_token == new
    assert sandbox_server.sandbox.token_requests == 2


async def test_the_shared_token_is_sealed_in_redis(sandbox_server: SandboxServer, redis_server: RedisServer) -> None:
    async with replica(sandbox_server, redis_server) as http:
        await http.call(SEARCH, hotel_id=HOTEL, params={"limit": 1})
        token = http.token_manager.current_token()
    assert token
    client = aioredis.Redis.from_url(redis_server.url)
    try:
        values = [await client.get(key) async for key in client.scan_iter(match="*")]
        dump = b"".join(v for v in values if isinstance(v, bytes))
    finally:
        await client.aclose()
    assert dump and token.encode() not in dump


async def test_replicas_fetch_their_own_tokens_while_redis_is_down(
    sandbox_server: SandboxServer, redis_server: RedisServer
) -> None:
    redis_server.stop()
    async with replica(sandbox_server, redis_server) as a, replica(sandbox_server, redis_server) as b:
        answers = await asyncio.gather(*(
            (a if i % 2 else b).call(SEARCH, hotel_id=HOTEL, params={"limit": 1}) for i in range(10)
        ))
    assert all(x.status == 200 for x in answers)
    assert sandbox_server.sandbox.token_requests == 2  # one each: a token is not an exactly-once matter


# --- the OHIP budget --------------------------------------------------------------------------------------------
async def test_two_replicas_never_admit_more_than_rate_plus_burst_in_any_second(redis_server: RedisServer) -> None:
    rate, burst = 20.0, 5
    async with shared(redis_server) as a, shared(redis_server) as b:
        limiters = [RedisRateLimiter(c, rate, burst, 3.0) for c in (a, b)]
        admitted: list[float] = []

        async def call(limiter: RedisRateLimiter) -> None:
            await limiter.acquire()
            admitted.append(time.monotonic())

        started = time.monotonic()
        await asyncio.gather(*(call(limiters[i % 2]) for i in range(45)))
    elapsed = time.monotonic() - started
    admitted.sort()
    busiest = max(sum(1 for t in admitted if first <= t < first + 1.0) for first in admitted)
    assert busiest <= rate + burst
    assert elapsed >= (45 - burst) / rate - 0.1  # the fleet, not each replica, had the budget
    assert limiters[0].status()["backend"] == "redis"


async def test_a_caller_over_the_wait_bound_is_refused_at_once_without_taking_a_slot(
    redis_server: RedisServer,
) -> None:
    async with shared(redis_server) as a, shared(redis_server) as b:
        first, second = RedisRateLimiter(a, 2.0, 1, 0.6), RedisRateLimiter(b, 2.0, 1, 0.6)
        assert await first.acquire() == 0.0
        queued = asyncio.create_task(second.acquire())  # the next slot, 0.5 s away
        await asyncio.sleep(0.05)
        started = time.monotonic()
        with pytest.raises(OperaLimiterTimeoutError, match=r"fleet-wide.*OPERA_LIMITER_MAX_WAIT"):
            await first.acquire()  # would wait about 0.95 s
        assert time.monotonic() - started < 0.2
        assert await queued == pytest.approx(0.5, abs=0.1)
        # The refusal took nothing: the slot after the queued one is the next one handed out.
        assert await first.acquire() <= 0.55
        assert first.status()["rejections"] == 1


async def test_the_limiter_falls_back_to_its_share_and_returns_when_redis_does(redis_server: RedisServer) -> None:
    async with shared(redis_server) as a, shared(redis_server) as b:
        await a.heartbeat()
        assert a.fleet_size() == 2
        metrics = Metrics()
        limiter = RedisRateLimiter(a, 10.0, 4, 5.0, metrics=metrics)
        await limiter.acquire()
        redis_server.stop()
        await limiter.acquire()  # the failure is found, the local share takes over
        status = limiter.status()
        assert status["backend"] == "local-fallback"
        assert status["requests_per_second"] == 5.0 and status["burst"] == 2
        assert metrics.registry.get_sample_value("opera_ohip_limiter_backend", {"backend": "local-fallback"}) == 1
        assert not a.up and a.status()["status"] == "down"
        redis_server.start()
        await until(lambda: a.up and b.up)
        await limiter.acquire()
        assert limiter.status()["backend"] == "redis"
        assert metrics.registry.get_sample_value("opera_ohip_limiter_backend", {"backend": "redis"}) == 1
        assert (a._metrics and a._metrics.registry.get_sample_value("opera_redis_up")) == 1


# --- the response cache -----------------------------------------------------------------------------------------
async def test_a_write_through_one_replica_is_seen_by_the_other_at_once(
    sandbox_server: SandboxServer, redis_server: RedisServer
) -> None:
    async with replica(sandbox_server, redis_server) as a, replica(sandbox_server, redis_server) as b:
        reservation_id = await first_reservation_id(a)
        ask: dict[str, Any] = {"hotel_id": HOTEL, "path_params": {"reservationId": reservation_id}}
        first = await b.call(GET, cache="business", **ask)
        assert (await a.call(GET, cache="business", **ask)).from_cache  # b's answer, shared
        change = {"reservations": [{
            "reservationIdList": [{"id": reservation_id, "type": "Reservation"}], "hotelId": HOTEL,
            "comments": [{"comment": {"text": {"value": "Late arrival"}, "type": "GEN", "internal": False}}],
        }]}
        await a.call(MODIFY, json=change, **ask)
        after = await b.call(GET, cache="business", **ask)
    assert "Late arrival" not in str(first.body)
    assert not after.from_cache and "Late arrival" in str(after.body)
    assert len(business_calls(sandbox_server, "getReservation")) == 2


async def test_a_read_that_started_before_another_replicas_write_is_not_stored(redis_server: RedisServer) -> None:
    async with shared(redis_server) as a, shared(redis_server) as b:
        writer, reader = response_cache(a), response_cache(b)
        tags = reader.tags(HOTEL, "rsv", "business")
        assert await reader.get(KEY) is None  # the GET starts: a miss, epochs read
        before = reader.epoch(tags)
        await writer.invalidate_after_write(HOTEL, "rsv")  # a modification lands on the other replica
        assert not await reader.put(KEY, answer("old"), kind="business", tags=tags, epoch=before)
        assert await reader.get(KEY) is None
        # A read that starts after the write is stored, and the other replica hits it.
        assert await reader.put(KEY, answer("new"), kind="business", tags=tags, epoch=reader.epoch(tags))
        hit = await writer.get(KEY)
        assert hit is not None and hit.body == {"reservation": {"name": "new"}}


async def test_an_epoch_read_before_redis_restarted_empty_never_matches_again(redis_server: RedisServer) -> None:
    async with shared(redis_server) as connection:
        cache = response_cache(connection)
        tags = cache.tags(HOTEL, "rsv", "business")
        await cache.get(KEY)
        before = cache.epoch(tags)
        redis_server.stop()
        redis_server.start()  # empty: no epoch survived
        store = RedisCacheStore(connection, 100)
        assert not await store.put(KEY, b"{}", ttl=60, tags=tags, epoch=before)


async def test_the_cache_misses_while_redis_is_away_and_is_cleared_when_it_returns(
    redis_server: RedisServer,
) -> None:
    async with shared(redis_server, command_timeout=0.2) as a, shared(redis_server, command_timeout=0.2) as b:
        cache_a, cache_b = response_cache(a), response_cache(b)
        tags = cache_a.tags(HOTEL, "rsv", "business")
        await cache_a.get(KEY)
        assert await cache_a.put(KEY, answer("kept"), kind="business", tags=tags, epoch=cache_a.epoch(tags))
        # Redis stalls (as a network partition would) but keeps its data: both replicas lose it for a moment.
        pauser = aioredis.Redis.from_url(redis_server.url)
        await pauser.client_pause(1200, all=True)
        await pauser.aclose()
        assert await cache_a.get(KEY) is None  # a timeout: a miss, not an error
        assert not await cache_a.put(KEY, answer("x"), kind="business", tags=tags, epoch=cache_a.epoch(tags))
        assert await cache_a.invalidate_after_write(HOTEL, "rsv") == 0  # the write happened; logged and counted
        assert not a.up
        with pytest.raises(OperaSharedStateError, match=r"shared state store .* unreachable"):
            await RedisCacheStore(a, 10).drop_tagged("hotel:" + HOTEL)
        await until(lambda: a.up, within=6)
        # Recovered without a restart; the entry is gone though Redis kept it: a write may have been missed.
        assert await cache_b.get(KEY) is None
        await cache_a.get(KEY)
        assert await cache_a.put(KEY, answer("fresh"), kind="business", tags=tags, epoch=cache_a.epoch(tags))
        hit = await cache_b.get(KEY)
        assert hit is not None and hit.body == {"reservation": {"name": "fresh"}}


async def test_the_shared_cache_keeps_its_bound(redis_server: RedisServer) -> None:
    async with shared(redis_server) as connection:
        store = RedisCacheStore(connection, 3)
        for i in range(5):
            assert await store.put(f"k{i}", b"v", ttl=60 + i, tags=(), epoch=())
        assert len(store) == 3
        assert [await store.get(f"k{i}") for i in range(5)] == [None, None, b"v", b"v", b"v"]
        await store.clear()
        assert len(store) == 0 and await store.get("k4") is None


# --- the inbound limit per caller -------------------------------------------------------------------------------
async def test_the_inbound_limit_holds_across_replicas_and_falls_back_to_a_share(redis_server: RedisServer) -> None:
    async with shared(redis_server) as a, shared(redis_server) as b:
        await a.heartbeat()
        limiters = [SharedInboundRateLimiter(4, a), SharedInboundRateLimiter(4, b)]
        verdicts = [await limiters[i % 2].acquire("key:alice") for i in range(5)]
        assert verdicts[:4] == [None] * 4
        assert verdicts[4] is not None and 10 < verdicts[4] <= 15  # one request every 15 s refills the bucket
        assert await limiters[1].acquire("key:bob") is None  # each caller has a bucket of its own
        redis_server.stop()
        # Redis away: this replica's share of 4/minute among 2 replicas.
        local = [await limiters[0].acquire("key:carol") for _ in range(3)]
        assert local[:2] == [None, None] and local[2] is not None
        redis_server.start()
        await until(lambda: a.up)
        assert await limiters[0].acquire("key:carol") is None  # the shared bucket again (Redis came back empty)
