"""Exactly once on one replica, proved against sandbox state: a write whose answer is lost, or whose caller gave up,
repeated with the same idempotency_key, happens once and the repeat returns the first result."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest

from app.sandbox.state import nights_between
from tests.support.apps import running_app, settings_for_sandbox
from tests.support.mcp_client import call_error, call_ok, mcp_client
from tests.support.sandbox_state import BUSINESS_DATE, bookings_of, inject_fault, stay


@pytest.fixture
def app(sandbox_server: Any) -> Iterator[Any]:
    with running_app(settings_for_sandbox(sandbox_server.url)) as srv:
        yield srv


def in_house(sandbox: Any, index: int) -> Any:
    hotel = sandbox.enterprise.hotels["SAND01"]
    guests = [r for r in hotel.reservations.values() if r.status == "InHouse"]
    return guests[index]


async def test_a_booking_whose_answer_is_lost_is_made_once_and_the_repeat_returns_it(
    app: Any, sandbox_server: Any,
) -> None:
    key = str(uuid.uuid4())
    await inject_fault(sandbox_server.url, operation="postReservation", mode="drop")
    async with mcp_client(app.url) as client:
        lost = await call_error(client, "create_reservation", stay("Lostanswer", idempotency_key=key))
        assert "unknown" in lost
        assert len(bookings_of(sandbox_server.sandbox, "Lostanswer")) == 1  # the sandbox did book it
        again = await call_ok(client, "create_reservation", stay("Lostanswer", idempotency_key=key))
        third = await call_ok(client, "create_reservation", stay("Lostanswer", idempotency_key=key))
    booked = bookings_of(sandbox_server.sandbox, "Lostanswer")
    assert len(booked) == 1
    assert again["reservation_id"] == booked[0].reservation_id == third["reservation_id"]
    posts = [e for e in sandbox_server.sandbox.requests if e.operation_id == "postReservation"]
    assert len(posts) == 1, "the repeats must not send the booking again"


async def test_a_first_use_of_a_key_is_booked_even_where_a_search_would_answer_with_another_guest(
    app: Any, sandbox_server: Any,
) -> None:
    """Before booking under a new key, the tool asks OPERA whether a booking already carries it. It asks with Oracle's
    dedicated lookup (getReservationByExtId, 204 when none), not the search filter: a getHotelReservations that
    ignored the filter and answered with somebody else's stay would make the tool hand that stay to the agent and
    book nothing."""
    from app.sandbox.routes.rsv import search_row

    enterprise = sandbox_server.sandbox.enterprise
    hotel = enterprise.hotels["SAND01"]
    other = next(r for r in hotel.reservations.values() if r.status == "Reserved")
    await inject_fault(sandbox_server.url, operation="getHotelReservations", status=200, times=5, body={
        "reservations": {"reservationInfo": [search_row(enterprise, hotel, other)], "count": 1, "hasMore": False}})
    async with mcp_client(app.url) as client:
        booked = await call_ok(client, "create_reservation", stay("Firstuse", idempotency_key=str(uuid.uuid4())))
    assert booked["reservation_id"] != other.reservation_id
    assert [r.reservation_id for r in bookings_of(sandbox_server.sandbox, "Firstuse")] == [booked["reservation_id"]]
    lookups = [e.status for e in sandbox_server.sandbox.requests if e.operation_id == "getReservationByExtId"]
    assert lookups == [204]


async def test_a_lost_booking_without_a_trace_in_opera_is_made_by_the_repeat_once_opera_had_time(
    sandbox_server: Any,
) -> None:
    """Outcome unknown, and OPERA has no reservation with the key's reference: a repeat within the settle time does
    nothing (OPERA may still be booking it), a later one books, once."""
    key = str(uuid.uuid4())
    # The gateway answers 504 without processing: the outcome is unknown to the client, nothing was booked.
    await inject_fault(sandbox_server.url, operation="postReservation", status=504)
    settings = settings_for_sandbox(sandbox_server.url, reconcile_settle=1.5)
    with running_app(settings) as app:
        async with mcp_client(app.url) as client:
            unknown = await call_error(client, "create_reservation", stay("Notbooked", idempotency_key=key))
            assert "unknown" in unknown
            assert bookings_of(sandbox_server.sandbox, "Notbooked") == []
            early = await call_error(client, "create_reservation", stay("Notbooked", idempotency_key=key))
            assert "may still be processing" in early and "repeat the same call in" in early
            assert bookings_of(sandbox_server.sandbox, "Notbooked") == []
            await asyncio.sleep(1.6)
            again = await call_ok(client, "create_reservation", stay("Notbooked", idempotency_key=key))
            replay = await call_ok(client, "create_reservation", stay("Notbooked", idempotency_key=key))
    booked = bookings_of(sandbox_server.sandbox, "Notbooked")
    assert len(booked) == 1 and again["reservation_id"] == booked[0].reservation_id == replay["reservation_id"]


async def test_an_agent_that_times_out_and_repeats_gets_one_booking(app: Any, sandbox_server: Any) -> None:
    key = str(uuid.uuid4())
    # OHIP books at once but answers 2 s late; the agent gives up after 0.5 s and repeats.
    await inject_fault(sandbox_server.url, operation="postReservation", mode="stall", delay=2.0)
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
            "params": {"name": "create_reservation", "arguments": stay("Impatient", idempotency_key=key)}}
    headers = {"accept": "application/json, text/event-stream", "content-type": "application/json",
               "mcp-protocol-version": "2025-11-25"}
    async with httpx2.AsyncClient(timeout=0.5) as http:
        with pytest.raises(httpx2.ReadTimeout):
            await http.post(f"{app.url}/mcp", json=body, headers=headers)
    async with mcp_client(app.url) as client:
        again = await call_ok(client, "create_reservation", stay("Impatient", idempotency_key=key))
    booked = bookings_of(sandbox_server.sandbox, "Impatient")
    assert len(booked) == 1 and again["reservation_id"] == booked[0].reservation_id


async def test_a_charge_and_a_payment_whose_answers_are_lost_are_posted_once(
    app: Any, sandbox_server: Any,
) -> None:
    guest = in_house(sandbox_server.sandbox, 0)
    charge_key, pay_key = str(uuid.uuid4()), str(uuid.uuid4())
    charge = {"reservation_id": guest.reservation_id, "transaction_code": "2010", "amount": 12.5,
              "reference": "chk-77", "idempotency_key": charge_key}
    payment = {"reservation_id": guest.reservation_id, "payment_method": "CA", "amount": 7.25, "confirm": True,
               "idempotency_key": pay_key}
    await inject_fault(sandbox_server.url, operation="postBillingCharges", mode="drop")
    await inject_fault(sandbox_server.url, operation="postBillingPayment", mode="drop")
    async with mcp_client(app.url) as client:
        await call_error(client, "post_charge", charge)
        await call_error(client, "post_payment", payment)
        charged = await call_ok(client, "post_charge", charge)
        paid = await call_ok(client, "post_payment", payment)
        await asyncio.gather(call_ok(client, "post_charge", charge), call_ok(client, "post_payment", payment))
    record = sandbox_server.sandbox.enterprise.hotels["SAND01"].reservations[guest.reservation_id]
    charges = [p for w in record.folio_windows.values() for p in w.postings
               if p.transaction_code == "2010" and "chk-77" in (p.reference or "")]
    payments = [p for w in record.folio_windows.values() for p in w.postings
                if p.transaction_type == "Payment" and p.amount == 7.25]
    assert len(charges) == 1 and len(payments) == 1
    assert charged["total"]["amount"] == 12.5 and paid["amount"]["amount"] == 7.25
    assert [p["reference"] for p in charged["postings"]] == [f"⟦{charges[0].reference}⟧"]  # OPERA free text, marked


async def test_a_booking_and_a_charge_answered_503_after_opera_made_them_happen_once(
    app: Any, sandbox_server: Any,
) -> None:
    """A gateway can answer 503 after it forwarded the request (a proxy whose upstream reset before answering), and
    OHIP promises nothing stronger; a client that took 503 as "not processed" and sent the POST again booked twice
    and charged twice. Now the outcome is unknown, and the repeat with the key finds what OPERA made."""
    guest = in_house(sandbox_server.sandbox, 1)
    booking_key, charge_key = str(uuid.uuid4()), str(uuid.uuid4())
    charge = {"reservation_id": guest.reservation_id, "transaction_code": "2010", "amount": 9.75,
              "reference": "chk-503", "idempotency_key": charge_key}
    await inject_fault(sandbox_server.url, operation="postReservation", mode="replace", status=503)
    await inject_fault(sandbox_server.url, operation="postBillingCharges", mode="replace", status=503)
    async with mcp_client(app.url) as client:
        lost_booking = await call_error(client, "create_reservation", stay("Gateway", idempotency_key=booking_key))
        lost_charge = await call_error(client, "post_charge", charge)
        assert "unknown" in lost_booking and "503" in lost_booking and "unknown" in lost_charge
        booked = await call_ok(client, "create_reservation", stay("Gateway", idempotency_key=booking_key))
        charged = await call_ok(client, "post_charge", charge)
    sandbox = sandbox_server.sandbox
    assert [r.reservation_id for r in bookings_of(sandbox, "Gateway")] == [booked["reservation_id"]]
    record = sandbox.enterprise.hotels["SAND01"].reservations[guest.reservation_id]
    charges = [p for w in record.folio_windows.values() for p in w.postings if "chk-503" in (p.reference or "")]
    assert len(charges) == 1 and [p["transaction_no"] for p in charged["postings"]] == [charges[0].transaction_no]
    sent = [(e.operation_id, e.status) for e in sandbox.requests
            if e.operation_id in ("postReservation", "postBillingCharges")]
    assert sent == [("postReservation", 503), ("postBillingCharges", 503)]


async def test_a_booking_a_charge_and_a_payment_answered_500_after_opera_made_them_happen_once(
    app: Any, sandbox_server: Any,
) -> None:
    """OHIP's 500 is OPERA's own "unexpected condition", and nothing in Oracle's contract says it comes before the
    change is stored (an interface or a later step can fail after it). A client that read a 500 as "failed" let the
    repeat with the same key send the POST again: two bookings, two charges, two payments. Now the outcome is
    unknown, and the repeat finds what OPERA made."""
    guest = in_house(sandbox_server.sandbox, 3)
    booking_key = str(uuid.uuid4())
    charge = {"reservation_id": guest.reservation_id, "transaction_code": "2010", "amount": 6.25,
              "reference": "chk-500", "idempotency_key": str(uuid.uuid4())}
    payment = {"reservation_id": guest.reservation_id, "payment_method": "CA", "amount": 3.75, "confirm": True,
               "idempotency_key": str(uuid.uuid4())}
    oracle_500 = {"type": "https://tools.ietf.org/html/rfc7231#section-6.6.1", "title": "Internal Server Error",
                  "status": 500, "o:errorCode": "OPERA-500"}
    for operation in ("postReservation", "postBillingCharges", "postBillingPayment"):
        await inject_fault(sandbox_server.url, operation=operation, mode="replace", status=500, body=oracle_500)
    async with mcp_client(app.url) as client:
        lost = [await call_error(client, "create_reservation", stay("Fivehundred", idempotency_key=booking_key)),
                await call_error(client, "post_charge", charge),
                await call_error(client, "post_payment", payment)]
        assert all("unknown" in text and "500" in text for text in lost), lost
        booked = await call_ok(client, "create_reservation", stay("Fivehundred", idempotency_key=booking_key))
        charged = await call_ok(client, "post_charge", charge)
        paid = await call_ok(client, "post_payment", payment)
    sandbox = sandbox_server.sandbox
    assert [r.reservation_id for r in bookings_of(sandbox, "Fivehundred")] == [booked["reservation_id"]]
    record = sandbox.enterprise.hotels["SAND01"].reservations[guest.reservation_id]
    lines = [p for w in record.folio_windows.values() for p in w.postings]
    charges = [p for p in lines if "chk-500" in (p.reference or "")]
    payments = [p for p in lines if p.transaction_type == "Payment" and p.amount == 3.75]
    assert len(charges) == 1 and [p["transaction_no"] for p in charged["postings"]] == [charges[0].transaction_no]
    assert len(payments) == 1 and paid["amount"]["amount"] == 3.75
    sent = [(e.operation_id, e.status) for e in sandbox.requests
            if e.operation_id in ("postReservation", "postBillingCharges", "postBillingPayment")]
    assert sent == [("postReservation", 500), ("postBillingCharges", 500), ("postBillingPayment", 500)]


async def test_a_lost_charge_on_a_folio_longer_than_a_page_is_posted_once(app: Any, sandbox_server: Any) -> None:
    """getFolio pages its postings per window (folioWindows[].hasMore). On a long stay the stamped charge sits past
    the first page; the repeat must read every page before it may decide the charge was never posted, and the
    folio shown to the agent lists them all."""
    guest = in_house(sandbox_server.sandbox, 1)
    enterprise = sandbox_server.sandbox.enterprise
    for n in range(130):
        enterprise.post_charge("SAND01", guest.reservation_id, "2010", 1.0, reference=f"bar tab {n}")
    charge = {"reservation_id": guest.reservation_id, "transaction_code": "2010", "amount": 9.75,
              "reference": "late-tab", "idempotency_key": str(uuid.uuid4())}
    await inject_fault(sandbox_server.url, operation="postBillingCharges", mode="drop")
    async with mcp_client(app.url) as client:
        await call_error(client, "post_charge", charge)
        charged = await call_ok(client, "post_charge", charge)
        shown = await call_ok(client, "get_folio", {"reservation_id": guest.reservation_id, "detail": True})
    record = enterprise.hotels["SAND01"].reservations[guest.reservation_id]
    lines = [p for w in record.folio_windows.values() for p in w.postings]
    mine = [p for p in lines if "late-tab" in (p.reference or "")]
    assert len(mine) == 1, "the repeat must find the lost charge on a later page instead of posting it again"
    assert [p["transaction_no"] for p in charged["postings"]] == [mine[0].transaction_no]
    listed = [p["transaction_no"] for w in shown["windows"] for p in w["postings"]]
    assert sorted(listed) == sorted(p.transaction_no for p in lines) and len(lines) > 131
    assert not any(w["more_postings"] for w in shown["windows"])


async def test_a_charge_repeat_on_a_folio_opera_cut_short_is_refused_not_reposted(
    app: Any, sandbox_server: Any,
) -> None:
    """When OPERA says a window has more postings but its next page brings none, the lost charge could be among the
    unread ones: the repeat says so and posts nothing; once the folio reads whole, it finds the charge."""
    guest = in_house(sandbox_server.sandbox, 2)
    charge = {"reservation_id": guest.reservation_id, "transaction_code": "2010", "amount": 4.5,
              "reference": "cut-short", "idempotency_key": str(uuid.uuid4())}
    cut_short = {"reservationFolioInformation": {"folioWindows": [{
        "folioWindowNo": 1, "balance": {"amount": 0, "currencyCode": "USD"}, "folios": [{"postings": []}],
        "hasMore": True, "offset": 0, "limit": 100, "count": 0}]}}
    await inject_fault(sandbox_server.url, operation="postBillingCharges", mode="drop")
    async with mcp_client(app.url) as client:
        await call_error(client, "post_charge", charge)
        await inject_fault(sandbox_server.url, operation="getFolio", status=200, times=2, body=cut_short)
        refused = await call_error(client, "post_charge", charge)
        charged = await call_ok(client, "post_charge", charge)
    assert "more postings than OPERA returned" in refused and "nothing was posted" in refused
    record = sandbox_server.sandbox.enterprise.hotels["SAND01"].reservations[guest.reservation_id]
    mine = [p for w in record.folio_windows.values() for p in w.postings if "cut-short" in (p.reference or "")]
    assert len(mine) == 1
    assert [p["transaction_no"] for p in charged["postings"]] == [mine[0].transaction_no]


async def test_a_key_used_without_a_lost_answer_is_replayed_without_calling_ohip(
    app: Any, sandbox_server: Any,
) -> None:
    key = str(uuid.uuid4())
    async with mcp_client(app.url) as client:
        first = await call_ok(client, "create_reservation", stay("Plainrepeat", idempotency_key=key))
        sent = len(sandbox_server.sandbox.requests)
        again = await call_ok(client, "create_reservation", stay("Plainrepeat", idempotency_key=key))
    assert again == first and len(sandbox_server.sandbox.requests) == sent


async def test_check_in_and_check_out_gain_idempotency_keys(app: Any, sandbox_server: Any) -> None:
    """A check-out whose answer is lost is not paid twice when repeated: the repeat finds the guest checked out."""
    hotel = sandbox_server.sandbox.enterprise.hotels["SAND01"]
    guest = next(r for r in hotel.reservations.values()
                 if r.status == "InHouse" and r.departure == BUSINESS_DATE)
    key = str(uuid.uuid4())
    args = {"reservation_id": guest.reservation_id, "payment_method": "CA", "confirm": True, "idempotency_key": key}
    await inject_fault(sandbox_server.url, operation="postCheckOut", mode="drop")
    async with mcp_client(app.url) as client:
        await call_error(client, "check_out", args)
        again = await call_ok(client, "check_out", args)
    assert again["status"] == "CheckedOut" and hotel.reservations[guest.reservation_id].status == "CheckedOut"
    payments = [e for e in sandbox_server.sandbox.requests
                if e.operation_id == "postBillingPayment" and e.status < 300
                and e.path.endswith(f"/{guest.reservation_id}/payments")]
    assert len(payments) <= 1


async def leaving_early_with_the_put_answer_lost(sandbox_server: Any, guest: Any) -> dict[str, Any]:
    """check_out arguments of an early departure, keyed, whose putForEarlyDeparture answer the sandbox will drop."""
    await inject_fault(sandbox_server.url, operation="putForEarlyDeparture", mode="drop")
    return {"reservation_id": guest.reservation_id, "payment_method": "CA", "early_departure": True,
            "confirm": True, "idempotency_key": str(uuid.uuid4())}


async def test_an_early_departure_whose_answer_is_lost_is_checked_out_once(app: Any, sandbox_server: Any) -> None:
    """putForEarlyDeparture's answer is lost; the PUT's repeat meets OPERA's FOF00158 (already due out), which is
    the change made, so the check-out goes on: the guest is paid up once and checked out, in one call."""
    hotel = sandbox_server.sandbox.enterprise.hotels["SAND01"]
    guest = next(r for r in hotel.reservations.values()
                 if r.status == "InHouse" and r.balance > 0 and r.departure > hotel.business_date)
    owed = guest.balance
    args = await leaving_early_with_the_put_answer_lost(sandbox_server, guest)
    async with mcp_client(app.url) as client:
        out = await call_ok(client, "check_out", args)
    assert out["status"] == "CheckedOut" and out["settled"]["amount"] == pytest.approx(owed)
    assert guest.status == "CheckedOut" and guest.departure == hotel.business_date and guest.balance == 0
    sent = [(e.operation_id, e.status) for e in sandbox_server.sandbox.requests
            if e.path.split("?")[0].split("/")[-2:-1] == [guest.reservation_id]
            and e.operation_id in ("putForEarlyDeparture", "postBillingPayment")]
    assert sent == [("putForEarlyDeparture", 200), ("putForEarlyDeparture", 400), ("postBillingPayment", 201)]


async def test_an_early_departure_penalty_whose_answer_is_lost_is_posted_and_paid_once(
    app: Any, sandbox_server: Any
) -> None:
    """A guest on the non-refundable rate leaves two nights early; the answer of the PUT that posts OPERA's penalty
    is lost. Its repeat meets FOF00158 and posts nothing more: one penalty, paid once with the rest of the bill."""
    hotel = sandbox_server.sandbox.enterprise.hotels["SAND01"]
    guest = next(r for r in hotel.reservations.values() if r.status == "InHouse" and r.balance > 0
                 and (r.departure - hotel.business_date).days >= 2 and r.arrival < hotel.business_date)
    guest.rate_plan = "ADV"
    penalty = round(sum(guest.rate_on(night) for night in nights_between(hotel.business_date, guest.departure)), 2)
    owed = guest.balance
    args = await leaving_early_with_the_put_answer_lost(sandbox_server, guest)
    async with mcp_client(app.url) as client:
        out = await call_ok(client, "check_out", args)
        again = await call_ok(client, "check_out", args)
    penalties = [p.amount for w in guest.folio_windows.values() for p in w.postings if p.transaction_code == "1050"]
    assert penalties == [penalty]
    assert out["early_departure_penalty"] == {"amount": penalty, "currency": "USD"}
    assert out["settled"]["amount"] == pytest.approx(owed + penalty) and again["settled"] == out["settled"]
    assert guest.status == "CheckedOut" and guest.balance == 0
    paid = [p for w in guest.folio_windows.values() for p in w.postings if p.transaction_type == "Payment"]
    assert sum(p.amount for p in paid[-1:]) == pytest.approx(owed + penalty)


async def test_a_day_use_whose_room_and_tax_answer_is_lost_is_charged_once(app: Any, sandbox_server: Any) -> None:
    """A guest checked in today leaves today. postRoomAndTaxForDayUse's answer is lost; the sandbox, like Oracle's
    operation as written, would post them again on a repeat, so the tool reads the folio's roomAndTaxPosted instead of
    repeating: one room charge, one tax, one payment for both, checked out."""
    hotel = sandbox_server.sandbox.enterprise.hotels["SAND01"]
    async with mcp_client(app.url) as client:
        booked = await call_ok(client, "create_reservation", stay("Dayuse", days_ahead=0))
        checked_in = await call_ok(client, "check_in", {"reservation_id": booked["reservation_id"]})
        assert checked_in["status"] == "InHouse"
        await inject_fault(sandbox_server.url, operation="postRoomAndTaxForDayUse", mode="drop")
        out = await call_ok(client, "check_out", {"reservation_id": booked["reservation_id"], "payment_method": "CA",
                                                  "early_departure": True, "confirm": True,
                                                  "idempotency_key": str(uuid.uuid4())})
    guest = hotel.reservations[booked["reservation_id"]]
    assert guest.status == "CheckedOut" and guest.arrival == guest.departure == hotel.business_date
    postings = [p for w in guest.folio_windows.values() for p in w.postings]
    assert [p.transaction_code for p in postings if p.transaction_type == "Revenue"] == ["1000", "1100"]
    payments = [p.amount for p in postings if p.transaction_type != "Revenue"]
    assert payments == [out["settled"]["amount"]] and guest.balance == 0
    day_use_posts = [e.status for e in sandbox_server.sandbox.requests if e.operation_id == "postRoomAndTaxForDayUse"]
    assert day_use_posts == [201]  # the lost one, never repeated: the folio said they were posted


async def test_a_day_use_check_out_repeated_after_a_failure_posts_its_room_and_tax_once(
    app: Any, sandbox_server: Any
) -> None:
    """The first check_out posts the day's room and tax and then fails on the payment; the agent calls check_out again
    (a new key). The repeat reads roomAndTaxPosted, posts nothing more, settles once and checks out."""
    hotel = sandbox_server.sandbox.enterprise.hotels["SAND01"]
    args = {"payment_method": "CA", "early_departure": True, "confirm": True}
    async with mcp_client(app.url) as client:
        booked = await call_ok(client, "create_reservation", stay("Dayrepeat", days_ahead=0))
        await call_ok(client, "check_in", {"reservation_id": booked["reservation_id"]})
        await inject_fault(sandbox_server.url, operation="postBillingPayment", mode="respond", status=400, times=1)
        failed = await call_error(client, "check_out", {"reservation_id": booked["reservation_id"], **args,
                                                        "idempotency_key": str(uuid.uuid4())})
        assert "payment" in failed.lower()
        guest = hotel.reservations[booked["reservation_id"]]
        assert guest.status == "InHouse" and guest.balance > 0
        out = await call_ok(client, "check_out", {"reservation_id": booked["reservation_id"], **args,
                                                  "idempotency_key": str(uuid.uuid4())})
    assert guest.status == "CheckedOut"
    postings = [p for w in guest.folio_windows.values() for p in w.postings]
    assert [p.transaction_code for p in postings if p.transaction_type == "Revenue"] == ["1000", "1100"]
    assert [p.amount for p in postings if p.transaction_type != "Revenue"] == [out["settled"]["amount"]]
    assert guest.balance == 0
    assert [e.status for e in sandbox_server.sandbox.requests
            if e.operation_id == "postRoomAndTaxForDayUse"] == [201]


async def test_a_key_whose_record_is_gone_still_books_once(sandbox_server: Any) -> None:
    """The idempotency record is a fast path; OPERA holds the truth. A second server with an empty store (a Redis
    that came back empty, a record past its TTL) finds the booking by its reference instead of booking again."""
    key = str(uuid.uuid4())
    with running_app(settings_for_sandbox(sandbox_server.url)) as first:
        async with mcp_client(first.url) as client:
            booked = await call_ok(client, "create_reservation", stay("Forgotten", idempotency_key=key))
    with running_app(settings_for_sandbox(sandbox_server.url)) as second:
        async with mcp_client(second.url) as client:
            again = await call_ok(client, "create_reservation", stay("Forgotten", idempotency_key=key))
    assert again["reservation_id"] == booked["reservation_id"]
    assert len(bookings_of(sandbox_server.sandbox, "Forgotten")) == 1


async def test_a_first_use_of_a_key_creates_the_guest_even_where_a_search_would_answer_with_another(
    app: Any, sandbox_server: Any,
) -> None:
    """The same for profiles: the key is looked up with crm getProfileByExtId (204 when none), so a getProfiles that
    ignored its filter cannot pass another guest off as the one this key created."""
    from app.sandbox.routes.crm import profile_summary

    enterprise = sandbox_server.sandbox.enterprise
    other = next(iter(enterprise.profiles.values()))
    await inject_fault(sandbox_server.url, operation="getProfiles", status=200, times=5, body={
        "profileSummaries": {"profileInfo": [profile_summary(other)], "count": 1, "hasMore": False}})
    async with mcp_client(app.url) as client:
        made = await call_ok(client, "create_guest", {"surname": "Firstguest", "given_name": "Ada",
                                                      "idempotency_key": str(uuid.uuid4())})
    assert made["profile_id"] != other.profile_id
    assert [p.profile_id for p in enterprise.profiles.values() if p.surname == "Firstguest"] == [made["profile_id"]]
    assert [e.status for e in sandbox_server.sandbox.requests if e.operation_id == "getProfileByExtId"] == [204]


async def test_a_guest_profile_whose_answer_is_lost_is_created_once(app: Any, sandbox_server: Any) -> None:
    """The profile carries its reference where Oracle's postProfile puts it (beside profileDetails), so OPERA can be
    asked whether the lost create happened."""
    key = str(uuid.uuid4())
    enterprise = sandbox_server.sandbox.enterprise

    def made() -> list[Any]:
        return [p for p in enterprise.profiles.values() if p.surname == "Lostprofile"]

    await inject_fault(sandbox_server.url, operation="postProfile", mode="drop")
    args = {"surname": "Lostprofile", "given_name": "Ada", "idempotency_key": key}
    async with mcp_client(app.url) as client:
        lost = await call_error(client, "create_guest", args)
        assert "unknown" in lost
        assert len(made()) == 1  # the sandbox did create it
        again = await call_ok(client, "create_guest", args)
    assert len(made()) == 1
    assert again["profile_id"] == made()[0].profile_id
    posts = [e for e in sandbox_server.sandbox.requests if e.operation_id == "postProfile"]
    assert len(posts) == 1, "the repeat must not create the profile again"
