"""The sandbox's crm routes over real HTTP: profile search, read, create and update, and their refusals."""

from __future__ import annotations

from typing import Any

import httpx2


def new_profile(given: str, surname: str, **details: object) -> dict[str, object]:
    profile: dict[str, object] = {
        "customer": {"personName": [{"givenName": given, "surname": surname, "nameType": "Primary"}]},
        "profileType": "Guest",
    }
    profile.update(details)
    return {"profileDetails": profile}


async def create(ohip: httpx2.AsyncClient, body: dict[str, object]) -> str:
    response = await ohip.post("/crm/v1/profiles", json=body)
    assert response.status_code == 201, response.text
    location = response.headers["location"]
    assert location.startswith("http://127.0.0.1:")
    return location.rsplit("/", 1)[1]


async def test_post_profile_answers_201_with_the_id_only_in_location(ohip: httpx2.AsyncClient) -> None:
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


async def test_post_profile_without_a_surname_is_refused_naming_the_field(ohip: httpx2.AsyncClient) -> None:
    response = await ohip.post("/crm/v1/profiles", json=new_profile("Ines", ""))
    assert response.status_code == 400
    assert "surname" in response.json()["detail"]

    response = await ohip.post("/crm/v1/profiles", json={"profileDetails": {"profileType": "Guest"}})
    assert response.status_code == 400
    assert response.json()["o:errorPath"] == "profileDetails.customer.personName"


async def test_post_profile_refuses_a_malformed_email(ohip: httpx2.AsyncClient) -> None:
    email = {"emailInfo": [{"email": {"emailAddress": "not-an-address"}}]}
    response = await ohip.post("/crm/v1/profiles", json=new_profile("Ines", "Quarto", emails=email))
    assert response.status_code == 400
    assert "not-an-address" in response.json()["detail"]


async def test_search_finds_profiles_by_surname_prefix_and_given_name(ohip: httpx2.AsyncClient) -> None:
    wanted = await create(ohip, new_profile("Zelda", "Quartermaine"))
    await create(ohip, new_profile("Yann", "Quartermaine"))

    rows = (await ohip.get("/crm/v1/profiles", params={"profileName": "quarterm", "givenName": "Zel"})).json()
    block = rows["profileSummaries"]
    assert [r["profileIdList"][0]["id"] for r in block["profileInfo"]] == [wanted]
    assert block["profileInfo"][0]["profile"]["formerName"]["name"] == "Quartermaine"
    assert block["totalResults"] == 1
    assert block["hasMore"] is False


async def test_search_by_email_and_by_profile_ids(ohip: httpx2.AsyncClient) -> None:
    email = {"emailInfo": [{"email": {"emailAddress": "olga.vrba@example.com", "type": "EMAIL"}}]}
    by_email = await create(ohip, new_profile("Olga", "Vrba", emails=email))
    other = await create(ohip, new_profile("Petr", "Vrba"))

    found = (await ohip.get("/crm/v1/profiles", params={"email": "OLGA.VRBA@example.com"})).json()
    assert [r["profileIdList"][0]["id"] for r in found["profileSummaries"]["profileInfo"]] == [by_email]
    found = (await ohip.get("/crm/v1/profiles", params=[("profileIds", by_email), ("profileIds", other)])).json()
    assert {r["profileIdList"][0]["id"] for r in found["profileSummaries"]["profileInfo"]} == {by_email, other}


async def test_search_pages_through_the_seeded_guests(ohip: httpx2.AsyncClient) -> None:
    first = (await ohip.get("/crm/v1/profiles", params={"limit": 5})).json()["profileSummaries"]
    second = (await ohip.get("/crm/v1/profiles", params={"limit": 5, "offset": 5})).json()["profileSummaries"]

    assert first["count"] == 5 and first["hasMore"] is True
    assert first["totalResults"] > 10
    first_ids = {r["profileIdList"][0]["id"] for r in first["profileInfo"]}
    second_ids = {r["profileIdList"][0]["id"] for r in second["profileInfo"]}
    assert len(second_ids) == 5 and not first_ids & second_ids


async def test_search_limit_above_200_is_refused(ohip: httpx2.AsyncClient) -> None:
    response = await ohip.get("/crm/v1/profiles", params={"limit": 201})
    assert response.status_code == 400
    assert "200" in response.json()["detail"]
    assert (await ohip.get("/crm/v1/profiles", params={"limit": 200})).status_code == 200


async def test_get_unknown_profile_is_404(ohip: httpx2.AsyncClient) -> None:
    response = await ohip.get("/crm/v1/profiles/999999999")
    assert response.status_code == 404
    assert "999999999" in response.json()["detail"]


async def test_put_profile_changes_name_contact_address_and_vip(ohip: httpx2.AsyncClient) -> None:
    profile_id = await create(ohip, new_profile("Ann", "Smyth"))
    change = new_profile(
        "Anna",
        "Smith",
        emails={"emailInfo": [{"email": {"emailAddress": "anna.smith@example.com", "type": "EMAIL",
                                         "primaryInd": True}}]},
        telephones={"telephoneInfo": [{"telephone": {"phoneNumber": "+1 555 0199", "phoneUseType": "HOME"}}]},
        addresses={
            "addressInfo": [
                {"address": {"addressLine": ["1 Main St"], "cityName": "Austin", "country": {"code": "us"},
                             "type": "HOME"}}
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


async def test_put_profile_keeps_the_parts_it_does_not_send(ohip: httpx2.AsyncClient) -> None:
    email = {"emailInfo": [{"email": {"emailAddress": "keep.me@example.com", "type": "EMAIL"}}]}
    profile_id = await create(ohip, new_profile("Kim", "Keep", emails=email))

    phone = {"telephoneInfo": [{"telephone": {"phoneNumber": "+351 21 000 0000", "phoneUseType": "CELL"}}]}
    await ohip.put(f"/crm/v1/profiles/{profile_id}", json={"profileDetails": {"telephones": phone}})

    details = (await ohip.get(f"/crm/v1/profiles/{profile_id}")).json()["profileDetails"]
    assert details["emails"]["emailInfo"][0]["email"]["emailAddress"] == "keep.me@example.com"
    assert details["customer"]["personName"][0]["surname"] == "Keep"
    assert details["telephones"]["telephoneInfo"][0]["telephone"]["phoneNumber"] == "+351 21 000 0000"


async def test_put_unknown_profile_is_404(ohip: httpx2.AsyncClient) -> None:
    response = await ohip.put("/crm/v1/profiles/999999999", json=new_profile("No", "Body"))
    assert response.status_code == 404


async def test_search_by_an_unknown_profile_type_is_refused(ohip: httpx2.AsyncClient) -> None:
    response = await ohip.get("/crm/v1/profiles", params={"profileType": "Alien"})
    assert response.status_code == 400
    assert response.json()["o:errorPath"] == "profileType"
    guests = (await ohip.get("/crm/v1/profiles", params={"profileType": "Guest", "limit": 3})).json()
    assert all(r["profile"]["profileType"] == "Guest" for r in guests["profileSummaries"]["profileInfo"])


async def test_put_profile_naming_another_profile_in_the_body_is_refused(ohip: httpx2.AsyncClient) -> None:
    profile_id = await create(ohip, new_profile("Ada", "Lind"))
    body = {"profileIdList": [{"id": "1", "type": "Profile"}], **new_profile("Ada", "Lindqvist")}

    response = await ohip.put(f"/crm/v1/profiles/{profile_id}", json=body)

    assert response.status_code == 400
    details = (await ohip.get(f"/crm/v1/profiles/{profile_id}")).json()["profileDetails"]
    assert details["customer"]["personName"][0]["surname"] == "Lind"


# --- child records merge by id (OPERA keys e-mails, telephones and addresses by `id`, as comments) -------------


def emails_of(details: dict[str, Any]) -> list[tuple[str, str, bool]]:
    return [
        (info["id"], info["email"]["emailAddress"], info["email"]["primaryInd"])
        for info in details.get("emails", {}).get("emailInfo", [])
    ]


async def details_of(ohip: httpx2.AsyncClient, profile_id: str) -> dict[str, Any]:
    response = await ohip.get(f"/crm/v1/profiles/{profile_id}")
    assert response.status_code == 200, response.text
    return dict(response.json()["profileDetails"])


def emails(address: str, record_id: str | None = None, **fields: object) -> dict[str, Any]:
    info: dict[str, object] = {"email": {"emailAddress": address, "type": "EMAIL", **fields}}
    if record_id is not None:
        info |= {"id": record_id, "type": "Email"}
    return {"emailInfo": [info]}


def email_change(address: str, record_id: str | None = None, **fields: object) -> dict[str, Any]:
    return {"profileDetails": {"emails": emails(address, record_id, **fields)}}


async def test_get_profile_names_each_email_phone_and_address_by_id(ohip: httpx2.AsyncClient) -> None:
    profile_id = await create(ohip, new_profile(
        "Ida", "Ids",
        emails={"emailInfo": [{"email": {"emailAddress": "ida@example.com", "type": "EMAIL", "primaryInd": True}}]},
        telephones={"telephoneInfo": [{"telephone": {"phoneNumber": "+1 555 0101", "phoneUseType": "CELL"}}]},
        addresses={"addressInfo": [{"address": {"cityName": "Austin", "type": "HOME"}}]},
    ))

    details = await details_of(ohip, profile_id)

    for section, key in (("emails", "emailInfo"), ("telephones", "telephoneInfo"), ("addresses", "addressInfo")):
        (info,) = details[section][key]
        assert info["id"].isdigit() and info["type"] in ("Email", "Telephone", "Address")
    assert details["telephones"]["telephoneInfo"][0]["telephone"]["phoneUseType"] == "CELL"


async def test_put_profile_email_with_its_id_replaces_that_email(ohip: httpx2.AsyncClient) -> None:
    profile_id = await create(ohip, new_profile("Rita", "Replace", emails=emails("old@example.com")))
    [(email_id, _, _)] = emails_of(await details_of(ohip, profile_id))

    response = await ohip.put(f"/crm/v1/profiles/{profile_id}", json=email_change("new@example.com", email_id))

    assert response.status_code == 200, response.text
    assert emails_of(await details_of(ohip, profile_id)) == [(email_id, "new@example.com", False)]


async def test_put_profile_email_without_id_is_added_and_twice_is_two_rows(ohip: httpx2.AsyncClient) -> None:
    profile_id = await create(ohip, new_profile("Ada", "Added", emails=emails("first@example.com")))

    for _ in range(2):
        response = await ohip.put(f"/crm/v1/profiles/{profile_id}", json=email_change("second@example.com"))
        assert response.status_code == 200, response.text

    rows = emails_of(await details_of(ohip, profile_id))
    assert [address for _id, address, _primary in rows] == ["first@example.com", "second@example.com",
                                                            "second@example.com"]
    assert len({record_id for record_id, _a, _p in rows}) == 3


async def test_put_profile_making_a_record_primary_clears_the_other(ohip: httpx2.AsyncClient) -> None:
    profile_id = await create(ohip, new_profile("Pia", "Primary", emails=emails("home@example.com", primaryInd=True)))

    await ohip.put(f"/crm/v1/profiles/{profile_id}", json=email_change("work@example.com", primaryInd=True))

    rows = emails_of(await details_of(ohip, profile_id))
    assert [(address, primary) for _id, address, primary in rows] == [
        ("home@example.com", False), ("work@example.com", True)
    ]


async def test_put_profile_naming_an_unknown_record_id_is_refused_and_changes_nothing(
    ohip: httpx2.AsyncClient,
) -> None:
    profile_id = await create(ohip, new_profile("Ugo", "Unknown", emails=emails("ugo@example.com")))
    before = await details_of(ohip, profile_id)
    body = email_change("other@example.com", "999999")
    body["profileDetails"]["customer"] = {
        "personName": [{"givenName": "Ugo", "surname": "Renamed", "nameType": "Primary"}]
    }

    response = await ohip.put(f"/crm/v1/profiles/{profile_id}", json=body)

    assert response.status_code == 400
    error = response.json()
    assert error["o:errorPath"] == "profileDetails.emails.emailInfo[0].id"
    assert "999999" in error["detail"] and "without an id" in error["detail"]
    assert await details_of(ohip, profile_id) == before


async def test_a_code_not_in_the_list_of_values_is_refused_naming_the_list(ohip: httpx2.AsyncClient) -> None:
    phones = (await ohip.get("/lov/v1/listOfValues/CommunicationTypePhone")).json()["listOfValues"]["items"]
    codes = [item["code"] for item in phones]
    assert "MOBILE" not in codes and codes[0] == "CELL"  # this chain calls a mobile CELL
    profile_id = await create(ohip, new_profile("Cal", "Codes"))

    phone = {"telephoneInfo": [{"telephone": {"phoneNumber": "+1 555 0102", "phoneUseType": "MOBILE"}}]}
    response = await ohip.put(f"/crm/v1/profiles/{profile_id}", json={"profileDetails": {"telephones": phone}})

    assert response.status_code == 400
    error = response.json()
    assert error["status"] == "NotProcessed" and error["o:errorCode"] == "OHIPSIM-CRM-TYPE"
    assert error["o:errorPath"] == "profileDetails.telephones.telephoneInfo[0].telephone.phoneUseType"
    assert "'MOBILE'" in error["detail"] and "CommunicationTypePhone" in error["detail"]
    address = {"addressInfo": [{"address": {"cityName": "Austin", "type": "VILLA"}}]}
    response = await ohip.put(f"/crm/v1/profiles/{profile_id}", json={"profileDetails": {"addresses": address}})
    assert response.status_code == 400 and "AddressTypes" in response.json()["detail"]
    assert "telephones" not in await details_of(ohip, profile_id)


async def test_lists_of_values_serve_the_note_email_and_address_types(ohip: httpx2.AsyncClient) -> None:
    for name, expected in (
        ("CommunicationTypeEmail", "EMAIL"), ("AddressTypes", "HOME"), ("ReservationNoteTypes", "GEN"),
    ):
        response = await ohip.get(f"/lov/v1/listOfValues/{name}",
                                  params={"parameterName": "HotelCode", "parameterValue": "SAND01"})
        assert response.status_code == 200, response.text
        assert expected in [item["code"] for item in response.json()["listOfValues"]["items"]]
