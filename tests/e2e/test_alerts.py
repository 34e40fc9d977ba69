"""OPERA's reservation alerts at check-in and check-out (rsv getAlertNotices): the notices the desk wrote for that
step reach the agent, and a stop alert (stopCheckInCheckOut) holds the step before anything changes. Through the
MCP SDK client against our app with its embedded sandbox; the alerts are the desk's, set in the hotel's state."""

from __future__ import annotations

from typing import Any

from tests.support.mcp_client import call_error, call_ok, mcp_client
from tests.support.servers import ServerThread


def due_in(hotel: Any, index: int) -> Any:
    return [r for r in hotel.reservations.values() if hotel.computed_status(r) == "DueIn" and r.room_id is None][index]


def due_out(hotel: Any, index: int) -> Any:
    return [r for r in hotel.reservations.values()
            if r.status == "InHouse" and r.balance > 0 and hotel.computed_status(r) == "DueOut"][index]


async def test_check_in_hands_the_agent_operas_check_in_alerts(server: ServerThread, hotel: Any) -> None:
    """The old check-in never read them: the desk's "collect a passport copy" never reached the guest."""
    enterprise = server.app.state.sandbox.enterprise
    guest = due_in(hotel, 0)
    enterprise.set_alert("SAND01", guest.reservation_id, code="ID", area="CheckIn",
                         description="Collect a passport copy")
    enterprise.set_alert("SAND01", guest.reservation_id, code="PRK", area="CheckOut",
                         description="Return the parking card")
    async with mcp_client(server.url) as client:
        done = await call_ok(client, "check_in", {"reservation_id": guest.reservation_id})
    assert done["alerts"] == [{"code": "ID", "area": "CheckIn", "description": "⟦Collect a passport copy⟧",
                               "stops": False}]
    assert guest.status == "InHouse"


async def test_a_stop_check_in_alert_refuses_before_any_room_is_assigned_until_the_desk_lifts_it(
    server: ServerThread, hotel: Any
) -> None:
    enterprise = server.app.state.sandbox.enterprise
    guest = due_in(hotel, 0)
    alert = enterprise.set_alert("SAND01", guest.reservation_id, code="DEP", area="CheckIn",
                                 description="Deposit of 200 USD to collect first", stop=True)
    seen = len(server.app.state.sandbox.requests)
    async with mcp_client(server.url) as client:
        error = await call_error(client, "check_in", {"reservation_id": guest.reservation_id})
        assert guest.status == "Reserved" and guest.room_id is None
        sent = {e.operation_id for e in server.app.state.sandbox.requests[seen:]}
        enterprise.set_alert("SAND01", guest.reservation_id, code="DEP", area="CheckIn",
                             description="Deposit collected", alert_id=alert.alert_id)
        done = await call_ok(client, "check_in", {"reservation_id": guest.reservation_id})
    assert "stop check-in alert in OPERA (DEP): ⟦Deposit of 200 USD to collect first⟧" in error
    assert "nothing was changed" in error and "call check_in again" in error
    assert not sent & {"postRoomAssignment", "postCheckIn"}
    assert done["status"] == "InHouse" and done["alerts"][0]["description"] == "⟦Deposit collected⟧"


async def test_check_out_shows_its_alerts_in_the_question_and_a_stop_alert_holds_it(
    server: ServerThread, hotel: Any
) -> None:
    enterprise = server.app.state.sandbox.enterprise
    leaving, held = due_out(hotel, 0), due_out(hotel, 1)
    enterprise.set_alert("SAND01", leaving.reservation_id, code="PRK", area="CheckOut",
                         description="Return the parking card")
    enterprise.set_alert("SAND01", held.reservation_id, code="DMG", area="CheckOut",
                         description="Room inspection pending", stop=True)
    owed = held.balance
    args = {"reservation_id": leaving.reservation_id, "payment_method": "CA"}
    async with mcp_client(server.url) as client:
        asked = await call_error(client, "check_out", args)
        done = await call_ok(client, "check_out", {**args, "confirm": True})
        stopped = await call_error(client, "check_out", {"reservation_id": held.reservation_id,
                                                         "payment_method": "CA", "confirm": True})
    assert "OPERA's check-out alert: ⟦Return the parking card⟧" in asked
    assert done["status"] == "CheckedOut" and [a["code"] for a in done["alerts"]] == ["PRK"]
    assert "stop check-out alert in OPERA (DMG): ⟦Room inspection pending⟧" in stopped
    assert held.status == "InHouse" and held.balance == owed  # nothing paid
