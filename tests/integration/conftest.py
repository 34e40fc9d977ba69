"""Shared integration fixtures: our OHIP client (OperaHTTP) pointed at the test's live sandbox as if it were real
OHIP, a builder for clients with other settings or other servers, and hotel SAND01 as the sandbox holds it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from app.opera.http import OperaHTTP
from app.telemetry.metrics import Metrics
from tests.support.apps import settings_for_sandbox

#: Builds an OHIP client for a base URL, with Settings overrides as keywords; the caller starts and closes it.
OperaClientFactory = Callable[..., OperaHTTP]


@pytest.fixture
def opera_client() -> OperaClientFactory:
    def build(base_url: str, **overrides: Any) -> OperaHTTP:
        return OperaHTTP(settings_for_sandbox(base_url, **overrides), Metrics())

    return build


@pytest.fixture
async def http(sandbox_server: Any, opera_client: OperaClientFactory) -> AsyncIterator[OperaHTTP]:
    """A started client of the test's sandbox, closed after the test."""
    client = opera_client(sandbox_server.url)
    await client.start()
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture
def hotel(sandbox_server: Any) -> Any:
    """Hotel SAND01 as the sandbox holds it, to check what the client reads against the hotel's own state."""
    return sandbox_server.sandbox.enterprise.hotels["SAND01"]
