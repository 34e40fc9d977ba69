"""API keys for OPERA_MCP_AUTH=api_key: configured only as SHA-256 hashes, each with a name, scopes and hotels.

One key per line, in OPERA_MCP_API_KEYS_FILE or in OPERA_MCP_API_KEYS (lines separated by newlines or ';'):

    name:sha256hex:scopes:hotels
    frontdesk-bot:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08:opera:read,opera:write:SAND01,SAND02

`scopes` is a comma-separated list of opera:read, opera:write, opera:billing (or the short forms read, write,
billing); `hotels` is a comma-separated list of hotel codes, or `*` for every hotel. Blank lines and lines
starting with '#' are ignored. `opera-cloud-mcp new-api-key` prints a fresh key and the line to add.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from app.security.principal import ALL_SCOPES, ANY_HOTEL, Principal

KEY_PREFIX = "omcp_"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
_HASH = re.compile(r"^[0-9a-f]{64}$")
_HOTEL = re.compile(r"^[A-Za-z0-9_-]{1,20}$")


class ApiKeyConfigError(ValueError):
    """A malformed key line; the message names the line and what is wrong, never a key."""


@dataclass(frozen=True)
class ApiKeyEntry:
    name: str
    digest: bytes
    scopes: frozenset[str]
    hotels: frozenset[str]

    def principal(self) -> Principal:
        return Principal(name=self.name, kind="api_key", client_id=self.name, scopes=self.scopes,
                         hotels=self.hotels, subject=self.name)


def key_digest(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8")).digest()


def check_name(name: str) -> None:
    if not _NAME.fullmatch(name):
        raise ApiKeyConfigError(f"name {name[:24]!r} must be 1-64 letters, digits, '.', '_', '@' or '-'")


def parse_scopes(text: str) -> frozenset[str]:
    scopes: set[str] = set()
    for raw in re.split(r"[,\s]+", text.strip()):
        if not raw:
            continue
        scope = raw if raw.startswith("opera:") else f"opera:{raw}"
        if scope not in ALL_SCOPES:
            raise ApiKeyConfigError(f"unknown scope {raw!r}; use {', '.join(ALL_SCOPES)}")
        scopes.add(scope)
    if not scopes:
        raise ApiKeyConfigError("no scopes given")
    return frozenset(scopes)


def parse_hotels(text: str) -> frozenset[str]:
    hotels: set[str] = set()
    for raw in re.split(r"[,\s]+", text.strip()):
        if not raw:
            continue
        if raw == ANY_HOTEL:
            hotels.add(ANY_HOTEL)
        elif _HOTEL.fullmatch(raw):
            hotels.add(raw.upper())
        else:
            raise ApiKeyConfigError(f"hotel {raw[:24]!r} is not a hotel code (1-20 letters, digits, '_' or '-') or '*'")
    if not hotels:
        raise ApiKeyConfigError("no hotels given (use '*' for every hotel)")
    return frozenset(hotels)


def parse_line(line: str) -> ApiKeyEntry:
    """Parse `name:sha256hex:scopes:hotels`. Scopes contain ':' themselves, so hotels are split off the end."""
    parts = line.strip().split(":", 2)
    if len(parts) != 3 or ":" not in parts[2]:
        raise ApiKeyConfigError("expected name:sha256hex:scopes:hotels")
    name, digest_hex, rest = parts
    scopes_text, hotels_text = rest.rsplit(":", 1)
    if scopes_text.rstrip().endswith("opera") or not scopes_text.strip():
        raise ApiKeyConfigError("the hotels field is missing: expected name:sha256hex:scopes:hotels (codes or *)")
    check_name(name)
    digest_hex = digest_hex.lower()
    if not _HASH.fullmatch(digest_hex):
        raise ApiKeyConfigError(f"key {name!r}: the second field must be the SHA-256 of the key as 64 hex digits")
    return ApiKeyEntry(name=name, digest=bytes.fromhex(digest_hex), scopes=parse_scopes(scopes_text),
                       hotels=parse_hotels(hotels_text))


def parse_lines(text: str, source: str) -> list[ApiKeyEntry]:
    entries: list[ApiKeyEntry] = []
    for number, line in enumerate(re.split(r"[\n;]", text), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        try:
            entries.append(parse_line(stripped))
        except ApiKeyConfigError as exc:
            raise ApiKeyConfigError(f"{source} entry {number}: {exc}") from None
    return entries


class ApiKeyRing:
    """The configured keys. `verify` hashes the presented key and compares digests in constant time."""

    def __init__(self, entries: Iterable[ApiKeyEntry]) -> None:
        self.entries = list(entries)
        names = [e.name for e in self.entries]
        duplicate = next((n for n in names if names.count(n) > 1), None)
        if duplicate:
            raise ApiKeyConfigError(f"key name {duplicate!r} is configured twice")
        digests = [e.digest for e in self.entries]
        if len(set(digests)) != len(digests):
            raise ApiKeyConfigError("the same key hash is configured under two names")

    @classmethod
    def load(cls, file: Path | None, inline: str | None) -> ApiKeyRing:
        entries: list[ApiKeyEntry] = []
        if file is not None:
            try:
                text = file.read_text(encoding="utf-8")
            except OSError as exc:
                raise ApiKeyConfigError(f"OPERA_MCP_API_KEYS_FILE {file}: cannot read it ({exc.strerror})") from None
            entries.extend(parse_lines(text, f"OPERA_MCP_API_KEYS_FILE {file}"))
        if inline:
            entries.extend(parse_lines(inline, "OPERA_MCP_API_KEYS"))
        if not entries:
            raise ApiKeyConfigError(
                "OPERA_MCP_AUTH=api_key needs keys: set OPERA_MCP_API_KEYS_FILE or OPERA_MCP_API_KEYS "
                "(run `opera-cloud-mcp new-api-key --name NAME` to make one)"
            )
        return cls(entries)

    def verify(self, presented: str) -> Principal | None:
        if not presented or len(presented) > 512:
            return None
        digest = key_digest(presented)
        found: ApiKeyEntry | None = None
        # Compare against every entry, so the time taken does not tell which entry (if any) matched.
        for entry in self.entries:
            if hmac.compare_digest(entry.digest, digest):
                found = entry
        return found.principal() if found else None


@dataclass(frozen=True)
class NewApiKey:
    key: str
    line: str


def new_api_key(name: str, scopes: str = "opera:read", hotels: str = ANY_HOTEL) -> NewApiKey:
    """A fresh random key and the configuration line that admits it (the line holds only its hash)."""
    check_name(name)
    scope_set = parse_scopes(scopes)
    hotel_set = parse_hotels(hotels)
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    ordered_scopes = ",".join(s for s in ALL_SCOPES if s in scope_set)
    line = f"{name}:{key_digest(key).hex()}:{ordered_scopes}:{','.join(sorted(hotel_set))}"
    parse_line(line)  # the printed line must be one the server accepts
    return NewApiKey(key=key, line=line)
