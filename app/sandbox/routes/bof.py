"""Sandbox routes for OHIP back office (bof): the hotel's business date, which only the night audit moves."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from app.sandbox.routes.common import hotel_of, ohip_json

if TYPE_CHECKING:
    from app.sandbox.app import Sandbox

BASE = "/bof/v1"


def routes(sandbox: Sandbox) -> list[BaseRoute]:
    async def get_business_date(request: Request) -> Response:
        hotel = hotel_of(sandbox, request)
        # bof.json `businessDate`: hotels[] of hotelActiveEndOfDayType (hotelId, businessDate)
        body = {"hotels": [{"hotelId": hotel.code, "businessDate": hotel.business_date.isoformat()}]}
        return ohip_json(body, headers={"Content-Language": "en"})

    return [
        Route(f"{BASE}/hotels/{{hotelId}}/businessDate", get_business_date, methods=["GET"], name="getBusinessDate")
    ]
