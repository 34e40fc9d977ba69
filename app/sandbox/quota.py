"""The OHIP gateway's throttle, emulated: one quota for the whole sandbox (OHIP counts per environment, not per
client). Up to `rps` business calls in a wall-clock second pass at once, the next ones up to `burst` are delayed
(OHIP: about 1000 ms), and beyond the burst the gateway answers 429. Off unless configured.

The counters (busiest second, delayed, refused) are kept whether or not a quota is set, so a client can be checked
against the real limit without being throttled.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from typing import Any, Literal

Verdict = Literal["pass", "delay", "reject"]


@dataclass(frozen=True)
class QuotaLimits:
    """`rps` calls per second pass; calls `rps`+1 .. `burst` of the same second wait `delay` seconds first."""

    rps: float
    burst: int
    delay: float = 1.0

    @classmethod
    def build(cls, rps: Any, burst: Any = None, delay: Any = 1.0) -> QuotaLimits:
        """Validated limits; `burst` defaults to twice `rps` (OHIP's 50 per second, burst to 100). ValueError names
        the field at fault."""
        if isinstance(rps, bool) or not isinstance(rps, int | float) or not math.isfinite(rps) or rps <= 0:
            raise ValueError(f"rps must be a number above 0; got {rps!r}")
        if burst is None:
            burst = max(1, math.ceil(rps * 2))
        if isinstance(burst, bool) or not isinstance(burst, int) or burst < math.ceil(rps):
            raise ValueError(f"burst must be an integer of at least rps ({math.ceil(rps)}); got {burst!r}")
        if isinstance(delay, bool) or not isinstance(delay, int | float) or not 0 <= delay <= 60:
            raise ValueError(f"delay must be 0..60 seconds; got {delay!r}")
        return cls(float(rps), burst, float(delay))

    def describe(self) -> dict[str, Any]:
        return {"rps": self.rps, "burst": self.burst, "delay": self.delay}


class Quota:
    """Counts business calls per wall-clock second and says what the gateway does with each one."""

    def __init__(self, limits: QuotaLimits | None = None) -> None:
        self._lock = threading.Lock()  # tests change the quota from their own thread
        self.limits = limits
        self._second = 0
        self._in_second = 0
        self.max_in_one_second = 0
        self.delayed = 0
        self.rejected = 0

    def set(self, limits: QuotaLimits | None) -> None:
        with self._lock:
            self.limits = limits

    def admit(self) -> tuple[Verdict, float]:
        """Count one business call now and decide its fate: (verdict, seconds to wait first)."""
        with self._lock:
            second = int(time.time())
            if second != self._second:
                self._second, self._in_second = second, 0
            self._in_second += 1
            self.max_in_one_second = max(self.max_in_one_second, self._in_second)
            limits = self.limits
            if limits is None or self._in_second <= limits.rps:
                return "pass", 0.0
            if self._in_second <= limits.burst:
                self.delayed += 1
                return "delay", limits.delay
            self.rejected += 1
            return "reject", 0.0

    def reset_counters(self) -> None:
        with self._lock:
            self._second = self._in_second = 0
            self.max_in_one_second = self.delayed = self.rejected = 0

    def describe(self) -> dict[str, Any]:
        with self._lock:
            return {
                "limits": self.limits.describe() if self.limits else None,
                "max_requests_in_one_second": self.max_in_one_second,
                "delayed": self.delayed,
                "rejected": self.rejected,
            }
