"""The OHIP response cache: GET answers kept per hotel, with a TTL per kind of data, LRU bound and invalidation.

Business answers are cached only briefly, with a TTL named per kind (`BUSINESS_KINDS`: availability, rooms,
reservation lists, one reservation, profiles), because the front desk, housekeeping and other interfaces change
them all day and we only see our own writes (REAL-OPERA.md defect 6). Any write for a hotel drops every business
answer of that hotel, and CRM writes also drop every cached profile read; a business event from OPERA
(app/opera/events.py) drops the kinds it names. Reference answers (rate plans, codes, lists of values) live out
OPERA_CACHE_TTL, which also caps every business TTL. A read that a write is built from is never cached (the
domain APIs' `fresh=True`). A GET that was in flight while a write ran is not stored, so a changed record is never
served stale: the store keeps a write epoch per tag, and with a shared store (Redis) that holds across replicas.

A hit on the in-memory store costs no parsing: the answer is kept parsed beside its bytes, frozen (`FrozenDict`,
`FrozenList`: read like dicts and lists, refuse every change), so all callers can share it. With Redis, a hit is
parsed from the shared bytes (a fresh value each time).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, NoReturn, get_args

from app.opera.errors import OperaSharedStateError
from app.opera.stores import CacheStore, MemoryCacheStore
from app.telemetry.metrics import Metrics

log = logging.getLogger("app.opera.cache")

#: The kinds of business data, each with its own TTL (OPERA_CACHE_TTL_<KIND>). "business" is any other business
#: read (the shortest default).
BusinessKind = Literal["availability", "rooms", "reservations", "reservation", "profiles", "business"]
CacheClass = Literal["none", "reference", "availability", "rooms", "reservations", "reservation", "profiles",
                     "business"]
BUSINESS_KINDS: tuple[BusinessKind, ...] = get_args(BusinessKind)
#: Seconds: staleness a front-desk agent can live with. Rooms turn Dirty/Clean and guests check in all day (5 s);
#: one reservation and the lists a few seconds more; availability moves only with bookings; a profile rarely.
DEFAULT_TTLS: Mapping[str, float] = {
    "availability": 15.0, "rooms": 5.0, "reservations": 10.0, "reservation": 10.0, "profiles": 30.0, "business": 5.0,
}
#: Bodies larger than this are not worth the memory.
MAX_ENTRY_BYTES = 1_048_576
LABEL = "ohip"


def _refuse(self: object, *args: object, **kwargs: object) -> NoReturn:
    raise TypeError(f"a cached OHIP answer is shared by every caller and cannot be changed; copy it first "
                    f"({type(self).__name__})")


class FrozenDict(dict[str, Any]):
    """A dict that refuses changes: a cached answer shared by every caller (`dict(x)` or `x.copy()` to change)."""

    __slots__ = ()
    __setitem__ = __delitem__ = __ior__ = _refuse
    update = pop = popitem = clear = setdefault = _refuse

    def copy(self) -> dict[str, Any]:
        return dict(self)

    def __reduce__(self) -> tuple[Any, ...]:
        return (dict, (dict(self),))

    def __hash__(self) -> int:  # type: ignore[override]
        raise TypeError("unhashable type: 'FrozenDict'")


class FrozenList(list[Any]):
    """A list that refuses changes (see FrozenDict)."""

    __slots__ = ()
    __setitem__ = __delitem__ = __iadd__ = __imul__ = _refuse
    append = extend = insert = remove = pop = clear = sort = reverse = _refuse

    def copy(self) -> list[Any]:
        return list(self)

    def __reduce__(self) -> tuple[Any, ...]:
        return (list, (list(self),))

    def __hash__(self) -> int:  # type: ignore[override]
        raise TypeError("unhashable type: 'FrozenList'")


def freeze(value: Any) -> Any:
    """`value` (parsed JSON) with every dict and list frozen, recursively; other values are immutable already."""
    if isinstance(value, dict):
        return FrozenDict({k: freeze(v) for k, v in value.items()})
    if isinstance(value, list):
        return FrozenList([freeze(v) for v in value])
    return value


@dataclass(frozen=True)
class CachedAnswer:
    status: int
    body: dict[str, Any] | None
    headers: list[tuple[str, str]]
    request_id: str
    #: Values the domain layer built from this answer (OperaResponse.derived), kept as long as the answer is: every
    #: in-memory hit of the same entry gets the same object. Empty, and thrown away, for a Redis hit.
    memo: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


def _hotel_tag(hotel_id: str) -> str:
    return f"hotel:{hotel_id}"


def _kind_tag(hotel_id: str, kind: str) -> str:
    return f"hotel:{hotel_id}:{kind}"


_CRM_TAG = "module:crm"


class ResponseCache:
    """GET answers by hotel + method + URL with sorted query; see the module docstring for the rules."""

    def __init__(
        self,
        metrics: Metrics,
        *,
        enabled: bool,
        ttl: float,
        max_entries: int,
        store: CacheStore | None = None,
        clock: Callable[[], float] = time.monotonic,
        ttls: Mapping[str, float] | None = None,
    ) -> None:
        self._metrics = metrics
        # This cache's own series, looked up once (labels() checks and locks on every call; a hit is a hot path).
        self._hits = metrics.cache_hits.labels(LABEL)
        self._misses = metrics.cache_misses.labels(LABEL)
        self._entries = metrics.cache_entries.labels(LABEL)
        self.enabled = enabled and ttl > 0
        self.ttl = ttl
        # Each business kind lives at most its own TTL and never longer than OPERA_CACHE_TTL; 0 switches it off.
        given = {**DEFAULT_TTLS, **(ttls or {})}
        self.ttls: dict[str, float] = {kind: min(float(given[kind]), ttl) for kind in BUSINESS_KINDS}
        self._store: CacheStore = store if store is not None else MemoryCacheStore(
            max_entries, on_evict=self._count_eviction, clock=clock
        )
        # In-process store only: the frozen answer of each key, with the very bytes object it was made from, so a hit
        # (the store hands back the same object) needs no parsing. Bounded like the store; stale pairs never match.
        self._parsed: OrderedDict[str, tuple[bytes, CachedAnswer]] | None = (
            OrderedDict() if isinstance(self._store, MemoryCacheStore) else None
        )
        self._parsed_max = max_entries
        # Misses in flight, by key: a second caller of the same key awaits the first one's OHIP call (per process,
        # whatever the store). A write or event detaches them all, so a caller that starts after a write never gets
        # an answer fetched before it.
        self._flights: dict[str, asyncio.Future[Any]] = {}
        # The store's write epochs as last read here. A miss reads them afresh for the hotel's tags, before the GET
        # goes to OHIP, so `epoch()` can stay synchronous; an epoch read too early only makes a put be skipped.
        self._epochs: dict[str, int] = {}

    def _count_eviction(self, reason: str, count: int) -> None:
        self._metrics.cache_evictions.labels(LABEL, reason).inc(count)
        self._entries.set(len(self._store))

    @staticmethod
    def key(hotel_id: str, method: str, url: str, query: Sequence[tuple[str, str]]) -> str:
        ordered = "&".join(f"{k}={v}" for k, v in sorted(query))
        return f"{hotel_id}|{method}|{url}?{ordered}"

    @staticmethod
    def tags(hotel_id: str, module: str, kind: CacheClass) -> tuple[str, ...]:
        if kind in ("none", "reference"):
            return ()
        own = (_hotel_tag(hotel_id), _kind_tag(hotel_id, kind))
        return (*own, _CRM_TAG) if module == "crm" else own

    @staticmethod
    def _all_tags(hotel_id: str) -> tuple[str, ...]:
        """Every tag a business GET of this hotel can carry."""
        return (_hotel_tag(hotel_id), _CRM_TAG, *(_kind_tag(hotel_id, kind) for kind in BUSINESS_KINDS))

    def epoch(self, tags: Sequence[str]) -> tuple[int, ...]:
        """The write epochs of `tags` as of the last miss for their hotel; `put` stores only if they still hold."""
        return tuple(self._epochs.get(tag, 0) for tag in tags)

    async def _read_epochs(self, tags: Sequence[str]) -> None:
        try:
            self._epochs.update(zip(tags, await self._store.epoch(tags), strict=True))
        except OperaSharedStateError:
            for tag in tags:
                self._epochs.pop(tag, None)  # unknown: the next put for these tags is skipped

    async def get(self, key: str) -> CachedAnswer | None:
        raw = await self._store.get(key)
        if raw is None:
            self._misses.inc()
            self._entries.set(len(self._store))
            # Every tag a business GET of this hotel can carry (the key starts with the hotel, see key()).
            await self._read_epochs(self._all_tags(key.split("|", 1)[0]))
            return None
        self._hits.inc()
        if self._parsed is not None:
            kept = self._parsed.get(key)
            if kept is not None and kept[0] is raw:
                self._parsed.move_to_end(key)
                return kept[1]
        stored = json.loads(raw)
        answer = CachedAnswer(
            status=int(stored["status"]),
            body=stored["body"],
            headers=[(str(k), str(v)) for k, v in stored["headers"]],
            request_id=str(stored["request_id"]),
        )
        if self._parsed is None:
            return answer  # parsed afresh from the shared store on every hit: nobody else holds this value
        frozen = CachedAnswer(answer.status, freeze(answer.body), answer.headers, answer.request_id)
        self._parsed[key] = (raw, frozen)
        while len(self._parsed) > self._parsed_max:
            self._parsed.popitem(last=False)
        return frozen

    async def put(
        self, key: str, answer: CachedAnswer, *, kind: CacheClass, tags: Sequence[str], epoch: tuple[int, ...]
    ) -> bool:
        """Store `answer` unless a write touched its tags since `epoch` was taken; True when stored."""
        if kind == "none":
            return False
        ttl = self.ttl if kind == "reference" else self.ttls[kind]
        if ttl <= 0:
            return False
        raw = json.dumps(
            {"status": answer.status, "body": answer.body, "headers": answer.headers,
             "request_id": answer.request_id},
            separators=(",", ":"),
        ).encode()
        if len(raw) > MAX_ENTRY_BYTES:
            return False
        stored = await self._store.put(key, raw, ttl=ttl, tags=tags, epoch=epoch)
        if stored and self._parsed is not None:
            self._parsed[key] = (raw, CachedAnswer(answer.status, freeze(answer.body), list(answer.headers),
                                                   answer.request_id))
            self._parsed.move_to_end(key)
            while len(self._parsed) > self._parsed_max:
                self._parsed.popitem(last=False)
        self._entries.set(len(self._store))
        return stored

    async def invalidate_after_write(self, hotel_id: str, module: str) -> int:
        """Drop what a write for `hotel_id` in `module` may have changed; returns how many entries went.

        When the shared store cannot be reached the write has still happened: this logs and counts, never raises
        (the store clears itself when it is reachable again; until then other replicas may serve an answer for at
        most its TTL)."""
        # The hotel tag every business GET of the hotel carries, and for crm every profile read (see tags()).
        tags = (_hotel_tag(hotel_id), _CRM_TAG) if module == "crm" else (_hotel_tag(hotel_id),)
        return await self._drop(tags)

    async def invalidate_kinds(self, hotel_id: str, kinds: Iterable[str], *, every_profile: bool = False) -> int:
        """Drop the answers of these kinds for `hotel_id` (a business event said they changed); `every_profile`
        also drops profile reads of every hotel (CRM profiles are enterprise-wide). Never raises, like a write's."""
        tags = [_kind_tag(hotel_id, kind) for kind in dict.fromkeys(kinds) if kind in BUSINESS_KINDS]
        if every_profile:
            tags.append(_CRM_TAG)
        return await self._drop(tags)

    async def invalidate_hotel(self, hotel_id: str) -> int:
        """Drop every business answer of `hotel_id` (a business event we cannot map to kinds, a night audit)."""
        return await self._drop((_hotel_tag(hotel_id),))

    def flight(self, key: str) -> asyncio.Future[Any] | None:
        """The miss of `key` already in flight, to await instead of calling OHIP again; None: none."""
        return self._flights.get(key)

    def take_off(self, key: str) -> asyncio.Future[Any]:
        """Register this caller's miss of `key` as the one the next callers wait for; `land` it when done."""
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        # An answer nobody else waited for must not be reported as "never retrieved".
        future.add_done_callback(lambda f: f.cancelled() or f.exception())
        self._flights[key] = future
        return future

    def land(self, key: str, future: asyncio.Future[Any]) -> None:
        if self._flights.get(key) is future:
            del self._flights[key]

    async def _drop(self, tags: Sequence[str]) -> int:
        self._flights.clear()
        dropped = 0
        for tag in tags:
            self._epochs.pop(tag, None)
            try:
                dropped += await self._store.drop_tagged(tag)
            except OperaSharedStateError:
                self._metrics.cache_store_failures.labels(LABEL, "drop").inc()
                log.warning("cache invalidation for %s failed: the shared state store is unreachable; other "
                            "replicas may serve cached answers until it answers again", tag)
        await self._read_epochs(tags)
        self._entries.set(len(self._store))
        return dropped

    async def clear(self) -> None:
        if self._parsed is not None:
            self._parsed.clear()
        await self._store.clear()
        self._entries.set(0)

    def status(self) -> dict[str, Any]:
        return {
            "status": "ok",
            "last_error": None,
            "enabled": self.enabled,
            "entries": len(self._store),
            "ttl_s": self.ttl,
            "ttls_s": dict(self.ttls),
        }
