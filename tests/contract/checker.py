"""Our own check of sandbox exchanges against Oracle's Swagger 2.0 specs (tests/contract/specs/).

Resolves (method, path) to an operation through the specs' path tables, then validates the request body (the
`in: body` parameter) and the response body (the schema of the returned status) with jsonschema Draft 4 over the
spec's definitions; and, for a recorded exchange, the query parameters (declared names, typed values, a repeated
key only for `collectionFormat: multi`), the required headers, that the status is one the operation declares, and
the `Location` header where the spec documents one. Two corrections: the bogus `maxLength < 10` on `format: date`
strings is dropped, and in strict mode every object is closed (`additionalProperties: false`), since Oracle's
schemas never forbid unknown keys.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft4Validator

SPECS = Path(__file__).parent / "specs"
MODULES = ("oauth", "rsv", "crm", "fof", "hsk", "csh", "par", "rtp", "lov", "inv", "int", "bof")
CONTROL_PREFIX = "/_sandbox/"
# the `o:errorCode` of answers the sandbox's gateway gives instead of the operation (injected outages, the quota's
# 429): a test chose them to imitate OHIP's gateway, which answers 429 and 504 that no operation declares
GATEWAY_ERROR_CODES = ("OHIPSIM-FAULT-", "OHIPSIM-QUOTA-")


@dataclass(frozen=True)
class Operation:
    module: str
    operation_id: str
    method: str
    template: str  # basePath + path
    regex: re.Pattern[str]
    literal_chars: int  # more literal characters = a more specific template


@cache
def load_spec(module: str) -> dict[str, Any]:
    with (SPECS / f"{module}.json").open(encoding="utf-8") as fh:
        spec: dict[str, Any] = json.load(fh)
    return spec


def _template_regex(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^}]+\})", template)
    pattern = "".join("[^/]+" if part.startswith("{") else re.escape(part) for part in parts)
    return re.compile(f"^{pattern}$")


@cache
def path_table() -> tuple[Operation, ...]:
    ops: list[Operation] = []
    for module in MODULES:
        spec = load_spec(module)
        base = spec.get("basePath", "")
        for path, item in spec["paths"].items():
            for method, op in item.items():
                if not isinstance(op, dict) or "operationId" not in op:
                    continue
                template = base + path
                literal = len(re.sub(r"\{[^}]+\}", "", template))
                ops.append(
                    Operation(module, op["operationId"], method.upper(), template, _template_regex(template), literal)
                )
    return tuple(ops)


def resolve(method: str, path: str) -> Operation | None:
    """The spec operation for a request, preferring the most literal template (`/rooms/status` over `/rooms/{id}`)."""
    candidates = [op for op in path_table() if op.method == method.upper() and op.regex.match(path)]
    return max(candidates, key=lambda op: op.literal_chars) if candidates else None


def _walk(node: Any, visit: Any) -> None:
    if isinstance(node, dict):
        visit(node)
        for value in node.values():
            _walk(value, visit)
    elif isinstance(node, list):
        for value in node:
            _walk(value, visit)


@cache
def _definitions(module: str, strict: bool) -> dict[str, Any]:
    defs = copy.deepcopy(load_spec(module).get("definitions", {}))

    def fix(node: dict[str, Any]) -> None:
        if node.get("format") == "date" and isinstance(node.get("maxLength"), int) and node["maxLength"] < 10:
            del node["maxLength"]
        if strict and "properties" in node and "additionalProperties" not in node:
            node["additionalProperties"] = False

    _walk(defs, fix)
    return defs


def _operation_object(op: Operation) -> dict[str, Any]:
    spec = load_spec(op.module)
    base = spec.get("basePath", "")
    item: dict[str, Any] = spec["paths"][op.template[len(base) :]]
    return dict(item[op.method.lower()])


def _body_schema(op: Operation, which: str) -> dict[str, Any] | None:
    """`which` is "request" or a status code as a string; None when the spec gives no schema."""
    operation = _operation_object(op)
    if which == "request":
        param = next((p for p in operation.get("parameters", []) if p.get("in") == "body"), None)
        if param is None:
            return None
        schema = param["schema"]
        return dict(schema["allOf"][0]) if "allOf" in schema else dict(schema)
    response = operation.get("responses", {}).get(which)
    if response is None:
        return None
    if "$ref" in response and "schema" not in response:  # shared responses: #/responses/...
        name = response["$ref"].split("/")[-1]
        response = load_spec(op.module).get("responses", {}).get(name, {})
    schema = response.get("schema")
    return dict(schema) if schema else None


@cache
def validator(op: Operation, which: str, strict: bool) -> Draft4Validator | None:
    schema = _body_schema(op, which)
    if schema is None:
        return None
    schema["definitions"] = _definitions(op.module, strict)
    return Draft4Validator(schema)


def _json_path(error: Any) -> str:
    path = "$"
    for part in error.absolute_path:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


#: Where real OHIP's error bodies differ from the spec's `exceptionDetailType` (Oracle's answers quoted in
#: oracle/hospitality-api-docs issues #92 and #62): `status` is the processing status "NotProcessed", not the HTTP
#: code, and a `language` member is added. These two, and nothing else, are accepted on error responses.
REAL_ERROR_STATUS = "NotProcessed"
REAL_ERROR_EXTRAS = ("language",)


def _as_documented_error(body: Any) -> Any:
    """An error body with real OHIP's known deviations taken out, so the rest is validated strictly."""
    if not isinstance(body, dict):
        return body
    out = {k: v for k, v in body.items() if k not in REAL_ERROR_EXTRAS}
    if out.get("status") == REAL_ERROR_STATUS:
        del out["status"]
    return out


def check_body(op: Operation, which: str, body: Any, *, strict: bool = True) -> list[str]:
    """Violations of one body (empty when valid or when the spec has no schema for it)."""
    if body is None:
        return []
    if which.isdigit() and int(which) >= 400:
        body = _as_documented_error(body)
    check = validator(op, which, strict)
    if check is None:
        return []
    side = "request body" if which == "request" else f"response {which}"
    return [
        f"{op.module}.{op.operation_id} {side}: at {_json_path(error)}: {error.message[:300]}"
        for error in sorted(check.iter_errors(body), key=lambda e: list(e.absolute_path))[:10]
    ]


def _parameters(op: Operation, where: str) -> dict[str, dict[str, Any]]:
    """The operation's parameters of one `in:` (query, header...), `$ref`s resolved, by name."""
    shared = load_spec(op.module).get("parameters", {})
    out: dict[str, dict[str, Any]] = {}
    for param in _operation_object(op).get("parameters", []):
        if "$ref" in param:
            param = shared.get(param["$ref"].split("/")[-1], {})
        if param.get("in") == where:
            out[param["name"]] = param
    return out


def _value_problem(spec: Mapping[str, Any], value: str) -> str | None:
    """Why a query value breaks its parameter's (or array item's) declared type, enum, format or length."""
    kind = spec.get("type")
    if kind == "integer" and not re.fullmatch(r"-?[0-9]+", value):
        return "not an integer"
    if kind == "number":
        try:
            float(value)
        except ValueError:
            return "not a number"
    if kind == "boolean" and value not in ("true", "false"):
        return "not a boolean (true or false)"
    if "enum" in spec and value not in spec["enum"]:
        return f"not one of {spec['enum']}"
    if spec.get("format") == "date":
        try:
            ok = re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value) is not None and bool(date.fromisoformat(value))
        except ValueError:
            ok = False
        if not ok:
            return "not a date (YYYY-MM-DD)"
    if spec.get("format") == "date-time":
        try:
            datetime.fromisoformat(value)
        except ValueError:
            return "not a date-time"
    if isinstance(spec.get("maxLength"), int) and len(value) > spec["maxLength"]:
        return f"longer than {spec['maxLength']} characters"
    if isinstance(spec.get("minLength"), int) and len(value) < spec["minLength"]:
        return f"shorter than {spec['minLength']} characters"
    return None


def check_query(op: Operation, query: Sequence[tuple[str, str]]) -> list[str]:
    """Query parameters the operation does not declare, values off their declared format, repeated keys that are
    not `collectionFormat: multi`."""
    declared = _parameters(op, "query")
    where = f"{op.module}.{op.operation_id} query"
    problems: list[str] = []
    seen: dict[str, int] = {}
    for name, value in query:
        param = declared.get(name)
        if param is None:
            problems.append(f"{where}: {name!r} is not a parameter of the operation")
            continue
        seen[name] = seen.get(name, 0) + 1
        if param.get("type") == "array":
            multi = param.get("collectionFormat") == "multi"
            if not multi and seen[name] == 2:
                problems.append(f"{where}: {name!r} repeated, but its collectionFormat is not multi")
            items = value.split(",") if not multi else [value]
            spec: Mapping[str, Any] = param.get("items", {})
        else:
            if seen[name] == 2:
                problems.append(f"{where}: {name!r} repeated, but it is a single value")
            items, spec = [value], param
        for item in items:
            why = _value_problem(spec, item)
            if why is not None:
                problems.append(f"{where}: {name}={item!r} is {why}")
    return problems


def check_headers(op: Operation, headers: Mapping[str, str]) -> list[str]:
    """Required `in: header` parameters missing (and Basic credentials where the spec's security demands them)."""
    present = {name.lower() for name in headers}
    required = [name for name, param in _parameters(op, "header").items() if param.get("required")]
    spec = load_spec(op.module)
    schemes = spec.get("securityDefinitions", {})
    for requirement in _operation_object(op).get("security", spec.get("security", [])):
        if any(schemes.get(scheme, {}).get("type") == "basic" for scheme in requirement):
            required.append("authorization")
    return [
        f"{op.module}.{op.operation_id} headers: required header {name!r} missing"
        for name in dict.fromkeys(required)
        if name.lower() not in present
    ]


def _response_object(op: Operation, status: str) -> dict[str, Any] | None:
    response = _operation_object(op).get("responses", {}).get(status)
    if response is not None and "$ref" in response:
        response = load_spec(op.module).get("responses", {}).get(response["$ref"].split("/")[-1], {})
    return dict(response) if response is not None else None


def check_status(op: Operation, status: int, response_body: Any) -> list[str]:
    """A status the operation does not declare (nor a `default` response covers) is a violation."""
    responses = _operation_object(op).get("responses", {})
    if str(status) in responses or "default" in responses:
        return []
    code = response_body.get("o:errorCode") if isinstance(response_body, dict) else None
    if isinstance(code, str) and code.startswith(GATEWAY_ERROR_CODES):
        return []
    return [f"{op.module}.{op.operation_id}: status {status} is not declared (declared: {', '.join(responses)})"]


def check_location(op: Operation, status: int, response_headers: Mapping[str, str]) -> list[str]:
    """A 201 whose response the spec documents with a `Location` header must carry one."""
    if status != 201:
        return []
    documented = (_response_object(op, "201") or {}).get("headers", {})
    if "Location" in documented and "location" not in {name.lower() for name in response_headers}:
        return [f"{op.module}.{op.operation_id} response 201: the documented Location header is missing"]
    return []


def check_exchange(
    method: str,
    path: str,
    status: int,
    request_body: Any,
    response_body: Any,
    *,
    strict: bool = True,
    requests: bool = True,
    query: Sequence[tuple[str, str]] | None = None,
    headers: Mapping[str, str] | None = None,
    response_headers: Mapping[str, str] | None = None,
) -> list[str]:
    """All violations of one exchange: an unknown endpoint, a bad request body, a bad response body; given them,
    bad query parameters or missing required headers (only of requests the sandbox accepted with a 2xx: refusing a
    bad request is the sandbox doing its job), an undeclared status, a missing documented `Location`."""
    if path.startswith(CONTROL_PREFIX):
        return []
    op = resolve(method, path)
    if op is None:
        # the gateway's own 404/405 answers to unknown paths are what a gateway does, not an invented endpoint
        if status in (404, 405):
            return []
        return [f"{method} {path}: not an operation in Oracle's specs (answered {status})"]
    problems: list[str] = []
    if requests and op.operation_id != "getToken" and isinstance(request_body, dict | list):
        problems += check_body(op, "request", request_body, strict=strict)
    if requests and 200 <= status < 300:
        if query is not None:
            problems += check_query(op, query)
        if headers is not None:
            problems += check_headers(op, headers)
    if status != 0:  # 0: a `reset` fault, no response at all
        problems += check_status(op, status, response_body)
    if response_headers is not None:
        problems += check_location(op, status, response_headers)
    problems += check_body(op, str(status), response_body, strict=strict)
    return problems


def check_recorded(sandbox: Any, *, strict: bool = True, requests: bool = True) -> list[str]:
    """Violations across every exchange a sandbox recorded."""
    problems: list[str] = []
    for exchange in sandbox.requests:
        for problem in check_exchange(
            exchange.method,
            exchange.path,
            exchange.status,
            exchange.json,
            exchange.response,
            strict=strict,
            requests=requests,
            query=exchange.query,
            headers=exchange.headers,
            response_headers=exchange.response_headers,
        ):
            problems.append(f"{exchange.method} {exchange.path} -> {exchange.status}: {problem}")
    return problems
