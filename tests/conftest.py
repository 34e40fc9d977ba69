"""Suite-wide set-up: the contract plugin (every sandbox exchange validated against Oracle's schemas) and one
in-memory OpenTelemetry provider for the whole process (a global provider can be set only once)."""

from __future__ import annotations

import io
import logging
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from tests.support.redis import DEBIAN_PACKAGE, RedisServer, redis_server_binary

pytest_plugins = ["tests.contract.plugin"] if (Path(__file__).parent / "contract" / "plugin.py").exists() else []

_EXPORTER = InMemorySpanExporter()
_PROVIDER = TracerProvider()
_PROVIDER.add_span_processor(SimpleSpanProcessor(_EXPORTER))
trace.set_tracer_provider(_PROVIDER)


@pytest.fixture
def spans() -> InMemorySpanExporter:
    """Finished spans of this test (the process-wide in-memory exporter, cleared first)."""
    _EXPORTER.clear()
    return _EXPORTER


@pytest.fixture
def captured_logs() -> Iterator[io.StringIO]:
    """A stream for a test that calls configure_logging(stream=...); the root logger is restored afterwards."""
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    stream = io.StringIO()
    yield stream
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in saved_handlers:
        root.addHandler(handler)
    root.setLevel(saved_level)


@pytest.fixture(scope="session")
def redis_binary() -> str:
    """The redis-server binary; installed once with apt-get when missing and the session runs as root."""
    found = redis_server_binary()
    if found is None and hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        for command in (["apt-get", "update", "-qq"],
                        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", DEBIAN_PACKAGE]):
            subprocess.run(command, check=False, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        found = redis_server_binary()
    if found is None:
        pytest.fail(f"redis-server is not installed: install the Debian package {DEBIAN_PACKAGE} "
                    f"(apt-get install {DEBIAN_PACKAGE})", pytrace=False)
    return found


@pytest.fixture
def redis_server(redis_binary: str) -> Iterator[RedisServer]:
    """A fresh redis-server of this test on a free loopback port (stop()/start() simulate an outage)."""
    server = RedisServer().start()
    try:
        yield server
    finally:
        server.close()
