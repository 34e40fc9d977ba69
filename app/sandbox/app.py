"""The sandbox's Starlette app: `create_sandbox_app(config)` builds the OHIP emulator with its own state.

A pure-ASGI gateway sits in front of the routes and does what OHIP's gateway does: it resolves the operation,
checks the bearer token and the x-app-key / x-hotelid headers, answers unknown paths (404) and wrong methods (405),
applies the environment's quota (when set) and injected faults, echoes x-request-id, and records every exchange in
a bounded log with exact counters. Routes under `/_sandbox/` are emulator controls, not OHIP: stats, the request
log, faults, the quota, token expiry and revocation, and reset.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match, Route

from app import __version__
from app.sandbox.desk import FrontDesk, desk_routes
from app.sandbox.events import EventQueues, OriginMiddleware, attach
from app.sandbox.faults import Fault, Faults, fault_from_spec
from app.sandbox.oauth import TokenIssuer, check_app_key, token_routes
from app.sandbox.quota import Quota, QuotaLimits
from app.sandbox.recorder import Exchange, Recorder, mask_form, mask_headers, mask_token_response
from app.sandbox.routes import bof, crm, csh, fof, hsk, integration, inv, lov, par, rsv, rtp
from app.sandbox.routes.common import error_body, error_response, ohip_json, route_path
from app.sandbox.seed import build_enterprise
from app.sandbox.state import Enterprise, NightAudit, SandboxError

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

CONTROL_PREFIX = "/_sandbox"
HOTEL_HEADER = "x-hotelid"


@dataclass
class SandboxConfig:
    """How a sandbox is built. The defaults are the public demo credentials of the emulator."""

    seed: int = 42
    business_date: date | None = None  # None: today
    #: Night audits run right after seeding (each posts a night, records no-shows and moves the date on by one).
    night_audits: int = 0
    token_ttl: int = 3600
    client_id: str = "sandbox-client"
    client_secret: str = "sandbox-secret"  # noqa: S105 - the public demo credential of the emulator
    app_key: str = "5f7e3b2a-9c41-4d6e-8a2b-1c3d5e7f9a0b"
    #: The `enterpriseId` header that client_credentials token requests must carry (OCIM requires one).
    enterprise_id: str = "SANDBOX"
    username: str = "sandbox-user"
    password: str = "sandbox-password"  # noqa: S105 - the public demo credential of the emulator
    hotels: tuple[str, ...] = ("SAND01", "SAND02")
    rooms_per_hotel: int = 100
    #: External system codes every hotel has configured; external references must name one of them.
    external_systems: tuple[str, ...] = ("OPERAMCP",)
    #: OHIP's throttle for the whole sandbox: business calls per wall-clock second that pass at once (None: off;
    #: OHIP's is 50), the most per second before 429 (None: twice quota_rps), and the wait of those in between.
    quota_rps: float | None = None
    quota_burst: int | None = None
    quota_delay_s: float = 1.0
    #: Exchanges the request log keeps, newest last (None: all). Counters in stats stay exact either way.
    request_log_max: int | None = 2000


@dataclass
class Sandbox:
    """One running emulator: configuration, hotel world (`enterprise`), tokens, faults and the request log."""

    config: SandboxConfig
    enterprise: Enterprise = field(init=False)
    tokens: TokenIssuer = field(init=False)
    faults: Faults = field(init=False)
    recorder: Recorder = field(init=False)
    quota: Quota = field(init=False)
    #: OPERA's business event queues (int getBusinessEvents) and the simulated front desk (app/sandbox/desk.py).
    events: EventQueues = field(init=False)
    desk: FrontDesk = field(init=False)

    def __post_init__(self) -> None:
        for code in self.config.external_systems:
            if not code.strip() or len(code) > 20:
                raise ValueError(f"external system codes are 1..20 characters (rsv's idContext); got {code!r}")
        self.events = EventQueues()
        self.enterprise = self._build()
        self.desk = FrontDesk(self)
        self.tokens = TokenIssuer(self.config.token_ttl)
        self.faults = Faults(self.config.seed)
        self.recorder = Recorder(self.config.request_log_max)
        self.quota = Quota(self.configured_quota())

    def configured_quota(self) -> QuotaLimits | None:
        if self.config.quota_rps is None:
            return None
        return QuotaLimits.build(self.config.quota_rps, self.config.quota_burst, self.config.quota_delay_s)

    def _build(self) -> Enterprise:
        enterprise = build_enterprise(
            seed=self.config.seed,
            business_date=self.config.business_date or date.today(),
            hotels=self.config.hotels,
            rooms_per_hotel=self.config.rooms_per_hotel,
        )
        for hotel in enterprise.hotels.values():
            hotel.external_systems = tuple(self.config.external_systems)
            for _ in range(self.config.night_audits):
                enterprise.night_audit(hotel.code)
        attach(enterprise, self.events)  # after seeding: the seeded world is not news
        return enterprise

    @property
    def requests(self) -> list[Exchange]:
        """The exchanges the request log keeps, oldest first (every one when `request_log_max` is None)."""
        return self.recorder.exchanges

    @property
    def token_requests(self) -> int:
        return self.tokens.requests

    def connection_count(self) -> int:
        return self.recorder.connection_count()

    def reset(self) -> None:
        """Back to the seeded state: fresh world, no tokens, no faults, empty log and counters, configured quota."""
        self.desk.stop()
        self.events.clear()
        self.enterprise = self._build()
        self.tokens.clear()
        self.faults.reset()
        self.recorder.clear()
        self.quota.set(self.configured_quota())
        self.quota.reset_counters()

    def stats(self) -> dict[str, Any]:
        """Exact counters since start or the last reset; `requests_logged` is what the bounded log still holds."""
        quota = self.quota.describe()
        return {
            "token_requests": self.token_requests,
            "requests": self.recorder.total,
            "requests_by_operation": self.recorder.counts(),
            "requests_logged": len(self.recorder.exchanges),
            "request_log_max": self.recorder.max_exchanges,
            "connections": self.connection_count(),
            "faults_pending": len(self.faults.pending()),
            "faults_fired": dict(sorted(self.faults.fired.items())),
            "max_requests_in_one_second": quota["max_requests_in_one_second"],
            "quota": quota["limits"],
            "quota_delayed": quota["delayed"],
            "quota_rejected": quota["rejected"],
        }


# ----------------------------------------------------------------------------------------------------- gateway


@dataclass
class _Captured:
    status: int = 500
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    body: bytearray = field(default_factory=bytearray)


class _DroppedResponse(Exception):
    """Raised after the response has started, so uvicorn closes the connection without a complete response."""


def _module_of(path: str) -> str | None:
    first = path.strip("/").split("/", 1)[0]
    return first or None


def _bearer_token(scope: Scope) -> str:
    """The token of a `Bearer` Authorization header, or "" when there is none."""
    raw = next((v.decode("latin-1") for k, v in scope.get("headers", []) if k.lower() == b"authorization"), "")
    scheme, _, token = raw.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def _parse_json(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return raw.decode("utf-8", errors="replace")[:2000]


class Gateway:
    """Pure ASGI in front of the routes (streaming-safe, unlike BaseHTTPMiddleware)."""

    def __init__(self, sandbox: Sandbox, inner: Starlette, routes: list[BaseRoute]) -> None:
        self.sandbox = sandbox
        self.inner = inner
        self.routes = routes

    def _resolve(self, scope: Scope) -> tuple[str | None, dict[str, Any], bool]:
        """(operationId, path params, method allowed) of the route the request matches."""
        partial: tuple[str | None, dict[str, Any]] | None = None
        for route in self.routes:
            match, child = route.matches(scope)
            if match == Match.FULL:
                return getattr(route, "name", None), dict(child.get("path_params", {})), True
            if match == Match.PARTIAL and partial is None:
                partial = (getattr(route, "name", None), dict(child.get("path_params", {})))
        if partial is not None:
            return partial[0], partial[1], False
        return None, {}, False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.inner(scope, receive, send)
            return
        request = Request(scope)
        path = route_path(request)
        if path == CONTROL_PREFIX or path.startswith(CONTROL_PREFIX + "/"):
            await self.inner(scope, receive, send)
            return

        body = bytearray()
        while True:
            message = await receive()
            body.extend(message.get("body", b""))
            if not message.get("more_body", False):
                break
        started = time.time()
        operation, path_params, method_ok = self._resolve(scope)
        headers, hashed = mask_headers(list(scope.get("headers", [])))
        request_id = headers.get("x-request-id")

        fault: Fault | None = None
        captured = _Captured()
        # The token endpoint is outside the quota: OHIP's throttle is documented for API calls, and tokens have
        # their own rule (one an hour, never one per call).
        verdict, wait = ("pass", 0.0) if operation == "getToken" else self.sandbox.quota.admit()
        try:
            response = self._quota_response(path) if verdict == "reject" else None
            if wait > 0:
                await asyncio.sleep(wait)
            if response is None:
                response = self._refusal(scope, path, operation, path_params, method_ok, headers)
            if response is None:
                fault = self.sandbox.faults.take(operation)
                if fault is not None and fault.mode == "respond":
                    response = self._fault_response(fault, path)
                elif fault is not None and fault.mode == "latency":
                    await asyncio.sleep(fault.delay)
            if fault is not None and fault.mode == "reset":
                captured.status = 0  # no response at all; nothing is processed
            elif response is not None:
                await response(scope, self._receive_nothing, self._capture(captured))
            else:
                await self.inner(scope, self._replay(bytes(body)), self._capture(captured))
                if fault is not None and fault.mode == "replace":
                    captured = _Captured()  # processed; the answer is lost behind the gateway's own error
                    await self._fault_response(fault, path)(scope, self._receive_nothing, self._capture(captured))
        except Exception:  # an unexpected bug in a route must still give the client an OHIP 500 body
            captured = _Captured()
            err = ohip_json(
                error_body(
                    500, "Internal Server Error", "The sandbox failed to process the request", path, "OHIPSIM-500"
                ),
                500,
            )
            await err(scope, self._receive_nothing, self._capture(captured))

        if fault is not None and fault.mode == "reset":
            self._record(scope, request, path, started, headers, hashed, body, captured, operation, method_ok, [])
            await self._reset_connection(send)
            return

        out_headers = [(k, v) for k, v in captured.headers if k.lower() not in (b"x-request-id",)]
        out_headers.append((b"x-request-id", (request_id or str(uuid.uuid4())).encode("latin-1")))
        out_headers.append((b"x-oracle-dms-ecid", uuid.uuid4().hex.encode()))
        out_headers.append((b"server", f"OHIP sandbox {__version__}".encode()))

        self._record(scope, request, path, started, headers, hashed, body, captured, operation, method_ok, out_headers)

        if fault is not None and fault.mode == "stall" and fault.delay > 0:
            await asyncio.sleep(fault.delay)
        await send({"type": "http.response.start", "status": captured.status, "headers": out_headers})
        if fault is not None and fault.mode == "drop":
            raise _DroppedResponse(f"fault injection dropped the response to {operation}")
        await send({"type": "http.response.body", "body": bytes(captured.body)})

    def _record(
        self,
        scope: Scope,
        request: Request,
        path: str,
        started: float,
        headers: dict[str, str],
        hashed: str | None,
        body: bytearray,
        captured: _Captured,
        operation: str | None,
        method_ok: bool,
        out_headers: list[tuple[bytes, bytes]],
    ) -> None:
        if operation == "getToken" and method_ok:
            self.sandbox.tokens.requests += 1
        self.sandbox.recorder.record(
            Exchange(
                time=started,
                method=scope["method"],
                path=path,
                query=[(k, v) for k, v in request.query_params.multi_items()],
                headers=headers,
                json=self._request_body(headers, bytes(body)),
                status=captured.status,
                response=mask_token_response(_parse_json(bytes(captured.body))),
                operation_id=operation,
                module=_module_of(path),
                client=(scope["client"][0], int(scope["client"][1])) if scope.get("client") else None,
                traceparent=headers.get("traceparent"),
                token_hash=hashed,
                response_headers={k.decode("latin-1").lower(): v.decode("latin-1") for k, v in out_headers},
            )
        )

    @staticmethod
    async def _reset_connection(send: Send) -> None:
        """Close the connection with no response at all. ASGI has no message for that, so ask the server to start
        a response with status 0, which it cannot put on the wire: uvicorn refuses before writing a byte and then
        closes the connection. A server that wrote it anyway gets the connection dropped after its status line."""
        try:
            await send({"type": "http.response.start", "status": 0, "headers": []})
        except Exception:  # the expected path: nothing was written, and the server closes the connection
            return
        raise _DroppedResponse("fault injection reset the connection")

    # -- checks ----------------------------------------------------------------------------------------------

    def _refusal(
        self,
        scope: Scope,
        path: str,
        operation: str | None,
        path_params: dict[str, Any],
        method_ok: bool,
        headers: dict[str, str],
    ) -> Response | None:
        """The gateway's answer when the request must not reach a route, else None."""
        try:
            if operation is None:
                raise SandboxError(404, "Not Found", f"No OHIP resource at {path}", "OHIPSIM-GW-404", "path")
            if not method_ok:
                raise SandboxError(
                    405,
                    "Method Not Allowed",
                    f"{scope['method']} is not allowed on {path}",
                    "OHIPSIM-GW-405",
                    "method",
                )
            if operation == "getToken":
                return None
            token = _bearer_token(scope)
            if self.sandbox.tokens.is_revoked(token):
                # Real OHIP answers a stale or revoked token 403 with no body: "re-request the token".
                return Response(status_code=403)
            if not token or not self.sandbox.tokens.is_valid(token):
                # ...and a missing, invalid or expired token 401 with no body (Oracle's "Common error messages":
                # 401 Unauthorized, "No response body").
                return Response(status_code=401)
            self._check_business_headers(headers, path_params)
        except SandboxError as exc:
            return error_response(exc, path)
        return None

    def _check_business_headers(self, headers: dict[str, str], path_params: dict[str, Any]) -> None:
        check_app_key(self.sandbox, headers.get("x-app-key"))
        header_hotel = headers.get(HOTEL_HEADER)
        if not header_hotel:
            raise SandboxError(
                400, "Bad Request", "The x-hotelid header is required on every call", "OHIPSIM-GW-HOTELID", HOTEL_HEADER
            )
        if header_hotel not in self.sandbox.enterprise.hotels:
            raise SandboxError(
                403,
                "Forbidden",
                f"This credential has no access to hotel {header_hotel}",
                "OHIPSIM-GW-403",
                HOTEL_HEADER,
            )
        path_hotel = path_params.get("hotelId")
        if path_hotel is not None and str(path_hotel) not in self.sandbox.enterprise.hotels:
            raise SandboxError(404, "Not Found", f"Hotel {path_hotel} does not exist", "OHIPSIM-HOTEL-404", "hotelId")

    def _quota_response(self, path: str) -> Response:
        limits = self.sandbox.quota.limits
        allowance = f"{limits.rps:g} requests per second, bursts to {limits.burst}" if limits else "the quota"
        detail = f"The environment's API quota ({allowance}) is used up for this second; slow down and retry"
        return ohip_json(error_body(429, "Too Many Requests", detail, path, "OHIPSIM-QUOTA-429"), 429)

    def _fault_response(self, fault: Fault, path: str) -> Response:
        body = fault.body
        if body is None:
            titles = {429: "Too Many Requests", 502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}
            title = titles.get(fault.status, "Injected fault")
            body = error_body(fault.status, title, f"Injected fault: {title}", path, f"OHIPSIM-FAULT-{fault.status}")
        return ohip_json(body, fault.status, fault.headers)

    @staticmethod
    def _request_body(headers: dict[str, str], raw: bytes) -> Any:
        if not raw:
            return None
        if headers.get("content-type", "").lower().startswith("application/x-www-form-urlencoded"):
            from urllib.parse import parse_qsl

            return mask_form(dict(parse_qsl(raw.decode("utf-8", errors="replace"), keep_blank_values=True)))
        return _parse_json(raw)

    # -- ASGI plumbing ---------------------------------------------------------------------------------------

    @staticmethod
    def _replay(body: bytes) -> Receive:
        sent = False

        async def receive() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            await asyncio.Event().wait()  # the client stays connected until the response is sent
            return {"type": "http.disconnect"}

        return receive

    @staticmethod
    async def _receive_nothing() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    @staticmethod
    def _capture(captured: _Captured) -> Send:
        async def send(message: Message) -> None:
            if message["type"] == "http.response.start":
                captured.status = int(message["status"])
                captured.headers = list(message.get("headers", []))
            elif message["type"] == "http.response.body":
                captured.body.extend(message.get("body", b""))

        return send


# ---------------------------------------------------------------------------------------------------- controls


def _control_routes(sandbox: Sandbox, operations: frozenset[str]) -> list[BaseRoute]:
    async def stats(request: Request) -> Response:
        return ohip_json(sandbox.stats())

    async def recent(request: Request) -> Response:
        try:
            limit = max(1, min(1000, int(request.query_params.get("limit", "50"))))
        except ValueError:
            return ohip_json({"error": "limit must be an integer"}, 400)
        rows = sandbox.recorder.exchanges[-limit:]
        return ohip_json({"requests": [row.describe() for row in rows], "count": len(rows)})

    async def json_object(request: Request) -> dict[str, Any]:
        try:
            spec = json.loads(await request.body() or b"{}")
        except (ValueError, UnicodeDecodeError) as exc:
            raise ValueError(f"the body is not valid JSON: {exc}") from None
        if not isinstance(spec, dict):
            raise ValueError("the body must be a JSON object")
        return spec

    async def add_fault(request: Request) -> Response:
        try:
            fault = sandbox.faults.add(fault_from_spec(await json_object(request), operations))
        except ValueError as exc:
            return ohip_json({"error": str(exc)}, 400)
        return ohip_json({"fault": fault.describe()}, 201)

    async def list_faults(request: Request) -> Response:
        return ohip_json({"faults": [f.describe() for f in sandbox.faults.pending()]})

    async def clear_faults(request: Request) -> Response:
        sandbox.faults.clear()
        return ohip_json({"faults": []})

    async def get_quota(request: Request) -> Response:
        return ohip_json(sandbox.quota.describe())

    async def set_quota(request: Request) -> Response:
        try:
            spec = await json_object(request)
            unknown = set(spec) - {"rps", "burst", "delay"}
            if unknown:
                raise ValueError(f"unknown fields {sorted(unknown)}; allowed: rps, burst, delay")
            limits = QuotaLimits.build(spec.get("rps"), spec.get("burst"), spec.get("delay", 1.0))
        except ValueError as exc:
            return ohip_json({"error": str(exc)}, 400)
        sandbox.quota.set(limits)
        return ohip_json(sandbox.quota.describe())

    async def clear_quota(request: Request) -> Response:
        sandbox.quota.set(None)
        return ohip_json(sandbox.quota.describe())

    async def expire_tokens(request: Request) -> Response:
        return ohip_json({"expired": sandbox.tokens.expire_all()})

    async def revoke_tokens(request: Request) -> Response:
        return ohip_json({"revoked": sandbox.tokens.revoke_all()})

    async def reset(request: Request) -> Response:
        sandbox.reset()
        return ohip_json({"reset": True})

    async def night_audit(request: Request) -> Response:
        """Run OPERA's end of day: {"hotelId": "SAND01"} for one hotel (default every hotel), "times" for several."""
        raw = await request.body()
        try:
            spec = json.loads(raw) if raw.strip() else {}
        except ValueError:
            return ohip_json({"error": "the body must be JSON, e.g. {\"hotelId\": \"SAND01\"}"}, 400)
        if not isinstance(spec, dict):
            return ohip_json({"error": "the body must be a JSON object"}, 400)
        hotels = [str(spec["hotelId"])] if spec.get("hotelId") else list(sandbox.enterprise.hotels)
        times = spec.get("times", 1)
        if not isinstance(times, int) or not 1 <= times <= 366:
            return ohip_json({"error": "times must be a whole number from 1 to 366"}, 400)
        unknown = [h for h in hotels if h not in sandbox.enterprise.hotels]
        if unknown:
            return ohip_json({"error": f"unknown hotel {unknown[0]}; known: {', '.join(sandbox.enterprise.hotels)}"},
                             404)
        audits = [sandbox.enterprise.night_audit(h) for _ in range(times) for h in hotels]
        return ohip_json({"audits": [audit_body(a) for a in audits]})

    return [
        Route(CONTROL_PREFIX + "/stats", stats, methods=["GET"]),
        Route(CONTROL_PREFIX + "/night-audit", night_audit, methods=["POST"]),
        Route(CONTROL_PREFIX + "/requests", recent, methods=["GET"]),
        Route(CONTROL_PREFIX + "/faults", add_fault, methods=["POST"]),
        Route(CONTROL_PREFIX + "/faults", list_faults, methods=["GET"]),
        Route(CONTROL_PREFIX + "/faults", clear_faults, methods=["DELETE"]),
        Route(CONTROL_PREFIX + "/quota", get_quota, methods=["GET"]),
        Route(CONTROL_PREFIX + "/quota", set_quota, methods=["POST"]),
        Route(CONTROL_PREFIX + "/quota", clear_quota, methods=["DELETE"]),
        Route(CONTROL_PREFIX + "/tokens/expire", expire_tokens, methods=["POST"]),
        Route(CONTROL_PREFIX + "/tokens/revoke", revoke_tokens, methods=["POST"]),
        Route(CONTROL_PREFIX + "/reset", reset, methods=["POST"]),
    ]


def audit_body(audit: NightAudit) -> dict[str, Any]:
    return {
        "hotelId": audit.hotel_id, "closed": audit.closed.isoformat(), "businessDate": audit.business_date.isoformat(),
        "nightsPosted": len(audit.nights_posted), "noShows": list(audit.no_shows), "extended": list(audit.extended),
    }


def create_sandbox_app(config: SandboxConfig | None = None) -> Starlette:
    """Build the emulator; `app.state.sandbox` is its `Sandbox`. Works standalone or mounted under a prefix."""
    sandbox = Sandbox(config or SandboxConfig())
    ohip_routes: list[BaseRoute] = [*token_routes(sandbox)]
    for module in (rsv, par, rtp, lov, inv, crm, fof, hsk, csh, integration, bof):
        ohip_routes.extend(module.routes(sandbox))
    operations = frozenset(str(name) for route in ohip_routes if (name := getattr(route, "name", None)))

    async def on_sandbox_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, SandboxError)
        return error_response(exc, route_path(request))

    inner = Starlette(
        routes=[*ohip_routes, *_control_routes(sandbox, operations), *desk_routes(sandbox, CONTROL_PREFIX)],
        exception_handlers={SandboxError: on_sandbox_error},
        middleware=[Middleware(OriginMiddleware)],  # who makes each change, for business events
    )
    app = Starlette()
    app.state.sandbox = sandbox
    gateway = Gateway(sandbox, inner, ohip_routes)
    # the outer Starlette only carries `state`; every request goes through the gateway
    app.router.routes.append(_Everything(gateway))
    return app


class _Everything(BaseRoute):
    """A route that matches every HTTP request and hands it to the gateway."""

    def __init__(self, app: Gateway) -> None:
        self.app = app

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        return (Match.FULL, {}) if scope["type"] == "http" else (Match.NONE, {})

    def url_path_for(self, name: str, /, **path_params: Any) -> Any:
        raise NotImplementedError

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)
