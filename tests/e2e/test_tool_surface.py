"""Annotations that cannot drift: what tools/list says about each tool agrees with what the tool is.

For every tool listed with all toolsets on, over both protocol eras: readOnlyHint is true exactly for read tools;
a tool that needs a human's confirmation is destructiveHint and says "Destructive" in words, and a tool that says
"Destructive" is destructiveHint; idempotentHint only for tools that are (reads, tools whose effect is a set state,
tools that take idempotency_key); the order of tools/list is the same on every call and after a restart.
Also what an agent is told when it names a hotel it may not use, or sends a body over the limit.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from app.security.api_keys import new_api_key
from app.security.confirm import CONFIRM_PARAM, CONFIRMED_TOOLS
from app.security.tool_guard import CHECK_BEFORE_RETRY_BY_TOOL, IDEMPOTENCY_PARAM
from app.server import load_toolsets
from tests.support.apps import embedded_settings, running_app
from tests.support.mcp_client import Mode, call_error, mcp_client

#: Writes whose effect is a state set to the given value: repeating the same call changes nothing more.
IDEMPOTENT_BY_NATURE = {
    "update_guest": "replaces the given fields; the same values again change nothing",
    "update_room_status": "sets a room's status; setting it again changes nothing",
    "set_service_request": "sets a room's service request on or off",
    "set_room_condition": "sets or clears a room's condition; the same call again changes nothing",
    "mark_message_received": "marks a message received; marking it again changes nothing",
    "queue_for_room": "a guest already queued keeps the place; the tool reads the queue first",
    "remove_from_queue": "a guest not in the queue is not removed again; the tool reads the queue first",
    "resolve_maintenance": "a request already resolved is left as it is; the tool reads it first",
    "complete_guest_request": "a request already completed or closed is left as it is; the tool reads it first",
    "close_guest_request": "a request already closed is left as it is; the tool reads it first",
}


async def listed_tools(url: str, mode: Mode) -> list[Any]:
    async with mcp_client(url, mode=mode) as client:
        return list((await client.list_tools()).tools)


def drift(tool: Any, access: str, exactly_once: bool) -> list[str]:
    """Every contradiction between one listed tool and the tool as declared."""
    name, hints, words = tool.name, tool.annotations, tool.description or ""
    properties = tool.input_schema.get("properties", {})
    problems: list[str] = []
    if hints is None:
        return [f"{name}: no annotations"]
    if hints.read_only_hint is not (access == "read"):
        problems.append(f"{name}: access {access} but readOnlyHint {hints.read_only_hint}")
    if access == "read" and hints.destructive_hint:
        problems.append(f"{name}: a read tool marked destructiveHint")
    if access == "read" and not hints.idempotent_hint:
        problems.append(f"{name}: a read tool not marked idempotentHint")
    if name in CONFIRMED_TOOLS:
        if not hints.destructive_hint:
            problems.append(f"{name}: needs a human's confirmation but destructiveHint is {hints.destructive_hint}")
        if CONFIRM_PARAM not in properties:
            problems.append(f"{name}: needs a human's confirmation but takes no {CONFIRM_PARAM}")
    elif CONFIRM_PARAM in properties:
        problems.append(f"{name}: takes {CONFIRM_PARAM} but is not among the confirmed tools")
    if ("Destructive" in words) is not bool(hints.destructive_hint):
        problems.append(f"{name}: description {'says' if 'Destructive' in words else 'does not say'} "
                        f"'Destructive' but destructiveHint is {hints.destructive_hint}")
    takes_key = IDEMPOTENCY_PARAM in properties
    if takes_key is not exactly_once:
        problems.append(f"{name}: takes {IDEMPOTENCY_PARAM}: {takes_key}, declares exactly-once: {exactly_once}")
    if takes_key and IDEMPOTENCY_PARAM not in words:
        problems.append(f"{name}: takes {IDEMPOTENCY_PARAM} and its description does not say so")
    if hints.idempotent_hint and access != "read" and not takes_key and name not in IDEMPOTENT_BY_NATURE:
        problems.append(f"{name}: idempotentHint but a repeat may act again (no {IDEMPOTENCY_PARAM}, not a set state)")
    if name in IDEMPOTENT_BY_NATURE and not hints.idempotent_hint:
        problems.append(f"{name}: {IDEMPOTENT_BY_NATURE[name]}, yet idempotentHint is false")
    if access != "read" and name not in IDEMPOTENT_BY_NATURE and name not in CHECK_BEFORE_RETRY_BY_TOOL:
        problems.append(f"{name}: a write a repeat may double, with no check named for when a stop cut it short")
    if hints.open_world_hint is not True and name not in ("health_check", "get_server_info"):
        problems.append(f"{name}: reaches OHIP but openWorldHint is {hints.open_world_hint}")
    return problems


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_annotations_agree_with_access_confirmation_and_description(mode: Mode) -> None:
    settings, port = embedded_settings()
    with running_app(settings, port) as srv:
        tools = await listed_tools(srv.url, mode)
        declared = {t.name: t for t in load_toolsets(srv.app.state.services)}
    assert {t.name for t in tools} == set(declared)
    problems = [p for t in tools for p in drift(t, declared[t.name].access, declared[t.name].exactly_once is not None)]
    assert not problems, "\n".join(problems)


def test_the_drift_check_catches_each_kind_of_contradiction() -> None:
    """The check above is only worth something if it fails on a lying tool: one per rule."""
    from mcp.types import Tool, ToolAnnotations

    def tool(name: str, description: str, properties: dict[str, Any], **hints: bool) -> Tool:
        return Tool(name=name, description=description, input_schema={"type": "object", "properties": properties},
                    annotations=ToolAnnotations(open_world_hint=True, **hints))

    key = {IDEMPOTENCY_PARAM: {"type": "string"}}
    confirm = {CONFIRM_PARAM: {"type": "boolean"}}
    assert drift(tool("get_x", "Read.", {}, read_only_hint=False, idempotent_hint=True), "read", False)
    assert drift(tool("get_x", "Read.", {}, read_only_hint=True, idempotent_hint=False), "read", False)
    assert drift(tool("post_payment", "Destructive: ...", {**key, **confirm}, read_only_hint=False,
                      destructive_hint=False), "billing", True)
    assert drift(tool("post_payment", "Pay.", {**key, **confirm}, read_only_hint=False, destructive_hint=True),
                 "billing", True)
    assert drift(tool("post_charge", "Charge. idempotency_key", key, read_only_hint=False, destructive_hint=False,
                      idempotent_hint=False), "billing", False)
    assert drift(tool("assign_room", "Assign.", {}, read_only_hint=False, idempotent_hint=True), "write", False)
    assert drift(tool("post_charge", "Charge.", {**confirm}, read_only_hint=False), "billing", False)
    assert drift(tool("make_keys", "Keys. idempotency_key", key, read_only_hint=False), "write", True)
    assert not drift(tool("post_charge", "Charge. idempotency_key", key, read_only_hint=False,
                          destructive_hint=False, idempotent_hint=True), "billing", True)


async def test_tools_list_order_is_stable_across_calls_eras_and_restarts() -> None:
    settings, port = embedded_settings()
    with running_app(settings, port) as srv:
        first = [t.name for t in await listed_tools(srv.url, "auto")]
        second = [t.name for t in await listed_tools(srv.url, "auto")]
        legacy = [t.name for t in await listed_tools(srv.url, "legacy")]
    settings, port = embedded_settings()
    with running_app(settings, port) as srv:
        restarted = [t.name for t in await listed_tools(srv.url, "auto")]
    assert len(first) == 53
    assert first == second == legacy == restarted
    # Catalogue order: toolsets in the order of the README's table, so related tools sit together.
    assert first.index("search_reservations") < first.index("check_availability") < first.index("search_guests")
    assert first.index("list_arrivals") < first.index("get_housekeeping_overview") < first.index("get_folio")
    assert first[-2:] == ["health_check", "get_server_info"]


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_an_unknown_hotel_answer_lists_the_hotels_the_caller_may_use(mode: Mode) -> None:
    settings, port = embedded_settings()
    with running_app(settings, port) as srv:
        async with mcp_client(srv.url, mode=mode) as client:
            error = await call_error(client, "search_reservations", {"hotel_id": "NOPE9"})
            with pytest.raises(MCPError) as resource:
                await client.read_resource("opera://hotels/NOPE9/configuration")
    assert "Hotel NOPE9 is unknown to OPERA or not granted to this server" in error
    assert "The hotels you may use: SAND01, SAND02 (pass one as hotel_id)" in error
    assert resource.value.error.code == -32602
    assert "SAND01, SAND02" in resource.value.message


async def test_a_caller_restricted_to_hotels_is_told_its_own() -> None:
    key = new_api_key("desk", "opera:read", "SAND02,NOPE9")
    settings, port = embedded_settings(mcp_auth="api_key", mcp_api_keys=key.line)
    with running_app(settings, port) as srv:
        http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {key.key}"}, timeout=httpx2.Timeout(30.0))
        async with http, Client(streamable_http_client(f"{srv.url}/mcp", http_client=http)) as client:
            not_its_own = await call_error(client, "search_reservations", {"hotel_id": "SAND01"})
            unknown = await call_error(client, "search_reservations", {"hotel_id": "NOPE9"})
    assert "its hotels are: NOPE9, SAND02" in not_its_own
    assert "The hotels you may use: SAND02 (pass one as hotel_id)" in unknown


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_a_body_over_the_limit_reaches_the_agent_as_a_json_rpc_error(mode: Mode) -> None:
    settings, port = embedded_settings(max_body_bytes=4096)
    expected = "request body over 4096 bytes (OPERA_MAX_BODY_BYTES)"
    with running_app(settings, port) as srv:
        async with mcp_client(srv.url, mode=mode) as client:
            with pytest.raises(MCPError) as too_big:
                await client.call_tool("search_reservations", {"text": "x" * 5000})
            assert (await client.list_tools()).tools  # the connection still works
        async with httpx2.AsyncClient(timeout=10) as raw:
            body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/list", "padding": "x" * 5000}).encode()
            declared = await raw.post(f"{srv.url}/mcp", content=body, headers=RAW_HEADERS)

            async def chunks() -> AsyncIterator[bytes]:
                for i in range(0, len(body), 1000):
                    yield body[i:i + 1000]

            chunked = await raw.post(f"{srv.url}/mcp", content=chunks(), headers=RAW_HEADERS)
    assert too_big.value.error.code == -32600 and expected in too_big.value.message
    for answer in (declared, chunked):
        assert answer.status_code == 413
        assert answer.headers["content-type"] == "application/json"
        assert answer.json() == {"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": ANY_TEXT}}
        assert expected in answer.json()["error"]["message"]
    assert "content-length" not in chunked.request.headers


class _AnyText(str):
    def __eq__(self, other: object) -> bool:
        return isinstance(other, str) and bool(other)

    __hash__ = str.__hash__


ANY_TEXT = _AnyText()
RAW_HEADERS = {"accept": "application/json, text/event-stream", "content-type": "application/json",
               "mcp-protocol-version": "2025-11-25"}
