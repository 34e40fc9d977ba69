"""A tool's result as it leaves (app/security/tool_guard.py present): card numbers masked, guest text marked, and a
result object seen before answered again without being walked, with nothing kept once the object is gone."""

from __future__ import annotations

import gc

from pydantic import BaseModel

from app.security import tool_guard
from app.security.tool_guard import present

CARD = "4111 1111 1111 1111"


class Stay(BaseModel):
    reservation_id: str
    surname: str
    comments: list[str]


class Plain(BaseModel):
    reservation_id: str
    nights: int


def test_a_result_is_masked_and_marked_the_same_way_every_time_it_is_presented() -> None:
    stay = Stay(reservation_id="100567", surname="Ada", comments=[f"paid by {CARD}"])
    first = present(stay)
    second = present(stay)
    assert second is first  # the same result object: not walked again
    assert CARD not in first.model_dump_json() and "[CARD]" in first.comments[0]
    assert first.surname != "Ada" and "Ada" in first.surname  # marked as guest text
    assert stay.comments == [f"paid by {CARD}"]  # the input itself is not changed


def test_an_equal_but_different_object_is_presented_afresh() -> None:
    one = Stay(reservation_id="1", surname="Ada", comments=[])
    other = Stay(reservation_id="1", surname="Ada", comments=[])
    assert present(one) is not present(other)


def test_nothing_is_kept_once_the_result_is_gone() -> None:
    gc.collect()
    before = len(tool_guard._PRESENTED)
    marked = Stay(reservation_id="2", surname="Lin", comments=["late"])
    unchanged = Plain(reservation_id="3", nights=2)
    assert present(unchanged) is unchanged  # nothing to mask or mark: the result as it was
    present(marked)
    assert len(tool_guard._PRESENTED) == before + 2
    del marked, unchanged
    gc.collect()
    assert len(tool_guard._PRESENTED) == before
