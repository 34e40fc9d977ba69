"""The sandbox's crm routes over real HTTP: profile search, read, create and update, and their refusals."""

from __future__ import annotations

import httpx


def new_profile(given: str, surname: str, **details: object) -> dict[str, object]:
    profile: dict[str, object] = {
        "customer": {"personName": [{"givenName": given, "surname": surname, "nameType": "Primary"}]},
        "profileType": "Guest",
    }
    profile.update(details)
    return {"profileDetails": profile}


async def create(ohip: httpx.AsyncClient, body: dict[str, object]) -> str:
    response = await ohip.post("/crm/v1/profiles", json=body)
    assert response.status_code == 201, response.text
    location = response.headers["location"]
    assert location.startswith("http://127.0.0.1:")
    return location.rsplit("/", 1)[1]


async def test_post_profile_answers_201_with_the_id_only_in_location(ohip: httpx.AsyncClient) -> None:
    email = {"emailInfo": [{"email": {"emailAddress": "ines.quarto@example.com", "type": "EMAIL"}}]}
    response = await ohip.post("/crm/v1/profiles", json=new_profile("Ines", "Quarto", emails=email))

    assert response.status_code == 201
    profile_id = response.headers["location"].rsplit("/", 1)[1]
    assert profile_id not in response.text
    fetched = (await ohip.get(f"/crm/v1/profiles/{profile_id}")).json()
    assert fetched["profileIdList"][0] == {"id": profile_id, "type": "Profile", "idContext": "OPERA"}
    details = fetched["profileDetails"]
    assert details["customer"]["personName"][0] == {"givenName": "Ines", "surname": "Quarto", "nameType": "Primary"}
    assert details["emails"]["emailInfo"][0]["email"]["emailAddress"] == "ines.quarto@example.com"


async def test_post_profile_without_a_surname_is_refused_naming_the_field(ohip: httpx.AsyncClient) -> None:
    response = await ohip.post("/crm/v1/profiles", json=new_profile("Ines", ""))
    assert response.status_code == 400
    assert "surname" in response.json()["detail"]

    response = await ohip.post("/crm/v1/profiles", json={"profileDetails": {"profileType": "Guest"}})
    assert response.status_code == 400
    assert response.json()["o:errorPath"] == "profileDetails.customer.personName"


async def test_post_profile_refuses_a_malformed_email(ohip: httpx.AsyncClient) -> None:
    email = {"emailInfo": [{"email": {"emailAddress": "not-an-address"}}]}
    response = await ohip.post("/crm/v1/profiles", json=new_profile("Ines", "Quarto", emails=email))
    assert response.status_code == 400
    assert "not-an-address" in response.json()["detail"]


async def test_search_finds_profiles_by_surname_prefix_and_given_name(ohip: httpx.AsyncClient) -> None:
    wanted = await create(ohip, new_profile("Zelda", "Quartermaine"))
    await create(ohip, new_profile("Yann", "Quartermaine"))

    rows = (await ohip.get("/crm/v1/profiles", params={"profileName": "quarterm", "givenName": "Zel"})).json()
    block = rows["profileSummaries"]
    assert [r["profileIdList"][0]["id"] for r in block["profileInfo"]] == [wanted]
    assert block["profileInfo"][0]["profile"]["formerName"]["name"] == "Quartermaine"
    assert block["totalResults"] == 1
    assert block["hasMore"] is False


async def test_search_by_email_and_by_profile_ids(ohip: httpx.AsyncClient) -> None:
    email = {"emailInfo": [{"email": {"emailAddress": "olga.vrba@example.com"}}]}
    by_email = await create(ohip, new_profile("Olga", "Vrba", emails=email))
    other = await create(ohip, new_profile("Petr", "Vrba"))

    found = (await ohip.get("/crm/v1/profiles", params={"email": "OLGA.VRBA@example.com"})).json()
    assert [r["profileIdList"][0]["id"] for r in found["profileSummaries"]["profileInfo"]] == [by_email]
    found = (await ohip.get("/crm/v1/profiles", params=[("profileIds", by_email), ("profileIds", other)])).json()
    assert {r["profileIdList"][0]["id"] for r in found["profileSummaries"]["profileInfo"]} == {by_email, other}


async def test_search_pages_through_the_seeded_guests(ohip: httpx.AsyncClient) -> None:
    first = (await ohip.get("/crm/v1/profiles", params={"limit": 5})).json()["profileSummaries"]
    second = (await ohip.get("/crm/v1/profiles", params={"limit": 5, "offset": 5})).json()["profileSummaries"]

    assert first["count"] == 5 and first["hasMore"] is True
    assert first["totalResults"] > 10
    first_ids = {r["profileIdList"][0]["id"] for r in first["profileInfo"]}
    second_ids = {r["profileIdList"][0]["id"] for r in second["profileInfo"]}
    assert len(second_ids) == 5 and not first_ids & second_ids


async def test_search_limit_above_200_is_refused(ohip: httpx.AsyncClient) -> None:
    response = await ohip.get("/crm/v1/profiles", params={"limit": 201})
    assert response.status_code == 400
    assert "200" in response.json()["detail"]
    assert (await ohip.get("/crm/v1/profiles", params={"limit": 200})).status_code == 200


async def test_get_unknown_profile_is_404(ohip: httpx.AsyncClient) -> None:
    response = await ohip.get("/crm/v1/profiles/999999999")
    assert response.status_code == 404
    assert "999999999" in response.json()["detail"]


async def test_put_profile_changes_name_contact_address_and_vip(ohip: httpx.AsyncClient) -> None:
    profile_id = await create(ohip, new_profile("Ann", "Smyth"))
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

    response = await ohip.put(f"/crm/v1/profiles/{profile_id}", json=change)

    assert response.status_code == 200, response.text
    details = (await ohip.get(f"/crm/v1/profiles/{profile_id}")).json()["profileDetails"]
    assert details["customer"]["personName"][0]["givenName"] == "Anna"
    assert details["customer"]["personName"][0]["surname"] == "Smith"
    assert details["customer"]["vipStatus"] == "GLD"
    assert details["telephones"]["telephoneInfo"][0]["telephone"]["phoneNumber"] == "+1 555 0199"
    address = details["addresses"]["addressInfo"][0]["address"]
    assert (address["cityName"], address["country"]["code"]) == ("Austin", "US")
    rows = (
        await ohip.get("/crm/v1/profiles", params={"profileName": "Smith", "email": "anna.smith@example.com"})
    ).json()
    assert [r["profileIdList"][0]["id"] for r in rows["profileSummaries"]["profileInfo"]] == [profile_id]


async def test_put_profile_keeps_the_parts_it_does_not_send(ohip: httpx.AsyncClient) -> None:
    email = {"emailInfo": [{"email": {"emailAddress": "keep.me@example.com"}}]}
    profile_id = await create(ohip, new_profile("Kim", "Keep", emails=email))

    phone = {"telephoneInfo": [{"telephone": {"phoneNumber": "+351 21 000 0000"}}]}
    await ohip.put(f"/crm/v1/profiles/{profile_id}", json={"profileDetails": {"telephones": phone}})

    details = (await ohip.get(f"/crm/v1/profiles/{profile_id}")).json()["profileDetails"]
    assert details["emails"]["emailInfo"][0]["email"]["emailAddress"] == "keep.me@example.com"
    assert details["customer"]["personName"][0]["surname"] == "Keep"
    assert details["telephones"]["telephoneInfo"][0]["telephone"]["phoneNumber"] == "+351 21 000 0000"


async def test_put_unknown_profile_is_404(ohip: httpx.AsyncClient) -> None:
    response = await ohip.put("/crm/v1/profiles/999999999", json=new_profile("No", "Body"))
    assert response.status_code == 404


async def test_search_by_an_unknown_profile_type_is_refused(ohip: httpx.AsyncClient) -> None:
    response = await ohip.get("/crm/v1/profiles", params={"profileType": "Alien"})
    assert response.status_code == 400
    assert response.json()["o:errorPath"] == "profileType"
    guests = (await ohip.get("/crm/v1/profiles", params={"profileType": "Guest", "limit": 3})).json()
    assert all(r["profile"]["profileType"] == "Guest" for r in guests["profileSummaries"]["profileInfo"])


async def test_put_profile_naming_another_profile_in_the_body_is_refused(ohip: httpx.AsyncClient) -> None:
    profile_id = await create(ohip, new_profile("Ada", "Lind"))
    body = {"profileIdList": [{"id": "1", "type": "Profile"}], **new_profile("Ada", "Lindqvist")}

    response = await ohip.put(f"/crm/v1/profiles/{profile_id}", json=body)

    assert response.status_code == 400
    details = (await ohip.get(f"/crm/v1/profiles/{profile_id}")).json()["profileDetails"]
    assert details["customer"]["personName"][0]["surname"] == "Lind"
