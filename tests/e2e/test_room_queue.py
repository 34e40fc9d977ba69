"""OPERA's queue for rooms (fof addReservationToQueue, getReservationsInQueue, deleteReservationFromQueue) through the
MCP SDK client over HTTP: a guest who arrives before the room is ready waits in the queue, housekeeping sees which
rooms to ready first, and check-in takes the guest off it. "A reservation can be added to the queue prior to Check-In
on the day of arrival" (Oracle's spec), so anything else is refused before OPERA is asked."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from tests.support.mcp_client import call_error, call_ok, mcp_client
from tests.support.sandbox_state import inject_fault
from tests.support.servers import ServerThread


def sent(sandbox: Any, operation: str) -> int:
    return sum(1 for e in sandbox.requests if e.operation_id == operation)


def due_in_with_dirty_room(hotel: Any, skip: int = 0) -> Any:
    """A guest due in today whose assigned room is not ready: the one a desk queues."""
    found = [r for r in sorted(hotel.reservations.values(), key=lambda r: int(r.reservation_id))
             if hotel.computed_status(r) == "DueIn" and r.room_id and r.rooms == 1 and not r.alerts]
    guest = found[skip]
    hotel.rooms[guest.room_id].room_status = "Dirty"
    return guest


async def test_a_guest_whose_room_is_dirty_is_queued_housekeeping_sees_it_and_check_in_takes_it_off(
        server: ServerThread, hotel: Any) -> None:
    sandbox = server.app.state.sandbox
    guest, second = due_in_with_dirty_room(hotel), due_in_with_dirty_room(hotel, 1)
    args = {"reservation_id": guest.reservation_id}
    async with mcp_client(server.url) as client:
        refused = await call_error(client, "check_in", args)
        queued = await call_ok(client, "queue_for_room", args)
        again = await call_ok(client, "queue_for_room", args)
        behind = await call_ok(client, "queue_for_room", {"reservation_id": second.reservation_id})
        board = await call_ok(client, "list_room_queue", {})
        await call_ok(client, "update_room_status", {"room_ids": [guest.room_id], "room_status": "Inspected"})
        await call_ok(client, "check_in", args)
        after = await call_ok(client, "list_room_queue", {})
        taken_off = await call_ok(client, "remove_from_queue", {"reservation_id": second.reservation_id})
        not_there = await call_ok(client, "remove_from_queue", {"reservation_id": second.reservation_id})
    assert "queue_for_room puts the guest in OPERA's queue" in refused
    assert queued["changed"] is True and queued["place"] == 1
    assert again["changed"] is False and again["place"] == 1 and "already in the queue" in again["next_step"]
    assert behind["place"] == 2
    assert [(q["place"], q["reservation_id"], q["room_id"]) for q in board["queue"]] == [
        (1, guest.reservation_id, guest.room_id), (2, second.reservation_id, second.room_id)]
    assert [q["reservation_id"] for q in after["queue"]] == [second.reservation_id]  # checked in: off the queue
    assert taken_off["changed"] is True and taken_off["queue"] == [] and hotel.room_queue == {}
    assert not_there["changed"] is False and "nothing was changed" in not_there["next_step"]
    assert sent(sandbox, "addReservationToQueue") == 2 and sent(sandbox, "deleteReservationFromQueue") == 1


async def test_only_a_guest_due_in_today_is_queued(server: ServerThread, hotel: Any) -> None:
    sandbox = server.app.state.sandbox
    in_house = next(r for r in hotel.reservations.values() if r.status == "InHouse")
    future = next(r for r in hotel.reservations.values()
                  if r.status == "Reserved" and r.arrival > hotel.business_date)
    async with mcp_client(server.url) as client:
        seen = len(sandbox.requests)
        errors = [await call_error(client, "queue_for_room", {"reservation_id": r.reservation_id})
                  for r in (in_house, future)]
        asked = {e.operation_id for e in sandbox.requests[seen:]}
    assert all("on its arrival day" in e and "nothing was changed" in e for e in errors), errors
    assert "addReservationToQueue" not in asked and hotel.room_queue == {}


@pytest.mark.sandbox(business_date=date(2026, 5, 1))
async def test_a_queueing_whose_answer_is_lost_is_settled_by_reading_the_queue(
        app_url: str, sandbox_server: Any) -> None:
    sandbox = sandbox_server.sandbox
    hotel = sandbox.enterprise.hotels["SAND01"]
    guest = due_in_with_dirty_room(hotel)
    async with mcp_client(app_url) as client:
        await inject_fault(sandbox_server.url, operation="addReservationToQueue", mode="drop")
        queued = await call_ok(client, "queue_for_room", {"reservation_id": guest.reservation_id})
    assert queued["changed"] is True and queued["place"] == 1
    assert list(hotel.room_queue) == [guest.reservation_id]
