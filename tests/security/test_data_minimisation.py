"""Attack table, data rows: a card number put into a comment reaches neither OHIP, nor the tool's answer, nor the
logs, traces or audit trail; API keys, tokens and guest contact details stay out of logs and audit too."""

from __future__ import annotations

import io
import json
from typing import Any

from app.server import build_redactor
from app.telemetry.logging import configure_logging
from tests.security.conftest import Keys, client_with
from tests.security.test_tool_calls import bearer, booking
from tests.support.mcp_client import call_error, call_ok

CARD = "4111 1111 1111 1111"
CARD_DIGITS = CARD.replace(" ", "")


def span_text(spans: Any) -> str:
    parts = []
    for span in spans.get_finished_spans():
        parts.append(span.name)
        parts.append(json.dumps(dict(span.attributes or {}), default=str))
        parts.append(str(span.status.description))
        for event in span.events:
            parts.append(json.dumps(dict(event.attributes or {}), default=str))
    return "\n".join(parts)


def without_separators(text: str) -> str:
    return text.replace(" ", "").replace("-", "")


async def test_a_card_number_in_a_comment_is_absent_from_ohip_output_logs_traces_and_audit(
        start_app, api_keys: Keys, captured_logs: io.StringIO, spans: Any) -> None:
    app = start_app(mcp_auth="api_key", mcp_api_keys=api_keys.lines, log_level="DEBUG")
    configure_logging(level="DEBUG", structured=True, redactor=build_redactor(app.app.state.services.settings),
                      environment="test", stream=captured_logs)
    comment = f"guest will pay with {CARD}, call +44 20 7946 0958 or ann@example.com"
    async with client_with(app.url, bearer(api_keys.writer)) as client:
        made = await call_ok(client, "create_reservation", booking(comments=[comment]))
        # A bad call that echoes its input in the error must not leak it either.
        await call_error(client, "create_reservation", booking(comments=[comment + "x" * 2100]))

    answer = json.dumps(made)
    assert CARD_DIGITS not in without_separators(answer)
    assert "[CARD]" in answer  # the agent sees that something was masked
    sent = json.dumps([e.json for e in app.sandbox.requests], default=str)
    assert CARD_DIGITS not in without_separators(sent)

    logs = captured_logs.getvalue()
    assert logs.strip(), "nothing was logged"
    traces = span_text(spans)
    assert traces.strip(), "nothing was traced"
    audit = app.audit_path.read_text()
    for where, text in (("logs", logs), ("traces", traces), ("audit", audit)):
        assert CARD_DIGITS not in without_separators(text), where
        assert api_keys.writer not in text, where
    for contact in ("ann@example.com", "7946 0958"):
        assert contact not in audit
        assert contact not in logs


async def test_tool_outputs_carry_at_most_the_last_four_digits_of_a_card(start_app, api_keys: Keys) -> None:
    app = start_app(mcp_auth="api_key", mcp_api_keys=api_keys.lines)
    async with client_with(app.url, bearer(api_keys.cashier)) as client:
        made = await call_ok(client, "create_reservation",
                             booking(comments=[f"card {CARD_DIGITS} on file", "room near lift"]))
    comments = made.get("comments") or made["reservation"]["comments"]
    assert "room near lift" in comments
    assert not any(CARD_DIGITS in c for c in comments)
