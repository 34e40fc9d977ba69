"""OperaHTTP: the one pooled httpx2 client that speaks to OHIP, with its policies around every call.

A call goes: path hardening → response cache → circuit breaker → rate limiter → token → request (traced, logged,
measured) → 401 refresh-and-replay once / retries with backoff → an OperaResponse or an OperaError.
"""

from __future__ import annotations

import asyncio
import functools
import json as jsonlib
import logging
import re
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal, TypeVar, cast
from urllib.parse import quote, urlencode

import httpx2
from opentelemetry import propagate, trace

from app import __version__
from app.config import Settings
from app.opera.auth import TokenManager
from app.opera.cache import CacheClass, CachedAnswer, ResponseCache, freeze
from app.opera.errors import (
    OperaAuthError,
    OperaBadRequestError,
    OperaConflictError,
    OperaConnectionError,
    OperaError,
    OperaForbiddenError,
    OperaNotFoundError,
    OperaOutcomeUnknownError,
    OperaRateLimitedError,
    OperaServerError,
    OperaTimeoutError,
)
from app.opera.resilience import (
    CircuitBreaker,
    RateLimiter,
    RetryPolicy,
    TransportFailure,
    classify_transport_error,
    repeatable,
)
from app.opera.stores import CacheStore, RateLimiterBackend, TokenStore
from app.telemetry.metrics import Metrics

if TYPE_CHECKING:
    from opentelemetry.instrumentation.httpx import RequestInfo
    from opentelemetry.trace import Span

log = logging.getLogger("app.opera.http")

POOL_LIMITS = httpx2.Limits(max_connections=50, max_keepalive_connections=20, keepalive_expiry=30)
PATH_PARAM_MAX = 64
# Anything that could leave the intended path segment or split a header: separators, dot-dot, escapes, controls.
_UNSAFE_SEGMENT = re.compile(r"[/\\?#%]|\.\.|[\x00-\x1f\x7f]")
_PLACEHOLDER = re.compile(r"\{([A-Za-z][A-Za-z0-9_]*)\}")

#: What an agent should do when a write's outcome is unknown, by OHIP operationId (tool names of this server).
CHECK_BEFORE_RETRY = {
    "postReservation": "search_reservations for the guest and dates before trying again, so the booking is not "
                       "made twice",
    "postCancelReservation": "get_reservation to see whether it is already cancelled before trying again",
    "postBillingCharges": "get_folio to see whether the charge was posted before posting it again",
    "postBillingPayment": "get_folio to see whether the payment was posted before taking it again",
    "postDepositPayment": "list_deposits to see whether the deposit (or refund) was posted before posting it again",
    "postCheckIn": "get_reservation to see whether the guest is already checked in before trying again",
    "postCheckOut": "get_reservation to see whether the guest is already checked out before trying again",
    "postRoomAssignment": "get_reservation to see whether the room was assigned before trying again",
    "reinstateCheckOut": "get_reservation to see whether the guest is in house again before trying again",
    "postGuestMessages": "list_guest_messages to see whether the message was left before leaving it again",
    "postServiceRequests": "list_guest_requests to see whether the request was opened before opening it again",
    "putServiceRequests": "list_guest_requests with status=All shows where the request is; completing or closing "
                          "it again is harmless",
    "postRoomMaintenance": "list_maintenance to see whether the request was reported before reporting it again",
    "deleteCheckin": "get_reservation to see whether the guest is due in again before trying again",
    "moveInHouseGuest": "get_reservation to see which room the guest is in before moving again",
    "postWakeUpCall": "set_wake_up_call again: it reads the pending calls and sets only the mornings missing",
    "deleteWakeUpCall": "cancel_wake_up_call again: a call already cancelled is left as it is",
    "putSplitMultiRoomReservation": "get_reservation to see whether it was split before splitting again",
    "putReinstateReservation": "get_reservation to see whether it is reserved again before trying again",
    "postOutOfOrderRooms": "get_housekeeping_overview to see whether the room is out of order before trying again",
    "postOutOfServiceRooms": "get_housekeeping_overview to see whether the room is out of service before trying again",
    "putForEarlyDeparture": "check_out again: a stay already due out is not shortened twice (OPERA answers FOF00158) "
                            "and no second penalty is posted",
    "postProfile": "search_guests for the guest before creating the profile again",
    "putProfile": "get_guest to see whether the change is there; update_guest may be repeated, as it reads the "
                  "profile first and replaces what OPERA then holds, so nothing is added twice",
    "putReservation": "get_reservation to see whether the comment was added before adding it again",
    "generateFolio": "get_folio to see whether the folio was generated before trying again",
    "postRoomAndTaxForDayUse": "check_out again: it reads OPERA's roomAndTaxPosted on the folio and posts the "
                               "day's room and tax only if they are not there",
}
DEFAULT_CHECK = "read the record this call changes to see whether the change happened before trying again"

T = TypeVar("T")


@dataclass(frozen=True)
class OhipCall:
    """One OHIP exchange as the tool-call log line reports it (the per-exchange line is DEBUG)."""

    operation: str
    status: int | str  # the HTTP status, or the transport error's type
    duration_ms: float
    request_id: str


#: The OHIP exchanges of the tool call being served: the MCP face sets a list here for each call and logs it in the
#: call's one INFO line (app/server.py ToolCallObserver); None outside a tool call.
OHIP_CALLS: ContextVar[list[OhipCall] | None] = ContextVar("ohip_calls", default=None)


def tracing_enabled() -> bool:
    """A real tracer provider is installed (app/telemetry/tracing.py sets one only when an exporter is configured;
    tests install their own): only then is every OHIP request wrapped in a client span."""
    return not isinstance(trace.get_tracer_provider(), (trace.ProxyTracerProvider, trace.NoOpTracerProvider))


@dataclass(frozen=True)
class Operation:
    """One OHIP operation: module, Oracle's operationId, method and path template below the module base path."""

    module: str
    operation_id: str
    method: str
    path: str

    @property
    def name(self) -> str:
        return f"{self.module}.{self.operation_id}"


@dataclass
class OperaResponse:
    status: int
    body: dict[str, Any] | None
    headers: httpx2.Headers
    request_id: str
    from_cache: bool = False
    #: The cached answer's memo when this is an in-memory cache hit (see `derived`); None otherwise.
    memo: dict[str, Any] | None = field(default=None, compare=False, repr=False)

    def derived(self, key: str, build: Callable[[], T]) -> T:
        """`build()`, kept with the cached answer this response came from: the next in-memory hit of the same entry
        gets the very same object without building it again (it lives as long as the entry; a write that drops the
        entry drops it too). The value is shared by every caller, so whoever receives it must not change it: the
        domain APIs (reservations.py, profiles.py) add to a record they read only through `model_copy`. Without a
        memo (not from the cache, or from Redis), simply `build()`."""
        if self.memo is None:
            return build()
        try:
            return cast(T, self.memo[key])
        except KeyError:
            value = self.memo[key] = build()
            return value

    @property
    def location_id(self) -> str | None:
        """The last path segment of the Location header (OHIP puts a new resource's id there)."""
        location = self.headers.get("location")
        if not location:
            return None
        path = httpx2.URL(location).path.rstrip("/")
        last = path.rsplit("/", 1)[-1]
        return last or None

    @property
    def warnings(self) -> list[dict[str, Any]]:
        raw = (self.body or {}).get("warnings")
        return [w for w in raw if isinstance(w, dict)] if isinstance(raw, list) else []


# --- path and query ---------------------------------------------------------------------------------------------
def path_segment(name: str, value: object, operation: str | None = None) -> str:
    """Check one path parameter and percent-encode it; refuse anything that could change the path."""
    text = str(value) if isinstance(value, (str, int)) and not isinstance(value, bool) else None
    problem = None
    if text is None:
        problem = f"must be text, not {type(value).__name__}"
    elif not text.strip():
        problem = "is empty"
    elif len(text) > PATH_PARAM_MAX:
        problem = f"is {len(text)} characters long (at most {PATH_PARAM_MAX})"
    elif _UNSAFE_SEGMENT.search(text):
        problem = "contains a character OPERA ids never have ('/', '\\', '..', '?', '#', '%' or a control character)"
    if problem or text is None:
        shown = repr(text[:40]) if text else repr(value)[:40]
        raise OperaBadRequestError(
            f"{name} {shown} {problem}; pass the id exactly as OPERA shows it", operation=operation
        )
    return quote(text, safe="")


def build_path(op: Operation, hotel_id: str, path_params: Mapping[str, str] | None = None) -> str:
    values: dict[str, str] = {"hotelId": path_segment("hotel_id", hotel_id, op.name)}
    for key, value in (path_params or {}).items():
        values[key] = path_segment(key, value, op.name)
    template, wanted = _template(op.path)
    missing = wanted - values.keys()
    if missing:
        raise OperaBadRequestError(f"{op.name} needs {', '.join(sorted(missing))}", operation=op.name)
    unknown = set(path_params or {}) - wanted
    if unknown:
        raise OperaBadRequestError(f"{op.name} has no path parameter {', '.join(sorted(unknown))}",
                                   operation=op.name)
    return template.format_map(values)


@functools.cache
def _template(path: str) -> tuple[str, frozenset[str]]:
    """A path template as a format string (any other brace doubled) and the names of its placeholders, read once."""
    pieces = _PLACEHOLDER.split(path)  # text, name, text, name, ..., text
    parts = [piece.replace("{", "{{").replace("}", "}}") if i % 2 == 0 else "{" + piece + "}"
             for i, piece in enumerate(pieces)]
    return "".join(parts), frozenset(pieces[1::2])


QueryValue = str | int | float | bool | Sequence[str | int] | None


def _query_text(value: str | int | float | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def query_pairs(params: Mapping[str, QueryValue] | None) -> list[tuple[str, str]]:
    """Query pairs in OHIP's style: None dropped, sequences repeated (collectionFormat multi), bools lower-case."""
    pairs: list[tuple[str, str]] = []
    for key, value in (params or {}).items():
        if value is None:
            continue
        if isinstance(value, (str, int, float, bool)):
            pairs.append((key, _query_text(value)))
        else:
            pairs.extend((key, _query_text(item)) for item in value if item is not None)
    return pairs


def request_target(url: str, query: Sequence[tuple[str, str]]) -> str:
    """`url` with the query joined as httpx2 writes `params=` (the same urlencode, so the same bytes on the wire):
    httpx2 then parses one URL instead of building, merging and re-parsing a separate query on every request."""
    return f"{url}?{urlencode(query)}" if query else url


def _params_for_log(pairs: Sequence[tuple[str, str]]) -> dict[str, str | list[str]]:
    out: dict[str, str | list[str]] = {}
    for key, value in pairs:
        seen = out.get(key)
        if seen is None:
            out[key] = value
        elif isinstance(seen, list):
            seen.append(value)
        else:
            out[key] = [seen, value]
    return out


def _json_default(value: object) -> object:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _stale_token(response: httpx2.Response) -> bool:
    """OHIP's answer to an expired, stale or revoked token: 401, or 403 with no body ("re-request the token",
    c_common_error_messages). A 403 that carries an OHIP error body is a real refusal and is not replayed."""
    if response.status_code == 401:
        return True
    return response.status_code == 403 and not response.content.strip()


def _status_class(status: int | None) -> str:
    return "error" if status is None else f"{status // 100}xx"


async def _name_span(span: Span, request: RequestInfo) -> None:
    """Name the httpx2 client span after the OHIP operation; never headers, tokens or bodies."""
    extensions = request.extensions if isinstance(request.extensions, dict) else {}
    operation = extensions.get("ohip_operation")
    if not isinstance(operation, str) or not span.is_recording():
        return
    span.update_name(f"OHIP {operation}")
    module, _, operation_id = operation.partition(".")
    span.set_attribute("ohip.module", module)
    span.set_attribute("ohip.operation", operation_id)
    for key in ("ohip_hotel_id", "ohip_request_id"):
        value = extensions.get(key)
        if isinstance(value, str):
            span.set_attribute(key.replace("_", ".", 1), value)


class FlightAbandoned(Exception):
    """The caller whose OHIP read others were waiting for was cancelled first; one of them asks OHIP instead."""


# --- the client -------------------------------------------------------------------------------------------------
class OperaHTTP:
    """The pooled OHIP client; built once in the app lifespan and shared by every domain API."""

    def __init__(
        self,
        settings: Settings,
        metrics: Metrics,
        *,
        transport: httpx2.AsyncBaseTransport | None = None,
        token_store: TokenStore | None = None,
        cache_store: CacheStore | None = None,
        limiter: RateLimiterBackend | None = None,
        tracing: bool | None = None,
    ) -> None:
        self.settings = settings
        #: Client spans per OHIP request (None: when a tracer provider is installed at start()). Without them the
        #: request still carries the caller's traceparent (propagated by hand, which costs next to nothing).
        self.tracing = tracing
        self.metrics = metrics
        self.retry = RetryPolicy(max_retries=settings.max_retries)
        self.limiter: RateLimiterBackend = limiter or RateLimiter(
            settings.requests_per_second, settings.burst_capacity, settings.limiter_max_wait, metrics=metrics
        )
        self.breaker = CircuitBreaker(
            settings.breaker_failure_threshold, settings.breaker_cooldown, metrics=metrics
        )
        self.cache = ResponseCache(
            metrics, enabled=settings.enable_cache, ttl=settings.cache_ttl,
            max_entries=settings.cache_max_memory, store=cache_store, ttls=settings.cache_ttls,
        )
        self._transport_override = transport
        self._token_store = token_store
        self._base_transport: httpx2.AsyncBaseTransport | None = None
        self._client: httpx2.AsyncClient | None = None
        self._tokens: TokenManager | None = None
        self._closed = False
        self._in_flight = 0
        self.last_error: str | None = None
        self.last_success: float | None = None

    # --- lifecycle ------------------------------------------------------------------------------------------
    async def start(self) -> None:
        """Build the pooled client and the token manager (idempotent)."""
        if self._client is not None:
            return
        if self._closed:
            raise RuntimeError("this OperaHTTP was closed; build a new one")
        base = self._transport_override or httpx2.AsyncHTTPTransport(limits=POOL_LIMITS, retries=0)
        self._base_transport = base
        if self.tracing is None:
            self.tracing = tracing_enabled()
        transport = base
        if self.tracing:
            # Imported only when traced: the instrumentation takes a tenth of a second to import.
            from opentelemetry.instrumentation.httpx import AsyncOpenTelemetryTransportHttpx2

            # The wrapper is typed against httpx even for its httpx2 class (its TYPE_CHECKING import prefers httpx).
            transport = AsyncOpenTelemetryTransportHttpx2(base, request_hook=_name_span)  # type: ignore[arg-type]
        self._client = httpx2.AsyncClient(
            transport=transport,
            timeout=httpx2.Timeout(self.settings.request_timeout),
            follow_redirects=False,
            headers={"User-Agent": f"opera-cloud-mcp/{__version__}"},
        )
        self._tokens = TokenManager(self.settings, self.metrics, self._client, store=self._token_store)
        # Read when /metrics is scraped, not on every request (walking the pool twice per OHIP call).
        self.metrics.pool_connections.labels("active").set_function(lambda: self._pool_counts()[0])
        self.metrics.pool_connections.labels("idle").set_function(lambda: self._pool_counts()[1])

    async def aclose(self) -> None:
        self._closed = True
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    @property
    def token_manager(self) -> TokenManager:
        """The token manager (after start()); the lifespan may `await http.token_manager.get_token()` to warm up."""
        if self._tokens is None:
            raise RuntimeError("OperaHTTP.start() has not been called")
        return self._tokens

    async def _live_client(self) -> httpx2.AsyncClient:
        if self._client is None:
            if self._closed:
                raise OperaConnectionError("the OHIP client is shut down (the server is stopping)")
            await self.start()
        assert self._client is not None
        return self._client

    # --- health ---------------------------------------------------------------------------------------------
    @property
    def ready(self) -> bool:
        """A token was obtained and the breaker is not failing calls fast (cached state; no I/O)."""
        if self._tokens is None:
            return False
        auth = self._tokens.status()
        obtained = auth["has_token"] or (auth["last_refresh"] is not None and auth["last_error"] is None)
        return bool(obtained) and not self.breaker.failing_fast

    def health(self) -> dict[str, dict[str, Any]]:
        if self._tokens is not None:
            auth = self._tokens.status()
        else:
            auth = {"has_token": False, "expires_in_s": None, "last_error": None, "last_refresh": None}
        # An idle server's token may simply have lapsed: that is still "ok" (the next call refreshes it), else a
        # probe would take the server out of rotation and no call would ever come to refresh it.
        if auth["last_error"]:
            auth_status = "degraded" if auth["has_token"] else "down"
        else:
            auth_status = "ok" if auth["has_token"] or auth["last_refresh"] is not None else "degraded"
        active, idle = self._pool_counts()
        breaker = self.breaker.status()
        ohip_status = "down" if self.breaker.failing_fast else ("degraded" if self.last_error else "ok")
        return {
            "auth": {"status": auth_status, **auth},
            "ohip": {
                "status": ohip_status,
                "last_error": self.last_error,
                "last_success": self.last_success,
                "base_url": self.settings.effective_base_url,
                "in_flight": self._in_flight,
                "pool_active": active,
                "pool_idle": idle,
            },
            "cache": self.cache.status(),
            "limiter": dict(self.limiter.status()),
            "breaker": dict(breaker),
        }

    def _pool_counts(self) -> tuple[int, int]:
        # httpx2 keeps the httpcore2 pool private; read it when present, else report what we know: in-flight calls.
        pool = getattr(self._base_transport, "_pool", None)
        connections = getattr(pool, "connections", None) if self._client is not None else None
        if isinstance(connections, list):
            idle = sum(1 for c in connections if getattr(c, "is_idle", lambda: False)())
            return len(connections) - idle, idle
        return self._in_flight, 0

    # --- the call -------------------------------------------------------------------------------------------
    async def lookup(
        self,
        op: Operation,
        *,
        hotel_id: str,
        path_params: Mapping[str, str] | None = None,
        params: Mapping[str, QueryValue] | None = None,
    ) -> OperaResponse | None:
        """A GET of one record that may not exist, read fresh: None when OHIP answers 204 (no content) or 404."""
        try:
            response = await self.call(op, hotel_id=hotel_id, path_params=path_params, params=params)
        except OperaNotFoundError:
            return None
        return None if response.status == 204 else response

    async def call(
        self,
        op: Operation,
        *,
        hotel_id: str,
        path_params: Mapping[str, str] | None = None,
        params: Mapping[str, QueryValue] | None = None,
        json: Mapping[str, Any] | None = None,
        cache: CacheClass = "none",
        idempotent: bool | None = None,
    ) -> OperaResponse:
        """One OHIP operation with every policy applied; see the module docstring and iface for the rules.
        `idempotent=False` marks a request that must not be repeated blindly although its method is (a PUT that
        adds id-less child records); None: the method decides."""
        method = op.method.upper()
        url = self.settings.effective_base_url + f"/{op.module}/{self.settings.api_version}" + build_path(
            op, hotel_id, path_params
        )
        query = query_pairs(params)
        kind: CacheClass = cache if method == "GET" and self.cache.enabled else "none"
        if kind == "none":
            return await self._call_ohip(op, method, url, query, json, hotel_id, idempotent, kind, "", (), ())
        cache_key = self.cache.key(hotel_id, method, url, query)
        cached = await self.cache.get(cache_key)
        if cached is not None:
            return OperaResponse(cached.status, cached.body, httpx2.Headers(cached.headers),
                                 cached.request_id, from_cache=True, memo=cached.memo)
        while (flight := self.cache.flight(cache_key)) is not None:
            # The same read is already on its way to OHIP: its answer (or its error) is this caller's too.
            try:
                shared: OperaResponse = await asyncio.shield(flight)
            except FlightAbandoned:
                continue  # its caller was cancelled before OHIP answered: the next one in line asks OHIP
            return OperaResponse(shared.status, freeze(shared.body), shared.headers, shared.request_id,
                                 from_cache=True)
        tags = self.cache.tags(hotel_id, op.module, kind)
        epoch = self.cache.epoch(tags)
        flight = self.cache.take_off(cache_key)
        try:
            response = await self._call_ohip(op, method, url, query, json, hotel_id, idempotent, kind, cache_key,
                                              tags, epoch)
        except Exception as exc:
            flight.set_exception(exc)
            raise
        except BaseException:
            flight.set_exception(FlightAbandoned())
            raise
        else:
            flight.set_result(response)
        finally:
            self.cache.land(cache_key, flight)
        return response

    async def _call_ohip(
        self,
        op: Operation,
        method: str,
        url: str,
        query: list[tuple[str, str]],
        json: Mapping[str, Any] | None,
        hotel_id: str,
        idempotent: bool | None,
        kind: CacheClass,
        cache_key: str,
        tags: tuple[str, ...],
        epoch: tuple[int, ...],
    ) -> OperaResponse:
        client = await self._live_client()

        self.breaker.admit()
        verdict: Literal["success", "failure", "neutral"] = "neutral"
        try:
            response = await self._exchange(client, op, method, url, query, json, hotel_id,
                                            idempotent=repeatable(method, idempotent))
            verdict = "success"
        except (OperaServerError, OperaConnectionError, OperaTimeoutError, OperaOutcomeUnknownError) as exc:
            verdict = "failure"
            self.last_error = exc.describe()
            self.breaker.record_failure(exc.message[:200])
            if method != "GET":
                await self.cache.invalidate_after_write(hotel_id, op.module)  # it may have happened
            raise
        except (OperaNotFoundError, OperaBadRequestError, OperaConflictError, OperaForbiddenError):
            verdict = "success"  # OHIP answered: it is up, the request was refused
            raise
        finally:
            if verdict == "success":
                self.breaker.record_success()
            elif verdict == "neutral":
                self.breaker.record_neutral()

        self.last_error = None
        self.last_success = time.time()
        if method != "GET":
            await self.cache.invalidate_after_write(hotel_id, op.module)
        elif kind != "none" and response.status == 200:
            answer = CachedAnswer(response.status, response.body, list(response.headers.multi_items()),
                                  response.request_id)
            await self.cache.put(cache_key, answer, kind=kind, tags=tags, epoch=epoch)
        return response

    async def _exchange(
        self,
        client: httpx2.AsyncClient,
        op: Operation,
        method: str,
        url: str,
        query: list[tuple[str, str]],
        body: Mapping[str, Any] | None,
        hotel_id: str,
        *,
        idempotent: bool,
    ) -> OperaResponse:
        tokens = self.token_manager
        content = (
            jsonlib.dumps(body, separators=(",", ":"), default=_json_default).encode() if body is not None else None
        )
        target = request_target(url, query)
        attempt = 0
        replayed_with_fresh_token = False
        while True:
            await self.limiter.acquire()
            token = await tokens.get_token()
            request_id = str(uuid.uuid4())
            headers = {
                "Authorization": f"Bearer {token}",
                "x-app-key": self.settings.effective_app_key.get_secret_value(),
                "x-hotelid": hotel_id,
                "x-request-id": request_id,
                # Declared on every operation: OPERA knows which interface made a change, so business events of
                # our own writes are not queued back to us (int getBusinessEvents).
                "x-externalsystem": self.settings.external_system_code,
                "Accept": "application/json",
            }
            if content is not None:
                headers["Content-Type"] = "application/json"
            if not self.tracing:
                propagate.inject(headers)  # the caller's traceparent, as the tracing transport would send it
            request = client.build_request(
                method, target, content=content, headers=headers,
                extensions={"ohip_operation": op.name, "ohip_hotel_id": hotel_id, "ohip_request_id": request_id},
            )
            started = time.perf_counter()
            self._in_flight += 1
            try:
                response = await client.send(request)
            except httpx2.HTTPError as exc:
                failure = classify_transport_error(exc)
                self._record(op, method, url, query, content, hotel_id, request_id, None, started,
                             error=type(exc).__name__)
                if (self.retry.transport_retryable(failure, method, idempotent=idempotent)
                        and attempt < self.retry.max_retries):
                    self.metrics.ohip_retries.labels(failure).inc()
                    await asyncio.sleep(self.retry.backoff(attempt))
                    attempt += 1
                    continue
                raise self._transport_failure(op, idempotent, failure, exc, request_id, hotel_id, attempt) from None
            finally:
                self._in_flight -= 1

            status = response.status_code
            self._record(op, method, url, query, content, hotel_id, request_id, status, started)
            if _stale_token(response) and not replayed_with_fresh_token:
                # One fresh token and one replay; a second 401 or bodiless 403 is final (never a loop).
                replayed_with_fresh_token = True
                self.metrics.ohip_retries.labels(str(status)).inc()
                await tokens.invalidate(token)
                continue
            if status == 429:
                self.metrics.ohip_rate_limited.inc()
            if self.retry.status_retryable(status, method, idempotent=idempotent) and attempt < self.retry.max_retries:
                self.metrics.ohip_retries.labels(str(status)).inc()
                await asyncio.sleep(self.retry.backoff(attempt, response.headers.get("Retry-After"), status=status))
                attempt += 1
                continue
            return self._answer(op, idempotent, response, request_id, hotel_id, attempt)

    def _record(
        self,
        op: Operation,
        method: str,
        url: str,
        query: list[tuple[str, str]],
        content: bytes | None,
        hotel_id: str,
        request_id: str,
        status: int | None,
        started: float,
        *,
        error: str | None = None,
    ) -> None:
        elapsed = time.perf_counter() - started
        self.metrics.ohip_requests.labels(op.module, op.operation_id, _status_class(status)).inc()
        self.metrics.ohip_duration.labels(op.module, op.operation_id).observe(elapsed)
        calls = OHIP_CALLS.get()
        if calls is not None:
            calls.append(OhipCall(op.name, status if status is not None else (error or "error"),
                                  round(elapsed * 1000, 1), request_id))
        # One line per exchange at DEBUG (the tool call's INFO line carries the same fields); failures stay visible.
        level = logging.WARNING if status is None or status >= 500 else logging.DEBUG
        if not log.isEnabledFor(level):
            return
        log.log(
            level,
            "OHIP %s %s -> %s in %.0f ms",
            op.name, method, status if status is not None else error, elapsed * 1000,
            extra={
                "method": method,
                "url": url,
                "hotel_id": hotel_id,
                "request_size_bytes": len(content) if content else 0,
                "params": _params_for_log(query),
                "status": status,
                "duration_ms": round(elapsed * 1000, 1),
                "operation": op.name,
                "request_id": request_id,
                **({"error": error} if error else {}),
            },
        )

    def _transport_failure(
        self,
        op: Operation,
        idempotent: bool,
        failure: TransportFailure,
        exc: httpx2.HTTPError,
        request_id: str,
        hotel_id: str,
        retries: int,
    ) -> OperaError:
        context: dict[str, Any] = {"operation": op.name, "request_id": request_id, "hotel_id": hotel_id}
        after = f" after {retries} retr{'y' if retries == 1 else 'ies'}" if retries else ""
        if failure in ("timeout", "dropped") and not idempotent:
            how = "timed out" if failure == "timeout" else "was dropped"
            return OperaOutcomeUnknownError(
                f"the outcome of {op.name} for hotel {hotel_id} is unknown: the request was sent but the "
                f"connection {how} before OHIP answered, and it was not repeated so that nothing happens twice",
                next_step=CHECK_BEFORE_RETRY.get(op.operation_id, DEFAULT_CHECK),
                **context,
            )
        if failure == "timeout":
            return OperaTimeoutError(
                f"OHIP did not answer {op.name} within {self.settings.request_timeout:g} s{after}", **context
            )
        if failure == "connect":
            return OperaConnectionError(
                f"could not connect to OHIP at {self.settings.effective_base_url} for {op.name}{after} "
                f"({type(exc).__name__})", **context,
            )
        return OperaConnectionError(
            f"the connection to OHIP failed during {op.name}{after} ({type(exc).__name__})", **context
        )

    def _answer(
        self, op: Operation, idempotent: bool, response: httpx2.Response, request_id: str, hotel_id: str, retries: int
    ) -> OperaResponse:
        status = response.status_code
        context: dict[str, Any] = {"operation": op.name, "status": status, "request_id": request_id,
                                   "hotel_id": hotel_id}
        if 200 <= status < 300:
            body: dict[str, Any] | None = None
            if status != 204 and response.content.strip():
                try:
                    parsed = response.json()
                except ValueError:
                    parsed = None
                if not isinstance(parsed, dict):
                    raise OperaServerError(f"OHIP answered {op.name} with a body that is not a JSON object",
                                           **context)
                body = parsed
            return OperaResponse(status, body, response.headers, request_id)

        if status == 401:
            # 401 bodies are not parsed (the spec defines none, and a gateway may echo request details).
            raise OperaAuthError(
                f"OHIP refused our access token for {op.name} even after a fresh token: the token is issued but "
                "not accepted for business calls (check that OPERA_APP_KEY is the application key the token was "
                "issued with, and OPERA_SCOPE / OPERA_ENTERPRISE_ID for this environment)", **context,
            )
        try:
            error_body = response.json()
        except ValueError:
            error_body = None
        after = f" after {retries} retr{'y' if retries == 1 else 'ies'}" if retries else ""
        if status == 404:
            raise OperaNotFoundError.from_body(f"OHIP found nothing for {op.name} in hotel {hotel_id}", error_body,
                                               **context)
        if status == 409:
            raise OperaConflictError.from_body(
                f"OHIP refused {op.name} because it conflicts with the record's current state", error_body,
                **context,
            )
        if status == 403 and not response.content.strip():
            raise OperaForbiddenError(
                f"OHIP answered {op.name} for hotel {hotel_id} with 403 and no body even after a fresh token: this "
                "application or integration user is not granted the hotel or the operation (check OPERA_APP_KEY, "
                "the hotel code and the integration user's roles)", **context,
            )
        if status == 403:
            raise OperaForbiddenError.from_body(
                f"OHIP forbids {op.name} for hotel {hotel_id} to this integration user", error_body, **context
            )
        if status == 429:
            raise OperaRateLimitedError.from_body(f"OHIP is throttling requests and still refused {op.name}{after}",
                                                  error_body, **context)
        if self.retry.status_may_have_run(status) and not idempotent:
            raise OperaOutcomeUnknownError.from_body(
                f"the outcome of {op.name} for hotel {hotel_id} is unknown: OHIP answered {status}, "
                + ("an unexpected failure that OPERA may report after storing the change"
                   if status == 500 else "which a gateway may send after forwarding the request")
                + ", and it was not repeated so that nothing happens twice",
                error_body, next_step=CHECK_BEFORE_RETRY.get(op.operation_id, DEFAULT_CHECK), **context,
            )
        if 400 <= status < 500:
            raise OperaBadRequestError.from_body(f"OHIP rejected {op.name} as invalid", error_body, **context)
        if status >= 500:
            raise OperaServerError.from_body(f"OHIP failed on {op.name}{after}", error_body, **context)
        raise OperaServerError(f"OHIP answered {op.name} with an unexpected HTTP {status}", **context)
