"""OPERA_MCP_AUTH=oauth, rule by rule, with tool calls: `exp` required; `nbf` and `iat` honoured within the leeway
(30 s, bounded); `iss` and `aud` matched exactly; the hotels claim enforced on tools, resources and prompts. Every
refused token is refused before any OHIP request; every accepted one really runs the tool."""

from __future__ import annotations

import time
from typing import Any

import httpx2
import pytest
from mcp.shared.exceptions import MCPError

from app.security.oauth import MAX_LEEWAY_S, OAuthConfig, OAuthConfigError
from tests.security.conftest import AUDIENCE, ISSUER, MCP_HEADERS, JWKSServer, RunningApp, client_with, rpc, rpc_result
from tests.support.mcp_client import call_error, call_ok

SEARCH = {"name": "search_reservations", "arguments": {"hotel_id": "SAND01", "limit": 1}}


@pytest.fixture
def app(start_app: Any, jwks_server: JWKSServer) -> RunningApp:
    running: RunningApp = start_app(mcp_auth="oauth", mcp_oauth_issuer=ISSUER, mcp_oauth_audience=AUDIENCE,
                                    mcp_oauth_jwks_url=jwks_server.url, mcp_oauth_algorithms="RS256")
    return running


def call_tool(app: RunningApp, token: str, call: dict[str, Any] = SEARCH) -> httpx2.Response:
    headers = {**MCP_HEADERS, "Authorization": f"Bearer {token}"}
    return httpx2.post(f"{app.url}/mcp", json=rpc("tools/call", call), headers=headers, timeout=30)


def assert_refused(app: RunningApp, token: str, reason: str) -> None:
    before = len(app.ohip_business_requests())
    response = call_tool(app, token)
    assert response.status_code == 401, (reason, response.text)
    assert 'error="invalid_token"' in response.headers["www-authenticate"]
    assert app.metric("opera_mcp_auth_failures_total", reason=reason) >= 1
    assert len(app.ohip_business_requests()) == before, "a refused token must not reach OHIP"


def assert_runs(app: RunningApp, token: str) -> None:
    before = len(app.ohip_business_requests())
    response = call_tool(app, token)
    assert response.status_code == 200, response.text
    result = rpc_result(response)["result"]
    assert result.get("isError") is not True, result
    assert len(app.ohip_business_requests()) > before, "the accepted token's tool call reached OHIP"


def test_a_token_without_exp_cannot_call_a_tool(app: RunningApp, jwks_server: JWKSServer) -> None:
    assert_runs(app, jwks_server.token())
    assert_refused(app, jwks_server.token(exp=None), "missing_claim")


def test_exp_is_honoured_within_the_leeway_and_not_beyond(app: RunningApp, jwks_server: JWKSServer) -> None:
    now = int(time.time())
    assert_runs(app, jwks_server.token(iat=now - 900, nbf=now - 900, exp=now - 10))  # clock skew: 10 s < 30 s
    assert_refused(app, jwks_server.token(iat=now - 900, nbf=now - 900, exp=now - 120), "expired")


def test_nbf_is_honoured_within_the_leeway_and_not_beyond(app: RunningApp, jwks_server: JWKSServer) -> None:
    now = int(time.time())
    assert_runs(app, jwks_server.token(nbf=now + 10))
    assert_refused(app, jwks_server.token(nbf=now + 120), "not_yet_valid")


def test_iat_in_the_future_beyond_the_leeway_is_refused(app: RunningApp, jwks_server: JWKSServer) -> None:
    now = int(time.time())
    assert_runs(app, jwks_server.token(iat=now + 10))
    assert_refused(app, jwks_server.token(iat=now + 120, nbf=None), "not_yet_valid")


@pytest.mark.parametrize("issuer", [ISSUER + "/", ISSUER + ".evil.example", ISSUER.upper(), "https://auth.example"])
def test_the_issuer_must_match_exactly(app: RunningApp, jwks_server: JWKSServer, issuer: str) -> None:
    assert_refused(app, jwks_server.token(iss=issuer), "wrong_issuer")


@pytest.mark.parametrize("audience", [AUDIENCE + "/", AUDIENCE + "/admin", AUDIENCE[:-4], [AUDIENCE + "x"]])
def test_the_audience_must_match_exactly(app: RunningApp, jwks_server: JWKSServer, audience: Any) -> None:
    assert_refused(app, jwks_server.token(aud=audience), "wrong_audience")


def test_an_audience_list_naming_this_server_is_accepted(app: RunningApp, jwks_server: JWKSServer) -> None:
    assert_runs(app, jwks_server.token(aud=["https://other.example/api", AUDIENCE]))


def test_the_leeway_is_bounded() -> None:
    base: dict[str, Any] = {"issuer": ISSUER, "audience": AUDIENCE, "jwks_url": "https://auth.example.test/jwks",
                            "algorithms": ["RS256"], "hotels_claim": "hotels"}
    assert OAuthConfig.build(**base, leeway_s=MAX_LEEWAY_S).leeway_s == MAX_LEEWAY_S
    for leeway in (MAX_LEEWAY_S + 1, 86400.0, -1.0):
        with pytest.raises(OAuthConfigError, match="leeway"):
            OAuthConfig.build(**base, leeway_s=leeway)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def sand02_requests(app: RunningApp) -> list[Any]:
    return [e for e in app.sandbox.requests if "SAND02" in e.path or e.headers.get("x-hotelid") == "SAND02"]


async def test_the_hotels_claim_limits_tools_resources_and_prompts(app: RunningApp, jwks_server: JWKSServer) -> None:
    async with client_with(app.url, bearer(jwks_server.token(hotels=["SAND01"]))) as client:
        await call_ok(client, "search_reservations", {"hotel_id": "SAND01", "limit": 1})
        text = await call_error(client, "search_reservations", {"hotel_id": "SAND02", "limit": 1})
        assert "SAND02" in text and "SAND01" in text
        await call_error(client, "get_housekeeping_overview", {"hotel_id": "SAND02"})
        with pytest.raises(MCPError) as resource:
            await client.read_resource("opera://hotels/SAND02/configuration")
        assert "SAND02" in str(resource.value) and "SAND01" in str(resource.value)
        with pytest.raises(MCPError) as prompt:
            await client.get_prompt("arrivals_briefing", {"hotel_id": "SAND02"})
        assert "SAND02" in str(prompt.value) and "SAND01" in str(prompt.value)
        await client.get_prompt("arrivals_briefing", {"hotel_id": "SAND01"})
        await client.read_resource("opera://hotels/SAND01/configuration")
    assert sand02_requests(app) == []
    assert app.metric("opera_mcp_refused_calls_total", reason="hotel") == 4  # two tools, a resource, a prompt
    refused = [e["event"] for e in app.audit_events() if e.get("reason") == "hotel"]
    assert refused == ["tool_call", "tool_call", "resource", "prompt"]


async def test_a_token_without_a_hotels_claim_may_use_no_hotel(app: RunningApp, jwks_server: JWKSServer) -> None:
    async with client_with(app.url, bearer(jwks_server.token(hotels=None))) as client:
        text = await call_error(client, "search_reservations", {"hotel_id": "SAND01", "limit": 1})
        assert "none" in text
    assert app.ohip_business_requests() == []


async def test_a_hotels_claim_as_a_string_or_a_star_is_read(app: RunningApp, jwks_server: JWKSServer) -> None:
    async with client_with(app.url, bearer(jwks_server.token(hotels="sand01 SAND02"))) as client:
        await call_ok(client, "search_reservations", {"hotel_id": "SAND02", "limit": 1})
        await call_ok(client, "search_reservations", {"hotel_id": "SAND01", "limit": 1})
    async with client_with(app.url, bearer(jwks_server.token(hotels="*"))) as client:
        await call_ok(client, "search_reservations", {"hotel_id": "SAND02", "limit": 1})
    assert sand02_requests(app)
