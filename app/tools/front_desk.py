"""Front-desk toolset: today's arrivals, departures and in-house guests, free rooms, room assignment, check-in and
check-out (which settles the bill first when given a payment method)."""

from collections.abc import Awaitable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date as Date
from datetime import datetime, timedelta
from datetime import time as TimeOfDay
from typing import Annotated, Any, Literal

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, Field

from app.opera.business_date import BusinessDateAPI
from app.opera.cashiering import (
    EARLY_DEPARTURE_NOT_REQUIRED,
    CardOnFile,
    CashieringAPI,
    EarlyDepartureCheck,
    Folio,
    Posting,
)
from app.opera.errors import OperaBadRequestError, OperaError, OperaOutcomeUnknownError
from app.opera.front_office import (
    READY_STATUSES,
    FrontOfficeAPI,
    Room,
    RoomMove,
    Stay,
    WakeUpCall,
    unassignable_because,
    wake_up_text,
)
from app.opera.housekeeping import HousekeepingState
from app.opera.lov import ListsOfValuesAPI, codes_text
from app.opera.models import Money, OperaWarning, PageInfo, round_money
from app.opera.reservations import (
    Reservation,
    ReservationAlert,
    ReservationPage,
    ReservationsAPI,
    ReservationSummary,
)
from app.security.untrusted import guest_label
from app.tools.billing import (
    GuardedText,
    HotelId,
    card_for_payment,
    check_payment_method,
    pay,
    payment_label,
    payment_method_code,
)
from app.tools.previews import booking_of, day_text, guest_of, money_text, recall, remember, room_of
from app.tools.registry import ExactlyOnce, IdempotencyKey, ToolDef, ToolServices, read_reservation, tool_error

ReservationId = Annotated[
    str,
    Field(
        min_length=1,
        max_length=40,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="OPERA internal reservation id (reservation_id from list_arrivals or search_reservations)",
    ),
]
RoomNumber = Annotated[str, Field(min_length=1, max_length=20, pattern=r"^[A-Za-z0-9_-]+$", description="room number")]
RoomTypeCode = Annotated[
    str, Field(min_length=1, max_length=20, pattern=r"^[A-Za-z0-9_-]+$", description="room type code, e.g. KNG")
]
Limit = Annotated[int, Field(ge=1, le=100, description="page size (1..100)")]
Offset = Annotated[int, Field(ge=0, description="index of the first row; use page.next_offset for the next page")]
AllPages = Annotated[
    bool, Field(description="true walks every page (up to 1000 guests) and reports progress; limit is then ignored")
]

#: check_in tries at most this many free rooms when OPERA refuses one (e.g. held for a later stay).
PICK_ATTEMPTS = 5
#: find_available_rooms reads at most this many pages to fill one answer with rooms that really qualify.
AVAILABLE_PAGES = 5

#: all_pages stops here, so one call cannot walk a whole chain's history.
MAX_ROWS = 1000
PAGE = 100
#: Statuses in which a stay can still be checked in / out.
CHECK_IN_READY = ("DueIn",)
CHECK_OUT_READY = ("InHouse", "DueOut", "CheckedIn", "PendingCheckout")
#: A wake-up call is set for at most this many mornings at once.
MAX_WAKE_UP_DAYS = 14
ClockTime = Annotated[str, Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$",
                                 description="the hotel's local time, HH:MM (24 h), e.g. 06:30")]
#: Statuses of a guest in a room, who is moved (moveInHouseGuest) rather than assigned a room.
IN_HOUSE_STATUSES = ("InHouse", "DueOut", "CheckedIn")


@dataclass(frozen=True)
class Listing:
    """A front-desk list: its name in results, OPERA's search type for it, and which date of a stay it is for."""

    name: str
    search_type: str
    day_field: Literal["arrival", "departure"] | None


ARRIVALS = Listing("arrivals", "Arrival", "arrival")
DEPARTURES = Listing("departures", "Departure", "departure")
IN_HOUSE = Listing("in_house", "InHouse", None)


class GuestList(BaseModel):
    """A page of reservations for one front-desk list."""

    hotel_id: str
    listing: str = Field(description="arrivals, departures or in_house")
    date: Date | None = Field(default=None, description="the day listed (arrivals and departures)")
    items: list[ReservationSummary]
    page: PageInfo


class AvailableRooms(BaseModel):
    hotel_id: str
    rooms: list[Room]
    page: PageInfo
    warnings: list[OperaWarning] = Field(default_factory=list)


class RoomAssigned(BaseModel):
    hotel_id: str
    reservation_id: str
    room_id: str
    do_not_move: bool = Field(description="the room is locked to the stay (OPERA's Do Not Move): it is not moved")
    warnings: list[OperaWarning] = Field(default_factory=list)
    next_step: str


class RoomMoved(BaseModel):
    hotel_id: str
    reservation_id: str
    guest_name: str | None = None
    from_room: str | None = Field(default=None, description="the room the guest left (null: already in room_id)")
    room_id: str = Field(description="the room the guest is in now")
    room_type: str | None = None
    moved: bool = Field(description="true when this call moved the guest; false when already in room_id")
    old_room_status: str | None = Field(default=None, description="the housekeeping status the room left was given")
    reason_code: str | None = Field(default=None, description="the hotel's room move reason sent to OPERA")
    moves: list[RoomMove] = Field(default_factory=list, description="the stay's room moves so far, oldest first")
    warnings: list[OperaWarning] = Field(default_factory=list)
    next_step: str


class WakeUpCalls(BaseModel):
    hotel_id: str
    reservation_id: str
    guest_name: str | None = None
    room_id: str | None = None
    changed: list[datetime] = Field(
        default_factory=list, description="the calls this call set or cancelled (none: they already were)")
    calls: list[WakeUpCall] = Field(description="the stay's pending wake-up calls now, by time")
    next_step: str


class CheckInUndone(BaseModel):
    hotel_id: str
    reservation_id: str
    guest_name: str | None = None
    undone: bool = Field(description="true when this call reversed the check-in; false when it was already reversed")
    status: str = Field(description="the reservation's status now, e.g. DueIn")
    room_id: str | None = Field(default=None, description="the room still assigned (null: given up)")
    room_status: str | None = Field(default=None, description="the housekeeping status the room was given")
    warnings: list[OperaWarning] = Field(default_factory=list)
    next_step: str


class CheckOutUndone(BaseModel):
    hotel_id: str
    reservation_id: str
    guest_name: str | None = None
    undone: bool = Field(description="true when this call reinstated the stay; false when the guest was already in "
                         "house")
    status: str = Field(description="the reservation's status now, e.g. DueOut")
    room_id: str | None = Field(default=None, description="the guest's room")
    departure: Date = Field(description="the departure OPERA holds now")
    warnings: list[OperaWarning] = Field(default_factory=list)
    next_step: str


class CheckInResult(BaseModel):
    hotel_id: str
    reservation_id: str
    confirmation_number: str | None = None
    guest_name: str | None = None
    room_id: str = Field(description="the room the guest is now in")
    room_type: str | None = None
    room_chosen_by: Literal["caller", "reservation", "server"] = Field(
        description="caller: room_id was given; reservation: it was already assigned; server: picked automatically"
    )
    status: str = Field(description="reservation status after check-in")
    departure: Date | None = None
    alerts: list[ReservationAlert] = Field(
        default_factory=list, description="OPERA's check-in alerts for this stay: tell the guest or the desk"
    )
    warnings: list[OperaWarning] = Field(default_factory=list)


class CheckOutResult(BaseModel):
    hotel_id: str
    reservation_id: str
    guest_name: str | None = None
    room_id: str | None = Field(default=None, description="the room, now Vacant and left for housekeeping")
    payments: list[Posting] = Field(default_factory=list, description="payments this call posted to settle the bill")
    settled: Money | None = Field(default=None, description="total this call paid")
    status: str = Field(description="reservation status after check-out")
    departure_changed_from: Date | None = Field(
        default=None, description="early departure: the departure booked before this call moved it to today"
    )
    alerts: list[ReservationAlert] = Field(
        default_factory=list, description="OPERA's check-out alerts for this stay: tell the guest or the desk"
    )
    early_departure_penalty: Money | None = Field(
        default=None, description="early departure: the penalty OPERA's rules charge, posted and settled by this call"
    )
    penalty_waived: Money | None = Field(
        default=None, description="early departure: the penalty OPERA named and this call did not post (waived)"
    )
    warnings: list[OperaWarning] = Field(default_factory=list)


def build(services: ToolServices) -> list[ToolDef]:
    reservations = ReservationsAPI(services.http)
    front_office = FrontOfficeAPI(services.http)
    cashiering = CashieringAPI(services.http, cashier_id=services.settings.effective_cashier_id)
    lov = ListsOfValuesAPI(services.http)
    business = BusinessDateAPI(services.http)
    metrics = services.metrics

    offered = services.offered

    async def business_today(hotel: str, tool: str, *, fresh: bool = False) -> Date:
        """The hotel's OPERA business date: "today" for arrivals, departures and check-out, never the clock."""
        try:
            return await business.today(hotel, fresh=fresh)
        except OperaError as exc:
            raise tool_error(
                exc, what=f"{tool}: reading the business date of {hotel}",
                next_step="retry, or give the date explicitly",
            ) from None

    async def guest_list(
        listing: Listing, hotel_id: str | None, *, day: Date | None, surname: str | None, room_id: str | None,
        limit: int, offset: int, all_pages: bool, ctx: Context | None,
    ) -> GuestList:
        """One page of a front-desk list, or with all_pages every page up to MAX_ROWS, reporting progress."""
        hotel = services.hotel(hotel_id)
        kind = listing.name
        if day is None and listing.day_field is not None:
            day = await business_today(hotel, f"list_{kind}")
        arrival = day if listing.day_field == "arrival" else None
        departure = day if listing.day_field == "departure" else None

        def fetch(size: int, start: int) -> Awaitable[ReservationPage]:
            return reservations.search(
                hotel, search_type=listing.search_type, stay_date=day, arrival_from=arrival, arrival_to=arrival,
                departure_from=departure, departure_to=departure, room_id=room_id, surname=surname, limit=size,
                offset=start,
            )

        try:
            if not all_pages:
                page = await fetch(limit, offset)
                return GuestList(hotel_id=hotel, listing=kind, date=day, items=page.items, page=page.page)
            items: list[ReservationSummary] = []
            at = offset
            last: ReservationPage | None = None
            while len(items) < MAX_ROWS:
                last = await fetch(PAGE, at)
                items.extend(last.items)
                at += len(last.items)
                if ctx is not None:
                    await ctx.report_progress(len(items), last.page.total, f"{len(items)} {kind} read")
                if not last.page.has_more or not last.items:
                    break
        except OperaError as exc:
            raise tool_error(
                exc, what=f"listing {kind} for {hotel}", next_step="check the date and hotel_id, or retry"
            ) from None
        items = items[:MAX_ROWS]
        more = bool(last and last.page.has_more)
        return GuestList(
            hotel_id=hotel, listing=kind, date=day, items=items,
            page=PageInfo(
                offset=offset, limit=len(items), count=len(items), total=last.page.total if last else None,
                has_more=more, next_offset=offset + len(items) if more else None,
            ),
        )

    async def list_arrivals(
        date: Annotated[
            Date | None, Field(description="arrival day, YYYY-MM-DD; default the hotel's OPERA business date")
        ] = None,
        surname: Annotated[str | None, Field(max_length=40, description="only guests with this surname")] = None,
        limit: Limit = 20,
        offset: Offset = 0,
        all_pages: AllPages = False,
        hotel_id: HotelId = None,
        ctx: Context | None = None,
    ) -> GuestList:
        return await guest_list(
            ARRIVALS, hotel_id, day=date, surname=surname, room_id=None, limit=limit, offset=offset,
            all_pages=all_pages, ctx=ctx,
        )

    async def list_departures(
        date: Annotated[
            Date | None, Field(description="departure day, YYYY-MM-DD; default the hotel's OPERA business date")
        ] = None,
        surname: Annotated[str | None, Field(max_length=40, description="only guests with this surname")] = None,
        limit: Limit = 20,
        offset: Offset = 0,
        all_pages: AllPages = False,
        hotel_id: HotelId = None,
        ctx: Context | None = None,
    ) -> GuestList:
        return await guest_list(
            DEPARTURES, hotel_id, day=date, surname=surname, room_id=None, limit=limit,
            offset=offset, all_pages=all_pages, ctx=ctx,
        )

    async def list_in_house(
        room_id: Annotated[str | None, Field(max_length=20, description="only the guest(s) in this room")] = None,
        surname: Annotated[str | None, Field(max_length=40, description="only guests with this surname")] = None,
        limit: Limit = 20,
        offset: Offset = 0,
        all_pages: AllPages = False,
        hotel_id: HotelId = None,
        ctx: Context | None = None,
    ) -> GuestList:
        return await guest_list(
            IN_HOUSE, hotel_id, day=None, surname=surname, room_id=room_id, limit=limit, offset=offset,
            all_pages=all_pages, ctx=ctx,
        )

    async def check_room_type(hotel: str, room_type: str) -> None:
        """Refuse a room type the hotel does not have, when its list of room types can be read."""
        try:
            known = await lov.room_types(hotel)
        except OperaError:
            return  # a courtesy check only; OHIP filters by whatever it is given
        codes = [t.code for t in known]
        if codes and room_type not in codes:
            raise ToolError(
                f"room type {room_type!r} does not exist in {hotel}; its room types are {', '.join(codes)}. "
                "Next step: call find_available_rooms with one of these"
            )

    @dataclass
    class FreeRooms:
        rooms: list[Room]
        warnings: list[OperaWarning]
        more: bool
        next_offset: int

    async def free_rooms(
        hotel: str, stay: Stay, *, statuses: Sequence[str] = READY_STATUSES, vacant_only: bool = True,
        floor: str | None = None, limit: int = 20, offset: int = 0,
    ) -> FreeRooms:
        """Rooms that can be assigned to `stay` (unassignable_because, the rule assign_room applies too), read fresh.

        OPERA is asked for the rooms free on the stay's nights; it may honour only part of the query
        (hotelFORoomStatus is the spec's name, Oracle's workflows say hotelRoomFrontOfficeStatus), so every row is
        checked again and pages are read until `limit` rooms qualify. next_offset counts server rows, so paging on
        from it never skips or repeats a room."""
        now = stay.arriving_today  # only a stay arriving today needs the room vacant and ready now
        rooms: list[Room] = []
        warnings: list[OperaWarning] = []
        at, more = offset, True
        for _ in range(AVAILABLE_PAGES):
            page = await front_office.rooms(
                hotel, room_statuses=list(statuses) if now else [],
                front_office_statuses=["Vacant"] if now and vacant_only else [],
                room_types=[stay.room_type] if stay.room_type else [], floor=floor, stay=stay,
                limit=max(limit, 50), offset=at, fresh=True,  # the answer is about to be assigned: never cached
            )
            warnings.extend(page.warnings)
            taken = 0
            for room in page.items:
                if len(rooms) == limit:
                    break
                taken += 1
                if room.condition is not None and not room.condition.available:
                    continue  # the hotel took it out of room assignment (a show room, a photo shoot)
                if unassignable_because(room, stay, statuses=statuses, vacant_only=vacant_only) is None:
                    rooms.append(room)
            at += taken
            more = page.page.has_more or taken < len(page.items)
            if len(rooms) == limit or not more or not page.items:
                break
        return FreeRooms(rooms=rooms, warnings=warnings, more=more, next_offset=at)

    def stay_of(reservation: Reservation, today: Date) -> Stay:
        """The nights a room is sought for: from the arrival, or for a guest already in house from today."""
        return Stay(
            arrival=max(reservation.arrival, today), departure=reservation.departure, today=today,
            room_type=reservation.room_type, reservation_id=reservation.reservation_id,
            own_room=reservation.room_id,
        )

    async def find_available_rooms(
        room_type: Annotated[RoomTypeCode | None, Field(description="only this room type, e.g. KNG")] = None,
        room_status: Annotated[
            list[HousekeepingState] | None,
            Field(max_length=4, description="housekeeping statuses to include; default Clean and Inspected"),
        ] = None,
        vacant_only: Annotated[
            bool, Field(description="false also lists Occupied rooms whose guest leaves today")
        ] = True,
        floor: Annotated[str | None, Field(max_length=10, description="only this floor")] = None,
        reservation_id: Annotated[
            ReservationId | None,
            Field(description="rooms this reservation can be given: its room type, free for all its nights"),
        ] = None,
        limit: Limit = 20,
        offset: Offset = 0,
        hotel_id: HotelId = None,
    ) -> AvailableRooms:
        hotel = services.hotel(hotel_id)
        statuses: list[str] = list(room_status) if room_status else list(READY_STATUSES)
        today = await business_today(hotel, "find_available_rooms")
        if reservation_id:
            reservation = await load_reservation(hotel, reservation_id, "find_available_rooms")
            if room_type and reservation.room_type and room_type != reservation.room_type:
                raise ToolError(
                    f"reservation {reservation_id} booked room type {reservation.room_type}, and assign_room gives "
                    f"it only a {reservation.room_type} room. Next step: leave room_type out"
                    + offered("modify_reservation", ", or change the booked room type with modify_reservation first",
                              ", or ask the front office to change the booked room type in OPERA first")
                )
            stay = stay_of(reservation, today)
            if reservation.room_locked and reservation.room_id:
                return await locked_room(hotel, reservation, stay, statuses=statuses, vacant_only=vacant_only)
        else:
            if room_type:
                await check_room_type(hotel, room_type)
            # A room for a guest now: free tonight.
            stay = Stay(arrival=today, departure=today + timedelta(days=1), today=today, room_type=room_type)
        try:
            found = await free_rooms(
                hotel, stay, statuses=statuses, vacant_only=vacant_only, floor=floor, limit=limit, offset=offset
            )
        except OperaError as exc:
            raise tool_error(exc, what=f"find_available_rooms in {hotel}", next_step="check the filters") from None
        return AvailableRooms(
            hotel_id=hotel, rooms=found.rooms, warnings=found.warnings,
            page=PageInfo(
                offset=offset, limit=limit, count=len(found.rooms), total=None, has_more=found.more,
                next_offset=found.next_offset if found.more else None,
            ),
        )

    async def locked_room(
        hotel: str, reservation: Reservation, stay: Stay, *, statuses: Sequence[str], vacant_only: bool
    ) -> AvailableRooms:
        """The one room a stay locked to its room (OPERA's Do Not Move) can be given: its own, when the rule allows."""
        own = reservation.room_id or ""
        try:
            rows = await front_office.rooms(
                hotel, from_room=own, to_room=own, stay=stay, window=False, limit=5, fresh=True
            )
        except OperaError as exc:
            raise tool_error(exc, what=f"find_available_rooms in {hotel}", next_step="retry") from None
        room = next((r for r in rows.items if r.room_id == own), None)
        why = "not listed by OPERA" if room is None else unassignable_because(
            room, stay, statuses=statuses, vacant_only=vacant_only)
        rooms = [room] if room is not None and why is None else []
        note = (f"reservation {reservation.reservation_id} is locked to room {own} (OPERA's Do Not Move): assign_room "
                "and check_in give it no other room")
        if why is not None:
            note += f"; room {own} cannot be given now: {why}"
        return AvailableRooms(
            hotel_id=hotel, rooms=rooms, warnings=[*rows.warnings, OperaWarning(code="DO_NOT_MOVE", message=note)],
            page=PageInfo(offset=0, limit=len(rooms) or 1, count=len(rooms), total=len(rooms), has_more=False),
        )

    def refuse_locked_move(reservation: Reservation, room_id: str, tool: str) -> None:
        """A stay the desk locked to its room (OPERA's Do Not Move) keeps it: another room is refused before OPERA is
        asked. postRoomAssignment would take the lock off or fail on it, and the desk locked it for the guest."""
        own = reservation.room_id
        if not reservation.room_locked or not own or room_id == own:
            return
        keep = f"check_in without room_id puts the guest in room {own}; " if tool == "check_in" else ""
        lift = offered(
            "assign_room",
            f"only if the human confirms the guest must move, lift the lock first with assign_room room_id={own} "
            f"do_not_move=false, then assign room {room_id}",
            "only the front office can lift the lock in OPERA, if the guest must move",
        )
        raise ToolError(
            f"{tool} refused: {stay_text(reservation)} is locked to room {own} (OPERA's Do Not Move, set so the guest "
            f"keeps that room); room {room_id} was not given and nothing was changed. Next step: {keep}{lift}"
        )

    def refuse_multi_room(reservation: Reservation, tool: str) -> None:
        """A reservation of several rooms is a booking, not a guest in a room: OPERA's check-in workflow splits it
        (putSplitMultiRoomReservation) into one reservation per room before a room is assigned or a guest checked in.
        Refused before OPERA is asked, naming the split."""
        if reservation.rooms < 2:
            return
        split = offered(
            "split_reservation",
            f"split_reservation reservation_id={reservation.reservation_id} makes it {reservation.rooms} "
            f"reservations of one room each; then {tool} each",
            "ask the front office to split it in OPERA into one reservation per room",
        )
        raise ToolError(
            f"{tool} refused: {stay_text(reservation)} holds {reservation.rooms} rooms, and OPERA gives a room to and "
            f"checks in one room per reservation; nothing was changed. Next step: {split}"
        )

    async def load_reservation(hotel: str, reservation_id: str, tool: str) -> Reservation:
        return await read_reservation(
            reservations, hotel, reservation_id, tool,
            find_with="list_arrivals or list_in_house" + offered("search_reservations", ", or search_reservations"),
        )

    async def assign_room(
        reservation_id: ReservationId,
        room_id: RoomNumber,
        do_not_move: Annotated[bool | None, Field(description=(
            "true locks the room to the stay (OPERA's Do Not Move); false lifts the lock (with the stay's own room); "
            "left out keeps the lock as OPERA has it"))] = None,
        hotel_id: HotelId = None,
    ) -> RoomAssigned:
        hotel = services.hotel(hotel_id)
        reservation = await load_reservation(hotel, reservation_id, "assign_room")
        refuse_multi_room(reservation, "assign_room")
        refuse_locked_move(reservation, room_id, "assign_room")
        lock = reservation.room_locked if do_not_move is None else do_not_move
        today = await business_today(hotel, "assign_room")
        stay = stay_of(reservation, today)
        try:
            noted = await refuse_unassignable(hotel, reservation, stay, room_id)
            done = await front_office.assign_room(hotel, reservation_id, room_id, lock_room=lock)
        except OperaError as exc:
            raise tool_error(
                exc, what=f"assign_room {room_id} to reservation {reservation_id}",
                next_step=f"find_available_rooms with reservation_id={reservation_id} lists the rooms it can be given",
            ) from None
        return RoomAssigned(
            hotel_id=hotel, reservation_id=reservation_id, room_id=room_id, do_not_move=lock,
            warnings=noted + done.warnings,
            next_step="check_in on the arrival day",
        )

    def stay_text(reservation: Reservation) -> str:
        return (f"reservation {reservation.reservation_id} ({guest_label(reservation.guest_name)}, "
                f"{reservation.room_type or 'no room type'}, {reservation.arrival.isoformat()} to "
                f"{reservation.departure.isoformat()})")

    async def refuse_unfit_room(
        hotel: str, reservation: Reservation, stay: Stay, room_id: str, *, tool: str, refused: str, none_free: str
    ) -> list[OperaWarning]:
        """Refuse, before OPERA is asked, a room the rule says cannot go to this stay (its room type, vacant, Clean
        or Inspected, in service and held by no other stay for `stay`'s nights), naming rooms that can: `tool` is
        the tool to call with one of them, `refused` the error's headline, `none_free` the next step when none is
        free. A room the hotel set a condition on may be given (a condition never stops the desk from selling it);
        the condition comes back as a warning, so the agent can tell the human."""
        room = await front_office.room(hotel, room_id, stay=stay)
        why = f"{hotel} has no room {room_id}" if room is None else unassignable_because(room, stay)
        if room is not None and why is None:
            return condition_warnings(room)
        alternatives = (await free_rooms(hotel, stay, limit=5)).rooms
        if alternatives:
            step = (f"{tool} with one of {', '.join(r.room_id for r in alternatives)} (find_available_rooms with "
                    f"reservation_id={reservation.reservation_id} lists them)")
        else:
            step = none_free
        raise ToolError(f"{refused}: {why}; nothing was changed. Next step: {step}")

    async def refuse_unassignable(
        hotel: str, reservation: Reservation, stay: Stay, room_id: str
    ) -> list[OperaWarning]:
        """refuse_unfit_room for assign_room, and for check_in into another room."""
        return await refuse_unfit_room(
            hotel, reservation, stay, room_id, tool="assign_room",
            refused=f"room {room_id} cannot be assigned to {stay_text(reservation)}",
            none_free=(f"no {stay.room_type or ''} room is free for all these nights; ask housekeeping to ready one"
                       + offered("update_room_status", " (update_room_status)")
                       + offered("modify_reservation", ", or change the room type or dates with modify_reservation",
                                 ", or ask the front office to change the room type or dates in OPERA")),
        )

    def condition_warnings(room: Room) -> list[OperaWarning]:
        condition = room.condition
        if condition is None:
            return []
        what = f"{condition.code} ({condition.description})" if condition.description else condition.code
        left_out = "" if condition.available else ", which keeps it out of the rooms OPERA offers for assignment"
        remarks = f"; remarks: {condition.remarks}" if condition.remarks else ""
        return [OperaWarning(
            code="ROOM_CONDITION",
            message=f"room {room.room_id} has the hotel's room condition {what}{left_out}{remarks}; tell the guest "
            "or the desk if it matters to the stay",
        )]

    async def refuse_unready(hotel: str, reservation: Reservation, room_id: str) -> list[OperaWarning]:
        """Refuse, before OPERA is asked, a check-in into the stay's own room while it is not Vacant and Clean or
        Inspected. postCheckIn is sent with ignoreWarnings (OPERA's warnings would stop every check-in), and a room
        whose status "needs to be reviewed" is one of the warnings it lets through: the guest would be given a
        dirty room."""
        room = await front_office.room(hotel, room_id)
        if room is None:
            return []  # OPERA says what is wrong with a room it does not list
        if room.front_office_status not in (None, "Vacant"):
            why = f"{room.front_office_status}"
        elif room.room_status not in READY_STATUSES:
            why = f"{room.room_status}, not {' or '.join(READY_STATUSES)}"
        else:
            return condition_warnings(room)
        raise ToolError(
            f"room {room_id}, assigned to {stay_text(reservation)}, is {why}; the guest was not checked in and "
            "nothing was changed. Next step: ask housekeeping to ready it"
            + offered("update_room_status", " (update_room_status once it is clean)")
            + f", or check_in with room_id of a ready room (find_available_rooms with reservation_id="
            f"{reservation.reservation_id} lists them)"
            + offered("queue_for_room", "; meanwhile queue_for_room puts the guest in OPERA's queue for rooms, so "
                      "housekeeping readies it first")
        )

    async def room_candidates(hotel: str, reservation: Reservation) -> list[str]:
        """Rooms the rule lets this stay have (vacant, ready, free for all its nights), Inspected before Clean."""
        room_type = reservation.room_type
        if not room_type:
            raise ToolError(
                f"reservation {reservation.reservation_id} has no room type, so no room can be picked. "
                "Next step: call check_in with room_id"
            )
        stay = stay_of(reservation, await business_today(hotel, "check_in"))
        free = (await free_rooms(hotel, stay, limit=100)).rooms
        free.sort(key=lambda r: (r.room_status != "Inspected", r.room_id))
        if free:
            return [r.room_id for r in free[:PICK_ATTEMPTS]]
        waiting = await front_office.rooms(
            hotel, room_statuses=["Dirty", "Pickup"], front_office_statuses=["Vacant"], room_types=[room_type],
            stay=stay, limit=100, fresh=True,
        )
        to_clean = [r for r in waiting.items
                    if unassignable_because(r, stay, statuses=("Dirty", "Pickup")) is None][:20]
        dirty = ", ".join(f"{r.room_id} ({r.room_status})" for r in to_clean) or "none"
        raise ToolError(
            f"no Vacant Clean or Inspected {room_type} room is free in {hotel} for all the nights of "
            f"{stay_text(reservation)}; vacant {room_type} rooms still to be cleaned: {dirty}. "
            "Next step: ask housekeeping to clean one"
            + offered("update_room_status", " (then update_room_status to Clean or Inspected)")
            + " and call check_in again, or offer another room type"
            + offered("modify_reservation", " (modify_reservation)", " (changed in OPERA)")
        )

    async def assign_first_free(
        hotel: str, reservation_id: str, candidates: list[str]
    ) -> tuple[str, list[OperaWarning]]:
        """Assign the first candidate OPERA accepts: a room can be held for a later stay the board does not show."""
        refusal: OperaBadRequestError | None = None
        for room in candidates:
            try:
                # only a stay with no room comes here, and a lock needs a room: nothing to keep
                return room, (await front_office.assign_room(hotel, reservation_id, room, lock_room=False)).warnings
            except OperaBadRequestError as exc:
                refusal = exc
        assert refusal is not None  # candidates is never empty
        raise refusal

    async def check_in(
        reservation_id: ReservationId,
        room_id: Annotated[
            RoomNumber | None,
            Field(description="room to put the guest in; leave out to use the assigned room or pick one"),
        ] = None,
        hotel_id: HotelId = None,
        idempotency_key: IdempotencyKey = None,
        ctx: Context | None = None,
    ) -> CheckInResult:
        hotel = services.hotel(hotel_id)

        async def progress(step: int, message: str) -> None:
            if ctx is not None:
                await ctx.report_progress(step, 4, message)

        reservation = await load_reservation(hotel, reservation_id, "check_in")
        if reservation.status and reservation.status not in CHECK_IN_READY:
            raise ToolError(
                f"reservation {reservation_id} ({guest_label(reservation.guest_name)}) is {reservation.status}, "
                f"arriving {reservation.arrival.isoformat()}; only a reservation due in today (DueIn) can be "
                "checked in. Next step: list_arrivals shows who is due in today"
                + offered("modify_reservation", "; change the dates with modify_reservation if the guest came early",
                          "; if the guest came early, the front office changes the dates in OPERA")
            )
        refuse_multi_room(reservation, "check_in")
        alerts, unread = await step_alerts(hotel, reservation_id, "CheckIn", "check-in")
        await progress(1, "reservation is due in")
        chosen_by: Literal["caller", "reservation", "server"]
        try:
            warnings: list[OperaWarning] = []
            if room_id:
                chosen_by, room = "caller", room_id
                if room != reservation.room_id:
                    refuse_locked_move(reservation, room, "check_in")
                    stay = stay_of(reservation, await business_today(hotel, "check_in"))
                    warnings += await refuse_unassignable(hotel, reservation, stay, room)
                    warnings += (await front_office.assign_room(
                        hotel, reservation_id, room, lock_room=reservation.room_locked)).warnings
                else:
                    warnings += await refuse_unready(hotel, reservation, room)
            elif reservation.room_id:
                chosen_by, room = "reservation", reservation.room_id
                warnings += await refuse_unready(hotel, reservation, room)
            else:
                chosen_by = "server"
                candidates = await room_candidates(hotel, reservation)
                room, warnings = await assign_first_free(hotel, reservation_id, candidates)
            await progress(2, f"room {room} assigned")
            done = await front_office.check_in(hotel, reservation_id, room)
            await progress(3, "check-in accepted")
        except OperaError as exc:
            raise tool_error(
                exc, what=f"check_in of reservation {reservation_id}",
                next_step=(
                    "the room must be Vacant and Clean or Inspected, of the booked type and free for the stay: "
                    f"find_available_rooms with reservation_id={reservation_id} lists such rooms, or leave room_id "
                    "out to let the server pick one"
                ),
            ) from None
        await progress(4, "checked in")
        metrics.front_desk_events.labels("check_in").inc()
        return CheckInResult(
            hotel_id=hotel, reservation_id=reservation_id, confirmation_number=reservation.confirmation_number,
            guest_name=reservation.guest_name, room_id=room, room_type=reservation.room_type, room_chosen_by=chosen_by,
            status=done.status or "InHouse", departure=reservation.departure, alerts=alerts,
            warnings=warnings + done.warnings + unread,
        )

    async def step_alerts(hotel: str, reservation_id: str, area: str,
                          step: str) -> tuple[list[ReservationAlert], list[OperaWarning]]:
        """OPERA's alerts of a step (getAlertNotices): a stop alert refuses the step before anything changes,
        naming it; the others go back to the agent to pass on. Alerts that cannot be read do not stop the step
        (OPERA still enforces its own stop alerts), but the agent is told to look at them in OPERA."""
        try:
            alerts = await reservations.alerts(hotel, reservation_id, area)
        except OperaError as exc:
            return [], [OperaWarning(code="ALERTS_UNREAD", message=(
                f"OPERA's {step} alerts for reservation {reservation_id} could not be read ({exc.status or 'no answer'}"
                f"); check them in OPERA"))]
        stop = next((a for a in alerts if a.stops), None)
        if stop is not None:
            raise ToolError(
                f"reservation {reservation_id} has a stop {step} alert in OPERA"
                + (f" ({stop.code})" if stop.code else "")
                + f": {guest_label(stop.description, 'no description')}; nothing was changed. Next step: tell the "
                f"desk, which resolves it and removes the alert in OPERA; then call {step.replace('-', '_')} again"
            )
        return alerts, []

    async def settle(hotel: str, reservation_id: str, folio: Folio, method: str,
                     card: CardOnFile | None) -> list[Posting]:
        """Pay every window's open balance with `method`; the postings made so far go back with any failure."""
        paid: list[Posting] = []
        for window in folio.windows:
            if window.balance is None or not window.balance.owed:
                continue
            try:
                posted = await pay(
                    cashiering, metrics, hotel, reservation_id, method=method, amount=window.balance.amount,
                    currency=window.balance.currency or folio.currency, window=window.window,
                    reference="Settlement at check-out", card=card,
                )
            except OperaError as exc:
                already = Money(amount=sum(p.amount.amount for p in paid if p.amount), currency=folio.currency)
                note = f"; {money_text(already)} was already paid by this call, do not pay it again" if paid else ""
                raise tool_error(
                    exc, what=f"check_out: paying window {window.window} of reservation {reservation_id}{note}",
                    next_step="check the payment method with the guest, get_folio, then call check_out again",
                ) from None
            paid.extend(posted.postings)
        return paid

    @dataclass(frozen=True)
    class CheckOutPlan:
        """What a check-out is decided from: the record, the business date, the folio, how it is settled."""

        reservation: Reservation
        today: Date
        folio: Folio
        method: str | None
        card: CardOnFile | None
        day_use: bool  # arrives and leaves on the business date: OPERA's day-use room and tax are posted first
        # leaving early: the penalty verifyForEarlyDeparture names, to post (penalty) or waived, and OPERA's rule
        penalty: Money | None = None
        waived: Money | None = None
        penalty_rule: str | None = None
        warnings: tuple[OperaWarning, ...] = ()
        alerts: tuple[ReservationAlert, ...] = ()  # OPERA's check-out alerts, none of them a stop

    async def check_out_plan(hotel: str, reservation_id: str, method: str | None,
                             early_departure: bool, waive_penalty: bool = False) -> CheckOutPlan:
        """Every check a check-out makes before it changes anything (its preview and the check-out itself): the
        guest is in house and due out (or leaving early with early_departure=true), the folio is not in credit,
        and an open balance has a payment method the hotel has and, for a card, a card on file."""
        key = ("check_out", hotel, reservation_id, method, early_departure, waive_penalty)
        planned: CheckOutPlan | None = recall(key)
        if planned is not None:
            return planned
        reservation = await load_reservation(hotel, reservation_id, "check_out")
        if reservation.status and reservation.status not in CHECK_OUT_READY:
            raise ToolError(
                f"reservation {reservation_id} ({guest_label(reservation.guest_name)}) is {reservation.status}; only "
                "an in-house guest can be checked out. Next step: list_in_house shows who is staying"
            )
        alerts, unread = await step_alerts(hotel, reservation_id, "CheckOut", "check-out")
        today = await business_today(hotel, "check_out", fresh=True)
        leaving_early = reservation.departure is not None and reservation.departure > today
        # Leaving on the arrival day makes the stay a day use (departure = arrival): no night audit posts its room
        # and tax, so OPERA's day-use posting (csh postRoomAndTaxForDayUse) does, before the balance is settled.
        day_use = reservation.arrival == today and (early_departure or not leaving_early)
        if leaving_early and not early_departure:
            raise ToolError(
                f"reservation {reservation_id} ({guest_label(reservation.guest_name)}) departs "
                f"{reservation.departure.isoformat()}, after today's business date {today.isoformat()}; "
                "nothing was changed. Next step: if the guest is leaving early, call check_out again with "
                f"early_departure=true (the stay is shortened to {today.isoformat()}"
                + (", a day use whose room and tax OPERA posts" if reservation.arrival == today else "")
                + ", then checked out)"
            )
        # Leaving early: OPERA's own verification first, for the penalty the property's rules charge (the human is
        # shown it, and it is posted unless waived) and its warnings.
        check = EarlyDepartureCheck()
        if leaving_early:
            try:
                check = await cashiering.verify_early_departure(hotel, reservation_id)
            except OperaError as exc:
                raise tool_error(
                    exc, what=f"check_out: verifying the early departure of {reservation_id}",
                    next_step="get_reservation to see the stay, then call check_out again",
                ) from None
        penalty = None if waive_penalty else check.penalty
        try:
            folio = await cashiering.folio(hotel, reservation_id, postings=False)
        except OperaError as exc:
            raise tool_error(exc, what=f"check_out: reading the folio of {reservation_id}", next_step="retry") from None
        balance = folio.balance
        if balance.in_credit:
            raise ToolError(
                f"the folio of reservation {reservation_id} is in credit by "
                f"{money_text(Money(amount=-balance.amount, currency=balance.currency))}; "
                "the guest is owed a refund, which this server does not post. Next step: refund it at the desk in "
                "OPERA, then call check_out again"
            )
        # A window routed to someone else (a company paying the room, say) is that payer's bill: settling it with
        # the guest's method would charge the guest for it. OPERA's getFolio names each window's payee.
        routed = [(w, w.balance) for w in folio.windows if w.balance is not None and w.balance.owed
                  and w.payee_profile_id and w.payee_profile_id != reservation.profile_id]
        if routed:
            bills = "; ".join(
                f"window {w.window} owes {money_text(owed)} billed to {guest_label(w.payee_name, 'another payer')} "
                f"(profile {w.payee_profile_id})" for w, owed in routed
            )
            first = routed[0][0].window
            raise ToolError(
                f"reservation {reservation_id} ({guest_label(reservation.guest_name)}) has folio windows billed to "
                f"another payer than the guest: {bills}. check_out settles with the guest's payment method, so it "
                f"changed nothing. Next step: settle window {first} with its payer's method (post_payment with "
                f"window={first}), or move its charges to the guest's window in OPERA if the guest pays them, then "
                "call check_out again"
            )
        card: CardOnFile | None = None
        if balance.owed or day_use or penalty is not None:
            if method is None and penalty is not None:
                raise ToolError(
                    f"reservation {reservation_id} ({guest_label(reservation.guest_name)}) leaves early, and OPERA "
                    f"charges an early-departure penalty of {money_text(penalty)}"
                    + (f" ({guest_label(check.penalty_rule)})" if check.penalty_rule else "")
                    + f" on top of the balance of {money_text(balance)}; nothing was changed. Next step: call "
                    "check_out with payment_method (e.g. CA or VA) to post and settle it, or, if the hotel waives it, "
                    "with waive_early_departure_penalty=true"
                )
            if method is None and day_use:
                raise ToolError(
                    f"reservation {reservation_id} ({guest_label(reservation.guest_name)}) arrived today and leaves "
                    f"today, a day use: OPERA posts the day's room and tax at check-out (balance now "
                    f"{money_text(balance)}), so the check-out settles them; nothing was changed. Next step: call "
                    "check_out with payment_method (e.g. CA or VA)"
                )
            if method is None:
                raise ToolError(
                    f"reservation {reservation_id} ({guest_label(reservation.guest_name)}) still owes "
                    f"{money_text(balance)}; nothing was changed. Next step: post_payment of {money_text(balance)}, "
                    "or call check_out with payment_method (e.g. CA or VA) to settle it and check out in one go"
                )
            await check_payment_method(lov, hotel, method)
            try:
                card = await card_for_payment(cashiering, hotel, reservation_id, method)
            except OperaError as exc:
                raise tool_error(
                    exc, what=f"check_out: reading the cards on file of reservation {reservation_id}",
                    next_step="retry",
                ) from None
        planned = CheckOutPlan(reservation=reservation, today=today, folio=folio, method=method, card=card,
                               day_use=day_use, penalty=penalty, waived=check.penalty if waive_penalty else None,
                               penalty_rule=check.penalty_rule, warnings=tuple(check.warnings + unread),
                               alerts=tuple(alerts))
        remember(key, planned)
        return planned

    async def preview_check_out(args: Mapping[str, Any]) -> str:
        """Before the human is asked: every check of the check-out, then what it will do, in words."""
        hotel = services.hotel(args.get("hotel_id"))
        given = args.get("payment_method")
        method = payment_method_code(str(given)) if given and str(given).strip() else None
        plan = await check_out_plan(hotel, str(args["reservation_id"]), method, bool(args.get("early_departure")),
                                    bool(args.get("waive_early_departure_penalty")))
        record, balance = plan.reservation, plan.folio.balance
        early = ""
        if record.departure is not None and record.departure > plan.today:
            early = (f"; leaving early: the departure moves from {day_text(record.departure)} to "
                     f"{day_text(plan.today)}")
            rule = f" ({guest_label(plan.penalty_rule)})" if plan.penalty_rule else ""
            if plan.penalty is not None:
                early += f"; OPERA's early-departure penalty of {money_text(plan.penalty)}{rule} is posted and paid"
            elif plan.waived is not None:
                early += f"; OPERA's early-departure penalty of {money_text(plan.waived)}{rule} is waived"
        if plan.day_use:
            early += "; a day use: OPERA posts the day's room and tax first"
        if (balance.owed or plan.day_use or plan.penalty is not None) and plan.method is not None:
            label = await payment_label(lov, hotel, plan.method, plan.card)
            before = " before the day's room and tax" if plan.day_use else ""
            before += " and before the penalty" if plan.penalty is not None else ""
            owed = f"; balance {money_text(balance)}{before}, settled by {label}"
        else:
            owed = f"; balance {money_text(balance)}, nothing to pay"
        room = f"room {plan.folio.room_id}" if not record.room_id and plan.folio.room_id else room_of(record)
        notices = "".join(f"; OPERA's check-out alert: {guest_label(a.description, a.code or 'no description')}"
                          for a in plan.alerts)
        return f"Check out {guest_of(record)} from {room} ({booking_of(record, hotel)}){early}{owed}{notices}?"

    async def check_out(
        reservation_id: ReservationId,
        payment_method: Annotated[
            GuardedText | None,
            Field(description="payment method code (CA, VA, MC, AX...) to settle an open balance; never a card number"),
        ] = None,
        early_departure: Annotated[
            bool,
            Field(description="true when the guest leaves before the booked departure: the stay is first shortened "
                              "to today's business date, then checked out"),
        ] = False,
        waive_early_departure_penalty: Annotated[
            bool,
            Field(description="with early_departure: the hotel waives the early-departure penalty OPERA's rules "
                              "charge, so it is not posted (the human is shown it either way)"),
        ] = False,
        hotel_id: HotelId = None,
        idempotency_key: IdempotencyKey = None,
        ctx: Context | None = None,
    ) -> CheckOutResult:
        hotel = services.hotel(hotel_id)
        method = payment_method_code(payment_method) if payment_method and payment_method.strip() else None

        async def progress(step: int, message: str) -> None:
            if ctx is not None:
                await ctx.report_progress(step, 4, message)

        plan = await check_out_plan(hotel, reservation_id, method, early_departure, waive_early_departure_penalty)
        reservation, today, folio, balance = plan.reservation, plan.today, plan.folio, plan.folio.balance
        changed_from: Date | None = None
        if reservation.departure is not None and reservation.departure > today:
            # OPERA checks out a guest due out; one leaving early is first changed to an early departure (csh
            # putForEarlyDeparture: due out, the departure moved to the business date).
            try:
                await cashiering.early_departure(hotel, reservation_id, post_penalty=plan.penalty is not None)
            except OperaError as exc:
                # FOF00158: already due out, as after a repeat of a PUT whose answer was lost; nothing to undo.
                if exc.error_code != EARLY_DEPARTURE_NOT_REQUIRED:
                    raise tool_error(
                        exc, what=f"check_out: changing {reservation_id} to an early departure on {today.isoformat()}",
                        next_step="get_reservation to see the departure, then call check_out again",
                    ) from None
            changed_from = reservation.departure
            if plan.penalty is not None and not plan.day_use:
                # The penalty is on the folio now: the balance to settle is read again (a day use reads it below).
                try:
                    folio = await cashiering.folio(hotel, reservation_id, postings=False)
                except OperaError as exc:
                    raise tool_error(
                        exc, what=f"check_out: reading the folio of {reservation_id} after its early-departure penalty",
                        next_step="call check_out again: the stay is already an early departure, and OPERA posts no "
                                  "second penalty",
                    ) from None
                balance = folio.balance
        if plan.day_use:
            # Oracle does not say a repeated postRoomAndTaxForDayUse posts nothing, so the folio's roomAndTaxPosted
            # is read first: a repeat of this call (after a lost answer or a timeout) posts the day's room and tax
            # only if OPERA does not hold them yet.
            async def day_use_folio(when: str) -> Folio:
                try:
                    return await cashiering.folio(hotel, reservation_id, postings=False)
                except OperaError as exc:
                    raise tool_error(
                        exc, what=f"check_out: reading the folio of {reservation_id} {when}", next_step="retry",
                    ) from None

            folio = await day_use_folio("before posting its day-use room and tax")
            if folio.room_and_tax_posted is not True:
                lost: OperaOutcomeUnknownError | None = None
                try:
                    await cashiering.post_day_use_room_and_tax(hotel, reservation_id)
                except OperaOutcomeUnknownError as exc:
                    lost = exc  # the folio says whether OPERA posted them
                except OperaError as exc:
                    raise tool_error(
                        exc, what=f"check_out: posting the day-use room and tax of {reservation_id}",
                        next_step="get_folio to see the day's room and tax, then call check_out again (it posts "
                                  "them only if OPERA's folio says they are not posted)",
                    ) from None
                folio = await day_use_folio("after its day-use room and tax were posted")
                if lost is not None and folio.room_and_tax_posted is not True:
                    raise tool_error(
                        lost, what=f"check_out: posting the day-use room and tax of {reservation_id}",
                        next_step="call check_out again: it reads OPERA's roomAndTaxPosted and posts the day's room "
                                  "and tax only if they are not there",
                    ) from None
            balance = folio.balance
        await progress(1, "folio read")
        paid: list[Posting] = []
        if balance.owed and plan.method is not None:
            paid = await settle(hotel, reservation_id, folio, plan.method, plan.card)
        await progress(2, "balance settled")
        settled_note = "; the payment posted by this call stands, do not pay again" if paid else ""
        try:
            warnings: list[OperaWarning] = []
            for window in folio.windows:
                # Window 1 always holds the stay; other windows only matter once something was charged to them.
                if window.window == 1 or (window.charges and window.charges.amount):
                    warnings += await cashiering.generate_folio(
                        hotel, reservation_id, window=window.window, profile_id=reservation.profile_id
                    )
            await progress(3, "final folio generated")
            warnings += await cashiering.check_out(hotel, reservation_id)
        except OperaError as exc:
            raise tool_error(
                exc, what=f"check_out of reservation {reservation_id}{settled_note}",
                next_step="get_folio to see what is still open, then call check_out again",
            ) from None
        await progress(4, "checked out")
        metrics.front_desk_events.labels("check_out").inc()
        total = round_money(sum(p.amount.amount for p in paid if p.amount), balance.currency)
        return CheckOutResult(
            hotel_id=hotel, reservation_id=reservation_id, guest_name=reservation.guest_name,
            room_id=reservation.room_id or folio.room_id, payments=paid,
            settled=Money(amount=total, currency=balance.currency) if paid else None,
            status="CheckedOut", departure_changed_from=changed_from, alerts=list(plan.alerts),
            early_departure_penalty=plan.penalty if changed_from else None,
            penalty_waived=plan.waived if changed_from else None, warnings=list(plan.warnings) + warnings,
        )

    async def in_house_for_calls(hotel: str, reservation_id: str, tool: str) -> Reservation:
        reservation = await load_reservation(hotel, reservation_id, tool)
        if not reservation.room_id or reservation.status not in IN_HOUSE_STATUSES:
            raise ToolError(
                f"{tool} refused: {stay_text(reservation)} is {reservation.status or 'not in house'}; OPERA sets "
                "wake-up calls only for a guest in house (checked in), and nothing was changed. Next step: check_in "
                "first"
            )
        return reservation

    def calls_result(hotel: str, record: Reservation, changed: list[datetime], calls: list[WakeUpCall],
                     done: str) -> WakeUpCalls:
        listed = ", ".join(wake_up_text(c.call_time)[:16] for c in calls) or "none"
        return WakeUpCalls(
            hotel_id=hotel, reservation_id=record.reservation_id, guest_name=record.guest_name,
            room_id=record.room_id, changed=changed, calls=calls,
            next_step=f"{done}; pending wake-up calls of room {record.room_id}: {listed}",
        )

    def wanted_calls(at: Date, clock: str, days: int) -> list[datetime]:
        hour, minute = (int(part) for part in clock.split(":"))
        return [datetime.combine(at + timedelta(days=n), TimeOfDay(hour, minute)) for n in range(days)]

    async def set_wake_up_call(
        reservation_id: ReservationId,
        date: Annotated[Date, Field(description="the first morning, YYYY-MM-DD")],
        time: ClockTime,
        days: Annotated[int, Field(ge=1, le=MAX_WAKE_UP_DAYS, description=(
            f"how many mornings in a row, from date (1..{MAX_WAKE_UP_DAYS}); the last may be the departure day"))] = 1,
        instructions: Annotated[GuardedText | None, Field(
            max_length=200, description="for the operator, e.g. 'call twice'")] = None,
        hotel_id: HotelId = None,
        idempotency_key: IdempotencyKey = None,
    ) -> WakeUpCalls:
        hotel = services.hotel(hotel_id)
        reservation = await in_house_for_calls(hotel, reservation_id, "set_wake_up_call")
        today = await business_today(hotel, "set_wake_up_call")
        last = date + timedelta(days=days - 1)
        if date < today or last > reservation.departure:
            raise ToolError(
                f"set_wake_up_call refused: {date.isoformat()} through {last.isoformat()} is not within the stay of "
                f"{stay_text(reservation)} from the business date {today.isoformat()}; nothing was changed. Next "
                f"step: a date from {today.isoformat()} with the last morning on or before "
                f"{reservation.departure.isoformat()}"
            )
        wanted = wanted_calls(date, time, days)
        try:
            pending = await front_office.wake_up_calls(hotel, reservation_id)
        except OperaError as exc:
            raise tool_error(exc, what=f"set_wake_up_call: reading the wake-up calls of {reservation_id}",
                             next_step="retry") from None
        set_times = {c.call_time for c in pending}
        missing = [m for m in wanted if m not in set_times]
        if not missing:  # already set, by an earlier call or the desk: OPERA would ring twice
            return calls_result(hotel, reservation, [], pending, "these wake-up calls were already set")
        runs: list[list[datetime]] = []
        for moment in missing:  # one POST per run of consecutive mornings still missing
            if runs and moment - runs[-1][-1] == timedelta(days=1):
                runs[-1].append(moment)
            else:
                runs.append([moment])
        room = reservation.room_id or ""
        for run in runs:
            try:
                await front_office.set_wake_up_call(
                    hotel, reservation_id, room_id=room, call_time=run[0], last_day=run[-1].date(),
                    instructions=instructions,
                )
            except OperaError as exc:
                # A lost answer may hide calls OPERA set: what is pending now decides, and nothing is sent twice.
                try:
                    now_pending = {c.call_time for c in await front_office.wake_up_calls(hotel, reservation_id)}
                except OperaError:
                    now_pending = set()
                if not all(m in now_pending for m in run):
                    raise tool_error(
                        exc, what=f"set_wake_up_call for reservation {reservation_id} at {wake_up_text(run[0])}",
                        next_step="call set_wake_up_call again: it sets only the mornings still missing",
                    ) from None
        metrics.front_desk_events.labels("wake_up_call").inc()
        calls = await front_office.wake_up_calls(hotel, reservation_id)
        return calls_result(hotel, reservation, missing, calls, "wake-up calls set; tell the guest")

    async def cancel_wake_up_call(
        reservation_id: ReservationId,
        date: Annotated[Date, Field(description="the morning of the call, YYYY-MM-DD")],
        time: ClockTime,
        hotel_id: HotelId = None,
        idempotency_key: IdempotencyKey = None,
    ) -> WakeUpCalls:
        hotel = services.hotel(hotel_id)
        reservation = await load_reservation(hotel, reservation_id, "cancel_wake_up_call")
        [moment] = wanted_calls(date, time, 1)
        try:
            calls = await front_office.wake_up_calls(hotel, reservation_id, cancelled=True)
        except OperaError as exc:
            raise tool_error(exc, what=f"cancel_wake_up_call: reading the wake-up calls of {reservation_id}",
                             next_step="retry") from None
        pending = [c for c in calls if c.status != "Cancelled"]
        if not any(c.call_time == moment for c in pending):
            if any(c.call_time == moment for c in calls):  # cancelled already, by an earlier call or the desk
                return calls_result(hotel, reservation, [], pending, "this wake-up call was already cancelled")
            listed = ", ".join(wake_up_text(c.call_time)[:16] for c in pending) or "none"
            raise ToolError(
                f"cancel_wake_up_call refused: {stay_text(reservation)} has no wake-up call at "
                f"{wake_up_text(moment)[:16]}; nothing was changed. Its pending calls: {listed}"
            )
        try:
            await front_office.cancel_wake_up_call(hotel, reservation_id, moment)
        except OperaError as exc:
            try:
                still = any(c.call_time == moment for c in await front_office.wake_up_calls(hotel, reservation_id))
            except OperaError:
                still = True
            if still:
                raise tool_error(exc, what=f"cancel_wake_up_call for reservation {reservation_id}",
                                 next_step="retry") from None
        calls = await front_office.wake_up_calls(hotel, reservation_id)
        return calls_result(hotel, reservation, [moment], calls, "wake-up call cancelled")

    async def find_wake_up_cancel(args: Mapping[str, Any], reference: str) -> WakeUpCalls | None:
        hotel, reservation_id = str(args["hotel_id"]), str(args["reservation_id"])
        [moment] = wanted_calls(Date.fromisoformat(str(args["date"])), str(args["time"]), 1)
        calls = await front_office.wake_up_calls(hotel, reservation_id, cancelled=True)
        if any(c.call_time == moment and c.status != "Cancelled" for c in calls):
            return None  # still pending: the cancellation is made
        record = await reservations.get(hotel, reservation_id, fresh=True)
        return calls_result(hotel, record, [moment], [c for c in calls if c.status != "Cancelled"],
                            "wake-up call cancelled")

    async def find_wake_up(args: Mapping[str, Any], reference: str) -> WakeUpCalls | None:
        hotel, reservation_id = str(args["hotel_id"]), str(args["reservation_id"])
        wanted = wanted_calls(Date.fromisoformat(str(args["date"])), str(args["time"]), int(args.get("days") or 1))
        record = await reservations.get(hotel, reservation_id, fresh=True)
        calls = await front_office.wake_up_calls(hotel, reservation_id)
        if not {c.call_time for c in calls}.issuperset(wanted):
            return None  # some are missing: the call sets only those
        return calls_result(hotel, record, wanted, calls, "wake-up calls set; tell the guest")

    async def undo_check_in(
        reservation_id: ReservationId,
        keep_room: Annotated[bool, Field(
            description="true keeps the room assigned to the stay; false gives it up")] = True,
        room_status: Annotated[HousekeepingState | None, Field(
            description="the housekeeping status the room takes; left out, it stays as it is")] = None,
        hotel_id: HotelId = None,
        idempotency_key: IdempotencyKey = None,
    ) -> CheckInUndone:
        hotel = services.hotel(hotel_id)
        reservation = await load_reservation(hotel, reservation_id, "undo_check_in")
        if reservation.status in CHECK_IN_READY:
            return undone_result(hotel, reservation, undone=False)  # already due in: nothing to reverse
        if reservation.status not in IN_HOUSE_STATUSES:
            raise ToolError(
                f"undo_check_in refused: {stay_text(reservation)} is {reservation.status or 'not in house'}; only a "
                "guest checked in today is returned to due in, and nothing was changed"
            )
        today = await business_today(hotel, "undo_check_in", fresh=True)
        if reservation.arrival != today:
            raise ToolError(
                f"undo_check_in refused: {stay_text(reservation)} arrived on {reservation.arrival.isoformat()}, and "
                f"OPERA reverses only a check-in made today ({today.isoformat()}); nothing was changed. Next step: "
                "if the guest is leaving, check_out (early_departure=true before the booked departure)"
            )
        try:
            folio = await cashiering.folio(hotel, reservation_id)
        except OperaError as exc:
            raise tool_error(exc, what=f"undo_check_in: reading the folio of {reservation_id}",
                             next_step="retry") from None
        posted = [p for w in folio.windows for p in w.postings]
        if posted or any(w.more_postings for w in folio.windows):
            balance = money_text(folio.balance)
            raise ToolError(
                f"undo_check_in refused: {stay_text(reservation)} has {len(posted)} posting(s) on its folio "
                f"(balance {balance}); OPERA reverses a check-in only with nothing posted, and nothing was changed. "
                "Next step: tell the human; the front office decides in OPERA what happens to the postings"
            )
        try:
            warnings = await front_office.undo_check_in(
                hotel, reservation_id, unassign_room=not keep_room, room_status=room_status
            )
        except OperaError as exc:
            # A lost answer after OPERA reversed it: the reservation's status decides (never a blind repeat).
            after = await read_after_loss(hotel, reservation)
            if after.status in CHECK_IN_READY:
                return undone_result(hotel, after, undone=True, room_status=room_status)
            raise tool_error(exc, what=f"undo_check_in {reservation_id} in {hotel}",
                             next_step="check the reservation with get_reservation") from None
        metrics.front_desk_events.labels("undo_check_in").inc()
        after = await reservations.get(hotel, reservation_id, fresh=True)
        return undone_result(hotel, after, undone=True, room_status=room_status, warnings=warnings)

    async def read_after_loss(hotel: str, reservation: Reservation) -> Reservation:
        """The reservation as OPERA holds it now, read after a write whose answer was lost, so what it shows decides
        whether the write was made (never a blind repeat); the one read before the write when it cannot be read."""
        try:
            return await reservations.get(hotel, reservation.reservation_id, fresh=True)
        except OperaError:
            return reservation

    def undone_result(
        hotel: str, record: Reservation, *, undone: bool, room_status: str | None = None,
        warnings: list[OperaWarning] | None = None,
    ) -> CheckInUndone:
        room = f" into room {record.room_id}" if record.room_id else ""
        return CheckInUndone(
            hotel_id=hotel, reservation_id=record.reservation_id, guest_name=record.guest_name, undone=undone,
            status=record.status or "DueIn", room_id=record.room_id, room_status=room_status if undone else None,
            warnings=warnings or [],
            next_step=(f"the stay is due in again; check_in{room} when the guest is ready" if undone else
                       "the stay is already due in: nothing was reversed"),
        )

    async def find_undo(args: Mapping[str, Any], reference: str) -> CheckInUndone | None:
        record = await reservations.get(str(args["hotel_id"]), str(args["reservation_id"]), fresh=True)
        if record.status not in CHECK_IN_READY:
            return None  # still in house: the reversal is made
        return undone_result(str(args["hotel_id"]), record, undone=True,
                             room_status=str(args["room_status"]) if args.get("room_status") else None)

    async def undo_check_out(
        reservation_id: ReservationId,
        notify_interfaces: Annotated[bool, Field(
            description="true tells the hotel's interfaces (phones, door locks) the guest is in house again")] = True,
        hotel_id: HotelId = None,
        idempotency_key: IdempotencyKey = None,
    ) -> CheckOutUndone:
        hotel = services.hotel(hotel_id)
        reservation = await load_reservation(hotel, reservation_id, "undo_check_out")
        if reservation.status in IN_HOUSE_STATUSES:
            return reinstated_result(hotel, reservation, undone=False)  # in house already: nothing to reinstate
        if reservation.status != "CheckedOut":
            raise ToolError(
                f"undo_check_out refused: {stay_text(reservation)} is {reservation.status or 'not checked out'}; "
                "only a guest checked out today is reinstated, and nothing was changed"
            )
        today = await business_today(hotel, "undo_check_out", fresh=True)
        if reservation.departure != today:
            raise ToolError(
                f"undo_check_out refused: {stay_text(reservation)} checked out on "
                f"{reservation.departure.isoformat()}, and OPERA reinstates a check-out only before the End of Day "
                f"of the departure date (the business date is {today.isoformat()}); nothing was changed. Next step: "
                "tell the human; a charge found later is for the front office to settle in OPERA"
            )
        if reservation.room_id:
            room = await front_office.room(hotel, reservation.room_id)
            if room is not None and room.front_office_status not in (None, "Vacant"):
                raise ToolError(
                    f"undo_check_out refused: room {room.room_id}, which {stay_text(reservation)} had, is "
                    f"{room.front_office_status} by another checked-in guest; OPERA would reinstate this stay only "
                    "as a share with that guest, and nothing was changed. Next step: tell the human; the front "
                    "office decides in OPERA"
                )
        try:
            warnings = await cashiering.reinstate_check_out(hotel, reservation_id, notify_interfaces=notify_interfaces)
        except OperaError as exc:
            # A lost answer after OPERA reinstated it: the reservation's status decides (never a blind repeat).
            after = await read_after_loss(hotel, reservation)
            if after.status in IN_HOUSE_STATUSES:
                return reinstated_result(hotel, after, undone=True)
            raise tool_error(exc, what=f"undo_check_out {reservation_id} in {hotel}",
                             next_step="check the reservation with get_reservation") from None
        metrics.front_desk_events.labels("undo_check_out").inc()
        after = await reservations.get(hotel, reservation_id, fresh=True)
        return reinstated_result(hotel, after, undone=True, warnings=warnings)

    def reinstated_result(
        hotel: str, record: Reservation, *, undone: bool, warnings: list[OperaWarning] | None = None
    ) -> CheckOutUndone:
        room = f" in room {record.room_id}" if record.room_id else ""
        return CheckOutUndone(
            hotel_id=hotel, reservation_id=record.reservation_id, guest_name=record.guest_name, undone=undone,
            status=record.status or "InHouse", room_id=record.room_id, departure=record.departure,
            warnings=warnings or [],
            next_step=(f"the guest is in house again{room}, departing {record.departure.isoformat()}; "
                       + offered("post_charge", "post_charge what was missed, then ")
                       + "check_out again (the folio must be settled), with a new idempotency_key if any: the first "
                       "check-out's key returns the first check-out"
                       + offered("modify_reservation", "; a guest checked out by mistake who stays on: "
                                 "modify_reservation with the departure booked") if undone else
                       f"the guest is already in house{room}: nothing was reinstated"),
        )

    async def find_reinstated(args: Mapping[str, Any], reference: str) -> CheckOutUndone | None:
        record = await reservations.get(str(args["hotel_id"]), str(args["reservation_id"]), fresh=True)
        if record.status not in IN_HOUSE_STATUSES:
            return None  # still checked out: the reinstatement is made
        return reinstated_result(str(args["hotel_id"]), record, undone=True)

    async def move_room(
        reservation_id: ReservationId,
        room_id: RoomNumber,
        reason_code: Annotated[str | None, Field(
            min_length=1, max_length=20, pattern=r"^[A-Za-z0-9_-]+$",
            description="the hotel's room move reason (its RoomMoveReasons list); default: the hotel's first"),
        ] = None,
        description: Annotated[str | None, Field(
            min_length=1, max_length=200, description="why the guest moves, in the desk's words, e.g. noise complaint"),
        ] = None,
        old_room_status: Annotated[HousekeepingState, Field(
            description="the housekeeping status the room left takes; default Dirty (a guest used it)"),
        ] = "Dirty",
        hotel_id: HotelId = None,
        idempotency_key: IdempotencyKey = None,
    ) -> RoomMoved:
        hotel = services.hotel(hotel_id)
        reservation = await load_reservation(hotel, reservation_id, "move_room")
        if reservation.room_id == room_id and reservation.status in IN_HOUSE_STATUSES:
            return await moved_result(hotel, reservation, None, moved=False)  # already there: nothing to move
        if reservation.status not in IN_HOUSE_STATUSES or not reservation.room_id:
            assign = offered("assign_room", f"; before check-in, assign_room gives reservation {reservation_id} a "
                                            "room")
            raise ToolError(
                f"move_room refused: {stay_text(reservation)} is {reservation.status or 'not in house'}; only a "
                f"checked-in guest is moved to another room, and nothing was changed{assign}"
            )
        if reservation.room_locked:
            raise ToolError(
                f"move_room refused: {stay_text(reservation)} is locked to room {reservation.room_id} (OPERA's Do Not "
                f"Move, set so the guest keeps that room); room {room_id} was not given and nothing was changed. Next "
                "step: only the front office can lift the lock in OPERA, if the guest must move"
            )
        today = await business_today(hotel, "move_room")
        stay = stay_of(reservation, today)
        reason = await move_reason(hotel, reason_code)
        try:
            noted = await refuse_unmovable(hotel, reservation, stay, room_id)
            warnings = await front_office.move_room(
                hotel, reservation_id, from_room=reservation.room_id, to_room=room_id, lock_room=False,
                old_room_status=old_room_status, reason_code=reason, description=description,
            )
        except OperaError as exc:
            # The answer may be lost after OPERA moved the guest (the PUT is never repeated blindly): the room the
            # reservation holds decides.
            after = await read_after_loss(hotel, reservation)
            if after.room_id == room_id:
                return await moved_result(hotel, after, reservation.room_id, old_room_status=old_room_status,
                                          reason_code=reason)
            raise tool_error(
                exc, what=f"move_room: reservation {reservation_id} from room {reservation.room_id} to {room_id}",
                next_step=f"find_available_rooms with reservation_id={reservation_id} lists the rooms it can move to",
            ) from None
        metrics.front_desk_events.labels("room_move").inc()
        after = await reservations.get(hotel, reservation_id, fresh=True)
        return await moved_result(hotel, after, reservation.room_id, old_room_status=old_room_status,
                                  reason_code=reason, warnings=noted + warnings)

    async def move_reason(hotel: str, reason_code: str | None) -> str | None:
        """The room move reason to send: the one given, checked against the hotel's list when it can be read, else
        the hotel's first; None when the hotel keeps no list (OPERA then takes the move without one)."""
        try:
            known = await lov.active(hotel, "RoomMoveReasons")
        except OperaError:
            return reason_code.upper() if reason_code else None
        if reason_code is None:
            return known[0].code if known else None
        codes = [v.code for v in known]
        if codes and reason_code.upper() not in codes:
            raise ToolError(
                f"reason_code {reason_code!r} is not a room move reason of {hotel}; nothing was changed. Next step: "
                f"move_room with one of {codes_text(known)}"
            )
        return reason_code.upper()

    async def refuse_unmovable(
        hotel: str, reservation: Reservation, stay: Stay, room_id: str
    ) -> list[OperaWarning]:
        """refuse_unfit_room for move_room: the rule assign_room applies to a stay arriving today, for the nights
        left."""
        return await refuse_unfit_room(
            hotel, reservation, stay, room_id, tool="move_room",
            refused=(f"the guest of {stay_text(reservation)}, in room {reservation.room_id}, cannot move to room "
                     f"{room_id}"),
            none_free=(f"no {stay.room_type or ''} room is vacant, ready and free for the nights left; ask "
                       "housekeeping to ready one" + offered("update_room_status", " (update_room_status)")),
        )

    async def moved_result(
        hotel: str, record: Reservation, from_room: str | None, *, moved: bool = True,
        old_room_status: str | None = None, reason_code: str | None = None, warnings: list[OperaWarning] | None = None,
    ) -> RoomMoved:
        try:
            moves = await front_office.room_moves(hotel, record.reservation_id)
        except OperaError as exc:
            moves = []
            warnings = [*(warnings or []), OperaWarning(
                code="ROOM_MOVE_HISTORY", message=f"the stay's room moves could not be read: {exc.describe()}")]
        room = record.room_id or ""
        return RoomMoved(
            hotel_id=hotel, reservation_id=record.reservation_id, guest_name=record.guest_name, from_room=from_room,
            room_id=room, room_type=record.room_type, moved=moved, old_room_status=old_room_status if moved else None,
            reason_code=reason_code, moves=moves, warnings=warnings or [],
            next_step=(f"tell the guest their new room {room}; the folio stays with the stay, and room {from_room} "
                       f"is now {old_room_status} for housekeeping" if moved and from_room else
                       f"the guest is already in room {room}: nothing was moved"),
        )

    async def find_move(args: Mapping[str, Any], reference: str) -> RoomMoved | None:
        hotel, reservation_id = str(args["hotel_id"]), str(args["reservation_id"])
        record = await reservations.get(hotel, reservation_id, fresh=True)
        if record.room_id != args["room_id"] or record.status not in IN_HOUSE_STATUSES:
            return None  # not in the new room: the move is made
        moves = await front_office.room_moves(hotel, reservation_id)
        last = next((m for m in reversed(moves) if m.to_room == record.room_id), None)
        return await moved_result(hotel, record, last.from_room if last else None, moved=last is not None,
                                  old_room_status=str(args.get("old_room_status") or "Dirty"),
                                  reason_code=last.reason_code if last else None)

    async def find_check_in(args: Mapping[str, Any], reference: str) -> CheckInResult | None:
        record = await reservations.get(str(args["hotel_id"]), str(args["reservation_id"]), fresh=True)
        if record.status not in ("InHouse", "CheckedIn") or not record.room_id:
            return None
        return CheckInResult(
            hotel_id=str(args["hotel_id"]), reservation_id=record.reservation_id,
            confirmation_number=record.confirmation_number, guest_name=record.guest_name, room_id=record.room_id,
            room_type=record.room_type, room_chosen_by="caller" if args.get("room_id") else "server",
            status=record.status, departure=record.departure,
        )

    async def find_check_out(args: Mapping[str, Any], reference: str) -> CheckOutResult | None:
        # Check-out converges: a repeat that finds the guest still in house re-reads the balance, so it never pays
        # twice; one that finds the guest checked out is the earlier call's result.
        record = await reservations.get(str(args["hotel_id"]), str(args["reservation_id"]), fresh=True)
        if record.status != "CheckedOut":
            return None
        return CheckOutResult(hotel_id=str(args["hotel_id"]), reservation_id=record.reservation_id,
                              guest_name=record.guest_name, room_id=record.room_id, status=record.status)

    return [
        ToolDef(
            name="list_arrivals", toolset="front_desk", access="read", fn=list_arrivals, title="Arrivals",
            description=(
                "Guests arriving on a day (default: the hotel's business date) with confirmation number, room type, "
                "room and status. Use at shift start or when a guest arrives; next: check_in. Paged, or "
                "all_pages=true."
            ),
            read_only=True, idempotent=True,
        ),
        ToolDef(
            name="list_departures", toolset="front_desk", access="read", fn=list_departures, title="Departures",
            description=(
                "Guests departing on a day (default: the business date) with room and balance. Next: get_folio, then "
                "check_out. Paged, or all_pages=true."
            ),
            read_only=True, idempotent=True,
        ),
        ToolDef(
            name="list_in_house", toolset="front_desk", access="read", fn=list_in_house, title="In-house guests",
            description=(
                "Guests staying now, optionally in one room (room_id) or by surname: who is in a room before "
                "post_charge, get_folio or check_out. Paged, or all_pages=true."
            ),
            read_only=True, idempotent=True,
        ),
        ToolDef(
            name="find_available_rooms", toolset="front_desk", access="read", fn=find_available_rooms,
            title="Find rooms",
            description=(
                "Rooms that can be given to a guest now: Vacant, Clean or Inspected, in service, free tonight "
                "(next_stay_date says when another stay takes one). With reservation_id: exactly the rooms assign_room "
                "(or, in house, move_room) accepts for it. room_status (e.g. ['Dirty']) and vacant_only=false show "
                "others. Next: assign_room, check_in or move_room with room_id."
            ),
            read_only=True, idempotent=True,
        ),
        ToolDef(
            name="assign_room", toolset="front_desk", access="write", fn=assign_room, title="Assign a room",
            description=(
                "Assign a room of the booked type that is free for the stay (from find_available_rooms with "
                "reservation_id), before arrival or at check-in. Next: check_in."
            ),
        ),
        ToolDef(
            name="set_wake_up_call", toolset="front_desk", access="write", fn=set_wake_up_call,
            title="Set a wake-up call",
            description=(
                "Set a wake-up call for a guest in house: date and time (the hotel's local time, HH:MM), for days "
                "mornings in a row (the last on or before departure). A morning already set is not set twice. Returns "
                "the stay's pending calls."
            ),
            exactly_once=ExactlyOnce(find_wake_up, found_by="the stay's pending wake-up calls at those times"),
        ),
        ToolDef(
            name="cancel_wake_up_call", toolset="front_desk", access="write", fn=cancel_wake_up_call,
            title="Cancel a wake-up call",
            description=(
                "Cancel one pending wake-up call of a stay, by its date and time (HH:MM). Returns the calls left."
            ),
            exactly_once=ExactlyOnce(find_wake_up_cancel, found_by="the call no longer pending"),
        ),
        ToolDef(
            name="undo_check_in", toolset="front_desk", access="write", fn=undo_check_in,
            title="Reverse a check-in",
            description=(
                "Return a guest checked in by mistake to due in (OPERA's reverse check-in): only a check-in made "
                "today, with nothing posted on the folio. keep_room=false gives the room up; room_status sets the "
                "room's housekeeping status. Next: check_in the right guest or room."
            ),
            exactly_once=ExactlyOnce(find_undo, found_by="the reservation being due in again"),
        ),
        ToolDef(
            name="undo_check_out", toolset="front_desk", access="write", fn=undo_check_out,
            title="Reinstate a checked-out guest",
            description=(
                "Put a guest checked out today back in house (OPERA's reinstate check-out), e.g. to post a charge "
                "found after check-out: only before the End of Day of the departure date, and not while another "
                "guest is checked into the room. The folio is kept as it was. Next: post_charge, then check_out again."
            ),
            exactly_once=ExactlyOnce(find_reinstated, found_by="the reservation being in house again"),
        ),
        ToolDef(
            name="move_room", toolset="front_desk", access="write", fn=move_room, title="Move a guest to another room",
            description=(
                "Move a checked-in guest to another room of the same room type that is Vacant, Clean or Inspected and "
                "free for the nights left (find_available_rooms with reservation_id lists them), e.g. after a noise "
                "complaint. The folio stays with the stay; the room left becomes old_room_status (default Dirty). "
                "Before check-in use assign_room. Returns the new room and the stay's room moves."
            ),
            exactly_once=ExactlyOnce(find_move, found_by="the reservation being in the new room"),
        ),
        ToolDef(
            name="check_in", toolset="front_desk", access="write", fn=check_in, title="Check in",
            description=(
                "Check in a reservation due in today. Without room_id: the assigned room, else a Vacant Inspected "
                "(else Clean) room of the booked type. Refuses with the reason when not due in or no clean room is "
                "free (naming the dirty ones). Next: post_charge during the stay, check_out at departure."
            ),
            exactly_once=ExactlyOnce(find_check_in, found_by="the reservation's InHouse status"),
        ),
        ToolDef(
            name="check_out", toolset="front_desk", access="billing", fn=check_out, title="Check out",
            description=(
                "Check out a guest due out. With a balance it refuses unless payment_method is given: then it pays the "
                "balance (a card method: the reservation's card on file), generates the final folio and checks out. "
                "Leaving before the booked departure needs early_departure=true (the stay is first shortened to the "
                "business date; on the arrival day that is a day use, whose room and tax OPERA posts and the "
                "payment settles; a penalty OPERA's rules charge is shown, posted and paid unless "
                "waive_early_departure_penalty=true). The room becomes Vacant and Dirty; it cannot be undone here, "
                "so show the bill first (get_folio)."
            ),
            destructive=True,
            exactly_once=ExactlyOnce(find_check_out, found_by="the reservation's CheckedOut status"),
            preview=preview_check_out,
        ),
    ]
