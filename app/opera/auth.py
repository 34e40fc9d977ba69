"""TokenManager: OHIP OAuth tokens (CONTRACT.md 1.1), fetched once, shared by every caller, refreshed before expiry.

Concurrent callers on a cold or expiring token wait on one token request (single flight). A 401, or a 403 without a
body (OHIP's answer to a stale or revoked token), on a business call invalidates exactly the token it was sent with,
so the caller refreshes once and replays once. With a shared token store (Redis) the single flight spans the fleet:
the refresh runs under the store's lock and reads the store again first, so replicas share one token; if the store
fails this replica carries on with a token of its own.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

import httpx2

from app.config import Settings
from app.opera.errors import (
    OperaAuthError,
    OperaConnectionError,
    OperaError,
    OperaServerError,
    OperaSharedStateError,
    OperaTimeoutError,
)
from app.opera.resilience import RetryPolicy, classify_transport_error
from app.opera.stores import (
    EncryptedFileTokenStore,
    MemoryTokenStore,
    StoredToken,
    TokenStore,
    token_binding,
)
from app.telemetry.metrics import Metrics

log = logging.getLogger("app.opera.auth")

#: Oracle's Postman collection uses this scope for client-credentials environments (CONTRACT.md 1.1).
DEFAULT_SCOPE = "urn:opc:hgbu:ws:__myscopes__"
#: `expires_in` is optional in the spec; Oracle documents tokens as living an hour.
DEFAULT_LIFETIME = 3600.0
#: After a failed refresh while the old token is still valid, keep using it for this long before trying again.
REFRESH_RETRY_PAUSE = 5.0
TOKEN_OPERATION = "oauth.getToken"  # noqa: S105 - an operation name, not a secret


def refresh_margin(lifetime: float) -> float:
    """Refresh this long before expiry: 10% of the token's life, at least 5 s, at most 300 s, and never more than
    half the life (else a very short-lived token would be fetched again for every call)."""
    return min(max(0.1 * lifetime, 5.0), 300.0, lifetime / 2)


def token_store_for(settings: Settings) -> TokenStore:
    if not settings.enable_persistent_token_cache:
        return MemoryTokenStore()
    return EncryptedFileTokenStore(
        settings.token_cache_dir,
        secret=settings.effective_client_secret.get_secret_value(),
        binding=token_binding(settings.effective_token_url, settings.effective_base_url,
                              settings.effective_client_id),
    )


class TokenManager:
    """The OHIP access token of one OperaHTTP; `get_token()` is cheap when a valid token is held."""

    def __init__(
        self,
        settings: Settings,
        metrics: Metrics,
        client: httpx2.AsyncClient,
        *,
        store: TokenStore | None = None,
        retry: RetryPolicy | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._settings = settings
        self._metrics = metrics
        self._client = client
        self._store = store if store is not None else token_store_for(settings)
        self._retry = retry or RetryPolicy(max_retries=settings.max_retries)
        self._clock = clock
        self._current: StoredToken | None = None
        self._inflight: asyncio.Task[StoredToken] | None = None
        self._pause_until = 0.0
        self.token_requests = 0
        self.last_error: str | None = None
        self.last_refresh: float | None = None

    # --- public ---------------------------------------------------------------------------------------------
    async def get_token(self) -> str:
        """A valid access token, fetching one (once, whoever else is asking) when none is held or it is expiring."""
        now = self._clock()
        current = self._current
        if current is not None and not self._expiring(current, now):
            return current.access_token
        if current is not None and current.expires_at > now and now < self._pause_until:
            return current.access_token  # a refresh just failed; the old token is still good
        if self._inflight is None:
            self._inflight = asyncio.ensure_future(self._obtain())
            self._inflight.add_done_callback(self._flight_done)
        flight = self._inflight
        try:
            # shield: one waiter giving up must not cancel the request the others wait on.
            token = await asyncio.shield(flight)
        except OperaError:
            still = self._current
            if still is not None and still.expires_at > self._clock():
                log.warning("OHIP token refresh failed; using the current token until it expires")
                return still.access_token
            raise
        return token.access_token

    async def invalidate(self, token: str) -> None:
        """OHIP refused `token` (401, or 403 without a body): forget it, unless a newer token has replaced it."""
        current = self._current
        if current is not None and current.access_token == token:
            self._current = None
            self._metrics.token_expiry.set(0)
            try:
                await self._store.clear(token)  # only that token: another replica's newer one stays
            except OperaSharedStateError as exc:
                log.warning("the rejected OHIP token could not be cleared from the shared store: %s", exc.message)

    def current_token(self) -> str | None:
        """The token held now, without fetching (tests and diagnostics)."""
        return self._current.access_token if self._current is not None else None

    def status(self) -> dict[str, Any]:
        now = self._clock()
        current = self._current
        return {
            "has_token": current is not None and current.expires_at > now,
            "expires_in_s": round(current.expires_at - now, 1) if current is not None else None,
            "last_error": self.last_error,
            "last_refresh": self.last_refresh,
            "token_requests": self.token_requests,
        }

    # --- internals ------------------------------------------------------------------------------------------
    def _expiring(self, token: StoredToken, now: float) -> bool:
        lifetime = max(token.expires_at - token.obtained_at, 0.0)
        return now >= token.expires_at - refresh_margin(lifetime)

    def _flight_done(self, task: asyncio.Task[StoredToken]) -> None:
        if self._inflight is task:
            self._inflight = None
        if not task.cancelled():
            task.exception()  # retrieved here so an error nobody awaited is not reported as lost

    async def _obtain(self) -> StoredToken:
        # The store first: after a restart (file store) or on another replica (shared store) a token may be there.
        stored = await self._load()
        if stored is not None:
            return stored
        async with contextlib.AsyncExitStack() as held:
            try:
                await held.enter_async_context(self._store.refresh_lock())
            except OperaSharedStateError as exc:
                log.warning("OHIP token refresh without the fleet's lock: %s", exc.message)
            else:
                # Another replica may have refreshed while this one waited for the lock.
                stored = await self._load()
                if stored is not None:
                    return stored
            try:
                token = await self._request_token()
            except OperaError as exc:
                self.last_error = exc.message
                self._pause_until = self._clock() + REFRESH_RETRY_PAUSE
                raise
            self.last_error = None
            self._adopt(token)
            try:
                await self._store.save(token)
            except OperaSharedStateError as exc:
                log.warning("the new OHIP token is not shared with other replicas: %s", exc.message)
            return token

    async def _load(self) -> StoredToken | None:
        """A usable token from the store (adopted), or None; a failing shared store counts as empty."""
        try:
            stored = await self._store.load()
        except OperaSharedStateError as exc:
            log.warning("the shared OHIP token could not be read; this replica fetches its own: %s", exc.message)
            return None
        if stored is None or stored == self._current or self._expiring(stored, self._clock()):
            return None
        self._adopt(stored)
        log.info("OHIP token taken from the token store (valid for %.0f s)", stored.expires_at - self._clock())
        return stored

    def _adopt(self, token: StoredToken) -> None:
        self._current = token
        self.last_refresh = token.obtained_at
        self._metrics.token_expiry.set(token.expires_at)

    def _form(self) -> dict[str, str]:
        s = self._settings
        if s.grant_type == "password":
            return {
                "grant_type": "password",
                "username": s.username or "",
                "password": s.password.get_secret_value() if s.password is not None else "",
            }
        return {"grant_type": "client_credentials", "scope": s.scope or DEFAULT_SCOPE}

    def _headers(self) -> dict[str, str]:
        s = self._settings
        pair = f"{s.effective_client_id}:{s.effective_client_secret.get_secret_value()}"
        headers = {
            "Authorization": "Basic " + base64.b64encode(pair.encode()).decode(),
            "x-app-key": s.effective_app_key.get_secret_value(),
            "Accept": "application/json",
        }
        # The spec: enterpriseId is for the client-credentials flow (OCIM) only.
        enterprise = s.effective_enterprise_id
        if s.grant_type == "client_credentials" and enterprise:
            headers["enterpriseId"] = enterprise
        return headers

    async def _request_token(self) -> StoredToken:
        url = self._settings.effective_token_url
        attempt = 0
        while True:
            self.token_requests += 1
            started = self._clock()
            try:
                response = await self._client.post(
                    url, data=self._form(), headers=self._headers(),
                    extensions={"ohip_operation": TOKEN_OPERATION},
                )
            except httpx2.HTTPError as exc:
                failure = classify_transport_error(exc)
                if failure != "other" and attempt < self._retry.max_retries:
                    self._metrics.ohip_retries.labels(failure).inc()
                    await asyncio.sleep(self._retry.backoff(attempt))
                    attempt += 1
                    continue
                self._metrics.token_requests.labels("failure").inc()
                kind = OperaTimeoutError if failure == "timeout" else OperaConnectionError
                raise kind(
                    f"could not reach the OHIP token endpoint {url} ({type(exc).__name__}); check "
                    "OPERA_BASE_URL / OPERA_TOKEN_URL and the network",
                    operation=TOKEN_OPERATION,
                ) from None
            status = response.status_code
            if status in (429, 502, 503, 504) and attempt < self._retry.max_retries:
                self._metrics.ohip_retries.labels(str(status)).inc()
                await asyncio.sleep(self._retry.backoff(attempt, response.headers.get("Retry-After"), status=status))
                attempt += 1
                continue
            if status == 200:
                token = self._parse(response, started)
                if token is not None:
                    self._metrics.token_requests.labels("success").inc()
                    log.info("OHIP token obtained (valid for %.0f s)", token.expires_at - token.obtained_at)
                    return token
            self._metrics.token_requests.labels("failure").inc()
            raise self._refusal(status, response)

    def _parse(self, response: httpx2.Response, started: float) -> StoredToken | None:
        try:
            body = response.json()
        except ValueError:
            return None
        if not isinstance(body, dict) or not isinstance(body.get("access_token"), str) or not body["access_token"]:
            return None
        lifetime = body.get("expires_in")
        life = float(lifetime) if isinstance(lifetime, (int, float)) and lifetime > 0 else DEFAULT_LIFETIME
        return StoredToken(
            access_token=body["access_token"],
            expires_at=started + life,
            obtained_at=started,
            token_type=str(body.get("token_type") or "Bearer"),
        )

    def _refusal(self, status: int, response: httpx2.Response) -> OperaError:
        if status >= 500:
            return OperaServerError(
                f"the OHIP token endpoint failed (HTTP {status}); OHIP may be down, try again later",
                operation=TOKEN_OPERATION, status=status,
            )
        if status == 200:
            return OperaAuthError(
                "the OHIP token endpoint answered 200 without an access_token; check OPERA_TOKEN_URL",
                operation=TOKEN_OPERATION, status=status,
            )
        password_grant = self._settings.grant_type == "password"
        hint = {
            400: "the token request was malformed: check OPERA_GRANT_TYPE, OPERA_SCOPE, OPERA_ENTERPRISE_ID "
                 "and OPERA_APP_KEY",
            401: "the credentials were refused: check OPERA_CLIENT_ID, OPERA_CLIENT_SECRET, OPERA_APP_KEY"
                 + (" and OPERA_USERNAME/OPERA_PASSWORD" if password_grant else "")
                 + " and OPERA_SCOPE",
            # Oracle documents 402 invalid_grant "[Wrong Password]" for the token call (c_common_error_messages).
            402: "wrong password of the integration user (invalid_grant): check OPERA_USERNAME/OPERA_PASSWORD"
                 + ("" if password_grant else " and OPERA_GRANT_TYPE"),
            # OHIP's gateway answers 403 with no body: it knows the request but this application may not have it.
            403: "OHIP's gateway forbids this application a token: check that OPERA_APP_KEY belongs to an "
                 "application granted this environment, and OPERA_ENTERPRISE_ID and OPERA_SCOPE",
        }.get(status, "unexpected answer from the token endpoint")
        # The token endpoint declares no error body, and an echo of our form could hold the password: ignore it.
        return OperaAuthError(f"OHIP refused a token (HTTP {status}): {hint}", operation=TOKEN_OPERATION,
                              status=status)
