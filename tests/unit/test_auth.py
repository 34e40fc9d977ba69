"""TokenManager against a stand-in OHIP token endpoint (httpx2.MockTransport): single flight, reuse, refresh,
invalidation after a 401, failures without secrets and with a hint per refusal (401, 402, 403), the enterpriseId
header, the encrypted persistent token cache, stores that clear only the token they are told, and a shared store
that fails without stopping anyone."""

from __future__ import annotations

import asyncio
import base64
import os
import stat
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import httpx2
import pytest

from app.config import SANDBOX_APP_KEY, SANDBOX_ENTERPRISE_ID, Settings, load_settings
from app.opera.auth import DEFAULT_SCOPE, TokenManager, refresh_margin
from app.opera.errors import OperaAuthError, OperaError, OperaServerError
from app.opera.resilience import RetryPolicy
from app.opera.stores import EncryptedFileTokenStore, MemoryTokenStore, RedisTokenStore, SharedRedis, StoredToken
from app.telemetry.metrics import Metrics
from tests.support.redis import RedisServer

SECRET = "s3cret-value-never-shown"


class TokenEndpoint:
    """OHIP's POST /oauth/v1/tokens as far as these tests need: counts requests, answers what it is told."""

    def __init__(self, *, status: int = 200, expires_in: int = 3600, delay: float = 0.0) -> None:
        self.status = status
        self.expires_in = expires_in
        self.delay = delay
        self.requests: list[httpx2.Request] = []

    async def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.status != 200:
            return httpx2.Response(self.status, json={"title": "Unauthorized", "detail": f"echo {SECRET}"})
        n = len(self.requests)
        return httpx2.Response(
            200,
            json={
                "access_token": f"token-{n}",
                "expires_in": self.expires_in,
                "token_type": "Bearer",
                "oracle_tk_context": "user_assertion",
            },
        )


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def settings(tmp_path: Path | None = None, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "client_id": "hotel-client",
        "client_secret": SECRET,
        "base_url": "http://ohip.test",
        "app_key": SANDBOX_APP_KEY,
        "enterprise_id": "ENT01",
        "cashier_id": 4,
        "max_retries": 0,
    }
    if tmp_path is not None:
        values.update(enable_persistent_token_cache=True, token_cache_dir=tmp_path / "tokens")
    values.update(overrides)
    return load_settings(**values)


def manager(
    endpoint: TokenEndpoint, cfg: Settings, metrics: Metrics | None = None, clock: FakeClock | None = None
) -> TokenManager:
    client = httpx2.AsyncClient(transport=httpx2.MockTransport(endpoint))
    return TokenManager(cfg, metrics or Metrics(), client, clock=clock or FakeClock())


def test_refresh_margin_is_a_tenth_of_the_life_within_bounds() -> None:
    assert refresh_margin(3600) == 300
    assert refresh_margin(600) == 60
    assert refresh_margin(20) == 5
    assert refresh_margin(86400) == 300
    assert refresh_margin(6) == 3  # never more than half the life


async def test_concurrent_cold_callers_fetch_one_token() -> None:
    endpoint = TokenEndpoint(delay=0.05)
    tokens = manager(endpoint, settings())
    got = await asyncio.gather(*(tokens.get_token() for _ in range(50)))
    assert len(endpoint.requests) == 1
    assert set(got) == {"token-1"}


async def test_client_credentials_request_follows_the_contract() -> None:
    endpoint = TokenEndpoint()
    await manager(endpoint, settings(enterprise_id="ENT02")).get_token()
    request = endpoint.requests[0]
    assert request.method == "POST" and str(request.url) == "http://ohip.test/oauth/v1/tokens"
    scheme, _, encoded = request.headers["authorization"].partition(" ")
    assert scheme == "Basic" and base64.b64decode(encoded).decode() == f"hotel-client:{SECRET}"
    assert request.headers["x-app-key"] == SANDBOX_APP_KEY
    assert request.headers["enterpriseId"] == "ENT02"
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert dict(parse_qsl(request.content.decode())) == {"grant_type": "client_credentials", "scope": DEFAULT_SCOPE}


async def test_password_grant_sends_the_integration_user_and_no_enterprise_header() -> None:
    endpoint = TokenEndpoint()
    cfg = settings(grant_type="password", username="integration", password="pw", scope="my-scope")
    await manager(endpoint, cfg).get_token()
    request = endpoint.requests[0]
    assert "enterpriseId" not in request.headers
    assert dict(parse_qsl(request.content.decode())) == {
        "grant_type": "password",
        "username": "integration",
        "password": "pw",
    }


async def test_token_is_reused_until_shortly_before_expiry() -> None:
    endpoint = TokenEndpoint(expires_in=3600)
    clock = FakeClock()
    metrics = Metrics()
    tokens = manager(endpoint, settings(), metrics, clock)
    assert await tokens.get_token() == "token-1"
    assert metrics.registry.get_sample_value("opera_ohip_token_expiry_timestamp_seconds") == clock.now + 3600
    clock.now += 3299  # the margin is 300 s for an hour-long token
    assert await tokens.get_token() == "token-1"
    clock.now += 2
    assert await tokens.get_token() == "token-2"
    assert len(endpoint.requests) == 2
    assert metrics.registry.get_sample_value("opera_ohip_token_requests_total", {"outcome": "success"}) == 2


async def test_invalidating_the_rejected_token_forces_one_refresh() -> None:
    endpoint = TokenEndpoint()
    tokens = manager(endpoint, settings())
    first = await tokens.get_token()
    await tokens.invalidate(first)
    second = await tokens.get_token()
    assert second != first and len(endpoint.requests) == 2
    # A late 401 for the old token (another caller's) must not throw away the new one.
    await tokens.invalidate(first)
    assert await tokens.get_token() == second
    assert len(endpoint.requests) == 2


async def test_refused_credentials_fail_every_waiter_without_showing_the_secret() -> None:
    endpoint = TokenEndpoint(status=401, delay=0.02)
    metrics = Metrics()
    tokens = manager(endpoint, settings(), metrics)
    results = await asyncio.gather(*(tokens.get_token() for _ in range(10)), return_exceptions=True)
    assert len(endpoint.requests) == 1
    assert all(isinstance(r, OperaAuthError) for r in results)
    error = results[0]
    assert isinstance(error, OperaAuthError)
    assert "OPERA_CLIENT_SECRET" in error.message and SECRET not in error.describe()
    assert tokens.status()["last_error"] == error.message and not tokens.status()["has_token"]
    assert metrics.registry.get_sample_value("opera_ohip_token_requests_total", {"outcome": "failure"}) == 1


async def test_a_wrong_integration_password_402_names_the_user_and_password_variables() -> None:
    # Oracle lists 402 invalid_grant "[Wrong Password]" for the token call; oauth.json declares only 400/401/403.
    endpoint = TokenEndpoint(status=402)
    cfg = settings(grant_type="password", username="integration", password=SECRET)
    with pytest.raises(OperaAuthError) as info:
        await manager(endpoint, cfg).get_token()
    message = info.value.message
    assert "HTTP 402" in message and "OPERA_USERNAME/OPERA_PASSWORD" in message and "wrong password" in message
    assert "unexpected" not in message and "\n" not in message and SECRET not in info.value.describe()
    assert len(endpoint.requests) == 1  # a wrong password is not retried


async def test_a_bodiless_403_from_the_token_endpoint_says_the_application_is_not_granted() -> None:
    async def forbid(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(403)

    tokens = TokenManager(settings(), Metrics(), httpx2.AsyncClient(transport=httpx2.MockTransport(forbid)),
                          clock=FakeClock())
    with pytest.raises(OperaAuthError) as info:
        await tokens.get_token()
    message = info.value.message
    assert "HTTP 403" in message and "OPERA_APP_KEY" in message and "OPERA_ENTERPRISE_ID" in message
    assert "unexpected" not in message


def test_the_embedded_sandbox_supplies_a_demo_enterprise_id_and_real_mode_the_configured_one() -> None:
    assert load_settings().effective_enterprise_id == SANDBOX_ENTERPRISE_ID
    assert settings().effective_enterprise_id == "ENT01"
    assert settings(grant_type="password", username="u", password="p",
                    enterprise_id=None).effective_enterprise_id is None


async def test_the_embedded_sandbox_token_request_carries_the_demo_enterprise_id() -> None:
    endpoint = TokenEndpoint()
    await manager(endpoint, load_settings()).get_token()
    assert endpoint.requests[0].headers["enterpriseId"] == SANDBOX_ENTERPRISE_ID


async def test_a_down_token_endpoint_is_not_reported_as_bad_credentials() -> None:
    endpoint = TokenEndpoint(status=503)
    with pytest.raises(OperaServerError) as info:
        await manager(endpoint, settings()).get_token()
    assert "HTTP 503" in info.value.message


async def test_a_failed_refresh_keeps_using_the_still_valid_token() -> None:
    endpoint = TokenEndpoint(expires_in=3600)
    clock = FakeClock()
    tokens = manager(endpoint, settings(), clock=clock)
    assert await tokens.get_token() == "token-1"
    endpoint.status = 503
    clock.now += 3400  # inside the refresh margin, still valid for 200 s
    assert await tokens.get_token() == "token-1"
    assert await tokens.get_token() == "token-1"  # no hammering: one failed attempt, then a pause
    assert len(endpoint.requests) == 2


# --- persistent cache -------------------------------------------------------------------------------------------
async def test_persistent_cache_survives_a_restart_without_a_token_request(tmp_path: Path) -> None:
    endpoint = TokenEndpoint()
    cfg = settings(tmp_path)
    clock = FakeClock()
    token = await manager(endpoint, cfg, clock=clock).get_token()

    files = list((tmp_path / "tokens").iterdir())
    assert len(files) == 1
    assert stat.S_IMODE(os.stat(tmp_path / "tokens").st_mode) == 0o700
    assert stat.S_IMODE(os.stat(files[0]).st_mode) == 0o600
    assert token.encode() not in files[0].read_bytes()

    restarted = manager(endpoint, cfg, clock=clock)
    assert await restarted.get_token() == token
    assert len(endpoint.requests) == 1


async def test_persistent_cache_is_bound_to_the_client_secret(tmp_path: Path) -> None:
    endpoint = TokenEndpoint()
    await manager(endpoint, settings(tmp_path)).get_token()
    # Same file name (same URLs and client id), another secret: it must not decrypt, so a new token is fetched.
    other = settings(tmp_path, client_secret="another-secret")
    assert await manager(endpoint, other).get_token() == "token-2"


async def test_a_corrupt_cache_file_is_ignored_and_replaced(tmp_path: Path) -> None:
    endpoint = TokenEndpoint()
    cfg = settings(tmp_path)
    clock = FakeClock()
    await manager(endpoint, cfg, clock=clock).get_token()
    (path,) = list((tmp_path / "tokens").iterdir())
    path.write_bytes(b"OCMT1" + b"\x00" * 40)
    assert await manager(endpoint, cfg, clock=clock).get_token() == "token-2"
    # The replacement is readable again by the next start.
    assert await manager(endpoint, cfg, clock=clock).get_token() == "token-2"
    assert len(endpoint.requests) == 2


async def test_an_expiring_cached_token_is_not_reused_after_a_restart(tmp_path: Path) -> None:
    endpoint = TokenEndpoint(expires_in=3600)
    cfg = settings(tmp_path)
    clock = FakeClock()
    await manager(endpoint, cfg, clock=clock).get_token()
    clock.now += 3500
    assert await manager(endpoint, cfg, clock=clock).get_token() == "token-2"


async def test_the_file_store_clears_only_the_token_it_is_told(tmp_path: Path) -> None:
    store = EncryptedFileTokenStore(tmp_path, secret=SECRET, binding="b")
    await store.save(StoredToken("newer", expires_at=2e9, obtained_at=1.8e9))
    await store.clear("older")  # a 401 for a token that was replaced meanwhile
    kept = await store.load()
    assert kept is not None and kept.access_token == "newer"
    await store.clear("newer")
    assert await store.load() is None


async def test_the_memory_store_clears_only_the_token_it_is_told() -> None:
    store = MemoryTokenStore()
    await store.save(StoredToken("newer", expires_at=2e9, obtained_at=1.8e9))
    await store.clear("older")
    assert await store.load() is not None
    async with store.refresh_lock():  # nothing to wait for in one process
        await store.clear("newer")
    assert await store.load() is None


async def test_the_token_manager_carries_on_when_the_shared_store_is_unreachable(
    redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    redis_server.stop()
    shared = SharedRedis(redis_server.url, prefix="test", timeout=0.2)
    endpoint = TokenEndpoint()
    cfg = settings()
    store = RedisTokenStore(shared, secret=SECRET, binding="b")
    tokens = TokenManager(cfg, Metrics(), httpx2.AsyncClient(transport=httpx2.MockTransport(endpoint)), store=store,
                          clock=FakeClock())
    try:
        assert await tokens.get_token() == "token-1"
        await tokens.invalidate("token-1")
        assert await tokens.get_token() == "token-2"
    finally:
        await shared.aclose()
    assert len(endpoint.requests) == 2
    assert "shared OHIP token could not be read" in caplog.text


# --- the token endpoint's own retries -------------------------------------------------------------------------------
class ScriptedTokenEndpoint:
    """A token endpoint that answers the given statuses in turn (then 200); an entry may carry headers, or be an
    exception raised as a transport failure. Each answer's arrival time is kept."""

    def __init__(self, *script: int | tuple[int, dict[str, str]] | Exception) -> None:
        self.script = list(script)
        self.arrivals: list[float] = []

    async def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.arrivals.append(time.monotonic())
        step = self.script.pop(0) if self.script else 200
        if isinstance(step, Exception):
            raise step
        status, headers = step if isinstance(step, tuple) else (step, {})
        if status != 200:
            return httpx2.Response(status, headers=headers)
        return httpx2.Response(200, json={"access_token": f"token-{len(self.arrivals)}", "expires_in": 3600})

    def gaps(self) -> list[float]:
        return [b - a for a, b in zip(self.arrivals, self.arrivals[1:], strict=False)]


def retrying_manager(endpoint: ScriptedTokenEndpoint, metrics: Metrics, retries: int = 3, *,
                     base: float = 0.1, jitter: float = 1.0) -> TokenManager:
    client = httpx2.AsyncClient(transport=httpx2.MockTransport(endpoint))
    policy = RetryPolicy(max_retries=retries, base=base, rng=lambda: jitter)
    return TokenManager(settings(max_retries=retries), metrics, client, retry=policy, clock=FakeClock())


async def test_a_token_endpoint_gateway_failure_is_retried_with_growing_backoff() -> None:
    endpoint = ScriptedTokenEndpoint(503, 502, 504)
    metrics = Metrics()
    tokens = retrying_manager(endpoint, metrics)
    assert await tokens.get_token() == "token-4"
    assert len(endpoint.arrivals) == 4
    # Full jitter at its top (rng = 1): 0.1 s, then 0.2 s, then 0.4 s before the three retries.
    for gap, least in zip(endpoint.gaps(), (0.1, 0.2, 0.4), strict=True):
        assert gap >= least * 0.95, endpoint.gaps()
    for status in ("503", "502", "504"):
        assert metrics.registry.get_sample_value("opera_ohip_retries_total", {"reason": status}) == 1
    assert metrics.registry.get_sample_value("opera_ohip_token_requests_total", {"outcome": "success"}) == 1


async def test_a_token_endpoint_retry_waits_at_least_retry_after() -> None:
    endpoint = ScriptedTokenEndpoint((503, {"Retry-After": "1"}))
    tokens = retrying_manager(endpoint, Metrics(), jitter=0.0)  # no jitter: only Retry-After makes it wait
    assert await tokens.get_token() == "token-2"
    [gap] = endpoint.gaps()
    assert 0.95 <= gap < 3.0


async def test_a_throttled_token_request_waits_out_ohips_one_second_window() -> None:
    endpoint = ScriptedTokenEndpoint(429)
    tokens = retrying_manager(endpoint, Metrics(), jitter=0.0)
    assert await tokens.get_token() == "token-2"
    [gap] = endpoint.gaps()
    assert gap >= 0.95


async def test_token_endpoint_retries_are_bounded_and_then_reported_as_ohip_down() -> None:
    endpoint = ScriptedTokenEndpoint(503, 503, 503, 503, 503, 503)
    metrics = Metrics()
    tokens = retrying_manager(endpoint, metrics, retries=2, base=0.01)
    with pytest.raises(OperaServerError) as info:
        await tokens.get_token()
    assert len(endpoint.arrivals) == 3  # the first try and two retries, no more
    assert "HTTP 503" in info.value.message and "down" in info.value.message
    assert metrics.registry.get_sample_value("opera_ohip_token_requests_total", {"outcome": "failure"}) == 1


async def test_refused_credentials_are_never_retried() -> None:
    endpoint = ScriptedTokenEndpoint(401, 401, 401)
    tokens = retrying_manager(endpoint, Metrics(), base=0.01)
    with pytest.raises(OperaAuthError):
        await tokens.get_token()
    assert len(endpoint.arrivals) == 1


async def test_a_token_endpoint_that_cannot_be_reached_is_retried_then_named() -> None:
    endpoint = ScriptedTokenEndpoint(httpx2.ConnectError("refused"), httpx2.ConnectError("refused"))
    tokens = retrying_manager(endpoint, Metrics(), base=0.05)
    assert await tokens.get_token() == "token-3"
    assert len(endpoint.arrivals) == 3 and min(endpoint.gaps()) >= 0.05 * 0.95
    unreachable = ScriptedTokenEndpoint(*[httpx2.ConnectError("refused")] * 5)
    with pytest.raises(OperaError, match="could not reach the OHIP token endpoint"):
        await retrying_manager(unreachable, Metrics(), retries=1, base=0.01).get_token()
    assert len(unreachable.arrivals) == 2
