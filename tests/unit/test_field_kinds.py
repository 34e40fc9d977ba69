"""The walks over a tool result skip only the fields that cannot matter (app/security/fieldkinds.py): what each
annotation admits decides, and a card number or a guest's text is still found wherever a field can hold one."""

from __future__ import annotations

import enum
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.security.fieldkinds import ANY, INERT, TEXT, kind_of
from app.security.minimisation import scrub_card_numbers
from app.security.untrusted import OPEN, mark_guest_text

CARD = "4111 1111 1111 1111"


class Colour(enum.StrEnum):
    RED = "red"


class Level(enum.Enum):
    LOW = 1


def test_kinds_follow_what_the_annotation_admits() -> None:
    assert [kind_of(a) for a in (int, float, bool, Decimal, date, type(None), int | None, Literal[1, 2])] == [INERT] * 8
    texts = (str, str | None, Literal["A", 1], Annotated[str, Field(max_length=3)], Colour)
    assert [kind_of(a) for a in texts] == [TEXT] * 5
    assert [kind_of(a) for a in (list[str], dict[str, int], Any, Level, str | list[str], tuple[int, ...])] == [ANY] * 6

    class Money(BaseModel):
        amount: float

    assert kind_of(Money) == ANY and kind_of(Money | None) == ANY


class Inner(BaseModel):
    label: str  # not watched by its name: scanned only below a watched field
    count: int = 0


class Outer(BaseModel):
    model_config = ConfigDict(extra="allow")

    reservation_id: str
    nights: int
    notes: Inner | None = None  # a watched name above a model: its strings are scanned
    plain: Inner | None = None
    card_holder_ref: str | None = None  # "card" in the name: watched


def test_a_card_is_found_in_every_place_a_watched_string_can_be() -> None:
    for outer in (Outer(reservation_id="1", nights=1, notes=Inner(label=f"paid {CARD}")),
                  Outer(reservation_id="1", nights=1, card_holder_ref=CARD),
                  Outer(reservation_id="1", nights=1, remarks=f"x {CARD}")):  # an extra field, watched by name
        scrubbed = scrub_card_numbers(outer)
        assert scrubbed is not outer, outer
        assert CARD not in scrubbed.model_dump_json(), scrubbed


def test_an_unwatched_string_keeps_a_number_that_looks_like_a_card() -> None:
    outer = Outer(reservation_id="1", nights=1, plain=Inner(label=CARD))
    assert scrub_card_numbers(outer) is outer


class Guest(BaseModel):
    surname: str  # guest text by name
    status: str  # a code
    nights: int
    stay: Inner | None = None
    history: list[Outer] = []


def test_guest_text_is_marked_in_text_fields_and_inside_nested_models_only() -> None:
    guest = Guest(surname="Lin", status="InHouse", nights=2,
                  history=[Outer(reservation_id="1", nights=1, notes=Inner(label="x"))])
    marked = mark_guest_text(guest)
    assert marked.surname == f"{OPEN}Lin\u27e7"
    assert marked.status == "InHouse" and marked.nights == 2
    plain = mark_guest_text(Guest(surname="", status="Due", nights=1, stay=Inner(label="not guest text")))
    assert plain.stay is not None and plain.stay.label == "not guest text"
