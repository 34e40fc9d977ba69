"""Finding a write again by the key its sender stamped on it, the way OHIP offers: reservation external references
(getHotelReservations by externalReferenceIds, getReservationByExtId), profile external references (getProfiles,
getProfileByExtId), and a charge's or payment's postingReference and postingRemark on the folio."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx2
import pytest

from tests.sandbox.test_crm import create, new_profile
from tests.sandbox.test_csh import charge, first_window, folio, guest_in_house, pay
from tests.sandbox.test_reservations import BD, RSV, booking

SYSTEM = "OPERAMCP"
BY_EXT = "/rsv/v1/hotels/SAND01/externalSystems"


def stamped(key: str, system: str = SYSTEM, days: int = 4) -> dict[str, Any]:
    arrival = BD + timedelta(days=days)
    body = booking(arrival, arrival + timedelta(days=2))
    body["reservations"]["reservation"][0]["externalReferences"] = [{"id": key, "idContext": system}]
    return body


async def book_stamped(ohip: httpx2.AsyncClient, key: str) -> str:
    response = await ohip.post(RSV, json=stamped(key))
    assert response.status_code == 201, response.text
    return str(response.headers["Location"].rsplit("/", 1)[1])


def ids_of(search: httpx2.Response) -> list[str]:
    assert search.status_code == 200, search.text
    rows = search.json()["reservations"]["reservationInfo"]
    return [next(i["id"] for i in row["reservationIdList"] if i["type"] == "Reservation") for row in rows]


# ---------------------------------------------------------------------------------------------- reservations


async def test_a_reservation_keeps_its_external_reference(ohip: httpx2.AsyncClient) -> None:
    response = await ohip.post(RSV, json=stamped("mcp-key-1"))
    assert response.status_code == 201, response.text
    created = response.json()["reservations"]["reservation"][0]
    assert created["externalReferences"] == [{"id": "mcp-key-1", "idContext": SYSTEM}]

    reservation_id = response.headers["Location"].rsplit("/", 1)[1]
    got = (await ohip.get(f"{RSV}/{reservation_id}")).json()["reservations"]["reservation"][0]
    assert got["externalReferences"] == [{"id": "mcp-key-1", "idContext": SYSTEM}]


async def test_search_by_external_reference_finds_the_reservation_and_only_it(ohip: httpx2.AsyncClient) -> None:
    wanted = await book_stamped(ohip, "mcp-key-2")
    await book_stamped(ohip, "mcp-key-3")

    params = [("externalReferenceIds", "mcp-key-2"), ("externalSystemCodes", SYSTEM)]
    found = await ohip.get(RSV, params=params)
    assert ids_of(found) == [wanted]
    assert "externalReferences" not in found.json()["reservations"]["reservationInfo"][0]

    shown = await ohip.get(RSV, params=[*params, ("resvExternalReferencesToFetch", SYSTEM)])
    row = shown.json()["reservations"]["reservationInfo"][0]
    assert row["externalReferences"] == [{"id": "mcp-key-2", "idContext": SYSTEM}]

    missing = await ohip.get(RSV, params=[("externalReferenceIds", "never-sent"), ("externalSystemCodes", SYSTEM)])
    assert ids_of(missing) == []


async def test_get_reservation_by_ext_id_answers_like_get_reservation(ohip: httpx2.AsyncClient) -> None:
    reservation_id = await book_stamped(ohip, "mcp-key-4")

    by_ext = await ohip.get(f"{BY_EXT}/{SYSTEM}/reservations/mcp-key-4")
    direct = await ohip.get(f"{RSV}/{reservation_id}")
    assert by_ext.status_code == 200, by_ext.text
    assert by_ext.json() == direct.json()

    lower_case_code = await ohip.get(f"{BY_EXT}/operamcp/reservations/mcp-key-4")
    assert lower_case_code.status_code == 200

    missing = await ohip.get(f"{BY_EXT}/{SYSTEM}/reservations/never-sent")
    assert missing.status_code == 204 and missing.content == b""  # Oracle: 204 "ReservationByExtId not found."


@pytest.mark.parametrize(
    ("call", "where"),
    [
        ("by_ext_id", "externalSystemCode"),
        ("search", "externalSystemCodes"),
        ("search_default_code", "externalSystemCodes"),
        ("book", "externalReferences[0].idContext"),
    ],
)
async def test_an_unconfigured_external_system_is_refused(ohip: httpx2.AsyncClient, call: str, where: str) -> None:
    if call == "by_ext_id":
        response = await ohip.get(f"{BY_EXT}/NOSUCHSYS/reservations/k")
    elif call == "search":
        response = await ohip.get(RSV, params=[("externalReferenceIds", "k"), ("externalSystemCodes", "NOSUCHSYS")])
    elif call == "search_default_code":  # the spec's default system, "External", is not configured here
        response = await ohip.get(RSV, params={"externalReferenceIds": "k"})
    else:
        response = await ohip.post(RSV, json=stamped("k", system="NOSUCHSYS"))
    assert response.status_code == 400, response.text
    error = response.json()
    assert error["o:errorCode"] == "OHIPSIM-EXTSYS" and error["o:errorPath"] == where
    assert "not configured" in error["detail"] and SYSTEM in error["detail"]


@pytest.mark.sandbox(external_systems=("OPERAMCP", "CRS"))
async def test_a_change_sets_one_reference_per_external_system(ohip: httpx2.AsyncClient) -> None:
    reservation_id = await book_stamped(ohip, "mcp-key-5")
    change = {
        "reservations": [
            {
                "reservationIdList": [{"id": reservation_id, "type": "Reservation"}],
                "hotelId": "SAND01",
                "externalReferences": [{"id": "CRS-778", "idContext": "CRS"}],
            }
        ]
    }
    response = await ohip.put(f"{RSV}/{reservation_id}", json=change)
    assert response.status_code == 200, response.text

    got = (await ohip.get(f"{RSV}/{reservation_id}")).json()["reservations"]["reservation"][0]
    assert got["externalReferences"] == [
        {"id": "mcp-key-5", "idContext": SYSTEM},
        {"id": "CRS-778", "idContext": "CRS"},
    ]
    assert (await ohip.get(f"{BY_EXT}/CRS/reservations/CRS-778")).status_code == 200


async def test_external_reference_limits_follow_rsv(ohip: httpx2.AsyncClient) -> None:
    too_long = await ohip.post(RSV, json=stamped("k" * 51))
    assert too_long.status_code == 400 and too_long.json()["o:errorPath"] == "externalReferences[0].id"

    no_system = stamped("k")
    del no_system["reservations"]["reservation"][0]["externalReferences"][0]["idContext"]
    refused = await ohip.post(RSV, json=no_system)
    assert refused.status_code == 400 and refused.json()["o:errorPath"] == "externalReferences[0].idContext"


# -------------------------------------------------------------------------------------------------- profiles


def stamped_profile(key: str, surname: str, system: str = SYSTEM) -> dict[str, Any]:
    body: dict[str, Any] = new_profile("Nora", surname)
    body["externalReferences"] = [{"id": key, "idContext": system}]
    return body


async def test_a_profile_is_found_again_by_its_external_reference(ohip: httpx2.AsyncClient) -> None:
    profile_id = await create(ohip, stamped_profile("mcp-guest-1", "Keyholder"))
    await create(ohip, stamped_profile("mcp-guest-2", "Keyholder"))

    fetched = (await ohip.get(f"/crm/v1/profiles/{profile_id}")).json()
    assert fetched["externalReferences"] == [{"id": "mcp-guest-1", "idContext": SYSTEM}]

    by_ext = await ohip.get(f"/crm/v1/externalSystems/{SYSTEM}/profiles/mcp-guest-1")
    assert by_ext.status_code == 200, by_ext.text
    assert by_ext.json() == fetched

    search = await ohip.get(
        "/crm/v1/profiles", params=[("externalReferenceIds", "mcp-guest-1"), ("externalSystemCodes", SYSTEM)]
    )
    rows = search.json()["profileSummaries"]["profileInfo"]
    assert [row["profileIdList"][0]["id"] for row in rows] == [profile_id]


async def test_a_profile_lookup_by_an_unknown_key_finds_nothing(ohip: httpx2.AsyncClient) -> None:
    by_ext = await ohip.get(f"/crm/v1/externalSystems/{SYSTEM}/profiles/never-sent")
    assert by_ext.status_code == 204 and by_ext.content == b""  # Oracle: 204 "ProfileByExtId not found."

    search = await ohip.get("/crm/v1/profiles", params={"externalReferenceIds": "never-sent"})
    assert search.status_code == 200
    assert search.json()["profileSummaries"]["profileInfo"] == []


async def test_profiles_refuse_an_unconfigured_external_system(ohip: httpx2.AsyncClient) -> None:
    by_ext = await ohip.get("/crm/v1/externalSystems/NOSUCHSYS/profiles/k")
    search = await ohip.get("/crm/v1/profiles", params=[("externalReferenceIds", "k"), ("externalSystemCodes", "X1")])
    created = await ohip.post("/crm/v1/profiles", json=stamped_profile("k", "Nobody", system="NOSUCHSYS"))

    for response, where in (
        (by_ext, "extSystemCode"),
        (search, "externalSystemCodes"),
        (created, "externalReferences[0].idContext"),
    ):
        assert response.status_code == 400, response.text
        assert response.json()["o:errorPath"] == where and "not configured" in response.json()["detail"]


# ------------------------------------------------------------------------------------------ charges, payments


async def test_posting_reference_and_remark_come_back_on_the_folio(ohip: httpx2.AsyncClient) -> None:
    reservation_id = await guest_in_house(ohip)
    # a key with a 12-digit run that is not a card number (it fails the Luhn check) must come back untouched
    key = "mcp-5f0c2e1a-446655440000"
    charged = await charge(
        ohip,
        reservation_id,
        {"transactionCode": "2000", "price": {"amount": 12.5}, "postingReference": key, "postingRemark": "Lunch"},
    )
    paid = await pay(ohip, reservation_id, 12.5, postingReference=key + "-pay", postingRemark="Settled at desk")
    assert charged.status_code == 201 and paid.status_code == 201, (charged.text, paid.text)

    window = first_window(await folio(ohip, reservation_id, ("fetchInstructions", "Postings")))
    postings = window["folios"][0]["postings"]
    lines = {p["transactionNo"]: (p.get("reference"), p.get("remark")) for p in postings}
    assert lines[charged.json()["postings"][0]["transactionNo"]] == (key, "Lunch")
    assert lines[paid.json()["postings"][0]["transactionNo"]] == (key + "-pay", "Settled at desk")
