"""The outbound policies of the OHIP client: a FIFO rate limiter, a circuit breaker and the retry rules.

They are pure and clock-injectable so unit tests can drive them; OperaHTTP composes them around each call.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Literal

import httpx2

from app.opera.errors import OperaLimiterTimeoutError, OperaUnavailableError
from app.telemetry.metrics import Metrics

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


# --- rate limiter -----------------------------------------------------------------------------------------------
class RateLimiter:
    """A token bucket that queues callers in arrival order and refuses a caller whose wait would exceed the bound.

    Each caller takes its slot synchronously (the bucket may go negative: that is the queue), then sleeps until
    the slot is due, so callers leave in the order they came. A caller that would wait longer than `max_wait` is
    refused at once with OperaLimiterTimeoutError instead of sleeping first and failing later.
    """

    def __init__(
        self,
        rate: float,
        burst: int,
        max_wait: float,
        *,
        metrics: Metrics | None = None,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be > 0 and burst >= 1")
        self.rate = rate
        self.burst = burst
        self.max_wait = max_wait
        self._metrics = metrics
        self._clock = clock
        self._sleep = sleep
        self._tokens = float(burst)
        self._stamp = clock()
        self._waiting = 0
        self._rejections = 0

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(float(self.burst), self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now

    async def acquire(self) -> float:
        self._refill()
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            if self._metrics is not None:
                self._metrics.limiter_wait_seconds.observe(0.0)
            return 0.0
        wait = (1.0 - self._tokens) / self.rate
        if wait > self.max_wait:
            self._rejections += 1
            if self._metrics is not None:
                self._metrics.limiter_rejections.inc()
            raise OperaLimiterTimeoutError(
                f"the outbound OHIP rate limiter is saturated: the next free slot is {wait:.1f} s away, over the "
                f"{self.max_wait:g} s bound (OPERA_LIMITER_MAX_WAIT; {self.rate:g} requests/s, burst "
                f"{self.burst}); nothing was sent to OHIP"
            )
        self._tokens -= 1.0
        self._waiting += 1
        if self._metrics is not None:
            self._metrics.limiter_waits.inc()
        try:
            await self._sleep(wait)
        except asyncio.CancelledError:
            self._tokens += 1.0  # give the slot back to whoever comes next
            raise
        finally:
            self._waiting -= 1
        if self._metrics is not None:
            self._metrics.limiter_wait_seconds.observe(wait)
        return wait

    def status(self) -> dict[str, float | int | str | None]:
        self._refill()
        return {
            "status": "degraded" if self._waiting else "ok",
            "last_error": None,
            "available_slots": round(max(self._tokens, 0.0), 2),
            "queued": self._waiting,
            "rejections": self._rejections,
            "requests_per_second": self.rate,
            "burst": self.burst,
        }


# --- circuit breaker --------------------------------------------------------------------------------------------
BreakerState = Literal["closed", "half_open", "open"]
_GAUGE = {"closed": 0, "half_open": 1, "open": 2}


class CircuitBreaker:
    """Stops calling OHIP after `threshold` consecutive failures, for `cooldown` seconds, then lets one probe through.

    Only outages count (5xx after retries, connection failures, timeouts); a 4xx business refusal proves OHIP
    answers, so it counts as a success.
    """

    def __init__(
        self, threshold: int, cooldown: float, *, metrics: Metrics | None = None, clock: Clock = time.monotonic
    ) -> None:
        self.threshold = threshold
        self.cooldown = cooldown
        self._metrics = metrics
        self._clock = clock
        self._state: BreakerState = "closed"
        self._failures = 0
        self._opened_at = 0.0
        self._probe_in_flight = False
        self.last_failure: str | None = None

    @property
    def state(self) -> BreakerState:
        return self._state

    @property
    def failing_fast(self) -> bool:
        """Open and still cooling down: calls are refused without reaching OHIP."""
        return self._state == "open" and self._clock() < self._opened_at + self.cooldown

    def _set(self, state: BreakerState) -> None:
        self._state = state
        if self._metrics is not None:
            self._metrics.breaker_state.set(_GAUGE[state])

    def _reject(self, retry_after: float, why: str) -> OperaUnavailableError:
        if self._metrics is not None:
            self._metrics.breaker_rejections.inc()
        last = f" (last failure: {self.last_failure})" if self.last_failure else ""
        return OperaUnavailableError(
            f"OHIP is failing, so calls are paused: {why}{last}; nothing was sent to OHIP, retry in "
            f"{retry_after:.0f} s",
            retry_after=retry_after,
        )

    def admit(self) -> None:
        """Let a call through or raise OperaUnavailableError. A half-open probe must end in one record_*()."""
        if self._state == "closed":
            return
        now = self._clock()
        if self._state == "open":
            remaining = self._opened_at + self.cooldown - now
            if remaining > 0:
                raise self._reject(
                    max(remaining, 1.0), f"the circuit breaker opened after {self.threshold} consecutive failures"
                )
            self._set("half_open")
        if self._probe_in_flight:
            raise self._reject(1.0, "the circuit breaker is testing OHIP with one probe call")
        self._probe_in_flight = True

    def record_success(self) -> None:
        self._failures = 0
        self._probe_in_flight = False
        if self._state != "closed":
            self._set("closed")

    def record_failure(self, reason: str) -> None:
        self.last_failure = reason
        self._probe_in_flight = False
        if self._state == "half_open":
            self._opened_at = self._clock()
            self._set("open")
            return
        if self._state == "closed":
            self._failures += 1
            if self._failures >= self.threshold:
                self._opened_at = self._clock()
                self._set("open")

    def record_neutral(self) -> None:
        """The call proved nothing about OHIP (refused locally, cancelled): free the probe slot."""
        self._probe_in_flight = False

    def status(self) -> dict[str, float | int | str | None]:
        retry_in = 0.0
        if self._state == "open":
            retry_in = max(0.0, self._opened_at + self.cooldown - self._clock())
        # "down" only while failing fast: once the cool-down is over the next call is the probe.
        shown = "down" if self.failing_fast else ("ok" if self._state == "closed" else "degraded")
        return {
            "status": shown,
            "state": self._state,
            "consecutive_failures": self._failures,
            "retry_in_s": round(retry_in, 1),
            "last_error": self.last_failure,
        }


# --- retries ----------------------------------------------------------------------------------------------------
#: How a transport failure relates to OHIP: "connect" never reached it; "timeout" and "dropped" may have.
TransportFailure = Literal["connect", "timeout", "dropped", "other"]

RETRY_AFTER_CAP = 60.0
#: OHIP's throttle window (docs c_api_throttling_*, c_limits.htm): requests are counted per second.
THROTTLE_WINDOW = 1.0


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date), capped at 60 s."""
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if seconds != seconds:  # NaN
        return None
    return min(max(seconds, 0.0), RETRY_AFTER_CAP)


def classify_transport_error(exc: httpx2.HTTPError) -> TransportFailure:
    if isinstance(exc, (httpx2.ConnectError, httpx2.ConnectTimeout, httpx2.PoolTimeout)):
        return "connect"
    if isinstance(exc, (httpx2.ReadTimeout, httpx2.WriteTimeout)):
        return "timeout"
    # A body we could not decode is an answer lost as surely as a dropped connection.
    if isinstance(exc, (httpx2.RemoteProtocolError, httpx2.ReadError, httpx2.WriteError, httpx2.CloseError,
                        httpx2.DecodingError)):
        return "dropped"
    return "other"


IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})


def repeatable(method: str, idempotent: bool | None = None) -> bool:
    """Whether sending the request twice does no more than once: the caller's word when it gives one, else the
    method's."""
    return method.upper() in IDEMPOTENT_METHODS if idempotent is None else idempotent


@dataclass
class RetryPolicy:
    """Which failures are retried and how long to wait: exponential backoff with full jitter, Retry-After honoured.

    A 429 says the request was not processed (OHIP's throttle refuses before it forwards), so any method is retried,
    after at least OHIP's one-second throttle window. 502, 503 and 504 may come from a gateway that did forward the
    request (a proxy answers 503 when the upstream resets before its answer, and OHIP states nothing stronger than
    RFC 9110's "unable to handle"), and a transport failure after sending may or may not have reached OHIP: those
    are retried only for idempotent methods, so a booking or a charge is never made twice.
    """

    max_retries: int
    base: float = 0.2
    cap: float = 10.0
    #: The least wait after a 429: OHIP's throttle counts per second and documents no Retry-After, so a retry
    #: sooner than a second lands in the same window and is refused again.
    throttle_floor: float = THROTTLE_WINDOW
    rng: Callable[[], float] = field(default=random.random)

    def backoff(self, attempt: int, retry_after: str | None = None, *, status: int | None = None) -> float:
        """Seconds before retry number `attempt + 1` (attempt counts from 0); after a 429 (`status`) the full
        jitter lies above `throttle_floor`. A Retry-After header, when present, is a floor too."""
        ceiling = min(self.cap, self.base * 2.0 ** min(attempt, 32))
        delay: float = self.rng() * ceiling
        if status == 429:
            delay += self.throttle_floor
        floor = parse_retry_after(retry_after)
        if floor is not None:
            delay = max(delay, floor)
        return delay

    @staticmethod
    def status_retryable(status: int, method: str, *, idempotent: bool | None = None) -> bool:
        """`idempotent` overrides what the method says: a PUT that adds id-less child records (a comment, an
        e-mail) adds them again each time it is received, so it is not idempotent."""
        if status == 429:
            return True
        return status in (502, 503, 504) and repeatable(method, idempotent)

    @staticmethod
    def status_may_have_run(status: int) -> bool:
        """An answer that does not say the operation did not happen: a gateway failure that may follow forwarding
        (502, 503, 504), or a 500, OPERA's own "unexpected condition", which may come after the change was stored
        (an interface, a response or a later step failed). A 500 is not retried even for a read: it is usually
        the same for the same request."""
        return status in (500, 502, 503, 504)

    @staticmethod
    def transport_retryable(failure: TransportFailure, method: str, *, idempotent: bool | None = None) -> bool:
        if failure == "connect":
            return True
        return failure in ("timeout", "dropped") and repeatable(method, idempotent)
