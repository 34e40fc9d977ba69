"""Deposit ledger and deposit refunds: what a reservation holds in advance deposits, and a refund of one of them.

Oracle's user guide: "To refund a deposit post a negative amount and provide details in the reference field", and a
refund "using the original credit card payment method from the initial transaction", never more than that payment
(its rebate validation). A refund is money leaving the hotel, so it must happen exactly once: `refund_deposit` reads
the deposit ledger before it posts and, when the answer is lost, settles it by finding the new refund there (of that
amount and reference, not there before) instead of posting again; with an `idempotency_key` the reference carries
its stamp, which a repeat on any replica finds. Refunds are taken before the stay and once a booking is cancelled or
a no-show ("If a deposit has been refunded on no-show or cancelled reservations, this data is not deleted"); from
check-in the deposit is on the folio and `check_out` settles it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, Literal

from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, Field

from app.opera.cashiering import CardOnFile, CashieringAPI, Posting
from app.opera.errors import OperaError
from app.opera.lov import ListsOfValuesAPI
from app.opera.models import Money, OperaWarning, round_money
from app.opera.reservations import Reservation, ReservationsAPI
from app.tools.billing import (
    GuardedText,
    HotelId,
    ReservationId,
    ledger_total,
    payment_label,
    refuse_card_numbers,
    refuse_excess_decimals,
    stay_currency,
    tagged_total,
    tool_error_for,
)
from app.tools.previews import amount_text, booking_of, guest_of, money_text, recall, remember
from app.tools.registry import ExactlyOnce, IdempotencyKey, ToolDef, ToolServices, read_reservation, tool_error

#: The statuses a deposit is refunded in: before the stay, and once the booking is cancelled or a no-show. From
#: check-in the deposit has matured onto the folio.
REFUND_STATUSES = frozenset({"Reserved", "DueIn", "Cancelled", "NoShow"})
MAX_REASON = 200
#: isDepositRefundEligible is asked for at most this many deposit payments per list_deposits call.
MAX_ELIGIBILITY_READS = 10


def refund_tag(transaction_no: int) -> str:
    """How a refund's reference names the deposit payment it pays back (OPERA keeps the reference as sent)."""
    return f"Refund of deposit {transaction_no}"


def refunded_by_tag(ledger: list[Posting], transaction_no: int) -> float:
    """What the refunds whose reference names deposit `transaction_no` paid back (a positive amount)."""
    refunds = [p for p in ledger if p.amount and p.amount.amount < 0]
    return -tagged_total(refunds, refund_tag(transaction_no), ":")


def ledger_currency(ledger: list[Posting], record: Reservation) -> str | None:
    """The currency of a deposit ledger: its postings', else the stay's."""
    return next((p.amount.currency for p in ledger if p.amount and p.amount.currency), None) or stay_currency(record)


class DepositLine(BaseModel):
    transaction_no: int | None = None
    kind: Literal["deposit", "refund"]
    amount: Money
    payment_method: str | None = Field(default=None, description="payment method code it was paid or refunded by")
    posted_on: date | None = None
    reference: str | None = None
    refund_limit: Money | None = Field(
        default=None, description="deposits: the most refund_deposit takes for it now (its amount less the refunds "
                                  "naming it, never more than the reservation holds)")
    refundable: bool | None = Field(
        default=None, description="deposits: OPERA's answer whether it can be refunded now (isDepositRefundEligible)")


class DepositLedger(BaseModel):
    reservation_id: str
    hotel_id: str
    status: str | None = None
    guest_name: str | None = None
    held: Money = Field(description="what the reservation holds in deposits now (deposits less refunds)")
    lines: list[DepositLine] = Field(description="the deposit ledger, oldest first")
    next_step: str


class DepositRefunded(BaseModel):
    reservation_id: str
    hotel_id: str
    refunded_transaction_no: int = Field(description="the deposit payment this refund pays back")
    payment_method: str
    card_last_four: str | None = Field(default=None, description="last four digits of the card refunded")
    amount: Money = Field(description="what was refunded (positive)")
    refund: list[Posting] = Field(description="the refund OPERA posted on the deposit ledger (a negative payment)")
    deposit_held: Money | None = Field(default=None, description="what the reservation holds in deposits afterwards")
    warnings: list[OperaWarning] = Field(default_factory=list)
    next_step: str


@dataclass(frozen=True)
class RefundPlan:
    record: Reservation
    ledger: list[Posting]
    original: Posting
    number: int
    paid: Money  # what that deposit payment was
    method: str
    card: CardOnFile | None
    take: float
    currency: str | None


def line_of(posting: Posting, ledger: list[Posting], held: float, currency: str | None) -> DepositLine:
    amount = posting.amount or Money(amount=0.0, currency=currency)
    line = DepositLine(
        transaction_no=posting.transaction_no, kind="deposit" if amount.amount > 0 else "refund",
        amount=amount, payment_method=posting.payment_method, posted_on=posting.posting_date,
        reference=posting.reference,
    )
    if amount.amount > 0 and posting.transaction_no is not None:
        left = min(amount.amount - refunded_by_tag(ledger, posting.transaction_no), held)
        line.refund_limit = Money(amount=round_money(max(left, 0.0), amount.currency or currency),
                                  currency=amount.currency or currency)
    return line


def build(services: ToolServices) -> list[ToolDef]:
    cashiering = CashieringAPI(services.http, cashier_id=services.settings.effective_cashier_id)
    reservations = ReservationsAPI(services.http)
    lov = ListsOfValuesAPI(services.http)
    metrics = services.metrics

    async def ledger_of(hotel: str, reservation_id: str, tool: str) -> list[Posting]:
        try:
            return await cashiering.deposits(hotel, reservation_id)
        except OperaError as exc:
            raise tool_error_for(exc, tool, reservation_id) from None

    async def list_deposits(reservation_id: ReservationId, hotel_id: HotelId = None) -> DepositLedger:
        hotel = services.hotel(hotel_id)
        record = await read_reservation(reservations, hotel, reservation_id, "list_deposits",
                                        find_with="search_reservations")
        ledger = await ledger_of(hotel, reservation_id, "list_deposits")
        currency = ledger_currency(ledger, record)
        held = ledger_total(ledger, currency)
        lines = [line_of(p, ledger, held, currency) for p in ledger]
        asked = 0
        for line in lines:
            if line.kind != "deposit" or line.transaction_no is None or record.status not in REFUND_STATUSES:
                continue
            if asked == MAX_ELIGIBILITY_READS:
                break
            asked += 1
            try:
                line.refundable, _ = await cashiering.deposit_refund_eligible(hotel, reservation_id,
                                                                              line.transaction_no)
            except OperaError:
                line.refundable = None  # OPERA did not say; refund_deposit asks again before it posts
        if record.status in REFUND_STATUSES:
            next_step = "refund_deposit with the transaction_no of a deposit to pay it back"
        elif ledger:
            next_step = ("the deposits moved to the folio at check-in: get_folio shows them, and check_out settles "
                         "what is left")
        else:
            next_step = "post_deposit takes a deposit before the stay"
        return DepositLedger(
            reservation_id=reservation_id, hotel_id=hotel, status=record.status, guest_name=record.guest_name,
            held=Money(amount=held, currency=currency), lines=lines, next_step=next_step,
        )

    async def refund_plan(hotel: str, reservation_id: str, transaction_no: int | None,
                          amount: float | None) -> RefundPlan:
        """Every check of a refund, before the human is asked and again before it posts: a reservation whose
        deposits are still on the ledger, a deposit payment of it, an amount within what is left of that payment and
        of what the reservation holds, OPERA's own eligibility check, and the way the payment came."""
        key = ("refund_deposit", hotel, reservation_id, transaction_no, amount)
        planned: RefundPlan | None = recall(key)
        if planned is not None:
            return planned
        record = await read_reservation(reservations, hotel, reservation_id, "refund_deposit",
                                        find_with="search_reservations")
        if record.status not in REFUND_STATUSES:
            way = ("its deposits moved to the folio at check-in: get_folio shows them, and check_out settles what is "
                   "left" if record.status in ("InHouse", "DueOut", "CheckedOut") else
                   "check the stay with get_reservation")
            raise ToolError(
                f"refund_deposit refused: reservation {reservation_id} is {record.status}; a deposit is refunded "
                f"before the stay or once the booking is cancelled or a no-show; nothing was refunded. Next step: {way}"
            )
        ledger = await ledger_of(hotel, reservation_id, "refund_deposit")
        payments = [p for p in ledger if p.amount and p.amount.amount > 0 and p.transaction_no is not None]
        currency = ledger_currency(ledger, record)
        held = ledger_total(ledger, currency)
        if not payments or held <= 0:
            raise ToolError(
                f"refund_deposit refused: reservation {reservation_id} holds no deposit "
                f"({amount_text(max(held, 0.0), currency)}); nothing was refunded. Next step: list_deposits shows "
                "its deposit ledger"
            )
        listed = "; ".join(
            f"transaction_no {p.transaction_no}: {money_text(p.amount)} by {p.payment_method or 'unknown method'}"
            + (f" on {p.posting_date.isoformat()}" if p.posting_date else "")
            for p in payments if p.amount
        )
        if transaction_no is None:
            if len(payments) > 1:
                raise ToolError(
                    f"refund_deposit: reservation {reservation_id} has {len(payments)} deposit payments, so say which "
                    f"one to refund with transaction_no ({listed}); nothing was refunded"
                )
            original = payments[0]
        else:
            found = next((p for p in payments if p.transaction_no == transaction_no), None)
            if found is None:
                raise ToolError(
                    f"refund_deposit refused: transaction {transaction_no} is not a deposit payment of reservation "
                    f"{reservation_id} (its deposit payments: {listed}); nothing was refunded"
                )
            original = found
        number = original.transaction_no
        assert number is not None and original.amount is not None  # payments hold only those
        left = round_money(min(original.amount.amount - refunded_by_tag(ledger, number), held), currency)
        if amount is not None:
            refuse_excess_decimals("refund_deposit", "amount", amount, currency)
        take = round_money(amount if amount is not None else left, currency)
        if left <= 0 or take > left:
            what = (f"at most {amount_text(left, currency)} of it can be refunded now (the reservation holds "
                    f"{amount_text(held, currency)})" if left > 0 else "it is refunded in full")
            raise ToolError(
                f"refund_deposit refused: deposit {number} ({money_text(original.amount)}) cannot be refunded "
                f"{amount_text(take, currency)}: {what}; nothing was refunded. Next step: list_deposits"
            )
        try:
            valid, warnings = await cashiering.deposit_refund_eligible(hotel, reservation_id, number)
        except OperaError as exc:
            raise tool_error_for(exc, "refund_deposit (OPERA's refund eligibility check)", reservation_id) from None
        if valid is False:
            why = "; ".join(w.message for w in warnings if w.message) or "OPERA gives no reason"
            raise ToolError(
                f"refund_deposit refused by OPERA: deposit {number} of reservation {reservation_id} cannot be "
                f"refunded now ({why}); nothing was refunded. Next step: list_deposits"
            )
        if not original.payment_method:
            raise ToolError(
                f"refund_deposit: OPERA does not say how deposit {number} was paid, and a refund goes back the way "
                "the payment came; nothing was refunded. Next step: refund it at the desk in OPERA"
            )
        card: CardOnFile | None = None
        if original.card_id:
            try:
                cards = await cashiering.cards_on_file(hotel, reservation_id)
            except OperaError as exc:
                raise tool_error_for(exc, "refund_deposit", reservation_id) from None
            card = next((c for c in cards if c.card_id == original.card_id), None) or CardOnFile(
                card_id=original.card_id, payment_method=original.payment_method)
        plan = RefundPlan(record=record, ledger=ledger, original=original, number=number, paid=original.amount,
                          method=original.payment_method, card=card, take=take, currency=currency)
        remember(key, plan)
        return plan

    def reason_of(reason: str | None) -> str:
        why = refuse_card_numbers("reason", reason, MAX_REASON)
        if why is None or len(why.strip()) < 3:
            raise ToolError("refund_deposit: reason is required (at least 3 characters), e.g. 'cancelled within "
                            "the free cancellation period'; OPERA requires a reference on a refund")
        return why.strip()

    async def preview_refund(args: Mapping[str, Any]) -> str:
        """Before the human is asked: every check of the refund, then what it pays back, in words."""
        hotel = services.hotel(args.get("hotel_id"))
        reservation_id = str(args["reservation_id"])
        why = reason_of(args.get("reason"))
        number = args.get("transaction_no")
        amount = args.get("amount")
        plan = await refund_plan(hotel, reservation_id, int(number) if number is not None else None,
                                 float(amount) if amount is not None else None)
        label = await payment_label(lov, hotel, plan.method, plan.card)
        paid = f", paid {plan.original.posting_date.isoformat()}" if plan.original.posting_date else ""
        return (f"Refund {amount_text(plan.take, plan.currency)} of deposit {plan.number} "
                f"({money_text(plan.paid)}{paid}) by {label} to {guest_of(plan.record)} "
                f"({booking_of(plan.record, hotel)}, {plan.record.status}); reason: {why}?")

    def ours(ledger: list[Posting], reference: str, take: float, before: set[int | None]) -> list[Posting]:
        """The refund this call made: new on the ledger, of this amount and reference."""
        return [p for p in ledger if p.transaction_no not in before and p.amount
                and abs(p.amount.amount + take) < 0.0005 and p.reference == reference]

    async def refund_deposit(
        reservation_id: ReservationId,
        reason: Annotated[GuardedText, Field(min_length=3, max_length=MAX_REASON,
                                             description="why it is refunded; kept as OPERA's reference, which a "
                                                         "refund needs")],
        transaction_no: Annotated[
            int | None,
            Field(ge=1, description="the deposit payment to refund (list_deposits); leave out when the reservation "
                                    "has only one"),
        ] = None,
        amount: Annotated[
            float | None,
            Field(gt=0, le=1_000_000, description="how much to refund (positive); leave out for all that is left of "
                                                  "that deposit"),
        ] = None,
        hotel_id: HotelId = None,
        idempotency_key: IdempotencyKey = None,
    ) -> DepositRefunded:
        hotel = services.hotel(hotel_id)
        why = reason_of(reason)
        plan = await refund_plan(hotel, reservation_id, transaction_no, amount)
        reference = services.stamped(f"{refund_tag(plan.number)}: {why}") or ""
        before = {p.transaction_no for p in plan.ledger}
        what = f"refund_deposit of deposit {plan.number} on reservation {reservation_id}"
        warnings: list[OperaWarning] = []
        try:
            posted = await cashiering.post_deposit(
                hotel, reservation_id, payment_method=plan.method, amount=-plan.take, currency=plan.currency,
                reference=reference, card=plan.card, original_transaction_no=plan.number,
            )
            refund, warnings = posted.postings, posted.warnings
        except OperaError as exc:
            # A lost answer after OPERA took it: the new refund of this amount and reference decides (never a blind
            # repeat of money leaving the hotel).
            try:
                refund = ours(await cashiering.deposits(hotel, reservation_id), reference, plan.take, before)
            except OperaError:
                refund = []
            if not refund:
                raise tool_error(exc, what=what, next_step="list_deposits shows whether it was refunded before "
                                                           "refunding again") from None
        metrics.front_desk_events.labels("deposit_refund").inc()
        held = ledger_total(plan.ledger, plan.currency) - plan.take
        return DepositRefunded(
            reservation_id=reservation_id, hotel_id=hotel, refunded_transaction_no=plan.number,
            payment_method=plan.method, card_last_four=plan.card.last_four if plan.card else None,
            amount=Money(amount=plan.take, currency=plan.currency), refund=refund,
            deposit_held=Money(amount=round_money(held, plan.currency), currency=plan.currency), warnings=warnings,
            next_step="list_deposits shows the ledger; get_reservation's deposit_paid is what the reservation holds",
        )

    async def find_refund(args: Mapping[str, Any], reference: str) -> DepositRefunded | None:
        hotel, reservation_id = str(args["hotel_id"]), str(args["reservation_id"])
        ledger = await cashiering.deposits(hotel, reservation_id)
        mine = [p for p in ledger if p.amount and p.amount.amount < 0 and p.reference
                and f"[{reference}]" in p.reference]
        if not mine:
            return None  # not there: the refund is made
        first = mine[0]
        number = args.get("transaction_no")
        if number is None and first.reference:
            tail = first.reference.removeprefix("Refund of deposit ").split(":", 1)[0]
            number = int(tail) if tail.isdigit() else 0
        currency = first.amount.currency if first.amount else None
        return DepositRefunded(
            reservation_id=reservation_id, hotel_id=hotel, refunded_transaction_no=int(number or 0),
            payment_method=first.payment_method or "", amount=Money(
                amount=round_money(-sum(p.amount.amount for p in mine if p.amount), currency), currency=currency),
            refund=mine, deposit_held=Money(amount=ledger_total(ledger, currency), currency=currency),
            next_step="the refund was made by the first call with this key; list_deposits shows the ledger",
        )

    return [
        ToolDef(
            name="list_deposits", toolset="billing", access="read", fn=list_deposits, title="Deposit ledger",
            description=(
                "A reservation's deposit ledger: each deposit paid before the stay and each refund, with "
                "transaction_no, method and date, what it holds now, and per deposit what refund_deposit can still "
                "pay back and whether OPERA allows a refund now. Use before refund_deposit."
            ),
            read_only=True, idempotent=True,
        ),
        ToolDef(
            name="refund_deposit", toolset="billing", access="billing", fn=refund_deposit, title="Refund a deposit",
            description=(
                "Pay back a deposit, whole or in part, before the stay or once the booking is cancelled or a "
                "no-show (e.g. cancelled within the free period): the deposit payment (transaction_no from "
                "list_deposits), a reason (OPERA's reference) and amount (default: all that is left of it, never "
                "more). It goes back the way it was paid (the same card on file). From check-in, deposits are on "
                "the folio. Each call without idempotency_key refunds again."
            ),
            destructive=True,
            exactly_once=ExactlyOnce(find_refund, found_by="the refund's reference on the deposit ledger",
                                     check_first=True),
            preview=preview_refund,
        ),
    ]

