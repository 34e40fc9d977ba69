"""Fixtures for the deploy tests: the shipped tools (promtool, prometheus, kubectl) and a ready server."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from tests.contract.plugin import SandboxServer
from tests.support.apps import running_app, settings_for_sandbox, wait_ready
from tests.support.servers import ServerThread


def binary(name: str, install: str) -> str:
    """Path of a required tool; a missing one fails the test (CI installs it), it never skips."""
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is required for this test and is not on PATH: {install}", pytrace=False)
    return path


@pytest.fixture
def promtool() -> str:
    return binary("promtool", "apt-get install -y --no-install-recommends prometheus (.ci/run does it)")


@pytest.fixture
def prometheus_binary() -> str:
    return binary("prometheus", "apt-get install -y --no-install-recommends prometheus (.ci/run does it)")


@pytest.fixture
def ready_server(sandbox_server: SandboxServer) -> Iterator[ServerThread]:
    """Our server, ready (token obtained), treating the contract-checked sandbox as OHIP."""
    with running_app(settings_for_sandbox(sandbox_server.url)) as srv:
        wait_ready(srv.url)
        yield srv
