"""Sandbox routes for OHIP lists of values (lov): the codes other calls must use (cancellation and room move
reasons, markets, sources, guarantees, room features and conditions, payment methods, room types, note, communication
and address types, service request codes, departments and priorities)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from app.sandbox.routes.common import as_bool, hotel_of, ohip_json, query_value, query_values
from app.sandbox.state import Code, Enterprise, Hotel, SandboxError

if TYPE_CHECKING:
    from app.sandbox.app import Sandbox

BASE = "/lov/v1"


def _codes(enterprise: Enterprise, hotel: Hotel, name: str) -> list[Code] | None:
    tables: dict[str, dict[str, Code]] = {
        "CancellationReasons": hotel.cancellation_reasons,
        "RoomMoveReasons": hotel.room_move_reasons,
        "MarketCodes": hotel.market_codes,
        "SourceCodes": hotel.source_codes,
        "GuaranteeCodes": hotel.guarantee_codes,
        "ReservationTypes": hotel.guarantee_codes,  # in OPERA the reservation type is the guarantee code
        "RoomFeatures": hotel.room_features,
        "ReservationNoteTypes": hotel.note_types,
        "AddressTypes": enterprise.address_types,  # CRM configuration is chain-wide, as profiles are
        "Departments": hotel.departments,  # who does a guest service request (fof serviceRequest.department)
        "ServiceRequestPriority": hotel.service_request_priorities,
    }
    if name in tables:
        return list(tables[name].values())
    # Communication types by role (crmcfg `communicationRoleType`): the codes for phoneUseType and e-mail type.
    roles = {"CommunicationTypePhone": ("Phone",), "CommunicationTypeEmail": ("Email",),
             "CommunicationTypeWeb": ("Webpage",)}
    if name in roles:
        return [Code(c.code, c.description) for c in enterprise.communication_types.values() if c.role in roles[name]]
    if name == "MaintenanceCodes":  # hsk postRoomMaintenance's codes
        return list(hotel.maintenance_codes.values())
    if name == "RoomConditions":  # the property's configured room conditions (hsk setRoomCondition's codes)
        return [Code(c.code, c.description) for c in hotel.room_conditions.values()]
    if name in ("RoomTypes", "RoomType"):
        return [Code(rt.code, rt.description) for rt in hotel.room_types.values()]
    if name in ("RatePlans", "RateCodes"):
        return [Code(p.code, p.description) for p in hotel.rate_plans.values()]
    return None


def _list_body(name: str, codes: list[Code], include_inactive: bool, excluded: set[str]) -> dict[str, Any]:
    items = [
        {"code": c.code, "name": c.description, "description": c.description, "active": c.active}
        for c in codes
        if (include_inactive or c.active) and c.code not in excluded
    ]
    return {"listOfValues": {"items": items, "lovName": name, "itemCount": len(items)}}


def _hotel_filter(sandbox: Sandbox, request: Request) -> Hotel:
    """lov paths carry no hotel: it comes from parameterName=HotelCode/parameterValue, else the x-hotelid header."""
    names = query_values(request, "parameterName")
    values = query_values(request, "parameterValue")
    for name, value in zip(names, values, strict=False):
        if name.lower() in ("hotelcode", "hotelid", "resort"):
            return sandbox.enterprise.hotel(value)
    return sandbox.enterprise.hotel(request.headers.get("x-hotelid", ""))


def routes(sandbox: Sandbox) -> list[BaseRoute]:
    def options(request: Request) -> tuple[bool, set[str]]:
        include = bool(as_bool(query_value(request, "includeInactiveFlag"), "includeInactiveFlag"))
        return include, {c.upper() for c in query_values(request, "excludeCodes")}

    async def get_list_of_values(request: Request) -> Response:
        hotel = _hotel_filter(sandbox, request)
        requested = str(request.path_params["name"])
        known = (
            "CancellationReasons",
            "RoomMoveReasons",
            "MarketCodes",
            "SourceCodes",
            "GuaranteeCodes",
            "ReservationTypes",
            "RoomFeatures",
            "RoomConditions",
            "MaintenanceCodes",
            "RoomTypes",
            "RatePlans",
            "ReservationNoteTypes",
            "AddressTypes",
            "CommunicationTypePhone",
            "CommunicationTypeEmail",
            "CommunicationTypeWeb",
            "Departments",
            "ServiceRequestPriority",
        )
        name = next((k for k in known if k.lower() == requested.lower()), requested)
        codes = _codes(sandbox.enterprise, hotel, name)
        if codes is None:
            raise SandboxError(
                404,
                "List not found",
                f"The sandbox does not serve the list {requested}; it serves {', '.join(known)}",
                "OHIPSIM-LOV-404",
                "name",
            )
        include, excluded = options(request)
        return ohip_json(_list_body(name, codes, include, excluded))

    async def get_payment_methods_lov(request: Request) -> Response:
        hotel = hotel_of(sandbox, request)
        include, excluded = options(request)
        codes = [Code(m.code, m.description) for m in hotel.payment_methods.values()]
        return ohip_json(_list_body("PaymentMethods", codes, include, excluded))

    async def get_room_types_lov(request: Request) -> Response:
        hotel = hotel_of(sandbox, request)
        include, excluded = options(request)
        codes = [Code(rt.code, rt.description) for rt in hotel.room_types.values()]
        return ohip_json(_list_body("RoomTypes", codes, include, excluded))

    async def get_service_request_codes_lov(request: Request) -> Response:
        hotel = hotel_of(sandbox, request)
        include, excluded = options(request)
        codes = [Code(c.code, c.description, c.active) for c in hotel.service_request_codes.values()]
        return ohip_json(_list_body("ServiceRequestCodes", codes, include, excluded))

    return [
        Route(
            BASE + "/listOfValues/hotels/{hotelId}/serviceRequestCodes",
            get_service_request_codes_lov,
            methods=["GET"],
            name="getServiceRequestCodesLOV",
        ),
        Route(
            BASE + "/listOfValues/hotels/{hotelId}/paymentMethods",
            get_payment_methods_lov,
            methods=["GET"],
            name="getPaymentMethodsLOV",
        ),
        Route(
            BASE + "/listOfValues/hotels/{hotelId}/roomTypes",
            get_room_types_lov,
            methods=["GET"],
            name="getRoomTypesLOV",
        ),
        Route(BASE + "/listOfValues/{name}", get_list_of_values, methods=["GET"], name="getListOfValues"),
    ]
