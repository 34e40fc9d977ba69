"""Preview, then commit (#10.1): a confirmed write (cancel_reservation, check_out, post_payment) runs every check it
needs, OHIP's own verification included, before anyone is asked; a doomed action fails with its real reason and no
prompt; the prompt names guest, stay, room, amount with currency and never a card number; dry_run is never
confirmed; the legacy-era refusal says what to show the human and to call again with confirm=true.

Real HTTP, both protocol eras: mode="auto" lands on 2026-07-28, where this eliciting client answers the server's
question (recorded here); mode="legacy" is the stateless handshake era, where the server cannot ask."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx2
import pytest
from mcp import Client

from tests.support.humans import DeskPostsMeanwhile, Human
from tests.support.mcp_client import Mode, call_error, call_ok, mcp_client
from tests.support.servers import ServerThread

MODES: list[Mode] = ["auto", "legacy"]
LONG_DIGIT_RUN = re.compile(r"\d(?:[ -]?\d){12,}")


@asynccontextmanager
async def desk(server: ServerThread, mode: Mode, human: Human) -> AsyncIterator[Client]:
    async with mcp_client(server.url, mode=mode, elicitation_callback=human) as client:
        yield client


def requests_of(server: ServerThread, operation: str, since: int = 0) -> list[Any]:
    return [e for e in server.app.state.sandbox.requests[since:] if e.operation_id == operation]


def guest_name(server: ServerThread, reservation: Any) -> str:
    """The guest's name as the sandbox holds it (given name, then surname), as the summary quotes it: marked as guest
    text (⟦...⟧), since the legacy refusal carries it to the model."""
    profile = server.app.state.sandbox.enterprise.profiles[reservation.profile_id]
    return f"⟦{profile.given_name} {profile.surname}⟧"


def mark(server: ServerThread) -> int:
    return len(server.app.state.sandbox.requests)


def due_out_owing(hotel: Any, taken: set[str], *, card: str | None = None, no_card: str | None = None) -> Any:
    """An in-house guest due out today with an open balance (optionally with / without a card of a method)."""
    for r in hotel.reservations.values():
        if (r.reservation_id in taken or r.status != "InHouse" or r.balance <= 0
                or hotel.computed_status(r) != "DueOut"):
            continue
        methods = {c.payment_method for c in r.cards}
        if card is not None and card not in methods:
            continue
        if no_card is not None and no_card in methods:
            continue
        taken.add(r.reservation_id)
        return r
    raise AssertionError("the seeded hotel has no such guest")


@pytest.fixture(scope="module")
def taken() -> set[str]:
    """Reservations a test of this module already used (the server and its hotel are shared by the module)."""
    return set()


@pytest.mark.parametrize("mode", MODES)
async def test_a_check_out_with_an_unpaid_balance_is_refused_before_anyone_is_asked(
        server: ServerThread, hotel: Any, taken: set[str], mode: Mode) -> None:
    guest = due_out_owing(hotel, taken)
    owed = guest.balance
    human = Human()
    since = mark(server)
    async with desk(server, mode, human) as client:
        error = await call_error(client, "check_out", {"reservation_id": guest.reservation_id})
    assert human.asked == []
    assert f"still owes {owed:.2f} USD" in error and "post_payment" in error
    assert "confirm" not in error  # the real reason, not "needs confirmation"
    assert guest.status == "InHouse" and guest.balance == owed
    assert requests_of(server, "postCheckOut", since) == [] and requests_of(server, "postBillingPayment", since) == []


@pytest.mark.parametrize("mode", MODES)
async def test_a_payment_by_a_card_the_reservation_does_not_hold_is_refused_before_anyone_is_asked(
        server: ServerThread, hotel: Any, taken: set[str], mode: Mode) -> None:
    guest = due_out_owing(hotel, taken, no_card="AX")
    owed = guest.balance
    human = Human()
    since = mark(server)
    async with desk(server, mode, human) as client:
        error = await call_error(client, "post_payment", {"reservation_id": guest.reservation_id,
                                                          "payment_method": "AX", "amount": 10})
        with_confirm = await call_error(client, "post_payment", {"reservation_id": guest.reservation_id,
                                                                 "payment_method": "AX", "amount": 10,
                                                                 "confirm": True})
    assert human.asked == []
    assert "no AX card on file" in error and "nothing was posted" in error
    assert with_confirm == error
    assert guest.balance == owed
    assert requests_of(server, "postBillingPayment", since) == []


@pytest.mark.parametrize("mode", MODES)
async def test_cancelling_an_in_house_stay_is_refused_by_ohips_verification_before_anyone_is_asked(
        server: ServerThread, hotel: Any, taken: set[str], mode: Mode) -> None:
    guest = next(r for r in hotel.reservations.values() if r.status == "InHouse" and r.reservation_id not in taken)
    taken.add(guest.reservation_id)
    human = Human()
    since = mark(server)
    async with desk(server, mode, human) as client:
        error = await call_error(client, "cancel_reservation", {"reservation_id": guest.reservation_id})
    assert human.asked == []
    assert "only reservations not yet checked in can be cancelled" in error
    assert "confirm=true" not in error
    assert guest.status == "InHouse"
    cancels = requests_of(server, "postCancelReservation", since)
    assert len(cancels) == 1 and cancels[0].json["verificationOnly"] is True  # OHIP's own check, nothing else


@pytest.mark.parametrize("mode", MODES)
async def test_a_dry_run_cancellation_needs_no_confirmation_and_cancels_nothing(
        server: ServerThread, hotel: Any, taken: set[str], mode: Mode) -> None:
    future = next(r for r in hotel.reservations.values()
                  if r.status == "Reserved" and r.arrival > hotel.business_date and r.reservation_id not in taken)
    taken.add(future.reservation_id)
    human = Human()
    since = mark(server)
    async with desk(server, mode, human) as client:
        report = await call_ok(client, "cancel_reservation", {"reservation_id": future.reservation_id,
                                                              "dry_run": True})
    assert human.asked == []
    assert report["dry_run"] is True and report["cancelled"] is False and "nothing was changed" in report["message"]
    assert future.status == "Reserved" and future.cancellation_number is None
    checked = requests_of(server, "postCancelReservation", since)
    assert checked and all(e.json["verificationOnly"] is True for e in checked)  # OHIP verified, nothing more


async def test_the_check_out_prompt_names_guest_stay_room_amount_and_card_never_its_number(
        server: ServerThread, hotel: Any, taken: set[str]) -> None:
    guest = due_out_owing(hotel, taken, card="VA")
    card = next(c for c in guest.cards if c.payment_method == "VA")
    owed = guest.balance
    human = Human()
    async with desk(server, "auto", human) as client:
        name = guest_name(server, guest)
        done = await call_ok(client, "check_out", {"reservation_id": guest.reservation_id, "payment_method": "VA"})
    [prompt] = human.asked
    assert prompt.startswith(f"Check out {name} from room {guest.room_id} (reservation {guest.reservation_id}")
    assert f"{guest.arrival:%a %d %b %Y} to {guest.departure:%a %d %b %Y}" in prompt
    assert "SAND01" in prompt and f"balance {owed:.2f} USD" in prompt
    assert f"ending {card.last_four}" in prompt and "Visa" in prompt
    assert not LONG_DIGIT_RUN.search(prompt)
    assert done["status"] == "CheckedOut" and guest.status == "CheckedOut" and guest.balance == 0


async def test_a_charge_posted_while_the_human_reads_the_check_out_question_is_asked_about_again(
        server: ServerThread, hotel: Any, taken: set[str]) -> None:
    """The question names the balance; a minibar charge posted at the desk while the human reads it changes what
    the settlement would pay. The answer round re-reads the folio, so the human is asked again with the new balance
    instead of having the check-out pay an amount nobody confirmed."""
    guest = due_out_owing(hotel, taken)
    owed = guest.balance
    enterprise = server.app.state.sandbox.enterprise

    human = DeskPostsMeanwhile(enterprise, guest.reservation_id, 8.0)
    async with desk(server, "auto", human) as client:
        done = await call_ok(client, "check_out", {"reservation_id": guest.reservation_id, "payment_method": "CA"})
    assert len(human.asked) == 2
    assert f"balance {owed:.2f} USD" in human.asked[0] and f"balance {owed + 8:.2f} USD" in human.asked[1]
    assert done["settled"]["amount"] == round(owed + 8, 2) and guest.status == "CheckedOut" and guest.balance == 0


async def test_the_payment_prompt_gives_the_folio_currency_when_the_call_names_none(
        server: ServerThread, hotel: Any, taken: set[str]) -> None:
    guest = due_out_owing(hotel, taken)
    owed = guest.balance
    human = Human(answer="decline")
    since = mark(server)
    async with desk(server, "auto", human) as client:
        name = guest_name(server, guest)
        error = await call_error(client, "post_payment", {"reservation_id": guest.reservation_id,
                                                          "payment_method": "CA", "amount": 12.5})
    [prompt] = human.asked
    assert prompt.startswith("Take a payment of 12.50 USD by ") and "(CA)" in prompt
    assert name in prompt and f"room {guest.room_id}" in prompt and "SAND01" in prompt
    assert f"{guest.arrival:%a %d %b %Y}" in prompt and f"balance is {owed:.2f} USD" in prompt
    assert "declined" in error or "decline" in error
    assert guest.balance == owed and requests_of(server, "postBillingPayment", since) == []


async def test_the_cancel_prompt_names_the_guest_stay_and_reason(
        server: ServerThread, hotel: Any, taken: set[str]) -> None:
    future = next(r for r in hotel.reservations.values()
                  if r.status == "Reserved" and r.arrival > hotel.business_date and r.reservation_id not in taken)
    taken.add(future.reservation_id)
    human = Human()
    since = mark(server)
    async with desk(server, "auto", human) as client:
        name = guest_name(server, future)
        done = await call_ok(client, "cancel_reservation", {"reservation_id": future.reservation_id})
    [prompt] = human.asked
    assert prompt.startswith(f"Cancel the stay of {name}") and "SAND01" in prompt
    assert f"{future.arrival:%a %d %b %Y} to {future.departure:%a %d %b %Y}" in prompt and "reason " in prompt
    assert done["cancelled"] is True and future.status == "Cancelled"
    # OHIP's verification on each round (the question, then the answer: the check stands right before the write),
    # and exactly one cancellation.
    sent = [e.json["verificationOnly"] for e in requests_of(server, "postCancelReservation", since)]
    assert sent == [True, True, False]


async def test_the_legacy_refusal_gives_the_summary_and_asks_for_confirm_true(
        server: ServerThread, hotel: Any, taken: set[str]) -> None:
    guest = due_out_owing(hotel, taken)
    owed = guest.balance
    human = Human()
    since = mark(server)
    async with desk(server, "legacy", human) as client:
        name = guest_name(server, guest)
        refused = await call_error(client, "check_out", {"reservation_id": guest.reservation_id,
                                                         "payment_method": "CA"})
        assert guest.status == "InHouse" and requests_of(server, "postBillingPayment", since) == []
        done = await call_ok(client, "check_out", {"reservation_id": guest.reservation_id, "payment_method": "CA",
                                                   "confirm": True})
    assert human.asked == []
    assert "confirm=true" in refused and "same arguments" in refused and "nothing was changed" in refused
    assert f'"Check out {name} from room {guest.room_id}' in refused
    assert f"balance {owed:.2f} USD, settled by" in refused and "(CA)" in refused
    assert done["status"] == "CheckedOut" and guest.status == "CheckedOut"
    # The confirmed call read the folio once: the preview's read was handed to the handler.
    folio_reads = [e for e in server.app.state.sandbox.requests[since:] if e.operation_id == "getFolio"]
    assert len(folio_reads) == 2  # one per call: the refused one and the confirmed one


async def test_a_repeat_with_the_same_idempotency_key_returns_the_first_check_out(
        server: ServerThread, hotel: Any, taken: set[str]) -> None:
    guest = due_out_owing(hotel, taken)
    key = f"checkout-{guest.reservation_id}-once"
    args = {"reservation_id": guest.reservation_id, "payment_method": "CA", "confirm": True, "idempotency_key": key}
    since = mark(server)
    async with desk(server, "legacy", Human()) as client:
        first = await call_ok(client, "check_out", args)
        # The preview of the repeat finds the guest checked out; the key's first result is the answer, not that.
        again = await call_ok(client, "check_out", args)
    assert again == first and guest.status == "CheckedOut"
    assert len(requests_of(server, "postCheckOut", since)) == 1
    assert len(requests_of(server, "postBillingPayment", since)) == 1


@pytest.mark.parametrize("mode", MODES)
async def test_a_refused_call_with_an_idempotency_key_gives_the_reason_and_leaves_the_key_free(
        server: ServerThread, hotel: Any, taken: set[str], mode: Mode) -> None:
    guest = due_out_owing(hotel, taken)
    owed = guest.balance
    key = f"checkout-{guest.reservation_id}-{mode}"
    human = Human()
    async with desk(server, mode, human) as client:
        error = await call_error(client, "check_out", {"reservation_id": guest.reservation_id,
                                                       "idempotency_key": key})
        assert human.asked == [] and f"still owes {owed:.2f} USD" in error and guest.status == "InHouse"
        # Nothing was done under the key, so the corrected call may use it (not "first used with other arguments").
        done = await call_ok(client, "check_out", {"reservation_id": guest.reservation_id, "payment_method": "CA",
                                                   "idempotency_key": key, "confirm": True})
    assert done["status"] == "CheckedOut" and guest.balance == 0
    assert len(human.asked) == (1 if mode == "auto" else 0)


async def test_a_lost_dry_run_answer_is_no_write_of_unknown_outcome(
        server: ServerThread, hotel: Any, taken: set[str]) -> None:
    future = next(r for r in hotel.reservations.values()
                  if r.status == "Reserved" and r.arrival > hotel.business_date and r.reservation_id not in taken)
    taken.add(future.reservation_id)
    args = {"reservation_id": future.reservation_id, "dry_run": True, "idempotency_key": f"dry-{future.reservation_id}"}
    async with httpx2.AsyncClient(timeout=10) as http:
        fault = await http.post(f"{server.url}/sandbox/_sandbox/faults",
                                json={"operation": "postCancelReservation", "mode": "drop", "times": 1})
        assert fault.status_code in (200, 201), fault.text
    async with desk(server, "legacy", Human()) as client:
        await call_error(client, "cancel_reservation", args)
        # A verification changes nothing in OPERA: the key is free again, not held as "outcome unknown, wait".
        report = await call_ok(client, "cancel_reservation", args)
    assert report["dry_run"] is True and future.status == "Reserved"
