"""Sandbox routes for OHIP inventory (inv): how many rooms of each type are left per night."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from app.sandbox.routes.common import as_date, as_int, bad_input, hotel_of, ohip_json, query_value, query_values

if TYPE_CHECKING:
    from app.sandbox.app import Sandbox

BASE = "/inv/v1"
MAX_SPAN_DAYS = 90


def routes(sandbox: Sandbox) -> list[BaseRoute]:
    async def get_hotel_inventory(request: Request) -> Response:
        hotel = hotel_of(sandbox, request)
        start = as_date(query_value(request, "dateRangeStart"), "dateRangeStart")
        end = as_date(query_value(request, "dateRangeEnd"), "dateRangeEnd")
        requested = as_int(query_value(request, "roomCountRequested"), "roomCountRequested", minimum=1, maximum=999)
        if start is None or end is None or requested is None:
            raise bad_input("dateRangeStart, dateRangeEnd and roomCountRequested are required", "dateRangeStart")
        if end < start:
            raise bad_input(f"dateRangeEnd {end} is before dateRangeStart {start}", "dateRangeEnd")
        if (end - start).days > MAX_SPAN_DAYS:
            raise bad_input(f"The range spans {(end - start).days} days; at most {MAX_SPAN_DAYS}", "dateRangeEnd")
        wanted = {t.upper() for t in query_values(request, "roomTypes")}
        unknown = wanted - set(hotel.room_types)
        if unknown:
            raise bad_input(
                f"Unknown room type(s) {', '.join(sorted(unknown))}; known: {', '.join(hotel.room_types)}",
                "roomTypes",
            )
        days = [start + timedelta(days=i) for i in range((end - start).days + 1)]

        def count(left: int, day: Any) -> dict[str, Any]:
            iso = day.isoformat()
            return {"available": left >= requested, "availableCount": left, "startDate": iso, "endDate": iso}

        types = [rt for rt in hotel.room_types.values() if not wanted or rt.code in wanted]
        by_type = [
            {
                "code": rt.code,
                "sequence": index + 1,
                "inventoryCounts": [count(hotel.rooms_left(rt.code, day), day) for day in days],
            }
            for index, rt in enumerate(types)
        ]
        house = [count(sum(hotel.rooms_left(rt.code, day) for rt in hotel.room_types.values()), day) for day in days]
        return ohip_json({"hotelInventories": [{"houseInventory": house, "roomTypeInventories": by_type}]})

    return [
        Route(
            BASE + "/hotels/{hotelId}/hotelInventory", get_hotel_inventory, methods=["GET"], name="getHotelInventory"
        ),
    ]
