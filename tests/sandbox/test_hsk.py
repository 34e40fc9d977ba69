"""The sandbox's hsk routes over real HTTP: the housekeeping board and its filters, room status updates for
several rooms at once, guest service requests, and that every change shows in the front office's room list."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx2
import pytest

from tests.contract.plugin import DEFAULT_BUSINESS_DATE as BUSINESS_DATE

OVERVIEW = "/hsk/v1/hotels/SAND01/housekeepingOverview"
STATUS = "/hsk/v1/hotels/SAND01/rooms/status"
SERVICE = "/hsk/v1/hotels/SAND01/serviceRequests"
OUT_OF_ORDER = "/hsk/v1/hotels/SAND01/rooms/outOfOrderRooms"
OUT_OF_SERVICE = "/hsk/v1/hotels/SAND01/rooms/outOfServiceRooms"


async def board(ohip: httpx2.AsyncClient, *params: tuple[str, Any]) -> dict[str, Any]:
    response = await ohip.get(OVERVIEW, params=[*params, ("limit", 200)])
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def rooms_of(body: dict[str, Any]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = body["housekeepingRoomInfo"]["housekeepingRooms"]["room"]
    return rows


def status_of(room: dict[str, Any]) -> dict[str, Any]:
    status: dict[str, Any] = room["housekeeping"]["housekeepingRoomStatus"]
    return status


async def fof_room(ohip: httpx2.AsyncClient, room_id: str) -> dict[str, Any]:
    params = {"fromRoomNumber": room_id, "toRoomNumber": room_id}
    rows = (await ohip.get("/fof/v1/hotels/SAND01/rooms", params=params)).json()["hotelRoomsDetails"]["room"]
    assert len(rows) == 1
    return rows[0]  # type: ignore[no-any-return]


async def vacant_rooms(ohip: httpx2.AsyncClient, count: int) -> list[str]:
    rows = rooms_of(await board(ohip, ("frontOfficeRoomStatus", "Vacant"), ("housekeepingRoomStatus", "Clean")))
    free = [r["roomId"] for r in rows if status_of(r)["reservationStatusList"] == ["NotReserved"]]
    assert len(free) >= count
    return free[:count]


async def test_the_board_uses_housekeeping_key_names_and_counts_every_selected_room(ohip: httpx2.AsyncClient) -> None:
    body = await board(ohip)

    info = body["housekeepingRoomInfo"]
    assert (info["totalResults"], info["count"], info["hasMore"]) == (100, 100, False)
    row = rooms_of(body)[0]
    assert row["roomType"]["pseudoRoom"] is False
    assert set(status_of(row)) == {
        "housekeepingRoomStatus",
        "frontOfficeStatus",
        "housekeepingStatus",
        "reservationStatusList",
    }
    counts = {c["housekeepingRoomStatus"]: c["numberOfRooms"] for c in body["housekeepingRoomStatusInfoList"]}
    assert sum(counts.values()) == 100
    assert counts["Dirty"] == sum(1 for r in rooms_of(body) if status_of(r)["housekeepingRoomStatus"] == "Dirty")


async def test_the_board_pages(ohip: httpx2.AsyncClient) -> None:
    page = (await ohip.get(OVERVIEW, params={"limit": 10, "offset": 95})).json()["housekeepingRoomInfo"]
    assert (page["count"], page["hasMore"], page["offset"]) == (5, False, 95)


async def test_board_filters_by_status_occupancy_floor_and_room_type(ohip: httpx2.AsyncClient) -> None:
    dirty_occupied = rooms_of(
        await board(ohip, ("housekeepingRoomStatus", "Dirty"), ("frontOfficeRoomStatus", "Occupied"))
    )
    kings_on_floor_2 = rooms_of(await board(ohip, ("roomType", "KNG"), ("floor", "2")))

    assert dirty_occupied
    assert all(status_of(r)["housekeepingRoomStatus"] == "Dirty" for r in dirty_occupied)
    assert all(status_of(r)["frontOfficeStatus"] == "Occupied" for r in dirty_occupied)
    assert kings_on_floor_2
    assert all((r["roomType"]["roomType"], r["floor"]) == ("KNG", "2") for r in kings_on_floor_2)


async def test_an_unknown_board_filter_value_is_refused(ohip: httpx2.AsyncClient) -> None:
    response = await ohip.get(OVERVIEW, params={"frontOfficeRoomStatus": "Empty"})
    assert response.status_code == 400
    assert response.json()["o:errorPath"] == "frontOfficeRoomStatus"


async def test_several_rooms_change_status_in_one_call_and_fof_sees_it(ohip: httpx2.AsyncClient) -> None:
    first, second = await vacant_rooms(ohip, 2)

    body = {"roomList": [{"roomId": first}, {"roomId": second}], "housekeepingRoomStatus": "Inspected"}
    response = await ohip.put(STATUS, json=body)

    assert response.status_code == 200, response.text
    for room_id in (first, second):
        assert (await fof_room(ohip, room_id))["housekeeping"]["roomStatus"]["roomStatus"] == "Inspected"
    inspected = rooms_of(await board(ohip, ("housekeepingRoomStatus", "Inspected")))
    assert {first, second} <= {r["roomId"] for r in inspected}


async def test_an_unknown_room_in_the_list_changes_nothing(ohip: httpx2.AsyncClient) -> None:
    (room_id,) = await vacant_rooms(ohip, 1)

    body = {"roomList": [{"roomId": room_id}, {"roomId": "9999"}], "housekeepingRoomStatus": "Pickup"}
    response = await ohip.put(STATUS, json=body)

    assert response.status_code == 404
    assert "9999" in response.json()["detail"]
    assert (await fof_room(ohip, room_id))["housekeeping"]["roomStatus"]["roomStatus"] == "Clean"


def repair(room_ids: list[str], **details: Any) -> dict[str, Any]:
    today = BUSINESS_DATE
    body = {"start": today.isoformat(), "end": (today + timedelta(days=2)).isoformat(), "reasonCode": "PLUMB",
            "returnStatus": "Dirty", **details}
    return {"criteria": {"roomRangeList": {"roomIds": room_ids, "roomOutOfOrder": body}}}


def completion(room_id: str, return_status: str) -> dict[str, Any]:
    entry = {"roomId": room_id, "roomOutOfOrder": {"returnStatus": return_status}}
    return {"criteria": {"roomRepairByRoomNumber": [entry]}}


async def test_put_room_related_status_sets_only_the_four_housekeeping_states(ohip: httpx2.AsyncClient) -> None:
    (room_id,) = await vacant_rooms(ohip, 1)

    response = await ohip.put(STATUS, json={"roomList": [{"roomId": room_id}], "housekeepingRoomStatus": "OutOfOrder"})

    assert response.status_code == 400
    assert "postOutOfOrderRooms" in response.json()["detail"]
    assert response.json()["o:errorPath"] == "housekeepingRoomStatus"
    assert (await fof_room(ohip, room_id))["housekeeping"]["roomStatus"]["roomStatus"] == "Clean"


async def test_an_occupied_room_cannot_go_out_of_order(ohip: httpx2.AsyncClient) -> None:
    occupied = rooms_of(await board(ohip, ("frontOfficeRoomStatus", "Occupied")))
    room_id = occupied[0]["roomId"]
    before = status_of(occupied[0])["housekeepingRoomStatus"]

    response = await ohip.post(OUT_OF_ORDER, json=repair([room_id]))

    assert response.status_code == 400
    assert "occupied" in response.json()["detail"] and room_id in response.json()["detail"]
    assert (await fof_room(ohip, room_id))["housekeeping"]["roomStatus"]["roomStatus"] == before


async def test_a_room_out_of_order_shows_for_its_nights_and_returns_to_the_status_given(
    ohip: httpx2.AsyncClient,
) -> None:
    (room_id,) = await vacant_rooms(ohip, 1)

    response = await ohip.post(OUT_OF_ORDER, json=repair([room_id], repairRemarks="leaking tap"))
    assert response.status_code == 201, response.text
    row = await fof_room(ohip, room_id)
    assert row["housekeeping"]["roomStatus"]["roomStatus"] == "OutOfOrder"
    assert row["outOfOrder"][0]["reasonCode"] == "PLUMB" and row["outOfOrder"][0]["returnStatus"] == "Dirty"
    listed = await ohip.get(OUT_OF_ORDER, params={"startDate": BUSINESS_DATE.isoformat()})
    assert room_id in [r["roomId"] for r in listed.json()["housekeepingRooms"]["room"]]
    assert (await ohip.get(OUT_OF_SERVICE, params={"startDate": BUSINESS_DATE.isoformat(),
                                                   "roomId": room_id})).status_code == 204
    refused = await ohip.put(STATUS, json={"roomList": [{"roomId": room_id}], "housekeepingRoomStatus": "Clean"})
    assert refused.status_code == 400 and "completeOutOfOrderRooms" in refused.json()["detail"]

    done = await ohip.put(OUT_OF_ORDER, json=completion(room_id, "Inspected"))

    assert done.status_code == 200, done.text
    assert (await fof_room(ohip, room_id))["housekeeping"]["roomStatus"]["roomStatus"] == "Inspected"
    again = await ohip.put(OUT_OF_ORDER, json=completion(room_id, "Inspected"))
    assert again.status_code == 400 and "not OutOfOrder" in again.json()["detail"]


async def test_a_room_out_of_service_from_tomorrow_is_still_clean_today(ohip: httpx2.AsyncClient) -> None:
    (room_id,) = await vacant_rooms(ohip, 1)
    tomorrow = BUSINESS_DATE + timedelta(days=1)

    response = await ohip.post(OUT_OF_SERVICE, json=repair([room_id], start=tomorrow.isoformat()))

    assert response.status_code == 201, response.text
    assert (await fof_room(ohip, room_id))["housekeeping"]["roomStatus"]["roomStatus"] == "Clean"
    listed = await ohip.get(OUT_OF_SERVICE, params={"startDate": tomorrow.isoformat(), "roomId": room_id})
    assert listed.json()["housekeepingRooms"]["room"][0]["outOfOrder"][0]["housekeepingRoomStatus"] == "OutOfService"


async def test_out_of_order_needs_a_configured_reason_dates_in_order_and_a_return_status(
    ohip: httpx2.AsyncClient,
) -> None:
    (room_id,) = await vacant_rooms(ohip, 1)
    today = BUSINESS_DATE

    unknown = await ohip.post(OUT_OF_ORDER, json=repair([room_id], reasonCode="BROKEN"))
    backwards = await ohip.post(OUT_OF_ORDER, json=repair([room_id], end=(today - timedelta(days=1)).isoformat()))
    no_end = repair([room_id])
    del no_end["criteria"]["roomRangeList"]["roomOutOfOrder"]["end"]
    missing = await ohip.post(OUT_OF_ORDER, json=no_end)

    assert unknown.status_code == 400 and "MAINT" in unknown.json()["detail"]
    assert backwards.status_code == 400 and backwards.json()["o:errorPath"].endswith(".end")
    assert missing.status_code == 400 and missing.json()["o:errorPath"].endswith(".end")
    assert (await fof_room(ohip, room_id))["housekeeping"]["roomStatus"]["roomStatus"] == "Clean"


async def test_a_status_update_needs_a_status_and_rooms(ohip: httpx2.AsyncClient) -> None:
    nothing = await ohip.put(STATUS, json={"roomList": [{"roomId": "101"}]})
    no_rooms = await ohip.put(STATUS, json={"roomList": [], "housekeepingRoomStatus": "Clean"})

    assert nothing.status_code == 400 and "housekeepingRoomStatus" in nothing.json()["detail"]
    assert no_rooms.status_code == 400 and no_rooms.json()["o:errorPath"] == "roomList"


@pytest.mark.lenient_requests  # a status outside Oracle's enum, on purpose
async def test_an_unknown_room_status_is_refused_with_the_valid_ones(ohip: httpx2.AsyncClient) -> None:
    response = await ohip.put(STATUS, json={"roomList": [{"roomId": "101"}], "housekeepingRoomStatus": "Sparkling"})
    assert response.status_code == 400
    assert "Sparkling" in response.json()["detail"] and "Inspected" in response.json()["detail"]


async def test_turndown_status_is_kept(ohip: httpx2.AsyncClient) -> None:
    (room_id,) = await vacant_rooms(ohip, 1)
    response = await ohip.put(STATUS, json={"roomList": [{"roomId": room_id}], "turndownStatus": "Compeleted"})
    assert response.status_code == 200
    row = next(r for r in rooms_of(await board(ohip, ("turndownStatus", "Compeleted"))) if r["roomId"] == room_id)
    assert row["turndownInfo"]["turndownStatusInfo"] == "Compeleted"


async def test_do_not_disturb_shows_on_the_board_and_in_fof(ohip: httpx2.AsyncClient) -> None:
    first, second = await vacant_rooms(ohip, 2)

    criteria = {"hotelId": "SAND01", "roomList": [first, second], "status": "DoNotDisturb"}
    response = await ohip.put(SERVICE, json={"criteria": criteria})

    assert response.status_code == 200, response.text
    dnd = rooms_of(await board(ohip, ("guestServiceRequest", "DoNotDisturb")))
    assert {first, second} <= {r["roomId"] for r in dnd}
    assert all(r["housekeeping"]["guestServiceRequest"] == "DoNotDisturb" for r in dnd)
    assert (await fof_room(ohip, first))["housekeeping"]["guestServiceRequest"] == "DoNotDisturb"

    cleared = {"criteria": {"roomList": [first], "status": "NoStatusSelected"}}
    assert (await ohip.put(SERVICE, json=cleared)).status_code == 200
    assert (await fof_room(ohip, first))["housekeeping"]["guestServiceRequest"] == "NoStatusSelected"


async def test_a_service_request_is_refused_for_unknown_rooms_or_without_a_status(ohip: httpx2.AsyncClient) -> None:
    unknown_room = await ohip.put(SERVICE, json={"criteria": {"roomList": ["9999"], "status": "MakeUpRoom"}})
    missing = await ohip.put(SERVICE, json={"criteria": {"roomList": ["101"]}})

    assert unknown_room.status_code == 404 and "9999" in unknown_room.json()["detail"]
    assert missing.status_code == 400 and missing.json()["o:errorPath"] == "criteria.status"


@pytest.mark.lenient_requests  # a request outside Oracle's enum, on purpose
async def test_an_unknown_service_request_is_refused_with_the_valid_ones(ohip: httpx2.AsyncClient) -> None:
    response = await ohip.put(SERVICE, json={"criteria": {"roomList": ["101"], "status": "Breakfast"}})
    assert response.status_code == 400
    assert "MakeUpRoom" in response.json()["detail"]


CONDITIONS = "/hsk/v1/hotels/SAND01/conditions"


def condition(rooms: list[str], code: str | None, **criteria: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"hotelId": "SAND01", "roomNumberList": rooms, **criteria}
    if code is not None:
        body["roomCondition"] = {"roomCondition": {"code": code}, "remarks": f"{code} until 4pm"}
    return {"criteria": body}


async def fof_ids(ohip: httpx2.AsyncClient, *params: tuple[str, Any]) -> set[str]:
    response = await ohip.get("/fof/v1/hotels/SAND01/rooms", params=[*params, ("limit", 200)])
    assert response.status_code == 200, response.text
    return {r["roomId"] for r in response.json()["hotelRoomsDetails"]["room"]}


async def test_a_room_condition_not_available_leaves_the_room_out_of_the_room_search(ohip: httpx2.AsyncClient) -> None:
    show, minibar = await vacant_rooms(ohip, 2)
    assert (await ohip.put(CONDITIONS, json=condition([show], "SHOW"))).status_code == 200
    assert (await ohip.put(CONDITIONS, json=condition([minibar], "MINIB"))).status_code == 200

    listed = await ohip.get(CONDITIONS, params={"roomConditionsOnly": "true"})
    assert listed.status_code == 200, listed.text
    rows = {r["roomId"]: r["housekeeping"]["roomCondition"] for r in listed.json()["housekeepingRooms"]["room"]}
    assert set(rows) == {show, minibar}
    assert rows[show] == {"roomCondition": {"code": "SHOW", "description": "Show room for a sales tour"},
                          "assignmentType": "NotAvailable", "remarks": "SHOW until 4pm"}
    assert rows[minibar]["assignmentType"] == "Available"

    default = await fof_ids(ohip)
    assert minibar in default and show not in default
    everything = await fof_ids(ohip, ("includeAllRoomConditions", "true"))
    assert {show, minibar} <= everything
    assert (await fof_room(ohip, minibar))["housekeeping"]["roomCondition"]["roomCondition"]["code"] == "MINIB"

    assert (await ohip.put(CONDITIONS, json=condition([show, minibar], None))).status_code == 200
    assert show in await fof_ids(ohip)
    assert (await ohip.get(CONDITIONS, params={"roomConditionsOnly": "true"})).status_code == 204


async def test_a_room_condition_is_refused_unless_configured_or_on_an_occupied_room_unless_asked(
    ohip: httpx2.AsyncClient,
) -> None:
    (free,) = await vacant_rooms(ohip, 1)
    unknown = await ohip.put(CONDITIONS, json=condition([free], "PARTY"))
    assert unknown.status_code == 400
    assert "SHOW" in unknown.json()["detail"], "the refusal names the configured conditions"

    occupied_rows = rooms_of(await board(ohip, ("frontOfficeRoomStatus", "Occupied")))
    occupied = occupied_rows[0]["roomId"]
    refused = await ohip.put(CONDITIONS, json=condition([free, occupied], "CONN"))
    assert refused.status_code == 400
    assert occupied in refused.json()["detail"]
    assert (await ohip.get(CONDITIONS, params={"roomConditionsOnly": "true"})).status_code == 204, (
        "a refused call sets no condition on any room"
    )

    allowed = await ohip.put(CONDITIONS, json=condition([occupied], "CONN", includeOccupiedRooms=True))
    assert allowed.status_code == 200, allowed.text
    assert (await fof_room(ohip, occupied))["housekeeping"]["roomCondition"]["roomCondition"]["code"] == "CONN"
