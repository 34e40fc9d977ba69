"""Seed data for the sandbox: a believable enterprise of hotels built deterministically from one integer seed,
around the business date (arrivals and departures today, guests in house, future bookings, some history).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import date, datetime, timedelta

from app.sandbox.state import (
    CardOnFile,
    Cashier,
    Code,
    Comment,
    CommunicationType,
    Enterprise,
    Hotel,
    PaymentMethod,
    Posting,
    RatePlan,
    RepairKind,
    Reservation,
    Room,
    RoomConditionCode,
    RoomRepair,
    RoomType,
    ServiceRequestCode,
    TransactionCode,
    money,
    nights_between,
)

#: Room tax on each night's room charge, posted with it by the night audit (transaction code 1100).
ROOM_TAX_RATE = 0.10
#: The hotels a sandbox can seed, with their currency; SAND01 and SAND02 by default. SAND03 keeps its books in
#: Kuwaiti dinars, three decimals (fils), as a hotel in the Gulf does: name it to see amounts that are not cents.
HOTEL_NAMES = {"SAND01": ("Sandbox Grand Austin", "USD"), "SAND02": ("Sandbox Harbour Lisbon", "EUR"),
               "SAND03": ("Sandbox Gulf Kuwait City", "KWD")}
#: What one US dollar of a room type's base price is in each hotel's currency.
USD_IN = {"USD": 1.0, "EUR": 0.92, "KWD": 0.307}

#: (code, description, room class, max occupancy, USD base price, share of the rooms)
ROOM_TYPES_BY_HOTEL: dict[str, tuple[tuple[str, str, str, int, float, float], ...]] = {
    "SAND01": (
        ("KNG", "Deluxe King", "DLX", 3, 199.0, 0.36),
        ("QUN", "Superior Queen", "STD", 2, 169.0, 0.24),
        ("DBL", "Standard Double Double", "STD", 4, 179.0, 0.22),
        ("STE", "Junior Suite", "SUI", 4, 349.0, 0.08),
        ("ACC", "Accessible King", "DLX", 2, 199.0, 0.06),
        ("PRS", "Presidential Suite", "SUI", 4, 899.0, 0.04),
    ),
    "SAND02": (
        ("KNG", "Classic King", "DLX", 3, 185.0, 0.40),
        ("TWN", "Classic Twin", "STD", 2, 160.0, 0.30),
        ("DBL", "Family Double", "STD", 4, 175.0, 0.20),
        ("STE", "Harbour Suite", "SUI", 4, 320.0, 0.10),
    ),
}

FEATURES = (
    ("BAL", "Balcony"),
    ("SEA", "Sea view"),
    ("CTY", "City view"),
    ("ACC", "Wheelchair accessible"),
    ("NSM", "Non-smoking"),
    ("BTH", "Bathtub"),
    ("HFL", "High floor"),
)

GUARANTEE_CODES = (
    ("6PM", "Held until 6 PM on the arrival day"),
    ("CC", "Guaranteed by credit card"),
    ("DEP", "Deposit required"),
    ("GRT", "Guaranteed by company"),
)
CANCELLATION_REASONS = (
    ("CHG", "Change of plans"),
    ("DUP", "Duplicate reservation"),
    ("ILL", "Illness"),
    ("WTH", "Weather"),
    ("PRC", "Found a better price"),
    ("OTH", "Other"),
)
#: Room move reasons (lov RoomMoveReasons), as a room move's reasonCode names them.
ROOM_MOVE_REASONS = (
    ("NSE", "Noise complaint"),
    ("MNT", "Maintenance problem in the room"),
    ("GRQ", "Guest request"),
    ("UPG", "Upgrade"),
    ("OTH", "Other"),
)
#: OPERA's Out of Order / Service reasons (Room Management configuration).
#: Room conditions (hsk setRoomCondition): the first two take a room out of the available room search, the others
#: only tell the desk something about it.
ROOM_CONDITIONS = (
    ("SHOW", "Show room for a sales tour", False),
    ("PHOTO", "Photo shoot", False),
    ("MINIB", "Minibar removed", True),
    ("CONN", "Connecting door unlocked", True),
)
#: lov MaintenanceCodes: what a room maintenance request is for.
MAINTENANCE_CODES = (
    ("AIRCON", "Air conditioning"),
    ("LIGHT", "Light bulb"),
    ("LOCK", "Door lock"),
    ("PLUMB", "Plumbing"),
    ("TV", "Television"),
    ("WIFI", "Wi-Fi"),
)
#: Guest service request codes (lov getServiceRequestCodesLOV) with the department each goes to (rsvcfg
#: serviceRequestCode's deptCode); MIN is the code of Oracle's workflow "Create a Service Request for a Guest".
SERVICE_REQUEST_CODES = (
    ("TOWEL", "Fresh towels", "HSK", True),
    ("PILLOW", "Extra pillows", "HSK", True),
    ("MIN", "Remove the minibar", "HSK", True),
    ("IRON", "Iron and ironing board", "HSK", True),
    ("LEAK", "Water leak", "ENG", True),
    ("TAXI", "Book a taxi", "CON", True),
    ("BFAST", "Breakfast in the room", "FB", True),
    ("NEWS", "Daily newspaper", "FO", False),  # retired: not offered, refused
)
#: lov Departments: who does a service request.
DEPARTMENTS = (
    ("HSK", "Housekeeping"),
    ("ENG", "Engineering"),
    ("FO", "Front Office"),
    ("FB", "Food and Beverage"),
    ("CON", "Concierge"),
)
#: lov ServiceRequestPriority; HIGH is the priority of Oracle's workflow.
SERVICE_REQUEST_PRIORITIES = (("HIGH", "High"), ("MEDIUM", "Medium"), ("LOW", "Low"))
OUT_OF_ORDER_REASONS = (
    ("MAINT", "General maintenance"),
    ("PLUMB", "Plumbing"),
    ("ELEC", "Electrical"),
    ("HVAC", "Air conditioning / heating"),
    ("PAINT", "Painting / renovation"),
    ("DEEP", "Deep cleaning"),
)
#: CRM communication types (crmcfg getCommunicationTypes), chain-wide, in display order: the code goes in a
#: telephone's phoneUseType or an e-mail's type. Deliberately no "MOBILE": this chain calls it CELL, so a client
#: that hard-codes Oracle's sample code is refused here as it would be at such a property.
COMMUNICATION_TYPES = (
    ("CELL", "Mobile phone", "Phone"),
    ("HOME", "Home phone", "Phone"),
    ("BUSINESS", "Business phone", "Phone"),
    ("FAX", "Fax", "Fax"),
    ("EMAIL", "Personal e-mail", "Email"),
    ("BUSINESSEMAIL", "Business e-mail", "Email"),
    ("WEB", "Web page", "Webpage"),
)
ADDRESS_TYPES = (("HOME", "Home address"), ("BUSINESS", "Business address"))
#: Reservation note types (lov ReservationNoteTypes): the `type` of a reservation comment.
NOTE_TYPES = (("GEN", "General notes"), ("HSK", "Housekeeping notes"), ("CASH", "Cashier notes"))
MARKET_CODES = (
    ("LEISURE", "Leisure transient"),
    ("CORP", "Corporate transient"),
    ("GOV", "Government"),
    ("PKG", "Packages"),
    ("GROUP", "Groups"),
    ("WHOLE", "Wholesale"),
)
SOURCE_CODES = (
    ("WEB", "Hotel website"),
    ("PHONE", "Telephone"),
    ("WALKIN", "Walk-in"),
    ("GDS", "Global distribution system"),
    ("OTA", "Online travel agency"),
    ("EMAIL", "Email"),
)
PAYMENT_METHODS = (
    ("CA", "Cash", False),
    ("VA", "Visa", True),
    ("MC", "Mastercard", True),
    ("AX", "American Express", True),
    ("DC", "Diners Club", True),
)
#: Each hotel's cashiers. 113 is the one set up for this app (Oracle's HPI samples: "cashierId = 113 (this is the
#: PMS Cashier of the app)"), the embedded sandbox's default OPERA_CASHIER_ID; 3 and 4 are desk clerks (the cashiers
#: of Oracle's Contactless and Check Out samples).
CASHIERS = (
    (3, "Front desk - morning"),
    (4, "Front desk - evening"),
    (113, "OPERAMCP interface"),
)
TRANSACTION_CODES = (
    TransactionCode("1000", "Accommodation", "Revenue", "ROOM", None, None, manual_post_allowed=False),
    TransactionCode("1050", "Early departure penalty", "Revenue", "ROOM", None, None, manual_post_allowed=False),
    TransactionCode("1100", "Room tax", "Revenue", "TAX", None, None, manual_post_allowed=False),
    TransactionCode("2000", "Restaurant", "Revenue", "FB", 45.0),
    TransactionCode("2010", "Bar", "Revenue", "FB", 18.0),
    TransactionCode("2020", "Room service", "Revenue", "FB", 32.0),
    TransactionCode("3000", "Minibar", "Revenue", "MISC", 12.0),
    TransactionCode("4000", "Telephone", "Revenue", "MISC", 5.0),
    TransactionCode("5000", "Laundry", "Revenue", "MISC", 25.0),
    TransactionCode("6000", "Spa", "Revenue", "MISC", 120.0),
    TransactionCode("7000", "Parking", "Revenue", "MISC", 30.0),
    TransactionCode("9000", "Cash payment", "Payment", "PAY", None, "CA"),
    TransactionCode("9100", "Visa", "Payment", "PAY", None, "VA"),
    TransactionCode("9110", "Mastercard", "Payment", "PAY", None, "MC"),
    TransactionCode("9120", "American Express", "Payment", "PAY", None, "AX"),
    TransactionCode("9130", "Diners Club", "Payment", "PAY", None, "DC"),
)

GIVEN_NAMES = (
    "Ann",
    "Ben",
    "Carla",
    "David",
    "Elena",
    "Farid",
    "Grace",
    "Hugo",
    "Ines",
    "James",
    "Keiko",
    "Liam",
    "Maria",
    "Noah",
    "Olivia",
    "Pedro",
    "Quinn",
    "Rosa",
    "Sven",
    "Tara",
    "Umar",
    "Vera",
    "Wei",
    "Ximena",
    "Yusuf",
    "Zoe",
)
SURNAMES = (
    "Smith",
    "Jones",
    "Garcia",
    "Muller",
    "Rossi",
    "Tanaka",
    "Silva",
    "Novak",
    "Dubois",
    "Kowalski",
    "Nguyen",
    "Okafor",
    "Larsen",
    "Costa",
    "Brown",
    "Wilson",
    "Patel",
    "Kim",
    "Schmidt",
    "Andersen",
    "Moreau",
    "Haddad",
    "Ivanova",
    "Lopez",
    "OBrien",
    "Fischer",
    "Yamamoto",
    "Santos",
    "Berg",
    "Walker",
)
CITIES = (
    ("Austin", "US", "TX", "78701"),
    ("Chicago", "US", "IL", "60601"),
    ("Toronto", "CA", "ON", "M5H 2N2"),
    ("London", "GB", None, "SW1A 1AA"),
    ("Lisbon", "PT", None, "1100-148"),
    ("Berlin", "DE", None, "10115"),
    ("Paris", "FR", None, "75001"),
    ("Tokyo", "JP", None, "100-0001"),
    ("Madrid", "ES", None, "28013"),
    ("Sydney", "AU", "NSW", "2000"),
)
STREETS = ("Main St", "Oak Ave", "Harbour Rd", "King St", "Rua Augusta", "Park Lane", "Elm St", "High St")
LANGUAGES = {"US": "E", "CA": "E", "GB": "E", "AU": "E", "PT": "P", "DE": "G", "FR": "F", "JP": "J", "ES": "S"}
COMMENTS = (
    "Late arrival around 22:00",
    "Anniversary: champagne in room",
    "Quiet room away from the elevator please",
    "Extra pillows",
    "Allergic to feathers",
    "Early check-in requested",
    "Needs a crib",
)

PROFILE_COUNT = 150


def build_enterprise(*, seed: int, business_date: date, hotels: Sequence[str], rooms_per_hotel: int) -> Enterprise:
    """Build the whole sandbox world. Same arguments, same world: all randomness comes from `random.Random(seed)`
    and all timestamps from the business date."""
    rng = random.Random(seed)
    enterprise = Enterprise()
    enterprise.communication_types = {c: CommunicationType(c, d, role) for c, d, role in COMMUNICATION_TYPES}
    enterprise.address_types = {c: Code(c, d) for c, d in ADDRESS_TYPES}
    _seed_profiles(enterprise, rng, business_date)
    for code in hotels:
        hotel = _seed_hotel(code, business_date, rooms_per_hotel, rng)
        enterprise.hotels[code] = hotel
        _seed_reservations(enterprise, hotel, rng)
    return enterprise


# --------------------------------------------------------------------------------------------------- profiles


def _seed_profiles(enterprise: Enterprise, rng: random.Random, business_date: date) -> None:
    for i in range(PROFILE_COUNT):
        given = rng.choice(GIVEN_NAMES)
        # the first 8 are the same few surnames, so a surname search finds several guests
        surname = ("Smith", "Jones", "Garcia", "Tanaka")[i % 4] if i < 8 else rng.choice(SURNAMES)
        city, country, state, postal = rng.choice(CITIES)
        email = f"{given.lower()}.{surname.lower()}{i}@example.com" if rng.random() < 0.85 else None
        phone = f"+1 555 {1000 + i:04d}" if rng.random() < 0.8 else None
        enterprise.create_profile(
            given_name=given,
            surname=surname,
            email=email,
            phone=phone,
            address_line=f"{rng.randint(1, 400)} {rng.choice(STREETS)}",
            city=city,
            postal_code=postal,
            state=state,
            country=country,
            vip_status=rng.choice((None, None, None, None, None, None, "GLD", "PLT", "VIP")),
            language=LANGUAGES.get(country, "E"),
            created=datetime.combine(business_date, datetime.min.time()) - timedelta(days=rng.randint(10, 1500)),
        )


# ------------------------------------------------------------------------------------------------------ hotel


def _seed_hotel(code: str, business_date: date, room_count: int, rng: random.Random) -> Hotel:
    name, currency = HOTEL_NAMES.get(code, (f"Sandbox Hotel {code}", "USD"))
    types = ROOM_TYPES_BY_HOTEL.get(code, ROOM_TYPES_BY_HOTEL["SAND02"])
    hotel = Hotel(code=code, name=name, currency=currency, business_date=business_date, room_tax_rate=ROOM_TAX_RATE)
    for rt_code, description, room_class, occupancy, price, _share in types:
        hotel.room_types[rt_code] = RoomType(rt_code, description, room_class, occupancy, price)

    # room counts by share, at least one of each type, the remainder to the first type
    counts = {t[0]: max(1, int(room_count * t[5])) for t in types}
    counts[types[0][0]] += room_count - sum(counts.values())
    per_floor = 20
    index = 0
    for rt_code, count in counts.items():
        for _ in range(count):
            floor = index // per_floor + 1
            number = f"{floor}{index % per_floor + 1:02d}"
            features = ["NSM"] if rng.random() < 0.8 else []
            if floor >= 4:
                features.append("HFL")
            features.append(rng.choice(("SEA", "CTY")))
            if rt_code in ("STE", "PRS") or rng.random() < 0.2:
                features.append("BAL")
            if rt_code == "ACC":
                features.append("ACC")
            if rng.random() < 0.4:
                features.append("BTH")
            hotel.rooms[number] = Room(number, str(floor), rt_code, tuple(sorted(set(features))))
            index += 1

    hotel.rate_plans = _rate_plans(hotel)
    hotel.transaction_codes = {t.code: t for t in TRANSACTION_CODES}
    hotel.payment_methods = {c: PaymentMethod(c, d, card) for c, d, card in PAYMENT_METHODS}
    hotel.cashiers = {n: Cashier(n, name) for n, name in CASHIERS}
    hotel.guarantee_codes = {c: Code(c, d) for c, d in GUARANTEE_CODES}
    hotel.cancellation_reasons = {c: Code(c, d) for c, d in CANCELLATION_REASONS}
    hotel.room_move_reasons = {c: Code(c, d) for c, d in ROOM_MOVE_REASONS}
    hotel.market_codes = {c: Code(c, d) for c, d in MARKET_CODES}
    hotel.source_codes = {c: Code(c, d) for c, d in SOURCE_CODES}
    hotel.room_features = {c: Code(c, d) for c, d in FEATURES}

    hotel.out_of_order_reasons = {c: Code(c, d) for c, d in OUT_OF_ORDER_REASONS}
    hotel.note_types = {c: Code(c, d) for c, d in NOTE_TYPES}
    hotel.room_conditions = {c: RoomConditionCode(c, d, available) for c, d, available in ROOM_CONDITIONS}
    hotel.maintenance_codes = {c: Code(c, d) for c, d in MAINTENANCE_CODES}
    hotel.service_request_codes = {c: ServiceRequestCode(c, d, unit, active)
                                   for c, d, unit, active in SERVICE_REQUEST_CODES}
    hotel.departments = {c: Code(c, d) for c, d in DEPARTMENTS}
    hotel.service_request_priorities = {c: Code(c, d) for c, d in SERVICE_REQUEST_PRIORITIES}
    # a few rooms out of order / out of service from today, never a suite (they are few already)
    standard = [r for r in hotel.rooms.values() if hotel.room_types[r.room_type].room_class != "SUI"]
    bd = hotel.business_date
    kinds: tuple[RepairKind, ...] = ("OutOfOrder", "OutOfOrder", "OutOfService")
    for room, kind, reason in zip(
        rng.sample(standard, 3),
        kinds,
        ("MAINT", "PLUMB", "PAINT"),
        strict=True,
    ):
        room.room_status = "Dirty"
        room.repairs.append(
            RoomRepair(
                repair_id=f"{room.room_id}-{bd:%Y%m%d}",
                kind=kind,
                start=bd,
                end=bd + timedelta(days=rng.randint(2, 6)),
                reason_code=reason,
                return_status="Dirty",
                reason_description=hotel.out_of_order_reasons[reason].description,
            )
        )
    return hotel


def _rate_plans(hotel: Hotel) -> dict[str, RatePlan]:
    factor = USD_IN.get(hotel.currency, 1.0)
    base = {code: money(rt.base_price * factor, hotel.currency) for code, rt in hotel.room_types.items()}
    standard = [c for c, rt in hotel.room_types.items() if rt.room_class != "SUI"]
    cancel_24h = "Free cancellation until 24 hours before arrival; later, one night is charged"
    plans = (
        RatePlan(
            "BAR",
            "Best available rate",
            "RACK",
            "LEISURE",
            "WEB",
            dict(base),
            "Hold until 6 PM or guarantee by card",
            cancel_24h,
            long_info="Our flexible public rate. Room only.",
        ),
        RatePlan(
            "AAA",
            "AAA member rate",
            "DISCOUNT",
            "LEISURE",
            "PHONE",
            {c: money(p * 0.9, hotel.currency) for c, p in base.items() if c in standard},
            "Guarantee by card",
            cancel_24h,
            long_info="10% off for AAA members; show the card at check-in.",
        ),
        RatePlan(
            "PKG",
            "Bed and breakfast",
            "PACKAGE",
            "PKG",
            "WEB",
            {c: money(p + 30 * factor, hotel.currency) for c, p in base.items()},
            "Guarantee by card",
            cancel_24h,
            meal_plan="Breakfast included",
            long_info="Room with full breakfast for all guests in the room; Friday and Saturday nights cost more.",
            # a leisure package sells at its dearest on weekend nights, so its stays mix nightly rates
            weekend_prices={c: money(p + 70 * factor, hotel.currency) for c, p in base.items()},
        ),
        RatePlan(
            "CORP",
            "Corporate negotiated rate",
            "NEGOTIATED",
            "CORP",
            "GDS",
            {c: money(p * 0.85, hotel.currency) for c, p in base.items() if c in standard},
            "Guaranteed by company",
            "Free cancellation until 6 PM on the arrival day",
            long_info="For travellers of contracted companies.",
        ),
        RatePlan(
            "ADV",
            "Advance purchase, non-refundable",
            "PROMOTION",
            "LEISURE",
            "WEB",
            {c: money(p * 0.8, hotel.currency) for c, p in base.items() if c in standard},
            "Full prepayment at booking",
            "Non-refundable: the whole stay is charged on cancellation",
            min_advance_days=7,
            deposit_percent=100,
            early_departure_penalty="Non-refundable: the nights booked and not stayed are charged",
            long_info="20% off when booked 7 days or more ahead; no changes, no refunds.",
        ),
    )
    return {p.code: p for p in plans}


# ------------------------------------------------------------------------------------------------ reservations


def _seed_reservations(enterprise: Enterprise, hotel: Hotel, rng: random.Random) -> None:
    """Walk each sellable room's calendar from 4 nights ago to 45 nights ahead, alternating stays and gaps.

    Booking per physical room guarantees inventory is never oversold. Gaps widen with distance, so the house
    is ~65-75% full tonight and emptier later; suites have short gaps, so one room type runs tight.
    """
    bd = hotel.business_date
    start, horizon = bd - timedelta(days=4), bd + timedelta(days=45)
    profile_ids = sorted(enterprise.profiles)
    due_in_assigned: set[str] = set()
    for room in hotel.rooms.values():
        if room.repairs:
            continue
        tight = hotel.room_types[room.room_type].room_class == "SUI"
        day = start + timedelta(days=rng.randint(0, 2))
        while day < horizon:
            nights = rng.choice((1, 2, 2, 3, 3, 4, 5, 7))
            arrival, departure = day, day + timedelta(days=nights)
            far = max(0, (arrival - bd).days)
            _book_seeded(enterprise, hotel, rng, room, arrival, departure, profile_ids, due_in_assigned)
            gap_max = (1 if tight else 3) if far < 10 else 4 + far // 10
            day = departure + timedelta(days=rng.randint(0, gap_max))

    # cancellations and no-shows hold no inventory; they exist so searches by those statuses find something
    for i in range(6):
        room_type = rng.choice(list(hotel.room_types))
        arrival = bd + timedelta(days=rng.randint(0, 20)) if i < 5 else bd
        res = _new_reservation(enterprise, hotel, rng, room_type, arrival, arrival + timedelta(days=2), profile_ids)
        reason = hotel.cancellation_reasons[rng.choice(sorted(hotel.cancellation_reasons))]
        res.status = "Cancelled"
        res.cancellation_number = str(enterprise.counters.next("cancellation"))
        res.cancellation_reason, res.cancellation_reason_description = reason.code, reason.description
        res.cancellation_date = bd - timedelta(days=rng.randint(0, 5))
    for _ in range(2):
        room_type = rng.choice(list(hotel.room_types))
        arrival = bd - timedelta(days=1)
        res = _new_reservation(enterprise, hotel, rng, room_type, arrival, arrival + timedelta(days=2), profile_ids)
        res.status = "NoShow"

    _seed_room_statuses(hotel, rng, due_in_assigned)


def _new_reservation(
    enterprise: Enterprise,
    hotel: Hotel,
    rng: random.Random,
    room_type: str,
    arrival: date,
    departure: date,
    profile_ids: Sequence[str],
) -> Reservation:
    plans = [p for p in hotel.rate_plans.values() if room_type in p.prices and p.code != "ADV"]
    plan = rng.choice(plans)
    max_guests = hotel.room_types[room_type].max_occupancy
    adults = rng.randint(1, min(2, max_guests))
    children = rng.randint(0, max_guests - adults) if rng.random() < 0.2 else 0
    payment = rng.choice(("CA", "VA", "VA", "MC", "AX"))
    guarantee = "CC" if payment != "CA" and rng.random() < 0.6 else "6PM"
    res = Reservation(
        reservation_id=str(enterprise.counters.next("reservation")),
        confirmation_number=str(enterprise.counters.next("confirmation")),
        hotel_id=hotel.code,
        status="Reserved",
        arrival=arrival,
        departure=departure,
        adults=adults,
        children=children,
        room_type=room_type,
        rate_plan=plan.code,
        rate_amount=plan.prices[room_type],
        weekend_rate_amount=plan.weekend_prices.get(room_type),
        currency=hotel.currency,
        profile_id=rng.choice(profile_ids),
        guarantee_code=guarantee,
        payment_method=payment,
        market_code=plan.market_code,
        source_code=rng.choice((plan.source_code, "WEB", "PHONE", "OTA")),
        comments=([Comment(str(enterprise.counters.next("comment")), rng.choice(COMMENTS))]
                  if rng.random() < 0.25 else []),
        created=datetime.combine(arrival, datetime.min.time())
        - timedelta(days=rng.randint(1, 90), hours=rng.randint(0, 23)),
    )
    if hotel.payment_methods[payment].is_card:
        res.cards = [_card_on_file(enterprise, res)]
    hotel.reservations[res.reservation_id] = res
    return res


def _card_on_file(enterprise: Enterprise, res: Reservation) -> CardOnFile:
    """The tokenized card a card-guaranteed reservation carries; derived from ids only, so the seed's random
    sequence (and with it every other seeded fact) is unchanged."""
    profile = enterprise.profiles.get(res.profile_id)
    holder = f"{profile.given_name} {profile.surname}" if profile else "Guest"
    number = int(res.reservation_id)
    return CardOnFile(
        card_id=str(enterprise.counters.next("card")),
        payment_method=res.payment_method or "VA",
        card_type=(res.payment_method or "VA").title(),
        last_four=f"{number * 7919 % 10000:04d}",
        expiry=f"{number % 12 + 1:02d}/{29 + number % 3}",
        holder=holder,
    )


def _book_seeded(
    enterprise: Enterprise,
    hotel: Hotel,
    rng: random.Random,
    room: Room,
    arrival: date,
    departure: date,
    profile_ids: Sequence[str],
    due_in_assigned: set[str],
) -> None:
    bd = hotel.business_date
    res = _new_reservation(enterprise, hotel, rng, room.room_type, arrival, departure, profile_ids)
    if departure < bd:
        res.status = "CheckedOut"
        res.room_id = room.room_id
        _seed_folio(enterprise, hotel, rng, res, nights_between(arrival, departure), settle=True)
        res.checked_in_at = datetime.combine(arrival, datetime.min.time()) + timedelta(hours=15)
        res.checked_out_at = datetime.combine(departure, datetime.min.time()) + timedelta(hours=11)
    elif arrival < bd:
        # in house, departing today (due out) or later
        res.status = "InHouse"
        res.room_id = room.room_id
        res.checked_in_at = datetime.combine(arrival, datetime.min.time()) + timedelta(hours=15)
        _seed_folio(enterprise, hotel, rng, res, nights_between(arrival, bd), settle=False)
    elif arrival == bd:
        # due in: a minority already have their (vacant) room assigned; the room must not hold a due-out guest
        occupied = hotel.occupant(room.room_id) is not None
        if not occupied and rng.random() < 0.6:
            res.room_id = room.room_id
            due_in_assigned.add(room.room_id)
    # future reservations keep no room


def _seed_folio(
    enterprise: Enterprise,
    hotel: Hotel,
    rng: random.Random,
    res: Reservation,
    nights: Sequence[date],
    *,
    settle: bool,
) -> None:
    window = res.folio_window(1)
    window.payment_method = res.payment_method
    for night in nights:
        enterprise.post_night(hotel, res, night)  # the night audits that already ran: room and tax
        if rng.random() < 0.3:
            code = hotel.transaction_codes[rng.choice(("2000", "2010", "3000", "5000"))]
            quantity = rng.randint(1, 3)
            window.postings.append(
                Posting(
                    transaction_no=enterprise.counters.next("transaction"),
                    transaction_code=code.code,
                    description=code.description,
                    transaction_type="Revenue",
                    amount=money((code.default_price or 10.0) * quantity, hotel.currency),
                    currency=hotel.currency,
                    posting_date=night,
                    folio_window_no=1,
                    quantity=quantity,
                )
            )
    payment_day = nights[-1] + timedelta(days=1) if nights else res.arrival
    if settle:
        amount = window.balance
    elif rng.random() < 0.3:
        amount = money(res.rate_on(res.arrival), hotel.currency)  # a one-night deposit
        payment_day = res.arrival
    else:
        return
    if amount > 0:
        method = res.payment_method or "CA"
        code = next(c for c in hotel.transaction_codes.values() if c.payment_method == method)
        window.postings.append(
            Posting(
                transaction_no=enterprise.counters.next("transaction"),
                transaction_code=code.code,
                description=code.description,
                transaction_type="Payment",
                amount=amount,
                currency=hotel.currency,
                posting_date=payment_day,
                folio_window_no=1,
                payment_method=method,
            )
        )


def _seed_room_statuses(hotel: Hotel, rng: random.Random, due_in_assigned: set[str]) -> None:
    """Occupied rooms are mostly dirty (not yet serviced today); vacant rooms mostly ready; rooms held for an
    arrival are Clean or Inspected except one left Dirty, so both check-in paths can be exercised."""
    dirty_arrival_left = True
    for room in hotel.rooms.values():
        if room.repairs:
            continue
        occupant = hotel.occupant(room.room_id)
        if occupant is not None:
            room.room_status = rng.choice(("Dirty", "Dirty", "Clean", "Pickup"))
            room.service_request = rng.choice(("NoStatusSelected",) * 6 + ("DoNotDisturb", "MakeUpRoom"))
            room.turndown = rng.choice(("Required", "NotRequired", "NotRequired"))
        elif room.room_id in due_in_assigned:
            if dirty_arrival_left and len(due_in_assigned) > 1:
                room.room_status = "Dirty"
                dirty_arrival_left = False
            else:
                room.room_status = rng.choice(("Clean", "Inspected"))
        else:
            room.room_status = rng.choice(("Clean", "Clean", "Inspected", "Inspected", "Dirty", "Pickup"))
