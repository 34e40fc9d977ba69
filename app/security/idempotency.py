"""Never twice: write calls carrying an idempotency_key are answered from a store when repeated.

A repeat with the same key and the same arguments within the TTL (24 h) gets the first result without calling
OHIP; the same key with other arguments is refused. Keys are scoped per caller and per tool. A call in flight
holds its key, so a concurrent repeat waits for it instead of booking a second time. The store is an interface:
in memory now, a shared store (Redis, a database) when the server runs as several replicas.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Protocol

DAY_S = 24 * 3600.0


@dataclass(frozen=True)
class Replay:
    """The key was used before with these arguments: here is the first result."""

    result: dict[str, Any]


@dataclass(frozen=True)
class Mismatch:
    """The key was used before with other arguments."""

    first_used_at: float


@dataclass(frozen=True)
class Fresh:
    """First use of the key: the caller must `complete` or `release` it."""


Claim = Replay | Mismatch | Fresh


class IdempotencyStore(Protocol):
    async def begin(self, key: str, fingerprint: str) -> Claim: ...

    async def complete(self, key: str, fingerprint: str, result: dict[str, Any]) -> None: ...

    async def release(self, key: str) -> None: ...


def fingerprint(arguments: dict[str, Any]) -> str:
    """A digest of the call's arguments, independent of their order."""
    canonical = json.dumps(arguments, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def store_key(caller: str, tool: str, idempotency_key: str) -> str:
    return hashlib.sha256(f"{caller}\x00{tool}\x00{idempotency_key}".encode()).hexdigest()


@dataclass
class _Entry:
    fingerprint: str
    created: float
    result: dict[str, Any] | None = None
    settled: asyncio.Event = field(default_factory=asyncio.Event)


class MemoryIdempotencyStore:
    """In-process store with a TTL and a bound on entries (oldest dropped first)."""

    def __init__(self, ttl_s: float = DAY_S, max_entries: int = 100_000, wait_s: float = 120.0) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self.wait_s = wait_s
        self._entries: OrderedDict[str, _Entry] = OrderedDict()

    def _purge(self, now: float) -> None:
        while self._entries:
            key, entry = next(iter(self._entries.items()))
            if now - entry.created <= self.ttl_s and len(self._entries) <= self.max_entries:
                break
            if entry.result is None and not entry.settled.is_set() and now - entry.created <= self.ttl_s:
                break  # never drop a call in flight for size
            del self._entries[key]

    async def begin(self, key: str, fingerprint: str) -> Claim:
        deadline = time.monotonic() + self.wait_s
        while True:
            now = time.time()
            self._purge(now)
            entry = self._entries.get(key)
            if entry is None or now - entry.created > self.ttl_s:
                self._entries[key] = _Entry(fingerprint=fingerprint, created=now)
                return Fresh()
            if entry.fingerprint != fingerprint:
                return Mismatch(first_used_at=entry.created)
            if entry.result is not None:
                return Replay(result=entry.result)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("an earlier call with this idempotency_key is still running")
            try:
                await asyncio.wait_for(entry.settled.wait(), timeout=remaining)
            except TimeoutError:
                raise TimeoutError("an earlier call with this idempotency_key is still running") from None

    async def complete(self, key: str, fingerprint: str, result: dict[str, Any]) -> None:
        entry = self._entries.get(key)
        if entry is None or entry.fingerprint != fingerprint:
            entry = _Entry(fingerprint=fingerprint, created=time.time())
            self._entries[key] = entry
        entry.result = result
        entry.settled.set()

    async def release(self, key: str) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            entry.settled.set()

    def __len__(self) -> int:
        return len(self._entries)
