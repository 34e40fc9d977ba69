"""Authorization: the scope each tool needs, the tools a caller may see, and the hotel allow-list check.

Read tools need opera:read, write tools opera:write, and tools that move money or end a stay (post_charge,
post_payment, check_out) opera:billing, whatever their module declares.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from mcp.shared.exceptions import MCPError
from mcp.types import CallToolResult, ListToolsResult, TextContent

from app.security.principal import ANY_HOTEL, SCOPE_BILLING, SCOPE_READ, SCOPE_WRITE, Principal
from app.tools.registry import ToolDef, switched_off

if TYPE_CHECKING:
    from app.config import Settings

#: Why a tool is not offered to the caller of the request being served (None: it is offered).
Unavailability = Callable[[str], "str | None"]

#: Tools that need opera:billing even if their module declared them as plain writes.
BILLING_TOOLS = frozenset({"post_charge", "post_payment", "check_out"})

_SCOPE_BY_ACCESS = {"read": SCOPE_READ, "write": SCOPE_WRITE, "billing": SCOPE_BILLING}
#: JSON-RPC "invalid params": the caller asked for something its credentials do not cover.
INVALID_PARAMS = -32602


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


def tool_unavailability(tools: Sequence[ToolDef], settings: Settings,
                        caller: Callable[[], Principal | None]) -> Unavailability:
    """Why a tool is not offered to the current caller: no such tool, OPERA_TOOLSETS/OPERA_READ_ONLY, or a scope
    the caller's credentials lack; None when the caller may call it."""
    by_name = {t.name: t for t in tools}

    def why_not(name: str) -> str | None:
        tool = by_name.get(name)
        if tool is None:
            return "this server has no such tool"
        off = switched_off(tool, settings)
        if off is not None:
            return off
        principal = caller()
        scope = required_scope(tool)
        if principal is not None and not principal.has_scope(scope):
            return f"your credentials lack the {scope} scope"
        return None

    return why_not


def configured_hotels(settings: Settings, extra: Iterable[str] = ()) -> list[str]:
    """The hotels this server is set up for: the default hotel, those whose business events it polls, and `extra`
    (the embedded sandbox's hotels in sandbox mode); in that order, without repeats."""
    seen: dict[str, None] = {}
    for hotel in (settings.default_hotel_id, *settings.event_hotels, *extra):
        seen.setdefault(hotel.upper(), None)
    return list(seen)


def hotels_for(principal: Principal | None, configured: Sequence[str]) -> list[str]:
    """The hotels a caller may use: its own allow-list, or (when it may use any) the configured ones."""
    if principal is None or ANY_HOTEL in principal.hotels:
        return list(configured)
    return sorted(principal.hotels)


def hotel_refusal(principal: Principal, hotel_id: str) -> str | None:
    """Why `principal` may not act for `hotel_id`, or None if it may."""
    if principal.may_use_hotel(hotel_id):
        return None
    allowed = ", ".join(sorted(principal.hotels)) or "none"
    return (f"caller {principal.name!r} is not allowed to act for hotel {hotel_id}; "
            f"its hotels are: {allowed}. Use one of those hotel_id values")


class PromptHotelCheck:
    """MCP server middleware: prompts/get for a hotel outside the caller's allow-list (its hotel_id argument, or the
    default hotel when it names none) is refused with -32602 naming the caller's hotels before anything is rendered,
    as tools and resources refuse it. `refused(prompt, principal, hotel, why)` counts and audits the refusal."""

    def __init__(self, caller: Callable[[], Principal | None], default_hotel: str,
                 refused: Callable[[str, Principal | None, str, str], object]) -> None:
        self.caller = caller
        self.default_hotel = default_hotel
        self.refused = refused

    async def __call__(self, ctx: Any, call_next: Callable[[Any], Awaitable[Any]]) -> Any:
        if ctx.method == "prompts/get" and isinstance(ctx.params, dict):
            arguments = ctx.params.get("arguments")
            given = arguments.get("hotel_id") if isinstance(arguments, dict) else None
            hotel = (given.strip() if isinstance(given, str) else "") or self.default_hotel
            principal = self.caller()
            why = "no authenticated caller" if principal is None else hotel_refusal(principal, hotel)
            if why:
                name = str(ctx.params.get("name"))[:60]
                self.refused(name, principal, hotel[:40], why)
                raise MCPError(code=INVALID_PARAMS, message=f"prompt {name} refused: {why}")
        return await call_next(ctx)


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


#: The OHIP client's words for a 403 about a hotel (app/opera/http.py): the hotel is unknown to OPERA or not
#: granted to this integration user; the gateway does not say which.
_HOTEL_FORBIDDEN = re.compile(r"for hotel ([A-Za-z0-9_-]{1,20}) (?:to this integration user|with 403)")


class UnknownHotelHint:
    """MCP server middleware: a tool error saying OHIP refused the hotel (unknown to OPERA, or not granted) ends
    with the hotels the caller may use, so the agent can pick a valid hotel_id instead of asking an operator."""

    def __init__(self, caller: Callable[[], Principal | None], configured: Sequence[str]) -> None:
        self.caller = caller
        self.configured = list(configured)

    def sentence(self, hotel_id: str) -> str:
        hotels = [h for h in hotels_for(self.caller(), self.configured) if h != hotel_id.upper()]
        if not hotels:
            return ""
        return f" The hotels you may use: {', '.join(hotels)} (pass one as hotel_id)."

    async def __call__(self, ctx: Any, call_next: Callable[[Any], Awaitable[Any]]) -> Any:
        result = await call_next(ctx)
        if ctx.method != "tools/call":
            return result
        if isinstance(result, CallToolResult) and result.is_error:
            blocks: list[Any] = list(result.content)
            if self._extend(blocks):
                return result.model_copy(update={"content": blocks})
        elif isinstance(result, dict) and result.get("isError") and isinstance(result.get("content"), list):
            blocks = list(result["content"])
            if self._extend(blocks):
                return {**result, "content": blocks}
        return result

    def _extend(self, blocks: list[Any]) -> bool:
        """Add the hotel sentence to the first text block that reports OHIP refusing a hotel; whether it did."""
        for i, block in enumerate(blocks):
            text = block.text if isinstance(block, TextContent) else (
                block.get("text") if isinstance(block, dict) and block.get("type") == "text" else None)
            if not isinstance(text, str) or not (found := _HOTEL_FORBIDDEN.search(text)):
                continue
            hotel = found.group(1)
            text = f"{text} Hotel {hotel} is unknown to OPERA or not granted to this server.{self.sentence(hotel)}"
            blocks[i] = block.model_copy(update={"text": text}) if isinstance(block, TextContent) else {
                **block, "text": text}
            return True
        return False
