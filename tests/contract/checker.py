"""Our own check of sandbox exchanges against Oracle's Swagger 2.0 specs (tests/contract/specs/).

Resolves (method, path) to an operation through the specs' path tables, then validates the request body (the
`in: body` parameter) and the response body (the schema of the returned status) with jsonschema Draft 4 over the
spec's definitions. Two corrections: the bogus `maxLength < 10` on `format: date` strings is dropped, and in strict
mode every object is closed (`additionalProperties: false`), since Oracle's schemas never forbid unknown keys.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft4Validator

SPECS = Path(__file__).parent / "specs"
MODULES = ("oauth", "rsv", "crm", "fof", "hsk", "csh", "par", "rtp", "lov", "inv")
CONTROL_PREFIX = "/_sandbox/"


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


def check_body(op: Operation, which: str, body: Any, *, strict: bool = True) -> list[str]:
    """Violations of one body (empty when valid or when the spec has no schema for it)."""
    if body is None:
        return []
    check = validator(op, which, strict)
    if check is None:
        return []
    side = "request body" if which == "request" else f"response {which}"
    return [
        f"{op.module}.{op.operation_id} {side}: at {_json_path(error)}: {error.message[:300]}"
        for error in sorted(check.iter_errors(body), key=lambda e: list(e.absolute_path))[:10]
    ]


def check_exchange(
    method: str,
    path: str,
    status: int,
    request_body: Any,
    response_body: Any,
    *,
    strict: bool = True,
    requests: bool = True,
) -> list[str]:
    """All violations of one exchange: an unknown endpoint, a bad request body, a bad response body."""
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
        ):
            problems.append(f"{exchange.method} {exchange.path} -> {exchange.status}: {problem}")
    return problems
