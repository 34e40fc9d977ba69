"""Fault injection, an emulator extension (not OHIP): make chosen operations fail, drop or stall on purpose so
clients can be tested against outages, throttling (429 + Retry-After) and lost responses."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Literal

FaultMode = Literal["respond", "drop", "stall"]
FAULT_MODES: tuple[FaultMode, ...] = ("respond", "drop", "stall")


@dataclass
class Fault:
    """`operation` is an OHIP operationId (getReservation, getToken...) or "*" for any operation.

    respond: answer `status` (with `headers` and `body`) instead of processing the request.
    drop:    process the request fully, start the response, then drop the connection (a lost response).
    stall:   process the request, then wait `delay` seconds before answering.
    """

    operation: str = "*"
    status: int = 503
    times: int = 1
    headers: dict[str, str] = field(default_factory=dict)
    body: dict[str, Any] | None = None
    mode: FaultMode = "respond"
    delay: float = 0.0

    def describe(self) -> dict[str, Any]:
        return {
            "operation": self.operation,
            "status": self.status,
            "times": self.times,
            "headers": dict(self.headers),
            "mode": self.mode,
            "delay": self.delay,
        }


class Faults:
    """Queued faults, consumed in order of injection; thread-safe because tests inject from their own thread."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

    def inject(
        self,
        operation: str = "*",
        status: int = 503,
        times: int = 1,
        headers: dict[str, str] | None = None,
        body: dict[str, Any] | None = None,
        mode: FaultMode = "respond",
        delay: float = 0.0,
    ) -> Fault:
        if mode not in FAULT_MODES:
            raise ValueError(f"mode must be one of {', '.join(FAULT_MODES)}; got {mode!r}")
        if not 100 <= status <= 599:
            raise ValueError(f"status must be an HTTP status code; got {status}")
        if times < 1:
            raise ValueError(f"times must be at least 1; got {times}")
        if delay < 0 or delay > 600:
            raise ValueError(f"delay must be 0..600 seconds; got {delay}")
        fault = Fault(operation, status, times, dict(headers or {}), body, mode, delay)
        with self._lock:
            self._faults.append(fault)
        return fault

    def take(self, operation: str | None) -> Fault | None:
        """The next fault that applies to `operation`, consuming one of its `times`."""
        with self._lock:
            for fault in self._faults:
                if fault.operation in ("*", operation) and operation is not None:
                    fault.times -= 1
                    if fault.times <= 0:
                        self._faults.remove(fault)
                    return fault
        return None

    def pending(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()
