"""Data minimisation at the MCP face: no full card number goes into OHIP free text or comes out of a tool.

Card numbers (Luhn-valid 13-19 digit runs) are masked in free-text fields (comments, references, notes) and in
any field named like a card, on the way in and on the way out. Contact fields are left alone: a guest's phone
number is legitimate output, and a long phone number can pass the Luhn check by chance.
"""

from __future__ import annotations

from functools import cache
from typing import Any, TypeVar

from pydantic import BaseModel

from app.security.fieldkinds import INERT, TEXT, field_kinds
from app.telemetry.redaction import mask_cards, may_hold_card

FREE_TEXT_KEYS = frozenset({"comments", "comment", "reference", "references", "notes", "note", "remarks",
                            "description", "text", "message", "instructions"})
SAFE_CARD_KEYS = frozenset({"card_last_four", "last_four"})

T = TypeVar("T")


def _watched(key: str) -> bool:
    k = key.lower()
    return k in FREE_TEXT_KEYS or (("card" in k or k == "pan") and k not in SAFE_CARD_KEYS)


def _scrub(value: Any, watched: bool, depth: int = 0) -> Any:
    if depth > 8:
        return value
    if isinstance(value, str):
        return mask_cards(value) if watched else value
    if isinstance(value, dict):
        return {k: _scrub(v, watched or (isinstance(k, str) and _watched(k)), depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v, watched, depth + 1) for v in value]
    return value


@cache
def _card_plan(model: type[BaseModel]) -> tuple[tuple[str, int, bool], ...]:
    """Per declared field of `model`: its name, what it can hold (app/security/fieldkinds.py), whether it is watched
    by its name."""
    return tuple((name, kind, _watched(name)) for name, kind in field_kinds(model))


def _holds_card(value: Any, watched: bool, depth: int = 0) -> bool:
    """Whether a watched string below `value` has a card number, read in place (no dump of the model): most results
    have none, and then the result is returned as it is."""
    if depth > 8:
        return False
    if isinstance(value, str):
        return watched and may_hold_card(value) and mask_cards(value) != value
    if isinstance(value, BaseModel):
        kind = type(value)
        for name, field_kind, named in _card_plan(kind):
            field_watched = watched or named
            if (field_kind == TEXT and not field_watched) or field_kind == INERT:
                continue  # a number or date holds no card; an unwatched string is not scanned
            if _holds_card(getattr(value, name), field_watched, depth + 1):
                return True
        return any(_holds_card(getattr(value, name), watched or _watched(name), depth + 1)
                   for name in (*kind.model_computed_fields, *(value.__pydantic_extra__ or ())))
    if isinstance(value, dict):
        return any(_holds_card(v, watched or (isinstance(k, str) and _watched(k)), depth + 1)
                   for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return any(_holds_card(v, watched, depth + 1) for v in value)
    return False


def scrub_card_numbers(value: T) -> T:
    """`value` (tool arguments as a dict, or a tool result model) with card numbers masked in watched fields."""
    if isinstance(value, BaseModel):
        if not _holds_card(value, False):
            return value
        dumped = value.model_dump(mode="python")
        scrubbed = _scrub(dumped, False)
        return value if scrubbed == dumped else type(value).model_validate(scrubbed)
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            out[k] = _scrub(v, _watched(k)) if isinstance(k, str) else v
        return out  # type: ignore[return-value]
    return value
