"""Business events: poll `int getBusinessEvents` and drop the cached answers OPERA says have changed.

The front desk, housekeeping and other interfaces change OPERA all day; the cache only sees our own writes
(REAL-OPERA.md defect 6). With OPERA_BUSINESS_EVENTS=true the server dequeues, every
OPERA_BUSINESS_EVENTS_INTERVAL seconds and for each hotel of OPERA_BUSINESS_EVENTS_HOTELS, the events OPERA queued
for our external system (OPERA_EXTERNAL_SYSTEM_CODE), at most 20 a call (int.json), until the queue is empty,
and drops the kinds of cached answer each event's module touches. Our own writes carry `x-externalsystem`, so
OPERA does not queue them back to us (and they invalidate the cache themselves).

A dequeued event is gone for every other reader of that queue. With a shared (Redis) cache that is what we want:
any replica's poll drops the entry for all of them. With in-process caches and several replicas, each replica
dequeues a different share of the events, so the others keep their answers until the kind's TTL: run several
replicas with OPERA_REDIS_URL when business events matter, or keep the TTLs short.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from app.opera.cache import BUSINESS_KINDS, ResponseCache
from app.opera.errors import OperaError
from app.opera.http import OperaHTTP, Operation

log = logging.getLogger("app.opera.events")

GET_BUSINESS_EVENTS = Operation(
    "int", "getBusinessEvents", "GET", "/externalSystem/{extSystemCode}/hotels/{hotelId}/businessEvents"
)
#: int.json: `limit` default 20, maximum 20.
MAX_PER_CALL = 20
#: One poll drains at most this many calls per hotel, so a flood cannot hold the poller (the rest waits a round).
MAX_CALLS_PER_POLL = 10

#: businessEventModuleType -> the kinds of cached answer its events can change. A module not listed (Block,
#: Configuration, NightAudit...) drops every business answer of the hotel.
KINDS_BY_MODULE: Mapping[str, tuple[str, ...]] = {
    "Reservation": ("reservations", "reservation", "availability", "rooms"),
    "Housekeeping": ("rooms", "availability"),
    "Cashiering": ("reservations", "reservation"),
    "Profile": ("profiles", "reservations", "reservation"),
    "Availability": ("availability",),
    "Rate": ("availability",),
    "Activity": (),
    "Catering": (),
    "CateringNotes": (),
}


@dataclass(frozen=True)
class BusinessEvent:
    event_id: str
    module: str
    action_type: str
    primary_key: str
    hotel_id: str


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def events_from(body: Mapping[str, Any] | None, hotel_id: str) -> list[BusinessEvent]:
    """The events of a getBusinessEvents answer (tolerant of missing parts; an event without a header is skipped)."""
    events = []
    for item in (body or {}).get("businessEventData") or []:
        if not isinstance(item, dict):
            continue
        event = _object(item.get("businessEvent"))
        header = _object(event.get("header"))
        if not header:
            continue
        ident = _object(item.get("businessEventId"))
        events.append(BusinessEvent(
            event_id=str(ident.get("id") or header.get("actionId") or ""),
            module=str(header.get("moduleName") or ""),
            action_type=str(header.get("actionType") or ""),
            primary_key=str(header.get("primaryKey") or ""),
            hotel_id=str(header.get("hotelId") or hotel_id),
        ))
    return events


async def invalidate_for(cache: ResponseCache, events: Sequence[BusinessEvent]) -> int:
    """Drop what these events say changed: per hotel, the union of their kinds (one drop per tag)."""
    kinds_by_hotel: dict[str, set[str]] = {}
    whole_hotel: set[str] = set()
    profiles_changed = False
    for event in events:
        kinds = KINDS_BY_MODULE.get(event.module)
        if kinds is None:
            whole_hotel.add(event.hotel_id)
            continue
        kinds_by_hotel.setdefault(event.hotel_id, set()).update(kinds)
        profiles_changed = profiles_changed or event.module == "Profile"
    dropped = 0
    for hotel_id in whole_hotel:
        dropped += await cache.invalidate_hotel(hotel_id)
    for hotel_id, wanted in kinds_by_hotel.items():
        if hotel_id in whole_hotel:
            continue
        ordered = [kind for kind in BUSINESS_KINDS if kind in wanted]
        if ordered or profiles_changed:
            # CRM profiles are enterprise-wide: a profile event drops profile reads of every hotel.
            dropped += await cache.invalidate_kinds(hotel_id, ordered, every_profile=profiles_changed)
    return dropped


class BusinessEventPoller:
    """Dequeues business events for `hotels` every `interval` seconds and invalidates the cache by them."""

    def __init__(self, http: OperaHTTP, *, external_system: str, hotels: Sequence[str], interval: float) -> None:
        self.http = http
        self.external_system = external_system
        self.hotels = list(dict.fromkeys(hotels))
        self.interval = interval
        self.events_seen = 0
        self.entries_dropped = 0
        self.polls = 0
        self.last_error: str | None = None
        self._task: asyncio.Task[None] | None = None

    async def poll_hotel(self, hotel_id: str) -> list[BusinessEvent]:
        """Dequeue this hotel's events until the queue is empty (or MAX_CALLS_PER_POLL), invalidating as they come."""
        seen: list[BusinessEvent] = []
        for _ in range(MAX_CALLS_PER_POLL):
            response = await self.http.call(
                GET_BUSINESS_EVENTS, hotel_id=hotel_id, path_params={"extSystemCode": self.external_system},
                params={"limit": MAX_PER_CALL},
            )
            batch = events_from(response.body, hotel_id) if response.status != 204 else []
            if batch:
                self.entries_dropped += await invalidate_for(self.http.cache, batch)
                seen.extend(batch)
            raw = (response.body or {}).get("businessEventData") or []
            if len(raw) < MAX_PER_CALL:
                break
        self.events_seen += len(seen)
        return seen

    async def poll_once(self) -> list[BusinessEvent]:
        seen: list[BusinessEvent] = []
        for hotel_id in self.hotels:
            try:
                seen.extend(await self.poll_hotel(hotel_id))
                self.last_error = None
            except OperaError as exc:
                # The queue keeps what we did not dequeue; the kinds' TTLs still bound staleness meanwhile.
                self.last_error = exc.describe()
                log.warning("business events of hotel %s could not be read: %s", hotel_id, self.last_error)
        self.polls += 1
        return seen

    async def _run(self) -> None:
        while True:
            # Sleep first: in sandbox mode the OHIP emulator is this very server, up only once start-up is over.
            await asyncio.sleep(self.interval)
            await self.poll_once()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="business-events")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    def status(self) -> dict[str, Any]:
        return {
            "status": "degraded" if self.last_error else "ok",
            "last_error": self.last_error,
            "external_system": self.external_system,
            "hotels": self.hotels,
            "interval_s": self.interval,
            "polls": self.polls,
            "events": self.events_seen,
            "entries_dropped": self.entries_dropped,
        }
