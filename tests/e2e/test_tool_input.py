"""Strict tool input over real HTTP, in both protocol eras: what the SDK used to coerce and execute (adults=true,
adults="2", a Unix time as a date, amount="12.5", window="1", a misspelt room_type) is refused in one sentence
that names the field, the rule and the fix, and nothing reaches OPERA; 1,000 generated schema-invalid argument
sets per write tool execute nothing and always get such a sentence."""

from __future__ import annotations

import asyncio
import re
import string
import time
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator, FormatChecker
from mcp.shared.exceptions import MCPError

from tests.support.apps import embedded_settings, running_app
from tests.support.mcp_client import Mode, call_ok, mcp_client, text_of
from tests.support.sandbox_state import bookings_of, stay
from tests.support.servers import ServerThread

ERAS: list[Mode] = ["auto", "legacy"]
PER_TOOL = 1000
#: Calls in flight at once over one client session (the server answers each on its own).
CONCURRENCY = 8


def ohip_calls(sandbox: Any) -> list[Any]:
    """What our server asked OHIP for business (tokens and the business-event poll left out)."""
    return [e for e in sandbox.requests
            if "/oauth/" not in e.path and "usinessEvent" not in f"{e.operation_id} {e.path}"]


def state_of(server: ServerThread) -> str:
    sandbox = server.app.state.sandbox
    hotels = sandbox.enterprise.hotels
    return repr([(h.reservations, h.rooms) for h in hotels.values()]) + repr(sandbox.enterprise.profiles)


def assert_one_sentence(tool: str, text: str) -> None:
    assert text.startswith(f"{tool} refused: "), text
    assert "\n" not in text, text
    for dump in ("validation error", "pydantic", "Arguments", "input_value", "Input should"):
        assert dump not in text, text
    assert not re.search(r"[a-z0-9)\"]\.\s+[A-Z]", text.replace("e.g.", "eg")), f"more than one sentence: {text}"


async def refused(server: ServerThread, mode: Mode, tool: str, args: dict[str, Any]) -> str:
    before_calls, before_state = len(ohip_calls(server.app.state.sandbox)), state_of(server)
    async with mcp_client(server.url, mode=mode) as client:
        result = await client.call_tool(tool, args)
    text = text_of(result)
    assert result.is_error, f"{tool} executed {args}: {result.structured_content}"
    assert_one_sentence(tool, text)
    assert len(ohip_calls(server.app.state.sandbox)) == before_calls, "OHIP was called"
    assert state_of(server) == before_state
    return text


# --- each coercion bullet of issue 10 ----------------------------------------------------------------------------

@pytest.mark.parametrize("mode", ERAS)
async def test_adults_true_is_refused_not_booked_as_one_adult(server: ServerThread, mode: Mode) -> None:
    surname = f"Booltrue{mode}"
    text = await refused(server, mode, "create_reservation", stay(surname, adults=True))
    assert "adults must be a whole number (JSON integer, 1-20), not true" in text
    assert "pass e.g. adults=" in text
    assert bookings_of(server.app.state.sandbox, surname) == []


@pytest.mark.parametrize("mode", ERAS)
async def test_adults_as_a_string_is_refused_with_the_number_to_send(server: ServerThread, mode: Mode) -> None:
    surname = f"Strtwo{mode}"
    text = await refused(server, mode, "create_reservation", stay(surname, adults="2"))
    assert 'adults must be a whole number (JSON integer, 1-20), not the string "2"; pass e.g. adults=2' in text
    assert bookings_of(server.app.state.sandbox, surname) == []


@pytest.mark.parametrize("mode", ERAS)
async def test_a_unix_time_as_arrival_is_refused_with_the_date_it_means(server: ServerThread, mode: Mode) -> None:
    surname = f"Unixtime{mode}"
    text = await refused(server, mode, "create_reservation", stay(surname, arrival=1_780_272_000))  # 2026-06-01
    assert "arrival must be a date as a string YYYY-MM-DD, not the integer 1780272000" in text
    assert 'pass e.g. arrival="2026-06-01"' in text
    assert bookings_of(server.app.state.sandbox, surname) == []


@pytest.mark.parametrize("mode", ERAS)
async def test_an_impossible_date_is_refused(server: ServerThread, mode: Mode) -> None:
    text = await refused(server, mode, "create_reservation", stay(f"Feb{mode}", arrival="2026-02-30"))
    assert 'arrival must be a date as a string YYYY-MM-DD (a real calendar date), not the string "2026-02-30"' in text


@pytest.mark.parametrize("mode", ERAS)
async def test_amount_as_a_string_is_refused_and_nothing_is_charged(server: ServerThread, mode: Mode) -> None:
    text = await refused(server, mode, "post_charge",
                         {"reservation_id": "1001", "transaction_code": "2000", "amount": "12.5"})
    assert 'amount must be a number (JSON number, more than 0 and at most 100,000), not the string "12.5"' in text
    assert "pass e.g. amount=12.5" in text


@pytest.mark.parametrize("mode", ERAS)
async def test_window_as_a_string_is_refused(server: ServerThread, mode: Mode) -> None:
    text = await refused(server, mode, "post_charge",
                         {"reservation_id": "1001", "transaction_code": "2000", "amount": 12.5, "window": "1"})
    assert 'window must be a whole number (JSON integer, 1-8), not the string "1"; pass e.g. window=1' in text


@pytest.mark.parametrize("mode", ERAS)
async def test_a_misspelt_parameter_is_refused_with_the_closest_name(server: ServerThread, mode: Mode) -> None:
    text = await refused(server, mode, "check_availability",
                         {"arrival": "2026-06-01", "departure": "2026-06-03", "room_type": "KNG"})
    assert "room_type is not a parameter of check_availability (did you mean room_types?)" in text
    assert "valid parameters: arrival, departure" in text and "room_types" in text


@pytest.mark.parametrize("mode", ERAS)
async def test_a_string_where_a_list_is_wanted_gets_the_list_to_send(server: ServerThread, mode: Mode) -> None:
    text = await refused(server, mode, "check_availability",
                         {"arrival": "2026-06-01", "departure": "2026-06-03", "room_types": "KNG"})
    assert 'room_types must be a list (JSON array' in text and 'not the string "KNG"' in text
    assert 'pass e.g. room_types=["KNG"]' in text


@pytest.mark.parametrize("mode", ERAS)
async def test_limits_enforced_in_code_are_in_the_schema(server: ServerThread, mode: Mode) -> None:
    async with mcp_client(server.url, mode=mode) as client:
        tools = {t.name: t.input_schema["properties"] for t in (await client.list_tools()).tools}

    def string_branch(prop: dict[str, Any]) -> dict[str, Any]:
        return next((b for b in prop.get("anyOf", [prop]) if b.get("type") == "string"), prop)

    assert string_branch(tools["post_charge"]["remark"])["maxLength"] == 200
    assert string_branch(tools["post_charge"]["reference"])["maxLength"] == 100
    assert string_branch(tools["post_payment"]["reference"])["maxLength"] == 100
    assert string_branch(tools["post_payment"]["card_last_four"])["pattern"] == "^[0-9]{4}$"
    assert string_branch(tools["post_payment"]["payment_method"])["maxLength"] == 20
    reason = string_branch(tools["correct_charge"]["reason"])
    assert (reason["minLength"], reason["maxLength"]) == (3, 200)
    text = await refused(server, mode, "post_charge", {"reservation_id": "1001", "transaction_code": "2000",
                                                        "amount": 5, "remark": "r" * 201})
    assert "remark must be at most 200 characters, not 201; shorten it to 200 characters or fewer" in text


@pytest.mark.parametrize("mode", ERAS)
async def test_a_malformed_hotel_id_is_refused_by_its_published_pattern(server: ServerThread, mode: Mode) -> None:
    async with mcp_client(server.url, mode=mode) as client:
        tools = (await client.list_tools()).tools
    patterns = {next(b for b in t.input_schema["properties"]["hotel_id"]["anyOf"] if b["type"] == "string")
                .get("pattern") for t in tools if "hotel_id" in t.input_schema["properties"]}
    assert patterns == {"^[A-Za-z0-9_-]*$"}
    text = await refused(server, mode, "list_in_house", {"hotel_id": "../oauth"})
    assert 'hotel_id "../oauth" is not a valid OPERA hotel code' in text
    assert "leave it out for the server's default hotel" in text


@pytest.mark.parametrize("mode", ERAS)
async def test_what_pydantic_still_refuses_comes_out_in_one_sentence(server: ServerThread, mode: Mode) -> None:
    # A trailing line break passes the schema's pattern as Python reads "$" but not pydantic's (Rust) regex.
    text = await refused(server, mode, "create_reservation", stay(f"Newline{mode}", room_type="KNG\n"))
    assert "room_type must be a string" in text
    assert "no leading or trailing spaces or line breaks" in text
    assert 'pass e.g. room_type="KNG"' in text


@pytest.mark.parametrize("mode", ERAS)
async def test_a_valid_call_still_books(server: ServerThread, mode: Mode) -> None:
    surname = f"Valid{mode}"
    async with mcp_client(server.url, mode=mode) as client:
        made = await call_ok(client, "create_reservation", stay(surname, adults=2))
    assert made["reservation_id"]
    assert [r.adults for r in bookings_of(server.app.state.sandbox, surname)] == [2]


async def test_refusals_are_audited_and_counted_once(server: ServerThread) -> None:
    metrics = server.app.state.metrics.registry

    def refused_count() -> float:
        return float(metrics.get_sample_value("opera_mcp_refused_calls_total", {"reason": "invalid_arguments"}) or 0)

    before = refused_count()
    async with mcp_client(server.url) as client:
        result = await client.call_tool("post_charge", {"reservation_id": "1001", "transaction_code": "2000",
                                                        "amount": "12.5"})
    assert result.is_error
    assert refused_count() == before + 1


# --- 1,000 generated schema-invalid argument sets per write tool --------------------------------------------------

_FORMATS = FormatChecker()
_JUNK = st.text(alphabet=string.ascii_letters + " !?/.<>{}'\"\\\t\n", min_size=1, max_size=12)
_OTHER_TYPES: list[Any] = [True, False, 0, -1, 7, 2.5, "x", "12", "", [], ["x"], {}, {"a": 1}, None, 1_780_272_000]


def _core(prop: dict[str, Any]) -> tuple[bool, dict[str, Any]]:
    branches = prop.get("anyOf")
    if branches:
        rest = [b for b in branches if b.get("type") != "null"]
        return len(rest) < len(branches), {**{k: v for k, v in prop.items() if k != "anyOf"}, **rest[0]}
    return False, prop


def _valid_value(prop: dict[str, Any]) -> Any:
    _, core = _core(prop)
    if "enum" in core:
        return core["enum"][0]
    kind = core.get("type")
    if kind == "integer":
        return max(int(core.get("minimum", 1)), 1) if core.get("maximum", 99) >= 1 else core.get("minimum", 0)
    if kind == "number":
        return 10.0
    if kind == "boolean":
        return False
    if kind == "array":
        return [_valid_value(core.get("items", {"type": "string"}))]
    if core.get("format") == "date":
        return "2026-06-01"
    pattern = core.get("pattern", "")
    low = core.get("minLength", 1)
    if pattern == "^[0-9]{4}$":
        return "1234"
    if pattern == "^[A-Z]{3}$":
        return "EUR"
    if pattern.startswith("^([01][0-9]|2[0-3]):"):
        return "06:30"  # a clock time, HH:MM
    if pattern.startswith("^[^@"):
        return "a@example.com"
    if "0-9 ()" in pattern:
        return "+44 20 7946"
    return "A" * max(low, 3) if not pattern.startswith("^[A-Z") else "ABC"


def base_call(schema: dict[str, Any]) -> dict[str, Any]:
    props = schema["properties"]
    return {name: _valid_value(props[name]) for name in schema.get("required", [])}


def breakers(schema: dict[str, Any]) -> st.SearchStrategy[tuple[str, dict[str, Any]]]:
    """(the field broken, a call with one thing broken) for one tool's published schema."""
    props: dict[str, dict[str, Any]] = schema["properties"]
    base = base_call(schema)

    def with_value(name: str, value: Any) -> tuple[str, dict[str, Any]]:
        return name, {**base, name: value}

    def broken(name: str) -> st.SearchStrategy[tuple[str, dict[str, Any]]]:
        _, core = _core(props[name])
        options: list[st.SearchStrategy[Any]] = [st.sampled_from(_OTHER_TYPES)]
        if core.get("type") in ("integer", "number"):
            hi, lo = core.get("maximum"), core.get("minimum", core.get("exclusiveMinimum"))
            if hi is not None:
                options.append(st.integers(min_value=int(hi) + 1, max_value=int(hi) + 10**6))
            if lo is not None:
                options.append(st.integers(min_value=int(lo) - 10**6, max_value=int(lo) - 1))
                options.append(st.floats(min_value=lo - 1000, max_value=lo, exclude_max="exclusiveMinimum" not in core,
                                         allow_nan=False))
            if core.get("type") == "integer":
                options.append(st.floats(min_value=0.1, max_value=99.9).filter(lambda f: not f.is_integer()))
            options.append(st.text(alphabet="0123456789.", min_size=1, max_size=4))  # numbers as strings
        if core.get("type") == "string":
            if core.get("maxLength"):
                options.append(st.integers(1, 50).map(lambda n, m=core["maxLength"]: "a" * (m + n)))
            if core.get("minLength", 0) > 1:
                options.append(st.just("a" * (core["minLength"] - 1)))
            if core.get("pattern") or core.get("enum"):
                options.append(_JUNK)
            if core.get("format") == "date":
                options.append(st.sampled_from(["2026-13-01", "2026-02-30", "01/05/2026", "tomorrow", "2026-5-1",
                                                "2026-06-01T10:00:00"]))
                options.append(st.integers(min_value=0, max_value=2_000_000_000))
        if core.get("type") == "array":
            items = core.get("items", {})
            if core.get("maxItems"):
                options.append(st.just([_valid_value(items)] * (core["maxItems"] + 1)))
            options.append(st.sampled_from(_OTHER_TYPES).map(lambda v: [v]))
        return st.one_of(options).map(lambda v: with_value(name, v))

    unknown = st.text(alphabet=string.ascii_lowercase + "_", min_size=1, max_size=14).filter(
        lambda k: k not in props).map(lambda k: (k, {**base, k: 1}))
    choices = [st.sampled_from(sorted(props)).flatmap(broken), unknown]
    if base:
        choices.append(st.sampled_from(sorted(base)).map(lambda k: (k, {n: v for n, v in base.items() if n != k})))
    return st.one_of(choices)


def generate(schema: dict[str, Any], count: int) -> list[tuple[str, dict[str, Any]]]:
    """`count` schema-invalid calls (checked invalid with jsonschema, additional properties refused)."""
    strict = Draft202012Validator({**schema, "additionalProperties": False}, format_checker=_FORMATS)
    assert strict.is_valid(base_call(schema)), f"the base call must be valid: {base_call(schema)}"
    out: list[tuple[str, dict[str, Any]]] = []

    @settings(max_examples=count, derandomize=True, database=None, phases=[Phase.generate], deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(breakers(schema))
    def collect(case: tuple[str, dict[str, Any]]) -> None:
        if not strict.is_valid(case[1]):
            out.append(case)

    collect()
    while len(out) < count:  # top up with copies: the count is what is sent, not what is distinct
        out.append(out[len(out) % max(len(out), 1)])
    return out[:count]


@pytest.fixture(scope="module")
def flood_server() -> Iterator[ServerThread]:
    """A server of its own, with the per-caller inbound limit out of the way of 14,000 calls."""
    settings, port = embedded_settings(sandbox_business_date="2026-05-01", inbound_requests_per_minute=10_000_000,
                                       log_level="WARNING")
    with running_app(settings, port) as srv:
        yield srv


# The strategies use no `random`; the server thread running beside the generation does (retry jitter), and Hypothesis
# notices the global random state move and warns as if a strategy had used it.
@pytest.mark.filterwarnings("ignore:Do not use the `random` module inside strategies")
async def test_a_thousand_generated_invalid_calls_per_write_tool_execute_nothing(flood_server: ServerThread) -> None:
    server = flood_server
    async with mcp_client(server.url) as client:
        write_schemas = {t.name: t.input_schema for t in (await client.list_tools()).tools
                         if t.annotations is not None and t.annotations.read_only_hint is False}
    assert len(write_schemas) >= 12, sorted(write_schemas)
    sandbox = server.app.state.sandbox
    metrics = server.app.state.metrics.registry
    started = time.perf_counter()
    cases = {name: generate(schema, PER_TOOL) for name, schema in sorted(write_schemas.items())}
    generated_s = time.perf_counter() - started
    before_calls, before_state = len(ohip_calls(sandbox)), state_of(server)
    server_errors_before = sum(float(s.value) for m in metrics.collect() for s in m.samples
                               if "http_requests" in s.name and s.labels.get("status", "").startswith("5"))
    protocol_errors: list[str] = []
    executed: list[str] = []
    bad_text: list[str] = []
    sent = 0
    gate = asyncio.Semaphore(CONCURRENCY)

    async def send(client: Any, name: str, field: str, args: dict[str, Any]) -> None:
        async with gate:
            try:
                result = await client.call_tool(name, args)
            except MCPError as exc:
                protocol_errors.append(f"{name} {field}: {exc}")
                return
        text = text_of(result)
        if not result.is_error:
            executed.append(f"{name} {args}")
            return
        try:
            assert_one_sentence(name, text)
            assert field in text or "is not a parameter" in text or "card number" in text
        except AssertionError as exc:
            bad_text.append(f"{name} {field}: {exc}")

    for era in ERAS:
        async with mcp_client(server.url, mode=era) as client:
            # Half of each tool's calls in each era: 1,000 per tool in all.
            batch = [(name, field, args) for name, calls in cases.items()
                     for field, args in calls[(0 if era == "auto" else 1)::2]]
            sent += len(batch)
            await asyncio.gather(*(send(client, *call) for call in batch))
    elapsed = time.perf_counter() - started
    server_errors = sum(float(s.value) for m in metrics.collect() for s in m.samples
                        if "http_requests" in s.name and s.labels.get("status", "").startswith("5"))
    print(f"\n{sent} invalid calls over {len(cases)} write tools: generated in {generated_s:.1f} s, "
          f"{elapsed:.1f} s in all")
    assert sent == PER_TOOL * len(cases)
    assert executed == []
    assert protocol_errors == []
    assert bad_text[:5] == []
    assert server_errors == server_errors_before
    assert len(ohip_calls(sandbox)) == before_calls, "an invalid call reached OHIP"
    assert state_of(server) == before_state
