"""CashieringAPI against the sandbox over real HTTP: folio, transaction codes (cached), charges and voids, payments
under a cashier and from the card on file, and the check-out sequence with its refusals."""

from __future__ import annotations

from typing import Any

import pytest

from app.opera.cashiering import CashieringAPI
from app.opera.errors import OperaBadRequestError, OperaNotFoundError
from app.opera.http import OperaHTTP

HOTEL = "SAND01"
#: The cashier the sandbox seeds for this app.
CASHIER = 113


def in_house(hotel: Any) -> Any:
    """An in-house guest due out today with room charges on window 1."""
    return next(
        r
        for r in hotel.reservations.values()
        if r.status == "InHouse" and r.balance > 0 and set(r.folio_windows) == {1}
        and r.departure <= hotel.business_date  # due out: postCheckOut is for a guest in due out status
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
        await CashieringAPI(http, cashier_id=CASHIER).check_out(HOTEL, reservation.reservation_id)
    assert f"{reservation.balance:.2f}" in (caught.value.detail or "")
    assert reservation.status == "InHouse"


async def test_pay_generate_folio_and_check_out_leaves_the_room_dirty(http: OperaHTTP, hotel: Any) -> None:
    reservation = in_house(hotel)
    api = CashieringAPI(http, cashier_id=CASHIER)
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
        await CashieringAPI(http, cashier_id=CASHIER).post_payment(
            HOTEL, reservation.reservation_id, payment_method="ZZ", amount=1.0, currency="USD"
        )
    assert "ZZ" in (caught.value.detail or "")


async def test_without_a_cashier_payments_folios_and_check_out_are_refused(http: OperaHTTP, hotel: Any) -> None:
    reservation = in_house(hotel)
    api = CashieringAPI(http)
    with pytest.raises(OperaBadRequestError) as payment:
        await api.post_payment(HOTEL, reservation.reservation_id, payment_method="CA", amount=1.0, currency="USD")
    with pytest.raises(OperaBadRequestError) as folio:
        await api.generate_folio(HOTEL, reservation.reservation_id)
    with pytest.raises(OperaBadRequestError) as check_out:
        await api.check_out(HOTEL, reservation.reservation_id)
    for caught in (payment, folio, check_out):
        assert caught.value.error_code == "OHIPSIM-CSH-CASHIER" and "cashier" in (caught.value.detail or "")
    assert reservation.status == "InHouse"


async def test_a_card_payment_names_the_card_on_file_read_from_the_reservation(http: OperaHTTP, hotel: Any) -> None:
    reservation = next(r for r in hotel.reservations.values() if r.status == "InHouse" and r.balance > 0 and r.cards)
    held = reservation.cards[0]
    api = CashieringAPI(http, cashier_id=CASHIER)

    cards = await api.cards_on_file(HOTEL, reservation.reservation_id)
    paid = await api.post_payment(HOTEL, reservation.reservation_id, payment_method=held.payment_method, amount=3.0,
                                  currency="USD", card=cards[0])

    assert [(c.card_id, c.payment_method, c.last_four) for c in cards] == [
        (held.card_id, held.payment_method, held.last_four)
    ]
    assert paid.postings[0].cashier_id == CASHIER
    assert reservation.folio_windows[1].postings[-1].card_id == held.card_id


async def test_a_negative_charge_voids_part_of_an_earlier_one(http: OperaHTTP, hotel: Any) -> None:
    reservation = in_house(hotel)
    api = CashieringAPI(http)
    before = (await api.folio(HOTEL, reservation.reservation_id)).balance.amount
    await api.post_charge(HOTEL, reservation.reservation_id, transaction_code="2000", amount=30.0, currency="USD")
    voided = await api.post_charge(
        HOTEL, reservation.reservation_id, transaction_code="2000", amount=-10.0, currency="USD", remark="Overcharged"
    )
    assert voided.postings[0].amount is not None and voided.postings[0].amount.amount == -10.0
    assert (await api.folio(HOTEL, reservation.reservation_id)).balance.amount == pytest.approx(before + 20.0)
