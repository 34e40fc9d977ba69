"""Every Prometheus metric of the server, in one registry per app (no globals, so tests build many apps)."""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info
from prometheus_client.process_collector import ProcessCollector

from app import __version__

#: OHIP round trips: remote SaaS, so resolution between 50 ms and 10 s, and room for timeouts.
OHIP_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0)
TOOL_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class Children:
    """The label children of one metric, each looked up once: `labels()` checks its values and takes a lock on every
    call, which a per-request path pays for nothing once the child exists. Children are never removed (the server
    removes no series), so a kept child is always the one `labels()` would return."""

    def __init__(self, metric: Counter | Histogram | Gauge) -> None:
        self._metric = metric
        self._children: dict[tuple[str, ...], Any] = {}

    def __call__(self, *values: str) -> Any:
        child = self._children.get(values)
        if child is None:
            child = self._children[values] = self._metric.labels(*values)
        return child


class Metrics:
    """The server's metrics. Names follow Prometheus conventions: opera_ prefix, base units, _total counters."""

    def __init__(self, environment: str = "development", mode: str = "sandbox") -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        ProcessCollector(registry=r)  # process_resident_memory_bytes, process_cpu_seconds_total, ...

        self.build_info = Info("opera_mcp_build", "Build and runtime information.", registry=r)
        self.build_info.info({"version": __version__, "environment": environment, "mode": mode})

        # MCP face
        self.tool_calls = Counter(
            "opera_mcp_tool_calls", "MCP tool calls by tool and outcome (ok, error, refused).",
            ["tool", "outcome"], registry=r,
        )
        self.tool_duration = Histogram(
            "opera_mcp_tool_duration_seconds", "MCP tool call duration.", ["tool"],
            buckets=TOOL_BUCKETS, registry=r,
        )
        self.http_requests = Counter(
            "opera_http_requests", "Inbound HTTP requests by route and status code.",
            ["route", "method", "status"], registry=r,
        )
        self.http_duration = Histogram(
            "opera_http_request_duration_seconds", "Inbound HTTP request duration by route.", ["route"],
            buckets=HTTP_BUCKETS, registry=r,
        )

        # OHIP calls
        self.ohip_requests = Counter(
            "opera_ohip_requests", "Outbound OHIP requests by module, operation and status class (2xx..5xx, error).",
            ["module", "operation", "status_class"], registry=r,
        )
        self.ohip_duration = Histogram(
            "opera_ohip_request_duration_seconds", "Outbound OHIP request duration by module and operation.",
            ["module", "operation"], buckets=OHIP_BUCKETS, registry=r,
        )
        self.ohip_retries = Counter(
            "opera_ohip_retries", "Retries of OHIP requests by reason (429, 502, 503, 504, connect, timeout, 401).",
            ["reason"], registry=r,
        )
        self.ohip_rate_limited = Counter(
            "opera_ohip_rate_limited_responses", "HTTP 429 responses received from OHIP.", registry=r,
        )
        self.limiter_waits = Counter(
            "opera_ohip_limiter_waits", "Calls that had to queue at the local outbound rate limiter.", registry=r,
        )
        self.limiter_wait_seconds = Histogram(
            "opera_ohip_limiter_wait_seconds", "Time spent queued at the local outbound rate limiter.",
            buckets=(0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0), registry=r,
        )
        self.limiter_rejections = Counter(
            "opera_ohip_limiter_rejections", "Calls refused because the limiter queue wait exceeded its bound.",
            registry=r,
        )
        self.breaker_state = Gauge(
            "opera_ohip_circuit_breaker_state", "Circuit breaker state: 0 closed, 1 half-open, 2 open.", registry=r,
        )
        self.breaker_rejections = Counter(
            "opera_ohip_circuit_breaker_rejections", "Calls failed fast because the circuit breaker was open.",
            registry=r,
        )
        self.pool_connections = Gauge(
            "opera_ohip_pool_connections", "Connections in the outbound OHIP connection pool by state (active, idle).",
            ["state"], registry=r,
        )

        # Token
        self.token_requests = Counter(
            "opera_ohip_token_requests", "OAuth token requests to OHIP by outcome (success, failure).",
            ["outcome"], registry=r,
        )
        self.token_expiry = Gauge(
            "opera_ohip_token_expiry_timestamp_seconds",
            "Unix time at which the current OHIP access token expires (0 when none).", registry=r,
        )

        # Cache
        self.cache_hits = Counter("opera_cache_hits", "Response cache hits.", ["cache"], registry=r)
        self.cache_misses = Counter("opera_cache_misses", "Response cache misses.", ["cache"], registry=r)
        self.cache_evictions = Counter(
            "opera_cache_evictions", "Response cache evictions by reason (size, expired, invalidated).",
            ["cache", "reason"], registry=r,
        )
        self.cache_entries = Gauge("opera_cache_entries", "Entries held in the response cache.", ["cache"], registry=r)

        # Shared state (Redis, with OPERA_REDIS_URL)
        self.redis_up = Gauge("opera_redis_up", "1 while the shared state store (Redis) answers, else 0.", registry=r)
        self.redis_duration = Histogram(
            "opera_redis_command_duration_seconds", "Shared state store (Redis) command duration by kind.",
            ["command"], buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0), registry=r,
        )
        self.redis_errors = Counter(
            "opera_redis_errors", "Failed shared state store (Redis) commands by kind and error "
            "(connection, timeout, other).", ["command", "error"], registry=r,
        )
        self.replicas = Gauge("opera_replicas", "Replicas seen by the Redis heartbeat in the last 10 s.", registry=r)
        self.limiter_backend = Gauge(
            "opera_ohip_limiter_backend", "1 for the outbound limiter's active backend (redis, local-fallback).",
            ["backend"], registry=r,
        )
        self.cache_store_failures = Counter(
            "opera_cache_store_failures", "Cache operations skipped because the shared store failed "
            "(get: a miss, put: not stored, drop: invalidation impossible).", ["cache", "operation"], registry=r,
        )

        # Business
        self.reservations = Counter(
            "opera_reservations", "Reservation changes by action (created, modified, cancelled, reinstated, split).",
            ["action"], registry=r,
        )
        self.front_desk_events = Counter(
            "opera_front_desk_events",
            "Front-desk events by kind (check_in, undo_check_in, room_move, wake_up_call, guest_message, "
            "service_request, check_out, undo_check_out, charge, correction, payment, deposit).",
            ["event"], registry=r,
        )

        # Security
        self.auth_failures = Counter(
            "opera_mcp_auth_failures", "Inbound authentication or authorization failures by reason.",
            ["reason"], registry=r,
        )
        self.refused_calls = Counter(
            "opera_mcp_refused_calls", "Tool calls refused before reaching OHIP, by reason.", ["reason"], registry=r,
        )
        self.idempotent_replays = Counter(
            "opera_mcp_idempotent_replays", "Write calls answered from the idempotency store without calling OHIP.",
            ["tool"], registry=r,
        )
        self.idempotent_reconciliations = Counter(
            "opera_mcp_idempotent_reconciliations",
            "Repeats of a write whose first outcome was unknown, by what the look-up in OPERA found.",
            ["tool", "outcome"], registry=r,
        )

        # Pre-create label sets that dashboards and alerts read, so the series exist from the first scrape.
        self.breaker_state.set(0)
        self.token_expiry.set(0)
        for outcome in ("success", "failure"):
            self.token_requests.labels(outcome)
        for state in ("active", "idle"):
            self.pool_connections.labels(state).set(0)
        self.cache_hits.labels("ohip")
        self.cache_misses.labels("ohip")
        self.cache_entries.labels("ohip").set(0)
