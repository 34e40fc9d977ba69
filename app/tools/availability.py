"""Availability toolset: what can be sold for a stay, at what price, how many rooms are left, and rate plans."""

import asyncio
from datetime import date
from typing import Annotated

from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, Field

from app.opera.availability import MAX_NIGHTS, AvailabilityAPI, Offer, RatePlan, RatePlansAPI, RoomsLeft
from app.opera.errors import OperaError, OperaNotFoundError
from app.opera.models import OperaWarning
from app.tools.registry import ToolDef, ToolServices, tool_error
from app.tools.reservations import Code, HotelId, check_stay


class AvailabilityReport(BaseModel):
    hotel_id: str
    arrival: date
    departure: date
    nights: int
    adults: int
    children: int
    offers: list[Offer] = Field(description="one per room type x rate plan; book a bookable one")
    rooms_left: list[RoomsLeft] = Field(
        default_factory=list, description="rooms free per room type over the stay (from OPERA's inventory)"
    )
    rooms_left_note: str | None = Field(default=None, description="why rooms_left is empty, when it is")
    restriction: str | None = Field(default=None, description="hotel-level restriction, e.g. Closed")
    warnings: list[OperaWarning] = Field(default_factory=list)
    next_step: str


class RatePlanList(BaseModel):
    hotel_id: str
    rate_plans: list[RatePlan]


def build(services: ToolServices) -> list[ToolDef]:
    availability = AvailabilityAPI(services.http)
    plans_api = RatePlansAPI(services.http)

    async def check_availability(
        arrival: Annotated[date, Field(description="arrival date (YYYY-MM-DD)")],
        departure: Annotated[date, Field(description=f"departure date, after arrival, at most {MAX_NIGHTS} "
                                                     "nights later")],
        adults: Annotated[int, Field(ge=1, le=20, description="adults per room")] = 1,
        children: Annotated[int, Field(ge=0, le=20, description="children per room")] = 0,
        rooms: Annotated[int, Field(ge=1, le=20, description="rooms wanted")] = 1,
        room_types: Annotated[list[Code] | None, Field(description="only these room types, e.g. [\"KNG\"]",
                                                        max_length=20)] = None,
        rate_plans: Annotated[list[Code] | None, Field(description="only these rate plans, e.g. [\"BAR\"]",
                                                       max_length=20)] = None,
        only_bookable: Annotated[bool, Field(description="leave out offers that cannot be booked")] = False,
        hotel_id: HotelId = None,
    ) -> AvailabilityReport:
        hotel = services.hotel(hotel_id)
        check_stay(arrival, departure, max_nights=MAX_NIGHTS)
        wanted_types = [t.upper() for t in room_types or ()]
        wanted_plans = [p.upper() for p in rate_plans or ()]
        offers_call = availability.offers(
            hotel, arrival=arrival, departure=departure, adults=adults, children=children, rooms=rooms,
            room_types=wanted_types, rate_plans=wanted_plans,
        )
        counts_call = availability.rooms_left(
            hotel, arrival=arrival, departure=departure, rooms=rooms, room_types=wanted_types
        )
        found, counts = await asyncio.gather(offers_call, counts_call, return_exceptions=True)
        if isinstance(found, OperaError):
            raise tool_error(found, what=f"check_availability in {hotel}",
                             next_step="check the dates and codes (list_rate_plans) and try again")
        if isinstance(found, BaseException):
            raise found
        result, warnings = found
        note = None
        left: list[RoomsLeft] = []
        if isinstance(counts, OperaError):
            note = f"room counts unavailable: {counts.describe()}"
        elif isinstance(counts, BaseException):
            raise counts
        else:
            left = counts
        offers = [o for o in result.offers if o.bookable] if only_bookable else result.offers
        if any(o.bookable for o in offers):
            next_step = "book with create_reservation using a bookable offer's room_type and rate_plan" + (
                f", rooms={rooms} (one reservation; split_reservation makes it one per room before check-in)"
                if rooms > 1 else "")
        else:
            next_step = ("nothing bookable for this stay: try other dates, fewer guests, or other room types "
                         "and rate plans")
        return AvailabilityReport(
            hotel_id=hotel, arrival=arrival, departure=departure, nights=result.nights, adults=adults,
            children=children, offers=offers, rooms_left=left, rooms_left_note=note, restriction=result.restriction,
            warnings=warnings, next_step=next_step,
        )

    async def list_rate_plans(hotel_id: HotelId = None) -> RatePlanList:
        hotel = services.hotel(hotel_id)
        try:
            plans = await plans_api.list(hotel)
        except OperaError as exc:
            raise tool_error(exc, what=f"list_rate_plans in {hotel}", next_step="retry shortly") from None
        return RatePlanList(hotel_id=hotel, rate_plans=plans)

    async def get_rate_plan(
        rate_plan: Annotated[Code, Field(description="rate plan code, e.g. BAR")], hotel_id: HotelId = None
    ) -> RatePlan:
        hotel = services.hotel(hotel_id)
        try:
            return await plans_api.get(hotel, rate_plan)
        except OperaNotFoundError as exc:
            raise ToolError(
                f"no rate plan {rate_plan} in {hotel} ({exc.describe()}); see list_rate_plans for the codes"
            ) from None
        except OperaError as exc:
            raise tool_error(exc, what=f"get_rate_plan {rate_plan} in {hotel}", next_step="retry shortly") from None

    return [
        ToolDef(
            name="check_availability", toolset="availability", access="read", fn=check_availability,
            title="Check availability and prices",
            description=(
                "What can be sold for a stay: offers per room type and rate plan with nightly and total prices and "
                "whether bookable, and rooms left per type. Needs arrival and departure (at most "
                f"{MAX_NIGHTS} nights); optionally guests, rooms, room_types, rate_plans. Next: create_reservation, "
                "or modify_reservation for new dates or room type."
            ),
            read_only=True, idempotent=True,
        ),
        ToolDef(
            name="list_rate_plans", toolset="availability", access="read", fn=list_rate_plans,
            title="List rate plans",
            description=(
                "The hotel's rate plans (code, description, category, market and source codes, room types, packages), "
                "to explain rates or pick a rate_plan. Prices on dates: check_availability."
            ),
            read_only=True, idempotent=True,
        ),
        ToolDef(
            name="get_rate_plan", toolset="availability", access="read", fn=get_rate_plan,
            title="Get a rate plan",
            description=(
                "One rate plan by code (description, long text, room types, packages, currency). Next: "
                "check_availability with rate_plans=[code] for prices."
            ),
            read_only=True, idempotent=True,
        ),
    ]
