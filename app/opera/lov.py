"""OPERA lists of values (lov): the hotel's codes (payment methods, room types, market codes, ...).

They change rarely, so every read goes through the reference cache, as Oracle's docs advise.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from app.opera.errors import OperaBadRequestError, OperaError, OperaForbiddenError, OperaNotFoundError
from app.opera.http import OperaHTTP, OperaResponse, Operation
from app.opera.models import as_text

GET_LIST_OF_VALUES = Operation("lov", "getListOfValues", "GET", "/listOfValues/{name}")
GET_PAYMENT_METHODS = Operation("lov", "getPaymentMethodsLOV", "GET", "/listOfValues/hotels/{hotelId}/paymentMethods")
GET_ROOM_TYPES = Operation("lov", "getRoomTypesLOV", "GET", "/listOfValues/hotels/{hotelId}/roomTypes")
GET_SERVICE_REQUEST_CODES = Operation(
    "lov", "getServiceRequestCodesLOV", "GET", "/listOfValues/hotels/{hotelId}/serviceRequestCodes"
)
#: Lists with an operation of their own under the hotel, rather than a name of getListOfValues.
HOTEL_LISTS = {"ServiceRequestCodes": GET_SERVICE_REQUEST_CODES}


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
        """getListOfValues for `name` (one of Oracle's list names, e.g. MarketCodes), scoped to the hotel; or the
        hotel's own list operation for a name in HOTEL_LISTS."""
        if name in HOTEL_LISTS:
            return values_from(await self._http.call(HOTEL_LISTS[name], hotel_id=hotel_id, cache="reference"))
        params: dict[str, Any] = {"parameterName": ["HotelCode"], "parameterValue": [hotel_id]}
        response = await self._http.call(
            GET_LIST_OF_VALUES, hotel_id=hotel_id, path_params={"name": name}, params=params, cache="reference"
        )
        return values_from(response)

    async def active(self, hotel_id: str, name: str) -> list[CodeValue]:
        """The active values of list `name` (a value OPERA does not mark inactive counts as active)."""
        return [v for v in await self.values(hotel_id, name) if v.active is not False]

    async def refusing(self, hotel_id: str, name: str, code: str) -> list[CodeValue] | None:
        """The active values of list `name` when `code` is not among them, for a refusal to list; None when it is,
        or when the list is empty or cannot be read (a courtesy check: OPERA still validates the code)."""
        try:
            known = await self.active(hotel_id, name)
        except OperaError:
            return None
        return known if known and code.upper() not in {v.code.upper() for v in known} else None

    async def payment_methods(self, hotel_id: str) -> list[CodeValue]:
        """getPaymentMethodsLOV: codes such as CA (cash), VA, MC, AX for payments and reservations."""
        response = await self._http.call(GET_PAYMENT_METHODS, hotel_id=hotel_id, cache="reference")
        return values_from(response)

    async def room_types(self, hotel_id: str) -> list[CodeValue]:
        """getRoomTypesLOV: the hotel's room type codes."""
        response = await self._http.call(GET_ROOM_TYPES, hotel_id=hotel_id, cache="reference")
        return values_from(response)


def codes_text(values: list[CodeValue]) -> str:
    """The values as an agent is shown them in a refusal: "NSE (Noise complaint), ..."."""
    return ", ".join(f"{v.code} ({v.description or v.name})" for v in values)


# --- hotel-configured codes ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CodeKind:
    """A code OPERA leaves to each property's configuration, with the list of values naming it and the setting
    that picks one (Oracle's putProfile: "you will also need to know the List of Values for profile fields, such
    as AddressType, PhoneType")."""

    what: str
    lov: str
    setting: str  # the attribute of Settings; OPERA_<upper> in the environment

    @property
    def variable(self) -> str:
        return f"OPERA_{self.setting.upper()}"


#: A telephone's phoneUseType: a communication type with role Phone (crmcfg communicationRoleType).
PHONE_TYPE = CodeKind("phone type", "CommunicationTypePhone", "phone_type")
#: An e-mail's type: a communication type with role Email.
EMAIL_TYPE = CodeKind("e-mail type", "CommunicationTypeEmail", "email_type")
ADDRESS_TYPE = CodeKind("address type", "AddressTypes", "address_type")
#: A reservation comment's `comment.type` (Oracle's workflow samples use GEN, a property's note type).
COMMENT_TYPE = CodeKind("reservation note type", "ReservationNoteTypes", "comment_type")


class HotelCodeError(OperaBadRequestError):
    """A configured code the hotel's list of values does not hold, or no code to use at all: an operator's fix."""


class HotelCodes:
    """The codes this server writes where OPERA expects a configured one: the setting when given (checked
    against the hotel's list), else the first active code of the list, which OPERA returns in display order.
    Lists are read through the reference cache, so this costs one call per hotel and list per TTL."""

    def __init__(self, http: OperaHTTP) -> None:
        self._settings = http.settings
        self._lov = ListsOfValuesAPI(http)

    async def code(self, hotel_id: str, kind: CodeKind) -> str:
        configured: str | None = getattr(self._settings, kind.setting)
        try:
            values = await self._lov.active(hotel_id, kind.lov)
        except (OperaNotFoundError, OperaForbiddenError):
            # The list is not offered to this integration user: a configured code is trusted as it stands.
            if configured:
                return configured
            raise HotelCodeError(
                f"hotel {hotel_id}'s list of values {kind.lov} cannot be read, so this server does not know which "
                f"{kind.what} OPERA has configured; an operator should set {kind.variable} to the code to use",
                hotel_id=hotel_id,
            ) from None
        active = [v.code for v in values]
        if configured:
            match = next((code for code in active if code.upper() == configured.upper()), None)
            if match is None:
                raise HotelCodeError(
                    f"{kind.variable}={configured} is not a {kind.what} hotel {hotel_id} has configured (its list "
                    f"{kind.lov} holds {', '.join(active) or 'nothing'}); an operator should set {kind.variable} "
                    "to one of those",
                    hotel_id=hotel_id,
                )
            return match
        if not active:
            raise HotelCodeError(
                f"hotel {hotel_id}'s list of values {kind.lov} holds no active {kind.what}; an operator should "
                f"configure one in OPERA or set {kind.variable}",
                hotel_id=hotel_id,
            )
        return active[0]
