"""Sandbox routes for the OHIP crm module: guest profile search, read, create and update (`/crm/v1/profiles`).

Profiles are enterprise-wide, so these paths carry no hotel; the gateway still insists on `x-hotelid`.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from app.sandbox.routes.common import (
    as_bool,
    as_enum,
    as_list,
    as_object,
    as_text,
    bad_input,
    created,
    external_references_body,
    external_references_input,
    find_id,
    ohip_json,
    page_params,
    paged,
    query_value,
    query_values,
    read_json,
)
from app.sandbox.state import (
    CONTACT_INFO,
    CONTACT_ITEM,
    CONTACT_TYPE_FIELD,
    ContactChange,
    ContactKind,
    ContactRecord,
    ExternalReference,
    Hotel,
    Profile,
    ProfileAddress,
    ProfileEmail,
    ProfileTelephone,
    primary_record,
)

if TYPE_CHECKING:
    from app.sandbox.app import Sandbox

BASE = "/crm/v1"
#: OHIP never counts past 1000 matches; `totalResults` stops there and `hasMore` says the rest.
MAX_TOTAL_RESULTS = 1000
PROFILE_TYPES = (
    "Guest",
    "Agent",
    "Company",
    "Group",
    "Source",
    "Employee",
    "Hotel",
    "Vendor",
    "Contact",
    "Purge",
    "BusinessHeader",
    "BillingAccount",
    "Activity",
    "Potential",
    "Account",
)
#: The schema's personName/telephone/address limits, so a stored value can always be rendered back.
NAME_MAX = 40
PHONE_MAX = 40
VIP_MAX = 20
#: crm's `externalReferenceType` limits (it has no leg number, unlike rsv's).
EXTERNAL_REFERENCE_MAX = 80
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def profile_path(profile_id: str) -> str:
    return f"{BASE}/profiles/{profile_id}"


# ------------------------------------------------------------------------------------------------- rendering


def _profile_ids(profile: Profile) -> list[dict[str, str]]:
    return [{"id": profile.profile_id, "type": "Profile", "idContext": "OPERA"}]


#: The `type` of an e-mail/telephone/address info element (its uniqueID type), as comments carry "Comment".
INFO_TYPES: dict[ContactKind, str] = {"emails": "Email", "telephones": "Telephone", "addresses": "Address"}


def _address(record: ProfileAddress) -> dict[str, Any]:
    address: dict[str, Any] = {}
    if record.lines:
        address["addressLine"] = list(record.lines)
    if record.city:
        address["cityName"] = record.city
    if record.postal_code:
        address["postalCode"] = record.postal_code
    if record.state:
        address["state"] = record.state
    if record.country:
        address["country"] = {"code": record.country}
    address["type"] = record.type
    address["primaryInd"] = record.primary
    return address


def _email(record: ProfileEmail) -> dict[str, Any]:
    return {"emailAddress": record.address, "type": record.type, "primaryInd": record.primary}


def _telephone(record: ProfileTelephone) -> dict[str, Any]:
    return {"phoneTechType": record.tech_type, "phoneUseType": record.type, "phoneNumber": record.number,
            "primaryInd": record.primary}


def _info(kind: ContactKind, record_id: str, item: dict[str, Any]) -> dict[str, Any]:
    """An `emailInfoType`/`telephoneInfoType`/`addressInfoType`: the record with the id a change must name."""
    return {CONTACT_ITEM[kind]: item, "id": record_id, "type": INFO_TYPES[kind]}


def _section(kind: ContactKind, infos: list[dict[str, Any]]) -> dict[str, Any]:
    return {CONTACT_INFO[kind]: infos, "totalResults": len(infos), "count": len(infos)}


def profile_details(profile: Profile) -> dict[str, Any]:
    """`profileType` (the body of getProfile's `profileDetails`)."""
    customer: dict[str, Any] = {
        "personName": [{"givenName": profile.given_name, "surname": profile.surname, "nameType": "Primary"}],
        "language": profile.language,
    }
    if profile.vip_status:
        customer["vipStatus"] = profile.vip_status
    details: dict[str, Any] = {"customer": customer}
    if profile.addresses:
        details["addresses"] = _section(
            "addresses", [_info("addresses", r.record_id, _address(r)) for r in profile.addresses]
        )
    if profile.telephones:
        details["telephones"] = _section(
            "telephones", [_info("telephones", r.record_id, _telephone(r)) for r in profile.telephones]
        )
    if profile.emails:
        details["emails"] = _section("emails", [_info("emails", r.record_id, _email(r)) for r in profile.emails])
    details["profileType"] = profile.profile_type
    details["statusCode"] = profile.status
    details["createDateTime"] = profile.created.isoformat()
    return details


def profile_body(profile: Profile) -> dict[str, Any]:
    """The `profile` response of getProfile, getProfileByExtId and putProfile."""
    body: dict[str, Any] = {"profileIdList": _profile_ids(profile)}
    if profile.external_references:
        body["externalReferences"] = external_references_body(profile.external_references)
    body["profileDetails"] = profile_details(profile)
    return body


def profile_summary(profile: Profile) -> dict[str, Any]:
    """One getProfiles row (`profileSummaryInfoType`).

    The 25.5 `profileSummaryType` has no `customer` block; its only name-bearing object with the customer's own
    attributes (given name, name, language) is `formerName`, so the current name goes there.
    """
    summary: dict[str, Any] = {
        "formerName": {
            "name": profile.surname,
            "givenName": profile.given_name,
            "nameType": "Primary",
            "language": profile.language,
        }
    }
    address, email, telephone = (
        primary_record(profile.addresses), primary_record(profile.emails), primary_record(profile.telephones)
    )
    if address:
        summary["addressInfo"] = _info("addresses", address.record_id, _address(address))
    if telephone:
        summary["telephoneInfo"] = _info("telephones", telephone.record_id, _telephone(telephone))
    if email:
        summary["emailInfo"] = _info("emails", email.record_id, _email(email))
    if profile.vip_status:
        summary["vipStatus"] = {"code": profile.vip_status}
    summary["profileType"] = profile.profile_type
    summary["statusCode"] = profile.status
    return {"profileIdList": _profile_ids(profile), "profile": summary}


# --------------------------------------------------------------------------------------------------- parsing


class ProfileInput:
    """What a postProfile/putProfile body says; None means the body left that part out."""

    def __init__(self, body: dict[str, Any]) -> None:
        details = as_object(body.get("profileDetails"), "profileDetails")
        customer = as_object(details.get("customer"), "profileDetails.customer")
        self.given_name: str | None = None
        self.surname: str | None = None
        names = [n for n in as_list(customer.get("personName")) if isinstance(n, dict)]
        if names:
            # The primary name wins; Oracle allows alternate, incognito and phonetic names beside it.
            name = next((n for n in names if str(n.get("nameType", "")).lower() == "primary"), names[0])
            path = "profileDetails.customer.personName"
            self.given_name = as_text(name.get("givenName"), f"{path}.givenName", max_length=NAME_MAX) or ""
            self.surname = as_text(name.get("surname"), f"{path}.surname", max_length=NAME_MAX) or ""
        self.language = as_text(customer.get("language"), "profileDetails.customer.language", max_length=8)
        self.vip_status = as_text(customer.get("vipStatus"), "profileDetails.customer.vipStatus", max_length=VIP_MAX)
        self.profile_type = self._profile_type(details.get("profileType"))
        #: The e-mail, telephone and address records sent, per section present (merged by id on putProfile).
        self.contacts: dict[ContactKind, list[ContactChange]] = {}
        for kind in ("emails", "telephones", "addresses"):
            entries = self._entries(details, kind)
            if entries is not None:
                self.contacts[kind] = entries
        self.external_references = external_references_input(
            body.get("externalReferences"),
            "externalReferences",
            id_max=EXTERNAL_REFERENCE_MAX,
            context_max=EXTERNAL_REFERENCE_MAX,
            with_extension=False,
        )

    def checked_references(self, hotel: Hotel) -> list[ExternalReference] | None:
        """The external references with each system code in the hotel's configured spelling (400 otherwise)."""
        if self.external_references is None:
            return None
        return [
            ExternalReference(ref.id, hotel.external_system(ref.id_context, f"externalReferences[{i}].idContext"))
            for i, ref in enumerate(self.external_references)
        ]

    @staticmethod
    def _profile_type(value: Any) -> str | None:
        path = "profileDetails.profileType"
        return as_enum(as_text(value, path, max_length=40), PROFILE_TYPES, path)

    @staticmethod
    def _entries(details: dict[str, Any], kind: ContactKind) -> list[ContactChange] | None:
        """The records of e.g. `emails.emailInfo[]` with the id each names; None when the section is absent."""
        if kind not in details:
            return None
        block = details.get(kind)
        list_key, item_key = CONTACT_INFO[kind], CONTACT_ITEM[kind]
        # Lenient: a bare list instead of {emailInfo: [...]}, or a lone item object.
        infos = as_list(block.get(list_key) if isinstance(block, dict) else block)
        changes: list[ContactChange] = []
        for n, info in enumerate(infos):
            path = f"profileDetails.{kind}.{list_key}[{n}]"
            info = as_object(info, path)
            inner = info.get(item_key)
            item = inner if isinstance(inner, dict) else info
            record_id = as_text(info.get("id"), f"{path}.id", max_length=80) or None
            primary = as_bool(item.get("primaryInd"), f"{path}.{item_key}.primaryInd")
            changes.append(ContactChange(record_id, _record(kind, item, f"{path}.{item_key}"), primary))
        return changes


def _record(kind: ContactKind, item: dict[str, Any], path: str) -> ContactRecord:
    """The content of one record; its id and primary flag are the change's (see `ContactChange`)."""
    code = as_text(item.get(CONTACT_TYPE_FIELD[kind]), f"{path}.{CONTACT_TYPE_FIELD[kind]}", max_length=20) or ""
    if kind == "emails":
        address = as_text(item.get("emailAddress"), f"{path}.emailAddress", max_length=2000)
        if not address:
            raise bad_input("An e-mail record needs its emailAddress", f"{path}.emailAddress")
        if not _EMAIL.match(address):
            raise bad_input(f"{address!r} is not an email address", f"{path}.emailAddress")
        return ProfileEmail("", code, False, address)
    if kind == "telephones":
        number = as_text(item.get("phoneNumber"), f"{path}.phoneNumber", max_length=PHONE_MAX)
        if not number:
            raise bad_input("A telephone record needs its phoneNumber", f"{path}.phoneNumber")
        tech = as_text(item.get("phoneTechType"), f"{path}.phoneTechType", max_length=20) or "PHONE"
        return ProfileTelephone("", code, False, number, tech.upper())
    lines = [as_text(line, f"{path}.addressLine", max_length=80) for line in as_list(item.get("addressLine"))]
    country = item.get("country")
    # countryNameType carries the code in `code`; Oracle's workflow samples send it as `value`.
    country_code = (country.get("code") or country.get("value")) if isinstance(country, dict) else country
    return ProfileAddress(
        "", code, False,
        tuple(line for line in lines if line),
        as_text(item.get("cityName"), f"{path}.cityName", max_length=40),
        as_text(item.get("postalCode"), f"{path}.postalCode", max_length=15),
        as_text(item.get("state"), f"{path}.state", max_length=20),
        (as_text(country_code, f"{path}.country.code", max_length=20) or "").upper() or None,
    )


# ---------------------------------------------------------------------------------------------------- routes


def routes(sandbox: Sandbox) -> list[BaseRoute]:
    # Handlers read `sandbox.enterprise` on every call: a reset replaces the whole world.

    def hotel_for(request: Request) -> Hotel:
        """The hotel whose external systems apply: the `hotelId` query parameter, else the x-hotelid header (which
        the gateway has already checked)."""
        hotel_id = query_value(request, "hotelId") or request.headers.get("x-hotelid", "")
        return sandbox.enterprise.hotel(hotel_id)

    def external_systems(request: Request) -> list[str]:
        return [
            hotel_for(request).external_system(code, "externalSystemCodes")
            for code in query_values(request, "externalSystemCodes")
        ]

    async def get_profiles(request: Request) -> Response:
        limit, offset = page_params(request)
        profile_types = [
            str(as_enum(value, PROFILE_TYPES, "profileType")) for value in query_values(request, "profileType")
        ]
        rows = sandbox.enterprise.search_profiles(
            surname=query_value(request, "profileName"),
            given_name=query_value(request, "givenName"),
            email=query_value(request, "email"),
            phone=query_value(request, "phone"),
            city=query_value(request, "city"),
            country=query_value(request, "countryCode"),
            profile_ids=query_values(request, "profileIds"),
            profile_types=profile_types,
            external_ids=query_values(request, "externalReferenceIds"),
            external_systems=external_systems(request),
        )
        page, paging = paged(rows, limit, offset)
        if paging["totalResults"] > MAX_TOTAL_RESULTS:
            paging["totalResults"] = MAX_TOTAL_RESULTS
            paging["totalPages"] = (MAX_TOTAL_RESULTS + limit - 1) // limit
        return ohip_json({"profileSummaries": {"profileInfo": [profile_summary(p) for p in page], **paging}})

    async def get_profile(request: Request) -> Response:
        profile = sandbox.enterprise.profile(str(request.path_params["profileId"]))
        return ohip_json(profile_body(profile))

    async def get_profile_by_ext_id(request: Request) -> Response:
        system = hotel_for(request).external_system(str(request.path_params["extSystemCode"]), "extSystemCode")
        profile = sandbox.enterprise.profile_by_external_reference(
            system, str(request.path_params["profileExternalId"])
        )
        if profile is None:  # getProfileByExtId: 204 "ProfileByExtId not found."
            return Response(status_code=204)
        return ohip_json(profile_body(profile))

    async def post_profile(request: Request) -> Response:
        data = ProfileInput(await read_json(request))
        references = data.checked_references(hotel_for(request))
        if data.surname is None:
            raise bad_input(
                "A guest profile needs profileDetails.customer.personName with at least a surname",
                "profileDetails.customer.personName",
            )
        profile = sandbox.enterprise.create_profile(
            given_name=data.given_name or "",
            surname=data.surname,
            # A new profile has no records yet for an id to name: every record sent is added.
            contacts={
                kind: [replace(change, record_id=None) for change in changes]
                for kind, changes in data.contacts.items()
            },
            vip_status=data.vip_status,
            language=data.language or "E",
            profile_type=data.profile_type or "Guest",
            external_references=references or (),
        )
        # OHIP's 201 carries no id in the body: the new profile is named only by the Location header.
        return created(request, profile_path(profile.profile_id), {})

    async def put_profile(request: Request) -> Response:
        profile = sandbox.enterprise.profile(str(request.path_params["profileId"]))
        body = await read_json(request)
        named = find_id(body.get("profileIdList"), "Profile")
        if named is not None and named != profile.profile_id:
            raise bad_input(f"profileIdList names profile {named}, the path {profile.profile_id}", "profileIdList")
        data = ProfileInput(body)
        references = data.checked_references(hotel_for(request))
        # Checked in full before anything is stored (records merge by id).
        profile = sandbox.enterprise.update_profile(
            profile.profile_id,
            contacts=data.contacts,
            given_name=data.given_name,
            surname=data.surname,
            vip_status=data.vip_status,
            language=data.language,
            profile_type=data.profile_type,
            external_references=references,
        )
        return ohip_json(profile_body(profile))

    return [
        Route(f"{BASE}/profiles", get_profiles, methods=["GET"], name="getProfiles"),
        Route(f"{BASE}/profiles", post_profile, methods=["POST"], name="postProfile"),
        Route(f"{BASE}/profiles/{{profileId}}", get_profile, methods=["GET"], name="getProfile"),
        Route(f"{BASE}/profiles/{{profileId}}", put_profile, methods=["PUT"], name="putProfile"),
        Route(
            f"{BASE}/externalSystems/{{extSystemCode}}/profiles/{{profileExternalId}}",
            get_profile_by_ext_id,
            methods=["GET"],
            name="getProfileByExtId",
        ),
    ]
