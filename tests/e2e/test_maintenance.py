"""Room maintenance requests (report_maintenance, list_maintenance, resolve_maintenance; hsk postRoomMaintenance,
getRoomMaintenance, resolveRoomMaintenance) through the MCP SDK client over HTTP, against a standalone sandbox:
reported once whatever answer is lost, checked against the hotel's codes before OPERA is asked, resolved once."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.apps import running_app, settings_for_sandbox
from tests.support.mcp_client import call_error, call_ok, mcp_client
from tests.support.sandbox_state import inject_fault


@pytest.fixture
def app(sandbox_server: Any) -> Iterator[Any]:
    with running_app(settings_for_sandbox(sandbox_server.url)) as srv:
        yield srv


def requests_in(sandbox_server: Any) -> list[Any]:
    return list(sandbox_server.sandbox.enterprise.hotels["SAND01"].maintenances.values())


def sent(sandbox_server: Any, operation: str) -> list[Any]:
    return [e for e in sandbox_server.sandbox.requests if e.operation_id == operation]


async def test_a_problem_is_reported_listed_and_resolved_once(app: Any, sandbox_server: Any) -> None:
    async with mcp_client(app.url) as client:
        reported = await call_ok(client, "report_maintenance", {"room_ids": ["204", "205"],
                                                                "maintenance_code": "aircon",
                                                                "remarks": "AC blows warm air"})
        listed = await call_ok(client, "list_maintenance", {})
        one_room = await call_ok(client, "list_maintenance", {"room_id": "205"})
        first = reported["requests"][0]["maintenance_id"]
        resolved = await call_ok(client, "resolve_maintenance", {"maintenance_id": first})
        again = await call_ok(client, "resolve_maintenance", {"maintenance_id": first})
        still_open = await call_ok(client, "list_maintenance", {})
        unknown = await call_error(client, "resolve_maintenance", {"maintenance_id": "424242"})

    stored = requests_in(sandbox_server)
    assert [(r.room_id, r.code) for r in stored] == [("204", "AIRCON"), ("205", "AIRCON")]
    assert [(r["room_id"], r["maintenance_code"]) for r in reported["requests"]] == [("204", "AIRCON"),
                                                                                     ("205", "AIRCON")]
    assert {r["maintenance_id"] for r in listed["requests"]} == {r.maintenance_id for r in stored}
    assert [r["room_id"] for r in one_room["requests"]] == ["205"]
    assert listed["requests"][0]["remarks"] == "⟦AC blows warm air⟧"  # OPERA free text, marked
    assert resolved["already_resolved"] is False and resolved["request"]["resolved"] is True
    assert again["already_resolved"] is True
    assert len(sent(sandbox_server, "resolveRoomMaintenance")) == 1
    assert [r["room_id"] for r in still_open["requests"]] == ["205"]
    assert "424242" in unknown and "list_maintenance" in unknown


async def test_a_report_whose_answer_is_lost_is_made_once(app: Any, sandbox_server: Any) -> None:
    report = {"room_ids": ["310"], "maintenance_code": "LIGHT", "remarks": "bathroom bulb",
              "idempotency_key": str(uuid.uuid4())}
    await inject_fault(sandbox_server.url, operation="postRoomMaintenance", mode="drop")
    async with mcp_client(app.url) as client:
        lost = await call_error(client, "report_maintenance", report)
        found = await call_ok(client, "report_maintenance", report)
        again = await call_ok(client, "report_maintenance", report)

    assert "unknown" in lost
    (stored,) = requests_in(sandbox_server)
    assert stored.room_id == "310" and "bathroom bulb" in (stored.remarks or "")
    assert [r["maintenance_id"] for r in found["requests"]] == [stored.maintenance_id]
    assert again["requests"] == found["requests"]
    assert len(sent(sandbox_server, "postRoomMaintenance")) == 1


async def test_a_report_without_a_key_whose_answer_is_lost_says_what_to_check(app: Any, sandbox_server: Any) -> None:
    await inject_fault(sandbox_server.url, operation="postRoomMaintenance", mode="drop")
    async with mcp_client(app.url) as client:
        lost = await call_error(client, "report_maintenance", {"room_ids": ["311"], "maintenance_code": "TV"})
    assert "unknown" in lost and "list_maintenance" in lost
    assert len(requests_in(sandbox_server)) == 1  # OPERA made it: the agent must look, not report again


async def test_an_unknown_code_or_a_card_number_is_refused_before_opera_is_asked(
    app: Any, sandbox_server: Any,
) -> None:
    async with mcp_client(app.url) as client:
        code = await call_error(client, "report_maintenance", {"room_ids": ["101"], "maintenance_code": "UFO"})
        card = await call_error(client, "report_maintenance", {
            "room_ids": ["101"], "maintenance_code": "LOCK", "remarks": "guest card 4111 1111 1111 1111 stuck"})
    assert "UFO" in code and "AIRCON" in code and "nothing was reported" in code
    assert "4111" not in card and "card" in card
    assert sent(sandbox_server, "postRoomMaintenance") == [] and requests_in(sandbox_server) == []
