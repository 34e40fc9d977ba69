"""The guests toolset through the MCP SDK client over HTTP, against our app pointed at a live sandbox."""

from __future__ import annotations

from typing import Any

from tests.support.mcp_client import call_error, call_ok, mcp_client


async def test_create_find_update_a_guest_and_book_for_them(app_url: str) -> None:
    async with mcp_client(app_url) as client:
        created = await call_ok(client, "create_guest", {
            "given_name": "Wendeline", "surname": "Harrowgate", "email": "wendeline@example.com",
            "phone": "+44 20 7946 0000", "city": "London", "country": "gb",
        })
        profile_id = created["profile_id"]
        assert created["guest"]["name"] == "Wendeline Harrowgate" and created["guest"]["country"] == "GB"
        assert "create_reservation" in created["next_step"]

        found = await call_ok(client, "search_guests", {"surname": "Harrowgate"})
        assert [g["profile_id"] for g in found["guests"]] == [profile_id]
        assert found["guests"][0]["email"] == "wendeline@example.com"

        updated = await call_ok(client, "update_guest", {"profile_id": profile_id, "email": "w.h@example.com",
                                                         "vip": "GLD"})
        assert updated["changed"] == ["email", "vip"]
        assert updated["guest"]["email"] == "w.h@example.com" and updated["guest"]["vip"] == "GLD"
        assert updated["guest"]["phone"] == "+44 20 7946 0000"

        again = await call_ok(client, "get_guest", {"profile_id": profile_id})
        assert again["email"] == "w.h@example.com"

        booking = await call_ok(client, "create_reservation", {
            "arrival": "2026-05-08", "departure": "2026-05-09", "room_type": "KNG", "rate_plan": "BAR", "adults": 1,
            "profile_id": profile_id,
        })
        assert booking["reservation"]["profile_id"] == profile_id
        assert booking["reservation"]["guest_name"] == "Wendeline Harrowgate"


async def test_search_pages_in_the_handshake_era(app_url: str) -> None:
    async with mcp_client(app_url, mode="legacy") as client:
        for given in ("Ada", "Bea", "Cy"):
            await call_ok(client, "create_guest", {"given_name": given, "surname": "Listmaker"})
        first = await call_ok(client, "search_guests", {"surname": "Listmaker", "limit": 2})
        assert first["page"]["has_more"] is True and first["page"]["next_offset"] == 2
        rest = await call_ok(client, "search_guests", {"surname": "Listmaker", "limit": 2, "offset": 2})
        names = {g["given_name"] for g in first["guests"] + rest["guests"]}
        assert names == {"Ada", "Bea", "Cy"} and rest["page"]["has_more"] is False


async def test_bad_input_gets_a_specific_error(app_url: str, sandbox_server: Any) -> None:
    async with mcp_client(app_url) as client:
        error = await call_error(client, "get_guest", {"profile_id": "987654321"})
        assert "no guest profile 987654321" in error and "search_guests" in error

        before = len(sandbox_server.sandbox.requests)
        error = await call_error(client, "search_guests", {})
        assert "give at least one of surname, given_name, email or phone" in error
        error = await call_error(client, "search_guests", {"surname": "Smith", "limit": 500})
        assert "limit" in error
        error = await call_error(client, "create_guest", {"surname": "Mailer", "email": "not-an-address"})
        assert "email" in error
        error = await call_error(client, "update_guest", {"profile_id": "200001"})
        assert "nothing to change" in error
        assert len(sandbox_server.sandbox.requests) == before, "refused before any OHIP call"

        error = await call_error(client, "update_guest", {"profile_id": "987654321", "city": "Paris"})
        assert "no guest profile 987654321" in error
