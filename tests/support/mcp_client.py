"""The MCP SDK client over real HTTP, in either protocol era, for end-to-end tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Literal

from mcp import Client
from mcp.types import CallToolResult

Mode = Literal["auto", "legacy"]


@asynccontextmanager
async def mcp_client(base_url: str, mode: Mode = "auto", **kwargs: Any) -> AsyncIterator[Client]:
    async with Client(f"{base_url}/mcp", mode=mode, **kwargs) as client:
        yield client


def text_of(result: CallToolResult) -> str:
    return "\n".join(getattr(block, "text", "") for block in result.content)


async def call_ok(client: Client, name: str, args: dict[str, Any] | None = None) -> dict[str, Any]:
    """Call a tool that must succeed; returns its structured output."""
    result = await client.call_tool(name, args or {})
    assert not result.is_error, f"{name} failed: {text_of(result)}"
    assert result.structured_content is not None, f"{name} returned no structured content"
    return dict(result.structured_content)


async def call_error(client: Client, name: str, args: dict[str, Any] | None = None) -> str:
    """Call a tool that must fail with a tool error; returns the error text."""
    result = await client.call_tool(name, args or {})
    assert result.is_error, f"{name} unexpectedly succeeded: {result.structured_content}"
    return text_of(result)
