"""Sandbox routes for the OHIP csh module: folios, transaction codes, charges, payments, folio generation and
check-out (which OHIP puts in cashiering, not in the front office).

Card numbers are never kept: a payment keeps at most the last four digits, and digit runs that look like a card
number in free text (remarks, references) are masked before they are stored or echoed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from app.sandbox.routes.common import (
    DEFAULT_PAGE_LIMIT,
    MAX_PAGE_LIMIT,
    as_bool,
    as_enum,
    as_float,
    as_int,
    as_list,
    as_object,
    as_text,
    bad_input,
    created,
    hotel_of,
    id_entry,
    mask_card_numbers,
    money_body,
    ohip_json,
    query_value,
    query_values,
    read_json,
)
from app.sandbox.routes.fof import check_body_target
from app.sandbox.routes.rsv import reservation_path, search_row
from app.sandbox.state import (
    MAX_FOLIO_WINDOW,
    ROOM_STATUSES,
    FolioWindow,
    Hotel,
    PaymentMethod,
    Posting,
    Profile,
    Reservation,
    SandboxError,
    amount_text,
)

if TYPE_CHECKING:
    from app.sandbox.app import Sandbox

BASE = "/csh/v1"
#: Oracle's exact spelling; csh is case-sensitive here and differs from other modules (`Totalbalance`).
FOLIO_FETCH_INSTRUCTIONS = (
    "Reservation",
    "Windowbalances",
    "Payment",
    "Payee",
    "Account",
    "Guestpay",
    "Notifications",
    "Transactioncodes",
    "Foliohistory",
    "Totalbalance",
    "Postings",
)
EVENT_TYPES = (
    "CheckOut",
    "EarlyDeparture",
    "AdvanceBill",
    "InterimBill",
    "PasserBy",
    "PostIt",
    "CreditBill",
    "ChargesAndPayments",
    "Deposit",
    "DepositRefund",
    "AutoFolio",
    "PrepaidCard",
    "AutoSettlement",
    "InformationFolio",
    "SupplementalFolio",
    "ProformaFolio",
)
MAX_CHARGES_PER_CALL = 50
def folio_path(hotel_id: str, reservation_id: str) -> str:
    return f"{BASE}/hotels/{hotel_id}/reservations/{reservation_id}/folios"


# ------------------------------------------------------------------------------------------------- rendering


def posting_body(posting: Posting) -> dict[str, Any]:
    """One `summaryPostingType`. Amounts are positive; `transactionType` and debit/credit say which way."""
    amount = money_body(posting.amount, posting.currency)
    body: dict[str, Any] = {
        "transactionNo": posting.transaction_no,
        "transactionCode": posting.transaction_code,
        "transactionDescription": posting.description,
        "transactionType": posting.transaction_type,
        "transactionAmount": amount["amount"],
        "postedAmount": amount,
        "price": money_body(posting.amount / posting.quantity, posting.currency),
        "quantity": posting.quantity,
        "postingDate": posting.posting_date.isoformat(),
        "transactionDate": posting.posting_date.isoformat(),
        "revenueDate": posting.posting_date.isoformat(),
        "folioWindowNo": posting.folio_window_no,
    }
    body["creditAmount" if posting.transaction_type == "Payment" else "debitAmount"] = amount
    if posting.remark:
        body["remark"] = posting.remark
    if posting.reference:
        body["reference"] = posting.reference
    if posting.cashier_id is not None:
        body["cashierInfo"] = {"cashierId": posting.cashier_id}
    return body


def deposit_body(posting: Posting) -> dict[str, Any]:
    """One `depositPostingType`: a folio line's fields (it has no window) and the payment method it was paid by."""
    body = {k: v for k, v in posting_body(posting).items() if k != "folioWindowNo"}
    if posting.payment_method:
        body["paymentMethod"] = {"paymentMethod": posting.payment_method}
        if posting.card_id:  # the card on file it was paid from, by its id (never a number)
            body["paymentMethod"]["paymentCard"] = {"cardId": {"id": posting.card_id, "type": "CreditCard"}}
    if posting.deposit_policy_id:
        body["depositPolicy"] = {"policyId": {"id": posting.deposit_policy_id, "type": "Policy"}}
    return body


def window_body(
    hotel: Hotel,
    window: FolioWindow,
    *,
    payee: Profile | None = None,
    postings: bool,
    limit: int | None = None,
    offset: int = 0,
    folio_numbers: list[int] | None = None,
) -> dict[str, Any]:
    """One `folioWindowType`: balances, and when asked the postings (paged per window, as OHIP does)."""
    body: dict[str, Any] = {
        "folioWindowNo": window.window_no,
        "balance": money_body(window.balance, hotel.currency),
        "revenue": money_body(window.revenue, hotel.currency),
        "payment": money_body(window.payments, hotel.currency),
        "emptyFolio": not window.postings,
    }
    if payee is not None:
        # payeeInfoType: the profile the window bills (the guest's own unless routed to someone else).
        name = " ".join(part for part in (payee.given_name, payee.surname) if part) or payee.surname
        body["payeeInfo"] = {"payeeId": {"id": payee.profile_id, "type": "Profile"}, "payeeName": name[:80]}
    if window.payment_method:
        method = hotel.payment_methods.get(window.payment_method)
        body["paymentMethod"] = {"paymentMethod": window.payment_method}
        if method is not None:
            body["paymentMethod"]["description"] = method.description
    if not postings and folio_numbers is None:
        return body
    lines = window.postings[offset:] if limit is None else window.postings[offset : offset + limit]
    folio: dict[str, Any] = {"folioStatus": "Ok", "postings": [posting_body(p) for p in lines] if postings else []}
    numbers = folio_numbers if folio_numbers is not None else window.folio_numbers
    if numbers:
        folio["folioNo"] = numbers[-1]
        folio["folioDate"] = hotel.business_date.isoformat()
        folio["folioAmount"] = money_body(window.revenue, hotel.currency)
    body["folios"] = [folio]
    if postings:
        body.update(
            offset=offset,
            limit=limit if limit is not None else len(window.postings),
            hasMore=offset + len(lines) < len(window.postings),
            totalResults=len(window.postings),
            count=len(lines),
        )
    return body


#: Reservation states that have a folio: OPERA opens it at check-in and keeps it after check-out.
FOLIO_STATUSES = ("InHouse", "CheckedOut")


def windows_of(reservation: Reservation, wanted: list[int]) -> list[FolioWindow]:
    """The reservation's windows in order; an in-house guest with nothing posted yet has an empty window 1."""
    windows = [reservation.folio_windows[n] for n in sorted(reservation.folio_windows)]
    if not windows:
        windows = [FolioWindow(1, payment_method=reservation.payment_method)]
    return [w for w in windows if not wanted or w.window_no in wanted]


# --------------------------------------------------------------------------------------------------- parsing


@dataclass(frozen=True)
class ChargeLine:
    """One validated entry of `criteria.charges`."""

    transaction_code: str
    unit_price: float | None  # None: the code's default price
    quantity: int
    folio_window: int
    remark: str | None
    reference: str | None
    currency: str | None
    cashier_id: int | None


def _window_no(value: Any, path: str) -> int:
    window = as_int(value, path, minimum=1, maximum=MAX_FOLIO_WINDOW)
    return 1 if window is None else window


def _amount(value: Any, path: str) -> tuple[float | None, str | None]:
    """(amount, currency) of a `currencyAmountType` (lenient: a bare number)."""
    if isinstance(value, dict):
        currency = as_text(value.get("currencyCode"), f"{path}.currencyCode", max_length=20)
        return as_float(value.get("amount"), f"{path}.amount"), currency
    return as_float(value, path), None


def cashier_of(block: dict[str, Any], path: str) -> int | None:
    """`cashierId` (csh declares it a number; OPERA's are whole numbers), lenient on numeric strings."""
    return as_int(block.get("cashierId"), f"{path}.cashierId", minimum=1)


def _card_id(payment_method: dict[str, Any]) -> str | None:
    """The card on file a payment names (`paymentCard.cardId.id`). The sandbox's hotels are tokenized (OPI active),
    where "a clear credit card number can NOT be sent in the Property APIs" (Oracle's RCCIG, step 1); the number
    itself never goes into an error, a log or the state."""
    card = as_object(payment_method.get("paymentCard"), "criteria.paymentMethod.paymentCard")
    if card.get("cardNumber") not in (None, ""):
        raise bad_input(
            "Card numbers cannot be sent where card tokenization is active; name the reservation's card on file "
            "by paymentCard.cardId (getReservation, fetchInstructions=ReservationPaymentMethods)",
            "criteria.paymentMethod.paymentCard.cardNumber",
            title="Card number not allowed",
            code="OHIPSIM-CSH-CARD",
        )
    if not card:
        return None
    reference = card.get("cardId")
    if isinstance(reference, dict):
        return as_text(reference.get("id"), "criteria.paymentMethod.paymentCard.cardId.id", max_length=80)
    return as_text(reference, "criteria.paymentMethod.paymentCard.cardId", max_length=80)


@dataclass(frozen=True)
class Paying:
    """What a payment's criteria ask for (postBillingPayment's and postDepositPayment's alike)."""

    method: PaymentMethod
    amount: float
    currency: str | None
    card_id: str | None
    reference: str | None
    remark: str | None

    def remark_for(self, reservation: Reservation, posting: Posting) -> str | None:
        """postingRemark is user-defined and comes back as sent; without one, the remark says which card paid."""
        card = next((c for c in reservation.cards if c.card_id == posting.card_id), None)
        return self.remark or (f"{self.method.description} ending {card.last_four}" if card else None)


def payment_of(hotel: Hotel, criteria: dict[str, Any]) -> Paying:
    method_block = as_object(criteria.get("paymentMethod"), "criteria.paymentMethod")
    code = as_text(method_block.get("paymentMethod"), "criteria.paymentMethod.paymentMethod", max_length=20)
    if code is None:
        raise bad_input(
            f"criteria.paymentMethod.paymentMethod is required; valid: {', '.join(hotel.payment_methods)}",
            "criteria.paymentMethod.paymentMethod",
        )
    method = hotel.payment_methods.get(code.upper())
    if method is None:
        raise bad_input(
            f"Payment method {code} is not configured in hotel {hotel.code}; valid: "
            f"{', '.join(hotel.payment_methods)}",
            "criteria.paymentMethod.paymentMethod",
            title="Unknown payment method",
            code="OHIPSIM-CSH-PAYMENT",
        )
    card_id = _card_id(method_block)
    amount, currency = _amount(criteria.get("postingAmount"), "criteria.postingAmount")
    if amount is None:
        raise bad_input("criteria.postingAmount.amount is required", "criteria.postingAmount.amount")
    return Paying(
        method=method, amount=amount, currency=currency, card_id=card_id,
        reference=mask_card_numbers(as_text(criteria.get("postingReference"), "criteria.postingReference")),
        remark=mask_card_numbers(as_text(criteria.get("postingRemark"), "criteria.postingRemark")),
    )


# ---------------------------------------------------------------------------------------------------- routes


def payee_of(sandbox: Sandbox, reservation: Reservation, window: FolioWindow) -> Profile | None:
    """The profile a window bills: its routed payee, else the stay's guest."""
    return sandbox.enterprise.profiles.get(window.payee_profile_id or reservation.profile_id)


def routes(sandbox: Sandbox) -> list[BaseRoute]:
    # Handlers read `sandbox.enterprise` on every call: a reset replaces the whole world.

    async def get_folio(request: Request) -> Response:
        hotel = hotel_of(sandbox, request)
        reservation = hotel.reservation(str(request.path_params["reservationId"]))
        fetch = query_values(request, "fetchInstructions")
        for value in fetch:
            if value not in FOLIO_FETCH_INSTRUCTIONS:
                spelled = next((f for f in FOLIO_FETCH_INSTRUCTIONS if f.lower() == value.lower()), None)
                hint = f"csh spells it {spelled}" if spelled else f"use {', '.join(FOLIO_FETCH_INSTRUCTIONS)}"
                raise bad_input(f"fetchInstructions {value!r} is not valid; {hint}", "fetchInstructions")
        wanted = [
            _window_no(value, "folioWindowNo") for value in query_values(request, "folioWindowNo") if value.strip()
        ]
        # Postings are paged per window, as folioWindows[].hasMore/offset/limit declare; Oracle states no default
        # page, so the sandbox's other paged lists' is used: a client that does not ask gets the first 20.
        limit = as_int(query_value(request, "limit"), "limit", minimum=1, maximum=MAX_PAGE_LIMIT) or DEFAULT_PAGE_LIMIT
        offset = as_int(query_value(request, "offset"), "offset", minimum=0) or 0
        balances_only = any(
            as_bool(query_value(request, name), name) for name in ("summaryOnly", "reservationBalanceOnly")
        )
        show_postings = (not fetch or "Postings" in fetch) and not balances_only
        if reservation.status not in FOLIO_STATUSES and not reservation.folio_windows:
            # getFolio: "Folios will only exist ... once the guest has checked in"; the spec's answer is 204.
            return Response(status_code=204)
        windows = windows_of(reservation, wanted)
        information: dict[str, Any] = {
            "folioWindows": [
                window_body(hotel, w, payee=payee_of(sandbox, reservation, w), postings=show_postings, limit=limit,
                            offset=offset)
                for w in windows
            ]
        }
        if not fetch or "Reservation" in fetch:
            information = {"reservationInfo": search_row(sandbox.enterprise, hotel, reservation), **information}
        # reservationFolioInfoType.roomAndTaxPosted: "Flag to check if the room and tax are already posted" (of
        # the business date).
        information["roomAndTaxPosted"] = hotel.business_date in reservation.room_and_tax_posted
        body: dict[str, Any] = {"reservationFolioInformation": information}
        if not fetch or "Transactioncodes" in fetch:
            used = dict.fromkeys(p.transaction_code for w in windows for p in w.postings)
            body["trxCodesInfo"] = [
                {
                    "transactionCode": code,
                    "description": hotel.transaction_codes[code].description,
                    "transactionGroup": hotel.transaction_codes[code].group,
                    "hotelId": hotel.code,
                }
                for code in used
                if code in hotel.transaction_codes
            ]
        return ohip_json(body)

    async def get_transaction_codes(request: Request) -> Response:
        hotel = hotel_of(sandbox, request)
        code = (query_value(request, "code") or "").strip().upper()
        description = (query_value(request, "description") or "").strip().lower()
        wildcard = (query_value(request, "wildCard") or "").strip().strip("*%").lower()
        manual = as_bool(query_value(request, "manualPostAllowed"), "manualPostAllowed")
        rows = []
        for trx in hotel.transaction_codes.values():
            if code and trx.code.upper() != code:
                continue
            if description and description not in trx.description.lower():
                continue
            if wildcard and wildcard not in trx.code.lower() and wildcard not in trx.description.lower():
                continue
            if manual is not None and trx.manual_post_allowed != manual:
                continue
            row: dict[str, Any] = {
                "transactionCode": trx.code,
                "description": trx.description,
                "transactionGroup": trx.group,
                "transactionSubGroup": trx.transaction_type.upper(),
                "hotelId": hotel.code,
            }
            if trx.default_price is not None:
                row["price"] = money_body(trx.default_price, hotel.currency)
            rows.append(row)
        return ohip_json({"trxCodes": rows})

    async def post_billing_charges(request: Request) -> Response:
        hotel = hotel_of(sandbox, request)
        reservation_id = str(request.path_params["reservationId"])
        criteria = as_object((await read_json(request)).get("criteria"), "criteria")
        check_body_target(criteria, hotel, reservation_id, "criteria")
        reservation = hotel.reservation(reservation_id)
        charges = [as_object(c, "criteria.charges") for c in as_list(criteria.get("charges"))]
        if not charges:
            raise bad_input("criteria.charges is empty: send at least one charge", "criteria.charges")
        if len(charges) > MAX_CHARGES_PER_CALL:
            raise bad_input(f"At most {MAX_CHARGES_PER_CALL} charges per call", "criteria.charges")
        parsed: list[ChargeLine] = []
        for index, charge in enumerate(charges):
            path = f"criteria.charges[{index}]"
            code = as_text(charge.get("transactionCode"), f"{path}.transactionCode", max_length=80)
            if code is None:
                raise bad_input(
                    f"{path}.transactionCode is required; list the codes with getTransactionCodes",
                    f"{path}.transactionCode",
                )
            trx = hotel.transaction_code(code)
            if trx.transaction_type == "Revenue" and not trx.manual_post_allowed:
                raise bad_input(
                    f"Transaction code {trx.code} ({trx.description}) is posted by the night audit only and "
                    "cannot be posted by hand",
                    f"{path}.transactionCode",
                    title="Manual posting not allowed",
                    code="OHIPSIM-CSH-TRXCODE",
                )
            amount, currency = _amount(charge.get("price"), f"{path}.price")
            # A negative amount or quantity is a void (Oracle's HPI samples "with negative (void) amount" and
            # "with negative (void) postingQuantity value"); only 0 means nothing.
            if amount is not None and amount == 0:
                raise bad_input(
                    f"{path}.price.amount must not be 0; a negative amount voids an earlier charge",
                    f"{path}.price.amount",
                    title="Invalid amount",
                    code="OHIPSIM-CSH-AMOUNT",
                )
            quantity = as_int(charge.get("postingQuantity"), f"{path}.postingQuantity", minimum=-999, maximum=999)
            if quantity == 0:
                raise bad_input(
                    f"{path}.postingQuantity must not be 0; 1..999, or negative to void",
                    f"{path}.postingQuantity",
                    title="Invalid quantity",
                    code="OHIPSIM-CSH-QTY",
                )
            parsed.append(
                ChargeLine(
                    transaction_code=trx.code,
                    unit_price=amount,
                    quantity=1 if quantity is None else quantity,
                    folio_window=_window_no(charge.get("folioWindowNo"), f"{path}.folioWindowNo"),
                    remark=mask_card_numbers(as_text(charge.get("postingRemark"), f"{path}.postingRemark")),
                    reference=mask_card_numbers(as_text(charge.get("postingReference"), f"{path}.postingReference")),
                    currency=currency,
                    cashier_id=cashier_of(charge, path) or cashier_of(criteria, "criteria"),
                )
            )
        opened = set(reservation.folio_windows)
        posted: list[Posting] = []
        try:
            for line in parsed:
                posted.append(
                    sandbox.enterprise.post_charge(
                        hotel.code,
                        reservation_id,
                        line.transaction_code,
                        line.unit_price,
                        quantity=line.quantity,
                        folio_window=line.folio_window,
                        remark=line.remark,
                        reference=line.reference,
                        currency=line.currency,
                        cashier_id=line.cashier_id,
                    )
                )
        except SandboxError:
            # All charges or none: take back what this call already posted.
            for posting in posted:
                reservation.folio_windows[posting.folio_window_no].postings.remove(posting)
            for window_no in set(reservation.folio_windows) - opened:
                del reservation.folio_windows[window_no]
            raise
        body = {"postings": [posting_body(p) for p in posted]}
        return created(request, folio_path(hotel.code, reservation_id), body)

    async def payment_request(request: Request) -> tuple[Hotel, Reservation, dict[str, Any], Paying]:
        """A payment's hotel, reservation, criteria and what they ask (postBillingPayment, postDepositPayment)."""
        hotel = hotel_of(sandbox, request)
        reservation_id = str(request.path_params["reservationId"])
        criteria = as_object((await read_json(request)).get("criteria"), "criteria")
        check_body_target(criteria, hotel, reservation_id, "criteria")
        return hotel, hotel.reservation(reservation_id), criteria, payment_of(hotel, criteria)

    async def post_billing_payment(request: Request) -> Response:
        hotel, reservation, criteria, paying = await payment_request(request)
        reservation_id = reservation.reservation_id
        posting = sandbox.enterprise.post_payment(
            hotel.code,
            reservation_id,
            paying.method.code,
            paying.amount,
            folio_window=_window_no(criteria.get("folioWindowNo"), "criteria.folioWindowNo"),
            reference=paying.reference,
            currency=paying.currency,
            cashier_id=cashier_of(criteria, "criteria"),
            card_id=paying.card_id,
        )
        posting.remark = paying.remark_for(reservation, posting)
        return created(request, folio_path(hotel.code, reservation_id), {"postings": [posting_body(posting)]})

    async def post_deposit_payment(request: Request) -> Response:
        # csh postDepositPayment: a payment on the reservation's deposit ledger, before the stay.
        hotel, reservation, criteria, paying = await payment_request(request)
        reservation_id = reservation.reservation_id
        policy = as_object(criteria.get("depositPolicyId"), "criteria.depositPolicyId")
        original = as_int(criteria.get("originalTransactionNo"), "criteria.originalTransactionNo", minimum=1)
        posting = sandbox.enterprise.post_deposit(
            hotel.code, reservation_id, paying.method.code, paying.amount, reference=paying.reference,
            currency=paying.currency, cashier_id=cashier_of(criteria, "criteria"), card_id=paying.card_id,
            policy_id=as_text(policy.get("id"), "criteria.depositPolicyId.id", max_length=40),
            original_transaction_no=original,
        )
        posting.remark = paying.remark_for(reservation, posting)
        return created(request, f"{reservation_path(hotel.code, reservation_id)}/depositPayments",
                       {"deposits": [deposit_body(posting)]})

    async def get_deposit_folio(request: Request) -> Response:
        # csh getDepositFolio: "Deposit Posting Information for a reservation. Contains all deposit payments made
        # for a reservation"; `id` names the reservation.
        hotel = hotel_of(sandbox, request)
        reservation_id = as_text(request.query_params.get("id"), "id", max_length=40)
        if not reservation_id:
            raise bad_input("id (the reservation's id) is required", "id")
        reservation = hotel.reservation(reservation_id)
        info: dict[str, Any] = {
            "reservationInfo": {
                "reservationIdList": [id_entry(reservation.reservation_id, "Reservation"),
                                      id_entry(reservation.confirmation_number, "Confirmation")],
                "hotelId": hotel.code,
                "reservationStatus": reservation.status,
            },
        }
        if reservation.deposits:
            info["deposits"] = [deposit_body(p) for p in reservation.deposits]
        return ohip_json({"reservationDepositFoliosInfo": [info]})

    async def is_deposit_refund_eligible(request: Request) -> Response:
        # csh isDepositRefundEligible: "Is reservation valid for deposit refund", for one deposit payment. Why not
        # comes back as a warning beside isDepositRefundValid=false.
        hotel = hotel_of(sandbox, request)
        reservation_id = str(request.path_params["reservationId"])
        number = as_int(request.path_params["transactionId"], "transactionId", minimum=1)
        assert number is not None  # a path parameter is never empty
        why_not = sandbox.enterprise.deposit_refund_eligible(hotel.code, reservation_id, number)
        body: dict[str, Any] = {"isDepositRefundValid": why_not is None}
        if why_not:
            body["warnings"] = [{"value": why_not, "code": "OHIPSIM-CSH-REFUND"}]
        return ohip_json(body)

    async def generate_folio(request: Request) -> Response:
        hotel = hotel_of(sandbox, request)
        reservation_id = str(request.path_params["reservationId"])
        criteria = as_object((await read_json(request)).get("criteria"), "criteria")
        check_body_target(criteria, hotel, reservation_id, "criteria")
        reservation = hotel.reservation(reservation_id)
        event = as_enum(criteria.get("eventType"), EVENT_TYPES, "criteria.eventType")
        all_windows = bool(as_bool(criteria.get("allFolioWindow"), "criteria.allFolioWindow"))
        window_no = _window_no(criteria.get("folioWindowNo"), "criteria.folioWindowNo")
        numbers = sorted(reservation.folio_windows) if all_windows and reservation.folio_windows else [window_no]
        cashier_id = cashier_of(criteria, "criteria")
        hotel.cashier(cashier_id, "generate folios", "criteria.cashierId")
        if event == "CheckOut":
            for number in numbers:
                window = reservation.folio_windows.get(number)
                if window is not None and window.balance != 0:
                    raise SandboxError(
                        400,
                        "Balance not zero",
                        f"Folio window {number} of reservation {reservation_id} has a balance of "
                        f"{amount_text(window.balance, hotel.currency)}; a check-out folio needs a zero balance: "
                        "post a payment first",
                        "OHIPSIM-CSH-BALANCE",
                        "balance",
                    )
        generated = {
            n: sandbox.enterprise.generate_folio(hotel.code, reservation_id, n, cashier_id=cashier_id) for n in numbers
        }
        windows = [
            window_body(hotel, window, payee=payee_of(sandbox, reservation, window), postings=True,
                        folio_numbers=[folio])
            for window, folio in ((reservation.folio_windows[n], folio) for n, folio in generated.items())
        ]
        return created(request, folio_path(hotel.code, reservation_id), {"folioWindows": windows})

    async def post_check_out(request: Request) -> Response:
        hotel = hotel_of(sandbox, request)
        reservation_id = str(request.path_params["reservationId"])
        body = await read_json(request)
        details = as_object(body.get("reservation"), "reservation")
        check_body_target(details, hotel, reservation_id, "reservation")
        instructions = as_object(details.get("checkoutInstr"), "reservation.checkoutInstr")
        room_status = as_enum(instructions.get("roomStatus"), ROOM_STATUSES, "reservation.checkoutInstr.roomStatus")
        verification_only = bool(as_bool(body.get("verificationOnly"), "verificationOnly"))
        cashier_id = cashier_of(details, "reservation")
        reservation = hotel.reservation(reservation_id)
        status = reservation.computed_status(hotel.business_date)
        if reservation.status != "InHouse":
            raise SandboxError(
                400,
                "Cannot check out",
                f"Reservation {reservation_id} is {status}; only an in-house guest (InHouse or DueOut) can be "
                "checked out",
                "OHIPSIM-CSH-STATUS",
                "reservationStatus",
            )
        hotel.cashier(cashier_id, "check out", "reservation.cashierId")
        sandbox.enterprise.require_due_out(hotel, reservation)
        if verification_only:
            # A dry run answers the same refusals as the real thing and changes nothing.
            if reservation.balance != 0:
                raise SandboxError(
                    400,
                    "Balance not zero",
                    f"Reservation {reservation_id} has an open balance of "
                    f"{amount_text(reservation.balance, hotel.currency)}; post a payment to settle it before check-out",
                    "OHIPSIM-CSH-BALANCE",
                    "balance",
                )
        else:
            sandbox.enterprise.check_out(
                hotel.code, reservation_id, room_status=room_status or "Dirty", cashier_id=cashier_id
            )
        return created(request, reservation_path(hotel.code, reservation_id), {})

    async def reinstate_check_out(request: Request) -> Response:
        hotel = hotel_of(sandbox, request)
        reservation_id = str(request.path_params["reservationId"])
        body = await read_json(request)
        check_body_target(body, hotel, reservation_id, "body")
        as_bool(body.get("notifyInterfaces"), "notifyInterfaces")
        override = as_bool(body.get("overrideFlag"), "overrideFlag")
        sandbox.enterprise.reinstate_check_out(hotel.code, reservation_id, cashier_id=cashier_of(body, "body"),
                                               override=override is True)
        return ohip_json({})

    async def put_early_departure(request: Request) -> Response:
        hotel = hotel_of(sandbox, request)
        reservation_id = str(request.path_params["reservationId"])
        body = await read_json(request)
        criteria = as_object(body.get("criteria"), "criteria")
        check_body_target(criteria, hotel, reservation_id, "criteria")
        for flag in ("ignoreRateRestriction", "postConsumedAllowanceToGuest", "ignoreCheckOnTieredRate"):
            as_bool(criteria.get(flag), f"criteria.{flag}")
        penalty = as_bool(criteria.get("postEarlyDeparturePenalty"), "criteria.postEarlyDeparturePenalty")
        sandbox.enterprise.early_departure(hotel.code, reservation_id, cashier_id=cashier_of(criteria, "criteria"),
                                           post_penalty=penalty is True)
        return ohip_json({})

    async def verify_early_departure(request: Request) -> Response:
        hotel = hotel_of(sandbox, request)
        reservation_id = str(request.path_params["reservationId"])
        for flag in ("ignoreRateRestriction", "postConsumedAllowanceToGuest", "ignoreCheckOnTieredRate",
                     "postEarlyDeparturePenalty"):
            as_bool(query_value(request, flag), flag)
        penalty = sandbox.enterprise.early_departure_penalty(hotel.code, reservation_id)
        if penalty is None:
            return ohip_json({})
        amount, rule = penalty
        return ohip_json({"earlyDepartureDetails": {"penaltyAmount": money_body(amount, hotel.currency),
                                                    "penaltyDescription": rule}})

    async def post_room_and_tax_for_day_use(request: Request) -> Response:
        # The path names no hotel: the gateway's x-hotelid header does.
        hotel = sandbox.enterprise.hotel(request.headers.get("x-hotelid", ""))
        reservation_id = str(request.path_params["reservationId"])
        body = await read_json(request)
        check_body_target(body, hotel, reservation_id, "body")
        sandbox.enterprise.post_day_use_room_and_tax(hotel.code, reservation_id, cashier_id=cashier_of(body, "body"))
        return created(request, folio_path(hotel.code, reservation_id), {})

    reservation = f"{BASE}/hotels/{{hotelId}}/reservations/{{reservationId}}"
    return [
        Route(f"{reservation}/folios", get_folio, methods=["GET"], name="getFolio"),
        Route(f"{reservation}/folios", generate_folio, methods=["POST"], name="generateFolio"),
        Route(
            f"{BASE}/hotels/{{hotelId}}/transactionCodes",
            get_transaction_codes,
            methods=["GET"],
            name="getTransactionCodes",
        ),
        Route(f"{reservation}/charges", post_billing_charges, methods=["POST"], name="postBillingCharges"),
        Route(f"{reservation}/payments", post_billing_payment, methods=["POST"], name="postBillingPayment"),
        Route(f"{reservation}/depositPayments", post_deposit_payment, methods=["POST"], name="postDepositPayment"),
        Route(f"{BASE}/hotels/{{hotelId}}/depositFolio", get_deposit_folio, methods=["GET"], name="getDepositFolio"),
        Route(f"{reservation}/transactions/{{transactionId}}", is_deposit_refund_eligible, methods=["GET"],
              name="isDepositRefundEligible"),
        Route(f"{reservation}/checkOuts", post_check_out, methods=["POST"], name="postCheckOut"),
        Route(f"{reservation}/checkOuts/reinstate", reinstate_check_out, methods=["PUT"], name="reinstateCheckOut"),
        Route(f"{reservation}/earlyDeparture", put_early_departure, methods=["PUT"], name="putForEarlyDeparture"),
        Route(f"{reservation}/earlyDeparture/verify", verify_early_departure, methods=["GET"],
              name="verifyForEarlyDeparture"),
        Route(
            f"{BASE}/reservations/{{reservationId}}/postRoomAndTaxForDayUse",
            post_room_and_tax_for_day_use,
            methods=["POST"],
            name="postRoomAndTaxForDayUse",
        ),
    ]
