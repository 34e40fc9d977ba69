"""Guest service requests (open_guest_request, list_guest_requests, complete_guest_request, close_guest_request; fof
postServiceRequests, getServiceRequests, putServiceRequests) through the MCP SDK client over HTTP, against a
standalone sandbox: opened once whatever answer is lost, checked against the hotel's lists before OPERA is asked,
completed and closed once however often the agent repeats it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest

from tests.support.apps import running_app, settings_for_sandbox
from tests.support.mcp_client import call_error, call_ok, mcp_client
from tests.support.sandbox_state import inject_fault, raw_call


@pytest.fixture
def app(sandbox_server: Any) -> Iterator[Any]:
    with running_app(settings_for_sandbox(sandbox_server.url)) as srv:
        yield srv


def hotel_of(sandbox_server: Any) -> Any:
    return sandbox_server.sandbox.enterprise.hotels["SAND01"]


def stored(sandbox_server: Any) -> list[Any]:
    return list(hotel_of(sandbox_server).service_requests.values())


def sent(sandbox_server: Any, operation: str) -> list[Any]:
    return [e for e in sandbox_server.sandbox.requests if e.operation_id == operation]


def in_house(sandbox_server: Any, skip: int = 0) -> Any:
    found = [r for r in sorted(hotel_of(sandbox_server).reservations.values(), key=lambda r: int(r.reservation_id))
             if r.status == "InHouse" and r.room_id]
    return found[skip]


async def test_a_request_is_opened_completed_followed_up_and_closed_once(app: Any, sandbox_server: Any) -> None:
    guest = in_house(sandbox_server)
    profile = sandbox_server.sandbox.enterprise.profiles[guest.profile_id]
    async with mcp_client(app.url) as client:
        opened = await call_ok(client, "open_guest_request", {
            "reservation_id": guest.reservation_id, "code": "towel", "department": "hsk",
            "comment": "3 fresh towels please", "priority": "high"})
        listed = await call_ok(client, "list_guest_requests", {"reservation_id": guest.reservation_id})
        number = opened["request"]["service_request_id"]
        done = await call_ok(client, "complete_guest_request", {"service_request_id": number,
                                                                "action_taken": "3 towels delivered"})
        done_again = await call_ok(client, "complete_guest_request", {"service_request_id": number,
                                                                      "action_taken": "3 towels delivered"})
        waiting = await call_ok(client, "list_guest_requests", {"status": "PendingFollowUp"})
        closed = await call_ok(client, "close_guest_request", {"service_request_id": number,
                                                               "follow_up": "guest thanked housekeeping",
                                                               "reservation_id": guest.reservation_id})
        closed_again = await call_ok(client, "close_guest_request", {"service_request_id": number,
                                                                     "follow_up": "guest thanked housekeeping"})
        open_now = await call_ok(client, "list_guest_requests", {"reservation_id": guest.reservation_id})
        everything = await call_ok(client, "list_guest_requests", {"status": "All", "room": guest.room_id})
        unknown = await call_error(client, "complete_guest_request", {"service_request_id": "424242",
                                                                      "action_taken": "done"})

    [request] = stored(sandbox_server)
    assert (request.code, request.department, request.priority, request.status) == ("TOWEL", "HSK", "HIGH", "Closed")
    assert (request.reservation_id, request.room, request.profile_id) == (guest.reservation_id, guest.room_id,
                                                                           guest.profile_id)
    assert request.guest_name and profile.surname in request.guest_name
    assert (request.comment, request.action, request.close_description) == (
        "3 fresh towels please", "3 towels delivered", "guest thanked housekeeping")
    assert request.completed is not None and request.closed is not None
    assert opened["request"]["status"] == "Open" and opened["request"]["comment"] == "⟦3 fresh towels please⟧"
    assert opened["request"]["room"] == guest.room_id
    assert [r["service_request_id"] for r in listed["requests"]] == [number]
    assert done["unchanged"] is False and done["request"]["status"] == "PendingFollowUp"
    assert done["request"]["action"] == "⟦3 towels delivered⟧"  # free text OPERA holds, marked as data
    assert done_again["unchanged"] is True and "completed before" in done_again["next_step"]
    assert [r["service_request_id"] for r in waiting["requests"]] == [number]
    assert "wait for the follow-up" in waiting["next_step"]
    assert closed["unchanged"] is False and closed["request"]["status"] == "Closed"
    assert closed_again["unchanged"] is True
    assert open_now["requests"] == [] and "open_guest_request" in open_now["next_step"]
    assert [r["status"] for r in everything["requests"]] == ["Closed"]
    assert "no service request 424242" in unknown and "nothing was changed" in unknown
    assert len(sent(sandbox_server, "postServiceRequests")) == 1
    assert len(sent(sandbox_server, "putServiceRequests")) == 2  # one to complete, one to close: no repeat sent


async def test_closing_an_open_request_needs_what_was_done(app: Any, sandbox_server: Any) -> None:
    guest = in_house(sandbox_server, 1)
    async with mcp_client(app.url) as client:
        opened = await call_ok(client, "open_guest_request", {
            "reservation_id": guest.reservation_id, "code": "LEAK", "department": "ENG",
            "comment": "bathroom tap drips"})
        number = opened["request"]["service_request_id"]
        refused = await call_error(client, "close_guest_request", {"service_request_id": number,
                                                                   "follow_up": "all fine"})
        closed = await call_ok(client, "close_guest_request", {"service_request_id": number,
                                                               "follow_up": "all fine",
                                                               "action_taken": "washer replaced"})
    assert "holds no action taken" in refused and "action_taken" in refused
    [request] = stored(sandbox_server)
    assert (request.status, request.action, request.department) == ("Closed", "washer replaced", "ENG")
    assert closed["request"]["status"] == "Closed"
    assert len(sent(sandbox_server, "putServiceRequests")) == 1


async def test_a_request_whose_answer_is_lost_is_opened_once_with_or_without_a_key(
        app: Any, sandbox_server: Any) -> None:
    first, second = in_house(sandbox_server, 2), in_house(sandbox_server, 3)
    keyed = {"reservation_id": first.reservation_id, "code": "PILLOW", "department": "HSK",
             "comment": "two more pillows", "idempotency_key": str(uuid.uuid4())}
    plain = {"reservation_id": second.reservation_id, "code": "MIN", "department": "HSK",
             "comment": "please remove the minibar"}
    async with mcp_client(app.url) as client:
        await inject_fault(sandbox_server.url, operation="postServiceRequests", mode="drop")
        found = await call_ok(client, "open_guest_request", keyed)  # the lost answer is settled by reading
        again = await call_ok(client, "open_guest_request", keyed)
        await inject_fault(sandbox_server.url, operation="postServiceRequests", mode="drop")
        settled = await call_ok(client, "open_guest_request", plain)

    by_stay = {r.reservation_id: r for r in stored(sandbox_server)}
    assert len(stored(sandbox_server)) == 2
    keyed_one = by_stay[first.reservation_id]
    assert keyed_one.code == "PILLOW" and "two more pillows" in keyed_one.comment
    assert by_stay[second.reservation_id].comment == "please remove the minibar"
    assert found["request"]["service_request_id"] == by_stay[first.reservation_id].request_id
    assert again["request"]["service_request_id"] == found["request"]["service_request_id"]
    assert settled["request"]["service_request_id"] == by_stay[second.reservation_id].request_id
    assert len(sent(sandbox_server, "postServiceRequests")) == 2  # one each: never a blind repeat


async def test_an_agent_that_times_out_and_repeats_gets_one_request(app: Any, sandbox_server: Any) -> None:
    guest = in_house(sandbox_server, 4)
    ask = {"reservation_id": guest.reservation_id, "code": "BFAST", "department": "FB",
           "comment": "breakfast for two at 8", "idempotency_key": str(uuid.uuid4())}
    # OPERA opens it at once but answers 2 s late; the agent gives up after 0.5 s and asks again with its key.
    await inject_fault(sandbox_server.url, operation="postServiceRequests", mode="stall", delay=2.0)
    headers = {"accept": "application/json, text/event-stream", "content-type": "application/json",
               "mcp-protocol-version": "2025-11-25"}
    async with httpx2.AsyncClient(timeout=0.5) as http:
        with pytest.raises(httpx2.ReadTimeout):
            await http.post(f"{app.url}/mcp", json=raw_call("open_guest_request", ask), headers=headers)
    async with mcp_client(app.url) as client:
        again = await call_ok(client, "open_guest_request", ask)
    [request] = stored(sandbox_server)
    assert again["request"]["service_request_id"] == request.request_id
    assert len(sent(sandbox_server, "postServiceRequests")) == 1


async def test_a_key_a_second_server_never_saw_finds_the_request_in_opera(sandbox_server: Any) -> None:
    """The idempotency record is a fast path; OPERA holds the truth. A server with an empty store (another replica,
    a Redis that came back empty) finds the request by the reference in its comment instead of opening it again."""
    guest = in_house(sandbox_server, 5)
    ask = {"reservation_id": guest.reservation_id, "code": "TAXI", "department": "CON",
           "comment": "taxi to the airport at 6", "idempotency_key": str(uuid.uuid4())}
    with running_app(settings_for_sandbox(sandbox_server.url)) as first:
        async with mcp_client(first.url) as client:
            opened = await call_ok(client, "open_guest_request", ask)
    with running_app(settings_for_sandbox(sandbox_server.url)) as second:
        async with mcp_client(second.url) as client:
            again = await call_ok(client, "open_guest_request", ask)
    [request] = stored(sandbox_server)
    assert opened["request"]["service_request_id"] == again["request"]["service_request_id"] == request.request_id
    assert len(sent(sandbox_server, "postServiceRequests")) == 1


async def test_a_lost_answer_when_opera_made_nothing_says_what_to_check(app: Any, sandbox_server: Any) -> None:
    guest = in_house(sandbox_server)
    ask = {"reservation_id": guest.reservation_id, "code": "IRON", "department": "HSK", "comment": "an iron"}
    async with mcp_client(app.url) as client:
        first = await call_ok(client, "open_guest_request", ask)
        await inject_fault(sandbox_server.url, operation="postServiceRequests", mode="respond", status=503, times=5)
        failed = await call_error(client, "open_guest_request", ask)
    # The request of the same code and comment opened before does not pass for one OPERA did not take.
    assert "list_guest_requests" in failed
    assert [r.request_id for r in stored(sandbox_server)] == [first["request"]["service_request_id"]]


async def test_unknown_codes_closed_stays_and_card_numbers_are_refused_before_opera_is_asked(
        app: Any, sandbox_server: Any) -> None:
    guest = in_house(sandbox_server)
    gone = next(r for r in hotel_of(sandbox_server).reservations.values() if r.status == "CheckedOut")
    base = {"reservation_id": guest.reservation_id, "code": "TOWEL", "department": "HSK", "comment": "towels"}
    async with mcp_client(app.url) as client:
        code = await call_error(client, "open_guest_request", {**base, "code": "UFO"})
        retired = await call_error(client, "open_guest_request", {**base, "code": "NEWS"})
        unit = await call_error(client, "open_guest_request", {**base, "department": "SPA"})
        level = await call_error(client, "open_guest_request", {**base, "priority": "URGENT"})
        closed = await call_error(client, "open_guest_request", {**base, "reservation_id": gone.reservation_id})
        card = await call_error(client, "open_guest_request", {**base, "comment": "charge 4111 1111 1111 1111"})
    assert "'UFO' is not one of SAND01's" in code and "TOWEL (Fresh towels)" in code and "nothing was opened" in code
    assert "NEWS" in retired and "NEWS (" not in retired  # a retired code is neither taken nor offered
    assert "department 'SPA'" in unit and "HSK (Housekeeping)" in unit
    assert "priority 'URGENT'" in level and "HIGH (High)" in level
    assert "is CheckedOut" in closed and "nothing was opened" in closed
    assert "card number" in card and "4111" not in card
    assert sent(sandbox_server, "postServiceRequests") == [] and stored(sandbox_server) == []
