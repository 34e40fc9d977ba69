"""ProfilesAPI against the sandbox over real HTTP: search, read, create (id from Location) and update."""

from __future__ import annotations

from typing import Any

import pytest

from app.opera.errors import OperaNotFoundError
from app.opera.http import OperaHTTP
from app.opera.profiles import GuestDetails, ProfilesAPI


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
