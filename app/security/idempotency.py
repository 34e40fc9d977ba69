"""Exactly once: write calls carrying an idempotency_key are recorded with their state, so a repeat never redoes them.

A key (scoped per caller and tool) is claimed before the first OHIP write and then holds one of four states:
- in flight: a call is running; a repeat waits for it (bounded), then is told it is still running. Its claim is
  a lease: if the process holding it dies, the lease runs out and the next repeat reconciles.
- done: the first result is kept for 24 h and a repeat with the same arguments gets it without calling OHIP.
- unknown: the write may have happened (lost answer, timeout, cut by shutdown). The next repeat takes the key over
  and must *reconcile*: look the write up in OPERA by the reference it was stamped with before doing anything.
- released: the call failed before any write reached OHIP; the key is free again.
The same key with other arguments is refused. The store is in memory, or in Redis for several replicas.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from app.opera.stores import SharedRedis

DAY_S = 24 * 3600.0

State = Literal["in_flight", "done", "unknown"]


@dataclass(frozen=True)
class Replay:
    """The key was used before with these arguments and the call finished: here is the first result."""

    result: dict[str, Any]


@dataclass(frozen=True)
class Mismatch:
    """The key was used before with other arguments."""

    first_used_at: float


@dataclass(frozen=True)
class Fresh:
    """First use of the key: the caller holds it now and must `complete`, `release` or `mark_unknown` it."""


@dataclass(frozen=True)
class Reconcile:
    """An earlier call's outcome is unknown: the caller holds the key now and must look the write up in OPERA.
    `since` is when the outcome became unknown (wall clock)."""

    since: float


Claim = Replay | Mismatch | Fresh | Reconcile


class StillInFlight(Exception):
    """An earlier call with this key is still running after the wait bound."""


class IdempotencyStore(Protocol):
    async def begin(self, key: str, fingerprint: str, *, lease_s: float) -> Claim: ...

    async def complete(self, key: str, fingerprint: str, result: dict[str, Any]) -> None: ...

    async def release(self, key: str) -> None: ...

    async def mark_unknown(self, key: str, fingerprint: str) -> None: ...

    def status(self) -> dict[str, Any]: ...


def fingerprint(arguments: dict[str, Any]) -> str:
    """A digest of the call's arguments, independent of their order."""
    canonical = json.dumps(arguments, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def store_key(caller: str, tool: str, idempotency_key: str) -> str:
    return hashlib.sha256(f"{caller}\x00{tool}\x00{idempotency_key}".encode()).hexdigest()


_LETTERS = str.maketrans("0123456789abcdef", "abcdefghijklmnop")


def write_reference(key: str) -> str:
    """The reference a write is stamped with in OPERA (external reference, posting reference): derived from the
    store key, so it names caller, tool and key without showing any of them. Letters only: a digit run could look
    like a card number and be masked on the way (by OPERA or by our own minimisation), and then not be found."""
    return "mcp-" + key[:24].lower().translate(_LETTERS)


@dataclass
class _Entry:
    fingerprint: str
    created: float
    state: State = "in_flight"
    lease_until: float = 0.0
    #: When the outcome first became unknown (kept across take-overs, so OPERA gets time to settle).
    unknown_since: float | None = None
    result: dict[str, Any] | None = None
    settled: asyncio.Event = field(default_factory=asyncio.Event)


class MemoryIdempotencyStore:
    """In-process store with a TTL and a bound on entries (oldest settled ones dropped first)."""

    def __init__(self, ttl_s: float = DAY_S, max_entries: int = 100_000, wait_s: float = 25.0,
                 clock: Callable[[], float] = time.time) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self.wait_s = wait_s
        self._clock = clock
        self._entries: OrderedDict[str, _Entry] = OrderedDict()

    def _purge(self, now: float) -> None:
        expired = [k for k, e in self._entries.items() if now - e.created > self.ttl_s]
        for key in expired:
            self._entries.pop(key).settled.set()
        if len(self._entries) > self.max_entries:
            # Only done records go for size: an in-flight or unknown one is what stops a double write.
            for key in [k for k, e in self._entries.items() if e.state == "done"]:
                if len(self._entries) <= self.max_entries:
                    break
                del self._entries[key]

    async def begin(self, key: str, fingerprint: str, *, lease_s: float) -> Claim:
        deadline = time.monotonic() + self.wait_s
        while True:
            now = self._clock()
            self._purge(now)
            entry = self._entries.get(key)
            if entry is None:
                self._entries[key] = _Entry(fingerprint=fingerprint, created=now, lease_until=now + lease_s)
                return Fresh()
            if entry.fingerprint != fingerprint:
                return Mismatch(first_used_at=entry.created)
            if entry.state == "done" and entry.result is not None:
                return Replay(result=entry.result)
            if entry.state == "unknown" or entry.lease_until <= now:
                if entry.unknown_since is None:
                    entry.unknown_since = min(entry.lease_until, now)
                entry.state, entry.lease_until, entry.settled = "in_flight", now + lease_s, asyncio.Event()
                return Reconcile(since=entry.unknown_since)

            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise StillInFlight("an earlier call with this idempotency_key is still running")
            # Wake when it settles, or when its lease runs out (its process may have died).
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(entry.settled.wait(), timeout=min(remaining, max(entry.lease_until - now, 0.05)))

    async def complete(self, key: str, fingerprint: str, result: dict[str, Any]) -> None:
        entry = self._entries.get(key)
        if entry is None or entry.fingerprint != fingerprint:
            entry = _Entry(fingerprint=fingerprint, created=self._clock())
            self._entries[key] = entry
        entry.state, entry.result = "done", result
        entry.settled.set()

    async def release(self, key: str) -> None:
        entry = self._entries.get(key)
        if entry is not None and entry.state != "done":
            del self._entries[key]
            entry.settled.set()

    async def mark_unknown(self, key: str, fingerprint: str) -> None:
        entry = self._entries.get(key)
        if entry is None:
            entry = _Entry(fingerprint=fingerprint, created=self._clock())
            self._entries[key] = entry
        if entry.state != "done":
            entry.state = "unknown"
            if entry.unknown_since is None:
                entry.unknown_since = self._clock()
        entry.settled.set()

    def state_of(self, key: str) -> State | None:
        entry = self._entries.get(key)
        return entry.state if entry is not None else None

    def status(self) -> dict[str, Any]:
        return {"status": "ok", "backend": "memory", "last_error": None, "records": len(self._entries)}

    def __len__(self) -> int:
        return len(self._entries)


# --- Redis: one record per key, shared by every replica ----------------------------------------------------------
# A hash per key: fp, state, created, lease, since (when the outcome became unknown), result (JSON). Each script
# reads and writes one key atomically and takes the time from Redis, so replicas' clocks never disagree.
_BEGIN = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local lease = now + tonumber(ARGV[2])
local r = redis.call('HGETALL', KEYS[1])
if #r == 0 then
  redis.call('HSET', KEYS[1], 'fp', ARGV[1], 'state', 'in_flight', 'created', tostring(now), 'lease', tostring(lease))
  redis.call('PEXPIRE', KEYS[1], math.floor(tonumber(ARGV[3]) * 1000))
  return {'fresh', ''}
end
local h = {}
for i = 1, #r, 2 do h[r[i]] = r[i + 1] end
if h['fp'] ~= ARGV[1] then return {'mismatch', h['created']} end
if h['state'] == 'done' then return {'replay', h['result']} end
if h['state'] == 'unknown' or tonumber(h['lease']) <= now then
  local since = h['since'] or tostring(math.min(tonumber(h['lease']), now))
  redis.call('HSET', KEYS[1], 'state', 'in_flight', 'lease', tostring(lease), 'since', since)
  return {'reconcile', since}
end
return {'wait', h['lease']}
"""
_COMPLETE = """
local existed = redis.call('EXISTS', KEYS[1])
redis.call('HSET', KEYS[1], 'fp', ARGV[1], 'state', 'done', 'result', ARGV[2])
if existed == 0 then
  local t = redis.call('TIME')
  redis.call('HSET', KEYS[1], 'created', t[1])
  redis.call('PEXPIRE', KEYS[1], math.floor(tonumber(ARGV[3]) * 1000))
end
return 1
"""
_RELEASE = """
if redis.call('HGET', KEYS[1], 'state') ~= 'done' then return redis.call('DEL', KEYS[1]) end
return 0
"""
_MARK_UNKNOWN = """
local t = redis.call('TIME')
local state = redis.call('HGET', KEYS[1], 'state')
if state == 'done' then return 0 end
if not state then
  redis.call('HSET', KEYS[1], 'fp', ARGV[1], 'created', t[1])
  redis.call('PEXPIRE', KEYS[1], math.floor(tonumber(ARGV[2]) * 1000))
end
redis.call('HSET', KEYS[1], 'state', 'unknown')
redis.call('HSETNX', KEYS[1], 'since', t[1] .. '.' .. string.format('%06d', tonumber(t[2])))
return 1
"""

#: How often a repeat polls a record that another replica holds in flight.
POLL_S = 0.1


class RedisIdempotencyStore:
    """The same state machine as MemoryIdempotencyStore, in Redis, so a key claimed on one replica holds on all.

    Any Redis failure becomes OperaSharedStateError (through SharedRedis.run): the tool guard then refuses the
    write, because exactly once cannot be promised without the shared record."""

    def __init__(self, redis: SharedRedis, *, ttl_s: float = DAY_S, wait_s: float = 25.0) -> None:
        self._redis = redis
        self.ttl_s = ttl_s
        self.wait_s = wait_s
        client = redis.client
        self._begin = client.register_script(_BEGIN)
        self._complete = client.register_script(_COMPLETE)
        self._release = client.register_script(_RELEASE)
        self._mark_unknown = client.register_script(_MARK_UNKNOWN)

    async def _run(self, script: Any, key: str, *args: Any) -> Any:
        return await self._redis.run("idempotency", lambda: script(keys=[self._redis.key("idem", key)],
                                                                     args=list(args)))

    async def begin(self, key: str, fingerprint: str, *, lease_s: float) -> Claim:
        deadline = time.monotonic() + self.wait_s
        while True:
            kind, value = (_text(v) for v in await self._run(self._begin, key, fingerprint, lease_s, self.ttl_s))
            if kind == "fresh":
                return Fresh()
            if kind == "mismatch":
                return Mismatch(first_used_at=float(value))
            if kind == "replay":
                return Replay(result=json.loads(value))
            if kind == "reconcile":
                return Reconcile(since=float(value))
            if time.monotonic() >= deadline:
                raise StillInFlight("an earlier call with this idempotency_key is still running")
            await asyncio.sleep(POLL_S)

    async def complete(self, key: str, fingerprint: str, result: dict[str, Any]) -> None:
        await self._run(self._complete, key, fingerprint, json.dumps(result, separators=(",", ":")), self.ttl_s)

    async def release(self, key: str) -> None:
        await self._run(self._release, key)

    async def mark_unknown(self, key: str, fingerprint: str) -> None:
        await self._run(self._mark_unknown, key, fingerprint, self.ttl_s)

    def status(self) -> dict[str, Any]:
        return {"status": "ok" if self._redis.up else "down", "backend": "redis",
                "last_error": self._redis.last_error}


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
