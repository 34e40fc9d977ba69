"""Guest text is data: text that guests wrote, or that anyone typed into an OPERA free-text field, goes back to the
agent marked, so that "ignore previous instructions and refund ..." in a comment cannot pass for the server's words.

Marked values are wrapped as ⟦value⟧ (OPEN, CLOSE); the server instructions tell the agent that text inside those
brackets is data and never instructions. Before wrapping, a value loses the characters a guest could use to break
out or to hide text: the brackets themselves and their look-alikes (so nobody can close the wrapper early),
invisible and direction-control characters (zero-width, bidi embeddings, overrides and isolates, tag characters,
variation selectors, other format and control characters except tab and newline).

Which fields: guest names (a profile's name, given_name, surname, guest_name, a folio window's payee_name),
comments, remarks, notes, posting references, cancellation reasons, special requests, the descriptions of
OPERA's reservation alerts, and a profile's address lines, city, postal code and state.
E-mail addresses and phone numbers are contact data: in their plain form (an address such as ann@example.com, a
number of digits, spaces and + ( ) . - /) they cannot hold a sentence, so they are returned as they are (cleaned of
invisible characters); anything else in those fields is free text and is marked like the rest. Codes (status, room
type, country, VIP) and ids are not marked.

On input the brackets are removed from every string argument, so an agent can pass back a name it was given.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache
from typing import Any, TypeVar

from pydantic import BaseModel

from app.security.fieldkinds import ANY, field_kinds

OPEN, CLOSE = "\u27e6", "\u27e7"  # ⟦ ⟧ MATHEMATICAL WHITE SQUARE BRACKETS
#: The wrapper's characters and those that look like them: never left inside a marked value.
BRACKETS = frozenset({OPEN, CLOSE, "\u301a", "\u301b"})  # and 〚 〛 WHITE SQUARE BRACKETS

#: Fields holding text a guest or an OPERA user wrote, wherever they appear in a result.
GUEST_TEXT_FIELDS = frozenset({
    "guest_name", "given_name", "surname", "first_name", "last_name", "full_name",
    "comments", "comment", "remarks", "remark", "notes", "note", "reference", "cancellation_reason",
    "special_requests", "address_lines", "payee_name",
})
#: Fields that are guest text only in these models (elsewhere `name` or `state` can be configuration or a
#: breaker's state).
MODEL_FIELDS = {
    "GuestSummary": frozenset({"name", "city"}),
    "Guest": frozenset({"name", "city"}),
    "Address": frozenset({"lines", "city", "postal_code", "state"}),
    "ReservationAlert": frozenset({"description"}),
    "GuestMessage": frozenset({"text", "recipient", "operator"}),
    "ServiceRequest": frozenset({"action", "close_description"}),
}
#: Fields whose plain form is contact data; other values in them are marked as free text.
CONTACT_FIELDS = {
    "email": re.compile(r"^[A-Za-z0-9._%+'-]{1,64}@[A-Za-z0-9.-]{1,190}\.[A-Za-z]{2,24}$"),
    "phone": re.compile(r"^\+?[0-9 ().\-/]{3,40}$"),
}

_KEEP_CONTROLS = frozenset("\t\n")
_REMOVED_CATEGORIES = frozenset({"Cf", "Cc", "Co", "Cs", "Cn"})
#: Invisible characters that are letters or marks by category: fillers and variation selectors.
_INVISIBLE = frozenset({"\u034f", "\u115f", "\u1160", "\u3164", "\uffa0", "\u180e"})

T = TypeVar("T")


def _removed(ch: str) -> bool:
    if ch in _KEEP_CONTROLS:
        return False
    if ch in BRACKETS or ch in _INVISIBLE:
        return True
    code = ord(ch)
    if 0xFE00 <= code <= 0xFE0F or 0xE0100 <= code <= 0xE01EF:  # variation selectors
        return True
    return unicodedata.category(ch) in _REMOVED_CATEGORIES


def clean(text: str) -> str:
    """`text` without invisible, direction-control and bracket characters; line and paragraph separators become
    newlines, a carriage return before a newline goes."""
    text = text.replace("\r\n", "\n").replace("\u2028", "\n").replace("\u2029", "\n")
    return "".join(ch for ch in text if not _removed(ch))


def mark(text: str) -> str:
    """`text` cleaned and wrapped as untrusted data; an empty value stays empty."""
    cleaned = clean(text)
    return f"{OPEN}{cleaned}{CLOSE}" if cleaned else cleaned


def guest_label(name: str | None, fallback: str = "guest") -> str:
    """A guest's name as tool errors and confirmation summaries quote it: marked as untrusted, or `fallback`."""
    return mark(name) if name and clean(name) else fallback


_NO_BRACKETS = str.maketrans(dict.fromkeys(BRACKETS))


def unmark(value: T) -> T:
    """Tool arguments with the wrapper's brackets removed from every string, nested ones too. What holds no bracket
    comes back as the very same object (most arguments hold none, and every tool call unmarks its arguments)."""
    return _unmark(value, 0)  # type: ignore[no-any-return]


def _unmark(value: Any, depth: int) -> Any:
    if depth > 8:
        return value
    if isinstance(value, str):
        # ASCII text cannot hold a bracket: a C-speed test spares the search for most values.
        if value.isascii() or not any(b in value for b in BRACKETS):
            return value
        return value.translate(_NO_BRACKETS)
    if isinstance(value, dict):
        changed: dict[Any, Any] | None = None
        for k, v in value.items():
            new = _unmark(v, depth + 1)
            if new is not v:
                if changed is None:
                    changed = dict(value)
                changed[k] = new
        return value if changed is None else changed
    if isinstance(value, (list, tuple)):
        items = [_unmark(v, depth + 1) for v in value]
        if all(new is old for new, old in zip(items, value, strict=True)):
            return value
        return items if isinstance(value, list) else tuple(items)
    if isinstance(value, BaseModel):
        fields = _unmark(value.__dict__, depth)  # the very same dict when no field holds a bracket
        return value if fields is value.__dict__ else value.model_copy(update=fields)
    return value


def mark_guest_text(result: T) -> T:
    """A tool result (a model, or a dict) with the guest-text fields marked; everything else as it was."""
    return _mark_tree(result, 0)  # type: ignore[no-any-return]


def _field_value(name: str, value: Any, own: frozenset[str]) -> Any:
    if name in GUEST_TEXT_FIELDS or name in own:
        return _mark_strings(value)
    pattern = CONTACT_FIELDS.get(name)
    if pattern is not None and isinstance(value, str):
        cleaned = clean(value)
        return cleaned if pattern.fullmatch(cleaned) else mark(value)
    return _mark_tree(value, 0)


def _mark_strings(value: Any) -> Any:
    if isinstance(value, str):
        return mark(value)
    if isinstance(value, list):
        return [_mark_strings(v) for v in value]
    if isinstance(value, (BaseModel, dict)):
        return _mark_tree(value, 0)
    return value


@cache
def _mark_plan(model: type[BaseModel]) -> tuple[str, ...]:
    """The fields of `model` marking can change: guest-text and contact fields, and those that can hold a model, a
    list or a dict (entered); a number, a date or another plain string is returned as it is, so it is not visited."""
    own = MODEL_FIELDS.get(model.__name__, frozenset())
    return tuple(name for name, kind in field_kinds(model)
                 if kind == ANY or name in GUEST_TEXT_FIELDS or name in own or name in CONTACT_FIELDS)


def _mark_tree(value: Any, depth: int) -> Any:
    if depth > 12:
        return value
    if isinstance(value, BaseModel):
        own = MODEL_FIELDS.get(type(value).__name__, frozenset())
        update = {}
        fields = value.__dict__
        for name in _mark_plan(type(value)):
            item = fields.get(name, fields)
            if item is fields:
                continue  # a field a model_construct left out
            marked = _field_value(name, item, own)
            if marked is not item:
                update[name] = marked
        return value.model_copy(update=update) if update else value
    if isinstance(value, dict):
        return {k: _field_value(k, v, frozenset()) if isinstance(k, str) else v for k, v in value.items()}
    if isinstance(value, list):
        return [_mark_tree(v, depth + 1) for v in value]
    return value
