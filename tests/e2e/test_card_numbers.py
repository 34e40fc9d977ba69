"""PCI by construction, over real HTTP in both protocol eras: a Luhn-valid card number in any string field of any
tool (every one found by walking the published input schemas), in an integer field, or as an argument name, is
refused before OHIP with a sentence naming the field, and the number is absent from the answer, the server's logs
(captured raw, before any redaction), the audit file, /metrics and the traces."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest

from tests.e2e.test_tool_input import assert_one_sentence, base_call, ohip_calls
from tests.support.apps import embedded_settings, running_app
from tests.support.mcp_client import Mode, mcp_client, text_of
from tests.support.servers import ServerThread

CARDS = ["4111 1111 1111 1111", "4111-1111-1111-1111", "378282246310005", "5555555555554444"]
ERAS: list[Mode] = ["auto", "legacy"]


def digits_only(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


def leaked(text: str) -> list[str]:
    flat = digits_only(text)
    return [card for card in CARDS if digits_only(card) in flat]


class RawRecords(logging.Handler):
    """Every log record as it was made: message, arguments and extras, before any redacting filter."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.stream = io.StringIO()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
        except Exception:  # a record whose arguments do not fit its format: keep both raw
            message = f"{record.msg} {record.args}"
        self.stream.write(f"{record.name} {message} {json.dumps(record.__dict__, default=str)}\n")


@pytest.fixture(scope="module")
def card_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerThread, Path, RawRecords]]:
    audit = tmp_path_factory.mktemp("cards") / "audit.jsonl"
    settings, port = embedded_settings(audit_log=str(audit), inbound_requests_per_minute=1_000_000)
    records = RawRecords()
    root = logging.getLogger()
    saved = root.level
    root.addHandler(records)
    root.setLevel(logging.INFO)  # production level; the SDK logs raw request bodies only at DEBUG
    try:
        with running_app(settings, port) as srv:
            yield srv, audit, records
    finally:
        root.removeHandler(records)
        root.setLevel(saved)


def string_fields(schema: dict[str, Any]) -> list[tuple[str, bool]]:
    """(field, is a list of strings) for every field of a schema that takes text."""
    found = []
    for name, prop in schema.get("properties", {}).items():
        for branch in prop.get("anyOf", [prop]):
            if branch.get("type") == "string":
                found.append((name, False))
            elif branch.get("type") == "array" and branch.get("items", {}).get("type") == "string":
                found.append((name, True))
    return found


async def test_a_card_number_in_every_string_field_of_every_tool_is_refused_and_never_echoed(
        card_server: tuple[ServerThread, Path, RawRecords], spans: Any) -> None:
    server, audit, records = card_server
    sandbox = server.app.state.sandbox
    async with mcp_client(server.url) as client:
        tools = {t.name: t.input_schema for t in (await client.list_tools()).tools}
    cases = [(tool, field, as_list) for tool, schema in sorted(tools.items())
             for field, as_list in string_fields(schema)]
    assert len(cases) > 80, "the walk found too few string fields"
    assert {"surname", "guarantee_code", "confirmation_number", "phone", "email", "address_lines", "text",
            "comments", "reference", "reservation_id", "payment_method", "card_last_four"} <= {f for _, f, _ in cases}
    before = len(ohip_calls(sandbox))
    answers: list[str] = []
    refused = 0
    for i, era in enumerate(ERAS):
        async with mcp_client(server.url, mode=era) as client:
            for j, (tool, field, as_list) in enumerate(cases):
                for card in CARDS[(i + j) % 2::2]:  # every field gets two formats in each era, all four in all
                    args = {**base_call(tools[tool]), field: [f"note {card}"] if as_list else card}
                    result = await client.call_tool(tool, args)
                    text = text_of(result)
                    answers.append(text + json.dumps(result.structured_content))
                    assert result.is_error, f"{tool}.{field} took a card number"
                    assert_one_sentence(tool, text)
                    assert f"{field}{'[0]' if as_list else ''} holds what looks like a payment card number" in text
                    assert "last four digits" in text and "card on file" in text
                    refused += 1
    assert len(ohip_calls(sandbox)) == before, "a call holding a card number reached OHIP"

    async with httpx2.AsyncClient() as http:
        metrics = (await http.get(f"{server.url}/metrics")).text
    events = [json.loads(line) for line in audit.read_text().splitlines() if line.strip()]
    card_refusals = [e for e in events if e.get("reason") == "card_number"]
    assert len(card_refusals) >= refused
    assert all(e["outcome"] == "refused" and e.get("detail") for e in card_refusals)
    traces = "\n".join(json.dumps(dict(s.attributes or {}), default=str) + str(s.status.description) +
                       json.dumps([dict(ev.attributes or {}) for ev in s.events], default=str)
                       for s in spans.get_finished_spans())
    assert traces.strip(), "nothing was traced"
    logs = records.stream.getvalue()
    assert "tool call" in logs, "nothing was logged"
    for where, text in (("answers", "\n".join(answers)), ("logs", logs), ("audit", audit.read_text()),
                        ("metrics", metrics), ("traces", traces)):
        assert leaked(text) == [], where
    assert 'opera_mcp_refused_calls_total{reason="card_number"}' in metrics


@pytest.mark.parametrize("mode", ERAS)
async def test_a_card_number_as_a_json_number_or_an_argument_name_is_refused(
        card_server: tuple[ServerThread, Path, RawRecords], mode: Mode) -> None:
    server, audit, _ = card_server
    before = len(ohip_calls(server.app.state.sandbox))
    async with mcp_client(server.url, mode=mode) as client:
        as_number = await client.call_tool("post_charge", {"reservation_id": "1001", "transaction_code": "2000",
                                                           "amount": 4111111111111111})
        as_name = await client.call_tool("search_guests", {"5555555555554444": "x"})
        nested = await client.call_tool("update_room_status", {"room_ids": ["101", "4111111111111111"]})
    assert "amount holds what looks like a payment card number" in text_of(as_number)
    assert "an argument name holds what looks like a payment card number" in text_of(as_name)
    assert "room_ids[1] holds what looks like a payment card number" in text_of(nested)
    for result in (as_number, as_name, nested):
        assert result.is_error
        assert leaked(text_of(result)) == []
    assert len(ohip_calls(server.app.state.sandbox)) == before
    assert leaked(audit.read_text()) == []


@pytest.mark.parametrize("mode", ERAS)
async def test_phone_numbers_dates_and_the_last_four_digits_still_pass(
        card_server: tuple[ServerThread, Path, RawRecords], mode: Mode) -> None:
    """The issuer shapes keep numbers that only look long out of the net: phones with country codes, dates."""
    server, _, _ = card_server
    async with mcp_client(server.url, mode=mode) as client:
        for phone in ("+49 1512 3456789", "+55 11 91234 5678", "+86 139 1234 5678", "+1 415 555 0100"):
            result = await client.call_tool("search_guests", {"phone": phone})
            assert not result.is_error, text_of(result)
        made = await client.call_tool("create_reservation", {
            "arrival": "2026-06-10", "departure": "2026-06-12", "room_type": "KNG", "rate_plan": "BAR",
            "adults": 1, "surname": f"Cardless{mode}",
            "comments": ["arriving 2026-06-10 18:30, call +49 1512 3456789, paid by card ending 1111"]})
        # A random UUID key is a card shape about once in 10,000 (8, 4 and 4 digits in a row that pass Luhn, as
        # 5555 5555 5555 4444 does here): it is a key, not a card, and is taken.
        keyed = await client.call_tool("create_reservation", {
            "arrival": "2026-06-10", "departure": "2026-06-12", "room_type": "KNG", "rate_plan": "BAR",
            "adults": 1, "surname": f"Uuidkey{mode}",
            "idempotency_key": f"55555555-5555-4444-8abc-{ERAS.index(mode):012x}"})
        refused = await client.call_tool("search_guests", {"surname": "x 5555-5555-5555-4444"})
    assert not made.is_error, text_of(made)
    assert not keyed.is_error, text_of(keyed)
    assert refused.is_error and "card number" in text_of(refused)
