"""Tracing: the OpenTelemetry SDK, exporter chosen by the standard OTEL_* variables (OTLP/HTTP), none by default."""

from __future__ import annotations

import logging

from opentelemetry import trace
from opentelemetry.sdk.resources import SERVICE_NAME, SERVICE_VERSION, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter

from app import __version__
from app.config import Settings

log = logging.getLogger(__name__)


def choose_exporter(settings: Settings) -> SpanExporter | None:
    kind = (settings.otel_traces_exporter or "").strip().lower()
    if kind == "none":
        return None
    if kind == "console":
        return ConsoleSpanExporter()
    if kind == "otlp" or settings.otel_exporter_otlp_endpoint or settings.otel_exporter_otlp_traces_endpoint:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        endpoint = settings.otel_exporter_otlp_traces_endpoint
        if not endpoint and settings.otel_exporter_otlp_endpoint:
            endpoint = settings.otel_exporter_otlp_endpoint.rstrip("/") + "/v1/traces"
        return OTLPSpanExporter(endpoint=endpoint) if endpoint else OTLPSpanExporter()
    return None


def setup_tracing(settings: Settings) -> TracerProvider | None:
    """Install a global TracerProvider once per process (a provider set earlier, e.g. by tests, is kept).

    Returns the provider this call installed, so the caller can flush it on shutdown, or None.
    """
    current = trace.get_tracer_provider()
    if isinstance(current, TracerProvider):
        return None
    exporter = choose_exporter(settings)
    if exporter is None:
        # No exporter: keep the no-op provider, so spans cost nothing. traceparent still propagates from
        # incoming requests, and the SDK's own spans stay no-ops.
        return None
    provider = TracerProvider(resource=Resource.create({
        SERVICE_NAME: settings.otel_service_name,
        SERVICE_VERSION: __version__,
        "deployment.environment.name": settings.environment,
    }))
    provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    log.info("tracing enabled", extra={"exporter": type(exporter).__name__})
    return provider
