"""Guest profiles on OHIP (crm): search, read, create and update, as plain domain models."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, Field

from app.opera.errors import OperaNotFoundError
from app.opera.http import OperaHTTP, Operation
from app.opera.models import ExternalReference, OperaWarning, PageInfo, as_text, warnings_from
from app.opera.reservations import (
    as_dict,
    as_list,
    given_fields,
    id_of,
    page_info,
    person_name,
    primary_person_name,
)

GET_PROFILES = Operation("crm", "getProfiles", "GET", "/profiles")
GET_PROFILE = Operation("crm", "getProfile", "GET", "/profiles/{profileId}")
POST_PROFILE = Operation("crm", "postProfile", "POST", "/profiles")
PUT_PROFILE = Operation("crm", "putProfile", "PUT", "/profiles/{profileId}")

PROFILE_PARTS = ("Address", "Communication", "Profile")


class Address(BaseModel):
    lines: list[str] = Field(default_factory=list)
    city: str | None = None
    postal_code: str | None = None
    state: str | None = None
    country: str | None = Field(default=None, description="country code, e.g. US")


class GuestSummary(BaseModel):
    """One guest profile in a search result."""

    profile_id: str = Field(description="OPERA profile id; use it for create_reservation and get_guest")
    name: str | None = Field(default=None, description="given name then surname")
    given_name: str | None = None
    surname: str | None = None
    email: str | None = None
    phone: str | None = None
    city: str | None = None
    country: str | None = None
    vip: str | None = Field(default=None, description="VIP code, if any")
    profile_type: str | None = Field(default=None, description="Guest, Company, Agent...")
    status: str | None = Field(default=None, description="Active or Inactive")


class Guest(GuestSummary):
    """A guest profile's full record."""

    address: Address | None = None
    language: str | None = None
    warnings: list[OperaWarning] = Field(default_factory=list, description="soft problems OHIP reported")


class GuestPage(BaseModel):
    items: list[GuestSummary]
    page: PageInfo


@dataclass(frozen=True)
class GuestDetails:
    """Profile content to write; on update, None leaves a part as it is."""

    given_name: str | None = None
    surname: str | None = None
    email: str | None = None
    phone: str | None = None
    address_lines: Sequence[str] | None = None
    city: str | None = None
    postal_code: str | None = None
    state: str | None = None
    country: str | None = None
    language: str | None = None
    vip: str | None = None

    def changed(self) -> list[str]:
        return given_fields(self)

    @property
    def touches_address(self) -> bool:
        return any(v is not None for v in (self.address_lines, self.city, self.postal_code, self.state, self.country))


# --- parsing -------------------------------------------------------------------------------------------------


def _summary_name(profile: Mapping[str, Any]) -> tuple[str | None, str | None]:
    # profileSummaryType has no customer block in the 25.5 spec; accept it when a server sends one, else the
    # name parts the spec does carry.
    given, surname = primary_person_name(profile.get("customer"))
    if given or surname:
        return given, surname
    for key in ("altName", "formerName"):
        part = as_dict(profile.get(key))
        given, surname = as_text(part.get("givenName")), as_text(part.get("name") or part.get("surname"))
        if given or surname:
            return given, surname
    return None, None


def summary_from_row(row: Mapping[str, Any]) -> GuestSummary | None:
    """A getProfiles row (profileSummaryInfoType); None without a profile id."""
    pid = id_of(row.get("profileIdList"), "Profile")
    if not pid:
        return None
    profile = as_dict(row.get("profile"))
    given, surname = _summary_name(profile)
    address = as_dict(as_dict(profile.get("addressInfo")).get("address"))
    return GuestSummary(
        profile_id=pid,
        name=person_name(given, surname),
        given_name=given,
        surname=surname,
        email=as_text(as_dict(as_dict(profile.get("emailInfo")).get("email")).get("emailAddress")),
        phone=as_text(as_dict(as_dict(profile.get("telephoneInfo")).get("telephone")).get("phoneNumber")),
        city=as_text(address.get("cityName")),
        country=as_text(as_dict(address.get("country")).get("code")),
        vip=as_text(as_dict(profile.get("vipStatus")).get("code")),
        profile_type=as_text(profile.get("profileType")),
        status=as_text(profile.get("statusCode")),
    )


def _primary(entries: Any, key: str) -> dict[str, Any]:
    found = [as_dict(as_dict(e).get(key)) for e in as_list(entries)]
    found = [f for f in found if f]
    if not found:
        return {}
    return next((f for f in found if f.get("primaryInd") is True), found[0])


def guest_from_profile(body: Mapping[str, Any], profile_id: str) -> Guest | None:
    """A getProfile/putProfile answer (`profile`: profileIdList + profileDetails); None without details."""
    details = as_dict(body.get("profileDetails"))
    if not details:
        return None
    customer = as_dict(details.get("customer"))
    given, surname = primary_person_name(customer)
    email = _primary(as_dict(details.get("emails")).get("emailInfo"), "email")
    phone = _primary(as_dict(details.get("telephones")).get("telephoneInfo"), "telephone")
    raw_address = _primary(as_dict(details.get("addresses")).get("addressInfo"), "address")
    address = None
    if raw_address:
        address = Address(
            lines=[line for x in as_list(raw_address.get("addressLine")) if (line := as_text(x))],
            city=as_text(raw_address.get("cityName")),
            postal_code=as_text(raw_address.get("postalCode")),
            state=as_text(raw_address.get("state")),
            country=as_text(as_dict(raw_address.get("country")).get("code")),
        )
    return Guest(
        profile_id=id_of(body.get("profileIdList"), "Profile") or profile_id,
        name=person_name(given, surname),
        given_name=given,
        surname=surname,
        email=as_text(email.get("emailAddress")),
        phone=as_text(phone.get("phoneNumber")),
        city=address.city if address else None,
        country=address.country if address else None,
        vip=as_text(customer.get("vipStatus")),
        profile_type=as_text(details.get("profileType")),
        status=as_text(details.get("statusCode")),
        address=address,
        language=as_text(customer.get("language")),
        warnings=warnings_from(dict(body)),
    )


# --- request bodies ------------------------------------------------------------------------------------------


def profile_details(details: GuestDetails, current: Guest | None = None) -> dict[str, Any]:
    """profileDetails holding only the sections `details` touches (a name change rewrites the whole name)."""
    out: dict[str, Any] = {}
    customer: dict[str, Any] = {}
    if details.given_name is not None or details.surname is not None:
        name: dict[str, str] = {"nameType": "Primary"}
        given = details.given_name if details.given_name is not None else (current.given_name if current else None)
        surname = details.surname if details.surname is not None else (current.surname if current else None)
        if given:
            name["givenName"] = given
        if surname:
            name["surname"] = surname
        customer["personName"] = [name]
    if details.language is not None:
        customer["language"] = details.language
    if details.vip is not None:
        customer["vipStatus"] = details.vip
    if customer:
        out["customer"] = customer
    if details.email is not None:
        out["emails"] = {"emailInfo": [{"email": {"emailAddress": details.email, "type": "EMAIL",
                                                   "primaryInd": True}}]}
    if details.phone is not None:
        out["telephones"] = {"telephoneInfo": [{"telephone": {"phoneTechType": "PHONE", "phoneUseType": "MOBILE",
                                                               "phoneNumber": details.phone, "primaryInd": True}}]}
    if details.touches_address:
        old = current.address if current and current.address else Address()
        address: dict[str, Any] = {"type": "HOME", "primaryInd": True}
        lines = list(details.address_lines) if details.address_lines is not None else old.lines
        if lines:
            address["addressLine"] = lines
        for key, new, before in (
            ("cityName", details.city, old.city),
            ("postalCode", details.postal_code, old.postal_code),
            ("state", details.state, old.state),
        ):
            value = new if new is not None else before
            if value:
                address[key] = value
        country = details.country if details.country is not None else old.country
        if country:
            address["country"] = {"code": country}
        out["addresses"] = {"addressInfo": [{"address": address}]}
    return out


# --- the API -------------------------------------------------------------------------------------------------


class ProfilesAPI:
    """The crm profile operations. Profiles are enterprise-wide; hotel_id only names the x-hotelid we act for."""

    def __init__(self, http: OperaHTTP) -> None:
        self.http = http

    async def search(
        self, hotel_id: str, *, surname: str | None = None, given_name: str | None = None, email: str | None = None,
        phone: str | None = None, limit: int = 20, offset: int = 0,
    ) -> GuestPage:
        """getProfiles for guests; 204 or no rows is an empty page."""
        params: dict[str, str | int | float | bool | Sequence[str | int] | None] = {
            "profileName": surname,
            "givenName": given_name,
            "email": email,
            "phone": phone,
            "profileType": ["Guest"],
            "fetchInstructions": list(PROFILE_PARTS),
            "limit": limit,
            "offset": offset,
        }
        response = await self.http.call(GET_PROFILES, hotel_id=hotel_id, params=params, cache="profiles")
        block = as_dict(as_dict(response.body).get("profileSummaries"))
        items = [
            summary for row in as_list(block.get("profileInfo"))
            if (summary := summary_from_row(as_dict(row))) is not None
        ]
        return GuestPage(items=items, page=page_info(block, offset=offset, limit=limit, count=len(items)))

    async def get(self, hotel_id: str, profile_id: str, *, fresh: bool = False) -> Guest:
        """getProfile; OperaNotFoundError when OHIP answers 404 or 204. `fresh` skips the cache (reads a write
        is built from)."""
        response = await self.http.call(
            GET_PROFILE, hotel_id=hotel_id, path_params={"profileId": profile_id},
            params={"fetchInstructions": list(PROFILE_PARTS)}, cache="none" if fresh else "profiles",
        )
        guest = guest_from_profile(as_dict(response.body), profile_id)
        if guest is None:
            raise OperaNotFoundError(
                f"no guest profile {profile_id}", operation=GET_PROFILE.name, status=response.status,
                request_id=response.request_id, hotel_id=hotel_id,
            )
        return guest

    async def create(
        self, hotel_id: str, details: GuestDetails, *, external_reference: ExternalReference | None = None,
    ) -> tuple[str, list[OperaWarning]]:
        """postProfile; returns the new profile id, which OHIP gives only in the Location header."""
        profile: dict[str, Any] = {**profile_details(details), "profileType": "Guest", "statusCode": "Active"}
        if external_reference is not None:
            profile["externalReferences"] = [external_reference.body()]
        body = {"profileDetails": profile}
        response = await self.http.call(POST_PROFILE, hotel_id=hotel_id, json=body)
        profile_id = response.location_id or id_of(as_dict(response.body).get("profileIdList"), "Profile")
        if not profile_id:
            raise OperaNotFoundError(
                "OHIP accepted the profile but sent no Location header naming it",
                operation=POST_PROFILE.name, status=response.status, request_id=response.request_id,
                hotel_id=hotel_id,
            )
        return profile_id, warnings_from(response.body)

    async def find_by_external_reference(self, hotel_id: str, reference: ExternalReference) -> Guest | None:
        """The profile stamped with `reference` (getProfiles by external reference), read fresh."""
        params: dict[str, str | int | float | bool | Sequence[str | int] | None] = {
            "externalReferenceIds": [reference.id],
            "externalSystemCodes": [reference.system],
            "fetchInstructions": list(PROFILE_PARTS),
            "limit": 2,
        }
        response = await self.http.call(GET_PROFILES, hotel_id=hotel_id, params=params)
        block = as_dict(as_dict(response.body).get("profileSummaries"))
        rows = [s for row in as_list(block.get("profileInfo")) if (s := summary_from_row(as_dict(row))) is not None]
        if not rows:
            return None
        return await self.get(hotel_id, rows[0].profile_id, fresh=True)

    async def update(self, hotel_id: str, current: Guest, details: GuestDetails) -> Guest:
        """putProfile with only the changed sections, then the profile as OPERA now holds it."""
        body = {
            "profileIdList": [{"id": current.profile_id, "type": "Profile"}],
            "profileDetails": profile_details(details, current),
        }
        response = await self.http.call(
            PUT_PROFILE, hotel_id=hotel_id, path_params={"profileId": current.profile_id}, json=body
        )
        updated = await self.get(hotel_id, current.profile_id)
        updated.warnings = warnings_from(response.body) + updated.warnings
        return updated
