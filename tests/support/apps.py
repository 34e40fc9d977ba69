"""Build and run our app on loopback against a sandbox (external or embedded), for end-to-end tests."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx2

from app.config import (
    SANDBOX_APP_KEY,
    SANDBOX_CASHIER_ID,
    SANDBOX_CLIENT_ID,
    SANDBOX_CLIENT_SECRET,
    SANDBOX_ENTERPRISE_ID,
    Settings,
    load_settings,
)
from app.server import create_app
from tests.support.servers import ServerThread, free_port, serve


def settings_for_sandbox(sandbox_url: str, **overrides: Any) -> Settings:
    """Settings of a server that treats the given sandbox as real OHIP (credentials set, so not embedded)."""
    base: dict[str, Any] = {
        "client_id": SANDBOX_CLIENT_ID,
        "client_secret": SANDBOX_CLIENT_SECRET,
        "base_url": sandbox_url,
        "app_key": SANDBOX_APP_KEY,
        "enterprise_id": SANDBOX_ENTERPRISE_ID,
        "cashier_id": SANDBOX_CASHIER_ID,
        "environment": "test",
        "log_level": "INFO",
    }
    base.update(overrides)
    return load_settings(**base)


def embedded_settings(**overrides: Any) -> tuple[Settings, int]:
    """Settings of a server in sandbox mode (the sandbox mounted at /sandbox of the same server)."""
    port = free_port()
    # An unbounded request log, so the contract check at teardown sees every exchange.
    base: dict[str, Any] = {"port": port, "environment": "test", "sandbox_business_date": "2026-05-01",
                            "sandbox_request_log_max": None}
    base.update(overrides)
    return load_settings(**base), port


@contextmanager
def running_app(settings: Settings, port: int | None = None) -> Iterator[ServerThread]:
    with serve(create_app(settings), port=(port or settings.port) if settings.sandbox_mode else port) as srv:
        yield srv


def wait_ready(base_url: str, timeout: float = 30.0) -> httpx2.Response:
    """Poll /ready until it answers 200 (an OHIP token was obtained) or the time is up; returns the last answer."""
    deadline = time.monotonic() + timeout
    while True:
        response = httpx2.get(f"{base_url}/ready", timeout=5)
        if response.status_code == 200:
            return response
        if time.monotonic() > deadline:
            raise TimeoutError(f"{base_url}/ready did not answer 200 within {timeout} s: {response.text}")
        time.sleep(0.1)
