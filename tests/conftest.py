"""Suite-wide set-up: the contract plugin (every sandbox exchange validated against Oracle's schemas) and one
in-memory OpenTelemetry provider for the whole process (a global provider can be set only once)."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

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
