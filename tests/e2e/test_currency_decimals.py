"""Amounts in the folio's own currency, not in cents: a Kuwaiti hotel (SAND03) keeps its books in dinars and fils,
three decimals, as OPERA's currency configuration does for KWD, BHD and OMR. Our app against a standalone sandbox
holding that hotel; every figure is checked against the hotel's own state."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from tests.support.apps import embedded_settings, running_app, settings_for_sandbox
from tests.support.mcp_client import call_error, call_ok, mcp_client

pytestmark = pytest.mark.sandbox(business_date=date(2026, 5, 1), hotels=("SAND01", "SAND03"))


def due_out(hotel: Any) -> Any:
    return next(r for r in hotel.reservations.values()
                if r.status == "InHouse" and r.balance > 0 and hotel.computed_status(r) == "DueOut")


async def test_a_kuwaiti_folio_is_charged_shown_and_settled_to_the_fils(sandbox_server: Any) -> None:
    """The old client rounded every amount to cents: the 1.125 KWD minibar went to OPERA as 1.12, the folio's
    balance was read short by its last fils, and the check-out paid that shorter amount, leaving OPERA a balance
    it would not check out."""
    hotel = sandbox_server.sandbox.enterprise.hotels["SAND03"]
    assert hotel.currency == "KWD"
    guest = due_out(hotel)
    before = guest.balance
    settings = settings_for_sandbox(sandbox_server.url, default_hotel_id="SAND03")
    with running_app(settings) as srv:
        async with mcp_client(srv.url) as client:
            charged = await call_ok(client, "post_charge", {"reservation_id": guest.reservation_id,
                                                            "transaction_code": "2000", "amount": 1.125,
                                                            "remark": "Minibar"})
            folio = await call_ok(client, "get_folio", {"reservation_id": guest.reservation_id})
            preview = await call_error(client, "check_out", {"reservation_id": guest.reservation_id,
                                                             "payment_method": "CA"})
            done = await call_ok(client, "check_out", {"reservation_id": guest.reservation_id,
                                                       "payment_method": "CA", "confirm": True})
    minibar = guest.folio_window(1).postings
    assert [p.amount for p in minibar if p.remark == "Minibar"] == [1.125]
    assert charged["total"] == {"amount": 1.125, "currency": "KWD"}
    owed = round(before + 1.125, 3)
    assert folio["balance"] == {"amount": owed, "currency": "KWD"}
    # The human is asked about the amount that will be paid, to the fils.
    assert f"balance {owed:.3f} KWD, settled by Cash" in preview
    assert done["status"] == "CheckedOut" and done["settled"] == {"amount": owed, "currency": "KWD"}
    assert guest.status == "CheckedOut" and guest.balance == 0


async def test_an_amount_finer_than_the_currency_is_refused_and_nothing_is_posted(sandbox_server: Any) -> None:
    """12.345 USD or 1.1255 KWD is not an amount either currency has; the old client rounded it and posted
    something else than what was asked for."""
    kuwait = sandbox_server.sandbox.enterprise.hotels["SAND03"]
    austin = sandbox_server.sandbox.enterprise.hotels["SAND01"]
    in_kuwait, in_austin = due_out(kuwait), due_out(austin)
    lines = {r.reservation_id: sum(len(w.postings) for w in r.folio_windows.values()) for r in (in_kuwait, in_austin)}
    with running_app(settings_for_sandbox(sandbox_server.url)) as srv:
        async with mcp_client(srv.url) as client:
            fils = await call_error(client, "post_charge", {"reservation_id": in_kuwait.reservation_id,
                                                            "hotel_id": "SAND03", "transaction_code": "2000",
                                                            "amount": 1.1255})
            cents = await call_error(client, "post_payment", {"reservation_id": in_austin.reservation_id,
                                                              "payment_method": "CA", "amount": 12.345,
                                                              "confirm": True})
            fine = await call_ok(client, "post_charge", {"reservation_id": in_kuwait.reservation_id,
                                                         "hotel_id": "SAND03", "transaction_code": "2000",
                                                         "amount": 0.5})
    assert "1.1255 is finer than KWD allows (at most 3 decimal places)" in fils and "nothing was posted" in fils
    assert "12.345 is finer than USD allows (at most 2 decimal places)" in cents and "nothing was posted" in cents
    assert sum(len(w.postings) for w in in_austin.folio_windows.values()) == lines[in_austin.reservation_id]
    assert sum(len(w.postings) for w in in_kuwait.folio_windows.values()) == lines[in_kuwait.reservation_id] + 1
    assert fine["total"] == {"amount": 0.5, "currency": "KWD"}


async def test_the_embedded_default_serves_the_kuwaiti_hotel_when_asked_to() -> None:
    """OPERA_SANDBOX_HOTELS=SAND01,SAND03 makes `uv run opera-cloud-mcp` a demo of a three-decimal folio."""
    settings, port = embedded_settings(sandbox_hotels="SAND01,SAND03")
    with running_app(settings, port) as srv:
        kuwait = srv.app.state.sandbox.enterprise.hotels["SAND03"]
        assert set(srv.app.state.sandbox.enterprise.hotels) == {"SAND01", "SAND03"}
        guest = due_out(kuwait)
        async with mcp_client(srv.url) as client:
            folio = await call_ok(client, "get_folio", {"reservation_id": guest.reservation_id, "hotel_id": "SAND03"})
    assert folio["balance"] == {"amount": guest.balance, "currency": "KWD"}
    assert any(round(w.balance, 3) != round(w.balance, 2) for r in kuwait.reservations.values()
               for w in r.folio_windows.values())  # the seeded books really hold fils
