"""Sandbox routes for OHIP availability (par): what can be sold for a stay, at which rate, per room type."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from app.sandbox.routes.common import (
    as_bool,
    as_date,
    as_int,
    bad_input,
    hotel_of,
    nightly_rates,
    ohip_json,
    query_value,
    query_values,
    tax_inclusive_amount,
)
from app.sandbox.state import Hotel, RatePlan, SandboxError, nights_between

if TYPE_CHECKING:
    from app.sandbox.app import Sandbox

BASE = "/par/v1"
MAX_SPAN_DAYS = 90


def _plan_info(hotel: Hotel, plan: RatePlan) -> dict[str, Any]:
    info: dict[str, Any] = {
        "ratePlanCode": plan.code,
        "hotelId": hotel.code,
        "description": plan.description,
        "shortInfo": plan.description,
        "longInfo": plan.long_info or plan.description,
        "currencyCode": hotel.currency,
        "ratePlanCategory": plan.category,
        "marketCode": plan.market_code,
        "sourceCode": plan.source_code,
        "taxInclusive": True,
        "guarantee": {
            "guaranteeCode": "CC" if plan.category != "RACK" else "6PM",
            "description": plan.guarantee_policy,
        },
        "cancelPenalty": {"penaltyDescription": plan.cancel_policy},
    }
    if plan.meal_plan:
        info["mealPlans"] = [{"code": "BB", "included": True, "breakfastIncluded": True}]
    return info


def routes(sandbox: Sandbox) -> list[BaseRoute]:
    async def get_hotel_availability(request: Request) -> Response:
        hotel = hotel_of(sandbox, request)
        start = as_date(query_value(request, "roomStayStartDate"), "roomStayStartDate")
        end = as_date(query_value(request, "roomStayEndDate"), "roomStayEndDate")
        if start is None or end is None:
            raise bad_input("roomStayStartDate and roomStayEndDate are required (YYYY-MM-DD)", "roomStayStartDate")
        if end <= start:
            raise bad_input(f"roomStayEndDate {end} must be after roomStayStartDate {start}", "roomStayEndDate")
        if (end - start).days > MAX_SPAN_DAYS:
            raise bad_input(
                f"The stay spans {(end - start).days} days; availability covers at most {MAX_SPAN_DAYS}",
                "roomStayEndDate",
            )
        if start < hotel.business_date:
            raise bad_input(
                f"roomStayStartDate {start} is before the business date {hotel.business_date}", "roomStayStartDate"
            )
        adults = as_int(query_value(request, "adults"), "adults", minimum=1, maximum=20) or 1
        children = as_int(query_value(request, "children"), "children", minimum=0, maximum=20) or 0
        quantity = as_int(query_value(request, "roomStayQuantity"), "roomStayQuantity", minimum=1, maximum=50) or 1
        limit = as_int(query_value(request, "limit"), "limit", minimum=1, maximum=500) or 100
        wanted_plans = {p.upper() for p in query_values(request, "ratePlanCode")}
        wanted_types = {t.upper() for t in query_values(request, "roomType")}
        only_available = bool(
            as_bool(query_value(request, "returnOnlyAvailableRateCodes"), "returnOnlyAvailableRateCodes")
        )
        for code in wanted_plans - set(hotel.rate_plans):
            raise bad_input(f"Rate plan {code} does not exist; known: {', '.join(hotel.rate_plans)}", "ratePlanCode")
        for code in wanted_types - set(hotel.room_types):
            raise bad_input(f"Room type {code} does not exist; known: {', '.join(hotel.room_types)}", "roomType")

        nights = nights_between(start, end)
        lines: list[dict[str, Any]] = []
        for room_type in hotel.room_types.values():
            if wanted_types and room_type.code not in wanted_types:
                continue
            if adults + children > room_type.max_occupancy:
                continue
            left = hotel.rooms_left_for_stay(room_type.code, start, end)
            for plan in hotel.rate_plans.values():
                if wanted_plans and plan.code not in wanted_plans:
                    continue
                if room_type.code not in plan.prices:
                    continue
                if plan.min_advance_days and (start - hotel.business_date).days < plan.min_advance_days:
                    continue
                available = left >= quantity
                if only_available and not available:
                    continue
                prices = [(night, plan.price_on(room_type.code, night)) for night in nights]
                lines.append(
                    {
                        "roomType": room_type.code,
                        "ratePlanCode": plan.code,
                        "start": start.isoformat(),
                        "end": end.isoformat(),
                        "availability": "Available" if available else "RestrictedDueToInventory",
                        "total": tax_inclusive_amount(sum(p for _, p in prices) * quantity, hotel.currency),
                        "rates": nightly_rates(prices, hotel.currency),
                        "marketCode": plan.market_code,
                        "sourceCode": plan.source_code,
                        "numberOfUnits": left,
                    }
                )
        page = lines[:limit]
        used_types = {line["roomType"] for line in page}
        used_plans = {line["ratePlanCode"] for line in page}
        segment: dict[str, Any] = {
            "hotelId": hotel.code,
            "roomStays": [
                {
                    "arrivalDate": start.isoformat(),
                    "departureDate": end.isoformat(),
                    "guestCounts": {"adults": adults, "children": children},
                    "roomRates": page,
                    "guarantee": {"guaranteeCode": "6PM"},
                }
            ],
            "masterInfo": {
                "roomTypes": {
                    "roomType": [
                        {
                            "roomType": rt.code,
                            "description": rt.description,
                            "roomClass": rt.room_class,
                            "hotelId": hotel.code,
                        }
                        for rt in hotel.room_types.values()
                        if rt.code in used_types
                    ]
                },
                "ratePlans": {
                    "ratePlan": [
                        {"ratePlanCode": p.code, "description": p.description, "hotelId": hotel.code}
                        for p in hotel.rate_plans.values()
                        if p.code in used_plans
                    ]
                },
            },
            "hasMore": len(lines) > limit,
            "totalResults": len(lines),
            "count": len(page),
        }
        return ohip_json({"hotelAvailability": [segment]})

    async def get_availability_rate_plan_info(request: Request) -> Response:
        hotel = hotel_of(sandbox, request)
        codes = [str(request.path_params["ratePlanCode"]).upper()]
        codes += [c.upper() for c in query_values(request, "ratePlanCodeList") if c.upper() not in codes]
        plans = []
        for code in codes:
            plan = hotel.rate_plans.get(code)
            if plan is None:
                raise SandboxError(
                    404,
                    "Rate plan not found",
                    f"Rate plan {code} does not exist in hotel {hotel.code}",
                    "OHIPSIM-PAR-404",
                    "ratePlanCode",
                )
            plans.append(_plan_info(hotel, plan))
        return ohip_json({"availRatePlanInfoType": {"ratePlan": plans, "hotelId": hotel.code}})

    return [
        Route(
            BASE + "/hotels/{hotelId}/availability",
            get_hotel_availability,
            methods=["GET"],
            name="getHotelAvailability",
        ),
        Route(
            BASE + "/hotels/{hotelId}/rates/{ratePlanCode}",
            get_availability_rate_plan_info,
            methods=["GET"],
            name="getAvailabilityRatePlanInfo",
        ),
    ]
