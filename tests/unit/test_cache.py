"""The response cache: LRU bound, TTL, write invalidation per hotel, and never serving a changed record stale."""

from __future__ import annotations

import json
from collections.abc import Sequence

import pytest

from app.opera.cache import DEFAULT_TTLS, CachedAnswer, ResponseCache
from app.opera.stores import MemoryCacheStore
from app.telemetry.metrics import Metrics


class BytesOnlyStore:
    """A store that, like Redis, hands back new bytes on every get (not the in-process MemoryCacheStore)."""

    def __init__(self) -> None:
        self.inner = MemoryCacheStore(100)

    async def get(self, key: str) -> bytes | None:
        raw = await self.inner.get(key)
        return bytes(bytearray(raw)) if raw is not None else None

    async def epoch(self, tags: Sequence[str]) -> tuple[int, ...]:
        return await self.inner.epoch(tags)

    async def put(self, key: str, value: bytes, *, ttl: float, tags: Sequence[str], epoch: tuple[int, ...]) -> bool:
        return await self.inner.put(key, value, ttl=ttl, tags=tags, epoch=epoch)

    async def drop_tagged(self, tag: str) -> int:
        return await self.inner.drop_tagged(tag)

    async def clear(self) -> None:
        await self.inner.clear()

    def __len__(self) -> int:
        return len(self.inner)


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def answer(name: str) -> CachedAnswer:
    return CachedAnswer(200, {"reservation": {"name": name}}, [("content-type", "application/json")], "rid-" + name)


def build(*, max_entries: int = 100, ttl: float = 300.0) -> tuple[ResponseCache, Metrics, FakeClock]:
    metrics = Metrics()
    clock = FakeClock()
    cache = ResponseCache(metrics, enabled=True, ttl=ttl, max_entries=max_entries, clock=clock)
    return cache, metrics, clock


def sample(metrics: Metrics, name: str, **labels: str) -> float:
    return metrics.registry.get_sample_value(name, labels) or 0.0


async def store(
    cache: ResponseCache,
    key: str,
    value: CachedAnswer,
    hotel: str = "SAND01",
    module: str = "rsv",
    kind: str = "business",
) -> bool:
    tags = cache.tags(hotel, module, kind)  # type: ignore[arg-type]
    return await cache.put(key, value, kind=kind, tags=tags, epoch=cache.epoch(tags))  # type: ignore[arg-type]


def test_key_ignores_query_order_but_not_hotel_or_values() -> None:
    a = ResponseCache.key("SAND01", "GET", "http://x/rsv/v1/hotels/SAND01/reservations", [("b", "2"), ("a", "1")])
    b = ResponseCache.key("SAND01", "GET", "http://x/rsv/v1/hotels/SAND01/reservations", [("a", "1"), ("b", "2")])
    c = ResponseCache.key("SAND02", "GET", "http://x/rsv/v1/hotels/SAND01/reservations", [("a", "1"), ("b", "2")])
    d = ResponseCache.key("SAND01", "GET", "http://x/rsv/v1/hotels/SAND01/reservations", [("a", "1"), ("b", "3")])
    assert a == b and len({a, c, d}) == 3


async def test_hit_returns_the_stored_answer_and_counts() -> None:
    cache, metrics, _ = build()
    assert await cache.get("k") is None
    assert await store(cache, "k", answer("Smith"))
    hit = await cache.get("k")
    assert hit is not None and hit.body == {"reservation": {"name": "Smith"}} and hit.request_id == "rid-Smith"
    assert sample(metrics, "opera_cache_hits_total", cache="ohip") == 1
    assert sample(metrics, "opera_cache_misses_total", cache="ohip") == 1
    assert sample(metrics, "opera_cache_entries", cache="ohip") == 1


async def test_a_hit_cannot_be_changed_by_one_caller_for_the_others() -> None:
    cache, _, _ = build()
    fetched = CachedAnswer(200, {"reservation": {"name": "Smith", "comments": ["late"]}}, [], "rid")
    await store(cache, "k", fetched)
    fetched.body["reservation"]["name"] = "Changed by the caller that fetched it"  # type: ignore[index]
    first = await cache.get("k")
    assert first is not None and first.body is not None
    reservation = first.body["reservation"]
    for change in (lambda: reservation.__setitem__("name", "X"), lambda: reservation.pop("name"),
                   lambda: reservation.update(name="X"), lambda: reservation["comments"].append("x"),
                   lambda: reservation["comments"].__setitem__(0, "x"), lambda: first.body.clear()):  # type: ignore[union-attr]
        with pytest.raises(TypeError, match="cannot be changed"):
            change()
    mine = reservation.copy()
    mine["name"] = "Mine"
    again = await cache.get("k")
    assert again is not None and again.body == {"reservation": {"name": "Smith", "comments": ["late"]}}
    assert json.loads(json.dumps(again.body)) == again.body and isinstance(again.body, dict)


async def test_a_hit_through_a_shared_store_is_parsed_afresh_and_may_be_changed() -> None:
    cache = ResponseCache(Metrics(), enabled=True, ttl=300, max_entries=10, store=BytesOnlyStore())
    await store(cache, "k", answer("Smith"))
    first = await cache.get("k")
    assert first is not None and first.body is not None
    first.body["reservation"]["name"] = "Changed"
    again = await cache.get("k")
    assert again is not None and again.body == {"reservation": {"name": "Smith"}}


async def test_least_recently_used_entry_is_evicted_at_the_bound() -> None:
    cache, metrics, _ = build(max_entries=2)
    await store(cache, "a", answer("a"))
    await store(cache, "b", answer("b"))
    assert await cache.get("a") is not None  # a is now the most recently used
    await store(cache, "c", answer("c"))
    assert await cache.get("b") is None
    assert await cache.get("a") is not None and await cache.get("c") is not None
    assert sample(metrics, "opera_cache_evictions_total", cache="ohip", reason="size") == 1


async def test_entries_expire_after_their_ttl() -> None:
    cache, metrics, clock = build(ttl=100.0)
    await store(cache, "ref", answer("BAR"), kind="reference")
    await store(cache, "biz", answer("Smith"), kind="business")
    clock.now = DEFAULT_TTLS["business"] + 1  # business answers are short-lived: other OPERA users change them too
    assert await cache.get("biz") is None
    assert await cache.get("ref") is not None
    clock.now = 101.0
    assert await cache.get("ref") is None
    assert sample(metrics, "opera_cache_evictions_total", cache="ohip", reason="expired") == 2


async def test_each_kind_lives_its_own_ttl_capped_by_the_reference_ttl() -> None:
    metrics, clock = Metrics(), FakeClock()
    cache = ResponseCache(metrics, enabled=True, ttl=20.0, max_entries=100, clock=clock,
                          ttls={"rooms": 2.0, "profiles": 60.0, "reservation": 0.0})
    await store(cache, "rooms", answer("101"), kind="rooms")
    await store(cache, "profile", answer("Smith"), module="crm", kind="profiles")
    assert not await store(cache, "one", answer("x"), kind="reservation")  # TTL 0: this kind is never cached
    clock.now = 3.0
    assert await cache.get("rooms") is None and await cache.get("profile") is not None
    clock.now = 21.0  # 60 s asked, but no business answer outlives OPERA_CACHE_TTL
    assert await cache.get("profile") is None


async def test_invalidating_kinds_drops_only_those_kinds_of_that_hotel() -> None:
    cache, _, _ = build()
    await store(cache, "rooms1", answer("101"), kind="rooms")
    await store(cache, "avail1", answer("DLX"), kind="availability")
    await store(cache, "rooms2", answer("201"), hotel="SAND02", kind="rooms")
    await store(cache, "ref", answer("BAR"), kind="reference")
    assert await cache.invalidate_kinds("SAND01", ["rooms"]) == 1
    assert await cache.get("rooms1") is None
    assert await cache.get("avail1") is not None and await cache.get("rooms2") is not None
    assert await cache.get("ref") is not None
    assert await cache.invalidate_hotel("SAND01") == 1
    assert await cache.get("avail1") is None and await cache.get("ref") is not None


async def test_a_write_drops_that_hotels_business_answers_only() -> None:
    cache, metrics, _ = build()
    await store(cache, "sand01-res", answer("one"), hotel="SAND01")
    await store(cache, "sand02-res", answer("two"), hotel="SAND02")
    await store(cache, "sand01-rates", answer("BAR"), hotel="SAND01", kind="reference")
    dropped = await cache.invalidate_after_write("SAND01", "rsv")
    assert dropped == 1
    assert await cache.get("sand01-res") is None
    assert await cache.get("sand02-res") is not None
    assert await cache.get("sand01-rates") is not None  # reference data: TTL only
    assert sample(metrics, "opera_cache_evictions_total", cache="ohip", reason="invalidated") == 1


async def test_a_profile_write_drops_profile_reads_cached_for_every_hotel() -> None:
    cache, _, _ = build()
    await store(cache, "profile-via-sand01", answer("Smith"), hotel="SAND01", module="crm")
    await store(cache, "profile-via-sand02", answer("Smith"), hotel="SAND02", module="crm")
    await store(cache, "res-sand02", answer("res"), hotel="SAND02", module="rsv")
    await cache.invalidate_after_write("SAND01", "crm")
    assert await cache.get("profile-via-sand01") is None
    assert await cache.get("profile-via-sand02") is None
    assert await cache.get("res-sand02") is not None


async def test_a_read_that_raced_a_write_is_not_stored() -> None:
    cache, _, _ = build()
    tags = cache.tags("SAND01", "rsv", "business")
    before = cache.epoch(tags)  # the GET starts
    await cache.invalidate_after_write("SAND01", "rsv")  # a modification lands meanwhile
    stored = await cache.put("res", answer("old"), kind="business", tags=tags, epoch=before)
    assert not stored
    assert await cache.get("res") is None


async def test_disabled_or_zero_ttl_cache_is_off() -> None:
    assert not ResponseCache(Metrics(), enabled=False, ttl=300, max_entries=10).enabled
    assert not ResponseCache(Metrics(), enabled=True, ttl=0, max_entries=10).enabled


async def test_the_store_owns_the_write_epochs_so_caches_sharing_it_agree() -> None:
    shared = MemoryCacheStore(100)
    reader = ResponseCache(Metrics(), enabled=True, ttl=60, max_entries=100, store=shared)
    writer = ResponseCache(Metrics(), enabled=True, ttl=60, max_entries=100, store=shared)
    key = ResponseCache.key("SAND01", "GET", "http://x/rsv/v1/hotels/SAND01/reservations/1", [])
    tags = reader.tags("SAND01", "rsv", "business")
    assert await reader.get(key) is None  # the GET starts
    before = reader.epoch(tags)
    await writer.invalidate_after_write("SAND01", "rsv")  # the other cache's write moves the store's epoch
    assert not await reader.put(key, answer("old"), kind="business", tags=tags, epoch=before)
    assert await reader.get(key) is None
    assert await reader.put(key, answer("new"), kind="business", tags=tags, epoch=reader.epoch(tags))
    assert await writer.get(key) is not None
