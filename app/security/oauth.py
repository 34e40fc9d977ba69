"""OPERA_MCP_AUTH=oauth: the MCP authorization spec's resource-server role, verifying JWT access tokens.

Signatures are checked against the issuer's JWKS (fetched with httpx2, cached, refreshed on a TTL, refetched once
when a token names an unknown `kid`, with a cooldown so a flood of forged kids cannot hammer the issuer), so a key
rotated at the authorization server is accepted without a restart. Only allow-listed asymmetric algorithms are
accepted (never `none`, never HMAC with a public key). `exp`, `iss` and `aud` must be present; `iss` and `aud` are
matched exactly (no prefix, no trailing slash, case kept); `exp`, and `nbf` and `iat` when present, are checked
against the clock with a leeway of at most MAX_LEEWAY_S (a token dated in the future beyond it is not valid yet).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx2
import jwt
from jwt import PyJWK

from app.security.principal import ALL_SCOPES, ANY_HOTEL, Principal

log = logging.getLogger(__name__)

#: Algorithms we can verify with a public key from a JWKS. HMAC and "none" are never acceptable here.
ASYMMETRIC_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)
#: Clock skew tolerated on exp, nbf and iat. Beyond two minutes an expired token would stay usable too long.
MAX_LEEWAY_S = 120.0
#: The claims a token must carry; nbf and iat are checked when present (many issuers send neither).
REQUIRED_CLAIMS = ("exp", "iss", "aud")


class TokenRejected(Exception):
    """A token that must not be accepted. `reason` is a short metric label; the message is safe to log."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class OAuthConfigError(ValueError):
    """OPERA_MCP_AUTH=oauth is missing a setting or has an unusable one."""


@dataclass(frozen=True)
class OAuthConfig:
    issuer: str
    audience: str
    jwks_url: str
    algorithms: tuple[str, ...]
    hotels_claim: str = "hotels"
    leeway_s: float = 30.0
    jwks_ttl_s: float = 300.0
    refetch_cooldown_s: float = 10.0
    fetch_timeout_s: float = 5.0

    @classmethod
    def build(cls, *, issuer: str | None, audience: str | None, jwks_url: str | None, algorithms: Sequence[str],
              hotels_claim: str, **tuning: float) -> OAuthConfig:
        missing = [name for name, value in (("OPERA_MCP_OAUTH_ISSUER", issuer), ("OPERA_MCP_OAUTH_AUDIENCE", audience),
                                            ("OPERA_MCP_OAUTH_JWKS_URL", jwks_url)) if not value]
        if missing:
            raise OAuthConfigError(f"OPERA_MCP_AUTH=oauth needs {', '.join(missing)}")
        bad = [a for a in algorithms if a not in ASYMMETRIC_ALGORITHMS]
        if bad or not algorithms:
            raise OAuthConfigError(
                f"OPERA_MCP_OAUTH_ALGORITHMS: {', '.join(bad) or '(empty)'} not allowed; "
                f"choose from {', '.join(sorted(ASYMMETRIC_ALGORITHMS))}"
            )
        leeway = tuning.get("leeway_s", cls.leeway_s)
        if not 0 <= leeway <= MAX_LEEWAY_S:
            raise OAuthConfigError(f"the OAuth clock leeway must be between 0 and {MAX_LEEWAY_S:g} s, not {leeway:g}")
        assert issuer and audience and jwks_url
        return cls(issuer=issuer, audience=audience, jwks_url=jwks_url, algorithms=tuple(algorithms),
                   hotels_claim=hotels_claim, **tuning)


@dataclass(frozen=True)
class SigningKey:
    jwk: PyJWK
    declared_alg: str | None  # the JWK's own "alg" member, when it has one

    def signs(self, alg: str) -> bool:
        """A JWK that names its algorithm signs only that one; otherwise any algorithm of its key type."""
        if self.declared_alg is not None:
            return alg == self.declared_alg
        kty = self.jwk.key_type
        return (kty == "RSA" and alg[:2] in ("RS", "PS")) or (kty == "EC" and alg.startswith("ES")) or (
            kty == "OKP" and alg == "EdDSA")


class JWKSCache:
    """The issuer's signing keys by kid. One fetch at a time; old keys stay usable if a refresh fails."""

    def __init__(self, config: OAuthConfig, client: httpx2.AsyncClient) -> None:
        self.config = config
        self.client = client
        self._keys: dict[str, SigningKey] = {}
        self._fetched_at: float | None = None
        self._last_unknown_kid_fetch: float | None = None
        self._lock = asyncio.Lock()
        self.fetches = 0
        self.last_error: str | None = None

    async def key_for(self, kid: str | None) -> SigningKey:
        now = time.monotonic()
        if self._fetched_at is None or now - self._fetched_at > self.config.jwks_ttl_s:
            await self._refresh(expected_at=self._fetched_at)
        key = self._lookup(kid)
        if key is not None:
            return key
        # Unknown kid: perhaps the issuer rotated. Refetch once, unless we did so recently (a forged-kid flood).
        last = self._last_unknown_kid_fetch
        if last is None or time.monotonic() - last >= self.config.refetch_cooldown_s:
            self._last_unknown_kid_fetch = time.monotonic()
            await self._refresh(expected_at=self._fetched_at)
            key = self._lookup(kid)
            if key is not None:
                return key
        raise TokenRejected("unknown_kid", f"no signing key with kid {str(kid)[:40]!r} at the issuer's JWKS")

    def _lookup(self, kid: str | None) -> SigningKey | None:
        if kid is not None:
            return self._keys.get(kid)
        # A token without kid is acceptable only when the issuer publishes exactly one key.
        return next(iter(self._keys.values())) if len(self._keys) == 1 else None

    async def _refresh(self, expected_at: float | None) -> None:
        async with self._lock:
            if self._fetched_at != expected_at:
                return  # another caller refreshed while we waited
            self.fetches += 1
            try:
                response = await self.client.get(self.config.jwks_url, timeout=self.config.fetch_timeout_s)
                response.raise_for_status()
                document = response.json()
                self._keys = self._parse(document)
                self.last_error = None
            except (httpx2.HTTPError, ValueError) as exc:
                self.last_error = f"JWKS fetch failed: {type(exc).__name__}"
                log.warning("could not fetch the OAuth issuer's JWKS; keeping %d cached keys", len(self._keys),
                            extra={"jwks_url": self.config.jwks_url, "error": type(exc).__name__})
            finally:
                self._fetched_at = time.monotonic()

    def _parse(self, document: Any) -> dict[str, SigningKey]:
        if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
            raise ValueError("JWKS document has no 'keys' list")
        keys: dict[str, SigningKey] = {}
        for index, jwk in enumerate(document["keys"]):
            if not isinstance(jwk, dict) or jwk.get("use", "sig") != "sig":
                continue
            try:
                parsed = PyJWK(jwk)
            except jwt.PyJWTError:
                continue  # a key type or algorithm we do not support cannot sign tokens we accept
            declared = jwk.get("alg")
            keys[str(jwk.get("kid", f"#{index}"))] = SigningKey(parsed, declared if isinstance(declared, str) else None)
        return keys


class JWTVerifier:
    """Turns a bearer JWT into a Principal, or raises TokenRejected saying why."""

    def __init__(self, config: OAuthConfig, client: httpx2.AsyncClient) -> None:
        self.config = config
        self.jwks = JWKSCache(config, client)

    async def verify(self, token: str) -> Principal:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise TokenRejected("malformed_token", "the bearer token is not a JWT") from None
        alg = header.get("alg")
        if alg not in self.config.algorithms:
            raise TokenRejected("bad_algorithm", f"token algorithm {str(alg)[:16]!r} is not accepted")
        kid = header.get("kid")
        key = await self.jwks.key_for(kid if isinstance(kid, str) else None)
        if not key.signs(str(alg)):
            raise TokenRejected("bad_algorithm", f"token algorithm {alg!r} does not match its signing key")
        try:
            claims: dict[str, Any] = jwt.decode(
                token, key=key.jwk.key, algorithms=[str(alg)], audience=self.config.audience, issuer=self.config.issuer,
                leeway=self.config.leeway_s, options={"require": list(REQUIRED_CLAIMS)},
            )
        except jwt.ExpiredSignatureError:
            raise TokenRejected("expired", "the token has expired") from None
        except jwt.ImmatureSignatureError:
            raise TokenRejected("not_yet_valid", "the token is not valid yet (nbf/iat in the future)") from None
        except jwt.InvalidAudienceError:
            raise TokenRejected("wrong_audience", "the token was issued for another audience") from None
        except jwt.InvalidIssuerError:
            raise TokenRejected("wrong_issuer", "the token comes from another issuer") from None
        except jwt.MissingRequiredClaimError as exc:
            raise TokenRejected("missing_claim", f"the token lacks the {exc.claim!r} claim") from None
        except jwt.PyJWTError:
            raise TokenRejected("bad_signature", "the token signature or format is invalid") from None
        return self._principal(claims)

    def _principal(self, claims: dict[str, Any]) -> Principal:
        subject = str(claims.get("sub") or "")
        client_id = str(claims.get("client_id") or claims.get("azp") or claims.get("cid") or subject or "unknown")
        scopes = {s for s in _words(claims.get("scope")) | _words(claims.get("scp")) if s in ALL_SCOPES}
        hotels = {h.upper() if h != ANY_HOTEL else h for h in _words(claims.get(self.config.hotels_claim))}
        exp = claims.get("exp")
        return Principal(
            name=subject or client_id, kind="oauth", client_id=client_id[:128], scopes=frozenset(scopes),
            hotels=frozenset(hotels), subject=subject[:128] or None, issuer=self.config.issuer,
            expires_at=int(exp) if isinstance(exp, (int, float)) else None,
        )


def _words(value: Any) -> set[str]:
    """Claims carry lists either as JSON arrays or as space/comma-separated strings."""
    if isinstance(value, str):
        return {w for w in value.replace(",", " ").split() if w}
    if isinstance(value, list):
        return {str(w) for w in value if isinstance(w, (str, int))}
    return set()

