"""Freshness over real HTTP (REAL-OPERA.md defect 6, S12): the sandbox's simulated front desk changes reservations,
rooms and folios behind the server's back; a tool read shows the change within its kind's TTL, or at once with
business events on; a write built on a read is made from what OPERA holds now, never from the cache."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx2
from mcp import Client

from tests.contract.plugin import check_recorded
from tests.e2e.conftest import BUSINESS_DATE
from tests.support.apps import embedded_settings, running_app
from tests.support.fleet import replicas
from tests.support.mcp_client import call_ok, mcp_client
from tests.support.servers import ServerThread

HOTEL = "SAND01"


@contextmanager
def app_with(**settings: Any) -> Iterator[ServerThread]:
    """Our app in sandbox mode with these settings; every OHIP exchange is checked against Oracle's specs."""
    config, port = embedded_settings(sandbox_business_date=BUSINESS_DATE, **settings)
    with running_app(config, port) as srv:
        yield srv
    problems = check_recorded(srv.app.state.sandbox)
    assert not problems, "\n".join(problems[:20])


async def desk(srv: ServerThread, **spec: Any) -> dict[str, Any]:
    """One change by the simulated front desk (not through our server); returns what it changed."""
    async with httpx2.AsyncClient(timeout=10) as http:
        response = await http.post(f"{srv.url}/sandbox/_sandbox/front-desk/act", json={"hotelId": HOTEL, **spec})
    assert response.status_code == 200, response.text
    (change,) = response.json()["changes"]
    return dict(change)


def in_house(srv: ServerThread) -> list[str]:
    hotel = srv.app.state.sandbox.enterprise.hotels[HOTEL]
    return sorted(r.reservation_id for r in hotel.reservations.values() if r.status == "InHouse")


async def extend_someone(srv: ServerThread, client: Client) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """Read an in-house reservation through the tools (so it is cached), then let the desk extend that stay."""
    for reservation_id in in_house(srv):
        before = await call_ok(client, "get_reservation", {"reservation_id": reservation_id})
        async with httpx2.AsyncClient(timeout=10) as http:
            response = await http.post(f"{srv.url}/sandbox/_sandbox/front-desk/act", json={
                "hotelId": HOTEL, "actions": ["extend_stay"], "reservationId": reservation_id})
        changes = response.json()["changes"]
        if changes:
            return reservation_id, before, changes[0]
    raise AssertionError("the desk could extend no in-house stay")


async def until(check: Callable[[], Awaitable[bool]], within: float) -> float:
    """Seconds until `check` holds; fails after `within` seconds."""
    started = time.monotonic()
    while not await check():
        assert time.monotonic() - started < within, f"not seen within {within} s"
        await asyncio.sleep(0.1)
    return time.monotonic() - started


async def test_a_desk_change_shows_within_the_reservation_ttl() -> None:
    with app_with(cache_ttl_reservation=1.0) as srv:
        async with mcp_client(srv.url) as client:
            reservation_id, before, change = await extend_someone(srv, client)
            assert before["departure"] == change["old"]

            async def shows() -> bool:
                now = await call_ok(client, "get_reservation", {"reservation_id": reservation_id})
                return bool(now["departure"] == change["new"])

            waited = await until(shows, within=4.0)  # 1 s TTL; before: 30 s (the old business cap)
    assert waited <= 2.0


async def test_with_business_events_a_desk_change_shows_at_once_despite_long_ttls() -> None:
    with app_with(business_events=True, business_events_interval=0.1, cache_ttl_reservation=120.0,
                  cache_ttl_reservations=120.0) as srv:
        async with mcp_client(srv.url) as client:
            reservation_id, _, change = await extend_someone(srv, client)

            async def departure_shows() -> bool:
                now = await call_ok(client, "get_reservation", {"reservation_id": reservation_id})
                return bool(now["departure"] == change["new"])

            waited = await until(departure_shows, within=5.0)

            listed = await call_ok(client, "list_in_house", {"limit": 100})
            row = next(r for r in listed["items"] if r["reservation_id"] == reservation_id)
            charge = await desk(srv, actions=["post_charge"], reservationId=reservation_id)

            async def balance_shows() -> bool:
                rows = (await call_ok(client, "list_in_house", {"limit": 100}))["items"]
                now = next(r for r in rows if r["reservation_id"] == reservation_id)
                return bool(now["balance"] and f"{now['balance']['amount']:.2f}" == charge["new"])

            assert row["balance"] is None or f"{row['balance']['amount']:.2f}" == charge["old"]
            waited_balance = await until(balance_shows, within=5.0)
        poller = srv.app.state.business_events
        assert poller is not None and poller.events_seen >= 2
    assert waited < 3.0 and waited_balance < 3.0  # the TTLs are 120 s: the events did it


async def test_a_write_built_on_a_read_keeps_what_the_desk_changed_meanwhile() -> None:
    with app_with(cache_ttl_reservation=120.0) as srv:
        async with mcp_client(srv.url) as client:
            reservation_id, before, extended = await extend_someone(srv, client)  # `before` is now cached
            commented = await desk(srv, actions=["add_comment"], reservationId=reservation_id)

            ours = await call_ok(client, "modify_reservation",
                                 {"reservation_id": reservation_id, "comment": "Booked a taxi for 7 am"})
            after = await call_ok(client, "get_reservation", {"reservation_id": reservation_id})
        record = srv.app.state.sandbox.enterprise.hotels[HOTEL].reservations[reservation_id]
    assert before["departure"] == extended["old"]
    # the change was built from what OPERA held, not from the cached read: the clerk's work survives
    assert ours["reservation"]["departure"] == extended["new"] == record.departure.isoformat()
    assert {commented["new"], "Booked a taxi for 7 am"} <= {c.text for c in record.comments}
    assert {f"⟦{commented['new']}⟧", "⟦Booked a taxi for 7 am⟧"} <= set(ours["reservation"]["comments"])
    assert after["departure"] == extended["new"]  # our own write dropped the cached read


async def test_a_room_the_desk_made_dirty_is_not_offered_even_with_a_long_rooms_ttl() -> None:
    with app_with(cache_ttl_rooms=120.0) as srv:
        async with mcp_client(srv.url) as client:
            offered = await call_ok(client, "find_available_rooms", {"room_status": ["Clean"], "limit": 5})
            room_id = offered["rooms"][0]["room_id"]
            change = await desk(srv, actions=["room_status"], roomId=room_id, status="Dirty")
            again = await call_ok(client, "find_available_rooms", {"room_status": ["Clean"], "limit": 5})
    assert (change["old"], change["new"]) == ("Clean", "Dirty")
    assert room_id not in {r["room_id"] for r in again["rooms"]}


async def test_our_writes_name_our_external_system_so_opera_does_not_echo_them() -> None:
    with app_with(business_events=True, business_events_interval=0.1) as srv:
        async with mcp_client(srv.url) as client:
            rooms = (await call_ok(client, "find_available_rooms", {"room_status": ["Clean"], "limit": 1}))["rooms"]
            await call_ok(client, "update_room_status", {"room_ids": [rooms[0]["room_id"]], "room_status": "Dirty"})
            await asyncio.sleep(0.5)
        sandbox = srv.app.state.sandbox
        poller = srv.app.state.business_events
        writes = [x for x in sandbox.requests if x.method != "GET" and x.operation_id != "getToken"]
        polls = [x for x in sandbox.requests if x.operation_id == "getBusinessEvents"]
    assert writes and all(x.headers.get("x-externalsystem") == "OPERAMCP" for x in writes)
    assert polls and all(x.status == 204 for x in polls)  # nothing queued for us: the only change was ours
    assert poller.events_seen == 0


async def test_one_replicas_business_events_reach_the_other_through_the_shared_cache(
    sandbox_server: Any, redis_server: Any,
) -> None:
    """Two replicas share a Redis cache; only the first polls business events. A clerk's change read (and cached)
    through the second shows there at once: the first's invalidation dropped the shared entry."""
    hotel = sandbox_server.sandbox.enterprise.hotels[HOTEL]
    long_ttls = {"cache_ttl_reservation": 120, "cache_ttl_reservations": 120}
    with replicas(sandbox_server.url, redis_server.url, 1, business_events="true", business_events_interval=0.1,
                  **long_ttls) as (_,), replicas(sandbox_server.url, redis_server.url, 1, **long_ttls) as (b,):
        async with mcp_client(b.url) as on_b:
            for reservation_id in sorted(r.reservation_id for r in hotel.reservations.values()
                                         if r.status == "InHouse"):
                before = await call_ok(on_b, "get_reservation", {"reservation_id": reservation_id})  # cached
                async with httpx2.AsyncClient(timeout=10) as http:
                    response = await http.post(f"{sandbox_server.url}/_sandbox/front-desk/act", json={
                        "hotelId": HOTEL, "actions": ["extend_stay"], "reservationId": reservation_id})
                if response.json()["changes"]:
                    change = response.json()["changes"][0]
                    break
            else:
                raise AssertionError("the desk could extend no in-house stay")
            assert before["departure"] == change["old"]

            async def shows_on_b() -> bool:
                now = await call_ok(on_b, "get_reservation", {"reservation_id": reservation_id})
                return bool(now["departure"] == change["new"])

            waited = await until(shows_on_b, within=8.0)
    assert waited < 5.0  # the TTL is 120 s and b polls nothing: a's invalidation in Redis did it
