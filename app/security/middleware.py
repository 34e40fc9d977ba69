"""Pure ASGI gate in front of the whole app: Host/Origin allow-lists, credentials in URLs, body size,
authentication (with failed attempts throttled), per-caller rate limit, JSON-RPC shape, and the RFC 9728
protected-resource metadata.

Order: Host (421) and Origin (403) first on every route, probes included, since a rebinding page must learn
nothing (probes also admit OPERA_PROBE_HOSTS); a credential-looking query parameter (400); a declared
Content-Length over the limit (413) before any credential work. Probes, /metrics and the embedded sandbox then
stay open (/health shows its details only to this machine or an authenticated caller). On /mcp: a source or key
prefix with too many failed authentications (429 + Retry-After), credentials (401/403), the per-caller rate limit
(429 + Retry-After), then the body is read up to the limit (413), and JSON-RPC batches and requests with an id
that is not a string or an integer are refused (400). Every refusal is counted and audited, in aggregate.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import re
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from mcp.server.auth.middleware.auth_context import auth_context_var
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from starlette.authentication import AuthCredentials
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.security.principal import Principal, access_token_for

if TYPE_CHECKING:
    from app.security.audit import AuditLog
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


#: A host name as it may appear in Host or Origin: dot-separated labels of letters, digits, '-' and '_'.
_HOSTNAME = re.compile(r"^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*$")
_PORT = re.compile(r"^[0-9]{1,5}$")
DEFAULT_PORTS = {"http": 80, "https": 443}
ANY_PORT = -1


@dataclass(frozen=True)
class HostPattern:
    """One allow-list entry: `*` (any host), `host`, `host:port`, `host:*` (any port, or none), or, for probe
    hosts only, a network such as `10.0.0.0/8` (a Host that is an address in it, any port)."""

    host: str | None  # None: any host
    port: int | None  # None: no port; ANY_PORT: any port or none
    network: ipaddress.IPv4Network | ipaddress.IPv6Network | None = None

    def matches(self, host: str, port: int | None) -> bool:
        if self.network is not None:
            address = _address(host)
            return address is not None and address in self.network
        if self.host is not None and self.host != host:
            return False
        return self.port == ANY_PORT or self.port == port


@dataclass(frozen=True)
class OriginPattern:
    scheme: str | None  # None: `*`, any origin
    host: str = ""
    port: int = ANY_PORT

    def matches(self, scheme: str, host: str, port: int) -> bool:
        if self.scheme is None:
            return True
        return self.scheme == scheme and self.host == host and self.port in (ANY_PORT, port)


def _address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The IP address a host (or peer) string names, an IPv4-mapped IPv6 one as IPv4 (a dual-stack listener
    reports IPv4 peers as ::ffff:a.b.c.d), or None for a name."""
    try:
        address = ipaddress.ip_address(host[1:-1] if host.startswith("[") else host)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def split_host(value: str, *, wildcard_port: bool = False) -> tuple[str, int | None] | None:
    """`host`, `host:port`, `[v6]` or `[v6]:port` as (lower-case host, port), or None if the value is anything
    else (a user-info part, a path, a second colon, a non-numeric port...). `host:*` gives ANY_PORT when
    `wildcard_port`."""
    value = value.lower()
    if value.startswith("["):
        end = value.find("]")
        if end < 0:
            return None
        host, rest = value[:end + 1], value[end + 1:]
        try:
            ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            return None
    else:
        host, colon, port_text = value.partition(":")
        rest = colon + port_text
        if not _HOSTNAME.fullmatch(host):
            return None
    if not rest:
        return host, None
    port_text = rest[1:]
    if rest[0] != ":":
        return None
    if wildcard_port and port_text == "*":
        return host, ANY_PORT
    if not _PORT.fullmatch(port_text) or not 0 < int(port_text) < 65536:
        return None
    return host, int(port_text)


def parse_host_entry(entry: str, *, networks: bool = False) -> HostPattern:
    """One OPERA_ALLOWED_HOSTS (or, with `networks`, OPERA_PROBE_HOSTS) entry; ValueError says what is wrong."""
    if entry == "*":
        return HostPattern(host=None, port=ANY_PORT)
    if networks and "/" in entry:
        try:
            return HostPattern(host=None, port=ANY_PORT, network=ipaddress.ip_network(entry, strict=False))
        except ValueError:
            raise ValueError(f"{entry!r} is not a network such as 10.0.0.0/8") from None
    if "://" in entry:
        raise ValueError(f"{entry!r} has a scheme: a host entry is host, host:port or host:* (no http://)")
    parsed = split_host(entry, wildcard_port=True)
    if parsed is None:
        raise ValueError(f"{entry!r} is not host, host:port or host:* ('*' only as a whole port, or alone)")
    return HostPattern(host=parsed[0], port=parsed[1])


def parse_origin(value: str, *, wildcard_port: bool = False) -> tuple[str, str, int] | None:
    """`scheme://host[:port]` as (scheme, host, port with the scheme's default filled in), or None."""
    scheme, sep, rest = value.lower().partition("://")
    if not sep or scheme not in DEFAULT_PORTS:
        return None
    parsed = split_host(rest, wildcard_port=wildcard_port)
    if parsed is None:
        return None
    host, port = parsed
    return scheme, host, DEFAULT_PORTS[scheme] if port is None else port


def parse_origin_entry(entry: str) -> OriginPattern:
    """One OPERA_ALLOWED_ORIGINS entry: `*`, or scheme://host[:port|:*]; ValueError says what is wrong."""
    if entry == "*":
        return OriginPattern(scheme=None)
    parsed = parse_origin(entry, wildcard_port=True)
    if parsed is None:
        raise ValueError(f"{entry!r} is not an origin such as https://host, https://host:8443 or http://host:* "
                         "('*' only as a whole port, or alone)")
    return OriginPattern(*parsed)


def host_allowed(host: str | None, allowed: Sequence[HostPattern]) -> bool:
    """Whether a Host header value matches an entry exactly (host and port), never by prefix."""
    parsed = split_host(host) if host else None
    return parsed is not None and any(p.matches(*parsed) for p in allowed)


def origin_allowed(origin: str | None, allowed: Sequence[OriginPattern]) -> bool:
    """Non-browser clients send no Origin; a browser's Origin must match an entry exactly (scheme, host, port)."""
    if origin is None:
        return True
    parsed = parse_origin(origin)
    return parsed is not None and any(p.matches(*parsed) for p in allowed)


#: Query parameters that look like a credential. Refused: URLs end up in access logs, proxies and histories.
CREDENTIAL_PARAMS = frozenset({
    "api_key", "apikey", "api-key", "x-api-key", "key", "token", "access_token", "auth_token", "id_token",
    "authorization", "bearer",
})


def credential_in_query(query_string: bytes) -> str | None:
    """The first credential-looking parameter name of a query string, or None."""
    if not query_string:
        return None
    for name, _ in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True):
        if name.strip().lower() in CREDENTIAL_PARAMS:
            return name.strip().lower()[:20]
    return None


def invalid_request_id(body: bytes) -> str | None:
    """Why a JSON-RPC request's id is unacceptable, or None (a notification has no id; MCP ids are strings or
    integers, never null). Bodies that are not JSON objects are left to the SDK's own parse errors."""
    if body.lstrip()[:1] != b"{":
        return None
    try:
        message = json.loads(body)
    except ValueError:
        return None
    if not isinstance(message, dict) or "method" not in message or "id" not in message:
        return None
    request_id = message["id"]
    if isinstance(request_id, str) or (isinstance(request_id, int) and not isinstance(request_id, bool)):
        return None
    kind = "null" if request_id is None else type(request_id).__name__
    kind = {"dict": "an object", "list": "an array", "float": "a fractional or non-finite number",
            "bool": "a boolean"}.get(kind, kind)
    return (f"Invalid Request: the id is {kind}; a request id must be a string or an integer (send a "
            "notification, without an id, to get no answer)")


class TrustedProxies:
    """The address of the client behind the peer: the peer itself, unless the peer is a trusted proxy
    (OPERA_TRUSTED_PROXIES); then the right-most address of the forwarding header (OPERA_TRUSTED_PROXY_HEADER,
    X-Forwarded-For by default; `Forwarded` is read by its for= parameters) that is not itself a trusted proxy.
    An untrusted peer's forwarding headers are ignored: anyone can write them."""

    FORWARDING_HEADERS = ("x-forwarded-for", "forwarded", "x-real-ip")

    def __init__(self, entries: Sequence[str], header: str = "X-Forwarded-For") -> None:
        self.networks = [ipaddress.ip_network(e, strict=False) for e in entries]
        self.header = header.lower()

    def trusted(self, address: str) -> bool:
        ip = _address(address)
        return ip is not None and any(ip in network for network in self.networks)

    def _hops(self, headers: Headers) -> list[str]:
        values = headers.getlist(self.header)
        hops = [h.strip() for value in values for h in value.split(",") if h.strip()]
        if self.header != "forwarded":
            return hops
        found: list[str] = []
        for hop in hops:
            for pair in hop.split(";"):
                name, _, value = pair.strip().partition("=")
                if name.lower() == "for":
                    found.append(value.strip('"'))
        return found

    @staticmethod
    def _normalise(hop: str) -> str | None:
        if hop.startswith("["):  # [v6] or [v6]:port
            hop = hop[1:hop.find("]")] if "]" in hop else ""
        elif hop.count(":") == 1:  # v4:port
            hop = hop.split(":", 1)[0]
        ip = _address(hop)
        return str(ip) if ip is not None else None

    def resolve(self, peer: str | None, headers: Headers) -> str:
        if peer is None:
            return "unknown"
        if not self.networks or not self.trusted(peer):
            return peer
        client = peer
        for hop in reversed(self._hops(headers)):
            address = self._normalise(hop)
            if address is None:
                break  # garbage left of the last trusted hop: the nearest trusted hop is all we know
            client = address
            if not self.trusted(address):
                break
        return client

    def is_local(self, peer: str | None, client: str, headers: Headers) -> bool:
        """The caller is on this machine: a loopback client address, not relayed by a proxy we were not told to
        trust (a local reverse proxy that adds X-Forwarded-For is relaying someone else)."""
        ip = _address(client)
        if ip is None or not ip.is_loopback:
            return False
        relayed = any(headers.get(name) for name in self.FORWARDING_HEADERS)
        return not (relayed and client == peer and not (peer is not None and self.trusted(peer)))


class RefusalDigest:
    """Refused requests audited as aggregated events, so a flood cannot grow the audit file line by line.

    The first refusal of a (caller or source address, reason) in a window is written at once (`http.count` 1);
    the rest of that window are counted and written as one line with their count (`http.count` N) when the
    window closes: at the first request after it, when too many windows are open, or at shutdown.
    """

    def __init__(self, audit: AuditLog, window_s: float = 60.0, max_open: int = 10_000) -> None:
        self.audit = audit
        self.window_s = window_s
        self.max_open = max_open
        self._open: OrderedDict[tuple[str, str], _Window] = OrderedDict()

    def record(self, key: str, *, reason: str, detail: str, caller: dict[str, Any], http: dict[str, Any],
               now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        window = self._open.get((key, reason))
        if window is not None and now - window.started < self.window_s:
            window.count += 1
            window.http = http
            return
        if window is not None:
            self._write_summary(self._open.pop((key, reason)), now)
        self._open[(key, reason)] = _Window(started=now, reason=reason, detail=detail, caller=caller, http=http)
        self.audit.record(event="http_refused", outcome="refused", reason=reason, detail=detail, caller=caller,
                          http={**http, "count": 1})
        while len(self._open) > self.max_open:
            self._write_summary(self._open.popitem(last=False)[1], now)

    def flush_due(self, now: float | None = None) -> None:
        """Write the windows that have closed (the oldest are first)."""
        now = time.monotonic() if now is None else now
        while self._open:
            key, window = next(iter(self._open.items()))
            if now - window.started < self.window_s:
                return
            del self._open[key]
            self._write_summary(window, now)

    def close(self) -> None:
        now = time.monotonic()
        while self._open:
            self._write_summary(self._open.popitem(last=False)[1], now)

    def _write_summary(self, window: _Window, now: float) -> None:
        if window.count == 0:
            return
        seconds = round(min(now - window.started, self.window_s), 1)
        self.audit.record(
            event="http_refused", outcome="refused", reason=window.reason, caller=window.caller,
            detail=f"{window.count} more refused like the first within {seconds} s: {window.detail}",
            http={**window.http, "count": window.count, "window_s": seconds},
        )


@dataclass
class _Window:
    started: float
    reason: str
    detail: str
    caller: dict[str, Any]
    http: dict[str, Any]
    count: int = 0


#: Distinct Host header values whose verdict SecurityMiddleware keeps (a proxy, a pod IP, localhost: a handful).
HOST_VERDICTS_KEPT = 256


class SecurityMiddleware:
    def __init__(self, app: ASGIApp, layer: SecurityLayer) -> None:
        self.app = app
        self.layer = layer
        # Host header verdicts, by (value, whether the path is a probe): a client sends the same Host on every request,
        # and the allowed entries never change while the process runs. Bounded: emptied when full.
        self._hosts: dict[tuple[str | None, bool], bool] = {}

    def _host_ok(self, host: str | None, probe: bool) -> bool:
        key = (host, probe)
        verdict = self._hosts.get(key)
        if verdict is None:
            layer = self.layer
            verdict = host_allowed(host, layer.allowed_hosts) or (probe and host_allowed(host, layer.probe_hosts))
            if host is not None and len(host) > 300:  # no host name is this long: judged, never kept
                return verdict
            if len(self._hosts) >= HOST_VERDICTS_KEPT:
                self._hosts.clear()
            self._hosts[key] = verdict
        return verdict

    def _is_sandbox(self, path: str) -> bool:
        return self.layer.settings.sandbox_mode and (path == "/sandbox" or path.startswith("/sandbox/"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        layer = self.layer
        path: str = scope.get("path", "")
        method: str = scope.get("method", "GET")
        headers = Headers(scope=scope)
        client = scope.get("client")
        peer = str(client[0]) if client else None
        client_ip = layer.proxies.resolve(peer, headers)
        refuse = _Refusal(layer, send, method, path, client_ip)
        layer.refusals.flush_due()

        # Every route, probes included: a DNS-rebinding page must learn nothing, not even /health. Probes may
        # also come from the probe hosts (a kubelet or Prometheus addressing the pod by its IP).
        probe = path in OPEN_PATHS
        host = headers.get("host")
        if not self._host_ok(host, probe):
            await refuse.plain(421, "bad_host", "Invalid Host header: add it to OPERA_ALLOWED_HOSTS"
                               + (" (or OPERA_PROBE_HOSTS)" if probe else ""))
            return
        if not origin_allowed(headers.get("origin"), layer.allowed_origins):
            await refuse.plain(403, "bad_origin", "Invalid Origin header: add it to OPERA_ALLOWED_ORIGINS")
            return
        sandbox = self._is_sandbox(path)
        if not sandbox and (name := credential_in_query(scope.get("query_string", b""))) is not None:
            await refuse.plain(400, "credentials_in_query", (
                f"a credential-looking query parameter ({name}) is refused: send the key in the "
                "Authorization: Bearer header" + (" or X-API-Key" if layer.mode == "api_key" else "")
                + ", never in the URL (if it was a real key, treat it as exposed and rotate it)"))
            return

        if path.startswith(METADATA_PATH) and layer.metadata_enabled:
            await _send_json(send, 200, layer.resource_metadata(headers), cors=True)
            return

        declared = headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > layer.max_body_bytes:
            await refuse.plain(413, "body_too_large", f"Request body over {layer.max_body_bytes} bytes")
            return

        if probe or sandbox or path.startswith(METADATA_PATH):
            if path in DETAILED_PATHS:
                # Details (OHIP base URL, last errors) for this machine and for authenticated callers only (with
                # OPERA_MCP_AUTH=none nobody is authenticated: callers from elsewhere get the statuses).
                details = layer.proxies.is_local(peer, client_ip, headers)
                if not details and layer.mode != "none" and layer.credential_of(headers):
                    if await self._authenticate(refuse, headers, client_ip) is None:
                        return
                    details = True
                scope[HEALTH_DETAILS] = details
            await self.app(scope, _limited(receive, layer.max_body_bytes), send)
            return

        principal: Principal | None = None
        if layer.mode != "none":
            principal = await self._authenticate(refuse, headers, client_ip)
            if principal is None:
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
            if path == "/mcp" and (why := invalid_request_id(body)) is not None:
                await refuse.jsonrpc(400, "invalid_id", -32600, why)
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

    async def _authenticate(self, refuse: _Refusal, headers: Headers, client_ip: str) -> Principal | None:
        """The caller, or None once the refusal (401/403, or 429 while its source or key prefix is throttled)
        has been sent."""
        layer = self.layer
        keys = layer.failure_keys(headers, client_ip)
        wait = layer.auth_throttle.blocked(keys)
        if wait is not None:
            await refuse.plain(429, "auth_throttled", "Too many failed authentications from this source; retry "
                               "after the delay with a valid key", auth=True, metric_reason="throttled",
                               extra_headers=[(b"retry-after", layer.auth_throttle.retry_after_header(wait).encode())])
            return None
        try:
            principal = await layer.authenticate(headers, client_ip)
        except AuthFailure as failure:
            layer.auth_throttle.failed(keys)
            await refuse.auth(failure, headers)
            return None
        assert principal is not None
        return principal


#: Scope key the middleware sets on /health and /ready: whether the caller may see the detailed report.
HEALTH_DETAILS = "opera.health_details"
DETAILED_PATHS = frozenset({"/health", "/ready"})


class _Refusal:
    """Answers, counts and audits one refused request (audited through the layer's RefusalDigest)."""

    def __init__(self, layer: SecurityLayer, send: Send, method: str, path: str, client_ip: str) -> None:
        self.layer = layer
        self.send = send
        self.http = {"method": method, "path": path[:200], "client": client_ip}
        self.caller: Principal | None = None

    def _record(self, status: int, reason: str, detail: str, *, auth: bool, metric_reason: str | None = None) -> None:
        counter = self.layer.metrics.auth_failures if auth else self.layer.metrics.refused_calls
        counter.labels(metric_reason or reason).inc()
        if self.caller is not None:
            caller: dict[str, Any] = dict(self.caller.audit_view())
            key = self.caller.identity
        else:
            caller = {"kind": "unauthenticated", "client": self.http["client"]}
            key = f"ip:{self.http['client']}"
        self.layer.refusals.record(key, reason=reason, detail=detail, caller=caller,
                                   http={**self.http, "status": status})

    async def plain(self, status: int, reason: str, message: str,
                    extra_headers: list[tuple[bytes, bytes]] | None = None, *, auth: bool = False,
                    metric_reason: str | None = None) -> None:
        self._record(status, reason, message, auth=auth, metric_reason=metric_reason)
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
