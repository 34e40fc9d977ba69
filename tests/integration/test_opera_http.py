"""OperaHTTP against the OHIP sandbox over real HTTP: tokens, pooling, retries, lost responses, the breaker,
the persistent token cache, the response cache and path hardening, as the sandbox's request log sees them."""

from __future__ import annotations

import asyncio
import logging
import os
import stat
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

from app.config import (
    SANDBOX_APP_KEY,
    SANDBOX_CLIENT_ID,
    SANDBOX_CLIENT_SECRET,
    SANDBOX_ENTERPRISE_ID,
    load_settings,
)
from app.opera.errors import (
    OperaAuthError,
    OperaBadRequestError,
    OperaForbiddenError,
    OperaNotFoundError,
    OperaOutcomeUnknownError,
    OperaServerError,
    OperaUnavailableError,
)
from app.opera.http import OperaHTTP, Operation
from app.sandbox.app import SandboxConfig, create_sandbox_app
from app.telemetry.metrics import Metrics
from tests.contract.plugin import SandboxServer
from tests.support.servers import serve

SEARCH = Operation("rsv", "getHotelReservations", "GET", "/hotels/{hotelId}/reservations")
GET = Operation("rsv", "getReservation", "GET", "/hotels/{hotelId}/reservations/{reservationId}")
CREATE = Operation("rsv", "postReservation", "POST", "/hotels/{hotelId}/reservations")
MODIFY = Operation("rsv", "putReservation", "PUT", "/hotels/{hotelId}/reservations/{reservationId}")
HOTEL = "SAND01"


@asynccontextmanager
async def opera(server: SandboxServer, **overrides: Any) -> AsyncIterator[OperaHTTP]:
    values: dict[str, Any] = {
        "client_id": SANDBOX_CLIENT_ID, "client_secret": SANDBOX_CLIENT_SECRET, "base_url": server.url,
        "app_key": SANDBOX_APP_KEY, "enterprise_id": SANDBOX_ENTERPRISE_ID, "cashier_id": 113,
        "requests_per_second": 1000.0, "burst_capacity": 200,
    }
    values.update(overrides)
    http = OperaHTTP(load_settings(**values), Metrics())
    await http.start()
    try:
        yield http
    finally:
        await http.aclose()


def business_calls(server: SandboxServer, operation_id: str) -> list[Any]:
    return [e for e in server.sandbox.requests if e.operation_id == operation_id]


def sample(http: OperaHTTP, name: str, **labels: str) -> float:
    return http.metrics.registry.get_sample_value(name, labels) or 0.0


async def first_reservation_id(http: OperaHTTP, search_type: str = "Arrival") -> str:
    found = await http.call(SEARCH, hotel_id=HOTEL, params={"searchType": search_type, "limit": 1})
    assert found.body is not None
    row = found.body["reservations"]["reservationInfo"][0]
    return next(i["id"] for i in row["reservationIdList"] if i["type"] == "Reservation")


def booking(surname: str) -> dict[str, Any]:
    return {"reservations": {"reservation": [{
        "hotelId": HOTEL,
        "roomStay": {
            "arrivalDate": "2026-05-10", "departureDate": "2026-05-12",
            "guestCounts": {"adults": 1, "children": 0},
            "guarantee": {"guaranteeCode": "6PM"},
            "roomRates": [{"roomType": "KNG", "ratePlanCode": "BAR", "start": "2026-05-10", "end": "2026-05-12",
                           "numberOfUnits": 1, "guestCounts": {"adults": 1, "children": 0}}],
        },
        "reservationGuests": [{"profileInfo": {"profile": {"customer": {"personName": [
            {"givenName": "Ada", "surname": surname}]}}}, "primary": True}],
        "reservationPaymentMethods": [{"paymentMethod": "CA", "folioView": 1}],
    }]}}


# --- tokens and connections -------------------------------------------------------------------------------------
async def test_concurrent_cold_calls_fetch_one_token(sandbox_server: SandboxServer) -> None:
    async with opera(sandbox_server) as http:
        answers = await asyncio.gather(*(
            http.call(SEARCH, hotel_id=HOTEL, params={"limit": 1}) for _ in range(50)
        ))
    assert all(a.status == 200 for a in answers)
    assert sandbox_server.sandbox.token_requests == 1
    assert len(business_calls(sandbox_server, "getHotelReservations")) == 50
    assert len({e.token_hash for e in business_calls(sandbox_server, "getHotelReservations")}) == 1


async def test_sequential_calls_reuse_a_handful_of_connections(sandbox_server: SandboxServer) -> None:
    async with opera(sandbox_server) as http:
        for _ in range(200):
            await http.call(SEARCH, hotel_id=HOTEL, params={"limit": 1})
        health = http.health()["ohip"]
    assert len(business_calls(sandbox_server, "getHotelReservations")) == 200
    assert sandbox_server.sandbox.connection_count() <= 3
    assert health["pool_active"] + health["pool_idle"] >= 1  # read from the live pool


async def test_the_pool_gauge_is_read_from_the_live_pool_when_metrics_are_scraped(
    sandbox_server: SandboxServer,
) -> None:
    async with opera(sandbox_server) as http:
        assert sample(http, "opera_ohip_pool_connections", state="idle") == 0
        await asyncio.gather(*(http.call(SEARCH, hotel_id=HOTEL, params={"limit": 1}) for _ in range(3)))
        idle = sample(http, "opera_ohip_pool_connections", state="idle")
        active = sample(http, "opera_ohip_pool_connections", state="active")
    # Three concurrent calls opened connections that the pool keeps, idle, once answered.
    assert idle >= 1 and active == 0
    assert sample(http, "opera_ohip_pool_connections", state="idle") == 0  # closed with the client


async def test_an_expired_token_is_refreshed_once_and_the_calls_succeed(sandbox_server: SandboxServer) -> None:
    async with opera(sandbox_server) as http:
        await http.call(SEARCH, hotel_id=HOTEL, params={"limit": 1})
        sandbox_server.sandbox.tokens.expire_all()  # OHIP now answers 401 to the token we hold
        answers = await asyncio.gather(*(
            http.call(SEARCH, hotel_id=HOTEL, params={"limit": 1}) for _ in range(10)
        ))
        assert all(a.status == 200 for a in answers)
        assert sample(http, "opera_ohip_retries_total", reason="401") >= 1
    assert sandbox_server.sandbox.token_requests == 2
    statuses = [e.status for e in business_calls(sandbox_server, "getHotelReservations")]
    assert statuses.count(200) == 11 and set(statuses) == {200, 401}


async def test_a_revoked_token_403_without_a_body_is_refreshed_once_and_replayed(
    sandbox_server: SandboxServer,
) -> None:
    async with opera(sandbox_server) as http:
        await http.call(SEARCH, hotel_id=HOTEL, params={"limit": 1})
        sandbox_server.sandbox.tokens.revoke_all()  # OHIP now answers 403 with no body to the token we hold
        answer = await http.call(SEARCH, hotel_id=HOTEL, params={"limit": 1})
        assert answer.status == 200
        assert sample(http, "opera_ohip_retries_total", reason="403") == 1
    assert sandbox_server.sandbox.token_requests == 2
    assert [e.status for e in business_calls(sandbox_server, "getHotelReservations")] == [200, 403, 200]


async def test_a_second_bodiless_403_after_the_fresh_token_is_final(
    sandbox_server: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with opera(sandbox_server) as http:
        await http.call(SEARCH, hotel_id=HOTEL, params={"limit": 1})
        # The gateway withdraws every token, the fresh one too: one replay, then the 403 stands (never a loop).
        monkeypatch.setattr(sandbox_server.sandbox.tokens, "is_revoked", lambda token: True)
        with pytest.raises(OperaForbiddenError) as info:
            await http.call(SEARCH, hotel_id=HOTEL, params={"limit": 1})
    assert sandbox_server.sandbox.token_requests == 2
    assert [e.status for e in business_calls(sandbox_server, "getHotelReservations")] == [200, 403, 403]
    assert info.value.status == 403 and "even after a fresh token" in info.value.message


async def test_a_403_with_an_ohip_error_body_is_a_refusal_not_a_stale_token(sandbox_server: SandboxServer) -> None:
    async with opera(sandbox_server) as http:
        with pytest.raises(OperaForbiddenError) as info:
            await http.call(SEARCH, hotel_id="NOPE01", params={"limit": 1})
    assert sandbox_server.sandbox.token_requests == 1  # no refresh, no replay
    assert len(business_calls(sandbox_server, "getHotelReservations")) == 1
    assert "NOPE01" in info.value.describe()


async def test_a_wrong_integration_password_402_is_explained(caplog: pytest.LogCaptureFixture) -> None:
    # The token endpoint's 402 is documented by Oracle but not declared in oauth.json, so this sandbox is served
    # here, outside the fixture's contract check.
    config = SandboxConfig(business_date=date(2026, 5, 1))
    sandbox_app = create_sandbox_app(config)
    with serve(sandbox_app) as server:
        cfg = {"grant_type": "password", "username": "sandbox-user", "password": "not-the-password"}
        async with opera(SandboxServer(server.url, sandbox_app.state.sandbox, config), **cfg) as http:
            with pytest.raises(OperaAuthError) as info:
                await http.call(SEARCH, hotel_id=HOTEL, params={"limit": 1})
    message = info.value.message
    assert "HTTP 402" in message and "OPERA_USERNAME/OPERA_PASSWORD" in message
    assert "not-the-password" not in info.value.describe() and "not-the-password" not in caplog.text


@pytest.mark.sandbox(token_ttl=6)
async def test_a_short_lived_token_is_renewed_before_it_lapses(sandbox_server: SandboxServer) -> None:
    async with opera(sandbox_server) as http:
        await http.call(SEARCH, hotel_id=HOTEL, params={"limit": 1})
        await http.call(SEARCH, hotel_id=HOTEL, params={"limit": 1})  # reused
        assert sandbox_server.sandbox.token_requests == 1
        await asyncio.sleep(3.3)  # past the 3 s refresh margin of a 6 s token, well before its expiry
        await http.call(SEARCH, hotel_id=HOTEL, params={"limit": 1})
    assert sandbox_server.sandbox.token_requests == 2
    assert [e.status for e in business_calls(sandbox_server, "getHotelReservations")] == [200, 200, 200]


async def test_persistent_token_cache_spares_the_token_request_after_a_restart(
    sandbox_server: SandboxServer, tmp_path: Path
) -> None:
    cache_dir = tmp_path / "token-cache"
    async with opera(sandbox_server, enable_persistent_token_cache=True, token_cache_dir=cache_dir) as first:
        await first.call(SEARCH, hotel_id=HOTEL, params={"limit": 1})
        token = first.token_manager.current_token()
    async with opera(sandbox_server, enable_persistent_token_cache=True, token_cache_dir=cache_dir) as second:
        await second.call(SEARCH, hotel_id=HOTEL, params={"limit": 1})
    assert sandbox_server.sandbox.token_requests == 1
    (path,) = list(cache_dir.iterdir())
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(cache_dir).st_mode) == 0o700
    assert token and token.encode() not in path.read_bytes()


# --- what every call carries ------------------------------------------------------------------------------------
async def test_every_call_carries_ohip_headers_and_a_named_span(
    sandbox_server: SandboxServer, spans: InMemorySpanExporter
) -> None:
    async with opera(sandbox_server) as http:
        reservation_id = await first_reservation_id(http)
        answer = await http.call(GET, hotel_id=HOTEL, path_params={"reservationId": reservation_id})
    (sent,) = business_calls(sandbox_server, "getReservation")
    assert sent.header("x-app-key") == SANDBOX_APP_KEY
    assert sent.header("x-hotelid") == HOTEL
    assert sent.header("authorization") == "Bearer ***" and sent.token_hash
    assert sent.header("x-request-id") == answer.request_id and uuid.UUID(answer.request_id).version == 4
    assert sent.traceparent and sent.traceparent.startswith("00-")
    named = [s for s in spans.get_finished_spans() if s.name == "OHIP rsv.getReservation"]
    assert len(named) == 1
    attributes = dict(named[0].attributes or {})
    assert attributes["ohip.module"] == "rsv" and attributes["ohip.operation"] == "getReservation"
    assert attributes["ohip.hotel_id"] == HOTEL
    assert not any("authorization" in key.lower() or "x-app-key" in key.lower() for key in attributes)
    assert format(named[0].context.trace_id, "032x") in sent.traceparent


async def test_each_ohip_call_is_logged_once_without_secrets(
    sandbox_server: SandboxServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="app.opera.http")
    async with opera(sandbox_server) as http:
        await http.call(SEARCH, hotel_id=HOTEL, params={"surname": "Smith", "limit": 3})
        token = http.token_manager.current_token()
    (record,) = [r for r in caplog.records if r.name == "app.opera.http"]
    assert record.levelno == logging.DEBUG  # the tool call's INFO line carries its OHIP calls
    fields = record.__dict__
    assert fields["operation"] == "rsv.getHotelReservations" and fields["method"] == "GET"
    assert fields["url"].endswith("/rsv/v1/hotels/SAND01/reservations") and fields["hotel_id"] == HOTEL
    assert fields["params"] == {"surname": "Smith", "limit": "3"} and fields["status"] == 200
    assert fields["request_size_bytes"] == 0 and fields["duration_ms"] >= 0 and fields["request_id"]
    assert token and token not in caplog.text and SANDBOX_CLIENT_SECRET not in caplog.text


async def test_without_tracing_no_span_is_made_but_the_callers_traceparent_reaches_ohip(
    sandbox_server: SandboxServer, spans: InMemorySpanExporter
) -> None:
    settings = load_settings(client_id=SANDBOX_CLIENT_ID, client_secret=SANDBOX_CLIENT_SECRET,
                             base_url=sandbox_server.url, app_key=SANDBOX_APP_KEY,
                             enterprise_id=SANDBOX_ENTERPRISE_ID, cashier_id=113)
    http = OperaHTTP(settings, Metrics(), tracing=False)
    caller = SpanContext(trace_id=0x4BF92F3577B34DA6A3CE929D0E0E4736, span_id=0x00F067AA0BA902B7, is_remote=True,
                         trace_flags=TraceFlags(TraceFlags.SAMPLED))
    try:
        reservation_id = await first_reservation_id(http)
        spans.clear()
        with trace.use_span(NonRecordingSpan(caller)):
            await http.call(GET, hotel_id=HOTEL, path_params={"reservationId": reservation_id})
    finally:
        await http.aclose()
    (sent,) = business_calls(sandbox_server, "getReservation")
    assert sent.traceparent == "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    assert not [s.name for s in spans.get_finished_spans() if s.name.startswith("OHIP")]


async def test_ohip_errors_keep_the_detail_and_error_code(sandbox_server: SandboxServer) -> None:
    async with opera(sandbox_server) as http:
        with pytest.raises(OperaNotFoundError) as info:
            await http.call(GET, hotel_id=HOTEL, path_params={"reservationId": "999999"})
    error = info.value
    assert error.status == 404 and error.operation == "rsv.getReservation" and error.hotel_id == HOTEL
    assert error.detail and "999999" in error.detail
    assert error.error_code and error.error_code.startswith("OHIPSIM")
    (sent,) = business_calls(sandbox_server, "getReservation")
    assert error.request_id == sent.header("x-request-id")
    assert error.request_id in error.describe()


async def test_bad_path_ids_never_reach_the_sandbox(sandbox_server: SandboxServer) -> None:
    async with opera(sandbox_server) as http:
        for bad in ("123/cancellations", "../../oauth/v1/tokens", "1%0d%0aX-Evil: 1", "a?b", "", "9" * 65):
            with pytest.raises(OperaBadRequestError):
                await http.call(GET, hotel_id=HOTEL, path_params={"reservationId": bad})
    assert sandbox_server.sandbox.requests == []


# --- retries and lost responses ---------------------------------------------------------------------------------
async def test_503_twice_then_success_is_retried_transparently(sandbox_server: SandboxServer) -> None:
    async with opera(sandbox_server, max_retries=3) as http:
        reservation_id = await first_reservation_id(http)
        sandbox_server.sandbox.faults.inject(operation="getReservation", status=503, times=2)
        answer = await http.call(GET, hotel_id=HOTEL, path_params={"reservationId": reservation_id})
        assert answer.status == 200 and answer.body
        assert sample(http, "opera_ohip_retries_total", reason="503") == 2
        assert sample(http, "opera_ohip_requests_total", module="rsv", operation="getReservation",
                      status_class="5xx") == 2
    sent = business_calls(sandbox_server, "getReservation")
    assert [e.status for e in sent] == [503, 503, 200]
    assert len({e.header("x-request-id") for e in sent}) == 3


async def test_429_retry_waits_at_least_retry_after(sandbox_server: SandboxServer) -> None:
    async with opera(sandbox_server) as http:
        await http.call(SEARCH, hotel_id=HOTEL, params={"limit": 1})
        sandbox_server.sandbox.faults.inject(operation="getHotelReservations", status=429, times=1,
                                             headers={"Retry-After": "1"})
        started = time.monotonic()
        answer = await http.call(SEARCH, hotel_id=HOTEL, params={"limit": 1})
        waited = time.monotonic() - started
        assert answer.status == 200
        assert waited >= 1.0
        assert sample(http, "opera_ohip_rate_limited_responses_total") == 1


async def test_429_without_retry_after_waits_at_least_ohips_one_second_window(sandbox_server: SandboxServer) -> None:
    async with opera(sandbox_server) as http:
        await http.call(SEARCH, hotel_id=HOTEL, params={"limit": 1})
        sandbox_server.sandbox.faults.inject(operation="getHotelReservations", status=429, times=1)
        started = time.monotonic()
        answer = await http.call(SEARCH, hotel_id=HOTEL, params={"limit": 1})
        waited = time.monotonic() - started
        assert answer.status == 200
        assert sample(http, "opera_ohip_rate_limited_responses_total") == 1
    calls = business_calls(sandbox_server, "getHotelReservations")
    assert [e.status for e in calls] == [200, 429, 200]
    assert waited >= 1.0 and calls[2].time - calls[1].time >= 1.0


async def test_persistent_503_ends_in_a_server_error_after_the_retries(sandbox_server: SandboxServer) -> None:
    async with opera(sandbox_server, max_retries=2) as http:
        sandbox_server.sandbox.faults.inject(operation="getHotelReservations", status=503, times=5)
        with pytest.raises(OperaServerError) as info:
            await http.call(SEARCH, hotel_id=HOTEL, params={"limit": 1})
    assert info.value.status == 503 and "after 2 retries" in info.value.message
    assert len(business_calls(sandbox_server, "getHotelReservations")) == 3


async def test_a_lost_booking_response_is_not_retried(sandbox_server: SandboxServer) -> None:
    async with opera(sandbox_server, max_retries=3) as http:
        sandbox_server.sandbox.faults.inject(operation="postReservation", mode="drop", times=1)
        with pytest.raises(OperaOutcomeUnknownError) as info:
            await http.call(CREATE, hotel_id=HOTEL, json=booking("Lostanswer"))
        error = info.value
        assert "unknown" in error.message and "not repeated" in error.message
        assert error.next_step and "search_reservations" in error.next_step
        found = await http.call(SEARCH, hotel_id=HOTEL, params={"surname": "Lostanswer"})
    assert len(business_calls(sandbox_server, "postReservation")) == 1
    assert found.body is not None and len(found.body["reservations"]["reservationInfo"]) == 1


async def test_a_lost_read_response_is_retried(sandbox_server: SandboxServer) -> None:
    async with opera(sandbox_server, max_retries=2) as http:
        reservation_id = await first_reservation_id(http)
        sandbox_server.sandbox.faults.inject(operation="getReservation", mode="drop", times=1)
        answer = await http.call(GET, hotel_id=HOTEL, path_params={"reservationId": reservation_id})
        assert answer.status == 200
        assert sample(http, "opera_ohip_retries_total", reason="dropped") == 1
    assert len(business_calls(sandbox_server, "getReservation")) == 2


async def test_a_booking_that_times_out_is_reported_as_unknown(sandbox_server: SandboxServer) -> None:
    async with opera(sandbox_server, request_timeout=0.5) as http:
        sandbox_server.sandbox.faults.inject(operation="postReservation", mode="stall", delay=1.5, times=1)
        with pytest.raises(OperaOutcomeUnknownError, match="timed out"):
            await http.call(CREATE, hotel_id=HOTEL, json=booking("Slowanswer"))
        await asyncio.sleep(1.2)  # let the stalled booking finish on the sandbox side
        found = await http.call(SEARCH, hotel_id=HOTEL, params={"surname": "Slowanswer"})
    assert len(business_calls(sandbox_server, "postReservation")) == 1
    assert found.body is not None and len(found.body["reservations"]["reservationInfo"]) == 1


# --- breaker ----------------------------------------------------------------------------------------------------
async def test_breaker_opens_fails_fast_and_recovers_after_the_cooldown(sandbox_server: SandboxServer) -> None:
    async with opera(sandbox_server, max_retries=0, breaker_failure_threshold=2, breaker_cooldown=1.0) as http:
        reservation_id = await first_reservation_id(http)
        sandbox_server.sandbox.faults.inject(operation="getReservation", status=503, times=2)
        for _ in range(2):
            with pytest.raises(OperaServerError):
                await http.call(GET, hotel_id=HOTEL, path_params={"reservationId": reservation_id})
        with pytest.raises(OperaUnavailableError) as info:
            await http.call(GET, hotel_id=HOTEL, path_params={"reservationId": reservation_id})
        assert 0 < info.value.retry_after <= 1.0
        assert len(business_calls(sandbox_server, "getReservation")) == 2  # the third never left
        assert not http.ready and http.health()["breaker"]["status"] == "down"
        assert sample(http, "opera_ohip_circuit_breaker_state") == 2

        await asyncio.sleep(1.1)
        answer = await http.call(GET, hotel_id=HOTEL, path_params={"reservationId": reservation_id})
        assert answer.status == 200
        assert http.breaker.state == "closed" and http.ready
        assert sample(http, "opera_ohip_circuit_breaker_state") == 0


async def test_business_refusals_do_not_open_the_breaker(sandbox_server: SandboxServer) -> None:
    async with opera(sandbox_server, breaker_failure_threshold=2) as http:
        for _ in range(4):
            with pytest.raises(OperaNotFoundError):
                await http.call(GET, hotel_id=HOTEL, path_params={"reservationId": "424242"})
        assert http.breaker.state == "closed"
        bad = booking("Backwards")
        bad["reservations"]["reservation"][0]["roomStay"]["departureDate"] = "2026-05-09"
        bad["reservations"]["reservation"][0]["roomStay"]["roomRates"][0]["end"] = "2026-05-09"
        with pytest.raises(OperaBadRequestError) as info:
            await http.call(CREATE, hotel_id=HOTEL, json=bad)
        assert info.value.status == 400 and info.value.detail
        assert http.breaker.state == "closed"


# --- response cache ---------------------------------------------------------------------------------------------
async def test_a_modified_reservation_is_never_served_stale(sandbox_server: SandboxServer) -> None:
    async with opera(sandbox_server) as http:
        reservation_id = await first_reservation_id(http)
        ask = {"hotel_id": HOTEL, "path_params": {"reservationId": reservation_id}}
        first = await http.call(GET, cache="business", **ask)  # type: ignore[arg-type]
        again = await http.call(GET, cache="business", **ask)  # type: ignore[arg-type]
        assert again.from_cache and again.body == first.body
        assert "Quiet room please" not in str(first.body)
        assert len(business_calls(sandbox_server, "getReservation")) == 1

        change = {"reservations": [{
            "reservationIdList": [{"id": reservation_id, "type": "Reservation"}], "hotelId": HOTEL,
            "comments": [{"comment": {"text": {"value": "Quiet room please"}, "type": "GEN", "internal": False}}],
        }]}
        await http.call(MODIFY, json=change, **ask)  # type: ignore[arg-type]
        after = await http.call(GET, cache="business", **ask)  # type: ignore[arg-type]
    assert not after.from_cache
    assert "Quiet room please" in str(after.body)
    assert len(business_calls(sandbox_server, "getReservation")) == 2


async def test_cache_hits_of_one_entry_share_the_record_built_from_it_until_a_write_drops_it(
    sandbox_server: SandboxServer,
) -> None:
    from app.opera.reservations import ReservationsAPI

    async with opera(sandbox_server) as http:
        reservation_id = await first_reservation_id(http)
        reservations = ReservationsAPI(http)
        first = await reservations.get(HOTEL, reservation_id)  # the miss: built from OHIP's answer
        hit = await reservations.get(HOTEL, reservation_id)
        again = await reservations.get(HOTEL, reservation_id)
        assert hit is again  # built once from the cached answer, not per hit
        assert hit == first
        fresh = await reservations.get(HOTEL, reservation_id, fresh=True)
        assert fresh is not hit and fresh == hit  # a read a write is built from is its own
        change = {"reservations": [{
            "reservationIdList": [{"id": reservation_id, "type": "Reservation"}], "hotelId": HOTEL,
            "comments": [{"comment": {"text": {"value": "Late arrival"}, "type": "GEN", "internal": False}}],
        }]}
        await http.call(MODIFY, json=change, hotel_id=HOTEL, path_params={"reservationId": reservation_id})
        after = await reservations.get(HOTEL, reservation_id)
    assert after is not hit and "Late arrival" in str(after.comments) and "Late arrival" not in str(hit.comments)
    assert len(business_calls(sandbox_server, "getReservation")) == 3  # miss, fresh, after the write


async def test_concurrent_cold_reads_of_one_reservation_make_one_ohip_call(sandbox_server: SandboxServer) -> None:
    async with opera(sandbox_server) as http:
        reservation_id = await first_reservation_id(http)
        ask = {"hotel_id": HOTEL, "path_params": {"reservationId": reservation_id}}
        answers = await asyncio.gather(*(http.call(GET, cache="reservation", **ask)  # type: ignore[arg-type]
                                         for _ in range(16)))
        later = await http.call(GET, cache="reservation", **ask)  # type: ignore[arg-type]
    assert len(business_calls(sandbox_server, "getReservation")) == 1
    assert all(a.status == 200 and a.body == answers[0].body for a in answers) and later.body == answers[0].body
    assert [a.from_cache for a in answers].count(False) == 1 and later.from_cache
    assert len({a.request_id for a in answers}) == 1  # every caller's answer names the one OHIP request


async def test_concurrent_cold_reads_share_the_refusal_of_their_one_ohip_call(sandbox_server: SandboxServer) -> None:
    async with opera(sandbox_server) as http:
        ask = {"hotel_id": HOTEL, "path_params": {"reservationId": "999999"}}
        answers = await asyncio.gather(*(http.call(GET, cache="reservation", **ask)  # type: ignore[arg-type]
                                         for _ in range(8)), return_exceptions=True)
    assert all(isinstance(a, OperaNotFoundError) for a in answers)
    assert len(business_calls(sandbox_server, "getReservation")) == 1


async def test_a_read_that_starts_after_a_write_does_not_wait_for_a_read_sent_before_it(
    sandbox_server: SandboxServer,
) -> None:
    async with opera(sandbox_server) as http:
        reservation_id = await first_reservation_id(http)
        ask = {"hotel_id": HOTEL, "path_params": {"reservationId": reservation_id}}
        sandbox_server.sandbox.faults.inject(operation="getReservation", mode="stall", delay=0.5, times=1)
        early = asyncio.create_task(http.call(GET, cache="reservation", **ask))  # type: ignore[arg-type]
        key = http.cache.key(HOTEL, "GET", f"{sandbox_server.url}/rsv/v1/hotels/{HOTEL}/reservations/"
                                           f"{reservation_id}", [])
        await asyncio.sleep(0)  # one turn of the loop: the early read runs up to its request to OHIP
        assert http.cache.flight(key) is not None
        change = {"reservations": [{
            "reservationIdList": [{"id": reservation_id, "type": "Reservation"}], "hotelId": HOTEL,
            "comments": [{"comment": {"text": {"value": "Late arrival"}, "type": "GEN", "internal": False}}],
        }]}
        await http.call(MODIFY, json=change, **ask)  # type: ignore[arg-type]
        after = await http.call(GET, cache="reservation", **ask)  # type: ignore[arg-type]
        await early
    assert "Late arrival" in str(after.body) and not after.from_cache
    assert len(business_calls(sandbox_server, "getReservation")) == 2


async def test_a_bodiless_401_that_outlives_a_fresh_token_is_explained(
    sandbox_server: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Real OHIP answers 401 with no body. One refresh and one replay, then an error that says what to check."""
    async with opera(sandbox_server) as http:
        await http.call(SEARCH, hotel_id=HOTEL, params={"limit": 1})
        monkeypatch.setattr(sandbox_server.sandbox.tokens, "is_valid", lambda token: False)
        with pytest.raises(OperaAuthError) as info:
            # Bounded: a refresh-and-replay loop would never return (and ask for a token on every turn).
            await asyncio.wait_for(http.call(SEARCH, hotel_id=HOTEL, params={"limit": 1}), timeout=10)
    assert sandbox_server.sandbox.token_requests == 2
    assert [e.status for e in business_calls(sandbox_server, "getHotelReservations")] == [200, 401, 401]
    assert [e.response for e in business_calls(sandbox_server, "getHotelReservations")][1:] == [None, None]
    assert info.value.status == 401 and "OPERA_APP_KEY" in info.value.describe()
