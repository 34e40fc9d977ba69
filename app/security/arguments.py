"""The argument gate: every tools/call is checked here before the SDK (or pydantic) sees its arguments.

Two rules, in this order, on the raw JSON the client sent:

1. **No card numbers, ever.** A string (or number) anywhere in the arguments, argument names included, that holds
   a Luhn-valid payment card number of a known issuer's shape (13-19 digits, spaces or dashes allowed) refuses the
   whole call before any OHIP request, human prompt, log line or audit event could hold it. The refusal names the
   field, never the value.
2. **Strict input.** The arguments must match the tool's published `inputSchema` exactly: no unknown names (the
   closest valid one is suggested), exact JSON types (no `true` for an integer, no `"2"` for a number, no Unix time
   for a date), `format: date`/`date-time`, and every rule the schema shows (lengths, ranges, patterns, enums,
   required). The SDK would otherwise coerce silently and execute.

Every refusal is one sentence naming the field, the rule and the fix. Whatever pydantic still refuses after the
schema passed (its own validators) is rewritten into the same style on the way back, never a library dump.
"""

from __future__ import annotations

import difflib
import json
import logging
import re
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError as SchemaError
from mcp.types import CallToolResult, TextContent
from pydantic import BaseModel, ValidationError

from app.security.tool_guard import is_error_result
from app.security.untrusted import unmark
from app.telemetry.redaction import luhn_valid, may_hold_card

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer

    from app.security.layer import SecurityLayer

log = logging.getLogger(__name__)

# --- card numbers ----------------------------------------------------------------------------------------------

#: Digit groups joined by single spaces or dashes, not touching other digits.
_DIGIT_BLOCK = re.compile(r"(?<!\d)\d+(?:[ -]\d+)*(?!\d)")
_GROUP = re.compile(r"\d+")
_UUID = re.compile(r"(?<![0-9A-Fa-f-])[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}"
                   r"(?![0-9A-Fa-f-])")


def _issuer_shape(digits: str) -> bool:
    """Whether `digits` has the length and leading digits of a card a scheme issues today.

    Visa (4: 16-19), Mastercard (51-55, 2221-2720: 16), Amex (34, 37: 15), Diners (36: 14-19; 300-305, 3095,
    38-39: 16-19), JCB (3528-3589: 16-19), Discover, UnionPay, Maestro, RuPay (5, 6: 16-19). Retired or rare shapes
    (13-digit Visa, 12-15 digit Maestro) are left out on purpose: a 13-digit number is more often a phone number
    with its country code (+49..., +55...) than a card.
    """
    n = len(digits)
    first = digits[0]
    if n == 15:
        return digits[:2] in ("34", "37")
    if n == 14:
        return digits[:2] == "36"
    if not 16 <= n <= 19:
        return False
    if first in "456":
        return True
    if first == "2":
        return n == 16 and 2221 <= int(digits[:4]) <= 2720
    if first == "3":
        two, three, four = int(digits[:2]), int(digits[:3]), int(digits[:4])
        return two in (36, 38, 39) or 300 <= three <= 305 or four == 3095 or 3528 <= four <= 3589
    return False


def holds_card_number(text: str) -> bool:
    """Whether `text` contains a Luhn-valid card number (13-19 digits of an issuer's shape; spaces/dashes allowed).

    Every run of whole digit groups inside a block is tried, so a card written after another number
    ("ref 12 4111 1111 1111 1111") is found; one unbroken run of more than 19 digits is not a card."""
    if not may_hold_card(text):  # fewer than 13 digits in all: no card (most arguments are ids, dates, names)
        return False
    if "-" in text:
        # A UUID (an idempotency key, a request id) can read as 8, 4 and 4 digits of a card; it is never one.
        text = _UUID.sub(" ", text)
    for block in _DIGIT_BLOCK.finditer(text):
        groups = _GROUP.findall(block.group(0))
        for start in range(len(groups)):
            digits = ""
            for group in groups[start:]:
                digits += group
                if len(digits) > 19:
                    break
                if len(digits) >= 13 and _issuer_shape(digits) and luhn_valid(digits):
                    return True
    return False


def _card_fields(value: Any, path: str) -> Iterator[str]:
    """The paths of every string, number or key in `value` that holds a card number."""
    if isinstance(value, str):
        if holds_card_number(value):
            yield path
    elif isinstance(value, bool) or value is None:
        return
    elif isinstance(value, (int, float)):
        if holds_card_number(str(value)):
            yield path
    elif isinstance(value, Mapping):
        for key, item in value.items():
            if isinstance(key, str) and holds_card_number(key):
                yield f"an argument name{' inside ' + path if path else ''}"
                continue
            yield from _card_fields(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            yield from _card_fields(item, f"{path}[{i}]")


def card_refusal(tool: str, field: str) -> str:
    return (f"{tool} refused: {field} holds what looks like a payment card number, and card numbers are never taken "
            f"through this server (PCI); remove it and give at most the last four digits where a field asks for "
            f"them (card_last_four), and take a card payment from the reservation's card on file "
            f"(post_payment with its payment_method) or on the hotel's card terminal")


# --- strict schema validation ----------------------------------------------------------------------------------

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:\d{2})?$")
_FORMATS = FormatChecker(formats=())


@_FORMATS.checks("date", raises=ValueError)
def _is_date(value: object) -> bool:
    if not isinstance(value, str):
        return True
    return bool(_DATE.match(value)) and date.fromisoformat(value) is not None


@_FORMATS.checks("date-time", raises=ValueError)
def _is_date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    return bool(_DATE_TIME.match(value)) and datetime.fromisoformat(value.replace("z", "Z")) is not None


_SAFE_CODE = "^[A-Za-z0-9_-]+$"
_EXAMPLE = re.compile(r"e\.g\.\s+([A-Za-z0-9_.:@+-]+)")


def _nullable(schema: Mapping[str, Any]) -> tuple[bool, Mapping[str, Any]]:
    """(null allowed, the schema without its null branch) for pydantic's `X | None` shape."""
    branches = schema.get("anyOf")
    if isinstance(branches, list):
        rest = [b for b in branches if not (isinstance(b, Mapping) and b.get("type") == "null")]
        if len(rest) < len(branches):
            if len(rest) == 1:
                merged = {k: v for k, v in schema.items() if k != "anyOf"}
                merged.update(rest[0])
                return True, merged
            return True, {**{k: v for k, v in schema.items() if k != "anyOf"}, "anyOf": rest}
    return schema.get("type") == "null", schema


def _range(schema: Mapping[str, Any]) -> str | None:
    lo, hi = schema.get("minimum"), schema.get("maximum")
    xlo, xhi = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")
    if lo is not None and hi is not None:
        return f"{_num(lo)}-{_num(hi)}"
    parts = []
    if lo is not None:
        parts.append(f"at least {_num(lo)}")
    if xlo is not None:
        parts.append(f"more than {_num(xlo)}")
    if hi is not None:
        parts.append(f"at most {_num(hi)}")
    if xhi is not None:
        parts.append(f"less than {_num(xhi)}")
    return " and ".join(parts) or None


def _num(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return f"{value:,}".replace(",", "") if isinstance(value, int) and abs(value) < 10_000 else f"{value:,}"


def _length(schema: Mapping[str, Any]) -> str | None:
    lo, hi = schema.get("minLength"), schema.get("maxLength")
    if lo and hi:
        return f"{lo}-{hi} characters"
    if hi:
        return f"at most {hi} characters"
    if lo:
        return f"at least {lo} character{'s' if lo > 1 else ''}"
    return None


def expected(schema: Mapping[str, Any]) -> str:
    """What a value must be, in words: 'a whole number (JSON integer, 1-20)'."""
    _, schema = _nullable(schema)
    if "enum" in schema:
        return "one of " + ", ".join(json.dumps(v) for v in schema["enum"])
    if "const" in schema:
        return json.dumps(schema["const"])
    kind = schema.get("type")
    if kind == "integer":
        span = _range(schema)
        return f"a whole number (JSON integer{', ' + span if span else ''})"
    if kind == "number":
        span = _range(schema)
        return f"a number (JSON number{', ' + span if span else ''})"
    if kind == "boolean":
        return "true or false (JSON boolean)"
    if kind == "string":
        fmt = schema.get("format")
        if fmt == "date":
            return "a date as a string YYYY-MM-DD"
        if fmt == "date-time":
            return "a date and time as an ISO 8601 string (e.g. 2026-05-01T14:00:00Z)"
        bits = [b for b in (_length(schema), _pattern_words(schema.get("pattern"))) if b]
        return "a string" + (f" ({', '.join(bits)})" if bits else "")
    if kind == "array":
        items = schema.get("items")
        count = schema.get("maxItems")
        what = f" of {_plural(expected(items))}" if isinstance(items, Mapping) and items else ""
        limit = f", at most {count} items" if count else ""
        return f"a list (JSON array{limit}){what}"
    if kind == "object":
        return "a JSON object"
    if "anyOf" in schema:
        return " or ".join(expected(b) for b in schema["anyOf"] if isinstance(b, Mapping))
    return "a value of the documented shape"


def _plural(phrase: str) -> str:
    for one, many in (("a whole number", "whole numbers"), ("a number", "numbers"), ("a string", "strings"),
                      ("a date", "dates"), ("a list", "lists")):
        if phrase.startswith(one):
            return many + phrase[len(one):]
    return phrase


def _pattern_words(pattern: str | None) -> str | None:
    if pattern is None:
        return None
    if pattern == _SAFE_CODE:
        return "letters, digits, _ and - only"
    return f"matching {pattern}"


def given(value: Any) -> str:
    """The value sent, in words, short: never a long string (it may be guest data)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, int):
        return f"the integer {value}"
    if isinstance(value, float):
        return f"the number {value:g}"
    if isinstance(value, str):
        if len(value) <= 24 and value.isprintable():
            return f"the string {json.dumps(value)}"
        return f"a string of {len(value)} characters"
    if isinstance(value, list):
        return f"a list of {len(value)} item{'s' if len(value) != 1 else ''}"
    if isinstance(value, Mapping):
        return "a JSON object"
    return type(value).__name__


def example(schema: Mapping[str, Any], value: Any = None) -> Any:
    """A value that passes `schema`, taken from what was sent where that is obviously meant (adults="2" -> 2)."""
    _, schema = _nullable(schema)
    kind = schema.get("type")
    if schema.get("enum"):
        return schema["enum"][0]
    if kind in ("integer", "number"):
        candidate: Any = None
        if isinstance(value, str):
            try:
                candidate = int(value) if kind == "integer" else float(value)
            except ValueError:
                candidate = None
        if isinstance(value, float) and kind == "integer":
            candidate = round(value)
        lo = schema.get("minimum", schema.get("exclusiveMinimum"))
        hi = schema.get("maximum", schema.get("exclusiveMaximum"))
        if candidate is None or (lo is not None and candidate < lo) or (hi is not None and candidate > hi):
            candidate = 1 if (lo is None or lo <= 1) and (hi is None or hi >= 1) else (lo if lo is not None else hi)
            if kind == "integer" and isinstance(candidate, float):
                candidate = int(candidate) + (1 if "exclusiveMinimum" in schema else 0)
        return candidate
    if kind == "boolean":
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        return True
    if kind == "string":
        fmt = schema.get("format")
        if fmt in ("date", "date-time"):
            day = date.today()
            if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value < 10**11:
                day = datetime.fromtimestamp(value, UTC).date()
            return day.isoformat() if fmt == "date" else f"{day.isoformat()}T12:00:00Z"
        hint = _EXAMPLE.search(str(schema.get("description", "")))
        if hint:
            return hint.group(1).rstrip(".,;")
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)
        low = schema.get("minLength") or 1
        return "A" * min(max(low, 3), schema.get("maxLength") or 3)
    if kind == "array":
        raw = schema.get("items")
        items: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
        if not items.get("description") and schema.get("description"):
            items = {**items, "description": schema["description"]}
        if isinstance(value, str) and 0 < len(value) <= 24 and value.isprintable() \
                and Draft202012Validator(items, format_checker=_FORMATS).is_valid(value):
            return [value]
        if value is not None and not isinstance(value, (list, Mapping)):
            return [example(items, value)]
        return [example(items)]
    return None


def _show(name: str, value: Any) -> str:
    return f"{name}={json.dumps(value)}"


@dataclass(frozen=True)
class Refusal:
    """One refused call: the sentence for the agent, the audit reason and a value-free detail for the audit."""

    message: str
    reason: str
    detail: str

    def result(self) -> CallToolResult:
        return CallToolResult(content=[TextContent(type="text", text=self.message)], is_error=True)


class ToolInput:
    """The published input schema of one tool, compiled once."""

    def __init__(self, name: str, schema: Mapping[str, Any]) -> None:
        self.name = name
        self.schema = schema
        self.properties: dict[str, Mapping[str, Any]] = dict(schema.get("properties") or {})
        self.required: list[str] = [r for r in schema.get("required") or [] if isinstance(r, str)]
        self.validators: dict[str, tuple[bool, Draft202012Validator]] = {}
        for prop, sub in self.properties.items():
            nullable, core = _nullable(sub)
            core = {k: v for k, v in core.items() if k not in ("default", "title")}
            Draft202012Validator.check_schema(core)
            self.validators[prop] = (nullable, Draft202012Validator(core, format_checker=_FORMATS))

    def check(self, arguments: Any) -> Refusal | None:
        if arguments is None:
            arguments = {}
        if not isinstance(arguments, Mapping):
            return self._refuse("arguments", "must be a JSON object",
                                f"arguments must be a JSON object of parameter names to values, not "
                                f"{given(arguments)}; valid parameters: {self._valid()}")
        unknown = [k for k in arguments if k not in self.properties]
        if unknown:
            key = str(unknown[0])
            close = difflib.get_close_matches(key, list(self.properties), n=1, cutoff=0.6)
            hint = f" (did you mean {close[0]}?)" if close else ""
            shown = key if len(key) <= 40 and key.isprintable() else f"a {len(key)}-character name"
            more = f" (and {len(unknown) - 1} other unknown name{'s' if len(unknown) > 2 else ''})" \
                if len(unknown) > 1 else ""
            return self._refuse(
                shown, "unknown parameter",
                f"{shown} is not a parameter of {self.name}{hint}{more}; valid parameters: {self._valid()}")
        for prop in self.required:
            if prop not in arguments:
                sub = self.properties.get(prop, {})
                return self._refuse(prop, "required",
                                    f"{prop} is required ({expected(sub)}); pass e.g. {_show(prop, example(sub))}")
        for prop, value in arguments.items():
            nullable, validator = self.validators[prop]
            if value is None and nullable:
                continue
            error = _first(validator.iter_errors(value))
            if error is not None:
                return self._explain(prop, value, error)
        return None

    def _valid(self) -> str:
        return ", ".join(self.properties) or "none (call it with no arguments)"

    def _refuse(self, field: str, rule: str, sentence: str) -> Refusal:
        return Refusal(f"{self.name} refused: {sentence}", "invalid_arguments", f"{field}: {rule}")

    def _explain(self, prop: str, value: Any, error: SchemaError) -> Refusal:
        path = prop + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
        sub: Mapping[str, Any] = error.schema if isinstance(error.schema, Mapping) else self.properties[prop]
        bad = error.instance
        whole = self.properties[prop]
        fix_value = example(whole, value) if path == prop else None
        fix = f"pass e.g. {_show(prop, fix_value)}" if path == prop else f"fix {path} and call again"
        rule = str(error.validator)
        want = expected(sub)
        if prop == "hotel_id" and path == prop:
            shown = given(bad).removeprefix("the string ") if isinstance(bad, str) else given(bad)
            return self._refuse(path, rule, f"hotel_id {shown} is not a valid OPERA hotel code (at most 20 letters, "
                                            f"digits, _ and -); leave it out for the server's default hotel "
                                            f"(get_server_info names it)")
        if rule in ("type", "format", "anyOf", "oneOf", "enum", "const", "pattern"):
            if rule == "pattern" and len(str(bad)) > 24:
                sentence = f"{path} must be {want}, and the string sent does not match"
            else:
                sentence = f"{path} must be {want}, not {given(bad)}"
            if rule == "format" and isinstance(bad, str):
                sentence = f"{path} must be {want} (a real calendar date), not {given(bad)}"
        elif rule in ("maxLength", "minLength"):
            limit = sub.get(rule)
            size = len(bad) if isinstance(bad, str) else 0
            sentence = (f"{path} must be at most {limit} characters, not {size}" if rule == "maxLength"
                        else f"{path} must be at least {limit} character{'s' if limit != 1 else ''}, not {size}")
            fix = (f"shorten it to {limit} characters or fewer" if rule == "maxLength"
                   else f"pass e.g. {_show(prop, fix_value)}" if path == prop else f"fix {path}")
        elif rule in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
            sentence = f"{path} must be {want}, not {_num(bad)}"
        elif rule in ("maxItems", "minItems"):
            limit = sub.get(rule)
            count = len(bad) if isinstance(bad, list) else 0
            sentence = f"{path} must have {'at most' if rule == 'maxItems' else 'at least'} {limit} " \
                       f"item{'s' if limit != 1 else ''}, not {count}"
            if rule == "maxItems":
                fix = f"send at most {limit} and make another call for the rest"
        elif rule == "uniqueItems":
            sentence = f"{path} must not list the same value twice"
            fix = "remove the repeats"
        else:
            sentence = f"{path} must be {want} (rule {rule} failed)"
        return self._refuse(path, rule, f"{sentence}; {fix}")


def _first(errors: Iterable[SchemaError]) -> SchemaError | None:
    """The error to report: the deepest one, so a bad list item is named rather than the whole list."""
    best: SchemaError | None = None
    for error in errors:
        if best is None or len(error.absolute_path) > len(best.absolute_path):
            best = error
    return best


# --- what pydantic still refuses -------------------------------------------------------------------------------

_PYDANTIC_RULES = {
    "string_too_long": "maxLength", "string_too_short": "minLength", "string_pattern_mismatch": "pattern",
    "greater_than_equal": "minimum", "less_than_equal": "maximum", "greater_than": "exclusiveMinimum",
    "less_than": "exclusiveMaximum", "too_long": "maxItems", "too_short": "minItems", "missing": "required",
    "extra_forbidden": "unknown parameter", "literal_error": "enum",
}


def explain_pydantic(tool: ToolInput, arguments: Mapping[str, Any], exc: ValidationError) -> Refusal:
    """One sentence for the first error pydantic found, in the gate's words."""
    errors = exc.errors(include_input=False, include_url=False, include_context=True)
    first = errors[0] if errors else {"loc": (), "msg": "invalid", "type": "value_error"}
    loc = [p for p in first.get("loc", ()) if not (isinstance(p, str) and p.endswith("Arguments"))]
    prop = str(loc[0]) if loc else "arguments"
    path = prop + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc[1:])
    sub = tool.properties.get(prop, {})
    rule = _PYDANTIC_RULES.get(str(first.get("type")), str(first.get("type")))
    msg = str(first.get("msg", "invalid"))
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, "):]
    msg = msg[:1].lower() + msg[1:]
    value = arguments.get(prop) if isinstance(arguments, Mapping) else None
    want = expected(sub) if sub else "a valid value"
    fix = f"pass e.g. {_show(prop, example(sub, value))}" if sub and path == prop else f"fix {path} and call again"
    if rule == "pattern" and isinstance(value, str) and value != value.strip():
        return tool._refuse(path, rule, f"{path} must be {want} with no leading or trailing spaces or line breaks; "
                                        f"pass e.g. {_show(prop, value.strip())}")
    return tool._refuse(path, rule, f"{path} must be {want} ({msg.rstrip('.')}); {fix}")


# --- the middleware --------------------------------------------------------------------------------------------


class ArgumentGate:
    """MCP middleware, after DisabledToolGuard: refuses card numbers and schema-invalid arguments of known tools
    before anything else runs, audits and counts each refusal once (reason `card_number` or `invalid_arguments`),
    and rewrites any pydantic refusal that still comes back into one sentence."""

    def __init__(self, layer: SecurityLayer | None) -> None:
        self.layer = layer
        self.tools: dict[str, ToolInput] = {}
        self._models: dict[str, type[BaseModel]] = {}

    def load(self, mcp: MCPServer) -> None:
        """Compile every registered tool's published input schema (call after the tools are registered)."""
        for tool in mcp._tool_manager.list_tools():
            self.tools[tool.name] = ToolInput(tool.name, tool.parameters)
            self._models[tool.name] = tool.fn_metadata.arg_model

    async def __call__(self, ctx: Any, call_next: Callable[[Any], Awaitable[Any]]) -> Any:
        if ctx.method != "tools/call" or not isinstance(ctx.params, dict):
            return await call_next(ctx)
        name = ctx.params.get("name")
        arguments = ctx.params.get("arguments")
        tool = self.tools.get(name) if isinstance(name, str) else None
        cards = list(_card_fields(arguments, ""))
        if cards:
            label = name if tool is not None else "this call"
            field = cards[0] or "arguments"
            refusal = Refusal(card_refusal(str(label), field), "card_number", field)
            self._audit(tool.name if tool else "unknown", refusal, None)
            return refusal.result()
        if tool is None:
            return await call_next(ctx)
        if isinstance(arguments, dict):
            # A guest name an agent copied from an answer comes wrapped as ⟦...⟧ (app/security/untrusted.py): the
            # limits apply to the name itself, so the wrapper comes off before the schema is checked.
            arguments = unmark(arguments)
            ctx.params["arguments"] = arguments
        refusal_or_none = tool.check(arguments)
        if refusal_or_none is not None:
            self._audit(tool.name, refusal_or_none, arguments)
            return refusal_or_none.result()
        result = await call_next(ctx)
        if is_error_result(result) and isinstance(arguments, Mapping):
            rewritten = self._rewrite(tool, arguments, result)
            if rewritten is not None:
                return rewritten
        return result

    def _rewrite(self, tool: ToolInput, arguments: Mapping[str, Any], result: Any) -> CallToolResult | None:
        """A pydantic dump from the SDK's own validation, told again in one sentence."""
        content = result.get("content") if isinstance(result, dict) else getattr(result, "content", None)
        texts = [(b.get("text") if isinstance(b, dict) else getattr(b, "text", None)) for b in content or []]
        text = " ".join(t for t in texts if isinstance(t, str))
        if "validation error" not in text or not text.startswith(f"Error executing tool {tool.name}"):
            return None
        model = self._models.get(tool.name)
        if model is None:
            return None
        try:
            model.model_validate(dict(arguments))
        except ValidationError as exc:
            return explain_pydantic(tool, arguments, exc).result()
        return CallToolResult(content=[TextContent(type="text", text=f"{tool.name} refused: its arguments did not "
                                                    "pass validation; check them against the tool's schema")],
                              is_error=True)

    def _audit(self, tool: str, refusal: Refusal, arguments: Any) -> None:
        if self.layer is None:
            return
        hotel = arguments.get("hotel_id") if isinstance(arguments, Mapping) else None
        principal = self.layer.caller()
        self.layer.metrics.refused_calls.labels(refusal.reason).inc()
        self.layer.audit.record(
            event="tool_call", outcome="refused", reason=refusal.reason, detail=refusal.detail, tool=tool,
            caller=principal.audit_view() if principal else None,
            hotel_id=hotel[:40] if isinstance(hotel, str) and hotel else None,
        )
