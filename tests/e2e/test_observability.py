"""Probes, metrics, logs and traces of a running server, observed the way operators and tools see them."""

from __future__ import annotations

import asyncio
import io
import json
import subprocess
import sys
import time

import httpx2
import pytest

from app.server import build_redactor
from app.telemetry.logging import configure_logging
from tests.support.apps import embedded_settings, running_app, settings_for_sandbox, wait_ready
from tests.support.debian import debian_tool
from tests.support.fleet import CLEAN_ENV, Process
from tests.support.mcp_client import call_error, call_ok, mcp_client
from tests.support.servers import free_port

CARD = "4111 1111 1111 1111"


def test_embedded_sandbox_mode_probes_and_health() -> None:
    settings, port = embedded_settings()
    with running_app(settings, port) as srv:
        live = httpx2.get(f"{srv.url}/live")
        assert live.status_code == 200 and live.json()["status"] == "alive"
        ready = wait_ready(srv.url)
        assert ready.status_code == 200, ready.text
        health = httpx2.get(f"{srv.url}/health").json()
        assert health["mode"] == "sandbox"
        assert health["status"] == "ok"
        assert set(health["components"]) >= {"auth", "ohip", "cache", "limiter", "breaker"}
        for name, component in health["components"].items():
            assert component["status"] in ("ok", "degraded", "down"), name
        assert isinstance(health["uptime_s"], float) and health["version"]


def test_the_command_serves_on_uvloop_and_health_says_so() -> None:
    """`opera-cloud-mcp` as a hotel runs it: its /health names the Python and the event loop that served the
    request, and on Linux and macOS that loop is uvloop (a dependency there; plain asyncio costs more CPU per call)."""
    port = free_port()
    server = Process("command", [sys.executable, "-m", "app"], {**CLEAN_ENV, "OPERA_PORT": str(port)}, port,
                     "/ready")
    try:
        server.start()
        runtime = httpx2.get(f"{server.url}/health").json()["runtime"]
    finally:
        server.stop()
    assert runtime["python"] == ".".join(map(str, sys.version_info[:3]))
    assert runtime["event_loop"] == ("asyncio" if sys.platform == "win32" else "uvloop"), runtime


def test_ready_stays_503_without_a_token_while_live_stays_200(sandbox_server) -> None:  # type: ignore[no-untyped-def]
    settings = settings_for_sandbox(sandbox_server.url, client_secret="wrong-secret-value")
    with running_app(settings) as srv:
        time.sleep(1.0)  # let the warm-up try and fail at least once
        ready = httpx2.get(f"{srv.url}/ready")
        assert ready.status_code == 503
        assert any("token" in reason for reason in ready.json()["reasons"])
        assert httpx2.get(f"{srv.url}/live").status_code == 200
        health = httpx2.get(f"{srv.url}/health").text
        assert "wrong-secret-value" not in health
        assert json.loads(health)["components"]["auth"]["status"] != "ok"


def test_mcp_endpoint_answers_405_to_get_and_delete() -> None:
    settings, port = embedded_settings()
    with running_app(settings, port) as srv:
        for method in ("GET", "DELETE"):
            r = httpx2.request(method, f"{srv.url}/mcp", headers={"accept": "text/event-stream"})
            assert r.status_code == 405 and r.headers["allow"] == "POST"


async def test_metrics_count_tool_calls_and_pass_promtool() -> None:
    promtool = debian_tool("promtool", "prometheus")
    settings, port = embedded_settings()
    with running_app(settings, port) as srv:
        await asyncio.to_thread(wait_ready, srv.url)
        async with mcp_client(srv.url) as client:
            for _ in range(3):
                await call_ok(client, "get_server_info")
            await call_ok(client, "search_reservations", {"surname": "Smith"})
        text = (await asyncio.to_thread(httpx2.get, f"{srv.url}/metrics")).text
        assert 'opera_mcp_tool_calls_total{outcome="ok",tool="get_server_info"} 3.0' in text
        assert 'opera_ohip_requests_total{module="rsv",operation="getHotelReservations",status_class="2xx"}' in text
        assert "process_resident_memory_bytes" in text and "opera_mcp_build_info" in text
        lint = await asyncio.to_thread(
            subprocess.run, [promtool, "check", "metrics"], input=text, capture_output=True, text=True, check=False
        )
        assert lint.returncode == 0, lint.stdout + lint.stderr


def test_metrics_can_be_restricted_by_a_token() -> None:
    settings, port = embedded_settings(metrics_token="metrics-token-123456")
    with running_app(settings, port) as srv:
        assert httpx2.get(f"{srv.url}/metrics").status_code == 401
        ok = httpx2.get(f"{srv.url}/metrics", headers={"authorization": "Bearer metrics-token-123456"})
        assert ok.status_code == 200 and "opera_mcp_build_info" in ok.text
        assert httpx2.get(f"{srv.url}/ready").status_code in (200, 503)  # probes stay open


SECRET = "client-secret-never-logged"


@pytest.mark.sandbox(client_secret=SECRET)
async def test_logs_are_json_lines_with_trace_ids_and_no_secrets(captured_logs: io.StringIO, sandbox_server) -> None:  # type: ignore[no-untyped-def]
    secret = SECRET
    settings = settings_for_sandbox(sandbox_server.url, client_secret=secret)
    # DEBUG: the per-OHIP-call lines too (at INFO the tool call's one line carries them).
    configure_logging(
        level="DEBUG", structured=True, redactor=build_redactor(settings), environment="test", stream=captured_logs
    )
    with running_app(settings) as srv:
        await asyncio.to_thread(wait_ready, srv.url)
        async with mcp_client(srv.url) as client:
            # Refused before any OHIP call, and never logged.
            await call_error(client, "search_reservations", {"text": f"paid by {CARD}"})
            await call_ok(client, "search_reservations", {"surname": "Smith"})
        token = srv.app.state.http.token_manager.current_token()
    lines = [line for line in captured_logs.getvalue().splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    ohip = [r for r in records if r.get("logger") == "app.opera.http" and r.get("operation")]
    assert ohip, "no OHIP call was logged"
    for r in ohip:
        for field in (
            "timestamp",
            "level",
            "logger",
            "message",
            "method",
            "url",
            "hotel_id",
            "request_size_bytes",
            "params",
            "status",
            "duration_ms",
        ):
            assert field in r, (field, r)
    assert any(r.get("trace_id") and r.get("span_id") for r in ohip)
    everything = captured_logs.getvalue()
    assert token and token not in everything
    assert secret not in everything
    assert CARD not in everything and CARD.replace(" ", "") not in everything


async def test_one_tool_call_traces_tool_span_with_child_ohip_span(spans, sandbox_server) -> None:  # type: ignore[no-untyped-def]
    settings = settings_for_sandbox(sandbox_server.url)
    with running_app(settings) as srv:
        await asyncio.to_thread(wait_ready, srv.url)
        spans.clear()
        async with mcp_client(srv.url) as client:
            await call_ok(client, "search_reservations", {"surname": "Smith"})
        # The tool span ends just after its answer is sent: wait for it rather than for a fixed time.
        deadline = time.monotonic() + 10
        while not any(s.name == "tools/call search_reservations" for s in spans.get_finished_spans()):
            assert time.monotonic() < deadline, "the tool span never finished"
            await asyncio.sleep(0.02)
    finished = spans.get_finished_spans()
    tool = [s for s in finished if s.name == "tools/call search_reservations"]
    assert len(tool) == 1, [s.name for s in finished]
    children = [
        s
        for s in finished
        if s.parent is not None and s.parent.span_id == tool[0].context.span_id and "getHotelReservations" in s.name
    ]
    assert children, [(s.name, s.parent) for s in finished]
    trace_id = format(tool[0].context.trace_id, "032x")
    seen = [
        r.headers.get("traceparent", "")
        for r in sandbox_server.sandbox.requests
        if r.operation_id == "getHotelReservations"
    ]
    assert any(trace_id in tp for tp in seen), seen
