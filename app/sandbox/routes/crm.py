"""Sandbox routes for the OHIP crm module: guest profile search, read, create and update (`/crm/v1/profiles`).

Profiles are enterprise-wide, so these paths carry no hotel; the gateway still insists on `x-hotelid`.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from app.sandbox.routes.common import (
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
from app.sandbox.state import ExternalReference, Hotel, Profile, merge_external_references

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


def _address(profile: Profile) -> dict[str, Any] | None:
    if not any((profile.address_line, profile.city, profile.postal_code, profile.state, profile.country)):
        return None
    address: dict[str, Any] = {"type": "HOME", "primaryInd": True}
    if profile.address_line:
        address["addressLine"] = [profile.address_line]
    if profile.city:
        address["cityName"] = profile.city
    if profile.postal_code:
        address["postalCode"] = profile.postal_code
    if profile.state:
        address["state"] = profile.state
    if profile.country:
        address["country"] = {"code": profile.country}
    return address


def _email(profile: Profile) -> dict[str, Any] | None:
    if not profile.email:
        return None
    return {"emailAddress": profile.email, "type": "EMAIL", "primaryInd": True}


def _telephone(profile: Profile) -> dict[str, Any] | None:
    if not profile.phone:
        return None
    return {"phoneTechType": "PHONE", "phoneUseType": "MOBILE", "phoneNumber": profile.phone, "primaryInd": True}


def profile_details(profile: Profile) -> dict[str, Any]:
    """`profileType` (the body of getProfile's `profileDetails`)."""
    customer: dict[str, Any] = {
        "personName": [{"givenName": profile.given_name, "surname": profile.surname, "nameType": "Primary"}],
        "language": profile.language,
    }
    if profile.vip_status:
        customer["vipStatus"] = profile.vip_status
    details: dict[str, Any] = {"customer": customer}
    address, email, telephone = _address(profile), _email(profile), _telephone(profile)
    if address:
        details["addresses"] = {"addressInfo": [{"address": address}], "totalResults": 1, "count": 1}
    if telephone:
        details["telephones"] = {"telephoneInfo": [{"telephone": telephone}], "totalResults": 1, "count": 1}
    if email:
        details["emails"] = {"emailInfo": [{"email": email}], "totalResults": 1, "count": 1}
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
    address, email, telephone = _address(profile), _email(profile), _telephone(profile)
    if address:
        summary["addressInfo"] = {"address": address}
    if telephone:
        summary["telephoneInfo"] = {"telephone": telephone}
    if email:
        summary["emailInfo"] = {"email": email}
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
        self.email = self._first(details, "emails", "emailInfo", "email", "emailAddress", 2000)
        if self.email and not _EMAIL.match(self.email):
            raise bad_input(
                f"{self.email!r} is not an email address", "profileDetails.emails.emailInfo.email.emailAddress"
            )
        self.phone = self._first(details, "telephones", "telephoneInfo", "telephone", "phoneNumber", PHONE_MAX)
        self.address: dict[str, str | None] | None = self._address(details)
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
    def _entries(details: dict[str, Any], section: str, list_key: str, item_key: str) -> list[dict[str, Any]] | None:
        """The items of e.g. `emails.emailInfo[].email`, primary first; None when the section is absent."""
        if section not in details:
            return None
        block = details.get(section)
        # Lenient: a bare list instead of {emailInfo: [...]}, or a lone item object.
        infos = as_list(block.get(list_key) if isinstance(block, dict) else block)
        items: list[dict[str, Any]] = []
        for info in infos:
            if isinstance(info, dict):
                inner = info.get(item_key)
                items.append(inner if isinstance(inner, dict) else info)
        return sorted(items, key=lambda item: item.get("primaryInd") is not True)

    def _first(
        self, details: dict[str, Any], section: str, list_key: str, item_key: str, field: str, limit: int
    ) -> str | None:
        items = self._entries(details, section, list_key, item_key)
        if items is None:
            return None
        if not items:
            return ""  # the section was sent empty: the caller clears it
        path = f"profileDetails.{section}.{list_key}.{item_key}.{field}"
        return as_text(items[0].get(field), path, max_length=limit) or ""

    def _address(self, details: dict[str, Any]) -> dict[str, str | None] | None:
        items = self._entries(details, "addresses", "addressInfo", "address")
        if items is None:
            return None
        if not items:
            return {"address_line": None, "city": None, "postal_code": None, "state": None, "country": None}
        raw = items[0]
        path = "profileDetails.addresses.addressInfo.address"
        lines = [as_text(line, f"{path}.addressLine", max_length=80) for line in as_list(raw.get("addressLine"))]
        country = raw.get("country")
        country_code = country.get("code") if isinstance(country, dict) else country
        return {
            "address_line": ", ".join(line for line in lines if line) or None,
            "city": as_text(raw.get("cityName"), f"{path}.cityName", max_length=40),
            "postal_code": as_text(raw.get("postalCode"), f"{path}.postalCode", max_length=15),
            "state": as_text(raw.get("state"), f"{path}.state", max_length=20),
            "country": (as_text(country_code, f"{path}.country.code", max_length=20) or "").upper() or None,
        }


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
        return ohip_json(profile_body(profile))

    async def post_profile(request: Request) -> Response:
        data = ProfileInput(await read_json(request))
        references = data.checked_references(hotel_for(request))
        if data.surname is None:
            raise bad_input(
                "A guest profile needs profileDetails.customer.personName with at least a surname",
                "profileDetails.customer.personName",
            )
        address = data.address or {}
        profile = sandbox.enterprise.create_profile(
            given_name=data.given_name or "",
            surname=data.surname,
            email=data.email or None,
            phone=data.phone or None,
            address_line=address.get("address_line"),
            city=address.get("city"),
            postal_code=address.get("postal_code"),
            state=address.get("state"),
            country=address.get("country"),
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
        if data.surname is not None and not data.surname:
            raise bad_input(
                "A guest profile cannot lose its surname; send the surname with the name",
                "profileDetails.customer.personName.surname",
            )
        # Validated in full above; only now is the stored profile touched.
        if data.surname is not None:
            profile.surname = data.surname
            profile.given_name = data.given_name or ""
        if data.email is not None:
            profile.email = data.email or None
        if data.phone is not None:
            profile.phone = data.phone or None
        if data.address is not None:
            profile.address_line = data.address["address_line"]
            profile.city = data.address["city"]
            profile.postal_code = data.address["postal_code"]
            profile.state = data.address["state"]
            profile.country = data.address["country"]
        if data.vip_status is not None:
            profile.vip_status = data.vip_status or None
        if data.language is not None:
            profile.language = data.language
        if data.profile_type is not None:
            profile.profile_type = data.profile_type
        if references is not None:
            profile.external_references = merge_external_references(profile.external_references, references)
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
