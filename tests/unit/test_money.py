"""Amounts kept in their currency's own decimals: cents for USD, fils (three decimals) for KWD, none for JPY."""

from __future__ import annotations

import pytest

from app.opera.cashiering import _price, folio_from
from app.opera.models import Money, currency_digits, excess_decimals, round_money
from app.tools.previews import amount_text


@pytest.mark.parametrize(("currency", "digits"), [("USD", 2), ("eur", 2), ("KWD", 3), ("BHD", 3), ("OMR", 3),
                                                  ("JPY", 0), ("KRW", 0), (None, 2), ("", 2)])
def test_each_currency_has_its_own_decimals(currency: str | None, digits: int) -> None:
    assert currency_digits(currency) == digits


def test_a_price_goes_to_opera_in_its_currencys_decimals() -> None:
    assert _price(1.125, "KWD") == {"amount": 1.125, "currencyCode": "KWD"}
    assert _price(0.1 + 0.2, "USD") == {"amount": 0.3, "currencyCode": "USD"}
    assert _price(3000.0, "JPY") == {"amount": 3000.0, "currencyCode": "JPY"}


def test_a_kuwaiti_folio_balance_is_summed_to_the_fils() -> None:
    body = {"reservationFolioInformation": {"folioWindows": [
        {"folioWindowNo": 1, "balance": {"amount": 45.125, "currencyCode": "KWD"}},
        {"folioWindowNo": 2, "balance": {"amount": 0.001, "currencyCode": "KWD"}},
    ]}}
    folio = folio_from(body, "SAND03", "1")
    assert folio.balance == Money(amount=45.126, currency="KWD")
    assert folio.balance.owed and Money(amount=0.001, currency="KWD").owed
    assert not Money(amount=0.001, currency="USD").owed  # less than a cent is no open balance in dollars


def test_amounts_finer_than_the_currency_are_told_apart_and_shown_in_its_decimals() -> None:
    assert excess_decimals(12.345, "USD") and excess_decimals(1.1255, "KWD") and excess_decimals(1000.5, "JPY")
    assert not excess_decimals(1.125, "KWD") and not excess_decimals(0.1 + 0.2, "USD")
    assert round_money(45.1254, "KWD") == 45.125
    assert amount_text(45.125, "KWD") == "45.125 KWD" and amount_text(19, "USD") == "19.00 USD"
    assert amount_text(3000, "JPY") == "3000 JPY"
