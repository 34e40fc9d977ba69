"""The hotel configuration resource and the front-desk prompts through the MCP SDK client over HTTP."""

from __future__ import annotations

import json
from typing import Any

import pytest
from mcp.shared.exceptions import MCPError

from tests.support.mcp_client import Mode, mcp_client
from tests.support.servers import ServerThread

CONFIGURATION = "opera://hotels/{hotel_id}/configuration"


def text_of(result: Any) -> str:
    return "\n".join(getattr(c, "text", "") for c in result.contents)


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_configuration_lists_the_codes_the_tools_accept(server: ServerThread, mode: Mode) -> None:
    hotel = server.app.state.sandbox.enterprise.hotels["SAND02"]
    async with mcp_client(server.url, mode=mode) as client:
        templates = await client.list_resource_templates()
        assert CONFIGURATION in {t.uri_template for t in templates.resource_templates}
        config = json.loads(text_of(await client.read_resource("opera://hotels/SAND02/configuration")))
    assert config["hotel_id"] == "SAND02" and config["unavailable"] == {}
    assert {t["code"] for t in config["room_types"]} >= set(hotel.room_types)
    assert {p["rate_plan"] for p in config["rate_plans"]} == set(hotel.rate_plans)
    assert {c["code"] for c in config["transaction_codes"]} == set(hotel.transaction_codes)
    assert {m["code"] for m in config["payment_methods"]} == set(hotel.payment_methods)
    assert {g["code"] for g in config["guarantee_codes"]} == set(hotel.guarantee_codes)
    assert {m["code"] for m in config["market_codes"]} == set(hotel.market_codes)
    assert {m["code"] for m in config["source_codes"]} == set(hotel.source_codes)


async def test_configuration_is_served_from_the_reference_cache(server: ServerThread) -> None:
    sandbox = server.app.state.sandbox
    async with mcp_client(server.url) as client:
        await client.read_resource("opera://hotels/SAND01/configuration")
        seen = len(sandbox.requests)
        await client.read_resource("opera://hotels/SAND01/configuration")
    assert [e.operation_id for e in sandbox.requests[seen:]] == []


async def test_configuration_of_a_malformed_or_unknown_hotel_is_an_error(server: ServerThread) -> None:
    async with mcp_client(server.url) as client:
        with pytest.raises(MCPError) as malformed:
            await client.read_resource("opera://hotels/NOT%20A%20HOTEL/configuration")
        with pytest.raises(MCPError) as unknown:
            await client.read_resource("opera://hotels/NOPE9/configuration")
    assert "not a valid OPERA hotel code" in malformed.value.message
    assert "NOPE9" in unknown.value.message


async def test_prompts_name_the_tools_in_order(server: ServerThread) -> None:
    async with mcp_client(server.url, mode="legacy") as client:
        names = {p.name for p in (await client.list_prompts()).prompts}
        briefing = await client.get_prompt("arrivals_briefing", {"hotel_id": "SAND02", "date": "2026-05-02"})
        checkout = await client.get_prompt("checkout_assistant", {"room": "101"})
        report = await client.get_prompt("housekeeping_report", {})
    assert {"arrivals_briefing", "checkout_assistant", "housekeeping_report"} <= names
    brief_text = briefing.messages[0].content.text  # type: ignore[union-attr]
    assert 'list_arrivals(date="2026-05-02", hotel_id="SAND02", all_pages=true)' in brief_text
    assert brief_text.index("list_arrivals") < brief_text.index("find_available_rooms")
    out_text = checkout.messages[0].content.text  # type: ignore[union-attr]
    assert 'list_in_house(room_id="101")' in out_text
    assert out_text.index("get_folio") < out_text.index("check_out(") and "never ask for" in out_text
    report_text = report.messages[0].content.text  # type: ignore[union-attr]
    assert "the default hotel" in report_text and "get_housekeeping_overview(all_pages=true)" in report_text


async def test_prompts_refuse_bad_arguments_with_the_reason(server: ServerThread) -> None:
    async with mcp_client(server.url) as client:
        with pytest.raises(MCPError) as bad_date:
            await client.get_prompt("arrivals_briefing", {"date": "tomorrow"})
        with pytest.raises(MCPError) as nothing:
            await client.get_prompt("checkout_assistant", {})
    assert "YYYY-MM-DD" in bad_date.value.message
    assert "reservation" in nothing.value.message and "room" in nothing.value.message
