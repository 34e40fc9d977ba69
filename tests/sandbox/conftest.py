"""Shared set-up for sandbox tests: an HTTP client that already holds a token and sends OHIP's headers."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx2
import pytest

from app.config import SANDBOX_APP_KEY, SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, SANDBOX_ENTERPRISE_ID
from tests.contract.plugin import SandboxServer

HOTEL = "SAND01"


async def fetch_token(client: httpx2.AsyncClient) -> str:
    response = await client.post(
        "/oauth/v1/tokens",
        data={"grant_type": "client_credentials", "scope": "urn:opc:hgbu:ws:__myscopes__"},
        auth=(SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET),
        headers={"x-app-key": SANDBOX_APP_KEY, "enterpriseId": SANDBOX_ENTERPRISE_ID},
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


@pytest.fixture
async def ohip(sandbox_server: SandboxServer) -> AsyncIterator[httpx2.AsyncClient]:
    """A client for `sandbox_server` with a valid bearer token, x-app-key and x-hotelid: SAND01."""
    async with httpx2.AsyncClient(base_url=sandbox_server.url, timeout=15) as client:
        token = await fetch_token(client)
        client.headers.update({"Authorization": f"Bearer {token}", "x-app-key": SANDBOX_APP_KEY, "x-hotelid": HOTEL})
        yield client
