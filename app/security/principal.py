"""The caller of a request: who it is (key name or token subject), which client, which scopes and which hotels."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.auth.provider import AccessToken

SCOPE_READ = "opera:read"
SCOPE_WRITE = "opera:write"
SCOPE_BILLING = "opera:billing"
ALL_SCOPES = (SCOPE_READ, SCOPE_WRITE, SCOPE_BILLING)

#: In a hotel allow-list, this entry admits every hotel.
ANY_HOTEL = "*"


@dataclass(frozen=True)
class Principal:
    """An authenticated caller. `hotels` holds hotel codes (upper-case) or ANY_HOTEL."""

    name: str
    kind: str  # "api_key" | "oauth" | "anonymous"
    client_id: str
    scopes: frozenset[str]
    hotels: frozenset[str]
    subject: str | None = None
    issuer: str | None = None
    expires_at: int | None = None

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes

    def may_use_hotel(self, hotel_id: str) -> bool:
        return ANY_HOTEL in self.hotels or hotel_id.upper() in self.hotels

    @property
    def identity(self) -> str:
        """A stable key for per-caller state (rate limits, idempotency): kind, issuer and name."""
        return f"{self.kind}:{self.issuer or ''}:{self.name}"

    def audit_view(self) -> dict[str, str | None]:
        return {"kind": self.kind, "name": self.name, "client_id": self.client_id, "subject": self.subject}


def anonymous(client: str = "local") -> Principal:
    """The caller when OPERA_MCP_AUTH=none: every scope, every hotel (allowed only on loopback binds)."""
    return Principal(name="anonymous", kind="anonymous", client_id=client, scopes=frozenset(ALL_SCOPES),
                     hotels=frozenset({ANY_HOTEL}))


class PrincipalToken(AccessToken):
    """The SDK's AccessToken carrying our Principal, so the SDK's session binding and get_access_token() work."""

    principal: Principal

    model_config = {"arbitrary_types_allowed": True}


def access_token_for(principal: Principal, credential: str) -> PrincipalToken:
    """Wrap a principal for the SDK. Only a digest of the credential is kept, never the credential itself."""
    claims: dict[str, str] = {}
    if principal.issuer:
        claims["iss"] = principal.issuer
    return PrincipalToken(
        token=hashlib.sha256(credential.encode()).hexdigest(), client_id=principal.client_id,
        scopes=sorted(principal.scopes), expires_at=principal.expires_at,
        subject=principal.subject or principal.name, claims=claims or None, principal=principal,
    )


def current_principal() -> Principal | None:
    """The caller of the request being served, or None when the request was not authenticated."""
    token = get_access_token()
    if isinstance(token, PrincipalToken):
        return token.principal
    return None
