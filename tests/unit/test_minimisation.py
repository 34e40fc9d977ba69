"""Card numbers out of tool results: masked in free-text and card fields at any depth, found without dumping."""

from __future__ import annotations

from pydantic import BaseModel

from app.security.minimisation import scrub_card_numbers

CARD = "4111 1111 1111 1111"


class Line(BaseModel):
    remark: str | None = None
    comments: list[str] = []
    phone: str | None = None


class Folio(BaseModel):
    reservation_id: str
    lines: list[Line]
    extra: dict[str, str] = {}


def test_a_result_without_card_numbers_is_returned_as_it_is() -> None:
    folio = Folio(reservation_id="4111111111111111"[:8], lines=[Line(remark="Two beers", phone="+1 555 0100")])
    assert scrub_card_numbers(folio) is folio


def test_card_numbers_in_free_text_at_any_depth_are_masked_and_the_rest_kept() -> None:
    folio = Folio(reservation_id="1001", lines=[Line(remark="ok"), Line(comments=["paid by " + CARD])],
                  extra={"notes": f"card {CARD.replace(' ', '')}"})
    scrubbed = scrub_card_numbers(folio)
    assert scrubbed.lines[1].comments == ["paid by [CARD]"] and scrubbed.extra == {"notes": "card [CARD]"}
    assert scrubbed.lines[0].remark == "ok" and scrubbed.reservation_id == "1001"
    assert folio.lines[1].comments == ["paid by " + CARD]  # the original is not changed


def test_a_luhn_valid_number_outside_free_text_is_left_alone() -> None:
    folio = Folio(reservation_id="1001", lines=[Line(phone=CARD)])  # not a field that holds card data
    assert scrub_card_numbers(folio) is folio
