"""OPERA lists of values (lov): the hotel's codes (payment methods, room types, market codes, ...).

They change rarely, so every read goes through the reference cache, as Oracle's docs advise.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from app.opera.http import OperaHTTP, OperaResponse, Operation
from app.opera.models import as_text

GET_LIST_OF_VALUES = Operation("lov", "getListOfValues", "GET", "/listOfValues/{name}")
GET_PAYMENT_METHODS = Operation("lov", "getPaymentMethodsLOV", "GET", "/listOfValues/hotels/{hotelId}/paymentMethods")
GET_ROOM_TYPES = Operation("lov", "getRoomTypesLOV", "GET", "/listOfValues/hotels/{hotelId}/roomTypes")


class CodeValue(BaseModel):
    """One entry of a list of values."""

    code: str
    name: str | None = None
    description: str | None = None
    active: bool | None = None


def values_from(response: OperaResponse) -> list[CodeValue]:
    body = response.body or {}
    listing = body.get("listOfValues")
    items = listing.get("items") if isinstance(listing, dict) else None
    out: list[CodeValue] = []
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict):
            continue
        code = as_text(item.get("code"))
        if code is not None:
            active = item.get("active")
            out.append(
                CodeValue(
                    code=code,
                    name=as_text(item.get("name")),
                    description=as_text(item.get("description")) or as_text(item.get("shortDescription")),
                    active=active if isinstance(active, bool) else None,
                )
            )
    return out


class ListsOfValuesAPI:
    """lov: named lists of codes for a hotel."""

    def __init__(self, http: OperaHTTP) -> None:
        self._http = http

    async def values(self, hotel_id: str, name: str) -> list[CodeValue]:
        """getListOfValues for `name` (one of Oracle's list names, e.g. MarketCodes), scoped to the hotel."""
        params: dict[str, Any] = {"parameterName": ["HotelCode"], "parameterValue": [hotel_id]}
        response = await self._http.call(
            GET_LIST_OF_VALUES, hotel_id=hotel_id, path_params={"name": name}, params=params, cache="reference"
        )
        return values_from(response)

    async def payment_methods(self, hotel_id: str) -> list[CodeValue]:
        """getPaymentMethodsLOV: codes such as CA (cash), VA, MC, AX for payments and reservations."""
        response = await self._http.call(GET_PAYMENT_METHODS, hotel_id=hotel_id, cache="reference")
        return values_from(response)

    async def room_types(self, hotel_id: str) -> list[CodeValue]:
        """getRoomTypesLOV: the hotel's room type codes."""
        response = await self._http.call(GET_ROOM_TYPES, hotel_id=hotel_id, cache="reference")
        return values_from(response)
