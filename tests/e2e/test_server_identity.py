"""What a client shows for this server: its name, title, description, version and icon, in `initialize`
(2025-11-25) and in `server/discover` and every result's _meta (2026-07-28), over the SDK client and raw HTTP."""

from __future__ import annotations

import base64
from typing import Any

import httpx2
import pytest

from app import __version__
from tests.support.mcp_client import Mode, mcp_client
from tests.support.servers import ServerThread

CLIENT_INFO = {"name": "identity-test", "version": "1.0"}


def check_identity(info: dict[str, Any]) -> None:
    assert info["name"] == "opera-cloud-mcp"
    assert info["title"] == "OPERA Cloud front desk"
    assert info["version"] == __version__
    assert "OPERA Cloud" in info["description"]
    [icon] = info["icons"]
    assert icon["mimeType"] == "image/svg+xml"
    prefix = "data:image/svg+xml;base64,"
    assert icon["src"].startswith(prefix)
    svg = base64.b64decode(icon["src"][len(prefix):]).decode()
    assert svg.lstrip().startswith("<svg") and "<script" not in svg


def post(server: ServerThread, body: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
    response = httpx2.post(f"{server.url}/mcp", json=body, timeout=10, headers={
        "Accept": "application/json, text/event-stream", "Content-Type": "application/json", **headers})
    assert response.status_code == 200, response.text
    if response.headers["content-type"].startswith("text/event-stream"):
        data = [line[5:] for line in response.text.splitlines() if line.startswith("data:")]
        return dict(httpx2.Response(200, content=data[-1]).json())
    return dict(response.json())


def test_initialize_names_the_server_with_title_and_icon(server: ServerThread) -> None:
    answer = post(server, {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": CLIENT_INFO}},
        {"MCP-Protocol-Version": "2025-11-25"})
    check_identity(answer["result"]["serverInfo"])


def test_server_discover_names_the_server_with_title_and_icon(server: ServerThread) -> None:
    meta = {"io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientInfo": CLIENT_INFO,
            "io.modelcontextprotocol/clientCapabilities": {}}
    answer = post(server, {"jsonrpc": "2.0", "id": 1, "method": "server/discover", "params": {"_meta": meta}},
                  {"MCP-Protocol-Version": "2026-07-28", "Mcp-Method": "server/discover"})
    check_identity(answer["result"]["_meta"]["io.modelcontextprotocol/serverInfo"])


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_the_sdk_client_sees_title_and_icon(server: ServerThread, mode: Mode) -> None:
    async with mcp_client(server.url, mode=mode) as client:
        info = client.server_info
    assert info is not None
    check_identity(info.model_dump(by_alias=True, mode="json", exclude_none=True))
