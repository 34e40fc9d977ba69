"""Authorization: the scope each tool needs, the tools a caller may see, and the hotel allow-list check.

Read tools need opera:read, write tools opera:write, and tools that move money or end a stay (post_charge,
post_payment, check_out) opera:billing, whatever their module declares.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from mcp.types import ListToolsResult

from app.security.principal import SCOPE_BILLING, SCOPE_READ, SCOPE_WRITE, Principal
from app.tools.registry import ToolDef

#: Tools that need opera:billing even if their module declared them as plain writes.
BILLING_TOOLS = frozenset({"post_charge", "post_payment", "check_out"})

_SCOPE_BY_ACCESS = {"read": SCOPE_READ, "write": SCOPE_WRITE, "billing": SCOPE_BILLING}


def required_scope(tool: ToolDef) -> str:
    if tool.name in BILLING_TOOLS:
        return SCOPE_BILLING
    return _SCOPE_BY_ACCESS[tool.access]


def scope_map(tools: Iterable[ToolDef]) -> dict[str, str]:
    return {t.name: required_scope(t) for t in tools}


def scope_refusal(principal: Principal, tool: str, scope: str) -> str | None:
    """Why `principal` may not call `tool`, or None if it may."""
    if principal.has_scope(scope):
        return None
    held = ", ".join(sorted(principal.scopes)) or "none"
    return (f"{tool} needs the {scope} scope and caller {principal.name!r} holds {held}; "
            f"ask the operator for a key or token with {scope}")


def hotel_refusal(principal: Principal, hotel_id: str) -> str | None:
    """Why `principal` may not act for `hotel_id`, or None if it may."""
    if principal.may_use_hotel(hotel_id):
        return None
    allowed = ", ".join(sorted(principal.hotels)) or "none"
    return (f"caller {principal.name!r} is not allowed to act for hotel {hotel_id}; "
            f"its hotels are: {allowed}. Use one of those hotel_id values")


class ToolListFilter:
    """MCP server middleware: `tools/list` shows a caller only the tools its scopes allow."""

    def __init__(self, scopes_by_tool: dict[str, str], caller: Callable[[], Principal | None]) -> None:
        self.scopes_by_tool = scopes_by_tool
        self.caller = caller

    async def __call__(self, ctx: Any, call_next: Callable[[Any], Awaitable[Any]]) -> Any:
        result = await call_next(ctx)
        if ctx.method != "tools/list":
            return result
        principal = self.caller()
        if principal is None:
            return result

        def visible(name: Any) -> bool:
            scope = self.scopes_by_tool.get(str(name))
            # A tool this layer does not know (registered outside the toolsets) is shown to readers only.
            return principal.has_scope(scope or SCOPE_READ)

        if isinstance(result, ListToolsResult):
            return result.model_copy(update={"tools": [t for t in result.tools if visible(t.name)]})
        if isinstance(result, dict) and isinstance(result.get("tools"), list):
            return {**result, "tools": [t for t in result["tools"] if isinstance(t, dict) and visible(t.get("name"))]}
        return result
