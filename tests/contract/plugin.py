"""pytest plugin: the `sandbox_server` fixture (a live sandbox on loopback) whose every recorded exchange is
validated against Oracle's schemas at teardown; a session tally of exchanges and violations is printed at the end.

Override the sandbox configuration per test with `@pytest.mark.sandbox(business_date=..., token_ttl=...)`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

import pytest

from app.sandbox.app import Sandbox, SandboxConfig, create_sandbox_app
from tests.contract.checker import check_recorded
from tests.support.servers import serve

__all__ = ["SandboxServer", "check_recorded"]

DEFAULT_BUSINESS_DATE = date(2026, 5, 1)
_TALLY = {"exchanges": 0, "violations": 0}


@dataclass
class SandboxServer:
    url: str
    sandbox: Sandbox
    config: SandboxConfig


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "sandbox(**overrides): SandboxConfig fields for the sandbox_server fixture of this test"
    )
    config.addinivalue_line(
        "markers",
        "lenient_requests: the test sends deliberately off-schema requests (numeric strings, lone objects, query "
        "aliases) to prove the sandbox is lenient; only responses are validated (status, Location, body)",
    )


@pytest.fixture
def sandbox_server(request: pytest.FixtureRequest) -> Iterator[SandboxServer]:
    overrides: dict[str, Any] = {}
    for marker in reversed(list(request.node.iter_markers("sandbox"))):
        overrides.update(marker.kwargs)
    # an unbounded request log, so that teardown validates every exchange of the test
    config = replace(SandboxConfig(business_date=DEFAULT_BUSINESS_DATE, request_log_max=None), **overrides)
    app = create_sandbox_app(config)
    sandbox: Sandbox = app.state.sandbox
    with serve(app) as server:
        yield SandboxServer(server.url, sandbox, config)
    lenient = request.node.get_closest_marker("lenient_requests") is not None
    problems = check_recorded(sandbox, requests=not lenient)
    _TALLY["exchanges"] += len(sandbox.requests)
    _TALLY["violations"] += len(problems)
    if problems:
        report = "\n  ".join(problems[:30])
        pytest.fail(f"{len(problems)} contract violation(s) against Oracle's schemas:\n  {report}", pytrace=False)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _TALLY["exchanges"]:
        terminalreporter.write_line(
            f"OHIP contract: {_TALLY['exchanges']} exchanges validated, {_TALLY['violations']} contract violations"
        )
