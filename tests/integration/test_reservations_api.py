"""ReservationsAPI against the sandbox over real HTTP: search, read, book, change, cancel, reinstate.

Every request and response body is checked against Oracle's schemas by the contract plugin at teardown.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from app.opera.errors import OperaBadRequestError, OperaNotFoundError
from app.opera.http import OperaHTTP
from app.opera.reservations import BookingRequest, ReservationChanges, ReservationsAPI
from tests.support.servers import serve

BUSINESS_DATE = date(2026, 5, 1)
pytestmark = pytest.mark.sandbox(business_date=BUSINESS_DATE)


@pytest.fixture
def api(http: OperaHTTP) -> ReservationsAPI:
    return ReservationsAPI(http)


def stay(days_ahead: int, nights: int) -> tuple[date, date]:
    arrival = BUSINESS_DATE + timedelta(days=days_ahead)
    return arrival, arrival + timedelta(days=nights)


async def test_search_by_surname_returns_only_that_guests_reservations(api: ReservationsAPI) -> None:
    first = (await api.search("SAND01", limit=1)).items[0]
    assert first.guest_name
    surname = first.guest_name.split()[-1]

    page = await api.search("SAND01", surname=surname, limit=100)

    assert first.reservation_id in {r.reservation_id for r in page.items}
    assert all(r.guest_name and r.guest_name.split()[-1].lower().startswith(surname.lower()) for r in page.items)


async def test_search_pages_follow_on_without_overlap(api: ReservationsAPI) -> None:
    first = await api.search("SAND01", limit=5)
    assert first.page.has_more and first.page.next_offset == 5 and first.page.count == 5
    assert first.page.total is not None and first.page.total > 5

    second = await api.search("SAND01", limit=5, offset=first.page.next_offset)

    assert second.page.offset == 5
    assert not {r.reservation_id for r in first.items} & {r.reservation_id for r in second.items}


async def test_search_by_confirmation_number_finds_exactly_that_reservation(api: ReservationsAPI) -> None:
    some = (await api.search("SAND01", limit=3, offset=7)).items[-1]
    assert some.confirmation_number

    page = await api.search("SAND01", confirmation_number=some.confirmation_number)

    assert [r.reservation_id for r in page.items] == [some.reservation_id]


async def test_arrivals_today_filtered_by_status_are_all_due_in_today(api: ReservationsAPI) -> None:
    page = await api.search(
        "SAND01", arrival_from=BUSINESS_DATE, arrival_to=BUSINESS_DATE, statuses=["DueIn"], limit=100
    )

    assert page.items, "the seed has arrivals on the business date"
    assert all(r.arrival == BUSINESS_DATE and r.status == "DueIn" for r in page.items)


async def test_no_match_is_an_empty_page_not_an_error(api: ReservationsAPI) -> None:
    page = await api.search("SAND01", surname="Zzyzx-no-such-guest")

    assert page.items == [] and page.page.has_more is False and page.page.next_offset is None


async def test_get_reads_the_full_record_behind_a_search_row(api: ReservationsAPI) -> None:
    row = (await api.search("SAND01", statuses=["InHouse"], limit=1)).items[0]

    full = await api.get("SAND01", row.reservation_id)

    assert (full.reservation_id, full.confirmation_number) == (row.reservation_id, row.confirmation_number)
    assert (full.arrival, full.departure, full.room_type, full.rate_plan) == (
        row.arrival, row.departure, row.room_type, row.rate_plan
    )
    assert full.guest_name == row.guest_name and full.profile_id == row.profile_id
    assert full.room_id == row.room_id and full.room_id is not None
    assert full.guarantee_code and full.total is not None and full.total.amount > 0


async def test_get_unknown_reservation_is_not_found_with_ohip_detail(api: ReservationsAPI) -> None:
    with pytest.raises(OperaNotFoundError) as caught:
        await api.get("SAND01", "999999999")

    assert caught.value.status == 404
    assert "999999999" in caught.value.describe()


async def test_a_204_answer_to_a_read_counts_as_not_found(opera_client: Callable[..., OperaHTTP]) -> None:
    """OHIP may answer a missing reservation with 204 and no body (CONTRACT 7.1); a tiny stand-in says so."""

    async def token(request: Request) -> Response:
        return JSONResponse({"access_token": "t-204", "expires_in": 3600, "token_type": "Bearer"})

    async def nothing(request: Request) -> Response:
        return Response(status_code=204)

    stand_in = Starlette(routes=[
        Route("/oauth/v1/tokens", token, methods=["POST"]),
        Route("/rsv/v1/hotels/{hotel}/reservations/{rid}", nothing, methods=["GET"]),
    ])
    with serve(stand_in) as server:
        http = opera_client(server.url)
        await http.start()
        try:
            with pytest.raises(OperaNotFoundError):
                await ReservationsAPI(http).get("SAND01", "100001")
        finally:
            await http.aclose()


async def test_booking_lifecycle_create_change_cancel_reinstate(api: ReservationsAPI, sandbox_server: Any) -> None:
    arrival, departure = stay(days_ahead=10, nights=2)
    created = await api.create("SAND01", BookingRequest(
        arrival=arrival, departure=departure, room_type="KNG", rate_plan="BAR", adults=2, given_name="Tina",
        surname="Lifecycle", comments=("arrives late",), market_code="LEISURE", source_code="PHONE",
    ))

    assert created.confirmation_number and created.reservation is not None
    booked = created.reservation
    assert (booked.arrival, booked.departure, booked.room_type, booked.rate_plan, booked.adults) == (
        arrival, departure, "KNG", "BAR", 2
    )
    assert booked.guest_name == "Tina Lifecycle" and booked.status == "Reserved"
    assert booked.comments == ["arrives late"] and booked.source_code == "PHONE"
    found = await api.search("SAND01", confirmation_number=created.confirmation_number)
    assert [r.reservation_id for r in found.items] == [created.reservation_id]

    changed = await api.modify("SAND01", booked, ReservationChanges(
        departure=departure + timedelta(days=1), room_type="QUN", comment="extra pillow",
    ))
    assert changed.departure == departure + timedelta(days=1) and changed.room_type == "QUN"
    assert changed.comments == ["arrives late", "extra pillow"] and changed.rate_plan == "BAR"
    assert changed.total is not None and booked.total is not None and changed.total.amount != booked.total.amount

    trial = await api.cancel("SAND01", created.reservation_id, reason_code="CHG", verification_only=True)
    assert trial.dry_run and not trial.cancelled and trial.cancellation_number is None
    assert (await api.get("SAND01", created.reservation_id)).status == "Reserved"

    done = await api.cancel("SAND01", created.reservation_id, reason_code="CHG", reason_text="plans changed")
    assert done.cancelled and done.cancellation_number
    cancelled = await api.get("SAND01", created.reservation_id)
    assert cancelled.status == "Cancelled" and cancelled.cancellation_number == done.cancellation_number

    back = await api.reinstate("SAND01", created.reservation_id)
    assert back.status == "Reserved" and back.cancellation_number is None

    posts = [x for x in sandbox_server.sandbox.requests if x.operation_id == "postReservation"]
    assert len(posts) == 1 and posts[0].json["reservations"]["reservation"][0]["hotelId"] == "SAND01"


async def test_booking_an_existing_profile_keeps_that_guest(api: ReservationsAPI) -> None:
    row = (await api.search("SAND01", limit=1, offset=3)).items[0]
    assert row.profile_id
    arrival, departure = stay(days_ahead=20, nights=1)

    created = await api.create("SAND01", BookingRequest(
        arrival=arrival, departure=departure, room_type="DBL", rate_plan="BAR", adults=1, profile_id=row.profile_id,
    ))

    assert created.reservation is not None
    assert created.reservation.profile_id == row.profile_id and created.reservation.guest_name == row.guest_name


async def test_booking_refusal_carries_ohips_reason(api: ReservationsAPI) -> None:
    arrival, departure = stay(days_ahead=5, nights=2)

    with pytest.raises(OperaBadRequestError) as caught:
        await api.create("SAND01", BookingRequest(
            arrival=arrival, departure=departure, room_type="NOPE", rate_plan="BAR", adults=1, surname="Refused",
        ))

    assert "NOPE" in caught.value.describe() and caught.value.error_code


async def test_cancellation_reasons_come_from_the_hotels_list(api: ReservationsAPI) -> None:
    reasons = await api.cancellation_reasons("SAND01")

    assert reasons and all(r.code for r in reasons)
    arrival, departure = stay(days_ahead=30, nights=1)
    created = await api.create("SAND01", BookingRequest(
        arrival=arrival, departure=departure, room_type="KNG", rate_plan="BAR", adults=1, surname="Reason",
    ))
    result = await api.cancel("SAND01", created.reservation_id, reason_code=reasons[-1].code)
    assert result.cancelled


async def test_a_booking_whose_read_back_fails_is_still_reported_once(
    sandbox_server: Any, opera_client: Callable[..., OperaHTTP]
) -> None:
    http = opera_client(sandbox_server.url, max_retries=0)
    await http.start()
    try:
        sandbox_server.sandbox.faults.inject(operation="getReservation", status=503, times=1)
        arrival, departure = stay(days_ahead=12, nights=1)

        created = await ReservationsAPI(http).create("SAND01", BookingRequest(
            arrival=arrival, departure=departure, room_type="KNG", rate_plan="BAR", adults=1, surname="Readback",
        ))
    finally:
        await http.aclose()

    assert created.reservation_id and created.confirmation_number
    assert created.reservation is not None and created.reservation.arrival == arrival
    assert any("could not be read back" in w.message for w in created.warnings)
    posts = [x for x in sandbox_server.sandbox.requests if x.operation_id == "postReservation"]
    assert len(posts) == 1
