"""The guests toolset through the MCP SDK client over HTTP, against our app pointed at a live sandbox."""

from __future__ import annotations

from typing import Any

from tests.support.apps import running_app, settings_for_sandbox
from tests.support.mcp_client import call_error, call_ok, mcp_client


async def test_create_find_update_a_guest_and_book_for_them(app_url: str) -> None:
    async with mcp_client(app_url) as client:
        created = await call_ok(client, "create_guest", {
            "given_name": "Wendeline", "surname": "Harrowgate", "email": "wendeline@example.com",
            "phone": "+44 20 7946 0000", "city": "London", "country": "gb",
        })
        profile_id = created["profile_id"]
        assert created["guest"]["name"] == "⟦Wendeline Harrowgate⟧" and created["guest"]["country"] == "GB"
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
        assert booking["reservation"]["guest_name"] == "⟦Wendeline Harrowgate⟧"


async def test_search_pages_in_the_handshake_era(app_url: str) -> None:
    async with mcp_client(app_url, mode="legacy") as client:
        for given in ("Ada", "Bea", "Cy"):
            await call_ok(client, "create_guest", {"given_name": given, "surname": "Listmaker"})
        first = await call_ok(client, "search_guests", {"surname": "Listmaker", "limit": 2})
        assert first["page"]["has_more"] is True and first["page"]["next_offset"] == 2
        rest = await call_ok(client, "search_guests", {"surname": "Listmaker", "limit": 2, "offset": 2})
        names = {g["given_name"] for g in first["guests"] + rest["guests"]}
        assert names == {"⟦Ada⟧", "⟦Bea⟧", "⟦Cy⟧"} and rest["page"]["has_more"] is False


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


# --- child records by id, and hotel-configured codes (REAL-OPERA defects 10 and 14, S2) -------------------------


def puts_of(sandbox_server: Any) -> list[dict[str, Any]]:
    return [e.json for e in sandbox_server.sandbox.requests if e.operation_id == "putProfile"]


async def test_changing_a_guests_email_phone_and_address_leaves_one_record_of_each(
    app_url: str, sandbox_server: Any,
) -> None:
    async with mcp_client(app_url) as client:
        created = await call_ok(client, "create_guest", {
            "given_name": "Oona", "surname": "Onerecord", "email": "oona@example.com", "phone": "+1 555 0110",
            "address_lines": ["1 Old Rd"], "city": "Austin", "country": "US",
        })
        profile_id = created["profile_id"]
        held = sandbox_server.sandbox.enterprise.profiles[profile_id]
        email_id, phone_id = held.emails[0].record_id, held.telephones[0].record_id
        address_id = held.addresses[0].record_id

        updated = await call_ok(client, "update_guest", {
            "profile_id": profile_id, "email": "oona.new@example.com", "phone": "+1 555 0111", "city": "Dallas",
        })

    assert updated["guest"]["email"] == "oona.new@example.com" and updated["guest"]["city"] == "⟦Dallas⟧"
    assert [(e.record_id, e.address) for e in held.emails] == [(email_id, "oona.new@example.com")]
    assert [(t.record_id, t.number) for t in held.telephones] == [(phone_id, "+1 555 0111")]
    assert [(a.record_id, a.city, a.lines) for a in held.addresses] == [(address_id, "Dallas", ("1 Old Rd",))]
    (put,) = puts_of(sandbox_server)
    assert put["profileDetails"]["emails"]["emailInfo"][0]["id"] == email_id  # named by id: replaced, not added


async def test_update_guest_sends_only_what_changes(app_url: str, sandbox_server: Any) -> None:
    async with mcp_client(app_url) as client:
        created = await call_ok(client, "create_guest", {
            "surname": "Onlychange", "email": "only@example.com", "phone": "+1 555 0120", "city": "Austin",
        })
        profile_id = created["profile_id"]

        await call_ok(client, "update_guest", {"profile_id": profile_id, "phone": "+1 555 0121"})
        same = await call_ok(client, "update_guest", {"profile_id": profile_id, "email": "only@example.com"})

    (put,) = puts_of(sandbox_server)  # the second call changed nothing, so nothing was sent
    assert set(put["profileDetails"]) == {"telephones"}
    assert same["guest"]["phone"] == "+1 555 0121"


async def test_a_guest_without_an_email_gets_one_added_of_the_hotels_email_type(
    app_url: str, sandbox_server: Any,
) -> None:
    async with mcp_client(app_url) as client:
        profile_id = (await call_ok(client, "create_guest", {"surname": "Nomail"}))["profile_id"]
        await call_ok(client, "update_guest", {"profile_id": profile_id, "email": "found@example.com"})

    held = sandbox_server.sandbox.enterprise.profiles[profile_id]
    assert [(e.address, e.type, e.primary) for e in held.emails] == [("found@example.com", "EMAIL", True)]
    (put,) = puts_of(sandbox_server)
    assert "id" not in put["profileDetails"]["emails"]["emailInfo"][0]


async def test_phone_type_comes_from_the_hotels_list_not_a_literal(app_url: str, sandbox_server: Any) -> None:
    from app.sandbox.state import CommunicationType

    # A chain whose only phone type is MOB (no MOBILE, no CELL): the tool must still work.
    enterprise = sandbox_server.sandbox.enterprise
    enterprise.communication_types = {
        code: kind for code, kind in enterprise.communication_types.items() if kind.role != "Phone"
    } | {"MOB": CommunicationType("MOB", "Mobile", "Phone")}
    async with mcp_client(app_url) as client:
        created = await call_ok(client, "create_guest", {"surname": "Mobcode", "phone": "+1 555 0130"})

    assert [t.type for t in enterprise.profiles[created["profile_id"]].telephones] == ["MOB"]


async def test_a_configured_phone_type_is_used_and_a_wrong_one_is_explained(sandbox_server: Any) -> None:
    profiles = sandbox_server.sandbox.enterprise.profiles
    with running_app(settings_for_sandbox(sandbox_server.url, phone_type="home")) as srv:
        async with mcp_client(srv.url) as client:
            created = await call_ok(client, "create_guest", {"surname": "Homephone", "phone": "+1 555 0140"})
            phoneless = (await call_ok(client, "create_guest", {"surname": "Phoneless"}))["profile_id"]
    assert [t.type for t in profiles[created["profile_id"]].telephones] == ["HOME"]

    with running_app(settings_for_sandbox(sandbox_server.url, phone_type="MOBILE")) as srv:
        async with mcp_client(srv.url) as client:
            # Replacing a phone keeps that record's own type, so no configured code is needed ...
            await call_ok(client, "update_guest", {"profile_id": created["profile_id"], "phone": "+1 555 0141"})
            # ... adding one needs it, and MOBILE is not this chain's.
            error = await call_error(client, "update_guest", {"profile_id": phoneless, "phone": "+1 555 0142",
                                                              "email": "p@example.com"})
    assert [t.type for t in profiles[created["profile_id"]].telephones] == ["HOME"]
    assert "OPERA_PHONE_TYPE=MOBILE" in error and "CommunicationTypePhone" in error and "CELL" in error
    assert "operator" in error and profiles[phoneless].emails == []  # refused before putProfile


async def test_a_put_that_adds_a_record_is_not_repeated_when_its_answer_is_lost(sandbox_server: Any) -> None:
    with running_app(settings_for_sandbox(sandbox_server.url, max_retries=3)) as srv:
        async with mcp_client(srv.url) as client:
            profile_id = (await call_ok(client, "create_guest", {"surname": "Lostput"}))["profile_id"]
            sandbox_server.sandbox.faults.inject(operation="putProfile", mode="drop", times=1)
            error = await call_error(client, "update_guest", {"profile_id": profile_id, "email": "l@example.com"})
            assert "unknown" in error and "get_guest" in error

            # Repeating the tool is safe: it reads first, finds the e-mail and replaces it by id.
            sandbox_server.sandbox.faults.inject(operation="putProfile", mode="drop", times=1)
            await call_ok(client, "update_guest", {"profile_id": profile_id, "email": "l2@example.com"})

    held = sandbox_server.sandbox.enterprise.profiles[profile_id]
    assert [e.address for e in held.emails] == ["l2@example.com"]
    assert len(puts_of(sandbox_server)) == 3  # one add, not repeated; one replace by id, repeated once
