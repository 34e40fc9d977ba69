"""Fault injection, an emulator extension (not OHIP): make chosen operations fail, drop, stall, reset or slow down
on purpose so clients can be tested against outages, throttling (429 + Retry-After), lost requests and lost
responses. Faults fire by chance (`probability`, drawn from a seeded generator so runs repeat) and for a number of
times, a time window (`for_s`), or both.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

FaultMode = Literal["respond", "drop", "stall", "reset", "latency", "replace"]
FAULT_MODES: tuple[FaultMode, ...] = ("respond", "drop", "stall", "reset", "latency", "replace")
FAULT_FIELDS = ("operation", "status", "times", "headers", "body", "mode", "delay", "probability", "for_s")
MAX_DELAY_S = 600.0
MAX_WINDOW_S = 86400.0


@dataclass
class Fault:
    """`operation` is an OHIP operationId (getReservation, getToken...) or "*" for any operation.

    Before the request is processed:
      respond: answer `status` (with `headers` and `body`) instead of processing the request.
      reset:   close the connection without a response; nothing is processed (the client sees a transport error).
      latency: wait `delay` seconds, then process and answer normally.
    After it is processed:
      drop:    start the response, then drop the connection (a lost response; the change is made).
      stall:   wait `delay` seconds before answering.
      replace: answer `status` (with `headers` and `body`) in place of the result: a gateway that forwarded the
               request and lost OPERA's answer sends its own error (the change is made).

    `times` is how often it fires; None means unlimited, allowed only with a window. `for_s` is the window: the
    fault is active for that many seconds from injection. `probability` is the chance it fires on a matching
    request (a request it spares does not use up a time).
    """

    operation: str = "*"
    status: int = 503
    times: int | None = 1
    headers: dict[str, str] = field(default_factory=dict)
    body: dict[str, Any] | None = None
    mode: FaultMode = "respond"
    delay: float = 0.0
    probability: float = 1.0
    for_s: float | None = None
    injected_at: float = field(default_factory=time.monotonic)
    fired: int = 0

    def expired(self, now: float) -> bool:
        return self.for_s is not None and now >= self.injected_at + self.for_s

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "operation": self.operation,
            "status": self.status,
            "times": self.times,
            "headers": dict(self.headers),
            "mode": self.mode,
            "delay": self.delay,
            "probability": self.probability,
            "for_s": self.for_s,
            "fired": self.fired,
        }
        if self.for_s is not None:
            out["active_for_s"] = round(max(0.0, self.injected_at + self.for_s - time.monotonic()), 3)
        return out


def _number(spec: Mapping[str, Any], name: str, default: float | None, low: float, high: float) -> float | None:
    value = spec.get(name, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{name} must be a number; got {value!r}")
    if not low <= value <= high:
        raise ValueError(f"{name} must be {low:g}..{high:g}; got {value!r}")
    return float(value)


def fault_from_spec(spec: Mapping[str, Any], operations: Collection[str] = ()) -> Fault:
    """A validated `Fault` from a control-endpoint body; ValueError with a message that names the bad field.

    `operations` are the operationIds the sandbox serves; when given, a misspelt operation is refused.
    """
    unknown = set(spec) - set(FAULT_FIELDS)
    if unknown:
        raise ValueError(f"unknown fields {sorted(unknown)}; allowed: {', '.join(FAULT_FIELDS)}")
    operation = spec.get("operation", "*")
    if not isinstance(operation, str) or not operation:
        raise ValueError("operation must be an operationId or *")
    if operations and operation != "*" and operation not in operations:
        raise ValueError(f"operation {operation!r} is not an operation of the sandbox; use an operationId or *")
    mode = spec.get("mode", "respond")
    if mode not in FAULT_MODES:
        raise ValueError(f"mode must be one of {', '.join(FAULT_MODES)}; got {mode!r}")
    status = spec.get("status", 503)
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
        raise ValueError(f"status must be an HTTP status code; got {status!r}")
    times = spec.get("times", 1)
    if times == 0 and not isinstance(times, bool):
        times = None
    if times is not None and (isinstance(times, bool) or not isinstance(times, int) or times < 0):
        raise ValueError(f"times must be a whole number (0 or null: unlimited within for_s); got {times!r}")
    for_s = _number(spec, "for_s", None, 0.001, MAX_WINDOW_S)
    if times is None and for_s is None:
        raise ValueError("an unlimited fault (times 0 or null) needs a window: give for_s in seconds")
    delay = _number(spec, "delay", 0.0, 0.0, MAX_DELAY_S) or 0.0
    if mode in ("stall", "latency") and delay <= 0:
        raise ValueError(f"mode {mode} needs a delay in seconds above 0")
    probability = _number(spec, "probability", 1.0, 0.0, 1.0)
    headers = spec.get("headers") or {}
    if not isinstance(headers, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in headers.items()):
        raise ValueError("headers must be an object of header names to string values")
    body = spec.get("body")
    if body is not None and not isinstance(body, dict):
        raise ValueError("body must be a JSON object or null")
    return Fault(
        operation=operation,
        status=status,
        times=times,
        headers=dict(headers),
        body=body,
        mode=mode,
        delay=delay,
        probability=1.0 if probability is None else probability,
        for_s=for_s,
    )


class Faults:
    """Faults in order of injection; thread-safe because tests inject from their own thread.

    The dice come from `random.Random(seed)`, so a run with the same requests fires the same faults.
    """

    def __init__(self, seed: int = 0) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self._seed = seed
        self._rng = random.Random(seed)
        self.fired: dict[str, int] = {}

    def inject(self, operation: str = "*", **spec: Any) -> Fault:
        """Add a fault; the keyword arguments are those of the control endpoint (`status`, `mode`, `times`...)."""
        return self.add(fault_from_spec({"operation": operation, **spec}))

    def add(self, fault: Fault) -> Fault:
        fault.injected_at = time.monotonic()
        with self._lock:
            self._faults.append(fault)
        return fault

    def take(self, operation: str | None) -> Fault | None:
        """The first active fault that applies to `operation` and wins its throw, using up one of its `times`."""
        if operation is None:
            return None
        with self._lock:
            now = time.monotonic()
            self._faults = [f for f in self._faults if not f.expired(now)]
            for fault in self._faults:
                if fault.operation not in ("*", operation):
                    continue
                if fault.probability < 1.0 and self._rng.random() >= fault.probability:
                    continue
                fault.fired += 1
                self.fired[fault.mode] = self.fired.get(fault.mode, 0) + 1
                if fault.times is not None:
                    fault.times -= 1
                    if fault.times <= 0:
                        self._faults.remove(fault)
                return fault
        return None

    def pending(self) -> list[Fault]:
        with self._lock:
            now = time.monotonic()
            self._faults = [f for f in self._faults if not f.expired(now)]
            return list(self._faults)

    def clear(self) -> None:
        """Remove every fault (the fired counters stay; `reset` starts them again)."""
        with self._lock:
            self._faults.clear()

    def reset(self) -> None:
        """No faults, no counts, and the dice back at the seed."""
        with self._lock:
            self._faults.clear()
            self.fired.clear()
            self._rng = random.Random(self._seed)
