"""Lists of values parse leniently: odd values from OHIP never crash a tool that reads a list."""

import httpx2

from app.opera.http import OperaResponse
from app.opera.lov import values_from


def test_codes_are_trimmed_and_non_text_fields_are_dropped_not_fatal() -> None:
    body = {"listOfValues": {"items": [
        {"code": " CHG ", "name": "Change of plans", "active": True},
        {"code": "DUP", "description": {"unexpected": "object"}, "shortDescription": "Duplicate"},
        {"code": "", "name": "no code"},
        "not an object",
        {"code": 42, "name": ["a", "list"]},
    ]}}
    response = OperaResponse(status=200, body=body, headers=httpx2.Headers(), request_id="r")
    values = values_from(response)
    assert [(v.code, v.name, v.description, v.active) for v in values] == [
        ("CHG", "Change of plans", None, True),
        ("DUP", None, "Duplicate", None),
        ("42", None, None, None),
    ]
