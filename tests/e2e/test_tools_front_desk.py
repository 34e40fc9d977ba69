"""Front-desk tools through the MCP SDK client over HTTP, against our app with its embedded sandbox: arrivals,
departures, in-house, free rooms, room assignment, check-in (room picked by the server) and check-out."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest

from app.sandbox.state import nights_between
from tests.support.mcp_client import call_error, call_ok, mcp_client
from tests.support.servers import ServerThread

#: "today" in the embedded sandbox of the e2e `server` fixture (tests/e2e/conftest.py).
BUSINESS_DATE = "2026-05-01"


def due_in_without_room(hotel: Any) -> list[Any]:
    """Stays due in today that have no room yet."""
    return [r for r in hotel.reservations.values() if hotel.computed_status(r) == "DueIn" and r.room_id is None]


def free_ready_rooms(hotel: Any) -> list[Any]:
    """Vacant Clean or Inspected rooms that no reserved or in-house stay holds (so OPERA will assign them)."""
    held = {r.room_id for r in hotel.reservations.values() if r.status in ("Reserved", "InHouse") and r.room_id}
    return [
        room for room in hotel.rooms.values()
        if room.room_status in ("Clean", "Inspected") and hotel.front_office_status(room.room_id) == "Vacant"
        and room.room_id not in held
    ]


async def test_arrivals_of_a_day_list_every_due_in_guest_with_progress(server: ServerThread, hotel: Any) -> None:
    due_in = {r.reservation_id for r in hotel.reservations.values() if hotel.computed_status(r) == "DueIn"}
    progress: list[float] = []

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        progress.append(done)

    async with mcp_client(server.url) as client:
        result = await client.call_tool(
            "list_arrivals", {"date": BUSINESS_DATE, "all_pages": True}, progress_callback=on_progress
        )
    assert not result.is_error
    listing = result.structured_content
    assert listing is not None
    assert listing["listing"] == "arrivals" and listing["date"] == BUSINESS_DATE
    listed = {row["reservation_id"] for row in listing["items"]}
    assert due_in and due_in <= listed
    assert all(row["arrival"] == BUSINESS_DATE for row in listing["items"])
    assert listing["page"]["has_more"] is False
    assert progress and progress[-1] == len(listing["items"])


async def test_arrivals_page_by_page(server: ServerThread) -> None:
    async with mcp_client(server.url) as client:
        first = await call_ok(client, "list_arrivals", {"date": BUSINESS_DATE, "limit": 2})
        assert first["page"]["count"] == 2 and first["page"]["has_more"] is True
        second = await call_ok(client, "list_arrivals", {"date": BUSINESS_DATE, "limit": 2,
                                                         "offset": first["page"]["next_offset"]})
    assert not {r["reservation_id"] for r in first["items"]} & {r["reservation_id"] for r in second["items"]}


async def test_a_limit_over_100_is_refused(server: ServerThread) -> None:
    async with mcp_client(server.url) as client:
        error = await call_error(client, "list_arrivals", {"limit": 500})
    assert "limit" in error and "100" in error


async def test_departures_and_in_house_by_room(server: ServerThread, hotel: Any) -> None:
    due_out = {r.reservation_id for r in hotel.reservations.values() if hotel.computed_status(r) == "DueOut"}
    guest = next(r for r in hotel.reservations.values() if r.status == "InHouse" and r.room_id)
    async with mcp_client(server.url, mode="legacy") as client:
        departures = await call_ok(client, "list_departures", {"date": BUSINESS_DATE, "limit": 100})
        in_room = await call_ok(client, "list_in_house", {"room_id": guest.room_id})
    assert due_out and due_out <= {r["reservation_id"] for r in departures["items"]}
    assert all(r["departure"] == BUSINESS_DATE for r in departures["items"])
    assert [r["reservation_id"] for r in in_room["items"]] == [guest.reservation_id]
    assert in_room["items"][0]["room_id"] == guest.room_id


async def test_arrivals_and_departures_of_another_day_are_that_days(server: ServerThread, hotel: Any) -> None:
    """OPERA applies a search type on the search's stayDate, the business date when none is sent: the old client
    sent only an arrival (departure) date range, so another day's list was the business date's arrivals that also
    arrive that day: none."""
    day = "2026-05-03"
    arriving = {r.reservation_id for r in hotel.reservations.values()
                if r.status == "Reserved" and r.arrival.isoformat() == day}
    leaving = {r.reservation_id for r in hotel.reservations.values()
               if r.status in ("Reserved", "InHouse") and r.departure.isoformat() == day}
    async with mcp_client(server.url) as client:
        arrivals = await call_ok(client, "list_arrivals", {"date": day, "all_pages": True})
        departures = await call_ok(client, "list_departures", {"date": day, "all_pages": True})
    assert arriving and leaving
    assert {r["reservation_id"] for r in arrivals["items"]} == arriving
    assert {r["reservation_id"] for r in departures["items"]} == leaving


async def test_a_search_type_applies_on_its_stay_date(server: ServerThread, hotel: Any) -> None:
    day = "2026-05-03"
    arriving = {r.reservation_id for r in hotel.reservations.values()
                if r.status == "Reserved" and r.arrival.isoformat() == day}
    async with mcp_client(server.url) as client:
        searched = await call_ok(client, "search_reservations", {"search_type": "Arrival", "stay_date": day,
                                                                 "all_pages": True})
        today = await call_ok(client, "search_reservations", {"search_type": "Arrival", "all_pages": True})
        no_type = await call_error(client, "search_reservations", {"stay_date": day})
    assert arriving and {r["reservation_id"] for r in searched["reservations"]} == arriving
    assert {r["arrival"] for r in today["reservations"]} == {BUSINESS_DATE}
    assert "stay_date is the day a search_type applies to" in no_type


async def test_departures_and_in_house_refuse_bad_dates_and_hotels(server: ServerThread) -> None:
    async with mcp_client(server.url) as client:
        bad_date = await call_error(client, "list_departures", {"date": "next friday"})
        bad_hotel = await call_error(client, "list_in_house", {"hotel_id": "SAND 01"})
        unknown_hotel = await call_error(client, "list_in_house", {"hotel_id": "NOPE9"})
    assert "date" in bad_date and "next friday" in bad_date
    assert "not a valid OPERA hotel code" in bad_hotel
    assert "NOPE9" in unknown_hotel and "in_house" in unknown_hotel


async def test_free_rooms_are_vacant_clean_rooms_of_the_type(server: ServerThread, hotel: Any) -> None:
    async with mcp_client(server.url) as client:
        rooms = await call_ok(client, "find_available_rooms", {"room_type": "KNG", "limit": 100})
        dirty = await call_ok(client, "find_available_rooms", {"room_type": "KNG", "room_status": ["Dirty"],
                                                               "vacant_only": False, "limit": 100})
    assert rooms["rooms"]
    for room in rooms["rooms"]:
        assert room["room_type"] == "KNG" and room["front_office_status"] == "Vacant"
        assert room["room_status"] in ("Clean", "Inspected")
    # Rooms held tonight, by a stay due in today or a guest staying on, are not free, whatever their status
    # (assign_room would refuse them); a room whose guest leaves today is.
    today = hotel.business_date
    held = {r.room_id for r in hotel.reservations.values()
            if r.room_id and (hotel.computed_status(r) == "DueIn" or (r.status == "InHouse" and r.departure > today))}
    expected_dirty = {r.room_id for r in hotel.rooms.values()
                      if r.room_type == "KNG" and r.room_status == "Dirty" and r.room_id not in held}
    assert {r["room_id"] for r in dirty["rooms"]} == expected_dirty


async def test_an_unknown_room_type_is_refused_with_the_hotels_types(server: ServerThread) -> None:
    async with mcp_client(server.url) as client:
        error = await call_error(client, "find_available_rooms", {"room_type": "PENTHOUSE9"})
    assert "PENTHOUSE9" in error and "KNG" in error


async def test_assigning_a_room_of_another_type_says_which_type_was_booked(server: ServerThread, hotel: Any) -> None:
    reservation = due_in_without_room(hotel)[0]
    wrong = next(room.room_id for room in free_ready_rooms(hotel) if room.room_type != reservation.room_type)
    sandbox = server.app.state.sandbox
    seen = len(sandbox.requests)
    async with mcp_client(server.url) as client:
        error = await call_error(client, "assign_room", {"reservation_id": reservation.reservation_id,
                                                         "room_id": wrong})
    # Refused before OPERA is asked, naming rooms of the booked type that can be given.
    assert "postRoomAssignment" not in {e.operation_id for e in sandbox.requests[seen:]}
    assert f"the stay booked {reservation.room_type}" in error and "nothing was changed" in error
    assert "assign_room with one of" in error and "find_available_rooms" in error
    assert hotel.reservations[reservation.reservation_id].room_id is None


async def test_assign_room_then_check_in_keeps_that_room(server: ServerThread, hotel: Any) -> None:
    reservation = due_in_without_room(hotel)[0]
    room = next(room.room_id for room in free_ready_rooms(hotel) if room.room_type == reservation.room_type)
    async with mcp_client(server.url) as client:
        assigned = await call_ok(client, "assign_room", {"reservation_id": reservation.reservation_id,
                                                         "room_id": room})
        checked_in = await call_ok(client, "check_in", {"reservation_id": reservation.reservation_id})
    assert assigned["room_id"] == room
    assert checked_in["room_id"] == room and checked_in["room_chosen_by"] == "reservation"
    assert hotel.reservations[reservation.reservation_id].status == "InHouse"


async def test_check_in_into_an_assigned_room_that_turned_dirty_is_refused_before_opera_is_asked(
        server: ServerThread, hotel: Any) -> None:
    """postCheckIn goes with ignoreWarnings, and a room whose status needs review is one of the warnings OPERA then
    lets through: the old check-in put the guest in the dirty room. The assigned room is read first; a room that is
    not Vacant and Clean or Inspected is refused, naming its status, and nothing is sent."""
    reservation = due_in_without_room(hotel)[1]
    room = next(room.room_id for room in free_ready_rooms(hotel) if room.room_type == reservation.room_type)
    sandbox = server.app.state.sandbox
    async with mcp_client(server.url) as client:
        await call_ok(client, "assign_room", {"reservation_id": reservation.reservation_id, "room_id": room})
        await call_ok(client, "update_room_status", {"room_ids": [room], "room_status": "Dirty"})
        since = len(sandbox.requests)
        error = await call_error(client, "check_in", {"reservation_id": reservation.reservation_id})
        named = await call_error(client, "check_in", {"reservation_id": reservation.reservation_id,
                                                      "room_id": room})
        sent = [e.operation_id for e in sandbox.requests[since:]]
        await call_ok(client, "update_room_status", {"room_ids": [room], "room_status": "Clean"})
        done = await call_ok(client, "check_in", {"reservation_id": reservation.reservation_id})
    assert f"room {room}" in error and "is Dirty" in error and "nothing was changed" in error
    assert "find_available_rooms" in error and "update_room_status" in error
    assert "is Dirty" in named
    assert "postCheckIn" not in sent
    assert done["room_id"] == room and done["room_chosen_by"] == "reservation" and not [
        w for w in done["warnings"] if "ROOM_NOT_READY" in str(w)]
    assert hotel.reservations[reservation.reservation_id].status == "InHouse"


async def test_check_in_picks_a_clean_vacant_room_of_the_booked_type(server: ServerThread, hotel: Any) -> None:
    reservation = due_in_without_room(hotel)[0]
    steps: list[str] = []

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        steps.append(message or "")

    async with mcp_client(server.url) as client:
        result = await client.call_tool("check_in", {"reservation_id": reservation.reservation_id},
                                        progress_callback=on_progress)
    assert not result.is_error, result.content
    done = result.structured_content
    assert done is not None
    assert done["room_chosen_by"] == "server" and done["room_type"] == reservation.room_type
    # The stay arrived today: in house, or due out when it also leaves today (what the hotel itself computes).
    assert done["status"] == hotel.computed_status(hotel.reservations[reservation.reservation_id])
    room = hotel.rooms[done["room_id"]]
    assert room.room_type == reservation.room_type and room.room_status in ("Clean", "Inspected")
    assert hotel.reservations[reservation.reservation_id].status == "InHouse"
    assert hotel.front_office_status(done["room_id"]) == "Occupied"
    assert steps and steps[-1] == "checked in"


async def test_check_in_of_a_future_stay_is_refused_as_not_due_in(server: ServerThread, hotel: Any) -> None:
    future = next(r for r in hotel.reservations.values() if r.status == "Reserved" and r.arrival > hotel.business_date)
    async with mcp_client(server.url) as client:
        error = await call_error(client, "check_in", {"reservation_id": future.reservation_id})
    assert "DueIn" in error or "due in" in error
    assert future.arrival.isoformat() in error and "list_arrivals" in error
    assert future.status == "Reserved"


async def test_check_in_without_a_clean_room_names_the_dirty_ones(server: ServerThread, hotel: Any) -> None:
    due_in_types = {r.room_type for r in due_in_without_room(hotel)}

    def ready_rooms(room_type: str) -> list[str]:
        return [room.room_id for room in hotel.rooms.values()
                if room.room_type == room_type and room.room_status in ("Clean", "Inspected")
                and hotel.front_office_status(room.room_id) == "Vacant"]

    room_type = min(due_in_types, key=lambda t: len(ready_rooms(t)))
    reservation = next(r for r in due_in_without_room(hotel) if r.room_type == room_type)
    to_dirty = ready_rooms(room_type)
    was = {room_id: hotel.rooms[room_id].room_status for room_id in to_dirty}
    async with mcp_client(server.url) as client:
        for start in range(0, len(to_dirty), 50):
            await call_ok(client, "update_room_status", {"room_ids": to_dirty[start:start + 50],
                                                         "room_status": "Dirty"})
        error = await call_error(client, "check_in", {"reservation_id": reservation.reservation_id})
        for status in ("Clean", "Inspected"):  # put the rooms back for the other tests of this module
            rooms = [room_id for room_id, before in was.items() if before == status]
            for start in range(0, len(rooms), 50):
                await call_ok(client, "update_room_status", {"room_ids": rooms[start:start + 50],
                                                             "room_status": status})
    assert f"no Vacant Clean or Inspected {room_type} room" in error
    held = {r.room_id for r in hotel.reservations.values() if r.status == "Reserved" and r.room_id
            and r.reservation_id != reservation.reservation_id and r.arrival < reservation.departure}
    free_dirty = [room for room in to_dirty if room not in held]  # the rooms cleaning would make assignable
    assert (free_dirty[0] if free_dirty else "still to be cleaned: none") in error and "update_room_status" in error
    assert hotel.reservations[reservation.reservation_id].status == "Reserved"


async def test_check_out_with_an_open_balance_is_refused_with_the_amount_and_next_step(
    server: ServerThread, hotel: Any
) -> None:
    guest = next(r for r in hotel.reservations.values()
                 if r.status == "InHouse" and r.balance > 0 and hotel.computed_status(r) == "DueOut")
    async with mcp_client(server.url) as client:
        error = await call_error(client, "check_out", {"reservation_id": guest.reservation_id, "confirm": True})
    assert f"{guest.balance:.2f} USD" in error and "post_payment" in error and "payment_method" in error
    assert guest.status == "InHouse"


async def test_check_out_settles_the_balance_and_frees_the_room_for_housekeeping(
    server: ServerThread, hotel: Any
) -> None:
    # A card payment is taken from the reservation's card on file of that method.
    guest = next(r for r in hotel.reservations.values()
                 if r.status == "InHouse" and r.balance > 0 and hotel.computed_status(r) == "DueOut"
                 and any(c.payment_method == "VA" for c in r.cards))
    owed = guest.balance
    async with mcp_client(server.url) as client:
        done = await call_ok(client, "check_out", {"reservation_id": guest.reservation_id, "payment_method": "va",
                                                   "confirm": True})
    assert done["status"] == "CheckedOut" and done["room_id"] == guest.room_id
    assert done["settled"] == {"amount": pytest.approx(owed), "currency": "USD"}
    assert guest.status == "CheckedOut" and guest.balance == 0
    assert hotel.rooms[guest.room_id].room_status == "Dirty"
    assert hotel.front_office_status(guest.room_id) == "Vacant"


async def test_a_card_number_as_payment_method_is_refused_and_never_repeated(server: ServerThread, hotel: Any) -> None:
    guest = next(r for r in hotel.reservations.values() if r.status == "InHouse" and r.balance > 0)
    card = "4111 1111 1111 1111"
    async with mcp_client(server.url) as client:
        error = await call_error(client, "check_out", {"reservation_id": guest.reservation_id,
                                                       "payment_method": card, "confirm": True})
    assert "holds what looks like a payment card number" in error and "payment_method" in error
    assert "4111" not in error and not re.search(r"\d{4} \d{4}", error)
    assert guest.status == "InHouse"



async def test_an_early_departure_is_named_then_shortened_to_the_business_date_and_checked_out(
    server: ServerThread, hotel: Any
) -> None:
    """OPERA checks out only a guest due out; one leaving early has the departure moved first (REAL-OPERA 5)."""
    guest = next(r for r in hotel.reservations.values()
                 if r.status == "InHouse" and r.balance > 0 and r.departure > hotel.business_date)
    booked_until = guest.departure
    async with mcp_client(server.url) as client:
        error = await call_error(client, "check_out", {"reservation_id": guest.reservation_id,
                                                       "payment_method": "CA", "confirm": True})
        assert guest.status == "InHouse" and guest.departure == booked_until and guest.balance > 0
        out = await call_ok(client, "check_out", {"reservation_id": guest.reservation_id, "payment_method": "CA",
                                                  "early_departure": True, "confirm": True})
    assert "early_departure=true" in error and booked_until.isoformat() in error
    assert out["status"] == "CheckedOut" and out["departure_changed_from"] == booked_until.isoformat()
    assert guest.status == "CheckedOut" and guest.departure == hotel.business_date and guest.balance == 0


def leaving_early_on_a_non_refundable_rate(hotel: Any, skip: int = 0) -> Any:
    """An in-house guest with two nights or more left, put on the sandbox's advance-purchase rate, whose
    early-departure rule charges the nights booked and not stayed."""
    guests = [r for r in hotel.reservations.values() if r.status == "InHouse" and r.balance > 0
              and r.arrival < hotel.business_date and (r.departure - hotel.business_date).days >= 2]
    guest = guests[skip]
    guest.rate_plan = "ADV"
    return guest


async def test_an_early_departure_shows_posts_and_settles_operas_penalty(server: ServerThread, hotel: Any) -> None:
    """verifyForEarlyDeparture names the penalty the property's rules charge. The old client never asked, sent
    postEarlyDeparturePenalty=false and checked the guest out: the hotel lost the nights its non-refundable rate
    charges, and the human who said yes was never told of them."""
    guest = leaving_early_on_a_non_refundable_rate(hotel)
    nights = (guest.departure - hotel.business_date).days
    penalty = round(sum(guest.rate_on(night) for night in nights_between(hotel.business_date, guest.departure)), 2)
    owed = guest.balance
    args = {"reservation_id": guest.reservation_id, "payment_method": "CA", "early_departure": True}
    async with mcp_client(server.url) as client:
        asked = await call_error(client, "check_out", args)
        unpaid = await call_error(client, "check_out", {"reservation_id": guest.reservation_id,
                                                        "early_departure": True, "confirm": True})
        out = await call_ok(client, "check_out", {**args, "confirm": True})
    assert (f"OPERA's early-departure penalty of {penalty:.2f} USD (⟦Non-refundable: the nights booked and not "
            "stayed are charged⟧) is posted and paid" in asked)
    assert f"early-departure penalty of {penalty:.2f} USD" in unpaid and "waive_early_departure_penalty" in unpaid
    assert out["early_departure_penalty"] == {"amount": penalty, "currency": "USD"}
    assert out["settled"]["amount"] == pytest.approx(owed + penalty)
    [posted] = [p for w in guest.folio_windows.values() for p in w.postings if p.transaction_code == "1050"]
    assert posted.amount == penalty and posted.reference == f"{nights} nights not stayed"
    assert guest.status == "CheckedOut" and guest.balance == 0


async def test_a_day_use_leaving_early_pays_its_day_and_the_penalty_for_the_nights_after_it(
    server: ServerThread, hotel: Any
) -> None:
    """Checked in today on the non-refundable rate, leaving today with two nights or more booked: OPERA posts the
    day's room and tax (a day use) and the penalty for the nights after it; one check-out pays both."""
    guest = next(r for r in hotel.reservations.values() if hotel.computed_status(r) == "DueIn"
                 and r.room_id is None and (r.departure - hotel.business_date).days >= 3)
    async with mcp_client(server.url) as client:
        await call_ok(client, "check_in", {"reservation_id": guest.reservation_id})
        guest.rate_plan = "ADV"
        after_today = nights_between(hotel.business_date + timedelta(days=1), guest.departure)
        penalty = round(sum(guest.rate_on(night) for night in after_today), 2)
        out = await call_ok(client, "check_out", {"reservation_id": guest.reservation_id, "payment_method": "CA",
                                                  "early_departure": True, "confirm": True})
    lines = [p for w in guest.folio_windows.values() for p in w.postings]
    assert [p.amount for p in lines if p.transaction_code == "1050"] == [penalty]
    day = sum(p.amount for p in lines if p.transaction_code in ("1000", "1100"))
    assert day > 0 and out["early_departure_penalty"] == {"amount": penalty, "currency": "USD"}
    assert out["settled"]["amount"] == pytest.approx(day + penalty)
    assert guest.status == "CheckedOut" and guest.balance == 0


async def test_a_waived_early_departure_penalty_is_shown_and_never_posted(server: ServerThread, hotel: Any) -> None:
    guest = leaving_early_on_a_non_refundable_rate(hotel, skip=1)
    penalty = round(sum(guest.rate_on(night) for night in nights_between(hotel.business_date, guest.departure)), 2)
    owed = guest.balance
    args = {"reservation_id": guest.reservation_id, "payment_method": "CA", "early_departure": True,
            "waive_early_departure_penalty": True}
    async with mcp_client(server.url) as client:
        asked = await call_error(client, "check_out", args)
        out = await call_ok(client, "check_out", {**args, "confirm": True})
    assert f"OPERA's early-departure penalty of {penalty:.2f} USD" in asked and "is waived" in asked
    assert out["penalty_waived"] == {"amount": penalty, "currency": "USD"} and out["early_departure_penalty"] is None
    assert out["settled"]["amount"] == pytest.approx(owed)
    assert not [p for w in guest.folio_windows.values() for p in w.postings if p.transaction_code == "1050"]
    assert guest.status == "CheckedOut" and guest.balance == 0


async def test_check_out_never_settles_a_window_billed_to_a_company_with_the_guests_method(
    server: ServerThread, hotel: Any
) -> None:
    """A company paying the meeting room has its charges on window 2, billed to it (getFolio's payeeInfo). The old
    check-out paid every window with the guest's method: the guest's cash or card paid the company's 120.00."""
    enterprise = server.app.state.sandbox.enterprise
    guest = next(r for r in hotel.reservations.values()
                 if r.status == "InHouse" and r.balance > 0 and hotel.computed_status(r) == "DueOut")
    company = enterprise.create_profile(given_name="", surname="Acme Travel", profile_type="Company")
    guest.folio_window(2).payee_profile_id = company.profile_id
    enterprise.post_charge("SAND01", guest.reservation_id, "2010", 120.0, folio_window=2, reference="meeting room")
    own = guest.folio_window(1).balance
    async with mcp_client(server.url) as client:
        error = await call_error(client, "check_out", {"reservation_id": guest.reservation_id,
                                                       "payment_method": "CA", "confirm": True})
        assert guest.status == "InHouse" and guest.folio_window(1).balance == own
        assert guest.folio_window(2).balance == 120.0
        folio = await call_ok(client, "get_folio", {"reservation_id": guest.reservation_id})
        # The company's payment is its own (here at the desk); then the check-out settles the guest's window only.
        await call_ok(client, "post_payment", {"reservation_id": guest.reservation_id, "payment_method": "CA",
                                               "amount": 120.0, "window": 2, "confirm": True})
        out = await call_ok(client, "check_out", {"reservation_id": guest.reservation_id, "payment_method": "CA",
                                                  "confirm": True})
    assert "window 2 owes 120.00 USD billed to ⟦Acme Travel⟧" in error and "post_payment with window=2" in error
    assert "changed nothing" in error
    billed = {w["window"]: w.get("payee_name") for w in folio["windows"]}
    assert billed[2] == "⟦Acme Travel⟧" and billed[1] == f"⟦{guest_name_of(enterprise, guest)}⟧"  # OPERA free text
    assert out["status"] == "CheckedOut" and out["settled"]["amount"] == pytest.approx(own)
    assert guest.folio_window(2).payments == 120.0 and guest.balance == 0


def guest_name_of(enterprise: Any, reservation: Any) -> str:
    profile = enterprise.profiles[reservation.profile_id]
    return f"{profile.given_name} {profile.surname}"
