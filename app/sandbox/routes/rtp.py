"""Sandbox routes for OHIP rate plans (rtp): the hotel's rate codes with their room types and classification."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from app.sandbox.routes.common import hotel_of, ohip_json, query_value
from app.sandbox.state import Hotel, RatePlan, SandboxError

if TYPE_CHECKING:
    from app.sandbox.app import Sandbox

BASE = "/rtp/v1"


def rate_plan_body(hotel: Hotel, plan: RatePlan) -> dict[str, Any]:
    return {
        "hotelId": hotel.code,
        "ratePlanCode": plan.code,
        "primaryDetails": {"description": {"defaultText": plan.description}},
        "classifications": {
            "rateCategory": plan.category,
            "marketCode": plan.market_code,
            "sourceCode": plan.source_code,
        },
        "transactionDetails": {"transactionCode": "1000", "currencyCode": hotel.currency, "rateIncludesTax": True},
        "roomTypeList": [
            {"code": code, "description": hotel.room_types[code].description, "pseudo": False}
            for code in plan.room_types
        ],
        "bARRate": plan.code == "BAR",
        "negotiated": plan.category == "NEGOTIATED",
    }


def routes(sandbox: Sandbox) -> list[BaseRoute]:
    async def get_rate_plans_by_hotel(request: Request) -> Response:
        hotel = hotel_of(sandbox, request)
        wanted = query_value(request, "ratePlanCode")
        plans = [
            rate_plan_body(hotel, plan)
            for plan in hotel.rate_plans.values()
            if wanted is None or plan.code.startswith(wanted.upper())
        ]
        return ohip_json({"ratePlans": plans})

    async def get_rate_plan(request: Request) -> Response:
        hotel = hotel_of(sandbox, request)
        code = str(request.path_params["ratePlanCode"]).upper()
        plan = hotel.rate_plans.get(code)
        if plan is None:
            raise SandboxError(
                404,
                "Rate plan not found",
                f"Rate plan {code} does not exist in hotel {hotel.code}; known: {', '.join(hotel.rate_plans)}",
                "OHIPSIM-RTP-404",
                "ratePlanCode",
            )
        return ohip_json({"ratePlans": [rate_plan_body(hotel, plan)]})

    return [
        Route(
            BASE + "/hotels/{hotelId}/ratePlans", get_rate_plans_by_hotel, methods=["GET"], name="getRatePlansByHotel"
        ),
        Route(BASE + "/hotels/{hotelId}/ratePlans/{ratePlanCode}", get_rate_plan, methods=["GET"], name="getRatePlan"),
    ]
