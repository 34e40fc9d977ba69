"""`opera-cloud-mcp stdio`: the same server over stdin/stdout, for desktop clients that launch it as a subprocess.

It is the app create_app builds (tools, resources, prompts, the security layer's tool guard, confirmation,
idempotency and audit, the OHIP client and its policies) with its lifespan run around the SDK's stdio transport
instead of uvicorn. stdout carries only the protocol; every log line goes to stderr.

Who calls: the local user who started the process. There is no HTTP request, so no API key or OAuth token to
check (OPERA_MCP_AUTH does not apply); the caller holds every scope and every hotel, within what the operator's
OPERA_TOOLSETS and OPERA_READ_ONLY offer.

The embedded sandbox (no OHIP credentials set) is reached in process: OHIP calls go through an ASGI transport
into the same app's /sandbox mount, exactly the requests the HTTP server sends itself, but with no listener,
so no port to choose or to collide on and nothing other local processes can reach.
"""

from __future__ import annotations

import sys
from typing import Any

import anyio
import httpx2
from mcp.server.auth.middleware.auth_context import auth_context_var
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from starlette.applications import Starlette

from app import __version__
from app.config import ConfigError, Settings
from app.security.principal import ALL_SCOPES, ANY_HOTEL, Principal, access_token_for

#: The caller over stdio, as the audit log names it.
LOCAL_USER = Principal(name="local-user", kind="stdio", client_id="stdio", scopes=frozenset(ALL_SCOPES),
                       hotels=frozenset({ANY_HOTEL}))


class InProcessTransport(httpx2.AsyncBaseTransport):
    """httpx2 transport into an ASGI app that exists only after the OHIP client was built (create_app builds the
    client first, then the app that mounts the sandbox): `attach` it before the first request."""

    def __init__(self) -> None:
        self._inner: httpx2.ASGITransport | None = None

    def attach(self, app: Any) -> None:
        self._inner = httpx2.ASGITransport(app=app)

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        if self._inner is None:
            raise httpx2.ConnectError("the embedded sandbox is not attached yet", request=request)
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        if self._inner is not None:
            await self._inner.aclose()


def build_stdio_app(settings: Settings) -> Starlette:
    """The app to serve over stdio; in sandbox mode its OHIP client talks to its own /sandbox mount in process."""
    from app.server import create_app

    transport = InProcessTransport() if settings.sandbox_mode else None
    app = create_app(settings, transport=transport)
    if transport is not None:
        transport.attach(app)
    return app


async def serve_stdio(app: Starlette) -> None:
    """Run the app's lifespan (stores, OHIP client, token warm-up, drain) around the SDK's stdio server, as the
    local user; returns when the client closes stdin."""
    mcp = app.state.mcp
    user = AuthenticatedUser(access_token_for(LOCAL_USER, "stdio"))
    reset = auth_context_var.set(user)  # tasks the stdio server starts inherit it
    try:
        async with app.router.lifespan_context(app):
            await mcp.run_stdio_async()
    finally:
        auth_context_var.reset(reset)


def run_stdio(settings: Settings) -> int:
    from app.server import build_redactor
    from app.telemetry.logging import configure_logging
    from app.telemetry.tracing import setup_tracing

    configure_logging(level=settings.log_level, structured=settings.enable_structured_logging,
                      redactor=build_redactor(settings), environment=settings.environment, stream=sys.stderr)
    try:
        app = build_stdio_app(settings)
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    mode = "SANDBOX (embedded OHIP emulator, in process)" if settings.sandbox_mode else "OHIP"
    print(f"opera-cloud-mcp {__version__} · stdio · mode {mode} · {settings.environment} · caller: the local user "
          f"(OPERA_MCP_AUTH does not apply)", file=sys.stderr, flush=True)
    provider = setup_tracing(settings)
    try:
        anyio.run(serve_stdio, app)
    except KeyboardInterrupt:
        pass
    finally:
        if provider is not None:
            provider.shutdown()
    return 1 if app.state.lifecycle.calls_cut else 0
