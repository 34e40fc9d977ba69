"""The sandbox's request log: the latest exchanges (token requests and refusals included), with secrets masked, so
tests can assert what a client sent and the contract checker can validate every body against Oracle's schemas.

The log keeps at most `max_exchanges` (a long-running sandbox must not grow without bound); the counters beside it
(`total`, `by_operation`) count every exchange ever recorded since the last reset."""

from __future__ import annotations

import hashlib
import threading
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

_MASKED = "***"
_CARD_KEYS = frozenset({"cardnumber", "cardnumbermasked", "cvv", "cardholdername", "expirationdate"})
_SECRET_FORM_FIELDS = frozenset({"password", "client_secret", "assertion", "refresh_token"})


@dataclass
class Exchange:
    """One request and the response the sandbox gave."""

    time: float  # when the request arrived (Unix time)
    method: str
    path: str  # relative to the sandbox root (no mount prefix)
    query: list[tuple[str, str]]
    headers: dict[str, str]  # lower-cased names; credentials masked
    json: Any  # parsed JSON body, masked form fields, or None
    status: int  # 0: no response at all (a `reset` fault closed the connection)
    response: Any  # parsed JSON response body or None
    operation_id: str | None
    module: str | None
    client: tuple[str, int] | None
    traceparent: str | None
    token_hash: str | None = None  # a short hash of the bearer token, so tests can tell tokens apart
    response_headers: dict[str, str] = field(default_factory=dict)

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def describe(self) -> dict[str, Any]:
        """A JSON-able view for the control endpoint."""
        return {
            "time": self.time,
            "method": self.method,
            "path": self.path,
            "query": [list(pair) for pair in self.query],
            "headers": self.headers,
            "json": self.json,
            "status": self.status,
            "response": self.response,
            "operation_id": self.operation_id,
            "module": self.module,
            "client": list(self.client) if self.client else None,
            "traceparent": self.traceparent,
            "token_hash": self.token_hash,
        }


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()[:12]


def mask_headers(headers: list[tuple[bytes, bytes]]) -> tuple[dict[str, str], str | None]:
    """Lower-cased headers with the Authorization value masked; also the bearer token's hash if any."""
    masked: dict[str, str] = {}
    hashed: str | None = None
    for raw_name, raw_value in headers:
        name = raw_name.decode("latin-1").lower()
        value = raw_value.decode("latin-1")
        if name == "authorization":
            scheme, _, credential = value.partition(" ")
            if scheme.lower() == "bearer" and credential:
                hashed = token_hash(credential.strip())
            value = f"{scheme} {_MASKED}" if credential else _MASKED
        masked[name] = value
    return masked, hashed


def mask_form(form: dict[str, str]) -> dict[str, str]:
    return {k: (_MASKED if k.lower() in _SECRET_FORM_FIELDS else v) for k, v in form.items()}


def mask_token_response(body: Any) -> Any:
    """Issued access tokens are secrets too: the log keeps only their hash."""
    if isinstance(body, dict) and isinstance(body.get("access_token"), str):
        return {**body, "access_token": f"{_MASKED}{token_hash(body['access_token'])}"}
    return body


def mask_card_fields(body: Any) -> Any:
    """Card data sent to the emulator is never kept: card fields keep at most their last four characters."""
    if isinstance(body, dict):
        out: dict[str, Any] = {}
        for key, value in body.items():
            if isinstance(key, str) and key.lower() in _CARD_KEYS and isinstance(value, str) and value:
                is_number = key.lower().startswith("cardnumber")
                out[key] = "X" * max(len(value) - 4, 0) + value[-4:] if is_number else _MASKED
            else:
                out[key] = mask_card_fields(value)
        return out
    if isinstance(body, list):
        return [mask_card_fields(v) for v in body]
    return body


class Recorder:
    """The bounded log of exchanges and exact counters; the server thread appends while tests read."""

    def __init__(self, max_exchanges: int | None = None) -> None:
        if max_exchanges is not None and max_exchanges < 1:
            raise ValueError(f"max_exchanges must be at least 1 or None (unbounded); got {max_exchanges}")
        self.max_exchanges = max_exchanges
        self._exchanges: deque[Exchange] = deque(maxlen=max_exchanges)
        self._clients: set[tuple[str, int]] = set()
        self._lock = threading.Lock()
        self.total = 0
        self.by_operation: Counter[str] = Counter()

    def record(self, exchange: Exchange) -> None:
        exchange.json = mask_card_fields(exchange.json)
        with self._lock:
            self._exchanges.append(exchange)
            self.total += 1
            self.by_operation[exchange.operation_id or "(none)"] += 1
            if exchange.client is not None:
                self._clients.add(exchange.client)

    @property
    def exchanges(self) -> list[Exchange]:
        """The kept exchanges, oldest first (all of them when the log is unbounded)."""
        with self._lock:
            return list(self._exchanges)

    def counts(self) -> dict[str, int]:
        with self._lock:
            return dict(sorted(self.by_operation.items()))

    def connection_count(self) -> int:
        """Distinct client (host, port) pairs seen: a keep-alive connection keeps its port."""
        with self._lock:
            return len(self._clients)

    def clear(self) -> None:
        with self._lock:
            self._exchanges.clear()
            self._clients.clear()
            self.total = 0
            self.by_operation.clear()
