"""The sandbox's hotel world: hotels, rooms, rate plans, guests, reservations and folios, and the business rules
that change them. Routes translate OHIP JSON to calls on `Enterprise` and back; nothing here knows HTTP.

Every domain operation is a plain synchronous method, so it runs atomically on the event loop (no await inside),
and a business refusal is a `SandboxError` that the routes render as an OHIP `exceptionDetailType` body.
Amounts are floats rounded to cents; dates are `datetime.date`; codes are the strings OHIP shows.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Literal, TypeVar

RoomStatus = Literal["Clean", "Dirty", "Pickup", "Inspected", "OutOfOrder", "OutOfService"]
ROOM_STATUSES: tuple[RoomStatus, ...] = ("Clean", "Dirty", "Pickup", "Inspected", "OutOfOrder", "OutOfService")
#: Statuses that take a room out of the sellable inventory.
UNSELLABLE_STATUSES = frozenset({"OutOfOrder", "OutOfService"})
#: The housekeeping states putRoomRelatedStatus sets; OutOfOrder/OutOfService have their own operations (hsk
#: postOutOfOrderRooms / postOutOfServiceRooms), with a reason, dates and the status to return to.
HOUSEKEEPING_STATUSES: tuple[RoomStatus, ...] = ("Clean", "Dirty", "Pickup", "Inspected")
RepairKind = Literal["OutOfOrder", "OutOfService"]
#: Statuses in which a guest may be checked into a vacant room.
READY_STATUSES = frozenset({"Clean", "Inspected"})

ServiceRequest = Literal["DoNotDisturb", "MakeUpRoom", "NoStatusSelected", "ServiceDeclined"]
SERVICE_REQUESTS: tuple[ServiceRequest, ...] = ("DoNotDisturb", "MakeUpRoom", "NoStatusSelected", "ServiceDeclined")
#: Oracle's own spelling of the enum (hsk `turndownStatusType`), misspelling included.
TURNDOWN_STATUSES = ("Required", "NotRequired", "Compeleted")

#: The status OPERA stores on a reservation. `computed_status` derives DueIn/DueOut from it.
StoredStatus = Literal["Reserved", "InHouse", "CheckedOut", "Cancelled", "NoShow"]
#: Stored statuses that hold inventory.
ACTIVE_STATUSES = frozenset({"Reserved", "InHouse"})

TransactionType = Literal["Revenue", "Payment"]

#: OPERA allows folio windows 1..8 on a reservation.
MAX_FOLIO_WINDOW = 8
#: Longest stay the sandbox books (OPERA has a configurable limit; 90 nights matches the availability window).
MAX_NIGHTS = 90
#: the nights a plan's weekend price applies to (date.weekday(): Friday and Saturday), as a hotel configures them
WEEKEND_NIGHTS = frozenset({4, 5})


class SandboxError(Exception):
    """A business refusal; routes answer it with an `exceptionDetailType` body.

    `error_code` is our own catalogue, e.g. OHIPSIM-RSV-404 (OHIP publishes none); `error_path` names the input
    field at fault (`roomStay.arrivalDate`, `reservationId`...) so the client can say what to fix.
    """

    def __init__(self, status: int, title: str, detail: str, error_code: str, error_path: str | None = None):
        super().__init__(detail)
        self.status = status
        self.title = title
        self.detail = detail
        self.error_code = error_code
        self.error_path = error_path


def _not_found(what: str, detail: str, error_code: str, error_path: str) -> SandboxError:
    return SandboxError(404, f"{what} not found", detail, error_code, error_path)


def _bad_request(title: str, detail: str, error_code: str, error_path: str | None = None) -> SandboxError:
    return SandboxError(400, title, detail, error_code, error_path)


def _room_locked(reservation: Reservation, what: str) -> SandboxError:
    """OPERA's Do Not Move: a reservation whose room number is locked keeps that room."""
    return _bad_request(
        "Room number locked",
        f"Reservation {reservation.reservation_id} is locked to room {reservation.room_id} (Do Not Move); {what}",
        "OHIPSIM-FOF-ROOM-LOCKED",
        "roomNumberLocked",
    )


def currency_digits(currency: str | None) -> int:
    """The decimal places a currency is kept in: its ISO 4217 minor unit (CLDR's figure, read through Babel), as
    an OPERA property's currency configuration has them: 2 for USD and EUR, 3 for KWD, BHD and OMR, 0 for JPY."""
    if not currency:
        return 2
    from babel.numbers import get_currency_precision

    return int(get_currency_precision(currency.upper()))


def amount_text(amount: float, currency: str) -> str:
    """An amount in its currency's decimals, as OPERA prints it: '45.125 KWD', '19.00 USD'."""
    return f"{amount:.{currency_digits(currency)}f} {currency}"


def money(amount: float, currency: str | None = None) -> float:
    """An amount in `currency`, rounded to its smallest unit (cents for USD, fils for KWD), the way the sandbox
    keeps every amount it computes. Without a currency (a sum of amounts already kept), only binary noise is
    dropped (0.1 + 0.2), which loses no digit of any currency."""
    if currency is None:
        return round(amount + 0.0, 4)
    return round(amount + 0.0, currency_digits(currency))


def _refuse_on_stop_alert(reservation: Reservation, area: str, action: str) -> None:
    """A standing stop alert of the area (stopCheckInCheckOut) refuses the check-in or check-out, naming it."""
    stop = next((a for a in reservation.alerts if a.area == area and a.stop), None)
    if stop is not None:
        raise _bad_request(
            f"Stop {action} alert",
            f"Reservation {reservation.reservation_id} has a stop {action} alert ({stop.code}): {stop.description}",
            "OHIPSIM-ALERT-STOP",
            "alerts",
        )


def _nights_not_stayed(reservation: Reservation, business_date: date) -> list[date]:
    """The booked nights an early departure on `business_date` leaves unused: from the business date to the booked
    departure, less the day itself when the guest arrived today (a day use pays it as its room and tax)."""
    first = business_date + timedelta(days=1 if reservation.arrival == business_date else 0)
    return nights_between(first, reservation.departure)


def _refuse_multi_room(reservation: Reservation, step: str) -> None:
    """A reservation of several rooms is one booking, not a guest in a room: OPERA's check-in workflow splits it
    (putSplitMultiRoomReservation) into one reservation per room before any is given a room or checked in."""
    if reservation.rooms > 1:
        raise _bad_request(
            "Multi-room reservation",
            f"Reservation {reservation.reservation_id} holds {reservation.rooms} rooms and cannot be {step}; split it "
            "into one reservation per room first (putSplitMultiRoomReservation)",
            "OHIPSIM-RSV-MULTIROOM",
            "reservationId",
        )


def nights_between(start: date, end: date) -> list[date]:
    """The nights of a stay from `start` (inclusive) to `end` (exclusive, the departure day)."""
    return [start + timedelta(days=i) for i in range((end - start).days)]


# --------------------------------------------------------------------------------------------------- reference


@dataclass(frozen=True)
class Code:
    """One entry of a list of values: market, source, guarantee, cancellation reason, room feature..."""

    code: str
    description: str
    active: bool = True


@dataclass(frozen=True)
class PaymentMethod:
    code: str  # CA, VA, MC, AX, DC
    description: str
    is_card: bool


@dataclass(frozen=True)
class Cashier:
    """An OPERA cashier: payments, folios and check-outs are posted under one (csh `cashierId`, a number)."""

    cashier_id: int
    name: str


@dataclass(frozen=True)
class CardOnFile:
    """A payment card on a reservation, as OPERA keeps it once tokenized: never the number, only its id (what a
    payment names in `paymentCard.cardId`), type, last four digits and expiry."""

    card_id: str
    payment_method: str  # VA, MC, AX, DC
    card_type: str  # Oracle's cardTypeType spelling: Va, Mc, Ax, Dc
    last_four: str
    expiry: str  # MM/YY, as OPERA masks it
    holder: str


@dataclass(frozen=True)
class TransactionCode:
    code: str  # "1000"
    description: str
    transaction_type: TransactionType
    group: str  # ROOM, FB, MISC, PAY
    default_price: float | None = None  # suggested unit price for articles (minibar, laundry)
    payment_method: str | None = None  # for Payment codes: the method it settles (9100 -> VA)
    manual_post_allowed: bool = True


@dataclass(frozen=True)
class RoomType:
    code: str  # KNG
    description: str
    room_class: str  # STD, DLX, SUI
    max_occupancy: int
    base_price: float  # BAR per night in the hotel currency
    pseudo: bool = False


@dataclass(frozen=True)
class RatePlan:
    """A rate code. `prices` holds the nightly price per room type; only those room types can book it."""

    code: str  # BAR, AAA, PKG, CORP, ADV
    description: str
    category: str  # RACK, DISCOUNT, PACKAGE, NEGOTIATED, PROMOTION
    market_code: str
    source_code: str
    prices: dict[str, float]
    guarantee_policy: str
    cancel_policy: str
    meal_plan: str | None = None  # e.g. "Breakfast included"
    min_advance_days: int = 0  # advance-purchase plans refuse arrivals closer than this
    long_info: str = ""
    #: csh earlyDepartureInfoType.penaltyDescription of the plan's early-departure rule (None: no penalty); the
    #: sandbox's one rule charges the nights booked and not stayed at the stay's rate.
    early_departure_penalty: str | None = None
    #: the price of a weekend night (WEEKEND_NIGHTS) per room type, where it differs from `prices`: OPERA prices a
    #: stay night by night, so a stay over a weekend has more than one nightly rate
    weekend_prices: dict[str, float] = field(default_factory=dict)
    #: The rate code's deposit rule ("Deposit and cancellation rules can be defined ... to automatically apply ...
    #: for reservations with a specific rate codes", Oracle's user guide): this percent of the stay's room total,
    #: due on the booking date. None: the rate code has no deposit rule.
    deposit_percent: int | None = None

    @property
    def room_types(self) -> tuple[str, ...]:
        return tuple(self.prices)

    def price_on(self, room_type: str, night: date) -> float:
        """The plan's price of `room_type` for one night."""
        if night.weekday() in WEEKEND_NIGHTS and room_type in self.weekend_prices:
            return self.weekend_prices[room_type]
        return self.prices[room_type]


@dataclass(frozen=True)
class ExternalReference:
    """What another system calls a reservation or profile (`externalReferenceType`): its id, the external system's
    code (`idContext`) and, on reservations only, the leg number (`idExtension`)."""

    id: str
    id_context: str
    id_extension: int | None = None


def has_external_reference(
    references: Iterable[ExternalReference],
    ids: Collection[str],
    systems: Collection[str],
    *,
    leg: int | None = None,
) -> bool:
    """True when one of `references` has an id in `ids` from one of `systems` (codes compared in upper case)."""
    wanted = {code.upper() for code in systems}
    return any(
        ref.id in ids and ref.id_context.upper() in wanted and (leg is None or ref.id_extension == leg)
        for ref in references
    )


def merge_external_references(
    current: Sequence[ExternalReference], given: Sequence[ExternalReference]
) -> list[ExternalReference]:
    """One reference per external system (and leg): a given reference replaces the one it names, others stay."""
    keys = {(ref.id_context.upper(), ref.id_extension) for ref in given}
    return [ref for ref in current if (ref.id_context.upper(), ref.id_extension) not in keys] + list(given)


# ------------------------------------------------------------------------------------------------ rooms, guests


@dataclass
class RoomRepair:
    """A room out of order or out of service from `start` through `end` (both nights included)."""

    repair_id: str
    kind: RepairKind
    start: date
    end: date
    reason_code: str
    return_status: str  # one of HOUSEKEEPING_STATUSES, set when the repair is completed
    reason_description: str | None = None
    remarks: str | None = None

    def covers(self, first: date, last: date) -> bool:
        return self.start <= last and first <= self.end


@dataclass(frozen=True)
class RoomConditionCode:
    """A configured room condition (Administration > Inventory > Room Conditions): a room given one is shown in the
    available room search or not, as the code is configured ("Display in Room Assignment"); it never stops the
    desk from selling the room."""

    code: str
    description: str
    available: bool  # hsk roomConditionAssigmentType: Available (still listed) or NotAvailable (left out)

    @property
    def assignment_type(self) -> str:
        return "Available" if self.available else "NotAvailable"


@dataclass
class RoomMaintenance:
    """A maintenance request on a room (hsk roomMaintenanceType): "changing a light bulb, repairing a faulty lock,
    service a faulty air conditioning unit" (Oracle's workflow "Create a Room Maintenance Request")."""

    maintenance_id: str
    room_id: str
    code: str
    remarks: str | None
    created: datetime
    creator: str | None = None
    resolved_at: datetime | None = None
    resolved_by: str | None = None


@dataclass(frozen=True)
class ServiceRequestCode:
    """A service request code the property configured (lov getServiceRequestCodesLOV; rsvcfg serviceRequestCode
    maps each code to the department that does it, its deptCode)."""

    code: str
    description: str
    department: str
    active: bool = True


@dataclass
class GuestServiceRequest:
    """A request for a department to do something for a guest, their stay or their room (fof serviceRequest).
    Oracle's user guide: "Requests can be created for a reservation, a profile, or a room"; a request is OPEN when
    made, PENDING FOLLOW UP when the department has done it, CLOSED when the follow-up is noted."""

    request_id: str
    code: str
    department: str
    opened: datetime
    status: str = "Open"
    priority: str | None = None
    reservation_id: str | None = None
    profile_id: str | None = None
    guest_name: str | None = None
    room: str | None = None
    comment: str | None = None
    action: str | None = None
    guest_contact_method: str | None = None
    completed: datetime | None = None
    closed: datetime | None = None
    closed_by: str | None = None
    close_description: str | None = None


@dataclass(frozen=True)
class RoomConditionSet:
    """The condition a room has, with the desk's remarks."""

    code: RoomConditionCode
    remarks: str | None = None


@dataclass
class Room:
    """A physical room. Front-office status (Vacant/Occupied) is derived from in-house reservations by `Hotel`;
    OutOfOrder/OutOfService from its repairs on the day asked."""

    room_id: str  # the room number, "101"
    floor: str
    room_type: str
    features: tuple[str, ...]
    room_status: str = "Clean"  # the housekeeping state, one of HOUSEKEEPING_STATUSES
    service_request: str = "NoStatusSelected"  # one of SERVICE_REQUESTS
    turndown: str = "NotRequired"  # one of TURNDOWN_STATUSES
    repairs: list[RoomRepair] = field(default_factory=list)
    condition: RoomConditionSet | None = None  # hsk setRoomCondition: show room, minibar removed...

    def repair_on(self, first: date, last: date | None = None) -> RoomRepair | None:
        """The repair that keeps the room out of order/service on any night from `first` through `last`."""
        return next((r for r in self.repairs if r.covers(first, last or first)), None)

    def status_on(self, day: date) -> str:
        repair = self.repair_on(day)
        return repair.kind if repair is not None else self.room_status

    def sellable_on(self, day: date) -> bool:
        return self.repair_on(day) is None


@dataclass(frozen=True)
class CommunicationType:
    """A configured communication type (crmcfg `communicationTypeType`): its code goes in `phoneUseType` or an
    e-mail's `type`; `role` is Oracle's `communicationRoleType` (Phone, Email, Fax, Webpage, EmailForRequest)."""

    code: str
    description: str
    role: str


@dataclass
class ContactRecord:
    """One e-mail, telephone or address of a profile. OPERA keys these by id (`emailInfo.id`...): a putProfile
    record with an id replaces that record, one without is added (as comments on putReservation)."""

    record_id: str
    type: str  # a communication type code (e-mail, phone) or an address type code
    primary: bool


@dataclass
class ProfileEmail(ContactRecord):
    address: str


@dataclass
class ProfileTelephone(ContactRecord):
    number: str
    tech_type: str = "PHONE"


@dataclass
class ProfileAddress(ContactRecord):
    lines: tuple[str, ...] = ()
    city: str | None = None
    postal_code: str | None = None
    state: str | None = None
    country: str | None = None  # ISO 3166 alpha-2


ContactKind = Literal["emails", "telephones", "addresses"]
#: Per kind: the list key and item key of the body (`emails.emailInfo[].email`), the field holding the type code,
#: the list of values naming the codes, the communication roles allowed, and a word for messages.
CONTACT_INFO: dict[ContactKind, str] = {
    "emails": "emailInfo", "telephones": "telephoneInfo", "addresses": "addressInfo",
}
CONTACT_ITEM: dict[ContactKind, str] = {"emails": "email", "telephones": "telephone", "addresses": "address"}
CONTACT_TYPE_FIELD: dict[ContactKind, str] = {"emails": "type", "telephones": "phoneUseType", "addresses": "type"}
CONTACT_LOV: dict[ContactKind, str] = {
    "emails": "CommunicationTypeEmail", "telephones": "CommunicationTypePhone", "addresses": "AddressTypes",
}
CONTACT_ROLES: dict[ContactKind, tuple[str, ...]] = {
    "emails": ("Email",), "telephones": ("Phone", "Fax"), "addresses": (),
}
CONTACT_LABELS: dict[ContactKind, str] = {"emails": "e-mail", "telephones": "telephone", "addresses": "address"}


@dataclass(frozen=True)
class ContactChange:
    """One record of a postProfile/putProfile section: `record_id` is the id it names (None: a new record), the
    record its content (its own id unused), `primary` None when the request left primaryInd out."""

    record_id: str | None
    record: ContactRecord
    primary: bool | None = None


_Record = TypeVar("_Record", bound=ContactRecord)


def primary_record(records: Sequence[_Record]) -> _Record | None:
    """The record marked primary, else the first (a profile may have none marked)."""
    return next((r for r in records if r.primary), records[0] if records else None)


@dataclass
class Profile:
    """A guest profile. Profiles are enterprise-wide in OHIP (crm paths carry no hotel)."""

    profile_id: str
    given_name: str
    surname: str
    emails: list[ProfileEmail] = field(default_factory=list)
    telephones: list[ProfileTelephone] = field(default_factory=list)
    addresses: list[ProfileAddress] = field(default_factory=list)
    vip_status: str | None = None  # None, "GLD", "PLT", "VIP"
    language: str = "E"
    profile_type: str = "Guest"
    status: str = "Active"
    created: datetime = field(default_factory=lambda: datetime(2020, 1, 1))
    external_references: list[ExternalReference] = field(default_factory=list)

    @property
    def full_name(self) -> str:
        return f"{self.given_name} {self.surname}".strip()

    @property
    def email(self) -> str | None:
        record = primary_record(self.emails)
        return record.address if record else None

    @property
    def phone(self) -> str | None:
        record = primary_record(self.telephones)
        return record.number if record else None

    @property
    def address(self) -> ProfileAddress | None:
        return primary_record(self.addresses)

    @property
    def city(self) -> str | None:
        return self.address.city if self.address else None


# ----------------------------------------------------------------------------------------------------- folios


@dataclass
class Posting:
    """One line on a folio window. `transaction_type` says charge or payment; a payment's `amount` is positive, a
    charge's is negative when it voids or corrects an earlier one (as Oracle's HPI void samples post it)."""

    transaction_no: int
    transaction_code: str
    description: str
    transaction_type: TransactionType
    amount: float  # total of the line (unit price x quantity)
    currency: str
    posting_date: date
    folio_window_no: int
    quantity: int = 1
    remark: str | None = None
    reference: str | None = None
    payment_method: str | None = None  # payments only
    cashier_id: int | None = None  # the cashier it was posted under (None: the night audit or the seed)
    card_id: str | None = None  # card payments: the card on file that paid
    deposit_policy_id: str | None = None  # deposits: the deposit request it was applied to (None: unallocated)
    refunds_transaction_no: int | None = None  # refunds: the deposit payment it pays back (originalTransactionNo)


@dataclass
class DepositRequest:
    """A reservation's deposit request (rsv resDepositPolicyType), from its rate code's deposit rule: `percent` of the
    stay's room total, due by `deadline`."""

    policy_id: str
    code: str
    description: str
    percent: int
    deadline: date


@dataclass
class FolioWindow:
    """A folio window (1..8). `folio_numbers` are the folios generated (printed) from it, newest last."""

    window_no: int
    payment_method: str | None = None
    postings: list[Posting] = field(default_factory=list)
    #: Who the window bills (folioWindowType.payeeInfo): None for the stay's guest, else another profile's id, such
    #: as the company whose charges a routing instruction sends to window 2.
    payee_profile_id: str | None = None
    folio_numbers: list[int] = field(default_factory=list)

    @property
    def revenue(self) -> float:
        return money(sum(p.amount for p in self.postings if p.transaction_type == "Revenue"))

    @property
    def payments(self) -> float:
        return money(sum(p.amount for p in self.postings if p.transaction_type == "Payment"))

    @property
    def balance(self) -> float:
        return money(self.revenue - self.payments)


# ------------------------------------------------------------------------------------------------ reservations


#: The statuses a deposit refund is taken in: before the stay, and once a booking is cancelled or a no-show (Oracle's
#: user guide: "If a deposit has been refunded on no-show or cancelled reservations, this data is not deleted").
DEPOSIT_REFUND_STATUSES = ("Reserved", "DueIn", "Cancelled", "NoShow")
#: rsv alertAreaType: where in the stay OPERA shows an alert.
ALERT_AREAS = ("CheckIn", "CheckOut", "Reservation", "Billing", "InHouse")


@dataclass
class Alert:
    """A reservation alert (rsv alertType): a notice OPERA shows the desk in one area of the stay, e.g. at check-in
    "collect the deposit". `stop` is stopCheckInCheckOut, "the Reservation Stop Check In/Check Out Global Alert":
    the sandbox reads it as stopping a check-in (area CheckIn) or a check-out (area CheckOut) while it stands."""

    alert_id: str
    code: str
    area: str
    description: str
    stop: bool = False


@dataclass
class Comment:
    """A reservation comment; OPERA keys it by `id`, so a change names the comment it edits (or none to add one)."""

    comment_id: str
    text: str


#: fof `wakeUpCallStatusType`.
WAKE_UP_STATUSES = ("Pending", "Completed", "NoAnswer", "Cancelled")


@dataclass
class WakeUpCall:
    """A wake-up call on an in-house reservation (fof postWakeUpCall), at the hotel's local time."""

    call_id: int
    call_time: datetime
    room_id: str
    status: str = "Pending"  # one of WAKE_UP_STATUSES
    instructions: str | None = None
    created: datetime | None = None


@dataclass
class GuestMessage:
    """A message taken for a guest (rsv postGuestMessages): text or voice, received (Mr) or not yet (Nr)."""

    message_id: int
    text: str
    created: datetime
    message_type: str = "Tm"  # typeOfMessageType: Tm text, Vm voice mail
    recipient: str | None = None
    operator: str | None = None
    delivered: bool = False
    delivered_at: datetime | None = None
    delivered_by: str | None = None


@dataclass(frozen=True)
class RoomMove:
    """One move of an in-house guest (fof moveInHouseGuest), as getRoomMoveHistory reports it."""

    moved_on: date  # the business date of the move
    from_room: str
    to_room: str
    reason_code: str | None
    description: str | None
    moved_by: str


@dataclass
class Reservation:
    """One reservation (one room). `status` is what OPERA stores; ask `computed_status(business_date)` for the
    front-desk view (DueIn, DueOut...)."""

    reservation_id: str  # internal id, used in paths
    confirmation_number: str  # guest-facing
    hotel_id: str
    status: str  # one of StoredStatus
    arrival: date
    departure: date
    adults: int
    children: int
    room_type: str
    rate_plan: str
    rate_amount: float  # nightly rate in the hotel currency (of the weekdays, when the weekend differs)
    currency: str
    profile_id: str
    weekend_rate_amount: float | None = None  # a weekend night's rate (WEEKEND_NIGHTS); None: rate_amount
    # numberOfUnits: the rooms this reservation holds. OPERA assigns a room to, and checks in, a reservation of one
    # room: a multi-room one is split first (putSplitMultiRoomReservation), into linked reservations.
    rooms: int = 1
    linked_to: str | None = None  # the reservation a split made this one from (and the split one's own id)
    room_id: str | None = None
    # OPERA's Do Not Move (roomNumberLocked): "when true, indicates a room number cannot be changed"
    room_locked: bool = False
    guarantee_code: str = "6PM"
    payment_method: str | None = None
    market_code: str | None = None
    source_code: str | None = None
    comments: list[Comment] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)
    cancellation_number: str | None = None
    cancellation_reason: str | None = None
    cancellation_reason_description: str | None = None
    cancellation_date: date | None = None
    created: datetime = field(default_factory=lambda: datetime(2020, 1, 1))
    checked_in_at: datetime | None = None
    checked_out_at: datetime | None = None
    folio_windows: dict[int, FolioWindow] = field(default_factory=dict)
    external_references: list[ExternalReference] = field(default_factory=list)
    cards: list[CardOnFile] = field(default_factory=list)  # payment cards on file (tokenized)
    checked_out_by: int | None = None  # the cashier of the check-out
    # business dates whose room and tax are on the folio: OPERA "does not allow duplicate charges" of room and tax
    # (End of Day's Post Room and Tax), whether the night audit or a day-use posting made them
    room_and_tax_posted: set[date] = field(default_factory=set)
    room_moves: list[RoomMove] = field(default_factory=list)  # moves while in house, oldest first
    wake_up_calls: list[WakeUpCall] = field(default_factory=list)  # every call set, whatever its status
    guest_messages: list[GuestMessage] = field(default_factory=list)  # oldest first
    # The deposit ledger: payments taken before arrival (csh postDepositPayment), oldest first. They "mature" at
    # check-in, when OPERA transfers them to the guest ledger (folio window 1), where they count against the bill.
    deposits: list[Posting] = field(default_factory=list)
    deposits_matured: bool = False
    deposit_request: DepositRequest | None = None

    @property
    def nights(self) -> int:
        return (self.departure - self.arrival).days

    def rate_on(self, night: date) -> float:
        """The stay's rate for one night."""
        if self.weekend_rate_amount is not None and night.weekday() in WEEKEND_NIGHTS:
            return self.weekend_rate_amount
        return self.rate_amount

    def price(self, rate_plan: RatePlan, room_type: str) -> None:
        """Take `rate_plan`'s prices of `room_type` (weekdays and, where they differ, weekend nights)."""
        self.rate_amount = rate_plan.prices[room_type]
        weekend = rate_plan.weekend_prices.get(room_type)
        self.weekend_rate_amount = weekend if weekend is not None and weekend != self.rate_amount else None

    @property
    def total(self) -> float:
        """Expected room revenue of the stay: each night booked at its own rate, for each room it holds."""
        nights = nights_between(self.arrival, self.departure)
        return money(sum(self.rate_on(night) for night in nights) * self.rooms, self.currency)

    @property
    def balance(self) -> float:
        return money(sum(w.balance for w in self.folio_windows.values()))

    @property
    def deposit_paid(self) -> float:
        """rsv resRevenueBalanceType.totalDepositPaid: "Total of all deposit payment posted to the reservation"
        (refunds are negative deposits)."""
        return money(sum(p.amount for p in self.deposits), self.currency)

    def refundable(self, deposit: Posting) -> float:
        """What is left to refund of one deposit payment: its amount less the refunds that name it."""
        back = sum(-p.amount for p in self.deposits if p.refunds_transaction_no == deposit.transaction_no)
        return money(deposit.amount - back, deposit.currency)

    @property
    def deposit_required(self) -> float:
        """What the deposit request asks for: its percent of the stay's room total (0 without a request)."""
        request = self.deposit_request
        return money(self.total * request.percent / 100, self.currency) if request else 0.0

    @property
    def deposit_applied(self) -> float:
        """The deposits applied to the deposit request (an unallocated deposit is not)."""
        request = self.deposit_request
        if request is None:
            return 0.0
        return money(sum(p.amount for p in self.deposits if p.deposit_policy_id == request.policy_id), self.currency)

    @property
    def deposit_due(self) -> float:
        """What is still owed on the deposit request."""
        return max(0.0, money(self.deposit_required - self.deposit_applied, self.currency))

    @property
    def holds_inventory(self) -> bool:
        return self.status in ACTIVE_STATUSES

    def computed_status(self, business_date: date) -> str:
        """OPERA's computed status: DueIn (Reserved, arriving today), DueOut (InHouse, departing today), else the
        stored status."""
        if self.status == "Reserved" and self.arrival == business_date:
            return "DueIn"
        if self.status == "InHouse" and self.departure <= business_date:
            return "DueOut"
        return self.status

    def stays_on(self, night: date) -> bool:
        return self.arrival <= night < self.departure

    def folio_window(self, window_no: int) -> FolioWindow:
        """The window, opened on first use (OPERA opens windows on demand up to 8)."""
        if not 1 <= window_no <= MAX_FOLIO_WINDOW:
            raise _bad_request(
                "Invalid folio window",
                f"Folio window {window_no} does not exist; use a window from 1 to {MAX_FOLIO_WINDOW}",
                "OHIPSIM-CSH-WINDOW",
                "folioWindowNo",
            )
        if window_no not in self.folio_windows:
            self.folio_windows[window_no] = FolioWindow(window_no)
        return self.folio_windows[window_no]


@dataclass
class BookingRequest:
    """A parsed `postReservation`: either `profile_id` or `surname` (creates the guest profile)."""

    arrival: date
    departure: date
    room_type: str
    rate_plan: str
    adults: int = 1
    children: int = 0
    profile_id: str | None = None
    given_name: str | None = None
    surname: str | None = None
    email: str | None = None
    phone: str | None = None
    guarantee_code: str | None = None
    payment_method: str | None = None
    market_code: str | None = None
    source_code: str | None = None
    comments: list[str] = field(default_factory=list)
    rate_amount: float | None = None  # an explicit rate override; None = the rate plan's price
    external_references: list[ExternalReference] = field(default_factory=list)
    rooms: int = 1  # the rate line's numberOfUnits


@dataclass
class ReservationChange:
    """A parsed `putReservation`: None means unchanged. `comments` are (id, text): an id edits that comment, no id
    adds one; comments the change does not name stay (Oracle's putReservation example keys them by id)."""

    arrival: date | None = None
    departure: date | None = None
    room_type: str | None = None
    rate_plan: str | None = None
    adults: int | None = None
    children: int | None = None
    guarantee_code: str | None = None
    payment_method: str | None = None
    market_code: str | None = None
    source_code: str | None = None
    comments: list[tuple[str | None, str]] | None = None
    external_references: list[ExternalReference] | None = None  # merged by external system when given
    rooms: int | None = None  # the rate line's numberOfUnits: the rooms the reservation holds from now on


@dataclass(frozen=True)
class CancellationOutcome:
    """What `cancel_reservation` did (or, for a dry run, would do)."""

    reservation: Reservation
    cancellation_number: str | None  # None on a dry run
    reason: Code
    cancellation_date: date
    verification_only: bool
    penalty_text: str


# ------------------------------------------------------------------------------------------------------ hotel


#: The transaction code of room tax, posted with each night's room charge by the night audit.
ROOM_TAX_CODE = "1100"
#: The transaction code an early-departure penalty is posted under (putForEarlyDeparture's postEarlyDeparturePenalty).
EARLY_DEPARTURE_PENALTY_CODE = "1050"


@dataclass(frozen=True)
class NightAudit:
    """What one end of day did: the date closed, the new business date, and the reservations it touched."""

    hotel_id: str
    closed: date
    business_date: date
    nights_posted: tuple[str, ...]
    no_shows: tuple[str, ...]
    extended: tuple[str, ...]


@dataclass
class Hotel:
    """One property with its configuration and operational state."""

    code: str
    name: str
    currency: str
    business_date: date
    room_types: dict[str, RoomType] = field(default_factory=dict)
    rooms: dict[str, Room] = field(default_factory=dict)  # by room number, in floor/number order
    rate_plans: dict[str, RatePlan] = field(default_factory=dict)
    reservations: dict[str, Reservation] = field(default_factory=dict)  # by internal id
    transaction_codes: dict[str, TransactionCode] = field(default_factory=dict)
    payment_methods: dict[str, PaymentMethod] = field(default_factory=dict)
    cashiers: dict[int, Cashier] = field(default_factory=dict)
    guarantee_codes: dict[str, Code] = field(default_factory=dict)
    cancellation_reasons: dict[str, Code] = field(default_factory=dict)
    market_codes: dict[str, Code] = field(default_factory=dict)
    source_codes: dict[str, Code] = field(default_factory=dict)
    room_features: dict[str, Code] = field(default_factory=dict)
    #: OPERA's out of order / out of service reasons, which postOutOfOrderRooms/postOutOfServiceRooms must name.
    out_of_order_reasons: dict[str, Code] = field(default_factory=dict)
    #: Reservation note types (lov ReservationNoteTypes): the codes a reservation comment's `type` names.
    note_types: dict[str, Code] = field(default_factory=dict)
    #: Room move reasons (lov RoomMoveReasons): the codes a room move's `reasonCode` names.
    room_move_reasons: dict[str, Code] = field(default_factory=dict)
    #: Room conditions the property configured (setRoomCondition names one of them).
    room_conditions: dict[str, RoomConditionCode] = field(default_factory=dict)
    #: Maintenance codes the property configured (lov MaintenanceCodes; postRoomMaintenance names one of them).
    maintenance_codes: dict[str, Code] = field(default_factory=dict)
    #: Room maintenance requests (hsk postRoomMaintenance), by id, oldest first; resolved ones are kept.
    maintenances: dict[str, RoomMaintenance] = field(default_factory=dict)
    #: Service request codes (lov getServiceRequestCodesLOV), departments (lov Departments) and priorities (lov
    #: ServiceRequestPriority) the property configured; fof postServiceRequests names them.
    service_request_codes: dict[str, ServiceRequestCode] = field(default_factory=dict)
    departments: dict[str, Code] = field(default_factory=dict)
    service_request_priorities: dict[str, Code] = field(default_factory=dict)
    #: Guest service requests (fof serviceRequests), by id, oldest first; closed ones are kept.
    service_requests: dict[str, GuestServiceRequest] = field(default_factory=dict)
    #: Room tax on each night's room charge, posted with it by the night audit under ROOM_TAX_CODE.
    room_tax_rate: float = 0.0
    #: External system codes configured for the property (OPERA's interface setup); references name one of them.
    external_systems: tuple[str, ...] = ()
    #: The queue for rooms (fof queuedReservations): reservation id -> when it was queued, in queue order.
    room_queue: dict[str, datetime] = field(default_factory=dict)

    # -- queries ---------------------------------------------------------------------------------------------

    def reservation(self, reservation_id: str) -> Reservation:
        found = self.reservations.get(reservation_id)
        if found is None:
            raise _not_found(
                "Reservation",
                f"Reservation {reservation_id} was not found in hotel {self.code}",
                "OHIPSIM-RSV-404",
                "reservationId",
            )
        return found

    def cashier(self, cashier_id: int | None, action: str, path: str = "cashierId") -> Cashier:
        """The cashier a posting is made under. Every Oracle sample of payments, folios and check-outs names one
        (csh postBillingPayment, generateFolio, postCheckOut; WF Check Out), so none or an unknown one is refused."""
        known = ", ".join(str(c) for c in self.cashiers)
        if cashier_id is None:
            raise _bad_request(
                "Cashier required",
                f"A cashier is required to {action}; send {path} with one of hotel {self.code}'s cashiers ({known})",
                "OHIPSIM-CSH-CASHIER",
                path,
            )
        found = self.cashiers.get(cashier_id)
        if found is None:
            raise _bad_request(
                "Invalid cashier",
                f"Cashier {cashier_id} does not exist in hotel {self.code}; its cashiers are {known}",
                "OHIPSIM-CSH-CASHIER",
                path,
            )
        return found

    def room(self, room_id: str) -> Room:
        found = self.rooms.get(room_id)
        if found is None:
            raise _not_found(
                "Room", f"Room {room_id} does not exist in hotel {self.code}", "OHIPSIM-FOF-ROOM-404", "roomId"
            )
        return found

    def by_confirmation(self, confirmation_number: str) -> Reservation | None:
        return next((r for r in self.reservations.values() if r.confirmation_number == confirmation_number), None)

    def external_system(self, code: str, error_path: str) -> str:
        """The configured spelling of an external system code; 400 naming the configured codes otherwise."""
        found = next((known for known in self.external_systems if known.upper() == code.strip().upper()), None)
        if found is None:
            configured = ", ".join(self.external_systems) or "none"
            raise _bad_request(
                "Unknown external system",
                f"External system {code!r} is not configured for hotel {self.code}; configured: {configured}",
                "OHIPSIM-EXTSYS",
                error_path,
            )
        return found

    def _check_external_references(self, references: Sequence[ExternalReference]) -> list[ExternalReference]:
        """References with their system codes in the configured spelling; 400 on an unconfigured code or two
        references for the same system and leg."""
        checked: list[ExternalReference] = []
        for index, ref in enumerate(references):
            code = self.external_system(ref.id_context, f"externalReferences[{index}].idContext")
            if any(c.id_context == code and c.id_extension == ref.id_extension for c in checked):
                raise _bad_request(
                    "Duplicate external reference",
                    f"externalReferences names external system {code} twice; send one reference per system",
                    "OHIPSIM-EXTREF",
                    f"externalReferences[{index}]",
                )
            checked.append(ExternalReference(ref.id, code, ref.id_extension))
        return checked

    def by_external_reference(self, system: str, external_id: str) -> Reservation | None:
        """The reservation another system knows as `external_id` (the oldest when several carry it); None if none
        (OHIP answers 204); an unknown system is refused."""
        code = self.external_system(system, "externalSystemCode")
        found = [
            r
            for r in self.reservations.values()
            if has_external_reference(r.external_references, {external_id}, {code})
        ]
        return min(found, key=lambda r: int(r.reservation_id)) if found else None

    def computed_status(self, reservation: Reservation) -> str:
        return reservation.computed_status(self.business_date)

    def occupant(self, room_id: str) -> Reservation | None:
        """The in-house reservation in this room, if any."""
        return next(
            (r for r in self.reservations.values() if r.status == "InHouse" and r.room_id == room_id),
            None,
        )

    def room_status(self, room: Room) -> str:
        """The status the board shows today: OutOfOrder/OutOfService while a repair runs, else housekeeping's."""
        return room.status_on(self.business_date)

    def front_office_status(self, room_id: str) -> str:
        """Vacant or Occupied, from in-house reservations."""
        return "Occupied" if self.occupant(room_id) is not None else "Vacant"

    def arrival_for(self, room_id: str) -> Reservation | None:
        """A due-in reservation already assigned to this room, if any."""
        return next(
            (
                r
                for r in self.reservations.values()
                if r.room_id == room_id and r.computed_status(self.business_date) == "DueIn"
            ),
            None,
        )

    def sellable_rooms(self, room_type: str, night: date) -> int:
        return sum(1 for room in self.rooms.values() if room.room_type == room_type and room.sellable_on(night))

    def booked(self, room_type: str, night: date, *, excluding: str | None = None) -> int:
        """Active reservations of a room type staying on `night` (optionally ignoring one reservation)."""
        return sum(
            r.rooms
            for r in self.reservations.values()
            if r.holds_inventory and r.room_type == room_type and r.stays_on(night) and r.reservation_id != excluding
        )

    def rooms_left(self, room_type: str, night: date, *, excluding: str | None = None) -> int:
        """Rooms of a type still sellable on a night; never negative."""
        return max(0, self.sellable_rooms(room_type, night) - self.booked(room_type, night, excluding=excluding))

    def rooms_left_for_stay(
        self, room_type: str, arrival: date, departure: date, *, excluding: str | None = None
    ) -> int:
        """The tightest night of a stay decides how many rooms can still be booked for all of it."""
        nights = nights_between(arrival, departure)
        if not nights:
            return 0
        return min(self.rooms_left(room_type, night, excluding=excluding) for night in nights)

    def transaction_code(self, code: str) -> TransactionCode:
        found = self.transaction_codes.get(code)
        if found is None:
            raise _bad_request(
                "Unknown transaction code",
                f"Transaction code {code} is not configured in hotel {self.code}; list the codes with "
                "getTransactionCodes",
                "OHIPSIM-CSH-TRXCODE",
                "transactionCode",
            )
        return found

    # -- validation shared by booking and modification --------------------------------------------------------

    def _check_stay(self, arrival: date, departure: date, *, new: bool) -> None:
        if departure <= arrival:
            raise _bad_request(
                "Invalid stay dates",
                f"Departure {departure.isoformat()} must be after arrival {arrival.isoformat()}",
                "OHIPSIM-RSV-DATES",
                "roomStay.departureDate",
            )
        if new and arrival < self.business_date:
            raise _bad_request(
                "Arrival in the past",
                f"Arrival {arrival.isoformat()} is before the business date {self.business_date.isoformat()} "
                f"of hotel {self.code}",
                "OHIPSIM-RSV-PAST",
                "roomStay.arrivalDate",
            )
        if (departure - arrival).days > MAX_NIGHTS:
            raise _bad_request(
                "Stay too long",
                f"A stay may last at most {MAX_NIGHTS} nights; this one has {(departure - arrival).days}",
                "OHIPSIM-RSV-LENGTH",
                "roomStay.departureDate",
            )

    def _check_room_type(self, room_type: str) -> RoomType:
        found = self.room_types.get(room_type)
        if found is None:
            known = ", ".join(self.room_types)
            raise _bad_request(
                "Unknown room type",
                f"Room type {room_type} does not exist in hotel {self.code}; known room types: {known}",
                "OHIPSIM-RSV-ROOMTYPE",
                "roomStay.roomRates.roomType",
            )
        return found

    def _check_rate_plan(self, rate_plan: str, room_type: str, arrival: date) -> RatePlan:
        plan = self.rate_plans.get(rate_plan)
        if plan is None:
            known = ", ".join(self.rate_plans)
            raise _bad_request(
                "Unknown rate plan",
                f"Rate plan {rate_plan} does not exist in hotel {self.code}; known rate plans: {known}",
                "OHIPSIM-RSV-RATEPLAN",
                "roomStay.roomRates.ratePlanCode",
            )
        if room_type not in plan.prices:
            raise _bad_request(
                "Rate plan not available for room type",
                f"Rate plan {rate_plan} cannot be booked for room type {room_type}; it applies to "
                f"{', '.join(plan.room_types)}",
                "OHIPSIM-RSV-RATEPLAN-ROOMTYPE",
                "roomStay.roomRates.ratePlanCode",
            )
        if plan.min_advance_days and (arrival - self.business_date).days < plan.min_advance_days:
            raise _bad_request(
                "Rate plan restricted",
                f"Rate plan {rate_plan} must be booked at least {plan.min_advance_days} days before arrival",
                "OHIPSIM-RSV-RATEPLAN-ADVANCE",
                "roomStay.roomRates.ratePlanCode",
            )
        return plan

    def _check_guests(self, room_type: RoomType, adults: int, children: int) -> None:
        if adults < 1:
            raise _bad_request(
                "Invalid guest count",
                "A reservation needs at least 1 adult",
                "OHIPSIM-RSV-GUESTS",
                "roomStay.guestCounts.adults",
            )
        if children < 0 or adults + children > room_type.max_occupancy:
            raise _bad_request(
                "Too many guests",
                f"Room type {room_type.code} sleeps at most {room_type.max_occupancy}; "
                f"requested {adults} adults and {children} children",
                "OHIPSIM-RSV-OCCUPANCY",
                "roomStay.guestCounts",
            )

    def _check_inventory(
        self, room_type: str, arrival: date, departure: date, *, excluding: str | None = None, rooms: int = 1
    ) -> None:
        for night in nights_between(arrival, departure):
            left = self.rooms_left(room_type, night, excluding=excluding)
            if left < rooms:
                detail = (f"Room type {room_type} is sold out on {night.isoformat()} in hotel {self.code}" if not left
                          else f"Only {left} rooms of type {room_type} are left on {night.isoformat()} in hotel "
                          f"{self.code}; {rooms} were asked for")
                raise SandboxError(400, "No availability", detail, "OHIPSIM-RSV-SOLDOUT", "roomStay.roomRates.roomType")

    def _check_codes(
        self,
        *,
        guarantee_code: str | None,
        payment_method: str | None,
        market_code: str | None,
        source_code: str | None,
    ) -> None:
        checks = (
            (guarantee_code, self.guarantee_codes, "guarantee code", "roomStay.guarantee.guaranteeCode", "GUARANTEE"),
            (
                payment_method,
                self.payment_methods,
                "payment method",
                "reservationPaymentMethods.paymentMethod",
                "PAYMENT",
            ),
            (market_code, self.market_codes, "market code", "roomStay.roomRates.marketCode", "MARKET"),
            (source_code, self.source_codes, "source code", "roomStay.roomRates.sourceCode", "SOURCE"),
        )
        for value, known, label, path, suffix in checks:
            if value is not None and value not in known:
                raise _bad_request(
                    f"Unknown {label}",
                    f"The {label} {value} is not configured in hotel {self.code}; valid: {', '.join(known)}",
                    f"OHIPSIM-RSV-{suffix}",
                    path,
                )

    def _refuse_unless(self, reservation: Reservation, allowed: Iterable[str], action: str) -> None:
        status = reservation.computed_status(self.business_date)
        allowed = tuple(allowed)
        if status not in allowed:
            raise SandboxError(
                400,
                f"Cannot {action}",
                f"Reservation {reservation.reservation_id} is {status}; only a reservation that is "
                f"{' or '.join(allowed)} can {action}",
                "OHIPSIM-RSV-STATUS",
                "reservationStatus",
            )


# ------------------------------------------------------------------------------------------------- enterprise


@dataclass
class Counters:
    """Id sequences; OPERA ids are numeric strings."""

    reservation: int = 100000
    confirmation: int = 500000
    profile: int = 200000
    transaction: int = 900000
    cancellation: int = 700000
    folio: int = 60000
    comment: int = 300000
    card: int = 22700
    contact: int = 400000  # e-mail, telephone and address records of profiles
    alert: int = 800000
    wake_up_call: int = 80000
    guest_message: int = 30000
    policy: int = 610000
    maintenance: int = 5000
    service_request: int = 7000

    def next(
        self,
        name: Literal[
            "reservation", "confirmation", "profile", "transaction", "cancellation", "folio", "comment", "card",
            "contact", "alert", "wake_up_call", "guest_message", "policy", "maintenance",
            "service_request",
        ],
    ) -> int:
        value = getattr(self, name) + 1
        setattr(self, name, value)
        return int(value)


@dataclass
class Enterprise:
    """Everything the sandbox knows: the hotels, the enterprise-wide guest profiles, the id sequences.

    Domain operations live here because some cross hotel and CRM (booking with an inline guest creates a profile).
    Each one validates first and mutates last, so a refusal leaves no half-done change.
    """

    hotels: dict[str, Hotel] = field(default_factory=dict)
    profiles: dict[str, Profile] = field(default_factory=dict)
    counters: Counters = field(default_factory=Counters)
    #: CRM configuration, chain-wide as profiles are: communication types (the codes of e-mail `type` and
    #: `phoneUseType`, LOVs CommunicationTypeEmail / CommunicationTypePhone) and address types (AddressTypes).
    communication_types: dict[str, CommunicationType] = field(default_factory=dict)
    address_types: dict[str, Code] = field(default_factory=dict)
    #: The business event queues every change is published to (app/sandbox/events.py `attach`); None: none.
    events: object | None = field(default=None, repr=False, compare=False)

    # -- lookups ---------------------------------------------------------------------------------------------

    def hotel(self, hotel_id: str) -> Hotel:
        found = self.hotels.get(hotel_id)
        if found is None:
            raise _not_found(
                "Hotel",
                f"Hotel {hotel_id} does not exist; known hotels: {', '.join(self.hotels)}",
                "OHIPSIM-HOTEL-404",
                "hotelId",
            )
        return found

    def profile(self, profile_id: str) -> Profile:
        found = self.profiles.get(profile_id)
        if found is None:
            raise _not_found("Profile", f"Profile {profile_id} was not found", "OHIPSIM-CRM-404", "profileId")
        return found

    def profile_by_external_reference(self, system: str, external_id: str) -> Profile | None:
        """The profile another system knows as `external_id` (the oldest when several carry it); None if none (OHIP
        answers 204). `system` is already checked against the hotel's configured codes."""
        found = [
            p for p in self.profiles.values() if has_external_reference(p.external_references, {external_id}, {system})
        ]
        return min(found, key=lambda p: int(p.profile_id)) if found else None

    def now(self, hotel: Hotel) -> datetime:
        """The sandbox clock: the hotel's business date at midday, so timestamps are deterministic."""
        return datetime.combine(hotel.business_date, datetime.min.time()) + timedelta(hours=12)

    # -- profiles (crm) --------------------------------------------------------------------------------------

    def create_profile(
        self,
        *,
        given_name: str,
        surname: str,
        email: str | None = None,
        phone: str | None = None,
        address_line: str | None = None,
        city: str | None = None,
        postal_code: str | None = None,
        state: str | None = None,
        country: str | None = None,
        vip_status: str | None = None,
        language: str = "E",
        profile_type: str = "Guest",
        created: datetime | None = None,
        external_references: Sequence[ExternalReference] = (),
        contacts: Mapping[ContactKind, Sequence[ContactChange]] | None = None,
    ) -> Profile:
        """A new profile. `email`, `phone` and the address parts make one primary record each, of the first
        configured type (seeding and inline booking guests); `contacts` are the records a postProfile sends."""
        if not surname.strip():
            raise _bad_request(
                "Missing surname",
                "A guest profile needs a surname",
                "OHIPSIM-CRM-NAME",
                "profileDetails.customer.personName.surname",
            )
        records: dict[ContactKind, list[ContactRecord]] = {}
        if email:
            records["emails"] = [ProfileEmail("", self.default_contact_type("emails"), True, email)]
        if phone:
            records["telephones"] = [ProfileTelephone("", self.default_contact_type("telephones"), True, phone)]
        if any((address_line, city, postal_code, state, country)):
            records["addresses"] = [
                ProfileAddress("", self.default_contact_type("addresses"), True,
                               (address_line,) if address_line else (), city, postal_code, state, country)
            ]
        for kind, changes in (contacts or {}).items():
            records[kind] = self._merged_contacts(records.get(kind, []), kind, changes)
        profile = Profile(
            profile_id=str(self.counters.next("profile")),
            given_name=given_name.strip(),
            surname=surname.strip(),
            vip_status=vip_status,
            language=language,
            profile_type=profile_type,
            created=created or datetime(2026, 1, 1),
            external_references=list(external_references),
        )
        self._store_contacts(profile, records)
        self.profiles[profile.profile_id] = profile
        return profile

    def update_profile(
        self,
        profile_id: str,
        *,
        contacts: Mapping[ContactKind, Sequence[ContactChange]],
        given_name: str | None = None,
        surname: str | None = None,
        vip_status: str | None = None,
        language: str | None = None,
        profile_type: str | None = None,
        external_references: Sequence[ExternalReference] | None = None,
    ) -> Profile:
        """A putProfile: None leaves a part as it is (an empty vip_status clears it). E-mails, telephones and
        addresses merge by id, all checked before any is stored: a record with an id replaces that record, one
        without is added (so the same record sent twice without an id is there twice), and the records the
        request does not name stay as they are."""
        profile = self.profile(profile_id)
        if surname is not None and not surname.strip():
            raise _bad_request(
                "Missing surname",
                "A guest profile cannot lose its surname; send the surname with the name",
                "OHIPSIM-CRM-NAME",
                "profileDetails.customer.personName.surname",
            )
        merged = {
            kind: self._merged_contacts(getattr(profile, kind), kind, changes) for kind, changes in contacts.items()
        }
        self._store_contacts(profile, merged)
        if surname is not None:
            profile.surname = surname.strip()
            profile.given_name = (given_name or "").strip()
        if vip_status is not None:
            profile.vip_status = vip_status or None
        if language is not None:
            profile.language = language
        if profile_type is not None:
            profile.profile_type = profile_type
        if external_references is not None:
            profile.external_references = merge_external_references(profile.external_references, external_references)
        return profile

    def default_contact_type(self, kind: ContactKind) -> str:
        """The first configured code for `kind` (OPERA lists configuration in display order)."""
        codes = self._contact_types(kind)
        if not codes:
            raise _bad_request("Not configured", f"No {CONTACT_LABELS[kind]} type is configured", "OHIPSIM-CRM-TYPE")
        return codes[0]

    def _contact_types(self, kind: ContactKind) -> list[str]:
        if kind == "addresses":
            return [c.code for c in self.address_types.values() if c.active]
        roles = CONTACT_ROLES[kind]
        return [c.code for c in self.communication_types.values() if c.role in roles]

    def _merged_contacts(
        self, held: Sequence[ContactRecord], kind: ContactKind, changes: Sequence[ContactChange]
    ) -> list[ContactRecord]:
        """The records of `kind` after `changes`, as new objects (nothing stored is touched); new records have an
        empty id until `_store_contacts` numbers them."""
        records = [replace(r) for r in held]
        configured = self._contact_types(kind)
        for n, change in enumerate(changes):
            path = f"profileDetails.{kind}.{CONTACT_INFO[kind]}[{n}]"
            index = next((i for i, r in enumerate(records) if r.record_id and r.record_id == change.record_id), None)
            if change.record_id is not None and index is None:
                # Oracle's putReservation example keys child records by id; an id that names nothing is refused
                # rather than silently added, so a stale id cannot create a second record.
                raise SandboxError(
                    400, "Bad Request",
                    f"Profile has no {CONTACT_LABELS[kind]} record with id {change.record_id}; send the record "
                    "without an id to add it",
                    "OHIPSIM-CRM-RECORD", f"{path}.id",
                )
            old = records[index] if index is not None else None
            code = change.record.type or (old.type if old else "")
            type_path = f"{path}.{CONTACT_ITEM[kind]}.{CONTACT_TYPE_FIELD[kind]}"
            if not code:
                raise _bad_request(
                    "Missing type",
                    f"A new {CONTACT_LABELS[kind]} record needs its type, one of {', '.join(configured)} "
                    f"(lov {CONTACT_LOV[kind]})",
                    "OHIPSIM-CRM-TYPE", type_path,
                )
            canonical = next((c for c in configured if c.upper() == code.upper()), None)
            if canonical is None:
                raise _bad_request(
                    "Invalid type",
                    f"{code!r} is not a configured {CONTACT_LABELS[kind]} type; use one of {', '.join(configured)} "
                    f"(lov {CONTACT_LOV[kind]})",
                    "OHIPSIM-CRM-TYPE", type_path,
                )
            primary = change.primary if change.primary is not None else (old.primary if old else False)
            record = replace(change.record, record_id=old.record_id if old else "", type=canonical, primary=primary)
            if index is None:
                records.append(record)
            else:
                records[index] = record
            if change.primary:
                # One primary per kind (OPERA Cloud help, "Managing Profile Communication": select one entry of
                # each communication type as the primary): marking this one clears the others.
                for other in records:
                    if other is not record:
                        other.primary = False
        return records

    def _store_contacts(self, profile: Profile, merged: Mapping[ContactKind, list[ContactRecord]]) -> None:
        for kind, records in merged.items():
            for record in records:
                if not record.record_id:
                    record.record_id = str(self.counters.next("contact"))
            setattr(profile, kind, records)

    def search_profiles(
        self,
        *,
        surname: str | None = None,
        given_name: str | None = None,
        email: str | None = None,
        phone: str | None = None,
        city: str | None = None,
        country: str | None = None,
        profile_ids: Sequence[str] = (),
        profile_types: Sequence[str] = (),
        external_ids: Sequence[str] = (),
        external_systems: Sequence[str] = (),
    ) -> list[Profile]:
        """Case-insensitive prefix match on names (OPERA's name search), exact on the rest; ordered by name.

        External references: ids from the given systems, ids from any system when no system is given, or any
        reference from the given systems when no id is given.
        """

        def known_externally(p: Profile) -> bool:
            if not external_ids and not external_systems:
                return True
            systems = {ref.id_context.upper() for ref in p.external_references}
            if not external_ids:
                return bool(systems & {code.upper() for code in external_systems})
            return has_external_reference(p.external_references, set(external_ids), external_systems or systems)

        def starts(value: str | None, prefix: str | None) -> bool:
            return prefix is None or (value or "").lower().startswith(prefix.strip().lower())

        rows = [
            p
            for p in self.profiles.values()
            if starts(p.surname, surname)
            and starts(p.given_name, given_name)
            and (email is None or any(e.address.lower() == email.strip().lower() for e in p.emails))
            and (
                phone is None
                or any(
                    "".join(ch for ch in t.number if ch.isdigit()).endswith("".join(ch for ch in phone if ch.isdigit()))
                    for t in p.telephones
                )
            )
            and starts(p.city, city)
            and (country is None or (p.address.country if p.address else None) == country.strip().upper())
            and (not profile_ids or p.profile_id in profile_ids)
            and (not profile_types or p.profile_type.lower() in {t.lower() for t in profile_types})
            and known_externally(p)
        ]
        return sorted(rows, key=lambda p: (p.surname.lower(), p.given_name.lower(), p.profile_id))

    # -- reservations (rsv) ----------------------------------------------------------------------------------

    def create_reservation(self, hotel_id: str, request: BookingRequest) -> Reservation:
        hotel = self.hotel(hotel_id)
        hotel._check_stay(request.arrival, request.departure, new=True)
        room_type = hotel._check_room_type(request.room_type)
        plan = hotel._check_rate_plan(request.rate_plan, request.room_type, request.arrival)
        hotel._check_guests(room_type, request.adults, request.children)
        hotel._check_codes(
            guarantee_code=request.guarantee_code,
            payment_method=request.payment_method,
            market_code=request.market_code,
            source_code=request.source_code,
        )
        if request.profile_id is not None:
            self.profile(request.profile_id)
        elif not (request.surname and request.surname.strip()):
            raise _bad_request(
                "Missing guest",
                "A reservation needs a guest: give reservationGuests[0].profileInfo.profileIdList with a Profile id, "
                "or profileInfo.profile.customer.personName with at least a surname",
                "OHIPSIM-RSV-GUEST",
                "reservationGuests.profileInfo",
            )
        references = hotel._check_external_references(request.external_references)
        hotel._check_inventory(request.room_type, request.arrival, request.departure, rooms=request.rooms)

        if request.profile_id is not None:
            profile_id = request.profile_id
        else:
            profile_id = self.create_profile(
                given_name=request.given_name or "",
                surname=request.surname or "",
                email=request.email,
                phone=request.phone,
                created=self.now(hotel),
            ).profile_id
        reservation = Reservation(
            reservation_id=str(self.counters.next("reservation")),
            confirmation_number=str(self.counters.next("confirmation")),
            hotel_id=hotel.code,
            status="Reserved",
            arrival=request.arrival,
            departure=request.departure,
            adults=request.adults,
            children=request.children,
            room_type=request.room_type,
            rate_plan=plan.code,
            rate_amount=money(
                request.rate_amount if request.rate_amount is not None else plan.prices[request.room_type],
                hotel.currency,
            ),
            # an explicit rate is the stay's one rate; the plan's own prices follow its weekend
            weekend_rate_amount=None if request.rate_amount is not None else plan.weekend_prices.get(request.room_type),
            currency=hotel.currency,
            profile_id=profile_id,
            guarantee_code=request.guarantee_code or "6PM",
            payment_method=request.payment_method,
            market_code=request.market_code or plan.market_code,
            source_code=request.source_code or plan.source_code,
            comments=[Comment(str(self.counters.next("comment")), text) for text in request.comments],
            created=self.now(hotel),
            external_references=references,
            rooms=request.rooms,
        )
        self._apply_deposit_rule(hotel, reservation, plan)
        hotel.reservations[reservation.reservation_id] = reservation
        return reservation

    def _apply_deposit_rule(self, hotel: Hotel, reservation: Reservation, plan: RatePlan) -> None:
        """The rate code's deposit rule, as the reservation's deposit request (none when the plan has none): "the
        rate code rule takes precedence", so a change of rate code replaces it. Due on the business date."""
        if plan.deposit_percent is None:
            reservation.deposit_request = None
            return
        if reservation.deposit_request is not None and reservation.deposit_request.percent == plan.deposit_percent:
            return  # the same rule: the request, and the deposits applied to it, stay
        reservation.deposit_request = DepositRequest(
            policy_id=str(self.counters.next("policy")), code=f"DEP{plan.deposit_percent}",
            description=plan.guarantee_policy, percent=plan.deposit_percent, deadline=hotel.business_date,
        )

    def split_reservation(
        self, hotel_id: str, reservation_id: str, *, split_all: bool, copy_payment: bool
    ) -> list[Reservation]:
        """rsv putSplitMultiRoomReservation: "If set to TRUE [splitAll], the reservation will be separated into
        number of rooms that it currently has. Otherwise, only 1 single room reservation will be created and the
        original reservation will be deducted with 1 room." Each new reservation has its own confirmation number
        (the operation's description), the original's guest, stay, rate and comments, and the payment method when
        `copy_payment` (copyPaymentInformation); external references stay with the original, which they name. All
        are linked to the original. Refused for a reservation of one room, or one not Reserved."""
        hotel = self.hotel(hotel_id)
        original = hotel.reservation(reservation_id)
        hotel._refuse_unless(original, ("Reserved", "DueIn"), "be split")
        if original.rooms < 2:
            raise _bad_request(
                "Not a multi-room reservation",
                f"Reservation {reservation_id} holds one room; only a reservation of several rooms can be split",
                "OHIPSIM-RSV-SPLIT",
                "reservationId",
            )
        made: list[Reservation] = []
        for _ in range(original.rooms - 1 if split_all else 1):
            copy = replace(
                original,
                reservation_id=str(self.counters.next("reservation")),
                confirmation_number=str(self.counters.next("confirmation")),
                rooms=1,
                linked_to=original.reservation_id,
                payment_method=original.payment_method if copy_payment else None,
                comments=[Comment(str(self.counters.next("comment")), c.text) for c in original.comments],
                alerts=[replace(a, alert_id=str(self.counters.next("alert"))) for a in original.alerts],
                created=self.now(hotel),
                folio_windows={},
                external_references=[],
                cards=[],
                room_and_tax_posted=set(),
            )
            hotel.reservations[copy.reservation_id] = copy
            made.append(copy)
        original.rooms -= len(made)
        original.linked_to = original.reservation_id
        return made

    def linked_reservations(self, hotel_id: str, reservation_id: str) -> list[Reservation]:
        """The reservations a split linked with `reservation_id` (itself excluded), oldest first."""
        hotel = self.hotel(hotel_id)
        reservation = hotel.reservation(reservation_id)
        if reservation.linked_to is None:
            return []
        return sorted(
            (r for r in hotel.reservations.values()
             if r.linked_to == reservation.linked_to and r.reservation_id != reservation_id),
            key=lambda r: int(r.reservation_id) if r.reservation_id.isdigit() else 0,
        )

    def modify_reservation(self, hotel_id: str, reservation_id: str, change: ReservationChange) -> Reservation:
        hotel = self.hotel(hotel_id)
        reservation = hotel.reservation(reservation_id)
        if reservation.status in ("Cancelled", "CheckedOut", "NoShow"):
            raise SandboxError(
                400,
                "Cannot modify",
                f"Reservation {reservation_id} is {reservation.status}; reinstate it before changing it",
                "OHIPSIM-RSV-STATUS",
                "reservationStatus",
            )
        in_house = reservation.status == "InHouse"
        arrival = change.arrival or reservation.arrival
        departure = change.departure or reservation.departure
        if in_house and arrival != reservation.arrival:
            raise _bad_request(
                "Cannot change arrival",
                f"Reservation {reservation_id} is in house; its arrival date can no longer change",
                "OHIPSIM-RSV-INHOUSE",
                "roomStay.arrivalDate",
            )
        if in_house and change.room_type not in (None, reservation.room_type):
            raise _bad_request(
                "Cannot change room type",
                f"Reservation {reservation_id} is in house; move the guest to another room instead",
                "OHIPSIM-RSV-INHOUSE",
                "roomStay.roomRates.roomType",
            )
        if change.room_type not in (None, reservation.room_type) and reservation.room_locked and reservation.room_id:
            raise _room_locked(reservation, "its room type cannot change away from the room's")
        room_type_code = change.room_type or reservation.room_type
        rate_plan = change.rate_plan or reservation.rate_plan
        adults = change.adults if change.adults is not None else reservation.adults
        children = change.children if change.children is not None else reservation.children

        hotel._check_stay(arrival, departure, new=arrival != reservation.arrival)
        if in_house and departure < hotel.business_date:
            raise _bad_request(
                "Invalid departure",
                f"An in-house guest cannot depart before the business date {hotel.business_date.isoformat()}",
                "OHIPSIM-RSV-DATES",
                "roomStay.departureDate",
            )
        room_type = hotel._check_room_type(room_type_code)
        plan_changed = rate_plan != reservation.rate_plan or room_type_code != reservation.room_type
        if plan_changed:
            hotel._check_rate_plan(rate_plan, room_type_code, arrival)
        hotel._check_guests(room_type, adults, children)
        hotel._check_codes(
            guarantee_code=change.guarantee_code,
            payment_method=change.payment_method,
            market_code=change.market_code,
            source_code=change.source_code,
        )
        references = (
            hotel._check_external_references(change.external_references)
            if change.external_references is not None
            else None
        )
        rooms = change.rooms if change.rooms is not None else reservation.rooms
        if rooms > 1 and reservation.room_id is not None:
            raise _bad_request(
                "Cannot add rooms",
                f"Reservation {reservation_id} is assigned room {reservation.room_id}; a reservation with a room "
                "holds that one room (book the others apart)",
                "OHIPSIM-RSV-MULTIROOM",
                "roomStay.roomRates.numberOfUnits",
            )
        hotel._check_inventory(room_type_code, arrival, departure, excluding=reservation.reservation_id,
                               rooms=rooms)

        if room_type_code != reservation.room_type and reservation.room_id is not None:
            reservation.room_id, reservation.room_locked = None, False  # the assigned room was of the old type
        if plan_changed:
            reservation.price(hotel.rate_plans[rate_plan], room_type_code)
            self._apply_deposit_rule(hotel, reservation, hotel.rate_plans[rate_plan])
        reservation.arrival, reservation.departure = arrival, departure
        reservation.room_type, reservation.rate_plan = room_type_code, rate_plan
        reservation.adults, reservation.children = adults, children
        reservation.rooms = rooms
        if change.guarantee_code is not None:
            reservation.guarantee_code = change.guarantee_code
        if change.payment_method is not None:
            reservation.payment_method = change.payment_method
        if change.market_code is not None:
            reservation.market_code = change.market_code
        if change.source_code is not None:
            reservation.source_code = change.source_code
        if change.comments is not None:
            held = {c.comment_id: c for c in reservation.comments}
            for comment_id, text in change.comments:
                if comment_id is None:
                    reservation.comments.append(Comment(str(self.counters.next("comment")), text))
                elif comment_id in held:
                    held[comment_id].text = text
                else:
                    raise SandboxError(400, "Bad Request",
                                       f"Reservation {reservation.reservation_id} has no comment with id {comment_id}",
                                       "OHIPSIM-RSV-COMMENT", "comments.id")
        if references is not None:
            reservation.external_references = merge_external_references(reservation.external_references, references)
        return reservation

    def cancel_reservation(
        self, hotel_id: str, reservation_id: str, reason_code: str, *, verification_only: bool = False
    ) -> CancellationOutcome:
        hotel = self.hotel(hotel_id)
        reservation = hotel.reservation(reservation_id)
        reason = hotel.cancellation_reasons.get(reason_code.upper())
        if reason is None:
            raise _bad_request(
                "Unknown cancellation reason",
                f"Cancellation reason {reason_code} is not configured in hotel {hotel.code}; valid: "
                f"{', '.join(hotel.cancellation_reasons)}",
                "OHIPSIM-RSV-CXLREASON",
                "reason.code",
            )
        hotel._refuse_unless(reservation, ("Reserved", "DueIn"), "be cancelled")
        plan = hotel.rate_plans.get(reservation.rate_plan)
        penalty = plan.cancel_policy if plan else "No penalty"
        today = hotel.business_date
        if verification_only:
            return CancellationOutcome(reservation, None, reason, today, True, penalty)
        reservation.status = "Cancelled"
        reservation.cancellation_number = str(self.counters.next("cancellation"))
        reservation.cancellation_reason = reason.code
        reservation.cancellation_reason_description = reason.description
        reservation.cancellation_date = today
        reservation.room_id, reservation.room_locked = None, False
        return CancellationOutcome(reservation, reservation.cancellation_number, reason, today, False, penalty)

    def reinstate_reservation(self, hotel_id: str, reservation_id: str) -> Reservation:
        hotel = self.hotel(hotel_id)
        reservation = hotel.reservation(reservation_id)
        if reservation.status != "Cancelled":
            raise SandboxError(
                400,
                "Cannot reinstate",
                f"Reservation {reservation_id} is {reservation.computed_status(hotel.business_date)}; only a "
                "cancelled reservation can be reinstated",
                "OHIPSIM-RSV-STATUS",
                "reservationStatus",
            )
        if reservation.arrival < hotel.business_date:
            raise _bad_request(
                "Cannot reinstate",
                f"Reservation {reservation_id} arrived in the past ({reservation.arrival.isoformat()}); book anew",
                "OHIPSIM-RSV-PAST",
                "roomStay.arrivalDate",
            )
        hotel._check_inventory(reservation.room_type, reservation.arrival, reservation.departure,
                               rooms=reservation.rooms)
        reservation.status = "Reserved"
        reservation.cancellation_number = None
        reservation.cancellation_reason = None
        reservation.cancellation_reason_description = None
        reservation.cancellation_date = None
        return reservation

    # -- front office (fof) ----------------------------------------------------------------------------------

    def assign_room(
        self, hotel_id: str, reservation_id: str, room_id: str, *, allow_dirty: bool = False,
        lock: bool | None = None, override_lock: bool = False,
    ) -> Reservation:
        """Put a reserved (due-in or future) reservation in a specific room of its room type.

        Refused: a reservation that is not Reserved; one locked to another room (Do Not Move) unless
        `override_lock` (`overrideInstructions.roomNumberLocked`: "override the room number locked flag in the
        database and use the value passed"); an unknown room; a room of another type; a room out of order or of
        service; a room occupied tonight or already assigned to another arrival on overlapping nights; a dirty room
        for a due-in arrival unless `allow_dirty` (OPERA's `overrideInstructions.dirtyRoom`). `lock` is the request's
        `roomNumberLocked`, which "updates the do not move flag"; absent, the flag stays as it is.
        """
        hotel = self.hotel(hotel_id)
        reservation = hotel.reservation(reservation_id)
        hotel._refuse_unless(reservation, ("Reserved", "DueIn"), "be assigned a room")
        _refuse_multi_room(reservation, "assigned a room")
        if reservation.room_locked and reservation.room_id not in (None, room_id) and not override_lock:
            raise _room_locked(reservation, f"room {room_id} cannot be given instead")
        room = hotel.room(room_id)
        if room.room_type != reservation.room_type:
            raise _bad_request(
                "Wrong room type",
                f"Room {room_id} is a {room.room_type}; reservation {reservation_id} booked {reservation.room_type}",
                "OHIPSIM-FOF-ROOMTYPE",
                "roomId",
            )
        last_night = max(reservation.arrival, reservation.departure - timedelta(days=1))
        repair = room.repair_on(reservation.arrival, last_night)
        if repair is not None:
            raise _bad_request(
                "Room not available",
                f"Room {room_id} is {repair.kind} from {repair.start.isoformat()} through {repair.end.isoformat()} "
                f"({repair.reason_code})",
                "OHIPSIM-FOF-ROOM-OOO",
                "roomId",
            )
        arriving_today = reservation.arrival == hotel.business_date
        occupant = hotel.occupant(room_id)
        if occupant is not None and occupant.departure > reservation.arrival:
            raise _bad_request(
                "Room occupied",
                f"Room {room_id} is occupied by reservation {occupant.reservation_id} until "
                f"{occupant.departure.isoformat()}",
                "OHIPSIM-FOF-ROOM-OCCUPIED",
                "roomId",
            )
        for other in hotel.reservations.values():
            if (
                other.reservation_id != reservation_id
                and other.room_id == room_id
                and other.status == "Reserved"
                and other.arrival < reservation.departure
                and reservation.arrival < other.departure
            ):
                raise _bad_request(
                    "Room already assigned",
                    f"Room {room_id} is already assigned to reservation {other.reservation_id} for overlapping nights",
                    "OHIPSIM-FOF-ROOM-ASSIGNED",
                    "roomId",
                )
        if arriving_today and hotel.room_status(room) not in READY_STATUSES and not allow_dirty:
            raise _bad_request(
                "Room not clean",
                f"Room {room_id} is {room.room_status}; assign a Clean or Inspected room, or override dirtyRoom",
                "OHIPSIM-FOF-ROOM-DIRTY",
                "roomId",
            )
        reservation.room_id = room_id
        if override_lock:
            reservation.room_locked = bool(lock)
        elif lock is not None:
            reservation.room_locked = lock
        return reservation

    def unassign_room(self, hotel_id: str, reservation_id: str, *, override_lock: bool = False) -> Reservation:
        """deleteAssignRoom; a room locked to the stay (Do Not Move) goes only with `overrideRoomNumberLocked`."""
        hotel = self.hotel(hotel_id)
        reservation = hotel.reservation(reservation_id)
        hotel._refuse_unless(reservation, ("Reserved", "DueIn"), "have its room unassigned")
        if reservation.room_id is None:
            raise _bad_request(
                "No room assigned",
                f"Reservation {reservation_id} has no room assigned",
                "OHIPSIM-FOF-NOROOM",
                "roomId",
            )
        if reservation.room_locked and not override_lock:
            raise _room_locked(reservation, "send overrideRoomNumberLocked to unassign it")
        reservation.room_id, reservation.room_locked = None, False
        return reservation

    def check_in(
        self, hotel_id: str, reservation_id: str, room_id: str | None = None, *, ignore_warnings: bool = False
    ) -> Reservation:
        """Check a due-in guest in. Needs an assigned (or given) room that is Vacant and of the booked type.

        A given `room_id` is, in Oracle's words, the "expected room no.": OPERA checks that it matches the room
        assigned, so another room is refused (a reservation without a room is given it). A room that is not Clean
        or Inspected is a warning ("the status of the room needs to be reviewed" is among postCheckIn's validation
        checks): refused unless `ignore_warnings`, which Oracle describes as ignoring warnings before check-in.
        The room becomes Occupied, and folio window 1 opens (nothing is posted until the night audit).
        """
        hotel = self.hotel(hotel_id)
        reservation = hotel.reservation(reservation_id)
        hotel._refuse_unless(reservation, ("DueIn",), "be checked in")
        _refuse_multi_room(reservation, "checked in")
        _refuse_on_stop_alert(reservation, "CheckIn", "check-in")
        if room_id and reservation.room_id and room_id != reservation.room_id:
            raise _bad_request(
                "Room mismatch",
                f"Reservation {reservation_id} is assigned room {reservation.room_id}; the expected room {room_id} "
                "does not match it",
                "OHIPSIM-FOF-ROOM-MISMATCH",
                "roomId",
            )
        target = room_id or reservation.room_id
        if target is None:
            raise _bad_request(
                "No room assigned",
                f"Reservation {reservation_id} has no room; assign a vacant, clean room of type "
                f"{reservation.room_type} first",
                "OHIPSIM-FOF-NOROOM",
                "roomId",
            )
        room = hotel.room(target)
        if room.room_type != reservation.room_type:
            raise _bad_request(
                "Wrong room type",
                f"Room {target} is a {room.room_type}; reservation {reservation_id} booked {reservation.room_type}",
                "OHIPSIM-FOF-ROOMTYPE",
                "roomId",
            )
        if hotel.front_office_status(target) != "Vacant":
            raise _bad_request(
                "Room occupied",
                f"Room {target} is occupied; pick a vacant room",
                "OHIPSIM-FOF-ROOM-OCCUPIED",
                "roomId",
            )
        if hotel.room_status(room) not in READY_STATUSES and not ignore_warnings:
            raise _bad_request(
                "Room not ready",
                f"Room {target} is {hotel.room_status(room)}; a guest can only be checked into a Clean or Inspected "
                "room",
                "OHIPSIM-FOF-ROOM-DIRTY",
                "roomId",
            )
        for other in hotel.reservations.values():
            if (
                other.reservation_id != reservation_id
                and other.room_id == target
                and other.status == "Reserved"
                and other.arrival == hotel.business_date
            ):
                raise _bad_request(
                    "Room already assigned",
                    f"Room {target} is assigned to arriving reservation {other.reservation_id}",
                    "OHIPSIM-FOF-ROOM-ASSIGNED",
                    "roomId",
                )
        reservation.room_id = target
        reservation.status = "InHouse"
        reservation.checked_in_at = self.now(hotel)
        hotel.room_queue.pop(reservation_id, None)  # checked in: no longer waiting for a room
        window = reservation.folio_window(1)
        if reservation.payment_method and window.payment_method is None:
            window.payment_method = reservation.payment_method
        if not reservation.deposits_matured:
            # The deposit matures (depositMaturityType CheckIn: "the deposit is transferred when the reservation is
            # checked in"): each deposit payment moves to the guest ledger, folio window 1, as it was posted.
            window.postings.extend(reservation.deposits)
            reservation.deposits_matured = True
        # No charge is posted at check-in: OPERA's night audit posts room and tax for each night (night_audit).
        return reservation

    def queue_for_room(self, hotel_id: str, reservation_id: str) -> tuple[int, date]:
        """addReservationToQueue: "A reservation can be added to the queue prior to Check-In on the day of
        arrival", so only a reservation due in on the business date. Queued again, it keeps its place (a PUT).
        Returns its place (1 comes first) and the business date."""
        hotel = self.hotel(hotel_id)
        reservation = hotel.reservation(reservation_id)
        if reservation.computed_status(hotel.business_date) != "DueIn":
            raise _bad_request(
                "Reservation cannot be queued",
                f"Reservation {reservation_id} is {reservation.computed_status(hotel.business_date)}; a reservation "
                "is added to the queue before check-in, on the day of arrival",
                "OHIPSIM-FOF-QUEUE-STATUS",
                "reservationId",
            )
        hotel.room_queue.setdefault(reservation_id, self.now(hotel))
        place = [r.reservation_id for r in self.queued(hotel_id)].index(reservation_id) + 1
        return place, hotel.business_date

    def remove_from_queue(self, hotel_id: str, reservation_id: str) -> None:
        """deleteReservationFromQueue: "remove a reservation that is already set as a Queued Reservation"."""
        hotel = self.hotel(hotel_id)
        hotel.reservation(reservation_id)
        if hotel.room_queue.pop(reservation_id, None) is None:
            raise _not_found(
                "Queued reservation", f"Reservation {reservation_id} is not in the queue",
                "OHIPSIM-FOF-QUEUE-404", "reservationId",
            )

    def queued(self, hotel_id: str) -> list[Reservation]:
        """The queue in order, the reservations still due in (a queue is for one business date)."""
        hotel = self.hotel(hotel_id)
        stays = [hotel.reservations[r] for r in hotel.room_queue]
        return [r for r in stays if hotel.computed_status(r) == "DueIn"]

    def undo_check_in(self, hotel_id: str, reservation_id: str, *, unassign_room: bool = False) -> Reservation:
        """deleteCheckin: back to due-in. Oracle's user guide: "You can reverse a checked-in (that is, in-house)
        reservation if the reservation was checked in today and has a zero balance (that is, no charges posted or
        deposit payments transferred on check-in)", so a folio with any posting is refused and nothing is lost."""
        hotel = self.hotel(hotel_id)
        reservation = hotel.reservation(reservation_id)
        if reservation.status != "InHouse" or reservation.arrival != hotel.business_date:
            raise SandboxError(
                400,
                "Cannot cancel check-in",
                f"Reservation {reservation_id} is {reservation.computed_status(hotel.business_date)}; only a guest "
                "checked in today can be returned to due-in",
                "OHIPSIM-FOF-STATUS",
                "reservationStatus",
            )
        posted = sum(len(w.postings) for w in reservation.folio_windows.values())
        if posted:
            raise _bad_request(
                "Cannot cancel check-in",
                f"Reservation {reservation_id} has {posted} posting(s) on its folio; a check-in is reversed only "
                "with no charges posted or payments made",
                "OHIPSIM-FOF-POSTINGS",
                "reservationId",
            )
        reservation.status = "Reserved"
        reservation.checked_in_at = None
        reservation.folio_windows.clear()  # only empty windows are left here
        if unassign_room:
            reservation.room_id, reservation.room_locked = None, False
        return reservation

    def move_room(
        self, hotel_id: str, reservation_id: str, room_id: str, *, from_room: str | None = None,
        old_room_status: str | None = None, reason_code: str | None = None, description: str | None = None,
        lock: bool | None = None, override_lock: bool = False, allow_dirty: bool = False, moved_by: str = "",
    ) -> Reservation:
        """moveInHouseGuest: an in-house guest changes rooms; the folio stays with the reservation.

        Refused, as Oracle lists this operation's errors ("Reservation is NOT In-House", "The room is NON-EXISTENT
        for the hotel", "The room is NOT valid for usage based on its current state"): a reservation not in house;
        an unknown room; the room the guest is already in; a `from_room` (the body's `criteria.roomId`) that is
        neither the guest's room nor the target; a stay locked to its room (Do Not Move) unless `override_lock`; a
        room of another type (this sandbox does not emulate a room type change on a move); a room out of order or
        service on a night left, occupied, or assigned to an arrival on those nights; a room that is not Clean or
        Inspected unless `allow_dirty`; an unknown reason code. The room left takes `old_room_status` ("On a
        successful RoomMove, this status will be configured in the reservation's previous room"); without it,
        Dirty, as a room a guest used is.
        """
        hotel = self.hotel(hotel_id)
        reservation = hotel.reservation(reservation_id)
        if reservation.status != "InHouse" or reservation.room_id is None:
            raise _bad_request(
                "Reservation is not in house",
                f"Reservation {reservation_id} is {reservation.computed_status(hotel.business_date)}; only an "
                "in-house guest is moved (a reservation not yet checked in is assigned a room instead)",
                "OHIPSIM-FOF-NOT-INHOUSE",
                "reservationId",
            )
        current = reservation.room_id
        if from_room is not None and from_room not in (current, room_id):
            raise _bad_request(
                "Room mismatch",
                f"criteria.roomId {from_room} is neither the room reservation {reservation_id} is in ({current}) "
                f"nor the room it moves to ({room_id})",
                "OHIPSIM-FOF-ROOM-MISMATCH",
                "criteria.roomId",
            )
        room = hotel.room(room_id)
        if room_id == current:
            raise _bad_request(
                "Same room",
                f"Reservation {reservation_id} is already in room {room_id}",
                "OHIPSIM-FOF-SAME-ROOM",
                "roomId",
            )
        if reservation.room_locked and not override_lock:
            raise _room_locked(reservation, f"the guest cannot be moved to room {room_id}")
        if room.room_type != reservation.room_type:
            raise _bad_request(
                "Wrong room type",
                f"Room {room_id} is a {room.room_type}; reservation {reservation_id} is a {reservation.room_type}, "
                "and this sandbox moves a guest within the room type booked",
                "OHIPSIM-FOF-ROOMTYPE",
                "roomId",
            )
        today = hotel.business_date
        last_night = max(today, reservation.departure - timedelta(days=1))
        repair = room.repair_on(today, last_night)
        if repair is not None:
            raise _bad_request(
                "Room not available",
                f"Room {room_id} is {repair.kind} from {repair.start.isoformat()} through {repair.end.isoformat()} "
                f"({repair.reason_code})",
                "OHIPSIM-FOF-ROOM-OOO",
                "roomId",
            )
        if hotel.occupant(room_id) is not None:
            raise _bad_request(
                "Room occupied", f"Room {room_id} is occupied; pick a vacant room", "OHIPSIM-FOF-ROOM-OCCUPIED",
                "roomId",
            )
        for other in hotel.reservations.values():
            if (
                other.reservation_id != reservation_id
                and other.room_id == room_id
                and other.status == "Reserved"
                and other.arrival < reservation.departure
                and today < other.departure
            ):
                raise _bad_request(
                    "Room already assigned",
                    f"Room {room_id} is assigned to reservation {other.reservation_id} from "
                    f"{other.arrival.isoformat()}, before this stay ends on {reservation.departure.isoformat()}",
                    "OHIPSIM-FOF-ROOM-ASSIGNED",
                    "roomId",
                )
        if hotel.room_status(room) not in READY_STATUSES and not allow_dirty:
            raise _bad_request(
                "Room not clean",
                f"Room {room_id} is {hotel.room_status(room)}; move the guest to a Clean or Inspected room, or "
                "override dirtyRoom",
                "OHIPSIM-FOF-ROOM-DIRTY",
                "roomId",
            )
        reason = None
        if reason_code is not None:
            reason = hotel.room_move_reasons.get(reason_code.upper())
            if reason is None:
                raise _bad_request(
                    "Invalid reason code",
                    f"{reason_code!r} is not a room move reason of hotel {hotel.code}; use one of "
                    f"{', '.join(hotel.room_move_reasons)}",
                    "OHIPSIM-FOF-REASON",
                    "criteria.reasonCode",
                )
        left_status = _canonical(old_room_status, HOUSEKEEPING_STATUSES, "room status", "criteria.oldRoomStatus") \
            if old_room_status else "Dirty"
        hotel.room(current).room_status = left_status
        reservation.room_id = room_id
        if override_lock or lock is not None:  # the flag as sent; absent and not overridden: unchanged
            reservation.room_locked = bool(lock)
        reservation.room_moves.append(RoomMove(
            moved_on=today, from_room=current, to_room=room_id, reason_code=reason.code if reason else None,
            description=description, moved_by=moved_by,
        ))
        return reservation

    def post_guest_message(
        self, hotel_id: str, reservation_id: str, text: str, *, message_type: str = "Tm",
        recipient: str | None = None, operator: str | None = None, delivered: bool = False,
    ) -> GuestMessage:
        """postGuestMessages: a message for the guest of a reservation, stamped with the hotel's time. Oracle's
        workflow is "Guest Messages for an In House Guest" and does not say which stays OPERA refuses; the sandbox
        refuses only a stay with no guest to hand it to (cancelled, no-show or checked out). A second message of the
        same text is taken again: Oracle does not say it is refused, so a client that repeats a POST makes two."""
        hotel = self.hotel(hotel_id)
        reservation = hotel.reservation(reservation_id)
        if reservation.status in ("Cancelled", "NoShow", "CheckedOut"):
            raise _bad_request(
                "Reservation is closed",
                f"Reservation {reservation_id} is {reservation.status}; a guest message is taken for a reservation "
                "still to arrive or in house",
                "OHIPSIM-RSV-MESSAGE-STATUS",
                "reservationId",
            )
        if not text.strip():
            raise _bad_request("Message text required", "guestMessages[0].message.messageText is empty",
                               "OHIPSIM-RSV-MESSAGE-TEXT", "guestMessages[0].message.messageText")
        message = GuestMessage(
            message_id=self.counters.next("guest_message"), text=text, created=self.now(hotel),
            message_type=message_type, recipient=recipient, operator=operator, delivered=delivered,
        )
        reservation.guest_messages.append(message)
        return message

    def deliver_guest_message(
        self, hotel_id: str, reservation_id: str, message_id: str, *, delivered: bool, delivered_by: str | None = None,
    ) -> GuestMessage:
        """putGuestMessages: the message marked received (Mr) or not (Nr); setting it again changes nothing."""
        hotel = self.hotel(hotel_id)
        reservation = hotel.reservation(reservation_id)
        message = next((m for m in reservation.guest_messages if str(m.message_id) == message_id), None)
        if message is None:
            raise _not_found(
                "Guest message", f"Reservation {reservation_id} has no guest message {message_id}",
                "OHIPSIM-RSV-MESSAGE-404", "guestMessageId",
            )
        if delivered and not message.delivered:
            message.delivered, message.delivered_at, message.delivered_by = True, self.now(hotel), delivered_by
        elif not delivered:
            message.delivered, message.delivered_at, message.delivered_by = False, None, None
        return message

    def set_wake_up_call(
        self, hotel_id: str, reservation_id: str, call_time: datetime, *, start: date | None = None,
        end: date | None = None, room_id: str | None = None, instructions: str | None = None,
    ) -> list[WakeUpCall]:
        """postWakeUpCall: one call at `call_time`'s time on each day from `start` (default: its date) through `end`
        (timeSpan, "Date Range to set the Wakeup calls"; default: one day).

        Refused: a reservation not in house ("The reservation must be in-house (checked-in) status to set a wake up
        call"); a room other than the guest's; a day before the business date or after the departure. A call at a
        time already set is set again: Oracle does not say it is refused, so a client that repeats a POST makes two.
        """
        hotel = self.hotel(hotel_id)
        reservation = hotel.reservation(reservation_id)
        if reservation.room_id is None or reservation.status != "InHouse":
            raise _bad_request(
                "Reservation is not in house",
                f"Reservation {reservation_id} is {reservation.computed_status(hotel.business_date)}; a wake up call "
                "is set only for an in-house (checked-in) reservation",
                "OHIPSIM-FOF-NOT-INHOUSE",
                "reservationId",
            )
        if room_id is not None and room_id != reservation.room_id:
            raise _bad_request(
                "Room mismatch",
                f"Reservation {reservation_id} is in room {reservation.room_id}, not {room_id}",
                "OHIPSIM-FOF-ROOM-MISMATCH",
                "calls.reservationInfo.room",
            )
        first = start or call_time.date()
        last = end or first
        if last < first:
            raise _bad_request("Invalid time span", "timeSpan.endDate is before timeSpan.startDate",
                               "OHIPSIM-FOF-WAKEUP", "calls.timeSpan.endDate")
        if first < hotel.business_date or last > reservation.departure:
            raise _bad_request(
                "Outside the stay",
                f"Wake up calls from {first.isoformat()} through {last.isoformat()} are not within the stay of "
                f"reservation {reservation_id} from the business date {hotel.business_date.isoformat()} to its "
                f"departure {reservation.departure.isoformat()}",
                "OHIPSIM-FOF-WAKEUP",
                "calls.timeSpan.startDate",
            )
        made = []
        day = first
        while day <= last:
            call = WakeUpCall(
                call_id=self.counters.next("wake_up_call"), call_time=datetime.combine(day, call_time.time()),
                room_id=reservation.room_id, instructions=instructions, created=self.now(hotel),
            )
            reservation.wake_up_calls.append(call)
            made.append(call)
            day += timedelta(days=1)
        return made

    def cancel_wake_up_call(self, hotel_id: str, reservation_id: str, call_time: datetime) -> list[WakeUpCall]:
        """deleteWakeUpCall: "this will set the wake up call to cancelled in the PMS". The pending calls at
        `call_time`; none is refused."""
        hotel = self.hotel(hotel_id)
        reservation = hotel.reservation(reservation_id)
        pending = [c for c in reservation.wake_up_calls if c.status == "Pending" and c.call_time == call_time]
        if not pending:
            raise _bad_request(
                "No wake up call",
                f"Reservation {reservation_id} has no pending wake up call at {call_time.isoformat(sep=' ')}",
                "OHIPSIM-FOF-WAKEUP",
                "callTime",
            )
        for call in pending:
            call.status = "Cancelled"
        return pending

    # -- housekeeping (hsk) ----------------------------------------------------------------------------------

    def update_room_status(
        self,
        hotel_id: str,
        room_ids: Sequence[str],
        room_status: str | None = None,
        *,
        turndown: str | None = None,
    ) -> list[Room]:
        """Set the housekeeping status (and/or turndown) of several rooms at once; all-or-nothing.

        Only Clean, Dirty, Pickup and Inspected: a room goes out of order/service through `start_repair`, and a
        room under repair changes status when the repair is completed.
        """
        hotel = self.hotel(hotel_id)
        if not room_ids:
            raise _bad_request("No rooms", "Give at least one room in roomList", "OHIPSIM-HSK-ROOMS", "roomList")
        if room_status in UNSELLABLE_STATUSES:
            operation = "postOutOfOrderRooms" if room_status == "OutOfOrder" else "postOutOfServiceRooms"
            raise _bad_request(
                "Invalid room status",
                f"housekeepingRoomStatus {room_status} cannot be set here: use {operation}, with a reason code, "
                "start and end dates and a return status",
                "OHIPSIM-HSK-STATUS",
                "housekeepingRoomStatus",
            )
        status = (
            _canonical(room_status, HOUSEKEEPING_STATUSES, "room status", "housekeepingRoomStatus")
            if room_status
            else None
        )
        turn = _canonical(turndown, TURNDOWN_STATUSES, "turndown status", "turndownStatus") if turndown else None
        rooms = [hotel.room(room_id) for room_id in room_ids]
        if status is not None:
            for room in rooms:
                repair = room.repair_on(hotel.business_date)
                if repair is not None:
                    completion = f"complete{repair.kind}Rooms"
                    raise _bad_request(
                        "Room under repair",
                        f"Room {room.room_id} is {repair.kind} through {repair.end.isoformat()}; complete it with "
                        f"{completion} and its returnStatus",
                        "OHIPSIM-HSK-REPAIR",
                        "roomList",
                    )
        for room in rooms:
            if status is not None:
                room.room_status = status
            if turn is not None:
                room.turndown = turn
        return rooms

    def start_repair(
        self,
        hotel_id: str,
        kind: RepairKind,
        room_ids: Sequence[str],
        *,
        start: date | None,
        end: date | None,
        reason_code: str | None,
        return_status: str | None,
        reason_description: str | None = None,
        remarks: str | None = None,
    ) -> list[RoomRepair]:
        """postOutOfOrderRooms / postOutOfServiceRooms: all rooms or none.

        Refused: no start or end, an end before the start, a start before the business date; a reason that is not
        configured; a return status other than a housekeeping state; a room occupied or assigned to a stay on those
        nights, or already out of order/service on one of them.
        """
        hotel = self.hotel(hotel_id)
        path = "criteria.roomRangeList.roomOutOfOrder"
        if not room_ids:
            raise _bad_request("No rooms", "Name at least one room in roomIds", "OHIPSIM-HSK-ROOMS", "roomIds")
        if start is None or end is None:
            missing = "start" if start is None else "end"
            raise _bad_request(
                "Missing date", f"{path}.{missing} is required: the first and last night of the {kind}",
                "OHIPSIM-HSK-DATES", f"{path}.{missing}",
            )
        if end < start:
            raise _bad_request(
                "Invalid dates", f"end {end.isoformat()} is before start {start.isoformat()}",
                "OHIPSIM-HSK-DATES", f"{path}.end",
            )
        if start < hotel.business_date:
            raise _bad_request(
                "Invalid dates",
                f"start {start.isoformat()} is before the business date {hotel.business_date.isoformat()}",
                "OHIPSIM-HSK-DATES", f"{path}.start",
            )
        if not reason_code:
            raise _bad_request(
                "Missing reason",
                f"{path}.reasonCode is required; the reasons are {', '.join(hotel.out_of_order_reasons)}",
                "OHIPSIM-HSK-REASON",
                f"{path}.reasonCode",
            )
        reason = hotel.out_of_order_reasons.get(reason_code.upper())
        if reason is None:
            raise _bad_request(
                "Invalid reason",
                f"Reason {reason_code} is not configured; the reasons are {', '.join(hotel.out_of_order_reasons)}",
                "OHIPSIM-HSK-REASON", f"{path}.reasonCode",
            )
        if return_status is None:
            raise _bad_request(
                "Missing return status",
                f"{path}.returnStatus is required: one of {', '.join(HOUSEKEEPING_STATUSES)}",
                "OHIPSIM-HSK-STATUS", f"{path}.returnStatus",
            )
        back = _canonical(return_status, HOUSEKEEPING_STATUSES, "return status", f"{path}.returnStatus")
        rooms = [hotel.room(room_id) for room_id in room_ids]
        for room in rooms:
            occupant = hotel.occupant(room.room_id)
            if occupant is not None and occupant.departure > start:
                raise _bad_request(
                    "Room occupied",
                    f"Room {room.room_id} is occupied by reservation {occupant.reservation_id} until "
                    f"{occupant.departure.isoformat()}; it cannot be put {kind} from {start.isoformat()}",
                    "OHIPSIM-HSK-OCCUPIED", "roomIds",
                )
            for other in hotel.reservations.values():
                if (
                    other.room_id == room.room_id
                    and other.status == "Reserved"
                    and other.arrival <= end
                    and start < other.departure
                ):
                    raise _bad_request(
                        "Room assigned",
                        f"Room {room.room_id} is assigned to reservation {other.reservation_id} arriving "
                        f"{other.arrival.isoformat()}; move that reservation to another room first",
                        "OHIPSIM-HSK-ASSIGNED", "roomIds",
                    )
            existing = room.repair_on(start, end)
            if existing is not None:
                raise _bad_request(
                    "Room already under repair",
                    f"Room {room.room_id} is already {existing.kind} from {existing.start.isoformat()} through "
                    f"{existing.end.isoformat()}",
                    "OHIPSIM-HSK-REPAIR", "roomIds",
                )
        repairs = []
        for room in rooms:
            repair = RoomRepair(
                # one repair per room and night, so room and start name it
                repair_id=f"{room.room_id}-{start:%Y%m%d}",
                kind=kind, start=start, end=end, reason_code=reason.code, return_status=back,
                reason_description=reason_description or reason.description, remarks=remarks,
            )
            room.repairs.append(repair)
            repairs.append(repair)
        return repairs

    def complete_repair(self, hotel_id: str, kind: RepairKind, returns: Sequence[tuple[str, str | None]]) -> list[Room]:
        """completeOutOfOrderRooms / completeOutOfServiceRooms: end each room's current (or next) repair of this kind;
        a room whose repair had begun returns to the status given, else to the one set with the repair."""
        hotel = self.hotel(hotel_id)
        if not returns:
            raise _bad_request("No rooms", "Name at least one room", "OHIPSIM-HSK-ROOMS", "roomIds")
        plan: list[tuple[Room, RoomRepair, str]] = []
        for room_id, return_status in returns:
            room = hotel.room(room_id)
            repair = next(
                (r for r in sorted(room.repairs, key=lambda r: r.start)
                 if r.kind == kind and r.end >= hotel.business_date),
                None,
            )
            if repair is None:
                raise _bad_request(
                    f"Room not {kind}",
                    f"Room {room_id} is not {kind} on or after {hotel.business_date.isoformat()}",
                    "OHIPSIM-HSK-REPAIR", "roomIds",
                )
            back = (
                _canonical(return_status, HOUSEKEEPING_STATUSES, "return status", "roomOutOfOrder.returnStatus")
                if return_status
                else repair.return_status
            )
            plan.append((room, repair, back))
        for room, repair, back in plan:
            room.repairs.remove(repair)
            if repair.start <= hotel.business_date:
                room.room_status = back
        return [room for room, _, _ in plan]

    def set_room_condition(
        self,
        hotel_id: str,
        room_ids: Sequence[str],
        code: str | None,
        *,
        remarks: str | None = None,
        include_occupied: bool = False,
    ) -> list[Room]:
        """setRoomCondition: set, change or (no code) delete the condition of every room named, or of none.

        Refused: a condition the property has not configured, and an occupied room unless `include_occupied`
        ("If set to true, condition is applied even if the room is occupied"). The code's configuration decides
        whether the room stays in the available room search; a request's assignmentType does not reconfigure it.
        """
        hotel = self.hotel(hotel_id)
        rooms = [hotel.room(room_id) for room_id in room_ids]
        chosen: RoomConditionCode | None = None
        if code is not None:
            chosen = next((c for k, c in hotel.room_conditions.items() if k.upper() == code.strip().upper()), None)
            if chosen is None:
                raise _bad_request(
                    "Invalid room condition",
                    f"Room condition {code} is not configured; the conditions are "
                    f"{', '.join(hotel.room_conditions) or 'none'}",
                    "OHIPSIM-HSK-CONDITION",
                    "criteria.roomCondition.roomCondition.code",
                )
            occupied = [r.room_id for r in rooms if hotel.front_office_status(r.room_id) == "Occupied"]
            if occupied and not include_occupied:
                raise _bad_request(
                    "Room occupied",
                    f"Room {', '.join(occupied)} is occupied; send includeOccupiedRooms to set a condition on it",
                    "OHIPSIM-HSK-CONDITION-OCCUPIED",
                    "criteria.includeOccupiedRooms",
                )
        for room in rooms:
            room.condition = RoomConditionSet(chosen, remarks) if chosen is not None else None
        return rooms

    def report_maintenance(
        self, hotel_id: str, room_ids: Sequence[str], code: str, remarks: str | None, *, creator: str | None = None,
    ) -> list[RoomMaintenance]:
        """postRoomMaintenance: one request per room named, of a maintenance code the property configured. A
        request is not a repair that takes the room out of inventory (that is Out of Order)."""
        hotel = self.hotel(hotel_id)
        rooms = [hotel.room(room_id) for room_id in room_ids]
        if not rooms:
            raise _bad_request("Room required", "criteria.roomIds must name at least one room", "OHIPSIM-HSK-ROOMS",
                               "criteria.roomIds")
        chosen = hotel.maintenance_codes.get(code.strip().upper())
        if chosen is None:
            raise _bad_request(
                "Invalid maintenance code",
                f"Maintenance code {code} is not configured; the codes are "
                f"{', '.join(hotel.maintenance_codes) or 'none'}",
                "OHIPSIM-HSK-MAINTENANCE",
                "maintenanceCode",
            )
        made = []
        for room in rooms:
            request = RoomMaintenance(
                maintenance_id=str(self.counters.next("maintenance")), room_id=room.room_id, code=chosen.code,
                remarks=remarks, created=self.now(hotel), creator=creator,
            )
            hotel.maintenances[request.maintenance_id] = request
            made.append(request)
        return made

    def resolve_maintenance(self, hotel_id: str, maintenance_id: str, *, user: str | None = None) -> RoomMaintenance:
        """resolveRoomMaintenance. A request already resolved keeps its first resolution."""
        hotel = self.hotel(hotel_id)
        request = hotel.maintenances.get(maintenance_id)
        if request is None:
            raise _not_found("Room maintenance", f"Maintenance request {maintenance_id} does not exist in hotel "
                             f"{hotel.code}", "OHIPSIM-HSK-MAINTENANCE-404", "mainteananceId")
        if request.resolved_at is None:
            request.resolved_at, request.resolved_by = self.now(hotel), user
        return request

    def _service_request_codes(
        self, hotel: Hotel, code: str | None, department: str | None, priority: str | None, path: str,
    ) -> tuple[str, str, str | None]:
        """The request's code, department and priority as the property configured them: a code from its list; the
        department named, or the code's own (its deptCode) when none is; a priority from its list."""
        chosen = hotel.service_request_codes.get((code or "").strip().upper())
        if chosen is None or not chosen.active:
            raise _bad_request(
                "Invalid service request code",
                f"Service request code {code or '(none)'} is not configured; the codes are "
                f"{', '.join(c for c, v in hotel.service_request_codes.items() if v.active) or 'none'}",
                "OHIPSIM-FOF-SR-CODE", f"{path}.code",
            )
        unit = (department or chosen.department).strip().upper()
        if unit not in hotel.departments:
            raise _bad_request(
                "Invalid department",
                f"Department {unit} is not configured; the departments are {', '.join(hotel.departments) or 'none'}",
                "OHIPSIM-FOF-SR-DEPARTMENT", f"{path}.department.code",
            )
        level = priority.strip().upper() if priority else None
        if level is not None and level not in hotel.service_request_priorities:
            raise _bad_request(
                "Invalid priority",
                f"Priority {priority} is not configured; the priorities are "
                f"{', '.join(hotel.service_request_priorities) or 'none'}",
                "OHIPSIM-FOF-SR-PRIORITY", f"{path}.priority",
            )
        return chosen.code, unit, level

    def open_service_request(
        self, hotel_id: str, *, code: str | None, department: str | None = None, priority: str | None = None,
        reservation_id: str | None = None, profile_id: str | None = None, room: str | None = None,
        guest_name: str | None = None, comment: str | None = None, guest_contact_method: str | None = None,
        opened: datetime | None = None, path: str = "serviceRequestsDetails[0]",
    ) -> GuestServiceRequest:
        """postServiceRequests: an Open request for a reservation, a profile or a room (at least one), of a code
        the property configured. A reservation gives the guest and, when none is named, the profile and room."""
        hotel = self.hotel(hotel_id)
        if reservation_id is None and profile_id is None and room is None:
            raise _bad_request(
                "Reservation, profile or room required",
                "A service request is made for a reservation (reservationIdList), a profile (profileId) or a room",
                "OHIPSIM-FOF-SR-TARGET", path,
            )
        chosen, unit, level = self._service_request_codes(hotel, code, department, priority, path)
        if reservation_id is not None:
            stay = hotel.reservation(reservation_id)
            profile_id = profile_id or stay.profile_id
            room = room or stay.room_id
        if profile_id is not None:
            guest = self.profile(profile_id)
            guest_name = guest_name or (f"{guest.surname}, {guest.given_name}".strip(", ") or None)
        if room is not None:
            room = hotel.room(room).room_id
        request = GuestServiceRequest(
            request_id=str(self.counters.next("service_request")), code=chosen, department=unit,
            opened=opened or self.now(hotel), priority=level, reservation_id=reservation_id, profile_id=profile_id,
            guest_name=guest_name, room=room, comment=comment, guest_contact_method=guest_contact_method,
        )
        hotel.service_requests[request.request_id] = request
        return request

    def change_service_request(
        self, hotel_id: str, request_id: str, *, status: str, code: str | None, department: str | None,
        priority: str | None, comment: str | None, action: str | None, close_description: str | None,
        guest_contact_method: str | None = None, completed: datetime | None = None, closed: datetime | None = None,
        closed_by: str | None = None, path: str = "serviceRequestsDetails[0]",
    ) -> GuestServiceRequest:
        """putServiceRequests: the request as the body now describes it (what it leaves out is cleared). A request
        is completed by its department (PendingFollowUp, with the action taken) and closed once the follow-up is
        noted (Closed, with its closeDescription); the dates are stamped when the body does not give them."""
        hotel = self.hotel(hotel_id)
        request = hotel.service_requests.get(request_id)
        if request is None:
            raise _not_found("Service request", f"Service request {request_id} does not exist in hotel {hotel.code}",
                             "OHIPSIM-FOF-SR-404", f"{path}.serviceRequestId.id")
        chosen, unit, level = self._service_request_codes(hotel, code, department, priority, path)
        if status in ("PendingFollowUp", "Closed") and not action:
            raise _bad_request("Action required", f"A {status} request needs the action the department took",
                               "OHIPSIM-FOF-SR-ACTION", f"{path}.action")
        if status == "Closed" and not close_description:
            raise _bad_request("Close description required", "A Closed request needs the follow-up noted in its "
                               "closeDescription", "OHIPSIM-FOF-SR-CLOSE", f"{path}.closeDescription")
        now = self.now(hotel)
        request.code, request.department, request.priority = chosen, unit, level
        request.status, request.comment, request.action = status, comment, action
        request.close_description, request.guest_contact_method = close_description, guest_contact_method
        if status == "Open":
            request.completed = request.closed = request.closed_by = None
        else:
            request.completed = completed or request.completed or now
            if status == "Closed":
                request.closed = closed or request.closed or now
                request.closed_by = closed_by or request.closed_by or "INTERFACE"
            else:
                request.closed = request.closed_by = None
        return request

    def set_service_request(self, hotel_id: str, room_ids: Sequence[str], request: str) -> list[Room]:
        hotel = self.hotel(hotel_id)
        value = _canonical(request, SERVICE_REQUESTS, "guest service request", "status")
        rooms = [hotel.room(room_id) for room_id in room_ids]
        for room in rooms:
            room.service_request = value
        return rooms

    # -- cashiering (csh) ------------------------------------------------------------------------------------

    def _require_in_house(self, hotel: Hotel, reservation: Reservation, action: str) -> None:
        if reservation.status != "InHouse":
            raise SandboxError(
                400,
                f"Cannot {action}",
                f"Reservation {reservation.reservation_id} is {reservation.computed_status(hotel.business_date)}; "
                f"only an in-house guest's folio can {action}",
                "OHIPSIM-CSH-STATUS",
                "reservationId",
            )

    def post_room_charge(self, hotel: Hotel, reservation: Reservation, night: date) -> Posting:
        """The night's room charge on folio window 1 (see post_night, which the night audit and the seed use)."""
        code = hotel.transaction_codes["1000"]
        posting = Posting(
            transaction_no=self.counters.next("transaction"),
            transaction_code=code.code,
            description=code.description,
            transaction_type="Revenue",
            amount=reservation.rate_on(night),
            currency=hotel.currency,
            posting_date=night,
            folio_window_no=1,
            quantity=1,
            reference=f"Room {reservation.room_id} {night.isoformat()}",
        )
        reservation.folio_window(1).postings.append(posting)
        return posting

    def post_charge(
        self,
        hotel_id: str,
        reservation_id: str,
        transaction_code: str,
        unit_price: float | None,
        *,
        quantity: int = 1,
        folio_window: int = 1,
        remark: str | None = None,
        reference: str | None = None,
        currency: str | None = None,
        cashier_id: int | None = None,
    ) -> Posting:
        hotel = self.hotel(hotel_id)
        reservation = hotel.reservation(reservation_id)
        self._require_in_house(hotel, reservation, "take charges")
        # Oracle's HPI charge samples include a "no cashierId" variant: a charge may name its cashier, or not.
        cashier = hotel.cashier(cashier_id, "post charges") if cashier_id is not None else None
        code = hotel.transaction_code(transaction_code)
        if code.transaction_type != "Revenue":
            raise _bad_request(
                "Not a charge code",
                f"Transaction code {code.code} ({code.description}) is a payment code; post it as a payment",
                "OHIPSIM-CSH-TRXCODE",
                "transactionCode",
            )
        price = unit_price if unit_price is not None else code.default_price
        # A negative price or quantity voids or corrects an earlier charge: Oracle's HPI samples "Post a Billing
        # Charge - with negative (void) amount" and "with negative (void) postingQuantity value" (WF).
        if price is None or price == 0:
            raise _bad_request(
                "Invalid amount",
                f"A charge needs a price other than 0 (negative to void); got {price}",
                "OHIPSIM-CSH-AMOUNT",
                "price.amount",
            )
        if quantity == 0 or not -999 <= quantity <= 999:
            raise _bad_request(
                "Invalid quantity",
                f"Quantity must be 1..999, or -999..-1 to void; got {quantity}",
                "OHIPSIM-CSH-QTY",
                "postingQuantity",
            )
        _check_currency(hotel, currency)
        window = reservation.folio_window(folio_window)
        posting = Posting(
            transaction_no=self.counters.next("transaction"),
            transaction_code=code.code,
            description=code.description,
            transaction_type="Revenue",
            amount=money(price * quantity, hotel.currency),
            currency=hotel.currency,
            posting_date=hotel.business_date,
            folio_window_no=window.window_no,
            quantity=quantity,
            remark=remark,
            reference=reference,
            cashier_id=cashier.cashier_id if cashier else None,
        )
        window.postings.append(posting)
        return posting

    def post_payment(
        self,
        hotel_id: str,
        reservation_id: str,
        payment_method: str,
        amount: float,
        *,
        folio_window: int = 1,
        reference: str | None = None,
        currency: str | None = None,
        cashier_id: int | None = None,
        card_id: str | None = None,
    ) -> Posting:
        hotel = self.hotel(hotel_id)
        reservation = hotel.reservation(reservation_id)
        self._require_in_house(hotel, reservation, "take payments")
        cashier = hotel.cashier(cashier_id, "post payments", "criteria.cashierId")
        method = _payment_method(hotel, payment_method, "paymentMethod.paymentMethod")
        if amount <= 0:
            raise _bad_request(
                "Invalid amount",
                f"A payment must be positive; got {amount}",
                "OHIPSIM-CSH-AMOUNT",
                "postingAmount.amount",
            )
        posting = self._payment(hotel, reservation, method, amount, folio_window, reference=reference,
                                currency=currency, cashier=cashier, card_id=card_id)
        reservation.folio_window(folio_window).postings.append(posting)
        return posting

    def _payment(
        self, hotel: Hotel, reservation: Reservation, method: PaymentMethod, amount: float, window_no: int, *,
        reference: str | None, currency: str | None, cashier: Cashier, card_id: str | None,
    ) -> Posting:
        """One payment line of `method` (its card on file for a card method), under `cashier`."""
        _check_currency(hotel, currency)
        card = _card_for_payment(reservation, method, card_id)
        code = next(c for c in hotel.transaction_codes.values() if c.payment_method == method.code)
        return Posting(
            transaction_no=self.counters.next("transaction"),
            transaction_code=code.code,
            description=code.description,
            transaction_type="Payment",
            amount=money(amount, hotel.currency),
            currency=hotel.currency,
            posting_date=hotel.business_date,
            folio_window_no=window_no,
            reference=reference,
            payment_method=method.code,
            cashier_id=cashier.cashier_id,
            card_id=card.card_id if card else None,
        )

    def post_deposit(
        self,
        hotel_id: str,
        reservation_id: str,
        payment_method: str,
        amount: float,
        *,
        reference: str | None = None,
        currency: str | None = None,
        cashier_id: int | None = None,
        card_id: str | None = None,
        policy_id: str | None = None,
        original_transaction_no: int | None = None,
    ) -> Posting:
        """postDepositPayment: a payment on the reservation's deposit ledger before the stay ("Reservation Deposit
        deals with managing the advance deposit pre-payments that guests make prior to their stays", Oracle's user
        guide), so only a reservation not yet checked in. "To refund a deposit post a negative amount and provide
        details in the reference field": a refund needs a reference and never takes back more than was paid. A
        refund is also taken once the booking is cancelled or a no-show (the user guide: "If a deposit has been
        refunded on no-show or cancelled reservations, this data is not deleted"); a new deposit is not. With
        `originalTransactionNo` ("the original payment being refunded") the refund goes back the way that payment
        came (the user guide's card refund "displays the original payment method used for the transaction, which
        cannot be modified") and, as its rebate validation, never exceeds what is left of that payment."""
        hotel = self.hotel(hotel_id)
        reservation = hotel.reservation(reservation_id)
        if amount < 0:
            hotel._refuse_unless(reservation, DEPOSIT_REFUND_STATUSES, "have a deposit refunded")
        else:
            hotel._refuse_unless(reservation, ("Reserved", "DueIn"), "take a deposit")
        cashier = hotel.cashier(cashier_id, "post deposits", "criteria.cashierId")
        method = _payment_method(hotel, payment_method, "criteria.paymentMethod.paymentMethod")
        if amount == 0:
            raise _bad_request("Invalid amount", "A deposit payment cannot be 0", "OHIPSIM-CSH-AMOUNT",
                               "criteria.postingAmount.amount")
        if amount < 0 and not reference:
            raise _bad_request(
                "Reference required", "A deposit refund (a negative deposit payment) needs a reference",
                "OHIPSIM-CSH-REFERENCE", "criteria.postingReference",
            )
        if amount < 0 and money(-amount, hotel.currency) > reservation.deposit_paid:
            raise _bad_request(
                "Refund exceeds deposit",
                f"Reservation {reservation_id} holds {amount_text(reservation.deposit_paid, hotel.currency)} of "
                f"deposit; a refund of {amount_text(-amount, hotel.currency)} is more than that",
                "OHIPSIM-CSH-AMOUNT",
                "criteria.postingAmount.amount",
            )
        if original_transaction_no is not None:
            if amount > 0:
                raise _bad_request(
                    "Not a refund", "originalTransactionNo names the payment a refund pays back; a deposit "
                    "payment of a positive amount refunds nothing", "OHIPSIM-CSH-AMOUNT",
                    "criteria.originalTransactionNo",
                )
            original = _refundable_deposit(reservation, original_transaction_no)
            if method.code != original.payment_method or (original.card_id and card_id != original.card_id):
                raise _bad_request(
                    "Not the original payment method",
                    f"Deposit {original_transaction_no} was paid by {original.payment_method}"
                    + (" from a card on file" if original.card_id else "")
                    + "; its refund goes back the same way",
                    "OHIPSIM-CSH-PAYMENT",
                    "criteria.paymentMethod",
                )
            left = reservation.refundable(original)
            if money(-amount, hotel.currency) > left:
                raise _bad_request(
                    "Refund exceeds payment",
                    f"Deposit {original_transaction_no} has {amount_text(left, hotel.currency)} left to refund; a "
                    f"refund of {amount_text(-amount, hotel.currency)} is more than that",
                    "OHIPSIM-CSH-AMOUNT",
                    "criteria.postingAmount.amount",
                )
        request = reservation.deposit_request
        if policy_id is not None and (request is None or request.policy_id != policy_id):
            raise _bad_request(
                "Unknown deposit policy",
                f"Deposit policy {policy_id} is not on reservation {reservation_id}; "
                + (f"its deposit request is {request.policy_id}" if request else "it has no deposit request"),
                "OHIPSIM-CSH-POLICY",
                "criteria.depositPolicyId.id",
            )
        posting = self._payment(hotel, reservation, method, amount, 1, reference=reference, currency=currency,
                                cashier=cashier, card_id=card_id)
        # "Reservation deposit payments may be applied against deposit request rules setup on the reservation or
        # posted as an unallocated payment": applied only when the payment names the request.
        posting.deposit_policy_id = policy_id
        posting.refunds_transaction_no = original_transaction_no
        reservation.deposits.append(posting)
        return posting

    def deposit_refund_eligible(self, hotel_id: str, reservation_id: str, transaction_no: int) -> str | None:
        """csh isDepositRefundEligible ("Is reservation valid for deposit refund") for one deposit payment: None when
        it can be refunded, else why not. A 404 when the transaction is not a deposit payment of the reservation."""
        hotel = self.hotel(hotel_id)
        reservation = hotel.reservation(reservation_id)
        original = _refundable_deposit(reservation, transaction_no)
        status = reservation.computed_status(hotel.business_date)
        if status not in DEPOSIT_REFUND_STATUSES:
            return (f"reservation {reservation_id} is {status}: its deposits moved to the folio at check-in, so "
                    "there is no deposit to refund")
        if reservation.refundable(original) <= 0:
            return f"deposit {transaction_no} is refunded in full"
        return None

    def generate_folio(
        self, hotel_id: str, reservation_id: str, folio_window: int = 1, *, cashier_id: int | None = None
    ) -> int:
        """Print (generate) a folio for a window under a cashier; returns the folio number."""
        hotel = self.hotel(hotel_id)
        reservation = hotel.reservation(reservation_id)
        hotel.cashier(cashier_id, "generate folios", "criteria.cashierId")
        if reservation.status not in ("InHouse", "CheckedOut"):
            raise SandboxError(
                400,
                "No folio",
                f"Reservation {reservation_id} is {reservation.computed_status(hotel.business_date)}; folios "
                "exist only once the guest is checked in",
                "OHIPSIM-CSH-STATUS",
                "reservationId",
            )
        window = reservation.folio_window(folio_window)
        number = self.counters.next("folio")
        window.folio_numbers.append(number)
        return number

    def set_alert(self, hotel_id: str, reservation_id: str, *, code: str, area: str, description: str,
                  stop: bool = False, alert_id: str | None = None) -> Alert:
        """rsv postBulkReservationAlerts, one alert: created, or changed when `alert_id` names one it holds."""
        reservation = self.hotel(hotel_id).reservation(reservation_id)
        value = _canonical(area, ALERT_AREAS, "alert area", "area")
        if alert_id is not None:
            for alert in reservation.alerts:
                if alert.alert_id == alert_id:
                    alert.code, alert.area, alert.description, alert.stop = code, value, description, stop
                    return alert
        alert = Alert(str(self.counters.next("alert")), code, value, description, stop)
        reservation.alerts.append(alert)
        return alert

    def early_departure_penalty(self, hotel_id: str, reservation_id: str) -> tuple[float, str] | None:
        """csh verifyForEarlyDeparture: the checks of an early departure (FOF00157, FOF00158), then the penalty
        that "can be charged" (earlyDepartureInfoType.penaltyAmount and penaltyDescription), if the stay's rate
        plan has one: the nights from the business date to the booked departure at the stay's rate."""
        hotel = self.hotel(hotel_id)
        reservation = hotel.reservation(reservation_id)
        self._check_early_departure(hotel, reservation)
        plan = hotel.rate_plans.get(reservation.rate_plan)
        nights = _nights_not_stayed(reservation, hotel.business_date)
        if plan is None or plan.early_departure_penalty is None or not nights:
            return None
        return money(sum(reservation.rate_on(night) for night in nights), hotel.currency), plan.early_departure_penalty

    def early_departure(
        self, hotel_id: str, reservation_id: str, *, cashier_id: int | None = None, post_penalty: bool = False
    ) -> Reservation:
        """csh putForEarlyDeparture: an in-house guest leaving before the booked departure is made due out, the
        departure moved to the business date. Oracle's own refusals: FOF00157, the status is not valid (only an
        in-house reservation), and FOF00158, not required (already due out), which also makes a repeat post no
        second penalty. A guest who arrived on the business date becomes a day use (arrival = departure). "If there
        is a penalty applicable this can be posted to the reservation": with postEarlyDeparturePenalty it is posted
        (transaction code 1050) on window 1; without, the reservation departs early and nothing is charged. The
        sandbox has no rate restrictions, tiered rates or packages, so there is nothing else to check or post; each
        night not stayed is charged at its own rate."""
        hotel = self.hotel(hotel_id)
        reservation = hotel.reservation(reservation_id)
        penalty = self.early_departure_penalty(hotel_id, reservation_id)
        if cashier_id is not None:
            hotel.cashier(cashier_id, "change a reservation to an early departure", "criteria.cashierId")
        if post_penalty and penalty is not None:
            amount, rule = penalty
            code = hotel.transaction_codes[EARLY_DEPARTURE_PENALTY_CODE]
            nights = len(_nights_not_stayed(reservation, hotel.business_date))
            reservation.folio_window(1).postings.append(Posting(
                transaction_no=self.counters.next("transaction"),
                transaction_code=code.code,
                description=code.description,
                transaction_type="Revenue",
                amount=amount,
                currency=hotel.currency,
                posting_date=hotel.business_date,
                folio_window_no=1,
                quantity=1,
                remark=rule,
                reference=f"{nights} night{'s' if nights != 1 else ''} not stayed",
                cashier_id=cashier_id,
            ))
        reservation.departure = hotel.business_date
        return reservation

    def _check_early_departure(self, hotel: Hotel, reservation: Reservation) -> None:
        reservation_id = reservation.reservation_id
        if reservation.status != "InHouse":
            raise SandboxError(
                400,
                "Invalid reservation status",
                f"The reservation status is not valid for an early departure: reservation {reservation_id} is "
                f"{reservation.computed_status(hotel.business_date)}; only an in-house guest can depart early",
                "FOF00157",
                "reservationStatus",
            )
        if reservation.departure <= hotel.business_date:
            raise SandboxError(
                400,
                "Early departure not required",
                f"Early Departure is not required as the reservation is already in Due Out status: reservation "
                f"{reservation_id} departs {reservation.departure.isoformat()}, the business date",
                "FOF00158",
                "reservationStatus",
            )

    def post_day_use_room_and_tax(
        self, hotel_id: str, reservation_id: str, *, cashier_id: int | None = None
    ) -> list[Posting]:
        """csh postRoomAndTaxForDayUse: the day's room charge and room tax of a day use (an in-house guest who
        arrives and departs on the business date), which no night audit will post. Oracle's operation says it
        posts them and nothing about a repeat, so the sandbox takes it at its word: every call posts them again (a
        client must read getFolio's roomAndTaxPosted first). The night audit after it posts nothing for that date."""
        hotel = self.hotel(hotel_id)
        reservation = hotel.reservation(reservation_id)
        self._require_in_house(hotel, reservation, "be posted room and tax for a day use")
        day = hotel.business_date
        if not reservation.arrival == reservation.departure == day:
            raise _bad_request(
                "Not a day use",
                f"Reservation {reservation_id} arrives {reservation.arrival.isoformat()} and departs "
                f"{reservation.departure.isoformat()}; a day use arrives and departs on the business date "
                f"{day.isoformat()}. The nights of a stay are posted by the night audit",
                "OHIPSIM-CSH-NOT-DAY-USE",
                "reservationId",
            )
        if cashier_id is not None:
            hotel.cashier(cashier_id, "post room and tax", "cashierId")
        return self.post_room_and_tax(hotel, reservation, day)

    @staticmethod
    def require_due_out(hotel: Hotel, reservation: Reservation) -> None:
        """postCheckOut is documented for a reservation "in due out status"; a guest who leaves early is first
        changed to an early departure (csh putForEarlyDeparture: due out, departing on the business date)."""
        if reservation.departure > hotel.business_date:
            raise SandboxError(
                400,
                "Reservation is not due out",
                f"Reservation {reservation.reservation_id} departs {reservation.departure.isoformat()}, after the "
                f"business date {hotel.business_date.isoformat()}; only a guest due out can be checked out. For a "
                f"guest leaving early, call putForEarlyDeparture first, which moves the departure to "
                f"{hotel.business_date.isoformat()}",
                "OHIPSIM-CSH-NOT-DUE-OUT",
                "reservation.departureDate",
            )

    def night_audit(self, hotel_id: str) -> NightAudit:
        """OPERA's end of day for one hotel: each in-house guest's night is posted (room and tax), reservations
        due in that never arrived become no-shows, guests due out but still in house stay one night more (OPERA's
        audit will not close the day over them; the sandbox extends them, as a clerk would), and the business
        date moves on by one day."""
        hotel = self.hotel(hotel_id)
        day = hotel.business_date
        posted: list[str] = []
        no_shows: list[str] = []
        extended: list[str] = []
        for reservation in hotel.reservations.values():
            if reservation.status == "InHouse":
                if reservation.departure <= day:
                    reservation.departure = day + timedelta(days=1)
                    extended.append(reservation.reservation_id)
                self.post_night(hotel, reservation, day)
                posted.append(reservation.reservation_id)
            elif reservation.status == "Reserved" and reservation.arrival <= day:
                reservation.status = "NoShow"
                reservation.room_id, reservation.room_locked = None, False
                no_shows.append(reservation.reservation_id)
        hotel.room_queue.clear()  # a queue is for the guests arriving on the day that closed
        hotel.business_date = day + timedelta(days=1)
        return NightAudit(hotel.code, day, hotel.business_date, tuple(posted), tuple(no_shows), tuple(extended))

    def post_night(self, hotel: Hotel, reservation: Reservation, night: date) -> list[Posting]:
        """One night of a stay as the night audit posts it: the room charge and its room tax; nothing when that
        date's room and tax are already posted (a day use's, by postRoomAndTaxForDayUse)."""
        if night in reservation.room_and_tax_posted:
            return []
        return self.post_room_and_tax(hotel, reservation, night)

    def post_room_and_tax(self, hotel: Hotel, reservation: Reservation, night: date) -> list[Posting]:
        """A date's room charge and its room tax, posted now (whether or not they were posted before)."""
        reservation.room_and_tax_posted.add(night)
        room = self.post_room_charge(hotel, reservation, night)
        if hotel.room_tax_rate <= 0 or ROOM_TAX_CODE not in hotel.transaction_codes:
            return [room]
        code = hotel.transaction_codes[ROOM_TAX_CODE]
        tax = Posting(
            transaction_no=self.counters.next("transaction"),
            transaction_code=code.code,
            description=code.description,
            transaction_type="Revenue",
            amount=money(room.amount * hotel.room_tax_rate, hotel.currency),
            currency=hotel.currency,
            posting_date=night,
            folio_window_no=1,
            quantity=1,
            reference=f"Room tax {night.isoformat()}",
        )
        reservation.folio_window(1).postings.append(tax)
        return [room, tax]

    def check_out(
        self, hotel_id: str, reservation_id: str, *, room_status: str = "Dirty", cashier_id: int | None = None
    ) -> Reservation:
        """Check a guest out under a cashier: the balance of every window must be 0; the room becomes Vacant and
        `room_status`."""
        hotel = self.hotel(hotel_id)
        reservation = hotel.reservation(reservation_id)
        self._require_in_house(hotel, reservation, "be checked out")
        _refuse_on_stop_alert(reservation, "CheckOut", "check-out")
        cashier = hotel.cashier(cashier_id, "check out", "reservation.cashierId")
        if reservation.balance != 0:
            open_windows = ", ".join(
                f"window {w.window_no}: {amount_text(w.balance, hotel.currency)}"
                for w in reservation.folio_windows.values()
                if w.balance != 0
            )
            raise SandboxError(
                400,
                "Balance not zero",
                f"Reservation {reservation_id} has an open balance of "
                f"{amount_text(reservation.balance, hotel.currency)} ({open_windows}); post a payment to settle it "
                "before check-out",
                "OHIPSIM-CSH-BALANCE",
                "balance",
            )
        status = _canonical(room_status, HOUSEKEEPING_STATUSES, "room status", "checkoutInstr.roomStatus")
        self.require_due_out(hotel, reservation)
        reservation.status = "CheckedOut"
        reservation.checked_out_at = self.now(hotel)
        reservation.checked_out_by = cashier.cashier_id
        if reservation.room_id is not None:
            room = hotel.rooms[reservation.room_id]
            room.room_status = status
            room.service_request = "NoStatusSelected"
        return reservation

    def reinstate_check_out(
        self, hotel_id: str, reservation_id: str, *, cashier_id: int | None = None, override: bool = False
    ) -> Reservation:
        """csh reinstateCheckOut: a checked-out guest is back in house, "in order to post additional transactions".
        Oracle's user guide: "You can reinstate a checked out reservation only before the End of Day process on the
        date of departure", so only a stay departing on the business date; the folio is kept as it was (settled),
        and the stay is due out again. "When ... the previously assigned room is already assigned to another
        checked in reservation", OPERA asks first: the spec's overrideFlag says "reinstate even if some other guest
        already checked in into same room", so without it that is refused (with it OPERA makes the two a share,
        which the sandbox does not model beyond both holding the room). An early departure is reinstated as it
        stands (departing today): OPERA restores the booked departure only under a property control the sandbox
        does not have."""
        hotel = self.hotel(hotel_id)
        reservation = hotel.reservation(reservation_id)
        if reservation.status != "CheckedOut":
            raise SandboxError(
                400,
                "Cannot reinstate",
                f"Reservation {reservation_id} is {reservation.computed_status(hotel.business_date)}; only a "
                "checked-out reservation can be reinstated",
                "OHIPSIM-CSH-STATUS",
                "reservationId",
            )
        if reservation.departure != hotel.business_date:
            raise SandboxError(
                400,
                "Cannot reinstate",
                f"Reservation {reservation_id} departed on {reservation.departure.isoformat()}; a checked-out "
                f"reservation is reinstated only before the End of Day of its departure date (the business date is "
                f"{hotel.business_date.isoformat()})",
                "OHIPSIM-CSH-REINSTATE-DATE",
                "reservationId",
            )
        hotel.cashier(cashier_id, "reinstate a checked-out reservation", "cashierId")
        occupant = hotel.occupant(reservation.room_id) if reservation.room_id else None
        if occupant is not None and not override:
            raise SandboxError(
                400,
                "Room occupied",
                f"Room {reservation.room_id} is occupied by checked-in reservation {occupant.reservation_id} "
                f"(arrival {occupant.arrival.isoformat()}, departure {occupant.departure.isoformat()}); send "
                "overrideFlag true to reinstate as a share with it",
                "OHIPSIM-CSH-ROOM-OCCUPIED",
                "overrideFlag",
            )
        reservation.status = "InHouse"
        reservation.checked_out_at = None
        reservation.checked_out_by = None
        return reservation


def _canonical(value: str | None, allowed: Sequence[str], label: str, path: str) -> str:
    """Match an enum value case-insensitively (OHIP is lenient on input) and return Oracle's spelling."""
    for candidate in allowed:
        if value is not None and candidate.lower() == value.strip().lower():
            return candidate
    raise _bad_request(
        f"Invalid {label}", f"{value!r} is not a {label}; use one of {', '.join(allowed)}", "OHIPSIM-ENUM", path
    )


def _refundable_deposit(reservation: Reservation, transaction_no: int) -> Posting:
    """The deposit payment (positive, on the reservation's deposit ledger) a refund names; 404 otherwise."""
    for posting in reservation.deposits:
        if posting.transaction_no == transaction_no and posting.amount > 0:
            return posting
    raise SandboxError(
        404,
        "Deposit payment not found",
        f"Transaction {transaction_no} is not a deposit payment of reservation {reservation.reservation_id}",
        "OHIPSIM-CSH-TRANSACTION",
        "transactionId",
    )


def _payment_method(hotel: Hotel, code: str, path: str) -> PaymentMethod:
    method = hotel.payment_methods.get(code.upper())
    if method is None:
        raise _bad_request(
            "Unknown payment method",
            f"Payment method {code} is not configured in hotel {hotel.code}; valid: {', '.join(hotel.payment_methods)}",
            "OHIPSIM-CSH-PAYMENT",
            path,
        )
    return method


def _card_for_payment(reservation: Reservation, method: PaymentMethod, card_id: str | None) -> CardOnFile | None:
    """The card on file a card payment is taken from. Where OPI tokenizes cards a payment names the reservation's
    card by its id (paymentCard.cardId from getReservation: Oracle's PASIG "Settlement on Existing Credit Card
    Payment Method"); a card method without one, or with a card not on this reservation, is refused."""
    if not method.is_card:
        if card_id is not None:
            raise _bad_request(
                "Not a card payment",
                f"Payment method {method.code} ({method.description}) is not a card; send paymentCard only with a "
                "card method",
                "OHIPSIM-CSH-CARD",
                "criteria.paymentMethod.paymentCard",
            )
        return None
    on_file = [c for c in reservation.cards if c.payment_method == method.code]
    if card_id is None:
        held = ", ".join(f"{c.payment_method} ending {c.last_four} (cardId {c.card_id})" for c in reservation.cards)
        raise _bad_request(
            "Card required",
            f"A {method.description} payment must name the card: send paymentCard.cardId of a {method.code} card "
            f"on reservation {reservation.reservation_id} (getReservation, fetchInstructions="
            f"ReservationPaymentMethods); on file: {held or 'no card'}",
            "OHIPSIM-CSH-CARD",
            "criteria.paymentMethod.paymentCard.cardId",
        )
    card = next((c for c in on_file if c.card_id == card_id), None)
    if card is None:
        raise _bad_request(
            "Card not on file",
            f"Card {card_id} is not a {method.code} card on file of reservation {reservation.reservation_id}",
            "OHIPSIM-CSH-CARD",
            "criteria.paymentMethod.paymentCard.cardId",
        )
    return card


def _check_currency(hotel: Hotel, currency: str | None) -> None:
    if currency is not None and currency.upper() != hotel.currency:
        raise _bad_request(
            "Wrong currency",
            f"Hotel {hotel.code} posts in {hotel.currency}; got {currency}",
            "OHIPSIM-CSH-CURRENCY",
            "currencyCode",
        )
