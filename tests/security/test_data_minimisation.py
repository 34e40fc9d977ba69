"""Attack table, data rows: a card number put into a comment is refused and reaches neither OHIP, nor the tool's
answer, nor the logs, traces or audit trail; one a clerk typed into OPERA comes out masked; API keys, tokens and
guest contact details stay out of logs and audit too."""

from __future__ import annotations

import io
import json
from typing import Any

from app.sandbox.state import Comment
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


async def test_a_card_number_in_a_comment_is_refused_and_absent_from_ohip_output_logs_traces_and_audit(
        start_app, api_keys: Keys, captured_logs: io.StringIO, spans: Any) -> None:
    app = start_app(mcp_auth="api_key", mcp_api_keys=api_keys.lines, log_level="DEBUG")
    configure_logging(level="DEBUG", structured=True, redactor=build_redactor(app.app.state.services.settings),
                      environment="test", stream=captured_logs)
    contact = "call +44 20 7946 0958 or ann@example.com"
    comment = f"guest will pay with {CARD}, {contact}"
    async with client_with(app.url, bearer(api_keys.writer)) as client:
        # A card number is refused, not masked: the call never reaches OHIP, a person or the audit trail.
        error = await call_error(client, "create_reservation", booking(comments=[contact, comment]))
        sent_before = len(app.ohip_business_requests())
        too_long = await call_error(client, "create_reservation", booking(comments=[comment + "x" * 2100]))
        assert len(app.ohip_business_requests()) == sent_before
        made = await call_ok(client, "create_reservation", booking(comments=[contact]))

    assert error.startswith("create_reservation refused: comments[1] holds what looks like a payment card number")
    assert "last four digits" in error
    assert "comments[0] holds" in too_long
    for answer in (error, too_long, json.dumps(made)):
        assert CARD_DIGITS not in without_separators(answer)
        assert "[CARD]" not in answer  # not even masked: nothing of the number comes back
    sent = json.dumps([e.json for e in app.sandbox.requests], default=str)
    assert CARD_DIGITS not in without_separators(sent)
    refusals = [e for e in app.audit_events() if e.get("reason") == "card_number"]
    assert [e["detail"] for e in refusals] == ["comments[1]", "comments[0]"]
    assert app.metric("opera_mcp_refused_calls_total", reason="card_number") == 2

    logs = captured_logs.getvalue()
    assert logs.strip(), "nothing was logged"
    traces = span_text(spans)
    assert traces.strip(), "nothing was traced"
    audit = app.audit_path.read_text()
    for where, text in (("logs", logs), ("traces", traces), ("audit", audit)):
        assert CARD_DIGITS not in without_separators(text), where
        assert api_keys.writer not in text, where
    for private in ("ann@example.com", "7946 0958"):
        assert private not in audit
        assert private not in logs


async def test_a_card_number_typed_into_opera_comes_out_of_a_tool_masked(start_app, api_keys: Keys) -> None:
    """What a clerk typed into OPERA is not ours to refuse, but a tool answer carries at most its last four."""
    app = start_app(mcp_auth="api_key", mcp_api_keys=api_keys.lines, enable_cache="false")
    async with client_with(app.url, bearer(api_keys.cashier)) as client:
        made = await call_ok(client, "create_reservation", booking(comments=["room near lift"]))
        stored = app.sandbox.enterprise.hotels["SAND01"].reservations[made["reservation_id"]]
        stored.comments.append(Comment(comment_id="clerk-1", text=f"card {CARD_DIGITS} on file"))
        read = await call_ok(client, "get_reservation", {"reservation_id": made["reservation_id"]})
    comments = read.get("comments") or read["reservation"]["comments"]
    assert any("room near lift" in c for c in comments), comments
    assert any("[CARD]" in c for c in comments), comments
    assert not any(CARD_DIGITS in without_separators(c) for c in comments)
