"""Shared pieces of our normalized domain models; each OHIP module keeps its own models beside its client."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any

from pydantic import BaseModel, Field


@lru_cache(maxsize=256)
def currency_digits(currency: str | None) -> int:
    """The decimal places of a currency: its ISO 4217 minor unit (CLDR's figure, read through Babel): 2 for USD
    and EUR, 3 for the Kuwaiti, Bahraini and Omani dinar and the Jordanian and Tunisian ones, 0 for JPY and KRW.
    2 when the currency is not said or not known."""
    if not currency:
        return 2
    from babel.numbers import get_currency_precision  # imported on first use: start-up does not pay for it

    return int(get_currency_precision(currency.strip().upper()))


def round_money(amount: float, currency: str | None) -> float:
    """`amount` to the currency's smallest unit (cents, fils, yen), dropping binary noise (0.1 + 0.2)."""
    return round(amount + 0.0, currency_digits(currency))


def minor_units(amount: float, currency: str | None) -> int:
    """`amount` counted in the currency's smallest unit, for exact sums and comparisons."""
    return round(amount * float(10 ** currency_digits(currency)))


def excess_decimals(amount: float, currency: str | None) -> bool:
    """True when `amount` has more decimal places than the currency has (12.345 USD, 1000.5 JPY)."""
    return abs(amount - round_money(amount, currency)) > 1e-9


class Money(BaseModel):
    amount: float
    currency: str | None = None

    @property
    def owed(self) -> bool:
        """More than nothing is owed: at least one smallest unit of the currency (one cent, one fils)."""
        return minor_units(self.amount, self.currency) > 0

    @property
    def in_credit(self) -> bool:
        """The guest is owed at least one smallest unit of the currency."""
        return minor_units(self.amount, self.currency) < 0


class PageInfo(BaseModel):
    """Where a list page sits in the whole result, so an agent knows whether and how to ask for more."""

    offset: int = Field(description="index of the first item of this page")
    limit: int = Field(description="page size asked for")
    count: int = Field(description="items in this page")
    total: int | None = Field(default=None, description="total matches, when OHIP says")
    has_more: bool = Field(description="true when more items follow; ask again with offset=next_offset")
    next_offset: int | None = Field(default=None, description="the offset for the next page, when has_more")


class ExternalReference(BaseModel):
    """An id another system gave an OPERA record (OHIP `externalReferences`: `id` within `idContext`, the external
    system code): how this server finds its own writes again."""

    system: str
    id: str

    def body(self) -> dict[str, str]:
        return {"id": self.id, "idContext": self.system}


class OperaWarning(BaseModel):
    """A soft problem OHIP reported on a successful call (returned to the agent, never dropped)."""

    code: str | None = None
    message: str


def as_text(value: Any) -> str | None:
    """A scalar from an OHIP body as trimmed text; None for missing, empty or structured values."""
    if value is None or isinstance(value, (dict, list)):
        return None
    text = str(value).strip()
    return text or None


def as_moment(value: Any) -> datetime | None:
    """An OPERA date-time as the spec writes it (ISO 8601, "Z" included) or as Oracle's samples do
    ("2021-03-15 23:50:00.0"); None for missing or unreadable values."""
    text = as_text(value)
    if text is None:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def warnings_from(body: dict[str, Any] | None) -> list[OperaWarning]:
    raw = (body or {}).get("warnings")
    out: list[OperaWarning] = []
    if isinstance(raw, list):
        for w in raw:
            if isinstance(w, dict):
                text = w.get("value") or w.get("shortText") or w.get("type") or "warning"
                out.append(OperaWarning(code=w.get("code"), message=str(text)))
    return out
