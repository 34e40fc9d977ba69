"""Redaction of secrets, card numbers and guest contact details, by key and by pattern.

Used by logging (every record), audit events and error messages. By key: any mapping key that names a secret
or contact detail has its value replaced. By pattern: Luhn-valid 13-19 digit runs (card numbers, with spaces or
dashes), bearer tokens, e-mail addresses, international phone numbers, and the exact secret values registered
at start-up (client secret, app key, passwords).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

REDACTED = "[REDACTED]"
CARD = "[CARD]"
EMAIL = "[EMAIL]"
PHONE = "[PHONE]"

#: Keys (compared lower-cased, without '-' and '_') whose values are never shown.
SECRET_KEYS = frozenset(
    k.replace("-", "").replace("_", "").lower()
    for k in (
        "password", "passwd", "secret", "client_secret", "token", "access_token", "refresh_token", "id_token",
        "authorization", "proxy-authorization", "x-app-key", "app_key", "api_key", "x-api-key", "apikey",
        "cookie", "set-cookie", "card_number", "cardnumber", "card", "pan", "cvv", "cvc", "cardholder",
        "expiry", "expiration_date", "email", "email_address", "emailaddress", "phone", "phone_number",
        "phonenumber", "telephone", "mobile", "address", "address_line", "addressline", "street",
        "postal_code", "postalcode", "credit_card", "creditcard", "bearer", "jwt", "assertion",
    )
)

_DIGIT_RUN = re.compile(r"(?<![\w])(?:\d[ -]?){12,18}\d(?![\w])")
_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{6,}")
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
_PHONE = re.compile(r"(?<![\w+])\+\d[\d ().-]{6,18}\d(?!\w)")
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*")


def luhn_valid(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = ord(ch) - 48
        if i % 2 == 1:
            n *= 2
            if n > 9:
                n -= 9
        total += n
    return total % 10 == 0


def _mask_card(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group(0))
    if 13 <= len(digits) <= 19 and luhn_valid(digits):
        return CARD
    return match.group(0)


_NO_DIGITS = str.maketrans("", "", "0123456789")


def may_hold_card(text: str) -> bool:
    """Whether `text` has the 13 digits a card number needs (a C-speed count; most text has far fewer)."""
    return len(text) >= 13 and len(text) - len(text.translate(_NO_DIGITS)) >= 13


def mask_cards(text: str) -> str:
    """`text` with every Luhn-valid 13-19 digit run (spaces or dashes allowed) replaced by [CARD]."""
    return _DIGIT_RUN.sub(_mask_card, text) if may_hold_card(text) else text


def is_secret_key(key: str) -> bool:
    return key.replace("-", "").replace("_", "").lower() in SECRET_KEYS


class Redactor:
    """Scrubs text and structures. Holds the exact secret values configured for this process."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: set[str] = set()
        for s in secrets:
            self.add_secret(s)

    def add_secret(self, value: str | None) -> None:
        # Very short values would redact innocent text; every real secret is longer.
        if value and len(value) >= 6:
            self._secrets.add(value)

    def text(self, value: str) -> str:
        # Each pattern only where the text has the character it cannot match without (a substring test is far
        # cheaper than a regex scan, and a log line is scrubbed on every record).
        for secret in self._secrets:
            if secret in value:
                value = value.replace(secret, REDACTED)
        if "eyJ" in value:
            value = _JWT.sub(REDACTED, value)
        lowered = value.lower()
        if "bearer" in lowered or "basic" in lowered:
            value = _BEARER.sub(lambda m: f"{m.group(1)} {REDACTED}", value)
        value = mask_cards(value)
        if "@" in value:
            value = _EMAIL.sub(EMAIL, value)
        return _PHONE.sub(PHONE, value) if "+" in value else value

    def value(self, value: Any, depth: int = 0) -> Any:
        if depth > 8 or value is None or isinstance(value, (int, float)):
            return value
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            return {
                k: (REDACTED if isinstance(k, str) and is_secret_key(k) and v not in (None, "")
                    else self.value(v, depth + 1))
                for k, v in value.items()
            }
        if isinstance(value, (list, tuple)):
            return [self.value(v, depth + 1) for v in value]
        return value

