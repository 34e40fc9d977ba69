"""The sandbox as OHIP's gateway over real HTTP: the environment's quota (delays, then 429), faults that strike
before processing (reset, latency), by chance and for a time window, and a bounded request log whose counters
stay exact."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import httpx2
import pytest

from tests.contract.plugin import SandboxServer
from tests.sandbox.test_reservations import BD, RSV, booking

SEARCH = f"{RSV}?limit=1"


async def wait_for_a_fresh_second() -> None:
    """Start at the beginning of a wall-clock second, so a burst of calls falls within one second."""
    await asyncio.sleep(1.0 - time.time() % 1.0 + 0.01)


# ----------------------------------------------------------------------------------------------------- quota


@pytest.mark.sandbox(quota_rps=3, quota_burst=5, quota_delay_s=0.3)
async def test_quota_delays_past_the_rate_and_refuses_past_the_burst(ohip: httpx2.AsyncClient) -> None:
    await wait_for_a_fresh_second()
    loop = asyncio.get_running_loop()

    async def timed() -> tuple[int, float]:
        started = loop.time()
        response = await ohip.get(SEARCH)
        return response.status_code, loop.time() - started

    results = await asyncio.gather(*(timed() for _ in range(7)))

    statuses = sorted(status for status, _ in results)
    assert statuses == [200] * 5 + [429] * 2
    slow = [elapsed for status, elapsed in results if status == 200 and elapsed >= 0.3]
    assert len(slow) == 2
    stats = (await ohip.get("/_sandbox/stats")).json()
    assert stats["quota"] == {"rps": 3.0, "burst": 5, "delay": 0.3}
    assert (stats["quota_delayed"], stats["quota_rejected"]) == (2, 2)
    assert stats["max_requests_in_one_second"] >= 7
    assert stats["faults_fired"] == {}


@pytest.mark.sandbox(quota_rps=1, quota_burst=1)
async def test_a_quota_429_carries_an_ohip_error_body_and_tokens_are_not_counted(
    sandbox_server: SandboxServer, ohip: httpx2.AsyncClient
) -> None:
    await wait_for_a_fresh_second()
    first, second = await ohip.get(SEARCH), await ohip.get(SEARCH)

    assert first.status_code == 200
    assert second.status_code == 429
    error = second.json()
    assert error["type"] == "Too Many Requests" and error["o:errorCode"] == "OHIPSIM-QUOTA-429"
    assert error["status"] == "NotProcessed" and "quota" in error["detail"]
    assert "retry-after" not in second.headers  # OHIP documents none
    assert sandbox_server.sandbox.quota.describe()["max_requests_in_one_second"] == 2


async def test_quota_is_set_and_lifted_at_run_time(ohip: httpx2.AsyncClient) -> None:
    for bad, needle in (({"rps": 0}, "rps"), ({"rps": 5, "burst": 2}, "burst"), ({"rps": 5, "per": 1}, "unknown")):
        refused = await ohip.post("/_sandbox/quota", json=bad)
        assert refused.status_code == 400 and needle in refused.json()["error"]

    set_ = await ohip.post("/_sandbox/quota", json={"rps": 1, "burst": 1})
    assert set_.status_code == 200 and set_.json()["limits"] == {"rps": 1.0, "burst": 1, "delay": 1.0}
    await wait_for_a_fresh_second()
    assert [(await ohip.get(SEARCH)).status_code for _ in range(2)] == [200, 429]

    lifted = await ohip.delete("/_sandbox/quota")
    assert lifted.json()["limits"] is None
    assert [(await ohip.get(SEARCH)).status_code for _ in range(3)] == [200, 200, 200]
    stats = (await ohip.get("/_sandbox/stats")).json()
    assert stats["quota"] is None and stats["quota_rejected"] == 1


# ---------------------------------------------------------------------------------------------------- faults


async def test_reset_closes_the_connection_before_anything_happens(
    ohip: httpx2.AsyncClient, sandbox_server: SandboxServer
) -> None:
    hotel = sandbox_server.sandbox.enterprise.hotels["SAND01"]
    before = len(hotel.reservations)
    added = await ohip.post("/_sandbox/faults", json={"operation": "postReservation", "mode": "reset"})
    assert added.status_code == 201

    arrival = BD + timedelta(days=5)
    with pytest.raises(httpx2.RemoteProtocolError):
        await ohip.post(RSV, json=booking(arrival, arrival + timedelta(days=1)))

    assert len(hotel.reservations) == before
    logged = [e for e in sandbox_server.sandbox.requests if e.operation_id == "postReservation"]
    assert [(e.status, e.response) for e in logged] == [(0, None)]
    retried = await ohip.post(RSV, json=booking(arrival, arrival + timedelta(days=1)))
    assert retried.status_code == 201 and len(hotel.reservations) == before + 1


async def test_latency_waits_then_answers_normally(ohip: httpx2.AsyncClient) -> None:
    added = await ohip.post(
        "/_sandbox/faults", json={"operation": "getHotelReservations", "mode": "latency", "delay": 0.4}
    )
    assert added.status_code == 201
    loop = asyncio.get_running_loop()
    started = loop.time()
    response = await ohip.get(SEARCH)
    assert response.status_code == 200 and response.json()["reservations"]["count"] == 1
    assert loop.time() - started >= 0.4


async def test_probability_zero_never_fires_and_one_always_does(
    ohip: httpx2.AsyncClient, sandbox_server: SandboxServer
) -> None:
    faults = sandbox_server.sandbox.faults
    never = faults.inject(operation="getHotelReservations", status=503, times=None, for_s=30, probability=0.0)
    assert [(await ohip.get(SEARCH)).status_code for _ in range(5)] == [200] * 5
    assert never.fired == 0

    faults.clear()
    faults.inject(operation="getHotelReservations", status=503, times=None, for_s=30, probability=1.0)
    assert [(await ohip.get(SEARCH)).status_code for _ in range(5)] == [503] * 5


def test_the_same_seed_fires_the_same_faults() -> None:
    from app.sandbox.faults import Faults

    def pattern(seed: int) -> list[bool]:
        faults = Faults(seed)
        faults.inject(operation="getReservation", times=None, for_s=60, probability=0.5)
        return [faults.take("getReservation") is not None for _ in range(40)]

    assert pattern(42) == pattern(42)
    assert pattern(42) != pattern(43)
    assert 5 < sum(pattern(42)) < 35


async def test_a_window_fault_stops_after_its_window(ohip: httpx2.AsyncClient) -> None:
    added = await ohip.post(
        "/_sandbox/faults", json={"operation": "getHotelReservations", "status": 502, "times": 0, "for_s": 0.6}
    )
    assert added.status_code == 201 and added.json()["fault"]["times"] is None
    assert [(await ohip.get(SEARCH)).status_code for _ in range(3)] == [502] * 3
    await asyncio.sleep(0.7)
    assert (await ohip.get(SEARCH)).status_code == 200
    assert (await ohip.get("/_sandbox/faults")).json()["faults"] == []


@pytest.mark.parametrize(
    ("spec", "needle"),
    [
        ({"mode": "explode"}, "mode"),
        ({"probability": 1.5}, "probability"),
        ({"probability": "half"}, "probability"),
        ({"times": 0}, "for_s"),
        ({"times": None}, "for_s"),
        ({"times": -1}, "times"),
        ({"for_s": 0}, "for_s"),
        ({"mode": "latency"}, "delay"),
        ({"mode": "stall", "delay": 601}, "delay"),
        ({"status": 42}, "status"),
        ({"operation": "getReservaton"}, "getReservaton"),
        ({"colour": "red"}, "unknown"),
    ],
)
async def test_bad_fault_specs_are_refused_clearly(
    ohip: httpx2.AsyncClient, spec: dict[str, object], needle: str
) -> None:
    response = await ohip.post("/_sandbox/faults", json=spec)
    assert response.status_code == 400
    assert needle in response.json()["error"]


# ------------------------------------------------------------------------------------------------------- log


@pytest.mark.sandbox(request_log_max=5)
async def test_the_log_stays_bounded_while_the_counters_stay_exact(
    ohip: httpx2.AsyncClient, sandbox_server: SandboxServer
) -> None:
    for _ in range(12):
        assert (await ohip.get(SEARCH)).status_code == 200
    assert (await ohip.get(f"{RSV}/100001")).status_code in (200, 404)

    kept = sandbox_server.sandbox.requests
    assert len(kept) == 5 and kept[-1].operation_id == "getReservation"
    stats = (await ohip.get("/_sandbox/stats")).json()
    assert stats["requests"] == 14  # the token request, 12 searches, 1 read
    assert stats["requests_logged"] == 5 and stats["request_log_max"] == 5
    assert stats["requests_by_operation"] == {"getHotelReservations": 12, "getReservation": 1, "getToken": 1}
    assert stats["token_requests"] == 1

    await ohip.post("/_sandbox/reset")
    stats = (await ohip.get("/_sandbox/stats")).json()
    assert (stats["requests"], stats["requests_logged"], stats["requests_by_operation"]) == (0, 0, {})
