"""Small storage seams behind the OHIP client: where tokens, cached responses and limiter slots live.

Each is a Protocol with an in-process implementation and a Redis one; `open_stores(settings, metrics)` chooses once
from configuration, so that with OPERA_REDIS_URL several replicas are one service (one token, one OHIP budget, one
cache whose invalidation every replica sees) and without it one process works exactly as before.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import logging
import os
import secrets
import tempfile
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeVar
from urllib.parse import urlsplit

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

if TYPE_CHECKING:
    import redis.asyncio as aioredis
    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import RedisError
    from redis.exceptions import TimeoutError as RedisTimeoutError

from app.config import Settings
from app.opera.errors import OperaLimiterTimeoutError, OperaSharedStateError
from app.opera.resilience import RateLimiter
from app.security.ratelimit import InboundRateLimiter, SharedInboundRateLimiter
from app.telemetry.metrics import Metrics

log = logging.getLogger("app.opera.stores")


T = TypeVar("T")
#: Called after Redis came back from an outage, before the stores use it again.
RecoverHook = Callable[[], Awaitable[None]]

#: How often the background loop pings Redis, how often a replica re-registers, how long it counts as alive.
PING_EVERY = 1.0
HEARTBEAT_EVERY = 2.0
FLEET_WINDOW = 10.0

# Scripts. Every time is Redis's own (TIME), so the replicas' clocks never matter. Numbers stay below 2**53 (unix
# microseconds are about 1.8e15), so Lua's doubles hold them exactly; '%.0f' writes them without an exponent.
_HEARTBEAT_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[2])
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
redis.call('PEXPIRE', KEYS[1], window)
return redis.call('ZCARD', KEYS[1])
"""

# GCRA (virtual scheduling): KEYS[1] holds the theoretical arrival time (TAT) of the next free slot, in unix us.
# ARGV: the emission interval (us), the burst (slots), the longest acceptable wait (us). A caller is given the slot
# at TAT - burst * interval (not before now) and the TAT moves on by one interval; a caller whose wait would exceed
# the bound is refused and the TAT is left alone, so a refusal takes nothing. Returns {admitted, wait_us, backlog_us}.
_GCRA_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local max_wait = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local next_tat = tat + interval
local wait = next_tat - burst * interval - now
if wait < 0 then wait = 0 end
if wait > max_wait then return {0, wait, tat - now} end
redis.call('SET', KEYS[1], string.format('%.0f', next_tat), 'PX', math.ceil((next_tat - now) / 1000) + 1000)
return {1, wait, next_tat - now}
"""

# Compare-and-delete: KEYS[1] is deleted only while it still holds ARGV[1] (a lock's owner, a token's exact blob).
_DELETE_IF_LUA = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def _redis_target(url: str) -> str:
    """host:port/db of a Redis URL: what /health and the logs may show (never the user or the password)."""
    parts = urlsplit(url)
    if parts.scheme == "unix":
        return f"unix:{parts.path}"
    db = parts.path.strip("/") or "0"
    return f"{parts.hostname}:{parts.port or 6379}/{db}"


def _import_redis() -> None:
    """redis-py takes about 0.4 s to import: it is loaded when the first Redis client is built (OPERA_REDIS_URL set),
    before any of the names below is used (every use is in a method of a SharedRedis or of a store holding one)."""
    global aioredis, Retry, NoBackoff, RedisConnectionError, RedisError, RedisTimeoutError
    import redis.asyncio as aioredis
    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import RedisError
    from redis.exceptions import TimeoutError as RedisTimeoutError


def _error_kind(exc: RedisError) -> str:
    if isinstance(exc, RedisTimeoutError):
        return "timeout"
    if isinstance(exc, RedisConnectionError):
        return "connection"
    return "other"


class SharedRedis:
    """The one Redis connection of a process: key prefix, health, outage detection and the replica heartbeat.

    Every store command goes through `run()`, which measures it and turns any Redis failure into
    OperaSharedStateError. While Redis is known to be down, `run()` fails at once (no timeout per call); the
    background loop of `start()` pings every second and, when Redis answers again, runs the `on_recover` hooks
    before the stores use it again.
    """

    def __init__(
        self,
        url: str,
        *,
        prefix: str,
        timeout: float,
        metrics: Metrics | None = None,
        replica_id: str | None = None,
    ) -> None:
        self.prefix = prefix
        self.target = _redis_target(url)
        self.timeout = timeout
        _import_redis()
        # No retries inside redis-py: a replica that cannot reach Redis should fall back within one timeout.
        self.client: aioredis.Redis = aioredis.Redis.from_url(
            url, socket_timeout=timeout, socket_connect_timeout=timeout, retry=Retry(NoBackoff(), 0),
        )
        self.replica_id = replica_id or secrets.token_hex(8)
        self._metrics = metrics
        self._state: Literal["unknown", "up", "down"] = "unknown"
        self.latency_ms: float | None = None
        self.last_error: str | None = None
        self._fleet = 1
        self._last_heartbeat = 0.0
        self._recover_hooks: list[RecoverHook] = []
        self._loop: asyncio.Task[None] | None = None
        self._closing = False
        self._heartbeat = self.client.register_script(_HEARTBEAT_LUA)
        self._gcra = self.client.register_script(_GCRA_LUA)
        self._delete_if = self.client.register_script(_DELETE_IF_LUA)

    def __repr__(self) -> str:
        return f"SharedRedis(target={self.target!r}, prefix={self.prefix!r})"

    @classmethod
    def from_settings(cls, settings: Settings, metrics: Metrics | None = None) -> SharedRedis:
        if settings.redis_url is None:
            raise ValueError("OPERA_REDIS_URL is not set")
        return cls(settings.redis_url.get_secret_value(), prefix=settings.redis_prefix,
                   timeout=settings.redis_timeout, metrics=metrics)

    # --- health -------------------------------------------------------------------------------------------------
    @property
    def up(self) -> bool:
        """Redis answered the last command or ping."""
        return self._state == "up"

    @property
    def usable(self) -> bool:
        """Worth trying: not known to be down (the first command after start-up finds out)."""
        return self._state != "down"

    def on_recover(self, hook: RecoverHook) -> None:
        self._recover_hooks.append(hook)

    def fleet_size(self) -> int:
        """Replicas seen in the last FLEET_WINDOW seconds (the last known count while Redis is down; at least 1)."""
        return max(self._fleet, 1)

    def status(self) -> dict[str, Any]:
        return {
            "status": "ok" if self.up else "down",
            "latency_ms": self.latency_ms,
            "last_error": self.last_error,
            "target": self.target,
            "replicas": self.fleet_size(),
        }

    def key(self, *parts: str) -> str:
        return ":".join((self.prefix, *parts))

    def _mark_down(self, command: str, exc: RedisError) -> None:
        kind = _error_kind(exc)
        self.last_error = type(exc).__name__  # the type only: a message may carry the URL
        if self._metrics is not None:
            self._metrics.redis_errors.labels(command, kind).inc()
            self._metrics.redis_up.set(0)
        if self._state != "down":
            log.warning("the shared state store (Redis at %s) is unreachable (%s, %s); falling back to local state",
                        self.target, command, self.last_error)
        self._state = "down"

    # --- commands -----------------------------------------------------------------------------------------------
    async def run(self, command: str, call: Callable[[], Awaitable[T]]) -> T:
        """One measured Redis command; `command` is its kind for the metrics (get, put, gcra, ...)."""
        if self._state == "down":
            raise OperaSharedStateError(
                f"the shared state store (Redis at {self.target}) is unreachable; working on local state until it "
                "answers again"
            )
        started = time.perf_counter()
        try:
            result = await self._bounded(call())
        except RedisError as exc:
            self._mark_down(command, exc)
            raise OperaSharedStateError(
                f"the shared state store (Redis at {self.target}) is unreachable ({type(exc).__name__} on "
                f"{command}); working on local state until it answers again"
            ) from None
        elapsed = time.perf_counter() - started
        self.latency_ms = round(elapsed * 1000, 2)
        if self._metrics is not None:
            self._metrics.redis_duration.labels(command).observe(elapsed)
        if self._state == "unknown":
            self._set_up()
        return result

    async def _bounded(self, call: Awaitable[T]) -> T:
        """A Redis command with a hard deadline on top of redis-py's socket timeout: a connection stuck in a state
        redis-py does not time out (seen rarely after a cancelled read) must fail like an outage, not hang."""
        try:
            return await asyncio.wait_for(call, timeout=self.timeout * 4 + 0.5)
        except TimeoutError:
            raise RedisTimeoutError(f"no answer within {self.timeout * 4 + 0.5:g} s") from None

    def _set_up(self) -> None:
        self._state = "up"
        self.last_error = None
        if self._metrics is not None:
            self._metrics.redis_up.set(1)

    async def reserve(self, key: str, *, rate: float, burst: float, max_wait: float) -> tuple[bool, float, float]:
        """Reserve the next slot of the GCRA budget at `key`: (admitted, seconds to wait, seconds of backlog)."""
        interval = 1_000_000.0 / rate
        raw = await self.run("gcra", lambda: self._gcra(
            keys=[key], args=[f"{interval:.0f}", f"{burst:g}", f"{max_wait * 1_000_000:.0f}"]))
        admitted, wait_us, backlog_us = (int(v) for v in raw)
        return bool(admitted), wait_us / 1_000_000, backlog_us / 1_000_000

    async def delete_if(self, command: str, key: str, value: bytes | str) -> bool:
        """Delete `key` only while it holds exactly `value`; True when it was deleted."""
        return bool(await self.run(command, lambda: self._delete_if(keys=[key], args=[value])))

    # --- lifecycle ----------------------------------------------------------------------------------------------
    async def start(self) -> None:
        """Ping once (so `up` is known) and start the ping and heartbeat loop."""
        await self.check()
        if self._loop is None:
            self._loop = asyncio.create_task(self._watch(), name="redis-watch")

    async def check(self) -> bool:
        """Ping now; after an outage, run the recovery hooks before the stores may use Redis again."""
        started = time.perf_counter()
        try:
            await self._bounded(self.client.ping())
        except RedisError as exc:
            self._mark_down("ping", exc)
            return False
        self.latency_ms = round((time.perf_counter() - started) * 1000, 2)
        if self._metrics is not None:
            self._metrics.redis_duration.labels("ping").observe(time.perf_counter() - started)
        if self._state == "down":
            try:
                for hook in self._recover_hooks:
                    await hook()
            except (RedisError, OperaSharedStateError) as exc:
                log.warning("Redis at %s answers again but the recovery failed (%s); retrying", self.target,
                            type(exc).__name__)
                return False
            log.warning("the shared state store (Redis at %s) answers again; shared state resumed", self.target)
        if self._state != "up":
            self._set_up()
        now = time.monotonic()
        if now - self._last_heartbeat >= HEARTBEAT_EVERY:
            await self.heartbeat()
            self._last_heartbeat = now
        return True

    async def heartbeat(self) -> None:
        """Register this replica and count the fleet (the loop does it every HEARTBEAT_EVERY seconds)."""
        try:
            count = await self._heartbeat(keys=[self.key("replicas")],
                                          args=[self.replica_id, int(FLEET_WINDOW * 1000)])
        except RedisError as exc:
            self._mark_down("heartbeat", exc)
            return
        self._fleet = max(int(count), 1)
        if self._metrics is not None:
            self._metrics.replicas.set(self._fleet)

    async def _watch(self) -> None:
        # The flag, not only cancel(), ends the loop: on Python 3.11 a cancellation that arrives as a command's
        # timeout fires can be swallowed by asyncio's timeout machinery, and the loop would sleep on forever.
        while not self._closing:
            await asyncio.sleep(PING_EVERY)
            if self._closing:
                return
            try:
                await self.check()
            except Exception:  # the loop must outlive any surprise; the next tick tries again
                log.exception("Redis health check failed unexpectedly")

    async def aclose(self) -> None:
        self._closing = True
        loop, self._loop = self._loop, None
        if loop is not None:
            loop.cancel()
            await asyncio.wait({loop}, timeout=PING_EVERY + self.timeout * 4 + 1.0)
        if self._state == "up":
            with contextlib.suppress(RedisError):
                await self._bounded(self.client.zrem(self.key("replicas"), self.replica_id))  # leave the fleet
        with contextlib.suppress(TimeoutError, RedisError, OSError):
            await asyncio.wait_for(self.client.aclose(), timeout=self.timeout * 4)


# --- tokens -----------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class StoredToken:
    """An OHIP access token and its wall-clock life (wall clock, so it survives a restart)."""

    access_token: str
    expires_at: float
    obtained_at: float
    token_type: str = "Bearer"  # noqa: S105 - the OAuth token type, not a secret

    def __repr__(self) -> str:  # the token itself never reaches a log line or a traceback
        return f"StoredToken(expires_at={self.expires_at:.0f}, obtained_at={self.obtained_at:.0f})"


class TokenStore(Protocol):
    async def load(self) -> StoredToken | None: ...
    async def save(self, token: StoredToken) -> None: ...

    async def clear(self, token: str) -> None:
        """Forget the stored token if it is `token` (a newer one, stored by another replica, stays)."""
        ...

    def refresh_lock(self) -> AbstractAsyncContextManager[None]:
        """Held while fetching a new token, so that replicas sharing the store fetch one between them."""
        ...


@contextlib.asynccontextmanager
async def _no_lock() -> AsyncIterator[None]:
    yield


class MemoryTokenStore:
    """Keeps the token in this process only."""

    def __init__(self) -> None:
        self._token: StoredToken | None = None

    async def load(self) -> StoredToken | None:
        return self._token

    async def save(self, token: StoredToken) -> None:
        self._token = token

    async def clear(self, token: str) -> None:
        if self._token is not None and self._token.access_token == token:
            self._token = None

    def refresh_lock(self) -> AbstractAsyncContextManager[None]:
        return _no_lock()  # one process: TokenManager's single flight is the lock


_FILE_MAGIC = b"OCMT1"
_SALT_BYTES = 16
_NONCE_BYTES = 12


class TokenSealer:
    """AES-GCM for a stored token: the key derived (HKDF-SHA256, random salt per seal) from the client secret, the
    binding (token URL, base URL, client id) as associated data, so a token stored for another tenant or client,
    or read by someone without the secret (a file copy, a Redis dump), never opens."""

    def __init__(self, *, secret: str, binding: str) -> None:
        self._secret = secret.encode()
        self.binding = binding.encode()

    def __repr__(self) -> str:
        return "TokenSealer()"

    def _key(self, salt: bytes) -> bytes:
        hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=b"opera-cloud-mcp token cache v1")
        return hkdf.derive(self._secret)

    def seal(self, token: StoredToken) -> bytes:
        salt = secrets.token_bytes(_SALT_BYTES)
        nonce = secrets.token_bytes(_NONCE_BYTES)
        plain = json.dumps(asdict(token)).encode()
        return _FILE_MAGIC + salt + nonce + AESGCM(self._key(salt)).encrypt(nonce, plain, self.binding)

    def open(self, blob: bytes) -> StoredToken:
        """The token in `blob`; raises InvalidTag, ValueError, KeyError or TypeError when it is not one of ours."""
        if not blob.startswith(_FILE_MAGIC):
            raise ValueError("not a sealed token")
        rest = blob[len(_FILE_MAGIC) :]
        salt = rest[:_SALT_BYTES]
        nonce = rest[_SALT_BYTES : _SALT_BYTES + _NONCE_BYTES]
        sealed = rest[_SALT_BYTES + _NONCE_BYTES :]
        plain = AESGCM(self._key(salt)).decrypt(nonce, sealed, self.binding)
        raw = json.loads(plain)
        return StoredToken(
            access_token=str(raw["access_token"]),
            expires_at=float(raw["expires_at"]),
            obtained_at=float(raw["obtained_at"]),
            token_type=str(raw.get("token_type", "Bearer")),
        )

    def try_open(self, blob: bytes, where: str) -> StoredToken | None:
        try:
            return self.open(blob)
        except (InvalidTag, ValueError, KeyError, TypeError) as exc:
            # Another secret, another tenant, or damage: never fatal, the next save replaces it.
            log.warning("the token stored in %s could not be decrypted (%s); ignoring it", where, type(exc).__name__)
            return None

    def digest(self) -> str:
        """A short name for the binding (file and key names), not the binding itself."""
        return hashlib.sha256(self.binding).hexdigest()[:16]


class EncryptedFileTokenStore:
    """Keeps the token in one file, sealed by TokenSealer, so a restart within the token's life needs no new token.

    The directory is created 0700, the file is 0600 and replaced atomically. An unreadable file is ignored.
    """

    def __init__(self, directory: Path, *, secret: str, binding: str) -> None:
        self.directory = directory
        self._sealer = TokenSealer(secret=secret, binding=binding)
        self.path = directory / f"ohip-token-{self._sealer.digest()}.bin"

    def __repr__(self) -> str:
        return f"EncryptedFileTokenStore(path={str(self.path)!r})"

    def _read(self) -> StoredToken | None:
        try:
            blob = self.path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            log.warning("token cache file %s unreadable (%s); ignoring it", self.path, type(exc).__name__)
            return None
        return self._sealer.try_open(blob, f"token cache file {self.path}")

    def _write(self, token: StoredToken) -> None:
        if not self.directory.exists():
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            os.chmod(self.directory, 0o700)
        fd, tmp = tempfile.mkstemp(prefix=".ohip-token-", dir=self.directory)  # mkstemp creates it 0600
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(self._sealer.seal(token))
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    def _remove_if(self, token: str) -> None:
        stored = self._read()
        if stored is not None and stored.access_token != token:
            return  # a newer token (written by a later run) stays
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    async def load(self) -> StoredToken | None:
        return await asyncio.to_thread(self._read)

    async def save(self, token: StoredToken) -> None:
        try:
            await asyncio.to_thread(self._write, token)
        except OSError as exc:
            # A read-only disk must not stop the server: the token still lives in memory.
            log.warning("token cache file %s not written (%s)", self.path, type(exc).__name__)

    async def clear(self, token: str) -> None:
        with contextlib.suppress(OSError):
            await asyncio.to_thread(self._remove_if, token)

    def refresh_lock(self) -> AbstractAsyncContextManager[None]:
        return _no_lock()  # one process owns the file


def token_binding(token_url: str, base_url: str, client_id: str) -> str:
    """What a cached token is valid for; part of the file name and of the encryption's associated data."""
    return base64.urlsafe_b64encode(f"{token_url}\n{base_url}\n{client_id}".encode()).decode()


#: A token refresh holds the fleet's lock at most this long (a replica that died holding it frees it so).
REFRESH_LOCK_TTL = 10.0
#: A replica waits this long for another's refresh before fetching a token of its own.
REFRESH_LOCK_WAIT = 12.0
REFRESH_LOCK_POLL = 0.05


class RedisTokenStore:
    """The fleet's OHIP token in Redis, sealed by TokenSealer (a Redis dump does not leak it), expiring with it.

    `refresh_lock()` lets one replica fetch while the others wait and then read what it stored; `clear(token)`
    deletes only that exact token (compare-and-delete), so a 401 on one replica never drops a newer token another
    replica stored. Every method raises OperaSharedStateError when Redis fails; TokenManager carries on locally.
    """

    def __init__(
        self,
        redis: SharedRedis,
        *,
        secret: str,
        binding: str,
        lock_ttl: float = REFRESH_LOCK_TTL,
        lock_wait: float = REFRESH_LOCK_WAIT,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._redis = redis
        self._sealer = TokenSealer(secret=secret, binding=binding)
        self.key = redis.key("token", self._sealer.digest())
        self.lock_key = redis.key("token-lock", self._sealer.digest())
        self.lock_ttl = lock_ttl
        self.lock_wait = lock_wait
        self._clock = clock

    def __repr__(self) -> str:
        return f"RedisTokenStore(key={self.key!r})"

    async def _blob(self) -> bytes | None:
        raw = await self._redis.run("token_get", lambda: self._redis.client.get(self.key))
        return raw if isinstance(raw, bytes) else None

    async def load(self) -> StoredToken | None:
        blob = await self._blob()
        return self._sealer.try_open(blob, f"Redis key {self.key}") if blob is not None else None

    async def save(self, token: StoredToken) -> None:
        life_ms = int((token.expires_at - self._clock()) * 1000)
        if life_ms <= 0:
            return
        blob = self._sealer.seal(token)
        await self._redis.run("token_set", lambda: self._redis.client.set(self.key, blob, px=life_ms))

    async def clear(self, token: str) -> None:
        blob = await self._blob()
        if blob is None:
            return
        stored = self._sealer.try_open(blob, f"Redis key {self.key}")
        if stored is None or stored.access_token == token:
            # Deleted only if the key still holds the very blob just read: a token saved meanwhile stays.
            await self._redis.delete_if("token_clear", self.key, blob)

    @contextlib.asynccontextmanager
    async def refresh_lock(self) -> AsyncIterator[None]:
        owner = secrets.token_hex(16)
        ttl_ms = int(self.lock_ttl * 1000)
        deadline = time.monotonic() + self.lock_wait
        held = False
        while True:
            held = bool(await self._redis.run(
                "lock", lambda: self._redis.client.set(self.lock_key, owner, nx=True, px=ttl_ms)))
            if held or time.monotonic() >= deadline:
                break
            await asyncio.sleep(REFRESH_LOCK_POLL)
        if not held:
            log.warning("another replica held the OHIP token refresh lock for over %.0f s; refreshing without it",
                        self.lock_wait)
        try:
            yield
        finally:
            if held:
                with contextlib.suppress(OperaSharedStateError):  # else it expires by itself within lock_ttl
                    await self._redis.delete_if("unlock", self.lock_key, owner)


# --- response cache ---------------------------------------------------------------------------------------------
class CacheStore(Protocol):
    """Bytes by key, each with a time to live and tags that let a group of entries be dropped at once.

    The store owns the write epochs: `drop_tagged(tag)` moves the tag's epoch on, and `put(..., epoch=)` stores
    only if no drop touched the entry's tags since `epoch(tags)` was read, so an answer fetched before a write
    (on any replica sharing the store) is never kept.
    """

    async def get(self, key: str) -> bytes | None: ...
    async def epoch(self, tags: Sequence[str]) -> tuple[int, ...]: ...

    async def put(
        self, key: str, value: bytes, *, ttl: float, tags: Sequence[str], epoch: tuple[int, ...]
    ) -> bool: ...

    async def drop_tagged(self, tag: str) -> int: ...
    async def clear(self) -> None: ...
    def __len__(self) -> int: ...


#: Called with (reason, how many) when entries leave the store for a reason other than clear().
EvictionHook = Callable[[str, int], None]


@dataclass
class _Entry:
    value: bytes
    expires_at: float
    tags: tuple[str, ...]


class MemoryCacheStore:
    """An LRU dictionary with per-entry expiry, a tag index and write epochs, bounded to `max_entries`."""

    def __init__(
        self,
        max_entries: int,
        *,
        on_evict: EvictionHook | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._tagged: dict[str, set[str]] = {}
        self._epochs: dict[str, int] = {}
        self._on_evict = on_evict
        self._clock = clock

    def __len__(self) -> int:
        return len(self._entries)

    def _evicted(self, reason: str, count: int) -> None:
        if count and self._on_evict is not None:
            self._on_evict(reason, count)

    def _unlink(self, key: str) -> _Entry | None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            for tag in entry.tags:
                keys = self._tagged.get(tag)
                if keys is not None:
                    keys.discard(key)
                    if not keys:
                        del self._tagged[tag]
        return entry

    async def get(self, key: str) -> bytes | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry.expires_at <= self._clock():
            self._unlink(key)
            self._evicted("expired", 1)
            return None
        self._entries.move_to_end(key)
        return entry.value

    async def epoch(self, tags: Sequence[str]) -> tuple[int, ...]:
        return tuple(self._epochs.get(tag, 0) for tag in tags)

    async def put(
        self, key: str, value: bytes, *, ttl: float, tags: Sequence[str], epoch: tuple[int, ...]
    ) -> bool:
        if await self.epoch(tags) != tuple(epoch):
            return False
        self._unlink(key)
        self._entries[key] = _Entry(value, self._clock() + ttl, tuple(tags))
        for tag in tags:
            self._tagged.setdefault(tag, set()).add(key)
        overflow = len(self._entries) - self.max_entries
        if overflow > 0:
            # Expired entries go first, then the least recently used.
            now = self._clock()
            expired = [k for k, e in self._entries.items() if e.expires_at <= now and k != key][:overflow]
            for k in expired:
                self._unlink(k)
            self._evicted("expired", len(expired))
            lru = 0
            while len(self._entries) > self.max_entries:
                oldest = next(iter(self._entries))
                self._unlink(oldest)
                lru += 1
            self._evicted("size", lru)
        return True

    async def drop_tagged(self, tag: str) -> int:
        self._epochs[tag] = self._epochs.get(tag, 0) + 1
        keys = list(self._tagged.get(tag, ()))
        for key in keys:
            self._unlink(key)
        self._evicted("invalidated", len(keys))
        return len(keys)

    async def clear(self) -> None:
        self._entries.clear()
        self._tagged.clear()


# Epochs start at Redis's TIME in microseconds and a drop moves them to max(epoch + 1, now): a Redis that restarted
# empty never hands out an epoch it handed out before, so a reader's old epoch can never match again by accident.
_CACHE_EPOCH_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local out = {}
for i, k in ipairs(KEYS) do
  local v = redis.call('GET', k)
  if not v then v = string.format('%.0f', now); redis.call('SET', k, v) end
  out[i] = v
end
return out
"""

# KEYS: entry, index, n tag sets, n epoch keys. ARGV: value, ttl ms, max entries, entry id, entry key prefix,
# n epochs. Stores only if every epoch is unchanged; keeps the index (a sorted set by expiry) within max entries,
# the soonest-expiring going first. Returns {stored, entries, evicted}.
_CACHE_PUT_LUA = """
local n = (#KEYS - 2) / 2
local idx = KEYS[2]
for i = 1, n do
  if redis.call('GET', KEYS[2 + n + i]) ~= ARGV[5 + i] then return {0, redis.call('ZCARD', idx), 0} end
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[2])
local expires = now + ttl
redis.call('SET', KEYS[1], ARGV[1], 'PX', ttl)
redis.call('ZADD', idx, expires, ARGV[4])
for i = 1, n do
  redis.call('ZREMRANGEBYSCORE', KEYS[2 + i], '-inf', now)
  redis.call('ZADD', KEYS[2 + i], expires, ARGV[4])
end
redis.call('ZREMRANGEBYSCORE', idx, '-inf', now)
local count = redis.call('ZCARD', idx)
local evicted = 0
local max = tonumber(ARGV[3])
if count > max then
  local gone = redis.call('ZPOPMIN', idx, count - max)
  for j = 1, #gone, 2 do
    redis.call('DEL', ARGV[5] .. gone[j])
    evicted = evicted + 1
  end
  count = count - evicted
end
return {1, count, evicted}
"""

# KEYS: tag set, tag epoch, index. ARGV: entry key prefix. Moves the epoch on, then drops the tag's entries.
# Returns {dropped, entries}.
_CACHE_DROP_LUA = """
local t = redis.call('TIME')
local now_us = tonumber(t[1]) * 1000000 + tonumber(t[2])
local now_ms = math.floor(now_us / 1000)
local nxt = tonumber(redis.call('GET', KEYS[2]) or 0) + 1
if nxt < now_us then nxt = now_us end
redis.call('SET', KEYS[2], string.format('%.0f', nxt))
local dropped = 0
for _, m in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], now_ms, '+inf')) do
  dropped = dropped + redis.call('DEL', ARGV[1] .. m)
  redis.call('ZREM', KEYS[3], m)
end
redis.call('DEL', KEYS[1])
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now_ms)
return {dropped, redis.call('ZCARD', KEYS[3])}
"""


class RedisCacheStore:
    """The response cache in Redis, shared by every replica: a write on one drops what all of them would read.

    Entries are strings with a TTL, named by a hash of the cache key; tag membership and the entry index are sorted
    sets scored by expiry; epochs, puts and drops are Lua scripts, so each is atomic. When Redis fails a get is a
    miss and a put is skipped; `drop_tagged` raises OperaSharedStateError (the caller decides); after an outage the
    whole cache namespace is cleared, because a write may have happened while invalidation was impossible.
    (All keys of one script share the prefix but no hash tag: a single Redis or a primary with replicas, not
    Redis Cluster.)
    """

    def __init__(self, redis: SharedRedis, max_entries: int, *, metrics: Metrics | None = None) -> None:
        self._redis = redis
        self.max_entries = max_entries
        self._metrics = metrics
        self._namespace = redis.key("cache")
        self._entry_prefix = redis.key("cache", "e", "")
        self._index = redis.key("cache", "index")
        self._size = 0
        self._epoch = redis.client.register_script(_CACHE_EPOCH_LUA)
        self._put = redis.client.register_script(_CACHE_PUT_LUA)
        self._drop = redis.client.register_script(_CACHE_DROP_LUA)
        redis.on_recover(self.clear)

    def __len__(self) -> int:
        return self._size  # as of the last put or drop: cheap, and exact enough for a gauge

    def _id(self, key: str) -> str:
        return hashlib.sha256(key.encode()).hexdigest()[:32]

    def _skipped(self, operation: str) -> None:
        if self._metrics is not None:
            self._metrics.cache_store_failures.labels("ohip", operation).inc()

    async def get(self, key: str) -> bytes | None:
        if not self._redis.usable:
            self._skipped("get")
            return None
        try:
            raw = await self._redis.run("cache_get", lambda: self._redis.client.get(self._entry_prefix + self._id(key)))
        except OperaSharedStateError:
            self._skipped("get")
            return None
        return raw if isinstance(raw, bytes) else None

    async def epoch(self, tags: Sequence[str]) -> tuple[int, ...]:
        if not tags:
            return ()
        keys = [self._redis.key("cache", "epoch", tag) for tag in tags]
        raw = await self._redis.run("cache_epoch", lambda: self._epoch(keys=keys))
        return tuple(int(v) for v in raw)

    async def put(
        self, key: str, value: bytes, *, ttl: float, tags: Sequence[str], epoch: tuple[int, ...]
    ) -> bool:
        if len(epoch) != len(tags) or not self._redis.usable:
            self._skipped("put")
            return False
        member = self._id(key)
        keys = [self._entry_prefix + member, self._index,
                *(self._redis.key("cache", "tag", tag) for tag in tags),
                *(self._redis.key("cache", "epoch", tag) for tag in tags)]
        args: list[bytes | str | int] = [value, max(int(ttl * 1000), 1), self.max_entries, member,
                                         self._entry_prefix, *(str(e) for e in epoch)]
        try:
            stored, size, evicted = await self._redis.run("cache_put", lambda: self._put(keys=keys, args=args))
        except OperaSharedStateError:
            self._skipped("put")
            return False
        self._size = int(size)
        if int(evicted) and self._metrics is not None:
            self._metrics.cache_evictions.labels("ohip", "size").inc(int(evicted))
        return bool(stored)

    async def drop_tagged(self, tag: str) -> int:
        keys = [self._redis.key("cache", "tag", tag), self._redis.key("cache", "epoch", tag), self._index]
        dropped, size = await self._redis.run("cache_drop", lambda: self._drop(keys=keys, args=[self._entry_prefix]))
        self._size = int(size)
        if int(dropped) and self._metrics is not None:
            self._metrics.cache_evictions.labels("ohip", "invalidated").inc(int(dropped))
        return int(dropped)

    async def clear(self) -> None:
        """Drop every entry, tag set and epoch of the namespace (epochs restart above any handed out before)."""
        client = self._redis.client

        async def unlink_all() -> None:
            batch: list[bytes] = []
            async for name in client.scan_iter(match=self._namespace + ":*", count=500):
                batch.append(name)
                if len(batch) >= 500:
                    await client.unlink(*batch)
                    batch.clear()
            if batch:
                await client.unlink(*batch)

        # Straight on the client: clear() runs as a recovery hook, before `run()` accepts commands again.
        started = time.perf_counter()
        try:
            await unlink_all()
        except RedisError as exc:
            raise OperaSharedStateError(f"the shared cache could not be cleared ({type(exc).__name__})") from None
        if self._metrics is not None:
            self._metrics.redis_duration.labels("cache_clear").observe(time.perf_counter() - started)
        self._size = 0


# --- outbound rate limiter --------------------------------------------------------------------------------------
class RateLimiterBackend(Protocol):
    """Grants outbound request slots in arrival order; refuses (raises) when the wait would exceed `max_wait`."""

    async def acquire(self) -> float:
        """Wait for a slot; return the seconds waited."""
        ...

    def status(self) -> dict[str, float | int | str | None]: ...


class RedisRateLimiter:
    """The fleet-wide OHIP budget (OPERA_REQUESTS_PER_SECOND / OPERA_BURST_CAPACITY) shared by every replica.

    One Lua script (GCRA, virtual scheduling, on Redis's clock) reserves the caller's slot and returns its wait, so
    callers of all replicas queue in arrival order, and one whose wait would exceed OPERA_LIMITER_MAX_WAIT is
    refused at once without taking a slot. A cancelled waiter's slot is not given back (the fleet stays under its
    budget). While Redis fails, each replica falls back to a local RateLimiter with its share of the budget (rate
    and burst divided by the replicas last seen, burst at least 1), and returns to the shared budget once Redis
    answers again.

    Why a script and not a library: `limits` (aio) only admits or refuses (hit/test), it cannot reserve a future
    slot and say how long to wait; pyrate-limiter's blocking acquire sleeps and tries again, so waiters do not
    keep their arrival order and a caller is refused only after its timeout has run out. Either would need the
    same fallback and metrics around it; the reservation itself is the dozen lines of `_GCRA_LUA`.
    """

    def __init__(
        self,
        redis: SharedRedis,
        rate: float,
        burst: int,
        max_wait: float,
        *,
        metrics: Metrics | None = None,
        name: str = "ohip",
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be > 0 and burst >= 1")
        self._redis = redis
        self.rate = rate
        self.burst = burst
        self.max_wait = max_wait
        self.key = redis.key("limiter", name)
        self._metrics = metrics
        self._sleep = sleep
        self._fallback: RateLimiter | None = None
        self._waiting = 0
        self._rejections = 0
        self._backlog = 0.0
        self._backlog_at = time.monotonic()
        self.backend: Literal["redis", "local-fallback"] = "redis"
        self._show_backend()

    def _show_backend(self) -> None:
        if self._metrics is not None:
            for backend in ("redis", "local-fallback"):
                self._metrics.limiter_backend.labels(backend).set(1 if backend == self.backend else 0)

    def _local(self) -> RateLimiter:
        if self._fallback is None:
            fleet = self._redis.fleet_size()
            self._fallback = RateLimiter(self.rate / fleet, max(1, self.burst // fleet), self.max_wait,
                                         metrics=self._metrics)
            self.backend = "local-fallback"
            self._show_backend()
            log.warning("the fleet-wide OHIP rate limiter is unreachable; this replica uses its share of the "
                        "budget (%.3g requests/s, burst %d of %d replicas) until Redis answers again",
                        self._fallback.rate, self._fallback.burst, fleet)
        return self._fallback

    async def acquire(self) -> float:
        if self._redis.usable:
            try:
                admitted, wait, backlog = await self._redis.reserve(
                    self.key, rate=self.rate, burst=self.burst, max_wait=self.max_wait)
            except OperaSharedStateError:
                pass
            else:
                if self._fallback is not None:
                    self._fallback = None
                    self.backend = "redis"
                    self._show_backend()
                    log.warning("the fleet-wide OHIP rate limiter answers again; back on the shared budget")
                return await self._admit(admitted, wait, backlog)
        return await self._local().acquire()

    async def _admit(self, admitted: bool, wait: float, backlog: float) -> float:
        self._backlog, self._backlog_at = backlog, time.monotonic()
        if not admitted:
            self._rejections += 1
            if self._metrics is not None:
                self._metrics.limiter_rejections.inc()
            raise OperaLimiterTimeoutError(
                f"the fleet-wide outbound OHIP rate limiter is saturated: the next free slot is {wait:.1f} s away, "
                f"over the {self.max_wait:g} s bound (OPERA_LIMITER_MAX_WAIT; {self.rate:g} requests/s, burst "
                f"{self.burst}, shared by all replicas); nothing was sent to OHIP"
            )
        if wait <= 0:
            if self._metrics is not None:
                self._metrics.limiter_wait_seconds.observe(0.0)
            return 0.0
        self._waiting += 1
        if self._metrics is not None:
            self._metrics.limiter_waits.inc()
        try:
            await self._sleep(wait)
        finally:
            self._waiting -= 1
        if self._metrics is not None:
            self._metrics.limiter_wait_seconds.observe(wait)
        return wait

    def status(self) -> dict[str, float | int | str | None]:
        if self._fallback is not None:
            local = self._fallback.status()
            return {**local, "rejections": self._rejections + int(local["rejections"] or 0),
                    "backend": "local-fallback"}
        backlog = max(self._backlog - (time.monotonic() - self._backlog_at), 0.0)
        return {
            "status": "degraded" if self._waiting else "ok",
            "last_error": None,
            "available_slots": round(max(self.burst - backlog * self.rate, 0.0), 2),
            "queued": self._waiting,
            "rejections": self._rejections,
            "requests_per_second": self.rate,
            "burst": self.burst,
            "backend": "redis",
        }


# --- the factory ------------------------------------------------------------------------------------------------
@dataclass
class StoreSet:
    """The shared-state objects of one process, chosen once from configuration (see `open_stores`).

    None means "the in-process default of whoever uses it" (OperaHTTP builds its own token store, cache store
    and limiter then), which is exactly the behaviour without Redis.
    """

    redis: SharedRedis | None = None
    token_store: TokenStore | None = None
    cache_store: CacheStore | None = None
    limiter: RateLimiterBackend | None = None
    inbound_limiter: InboundRateLimiter = field(default_factory=lambda: InboundRateLimiter(60))

    async def start(self) -> None:
        if self.redis is not None:
            await self.redis.start()

    async def aclose(self) -> None:
        if self.redis is not None:
            await self.redis.aclose()

    def health(self) -> dict[str, Any] | None:
        """The shared state store's entry for /health, or None without Redis."""
        return self.redis.status() if self.redis is not None else None


def open_stores(settings: Settings, metrics: Metrics) -> StoreSet:
    """Redis-backed stores when OPERA_REDIS_URL is set, else today's in-process objects; call `start()` next."""
    if settings.redis_url is None:
        return StoreSet(inbound_limiter=InboundRateLimiter(settings.inbound_requests_per_minute))
    redis = SharedRedis.from_settings(settings, metrics)
    return StoreSet(
        redis=redis,
        token_store=RedisTokenStore(
            redis,
            secret=settings.effective_client_secret.get_secret_value(),
            binding=token_binding(settings.effective_token_url, settings.effective_base_url,
                                  settings.effective_client_id),
        ),
        cache_store=RedisCacheStore(redis, settings.cache_max_memory, metrics=metrics),
        limiter=RedisRateLimiter(redis, settings.requests_per_second, settings.burst_capacity,
                                 settings.limiter_max_wait, metrics=metrics),
        inbound_limiter=SharedInboundRateLimiter(settings.inbound_requests_per_minute, redis),
    )
