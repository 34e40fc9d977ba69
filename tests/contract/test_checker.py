"""The checker's wider rules are proven on hand-built exchanges: a query name the operation does not declare, a
value off its declared format, a missing required header, an undeclared status and a 201 without its documented
Location are each reported; a correct exchange and a refusal of a bad request are not."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import pytest

from app.sandbox.recorder import Exchange
from tests.contract.checker import check_recorded

RSV = "/rsv/v1/hotels/SAND01/reservations"
HEADERS = {"authorization": "Bearer ***", "x-app-key": "k", "x-hotelid": "SAND01", "content-type": "application/json"}
CANCEL_BODY = {"reason": {"code": "CHG"}, "verificationOnly": True}
CANCEL_ANSWER = {"reservations": [{"hotelId": "SAND01", "reservationStatus": "Reserved"}]}
LOCATION = {"location": f"http://127.0.0.1:1{RSV}/100001/cancellations", "content-type": "application/json"}


@dataclass
class RecordedLog:
    """What check_recorded reads of a sandbox: its request log."""

    requests: list[Exchange] = field(default_factory=list)


def exchange(method: str, path: str, status: int, **fields: Any) -> Exchange:
    base = Exchange(
        time=0.0,
        method=method,
        path=path,
        query=[],
        headers=dict(HEADERS),
        json=None,
        status=status,
        response=None,
        operation_id=None,
        module="rsv",
        client=None,
        traceparent=None,
    )
    return replace(base, **fields)


def search(*query: tuple[str, str], status: int = 200, **fields: Any) -> Exchange:
    fields.setdefault("response", {"reservations": {}})
    return exchange("GET", RSV, status, query=list(query), **fields)


def cancel(status: int = 201, **fields: Any) -> Exchange:
    fields.setdefault("response_headers", dict(LOCATION))
    fields.setdefault("response", CANCEL_ANSWER)
    return exchange("POST", f"{RSV}/100001/cancellations", status, json=CANCEL_BODY, **fields)


def problems(*exchanges: Exchange, requests: bool = True) -> list[str]:
    return check_recorded(RecordedLog(list(exchanges)), requests=requests)


def test_correct_exchanges_report_nothing() -> None:
    assert (
        problems(
            search(
                ("limit", "20"),
                ("arrivalStartDate", "2026-05-01"),
                ("reservationIdList", "1"),
                ("reservationIdList", "2"),
            ),
            cancel(),
        )
        == []
    )


def test_an_undeclared_query_name_is_a_violation() -> None:
    found = problems(search(("confirmationNumber", "100001")))
    assert len(found) == 1 and "'confirmationNumber' is not a parameter of the operation" in found[0]


@pytest.mark.parametrize(
    ("name", "value", "why"),
    [
        ("limit", "twenty", "not an integer"),
        ("arrivalStartDate", "01/05/2026", "not a date"),
        ("arrivalStartDate", "2026-02-30", "not a date"),
        ("recentlyAccessed", "yes", "not a boolean"),
        ("searchType", "Nonsense", "not one of"),
    ],
)
def test_a_value_off_its_declared_format_is_a_violation(name: str, value: str, why: str) -> None:
    found = problems(search((name, value)))
    assert len(found) == 1 and f"{name}={value!r} is {why}" in found[0]


def test_a_single_valued_parameter_repeated_is_a_violation_but_a_multi_one_is_not() -> None:
    assert problems(search(("reservationIdList", "1"), ("reservationIdList", "2"))) == []
    found = problems(search(("limit", "1"), ("limit", "2")))
    assert len(found) == 1 and "'limit' repeated" in found[0]


@pytest.mark.parametrize("header", ["x-app-key", "x-hotelid", "authorization"])
def test_a_missing_required_header_is_a_violation(header: str) -> None:
    headers = {k: v for k, v in HEADERS.items() if k != header}
    found = problems(search(headers=headers))
    assert len(found) == 1 and f"required header {header!r} missing" in found[0]


def test_the_token_endpoint_requires_its_app_key_and_basic_credentials() -> None:
    token = exchange(
        "POST",
        "/oauth/v1/tokens",
        200,
        headers={"content-type": "application/x-www-form-urlencoded"},
        json={"grant_type": "client_credentials"},
        response={"access_token": "***", "token_type": "Bearer"},
    )
    found = problems(token)
    assert [p.rsplit(" ", 2)[-2] for p in found] == ["'x-app-key'", "'authorization'"]


def test_refusals_and_lenient_tests_are_not_held_to_the_request_rules() -> None:
    # the sandbox refusing a bad request is doing its job; a lenient test sends bad requests on purpose
    refused = search(("confirmationNumber", "1"), status=401, headers={}, response=None)
    assert problems(refused) == []
    assert problems(search(("confirmationNumber", "1"), headers={}), requests=False) == []


def test_an_undeclared_status_is_a_violation() -> None:
    found = problems(cancel(status=200))
    assert len(found) == 1 and "status 200 is not declared" in found[0]


def test_an_injected_gateway_fault_is_not_held_to_the_operation_statuses() -> None:
    throttled = {"status": 429, "title": "Too Many Requests", "o:errorCode": "OHIPSIM-FAULT-429"}
    assert problems(cancel(status=429, response=throttled, response_headers={})) == []
    invented = {"status": 429, "title": "Too Many Requests", "o:errorCode": "OHIPSIM-RSV-429"}
    assert len(problems(cancel(status=429, response=invented, response_headers={}))) == 1


def test_a_201_without_its_documented_location_is_a_violation() -> None:
    found = problems(cancel(response_headers={"content-type": "application/json"}))
    assert len(found) == 1 and "the documented Location header is missing" in found[0]


REAL_ERROR = {
    "type": "Bad Request",
    "title": "Bad Request",
    "status": "NotProcessed",
    "detail": "Limit exceeds the maximum of 200",
    "o:errorCode": "OPERAWS-ODE09998",
    "language": "en",
}


def test_an_error_body_in_real_ohips_shape_passes_and_nothing_else_off_schema_does() -> None:
    """Real OHIP sends `status: "NotProcessed"` and a `language` member (Oracle's issues #92, #62): exactly these
    two deviations from exceptionDetailType are accepted; another string status or another extra member is not."""
    assert problems(search(status=400, response=dict(REAL_ERROR))) == []
    other_status = problems(search(status=400, response={**REAL_ERROR, "status": "Failed"}))
    assert len(other_status) == 1 and "status" in other_status[0]
    extra = problems(search(status=400, response={**REAL_ERROR, "locale": "en-US"}))
    assert len(extra) == 1 and "locale" in extra[0]
