"""Per-connection narrowing (X-MCP-Toolsets, X-MCP-Readonly, X-MCP-Hotel and the /mcp/readonly, /mcp/toolsets/...,
/mcp/hotels/... URLs): tools/list and tools/call follow it in both eras, the connection's hotel is the default and
the only one served, and nothing a client asks for widens what the operator or its key allows."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from app.security.api_keys import new_api_key
from tests.support.apps import embedded_settings, running_app
from tests.support.mcp_client import call_error, call_ok
from tests.support.servers import ServerThread

MCP_HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json",
               "MCP-Protocol-Version": "2025-11-25"}
LIST = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
READS_OF = {"reservations": {"search_reservations", "get_reservation"}, "front_desk": {"list_arrivals"}}


@pytest.fixture(scope="module")
def server() -> Iterator[ServerThread]:
    """Every toolset, read and write, no authentication (loopback): only the client narrows."""
    settings, port = embedded_settings()
    with running_app(settings, port) as srv:
        yield srv


@pytest.fixture(scope="module")
def narrow_server() -> Iterator[ServerThread]:
    """An operator who offers three toolsets, read-only."""
    settings, port = embedded_settings(toolsets="reservations,front_desk,system", read_only=True)
    with running_app(settings, port) as srv:
        yield srv


@asynccontextmanager
async def client_at(url: str, headers: dict[str, str] | None = None, mode: str = "auto") -> AsyncIterator[Client]:
    http = httpx2.AsyncClient(headers=headers or {}, timeout=httpx2.Timeout(30.0))
    async with http, Client(streamable_http_client(url, http_client=http), mode=mode) as client:  # type: ignore[arg-type]
        yield client


async def names_at(url: str, headers: dict[str, str] | None = None, mode: str = "auto") -> dict[str, Any]:
    async with client_at(url, headers, mode) as client:
        return {t.name: t for t in (await client.list_tools()).tools}


def post(url: str, headers: dict[str, str] | None = None, body: dict[str, Any] = LIST) -> httpx2.Response:
    return httpx2.post(url, json=body, headers={**MCP_HEADERS, **(headers or {})}, timeout=30)


def message_of(response: httpx2.Response) -> dict[str, Any]:
    if response.headers.get("content-type", "").startswith("text/event-stream"):
        data = [line[5:].strip() for line in response.text.splitlines() if line.startswith("data:")]
        return dict(json.loads(data[-1]))
    return dict(response.json())


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_headers_narrow_the_tools_listed_and_called(server: ServerThread, mode: str) -> None:
    everything = await names_at(f"{server.url}/mcp", mode=mode)
    headers = {"X-MCP-Toolsets": "reservations , front_desk", "X-MCP-Readonly": "true"}
    async with client_at(f"{server.url}/mcp", headers, mode) as client:
        narrowed = {t.name: t for t in (await client.list_tools()).tools}
        assert set(narrowed) < set(everything)
        assert READS_OF["reservations"] | READS_OF["front_desk"] <= set(narrowed)
        assert all(t.annotations is not None and t.annotations.read_only_hint for t in narrowed.values())
        assert {"check_availability", "create_reservation", "check_in", "search_guests"}.isdisjoint(narrowed)
        other_toolset = await call_error(client, "check_availability", {"arrival": "2026-05-01",
                                                                       "departure": "2026-05-02"})
        assert "check_availability is not offered on this connection" in other_toolset
        assert "toolset 'availability'" in other_toolset and "front_desk, reservations" in other_toolset
        write = await call_error(client, "cancel_reservation", {"reservation_id": "1", "reason_text": "x"})
        assert "read-only (X-MCP-Readonly or /mcp/readonly)" in write
        assert (await call_ok(client, "list_arrivals", {}))["date"] == "2026-05-01"  # what it keeps works
    # "off" (like "", false, f, no, n, 0) is not read-only.
    assert set(await names_at(f"{server.url}/mcp", {"X-MCP-Readonly": "off"}, mode)) == set(everything)


async def test_url_forms_narrow_as_the_headers_do(server: ServerThread) -> None:
    by_headers = await names_at(f"{server.url}/mcp", {"X-MCP-Toolsets": "reservations,front_desk",
                                                       "X-MCP-Readonly": "1"})
    for path in ("/mcp/toolsets/reservations,front_desk/readonly", "/mcp/readonly/toolsets/front_desk,reservations/"):
        assert set(await names_at(server.url + path)) == set(by_headers), path
    read_only = await names_at(f"{server.url}/mcp/readonly")
    assert read_only and all(t.annotations.read_only_hint for t in read_only.values())
    assert "check_availability" in read_only and "post_charge" not in read_only
    # Headers narrow a URL further, never back.
    front_desk = set(await names_at(f"{server.url}/mcp", {"X-MCP-Toolsets": "front_desk"}))
    assert "check_in" in front_desk and "search_reservations" not in front_desk
    assert set(await names_at(f"{server.url}/mcp/toolsets/reservations,front_desk",
                              {"X-MCP-Toolsets": "front_desk,billing"})) == front_desk
    for path in ("/mcp/nothing", "/mcp/toolsets", "/mcp/readonly/readonly", "/mcp/hotels/"):
        assert post(server.url + path).status_code == 404, path


async def test_a_hotel_url_makes_it_the_default_and_the_only_hotel(server: ServerThread) -> None:
    stay = {"arrival": "2026-05-01", "departure": "2026-05-02"}
    for url, headers in ((f"{server.url}/mcp/hotels/SAND02", {}), (f"{server.url}/mcp", {"X-MCP-Hotel": "SAND02"})):
        async with client_at(url, headers) as client:
            offers = await call_ok(client, "check_availability", stay)
            assert offers["hotel_id"] == "SAND02"
            refused = await call_error(client, "check_availability", {**stay, "hotel_id": "SAND01"})
            assert "not allowed to act for hotel SAND01" in refused and "its hotels are: SAND02" in refused
            prompt = await client.get_prompt("arrivals_briefing", {})
            assert 'hotel_id="SAND02"' in prompt.messages[0].content.text  # type: ignore[union-attr]
    async with client_at(f"{server.url}/mcp") as client:
        assert (await call_ok(client, "check_availability", stay))["hotel_id"] == "SAND01"  # no narrowing


def test_hotels_that_cannot_be_honoured_are_refused_before_anything_is_served(server: ServerThread) -> None:
    conflict = post(f"{server.url}/mcp/hotels/SAND02", {"X-MCP-Hotel": "SAND01"})
    assert conflict.status_code == 400
    assert "name one hotel" in conflict.json()["error"]["message"]
    malformed = post(f"{server.url}/mcp", {"X-MCP-Hotel": "SAND 01;"})
    assert malformed.status_code == 400 and "not an OPERA hotel code" in malformed.json()["error"]["message"]
    assert post(f"{server.url}/mcp/hotels/SAND%2001").status_code == 400
    assert post(f"{server.url}/mcp/hotels/..%2F..%2Foauth").status_code == 404  # not one segment: no such URL


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_nothing_a_client_asks_for_widens_what_the_operator_offers(narrow_server: ServerThread,
                                                                         mode: str) -> None:
    url = f"{narrow_server.url}/mcp"
    offered = await names_at(url, mode=mode)
    assert offered and all(t.annotations.read_only_hint for t in offered.values())
    # A read-only server stays read-only whatever the header says.
    assert set(await names_at(url, {"X-MCP-Readonly": "false"}, mode)) == set(offered)
    # A toolset the operator switched off is ignored (as GitHub's server does); the rest narrows.
    kept = await names_at(url, {"X-MCP-Toolsets": "billing,reservations,spa"}, mode)
    assert set(kept) == set(await names_at(url, {"X-MCP-Toolsets": "reservations"}, mode))
    assert READS_OF["reservations"] <= set(kept) < set(offered)
    assert "get_folio" not in kept and "list_arrivals" not in kept
    async with client_at(url, {"X-MCP-Toolsets": "billing,reservations"}, mode) as client:
        refused = await call_error(client, "get_folio", {"reservation_id": "1"})
        assert "switched off" in refused and "OPERA_TOOLSETS" in refused
    # Only operator-off toolsets asked for: nothing would remain, so the request is refused, naming what is offered.
    for response in (post(url, {"X-MCP-Toolsets": "billing"}), post(f"{url}/toolsets/billing,spa")):
        assert response.status_code == 400
        message = response.json()["error"]["message"]
        assert "is offered by this server" in message and "reservations, front_desk, system" in message


def test_a_hotel_outside_the_keys_hotels_is_refused_with_403(tmp_path: Any) -> None:
    desk = new_api_key("sand01-desk", "opera:read,opera:write", "SAND01")
    audit = tmp_path / "audit.jsonl"
    settings, port = embedded_settings(mcp_auth="api_key", mcp_api_keys=desk.line, audit_log=str(audit))
    with running_app(settings, port) as srv:
        auth = {"Authorization": f"Bearer {desk.key}"}
        for url, headers in ((f"{srv.url}/mcp/hotels/SAND02", auth), (f"{srv.url}/mcp", {**auth,
                                                                                          "X-MCP-Hotel": "SAND02"})):
            refused = post(url, headers)
            assert refused.status_code == 403, refused.text
            message = refused.json()["error"]["message"]
            assert "hotel SAND02" in message and "'sand01-desk' may not use" in message and "SAND01" in message
        assert post(f"{srv.url}/mcp/hotels/SAND02").status_code == 401  # authentication comes first
        allowed = post(f"{srv.url}/mcp/hotels/SAND01/readonly", auth)
        assert allowed.status_code == 200
        names = {t["name"] for t in message_of(allowed)["result"]["tools"]}
        assert "search_reservations" in names and "create_reservation" not in names
    events = [json.loads(line) for line in audit.read_text().splitlines()]
    refusals = [e for e in events if e.get("reason") == "narrowing_hotel"]
    assert refusals and refusals[0]["caller"]["name"] == "sand01-desk" and refusals[0]["http"]["status"] == 403


def test_narrowing_urls_pass_the_same_host_origin_and_method_checks(server: ServerThread) -> None:
    url = f"{server.url}/mcp/readonly"
    assert post(url, {"Host": "attacker.example"}).status_code == 421
    assert post(url, {"Origin": "http://attacker.example"}).status_code == 403
    assert post(url, {"Origin": server.url}).status_code == 200
    assert httpx2.get(url, headers=MCP_HEADERS).status_code == 405
    assert post(f"{url}?api_key=omcp_0123456789abcdef").status_code == 400


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_get_server_info_and_prompts_describe_the_narrowed_connection(server: ServerThread, mode: str) -> None:
    """An agent on a narrowed connection is told its own hotel, read-only and tools, and a prompt never sends it to a
    tool the connection narrowed away."""
    url = f"{server.url}/mcp/hotels/SAND02/toolsets/reservations,billing,system"
    async with client_at(url, {"X-MCP-Readonly": "true"}, mode) as client:
        info = await call_ok(client, "get_server_info")
        prompt = await client.get_prompt("checkout_assistant", {"reservation": "500001"})
    listed = await names_at(url, {"X-MCP-Readonly": "true"}, mode)
    assert info["default_hotel_id"] == "SAND02" and info["read_only"] is True
    assert info["toolsets"] == ["reservations", "billing", "system"]
    assert set(info["tools"]) == set(listed) and "check_out" not in info["tools"] and "get_folio" in info["tools"]
    text = " ".join(getattr(m.content, "text", "") for m in prompt.messages)
    assert "get_folio" in text and "check_out(" not in text and "post_payment(" not in text
    async with client_at(f"{server.url}/mcp", None, mode) as client:
        plain = await call_ok(client, "get_server_info")
    assert plain["default_hotel_id"] == "SAND01" and "check_out" in plain["tools"]
