"""Guest profiles on OHIP (crm): search, read, create and update, as plain domain models."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, Field, PrivateAttr

from app.opera.errors import OperaNotFoundError
from app.opera.http import OperaHTTP, Operation
from app.opera.lov import ADDRESS_TYPE, EMAIL_TYPE, PHONE_TYPE, CodeKind, HotelCodes
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
GET_PROFILE_BY_EXT_ID = Operation(
    "crm", "getProfileByExtId", "GET", "/externalSystems/{extSystemCode}/profiles/{profileExternalId}"
)

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


@dataclass(frozen=True)
class HeldRecord:
    """The e-mail, telephone or address record a profile shows as primary: OPERA keys these by `id`, so a change
    names the record it replaces and keeps its type."""

    record_id: str | None
    info_type: str | None  # the info element's `type` (the kind of id)
    code: str | None  # the record's configured type code (e-mail type, phoneUseType, address type)


#: Per section: the list key, the item key, and the field holding the configured type code.
SECTIONS: dict[str, tuple[str, str, str]] = {
    "emails": ("emailInfo", "email", "type"),
    "telephones": ("telephoneInfo", "telephone", "phoneUseType"),
    "addresses": ("addressInfo", "address", "type"),
}
SECTION_CODES: dict[str, CodeKind] = {"emails": EMAIL_TYPE, "telephones": PHONE_TYPE, "addresses": ADDRESS_TYPE}


class Guest(GuestSummary):
    """A guest profile's full record."""

    address: Address | None = None
    language: str | None = None
    warnings: list[OperaWarning] = Field(default_factory=list, description="soft problems OHIP reported")
    #: The primary record of each section read, by section name: what an update names by id.
    _records: dict[str, HeldRecord] = PrivateAttr(default_factory=dict)


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


def _primary_info(entries: Any, key: str) -> dict[str, Any]:
    """The info element (`{email: {...}, id, type}`) whose record is primary, else the first."""
    found = [info for e in as_list(entries) if as_dict((info := as_dict(e)).get(key))]
    if not found:
        return {}
    return next((f for f in found if as_dict(f.get(key)).get("primaryInd") is True), found[0])


def _primary(entries: Any, key: str) -> dict[str, Any]:
    return as_dict(_primary_info(entries, key).get(key))


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
    guest = Guest(
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
    for section, (list_key, item_key, code_key) in SECTIONS.items():
        info = _primary_info(as_dict(details.get(section)).get(list_key), item_key)
        if info:
            guest._records[section] = HeldRecord(
                as_text(info.get("id")), as_text(info.get("type")), as_text(as_dict(info.get(item_key)).get(code_key))
            )
    return guest


# --- request bodies ------------------------------------------------------------------------------------------


def touched_sections(details: GuestDetails, current: Guest | None = None) -> list[str]:
    """The record sections (emails, telephones, addresses) `details` changes; a value equal to the current one is
    no change, so it is not sent."""
    email_changed = details.email is not None and (current is None or details.email != current.email)
    phone_changed = details.phone is not None and (current is None or details.phone != current.phone)
    address_changed = details.touches_address and (current is None or _address_of(details, current) != current.address)
    return [name for name, changed in (("emails", email_changed), ("telephones", phone_changed),
                                       ("addresses", address_changed)) if changed]


def _address_of(details: GuestDetails, current: Guest | None) -> Address:
    """The whole address after the change: what `details` gives, the rest as it is."""
    old = current.address if current and current.address else Address()
    return Address(
        lines=list(details.address_lines) if details.address_lines is not None else old.lines,
        city=details.city if details.city is not None else old.city,
        postal_code=details.postal_code if details.postal_code is not None else old.postal_code,
        state=details.state if details.state is not None else old.state,
        country=details.country if details.country is not None else old.country,
    )


def _record_info(section: str, item: dict[str, Any], held: HeldRecord | None, new_code: str | None) -> dict[str, Any]:
    """One info element: it replaces the held primary record by its id (keeping that record's type), or, with no
    record held, adds a new one of the configured type."""
    _, item_key, code_key = SECTIONS[section]
    code = (held.code if held else None) or new_code
    if code:
        item = {**item, code_key: code}
    info: dict[str, Any] = {item_key: {**item, "primaryInd": True}}
    if held is not None and held.record_id:
        info["id"] = held.record_id
        if held.info_type:
            info["type"] = held.info_type
    return info


def profile_details(
    details: GuestDetails, current: Guest | None = None, codes: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """profileDetails holding only what `details` changes (a name change rewrites the whole name). An e-mail,
    phone or address replaces the current primary record by its id, or is added when there is none; `codes` are
    the configured type codes of new records, by section."""
    codes = codes or {}
    held = current._records if current is not None else {}
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
    sections = touched_sections(details, current)
    if "emails" in sections and details.email is not None:
        item = {"emailAddress": details.email}
        out["emails"] = {"emailInfo": [_record_info("emails", item, held.get("emails"), codes.get("emails"))]}
    if "telephones" in sections and details.phone is not None:
        item = {"phoneTechType": "PHONE", "phoneNumber": details.phone}
        out["telephones"] = {
            "telephoneInfo": [_record_info("telephones", item, held.get("telephones"), codes.get("telephones"))]
        }
    if "addresses" in sections:
        new = _address_of(details, current)
        address: dict[str, Any] = {}
        if new.lines:
            address["addressLine"] = new.lines
        for key, value in (("cityName", new.city), ("postalCode", new.postal_code), ("state", new.state)):
            if value:
                address[key] = value
        if new.country:
            address["country"] = {"code": new.country}
        out["addresses"] = {
            "addressInfo": [_record_info("addresses", address, held.get("addresses"), codes.get("addresses"))]
        }
    return out


# --- the API -------------------------------------------------------------------------------------------------


class ProfilesAPI:
    """The crm profile operations. Profiles are enterprise-wide; hotel_id only names the x-hotelid we act for."""

    def __init__(self, http: OperaHTTP) -> None:
        self.http = http
        self.codes = HotelCodes(http)

    async def _new_record_codes(self, hotel_id: str, details: GuestDetails, current: Guest | None) -> dict[str, str]:
        """The configured type codes for the records `details` adds (a replaced record keeps its own type)."""
        held = current._records if current is not None else {}
        return {
            section: await self.codes.code(hotel_id, SECTION_CODES[section])
            for section in touched_sections(details, current)
            if not (section in held and held[section].record_id and held[section].code)
        }

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
        codes = await self._new_record_codes(hotel_id, details, None)
        profile: dict[str, Any] = {**profile_details(details, codes=codes), "profileType": "Guest",
                                   "statusCode": "Active"}
        body: dict[str, Any] = {"profileDetails": profile}
        if external_reference is not None:
            # Beside profileDetails, as Oracle's crm `profile` request puts it (profileType has no such field).
            body["externalReferences"] = [external_reference.body()]
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
        """The profile stamped with `reference`, read fresh, by Oracle's dedicated lookup (crm getProfileByExtId;
        204 "ProfileByExtId not found") rather than a search filter a server could ignore."""
        response = await self.http.lookup(
            GET_PROFILE_BY_EXT_ID, hotel_id=hotel_id,
            path_params={"extSystemCode": reference.system, "profileExternalId": reference.id},
            params={"fetchInstructions": list(PROFILE_PARTS)},
        )
        if response is None:
            return None
        body = as_dict(response.body)
        profile_id = id_of(body.get("profileIdList"), "Profile")
        return guest_from_profile(body, profile_id) if profile_id else None

    async def update(self, hotel_id: str, current: Guest, details: GuestDetails) -> Guest:
        """putProfile with only what changes, built on `current` (read fresh: the ids it names must be OPERA's
        now), then the profile as OPERA now holds it. Nothing to change: no call, `current` as it is."""
        codes = await self._new_record_codes(hotel_id, details, current)
        changes = profile_details(details, current, codes)
        if not changes:
            return current
        body = {"profileIdList": [{"id": current.profile_id, "type": "Profile"}], "profileDetails": changes}
        # A record without an id is added each time OPERA receives it, so a PUT that adds one must not be
        # repeated blindly after a timeout or a gateway error (the caller re-reads and decides).
        adds = any("id" not in info for section in SECTIONS for info in
                   as_list(as_dict(changes.get(section)).get(SECTIONS[section][0])))
        response = await self.http.call(
            PUT_PROFILE, hotel_id=hotel_id, path_params={"profileId": current.profile_id}, json=body,
            idempotent=not adds,
        )
        updated = await self.get(hotel_id, current.profile_id, fresh=True)
        return updated.model_copy(update={"warnings": warnings_from(response.body) + updated.warnings})
