"""What every sandbox route shares: OHIP JSON responses and error bodies, absolute Location headers that respect
the mount prefix, and lenient readers for OHIP input (numeric strings, lone objects for arrays, enum case).

Routes raise `SandboxError` for any refusal; the app turns it into an error body shaped as real OHIP sends one
(see `error_body`). Headers, tokens and unknown hotels in the path are checked by the gateway in app.py before a
route runs.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, timedelta
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from app.sandbox.state import ExternalReference, Hotel, SandboxError, money

if TYPE_CHECKING:
    from app.sandbox.app import Sandbox

MEDIA_TYPE = "application/json;charset=UTF-8"
#: Page bounds of the paged searches (rsv, crm, fof, hsk): crm documents 200 as its largest page; the others state
#: none, so the sandbox applies the same. 20 when the client does not say.
MAX_PAGE_LIMIT = 200
DEFAULT_PAGE_LIMIT = 20



class OhipJSONResponse(JSONResponse):
    media_type = MEDIA_TYPE

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def ohip_json(body: Mapping[str, Any], status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    return OhipJSONResponse(dict(body), status_code=status, headers=dict(headers or {}))


def error_body(
    status: int, title: str, detail: str, instance: str, error_code: str, error_path: str | None = None
) -> dict[str, Any]:
    """An error body in the shape real OHIP sends, which is not quite the spec's `exceptionDetailType`: `type` is
    the reason phrase ("Bad Request"), `status` is the processing status "NotProcessed" rather than the HTTP code,
    and `language` is added (Oracle's own answers quoted in oracle/hospitality-api-docs issues #92 and #62).
    `instance` is not sent by real OHIP and is left out; `o:errorPath` names the offending input, as the spec
    allows. The contract checker knows exactly these deviations (tests/contract/checker.py)."""
    del instance  # the request path: real OHIP does not echo it
    body: dict[str, Any] = {
        "type": _reason(status),
        "title": title,
        "status": "NotProcessed",
        "detail": detail,
        "o:errorCode": error_code,
        "language": "en",
    }
    if error_path:
        body["o:errorPath"] = error_path
    return body


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def error_response(error: SandboxError, instance: str) -> Response:
    body = error_body(error.status, error.title, error.detail, instance, error.error_code, error.error_path)
    return ohip_json(body, error.status)


def route_path(request: Request) -> str:
    """The request path relative to the sandbox root (without the mount prefix)."""
    root = request.scope.get("root_path", "")
    path: str = request.scope["path"]
    return path[len(root) :] if root and path.startswith(root) else path


def absolute_url(request: Request, sandbox_path: str) -> str:
    """`sandbox_path` (e.g. /rsv/v1/hotels/SAND01/reservations/1) as an absolute URL, mount prefix included."""
    # Starlette's base_url uses the app root, not the mount prefix, so build from root_path ourselves
    root = str(request.scope.get("root_path", "")).rstrip("/")
    return str(request.url.replace(path=root + sandbox_path, query="", fragment=""))


def created(request: Request, sandbox_path: str, body: Mapping[str, Any]) -> Response:
    """201 Created with an absolute `Location`, the way OHIP answers a POST that makes something."""
    return ohip_json(body, 201, {"Location": absolute_url(request, sandbox_path), "Content-Language": "en"})


def hotel_of(sandbox: Sandbox, request: Request) -> Hotel:
    """The hotel named by `{hotelId}` in the path (404 when unknown)."""
    return sandbox.enterprise.hotel(str(request.path_params["hotelId"]))


async def read_json(request: Request) -> dict[str, Any]:
    """The request body as a JSON object; 400 when it is missing or not an object."""
    raw = await request.body()
    if not raw.strip():
        raise bad_input("The request needs a JSON body", "body")
    try:
        parsed = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise bad_input(f"The body is not valid JSON: {exc}", "body") from None
    if not isinstance(parsed, dict):
        raise bad_input("The body must be a JSON object", "body")
    return parsed


def bad_input(detail: str, path: str | None, title: str = "Bad Request", code: str = "OHIPSIM-INPUT") -> SandboxError:
    return SandboxError(400, title, detail, code, path)


# ---------------------------------------------------------------------------------------------- lenient input


def as_list(value: Any) -> list[Any]:
    """OHIP clients send a lone object where an array is declared; accept both (None -> [])."""
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return [value]


def as_object(value: Any, path: str) -> dict[str, Any]:
    """An object, or the first element of a one-element array (the reverse leniency); {} for None."""
    if value is None:
        return {}
    if isinstance(value, list):
        value = value[0] if value else {}
    if not isinstance(value, dict):
        raise bad_input(f"{path} must be an object", path)
    return value


def as_text(value: Any, path: str, *, max_length: int = 2000) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise bad_input(f"{path} must be a string", path)
    text = str(value).strip()
    if len(text) > max_length:
        raise bad_input(f"{path} is longer than {max_length} characters", path)
    return text or None


def as_int(value: Any, path: str, *, minimum: int | None = None, maximum: int | None = None) -> int | None:
    """An integer from a number or a numeric string (None stays None); bounds give a 400 naming the field."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise bad_input(f"{path} must be an integer, not a boolean", path)
    try:
        number = float(value) if isinstance(value, str) else value
        if not isinstance(number, int | float) or number != int(number):
            raise ValueError
        result = int(number)
    except (TypeError, ValueError, OverflowError):
        raise bad_input(f"{path} must be an integer; got {value!r}", path) from None
    if minimum is not None and result < minimum:
        raise bad_input(f"{path} must be at least {minimum}; got {result}", path)
    if maximum is not None and result > maximum:
        raise bad_input(f"{path} must be at most {maximum}; got {result}", path)
    return result


def as_float(value: Any, path: str) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise bad_input(f"{path} must be a number", path)
    try:
        result = float(value)
    except (TypeError, ValueError):
        raise bad_input(f"{path} must be a number; got {value!r}", path) from None
    if result != result or result in (float("inf"), float("-inf")):
        raise bad_input(f"{path} must be a finite number", path)
    return result


def as_bool(value: Any, path: str) -> bool | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "y", "yes"):
        return True
    if text in ("false", "0", "n", "no"):
        return False
    raise bad_input(f"{path} must be true or false; got {value!r}", path)


def as_date(value: Any, path: str) -> date | None:
    if value is None or value == "":
        return None
    try:
        return date.fromisoformat(str(value).strip()[:10])
    except ValueError:
        raise bad_input(f"{path} must be a date as YYYY-MM-DD; got {value!r}", path) from None


def as_enum(value: Any, allowed: Iterable[str], path: str) -> str | None:
    """Match case-insensitively and return the canonical spelling."""
    if value is None or value == "":
        return None
    choices = tuple(allowed)
    wanted = str(value).strip().lower()
    for choice in choices:
        if choice.lower() == wanted:
            return choice
    raise bad_input(f"{path} must be one of {', '.join(choices)}; got {value!r}", path)


def query_values(request: Request, *names: str) -> list[str]:
    """Every value of a query parameter under any of `names` (case-insensitive), repeated or comma-separated."""
    wanted = {n.lower() for n in names}
    values: list[str] = []
    for key, value in request.query_params.multi_items():
        if key.lower() in wanted:
            values.extend(part.strip() for part in value.split(",") if part.strip())
    return values


def query_value(request: Request, *names: str) -> str | None:
    values = query_values(request, *names)
    return values[0] if values else None


def page_params(request: Request) -> tuple[int, int]:
    """`limit` and `offset` of a paged search (400 naming the parameter when out of bounds)."""
    limit = as_int(query_value(request, "limit"), "limit", minimum=1, maximum=MAX_PAGE_LIMIT) or DEFAULT_PAGE_LIMIT
    offset = as_int(query_value(request, "offset"), "offset", minimum=0) or 0
    return limit, offset


# ------------------------------------------------------------------------------------------------ OHIP shapes


def money_body(amount: float, currency: str) -> dict[str, Any]:
    return {"amount": money(amount, currency), "currencyCode": currency}


def tax_inclusive_amount(value: float, currency: str) -> dict[str, Any]:
    """A `totalType` amount; sandbox rates include tax, so before and after tax are the same."""
    amount = money(value, currency)
    return {"amountBeforeTax": amount, "amountAfterTax": amount, "currencyCode": currency}


def nightly_rates(prices: Iterable[tuple[date, float]], currency: str) -> dict[str, Any]:
    """The `rates` block of a rate line: one `rate` per night, each at its own price ((night, price) pairs)."""
    return {
        "rate": [
            {
                "base": tax_inclusive_amount(price, currency),
                "start": night.isoformat(),
                "end": (night + timedelta(days=1)).isoformat(),
            }
            for night, price in prices
        ]
    }


def id_entry(identifier: str, id_type: str) -> dict[str, str]:
    return {"id": identifier, "type": id_type}


def find_id(entries: Any, id_type: str) -> str | None:
    """The id of the given type in a `uniqueID_Type` list (lenient: a lone object, numbers, any case of type)."""
    for entry in as_list(entries):
        if isinstance(entry, dict) and str(entry.get("type", "")).lower() == id_type.lower():
            value = entry.get("id")
            if value is not None and str(value).strip():
                return str(value).strip()
    return None


def paged(rows: Sequence[Any], limit: int, offset: int) -> tuple[list[Any], dict[str, Any]]:
    """One page of rows plus OHIP's paging fields."""
    page = list(rows[offset : offset + limit])
    total = len(rows)
    pages = (total + limit - 1) // limit if limit else 0
    return page, {
        "offset": offset,
        "limit": limit,
        "hasMore": offset + len(page) < total,
        "totalResults": total,
        "count": len(page),
        "totalPages": pages,
    }


def external_references_input(
    value: Any, path: str, *, id_max: int, context_max: int, with_extension: bool
) -> list[ExternalReference] | None:
    """An `externalReferencesType` array (None when the body has none): each entry needs an `id` and the external
    system code in `idContext`.

    rsv documents tighter limits than the shared type (id 50, idContext 20) and a leg number (`idExtension`); crm
    keeps the type's 80 and has no leg. Whether the code is configured is the hotel's call, not the parser's.
    """
    if value is None:
        return None
    references: list[ExternalReference] = []
    for index, entry in enumerate(as_list(value)):
        where = f"{path}[{index}]"
        item = as_object(entry, where)
        ref_id = as_text(item.get("id"), f"{where}.id", max_length=id_max)
        context = as_text(item.get("idContext"), f"{where}.idContext", max_length=context_max)
        if ref_id is None or context is None:
            raise bad_input(
                f"{where} needs an id and the external system code in idContext",
                f"{where}.id" if ref_id is None else f"{where}.idContext",
            )
        leg = as_int(item.get("idExtension"), f"{where}.idExtension") if with_extension else None
        references.append(ExternalReference(ref_id, context, leg))
    return references


def external_references_body(references: Iterable[ExternalReference]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for ref in references:
        row: dict[str, Any] = {"id": ref.id, "idContext": ref.id_context}
        if ref.id_extension is not None:
            row["idExtension"] = ref.id_extension
        rows.append(row)
    return rows


# ------------------------------------------------------------------------------------------------ card data


#: 12 to 19 digits, optionally grouped by spaces or dashes: the shape of a payment card number.
_CARD_NUMBER = re.compile(r"(?<!\d)(?:\d[ -]?){11,18}\d(?!\d)")


def _passes_luhn(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char) * (2 if index % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def mask_card_numbers(text: str | None) -> str | None:
    """Free text with every card number in it reduced to its last four digits.

    Only digit runs that pass the Luhn check (as every card number does) are masked, so references such as
    order numbers or a client's idempotency key come back as they were sent far more often.
    """
    if text is None:
        return None

    def mask(match: re.Match[str]) -> str:
        digits = re.sub(r"\D", "", match.group())
        return "XXXX" + digits[-4:] if _passes_luhn(digits) else match.group()

    return _CARD_NUMBER.sub(mask, text)
