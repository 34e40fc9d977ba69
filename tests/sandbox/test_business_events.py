"""The sandbox's business events over real HTTP: every change, by anyone, is queued per hotel and external system;
int getBusinessEvents dequeues at most 20 a call (204 when none); a change made by a request carrying
x-externalsystem is not queued back to that system; the simulated front desk changes OPERA behind our back."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx2
import pytest

EVENTS = "/int/v1/externalSystem/{system}/hotels/SAND01/businessEvents"
STATUS = "/hsk/v1/hotels/SAND01/rooms/status"
ACT = "/_sandbox/front-desk/act"


async def dequeue(ohip: httpx2.AsyncClient, system: str = "OPERAMCP", **params: Any) -> list[dict[str, Any]]:
    response = await ohip.get(EVENTS.format(system=system), params=params)
    if response.status_code == 204:
        assert not response.content
        return []
    assert response.status_code == 200, response.text
    rows: list[dict[str, Any]] = response.json()["businessEventData"]
    return rows


def header(row: dict[str, Any]) -> dict[str, Any]:
    value: dict[str, Any] = row["businessEvent"]["header"]
    return value


async def act(ohip: httpx2.AsyncClient, **spec: Any) -> list[dict[str, Any]]:
    response = await ohip.post(ACT, json={"hotelId": "SAND01", **spec})
    assert response.status_code == 200, response.text
    changes: list[dict[str, Any]] = response.json()["changes"]
    return changes


async def test_a_desk_change_is_an_event_and_a_dequeued_event_is_gone(ohip: httpx2.AsyncClient) -> None:
    assert await dequeue(ohip) == []  # the seeded world is not news: 204
    (change,) = await act(ohip, actions=["room_status"], roomId="101")  # Clean <-> Dirty
    assert change["record"] == "101" and change["old"] != change["new"]

    (row,) = await dequeue(ohip)

    assert header(row) | {"actionId": 0, "createdDateTime": ""} == {
        "moduleName": "Housekeeping", "actionType": "UPDATE ROOM STATUS", "primaryKey": "101", "hotelId": "SAND01",
        "publisherId": 1, "actionId": 0, "createdDateTime": "",
    }
    details = row["businessEvent"]["details"]
    assert {"dataElement": "ROOM STATUS", "oldValue": change["old"], "newValue": change["new"]} in details
    assert row["businessEventId"]["id"] == str(header(row)["actionId"])
    assert await dequeue(ohip) == []


async def test_at_most_twenty_a_call_oldest_first(ohip: httpx2.AsyncClient) -> None:
    made = await act(ohip, count=25, actions=["room_status"])
    assert len(made) == 25

    first, second = await dequeue(ohip), await dequeue(ohip)

    assert (len(first), len(second)) == (20, 5)
    ids = [header(r)["actionId"] for r in first + second]
    assert ids == sorted(ids)
    assert [header(r)["primaryKey"] for r in first + second] == [c["record"] for c in made]
    assert await dequeue(ohip) == []


async def test_limit_is_honoured_and_bounded_by_the_spec(ohip: httpx2.AsyncClient) -> None:
    await act(ohip, count=4, actions=["room_status"])
    assert len(await dequeue(ohip, limit=3)) == 3
    assert len(await dequeue(ohip, limit=3)) == 1

    too_many = await ohip.get(EVENTS.format(system="OPERAMCP"), params={"limit": 21})
    unknown = await ohip.get(EVENTS.format(system="NOSUCH"))

    assert too_many.status_code == 400 and too_many.json()["o:errorPath"] == "limit"
    assert unknown.status_code == 400 and "OPERAMCP" in unknown.json()["detail"]


@pytest.mark.sandbox(external_systems=("OPERAMCP", "PMSX"))
async def test_our_own_writes_are_not_echoed_to_our_external_system(ohip: httpx2.AsyncClient) -> None:
    body = {"roomList": [{"roomId": "102"}], "housekeepingRoomStatus": "Dirty"}
    mine = await ohip.put(STATUS, json=body, headers={"x-externalsystem": "OPERAMCP"})
    anonymous = await ohip.put(STATUS, json={**body, "roomList": [{"roomId": "103"}]})
    assert mine.status_code == anonymous.status_code == 200

    ours = [header(r)["primaryKey"] for r in await dequeue(ohip, "OPERAMCP")]
    theirs = [header(r)["primaryKey"] for r in await dequeue(ohip, "PMSX")]

    assert ours == ["103"]  # our own change is not news to us...
    assert theirs == ["102", "103"]  # ...but it is to the other interface


async def test_a_refused_change_emits_nothing(ohip: httpx2.AsyncClient) -> None:
    body = {"roomList": [{"roomId": "104"}, {"roomId": "9999"}], "housekeepingRoomStatus": "Pickup"}
    assert (await ohip.put(STATUS, json=body)).status_code == 404
    assert await dequeue(ohip) == []


async def test_the_front_desk_works_behind_our_back_until_stopped(ohip: httpx2.AsyncClient) -> None:
    started = await ohip.post("/_sandbox/front-desk", json={"on": True, "interval": 0.05, "hotelId": "SAND01"})
    assert started.status_code == 200 and started.json()["on"] is True
    events: list[dict[str, Any]] = []
    for _ in range(100):
        events += await dequeue(ohip)
        if len(events) >= 3:
            break
        await asyncio.sleep(0.05)
    stopped = await ohip.delete("/_sandbox/front-desk")

    assert len(events) >= 3
    assert {header(r)["moduleName"] for r in events} <= {"Reservation", "Housekeeping", "Cashiering"}
    assert stopped.json()["on"] is False and stopped.json()["recent"]
    await asyncio.sleep(0.2)
    await dequeue(ohip)  # what was made while stopping
    await asyncio.sleep(0.2)
    assert await dequeue(ohip) == []


async def test_front_desk_controls_refuse_bad_input(ohip: httpx2.AsyncClient) -> None:
    bad_action = await ohip.post(ACT, json={"actions": ["demolish"]})
    bad_hotel = await ohip.post("/_sandbox/front-desk", json={"on": True, "hotelId": "NOPE"})
    bad_interval = await ohip.post("/_sandbox/front-desk", json={"on": True, "interval": 0})

    assert bad_action.status_code == 400 and "room_status" in bad_action.json()["error"]
    assert bad_hotel.status_code == 400 and "SAND01" in bad_hotel.json()["error"]
    assert bad_interval.status_code == 400 and "interval" in bad_interval.json()["error"]
