"""Mcp-Param-* headers (2026-07-28 era) over real HTTP: a tool that binds an argument to a header still has the
header checked against the body on every call (the SDK's 400), while the front-desk tools, which declare no
header, answer as before whatever Mcp-Param-* headers a client sends (the server skips the SDK's schema walk for
them: app/server.py OperaMCPServer)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest
from mcp.server.mcpserver import MCPServer
from mcp.types import CallToolResult, TextContent

from app.server import create_app, declares_mcp_headers
from tests.support.apps import embedded_settings
from tests.support.servers import ServerThread, serve

ERA = "2026-07-28"


def register_header_tool(mcp: MCPServer) -> None:
    def routed(region: str) -> CallToolResult:
        return CallToolResult(content=[TextContent(type="text", text=f"region {region}")])

    mcp._tool_manager.add_tool(routed, description="Test fixture: region mirrored in Mcp-Param-Region.").parameters = {
        "type": "object", "properties": {"region": {"type": "string", "x-mcp-header": "Region"}},
        "required": ["region"], "additionalProperties": False}


@pytest.fixture(scope="module")
def server() -> Iterator[ServerThread]:
    settings, port = embedded_settings()
    with serve(create_app(settings, extra_registrations=[register_header_tool]), port=port) as srv:
        yield srv


def call(server: ServerThread, tool: str, arguments: dict[str, Any], headers: dict[str, str]) -> httpx2.Response:
    body = {"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {
        "name": tool, "arguments": arguments,
        "_meta": {"io.modelcontextprotocol/protocolVersion": ERA,
                  "io.modelcontextprotocol/clientCapabilities": {},
                  "io.modelcontextprotocol/clientInfo": {"name": "test", "version": "1"}}}}
    return httpx2.post(f"{server.url}/mcp", content=json.dumps(body), timeout=30, headers={
        "Content-Type": "application/json", "Accept": "application/json, text/event-stream",
        "MCP-Protocol-Version": ERA, "Mcp-Method": "tools/call", "Mcp-Name": tool, **headers})


def result_of(response: httpx2.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    data = [line[5:] for line in response.text.splitlines() if line.startswith("data:")]
    message = json.loads(data[-1] if data else response.text)
    return dict(message["result"])


def test_a_declared_header_that_disagrees_with_the_body_is_refused_every_time(server: ServerThread) -> None:
    for _ in range(3):  # not only the first call: the decision per tool is kept, the check is not
        refused = call(server, "routed", {"region": "eu"}, {"Mcp-Param-Region": "us"})
        assert refused.status_code == 400, refused.text
        assert "Mcp-Param-Region" in refused.text
        missing = call(server, "routed", {"region": "eu"}, {})
        assert missing.status_code == 400, missing.text
        agreed = result_of(call(server, "routed", {"region": "eu"}, {"Mcp-Param-Region": "eu"}))
        assert agreed["content"][0]["text"] == "region eu"


def test_tools_without_declarations_ignore_mcp_param_headers(server: ServerThread) -> None:
    plain = result_of(call(server, "get_server_info", {}, {}))
    with_header = result_of(call(server, "get_server_info", {}, {"Mcp-Param-Region": "us"}))
    assert not plain.get("isError") and not with_header.get("isError")
    assert plain["structuredContent"]["default_hotel_id"] == with_header["structuredContent"]["default_hotel_id"]


def test_declaration_found_at_any_depth() -> None:
    assert declares_mcp_headers({"properties": {"a": {"anyOf": [{"type": "string", "x-mcp-header": "A"}]}}})
    assert declares_mcp_headers({"$defs": {"X": {"properties": {"b": {"x-mcp-header": "B"}}}}})
    # A property that is merely called x-mcp-header errs on the checked side: the SDK walks that schema as before.
    assert declares_mcp_headers({"properties": {"x-mcp-header": {"type": "string"}}})
    assert not declares_mcp_headers({"type": "object", "properties": {"region": {"type": "string"}}})
