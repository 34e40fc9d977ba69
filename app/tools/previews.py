"""Preview, then commit: what a confirmed write (cancel_reservation, check_out, post_payment) checks and says before
anyone is asked to confirm it.

A confirmed tool's preview (ToolDef.preview) runs every check its handler would make, with the same functions and
so the same words, before the human is asked: the arguments, then the OHIP-side facts (status, balance, business
date, payment method, card on file, OHIP's own verification where it has one). A doomed action fails with its real
reason and nobody is asked; otherwise the preview returns the one-line text the human confirms.

The handler runs the same plan again just before the write. Within one tools/call the preview's plan is kept in a
per-call memo (opened by the tool guard's middleware around each call) and handed to the handler, so the OHIP reads
are not repeated. Each plan is recalled at most once.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from contextvars import ContextVar, Token
from datetime import date
from typing import Any

from app.opera.models import Money, currency_digits
from app.opera.reservations import ReservationSummary
from app.security.untrusted import guest_label

_memo: ContextVar[dict[Hashable, Any] | None] = ContextVar("opera_preview_memo", default=None)


def open_memo() -> Token[dict[Hashable, Any] | None]:
    """Start the per-call memo (one per tools/call)."""
    return _memo.set({})


def close_memo(token: Token[dict[Hashable, Any] | None]) -> None:
    _memo.reset(token)


def remember(key: Hashable, value: Any) -> None:
    """Keep a preview's plan for the handler of the same call (no-op outside a tools/call)."""
    memo = _memo.get()
    if memo is not None:
        memo[key] = value


def forget_plans() -> None:
    """Drop every plan kept so far in this call, so a preview that runs again reads OPERA again."""
    memo = _memo.get()
    if memo is not None:
        memo.clear()


def recall(key: Hashable) -> Any | None:
    """The plan the preview of this call made for `key`, once; None when there is none."""
    memo = _memo.get()
    return memo.pop(key, None) if memo is not None else None


# --- the words of a confirmation ---------------------------------------------------------------------------------


def day_text(day: date) -> str:
    return f"{day:%a %d %b %Y}"


def stay_text(arrival: date | None, departure: date | None) -> str | None:
    if arrival is None or departure is None:
        return None
    return f"{day_text(arrival)} to {day_text(departure)}"


def amount_text(amount: float, currency: str | None) -> str:
    """An amount with its currency, in the currency's own decimals: '245.00 USD', '45.125 KWD', '3000 JPY' (the
    currency is left out only when OPERA names none)."""
    return f"{amount:.{currency_digits(currency)}f} {currency or ''}".strip()


def money_text(money: Money) -> str:
    return amount_text(money.amount, money.currency)


def joined(parts: Iterable[str | None]) -> str:
    return ", ".join(p for p in parts if p)


def guest_of(record: ReservationSummary) -> str:
    return guest_label(record.guest_name, "the guest")


def room_of(record: ReservationSummary) -> str:
    if record.room_id:
        return f"room {record.room_id}"
    if record.room_type:
        return f"a {record.room_type} room (none assigned yet)"
    return "no room assigned yet"


def booking_of(record: ReservationSummary, hotel: str) -> str:
    """'reservation 100001, confirmation 1234567, SAND01, Fri 01 May 2026 to Sun 03 May 2026'."""
    number = record.confirmation_number
    return joined([
        f"reservation {record.reservation_id}",
        f"confirmation {number}" if number and number != record.reservation_id else None,
        hotel,
        stay_text(record.arrival, record.departure),
    ])
