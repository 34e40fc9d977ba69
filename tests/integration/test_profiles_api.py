"""ProfilesAPI against the sandbox over real HTTP: search, read, create (id from Location) and update."""

from __future__ import annotations

from typing import Any

import pytest

from app.opera.errors import OperaNotFoundError
from app.opera.http import OperaHTTP
from app.opera.lov import ADDRESS_TYPE, COMMENT_TYPE, EMAIL_TYPE, PHONE_TYPE, HotelCodeError, HotelCodes
from app.opera.profiles import PUT_PROFILE, GuestDetails, ProfilesAPI


@pytest.fixture
def api(http: OperaHTTP) -> ProfilesAPI:
    return ProfilesAPI(http)


async def test_create_then_find_and_read_a_guest(api: ProfilesAPI, sandbox_server: Any) -> None:
    details = GuestDetails(
        given_name="Ottilie", surname="Brackenridge", email="ottilie@example.com", phone="+1 555 0142",
        address_lines=("12 Elm St",), city="Austin", postal_code="78701", state="TX", country="US",
    )

    profile_id, _ = await api.create("SAND01", details)

    post = next(x for x in sandbox_server.sandbox.requests if x.operation_id == "postProfile")
    assert post.response_headers.get("location", "").endswith(f"/profiles/{profile_id}")
    guest = await api.get("SAND01", profile_id)
    assert (guest.given_name, guest.surname, guest.name) == ("Ottilie", "Brackenridge", "Ottilie Brackenridge")
    assert (guest.email, guest.phone) == ("ottilie@example.com", "+1 555 0142")
    assert guest.address is not None and guest.address.city == "Austin" and guest.address.country == "US"
    assert guest.address.lines == ["12 Elm St"]

    page = await api.search("SAND01", surname="Brackenridge")
    assert [g.profile_id for g in page.items] == [profile_id]
    assert page.items[0].email == "ottilie@example.com"
    by_mail = await api.search("SAND01", email="ottilie@example.com")
    assert [g.profile_id for g in by_mail.items] == [profile_id]


async def test_update_changes_only_what_is_given(api: ProfilesAPI, sandbox_server: Any) -> None:
    profile_id, _ = await api.create("SAND01", GuestDetails(
        given_name="Piet", surname="Vandermolen", email="piet@example.com", city="Austin", country="US",
    ))
    current = await api.get("SAND01", profile_id)

    updated = await api.update("SAND01", current, GuestDetails(phone="+31 20 555 0101", city="Amsterdam",
                                                               country="NL"))

    assert updated.phone == "+31 20 555 0101" and updated.city == "Amsterdam" and updated.country == "NL"
    assert (updated.given_name, updated.surname, updated.email) == ("Piet", "Vandermolen", "piet@example.com")
    put = next(x for x in sandbox_server.sandbox.requests if x.operation_id == "putProfile")
    assert set(put.json["profileDetails"]) == {"telephones", "addresses"}
    # The profile had an address (Austin): it is replaced by its id; it had no phone: one is added, without an id.
    held = sandbox_server.sandbox.enterprise.profiles[profile_id]
    (address,) = put.json["profileDetails"]["addresses"]["addressInfo"]
    assert address["id"] == held.addresses[0].record_id and len(held.addresses) == 1
    (phone,) = put.json["profileDetails"]["telephones"]["telephoneInfo"]
    assert "id" not in phone and phone["telephone"]["phoneUseType"] == "CELL"


async def test_a_read_names_the_primary_records_an_update_replaces(api: ProfilesAPI, sandbox_server: Any) -> None:
    profile_id, _ = await api.create("SAND01", GuestDetails(surname="Twomails", email="one@example.com"))
    held = sandbox_server.sandbox.enterprise.profiles[profile_id]
    # Someone at the desk adds a second, primary e-mail; ours must replace that one and leave the first.
    await api.http.call(
        PUT_PROFILE, hotel_id="SAND01",
        path_params={"profileId": profile_id},
        json={"profileDetails": {"emails": {"emailInfo": [
            {"email": {"emailAddress": "desk@example.com", "type": "BUSINESSEMAIL", "primaryInd": True}}
        ]}}},
    )

    current = await api.get("SAND01", profile_id, fresh=True)
    updated = await api.update("SAND01", current, GuestDetails(email="two@example.com"))

    assert updated.email == "two@example.com"
    assert [(e.address, e.type, e.primary) for e in held.emails] == [
        ("one@example.com", "EMAIL", False), ("two@example.com", "BUSINESSEMAIL", True)
    ]


async def test_hotel_codes_are_the_lists_first_or_the_configured_one_checked(
    http: OperaHTTP, opera_client: Any, sandbox_server: Any,
) -> None:
    codes = HotelCodes(http)
    assert [await codes.code("SAND01", kind) for kind in (PHONE_TYPE, EMAIL_TYPE, ADDRESS_TYPE, COMMENT_TYPE)] == [
        "CELL", "EMAIL", "HOME", "GEN"
    ]

    configured = opera_client(sandbox_server.url, phone_type="business", comment_type="HSK")
    await configured.start()
    try:
        chosen = HotelCodes(configured)
        assert await chosen.code("SAND01", PHONE_TYPE) == "BUSINESS"  # OPERA's spelling of the code
        assert await chosen.code("SAND01", COMMENT_TYPE) == "HSK"
    finally:
        await configured.aclose()

    wrong = opera_client(sandbox_server.url, email_type="PERSONAL")
    await wrong.start()
    try:
        with pytest.raises(HotelCodeError) as raised:
            await HotelCodes(wrong).code("SAND01", EMAIL_TYPE)
    finally:
        await wrong.aclose()
    assert "OPERA_EMAIL_TYPE=PERSONAL" in raised.value.message and "EMAIL, BUSINESSEMAIL" in raised.value.message


async def test_search_pages_and_reports_more(api: ProfilesAPI) -> None:
    made = {(await api.create("SAND01", GuestDetails(given_name=g, surname="Pagewright")))[0] for g in "ABC"}

    first = await api.search("SAND01", surname="Pagewright", limit=2)
    second = await api.search("SAND01", surname="Pagewright", limit=2, offset=first.page.next_offset or 0)

    assert first.page.has_more and first.page.next_offset == 2 and first.page.count == 2
    assert second.page.has_more is False and second.page.count == 1
    assert {g.profile_id for g in first.items} | {g.profile_id for g in second.items} == made


async def test_unknown_profile_is_not_found(api: ProfilesAPI) -> None:
    with pytest.raises(OperaNotFoundError):
        await api.get("SAND01", "987654321")
