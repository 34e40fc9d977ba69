"""Per-caller inbound rate limit: a token bucket per caller, answered with 429 and Retry-After when empty.

OPERA_INBOUND_REQUESTS_PER_MINUTE requests per minute, with a burst of up to that many. With Redis the bucket of a
caller is one for the whole fleet (SharedInboundRateLimiter), so a caller cannot multiply the limit by the number of
replicas behind the load balancer.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Protocol

from app.opera.errors import OperaSharedStateError

log = logging.getLogger(__name__)


@dataclass
class _Bucket:
    tokens: float
    updated: float


class InboundRateLimiter:
    """The buckets of this process."""

    def __init__(self, per_minute: float, max_callers: int = 50_000) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self.max_callers = max_callers
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def take(self, caller: str, now: float | None = None) -> float | None:
        """Take one request for `caller` from this process's bucket. None if allowed, else the seconds to wait."""
        now = time.monotonic() if now is None else now
        bucket = self._buckets.get(caller)
        if bucket is None:
            bucket = _Bucket(tokens=self.capacity, updated=now)
            self._buckets[caller] = bucket
            if len(self._buckets) > self.max_callers:
                self._buckets.popitem(last=False)
        else:
            bucket.tokens = min(self.capacity, bucket.tokens + (now - bucket.updated) * self.rate)
            bucket.updated = now
            self._buckets.move_to_end(caller)
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return None
        return (1.0 - bucket.tokens) / self.rate

    async def acquire(self, caller: str) -> float | None:
        """Take one request for `caller`. None if allowed, else the seconds to wait before the next one."""
        return self.take(caller)

    @staticmethod
    def retry_after_header(wait_s: float) -> str:
        return str(max(1, math.ceil(wait_s)))


class SharedSlots(Protocol):
    """What the fleet-wide limiter needs of the shared store (app.opera.stores.SharedRedis provides it)."""

    @property
    def usable(self) -> bool: ...

    def fleet_size(self) -> int: ...
    def key(self, *parts: str) -> str: ...

    async def reserve(self, key: str, *, rate: float, burst: float, max_wait: float) -> tuple[bool, float, float]:
        ...


class SharedInboundRateLimiter(InboundRateLimiter):
    """One bucket per caller for the whole fleet, in Redis (the same GCRA script as the outbound OHIP budget, with
    no queueing: a request over the limit is refused with its wait and takes nothing).

    While Redis fails, each replica enforces its share (per-minute / replicas last seen, at least 1) locally, so the
    fleet as a whole stays near the limit; the shared buckets are used again as soon as Redis answers.
    """

    def __init__(self, per_minute: float, shared: SharedSlots, max_callers: int = 50_000) -> None:
        super().__init__(per_minute, max_callers)
        self._shared = shared
        self._fallback: InboundRateLimiter | None = None

    def _key(self, caller: str) -> str:
        # Hashed: a caller's identity (an API key's name, an address) does not belong in Redis key names.
        return self._shared.key("inbound", hashlib.sha256(caller.encode()).hexdigest()[:32])

    def _local(self) -> InboundRateLimiter:
        if self._fallback is None:
            fleet = self._shared.fleet_size()
            self._fallback = InboundRateLimiter(max(self.capacity / fleet, 1.0), self.max_callers)
            log.warning("the fleet-wide inbound rate limit is unreachable; this replica enforces its share "
                        "(%.0f requests/minute per caller of %d replicas) until Redis answers again",
                        self._fallback.capacity, fleet)
        return self._fallback

    async def acquire(self, caller: str) -> float | None:
        if self._shared.usable:
            try:
                admitted, wait, _ = await self._shared.reserve(
                    self._key(caller), rate=self.rate, burst=self.capacity, max_wait=0.0)
            except OperaSharedStateError:
                pass
            else:
                if self._fallback is not None:
                    self._fallback = None
                    log.warning("the fleet-wide inbound rate limit answers again")
                return None if admitted else max(wait, 1e-3)
        return self._local().take(caller)


class AuthFailureThrottle:
    """Failed authentication, throttled per source address and per presented-key prefix.

    Each failure takes one token from the bucket of its source (and of its key prefix); OPERA_AUTH_FAILURES_PER_MINUTE
    tokens, refilled at that rate. While a bucket is empty, requests from that source (or with that prefix) are
    answered 429 with Retry-After before any credential work, so a guesser gets about one verdict per refill
    interval instead of hundreds a second. Process-local on purpose: a guesser spread over replicas still meets
    the limit on each, and a shared store outage must not open or close the door for everyone.
    """

    def __init__(self, per_minute: float, max_keys: int = 50_000) -> None:
        self._buckets = InboundRateLimiter(per_minute, max_callers=max_keys)

    def _peek(self, key: str, now: float) -> float | None:
        bucket = self._buckets._buckets.get(key)
        if bucket is None:
            return None
        tokens = min(self._buckets.capacity, bucket.tokens + (now - bucket.updated) * self._buckets.rate)
        return None if tokens >= 1.0 else (1.0 - tokens) / self._buckets.rate

    def blocked(self, keys: list[str], now: float | None = None) -> float | None:
        """The seconds to wait if any of `keys` has used up its failures, else None. Takes nothing."""
        now = time.monotonic() if now is None else now
        waits = [w for key in keys if (w := self._peek(key, now)) is not None]
        return max(waits) if waits else None

    def failed(self, keys: list[str], now: float | None = None) -> None:
        """Count one failed authentication against each of `keys`."""
        now = time.monotonic() if now is None else now
        for key in keys:
            self._buckets.take(key, now)

    @staticmethod
    def retry_after_header(wait_s: float) -> str:
        return InboundRateLimiter.retry_after_header(wait_s)
