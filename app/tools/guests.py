"""Guests toolset: find, read, create and update guest profiles (OHIP crm)."""

from collections.abc import Mapping
from typing import Annotated, Any

from mcp.server.mcpserver.exceptions import ToolError
from pydantic import AfterValidator, BaseModel, Field

from app.opera.errors import OperaError, OperaNotFoundError
from app.opera.lov import HotelCodeError
from app.opera.models import OperaWarning, PageInfo
from app.opera.profiles import Guest, GuestDetails, GuestSummary, ProfilesAPI
from app.tools.registry import ExactlyOnce, IdempotencyKey, ToolDef, ToolServices, tool_error
from app.tools.reservations import HotelId

ProfileId = Annotated[
    str,
    Field(description="OPERA guest profile id (profile_id from search_guests)", min_length=1, max_length=40,
          pattern=r"^[A-Za-z0-9_-]+$"),
]
Name = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[^\x00-\x1f<>{}]+$")]
Email = Annotated[str, Field(max_length=200, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$",
                             description="e-mail address, e.g. ann@example.com")]
Phone = Annotated[str, Field(max_length=40, pattern=r"^\+?[0-9 ().\-/]{3,40}$",
                             description="phone number, digits with optional +, spaces, dashes")]
#: OPERA holds country codes in capitals, so a lower-case code is accepted and raised.
Country = Annotated[
    str, Field(pattern=r"^[A-Za-z]{2,3}$", description="country code, e.g. US"), AfterValidator(str.upper)
]
Line = Annotated[str, Field(min_length=1, max_length=80)]
AddressLines = Annotated[list[Line] | None, Field(description="street address lines", max_length=4)]
City = Annotated[str | None, Field(max_length=40)]
PostalCode = Annotated[str | None, Field(max_length=15)]
State = Annotated[str | None, Field(max_length=20)]
Language = Annotated[
    str | None, Field(description="language code, e.g. E", max_length=8, pattern=r"^[A-Za-z]{1,8}$")
]


class GuestSearchResult(BaseModel):
    guests: list[GuestSummary]
    page: PageInfo = Field(description="paging: when has_more, call again with offset=next_offset")


class CreatedGuest(BaseModel):
    profile_id: str = Field(description="the new profile's id; use it with create_reservation")
    guest: Guest | None = Field(default=None, description="the profile as OPERA holds it")
    warnings: list[OperaWarning] = Field(default_factory=list)
    next_step: str


class UpdatedGuest(BaseModel):
    guest: Guest = Field(description="the profile as OPERA now holds it")
    changed: list[str]
    warnings: list[OperaWarning] = Field(default_factory=list)


def build(services: ToolServices) -> list[ToolDef]:
    profiles = ProfilesAPI(services.http)

    async def read_guest(hotel: str, profile_id: str, tool: str, *, fresh: bool = False) -> Guest:
        try:
            return await profiles.get(hotel, profile_id, fresh=fresh)
        except OperaNotFoundError as exc:
            raise ToolError(
                f"no guest profile {profile_id} ({exc.describe()}); find the guest with search_guests by surname "
                "or email, or create_guest"
            ) from None
        except OperaError as exc:
            raise tool_error(exc, what=f"{tool} reading profile {profile_id}", next_step="retry shortly") from None

    async def search_guests(
        surname: Annotated[str | None, Field(description="surname (prefix match)", max_length=80)] = None,
        given_name: Annotated[str | None, Field(description="given name (prefix match)", max_length=40)] = None,
        email: Annotated[str | None, Field(description="exact e-mail address", max_length=200)] = None,
        phone: Annotated[str | None, Field(description="phone number (matches the end of the number)",
                                           max_length=40)] = None,
        limit: Annotated[int, Field(ge=1, le=100, description="rows per page (1-100)")] = 20,
        offset: Annotated[int, Field(ge=0, description="rows to skip (from page.next_offset)")] = 0,
        hotel_id: HotelId = None,
    ) -> GuestSearchResult:
        hotel = services.hotel(hotel_id)
        if not any(v and v.strip() for v in (surname, given_name, email, phone)):
            raise ToolError("give at least one of surname, given_name, email or phone to search guest profiles")
        try:
            page = await profiles.search(hotel, surname=surname, given_name=given_name, email=email, phone=phone,
                                         limit=limit, offset=offset)
        except OperaError as exc:
            raise tool_error(exc, what="search_guests", next_step="check the criteria and try again") from None
        return GuestSearchResult(guests=page.items, page=page.page)

    async def get_guest(profile_id: ProfileId, hotel_id: HotelId = None) -> Guest:
        hotel = services.hotel(hotel_id)
        return await read_guest(hotel, profile_id, "get_guest")

    async def create_guest(
        surname: Annotated[Name, Field(description="surname (required)")],
        given_name: Annotated[Name | None, Field(description="given name")] = None,
        email: Email | None = None,
        phone: Phone | None = None,
        address_lines: AddressLines = None,
        city: City = None,
        postal_code: PostalCode = None,
        state: State = None,
        country: Country | None = None,
        language: Language = None,
        hotel_id: HotelId = None,
        idempotency_key: IdempotencyKey = None,
    ) -> CreatedGuest:
        hotel = services.hotel(hotel_id)
        details = GuestDetails(
            given_name=given_name, surname=surname, email=email, phone=phone, address_lines=address_lines,
            city=city, postal_code=postal_code, state=state, country=country,
            language=language,
        )
        try:
            profile_id, warnings = await profiles.create(hotel, details, external_reference=services.stamp())
        except HotelCodeError as exc:
            raise code_error("create_guest", exc) from None
        except OperaError as exc:
            raise tool_error(exc, what="create_guest", next_step="check the name and contact details; "
                                                                 "search_guests first to avoid a duplicate") from None
        guest: Guest | None = None
        try:
            guest = await profiles.get(hotel, profile_id)
        except OperaError as exc:
            warnings.append(OperaWarning(message=f"profile {profile_id} was created but not read back: "
                                                 f"{exc.describe()}"))
        return created_guest(profile_id, guest, warnings)

    def code_error(what: str, exc: HotelCodeError) -> ToolError:
        return ToolError(
            f"{what} failed before anything was sent to OPERA: {exc.describe()}. Next step: this needs an "
            "operator; meanwhile the name, language and VIP code can be changed without the e-mail, phone or address"
        )

    def created_guest(profile_id: str, guest: Guest | None, warnings: list[OperaWarning]) -> CreatedGuest:
        return CreatedGuest(
            profile_id=profile_id, guest=guest, warnings=warnings,
            next_step=f"book with create_reservation profile_id={profile_id} (after check_availability)",
        )

    async def find_guest(args: Mapping[str, Any], reference: str) -> CreatedGuest | None:
        guest = await profiles.find_by_external_reference(str(args["hotel_id"]), services.external_reference(reference))
        return created_guest(guest.profile_id, guest, []) if guest is not None else None

    async def update_guest(
        profile_id: ProfileId,
        given_name: Name | None = None,
        surname: Name | None = None,
        email: Email | None = None,
        phone: Phone | None = None,
        address_lines: AddressLines = None,
        city: City = None,
        postal_code: PostalCode = None,
        state: State = None,
        country: Country | None = None,
        language: Language = None,
        vip: Annotated[str | None, Field(description="VIP code, e.g. GLD", max_length=20,
                                         pattern=r"^[A-Za-z0-9_-]*$")] = None,
        hotel_id: HotelId = None,
    ) -> UpdatedGuest:
        hotel = services.hotel(hotel_id)
        details = GuestDetails(
            given_name=given_name, surname=surname, email=email, phone=phone, address_lines=address_lines,
            city=city, postal_code=postal_code, state=state, country=country,
            language=language, vip=vip,
        )
        changed = details.changed()
        if not changed:
            raise ToolError(
                "nothing to change: give at least one of given_name, surname, email, phone, address_lines, city, "
                "postal_code, state, country, language, vip"
            )
        current = await read_guest(hotel, profile_id, "update_guest", fresh=True)  # the change is built from it
        try:
            updated = await profiles.update(hotel, current, details)
        except HotelCodeError as exc:
            raise code_error(f"update_guest {profile_id}", exc) from None
        except OperaError as exc:
            raise tool_error(exc, what=f"update_guest {profile_id}",
                             next_step="check the new values and try again") from None
        return UpdatedGuest(guest=updated, changed=changed, warnings=updated.warnings)

    return [
        ToolDef(
            name="search_guests", toolset="guests", access="read", fn=search_guests, title="Search guest profiles",
            description=(
                "Find guest profiles by surname, given name, e-mail or phone (at least one), for the profile_id "
                "create_reservation takes, and before create_guest to avoid duplicates. Paged: "
                "offset=page.next_offset."
            ),
            read_only=True, idempotent=True,
        ),
        ToolDef(
            name="get_guest", toolset="guests", access="read", fn=get_guest, title="Get a guest profile",
            description=(
                "One guest profile (name, e-mail, phone, address, VIP, language) by profile_id. Next: update_guest, or "
                "create_reservation with the profile_id."
            ),
            read_only=True, idempotent=True,
        ),
        ToolDef(
            name="create_guest", toolset="guests", access="write", fn=create_guest, title="Create a guest profile",
            description=(
                "Create a guest profile: surname; optionally given name, e-mail, phone, address. search_guests first "
                "so the guest is not created twice. Returns profile_id; next: create_reservation."
            ),
            exactly_once=ExactlyOnce(find_guest, found_by="the profile's external reference", check_first=True),
        ),
        ToolDef(
            name="update_guest", toolset="guests", access="write", fn=update_guest, title="Update a guest profile",
            description=(
                "Correct or complete a guest profile: name, e-mail, phone, address, language or VIP code. Give only "
                "what changes; a new e-mail, phone or address replaces the primary one. Returns the profile as OPERA "
                "holds it."
            ),
            idempotent=True,
        ),
    ]
