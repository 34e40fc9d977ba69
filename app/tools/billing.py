"""Billing toolset: read a guest's folio, look up transaction codes, post charges, correct them, payments, and
deposits before the stay.

Card numbers never enter or leave: a payment names a payment method code, and a card payment is taken from the
reservation's card on file (by OPERA's id for it), never from a number typed here.
"""

import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, BeforeValidator, Field

from app.opera.cashiering import CardOnFile, CashieringAPI, Folio, Posting, Postings, TransactionCode
from app.opera.errors import OperaBadRequestError, OperaError, OperaNotFoundError
from app.opera.lov import ListsOfValuesAPI
from app.opera.models import Money, OperaWarning, PageInfo, currency_digits, excess_decimals, round_money
from app.opera.reservations import DepositDue, Reservation, ReservationsAPI
from app.telemetry.metrics import Metrics
from app.tools.previews import amount_text, booking_of, guest_of, money_text, recall, remember, room_of
from app.tools.registry import ExactlyOnce, IdempotencyKey, ToolDef, ToolServices, read_reservation, tool_error


def _as_text(value: Any) -> Any:
    # Anything the agent sends becomes text before pydantic checks it, so a card number typed into the wrong field
    # is refused by our own message (which never repeats it) rather than by a validation error that echoes input.
    if value is None or isinstance(value, str):
        return value
    return str(value)


#: Free text that our own code checks (see refuse_card_numbers), so pydantic never echoes what was sent.
GuardedText = Annotated[str, BeforeValidator(_as_text)]

HotelId = Annotated[
    str | None,
    Field(description="OPERA hotel code, e.g. SAND01; leave out for the server's default hotel", max_length=20,
          pattern=r"^[A-Za-z0-9_-]*$"),
]
ReservationId = Annotated[
    str,
    Field(
        min_length=1,
        max_length=40,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="OPERA internal reservation id (reservation_id from search_reservations/list_in_house)",
    ),
]
FolioWindowNo = Annotated[int, Field(ge=1, le=8, description="folio window (1..8); 1 is the guest's own bill")]
Currency = Annotated[
    str | None,
    Field(pattern=r"^[A-Z]{3}$", description="ISO currency code; leave out for the folio's currency"),
]

_CARD_NUMBER = re.compile(r"(?:\d[ -]?){12,18}\d")
_PAYMENT_METHOD = re.compile(r"^[A-Za-z][A-Za-z0-9]{0,19}$")
_LAST_FOUR = re.compile(r"^\d{4}$")


def refuse_card_numbers(field: str, text: str | None, max_length: int) -> str | None:
    """Refuse free text that looks like a card number or is too long, without repeating it."""
    if text is None or not text.strip():
        return None
    if _CARD_NUMBER.search(text):
        raise ToolError(
            f"{field} looks like it contains a card number; card numbers are never accepted here. "
            "Next step: remove it; for card payments give payment_method (e.g. VA) and at most card_last_four"
        )
    if len(text) > max_length:
        raise ToolError(f"{field} is {len(text)} characters long; at most {max_length} are allowed")
    return text.strip()


def payment_method_code(text: str) -> str:
    """A payment method code such as CA, VA, MC, AX; anything else (a card number, say) is refused unrepeated."""
    code = text.strip().upper()
    if not _PAYMENT_METHOD.fullmatch(code):
        raise ToolError(
            "payment_method must be a payment method code such as CA (cash), VA, MC or AX, not a card number or "
            "free text. Next step: read the hotel's payment methods in the resource "
            "opera://hotels/{hotel_id}/configuration and pass one of those codes"
        )
    return code


def last_four_digits(text: str | None) -> str | None:
    if text is None or not text.strip():
        return None
    digits = text.strip()
    if not _LAST_FOUR.fullmatch(digits):
        raise ToolError(
            "card_last_four takes exactly the last 4 digits of the card, nothing more; full card numbers are "
            "never accepted. Next step: pass only the last four digits, or leave card_last_four out"
        )
    return digits


def refuse_excess_decimals(tool: str, field: str, amount: float, currency: str | None) -> None:
    """An amount finer than its currency's smallest unit (12.345 USD, 1000.5 JPY) is refused, not rounded: the
    folio would hold another amount than the one asked for. A Kuwaiti hotel's 1.125 KWD passes (3 decimals)."""
    if excess_decimals(amount, currency):
        digits = currency_digits(currency)
        unit = f"at most {digits} decimal place{'s' if digits != 1 else ''}" if digits else "a whole number"
        raise ToolError(
            f"{tool}: {field} {amount!r} is finer than {currency or 'the folio currency'} allows ({unit}); "
            f"nothing was posted. Next step: give the {field} as {unit}, e.g. "
            f"{round_money(amount, currency):.{digits}f}"
        )


async def check_payment_method(lov: ListsOfValuesAPI, hotel_id: str, code: str) -> None:
    """Refuse a payment method the hotel does not have, when its list of payment methods can be read."""
    try:
        known = await lov.payment_methods(hotel_id)
    except OperaError:
        return  # the list is a courtesy check; OHIP still validates the code on the posting itself
    codes = [m.code for m in known]
    if codes and code not in codes:
        listed = ", ".join(f"{m.code} ({m.description or m.name or ''})".replace(" ()", "") for m in known[:12])
        raise ToolError(f"payment method {code} is not one of {hotel_id}'s payment methods: {listed}")


#: OPERA's card types (csh/rsv cardTypeType, upper-cased): a payment method with one of these codes is a card.
CARD_TYPES = frozenset({"AB", "AM", "AX", "CB", "DC", "DS", "DT", "EC", "ER", "JC", "JL", "MC", "NB", "SO", "ST",
                        "SW", "VA", "XY", "CP", "CU"})


async def card_for_payment(
    cashiering: CashieringAPI, hotel_id: str, reservation_id: str, method: str, last_four: str | None = None
) -> CardOnFile | None:
    """The reservation's card on file that a `method` payment is taken from, or None for a method that is no card.

    OPERA takes a card payment from a card on file, named by its id (Oracle's PASIG "Settlement on Existing Credit
    Card Payment Method"); this server never takes card numbers. So a card method without such a card is refused
    here, before anything is posted, with the reason and what to do instead."""
    cards = await cashiering.cards_on_file(hotel_id, reservation_id)
    card = next((c for c in cards if c.payment_method == method), None)
    if card is None and method not in CARD_TYPES:
        return None
    if card is None:
        held = ", ".join(f"{c.payment_method} ending {c.last_four or '????'}" for c in cards)
        other = f" It holds {held}: pay with that payment_method instead if the guest agrees." if held else ""
        raise ToolError(
            f"reservation {reservation_id} has no {method} card on file, so a {method} payment cannot be posted: "
            "OPERA takes a card payment from a card on file of the reservation, and this server never takes card "
            f"numbers; nothing was posted.{other} Next step: take the card on the desk's payment terminal, or add "
            "it to the reservation in OPERA (Payment Instructions), then pay again; a payment already taken "
            "outside OPERA can be recorded with a method that is not a card, e.g. CA, if that is the hotel's rule"
        )
    if last_four and card.last_four and last_four != card.last_four:
        raise ToolError(
            f"the {method} card on file of reservation {reservation_id} ends {card.last_four}, not {last_four}; "
            "nothing was posted. Next step: check which card the guest means; another card must first be added "
            "to the reservation in OPERA (Payment Instructions)"
        )
    return card


async def payment_label(lov: ListsOfValuesAPI, hotel_id: str, method: str, card: CardOnFile | None) -> str:
    """A payment method as a person reads it: 'Visa ending 1111' for a card on file, 'Cash (CA)' otherwise; never
    a card number (OPERA gives this server none)."""
    try:
        known = await lov.payment_methods(hotel_id)
    except OperaError:
        known = []
    entry = next((m for m in known if m.code == method), None)
    name = (entry.description or entry.name) if entry is not None else None
    if card is not None and card.last_four:
        return f"{name or method} ending {card.last_four}"
    return f"{name} ({method})" if name else method


async def pay(
    cashiering: CashieringAPI, metrics: Metrics, hotel_id: str, reservation_id: str, *, method: str, amount: float,
    currency: str | None, window: int, reference: str | None, card: CardOnFile | Literal["look up"] | None = "look up",
) -> Postings:
    """Post one payment to a folio window (from `card`, None for a method that is no card) and count it; an
    OperaError is left to the caller to word. By default the card is looked up on the reservation first
    (card_for_payment), so a card method without a card on file is refused before anything is posted."""
    if card == "look up":
        card = await card_for_payment(cashiering, hotel_id, reservation_id, method)
    posted = await cashiering.post_payment(
        hotel_id, reservation_id, payment_method=method, amount=amount, currency=currency, window=window,
        reference=reference, card=card,
    )
    metrics.front_desk_events.labels("payment").inc()
    return posted


class TransactionCodeList(BaseModel):
    hotel_id: str
    items: list[TransactionCode]
    page: PageInfo


class ChargeResult(BaseModel):
    reservation_id: str
    hotel_id: str
    transaction_code: str
    total: Money = Field(description="amount x quantity posted")
    postings: list[Posting] = Field(description="the folio lines OHIP created")
    warnings: list[OperaWarning] = Field(default_factory=list)
    next_step: str


class CorrectionResult(BaseModel):
    reservation_id: str
    hotel_id: str
    corrected_transaction_no: int = Field(description="the charge this correction takes back (all or part of)")
    transaction_code: str
    amount: Money = Field(description="the amount taken off the folio (posted as a negative charge)")
    remaining: Money = Field(description="what is left of the original charge after every correction of it")
    postings: list[Posting] = Field(description="the folio line OHIP created (a negative amount)")
    warnings: list[OperaWarning] = Field(default_factory=list)
    next_step: str


def every_posting(folio: Folio) -> list[Posting]:
    """All of the folio's postings; a tool error when OPERA kept some back (a window still `more_postings` after
    every page was read), since a posting searched for, or a charge's corrections summed, could be among them."""
    short = [w.window for w in folio.windows if w.more_postings]
    if short:
        raise ToolError(
            f"reservation {folio.reservation_id}'s folio window {short[0]} has more postings than OPERA returned; "
            "nothing was posted, because what is already posted could not all be read. Next step: check the folio "
            "in OPERA"
        )
    return [p for w in folio.windows for p in w.postings]


def correction_tag(transaction_no: int) -> str:
    """The posting reference that links a correction to the charge it corrects (and so finds earlier ones)."""
    return f"Correction of #{transaction_no}"


def tagged_total(postings: list[Posting], tag: str, separator: str = " ") -> float:
    """The sum of the postings whose reference is `tag`, or `tag` and `separator` followed by more text: how a
    correction or a refund names the posting it takes back."""
    return sum(
        p.amount.amount for p in postings
        if p.amount and p.reference and (p.reference == tag or p.reference.startswith(tag + separator))
    )


def corrected_so_far(postings: list[Posting], transaction_no: int) -> float:
    """The sum (negative) of the corrections already posted against charge `transaction_no`."""
    return tagged_total(postings, correction_tag(transaction_no))


def ledger_total(ledger: list[Posting], currency: str | None) -> float:
    """What a deposit ledger holds: every deposit less every refund."""
    return round_money(sum(p.amount.amount for p in ledger if p.amount), currency)


#: The statuses a deposit is taken in: before the stay ("advance deposit pre-payments that guests make prior to
#: their stays", Oracle's user guide). OPERA's deposit ledger matures onto the folio at check-in.
DEPOSIT_STATUSES = frozenset({"Reserved", "DueIn"})


class DepositResult(BaseModel):
    reservation_id: str
    hotel_id: str
    payment_method: str
    amount: Money
    card_last_four: str | None = Field(default=None, description="last four digits of the card that paid")
    deposits: list[Posting] = Field(description="the deposit posting OPERA made, on the reservation's deposit ledger")
    deposit_paid: Money | None = Field(default=None, description="all deposits now paid on the reservation")
    deposit_due: Money | None = Field(
        default=None, description="what is still due on the reservation's deposit request after this deposit")
    warnings: list[OperaWarning] = Field(default_factory=list)
    next_step: str


DEPOSIT_NEXT_STEP = ("get_reservation shows deposit_paid; at check-in the deposit moves to the folio and counts "
                     "against the bill, so check_out settles only what is left")


class PaymentResult(BaseModel):
    reservation_id: str
    hotel_id: str
    payment_method: str
    amount: Money
    card_last_four: str | None = Field(default=None, description="last four digits of the card that paid")
    postings: list[Posting]
    warnings: list[OperaWarning] = Field(default_factory=list)
    next_step: str


def build(services: ToolServices) -> list[ToolDef]:
    cashiering = CashieringAPI(services.http, cashier_id=services.settings.effective_cashier_id)
    lov = ListsOfValuesAPI(services.http)
    reservations = ReservationsAPI(services.http)
    metrics = services.metrics

    async def get_folio(
        reservation_id: ReservationId,
        detail: Annotated[bool, Field(description="true lists every posting; false gives balances only")] = False,
        window: Annotated[int | None, Field(ge=1, le=8, description="only this folio window (1..8)")] = None,
        hotel_id: HotelId = None,
    ) -> Folio:
        hotel = services.hotel(hotel_id)
        try:
            folio = await cashiering.folio(hotel, reservation_id, postings=detail, windows=[window] if window else ())
        except OperaError as exc:
            raise tool_error_for(exc, "get_folio", reservation_id) from None
        if not detail:
            for w in folio.windows:
                w.postings = []
        return folio

    async def list_transaction_codes(
        text: Annotated[
            str | None, Field(max_length=40, description="filter: part of a code or description, e.g. minibar")
        ] = None,
        limit: Annotated[int, Field(ge=1, le=100, description="page size")] = 20,
        offset: Annotated[int, Field(ge=0, description="index of the first code to return")] = 0,
        hotel_id: HotelId = None,
    ) -> TransactionCodeList:
        hotel = services.hotel(hotel_id)
        try:
            codes = await cashiering.transaction_codes(hotel)
        except OperaError as exc:
            raise tool_error(
                exc, what=f"list_transaction_codes for {hotel}", next_step="retry, or check health_check"
            ) from None
        if text:
            needle = text.strip().lower()
            codes = [c for c in codes if needle in c.code.lower() or needle in (c.description or "").lower()]
        page = codes[offset : offset + limit]
        has_more = offset + len(page) < len(codes)
        return TransactionCodeList(
            hotel_id=hotel,
            items=page,
            page=PageInfo(
                offset=offset, limit=limit, count=len(page), total=len(codes), has_more=has_more,
                next_offset=offset + len(page) if has_more else None,
            ),
        )

    async def refused_charge(exc: OperaError, hotel: str, reservation_id: str) -> ToolError:
        """post_charge's error. A refusal for a guest who has checked out (OPERA posts nothing to a checked-out
        folio) names the way on, undo_check_out, whatever OPERA's wording: the reservation's status is read."""
        if isinstance(exc, OperaBadRequestError) and services.offers("undo_check_out"):
            try:
                status = (await reservations.get(hotel, reservation_id, fresh=True)).status
            except OperaError:
                status = None
            if status == "CheckedOut":
                return tool_error(
                    exc, what=f"post_charge for reservation {reservation_id}",
                    next_step="the guest has checked out and OPERA posts nothing to a checked-out folio: "
                    "undo_check_out reinstates a guest checked out today (before the End of Day), then post_charge "
                    "again and check_out to settle it",
                )
        return tool_error_for(exc, "post_charge", reservation_id)

    async def post_charge(
        reservation_id: ReservationId,
        transaction_code: Annotated[
            str,
            Field(min_length=1, max_length=20, description="transaction code, e.g. 2000 (see list_transaction_codes)"),
        ],
        amount: Annotated[float, Field(gt=0, le=100_000, description="price per unit, in the folio's currency")],
        quantity: Annotated[int, Field(ge=1, le=999, description="number of units")] = 1,
        remark: Annotated[GuardedText | None, Field(max_length=200,
                                                    description="shown on the folio line, e.g. 'Room service'")] = None,
        reference: Annotated[GuardedText | None, Field(max_length=100,
                                                       description="your reference, e.g. a check number")] = None,
        window: FolioWindowNo = 1,
        currency: Currency = None,
        hotel_id: HotelId = None,
        idempotency_key: IdempotencyKey = None,
    ) -> ChargeResult:
        hotel = services.hotel(hotel_id)
        remark_text = refuse_card_numbers("remark", remark, 200)
        reference_text = stamped(refuse_card_numbers("reference", reference, 100))
        code = transaction_code.strip()
        try:
            codes = await cashiering.transaction_codes(hotel)
        except OperaError as exc:
            raise tool_error(exc, what="post_charge: reading transaction codes", next_step="retry shortly") from None
        known = next((c for c in codes if c.code == code), None)
        if known is None:
            examples = ", ".join(f"{c.code} {c.description or ''}".strip() for c in codes[:8])
            raise ToolError(
                f"transaction code {code!r} is not known in {hotel}; nothing was posted. "
                f"Next step: see list_transaction_codes (e.g. {examples})"
            )
        chosen_currency = currency or (known.default_price.currency if known.default_price else None)
        try:
            if chosen_currency is None:
                chosen_currency = (await cashiering.folio(hotel, reservation_id, postings=False)).currency
            refuse_excess_decimals("post_charge", "amount", amount, chosen_currency)
            posted = await cashiering.post_charge(
                hotel, reservation_id, transaction_code=code, amount=amount, currency=chosen_currency,
                quantity=quantity, window=window, remark=remark_text, reference=reference_text,
            )
        except OperaError as exc:
            raise await refused_charge(exc, hotel, reservation_id) from None
        metrics.front_desk_events.labels("charge").inc()
        return ChargeResult(
            reservation_id=reservation_id,
            hotel_id=hotel,
            transaction_code=code,
            total=Money(amount=round_money(amount * quantity, chosen_currency), currency=chosen_currency),
            postings=posted.postings,
            warnings=posted.warnings,
            next_step="get_folio shows the new balance; check_out settles it at departure",
        )

    def payment_args(payment_method: str, card_last_four: str | None,
                     reference: str | None) -> tuple[str, str | None, str | None]:
        """post_payment's argument rules (its preview and the payment): the method code, the last four digits,
        the reference (with the card's last four noted in it)."""
        code = payment_method_code(payment_method)
        last_four = last_four_digits(card_last_four)
        reference_text = refuse_card_numbers("reference", reference, 100)
        if last_four:
            card_note = f"card ending {last_four}"
            reference_text = f"{reference_text}; {card_note}" if reference_text else card_note
        return code, last_four, reference_text

    async def payment_plan(hotel: str, reservation_id: str, code: str,
                           last_four: str | None) -> tuple[CardOnFile | None, Folio]:
        """post_payment's OPERA-side rules (its preview and the payment): a payment method the hotel has, for a
        card a card on file of that method (matching card_last_four), and an open folio (the guest is checked
        in); returns the card and the folio."""
        key = ("post_payment", hotel, reservation_id, code, last_four)
        planned: tuple[CardOnFile | None, Folio] | None = recall(key)
        if planned is not None:
            return planned
        await check_payment_method(lov, hotel, code)
        try:
            card = await card_for_payment(cashiering, hotel, reservation_id, code, last_four)
            folio = await cashiering.folio(hotel, reservation_id, postings=False)
        except OperaError as exc:
            raise tool_error_for(exc, "post_payment", reservation_id) from None
        remember(key, (card, folio))
        return card, folio

    async def preview_payment(args: Mapping[str, Any]) -> str:
        """Before the human is asked: every check of the payment, then what it will post, in words."""
        hotel = services.hotel(args.get("hotel_id"))
        reservation_id = str(args["reservation_id"])
        code, last_four, _ = payment_args(str(args["payment_method"]), args.get("card_last_four"),
                                          args.get("reference"))
        card, folio = await payment_plan(hotel, reservation_id, code, last_four)
        currency = args.get("currency") or folio.currency
        refuse_excess_decimals("post_payment", "amount", float(args["amount"]), currency)
        label = await payment_label(lov, hotel, code, card)
        try:
            record = await reservations.get(hotel, reservation_id)
            whose = f"{guest_of(record)} in {room_of(record)} ({booking_of(record, hotel)})"
        except OperaError:
            whose = f"reservation {reservation_id} ({hotel})"  # the folio was read: the payment itself can go on
        return (f"Take a payment of {amount_text(float(args['amount']), currency)} by {label} for {whose}, folio "
                f"window {args.get('window') or 1}; the folio balance is {money_text(folio.balance)}?")

    async def post_payment(
        reservation_id: ReservationId,
        payment_method: Annotated[
            str, Field(min_length=1, max_length=20, pattern=r"^[A-Za-z][A-Za-z0-9]{0,19}$",
                               description="payment method code, e.g. CA (cash), VA, MC, AX; never a card number")
        ],
        amount: Annotated[float, Field(gt=0, le=1_000_000, description="amount paid, in the folio's currency")],
        card_last_four: Annotated[
            str | None,
            Field(pattern=r"^[0-9]{4}$",
                  description="for card payments: the last 4 digits of the card on file, to check it is the one"),
        ] = None,
        reference: Annotated[GuardedText | None, Field(max_length=100,
                                                       description="your reference, e.g. a receipt number")] = None,
        window: FolioWindowNo = 1,
        currency: Currency = None,
        hotel_id: HotelId = None,
        idempotency_key: IdempotencyKey = None,
    ) -> PaymentResult:
        hotel = services.hotel(hotel_id)
        code, last_four, reference_text = payment_args(payment_method, card_last_four, reference)
        reference_text = stamped(reference_text)
        card, folio = await payment_plan(hotel, reservation_id, code, last_four)
        chosen_currency = currency or folio.currency
        refuse_excess_decimals("post_payment", "amount", amount, chosen_currency)
        try:
            posted = await pay(
                cashiering, metrics, hotel, reservation_id, method=code, amount=amount, currency=chosen_currency,
                window=window, reference=reference_text, card=card,
            )
        except OperaError as exc:
            raise tool_error_for(exc, "post_payment", reservation_id) from None
        return PaymentResult(
            reservation_id=reservation_id,
            hotel_id=hotel,
            payment_method=code,
            amount=Money(amount=round_money(amount, chosen_currency), currency=chosen_currency),
            card_last_four=card.last_four if card else last_four,
            postings=posted.postings,
            warnings=posted.warnings,
            next_step="get_folio to confirm the balance; at 0 the guest can check_out",
        )

    async def deposit_plan(hotel: str, reservation_id: str, code: str,
                           last_four: str | None) -> tuple[CardOnFile | None, Reservation]:
        """post_deposit's OPERA-side rules (its preview and the deposit): a reservation not yet checked in, a
        payment method the hotel has and, for a card, a card on file of that method; returns the card and the
        reservation."""
        key = ("post_deposit", hotel, reservation_id, code, last_four)
        planned: tuple[CardOnFile | None, Reservation] | None = recall(key)
        if planned is not None:
            return planned
        record = await read_reservation(reservations, hotel, reservation_id, "post_deposit",
                                        find_with="search_reservations")
        if record.status not in DEPOSIT_STATUSES:
            if record.status in ("InHouse", "DueOut"):
                way = ("the guest is in house, so a payment goes to the folio: post_payment (get_folio shows the "
                       "balance)")
            elif record.status == "CheckedOut":
                way = "the guest has checked out: undo_check_out reinstates a stay checked out today"
            elif record.status == "Cancelled":
                way = "reinstate_reservation first if the guest keeps the booking"
            else:
                way = "OPERA takes no deposit on it; check the stay with get_reservation"
            raise ToolError(
                f"reservation {reservation_id} is {record.status}; a deposit is taken before the stay (a reservation "
                f"Reserved or DueIn), so nothing was posted. Next step: {way}"
            )
        await check_payment_method(lov, hotel, code)
        try:
            card = await card_for_payment(cashiering, hotel, reservation_id, code, last_four)
        except OperaError as exc:
            raise tool_error_for(exc, "post_deposit", reservation_id) from None
        remember(key, (card, record))
        return card, record

    async def preview_deposit(args: Mapping[str, Any]) -> str:
        """Before the human is asked: every check of the deposit, then what it will post, in words."""
        hotel = services.hotel(args.get("hotel_id"))
        reservation_id = str(args["reservation_id"])
        code, last_four, _ = payment_args(str(args["payment_method"]), args.get("card_last_four"),
                                          args.get("reference"))
        card, record = await deposit_plan(hotel, reservation_id, code, last_four)
        currency = args.get("currency") or stay_currency(record)
        amount = deposit_amount(record, args.get("amount"))
        refuse_excess_decimals("post_deposit", "amount", amount, currency)
        label = await payment_label(lov, hotel, code, card)
        paid = f"; {money_text(record.deposit_paid)} is already paid" if record.deposit_paid else ""
        request = record.deposit_due
        due = (f"; the deposit request ({request.rule or 'deposit rule'}) asks {money_text(request.amount_due)}"
               + (f" by {request.due_by.isoformat()}" if request.due_by else "")) if request else ""
        return (f"Take a deposit of {amount_text(amount, currency)} by {label} for {guest_of(record)}, arriving "
                f"{record.arrival.isoformat()} ({booking_of(record, hotel)}){paid}{due}?")

    async def post_deposit(
        reservation_id: ReservationId,
        payment_method: Annotated[
            str, Field(min_length=1, max_length=20, pattern=r"^[A-Za-z][A-Za-z0-9]{0,19}$",
                               description="payment method code, e.g. CA (cash), VA, MC, AX; never a card number")
        ],
        amount: Annotated[
            float | None,
            Field(gt=0, le=1_000_000, description="deposit paid, in the hotel's currency; leave out to take what the "
                                                  "reservation's deposit request still asks (get_reservation "
                                                  "deposit_due)"),
        ] = None,
        card_last_four: Annotated[
            str | None,
            Field(pattern=r"^[0-9]{4}$",
                  description="for card deposits: the last 4 digits of the card on file, to check it is the one"),
        ] = None,
        reference: Annotated[GuardedText | None, Field(max_length=100,
                                                       description="your reference, e.g. a receipt number")] = None,
        currency: Currency = None,
        hotel_id: HotelId = None,
        idempotency_key: IdempotencyKey = None,
    ) -> DepositResult:
        hotel = services.hotel(hotel_id)
        code, last_four, reference_text = payment_args(payment_method, card_last_four, reference)
        card, record = await deposit_plan(hotel, reservation_id, code, last_four)
        chosen_currency = currency or stay_currency(record)
        amount = deposit_amount(record, amount)
        refuse_excess_decimals("post_deposit", "amount", amount, chosen_currency)
        request = record.deposit_due
        try:
            posted = await cashiering.post_deposit(
                hotel, reservation_id, payment_method=code, amount=amount, currency=chosen_currency,
                reference=stamped(reference_text), card=card, policy_id=request.policy_id if request else None,
            )
        except OperaError as exc:
            raise tool_error_for(exc, "post_deposit", reservation_id) from None
        metrics.front_desk_events.labels("deposit").inc()
        paid = record.deposit_paid.amount if record.deposit_paid else 0.0
        return DepositResult(
            reservation_id=reservation_id, hotel_id=hotel, payment_method=code,
            amount=Money(amount=round_money(amount, chosen_currency), currency=chosen_currency),
            card_last_four=card.last_four if card else last_four, deposits=posted.postings,
            deposit_paid=Money(amount=round_money(paid + amount, chosen_currency), currency=chosen_currency),
            deposit_due=still_due(request, amount), warnings=posted.warnings, next_step=DEPOSIT_NEXT_STEP,
        )

    async def correct_charge(
        reservation_id: ReservationId,
        transaction_no: Annotated[
            int, Field(ge=1, description="transaction_no of the charge to correct (get_folio with detail=true)")
        ],
        reason: Annotated[GuardedText, Field(min_length=3, max_length=200,
                                             description="why it is corrected, e.g. 'minibar item not consumed'")],
        amount: Annotated[
            float | None,
            Field(gt=0, le=100_000, description="how much to take off (positive); leave out to void the whole charge"),
        ] = None,
        hotel_id: HotelId = None,
        idempotency_key: IdempotencyKey = None,
    ) -> CorrectionResult:
        hotel = services.hotel(hotel_id)
        why = refuse_card_numbers("reason", reason, 200)
        if why is None or len(why) < 3:
            raise ToolError("reason is required (at least 3 characters): say why the charge is corrected")
        try:
            folio = await cashiering.folio(hotel, reservation_id, postings=True)
        except OperaError as exc:
            raise tool_error_for(exc, "correct_charge", reservation_id) from None
        lines = every_posting(folio)
        original = next((p for p in lines if p.transaction_no == transaction_no), None)
        if original is None or original.kind != "Revenue" or not original.amount or original.amount.amount <= 0:
            what = "is not a charge" if original is not None else "is not on the folio"
            raise ToolError(
                f"transaction {transaction_no} {what} of reservation {reservation_id}; nothing was posted. "
                "Next step: get_folio with detail=true lists the charges and their transaction_no"
            )
        tag = correction_tag(transaction_no)
        currency = original.amount.currency or folio.currency
        remaining = round_money(original.amount.amount + corrected_so_far(lines, transaction_no), currency)
        if amount is not None:
            refuse_excess_decimals("correct_charge", "amount", amount, currency)
        take = round_money(amount if amount is not None else remaining, currency)
        if remaining <= 0 or take > remaining:
            left = f"only {amount_text(remaining, currency)} is left of it" if remaining > 0 else (
                "it is already fully corrected")
            raise ToolError(
                f"charge {transaction_no} ({money_text(original.amount)}) cannot be corrected by "
                f"{amount_text(take, currency)}: {left}; nothing was posted. Next step: get_folio with detail=true"
            )
        try:
            posted = await cashiering.post_charge(
                hotel, reservation_id, transaction_code=str(original.transaction_code), amount=-take,
                currency=currency, quantity=1, window=original.window or 1, remark=why, reference=stamped(tag),
            )
        except OperaError as exc:
            raise tool_error_for(exc, "correct_charge", reservation_id) from None
        metrics.front_desk_events.labels("correction").inc()
        return CorrectionResult(
            reservation_id=reservation_id, hotel_id=hotel, corrected_transaction_no=transaction_no,
            transaction_code=str(original.transaction_code), amount=Money(amount=take, currency=currency),
            remaining=Money(amount=round_money(remaining - take, currency), currency=currency),
            postings=posted.postings,
            warnings=posted.warnings, next_step="get_folio shows the corrected balance",
        )

    stamped = services.stamped

    async def stamped_postings(args: Mapping[str, Any], reference: str) -> list[Posting]:
        folio = await cashiering.folio(str(args["hotel_id"]), str(args["reservation_id"]), postings=True)
        tag = f"[{reference}]"
        return [p for p in every_posting(folio) if p.reference and tag in p.reference]

    async def find_charge(args: Mapping[str, Any], reference: str) -> ChargeResult | None:
        postings = await stamped_postings(args, reference)
        if not postings:
            return None
        first = postings[0]
        quantity = int(args.get("quantity") or 1)
        amount = float(args["amount"])
        currency = first.amount.currency if first.amount else None
        return ChargeResult(
            reservation_id=str(args["reservation_id"]), hotel_id=str(args["hotel_id"]),
            transaction_code=str(args["transaction_code"]).strip(),
            total=Money(amount=round_money(amount * quantity, currency), currency=currency),
            postings=postings, next_step="get_folio shows the new balance; check_out settles it at departure",
        )

    async def find_correction(args: Mapping[str, Any], reference: str) -> CorrectionResult | None:
        folio = await cashiering.folio(str(args["hotel_id"]), str(args["reservation_id"]), postings=True)
        lines = every_posting(folio)
        mine = [p for p in lines if p.reference and f"[{reference}]" in p.reference]
        if not mine:
            return None
        number = int(args["transaction_no"])
        original = next((p for p in lines if p.transaction_no == number), None)
        currency = mine[0].amount.currency if mine[0].amount else folio.currency
        left = (original.amount.amount if original and original.amount else 0.0) + corrected_so_far(lines, number)
        return CorrectionResult(
            reservation_id=str(args["reservation_id"]), hotel_id=str(args["hotel_id"]),
            corrected_transaction_no=number, transaction_code=str(mine[0].transaction_code),
            amount=Money(amount=round_money(-sum(p.amount.amount for p in mine if p.amount), currency),
                         currency=currency),
            remaining=Money(amount=round_money(left, currency), currency=currency), postings=mine,
            next_step="get_folio shows the corrected balance",
        )

    async def find_payment(args: Mapping[str, Any], reference: str) -> PaymentResult | None:
        postings = await stamped_postings(args, reference)
        if not postings:
            return None
        first = postings[0]
        currency = first.amount.currency if first.amount else None
        return PaymentResult(
            reservation_id=str(args["reservation_id"]), hotel_id=str(args["hotel_id"]),
            payment_method=payment_method_code(str(args["payment_method"])),
            amount=Money(amount=round_money(float(args["amount"]), currency), currency=currency),
            card_last_four=last_four_digits(args.get("card_last_four")), postings=postings,
            next_step="get_folio to confirm the balance; at 0 the guest can check_out",
        )

    async def find_deposit(args: Mapping[str, Any], reference: str) -> DepositResult | None:
        hotel, reservation_id = str(args["hotel_id"]), str(args["reservation_id"])
        ledger = await cashiering.deposits(hotel, reservation_id)
        mine = [p for p in ledger if p.reference and f"[{reference}]" in p.reference]
        if not mine:
            return None
        currency = mine[0].amount.currency if mine[0].amount else None
        paid = ledger_total(ledger, currency)
        try:
            request = (await reservations.get(hotel, reservation_id, fresh=True)).deposit_due
        except OperaError:
            request = None  # the deposit is found: what is still due is the one thing left unsaid
        return DepositResult(
            reservation_id=reservation_id, hotel_id=hotel,
            payment_method=payment_method_code(str(args["payment_method"])),
            amount=Money(amount=round_money(sum(p.amount.amount for p in mine if p.amount), currency),
                         currency=currency),
            card_last_four=last_four_digits(args.get("card_last_four")), deposits=mine,
            deposit_paid=Money(amount=round_money(paid, currency), currency=currency),
            deposit_due=request.amount_due if request else None, next_step=DEPOSIT_NEXT_STEP,
        )

    return [
        ToolDef(
            name="get_folio", toolset="billing", access="read", fn=get_folio, title="Guest folio",
            description=(
                "A checked-in guest's bill by reservation_id: balance, and per window charges, payments and payment "
                "method; detail=true lists every posting. Use before check_out or when the guest asks; next: "
                "post_payment, or check_out with payment_method."
            ),
            read_only=True, idempotent=True,
        ),
        ToolDef(
            name="list_transaction_codes", toolset="billing", access="read", fn=list_transaction_codes,
            title="Transaction codes",
            description=(
                "The hotel's transaction codes (what a charge is for: room, restaurant, minibar...), filterable by "
                "text. Use before post_charge."
            ),
            read_only=True, idempotent=True,
        ),
        ToolDef(
            name="post_charge", toolset="billing", access="billing", fn=post_charge, title="Post a charge",
            description=(
                "Post a charge to an in-house guest's folio: transaction_code (list_transaction_codes), amount per "
                "unit and quantity. Each call without idempotency_key posts again. Next: get_folio."
            ),
            exactly_once=ExactlyOnce(find_charge, found_by="the posting reference on the folio", check_first=True),
        ),
        ToolDef(
            name="correct_charge", toolset="billing", access="billing", fn=correct_charge, title="Correct a charge",
            description=(
                "Take back a charge posted in error, whole or in part, as OPERA does: a negative posting of its code "
                "naming the original (transaction_no from get_folio detail=true), with a reason; amount is how much "
                "(default: all that is left, never more). Each call without idempotency_key posts again. Next: "
                "get_folio."
            ),
            exactly_once=ExactlyOnce(find_correction, found_by="the posting reference on the folio", check_first=True),
        ),
        ToolDef(
            name="post_payment", toolset="billing", access="billing", fn=post_payment, title="Post a payment",
            description=(
                "Record a payment: payment method code (CA cash, VA, MC, AX...) and amount (get_folio shows the "
                "balance). A card pays from the reservation's card on file of that method (card_last_four, if given, "
                "must match); without one it is refused before anything is posted. Never give a card number. Each call "
                "without idempotency_key posts again. Next: check_out."
            ),
            destructive=True,
            exactly_once=ExactlyOnce(find_payment, found_by="the posting reference on the folio", check_first=True),
            preview=preview_payment,
        ),
        ToolDef(
            name="post_deposit", toolset="billing", access="billing", fn=post_deposit, title="Take a deposit",
            description=(
                "Take a deposit before the stay (a reservation Reserved or due in): payment method code and amount "
                "(default: what its deposit request still asks, get_reservation deposit_due). OPERA keeps it on the "
                "reservation's deposit ledger and moves it to the folio at check-in, where it "
                "counts against the bill. A card pays from the reservation's card on file; never give a card "
                "number. In house, use post_payment. Each call without idempotency_key posts again."
            ),
            destructive=True,
            exactly_once=ExactlyOnce(find_deposit, found_by="the posting reference on the deposit ledger",
                                     check_first=True),
            preview=preview_deposit,
        ),
    ]


def deposit_amount(record: Reservation, amount: Any) -> float:
    """The deposit to take: `amount` as given, else what the reservation's deposit request still asks."""
    if amount is not None:
        return float(amount)
    request = record.deposit_due
    if request is None or request.amount_due.amount <= 0:
        asks = "has no deposit request" if request is None else "owes nothing more on its deposit request"
        raise ToolError(
            f"post_deposit: reservation {record.reservation_id} {asks}, so there is no amount to default to; "
            "nothing was posted. Next step: give the amount the guest pays"
        )
    return request.amount_due.amount


def still_due(request: DepositDue | None, amount: float) -> Money | None:
    """What the deposit request still asks after a deposit of `amount` applied to it."""
    if request is None:
        return None
    left = max(0.0, request.amount_due.amount - amount)
    return Money(amount=round_money(left, request.amount_due.currency), currency=request.amount_due.currency)


def stay_currency(record: Reservation) -> str | None:
    """The currency a reservation is priced in (None: OPERA's hotel currency applies)."""
    for money in (record.rate_amount, record.total, record.deposit_paid):
        if money is not None and money.currency:
            return money.currency
    return None


def tool_error_for(exc: OperaError, tool: str, reservation_id: str) -> ToolError:
    """The billing tools' shared wording: which reservation, why, and where to look next."""
    if isinstance(exc, OperaNotFoundError) and exc.status == 204:  # the reservation exists, its folio not yet
        next_step = "a folio opens at check-in: check the guest in with check_in, or see get_reservation for its status"
    elif isinstance(exc, OperaNotFoundError):
        next_step = f"check the reservation id {reservation_id} with search_reservations or list_in_house"
    elif isinstance(exc, OperaBadRequestError) and "cashier" in (exc.detail or "").lower():
        next_step = ("OPERA refused the cashier this server posts under; ask an operator to set OPERA_CASHIER_ID to "
                     "the cashier the property set up for this interface")
    elif isinstance(exc, OperaBadRequestError) and "card" in (exc.detail or "").lower():
        next_step = ("OPERA refused the card; check the reservation's card on file with get_reservation, take the "
                     "card on the desk's payment terminal, or update Payment Instructions in OPERA")
    else:
        next_step = (
            "folios exist only for checked-in guests; check the reservation's status with get_reservation, "
            "and codes with list_transaction_codes"
        )
    return tool_error(exc, what=f"{tool} for reservation {reservation_id}", next_step=next_step)
