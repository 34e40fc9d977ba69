"""Reservations toolset: find, read, book, change, cancel and reinstate reservations (OHIP rsv)."""

import asyncio
from collections.abc import Mapping
from datetime import date
from typing import Annotated, Any, Literal

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, Field

from app.opera.availability import RatePlan, RatePlansAPI
from app.opera.errors import OperaError, OperaNotFoundError
from app.opera.models import Money, OperaWarning, PageInfo
from app.opera.reservations import (
    CLOSED_STATUSES,
    BookingRequest,
    CancellationResult,
    CreatedReservation,
    LinkedReservation,
    ReasonCode,
    Reservation,
    ReservationChanges,
    ReservationPage,
    ReservationsAPI,
    ReservationSummary,
)
from app.security.untrusted import guest_label
from app.tools.previews import booking_of, guest_of, money_text, recall, remember, room_of
from app.tools.registry import ExactlyOnce, IdempotencyKey, ToolDef, ToolServices, tool_error

#: all_pages stops here, so one call cannot walk a whole property's history.
MAX_ROWS_ALL_PAGES = 500
#: Full-record reads in flight at once for detail=true (OHIP throttles around 50 requests/s per environment).
DETAIL_CONCURRENCY = 4
MAX_STAY_NIGHTS = 365

ToolContext = Context[Any, Any]

HotelId = Annotated[
    str | None,
    Field(description="OPERA hotel code, e.g. SAND01; leave out for the server's default hotel", max_length=20,
          pattern=r"^[A-Za-z0-9_-]*$"),
]
ReservationId = Annotated[
    str,
    Field(description="OPERA reservation id (reservation_id from search_reservations)", min_length=1,
          max_length=40, pattern=r"^[A-Za-z0-9_-]+$"),
]
Code = Annotated[str, Field(min_length=1, max_length=20, pattern=r"^[A-Za-z0-9_-]+$")]
SearchStatus = Literal["DueIn", "DueOut", "InHouse", "CheckedIn", "CheckedOut", "Cancelled", "NoShow", "WaitList"]
SearchType = Literal[
    "Any", "Arrival", "Arrived", "Departure", "InHouse", "CheckedOut", "Cancellation", "NoShow", "WaitList", "DayUse"
]


# --- output models -------------------------------------------------------------------------------------------


class ReservationDetails(BaseModel):
    """The parts of the full record a list row lacks (filled when detail=true)."""

    guarantee_code: str | None = None
    payment_method: str | None = None
    market_code: str | None = None
    source_code: str | None = None
    total: Money | None = Field(default=None, description="total cost of the stay")
    comments: list[str] = Field(default_factory=list)
    cancellation_number: str | None = None
    cancellation_reason: str | None = None


class ReservationRow(ReservationSummary):
    details: ReservationDetails | None = Field(default=None, description="only with detail=true")


class ReservationSearchResult(BaseModel):
    hotel_id: str
    reservations: list[ReservationRow]
    page: PageInfo = Field(description="paging: when has_more, call again with offset=next_offset")


class BookingResult(CreatedReservation):
    next_step: str = Field(description="what to do next with this booking")


class ModifiedReservation(BaseModel):
    reservation: Reservation = Field(description="the reservation as OPERA now holds it")
    changed: list[str] = Field(description="the parts that were changed")
    warnings: list[OperaWarning] = Field(default_factory=list)


class SplitResult(BaseModel):
    reservation_id: str = Field(description="the reservation that was split; it keeps one room")
    split: bool = Field(description="true when this call split it; false when it already held one room")
    reservations: list[LinkedReservation] = Field(
        description="the one-room reservations the booking is now, this one first: assign_room and check_in each"
    )
    next_step: str


class CancellationReport(CancellationResult):
    reservation: ReservationSummary | None = Field(default=None, description="the reservation as OPERA now holds it")
    deposit_held: Money | None = Field(
        default=None,
        description="deposit paid on the reservation: a cancellation does not refund it, it stays on the "
        "reservation for the hotel to refund or keep by its cancellation policy",
    )
    message: str = Field(description="what happened, or with dry_run what would happen")


# --- checks shared with the availability toolset -------------------------------------------------------------


def check_stay(arrival: date, departure: date, *, max_nights: int = MAX_STAY_NIGHTS) -> None:
    """Refuse an impossible stay before any OHIP call, in words an agent can act on."""
    if departure <= arrival:
        raise ToolError(
            f"departure {departure.isoformat()} is not after arrival {arrival.isoformat()}; "
            "give a departure date at least one day after the arrival date"
        )
    nights = (departure - arrival).days
    if nights > max_nights:
        raise ToolError(
            f"the stay from {arrival.isoformat()} to {departure.isoformat()} is {nights} nights, more than the "
            f"{max_nights} allowed here; split it into shorter stays"
        )


def check_range(name: str, start: date | None, end: date | None) -> None:
    if start and end and end < start:
        raise ToolError(
            f"{name}_to {end.isoformat()} is before {name}_from {start.isoformat()}; swap them or widen the range"
        )


def cancellation_report(result: CancellationResult, record: Reservation, message: str, *,
                        refund_tool: bool = False) -> CancellationReport:
    """One status for a cancellation: the reservation's as OPERA holds it after the call (a dry run changes
    nothing, so it is the status before), at the top and inside alike."""
    summary = ReservationSummary(**record.model_dump(include=set(ReservationSummary.model_fields)))
    status = summary.status = summary.status or result.status
    held = record.deposit_paid if record.deposit_paid and record.deposit_paid.amount > 0 else None
    if held is not None:
        message = message.rstrip(".") + (
            f". It holds a deposit of {money_text(held)}, which cancelling does not refund: the hotel refunds or "
            "keeps it by its cancellation policy (OPERA's Deposit/Cancellation)"
            + ("; refund_deposit pays it back once the booking is cancelled" if refund_tool else ""))
    return CancellationReport(**(result.model_dump() | {"status": status}), reservation=summary, deposit_held=held,
                              message=message)


def details_of(record: Reservation) -> ReservationDetails:
    return ReservationDetails(
        guarantee_code=record.guarantee_code, payment_method=record.payment_method, market_code=record.market_code,
        source_code=record.source_code, total=record.total, comments=record.comments,
        cancellation_number=record.cancellation_number, cancellation_reason=record.cancellation_reason,
    )


def build(services: ToolServices) -> list[ToolDef]:
    reservations = ReservationsAPI(services.http)
    rate_plans = RatePlansAPI(services.http)
    metrics = services.metrics

    async def read_reservation(hotel: str, reservation_id: str, tool: str, *, fresh: bool = False) -> Reservation:
        try:
            return await reservations.get(hotel, reservation_id, fresh=fresh)
        except OperaNotFoundError as exc:
            raise ToolError(
                f"no reservation {reservation_id} in {hotel} ({exc.describe()}); find it with search_reservations "
                "by surname or confirmation number"
            ) from None
        except OperaError as exc:
            raise tool_error(exc, what=f"{tool} reading reservation {reservation_id}",
                             next_step="retry shortly; check health_check if it keeps failing") from None

    # -- search_reservations ----------------------------------------------------------------------------------

    async def search_reservations(
        ctx: ToolContext,
        surname: Annotated[str | None, Field(description="guest surname (prefix match)", max_length=80)] = None,
        given_name: Annotated[str | None, Field(description="guest given name", max_length=40)] = None,
        text: Annotated[str | None, Field(description="free text over all reservation fields", max_length=80)] = None,
        confirmation_number: Annotated[str | None, Field(description="the guest's confirmation number",
                                                         max_length=40)] = None,
        arrival_from: Annotated[date | None, Field(description="arrivals on or after (YYYY-MM-DD)")] = None,
        arrival_to: Annotated[date | None, Field(description="arrivals on or before (YYYY-MM-DD)")] = None,
        departure_from: Annotated[date | None, Field(description="departures on or after (YYYY-MM-DD)")] = None,
        departure_to: Annotated[date | None, Field(description="departures on or before (YYYY-MM-DD)")] = None,
        status: Annotated[list[SearchStatus] | None, Field(description="only these statuses", max_length=8)] = None,
        search_type: Annotated[SearchType | None, Field(description=(
            "OPERA search type, e.g. Arrival; it applies on stay_date (default the hotel's business date)"))] = None,
        stay_date: Annotated[date | None, Field(description=(
            "the day search_type applies to (OPERA's stayDate), YYYY-MM-DD, e.g. Arrival on 2026-05-03"))] = None,
        room_id: Annotated[str | None, Field(description="room number", max_length=20)] = None,
        profile_id: Annotated[str | None, Field(description="guest profile id", max_length=40)] = None,
        detail: Annotated[bool, Field(description="also read each reservation's full record "
                                                  "(guarantee, payment, comments...); slower")] = False,
        all_pages: Annotated[bool, Field(description=f"walk every page, up to {MAX_ROWS_ALL_PAGES} rows, "
                                                     "reporting progress")] = False,
        limit: Annotated[int, Field(ge=1, le=100, description="rows per page (1-100)")] = 20,
        offset: Annotated[int, Field(ge=0, description="rows to skip (from page.next_offset)")] = 0,
        hotel_id: HotelId = None,
    ) -> ReservationSearchResult:
        hotel = services.hotel(hotel_id)
        check_range("arrival", arrival_from, arrival_to)
        check_range("departure", departure_from, departure_to)
        if stay_date is not None and search_type is None:
            raise ToolError(
                "search_reservations refused: stay_date is the day a search_type applies to, and no search_type was "
                "given; nothing was searched. Next step: add search_type (e.g. Arrival), or use arrival_from/"
                "arrival_to for a date range"
            )
        if detail and all_pages:
            raise ToolError(
                "detail=true reads one full record per row, so it works on one page (limit up to 100), not with "
                "all_pages; drop one of them"
            )

        async def page_at(start: int) -> ReservationPage:
            return await reservations.search(
                hotel, surname=surname, given_name=given_name, text=text, confirmation_number=confirmation_number,
                arrival_from=arrival_from, arrival_to=arrival_to, departure_from=departure_from,
                departure_to=departure_to, statuses=status or (), search_type=search_type, stay_date=stay_date,
                room_id=room_id, profile_id=profile_id, limit=limit, offset=start,
            )

        try:
            page = await page_at(offset)
            rows = list(page.items)
            info = page.page
            if all_pages:
                while info.has_more and info.next_offset is not None and len(rows) < MAX_ROWS_ALL_PAGES:
                    await ctx.report_progress(len(rows), info.total, f"read {len(rows)} reservations")
                    page = await page_at(info.next_offset)
                    if not page.items:
                        break
                    rows.extend(page.items)
                    info = page.page
                more = info.has_more or len(rows) > MAX_ROWS_ALL_PAGES
                rows = rows[:MAX_ROWS_ALL_PAGES]
                info = PageInfo(offset=offset, limit=limit, count=len(rows), total=info.total, has_more=more,
                                next_offset=offset + len(rows) if more else None)
                await ctx.report_progress(len(rows), info.total or len(rows), f"read {len(rows)} reservations")
            records: dict[str, Reservation] = {}
            if detail and rows:
                gate = asyncio.Semaphore(DETAIL_CONCURRENCY)

                async def full(rid: str) -> None:
                    async with gate:
                        records[rid] = await reservations.get(hotel, rid)
                    await ctx.report_progress(len(records), len(rows), f"read {len(records)} full records")

                await asyncio.gather(*(full(r.reservation_id) for r in rows))
        except OperaError as exc:
            raise tool_error(exc, what=f"search_reservations in {hotel}",
                             next_step="check the filters (dates are YYYY-MM-DD) and try again") from None
        out = []
        for row in rows:
            found = records.get(row.reservation_id)
            out.append(ReservationRow(**row.model_dump(), details=details_of(found) if found else None))
        return ReservationSearchResult(hotel_id=hotel, reservations=out, page=info)

    # -- get_reservation --------------------------------------------------------------------------------------

    async def get_reservation(
        reservation_id: Annotated[str | None, Field(description="OPERA reservation id", max_length=40,
                                                    pattern=r"^[A-Za-z0-9_-]+$")] = None,
        confirmation_number: Annotated[str | None, Field(description="or the guest's confirmation number",
                                                         max_length=40)] = None,
        hotel_id: HotelId = None,
    ) -> Reservation:
        hotel = services.hotel(hotel_id)
        if bool(reservation_id) == bool(confirmation_number):
            raise ToolError(
                "give exactly one of reservation_id or confirmation_number; to look a guest up by name use "
                "search_reservations"
            )
        if confirmation_number:
            try:
                found = await reservations.search(hotel, confirmation_number=confirmation_number, limit=2)
            except OperaError as exc:
                raise tool_error(exc, what=f"get_reservation looking up confirmation {confirmation_number}",
                                 next_step="retry, or search_reservations by surname") from None
            matches = [r for r in found.items if r.confirmation_number in (None, confirmation_number)]
            if not matches:
                raise ToolError(
                    f"no reservation with confirmation number {confirmation_number} in {hotel}; check the number, "
                    "or find it with search_reservations by surname"
                )
            reservation_id = matches[0].reservation_id
        assert reservation_id is not None
        return await read_reservation(hotel, reservation_id, "get_reservation")

    # -- create_reservation -----------------------------------------------------------------------------------

    async def create_reservation(
        arrival: Annotated[date, Field(description="arrival date (YYYY-MM-DD)")],
        departure: Annotated[date, Field(description="departure date (YYYY-MM-DD), after arrival and at most "
                                                     f"{MAX_STAY_NIGHTS} nights later")],
        room_type: Annotated[Code, Field(description="room type code from check_availability, e.g. KNG")],
        rate_plan: Annotated[Code, Field(description="rate plan code from check_availability, e.g. BAR")],
        adults: Annotated[int, Field(ge=1, le=20, description="adults in the room (at least 1)")],
        children: Annotated[int, Field(ge=0, le=20, description="children in the room")] = 0,
        profile_id: Annotated[str | None, Field(description="existing guest profile id (from search_guests or "
                                                            "create_guest)", max_length=40,
                                                pattern=r"^[A-Za-z0-9_-]+$")] = None,
        given_name: Annotated[str | None, Field(description="guest given name, when there is no profile_id",
                                                max_length=40)] = None,
        surname: Annotated[str | None, Field(description="guest surname, when there is no profile_id (OPERA "
                                                         "creates the profile)", max_length=40)] = None,
        guarantee_code: Annotated[Code | None, Field(description="guarantee, e.g. 6PM, CC, DEP")] = None,
        payment_method: Annotated[Code | None, Field(description="payment method code, e.g. CA, VA, MC")] = None,
        comments: Annotated[list[Annotated[str, Field(min_length=1, max_length=2000)]] | None,
                            Field(description="comments for the reservation", max_length=10)] = None,
        market_code: Annotated[Code | None, Field(description="market code; default: the rate plan's")] = None,
        source_code: Annotated[Code | None, Field(description="source code; default: the rate plan's")] = None,
        rooms: Annotated[int, Field(ge=1, le=20, description="rooms of this type, rate and dates on one "
                                                            "reservation (split_reservation before check-in)")] = 1,
        hotel_id: HotelId = None,
        idempotency_key: IdempotencyKey = None,
    ) -> BookingResult:
        hotel = services.hotel(hotel_id)
        check_stay(arrival, departure)
        given_name = (given_name or "").strip() or None
        surname = (surname or "").strip() or None
        if profile_id and (given_name or surname):
            raise ToolError(
                "give either profile_id or the guest's name, not both: with a profile_id the name comes from the "
                "profile (see get_guest)"
            )
        if not profile_id and not surname:
            raise ToolError(
                "the guest is missing: give profile_id (find it with search_guests, or create_guest) or at least "
                "the guest's surname"
            )
        plan: RatePlan | None = None
        try:
            plan = await rate_plans.get(hotel, rate_plan)
        except OperaNotFoundError:
            raise ToolError(
                f"rate plan {rate_plan} is not offered in {hotel}; pick a rate_plan from check_availability or "
                "list_rate_plans"
            ) from None
        except OperaError:
            plan = None  # the booking itself will tell; defaults are a convenience, not a precondition
        if plan and plan.room_types and room_type.upper() not in {t.upper() for t in plan.room_types}:
            raise ToolError(
                f"rate plan {plan.rate_plan} does not sell room type {room_type} in {hotel} (it sells "
                f"{', '.join(plan.room_types)}); pick a room_type and rate_plan pair from check_availability"
            )
        booking = BookingRequest(
            arrival=arrival, departure=departure, room_type=room_type, rate_plan=rate_plan, adults=adults,
            children=children, profile_id=profile_id, given_name=given_name, surname=surname,
            guarantee_code=guarantee_code, payment_method=payment_method, comments=tuple(comments or ()),
            market_code=market_code or (plan.market_code if plan else None),
            source_code=source_code or (plan.source_code if plan else None),
            external_reference=services.stamp(), rooms=rooms,
        )
        try:
            created = await reservations.create(hotel, booking)
        except OperaNotFoundError as exc:
            raise tool_error(exc, what=f"create_reservation in {hotel}",
                             next_step="check profile_id with get_guest, and room_type/rate_plan with "
                                       "check_availability") from None
        except OperaError as exc:
            raise tool_error(exc, what=f"create_reservation in {hotel}",
                             next_step="check dates, room_type and rate_plan with check_availability, and codes "
                                       "such as guarantee_code or payment_method, then try again") from None
        metrics.reservations.labels("created").inc()
        return booking_result(created)

    def booking_result(created: CreatedReservation) -> BookingResult:
        return BookingResult(
            **created.model_dump(),
            next_step=(
                f"give the guest confirmation number {created.confirmation_number or created.reservation_id}; "
                "use modify_reservation for changes; on the arrival day assign_room and check_in"
            ),
        )

    async def find_booking(args: Mapping[str, Any], reference: str) -> BookingResult | None:
        record = await reservations.find_by_external_reference(str(args["hotel_id"]),
                                                               services.external_reference(reference))
        if record is None:
            return None
        return booking_result(CreatedReservation(reservation_id=record.reservation_id,
                                                 confirmation_number=record.confirmation_number, reservation=record))

    # -- modify_reservation -----------------------------------------------------------------------------------

    async def modify_reservation(
        reservation_id: ReservationId,
        arrival: Annotated[date | None, Field(description="new arrival date")] = None,
        departure: Annotated[date | None, Field(description="new departure date (YYYY-MM-DD), after arrival and at "
                                                            f"most {MAX_STAY_NIGHTS} nights later")] = None,
        room_type: Annotated[Code | None, Field(description="new room type code")] = None,
        rate_plan: Annotated[Code | None, Field(description="new rate plan code")] = None,
        adults: Annotated[int | None, Field(ge=1, le=20, description="new number of adults")] = None,
        children: Annotated[int | None, Field(ge=0, le=20, description="new number of children")] = None,
        comment: Annotated[str | None, Field(description="a comment to add", min_length=1,
                                             max_length=2000)] = None,
        guarantee_code: Annotated[Code | None, Field(description="new guarantee code")] = None,
        payment_method: Annotated[Code | None, Field(description="new payment method code")] = None,
        hotel_id: HotelId = None,
        idempotency_key: IdempotencyKey = None,
    ) -> ModifiedReservation:
        hotel = services.hotel(hotel_id)
        changes = ReservationChanges(
            arrival=arrival, departure=departure, room_type=room_type, rate_plan=rate_plan, adults=adults,
            children=children, comment=comment, guarantee_code=guarantee_code, payment_method=payment_method,
        )
        if changes.is_empty():
            raise ToolError(
                "nothing to change: give at least one of arrival, departure, room_type, rate_plan, adults, "
                "children, comment, guarantee_code, payment_method"
            )
        if arrival and departure:
            check_stay(arrival, departure)
        # Never from the cache: the change is built from this read, and another replica or a clerk may have just
        # changed the record.
        current = await read_reservation(hotel, reservation_id, "modify_reservation", fresh=True)
        if current.status in CLOSED_STATUSES:
            hint = "reinstate_reservation first" if current.status == "Cancelled" else "make a new booking instead"
            raise ToolError(f"reservation {reservation_id} is {current.status} and cannot be changed; {hint}")
        check_stay(arrival or current.arrival, departure or current.departure)
        if (room_type and current.room_locked and current.room_id
                and room_type.upper() != (current.room_type or "").upper()):
            # OPERA's Do Not Move: the stay keeps its room, and a room of one type cannot hold another type's stay
            lift = services.offered("assign_room",
                                    f"lift the lock first with assign_room room_id={current.room_id} do_not_move=false",
                                    "the front office lifts the lock in OPERA first")
            raise ToolError(
                f"modify_reservation refused: reservation {reservation_id} is locked to room {current.room_id}, a "
                f"{current.room_type} (OPERA's Do Not Move, set so the guest keeps that room), and a {room_type} stay "
                f"would need another room; nothing was changed. Next step: keep the room type, or, only if the human "
                f"confirms the guest must move, {lift}"
            )
        try:
            updated = await reservations.modify(hotel, current, changes)
        except OperaError as exc:
            raise tool_error(exc, what=f"modify_reservation {reservation_id} in {hotel}",
                             next_step="check the new dates, room type and rate plan with check_availability, "
                                       "then try again") from None
        metrics.reservations.labels("modified").inc()
        return ModifiedReservation(reservation=updated, changed=changes.changed(), warnings=updated.warnings)

    async def find_modification(args: Mapping[str, Any], reference: str) -> ModifiedReservation | None:
        # putReservation applies a change whole or not at all: if OPERA already holds every asked-for value, the
        # earlier call happened.
        record = await reservations.get(str(args["hotel_id"]), str(args["reservation_id"]), fresh=True)
        wanted = {"arrival": record.arrival, "departure": record.departure, "room_type": record.room_type,
                  "rate_plan": record.rate_plan, "adults": record.adults, "children": record.children,
                  "guarantee_code": record.guarantee_code, "payment_method": record.payment_method}
        for name, held in wanted.items():
            asked = args.get(name)
            if asked is not None and str(asked).upper() != str(held).upper():
                return None
        comment = args.get("comment")
        if comment is not None and str(comment) not in record.comments:
            return None
        changed = [n for n in (*wanted, "comment") if args.get(n) is not None]
        return ModifiedReservation(reservation=record, changed=changed, warnings=[])

    # -- cancel_reservation -----------------------------------------------------------------------------------

    async def cancel_plan(hotel: str, reservation_id: str, reason_code: str | None) -> tuple[Reservation, str]:
        """The checks every cancellation (its preview, its dry run, the cancellation itself) makes: the record as
        OPERA holds it now, not already cancelled, and a configured reason; returns it and the reason code."""
        planned: tuple[Reservation, str] | None = recall(("cancel_reservation", hotel, reservation_id, reason_code))
        if planned is not None:
            return planned
        current = await read_reservation(hotel, reservation_id, "cancel_reservation", fresh=True)
        if current.status == "Cancelled":
            raise ToolError(
                f"reservation {reservation_id} is already cancelled"
                + (f" (cancellation number {current.cancellation_number})" if current.cancellation_number else "")
                + "; reinstate_reservation brings it back"
            )
        reasons: list[ReasonCode] = []
        try:
            reasons = await reservations.cancellation_reasons(hotel)
        except OperaError:
            reasons = []  # the list is a convenience; OHIP still checks the code it is given
        if reason_code is None:
            if not reasons:
                raise ToolError(
                    f"no cancellation reasons could be read for {hotel}; give reason_code (a code from the hotel's "
                    "CancellationReasons list)"
                )
            reason_code = reasons[0].code
        elif reasons and reason_code.upper() not in {r.code.upper() for r in reasons}:
            raise ToolError(
                f"cancellation reason {reason_code} is not configured in {hotel}; use one of "
                f"{', '.join(r.code for r in reasons)}"
            )
        return current, reason_code

    async def send_cancel(hotel: str, current: Reservation, reason_code: str, reason_text: str | None, *,
                          verification_only: bool) -> CancellationResult:
        """postCancelReservation (verification_only: OHIP's own check, nothing changes), in one wording."""
        try:
            return await reservations.cancel(
                hotel, current.reservation_id, reason_code=reason_code, reason_text=reason_text,
                verification_only=verification_only,
            )
        except OperaError as exc:
            raise tool_error(exc, what=f"cancel_reservation {current.reservation_id} in {hotel} ({current.status})",
                             next_step="only reservations not yet checked in can be cancelled; check the status "
                                       "with get_reservation") from None

    async def preview_cancel(args: Mapping[str, Any]) -> str:
        """Before the human is asked: the cancellation's checks, then OHIP's verificationOnly cancellation."""
        hotel = services.hotel(args.get("hotel_id"))
        reservation_id, code = str(args["reservation_id"]), args.get("reason_code")
        current, reason = await cancel_plan(hotel, reservation_id, code)
        await send_cancel(hotel, current, reason, args.get("reason_text"), verification_only=True)
        remember(("cancel_reservation", hotel, reservation_id, code), (current, reason))
        total = f", stay total {money_text(current.total)}" if current.total else ""
        return (f"Cancel the stay of {guest_of(current)} in {room_of(current)} ({booking_of(current, hotel)}"
                f"{total}) with reason {reason}?")

    async def cancel_reservation(
        reservation_id: ReservationId,
        reason_code: Annotated[Code | None, Field(description="cancellation reason code from the hotel's "
                                                              "CancellationReasons list; default: the first one")]
        = None,
        reason_text: Annotated[str | None, Field(description="free-text reason", max_length=2000)] = None,
        dry_run: Annotated[bool, Field(description="true: only report what would happen, cancel nothing")]
        = False,
        hotel_id: HotelId = None,
        idempotency_key: IdempotencyKey = None,
    ) -> CancellationReport:
        hotel = services.hotel(hotel_id)
        current, reason_code = await cancel_plan(hotel, reservation_id, reason_code)
        result = await send_cancel(hotel, current, reason_code, reason_text, verification_only=dry_run)
        who = f"{guest_label(current.guest_name)}, {current.arrival.isoformat()} to {current.departure.isoformat()}"
        if dry_run:
            message = (f"dry run: reservation {reservation_id} ({who}) can be cancelled with reason {reason_code}; "
                       "nothing was changed. Call again with dry_run=false to cancel it.")
        else:
            metrics.reservations.labels("cancelled").inc()
            message = (f"reservation {reservation_id} ({who}) is cancelled"
                       + (f", cancellation number {result.cancellation_number}" if result.cancellation_number else "")
                       + "; reinstate_reservation undoes it while the arrival date has not passed")
        record = current
        if result.cancelled:
            try:
                record = await reservations.get(hotel, reservation_id, fresh=True)
            except OperaError:
                record = current.model_copy(update={"status": result.status or "Cancelled"})
        return cancellation_report(result, record, message, refund_tool=services.offers("refund_deposit"))

    async def find_cancellation(args: Mapping[str, Any], reference: str) -> CancellationReport | None:
        if args.get("dry_run"):
            return None  # a dry run changes nothing: running it again is safe
        record = await reservations.get(str(args["hotel_id"]), str(args["reservation_id"]), fresh=True)
        if record.status != "Cancelled":
            return None
        return cancellation_report(CancellationResult(
            reservation_id=record.reservation_id, dry_run=False, cancelled=True,
            cancellation_number=record.cancellation_number, status=record.status,
            reason_code=record.cancellation_reason or str(args.get("reason_code") or ""),
        ), record, (f"reservation {record.reservation_id} is cancelled"
                    + (f", cancellation number {record.cancellation_number}" if record.cancellation_number else "")
                    + "; reinstate_reservation undoes it while the arrival date has not passed"),
            refund_tool=services.offers("refund_deposit"))

    # -- reinstate_reservation --------------------------------------------------------------------------------

    async def reinstate_reservation(reservation_id: ReservationId, hotel_id: HotelId = None) -> Reservation:
        hotel = services.hotel(hotel_id)
        try:
            record = await reservations.reinstate(hotel, reservation_id)
        except OperaNotFoundError as exc:
            raise ToolError(
                f"no reservation {reservation_id} in {hotel} ({exc.describe()}); find it with search_reservations "
                "with status Cancelled"
            ) from None
        except OperaError as exc:
            raise tool_error(exc, what=f"reinstate_reservation {reservation_id} in {hotel}",
                             next_step="only a cancelled reservation whose arrival has not passed can be "
                                       "reinstated, and only while rooms are left; check get_reservation and "
                                       "check_availability") from None
        metrics.reservations.labels("reinstated").inc()
        return record

    async def split_result(hotel: str, record: Reservation, *, split: bool) -> SplitResult:
        linked = await reservations.linked(hotel, record.reservation_id)
        own = LinkedReservation(
            reservation_id=record.reservation_id, confirmation_number=record.confirmation_number,
            status=record.status, guest_name=record.guest_name, arrival=record.arrival, departure=record.departure,
            room_type=record.room_type, room_id=record.room_id, link="Linked" if linked else None,
        )
        ids = ", ".join([own.reservation_id, *(r.reservation_id for r in linked)])
        return SplitResult(
            reservation_id=record.reservation_id, split=split, reservations=[own, *linked],
            next_step=f"assign_room and check_in each reservation ({ids}) when its guest arrives",
        )

    async def split_reservation(reservation_id: ReservationId, hotel_id: HotelId = None,
                                idempotency_key: IdempotencyKey = None) -> SplitResult:
        hotel = services.hotel(hotel_id)
        record = await read_reservation(hotel, reservation_id, "split_reservation", fresh=True)
        if record.rooms < 2:
            return await split_result(hotel, record, split=False)  # already one room: nothing to split
        if record.status in CLOSED_STATUSES or record.status == "InHouse":
            raise ToolError(
                f"reservation {reservation_id} in {hotel} is {record.status}; only a reservation not yet checked "
                "in is split"
            )
        try:
            await reservations.split(hotel, reservation_id)
        except OperaError as exc:
            # The answer may be lost after OPERA split it (a repeat is never sent blindly): what it holds decides.
            try:
                after = await reservations.get(hotel, reservation_id, fresh=True)
            except OperaError:
                after = record
            if after.rooms < record.rooms:
                return await split_result(hotel, after, split=True)
            raise tool_error(exc, what=f"split_reservation {reservation_id} in {hotel}",
                             next_step="check the reservation with get_reservation: only one not yet checked in, "
                                       "of several rooms, can be split") from None
        metrics.reservations.labels("split").inc()
        return await split_result(hotel, await reservations.get(hotel, reservation_id, fresh=True), split=True)

    async def find_split(args: Mapping[str, Any], reference: str) -> SplitResult | None:
        hotel, reservation_id = str(args["hotel_id"]), str(args["reservation_id"])
        record = await reservations.get(hotel, reservation_id, fresh=True)
        if record.rooms > 1:
            return None  # not split yet: the call is made
        return await split_result(hotel, record, split=True)

    return [
        ToolDef(
            name="search_reservations", toolset="reservations", access="read", fn=search_reservations,
            title="Search reservations",
            description=(
                "Find reservations by surname, given name, free text, confirmation number, arrival/departure date "
                "range, status or room, to get the reservation_id other tools need. Paged: offset=page.next_offset, or "
                "all_pages=true; detail=true adds guarantee, payment method and comments. Next: get_reservation, "
                "modify_reservation or cancel_reservation."
            ),
            read_only=True, idempotent=True,
        ),
        ToolDef(
            name="get_reservation", toolset="reservations", access="read", fn=get_reservation,
            title="Get a reservation",
            description=(
                "One reservation in full (guest, dates, room, rate, status, balance, guarantee, payment method, card "
                "on file, comments, cancellation) by reservation_id or confirmation_number. Next: modify_reservation, "
                "cancel_reservation, assign_room or check_in."
            ),
            read_only=True, idempotent=True,
        ),
        ToolDef(
            name="create_reservation", toolset="reservations", access="write", fn=create_reservation,
            title="Book a reservation",
            description=(
                "Book a stay. Needs arrival, departure, room_type, rate_plan (a bookable pair from "
                "check_availability), adults, and the guest: profile_id (search_guests/create_guest) or given_name and "
                "surname. Market and source codes default to the rate plan's. Returns reservation_id and "
                "confirmation_number (give it to the guest). Next: check_in on the arrival day."
            ),
            exactly_once=ExactlyOnce(find_booking, found_by="the booking's external reference", check_first=True),
        ),
        ToolDef(
            name="modify_reservation", toolset="reservations", access="write", fn=modify_reservation,
            title="Change a reservation",
            description=(
                "Change a reservation not cancelled or checked out: dates, room type, rate plan, adults, children, "
                "guarantee, payment method, or add a comment. Give only what changes; check new dates or room types "
                "with check_availability first. Returns the updated record."
            ),
            exactly_once=ExactlyOnce(find_modification, found_by="the reservation already holding every change"),
        ),
        ToolDef(
            name="cancel_reservation", toolset="reservations", access="write", fn=cancel_reservation,
            title="Cancel a reservation",
            description=(
                "Cancel a reservation not yet checked in, with a reason code (default: the hotel's first). "
                "dry_run=true only says whether it can be cancelled. Returns the cancellation number; undo with "
                "reinstate_reservation."
            ),
            destructive=True,
            exactly_once=ExactlyOnce(find_cancellation, found_by="the reservation's Cancelled status"),
            preview=preview_cancel,
        ),
        ToolDef(
            name="split_reservation", toolset="reservations", access="write", fn=split_reservation,
            title="Split a multi-room reservation",
            description=(
                "Make a reservation of several rooms (rooms > 1 in get_reservation) one reservation per room, each "
                "with its own confirmation number, linked to the first, with the same guest, stay, rate and payment "
                "method: OPERA assigns a room to and checks in one room per reservation. Returns the reservations "
                "to assign_room and check_in."
            ),
            exactly_once=ExactlyOnce(find_split, found_by="the reservation holding one room"),
        ),
        ToolDef(
            name="reinstate_reservation", toolset="reservations", access="write", fn=reinstate_reservation,
            title="Reinstate a cancelled reservation",
            description=(
                "Bring a cancelled reservation back to Reserved while its arrival date has not passed and rooms are "
                "free (find it with search_reservations status=Cancelled). Returns the record."
            ),
        ),
    ]
