"""Sandbox routes for the OHIP int module (Integration Processor): polling business events.

`getBusinessEvents` / `getBusinessEventsByExternalSystem` dequeue up to `limit` events (int.json: default 20, at
most 20; "Number of messages web service should dequeue from the BE queue"): what one call returns is gone from
the queue. No event: 204 ("BusinessEvents not found"). The external system must be configured for the hotel.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from app.sandbox.events import MAX_PER_CALL, EventQueues
from app.sandbox.routes.common import as_int, bad_input, hotel_of, ohip_json

if TYPE_CHECKING:
    from app.sandbox.app import Sandbox

BASE = "/int/v1"


def _limit(request: Request) -> int:
    values = request.query_params.getlist("limit")
    if len(values) > 1:
        raise bad_input("limit is given more than once", "limit")
    value = as_int(values[0] if values else None, "limit", minimum=1, maximum=MAX_PER_CALL)
    return MAX_PER_CALL if value is None else value


def routes(sandbox: Sandbox) -> list[BaseRoute]:
    def queues() -> EventQueues:
        return sandbox.events

    async def get_business_events(request: Request) -> Response:
        hotel = hotel_of(sandbox, request)
        system = hotel.external_system(str(request.path_params["extSystemCode"]), "extSystemCode")
        events = queues().dequeue(system, hotel.code, _limit(request))
        if not events:
            return Response(status_code=204)
        return ohip_json({"businessEventData": [event.body() for event in events]})

    async def get_business_events_by_external_system(request: Request) -> Response:
        code = str(request.path_params["extSystemCode"]).strip()
        hotels = [h for h in sandbox.enterprise.hotels.values()
                  if code.upper() in (s.upper() for s in h.external_systems)]
        if not hotels:
            # the same refusal a hotel gives for a code it does not know
            next(iter(sandbox.enterprise.hotels.values())).external_system(code, "extSystemCode")
        events = queues().dequeue(code, None, _limit(request))
        if not events:
            return Response(status_code=204)
        return ohip_json({"businessEventData": [event.body() for event in events]})

    return [
        Route(f"{BASE}/externalSystem/{{extSystemCode}}/hotels/{{hotelId}}/businessEvents", get_business_events,
              methods=["GET"], name="getBusinessEvents"),
        Route(f"{BASE}/externalSystem/{{extSystemCode}}/businessEvents", get_business_events_by_external_system,
              methods=["GET"], name="getBusinessEventsByExternalSystem"),
    ]
