"""Small storage seams behind the OHIP client: where tokens, cached responses and limiter slots live.

Each is a Protocol with an in-process implementation; a shared backend (Redis, for several replicas) can
replace one without touching TokenManager, ResponseCache or OperaHTTP.
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
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

log = logging.getLogger("app.opera.stores")


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
    async def clear(self) -> None: ...


class MemoryTokenStore:
    """Keeps the token in this process only."""

    def __init__(self) -> None:
        self._token: StoredToken | None = None

    async def load(self) -> StoredToken | None:
        return self._token

    async def save(self, token: StoredToken) -> None:
        self._token = token

    async def clear(self) -> None:
        self._token = None


_FILE_MAGIC = b"OCMT1"
_SALT_BYTES = 16
_NONCE_BYTES = 12


class EncryptedFileTokenStore:
    """Keeps the token in one file, AES-GCM encrypted, so a restart within the token's life needs no new token.

    The key is derived (HKDF-SHA256, random salt per write) from the client secret; the binding (token URL,
    base URL, client id) is the associated data, so a file written for another tenant or client never decrypts.
    The directory is created 0700, the file is 0600 and replaced atomically. An unreadable file is ignored.
    """

    def __init__(self, directory: Path, *, secret: str, binding: str) -> None:
        self.directory = directory
        self._secret = secret.encode()
        self._binding = binding.encode()
        digest = hashlib.sha256(self._binding).hexdigest()[:16]
        self.path = directory / f"ohip-token-{digest}.bin"

    def __repr__(self) -> str:
        return f"EncryptedFileTokenStore(path={str(self.path)!r})"

    def _key(self, salt: bytes) -> bytes:
        hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=b"opera-cloud-mcp token cache v1")
        return hkdf.derive(self._secret)

    def _seal(self, token: StoredToken) -> bytes:
        salt = secrets.token_bytes(_SALT_BYTES)
        nonce = secrets.token_bytes(_NONCE_BYTES)
        plain = json.dumps(asdict(token)).encode()
        return _FILE_MAGIC + salt + nonce + AESGCM(self._key(salt)).encrypt(nonce, plain, self._binding)

    def _open(self, blob: bytes) -> StoredToken:
        if not blob.startswith(_FILE_MAGIC):
            raise ValueError("not a token cache file")
        rest = blob[len(_FILE_MAGIC) :]
        salt = rest[:_SALT_BYTES]
        nonce = rest[_SALT_BYTES : _SALT_BYTES + _NONCE_BYTES]
        sealed = rest[_SALT_BYTES + _NONCE_BYTES :]
        plain = AESGCM(self._key(salt)).decrypt(nonce, sealed, self._binding)
        raw = json.loads(plain)
        return StoredToken(
            access_token=str(raw["access_token"]),
            expires_at=float(raw["expires_at"]),
            obtained_at=float(raw["obtained_at"]),
            token_type=str(raw.get("token_type", "Bearer")),
        )

    def _read(self) -> StoredToken | None:
        try:
            blob = self.path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            log.warning("token cache file %s unreadable (%s); ignoring it", self.path, type(exc).__name__)
            return None
        try:
            return self._open(blob)
        except (InvalidTag, ValueError, KeyError, TypeError) as exc:
            # Another secret, another tenant, or a damaged file: never fatal, the next save replaces it.
            log.warning("token cache file %s could not be decrypted (%s); ignoring it", self.path,
                        type(exc).__name__)
            return None

    def _write(self, token: StoredToken) -> None:
        if not self.directory.exists():
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            os.chmod(self.directory, 0o700)
        fd, tmp = tempfile.mkstemp(prefix=".ohip-token-", dir=self.directory)  # mkstemp creates it 0600
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(self._seal(token))
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    def _remove(self) -> None:
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

    async def clear(self) -> None:
        with contextlib.suppress(OSError):
            await asyncio.to_thread(self._remove)


def token_binding(token_url: str, base_url: str, client_id: str) -> str:
    """What a cached token is valid for; part of the file name and of the encryption's associated data."""
    return base64.urlsafe_b64encode(f"{token_url}\n{base_url}\n{client_id}".encode()).decode()


# --- response cache ---------------------------------------------------------------------------------------------
class CacheStore(Protocol):
    """Bytes by key, each with a time to live and tags that let a group of entries be dropped at once."""

    async def get(self, key: str) -> bytes | None: ...
    async def put(self, key: str, value: bytes, *, ttl: float, tags: Sequence[str]) -> None: ...
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
    """An LRU dictionary with per-entry expiry and a tag index, bounded to `max_entries`."""

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

    async def put(self, key: str, value: bytes, *, ttl: float, tags: Sequence[str]) -> None:
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

    async def drop_tagged(self, tag: str) -> int:
        keys = list(self._tagged.get(tag, ()))
        for key in keys:
            self._unlink(key)
        self._evicted("invalidated", len(keys))
        return len(keys)

    async def clear(self) -> None:
        self._entries.clear()
        self._tagged.clear()


# --- outbound rate limiter --------------------------------------------------------------------------------------
class RateLimiterBackend(Protocol):
    """Grants outbound request slots in arrival order; refuses (raises) when the wait would exceed `max_wait`."""

    async def acquire(self) -> float:
        """Wait for a slot; return the seconds waited."""
        ...

    def status(self) -> dict[str, float | int | str | None]: ...
