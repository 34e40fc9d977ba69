"""Pure ASGI gate in front of the whole app: Host/Origin allow-lists, body size, authentication, per-caller rate
limit, and the RFC 9728 protected-resource metadata. Probes, /metrics and the embedded sandbox stay open.

Order on a protected path: Host (421) and Origin (403) first, since a rebinding page must learn nothing; then a
declared Content-Length over the limit (413) before any credential work; then credentials (401/403); then the
per-caller rate limit (429 + Retry-After); then the body is read up to the limit (413) and JSON-RPC batches are
refused (400). Every refusal is counted and audited.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from mcp.server.auth.middleware.auth_context import auth_context_var
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from starlette.authentication import AuthCredentials
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.security.principal import Principal, access_token_for

if TYPE_CHECKING:
    from app.security.layer import SecurityLayer

log = logging.getLogger(__name__)

OPEN_PATHS = frozenset({"/health", "/ready", "/live", "/metrics"})
METADATA_PATH = "/.well-known/oauth-protected-resource"
BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class AuthFailure(Exception):
    """Credentials missing or refused: `reason` is the metric label, the message is shown to the client."""

    def __init__(self, reason: str, message: str, status: int = 401, error: str | None = "invalid_token") -> None:
        super().__init__(message)
        self.reason = reason
        self.status = status
        self.error = error


def host_allowed(host: str | None, allowed: list[str]) -> bool:
    if not host:
        return False
    host = host.lower()
    for entry in allowed:
        entry = entry.lower()
        if entry == "*" or host == entry:
            return True
        if entry.endswith(":*") and (host == entry[:-2] or host.startswith(entry[:-1])):
            return True
    return False


def origin_allowed(origin: str | None, allowed: list[str]) -> bool:
    # Non-browser clients send no Origin; only a browser page can carry a hostile one.
    return origin is None or host_allowed(origin, allowed)


class SecurityMiddleware:
    def __init__(self, app: ASGIApp, layer: SecurityLayer) -> None:
        self.app = app
        self.layer = layer

    def _is_open(self, path: str) -> bool:
        return (
            path in OPEN_PATHS
            or path.startswith(METADATA_PATH)
            or (self.layer.settings.sandbox_mode and (path == "/sandbox" or path.startswith("/sandbox/")))
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        layer = self.layer
        path: str = scope.get("path", "")
        method: str = scope.get("method", "GET")
        headers = Headers(scope=scope)
        client = scope.get("client")
        client_ip = str(client[0]) if client else "unknown"
        refuse = _Refusal(layer, send, method, path, client_ip)

        if path.startswith(METADATA_PATH) and layer.metadata_enabled:
            await _send_json(send, 200, layer.resource_metadata(headers), cors=True)
            return

        is_open = self._is_open(path)
        if not is_open:
            if not host_allowed(headers.get("host"), layer.allowed_hosts):
                await refuse.plain(421, "bad_host", "Invalid Host header: add it to OPERA_ALLOWED_HOSTS")
                return
            if not origin_allowed(headers.get("origin"), layer.allowed_origins):
                await refuse.plain(403, "bad_origin", "Invalid Origin header: add it to OPERA_ALLOWED_ORIGINS")
                return

        declared = headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > layer.max_body_bytes:
            await refuse.plain(413, "body_too_large", f"Request body over {layer.max_body_bytes} bytes")
            return

        if is_open:
            await self.app(scope, _limited(receive, layer.max_body_bytes), send)
            return

        try:
            principal = await layer.authenticate(headers, client_ip)
        except AuthFailure as failure:
            await refuse.auth(failure, headers)
            return
        refuse.caller = principal

        wait = await layer.limiter.acquire(principal.identity if principal else f"ip:{client_ip}")
        if wait is not None:
            await refuse.plain(429, "rate_limited", "Too many requests from this caller; retry after the delay",
                               extra_headers=[(b"retry-after", layer.limiter.retry_after_header(wait).encode())])
            return

        if method in BODY_METHODS:
            body = await _read_body(receive, layer.max_body_bytes)
            if body is None:
                await refuse.plain(413, "body_too_large", f"Request body over {layer.max_body_bytes} bytes")
                return
            if body.lstrip()[:1] == b"[":
                await refuse.jsonrpc(400, "batch", -32600, "JSON-RPC batches are not supported; send one request")
                return
            receive = _replay(body, receive)

        if principal is None:  # OPERA_MCP_AUTH=none
            await self.app(scope, receive, send)
            return
        user = AuthenticatedUser(access_token_for(principal, layer.credential_of(headers)))
        scope["user"] = user
        scope["auth"] = AuthCredentials(sorted(principal.scopes))
        reset = auth_context_var.set(user)
        try:
            await self.app(scope, receive, send)
        finally:
            auth_context_var.reset(reset)


class _Refusal:
    """Answers, counts and audits one refused request."""

    def __init__(self, layer: SecurityLayer, send: Send, method: str, path: str, client_ip: str) -> None:
        self.layer = layer
        self.send = send
        self.http = {"method": method, "path": path[:200], "client": client_ip}
        self.caller: Principal | None = None

    def _record(self, status: int, reason: str, detail: str, *, auth: bool) -> None:
        counter = self.layer.metrics.auth_failures if auth else self.layer.metrics.refused_calls
        counter.labels(reason).inc()
        caller = self.caller.audit_view() if self.caller else {"kind": "unauthenticated", "client": self.http["client"]}
        self.layer.audit.record(event="http_refused", outcome="refused", reason=reason, detail=detail, caller=caller,
                                http={**self.http, "status": status})

    async def plain(self, status: int, reason: str, message: str,
                    extra_headers: list[tuple[bytes, bytes]] | None = None) -> None:
        self._record(status, reason, message, auth=False)
        await _send_json(self.send, status, {"error": reason, "error_description": message}, extra_headers)

    async def jsonrpc(self, status: int, reason: str, code: int, message: str) -> None:
        self._record(status, reason, message, auth=False)
        await _send_json(self.send, status, {"jsonrpc": "2.0", "id": None, "error": {"code": code, "message": message}})

    async def auth(self, failure: AuthFailure, headers: Headers) -> None:
        self._record(failure.status, failure.reason, str(failure), auth=True)
        challenge = self.layer.challenge(headers, failure.error, str(failure))
        body: dict[str, Any] = {"error": failure.error or "unauthorized", "error_description": str(failure)}
        await _send_json(self.send, failure.status, body, [(b"www-authenticate", challenge.encode())])


async def _send_json(send: Send, status: int, body: dict[str, Any],
                     extra_headers: list[tuple[bytes, bytes]] | None = None, cors: bool = False) -> None:
    payload = json.dumps(body).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    if cors:
        headers.append((b"access-control-allow-origin", b"*"))
    headers.extend(extra_headers or [])
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    """The whole request body, or None as soon as it grows past `limit`."""
    body = bytearray()
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return bytes(body)
        body += message.get("body", b"")
        if len(body) > limit:
            return None
        if not message.get("more_body", False):
            return bytes(body)


def _replay(body: bytes, receive: Receive) -> Receive:
    delivered = False

    async def replay() -> Message:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def _limited(receive: Receive, limit: int) -> Callable[[], Awaitable[Message]]:
    """For open paths: a streamed body that outgrows the limit is cut off as a client disconnect."""
    seen = 0

    async def limited() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                return {"type": "http.disconnect"}
        return message

    return limited
