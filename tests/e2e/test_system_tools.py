"""health_check and get_server_info tell an agent what it is talking to and whether OHIP is reachable; a hotel the
server does not know gets a specific error from any tool, here list_rate_plans."""

from __future__ import annotations

from typing import Any

from tests.support.apps import embedded_settings, running_app, settings_for_sandbox
from tests.support.mcp_client import call_error, call_ok, mcp_client
from tests.support.servers import free_port


async def test_server_info_and_health_in_sandbox_mode() -> None:
    settings, port = embedded_settings(default_hotel_id="SAND02")
    with running_app(settings, port) as srv:
        async with mcp_client(srv.url) as client:
            info = await call_ok(client, "get_server_info")
            assert info["mode"] == "sandbox" and info["default_hotel_id"] == "SAND02"
            assert info["ohip_base_url"].endswith("/sandbox") and len(info["tools"]) == 53
            plans = await call_ok(client, "list_rate_plans")  # the default hotel is SAND02 now
            assert plans["hotel_id"] == "SAND02" and plans["rate_plans"]
            health = await call_ok(client, "health_check")
            assert health["mode"] == "sandbox"
            assert set(health["components"]) >= {"auth", "ohip", "breaker", "limiter", "cache"}


async def test_health_check_reports_an_unreachable_ohip_with_its_error() -> None:
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    with running_app(settings_for_sandbox(dead, max_retries=0)) as srv:
        async with mcp_client(srv.url) as client:
            error = await call_error(client, "search_reservations", {"surname": "Smith"})
            assert "Next step" in error
            health = await call_ok(client, "health_check")
    assert health["ready"] is False
    assert health["status"] == "down"  # no token was ever obtained: nothing can work
    assert health["components"]["auth"]["status"] != "ok"
    assert health["components"]["auth"]["last_error"]


async def test_an_unknown_hotel_gets_a_specific_error(sandbox_server: Any) -> None:
    with running_app(settings_for_sandbox(sandbox_server.url)) as srv:
        async with mcp_client(srv.url) as client:
            error = await call_error(client, "list_rate_plans", {"hotel_id": "NOPE1"})
            assert "NOPE1" in error
            bad = await call_error(client, "list_rate_plans", {"hotel_id": "../oauth"})
            assert "hotel" in bad.lower()
    assert not [r for r in sandbox_server.sandbox.requests if "oauth/v1/tokens" not in r.path and ".." in r.path]
