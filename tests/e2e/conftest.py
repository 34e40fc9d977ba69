"""Shared end-to-end fixtures: our app with its embedded sandbox (one per test module, every OHIP exchange checked
against Oracle's schemas at teardown), the state of its hotel SAND01, or our app pointed at a test's own sandbox."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.contract.plugin import check_recorded
from tests.support.apps import embedded_settings, running_app, settings_for_sandbox
from tests.support.servers import ServerThread

#: The embedded sandbox's business date: "today" for arrivals, departures and check-in.
BUSINESS_DATE = "2026-05-01"


@pytest.fixture(scope="module")
def server() -> Iterator[ServerThread]:
    """Our app in sandbox mode, shared by the tests of one module."""
    settings, port = embedded_settings(sandbox_business_date=BUSINESS_DATE)
    with running_app(settings, port) as srv:
        yield srv
    problems = check_recorded(srv.app.state.sandbox)
    assert not problems, "\n".join(problems[:20])


@pytest.fixture
def hotel(server: ServerThread) -> Any:
    """Hotel SAND01 as the embedded sandbox holds it, to check what the tools say against the hotel's own state."""
    return server.app.state.sandbox.enterprise.hotels["SAND01"]


@pytest.fixture
def app_url(sandbox_server: Any) -> Iterator[str]:
    """Our app treating the test's live sandbox (see the `sandbox` marker) as real OHIP."""
    with running_app(settings_for_sandbox(sandbox_server.url)) as srv:
        yield srv.url
