"""Reservations on OHIP (rsv): search, read, book, change, cancel and reinstate, as plain domain models.

It reads both reservation shapes OHIP answers with (the flat search row and the full record) into one model.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import date, timedelta
from typing import Any

from pydantic import BaseModel, Field

from app.opera.errors import OperaError, OperaNotFoundError
from app.opera.http import OperaHTTP, OperaResponse, Operation
from app.opera.lov import COMMENT_TYPE, HotelCodes, ListsOfValuesAPI
from app.opera.models import (
    ExternalReference,
    Money,
    OperaWarning,
    PageInfo,
    as_text,
    round_money,
    warnings_from,
)

GET_HOTEL_RESERVATIONS = Operation("rsv", "getHotelReservations", "GET", "/hotels/{hotelId}/reservations")
GET_RESERVATION = Operation("rsv", "getReservation", "GET", "/hotels/{hotelId}/reservations/{reservationId}")
POST_RESERVATION = Operation("rsv", "postReservation", "POST", "/hotels/{hotelId}/reservations")
GET_RESERVATION_BY_EXT_ID = Operation(
    "rsv", "getReservationByExtId", "GET",
    "/hotels/{hotelId}/externalSystems/{externalSystemCode}/reservations/{reservationExternalId}",
)
PUT_RESERVATION = Operation("rsv", "putReservation", "PUT", "/hotels/{hotelId}/reservations/{reservationId}")
GET_ALERT_NOTICES = Operation(
    "rsv", "getAlertNotices", "GET", "/hotels/{hotelId}/reservations/{reservationId}/alerts"
)
POST_CANCEL_RESERVATION = Operation(
    "rsv", "postCancelReservation", "POST", "/hotels/{hotelId}/reservations/{reservationId}/cancellations"
)
#: The path names no hotel (x-hotelid does).
PUT_SPLIT_RESERVATION = Operation("rsv", "putSplitMultiRoomReservation", "PUT", "/reservations/{reservationId}/split")
GET_LINKED_RESERVATIONS = Operation(
    "rsv", "getLinkedReservationsSummary", "GET", "/hotels/{hotelId}/reservations/{reservationId}/linkedSummary"
)
PUT_REINSTATE_RESERVATION = Operation(
    "rsv", "putReinstateReservation", "PUT", "/hotels/{hotelId}/reservations/{reservationId}/cancellations"
)

#: What a full read asks OHIP for: the record, its comments, how it is paid and its balance.
#: getReservation's (and getReservationByExtId's) fetch instructions for a full record. `totalDepositPaid` is in
#: RevenuesAndBalances' resRevenueBalanceType; getReservation's TotalDepositPaid is not among getReservationByExtId's
#: instructions, so it is not sent.
FULL_RECORD = ("Reservation", "Comments", "ReservationPaymentMethods", "RevenuesAndBalances", "ReservationPolicies")
SEARCH_ROWS = ("Reservation", "ReservationID", "RevenuesAndBalances")

#: Statuses after which a reservation can no longer be changed.
CLOSED_STATUSES = frozenset({"Cancelled", "CheckedOut", "NoShow"})


# --- reading OHIP's shapes (lenient: OHIP omits fields freely; shared with availability and profiles) ---------


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    if isinstance(value, list):
        return value
    # OHIP's own tooling sometimes sends a lone object where an array is declared.
    return [value] if isinstance(value, dict) else []


def status_of(entry: Mapping[str, Any]) -> str | None:
    """The status a front desk sees: OPERA's computed one (DueIn, DueOut...) when sent, else the stored one."""
    return as_text(entry.get("computedReservationStatus")) or as_text(entry.get("reservationStatus"))


def given_fields(parts: Any) -> list[str]:
    """Names of a dataclass's fields that are not None, in declaration order: what a change or update sets."""
    return [f.name for f in fields(parts) if getattr(parts, f.name) is not None]


def as_int(value: Any) -> int | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def as_date(value: Any) -> date | None:
    if isinstance(value, date):
        return value
    text = as_text(value)
    if not text:
        return None
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        return None


def id_of(id_list: Any, kind: str) -> str | None:
    """The id of the given type ("Reservation", "Confirmation", "Profile"...) in an OHIP uniqueID_Type list."""
    for entry in as_list(id_list):
        if isinstance(entry, dict) and str(entry.get("type", "")).lower() == kind.lower():
            found = as_text(entry.get("id"))
            if found:
                return found
    return None


def money_from_amount(raw: Any) -> Money | None:
    """A currencyAmountType ({amount, currencyCode}) as Money."""
    body = as_dict(raw)
    amount = body.get("amount")
    if isinstance(amount, bool) or not isinstance(amount, (int, float, str)):
        return None
    try:
        return Money(amount=float(amount), currency=as_text(body.get("currencyCode")))
    except ValueError:
        return None


def money_from_total(raw: Any, *, after_tax: bool = True) -> Money | None:
    """A totalType ({amountBeforeTax, amountAfterTax, currencyCode}) as Money, after tax when OHIP gives it."""
    body = as_dict(raw)
    keys = ("amountAfterTax", "amountBeforeTax") if after_tax else ("amountBeforeTax", "amountAfterTax")
    for key in keys:
        amount = body.get(key)
        if isinstance(amount, (int, float)) and not isinstance(amount, bool):
            return Money(amount=float(amount), currency=as_text(body.get("currencyCode")))
    return None


def nights_of(arrival: date, departure: date) -> int:
    return max(0, (departure - arrival).days)


def units_of(raw: Any) -> int:
    """A reservation's number of rooms (numberOfUnits / numberOfRooms); 1 when OPERA leaves it out."""
    units = as_int(raw)
    return units if units is not None and units >= 1 else 1


def stay_price(
    nightly: Sequence[Money], arrival: date, departure: date, rooms: int = 1
) -> tuple[Money | None, Money | None]:
    """(nightly rate, room total) of a stay: the one reading every tool reports, from a full record's nightly rates
    or a search row's rateAmount (one rate). The rate is the first night's before tax; the total is the nightly
    rates over the nights booked, before tax (a day use is charged one day). A search row's one rate cannot tell a
    stay priced night by night: summary_from_row takes the row's own totalAmount instead when OPERA gives it. A
    reservation of several rooms (`rooms`) pays each night once per room."""
    if not nightly:
        return None, None
    rate = nightly[0]
    days = max(1, nights_of(arrival, departure))
    rates = list(nightly)[:days]
    rates += [rates[-1]] * (days - len(rates))  # a row's one rate stands for every night
    total = round_money(sum(m.amount for m in rates) * rooms, rate.currency)
    return rate, Money(amount=total, currency=rate.currency)


def person_name(given: Any, surname: Any) -> str | None:
    parts = [p for p in (as_text(given), as_text(surname)) if p]
    return " ".join(parts) or None


def primary_person_name(customer: Any) -> tuple[str | None, str | None]:
    """(given name, surname) of the Primary personName of an OHIP customer, else the first one."""
    names = [n for n in as_list(as_dict(customer).get("personName")) if isinstance(n, dict)]
    if not names:
        return None, None
    chosen = next((n for n in names if n.get("nameType") == "Primary"), names[0])
    return as_text(chosen.get("givenName")), as_text(chosen.get("surname"))


# --- models --------------------------------------------------------------------------------------------------


class ReservationSummary(BaseModel):
    """One reservation as a front-desk agent sees it in a list."""

    reservation_id: str = Field(description="OPERA's internal reservation id; use it in every other tool")
    confirmation_number: str | None = Field(default=None, description="the number the guest was given")
    hotel_id: str = Field(description="hotel code")
    status: str | None = Field(
        default=None,
        description="OPERA status: DueIn, InHouse, DueOut, CheckedOut, Cancelled, NoShow, Reserved (future)...",
    )
    guest_name: str | None = Field(default=None, description="primary guest, given name then surname")
    profile_id: str | None = Field(default=None, description="the primary guest's profile id (see get_guest)")
    arrival: date = Field(description="arrival date")
    departure: date = Field(description="departure date")
    adults: int | None = None
    children: int | None = None
    room_type: str | None = Field(default=None, description="booked room type code, e.g. KNG")
    rooms: int = Field(
        default=1,
        description="rooms the reservation holds (OPERA's numberOfUnits); one of several rooms is split "
        "(split_reservation) into one reservation per room before a room is assigned or a guest checked in",
    )
    room_id: str | None = Field(default=None, description="assigned room number, if any")
    room_locked: bool = Field(
        default=False,
        description="OPERA's Do Not Move: the assigned room is locked to this stay; assign_room and check_in keep it",
    )
    rate_plan: str | None = Field(default=None, description="rate plan code, e.g. BAR")
    rate_amount: Money | None = Field(default=None, description="nightly rate before tax (the first night's)")
    nights: int = Field(default=0, description="nights booked (0 for a day use)")
    total: Money | None = Field(
        default=None,
        description="room total of the stay: the nightly rates over the nights booked, before tax, for every room "
        "it holds; in a list, OPERA's own total of the stay (which can include taxes and fees where the hotel's "
        "totals do)",
    )
    balance: Money | None = Field(
        default=None, description="what the guest owes now, as OPERA's folio shows it (get_folio); 0 before check-in"
    )


class DepositDue(BaseModel):
    """The reservation's deposit request (rsv resDepositPolicyType), such as a rate code's "full prepayment at
    booking": what it asks, what is paid against it, what is still due and by when."""

    amount_due: Money = Field(description="still to pay on the request (OPERA's amountDue)")
    amount_paid: Money | None = Field(default=None, description="paid against the request so far")
    requested: Money | None = Field(default=None, description="what the request asks in all")
    due_by: date | None = Field(default=None, description="the deposit's deadline")
    rule: str | None = Field(default=None, description="the deposit rule: its code and description")
    policy_id: str | None = Field(default=None, exclude=True)


class Reservation(ReservationSummary):
    """A reservation's full record."""

    guarantee_code: str | None = Field(default=None, description="e.g. 6PM, CC, DEP")
    payment_method: str | None = Field(default=None, description="payment method code, e.g. CA, VA")
    card_on_file: str | None = Field(
        default=None, description="the tokenized card a card payment_method pays from: its type and last four digits"
    )
    deposit_paid: Money | None = Field(
        default=None,
        description="deposits paid before the stay (OPERA's totalDepositPaid, refunds taken off); from check-in "
        "they are on the folio and count against the bill. None: no deposit",
    )
    deposit_due: DepositDue | None = Field(
        default=None, description="the deposit the reservation asks for (its rate code's deposit rule); None: none")
    market_code: str | None = None
    source_code: str | None = None
    comments: list[str] = Field(default_factory=list, description="comments on the reservation")
    cancellation_number: str | None = Field(default=None, description="set once cancelled")
    cancellation_reason: str | None = Field(default=None, description="reason code and text, once cancelled")
    warnings: list[OperaWarning] = Field(default_factory=list, description="soft problems OHIP reported")


class ReservationAlert(BaseModel):
    """A notice OPERA shows the desk at one step of the stay (rsv alertType), e.g. at check-in "collect a deposit"."""

    code: str | None = None
    area: str = Field(description="where OPERA shows it: CheckIn, CheckOut, Reservation, Billing, InHouse")
    description: str | None = Field(default=None, description="the notice, as the hotel wrote it")
    stops: bool = Field(default=False, description="a stop alert: OPERA holds the check-in or check-out until removed")


class ReservationPage(BaseModel):
    items: list[ReservationSummary]
    page: PageInfo


class CreatedReservation(BaseModel):
    """What a booking produced: the new ids and, when OHIP answered the read-back, the record."""

    reservation_id: str = Field(description="the new reservation's id")
    confirmation_number: str | None = Field(default=None, description="give this to the guest")
    reservation: Reservation | None = Field(default=None, description="the booked record as OPERA holds it")
    warnings: list[OperaWarning] = Field(default_factory=list)


class CancellationResult(BaseModel):
    reservation_id: str
    dry_run: bool = Field(description="true: nothing was cancelled, this is what would happen")
    cancelled: bool = Field(description="true when the reservation is now cancelled")
    cancellation_number: str | None = None
    status: str | None = Field(default=None, description="reservation status OHIP reported")
    reason_code: str
    warnings: list[OperaWarning] = Field(default_factory=list)


class ReasonCode(BaseModel):
    code: str
    description: str | None = None


class LinkedReservation(BaseModel):
    """A reservation linked to another (rsv linkedReservationInfoType): one a split made, or a share."""

    reservation_id: str = Field(description="OPERA's internal reservation id")
    confirmation_number: str | None = Field(default=None, description="its own confirmation number")
    status: str | None = None
    guest_name: str | None = None
    arrival: date | None = None
    departure: date | None = None
    room_type: str | None = None
    room_id: str | None = Field(default=None, description="assigned room number, if any")
    link: str | None = Field(default=None, description="OPERA's link type: Linked, Shared or Default")


@dataclass(frozen=True)
class BookingRequest:
    """A new stay to book. Either profile_id or a name (given_name and/or surname) names the guest."""

    arrival: date
    departure: date
    room_type: str
    rate_plan: str
    adults: int
    children: int = 0
    profile_id: str | None = None
    given_name: str | None = None
    surname: str | None = None
    guarantee_code: str | None = None
    payment_method: str | None = None
    comments: Sequence[str] = ()
    market_code: str | None = None
    source_code: str | None = None
    #: Stamped on the booking so it can be found again after a lost answer.
    external_reference: ExternalReference | None = None
    rooms: int = 1  # numberOfUnits: rooms of the same type, rate and dates on one reservation


@dataclass(frozen=True)
class ReservationChanges:
    """Only the parts to change; None leaves a part as it is."""

    arrival: date | None = None
    departure: date | None = None
    room_type: str | None = None
    rate_plan: str | None = None
    adults: int | None = None
    children: int | None = None
    comment: str | None = None  # a comment to add to those already there
    guarantee_code: str | None = None
    payment_method: str | None = None

    def changed(self) -> list[str]:
        return given_fields(self)

    def is_empty(self) -> bool:
        return not self.changed()


# --- parsing -------------------------------------------------------------------------------------------------


def summary_from_row(row: Mapping[str, Any], hotel_id: str) -> ReservationSummary | None:
    """A search row (reservationInfoType); None when it lacks an id or dates."""
    stay = as_dict(row.get("roomStay"))
    rid = id_of(row.get("reservationIdList"), "Reservation")
    arrival, departure = as_date(stay.get("arrivalDate")), as_date(stay.get("departureDate"))
    if not rid or not arrival or not departure:
        return None
    guest = as_dict(row.get("reservationGuest"))
    guest_name = as_text(guest.get("fullName")) or person_name(guest.get("givenName"), guest.get("surname"))
    row_rate = money_from_amount(stay.get("rateAmount"))
    rooms = units_of(stay.get("numberOfRooms"))
    rate, total = stay_price([row_rate] if row_rate else [], arrival, departure, rooms)
    # A row's rateAmount is one night's; OPERA prices a stay night by night (a weekend, a season), so the row's
    # own total (stayInfoType.totalAmount, "the total amount charged for the Room Stay") is the stay's total, and
    # rate x nights only stands in when OPERA leaves it out.
    if (stated := money_from_amount(stay.get("totalAmount"))) is not None:
        total = stated
    return ReservationSummary(
        reservation_id=rid,
        confirmation_number=id_of(row.get("reservationIdList"), "Confirmation"),
        hotel_id=as_text(row.get("hotelId")) or hotel_id,
        status=status_of(row),
        guest_name=guest_name,
        profile_id=as_text(guest.get("id")),
        arrival=arrival,
        departure=departure,
        adults=as_int(stay.get("adultCount")),
        children=as_int(stay.get("childCount")),
        room_type=as_text(stay.get("roomType")),
        rooms=rooms,
        room_id=as_text(stay.get("roomId")),
        room_locked=stay.get("roomNumberLocked") is True,
        rate_plan=as_text(stay.get("ratePlanCode")),
        rate_amount=rate,
        nights=nights_of(arrival, departure),
        total=total,
        balance=money_from_amount(stay.get("balance"))
        or money_from_amount(as_dict(row.get("revenuesAndBalances")).get("balance")),
    )


def _primary_guest(record: Mapping[str, Any]) -> tuple[str | None, str | None]:
    guests = [g for g in as_list(record.get("reservationGuests")) if isinstance(g, dict)]
    if not guests:
        return None, None
    guest = next((g for g in guests if g.get("primary") is True), guests[0])
    info = as_dict(guest.get("profileInfo"))
    given, surname = primary_person_name(as_dict(info.get("profile")).get("customer"))
    return person_name(given, surname), id_of(info.get("profileIdList"), "Profile")


def _nightly_rates(rate_lines: Sequence[Mapping[str, Any]], arrival: date, departure: date) -> list[Money]:
    """The rate before tax of each night booked, from every rate line of the stay.

    OPERA keeps a line (and within it a rate) per stretch of the stay, and Oracle's examples date them both ways: a
    line ending on its last night (start == end for one night) and one ending on the next day. Read either way the
    same: each rate stands for the nights from its start until the next rate starts.
    """
    dated: list[tuple[date, Money]] = []
    for line in rate_lines:
        for rate in as_list(as_dict(line.get("rates")).get("rate")):
            entry = as_dict(rate)
            found = money_from_total(entry.get("base"), after_tax=False)
            start = as_date(entry.get("start")) or as_date(line.get("start"))
            if found is not None and start is not None:
                dated.append((start, found))
    if not dated:
        return []
    dated.sort(key=lambda pair: pair[0])
    nightly: list[Money] = []
    for n in range(max(1, nights_of(arrival, departure))):
        night = arrival + timedelta(days=n)
        standing = [money for start, money in dated if start <= night]
        nightly.append(standing[-1] if standing else dated[0][1])
    return nightly


def deposit_due_of(record: Mapping[str, Any]) -> DepositDue | None:
    """The deposit request of a getReservation record fetched with ReservationPolicies: the first one with something
    still due, else the first ("Only one deposit rule ... is in effect at a time", Oracle's user guide)."""
    requests = [(as_dict(r), money_from_amount(as_dict(r).get("amountDue")))
                for r in as_list(as_dict(record.get("reservationPolicies")).get("depositPolicies"))]
    owing = [(r, due) for r, due in requests if due is not None]
    if not owing:
        return None
    chosen, due = next(((r, d) for r, d in owing if d.amount > 0), owing[0])
    policy = as_dict(chosen.get("policy"))
    share = as_dict(policy.get("amountPercent"))
    rule = " ".join(p for p in (as_text(policy.get("policyCode")), as_text(policy.get("description"))) if p)
    return DepositDue(
        amount_due=due, amount_paid=money_from_amount(chosen.get("amountPaid")),
        requested=money_from_amount(share) if share.get("amount") is not None else None,
        due_by=as_date(as_dict(policy.get("deadline")).get("absoluteDeadline")), rule=rule or None,
        policy_id=as_text(as_dict(chosen.get("policyId")).get("id")),
    )


def _card_on_file(payment: Mapping[str, Any]) -> str | None:
    """'VA ending 1111' from a reservationPaymentMethods row's tokenized paymentCard; never more than 4 digits."""
    card = as_dict(payment.get("paymentCard"))
    last_four = as_text(card.get("cardNumberLast4Digits"))
    if not card or not last_four or not last_four.isdigit() or len(last_four) != 4:
        return None
    return f"{as_text(card.get('cardType')) or as_text(payment.get('paymentMethod')) or 'card'} ending {last_four}"


def reservation_from_record(
    record: Mapping[str, Any], hotel_id: str, warnings: list[OperaWarning] | None = None
) -> Reservation | None:
    """A full record (hotelReservationType); None when it lacks an id or dates."""
    stay = as_dict(record.get("roomStay"))
    rid = id_of(record.get("reservationIdList"), "Reservation")
    arrival, departure = as_date(stay.get("arrivalDate")), as_date(stay.get("departureDate"))
    rate_lines = [r for r in as_list(stay.get("roomRates")) if isinstance(r, dict)]
    line = rate_lines[0] if rate_lines else {}
    arrival = arrival or as_date(line.get("start"))
    departure = departure or as_date(line.get("end"))
    if not rid or not arrival or not departure:
        return None
    counts = as_dict(stay.get("guestCounts")) or as_dict(line.get("guestCounts"))
    room = as_dict(stay.get("currentRoomInfo"))
    payments = [p for p in as_list(record.get("reservationPaymentMethods")) if isinstance(p, dict)]
    totals = as_dict(as_dict(record.get("cashiering")).get("revenuesAndBalances"))
    balance = money_from_amount(totals.get("balance"))
    if balance is None and payments:
        balance = money_from_amount(payments[0].get("balance"))
    guest_name, profile_id = _primary_guest(record)
    nightly = _nightly_rates(rate_lines, arrival, departure)
    if not nightly and (stated := money_from_total(stay.get("total"), after_tax=False)) is not None:
        nights = max(1, nights_of(arrival, departure))
        nightly = [Money(amount=round_money(stated.amount / nights, stated.currency), currency=stated.currency)]
    rooms = units_of(line.get("numberOfUnits"))
    rate, total = stay_price(nightly, arrival, departure, rooms)
    cancellation = as_dict(record.get("cancellation"))
    reason = " ".join(p for p in (as_text(cancellation.get("code")), as_text(cancellation.get("description"))) if p)
    comments = []
    for entry in as_list(record.get("comments")):
        text = as_text(as_dict(as_dict(as_dict(entry).get("comment")).get("text")).get("value"))
        if text:
            comments.append(text)
    return Reservation(
        reservation_id=rid,
        confirmation_number=id_of(record.get("reservationIdList"), "Confirmation"),
        hotel_id=as_text(record.get("hotelId")) or hotel_id,
        status=status_of(record),
        guest_name=guest_name,
        profile_id=profile_id,
        arrival=arrival,
        departure=departure,
        adults=as_int(counts.get("adults")),
        children=as_int(counts.get("children")),
        room_type=as_text(room.get("roomType")) or as_text(line.get("roomType")),
        rooms=rooms,
        room_id=as_text(room.get("roomId")) or as_text(line.get("roomId")),
        # roomStayType.roomNumberLocked, or a rate line's (roomRateType: its stretch's room is locked)
        room_locked=stay.get("roomNumberLocked") is True or any(r.get("roomNumberLocked") is True for r in rate_lines),
        rate_plan=as_text(line.get("ratePlanCode")),
        rate_amount=rate,
        nights=nights_of(arrival, departure),
        total=total,
        balance=balance,
        guarantee_code=as_text(as_dict(stay.get("guarantee")).get("guaranteeCode")),
        payment_method=as_text(payments[0].get("paymentMethod")) if payments else None,
        card_on_file=_card_on_file(payments[0]) if payments else None,
        deposit_paid=money_from_amount(totals.get("totalDepositPaid")),
        deposit_due=deposit_due_of(record),
        market_code=as_text(line.get("marketCode")),
        source_code=as_text(line.get("sourceCode")),
        comments=comments,
        cancellation_number=as_text(as_dict(cancellation.get("cancellationNo")).get("id"))
        or id_of(record.get("reservationIdList"), "Cancellation"),
        cancellation_reason=reason or None,
        warnings=warnings or [],
    )


def page_info(paging: Mapping[str, Any], *, offset: int, limit: int, count: int) -> PageInfo:
    """PageInfo from OHIP's paging fields; an absent hasMore means all rows were fetched, unless totals disagree."""
    total = as_int(paging.get("totalResults"))
    start = as_int(paging.get("offset"))
    start = offset if start is None else start
    more = paging.get("hasMore")
    has_more = more if isinstance(more, bool) else (total is not None and start + count < total)
    return PageInfo(
        offset=start,
        limit=as_int(paging.get("limit")) or limit,
        count=count,
        total=total,
        has_more=has_more,
        next_offset=start + count if has_more else None,
    )


# --- request bodies ------------------------------------------------------------------------------------------


def _reservation_ref(reservation_id: str) -> list[dict[str, str]]:
    return [{"id": reservation_id, "type": "Reservation"}]


def _comment(text: str, note_type: str) -> dict[str, Any]:
    """A new comment (no id, so OPERA adds it); `note_type` is one of the hotel's ReservationNoteTypes."""
    return {"comment": {"text": {"value": text}, "type": note_type, "internal": False}}


def _guest_counts(adults: int, children: int) -> dict[str, int]:
    return {"adults": adults, "children": children}


def _rate_line(
    *, room_type: str, rate_plan: str, start: date, end: date, adults: int, children: int, rooms: int,
    market_code: str | None = None, source_code: str | None = None,
) -> dict[str, Any]:
    line: dict[str, Any] = {
        "roomType": room_type,
        "roomTypeCharged": room_type,
        "ratePlanCode": rate_plan,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "numberOfUnits": rooms,
        "guestCounts": _guest_counts(adults, children),
        "pseudoRoom": False,
    }
    if market_code:
        line["marketCode"] = market_code
    if source_code:
        line["sourceCode"] = source_code
    return line


def booking_body(hotel_id: str, booking: BookingRequest, note_type: str | None) -> dict[str, Any]:
    """postReservation body: note the wrapper object, `reservations.reservation[]` (PUT differs). `note_type`
    is the comments' type code, needed when there are comments."""
    stay: dict[str, Any] = {
        "arrivalDate": booking.arrival.isoformat(),
        "departureDate": booking.departure.isoformat(),
        "guestCounts": _guest_counts(booking.adults, booking.children),
        "roomRates": [
            _rate_line(
                room_type=booking.room_type, rate_plan=booking.rate_plan, start=booking.arrival,
                end=booking.departure, adults=booking.adults, children=booking.children, rooms=booking.rooms,
                market_code=booking.market_code, source_code=booking.source_code,
            )
        ],
    }
    if booking.guarantee_code:
        stay["guarantee"] = {"guaranteeCode": booking.guarantee_code, "onHold": False}
    if booking.profile_id:
        profile_info: dict[str, Any] = {"profileIdList": [{"id": booking.profile_id, "type": "Profile"}]}
    else:
        name: dict[str, str] = {"nameType": "Primary"}
        if booking.given_name:
            name["givenName"] = booking.given_name
        if booking.surname:
            name["surname"] = booking.surname
        profile_info = {"profile": {"customer": {"personName": [name]}, "profileType": "Guest"}}
    reservation: dict[str, Any] = {
        "hotelId": hotel_id,
        "reservationStatus": "Reserved",
        "roomStay": stay,
        "reservationGuests": [{"profileInfo": profile_info, "primary": True}],
    }
    if booking.payment_method:
        reservation["reservationPaymentMethods"] = [{"paymentMethod": booking.payment_method, "folioView": 1}]
    if booking.comments:
        if note_type is None:
            raise ValueError("comments need the hotel's note type")
        reservation["comments"] = [_comment(text, note_type) for text in booking.comments]
    if booking.external_reference is not None:
        reservation["externalReferences"] = [booking.external_reference.body()]
    return {"reservations": {"reservation": [reservation]}}


def change_body(
    hotel_id: str, current: Reservation, changes: ReservationChanges, note_type: str | None
) -> dict[str, Any]:
    """putReservation body with only the changed parts; `reservations` is an array here, unlike POST."""
    arrival = changes.arrival or current.arrival
    departure = changes.departure or current.departure
    adults = changes.adults if changes.adults is not None else (current.adults or 1)
    children = changes.children if changes.children is not None else (current.children or 0)
    stay: dict[str, Any] = {}
    if changes.arrival is not None:
        stay["arrivalDate"] = arrival.isoformat()
    if changes.departure is not None:
        stay["departureDate"] = departure.isoformat()
    if changes.adults is not None or changes.children is not None:
        stay["guestCounts"] = _guest_counts(adults, children)
    # The rate line carries room type, rate plan and its date span, so any of those changing rewrites it.
    if any(v is not None for v in (changes.room_type, changes.rate_plan, changes.arrival, changes.departure)):
        room_type = changes.room_type or current.room_type
        rate_plan = changes.rate_plan or current.rate_plan
        if room_type and rate_plan:
            stay["roomRates"] = [
                # the line's numberOfUnits is the reservation's rooms: the stay's own, never a blind 1
                _rate_line(
                    room_type=room_type, rate_plan=rate_plan, start=arrival, end=departure,
                    adults=adults, children=children, rooms=current.rooms,
                )
            ]
    if changes.guarantee_code is not None:
        stay["guarantee"] = {"guaranteeCode": changes.guarantee_code}
    reservation: dict[str, Any] = {"reservationIdList": _reservation_ref(current.reservation_id), "hotelId": hotel_id}
    if stay:
        reservation["roomStay"] = stay
    if changes.payment_method is not None:
        reservation["reservationPaymentMethods"] = [{"paymentMethod": changes.payment_method, "folioView": 1}]
    if changes.comment is not None:
        if note_type is None:
            raise ValueError("a comment needs the hotel's note type")
        # OPERA keys comments by id: one without an id is added, and the ones not named stay as they are. Sending
        # only the new one means a comment added meanwhile elsewhere is kept, and none is duplicated.
        reservation["comments"] = [_comment(changes.comment, note_type)]
    return {"reservations": [reservation]}


# --- the API -------------------------------------------------------------------------------------------------


class ReservationsAPI:
    """The rsv operations a front desk needs; every method names the hotel it acts for."""

    def __init__(self, http: OperaHTTP) -> None:
        self.http = http
        self.codes = HotelCodes(http)

    async def search(
        self,
        hotel_id: str,
        *,
        surname: str | None = None,
        given_name: str | None = None,
        text: str | None = None,
        confirmation_number: str | None = None,
        reservation_id: str | None = None,
        arrival_from: date | None = None,
        arrival_to: date | None = None,
        departure_from: date | None = None,
        departure_to: date | None = None,
        statuses: Sequence[str] = (),
        search_type: str | None = None,
        stay_date: date | None = None,
        room_id: str | None = None,
        profile_id: str | None = None,
        limit: int = 20,
        offset: int = 0,
        fresh: bool = False,
    ) -> ReservationPage:
        """getHotelReservations: one page of matching reservations (204 or no rows is an empty page).

        `search_type` applies on `stay_date` (OPERA's stayDate: "the date for which the search types are applicable.
        If date is not available, the business date will be used"): arrivals of another day need it, since an
        arrival date range alone is filtered by the business date's arrivals."""
        params: dict[str, str | int | float | bool | Sequence[str | int] | None] = {
            "surname": surname,
            "givenName": given_name,
            "text": text,
            "confirmationNumberList": [confirmation_number] if confirmation_number else None,
            "reservationIdList": [reservation_id] if reservation_id else None,
            "arrivalStartDate": arrival_from.isoformat() if arrival_from else None,
            "arrivalEndDate": arrival_to.isoformat() if arrival_to else None,
            "departureStartDate": departure_from.isoformat() if departure_from else None,
            "departureEndDate": departure_to.isoformat() if departure_to else None,
            "reservationStatuses": list(statuses) or None,
            "searchType": search_type,
            "stayDate": stay_date.isoformat() if stay_date and search_type else None,
            "roomId": room_id,
            "profileId": profile_id,
            "fetchInstructions": list(SEARCH_ROWS),
            "limit": limit,
            "offset": offset,
        }
        response = await self.http.call(GET_HOTEL_RESERVATIONS, hotel_id=hotel_id, params=params,
                                        cache="none" if fresh else "reservations")
        block = as_dict(as_dict(response.body).get("reservations"))
        items = [
            summary
            for row in as_list(block.get("reservationInfo"))
            if isinstance(row, dict) and (summary := summary_from_row(row, hotel_id)) is not None
        ]
        return ReservationPage(items=items, page=page_info(block, offset=offset, limit=limit, count=len(items)))

    async def alerts(self, hotel_id: str, reservation_id: str, area: str) -> list[ReservationAlert]:
        """getAlertNotices of one area (CheckIn, CheckOut...): the notices OPERA shows the desk there, read fresh
        (the desk adds them all day); a stop alert (stopCheckInCheckOut) stands in the way of the step."""
        response = await self.http.call(
            GET_ALERT_NOTICES, hotel_id=hotel_id, path_params={"reservationId": reservation_id},
            params={"alertArea": area}, cache="none",
        )
        out: list[ReservationAlert] = []
        for raw in as_list(as_dict(response.body).get("alerts")):
            if not isinstance(raw, dict):
                continue
            alert_area = as_text(raw.get("area"))
            if alert_area and alert_area.lower() != area.lower():
                continue  # a server that ignores alertArea: another area's notice is not this step's
            out.append(ReservationAlert(code=as_text(raw.get("code")), area=alert_area or area,
                                        description=as_text(raw.get("description")),
                                        stops=raw.get("stopCheckInCheckOut") is True))
        return out

    async def get(self, hotel_id: str, reservation_id: str, *, fresh: bool = False) -> Reservation:
        """getReservation: the full record; OperaNotFoundError when OHIP answers 404 or 204. `fresh` skips the
        cache: a read that a write is built from must see what OPERA holds now, whoever changed it."""
        response = await self.http.call(
            GET_RESERVATION, hotel_id=hotel_id, path_params={"reservationId": reservation_id},
            params={"fetchInstructions": list(FULL_RECORD)}, cache="none" if fresh else "reservation",
        )
        # A cache hit reuses the record built from the same answer (shared: changed only through model_copy).
        return response.derived("reservation", lambda: self._record_from(response, hotel_id, reservation_id))

    async def create(self, hotel_id: str, booking: BookingRequest) -> CreatedReservation:
        """postReservation, then a read-back for the confirmation number and the record OPERA holds."""
        note_type = await self.codes.code(hotel_id, COMMENT_TYPE) if booking.comments else None
        response = await self.http.call(
            POST_RESERVATION, hotel_id=hotel_id, json=booking_body(hotel_id, booking, note_type)
        )
        body = as_dict(response.body)
        created = [r for r in as_list(as_dict(body.get("reservations")).get("reservation")) if isinstance(r, dict)]
        ids = created[0].get("reservationIdList") if created else None
        rid = response.location_id or id_of(ids, "Reservation")
        warnings = warnings_from(response.body)
        if not rid:
            raise OperaNotFoundError(
                "OHIP accepted the booking but named no reservation id (no Location header, no reservationIdList)",
                operation=POST_RESERVATION.name, status=response.status, request_id=response.request_id,
                hotel_id=hotel_id,
            )
        record: Reservation | None = None
        try:
            record = await self.get(hotel_id, rid)
        except OperaError as exc:
            # The booking stands; failing here would invite the agent to book again.
            record = reservation_from_record(created[0], hotel_id) if created else None
            warnings.append(OperaWarning(
                message=f"reservation {rid} was created but could not be read back: {exc.describe()}"
            ))
        confirmation = id_of(ids, "Confirmation") or (record.confirmation_number if record else None)
        return CreatedReservation(
            reservation_id=rid, confirmation_number=confirmation, reservation=record, warnings=warnings
        )

    async def find_by_external_reference(self, hotel_id: str, reference: ExternalReference) -> Reservation | None:
        """The reservation stamped with `reference`, read fresh, by Oracle's dedicated lookup (rsv
        getReservationByExtId, "Retrieve a reservation using the external ID"; 204 "not found") rather than a
        search filter that a server could ignore and answer with somebody else's booking."""
        response = await self.http.lookup(
            GET_RESERVATION_BY_EXT_ID, hotel_id=hotel_id,
            path_params={"externalSystemCode": reference.system, "reservationExternalId": reference.id},
            params={"fetchInstructions": list(FULL_RECORD)},
        )
        if response is None:
            return None
        records = [r for r in as_list(as_dict(as_dict(response.body).get("reservations")).get("reservation"))
                   if isinstance(r, dict)]
        return reservation_from_record(records[0], hotel_id, warnings_from(response.body)) if records else None

    async def modify(self, hotel_id: str, current: Reservation, changes: ReservationChanges) -> Reservation:
        """putReservation with only the changed parts of `current`, then the updated record."""
        note_type = await self.codes.code(hotel_id, COMMENT_TYPE) if changes.comment is not None else None
        # A comment is sent without an id, so OPERA adds it each time it receives the PUT: a PUT that carries one
        # must not be repeated blindly after a timeout or a gateway error.
        response = await self.http.call(
            PUT_RESERVATION, hotel_id=hotel_id, path_params={"reservationId": current.reservation_id},
            json=change_body(hotel_id, current, changes, note_type), idempotent=changes.comment is None,
        )
        try:
            updated = await self.get(hotel_id, current.reservation_id)
        except OperaError:
            # The change is made; OHIP's own answer to the PUT is the next best account of it.
            records = [r for r in as_list(as_dict(as_dict(response.body).get("reservations")).get("reservation"))
                       if isinstance(r, dict)]
            answered = reservation_from_record(records[0], hotel_id) if records else None
            if answered is None:
                raise
            updated = answered
        return updated.model_copy(update={"warnings": warnings_from(response.body) + updated.warnings})

    async def cancel(
        self, hotel_id: str, reservation_id: str, *, reason_code: str, reason_text: str | None = None,
        verification_only: bool = False,
    ) -> CancellationResult:
        """postCancelReservation; verification_only asks OHIP what would happen and changes nothing."""
        reason: dict[str, str] = {"code": reason_code}
        if reason_text:
            reason["description"] = reason_text
        body = {
            "reason": reason,
            "reservations": [{"reservationIdList": _reservation_ref(reservation_id), "hotelId": hotel_id}],
            "verificationOnly": verification_only,
        }
        response = await self.http.call(
            POST_CANCEL_RESERVATION, hotel_id=hotel_id, path_params={"reservationId": reservation_id}, json=body
        )
        answer = as_dict(response.body)
        log = [e for e in as_list(answer.get("cxlActivityLog")) if isinstance(e, dict)]
        rows = [r for r in as_list(answer.get("reservations")) if isinstance(r, dict)]
        number = id_of(log[0].get("cancellationIdList"), "Cancellation") if log else None
        if number is None and log:
            number = next((as_text(as_dict(e).get("id")) for e in as_list(log[0].get("cancellationIdList"))), None)
        if number is None and rows:
            number = id_of(rows[0].get("reservationIdList"), "Cancellation")
        status = None
        if rows:
            status = status_of(rows[0])
        cancelled = not verification_only and (status == "Cancelled" or (status is None and number is not None))
        return CancellationResult(
            reservation_id=reservation_id, dry_run=verification_only, cancelled=cancelled,
            cancellation_number=None if verification_only else number, status=status, reason_code=reason_code,
            warnings=warnings_from(response.body),
        )

    async def reinstate(self, hotel_id: str, reservation_id: str) -> Reservation:
        """putReinstateReservation: a cancelled reservation becomes Reserved again; returns the record."""
        body = {"hotelId": hotel_id, "reservationIdList": _reservation_ref(reservation_id)}
        response = await self.http.call(
            PUT_REINSTATE_RESERVATION, hotel_id=hotel_id, path_params={"reservationId": reservation_id}, json=body
        )
        record = await self.get(hotel_id, reservation_id)
        return record.model_copy(update={"warnings": warnings_from(response.body) + record.warnings})

    async def split(self, hotel_id: str, reservation_id: str) -> list[str]:
        """putSplitMultiRoomReservation with splitAll: a reservation of N rooms becomes N reservations of one room
        (the new ones with their own confirmation numbers, linked to it, its payment method copied). Returns the
        new reservations' ids. Never repeated blindly: a repeat would split again whatever the first one did
        (with one room left, OPERA refuses it), so a lost answer is settled by reading the reservation again."""
        body = {
            "reservationId": {"id": reservation_id, "type": "Reservation"},
            "splitAll": True,
            "copyPaymentInformation": True,
        }
        response = await self.http.call(
            PUT_SPLIT_RESERVATION, hotel_id=hotel_id, path_params={"reservationId": reservation_id}, json=body,
            idempotent=False,
        )
        made = as_list(as_dict(response.body).get("newReservationIdList"))
        return [rid for entry in made if (rid := id_of([entry], "Reservation"))]

    async def linked(self, hotel_id: str, reservation_id: str) -> list[LinkedReservation]:
        """getLinkedReservationsSummary: the reservations linked to this one (a split's, a share's); [] on 204."""
        response = await self.http.call(
            GET_LINKED_RESERVATIONS, hotel_id=hotel_id, path_params={"reservationId": reservation_id},
            params={"excludeCancelledReservations": True}, cache="none",
        )
        if response.status == 204:
            return []
        infos = as_list(as_dict(as_dict(response.body).get("linkedReservationList")).get("reservationInfo"))
        out: list[LinkedReservation] = []
        for raw in infos:
            info = as_dict(raw)
            rid = id_of(info.get("reservationIdList"), "Reservation")
            if rid is None or rid == reservation_id:
                continue
            span = as_dict(info.get("timeSpan"))
            out.append(LinkedReservation(
                reservation_id=rid,
                confirmation_number=id_of(info.get("reservationIdList"), "Confirmation"),
                status=as_text(info.get("reservationStatus")),
                guest_name=person_name(info.get("givenName"), info.get("surname")),
                arrival=as_date(span.get("startDate")),
                departure=as_date(span.get("endDate")),
                room_type=as_text(info.get("roomType")),
                room_id=as_text(info.get("room")),
                link=as_text(info.get("linkReservationType")),
            ))
        return out

    async def cancellation_reasons(self, hotel_id: str) -> list[ReasonCode]:
        """The hotel's active CancellationReasons list of values (reference data, cached)."""
        listed = await ListsOfValuesAPI(self.http).active(hotel_id, "CancellationReasons")
        return [ReasonCode(code=v.code, description=v.description or v.name) for v in listed]

    @staticmethod
    def _record_from(response: OperaResponse, hotel_id: str, reservation_id: str) -> Reservation:
        records = [r for r in as_list(as_dict(as_dict(response.body).get("reservations")).get("reservation"))
                   if isinstance(r, dict)]
        record = reservation_from_record(records[0], hotel_id, warnings_from(response.body)) if records else None
        if record is None:
            raise OperaNotFoundError(
                f"no reservation {reservation_id} in {hotel_id}",
                operation=GET_RESERVATION.name, status=response.status, request_id=response.request_id,
                hotel_id=hotel_id,
            )
        return record
