"""The outbound policies on their own: limiter order and bound, breaker transitions, backoff, the 429 floor and
Retry-After."""

from __future__ import annotations

import asyncio
import itertools
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx2
import pytest

from app.opera.errors import OperaLimiterTimeoutError, OperaUnavailableError
from app.opera.resilience import (
    CircuitBreaker,
    RateLimiter,
    RetryPolicy,
    classify_transport_error,
    parse_retry_after,
)
from app.telemetry.metrics import Metrics


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def sample(metrics: Metrics, name: str, labels: dict[str, str] | None = None) -> float:
    value = metrics.registry.get_sample_value(name, labels or {})
    return value or 0.0


# --- limiter ----------------------------------------------------------------------------------------------------
async def test_limiter_serves_queued_callers_in_arrival_order() -> None:
    limiter = RateLimiter(rate=50.0, burst=1, max_wait=5.0)
    finished: list[tuple[int, float, float]] = []  # caller, its wait, when it left

    async def caller(n: int) -> None:
        waited = await limiter.acquire()
        finished.append((n, waited, time.monotonic()))

    tasks = []
    for n in range(8):
        tasks.append(asyncio.create_task(caller(n)))
        await asyncio.sleep(0)  # each caller arrives after the previous one
    await asyncio.gather(*tasks)
    assert [n for n, _, _ in finished] == list(range(8))
    # They really queued: each caller past the burst waits one slot (20 ms at 50/s) longer than the one before,
    # and leaves that much later; a limiter that let everyone through at once would fail here.
    waits = [w for _, w, _ in finished]
    assert waits[0] == 0.0 and all(b - a == pytest.approx(0.02, abs=0.005) for a, b in itertools.pairwise(waits))
    left = [t for _, _, t in finished]
    assert left[-1] - left[0] >= 7 * 0.02 * 0.9


async def test_limiter_spaces_callers_beyond_the_burst() -> None:
    clock = FakeClock()
    waits: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        waits.append(seconds)

    limiter = RateLimiter(rate=10.0, burst=3, max_wait=5.0, clock=clock, sleep=fake_sleep)
    got = [await limiter.acquire() for _ in range(6)]
    assert got[:3] == [0.0, 0.0, 0.0]
    # Each caller past the burst queues one slot (0.1 s at 10/s) behind the previous one.
    assert got[3:] == pytest.approx([0.1, 0.2, 0.3])


async def test_limiter_refuses_at_once_when_the_wait_would_exceed_the_bound() -> None:
    metrics = Metrics()
    limiter = RateLimiter(rate=1.0, burst=1, max_wait=0.5, metrics=metrics)
    assert await limiter.acquire() == 0.0
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(OperaLimiterTimeoutError) as info:
        await limiter.acquire()
    assert loop.time() - started < 0.4  # refused up front, not after sleeping
    assert "0.5 s bound" in info.value.message and "nothing was sent" in info.value.message
    assert sample(metrics, "opera_ohip_limiter_rejections_total") == 1


async def test_limiter_counts_waits_and_gives_back_a_cancelled_slot() -> None:
    metrics = Metrics()
    clock = FakeClock()
    gate = asyncio.Event()

    async def blocked_sleep(seconds: float) -> None:
        await gate.wait()

    limiter = RateLimiter(rate=1.0, burst=1, max_wait=1.5, metrics=metrics, clock=clock, sleep=blocked_sleep)
    await limiter.acquire()
    waiter = asyncio.create_task(limiter.acquire())
    await asyncio.sleep(0)
    assert limiter.status()["queued"] == 1
    # The queue is full (a second waiter would need 2 s > 1.5 s) ...
    with pytest.raises(OperaLimiterTimeoutError):
        await limiter.acquire()
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    # ... and the cancelled waiter's slot is free again for the next caller.
    gate.set()
    assert await limiter.acquire() == pytest.approx(1.0)
    assert sample(metrics, "opera_ohip_limiter_waits_total") == 2


# --- breaker ----------------------------------------------------------------------------------------------------
def test_breaker_opens_after_consecutive_failures_and_fails_fast() -> None:
    metrics = Metrics()
    clock = FakeClock()
    breaker = CircuitBreaker(threshold=3, cooldown=30.0, metrics=metrics, clock=clock)
    for _ in range(2):
        breaker.admit()
        breaker.record_failure("HTTP 503 from rsv.getReservation")
    assert breaker.state == "closed"
    breaker.admit()
    breaker.record_failure("HTTP 503 from rsv.getReservation")
    assert breaker.state == "open"
    assert sample(metrics, "opera_ohip_circuit_breaker_state") == 2

    clock.now += 10
    with pytest.raises(OperaUnavailableError) as info:
        breaker.admit()
    assert info.value.retry_after == pytest.approx(20.0)
    assert "HTTP 503 from rsv.getReservation" in info.value.message
    assert sample(metrics, "opera_ohip_circuit_breaker_rejections_total") == 1
    assert breaker.status()["status"] == "down"


def test_breaker_success_resets_the_failure_count() -> None:
    breaker = CircuitBreaker(threshold=2, cooldown=30.0, clock=FakeClock())
    for _ in range(5):
        breaker.record_failure("timeout")
        breaker.record_success()
    assert breaker.state == "closed"


def test_breaker_half_open_lets_one_probe_through_and_closes_on_success() -> None:
    metrics = Metrics()
    clock = FakeClock()
    breaker = CircuitBreaker(threshold=1, cooldown=5.0, metrics=metrics, clock=clock)
    breaker.record_failure("connect")
    clock.now += 5.0
    assert breaker.status()["status"] == "degraded"  # cooled down: the next call is the probe
    breaker.admit()  # the probe
    assert breaker.state == "half_open"
    assert sample(metrics, "opera_ohip_circuit_breaker_state") == 1
    with pytest.raises(OperaUnavailableError):
        breaker.admit()  # a second caller while the probe is out
    breaker.record_success()
    assert breaker.state == "closed"
    breaker.admit()
    assert sample(metrics, "opera_ohip_circuit_breaker_state") == 0


def test_breaker_failed_probe_reopens_for_a_full_cooldown() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(threshold=1, cooldown=5.0, clock=clock)
    breaker.record_failure("connect")
    clock.now += 6.0
    breaker.admit()
    breaker.record_failure("HTTP 502")
    assert breaker.state == "open"
    clock.now += 4.0
    with pytest.raises(OperaUnavailableError):
        breaker.admit()


def test_breaker_neutral_outcome_frees_the_probe() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(threshold=1, cooldown=1.0, clock=clock)
    breaker.record_failure("connect")
    clock.now += 2.0
    breaker.admit()
    breaker.record_neutral()  # e.g. the probe was refused by the local limiter
    breaker.admit()  # another probe may go
    assert breaker.state == "half_open"


# --- retry policy -----------------------------------------------------------------------------------------------
def test_backoff_is_full_jitter_under_an_exponential_ceiling() -> None:
    top = RetryPolicy(max_retries=5, rng=lambda: 1.0)
    assert [top.backoff(n) for n in range(8)] == pytest.approx([0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 10.0, 10.0])
    assert RetryPolicy(max_retries=5, rng=lambda: 0.0).backoff(4) == 0.0
    mid = RetryPolicy(max_retries=5, rng=lambda: 0.5)
    assert mid.backoff(2) == pytest.approx(0.4)


def test_backoff_waits_at_least_retry_after() -> None:
    policy = RetryPolicy(max_retries=3, rng=lambda: 0.0)
    assert policy.backoff(0, "1") == pytest.approx(1.0)
    assert policy.backoff(0, "2.5") == pytest.approx(2.5)
    assert policy.backoff(0, "3600") == pytest.approx(60.0)  # capped
    assert policy.backoff(0, "soon") == 0.0  # unparseable: plain backoff
    assert RetryPolicy(max_retries=3, rng=lambda: 1.0).backoff(0, "0") == pytest.approx(0.2)


def test_a_429_waits_at_least_ohips_one_second_throttle_window_with_full_jitter_above_it() -> None:
    low, high = RetryPolicy(max_retries=3, rng=lambda: 0.0), RetryPolicy(max_retries=3, rng=lambda: 1.0)
    assert [low.backoff(n, status=429) for n in range(3)] == pytest.approx([1.0, 1.0, 1.0])
    assert [high.backoff(n, status=429) for n in range(3)] == pytest.approx([1.2, 1.4, 1.8])
    assert low.backoff(0, "3", status=429) == pytest.approx(3.0)  # a longer Retry-After still wins
    assert low.backoff(0, status=503) == 0.0  # the floor is OHIP's throttle window, for 429 only


def test_retry_after_accepts_an_http_date() -> None:
    now = datetime(2026, 5, 1, 12, 0, 0, tzinfo=UTC)
    header = format_datetime(now + timedelta(seconds=7), usegmt=True)
    assert parse_retry_after(header, now=now) == pytest.approx(7.0)
    assert parse_retry_after(format_datetime(now - timedelta(seconds=7), usegmt=True), now=now) == 0.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("-5") == 0.0


def test_statuses_retried_depend_on_whether_the_request_may_have_run() -> None:
    for method in ("GET", "PUT", "DELETE", "POST"):
        assert RetryPolicy.status_retryable(429, method)
        assert not RetryPolicy.status_retryable(500, method)
        assert not RetryPolicy.status_retryable(404, method)
    for status in (502, 503, 504):
        assert RetryPolicy.status_retryable(status, "GET") and RetryPolicy.status_retryable(status, "PUT")
        assert not RetryPolicy.status_retryable(status, "POST")
        assert not RetryPolicy.status_retryable(status, "PUT", idempotent=False)
        assert RetryPolicy.status_may_have_run(status)
    assert RetryPolicy.status_may_have_run(500)  # never retried, but to a POST it is "outcome unknown"
    assert not any(RetryPolicy.status_may_have_run(status) for status in (400, 404, 409, 429))


def test_transport_failures_after_sending_are_retried_only_when_idempotent() -> None:
    request = httpx2.Request("POST", "http://ohip.test/")
    connect = classify_transport_error(httpx2.ConnectError("refused", request=request))
    timeout = classify_transport_error(httpx2.ReadTimeout("slow", request=request))
    dropped = classify_transport_error(httpx2.RemoteProtocolError("closed", request=request))
    assert (connect, timeout, dropped) == ("connect", "timeout", "dropped")
    assert RetryPolicy.transport_retryable("connect", "POST")
    assert not RetryPolicy.transport_retryable("timeout", "POST")
    assert not RetryPolicy.transport_retryable("dropped", "POST")
    assert RetryPolicy.transport_retryable("dropped", "GET")
    assert RetryPolicy.transport_retryable("timeout", "PUT")
