"""Fixtures for the attack table: our app on loopback (embedded sandbox) in each auth mode, a local JWKS server
with keys made in the test, and MCP SDK clients that carry credentials."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from app.security.api_keys import new_api_key
from tests.support.apps import embedded_settings, running_app
from tests.support.servers import ServerThread, serve

ISSUER = "https://auth.example.test"
AUDIENCE = "https://mcp.example.test/mcp"


@dataclass
class SigningKey:
    kid: str
    private: rsa.RSAPrivateKey = field(default_factory=lambda: rsa.generate_private_key(65537, 2048))

    def jwk(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(self.private.public_key()))
        return {**data, "kid": self.kid, "use": "sig", "alg": "RS256"}


class JWKSServer:
    """An authorization server's JWKS endpoint on loopback: keys can be rotated mid-run; fetches are counted."""

    def __init__(self) -> None:
        self.keys = [SigningKey("key-1")]
        self.fetches = 0

        async def jwks(request: Request) -> JSONResponse:
            self.fetches += 1
            return JSONResponse({"keys": [k.jwk() for k in self.keys]})

        self.app = Starlette(routes=[Route("/jwks.json", jwks)])
        self.server: ServerThread | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"{self.server.url}/jwks.json"

    def token(self, key: SigningKey | None = None, *, scopes: str = "opera:read opera:write opera:billing",
              hotels: Any = ("SAND01",), lifetime: int = 600, **claims: Any) -> str:
        key = key or self.keys[0]
        now = int(time.time())
        payload: dict[str, Any] = {
            "iss": ISSUER, "aud": AUDIENCE, "sub": "agent-7", "client_id": "frontdesk-app", "iat": now,
            "nbf": now, "exp": now + lifetime, "scope": scopes,
            "hotels": list(hotels) if isinstance(hotels, (list, tuple)) else hotels,
        }
        payload.update(claims)
        # A claim given as None is left out of the token (a token without exp, without a hotels claim...).
        payload = {name: value for name, value in payload.items() if value is not None}
        return jwt.encode(payload, key.private, algorithm="RS256", headers={"kid": key.kid})


@pytest.fixture
def jwks_server() -> Iterator[JWKSServer]:
    server = JWKSServer()
    with serve(server.app) as thread:
        server.server = thread
        yield server


@dataclass
class Keys:
    """API keys made with the new-api-key logic, as a client would hold them."""

    reader: str
    writer: str
    cashier: str
    other_hotel: str
    lines: str


@pytest.fixture
def api_keys() -> Keys:
    made = {
        "reader": new_api_key("reader", "opera:read", "SAND01"),
        "writer": new_api_key("writer", "opera:read,opera:write", "SAND01"),
        "cashier": new_api_key("cashier", "read,write,billing", "SAND01"),
        "other_hotel": new_api_key("sand02-desk", "read,write,billing", "SAND02"),
    }
    return Keys(**{name: m.key for name, m in made.items()}, lines="\n".join(m.line for m in made.values()))


@dataclass
class RunningApp:
    url: str
    app: Any
    audit_path: Path

    @property
    def sandbox(self) -> Any:
        return self.app.state.sandbox

    def audit_events(self) -> list[dict[str, Any]]:
        if not self.audit_path.exists():
            return []
        return [json.loads(line) for line in self.audit_path.read_text().splitlines() if line.strip()]

    def metric(self, name: str, **labels: str) -> float:
        value = self.app.state.metrics.registry.get_sample_value(name, labels)
        return float(value or 0.0)

    def ohip_business_requests(self) -> list[Any]:
        return [e for e in self.sandbox.requests if "/oauth/" not in e.path]


@pytest.fixture
def start_app(tmp_path: Path) -> Iterator[Any]:
    """start_app(**settings) -> RunningApp: our server in sandbox mode with an audit log file."""
    stack: list[Any] = []

    def start(**overrides: Any) -> RunningApp:
        audit_path = tmp_path / f"audit-{uuid.uuid4().hex[:6]}.jsonl"
        settings, port = embedded_settings(audit_log=str(audit_path), **overrides)
        context = running_app(settings, port)
        thread = context.__enter__()
        stack.append(context)
        return RunningApp(url=thread.url, app=thread.app, audit_path=audit_path)

    yield start
    for context in reversed(stack):
        context.__exit__(None, None, None)


@asynccontextmanager
async def client_with(url: str, headers: dict[str, str] | None = None, **kwargs: Any) -> AsyncIterator[Client]:
    """The MCP SDK client over real HTTP, sending `headers` on every request."""
    http = httpx2.AsyncClient(headers=headers or {}, timeout=httpx2.Timeout(30.0))
    async with http, Client(streamable_http_client(f"{url}/mcp", http_client=http), **kwargs) as client:
        yield client


def rpc(method: str, params: dict[str, Any] | None = None, request_id: int = 1) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params or {}}


MCP_HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json",
               "MCP-Protocol-Version": "2025-11-25"}


def rpc_result(response: Any) -> dict[str, Any]:
    """The JSON-RPC message of an MCP POST answer, whether sent as plain JSON or as one SSE event."""
    if response.headers.get("content-type", "").startswith("text/event-stream"):
        data = [line[5:].strip() for line in response.text.splitlines() if line.startswith("data:")]
        return dict(json.loads(data[-1]))
    return dict(response.json())


def tool_names(response: Any) -> set[str]:
    return {t["name"] for t in rpc_result(response)["result"]["tools"]}
