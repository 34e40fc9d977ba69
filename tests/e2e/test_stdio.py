"""`opera-cloud-mcp stdio`: the MCP SDK's stdio client launches the server as a desktop client would; the whole stay
passes over it as over HTTP, stdout carries only the protocol, logs go to stderr, and the security switches hold."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.types import ElicitResult

from app.config import (
    SANDBOX_APP_KEY,
    SANDBOX_CASHIER_ID,
    SANDBOX_CLIENT_ID,
    SANDBOX_CLIENT_SECRET,
    SANDBOX_ENTERPRISE_ID,
)
from tests.support.humans import DeskPostsMeanwhile, Human
from tests.support.mcp_client import call_error, call_ok
from tests.support.whole_stay import BUSINESS_DATE, STAY_OPERATIONS, whole_stay

ROOT = Path(__file__).resolve().parents[2]
CLEAN_ENV = {k: v for k, v in os.environ.items() if not k.startswith(("OPERA_", "OTEL_"))}


@asynccontextmanager
async def stdio_client(env: dict[str, str], mode: str = "auto") -> AsyncIterator[Client]:
    params = StdioServerParameters(command=sys.executable, args=["-m", "app", "stdio"], cwd=str(ROOT),
                                   env={**CLEAN_ENV, "OPERA_SANDBOX_BUSINESS_DATE": BUSINESS_DATE, **env})
    async with Client(params, mode=mode) as client:  # type: ignore[arg-type]
        yield client


def ohip_env(sandbox_url: str) -> dict[str, str]:
    """The stdio server pointed at a sandbox in this test process as real OHIP, so the test sees its state."""
    return {"OPERA_CLIENT_ID": SANDBOX_CLIENT_ID, "OPERA_CLIENT_SECRET": SANDBOX_CLIENT_SECRET,
            "OPERA_BASE_URL": sandbox_url, "OPERA_APP_KEY": SANDBOX_APP_KEY,
            "OPERA_ENTERPRISE_ID": SANDBOX_ENTERPRISE_ID, "OPERA_CASHIER_ID": str(SANDBOX_CASHIER_ID)}


#: The Claude Desktop entry the README gives (claude_desktop_config.json), with this checkout as the directory.
CLAUDE_DESKTOP_ENTRY: dict[str, Any] = {
    "command": "uv", "args": ["--directory", "/path/to/opera-cloud-mcp", "run", "opera-cloud-mcp", "stdio"],
    "env": {"OPERA_READ_ONLY": "true"}}


async def test_the_readme_claude_desktop_entry_starts_the_server() -> None:
    args = [str(ROOT) if a == "/path/to/opera-cloud-mcp" else a for a in CLAUDE_DESKTOP_ENTRY["args"]]
    env = {**CLEAN_ENV, **CLAUDE_DESKTOP_ENTRY["env"]}
    params = StdioServerParameters(command=CLAUDE_DESKTOP_ENTRY["command"], args=args, env=env, cwd="/")
    async with Client(params) as client:
        tools = (await client.list_tools()).tools
    assert "search_reservations" in {t.name for t in tools}
    assert all(t.annotations is not None and t.annotations.read_only_hint for t in tools)


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_a_whole_stay_over_stdio(mode: str, sandbox_server: Any) -> None:
    async with stdio_client(ohip_env(sandbox_server.url), mode) as client:
        await whole_stay(client, sandbox_server.sandbox, sandbox_server.url)
    assert {e.operation_id for e in sandbox_server.sandbox.requests} >= STAY_OPERATIONS


async def test_without_credentials_stdio_serves_the_embedded_sandbox_in_process() -> None:
    async with stdio_client({}) as client:
        listed = {t.name for t in (await client.list_tools()).tools}
        assert {"check_availability", "create_reservation", "check_in", "post_charge", "check_out"} <= listed
        guest = await call_ok(client, "create_guest", {"surname": "Lindqvist", "given_name": "Mia"})
        found = await call_ok(client, "search_guests", {"surname": "Lindqvist"})
        assert guest["profile_id"] in {g["profile_id"] for g in found["guests"]}


async def test_read_only_and_toolsets_hold_over_stdio() -> None:
    async with stdio_client({"OPERA_READ_ONLY": "true", "OPERA_TOOLSETS": "reservations,guests"}) as client:
        tools = (await client.list_tools()).tools
        assert tools and all(t.annotations and t.annotations.read_only_hint for t in tools)
        assert {t.name for t in tools} >= {"search_reservations", "search_guests"}
        assert "check_availability" not in {t.name for t in tools}
        refused = await call_error(client, "create_guest", {"surname": "Nope"})
        assert "read-only (OPERA_READ_ONLY=true)" in refused


def test_stdout_is_only_the_protocol_logs_go_to_stderr_and_api_keys_do_not_apply(tmp_path: Path) -> None:
    audit = tmp_path / "audit.jsonl"
    messages = [
        {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "desk", "version": "1"}}},
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {
            "name": "create_guest", "arguments": {"surname": "Okonkwo", "given_name": "Ngozi"}}},
    ]
    # An HTTP deployment's key settings copied into the desktop client's environment: over stdio the caller is the
    # local user, so the write is served (no key is asked for) and audited under that caller.
    env = {**CLEAN_ENV, "OPERA_MCP_AUTH": "api_key", "OPERA_AUDIT_LOG": str(audit), "OPERA_MCP_API_KEYS":
           "frontdesk:f1e5e5dbb9dd7dea684e908aae7e9041e794a1523b69b709e9802c868b3a2407:opera:read:*"}
    proc = subprocess.Popen([sys.executable, "-m", "app", "stdio"], cwd=ROOT, env=env, text=True,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdin is not None and proc.stdout is not None
    answers: dict[int, dict[str, Any]] = {}
    lines: list[str] = []
    for message in messages:
        proc.stdin.write(json.dumps(message) + "\n")
        proc.stdin.flush()
        while "id" in message and message["id"] not in answers:
            line = proc.stdout.readline()
            assert line, "stdout closed early"
            lines.append(line)
            parsed = json.loads(line)  # every stdout line is a JSON-RPC message, nothing else
            assert parsed["jsonrpc"] == "2.0"
            if "id" in parsed:
                answers[parsed["id"]] = parsed
    out, err = proc.communicate(input="", timeout=60)
    assert proc.returncode == 0, err
    assert all(json.loads(line)["jsonrpc"] == "2.0" for line in out.splitlines())
    assert answers[1]["result"]["serverInfo"]["name"] == "opera-cloud-mcp"
    result = answers[2]["result"]
    assert result["isError"] is False and result["structuredContent"]["profile_id"]
    assert "opera-cloud-mcp" in err and "stdio" in err and "OPERA_MCP_AUTH does not apply" in err
    assert '"logger": "app.server"' in err  # the JSON log lines are on stderr
    records = [json.loads(line) for line in audit.read_text().splitlines()]
    write = next(r for r in records if r.get("tool") == "create_guest")
    assert write["caller"]["kind"] == "stdio" and write["caller"]["name"] == "local-user"


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_confirmation_by_elicitation_and_exactly_once_over_stdio(mode: str, sandbox_server: Any) -> None:
    hotel = sandbox_server.sandbox.enterprise.hotels["SAND01"]
    human = Human()
    params = StdioServerParameters(command=sys.executable, args=["-m", "app", "stdio"], cwd=str(ROOT),
                                   env={**CLEAN_ENV, **ohip_env(sandbox_server.url)})
    async with Client(params, mode=mode, elicitation_callback=human) as client:  # type: ignore[arg-type]
        guest = await call_ok(client, "create_guest", {"surname": "Achterberg"})
        offers = await call_ok(client, "check_availability", {"arrival": BUSINESS_DATE, "departure": "2026-05-03",
                                                              "adults": 1, "only_bookable": True})
        offer = offers["offers"][0]
        stay = {"arrival": BUSINESS_DATE, "departure": "2026-05-03", "room_type": offer["room_type"],
                "rate_plan": offer["rate_plan"], "adults": 1, "profile_id": guest["profile_id"],
                "payment_method": "CA", "idempotency_key": f"stdio-stay-{mode}-0001"}
        booked = await call_ok(client, "create_reservation", stay)
        again = await call_ok(client, "create_reservation", stay)
        assert again["reservation_id"] == booked["reservation_id"]
        assert human.asked == []
        cancelled = await call_ok(client, "cancel_reservation", {"reservation_id": booked["reservation_id"],
                                                                 "reason_text": "Plans changed"})
    assert len(human.asked) == 1 and "Achterberg" in human.asked[0]
    assert cancelled["status"] == "Cancelled"
    assert hotel.reservations[booked["reservation_id"]].status == "Cancelled"
    booked_once = [r for r in hotel.reservations.values() if r.profile_id == guest["profile_id"]]
    assert len(booked_once) == 1


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_a_charge_posted_while_the_stdio_human_reads_the_check_out_question_is_asked_about_again(
        mode: str, sandbox_server: Any) -> None:
    """Over stdio the handshake era asks in the middle of the call; the yes is for the balance the human read. A
    minibar charge posted at the desk meanwhile changes what the settlement pays, so the preview runs again after the
    yes and the human is asked again with the new balance (on 2026-07-28 the answer round does the same); the
    check-out never pays an amount nobody confirmed."""
    enterprise = sandbox_server.sandbox.enterprise
    hotel = enterprise.hotels["SAND01"]
    guest = next(r for r in hotel.reservations.values()
                 if r.status == "InHouse" and r.balance > 0 and hotel.computed_status(r) == "DueOut")
    owed = guest.balance

    human = DeskPostsMeanwhile(enterprise, guest.reservation_id, 8.0)
    params = StdioServerParameters(command=sys.executable, args=["-m", "app", "stdio"], cwd=str(ROOT),
                                   env={**CLEAN_ENV, **ohip_env(sandbox_server.url)})
    async with Client(params, mode=mode, elicitation_callback=human) as client:  # type: ignore[arg-type]
        done = await call_ok(client, "check_out", {"reservation_id": guest.reservation_id, "payment_method": "CA"})
    assert len(human.asked) == 2
    assert f"balance {owed:.2f} USD" in human.asked[0] and f"balance {owed + 8:.2f} USD" in human.asked[1]
    assert done["settled"]["amount"] == round(owed + 8, 2) and guest.status == "CheckedOut" and guest.balance == 0
    paid = [e.status for e in sandbox_server.sandbox.requests if e.operation_id == "postBillingPayment"]
    assert paid == [201]


async def test_a_stdio_human_who_declines_mid_call_changes_nothing(sandbox_server: Any) -> None:
    hotel = sandbox_server.sandbox.enterprise.hotels["SAND01"]
    guest = next(r for r in hotel.reservations.values()
                 if r.status == "InHouse" and r.balance > 0 and hotel.computed_status(r) == "DueOut")
    owed = guest.balance
    asked: list[str] = []

    async def decline(context: Any, params: Any) -> ElicitResult:
        asked.append(params.message)
        return ElicitResult(action="decline")

    params = StdioServerParameters(command=sys.executable, args=["-m", "app", "stdio"], cwd=str(ROOT),
                                   env={**CLEAN_ENV, **ohip_env(sandbox_server.url)})
    async with Client(params, mode="legacy", elicitation_callback=decline) as client:  # type: ignore[arg-type]
        error = await call_error(client, "check_out", {"reservation_id": guest.reservation_id,
                                                       "payment_method": "CA"})
    assert len(asked) == 1 and "answered 'decline'" in error and "nothing was changed" in error
    assert guest.status == "InHouse" and guest.balance == owed
    assert [e for e in sandbox_server.sandbox.requests if e.operation_id == "postBillingPayment"] == []
