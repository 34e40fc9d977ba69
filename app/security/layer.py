"""SecurityLayer: everything inbound security needs for one app, built once in create_app and handed down.

create_app wires it in three places: `guard_tools` on the tool list before registration (it also puts the hotel
guard into ToolServices.extras), `mcp_middleware` as MCP server middleware, and `SecurityMiddleware` around the
Starlette app; `aclose` in the lifespan's shutdown. `startup_refusal` is the CLI's start-up check.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx2
from starlette.datastructures import Headers
from starlette.types import Scope

from app.config import ConfigError, Settings
from app.security.api_keys import ApiKeyConfigError, ApiKeyRing
from app.security.audit import AuditLog, AuditSink, FileAuditSink, LoggerAuditSink
from app.security.authz import PromptHotelCheck, ToolListFilter, scope_map
from app.security.idempotency import IdempotencyStore, MemoryIdempotencyStore
from app.security.middleware import (
    METADATA_PATH,
    AuthFailure,
    RefusalDigest,
    TrustedProxies,
    parse_host_entry,
    parse_origin_entry,
)
from app.security.narrowing import current_narrowing
from app.security.oauth import JWTVerifier, OAuthConfig, OAuthConfigError, TokenRejected
from app.security.principal import ALL_SCOPES, Principal, anonymous, current_principal
from app.security.ratelimit import AuthFailureThrottle, InboundRateLimiter
from app.security.tool_guard import ArgumentRefusalAudit, ToolGuard
from app.telemetry.metrics import Metrics
from app.telemetry.redaction import Redactor
from app.tools.registry import ToolDef, ToolServices

if TYPE_CHECKING:
    from app.health import Lifecycle

log = logging.getLogger(__name__)

LOOPBACK_HOSTS = ("127.0.0.1:*", "localhost:*", "[::1]:*")  # `host:*` also admits the host without a port
LOOPBACK_ORIGINS = ("http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*")
REALM = "opera-cloud-mcp"
#: Failed authentications are also counted per prefix of this many characters of the presented API key
#: ("omcp_" and 7 random characters: a guesser cycling through sources still meets one limit).
KEY_PREFIX_CHARS = 12


def startup_refusal(settings: Settings) -> str | None:
    """Why the server must not start with these settings (one line), or None. The CLI exits 2 with it."""
    if settings.mcp_auth == "none" and not settings.is_loopback_bind and not settings.allow_unauthenticated:
        return (
            f"refusing to serve without authentication on {settings.host}: set OPERA_MCP_AUTH=api_key or oauth, "
            "bind OPERA_HOST=127.0.0.1, or set OPERA_ALLOW_UNAUTHENTICATED=true to accept the risk"
        )
    try:
        if settings.mcp_auth == "api_key":
            ApiKeyRing.load(settings.mcp_api_keys_file, settings.mcp_api_keys)
        elif settings.mcp_auth == "oauth":
            _oauth_config(settings, {})
    except (ApiKeyConfigError, OAuthConfigError) as exc:
        return str(exc)
    return None


def _oauth_config(settings: Settings, tuning: dict[str, float]) -> OAuthConfig:
    return OAuthConfig.build(
        issuer=settings.mcp_oauth_issuer, audience=settings.mcp_oauth_audience or settings.mcp_resource_url,
        jwks_url=settings.mcp_oauth_jwks_url, algorithms=settings.mcp_oauth_algorithms,
        hotels_claim=settings.mcp_oauth_hotels_claim, **tuning,
    )


class SecurityLayer:
    def __init__(
        self, settings: Settings, metrics: Metrics, redactor: Redactor | None = None, *,
        audit_sink: AuditSink | None = None, idempotency: IdempotencyStore | None = None,
        inbound_limiter: InboundRateLimiter | None = None,
        jwks_client: httpx2.AsyncClient | None = None, oauth_tuning: dict[str, float] | None = None,
    ) -> None:
        self.settings = settings
        self.metrics = metrics
        self.redactor = redactor or Redactor()
        self.mode = settings.mcp_auth
        self.max_body_bytes = settings.max_body_bytes
        hosts = [*settings.allowed_hosts, *LOOPBACK_HOSTS]
        if not settings.is_loopback_bind and settings.host not in ("0.0.0.0", "::"):
            hosts.append(f"[{settings.host}]:*" if ":" in settings.host else f"{settings.host}:*")
        # Matched exactly (host and port; `*` only as a whole port), never by prefix (app/security/middleware.py).
        self.allowed_hosts = [parse_host_entry(h) for h in hosts]
        self.probe_hosts = [parse_host_entry(h, networks=True) for h in settings.probe_hosts]
        self.allowed_origins = [parse_origin_entry(o) for o in [*settings.allowed_origins, *LOOPBACK_ORIGINS]]
        self.proxies = TrustedProxies(settings.trusted_proxies, settings.trusted_proxy_header)
        self.auth_throttle = AuthFailureThrottle(settings.auth_failures_per_minute)
        self.limiter = inbound_limiter or InboundRateLimiter(settings.inbound_requests_per_minute)
        self.idempotency: IdempotencyStore = idempotency or MemoryIdempotencyStore()
        #: Set by create_app: where the process is in its life (no write starts while draining).
        self.lifecycle: Lifecycle | None = None
        #: Set by create_app: why writes cannot be promised exactly once right now (shared store down), or None.
        self.write_gate: Callable[[], str | None] = lambda: None
        sink = audit_sink or (FileAuditSink(settings.audit_log) if settings.audit_log else LoggerAuditSink())
        self.audit = AuditLog(sink, self.redactor)
        #: Refused requests, audited one line per caller (or source) and reason per minute, with a count.
        self.refusals = RefusalDigest(self.audit)
        self.keys: ApiKeyRing | None = None
        self.verifier: JWTVerifier | None = None
        self._own_client: httpx2.AsyncClient | None = None
        self.guard: ToolGuard | None = None
        try:
            if self.mode == "api_key":
                self.keys = ApiKeyRing.load(settings.mcp_api_keys_file, settings.mcp_api_keys)
            elif self.mode == "oauth":
                config = _oauth_config(settings, oauth_tuning or {})
                if jwks_client is None:
                    jwks_client = self._own_client = httpx2.AsyncClient(follow_redirects=False)
                self.verifier = JWTVerifier(config, jwks_client)
        except (ApiKeyConfigError, OAuthConfigError) as exc:
            raise ConfigError(f"configuration error: {exc}") from None
        if self.mode == "none" and not settings.is_loopback_bind:
            log.warning(
                "SERVING WITHOUT AUTHENTICATION on %s (OPERA_ALLOW_UNAUTHENTICATED=true): anyone who can reach this "
                "port can book, cancel, charge and check out guests", settings.host,
            )

    # --- wiring -------------------------------------------------------------------------------------------------
    def guard_tools(self, tools: list[ToolDef], services: ToolServices) -> list[ToolDef]:
        """Wrap every tool with the call-level rules; install the hotel guard into `services`."""
        self.guard = ToolGuard(self, services)
        services.extras["hotel_guard"] = self.guard.hotel_guard
        wrapped = [self.guard.wrap(t) for t in tools]
        self._scopes_by_tool = scope_map(wrapped)
        return wrapped

    def mcp_middleware(self) -> list[Any]:
        """MCP server middleware: tools/list filtered by scope; refusals before a handler runs audited."""
        scopes = getattr(self, "_scopes_by_tool", {})
        middleware: list[Any] = [ToolListFilter(scopes, self.caller), ArgumentRefusalAudit(self, lambda: set(scopes))]
        if self.guard is not None:
            middleware.append(PromptHotelCheck(self.caller, self.settings.default_hotel_id, self.guard.refuse_prompt))
        return middleware

    def caller(self) -> Principal | None:
        """The caller of the request being served: its principal, the anonymous one when OPERA_MCP_AUTH=none; as
        the request narrowed it (X-MCP-Readonly: read scope only; X-MCP-Hotel: that hotel only)."""
        principal = current_principal() or (anonymous() if self.mode == "none" else None)
        narrowing = current_narrowing()
        return narrowing.narrow(principal) if narrowing is not None and principal is not None else principal

    def narrowing_refused(self, status: int, reason: str, detail: str, principal: Principal | None,
                          scope: Scope) -> None:
        """A narrowing the request asked for and could not have (app/security/narrowing.py): counted, audited."""
        self.metrics.refused_calls.labels(reason).inc()
        caller: dict[str, Any] = dict(principal.audit_view()) if principal else {"kind": "unauthenticated"}
        client = scope.get("client")
        self.refusals.record(principal.identity if principal else f"ip:{client[0] if client else ''}", reason=reason,
                             detail=detail, caller=caller,
                             http={"method": scope.get("method"), "path": scope.get("path"), "status": status})

    async def aclose(self) -> None:
        if self._own_client is not None:
            await self._own_client.aclose()
        self.refusals.close()
        self.audit.close()

    # --- authentication ------------------------------------------------------------------------------------------
    def credential_of(self, headers: Headers) -> str:
        if self.mode == "api_key" and headers.get("x-api-key"):
            return headers["x-api-key"].strip()
        authorization = headers.get("authorization", "")
        scheme, _, value = authorization.partition(" ")
        return value.strip() if scheme.lower() == "bearer" else ""

    def failure_keys(self, headers: Headers, client_ip: str) -> list[str]:
        """What failed authentications are counted against: the source address and, for API keys, the first
        characters of the presented key (hashed; a JWT's first characters are its header, the same for all)."""
        keys = [f"ip:{client_ip}"]
        credential = self.credential_of(headers)
        if self.mode == "api_key" and len(credential) >= KEY_PREFIX_CHARS:
            keys.append("prefix:" + hashlib.sha256(credential[:KEY_PREFIX_CHARS].encode()).hexdigest()[:24])
        return keys

    async def authenticate(self, headers: Headers, client_ip: str) -> Principal | None:
        if self.mode == "none":
            return None
        credential = self.credential_of(headers)
        if not credential:
            how = "Authorization: Bearer <key> or X-API-Key: <key>" if self.mode == "api_key" else (
                "Authorization: Bearer <access token>")
            raise AuthFailure("missing_credentials", f"authentication required: send {how}", error=None)
        if self.keys is not None:
            principal = self.keys.verify(credential)
            if principal is None:
                raise AuthFailure("invalid_key", "the API key is not valid")
            return principal
        assert self.verifier is not None
        try:
            principal = await self.verifier.verify(credential)
        except TokenRejected as rejected:
            raise AuthFailure(rejected.reason, str(rejected)) from None
        if not any(principal.has_scope(s) for s in ALL_SCOPES):
            raise AuthFailure("insufficient_scope", f"the token carries none of the scopes {' '.join(ALL_SCOPES)}",
                              status=403, error="insufficient_scope")
        return principal

    # --- OAuth protected-resource metadata (RFC 9728) and challenges --------------------------------------------
    @property
    def metadata_enabled(self) -> bool:
        return self.mode == "oauth"

    def resource_url(self, headers: Headers) -> str:
        if self.settings.mcp_resource_url:
            return self.settings.mcp_resource_url
        host = headers.get("host") or f"{self.settings.host}:{self.settings.port}"
        return f"http://{host}/mcp"

    def metadata_url(self, headers: Headers) -> str:
        parts = urlsplit(self.resource_url(headers))
        return f"{parts.scheme}://{parts.netloc}{METADATA_PATH}{parts.path}"

    def resource_metadata(self, headers: Headers) -> dict[str, Any]:
        return {
            "resource": self.resource_url(headers),
            "authorization_servers": [self.settings.mcp_oauth_issuer],
            "scopes_supported": list(ALL_SCOPES),
            "bearer_methods_supported": ["header"],
            "resource_name": "OPERA Cloud MCP server",
        }

    def challenge(self, headers: Headers, error: str | None, description: str) -> str:
        parts = [f'realm="{REALM}"']
        if error:
            parts.append(f'error="{error}"')
            parts.append('error_description="{}"'.format(description.replace('"', "'")))
        if error == "insufficient_scope":
            parts.append(f'scope="{" ".join(ALL_SCOPES)}"')
        if self.metadata_enabled:
            parts.append(f'resource_metadata="{self.metadata_url(headers)}"')
        return "Bearer " + ", ".join(parts)
