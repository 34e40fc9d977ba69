"""Liveness, readiness and the detailed health report (probes and the health:// resources share them)."""

from __future__ import annotations

import asyncio
import platform
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from app import __version__

if TYPE_CHECKING:
    from app.config import Settings
    from app.opera.http import OperaHTTP
    from app.opera.stores import StoreSet


def runtime() -> dict[str, str]:
    """The Python and the event loop serving this request: uvloop when installed (uvicorn's "auto" loop picks it),
    asyncio otherwise, which costs about a tenth more CPU per cached tool call (bench/bench_tool_call.py)."""
    try:
        loop = type(asyncio.get_running_loop()).__module__.split(".", 1)[0]
    except RuntimeError:
        loop = "none"
    return {"python": platform.python_version(), "event_loop": loop}


@dataclass
class Lifecycle:
    """Where the process is in its life; /ready reads it, the lifespan and the SIGTERM handler write it."""

    started: bool = False
    draining: bool = False
    started_at: float = field(default_factory=time.time)
    monotonic_start: float = field(default_factory=time.monotonic)
    #: Set when the drain bound is reached: callers still waiting for a write are answered "outcome unknown".
    cut: asyncio.Event = field(default_factory=asyncio.Event)
    calls_cut: int = 0
    drain_started: asyncio.Event = field(default_factory=asyncio.Event)

    def begin_drain(self) -> None:
        self.draining = True
        self.drain_started.set()


class HealthReporter:
    def __init__(self, settings: Settings, http: OperaHTTP, lifecycle: Lifecycle, *,
                 stores: StoreSet | None = None) -> None:
        self.settings = settings
        self.http = http
        self.lifecycle = lifecycle
        self.stores = stores

    def _components(self) -> dict[str, dict[str, Any]]:
        components = self.http.health()
        shared = self.stores.health() if self.stores is not None else None
        if shared is not None:
            components["shared_state"] = {"backend": "redis", **shared}
        return components

    def live(self) -> dict[str, Any]:
        """Process-only: if this answers, the event loop runs. Never calls OHIP."""
        return {"status": "alive", "uptime_s": round(time.monotonic() - self.lifecycle.monotonic_start, 1)}

    def ready(self, details: bool = True) -> tuple[bool, dict[str, Any]]:
        """Ready = started, not draining, a token obtained (cached state), breaker not open. No OHIP call.
        Without `details` the reasons leave out the last errors (a caller from elsewhere sees only what is wrong)."""
        return self._readiness(self._components(), details)

    def _readiness(self, components: dict[str, dict[str, Any]],
                   details: bool = True) -> tuple[bool, dict[str, Any]]:
        reasons: list[str] = []
        if not self.lifecycle.started:
            reasons.append("starting")
        if self.lifecycle.draining:
            reasons.append("draining: shutting down, finishing in-flight calls")
        auth = components.get("auth", {})
        if auth.get("status") != "ok":
            error = f": {auth['last_error']}" if details and auth.get("last_error") else ""
            reasons.append(f"no OHIP token yet{error}")
        if components.get("breaker", {}).get("status") == "down":
            reasons.append("circuit breaker open: OHIP failing")
        shared = components.get("shared_state")
        if shared is not None and shared.get("status") != "ok":
            reasons.append("shared state store (Redis) unreachable: writes are refused"
                           + (f" ({shared['last_error']})" if details and shared.get("last_error") else ""))
        ok = not reasons
        return ok, {"status": "ready" if ok else "not_ready", "reasons": reasons}

    def health(self, details: bool = True) -> dict[str, Any]:
        """The detailed report; without `details` (a caller that is neither on this machine nor authenticated)
        only the statuses: no OHIP base URL, no last errors, nothing that helps an attacker aim."""
        # One reading of the OHIP client's state, so the components and the readiness shown agree.
        components = self._components()
        ok, readiness = self._readiness(components, details)
        statuses = {c.get("status") for c in components.values()}
        if "down" in statuses or self.lifecycle.draining:
            overall = "down" if not ok else "degraded"
        elif "degraded" in statuses or not ok:
            overall = "degraded"
        else:
            overall = "ok"
        return {
            "status": overall,
            "version": __version__,
            "mode": self.settings.mode,
            "environment": self.settings.environment,
            "default_hotel_id": self.settings.default_hotel_id,
            "uptime_s": round(time.monotonic() - self.lifecycle.monotonic_start, 1),
            "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.lifecycle.started_at)),
            "runtime": runtime(),
            "ready": readiness,
            "components": components,
        } if details else {
            "status": overall,
            "ready": readiness,
            "components": {name: {"status": c.get("status")} for name, c in components.items()},
            "details": "only for callers on this machine or with a valid key or token",
        }
