"""Path and query building: every id is checked and percent-encoded, and a bad one never leaves the process."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.config import SANDBOX_APP_KEY, load_settings
from app.opera.errors import OperaBadRequestError
from app.opera.http import (
    OperaHTTP,
    OperaResponse,
    Operation,
    build_path,
    path_segment,
    query_pairs,
    request_target,
)
from app.telemetry.metrics import Metrics

GET_RESERVATION = Operation("rsv", "getReservation", "GET", "/hotels/{hotelId}/reservations/{reservationId}")
ATTACKS = [
    "123/cancellations",
    "../../oauth/v1/tokens",
    "..",
    "1%0d%0aX-Evil: 1",
    "1\r\nX-Evil: 1",
    "a?b",
    "a#b",
    "a\\b",
    "tab\there",
    "",
    "   ",
    "x" * 65,
]


def test_operation_name_joins_module_and_operation_id() -> None:
    assert GET_RESERVATION.name == "rsv.getReservation"


def test_ids_are_percent_encoded_into_the_template() -> None:
    path = build_path(GET_RESERVATION, "SAND01", {"reservationId": "ABC 12+é"})
    assert path == "/hotels/SAND01/reservations/ABC%2012%2B%C3%A9"
    assert path_segment("reservationId", "x" * 64) == "x" * 64


@pytest.mark.parametrize("bad", ATTACKS)
def test_unsafe_ids_are_refused_with_the_reason(bad: str) -> None:
    with pytest.raises(OperaBadRequestError) as info:
        build_path(GET_RESERVATION, "SAND01", {"reservationId": bad})
    assert info.value.message.startswith("reservationId ")
    assert "\r" not in info.value.message and "\n" not in info.value.message


@pytest.mark.parametrize("bad", ["SAND01/../x", "SAND\r\n01", ""])
def test_unsafe_hotel_ids_are_refused(bad: str) -> None:
    with pytest.raises(OperaBadRequestError, match="hotel_id"):
        build_path(GET_RESERVATION, bad, {"reservationId": "1"})


def test_missing_or_unknown_path_parameters_are_refused() -> None:
    with pytest.raises(OperaBadRequestError, match="needs reservationId"):
        build_path(GET_RESERVATION, "SAND01", {})
    with pytest.raises(OperaBadRequestError, match="no path parameter roomId"):
        build_path(GET_RESERVATION, "SAND01", {"reservationId": "1", "roomId": "101"})


def test_query_drops_none_repeats_sequences_and_spells_booleans() -> None:
    pairs = query_pairs({
        "surname": "O'Neil", "limit": 20, "expectedArrivals": True, "stayovers": False, "givenName": None,
        "reservationStatuses": ["DueIn", "InHouse"], "roomId": [], "rate": 1.5,
    })
    assert pairs == [
        ("surname", "O'Neil"), ("limit", "20"), ("expectedArrivals", "true"), ("stayovers", "false"),
        ("reservationStatuses", "DueIn"), ("reservationStatuses", "InHouse"), ("rate", "1.5"),
    ]


async def test_bad_ids_are_refused_before_any_network_io() -> None:
    seen: list[httpx2.Request] = []

    def ohip(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        return httpx2.Response(500)

    cfg = load_settings(client_id="c", client_secret="s", base_url="http://ohip.test", app_key=SANDBOX_APP_KEY,
                        enterprise_id="ENT01", cashier_id=4)
    http = OperaHTTP(cfg, Metrics(), transport=httpx2.MockTransport(ohip))
    await http.start()
    try:
        for bad in ATTACKS:
            with pytest.raises(OperaBadRequestError):
                await http.call(GET_RESERVATION, hotel_id="SAND01", path_params={"reservationId": bad})
        with pytest.raises(OperaBadRequestError):
            await http.call(GET_RESERVATION, hotel_id="../SAND01", path_params={"reservationId": "1"})
    finally:
        await http.aclose()
    assert seen == []  # not even a token request


def test_location_id_and_warnings_read_the_response() -> None:
    headers = httpx2.Headers({"Location": "https://ohip.test/rsv/v1/hotels/SAND01/reservations/123456/"})
    response = OperaResponse(201, {"warnings": [{"value": "Room not clean"}, "junk"]}, headers, "rid")
    assert response.location_id == "123456"
    assert response.warnings == [{"value": "Room not clean"}]
    empty = OperaResponse(204, None, httpx2.Headers(), "rid")
    assert empty.location_id is None and empty.warnings == []


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(st.text(max_size=12), st.one_of(
    st.text(max_size=24), st.integers(), st.booleans(), st.none(),
    st.lists(st.one_of(st.text(max_size=12), st.integers(), st.none()), max_size=4)), max_size=5))
def test_the_joined_query_is_byte_for_byte_what_httpx_sends_for_params(params: dict[str, Any]) -> None:
    pairs = query_pairs(params)
    url = "https://ohip.example.com/rsv/v1/hotels/H1/reservations"
    client = httpx2.Client()
    ours = client.build_request("GET", request_target(url, pairs)).url
    theirs = client.build_request("GET", url, params=tuple(pairs)).url
    assert ours.raw_path == theirs.raw_path
    assert ours.params.multi_items() == theirs.params.multi_items()


def test_a_search_query_keeps_spaces_unicode_and_repeats() -> None:
    pairs = query_pairs({"surname": "Da Silva-Ünal & Co", "fetchInstructions": ["Reservation", "Comments"],
                         "limit": 20, "includeX": True})
    url = httpx2.URL(request_target("https://h/rsv/v1/hotels/H1/reservations", pairs))
    assert url.params.get_list("fetchInstructions") == ["Reservation", "Comments"]
    assert url.params["surname"] == "Da Silva-Ünal & Co"
    assert url.params["includeX"] == "true" and url.params["limit"] == "20"
    assert request_target("https://h/x", []) == "https://h/x"
