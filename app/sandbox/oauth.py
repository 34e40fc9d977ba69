"""OHIP's token endpoint (`POST /oauth/v1/tokens`, operationId getToken) and the bearer tokens it issues.

Follows oauth.json: Basic client authentication, a required `x-app-key` (lower-case UUID v4), an `enterpriseId`
header (optional in the spec, required for client_credentials as in OCIM), a form body with grant_type
client_credentials (+ scope) or password (+ username/password). A wrong integration-user password answers 402
invalid_grant, as Oracle's common error messages list it.
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets
import threading
import time
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from app.sandbox.routes.common import ohip_json
from app.sandbox.state import SandboxError

if TYPE_CHECKING:
    from app.sandbox.app import Sandbox

APP_KEY_PATTERN = re.compile(r"^[a-f0-9]{8}-[a-f0-9]{4}-4[a-f0-9]{3}-[89aAbB][a-f0-9]{3}-[a-f0-9]{12}$")
ENTERPRISE_ID_PATTERN = re.compile(r"^[A-Z0-9]{1,8}$")
GRANT_TYPES = ("client_credentials", "password")


class TokenIssuer:
    """Opaque random bearer tokens with an expiry; `expire_all` and `revoke_all` let tests force a refresh."""

    def __init__(self, ttl: int) -> None:
        self.ttl = ttl
        self._expiry: dict[str, float] = {}
        #: Tokens withdrawn before their expiry (the time of revocation); OHIP answers them 403 with no body.
        self._revoked: dict[str, float] = {}
        self._lock = threading.Lock()
        self.requests = 0  # token requests received, granted or not

    def issue(self) -> str:
        token = secrets.token_urlsafe(32)
        with self._lock:
            now = time.monotonic()
            # forget long-expired tokens so a long-running sandbox does not grow without bound
            self._expiry = {t: e for t, e in self._expiry.items() if e > now - 3600}
            self._revoked = {t: r for t, r in self._revoked.items() if r > now - 3600}
            self._expiry[token] = now + self.ttl
        return token

    def is_valid(self, token: str) -> bool:
        with self._lock:
            expiry = self._expiry.get(token)
        return expiry is not None and time.monotonic() < expiry

    def is_revoked(self, token: str) -> bool:
        with self._lock:
            return token in self._revoked

    def revoke_all(self) -> int:
        """Withdraw every live token, as when the application's credentials are rotated at the gateway."""
        with self._lock:
            now = time.monotonic()
            live = [t for t, e in self._expiry.items() if e > now]
            for token in live:
                del self._expiry[token]
                self._revoked[token] = now
        return len(live)

    def expire_all(self) -> int:
        with self._lock:
            now = time.monotonic()
            live = [t for t, e in self._expiry.items() if e > now]
            for token in live:
                self._expiry[token] = now - 1
        return len(live)

    def clear(self) -> None:
        with self._lock:
            self._expiry.clear()
            self._revoked.clear()
            self.requests = 0


def check_app_key(sandbox: Sandbox, value: str | None) -> None:
    """400 when the x-app-key header is missing or malformed, 401 when it is not the registered key."""
    if not value:
        raise SandboxError(400, "Bad Request", "The x-app-key header is required", "OHIPSIM-AUTH-APPKEY", "x-app-key")
    if not APP_KEY_PATTERN.match(value):
        raise SandboxError(
            400,
            "Bad Request",
            "The x-app-key header must be a lower-case UUID v4 (the application key from the OHIP developer portal)",
            "OHIPSIM-AUTH-APPKEY",
            "x-app-key",
        )
    if value != sandbox.config.app_key:
        raise SandboxError(401, "Unauthorized", "The x-app-key is not registered", "OHIPSIM-AUTH-APPKEY", "x-app-key")


def _client_credentials(request: Request) -> tuple[str, str]:
    header = request.headers.get("authorization")
    if not header:
        raise SandboxError(
            401,
            "Unauthorized",
            "Client authentication is required (HTTP Basic client id and secret)",
            "OHIPSIM-AUTH-CLIENT",
            "authorization",
        )
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded.strip():
        raise SandboxError(
            401,
            "Unauthorized",
            "Client authentication must use the Basic scheme",
            "OHIPSIM-AUTH-CLIENT",
            "authorization",
        )
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise SandboxError(
            400,
            "Bad Request",
            "The Basic credentials are not valid base64 of client_id:client_secret",
            "OHIPSIM-AUTH-CLIENT",
            "authorization",
        ) from None
    client_id, sep, client_secret = decoded.partition(":")
    if not sep:
        raise SandboxError(
            400,
            "Bad Request",
            "The Basic credentials must be client_id:client_secret",
            "OHIPSIM-AUTH-CLIENT",
            "authorization",
        )
    return client_id, client_secret


async def _form(request: Request) -> dict[str, str]:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        raise SandboxError(
            400,
            "Bad Request",
            "The token request must be a form (application/x-www-form-urlencoded)",
            "OHIPSIM-AUTH-FORM",
            "content-type",
        )
    raw = (await request.body()).decode("utf-8", errors="replace")
    return dict(parse_qsl(raw, keep_blank_values=True))


def token_routes(sandbox: Sandbox) -> list[BaseRoute]:
    async def get_token(request: Request) -> Response:
        issuer = sandbox.tokens
        check_app_key(sandbox, request.headers.get("x-app-key"))
        enterprise_id = request.headers.get("enterpriseid")
        if enterprise_id is not None and not ENTERPRISE_ID_PATTERN.match(enterprise_id):
            raise SandboxError(
                400,
                "Bad Request",
                "The enterpriseId header must be 1 to 8 upper-case letters or digits",
                "OHIPSIM-AUTH-ENTERPRISE",
                "enterpriseId",
            )
        form = await _form(request)
        client_id, client_secret = _client_credentials(request)
        grant_type = form.get("grant_type", "")
        if grant_type not in GRANT_TYPES:
            raise SandboxError(
                400,
                "Bad Request",
                f"grant_type must be client_credentials or password; got {grant_type or 'nothing'}",
                "OHIPSIM-AUTH-GRANT",
                "grant_type",
            )
        if not (
            secrets.compare_digest(client_id, sandbox.config.client_id)
            and secrets.compare_digest(client_secret, sandbox.config.client_secret)
        ):
            raise SandboxError(
                401, "Unauthorized", "Unknown client id or wrong client secret", "OHIPSIM-AUTH-CLIENT", "authorization"
            )
        if grant_type == "client_credentials":
            if enterprise_id is None:
                raise SandboxError(
                    400,
                    "Bad Request",
                    "The enterpriseId header is required with grant_type=client_credentials",
                    "OHIPSIM-AUTH-ENTERPRISE",
                    "enterpriseId",
                )
            if enterprise_id != sandbox.config.enterprise_id:
                raise SandboxError(
                    401, "Unauthorized", "Unknown enterpriseId for this client", "OHIPSIM-AUTH-ENTERPRISE",
                    "enterpriseId",
                )
            if not form.get("scope", "").strip():
                raise SandboxError(
                    400,
                    "Bad Request",
                    "scope is required with grant_type=client_credentials",
                    "OHIPSIM-AUTH-SCOPE",
                    "scope",
                )
        else:
            username, password = form.get("username", ""), form.get("password", "")
            if not username or not password:
                raise SandboxError(
                    400,
                    "Bad Request",
                    "username and password are required with grant_type=password",
                    "OHIPSIM-AUTH-USER",
                    "username",
                )
            if not secrets.compare_digest(username, sandbox.config.username):
                raise SandboxError(
                    401, "Unauthorized", "Unknown integration user", "OHIPSIM-AUTH-USER", "username"
                )
            if not secrets.compare_digest(password, sandbox.config.password):
                # oauth.json declares only 400/401/403, but Oracle's common error messages list this answer.
                return ohip_json({"error": "invalid_grant", "error_description": "[Wrong Password]"}, 402)
        token = issuer.issue()
        return ohip_json(
            {
                "access_token": token,
                "expires_in": issuer.ttl,
                "token_type": "Bearer",
                "oracle_tk_context": "user_assertion",
            },
            headers={"Cache-Control": "no-store"},
        )

    return [Route("/oauth/v1/tokens", get_token, methods=["POST"], name="getToken")]
