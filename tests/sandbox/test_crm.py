"""The sandbox's crm routes over real HTTP: profile search, read, create and update, and their refusals."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from app.config import SANDBOX_APP_KEY, SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET
from tests.contract.plugin import SandboxServer


@pytest.fixture
def ohip(sandbox_server: SandboxServer) -> Iterator[httpx.Client]:
    """A client holding a fresh token and the headers OHIP wants on every business call."""
    token = httpx.post(
        f"{sandbox_server.url}/oauth/v1/tokens",
        auth=(SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET),
        headers={"x-app-key": SANDBOX_APP_KEY},
        data={"grant_type": "client_credentials", "scope": "urn:opc:hgbu:ws:__myscopes__"},
    ).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}", "x-app-key": SANDBOX_APP_KEY, "x-hotelid": "SAND01"}
    with httpx.Client(base_url=sandbox_server.url, headers=headers) as client:
        yield client


def new_profile(given: str, surname: str, **details: object) -> dict[str, object]:
    profile: dict[str, object] = {
        "customer": {"personName": [{"givenName": given, "surname": surname, "nameType": "Primary"}]},
        "profileType": "Guest",
    }
    profile.update(details)
    return {"profileDetails": profile}


def create(ohip: httpx.Client, body: dict[str, object]) -> str:
    response = ohip.post("/crm/v1/profiles", json=body)
    assert response.status_code == 201, response.text
    location = response.headers["location"]
    assert location.startswith("http://127.0.0.1:")
    return location.rsplit("/", 1)[1]


def test_post_profile_answers_201_with_the_id_only_in_location(ohip: httpx.Client) -> None:
    email = {"emailInfo": [{"email": {"emailAddress": "ines.quarto@example.com", "type": "EMAIL"}}]}
    response = ohip.post("/crm/v1/profiles", json=new_profile("Ines", "Quarto", emails=email))

    assert response.status_code == 201
    profile_id = response.headers["location"].rsplit("/", 1)[1]
    assert profile_id not in response.text
    fetched = ohip.get(f"/crm/v1/profiles/{profile_id}").json()
    assert fetched["profileIdList"][0] == {"id": profile_id, "type": "Profile", "idContext": "OPERA"}
    details = fetched["profileDetails"]
    assert details["customer"]["personName"][0] == {"givenName": "Ines", "surname": "Quarto", "nameType": "Primary"}
    assert details["emails"]["emailInfo"][0]["email"]["emailAddress"] == "ines.quarto@example.com"


def test_post_profile_without_a_surname_is_refused_naming_the_field(ohip: httpx.Client) -> None:
    response = ohip.post("/crm/v1/profiles", json=new_profile("Ines", ""))
    assert response.status_code == 400
    assert "surname" in response.json()["detail"]

    response = ohip.post("/crm/v1/profiles", json={"profileDetails": {"profileType": "Guest"}})
    assert response.status_code == 400
    assert response.json()["o:errorPath"] == "profileDetails.customer.personName"


def test_post_profile_refuses_a_malformed_email(ohip: httpx.Client) -> None:
    email = {"emailInfo": [{"email": {"emailAddress": "not-an-address"}}]}
    response = ohip.post("/crm/v1/profiles", json=new_profile("Ines", "Quarto", emails=email))
    assert response.status_code == 400
    assert "not-an-address" in response.json()["detail"]


def test_search_finds_profiles_by_surname_prefix_and_given_name(ohip: httpx.Client) -> None:
    wanted = create(ohip, new_profile("Zelda", "Quartermaine"))
    create(ohip, new_profile("Yann", "Quartermaine"))

    rows = ohip.get("/crm/v1/profiles", params={"profileName": "quarterm", "givenName": "Zel"}).json()
    block = rows["profileSummaries"]
    assert [r["profileIdList"][0]["id"] for r in block["profileInfo"]] == [wanted]
    assert block["profileInfo"][0]["profile"]["formerName"]["name"] == "Quartermaine"
    assert block["totalResults"] == 1
    assert block["hasMore"] is False


def test_search_by_email_and_by_profile_ids(ohip: httpx.Client) -> None:
    email = {"emailInfo": [{"email": {"emailAddress": "olga.vrba@example.com"}}]}
    by_email = create(ohip, new_profile("Olga", "Vrba", emails=email))
    other = create(ohip, new_profile("Petr", "Vrba"))

    found = ohip.get("/crm/v1/profiles", params={"email": "OLGA.VRBA@example.com"}).json()
    assert [r["profileIdList"][0]["id"] for r in found["profileSummaries"]["profileInfo"]] == [by_email]
    found = ohip.get("/crm/v1/profiles", params=[("profileIds", by_email), ("profileIds", other)]).json()
    assert {r["profileIdList"][0]["id"] for r in found["profileSummaries"]["profileInfo"]} == {by_email, other}


def test_search_pages_through_the_seeded_guests(ohip: httpx.Client) -> None:
    first = ohip.get("/crm/v1/profiles", params={"limit": 5}).json()["profileSummaries"]
    second = ohip.get("/crm/v1/profiles", params={"limit": 5, "offset": 5}).json()["profileSummaries"]

    assert first["count"] == 5 and first["hasMore"] is True
    assert first["totalResults"] > 10
    first_ids = {r["profileIdList"][0]["id"] for r in first["profileInfo"]}
    second_ids = {r["profileIdList"][0]["id"] for r in second["profileInfo"]}
    assert len(second_ids) == 5 and not first_ids & second_ids


def test_search_limit_above_200_is_refused(ohip: httpx.Client) -> None:
    response = ohip.get("/crm/v1/profiles", params={"limit": 201})
    assert response.status_code == 400
    assert "200" in response.json()["detail"]
    assert ohip.get("/crm/v1/profiles", params={"limit": 200}).status_code == 200


def test_get_unknown_profile_is_404(ohip: httpx.Client) -> None:
    response = ohip.get("/crm/v1/profiles/999999999")
    assert response.status_code == 404
    assert "999999999" in response.json()["detail"]


def test_put_profile_changes_name_contact_address_and_vip(ohip: httpx.Client) -> None:
    profile_id = create(ohip, new_profile("Ann", "Smyth"))
    change = new_profile(
        "Anna",
        "Smith",
        emails={"emailInfo": [{"email": {"emailAddress": "anna.smith@example.com", "primaryInd": True}}]},
        telephones={"telephoneInfo": [{"telephone": {"phoneNumber": "+1 555 0199"}}]},
        addresses={
            "addressInfo": [
                {"address": {"addressLine": ["1 Main St"], "cityName": "Austin", "country": {"code": "us"}}}
            ]
        },
    )
    change["profileDetails"]["customer"]["vipStatus"] = "GLD"  # type: ignore[index]

    response = ohip.put(f"/crm/v1/profiles/{profile_id}", json=change)

    assert response.status_code == 200, response.text
    details = ohip.get(f"/crm/v1/profiles/{profile_id}").json()["profileDetails"]
    assert details["customer"]["personName"][0]["givenName"] == "Anna"
    assert details["customer"]["personName"][0]["surname"] == "Smith"
    assert details["customer"]["vipStatus"] == "GLD"
    assert details["telephones"]["telephoneInfo"][0]["telephone"]["phoneNumber"] == "+1 555 0199"
    address = details["addresses"]["addressInfo"][0]["address"]
    assert (address["cityName"], address["country"]["code"]) == ("Austin", "US")
    rows = ohip.get("/crm/v1/profiles", params={"profileName": "Smith", "email": "anna.smith@example.com"}).json()
    assert [r["profileIdList"][0]["id"] for r in rows["profileSummaries"]["profileInfo"]] == [profile_id]


def test_put_profile_keeps_the_parts_it_does_not_send(ohip: httpx.Client) -> None:
    email = {"emailInfo": [{"email": {"emailAddress": "keep.me@example.com"}}]}
    profile_id = create(ohip, new_profile("Kim", "Keep", emails=email))

    phone = {"telephoneInfo": [{"telephone": {"phoneNumber": "+351 21 000 0000"}}]}
    ohip.put(f"/crm/v1/profiles/{profile_id}", json={"profileDetails": {"telephones": phone}})

    details = ohip.get(f"/crm/v1/profiles/{profile_id}").json()["profileDetails"]
    assert details["emails"]["emailInfo"][0]["email"]["emailAddress"] == "keep.me@example.com"
    assert details["customer"]["personName"][0]["surname"] == "Keep"
    assert details["telephones"]["telephoneInfo"][0]["telephone"]["phoneNumber"] == "+351 21 000 0000"


def test_put_unknown_profile_is_404(ohip: httpx.Client) -> None:
    response = ohip.put("/crm/v1/profiles/999999999", json=new_profile("No", "Body"))
    assert response.status_code == 404
