"""OPERA_READ_ONLY and OPERA_TOOLSETS decide which tools exist for agents; annotations tell the truth."""

from __future__ import annotations

from tests.support.apps import embedded_settings, running_app
from tests.support.mcp_client import call_error, call_ok, mcp_client

WRITE_TOOLS = {
    "create_reservation",
    "modify_reservation",
    "cancel_reservation",
    "reinstate_reservation",
    "split_reservation",
    "create_guest",
    "update_guest",
    "assign_room",
    "move_room",
    "check_in",
    "undo_check_in",
    "undo_check_out",
    "set_wake_up_call",
    "cancel_wake_up_call",
    "leave_guest_message",
    "mark_message_received",
    "open_guest_request",
    "complete_guest_request",
    "close_guest_request",
    "queue_for_room",
    "remove_from_queue",
    "check_out",
    "update_room_status",
    "set_service_request",
    "set_room_condition",
    "report_maintenance",
    "resolve_maintenance",
    "post_charge",
    "correct_charge",
    "post_payment",
    "post_deposit",
    "refund_deposit",
}
ALL_TOOLS = WRITE_TOOLS | {
    "list_deposits",
    "search_reservations",
    "get_reservation",
    "check_availability",
    "list_rate_plans",
    "get_rate_plan",
    "search_guests",
    "get_guest",
    "list_arrivals",
    "list_departures",
    "list_in_house",
    "list_guest_messages",
    "list_guest_requests",
    "list_room_queue",
    "find_available_rooms",
    "get_housekeeping_overview",
    "list_maintenance",
    "get_folio",
    "list_transaction_codes",
    "health_check",
    "get_server_info",
}


async def test_all_tools_are_listed_with_truthful_annotations() -> None:
    settings, port = embedded_settings()
    with running_app(settings, port) as srv:
        async with mcp_client(srv.url, mode="legacy") as client:
            tools = {t.name: t for t in (await client.list_tools()).tools}
    assert set(tools) == ALL_TOOLS
    for name, tool in tools.items():
        hints = tool.annotations
        assert hints is not None
        assert hints.read_only_hint is (name not in WRITE_TOOLS), name
        assert tool.output_schema is not None, f"{name} has no output schema"
        assert "hotel_id" in tool.input_schema.get("properties", {}) or name in ("health_check", "get_server_info")
    for name in ("cancel_reservation", "check_out"):
        assert tools[name].annotations.destructive_hint is True
    for name in ("update_room_status", "set_service_request"):
        assert tools[name].annotations.idempotent_hint is True


async def test_read_only_lists_only_read_tools_and_refuses_a_write_by_name() -> None:
    settings, port = embedded_settings(read_only=True)
    with running_app(settings, port) as srv:
        async with mcp_client(srv.url) as client:
            names = {t.name for t in (await client.list_tools()).tools}
            assert names == ALL_TOOLS - WRITE_TOOLS
            error = await call_error(
                client,
                "create_reservation",
                {
                    "arrival": "2026-05-01",
                    "departure": "2026-05-02",
                    "room_type": "KNG",
                    "rate_plan": "BAR",
                    "adults": 1,
                    "guest_surname": "Smith",
                },
            )
            assert "read-only" in error and "OPERA_READ_ONLY" in error
            info = await call_ok(client, "get_server_info")
            assert info["read_only"] is True


async def test_toolsets_filter_what_is_listed() -> None:
    settings, port = embedded_settings(toolsets="reservations,system")
    with running_app(settings, port) as srv:
        async with mcp_client(srv.url) as client:
            names = {t.name for t in (await client.list_tools()).tools}
            assert names == {
                "search_reservations",
                "get_reservation",
                "create_reservation",
                "modify_reservation",
                "cancel_reservation",
                "reinstate_reservation",
                "split_reservation",
                "health_check",
                "get_server_info",
            }
            error = await call_error(client, "get_folio", {"reservation_id": "1"})
            assert "toolset 'billing' is not enabled" in error
