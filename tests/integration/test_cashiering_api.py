"""CashieringAPI against the sandbox over real HTTP: folio, transaction codes (cached), charges, payments and the
check-out sequence with its refusals."""

from __future__ import annotations

from typing import Any

import pytest

from app.opera.cashiering import CashieringAPI
from app.opera.errors import OperaBadRequestError, OperaNotFoundError
from app.opera.http import OperaHTTP

HOTEL = "SAND01"


def in_house(hotel: Any) -> Any:
    """An in-house guest with room charges on window 1."""
    return next(
        r
        for r in hotel.reservations.values()
        if r.status == "InHouse" and r.balance > 0 and set(r.folio_windows) == {1}
    )


async def test_folio_shows_the_balance_and_room_charges(http: OperaHTTP, hotel: Any) -> None:
    reservation = in_house(hotel)
    folio = await CashieringAPI(http).folio(HOTEL, reservation.reservation_id)
    assert folio.balance.amount == pytest.approx(reservation.balance)
    assert folio.balance.currency == "USD"
    assert [w.window for w in folio.windows] == [1]
    codes = [p.transaction_code for p in folio.windows[0].postings]
    assert "1000" in codes


async def test_folio_of_an_unknown_reservation_is_not_found(http: OperaHTTP) -> None:
    with pytest.raises(OperaNotFoundError):
        await CashieringAPI(http).folio(HOTEL, "999999999")


async def test_transaction_codes_are_read_once_then_served_from_the_reference_cache(
    http: OperaHTTP, sandbox_server: Any
) -> None:
    api = CashieringAPI(http)
    first = await api.transaction_codes(HOTEL)
    second = await api.transaction_codes(HOTEL)
    assert first == second
    assert {"1000", "2000"} <= {c.code for c in first}
    fetched = [e for e in sandbox_server.sandbox.requests if e.operation_id == "getTransactionCodes"]
    assert len(fetched) == 1


async def test_a_charge_raises_the_balance_by_price_times_quantity(http: OperaHTTP, hotel: Any) -> None:
    reservation = in_house(hotel)
    api = CashieringAPI(http)
    before = (await api.folio(HOTEL, reservation.reservation_id)).balance.amount
    posted = await api.post_charge(
        HOTEL,
        reservation.reservation_id,
        transaction_code="2000",
        amount=12.5,
        currency="USD",
        quantity=2,
        remark="Lunch",
    )
    assert [p.transaction_code for p in posted.postings] == ["2000"]
    after = (await api.folio(HOTEL, reservation.reservation_id)).balance.amount
    assert after == pytest.approx(before + 25.0)


async def test_an_unknown_transaction_code_is_refused_and_nothing_is_posted(
    http: OperaHTTP, hotel: Any
) -> None:
    reservation = in_house(hotel)
    lines = len(reservation.folio_windows[1].postings)
    with pytest.raises(OperaBadRequestError) as caught:
        await CashieringAPI(http).post_charge(
            HOTEL, reservation.reservation_id, transaction_code="7777", amount=5.0, currency="USD"
        )
    assert "7777" in (caught.value.detail or "")
    assert len(reservation.folio_windows[1].postings) == lines


async def test_check_out_with_an_open_balance_is_refused_with_the_amount(http: OperaHTTP, hotel: Any) -> None:
    reservation = in_house(hotel)
    with pytest.raises(OperaBadRequestError) as caught:
        await CashieringAPI(http).check_out(HOTEL, reservation.reservation_id)
    assert f"{reservation.balance:.2f}" in (caught.value.detail or "")
    assert reservation.status == "InHouse"


async def test_pay_generate_folio_and_check_out_leaves_the_room_dirty(http: OperaHTTP, hotel: Any) -> None:
    reservation = in_house(hotel)
    api = CashieringAPI(http)
    folio = await api.folio(HOTEL, reservation.reservation_id, postings=False)
    paid = await api.post_payment(
        HOTEL,
        reservation.reservation_id,
        payment_method="CA",
        amount=folio.balance.amount,
        currency="USD",
        reference="Cash at desk",
    )
    assert [p.kind for p in paid.postings] == ["Payment"]
    assert (await api.folio(HOTEL, reservation.reservation_id)).balance.amount == 0
    await api.generate_folio(HOTEL, reservation.reservation_id, window=1)
    await api.check_out(HOTEL, reservation.reservation_id)
    assert reservation.status == "CheckedOut"
    assert hotel.rooms[reservation.room_id].room_status == "Dirty"
    assert hotel.front_office_status(reservation.room_id) == "Vacant"


async def test_an_unknown_payment_method_is_refused(http: OperaHTTP, hotel: Any) -> None:
    reservation = in_house(hotel)
    with pytest.raises(OperaBadRequestError) as caught:
        await CashieringAPI(http).post_payment(
            HOTEL, reservation.reservation_id, payment_method="ZZ", amount=1.0, currency="USD"
        )
    assert "ZZ" in (caught.value.detail or "")
