"""AvailabilityAPI and RatePlansAPI against the sandbox over real HTTP: offers, rooms left, rate plans."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from app.opera.availability import AvailabilityAPI, RatePlansAPI
from app.opera.errors import OperaBadRequestError, OperaNotFoundError
from app.opera.http import OperaHTTP
from app.opera.reservations import BookingRequest, ReservationsAPI

BUSINESS_DATE = date(2026, 5, 1)
pytestmark = pytest.mark.sandbox(business_date=BUSINESS_DATE)


async def test_offers_cover_room_types_and_rate_plans_with_prices(http: OperaHTTP) -> None:
    arrival, departure = BUSINESS_DATE + timedelta(days=14), BUSINESS_DATE + timedelta(days=16)

    result, _ = await AvailabilityAPI(http).offers("SAND01", arrival=arrival, departure=departure, adults=2)

    assert result.nights == 2 and result.offers
    kinds = {(o.room_type, o.rate_plan) for o in result.offers}
    assert ("KNG", "BAR") in kinds and len({o.rate_plan for o in result.offers}) > 1
    bar_king = next(o for o in result.offers if (o.room_type, o.rate_plan) == ("KNG", "BAR"))
    assert bar_king.bookable and bar_king.availability == "Available"
    assert bar_king.total is not None and bar_king.nightly
    # the sandbox prices every night alike, so the two nights come back as one run at one price
    assert len(bar_king.nightly) == 1 and bar_king.nightly[0].start == arrival
    assert abs(bar_king.total.amount - bar_king.nightly[0].amount.amount * 2) < 0.01
    assert bar_king.room_type_description and bar_king.rate_plan_description


async def test_offers_honour_room_type_and_rate_plan_filters(http: OperaHTTP) -> None:
    arrival = BUSINESS_DATE + timedelta(days=3)

    result, _ = await AvailabilityAPI(http).offers(
        "SAND01", arrival=arrival, departure=arrival + timedelta(days=1), adults=1, room_types=["QUN"],
        rate_plans=["BAR", "PKG"],
    )

    assert result.offers
    assert {o.room_type for o in result.offers} == {"QUN"}
    assert {o.rate_plan for o in result.offers} <= {"BAR", "PKG"}


async def test_more_than_ninety_nights_is_refused_by_ohip(http: OperaHTTP) -> None:
    with pytest.raises(OperaBadRequestError):
        await AvailabilityAPI(http).offers(
            "SAND01", arrival=BUSINESS_DATE, departure=BUSINESS_DATE + timedelta(days=120), adults=1
        )


async def test_rooms_left_drop_by_one_when_a_room_is_booked(http: OperaHTTP) -> None:
    arrival, departure = BUSINESS_DATE + timedelta(days=40), BUSINESS_DATE + timedelta(days=42)
    api = AvailabilityAPI(http)
    before = {r.room_type: r for r in await api.rooms_left("SAND01", arrival=arrival, departure=departure)}
    assert before["STE"].rooms_left > 0
    assert [n.night for n in before["STE"].by_night] == [arrival, arrival + timedelta(days=1)]

    await ReservationsAPI(http).create("SAND01", BookingRequest(
        arrival=arrival, departure=departure, room_type="STE", rate_plan="BAR", adults=2, surname="Counter",
    ))
    after = {r.room_type: r for r in await api.rooms_left("SAND01", arrival=arrival, departure=departure)}

    assert after["STE"].rooms_left == before["STE"].rooms_left - 1
    assert after["KNG"].rooms_left == before["KNG"].rooms_left


async def test_rate_plans_list_and_one_plan(http: OperaHTTP) -> None:
    api = RatePlansAPI(http)

    plans = await api.list("SAND01")

    codes = {p.rate_plan for p in plans}
    assert {"BAR", "PKG"} <= codes
    assert all(p.description for p in plans)
    one = await api.get("SAND01", "PKG")
    assert one.rate_plan == "PKG" and one.room_types and one.market_code
    listed = next(p for p in plans if p.rate_plan == "PKG")
    assert (one.description, one.market_code) == (listed.description, listed.market_code)


async def test_unknown_rate_plan_is_not_found(http: OperaHTTP) -> None:
    with pytest.raises(OperaNotFoundError):
        await RatePlansAPI(http).get("SAND01", "NOPE")
