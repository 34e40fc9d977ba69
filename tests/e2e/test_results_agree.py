"""Results that agree (#10.4): one reading of each fact every tool reports. The rooms find_available_rooms and the
check-in picker offer are the rooms assign_room accepts; get_reservation carries the balance get_folio shows; a
cancellation has one status; a reservation's rate, nights and total read the same in get_reservation,
search_reservations and the front-desk lists. Real HTTP in both protocol eras, checked against the sandbox's hotel.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

import pytest
from mcp.types import ElicitResult

from tests.support.apps import embedded_settings, running_app
from tests.support.mcp_client import Mode, call_error, call_ok, mcp_client
from tests.support.servers import ServerThread

MODES: list[Mode] = ["auto", "legacy"]


async def accept(context: Any, params: Any) -> ElicitResult:
    """The human at the desk says yes to any confirmation the server asks for."""
    return ElicitResult(action="accept", content={"confirm": True})


@pytest.fixture(scope="module")
def taken() -> set[str]:
    """Reservations a test of this module has used, so that no two tests change the same one."""
    return set()


def overlaps(a: Any, b: Any) -> bool:
    return bool(a.arrival < max(b.departure, b.arrival + timedelta(days=1))
                and b.arrival < max(a.departure, a.arrival + timedelta(days=1)))


def holders(hotel: Any, room_id: str, stay: Any) -> list[str]:
    """Other reservations that hold `room_id` on a night of `stay`, as the sandbox's hotel has it."""
    return [
        r.reservation_id for r in hotel.reservations.values()
        if r.room_id == room_id and r.reservation_id != stay.reservation_id and r.status in ("Reserved", "InHouse")
        and overlaps(r, stay)
    ]


def free_ready(hotel: Any, stay: Any) -> list[Any]:
    """Rooms of the stay's type that the sandbox would let it have today: vacant, ready, in service, not held."""
    today = hotel.business_date
    return [
        room for room in hotel.rooms.values()
        if room.room_type == stay.room_type and hotel.room_status(room) in ("Clean", "Inspected")
        and hotel.front_office_status(room.room_id) == "Vacant" and not holders(hotel, room.room_id, stay)
        and room.repair_on(today, max(today, stay.departure - timedelta(days=1))) is None
    ]


async def due_in(client: Any, hotel: Any, room_type: str) -> Any:
    """Book a guest due in today for three nights, without a room; as the sandbox's hotel holds it."""
    today: date = hotel.business_date
    made = await call_ok(client, "create_reservation", {
        "arrival": today.isoformat(), "departure": (today + timedelta(days=3)).isoformat(), "room_type": room_type,
        "rate_plan": "BAR", "adults": 1, "given_name": "Ada", "surname": "Agree"})
    return hotel.reservations[made["reservation_id"]]


async def due_in_with_a_later_arrival(client: Any, hotel: Any, room_type: str) -> tuple[Any, Any]:
    """Book a guest due in today for three nights, and another stay of the same room type arriving tomorrow (during
    those nights); both without a room. Returns them as the sandbox's hotel holds them."""
    today: date = hotel.business_date
    booked = []
    for arrival in (today, today + timedelta(days=1)):
        made = await call_ok(client, "create_reservation", {
            "arrival": arrival.isoformat(), "departure": (today + timedelta(days=3)).isoformat(),
            "room_type": room_type, "rate_plan": "BAR", "adults": 1, "given_name": "Ada", "surname": "Agree"})
        booked.append(hotel.reservations[made["reservation_id"]])
    assert hotel.computed_status(booked[0]) == "DueIn" and booked[1].status == "Reserved"
    return booked[0], booked[1]


async def clean_rooms(client: Any, hotel: Any, room_type: str, wanted: int = 4) -> None:
    """Housekeeping readies vacant rooms of a type that no stay holds, so that each test has rooms to give."""
    held = {r.room_id for r in hotel.reservations.values() if r.status in ("Reserved", "InHouse")}
    dirty = [
        room.room_id for room in sorted(hotel.rooms.values(), key=lambda r: r.room_id)
        if room.room_type == room_type and room.room_status in ("Dirty", "Pickup") and room.room_id not in held
        and not room.repairs
    ][:wanted]
    if dirty:
        await call_ok(client, "update_room_status", {"room_ids": dirty, "room_status": "Clean"})


def room_numbers(text: str) -> list[str]:
    """The rooms a refusal offers: 'assign_room with one of 203, 208 (...)'."""
    found = re.search(r"one of ([0-9A-Za-z, ]+) \(", text)
    return [n.strip() for n in found.group(1).split(",")] if found else []


@pytest.mark.parametrize("mode", MODES)
async def test_the_rooms_offered_for_a_reservation_are_the_rooms_assign_room_accepts(
        server: ServerThread, hotel: Any, mode: Mode) -> None:
    async with mcp_client(server.url, mode=mode) as client:
        due, later = await due_in_with_a_later_arrival(client, hotel, "KNG")
        await clean_rooms(client, hotel, due.room_type)
        before = await call_ok(client, "find_available_rooms", {"reservation_id": due.reservation_id, "limit": 100})
        held = before["rooms"][0]["room_id"]
        # Another stay takes that room from a night in the middle of the guest's stay.
        await call_ok(client, "assign_room", {"reservation_id": later.reservation_id, "room_id": held})
        assert hotel.reservations[later.reservation_id].room_id == held
        listed = await call_ok(client, "find_available_rooms", {"reservation_id": due.reservation_id, "limit": 100})
        offered = [r["room_id"] for r in listed["rooms"]]
        refusal = await call_error(client, "assign_room", {"reservation_id": due.reservation_id, "room_id": held})
        alternatives = room_numbers(refusal)
        assert alternatives, refusal
        done = await call_ok(client, "assign_room", {"reservation_id": due.reservation_id,
                                                     "room_id": alternatives[0]})
    assert held not in offered
    assert offered and all(not holders(hotel, room, due) for room in offered)
    assert {r.room_id for r in free_ready(hotel, due)} | {alternatives[0]} >= set(offered)
    assert later.reservation_id in refusal or "another stay" in refusal
    assert "nothing was changed" in refusal and f"reservation_id={due.reservation_id}" in refusal
    assert held not in alternatives and set(alternatives) <= set(offered)
    assert done["room_id"] == alternatives[0] == hotel.reservations[due.reservation_id].room_id


@pytest.mark.parametrize("mode", MODES)
async def test_a_room_shown_free_for_tonight_carries_the_day_another_stay_takes_it(
        server: ServerThread, hotel: Any, mode: Mode) -> None:
    async with mcp_client(server.url, mode=mode) as client:
        due, later = await due_in_with_a_later_arrival(client, hotel, "QUN")
        await clean_rooms(client, hotel, due.room_type)
        tonight = await call_ok(client, "find_available_rooms", {"room_type": due.room_type, "limit": 100})
        room = next(r["room_id"] for r in tonight["rooms"] if r["next_stay_date"] is None)
        await call_ok(client, "assign_room", {"reservation_id": later.reservation_id, "room_id": room})
        again = await call_ok(client, "find_available_rooms", {"room_type": due.room_type, "limit": 100})
        for_stay = await call_ok(client, "find_available_rooms", {"reservation_id": due.reservation_id,
                                                                  "limit": 100})
    shown = {r["room_id"]: r for r in again["rooms"]}
    assert shown[room]["next_stay_date"] == later.arrival.isoformat()  # free tonight, and says until when
    assert room not in {r["room_id"] for r in for_stay["rooms"]}


@pytest.mark.parametrize("mode", MODES)
async def test_check_in_picks_a_room_free_for_the_whole_stay_without_a_refused_assignment(
        server: ServerThread, hotel: Any, mode: Mode) -> None:
    async with mcp_client(server.url, mode=mode, elicitation_callback=accept) as client:
        due, later = await due_in_with_a_later_arrival(client, hotel, "DBL")
        await clean_rooms(client, hotel, due.room_type)
        # The room the picker takes first (Inspected before Clean, then by number) goes to the later stay.
        first = sorted(free_ready(hotel, due), key=lambda r: (hotel.room_status(r) != "Inspected", r.room_id))[0]
        await call_ok(client, "assign_room", {"reservation_id": later.reservation_id, "room_id": first.room_id})
        since = len(server.app.state.sandbox.requests)
        checked_in = await call_ok(client, "check_in", {"reservation_id": due.reservation_id})
    assignments = [e for e in server.app.state.sandbox.requests[since:] if e.operation_id == "postRoomAssignment"]
    assert [e.status for e in assignments] == [201]  # no room tried that OPERA refuses
    assert checked_in["room_id"] != first.room_id and checked_in["room_chosen_by"] == "server"
    assert hotel.reservations[due.reservation_id].status == "InHouse"
    assert not holders(hotel, checked_in["room_id"], due)


def in_house_owing(hotel: Any, taken: set[str]) -> Any:
    guest = next(r for r in sorted(hotel.reservations.values(), key=lambda r: int(r.reservation_id))
                 if r.status == "InHouse" and r.balance > 0 and r.reservation_id not in taken)
    taken.add(guest.reservation_id)
    return guest


@pytest.mark.parametrize("mode", MODES)
async def test_get_reservation_carries_the_balance_get_folio_shows(
        server: ServerThread, hotel: Any, taken: set[str], mode: Mode) -> None:
    guest = in_house_owing(hotel, taken)
    before = guest.balance
    async with mcp_client(server.url, mode=mode) as client:
        record = await call_ok(client, "get_reservation", {"reservation_id": guest.reservation_id})
        folio = await call_ok(client, "get_folio", {"reservation_id": guest.reservation_id})
        rows = await call_ok(client, "search_reservations", {"confirmation_number": guest.confirmation_number})
        await call_ok(client, "post_charge", {"reservation_id": guest.reservation_id, "transaction_code": "2010",
                                              "amount": 12.5})
        after = await call_ok(client, "get_reservation", {"reservation_id": guest.reservation_id})
        folio_after = await call_ok(client, "get_folio", {"reservation_id": guest.reservation_id})
    assert record["balance"] == folio["balance"] == rows["reservations"][0]["balance"]
    assert record["balance"] == {"amount": pytest.approx(before), "currency": "USD"}
    assert after["balance"] == folio_after["balance"] == {"amount": pytest.approx(before + 12.5), "currency": "USD"}
    assert guest.balance == pytest.approx(before + 12.5)


@pytest.mark.parametrize("mode", MODES)
async def test_check_out_refuses_with_the_balance_get_reservation_shows(
        server: ServerThread, hotel: Any, taken: set[str], mode: Mode) -> None:
    guest = next(r for r in sorted(hotel.reservations.values(), key=lambda r: int(r.reservation_id))
                 if hotel.computed_status(r) == "DueOut" and r.balance > 0 and r.reservation_id not in taken)
    taken.add(guest.reservation_id)
    async with mcp_client(server.url, mode=mode, elicitation_callback=accept) as client:
        record = await call_ok(client, "get_reservation", {"reservation_id": guest.reservation_id})
        refusal = await call_error(client, "check_out", {"reservation_id": guest.reservation_id, "confirm": True})
    assert record["balance"] == {"amount": pytest.approx(guest.balance), "currency": "USD"}
    assert f"{record['balance']['amount']:.2f} USD" in refusal
    assert hotel.reservations[guest.reservation_id].status == "InHouse"


@pytest.mark.parametrize("mode", MODES)
async def test_a_cancellation_reports_one_status(
        server: ServerThread, hotel: Any, taken: set[str], mode: Mode) -> None:
    today = hotel.business_date
    future = next(r for r in sorted(hotel.reservations.values(), key=lambda r: int(r.reservation_id))
                  if r.status == "Reserved" and r.arrival > today and r.reservation_id not in taken)
    taken.add(future.reservation_id)
    async with mcp_client(server.url, mode=mode, elicitation_callback=accept) as client:
        trial = await call_ok(client, "cancel_reservation", {"reservation_id": future.reservation_id,
                                                             "dry_run": True})
        report = await call_ok(client, "cancel_reservation", {"reservation_id": future.reservation_id,
                                                              "confirm": True})
        record = await call_ok(client, "get_reservation", {"reservation_id": future.reservation_id})
    assert trial["status"] == trial["reservation"]["status"] == "Reserved"
    assert report["status"] == report["reservation"]["status"] == record["status"] == "Cancelled"
    assert hotel.reservations[future.reservation_id].status == "Cancelled"


def due_out(hotel: Any, taken: set[str]) -> Any:
    guest = next(r for r in sorted(hotel.reservations.values(), key=lambda r: int(r.reservation_id))
                 if hotel.computed_status(r) == "DueOut" and r.reservation_id not in taken)
    taken.add(guest.reservation_id)
    return guest


PRICE = ("rate_amount", "nights", "total")


@pytest.mark.parametrize("mode", MODES)
async def test_after_a_check_out_every_tool_reads_the_same_rate_nights_and_total(
        server: ServerThread, hotel: Any, taken: set[str], mode: Mode) -> None:
    guest = due_out(hotel, taken)
    today: date = hotel.business_date
    async with mcp_client(server.url, mode=mode, elicitation_callback=accept) as client:
        departing = await call_ok(client, "list_departures", {"limit": 100})
        await call_ok(client, "check_out", {"reservation_id": guest.reservation_id, "payment_method": "CA",
                                            "confirm": True})
        record = await call_ok(client, "get_reservation", {"reservation_id": guest.reservation_id})
        rows = await call_ok(client, "search_reservations", {"confirmation_number": guest.confirmation_number})
        detailed = await call_ok(client, "search_reservations", {"confirmation_number": guest.confirmation_number,
                                                                 "detail": True})
        checked_out = await call_ok(client, "search_reservations", {"departure_from": today.isoformat(),
                                                                    "departure_to": today.isoformat(),
                                                                    "status": ["CheckedOut"], "limit": 100})
    row = rows["reservations"][0]
    listed = next(r for r in departing["items"] if r["reservation_id"] == guest.reservation_id)
    later = next(r for r in checked_out["reservations"] if r["reservation_id"] == guest.reservation_id)
    nights = (guest.departure - guest.arrival).days
    expected = {"rate_amount": {"amount": guest.rate_on(guest.arrival), "currency": "USD"}, "nights": nights,
                "total": {"amount": pytest.approx(guest.total), "currency": "USD"}}
    for reading in (record, row, listed, later):
        assert {k: reading[k] for k in PRICE} == expected
    assert detailed["reservations"][0]["details"] is not None
    assert record["status"] == row["status"] == "CheckedOut"
    assert record["balance"] == row["balance"] == {"amount": 0.0, "currency": "USD"}


@pytest.mark.parametrize("mode", MODES)
async def test_a_stay_over_a_weekend_totals_the_same_in_the_offer_the_record_and_every_list(
        server: ServerThread, hotel: Any, mode: Mode) -> None:
    """OPERA prices a stay night by night: the bed-and-breakfast package costs more on Friday and Saturday nights,
    so a stay from Thursday to Sunday has two nightly rates. A search row carries one night's rateAmount and its
    own totalAmount; the old reading stretched the first night's rate over the stay (3 x the Thursday price), so a
    list disagreed with get_reservation and with the offer the guest booked."""
    today: date = hotel.business_date
    thursday = today + timedelta(days=14 + (3 - today.weekday()) % 7)
    sunday = thursday + timedelta(days=3)
    plan = hotel.rate_plans["PKG"]
    stay = {"arrival": thursday.isoformat(), "departure": sunday.isoformat(), "adults": 2, "rate_plans": ["PKG"]}
    async with mcp_client(server.url, mode=mode) as client:
        report = await call_ok(client, "check_availability", {**stay, "only_bookable": True})
        offer = report["offers"][0]
        nights = [thursday + timedelta(days=n) for n in range(3)]
        prices = [plan.price_on(offer["room_type"], night) for night in nights]
        assert prices[1] == prices[2] > prices[0], "the package's weekend nights cost more"
        assert [(p["start"], p["amount"]["amount"]) for p in offer["nightly"]] == [
            (thursday.isoformat(), prices[0]), (nights[1].isoformat(), prices[1])]
        total = {"amount": pytest.approx(sum(prices)), "currency": "USD"}
        assert offer["total"] == total

        booked = await call_ok(client, "create_reservation", {
            "arrival": thursday.isoformat(), "departure": sunday.isoformat(), "room_type": offer["room_type"],
            "rate_plan": "PKG", "adults": 2, "given_name": "Wren", "surname": "Weekender"})
        record = await call_ok(client, "get_reservation", {"reservation_id": booked["reservation_id"]})
        rows = await call_ok(client, "search_reservations", {"surname": "Weekender"})
        arriving = await call_ok(client, "list_arrivals", {"date": thursday.isoformat(), "limit": 100})
    listed = next(r for r in arriving["items"] if r["reservation_id"] == booked["reservation_id"])
    expected = {"rate_amount": {"amount": prices[0], "currency": "USD"}, "nights": 3, "total": total}
    for reading in (booked["reservation"], record, rows["reservations"][0], listed):
        assert {k: reading[k] for k in PRICE} == expected
    assert hotel.reservations[booked["reservation_id"]].total == pytest.approx(sum(prices))


#: A name an agent would read as a tool: a verb of this server's tools, then the rest in snake_case.
TOOL_LIKE = re.compile(
    r"\b(?:list|get|find|search|check|assign|modify|cancel|reinstate|post|update|set|create|correct|health)"
    r"_[a-z_]+\b"
)
ARGUMENT = re.compile(r"\b([a-z][a-z_]*)=")


def unusable_steps(message: str, schemas: dict[str, set[str]]) -> list[str]:
    """What in a refusal's next steps cannot be called: a tool the server does not offer, or an argument the tool
    named last before it does not take."""
    problems: list[str] = []
    last_tool: str | None = None
    for token in re.finditer(rf"{TOOL_LIKE.pattern}|{ARGUMENT.pattern}", message):
        word = token.group(0)
        if word.endswith("="):
            name = word[:-1]
            if last_tool is None or name not in schemas[last_tool]:
                problems.append(f"{name}= after {last_tool}")
        elif word in schemas:
            last_tool = word
        else:
            problems.append(f"no tool {word}")
    return problems


@pytest.mark.parametrize("mode", MODES)
async def test_every_next_step_of_a_refusal_names_a_tool_and_arguments_that_exist(
        server: ServerThread, hotel: Any, mode: Mode) -> None:
    today: date = hotel.business_date
    by_id = sorted(hotel.reservations.values(), key=lambda r: int(r.reservation_id))
    future = next(r for r in by_id if r.status == "Reserved" and r.arrival > today)
    cancelled = next(r for r in by_id if r.status == "Cancelled")
    checked_out = next(r for r in by_id if r.status == "CheckedOut")
    in_house = next(r for r in by_id if r.status == "InHouse" and r.departure > today)
    async with mcp_client(server.url, mode=mode, elicitation_callback=accept) as client:
        due = await due_in(client, hotel, "KNG")
        other_type = next(t for t in hotel.room_types if t != due.room_type)
        tools = (await client.list_tools()).tools
        schemas = {t.name: set((t.input_schema or {}).get("properties", {})) for t in tools}
        calls: list[tuple[str, dict[str, Any]]] = [
            ("assign_room", {"reservation_id": due.reservation_id, "room_id": "9999"}),
            ("assign_room", {"reservation_id": due.reservation_id,
                             "room_id": next(r.room_id for r in hotel.rooms.values() if r.room_type == other_type)}),
            ("find_available_rooms", {"reservation_id": due.reservation_id, "room_type": other_type}),
            ("find_available_rooms", {"room_type": "ZZZ"}),
            ("check_in", {"reservation_id": future.reservation_id}),
            ("check_out", {"reservation_id": future.reservation_id}),
            ("check_out", {"reservation_id": in_house.reservation_id}),
            ("get_reservation", {"reservation_id": future.reservation_id,
                                 "confirmation_number": future.confirmation_number}),
            ("get_reservation", {"reservation_id": "999999999"}),
            ("cancel_reservation", {"reservation_id": cancelled.reservation_id, "confirm": True}),
            ("modify_reservation", {"reservation_id": cancelled.reservation_id, "adults": 2}),
            ("modify_reservation", {"reservation_id": checked_out.reservation_id, "adults": 2}),
            ("get_folio", {"reservation_id": future.reservation_id}),
            ("search_reservations", {"detail": True, "all_pages": True}),
        ]
        refusals = {f"{name} {args}": await call_error(client, name, args) for name, args in calls}
    problems = {call: found for call, text in refusals.items() if (found := unusable_steps(text, schemas))}
    assert not problems, problems
    assert all(TOOL_LIKE.search(text) for text in refusals.values()), refusals  # each says what to call instead


@pytest.mark.parametrize("mode", MODES)
async def test_get_reservation_shows_the_card_on_file_a_card_refusal_points_to(
        server: ServerThread, hotel: Any, mode: Mode) -> None:
    guest = next(r for r in sorted(hotel.reservations.values(), key=lambda r: int(r.reservation_id))
                 if r.status == "InHouse" and any(c.payment_method == r.payment_method for c in r.cards))
    card = next(c for c in guest.cards if c.payment_method == guest.payment_method)
    async with mcp_client(server.url, mode=mode) as client:
        record = await call_ok(client, "get_reservation", {"reservation_id": guest.reservation_id})
    assert record["payment_method"] == guest.payment_method
    assert record["card_on_file"] == f"{card.card_type} ending {card.last_four}"


@pytest.mark.parametrize("mode", MODES)
async def test_next_steps_name_only_tools_this_server_offers(mode: Mode) -> None:
    settings, port = embedded_settings(toolsets="front_desk,billing")
    with running_app(settings, port) as srv:
        hotel = srv.app.state.sandbox.enterprise.hotels["SAND01"]
        by_id = sorted(hotel.reservations.values(), key=lambda r: int(r.reservation_id))
        due = next(r for r in by_id if hotel.computed_status(r) == "DueIn" and r.room_id is None)
        future = next(r for r in by_id if r.status == "Reserved" and r.arrival > hotel.business_date)
        other_type = next(t for t in hotel.room_types if t != due.room_type)
        async with mcp_client(srv.url, mode=mode) as client:
            tools = (await client.list_tools()).tools
            schemas = {t.name: set((t.input_schema or {}).get("properties", {})) for t in tools}
            calls: list[tuple[str, dict[str, Any]]] = [
                ("find_available_rooms", {"reservation_id": due.reservation_id, "room_type": other_type}),
                ("check_in", {"reservation_id": future.reservation_id}),
                ("check_in", {"reservation_id": "999999999"}),
                ("assign_room", {"reservation_id": due.reservation_id, "room_id": "9999"}),
            ]
            refusals = {f"{name} {args}": await call_error(client, name, args) for name, args in calls}
    assert "modify_reservation" not in schemas and "update_room_status" not in schemas
    problems = {call: found for call, text in refusals.items() if (found := unusable_steps(text, schemas))}
    assert not problems, problems


@pytest.mark.parametrize("mode", MODES)
async def test_a_same_day_check_out_names_a_next_step_that_succeeds_as_a_day_use(
        server: ServerThread, hotel: Any, mode: Mode) -> None:
    """A guest who arrived today leaves today: the refusals say what to send, and the call they name makes the stay
    a day use (putForEarlyDeparture), has OPERA post the day's room and tax once, settles and checks out."""
    async with mcp_client(server.url, mode=mode, elicitation_callback=accept) as client:
        await clean_rooms(client, hotel, "KNG")
        guest = await due_in(client, hotel, "KNG")
        booked_until = guest.departure.isoformat()
        await call_ok(client, "check_in", {"reservation_id": guest.reservation_id})
        since = len(server.app.state.sandbox.requests)
        plain = await call_error(client, "check_out", {"reservation_id": guest.reservation_id, "confirm": True})
        unpaid = await call_error(client, "check_out", {"reservation_id": guest.reservation_id,
                                                        "early_departure": True, "confirm": True})
        refused = [e.operation_id for e in server.app.state.sandbox.requests[since:]]
        done = await call_ok(client, "check_out", {"reservation_id": guest.reservation_id, "early_departure": True,
                                                   "payment_method": "CA", "confirm": True})
    assert "early_departure=true" in plain and "day use" in plain and "nothing was changed" in plain
    assert "payment_method" in unpaid and "day use" in unpaid and "nothing was changed" in unpaid
    assert not {"putForEarlyDeparture", "postRoomAndTaxForDayUse", "postCheckOut"} & set(refused)
    stay = hotel.reservations[guest.reservation_id]
    assert stay.status == "CheckedOut" and stay.arrival == stay.departure == hotel.business_date
    charges = [(p.transaction_code, p.amount) for w in stay.folio_windows.values() for p in w.postings
               if p.transaction_type == "Revenue"]
    assert charges == [("1000", stay.rate_amount), ("1100", round(stay.rate_amount * hotel.room_tax_rate, 2))]
    assert done["settled"]["amount"] == pytest.approx(stay.rate_amount + charges[1][1])
    assert done["departure_changed_from"] == booked_until
