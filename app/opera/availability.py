"""Availability, rooms left and rate plans on OHIP (par, inv, rtp), as offers an agent can book from."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from pydantic import BaseModel, Field

from app.opera.errors import OperaNotFoundError
from app.opera.http import OperaHTTP, Operation
from app.opera.models import Money, OperaWarning, as_text, warnings_from
from app.opera.reservations import as_date, as_dict, as_int, as_list, money_from_total

GET_HOTEL_AVAILABILITY = Operation("par", "getHotelAvailability", "GET", "/hotels/{hotelId}/availability")
GET_HOTEL_INVENTORY = Operation("inv", "getHotelInventory", "GET", "/hotels/{hotelId}/hotelInventory")
GET_RATE_PLANS_BY_HOTEL = Operation("rtp", "getRatePlansByHotel", "GET", "/hotels/{hotelId}/ratePlans")
GET_RATE_PLAN = Operation("rtp", "getRatePlan", "GET", "/hotels/{hotelId}/ratePlans/{ratePlanCode}")

#: OHIP's documented span limit for getHotelAvailability and getHotelInventory.
MAX_NIGHTS = 90
#: Availability pages are cursor-linked (pagingKey); a stay query should never need more than this.
MAX_AVAILABILITY_PAGES = 10
RATE_PLAN_DETAILS = ("PrimaryDetails", "TransactionDetails", "Packages")


class RatePeriod(BaseModel):
    start: date | None = Field(default=None, description="first night this price applies to")
    end: date | None = Field(default=None, description="end of this price's run of nights, as OHIP gives it")
    amount: Money = Field(description="price per night, after tax when OHIP gives it")


def add_period(periods: list[RatePeriod], period: RatePeriod) -> None:
    """Append, merging into the previous run when the price is the same and the dates follow on, so a long
    stay at one price is one line, not ninety."""
    if periods:
        last = periods[-1]
        follows = (
            last.end is not None and period.start is not None
            and period.start - last.end <= timedelta(days=1) and period.start > (last.start or period.start)
        )
        if follows and last.amount == period.amount:
            last.end = period.end or last.end
            return
    periods.append(period)


class Offer(BaseModel):
    """One room type at one rate plan for the asked stay."""

    room_type: str
    room_type_description: str | None = None
    rate_plan: str
    rate_plan_description: str | None = None
    bookable: bool = Field(description="true when OHIP says Available; otherwise see availability")
    availability: str | None = Field(
        default=None, description="Available, Restricted, RestrictedDueToInventory, RestrictedDueToOccupancy..."
    )
    nightly: list[RatePeriod] = Field(default_factory=list, description="prices per night or run of nights")
    total: Money | None = Field(default=None, description="total for the stay, after tax when OHIP gives it")
    total_before_tax: Money | None = None
    guarantee_code: str | None = Field(default=None, description="guarantee the offer asks for, e.g. 6PM")
    market_code: str | None = None
    source_code: str | None = None


class NightCount(BaseModel):
    night: date
    available: int


class RoomsLeft(BaseModel):
    room_type: str
    rooms_left: int = Field(description="fewest rooms of this type free on any night of the stay")
    by_night: list[NightCount] = Field(default_factory=list)


class Availability(BaseModel):
    hotel_id: str
    arrival: date
    departure: date
    nights: int
    adults: int
    children: int
    offers: list[Offer]
    restriction: str | None = Field(default=None, description="hotel-level restriction OHIP reported, if any")


class RatePlan(BaseModel):
    """A rate plan as an agent needs it to sell it."""

    rate_plan: str = Field(description="rate plan code, e.g. BAR")
    hotel_id: str | None = None
    description: str | None = None
    short_info: str | None = None
    long_info: str | None = None
    rate_category: str | None = None
    market_code: str | None = None
    source_code: str | None = None
    currency: str | None = None
    tax_included: bool | None = None
    room_types: list[str] = Field(default_factory=list, description="room types this rate plan sells")
    packages: list[str] = Field(default_factory=list, description="package codes included, e.g. breakfast")


def _descriptions(segment: dict[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
    master = as_dict(segment.get("masterInfo"))
    rooms: dict[str, str] = {}
    for entry in as_list(as_dict(master.get("roomTypes")).get("roomType")):
        code, text = as_text(as_dict(entry).get("roomType")), as_text(as_dict(entry).get("description"))
        if code and text:
            rooms[code] = text
    plans: dict[str, str] = {}
    for entry in as_list(as_dict(master.get("ratePlans")).get("ratePlan")):
        code, text = as_text(as_dict(entry).get("ratePlanCode")), as_text(as_dict(entry).get("description"))
        if code and text:
            plans[code] = text
    return rooms, plans


def offers_from(segment: dict[str, Any]) -> list[Offer]:
    rooms, plans = _descriptions(segment)
    offers = []
    for stay in as_list(segment.get("roomStays")):
        stay = as_dict(stay)
        guarantee = as_text(as_dict(stay.get("guarantee")).get("guaranteeCode"))
        for line in as_list(stay.get("roomRates")):
            line = as_dict(line)
            room_type, rate_plan = as_text(line.get("roomType")), as_text(line.get("ratePlanCode"))
            if not room_type or not rate_plan:
                continue
            nightly: list[RatePeriod] = []
            for rate in as_list(as_dict(line.get("rates")).get("rate")):
                amount = money_from_total(as_dict(rate).get("base"))
                if amount:
                    add_period(nightly, RatePeriod(start=as_date(as_dict(rate).get("start")),
                                                   end=as_date(as_dict(rate).get("end")), amount=amount))
            state = as_text(line.get("availability"))
            offers.append(Offer(
                room_type=room_type,
                room_type_description=rooms.get(room_type),
                rate_plan=rate_plan,
                rate_plan_description=plans.get(rate_plan),
                bookable=state in (None, "Available"),
                availability=state,
                nightly=nightly,
                total=money_from_total(line.get("total")),
                total_before_tax=money_from_total(line.get("total"), after_tax=False),
                guarantee_code=guarantee,
                market_code=as_text(line.get("marketCode")),
                source_code=as_text(line.get("sourceCode")),
            ))
    return offers


def rate_plan_from(entry: dict[str, Any], hotel_id: str) -> RatePlan | None:
    code = as_text(entry.get("ratePlanCode"))
    if not code:
        return None
    primary = as_dict(entry.get("primaryDetails"))
    texts = as_dict(entry.get("descriptions"))
    kinds = as_dict(entry.get("classifications"))
    money = as_dict(entry.get("transactionDetails"))
    includes_tax = money.get("rateIncludesTax")
    return RatePlan(
        rate_plan=code,
        hotel_id=as_text(entry.get("hotelId")) or hotel_id,
        description=as_text(as_dict(primary.get("description")).get("defaultText")),
        short_info=as_text(as_dict(texts.get("shortInfo")).get("defaultText")),
        long_info=as_text(as_dict(texts.get("longInfo")).get("defaultText")),
        rate_category=as_text(kinds.get("rateCategory")),
        market_code=as_text(kinds.get("marketCode")),
        source_code=as_text(kinds.get("sourceCode")),
        currency=as_text(money.get("currencyCode")),
        tax_included=includes_tax if isinstance(includes_tax, bool) else None,
        room_types=[c for r in as_list(entry.get("roomTypeList")) if (c := as_text(as_dict(r).get("code")))],
        packages=[
            c for p in as_list(as_dict(entry.get("ratePackages")).get("packages"))
            if (c := as_text(as_dict(p).get("code")) or as_text(as_dict(as_dict(p).get("header")).get("code")))
        ],
    )


class AvailabilityAPI:
    """par getHotelAvailability (offers and prices) and inv getHotelInventory (room counts)."""

    def __init__(self, http: OperaHTTP) -> None:
        self.http = http

    async def offers(
        self, hotel_id: str, *, arrival: date, departure: date, adults: int, children: int = 0, rooms: int = 1,
        room_types: Sequence[str] = (), rate_plans: Sequence[str] = (),
    ) -> tuple[Availability, list[OperaWarning]]:
        """Every room type x rate plan offer for the stay, following OHIP's paging cursor."""
        offers: list[Offer] = []
        warnings: list[OperaWarning] = []
        restriction: str | None = None
        cursor: str | None = None
        for _ in range(MAX_AVAILABILITY_PAGES):
            params: dict[str, str | int | float | bool | Sequence[str | int] | None] = {
                "roomStayStartDate": arrival.isoformat(),
                "roomStayEndDate": departure.isoformat(),
                "roomStayQuantity": rooms,
                "adults": adults,
                "children": children,
                "roomType": list(room_types) or None,
                "ratePlanCode": list(rate_plans) or None,
                "ratePlanInfo": True,
                "roomTypeInfo": True,
                "resGuaranteeInfo": True,
                "pagePointerKey": [cursor] if cursor else None,
            }
            response = await self.http.call(GET_HOTEL_AVAILABILITY, hotel_id=hotel_id, params=params,
                                            cache="availability")
            warnings.extend(warnings_from(response.body))
            cursor = None
            for segment in as_list(as_dict(response.body).get("hotelAvailability")):
                segment = as_dict(segment)
                offers.extend(offers_from(segment))
                restriction = restriction or as_text(segment.get("restriction"))
                if segment.get("hasMore") is True and as_text(segment.get("pagingKey")):
                    cursor = as_text(segment.get("pagingKey"))
            if cursor is None:
                break
        result = Availability(
            hotel_id=hotel_id, arrival=arrival, departure=departure, nights=(departure - arrival).days,
            adults=adults, children=children, offers=offers, restriction=restriction,
        )
        return result, warnings

    async def rooms_left(
        self, hotel_id: str, *, arrival: date, departure: date, rooms: int = 1, room_types: Sequence[str] = ()
    ) -> list[RoomsLeft]:
        """Rooms free per room type for each night of the stay (the last night is the day before departure)."""
        params: dict[str, str | int | float | bool | Sequence[str | int] | None] = {
            "dateRangeStart": arrival.isoformat(),
            "dateRangeEnd": (departure - timedelta(days=1)).isoformat(),
            "roomCountRequested": rooms,
            "dailyInventory": True,
            "roomTypes": list(room_types) or None,
        }
        response = await self.http.call(GET_HOTEL_INVENTORY, hotel_id=hotel_id, params=params, cache="availability")
        by_type: dict[str, list[NightCount]] = {}
        for hotel in as_list(as_dict(response.body).get("hotelInventories")):
            for level in as_list(as_dict(hotel).get("roomTypeInventories")):
                code = as_text(as_dict(level).get("code"))
                if not code:
                    continue
                nights = by_type.setdefault(code, [])
                for count in as_list(as_dict(level).get("inventoryCounts")):
                    count = as_dict(count)
                    start, left = as_date(count.get("startDate")), as_int(count.get("availableCount"))
                    if start is None or left is None:
                        continue
                    end = as_date(count.get("endDate")) or start
                    night = start
                    # A count may cover a run of nights; spread it so the minimum is per night.
                    while night <= end and night < departure:
                        nights.append(NightCount(night=night, available=left))
                        night += timedelta(days=1)
        return [
            RoomsLeft(room_type=code, rooms_left=min((n.available for n in nights), default=0),
                      by_night=sorted(nights, key=lambda n: n.night))
            for code, nights in sorted(by_type.items())
        ]


class RatePlansAPI:
    """rtp getRatePlansByHotel and getRatePlan (reference data, cached by TTL)."""

    def __init__(self, http: OperaHTTP) -> None:
        self.http = http

    async def list(self, hotel_id: str) -> list[RatePlan]:
        response = await self.http.call(
            GET_RATE_PLANS_BY_HOTEL, hotel_id=hotel_id, params={"fetchInstructions": list(RATE_PLAN_DETAILS)},
            cache="reference",
        )
        plans = [rate_plan_from(as_dict(e), hotel_id) for e in as_list(as_dict(response.body).get("ratePlans"))]
        return [p for p in plans if p is not None]

    async def get(self, hotel_id: str, rate_plan: str) -> RatePlan:
        """One rate plan; OperaNotFoundError when OHIP answers 404, 204 or no matching plan."""
        response = await self.http.call(
            GET_RATE_PLAN, hotel_id=hotel_id, path_params={"ratePlanCode": rate_plan},
            params={"fetchInstructions": list(RATE_PLAN_DETAILS)}, cache="reference",
        )
        for entry in as_list(as_dict(response.body).get("ratePlans")):
            plan = rate_plan_from(as_dict(entry), hotel_id)
            if plan is not None and plan.rate_plan.upper() == rate_plan.upper():
                return plan
        raise OperaNotFoundError(
            f"no rate plan {rate_plan} in {hotel_id}", operation=GET_RATE_PLAN.name, status=response.status,
            request_id=response.request_id, hotel_id=hotel_id,
        )
