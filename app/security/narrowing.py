"""Per-connection narrowing: a client asks, by request headers or by the URL it connects to, for fewer toolsets,
read-only tools or one hotel; never for more than the operator (OPERA_TOOLSETS, OPERA_READ_ONLY) and its own
credentials (scopes, hotels) allow.

| header                            | URL form                   | narrows                                          |
|-----------------------------------|----------------------------|--------------------------------------------------|
| X-MCP-Toolsets: reservations,...  | /mcp/toolsets/a,b          | the toolsets offered (OPERA_TOOLSETS)            |
| X-MCP-Readonly: true              | /mcp/readonly              | read tools only (OPERA_READ_ONLY)                |
| X-MCP-Hotel: SAND02               | /mcp/hotels/SAND02         | the default hotel, and the only hotel served     |

URL forms combine in any order (/mcp/hotels/SAND02/toolsets/front_desk/readonly), and with the headers: toolsets
are intersected, read-only wins, two different hotels are refused. As GitHub's MCP server treats X-MCP-Toolsets
and X-MCP-Readonly, a toolset the server does not offer is ignored (only if none of those asked for is offered is
the request refused, 400), and X-MCP-Readonly is false only for "", false, f, no, n, 0 or off. A hotel cannot be
ignored: a malformed code is refused with 400 and one the caller may not use with 403.

NarrowingPaths (outermost ASGI) turns a narrowing URL into /mcp and keeps what it asked for in the scope, so every
check downstream (Host, Origin, authentication, limits, body) treats it as the MCP endpoint; NarrowingEndpoint
(around the MCP endpoint, after authentication) combines it with the headers, refuses what would widen, and sets
the narrowing for the request; NarrowingGuard (MCP middleware) filters tools/list, refuses a tools/call of a
narrowed-away tool saying why, and fills in the connection's hotel where a call or prompt names none. The
SecurityLayer's caller() applies `Narrowing.narrow` to the principal, so scope and hotel checks see it too.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Awaitable, Callable, Iterable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, replace
from typing import Any

from mcp.types import CallToolResult, ListToolsResult, TextContent
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from app.security.principal import SCOPE_READ, Principal
from app.tools.registry import HOTEL_ID, ToolDef

HEADER_TOOLSETS = "x-mcp-toolsets"
HEADER_READONLY = "x-mcp-readonly"
HEADER_HOTEL = "x-mcp-hotel"
MCP_PATH = "/mcp"
#: Where NarrowingPaths leaves what a narrowing URL asked for (a PathRequest) in the ASGI scope.
PATH_REQUEST = "opera.narrowing_path"
#: X-MCP-Readonly values that mean false (GitHub's MCP server's list); anything else means true.
FALSE_WORDS = frozenset({"", "false", "f", "no", "n", "0", "off"})

_current: ContextVar[Narrowing | None] = ContextVar("opera_narrowing", default=None)


@dataclass(frozen=True)
class Narrowing:
    """What one request narrowed: the toolsets it keeps (None: all the operator offers), read-only, its hotel."""

    toolsets: frozenset[str] | None = None
    read_only: bool = False
    hotel: str | None = None

    def narrow(self, principal: Principal) -> Principal:
        """The caller as this request narrowed it: read scope only when read-only, its one hotel when scoped."""
        scopes = principal.scopes & {SCOPE_READ} if self.read_only else principal.scopes
        hotels = principal.hotels
        if self.hotel is not None:
            hotels = frozenset({self.hotel.upper()}) if principal.may_use_hotel(self.hotel) else frozenset()
        return replace(principal, scopes=frozenset(scopes), hotels=hotels)

    def why_not(self, tool: ToolDef) -> str | None:
        """Why this request does not offer `tool`, or None when it does."""
        if self.read_only and tool.access != "read":
            return "this connection is read-only (X-MCP-Readonly or /mcp/readonly)"
        if self.toolsets is not None and tool.toolset not in self.toolsets:
            return (f"its toolset '{tool.toolset}' is not among those this connection asked for "
                    f"({', '.join(sorted(self.toolsets))}; X-MCP-Toolsets or /mcp/toolsets/...)")
        return None


def current_narrowing() -> Narrowing | None:
    return _current.get()


@dataclass(frozen=True)
class PathRequest:
    """What a narrowing URL asked for, before it is checked."""

    toolsets: tuple[str, ...] | None = None
    read_only: bool = False
    hotel: str | None = None


def parse_path(path: str) -> PathRequest | None:
    """`/mcp/...` as a narrowing, or None when it is not one (then it is no MCP endpoint: 404)."""
    if not path.startswith(MCP_PATH + "/"):
        return None
    parts = path[len(MCP_PATH) + 1:].split("/")
    if parts and parts[-1] == "":
        parts.pop()  # one trailing slash
    found: dict[str, Any] = {}
    i = 0
    while i < len(parts):
        word = parts[i]
        if word == "readonly" and "read_only" not in found:
            found["read_only"] = True
            i += 1
        elif word == "toolsets" and "toolsets" not in found and i + 1 < len(parts) and parts[i + 1]:
            found["toolsets"] = tuple(t.strip() for t in parts[i + 1].split(",") if t.strip())
            i += 2
        elif word == "hotels" and "hotel" not in found and i + 1 < len(parts) and parts[i + 1]:
            found["hotel"] = parts[i + 1]
            i += 2
        else:
            return None
    return PathRequest(**found) if found else None


class NarrowingPaths:
    """Pure ASGI, outermost: a narrowing URL is served as /mcp, with what it asked for kept in the scope."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            asked = parse_path(scope.get("path", ""))
            if asked is not None:
                scope = {**scope, "path": MCP_PATH, "raw_path": MCP_PATH.encode(), PATH_REQUEST: asked}
        await self.app(scope, receive, send)


class NarrowingRefused(Exception):
    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason


def _csv(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())


def resolve(asked: PathRequest | None, headers: Headers, offered_toolsets: Iterable[str],
            principal: Principal | None) -> Narrowing | None:
    """The narrowing a request asked for (URL form and headers together), or None when it asked for none; raises
    NarrowingRefused for what cannot be honoured without widening or guessing."""
    offered = list(offered_toolsets)
    wanted: list[tuple[str, tuple[str, ...]]] = []
    if asked is not None and asked.toolsets is not None:
        wanted.append(("/mcp/toolsets/" + ",".join(asked.toolsets), asked.toolsets))
    header_toolsets = _csv(headers.get(HEADER_TOOLSETS, ""))
    if header_toolsets:
        wanted.append((f"X-MCP-Toolsets: {','.join(header_toolsets)}", header_toolsets))
    toolsets: frozenset[str] | None = None
    for where, names in wanted:
        kept = frozenset(n for n in names if n in offered)  # as GitHub's server: what is not offered is ignored
        toolsets = kept if toolsets is None else toolsets & kept
        if not toolsets:
            raise NarrowingRefused(400, "narrowing_toolsets", (
                f"none of the toolsets asked for ({where}"
                + (f", with {wanted[0][0]}" if where != wanted[0][0] else "")
                + f") is offered by this server; it offers: {', '.join(offered)}"))
    read_only = bool(asked and asked.read_only) or (
        headers.get(HEADER_READONLY, "").strip().lower() not in FALSE_WORDS)
    hotels = [h for h in ((asked.hotel if asked else None), headers.get(HEADER_HOTEL, "").strip() or None) if h]
    hotel: str | None = None
    if hotels:
        for code in hotels:
            if not HOTEL_ID.fullmatch(code):
                raise NarrowingRefused(400, "narrowing_hotel", (
                    f"hotel {code[:40]!r} (X-MCP-Hotel or /mcp/hotels/...) is not an OPERA hotel code "
                    "(1-20 letters, digits, '_' or '-')"))
        if len({h.upper() for h in hotels}) > 1:
            raise NarrowingRefused(400, "narrowing_hotel", (
                f"the URL asks for hotel {hotels[0]} and X-MCP-Hotel for {hotels[1]}: name one hotel"))
        hotel = hotels[0]
        if principal is None or not principal.may_use_hotel(hotel):
            allowed = ", ".join(sorted(principal.hotels)) if principal else "none"
            raise NarrowingRefused(403, "narrowing_hotel", (
                f"this connection asks for hotel {hotel} (X-MCP-Hotel or /mcp/hotels/...), which caller "
                f"{principal.name if principal else 'unknown'!r} may not use; its hotels are: {allowed}"))
    if toolsets is None and not read_only and hotel is None:
        return None
    return Narrowing(toolsets=toolsets, read_only=read_only, hotel=hotel)


Refusals = Callable[[int, str, str, Principal | None, Scope], None]


class NarrowingEndpoint:
    """Pure ASGI around the MCP endpoint (after authentication): resolves the request's narrowing, answers what
    cannot be honoured with a JSON-RPC error (400 or 403, counted and audited by `refused`), else serves the
    request with the narrowing set."""

    def __init__(self, app: ASGIApp, offered_toolsets: Iterable[str], caller: Callable[[], Principal | None],
                 refused: Refusals) -> None:
        self.app = app
        self.offered = tuple(offered_toolsets)
        self.caller = caller
        self.refused = refused

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        principal = self.caller()
        try:
            narrowing = resolve(scope.get(PATH_REQUEST), Headers(scope=scope), self.offered, principal)
        except NarrowingRefused as refusal:
            self.refused(refusal.status, refusal.reason, str(refusal), principal, scope)
            body = json.dumps({"jsonrpc": "2.0", "id": None, "error": {"code": -32600,
                                                                        "message": str(refusal)}}).encode()
            await send({"type": "http.response.start", "status": refusal.status, "headers": [
                (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})
            return
        reset = _current.set(narrowing)
        try:
            await self.app(scope, receive, send)
        finally:
            _current.reset(reset)


def _takes_hotel(tool: ToolDef) -> bool:
    try:
        return "hotel_id" in inspect.signature(tool.fn).parameters
    except (TypeError, ValueError):
        return False


class NarrowingGuard:
    """MCP server middleware: tools/list shows only what the request's narrowing keeps; a tools/call of a tool it
    narrowed away is a tool error saying why; a call or prompt that names no hotel gets the connection's hotel."""

    def __init__(self, tools: Iterable[ToolDef]) -> None:
        self.tools: Mapping[str, ToolDef] = {t.name: t for t in tools}
        self.with_hotel = frozenset(name for name, t in self.tools.items() if _takes_hotel(t))

    async def __call__(self, ctx: Any, call_next: Callable[[Any], Awaitable[Any]]) -> Any:
        narrowing = current_narrowing()
        if narrowing is None:
            return await call_next(ctx)
        params = ctx.params if isinstance(ctx.params, dict) else None
        if ctx.method == "tools/call" and params is not None:
            name = str(params.get("name"))
            tool = self.tools.get(name)
            why = narrowing.why_not(tool) if tool is not None else None
            if why is not None:
                text = f"{name} is not offered on this connection: {why}. Connect without that narrowing to use it."
                return CallToolResult(content=[TextContent(type="text", text=text)], is_error=True)
            if narrowing.hotel is not None and name in self.with_hotel:
                ctx.params = _with_hotel(params, narrowing.hotel)
        elif ctx.method == "prompts/get" and params is not None and narrowing.hotel is not None:
            ctx.params = _with_hotel(params, narrowing.hotel)
        result = await call_next(ctx)
        if ctx.method != "tools/list":
            return result

        def kept(name: Any) -> bool:
            tool = self.tools.get(str(name))
            return tool is None or narrowing.why_not(tool) is None

        if isinstance(result, ListToolsResult):
            return result.model_copy(update={"tools": [t for t in result.tools if kept(t.name)]})
        if isinstance(result, dict) and isinstance(result.get("tools"), list):
            return {**result, "tools": [t for t in result["tools"] if isinstance(t, dict) and kept(t.get("name"))]}
        return result


def _with_hotel(params: dict[str, Any], hotel: str) -> dict[str, Any]:
    """`params` with arguments.hotel_id set to the connection's hotel when the call leaves it out or empty."""
    arguments = params.get("arguments")
    arguments = dict(arguments) if isinstance(arguments, dict) else {}
    if arguments.get("hotel_id") in (None, ""):
        arguments["hotel_id"] = hotel
    return {**params, "arguments": arguments}

