"""OPERA cashiering (csh): folios and balances, transaction codes, charges, payments, folio generation, check-out.

Speaks OHIP only. Card numbers never pass through here: a payment names a payment method code (CA, VA, ...) and,
for a card, the reservation's card on file by its OPERA id.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from pydantic import BaseModel, Field

from app.opera.errors import OperaNotFoundError
from app.opera.http import OperaHTTP, Operation
from app.opera.models import Money, OperaWarning, as_text, currency_digits, minor_units, round_money, warnings_from
from app.opera.reservations import GET_RESERVATION, as_dict, as_list

_RESERVATION_PATH = "/hotels/{hotelId}/reservations/{reservationId}"
GET_FOLIO = Operation("csh", "getFolio", "GET", _RESERVATION_PATH + "/folios")
GET_TRANSACTION_CODES = Operation("csh", "getTransactionCodes", "GET", "/hotels/{hotelId}/transactionCodes")
POST_BILLING_CHARGES = Operation("csh", "postBillingCharges", "POST", _RESERVATION_PATH + "/charges")
POST_BILLING_PAYMENT = Operation("csh", "postBillingPayment", "POST", _RESERVATION_PATH + "/payments")
POST_DEPOSIT_PAYMENT = Operation("csh", "postDepositPayment", "POST", _RESERVATION_PATH + "/depositPayments")
GET_DEPOSIT_FOLIO = Operation("csh", "getDepositFolio", "GET", "/hotels/{hotelId}/depositFolio")
IS_DEPOSIT_REFUND_ELIGIBLE = Operation(
    "csh", "isDepositRefundEligible", "GET", _RESERVATION_PATH + "/transactions/{transactionId}"
)
GENERATE_FOLIO = Operation("csh", "generateFolio", "POST", _RESERVATION_PATH + "/folios")
POST_CHECK_OUT = Operation("csh", "postCheckOut", "POST", _RESERVATION_PATH + "/checkOuts")
REINSTATE_CHECK_OUT = Operation("csh", "reinstateCheckOut", "PUT", _RESERVATION_PATH + "/checkOuts/reinstate")
PUT_EARLY_DEPARTURE = Operation("csh", "putForEarlyDeparture", "PUT", _RESERVATION_PATH + "/earlyDeparture")
VERIFY_EARLY_DEPARTURE = Operation(
    "csh", "verifyForEarlyDeparture", "GET", _RESERVATION_PATH + "/earlyDeparture/verify"
)
POST_DAY_USE_ROOM_AND_TAX = Operation(
    "csh", "postRoomAndTaxForDayUse", "POST", "/reservations/{reservationId}/postRoomAndTaxForDayUse"
)
#: OPERA's answer to an early departure of a reservation already due out (csh earlyDepartureInfo's error codes).
EARLY_DEPARTURE_NOT_REQUIRED = "FOF00158"
#: Postings asked for per getFolio page and window, and the most pages read per window (FOLIO_PAGE x FOLIO_PAGES
#: postings): Oracle states no default or maximum page for getFolio; every other OHIP list takes at least 100.
FOLIO_PAGE = 100
FOLIO_PAGES = 50


class EarlyDepartureCheck(BaseModel):
    """verifyForEarlyDeparture: what an early departure would charge (earlyDepartureInfoType's penalty, which
    "can be charged" and which putForEarlyDeparture posts only when asked to) and OPERA's warnings about it."""

    penalty: Money | None = None
    penalty_rule: str | None = None
    warnings: list[OperaWarning] = Field(default_factory=list)


class Posting(BaseModel):
    """One line on a folio: a charge (Revenue) or a payment."""

    transaction_no: int | None = None
    transaction_code: str | None = None
    description: str | None = None
    kind: str | None = Field(default=None, description="Revenue, Payment or Wrapper")
    amount: Money | None = None
    quantity: float | None = None
    posting_date: date | None = None
    window: int | None = Field(default=None, description="folio window number")
    remark: str | None = None
    reference: str | None = None
    cashier_id: int | None = Field(default=None, description="the OPERA cashier it was posted under")
    payment_method: str | None = Field(
        default=None, description="deposits: the payment method code it was paid by, e.g. CA or VA")
    card_id: str | None = Field(default=None, exclude=True)  # deposits: OPERA's id of the card on file that paid


class FolioWindow(BaseModel):
    window: int = Field(description="folio window number (1..8); each can have its own payer")
    balance: Money | None = None
    charges: Money | None = Field(default=None, description="total revenue posted")
    payments: Money | None = Field(default=None, description="total paid")
    payment_method: str | None = Field(default=None, description="payment method code of this window, e.g. CA")
    payee_name: str | None = Field(default=None, description="who this window bills (OPERA's payee)")
    payee_profile_id: str | None = Field(
        default=None, description="the payee's profile id: the guest's own, or e.g. a company's when routed")
    postings: list[Posting] = Field(default_factory=list)
    more_postings: bool = Field(default=False, description="true when OHIP holds more postings than listed")


class Folio(BaseModel):
    reservation_id: str
    hotel_id: str
    reservation_status: str | None = None
    room_id: str | None = None
    balance: Money = Field(description="what the guest owes over all windows (negative: a credit)")
    windows: list[FolioWindow]
    room_and_tax_posted: bool | None = Field(
        default=None, description="OPERA's roomAndTaxPosted: whether the business date's room and tax are already "
                                  "posted (None when OPERA does not say)")
    warnings: list[OperaWarning] = Field(default_factory=list)

    @property
    def currency(self) -> str | None:
        if self.balance.currency:
            return self.balance.currency
        return next((w.balance.currency for w in self.windows if w.balance and w.balance.currency), None)


class TransactionCode(BaseModel):
    code: str
    description: str | None = None
    group: str | None = Field(default=None, description="transaction group, e.g. ROOM, FB, PAY")
    subgroup: str | None = None
    default_price: Money | None = None


class CardOnFile(BaseModel):
    """A payment card on a reservation as OPERA shows it (getReservation reservationPaymentMethods): its OPERA id,
    which a payment names, and what identifies it to a person. Never the number."""

    card_id: str = Field(description="OPERA's id of the card on file")
    card_id_type: str | None = Field(default=None, exclude=True)
    payment_method: str = Field(description="payment method code of the card, e.g. VA")
    card_type: str | None = Field(default=None, description="OPERA card type, e.g. Va")
    last_four: str | None = Field(default=None, description="the card's last four digits")
    expiry: str | None = Field(default=None, description="masked expiry, e.g. 12/29")


def cards_from(body: dict[str, Any] | None) -> list[CardOnFile]:
    """The cards on file in a getReservation answer; a payment method without a card id is not one."""
    records = as_list(as_dict(as_dict(body).get("reservations")).get("reservation"))
    record = as_dict(records[0]) if records else {}
    cards: list[CardOnFile] = []
    for raw in as_list(record.get("reservationPaymentMethods")):
        method = as_text(as_dict(raw).get("paymentMethod"))
        card = as_dict(as_dict(raw).get("paymentCard"))
        card_id = as_text(as_dict(card.get("cardId")).get("id"))
        if method and card_id:
            last_four = as_text(card.get("cardNumberLast4Digits"))
            masked = as_text(card.get("cardNumberMasked"))
            cards.append(CardOnFile(
                card_id=card_id, card_id_type=as_text(as_dict(card.get("cardId")).get("type")),
                payment_method=method.upper(), card_type=as_text(card.get("cardType")),
                last_four=last_four or (masked[-4:] if masked and masked[-4:].isdigit() else None),
                expiry=as_text(card.get("expirationDateMasked")),
            ))
    return cards


class Postings(BaseModel):
    """What OHIP posted for one charge or payment call."""

    postings: list[Posting]
    warnings: list[OperaWarning] = Field(default_factory=list)


def _money(value: Any) -> Money | None:
    raw = as_dict(value)
    amount = raw.get("amount")
    if not isinstance(amount, (int, float)):
        return None
    return Money(amount=float(amount), currency=raw.get("currencyCode"))


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return int(value)
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def _date(value: Any) -> date | None:
    if isinstance(value, str) and len(value) >= 10:
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


def posting_from(raw: dict[str, Any]) -> Posting:
    amount = _money(raw.get("postedAmount"))
    if amount is None and isinstance(raw.get("transactionAmount"), (int, float)):
        amount = Money(amount=float(raw["transactionAmount"]))
    quantity = raw.get("quantity")
    paying = as_dict(raw.get("paymentMethod"))
    return Posting(
        transaction_no=_int(raw.get("transactionNo")),
        transaction_code=raw.get("transactionCode"),
        description=raw.get("transactionDescription"),
        kind=raw.get("transactionType"),
        amount=amount,
        quantity=float(quantity) if isinstance(quantity, (int, float)) else None,
        posting_date=_date(raw.get("postingDate")),
        window=_int(raw.get("folioWindowNo")),
        remark=raw.get("remark"),
        reference=raw.get("reference"),
        cashier_id=_int(as_dict(raw.get("cashierInfo")).get("cashierId")),
        payment_method=as_text(paying.get("paymentMethod")),
        card_id=as_text(as_dict(as_dict(paying.get("paymentCard")).get("cardId")).get("id")),
    )


def _window(raw: dict[str, Any]) -> FolioWindow:
    postings: list[Posting] = []
    for folio in raw.get("folios") or []:
        for p in as_dict(folio).get("postings") or []:
            if isinstance(p, dict):
                postings.append(posting_from(p))
    payee = as_dict(raw.get("payeeInfo"))
    return FolioWindow(
        window=_int(raw.get("folioWindowNo")) or 1,
        balance=_money(raw.get("balance")),
        charges=_money(raw.get("revenue")),
        payments=_money(raw.get("payment")),
        payment_method=as_dict(raw.get("paymentMethod")).get("paymentMethod"),
        payee_name=as_text(payee.get("payeeName")),
        payee_profile_id=as_text(as_dict(payee.get("payeeId")).get("id")),
        postings=postings,
        more_postings=bool(raw.get("hasMore", False)),
    )


def folio_from(body: dict[str, Any] | None, hotel_id: str, reservation_id: str) -> Folio:
    info = as_dict(as_dict(body).get("reservationFolioInformation"))
    reservation = as_dict(info.get("reservationInfo"))
    windows = [_window(w) for w in info.get("folioWindows") or [] if isinstance(w, dict)]
    currency = next((w.balance.currency for w in windows if w.balance and w.balance.currency), None)
    # Summing in the currency's smallest unit (cents, fils) keeps 0.1 + 0.2 from leaving a phantom open balance
    # and a Kuwaiti folio's 45.125 from being read as 45.12.
    units = sum(minor_units(w.balance.amount, currency) for w in windows if w.balance)
    return Folio(
        reservation_id=reservation_id,
        hotel_id=reservation.get("hotelId") or hotel_id,
        reservation_status=reservation.get("reservationStatus"),
        room_id=as_dict(reservation.get("roomStay")).get("roomId"),
        balance=Money(amount=units / 10 ** currency_digits(currency), currency=currency),
        windows=windows,
        room_and_tax_posted=info["roomAndTaxPosted"] if isinstance(info.get("roomAndTaxPosted"), bool) else None,
        warnings=warnings_from(body),
    )


def _paying_with(payment_method: str, card: CardOnFile | None) -> dict[str, Any]:
    """cashieringPaymentMethodType: the method's code and, for a card, the reservation's card on file by its id and
    type (Oracle's PASIG settlement on an existing card); never a number."""
    method: dict[str, Any] = {"paymentMethod": payment_method}
    if card is not None:
        paying: dict[str, Any] = {"cardId": {"id": card.card_id, "type": card.card_id_type or "CreditCard"}}
        if card.card_type:
            paying["cardType"] = card.card_type
        method["paymentCard"] = paying
    return method


def _deposit_postings(body: Any) -> Postings:
    """depositPostingsType lines (postDepositPayment's answer, a getDepositFolio reservation's) as Postings; a
    deposit has no folio window."""
    raw = as_dict(body)
    lines = [posting_from(p) for p in as_list(raw.get("deposits")) if isinstance(p, dict)]
    return Postings(postings=lines, warnings=warnings_from(raw))


def _reservation_ref(reservation_id: str) -> dict[str, str]:
    return {"id": reservation_id, "type": "Reservation", "idContext": "OPERA"}


def _price(amount: float, currency: str | None) -> dict[str, Any]:
    price: dict[str, Any] = {"amount": round_money(amount, currency)}
    if currency:
        price["currencyCode"] = currency
    return price


class CashieringAPI:
    """csh: folio, charges, payments, folio generation and check-out.

    `cashier_id` is the OPERA cashier (OPERA_CASHIER_ID) the postings are made under; Oracle's samples send it on
    every payment, folio generation and check-out, and on charges. When None it is left out.
    """

    def __init__(self, http: OperaHTTP, *, cashier_id: int | None = None) -> None:
        self._http = http
        self._cashier_id = cashier_id

    def _with_cashier(self, criteria: dict[str, Any]) -> dict[str, Any]:
        if self._cashier_id is not None:
            criteria["cashierId"] = self._cashier_id
        return criteria

    async def folio(
        self, hotel_id: str, reservation_id: str, *, postings: bool = True, windows: Sequence[int] = ()
    ) -> Folio:
        """getFolio with window balances (and postings). Never cached: money must be read as it is now."""
        fetch = ["Reservation", "Windowbalances", "Totalbalance"]
        params: dict[str, Any] = {"fetchInstructions": fetch, "folioWindowNo": list(windows) or None}
        if postings:
            # Postings are paged per window (folioWindows[].hasMore); the page is asked for explicitly so a long
            # stay is read to its end whatever OPERA's own default page is.
            fetch.append("Postings")
            params.update(limit=[FOLIO_PAGE], offset=[0])
        response = await self._http.call(
            GET_FOLIO, hotel_id=hotel_id, path_params={"reservationId": reservation_id}, params=params
        )
        if response.status == 204:
            # "Folios will only exist ... once the guest has checked in" (getFolio): no folio is not a 0 balance.
            raise OperaNotFoundError(
                f"Reservation {reservation_id} has no folio yet in hotel {hotel_id}: OPERA opens the folio at "
                "check-in, so there is nothing posted to read, charge or settle before then",
                operation=GET_FOLIO.name, status=204, hotel_id=hotel_id,
            )
        folio = folio_from(response.body, hotel_id, reservation_id)
        if postings:
            folio.windows = [await self._rest_of(hotel_id, reservation_id, w) for w in folio.windows]
        return folio

    async def _rest_of(self, hotel_id: str, reservation_id: str, window: FolioWindow) -> FolioWindow:
        """`window` with the postings of its further pages (getFolio for that window, offset by what is read).
        It stays `more_postings` when OPERA says there is more but a page brings nothing, or after FOLIO_PAGES."""
        pages = 1
        while window.more_postings and pages < FOLIO_PAGES:
            params: dict[str, Any] = {
                "fetchInstructions": ["Postings"], "folioWindowNo": [window.window],
                "limit": [FOLIO_PAGE], "offset": [len(window.postings)],
            }
            response = await self._http.call(
                GET_FOLIO, hotel_id=hotel_id, path_params={"reservationId": reservation_id}, params=params
            )
            page = next((w for w in folio_from(response.body, hotel_id, reservation_id).windows
                         if w.window == window.window), None)
            if page is None or not page.postings:
                break
            window = window.model_copy(
                update={"postings": window.postings + page.postings, "more_postings": page.more_postings}
            )
            pages += 1
        return window

    async def cards_on_file(self, hotel_id: str, reservation_id: str) -> list[CardOnFile]:
        """The reservation's cards on file (rsv getReservation with ReservationPaymentMethods, as Oracle's PASIG
        settlement scenario reads them), read fresh: a card added at the desk a minute ago counts."""
        response = await self._http.call(
            GET_RESERVATION, hotel_id=hotel_id, path_params={"reservationId": reservation_id},
            params={"fetchInstructions": ["Reservation", "ReservationPaymentMethods"]}, cache="none",
        )
        if not as_list(as_dict(as_dict(response.body).get("reservations")).get("reservation")):
            raise OperaNotFoundError(
                f"no reservation {reservation_id} in {hotel_id}", operation=GET_RESERVATION.name,
                status=response.status, request_id=response.request_id, hotel_id=hotel_id,
            )
        return cards_from(response.body)

    async def transaction_codes(self, hotel_id: str, *, code: str | None = None) -> list[TransactionCode]:
        """getTransactionCodes (configuration: served from the reference cache)."""
        response = await self._http.call(
            GET_TRANSACTION_CODES, hotel_id=hotel_id, params={"code": code}, cache="reference"
        )
        out: list[TransactionCode] = []
        for raw in as_dict(response.body).get("trxCodes") or []:
            if isinstance(raw, dict) and raw.get("transactionCode"):
                out.append(
                    TransactionCode(
                        code=str(raw["transactionCode"]),
                        description=raw.get("description"),
                        group=raw.get("transactionGroup"),
                        subgroup=raw.get("transactionSubGroup"),
                        default_price=_money(raw.get("price")),
                    )
                )
        return out

    async def post_charge(
        self,
        hotel_id: str,
        reservation_id: str,
        *,
        transaction_code: str,
        amount: float,
        currency: str | None,
        quantity: int = 1,
        window: int = 1,
        remark: str | None = None,
        reference: str | None = None,
    ) -> Postings:
        """postBillingCharges: one charge of `amount` per unit, `quantity` units, on folio window `window`. A
        negative `amount` voids or corrects an earlier charge, as Oracle's HPI void samples post it."""
        charge: dict[str, Any] = {
            "transactionCode": transaction_code,
            "price": _price(amount, currency),
            "postingQuantity": quantity,
            "folioWindowNo": window,
            "applyRoutingInstructions": False,
            "usePackageAllowance": False,
        }
        if remark:
            charge["postingRemark"] = remark
        if reference:
            charge["postingReference"] = reference
        criteria = self._with_cashier(
            {"hotelId": hotel_id, "reservationId": _reservation_ref(reservation_id), "postIt": False}
        )
        criteria["charges"] = [charge]
        response = await self._http.call(
            POST_BILLING_CHARGES,
            hotel_id=hotel_id,
            path_params={"reservationId": reservation_id},
            json={"criteria": criteria},
        )
        return _postings(response.body)

    async def post_payment(
        self,
        hotel_id: str,
        reservation_id: str,
        *,
        payment_method: str,
        amount: float,
        currency: str | None,
        window: int = 1,
        reference: str | None = None,
        card: CardOnFile | None = None,
    ) -> Postings:
        """postBillingPayment of `amount` with a payment method code on folio window `window`; a card payment names
        the reservation's card on file (`paymentCard.cardId` and `cardType`, Oracle's PASIG settlement on an
        existing card)."""
        criteria = self._with_cashier(
            {
                "hotelId": hotel_id,
                "reservationId": _reservation_ref(reservation_id),
                "paymentMethod": _paying_with(payment_method, card),
                "postingAmount": _price(amount, currency),
                "folioWindowNo": window,
            }
        )
        if reference:
            criteria["postingReference"] = reference
        response = await self._http.call(
            POST_BILLING_PAYMENT,
            hotel_id=hotel_id,
            path_params={"reservationId": reservation_id},
            json={"criteria": criteria},
        )
        return _postings(response.body)

    async def post_deposit(
        self,
        hotel_id: str,
        reservation_id: str,
        *,
        payment_method: str,
        amount: float,
        currency: str | None,
        reference: str | None = None,
        card: CardOnFile | None = None,
        policy_id: str | None = None,
        original_transaction_no: int | None = None,
    ) -> Postings:
        """postDepositPayment: a payment on the reservation's deposit ledger before the stay (a card one from the
        card on file, as post_payment), applied to the deposit request `policy_id` when given (unallocated
        otherwise). Its answer lists the deposit posted (depositedPayment.deposits). A refund is a negative
        `amount` naming the payment it pays back (`original_transaction_no`, OPERA's originalTransactionNo: "the
        original payment being refunded"), with a reference, which OPERA requires of a refund."""
        criteria = self._with_cashier(
            {
                "hotelId": hotel_id,
                "reservationId": _reservation_ref(reservation_id),
                "paymentMethod": _paying_with(payment_method, card),
                "postingAmount": _price(amount, currency),
            }
        )
        if reference:
            criteria["postingReference"] = reference
        if policy_id:
            criteria["depositPolicyId"] = {"id": policy_id, "type": "Policy"}
        if original_transaction_no is not None:
            criteria["originalTransactionNo"] = original_transaction_no
        response = await self._http.call(
            POST_DEPOSIT_PAYMENT,
            hotel_id=hotel_id,
            path_params={"reservationId": reservation_id},
            json={"criteria": criteria},
        )
        return _deposit_postings(response.body)

    async def deposits(self, hotel_id: str, reservation_id: str) -> list[Posting]:
        """getDepositFolio for the reservation (`id`): "Contains all deposit payments made for a reservation",
        oldest first; [] on 204 or when it holds none. Never cached: money must be read as it is now."""
        response = await self._http.call(GET_DEPOSIT_FOLIO, hotel_id=hotel_id, params={"id": reservation_id})
        if response.status == 204:
            return []
        found: list[Posting] = []
        for info in as_list(as_dict(response.body).get("reservationDepositFoliosInfo")):
            found.extend(_deposit_postings(as_dict(info)).postings)
        return found

    async def deposit_refund_eligible(
        self, hotel_id: str, reservation_id: str, transaction_no: int
    ) -> tuple[bool | None, list[OperaWarning]]:
        """isDepositRefundEligible for one deposit payment ("Is reservation valid for deposit refund"): OPERA's
        isDepositRefundValid (None when it does not say) and its warnings, which say why not. Never cached."""
        response = await self._http.call(
            IS_DEPOSIT_REFUND_ELIGIBLE,
            hotel_id=hotel_id,
            path_params={"reservationId": reservation_id, "transactionId": str(transaction_no)},
        )
        body = as_dict(response.body)
        valid = body.get("isDepositRefundValid")
        return (valid if isinstance(valid, bool) else None), warnings_from(body)

    async def generate_folio(
        self, hotel_id: str, reservation_id: str, *, window: int = 1, profile_id: str | None = None
    ) -> list[OperaWarning]:
        """generateFolio for check-out; OPERA wants it once the window's balance is 0. Oracle's check-out sample
        also names the guest's profile (`profileId`)."""
        criteria = self._with_cashier(
            {
                "hotelId": hotel_id,
                "reservationId": _reservation_ref(reservation_id),
                "eventType": "CheckOut",
                "folioWindowNo": window,
            }
        )
        if profile_id:
            criteria["profileId"] = {"id": profile_id, "type": "Profile", "idContext": "OPERA"}
        response = await self._http.call(
            GENERATE_FOLIO,
            hotel_id=hotel_id,
            path_params={"reservationId": reservation_id},
            json={"criteria": criteria},
        )
        return warnings_from(response.body)

    async def verify_early_departure(self, hotel_id: str, reservation_id: str) -> EarlyDepartureCheck:
        """verifyForEarlyDeparture: OPERA's checks of an early departure, changing nothing, and the penalty it
        would charge under the property's rules (penaltyAmount, penaltyDescription), if any."""
        params: dict[str, Any] = {"ignoreRateRestriction": False, "ignoreCheckOnTieredRate": False,
                                  "postConsumedAllowanceToGuest": False, "postEarlyDeparturePenalty": True}
        if self._cashier_id is not None:
            params["cashierId"] = self._cashier_id
        response = await self._http.call(
            VERIFY_EARLY_DEPARTURE, hotel_id=hotel_id, path_params={"reservationId": reservation_id},
            params=params, cache="none",
        )
        details = as_dict(as_dict(response.body).get("earlyDepartureDetails"))
        penalty = _money(details.get("penaltyAmount"))
        return EarlyDepartureCheck(
            penalty=penalty if penalty is not None and penalty.owed else None,
            penalty_rule=as_text(details.get("penaltyDescription")),
            warnings=warnings_from(response.body),
        )

    async def early_departure(
        self, hotel_id: str, reservation_id: str, *, post_penalty: bool = False
    ) -> list[OperaWarning]:
        """putForEarlyDeparture: OPERA makes an in-house guest due out, the departure moved to the business date,
        after its own checks (rate restrictions, tiered rates), none overridden, and with `post_penalty` posts the
        early-departure penalty verifyForEarlyDeparture named (the human was shown it). No consumed allowance is
        posted. A repeat after a lost answer is harmless: OPERA answers FOF00158 (already due out) and posts no
        second penalty; the caller reads that as done."""
        criteria = self._with_cashier(
            {
                "hotelId": hotel_id,
                "reservationIdList": [{"id": reservation_id, "type": "Reservation"}],
                "ignoreRateRestriction": False,
                "ignoreCheckOnTieredRate": False,
                "postConsumedAllowanceToGuest": False,
                "postEarlyDeparturePenalty": post_penalty,
            }
        )
        response = await self._http.call(
            PUT_EARLY_DEPARTURE,
            hotel_id=hotel_id,
            path_params={"reservationId": reservation_id},
            json={"criteria": criteria},
        )
        return warnings_from(response.body)

    async def post_day_use_room_and_tax(self, hotel_id: str, reservation_id: str) -> list[OperaWarning]:
        """postRoomAndTaxForDayUse: the day's room and tax of a day use (arrival = departure = the business date),
        which no night audit posts. Oracle does not say a repeat posts nothing, so it is never repeated blindly: a
        lost answer raises OperaOutcomeUnknownError, and the caller reads getFolio's roomAndTaxPosted before any
        (re)post."""
        body = self._with_cashier({"reservationId": {"id": reservation_id, "type": "Reservation"}})
        response = await self._http.call(
            POST_DAY_USE_ROOM_AND_TAX,
            hotel_id=hotel_id,
            path_params={"reservationId": reservation_id},
            json=body,
        )
        return warnings_from(response.body)

    async def check_out(self, hotel_id: str, reservation_id: str, *, room_status: str = "Dirty") -> list[OperaWarning]:
        """postCheckOut (check-out lives in csh, not fof); the room is left with `room_status`."""
        reservation = self._with_cashier(
            {
                "hotelId": hotel_id,
                "reservationIdList": [{"id": reservation_id, "type": "Reservation"}],
                "eventType": "CheckOut",
                "checkoutInstr": {"roomStatus": room_status, "ignoreWarnings": True},
                "stopCheckout": False,
                "autoCheckout": False,
            }
        )
        response = await self._http.call(
            POST_CHECK_OUT,
            hotel_id=hotel_id,
            path_params={"reservationId": reservation_id},
            json={"reservation": reservation, "verificationOnly": False},
        )
        return warnings_from(response.body)

    async def reinstate_check_out(
        self, hotel_id: str, reservation_id: str, *, notify_interfaces: bool = True
    ) -> list[OperaWarning]:
        """reinstateCheckOut: a guest checked out today is back in house "in order to post additional transactions",
        in the body Oracle's workflow "Reverse a check out" sends. `overrideFlag` ("reinstate even if some other
        guest already checked in into same room", which makes the two a share) is never set: the caller refuses
        that case first. `notify_interfaces` tells the property's interfaces (phones, keys) the guest is in again.
        Never repeated blindly: a repeat of one that was made is refused (the guest is no longer checked out), so a
        lost answer is settled by reading the reservation."""
        body = self._with_cashier(
            {
                "reservationId": {"idContext": "OPERA", "id": reservation_id, "type": "Reservation"},
                "notifyInterfaces": notify_interfaces,
                "overrideFlag": False,
            }
        )
        response = await self._http.call(
            REINSTATE_CHECK_OUT,
            hotel_id=hotel_id,
            path_params={"reservationId": reservation_id},
            json=body,
            idempotent=False,
        )
        return warnings_from(response.body)


def _postings(body: dict[str, Any] | None) -> Postings:
    raw = as_dict(body).get("postings")
    return Postings(
        postings=[posting_from(p) for p in raw or [] if isinstance(p, dict)], warnings=warnings_from(body)
    )
