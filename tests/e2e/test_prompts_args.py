"""Prompts over real HTTP: wrong or missing arguments get -32602 with the reason (never -32603 and an ERROR log),
and a prompt names only tools the caller is offered, each with arguments its input schema has."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from app.security.api_keys import new_api_key
from tests.support.apps import embedded_settings, running_app
from tests.support.mcp_client import Mode, mcp_client
from tests.support.servers import ServerThread

INVALID_PARAMS = -32602
#: Every prompt with arguments that make it render fully.
PROMPTS = {
    "arrivals_briefing": {"hotel_id": "SAND01", "date": "2026-05-01"},
    "checkout_assistant": {"reservation": "100309", "hotel_id": "SAND01"},
    "housekeeping_report": {"hotel_id": "SAND01"},
}
CHECKOUT_BY_ROOM = {"room": "101"}
#: A call as a prompt writes it: name(arg=value, ...).
CALL = re.compile(r"\b([a-z][a-z_]+)\(([^()]*)\)")
ARG = re.compile(r"\b([a-z_]+)=")


def text_of(prompt: Any) -> str:
    return "\n".join(m.content.text for m in prompt.messages)


def calls_in(text: str) -> list[tuple[str, list[str]]]:
    return [(m.group(1), ARG.findall(m.group(2))) for m in CALL.finditer(text)]


def mentioned_tools(text: str, all_tools: set[str]) -> set[str]:
    return {name for name in all_tools if re.search(rf"\b{name}\b", text)}


async def rendered(client: Client) -> dict[str, str]:
    texts = {name: text_of(await client.get_prompt(name, args)) for name, args in PROMPTS.items()}
    texts["checkout_assistant/room"] = text_of(await client.get_prompt("checkout_assistant", CHECKOUT_BY_ROOM))
    return texts


def check_calls(texts: dict[str, str], tools: dict[str, Any], all_tools: set[str]) -> list[str]:
    """Every tool a prompt names is offered; every call it spells out uses arguments of that tool's schema."""
    problems = []
    for prompt, text in texts.items():
        for name in mentioned_tools(text, all_tools) - set(tools):
            problems.append(f"{prompt} names {name}, which this caller is not offered: {text!r}")
        for name, args in calls_in(text):
            if name not in tools:
                continue
            properties = set(tools[name].input_schema.get("properties", {}))
            problems += [f"{prompt}: {name}({arg}=...) but {name} has no argument {arg}"
                         for arg in args if arg not in properties]
    return problems


@pytest.fixture(scope="module")
def all_tool_names(server: ServerThread) -> set[str]:
    from app.server import load_toolsets

    return {t.name for t in load_toolsets(server.app.state.services)}


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_wrong_argument_names_and_values_are_invalid_params_with_the_reason(
        server: ServerThread, mode: Mode, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    async with mcp_client(server.url, mode=mode) as client:
        with pytest.raises(MCPError) as wrong_name:
            await client.get_prompt("arrivals_briefing", {"hotel": "SAND01"})
        with pytest.raises(MCPError) as unknown_prompt:
            await client.get_prompt("arrival_briefing", {})
        with pytest.raises(MCPError) as bad_date:
            await client.get_prompt("arrivals_briefing", {"date": "tomorrow"})
        with pytest.raises(MCPError) as nothing:
            await client.get_prompt("checkout_assistant", {})
        with pytest.raises(MCPError) as bad_hotel:
            await client.get_prompt("housekeeping_report", {"hotel_id": "NOT A HOTEL"})
    assert wrong_name.value.error.code == INVALID_PARAMS
    assert "no argument 'hotel'" in wrong_name.value.message and "did you mean hotel_id?" in wrong_name.value.message
    assert "arrivals_briefing takes hotel_id, date" in wrong_name.value.message
    assert unknown_prompt.value.error.code == INVALID_PARAMS
    assert "arrivals_briefing, checkout_assistant, housekeeping_report" in unknown_prompt.value.message
    assert bad_date.value.error.code == INVALID_PARAMS and "YYYY-MM-DD" in bad_date.value.message
    assert nothing.value.error.code == INVALID_PARAMS and "room number" in nothing.value.message
    assert bad_hotel.value.error.code == INVALID_PARAMS and "not an OPERA hotel code" in bad_hotel.value.message
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], [r.getMessage() for r in errors]


def test_a_non_string_argument_is_invalid_params(server: ServerThread) -> None:
    body = {"jsonrpc": "2.0", "id": 7, "method": "prompts/get",
            "params": {"name": "housekeeping_report", "arguments": {"hotel_id": 12}}}
    headers = {"accept": "application/json, text/event-stream", "content-type": "application/json",
               "mcp-protocol-version": "2025-11-25"}
    answer = httpx2.post(f"{server.url}/mcp", json=body, headers=headers, timeout=10)
    data = [line[5:] for line in answer.text.splitlines() if line.startswith("data:")]
    message = json.loads(data[-1]) if data else answer.json()
    assert message["error"]["code"] == INVALID_PARAMS
    assert "hotel_id must be a string, not int" in message["error"]["message"]


async def test_every_tool_and_argument_a_prompt_names_exists(server: ServerThread, all_tool_names: set[str]) -> None:
    async with mcp_client(server.url) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        texts = await rendered(client)
    assert not check_calls(texts, tools, all_tool_names)
    # The check itself: it catches a wrong argument name and a tool that is not offered.
    assert check_calls({"x": "find_available_rooms(room_types=...)"}, tools, all_tool_names)
    assert check_calls({"x": "then check_out"}, {k: v for k, v in tools.items() if k != "check_out"},
                       all_tool_names)
    assert "check_out(" in texts["checkout_assistant"]


async def test_a_read_only_server_never_tells_the_agent_to_check_out(all_tool_names: set[str]) -> None:
    settings, port = embedded_settings(read_only=True)
    with running_app(settings, port) as srv:
        async with mcp_client(srv.url) as client:
            tools = {t.name: t for t in (await client.list_tools()).tools}
            texts = await rendered(client)
    assert not check_calls(texts, tools, all_tool_names)
    checkout = texts["checkout_assistant"]
    assert "check_out(" not in checkout and "update_room_status" not in texts["housekeeping_report"]
    assert "OPERA_READ_ONLY" in checkout and "hand the check-out to a front-desk colleague" in checkout
    assert "get_folio(" in checkout  # what the agent can still do, it is told to do


@asynccontextmanager
async def keyed_client(url: str, key: str) -> AsyncIterator[Client]:
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {key}"}, timeout=httpx2.Timeout(30.0))
    async with http, Client(streamable_http_client(f"{url}/mcp", http_client=http)) as client:
        yield client


async def test_prompts_follow_the_callers_scopes(all_tool_names: set[str]) -> None:
    reader = new_api_key("reader", "opera:read", "SAND01")
    writer = new_api_key("writer", "opera:read,opera:write", "SAND01")
    settings, port = embedded_settings(mcp_auth="api_key", mcp_api_keys=f"{reader.line}\n{writer.line}")
    with running_app(settings, port) as srv:
        async with keyed_client(srv.url, reader.key) as client:
            reader_tools = {t.name: t for t in (await client.list_tools()).tools}
            reader_texts = await rendered(client)
        async with keyed_client(srv.url, writer.key) as client:
            writer_tools = {t.name: t for t in (await client.list_tools()).tools}
            writer_texts = await rendered(client)
    assert "check_out" not in writer_tools and "update_room_status" in writer_tools
    assert not check_calls(reader_texts, reader_tools, all_tool_names)
    assert not check_calls(writer_texts, writer_tools, all_tool_names)
    assert "opera:billing" in writer_texts["checkout_assistant"] and "check_out(" not in writer_texts[
        "checkout_assistant"]
    assert "update_room_status" in writer_texts["housekeeping_report"]
    assert "update_room_status" not in reader_texts["housekeeping_report"]


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_resources_with_a_wrong_uri_or_hotel_are_invalid_params(
        server: ServerThread, mode: Mode, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    async with mcp_client(server.url, mode=mode) as client:
        refused = {}
        for uri in ("health://nope", "opera://hotels/SAND01/config", "opera://hotels/NOT%20A/configuration",
                    "opera://hotels/NOPE9/configuration"):
            with pytest.raises(MCPError) as error:
                await client.read_resource(uri)
            refused[uri] = error.value
    assert {uri: e.error.code for uri, e in refused.items()} == dict.fromkeys(refused, INVALID_PARAMS)
    assert "not a valid OPERA hotel code" in refused["opera://hotels/NOT%20A/configuration"].message
    offered = "health://live, health://ready, health://status, opera://hotels/{hotel_id}/configuration"
    assert refused["health://nope"].message == f"unknown resource 'health://nope'; this server offers: {offered}"
    assert offered in refused["opera://hotels/SAND01/config"].message
    assert "hotels you may use: SAND01, SAND02" in refused["opera://hotels/NOPE9/configuration"].message
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], [r.getMessage() for r in errors]
