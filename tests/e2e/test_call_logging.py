"""At INFO a tool call is one log line that names the OHIP calls it made; the per-OHIP-call line is DEBUG."""

from __future__ import annotations

import asyncio
import io
import json

from app.server import build_redactor
from app.telemetry.logging import configure_logging
from tests.support.apps import running_app, settings_for_sandbox, wait_ready
from tests.support.mcp_client import call_ok, mcp_client


async def test_a_tool_call_is_one_info_line_carrying_its_ohip_calls(captured_logs: io.StringIO, sandbox_server) -> None:  # type: ignore[no-untyped-def]
    settings = settings_for_sandbox(sandbox_server.url)
    configure_logging(level="INFO", structured=True, redactor=build_redactor(settings), environment="test",
                      stream=captured_logs)
    with running_app(settings) as srv:
        await asyncio.to_thread(wait_ready, srv.url)
        async with mcp_client(srv.url) as client:
            await call_ok(client, "search_reservations", {"surname": "Smith"})
    records = [json.loads(line) for line in captured_logs.getvalue().splitlines() if line.strip()]
    calls = [r for r in records if r.get("tool") == "search_reservations"]
    assert len(calls) == 1, records
    (line,) = calls
    sent = [e for e in sandbox_server.sandbox.requests if e.operation_id == "getHotelReservations"]
    assert line["level"] == "INFO" and line["outcome"] == "ok" and line["ohip_calls"] == len(sent) >= 1
    assert line["ohip_operations"] == ["rsv.getHotelReservations"] * len(sent)
    assert line["ohip_statuses"] == [200] * len(sent)
    assert line["ohip_request_ids"] == [e.header("x-request-id") for e in sent]
    assert 0 < line["ohip_duration_ms"] <= line["duration_ms"]
    assert not [r for r in records if r.get("logger") == "app.opera.http"], "per-OHIP-call lines are DEBUG"
