"""The fixture tools, resources, prompts and completions the MCP conformance suite's server scenarios call
(@modelcontextprotocol/conformance, tests/e2e/test_conformance.py), registered beside the real tools through
create_app(..., extra_registrations=[register_conformance_fixtures]). Test-only: production never offers them.

Each fixture answers what its scenario's description asks for (the suite's dist/index.js), nothing more; they sit
behind the server's real middleware (authentication, Host/Origin checks, the argument gate, the tool observer).
"""

from __future__ import annotations

import asyncio
import base64
import copy
import io
import json
import struct
import wave
import zlib
from typing import Annotated, Any, Literal

from mcp.server.elicitation import ElicitationResult
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.prompts.base import Message, UserMessage
from mcp.server.mcpserver.resolve import Elicit, Resolve, Sample
from mcp.types import (
    AudioContent,
    CallToolResult,
    ClientCapabilities,
    Completion,
    CompletionArgument,
    CompletionContext,
    CreateMessageRequest,
    CreateMessageRequestParams,
    CreateMessageResult,
    ElicitRequest,
    ElicitRequestFormParams,
    ElicitResult,
    EmbeddedResource,
    EmptyResult,
    ImageContent,
    InputRequest,
    InputRequiredResult,
    ListRootsRequest,
    ListRootsResult,
    PromptReference,
    ResourceTemplateReference,
    SamplingMessage,
    SetLevelRequestParams,
    TextContent,
    TextResourceContents,
)
from pydantic import BaseModel, Field


def _png_pixel(red: int, green: int, blue: int) -> bytes:
    """A 1x1 RGB PNG, built from its chunks (signature, IHDR, IDAT, IEND)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(bytes([0, red, green, blue]))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


def _wav_silence(samples: int = 800, rate: int = 8000) -> bytes:
    """A tenth of a second of 8-bit mono silence as a WAV file."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(1)
        out.setframerate(rate)
        out.writeframes(b"\x80" * samples)
    return buffer.getvalue()


RED_PIXEL = base64.b64encode(_png_pixel(255, 0, 0)).decode("ascii")
SILENCE = base64.b64encode(_wav_silence()).decode("ascii")
#: Values test_prompt_with_arguments' arg1 can be completed to.
CITIES = ("paris", "park", "party", "prague", "porto", "tokyo", "testing", "test")


#: The input schema the json-schema-2020-12 scenario expects to come back unchanged from tools/list: a 2020-12
#: dialect, $defs with an $anchor, composition (allOf/anyOf) and conditional (if/then/else) keywords.
SCHEMA_2020_12: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "$defs": {"address": {"$anchor": "addressDef", "type": "object",
                          "properties": {"street": {"type": "string"}, "city": {"type": "string"}}}},
    "properties": {
        "name": {"type": "string"},
        "address": {"$ref": "#/$defs/address"},
        "contactMethod": {"type": "string", "enum": ["phone", "email"]},
        "phone": {"type": "string"},
        "email": {"type": "string"},
    },
    "allOf": [{"anyOf": [{"required": ["phone"]}, {"required": ["email"]}]}],
    "if": {"properties": {"contactMethod": {"const": "phone"}}, "required": ["contactMethod"]},
    "then": {"required": ["phone"]},
    "else": {"required": ["email"]},
    "additionalProperties": False,
}


def _text(text: str) -> CallToolResult:
    return CallToolResult(content=[TextContent(type="text", text=text)])


class Contact(BaseModel):
    username: str = Field(description="User's response")
    email: str = Field(description="User's email address")


class Defaults(BaseModel):
    name: str = "John Doe"
    age: int = 30
    score: float = 95.5
    status: Literal["active", "inactive", "pending"] = "active"
    verified: bool = True


class Choices(BaseModel):
    single: Literal["option1", "option2", "option3"] = Field(description="Untitled single-select")
    several: list[Literal["option1", "option2", "option3"]] = Field(description="Untitled multi-select")


# --- handshake-era server-to-client requests (Resolve markers, as the SDK recommends) ---------------------------

def ask_contact(message: str) -> Elicit[Contact]:
    return Elicit(message, Contact)


def ask_defaults() -> Elicit[Defaults]:
    return Elicit("Please review these defaults", Defaults)


def ask_choices() -> Elicit[Choices]:
    return Elicit("Pick options", Choices)


def ask_model(prompt: str) -> Sample:
    return Sample([SamplingMessage(role="user", content=TextContent(type="text", text=prompt))], max_tokens=100)


def ask_model_nothing() -> Sample:
    return Sample([SamplingMessage(role="user", content=TextContent(type="text", text="Say hello"))], max_tokens=10)


# --- 2026-07-28 InputRequiredResult rounds, hand-rolled so the request keys are the ones the scenarios expect -----

def _elicit(message: str, field: str, kind: str = "string") -> InputRequest:
    schema = {"type": "object", "properties": {field: {"type": kind}}, "required": [field]}
    return ElicitRequest(params=ElicitRequestFormParams(message=message, requested_schema=schema))


def _sample(text: str, max_tokens: int) -> InputRequest:
    return CreateMessageRequest(params=CreateMessageRequestParams(
        messages=[SamplingMessage(role="user", content=TextContent(type="text", text=text))], max_tokens=max_tokens))


def _answers(ctx: Context[Any, Any]) -> dict[str, Any]:
    return dict(ctx.input_responses or {})


def _elicited(answer: Any, field: str) -> str | None:
    if isinstance(answer, ElicitResult) and answer.action == "accept" and isinstance(answer.content, dict):
        value = answer.content.get(field)
        return None if value is None else str(value)
    return None


def _sampled(answer: Any) -> str | None:
    if isinstance(answer, CreateMessageResult) and isinstance(answer.content, TextContent):
        return answer.content.text
    return None


def _declared(capabilities: ClientCapabilities | None) -> dict[str, bool]:
    return {
        "elicitation": capabilities is not None and capabilities.elicitation is not None,
        "sampling": capabilities is not None and capabilities.sampling is not None,
        "roots": capabilities is not None and capabilities.roots is not None,
    }


def register_conformance_fixtures(mcp: MCPServer) -> None:
    """Register every fixture the suite's server scenarios call."""

    # --- tools: content types ---------------------------------------------------------------------------------
    @mcp.tool(description="Conformance fixture: one text block.")
    def test_simple_text() -> CallToolResult:
        return _text("This is a simple text response for testing.")

    @mcp.tool(description="Conformance fixture: one PNG image block.")
    def test_image_content() -> CallToolResult:
        return CallToolResult(content=[ImageContent(type="image", data=RED_PIXEL, mime_type="image/png")])

    @mcp.tool(description="Conformance fixture: one WAV audio block.")
    def test_audio_content() -> CallToolResult:
        return CallToolResult(content=[AudioContent(type="audio", data=SILENCE, mime_type="audio/wav")])

    @mcp.tool(description="Conformance fixture: one embedded text resource.")
    def test_embedded_resource() -> CallToolResult:
        return CallToolResult(content=[EmbeddedResource(type="resource", resource=TextResourceContents(
            uri="test://embedded-resource", mime_type="text/plain", text="This is an embedded resource content."))])

    @mcp.tool(description="Conformance fixture: text, image and embedded resource blocks.")
    def test_multiple_content_types() -> CallToolResult:
        return CallToolResult(content=[
            TextContent(type="text", text="Multiple content types test:"),
            ImageContent(type="image", data=RED_PIXEL, mime_type="image/png"),
            EmbeddedResource(type="resource", resource=TextResourceContents(
                uri="test://mixed-content-resource", mime_type="application/json",
                text=json.dumps({"test": "data", "value": 123}))),
        ])

    @mcp.tool(description="Conformance fixture: always fails as a tool error.")
    def test_error_handling() -> CallToolResult:
        raise ToolError("This tool intentionally returns an error for testing")

    def json_schema_2020_12_tool(name: str | None = None, address: dict[str, str] | None = None,
                                 contactMethod: str | None = None, phone: str | None = None,
                                 email: str | None = None) -> CallToolResult:
        return _text(f"contact {name}: {contactMethod} {phone or email}")

    # The published schema is the hand-written 2020-12 one (the signature only carries the call); the argument
    # gate compiles it like any other tool's.
    mcp._tool_manager.add_tool(json_schema_2020_12_tool, description="Conformance fixture: a JSON Schema 2020-12 "
                               "input schema with $defs, $anchor, allOf/anyOf and if/then/else.").parameters = (
        copy.deepcopy(SCHEMA_2020_12))

    def test_custom_headers(region: str) -> CallToolResult:
        return _text(f"region: {region}")

    # `region` is mirrored in an Mcp-Param-Region header (SEP-2243), which the SDK checks against the body.
    mcp._tool_manager.add_tool(test_custom_headers, description="Conformance fixture: an argument mirrored in a "
                               "custom header.").parameters = {
        "type": "object", "properties": {"region": {"type": "string", "x-mcp-header": "Region"}},
        "required": ["region"], "additionalProperties": False}

    # --- tools: notifications during a call -------------------------------------------------------------------
    @mcp.tool(description="Conformance fixture: three log notifications while it runs.")
    async def test_tool_with_logging(ctx: Context) -> CallToolResult:
        for step, message in enumerate(("Tool execution started", "Tool processing data",
                                        "Tool execution completed")):
            if step:
                await asyncio.sleep(0.05)
            await ctx.log("info", message)
        return _text("Tool with logging executed successfully")

    @mcp.tool(description="Conformance fixture: progress 0, 50 and 100 of 100 while it runs.")
    async def test_tool_with_progress(ctx: Context) -> CallToolResult:
        for step, value in enumerate((0, 50, 100)):
            if step:
                await asyncio.sleep(0.05)
            await ctx.report_progress(value, total=100)
        return _text("Tool with progress executed successfully")

    # --- tools: server-to-client requests (handshake era) ------------------------------------------------------
    @mcp.tool(description="Conformance fixture: asks the client's model to answer the prompt (sampling).")
    def test_sampling(prompt: str, answer: Annotated[CreateMessageResult, Resolve(ask_model)]) -> CallToolResult:
        return _text(f"LLM response: {_sampled(answer)}")

    @mcp.tool(description="Conformance fixture: asks the user for a username and an e-mail address (elicitation).")
    def test_elicitation(message: str,
                         reply: Annotated[ElicitationResult[Contact], Resolve(ask_contact)]) -> CallToolResult:
        return _text(f"User response: action={reply.action}, content={getattr(reply, 'data', None)}")

    @mcp.tool(description="Conformance fixture: elicitation whose fields carry defaults (SEP-1034).")
    def test_elicitation_sep1034_defaults(
            reply: Annotated[ElicitationResult[Defaults], Resolve(ask_defaults)]) -> CallToolResult:
        return _text(f"Elicitation completed: action={reply.action}, content={getattr(reply, 'data', None)}")

    @mcp.tool(description="Conformance fixture: elicitation with single and multi-select enums (SEP-1330).")
    def test_elicitation_sep1330_enums(
            reply: Annotated[ElicitationResult[Choices], Resolve(ask_choices)]) -> CallToolResult:
        return _text(f"Elicitation completed: action={reply.action}, content={getattr(reply, 'data', None)}")

    @mcp.tool(description="Conformance fixture: needs the client's sampling capability (-32021 without it).")
    def test_missing_capability(
            answer: Annotated[CreateMessageResult, Resolve(ask_model_nothing)]) -> CallToolResult:
        return _text(f"sampled: {_sampled(answer)}")

    # --- tools: 2026-07-28 InputRequiredResult rounds ----------------------------------------------------------
    @mcp.tool(description="Conformance fixture: asks for the user's name (InputRequiredResult).")
    def test_input_required_result_elicitation(ctx: Context) -> CallToolResult | InputRequiredResult:
        name = _elicited(_answers(ctx).get("user_name"), "name")
        if name is None:
            return InputRequiredResult(input_requests={"user_name": _elicit("What is your name?", "name")})
        return _text(f"Hello, {name}!")

    @mcp.tool(description="Conformance fixture: asks the client's model a question (InputRequiredResult).")
    def test_input_required_result_sampling(ctx: Context) -> CallToolResult | InputRequiredResult:
        answer = _sampled(_answers(ctx).get("capital_question"))
        if answer is None:
            return InputRequiredResult(input_requests={
                "capital_question": _sample("What is the capital of France?", 100)})
        return _text(f"The model answered: {answer}")

    @mcp.tool(description="Conformance fixture: asks for the client's roots (InputRequiredResult).")
    def test_input_required_result_list_roots(ctx: Context) -> CallToolResult | InputRequiredResult:
        roots = _answers(ctx).get("client_roots")
        if not isinstance(roots, ListRootsResult):
            return InputRequiredResult(input_requests={"client_roots": ListRootsRequest()})
        return _text("Client roots: " + ", ".join(str(root.uri) for root in roots.roots))

    @mcp.tool(description="Conformance fixture: round-trips its requestState (InputRequiredResult).")
    def test_input_required_result_request_state(ctx: Context) -> CallToolResult | InputRequiredResult:
        answer = _answers(ctx).get("confirm")
        if not isinstance(answer, ElicitResult) or ctx.request_state != "awaiting-confirmation":
            return InputRequiredResult(input_requests={"confirm": _elicit("Please confirm", "ok", "boolean")},
                                       request_state="awaiting-confirmation")
        return _text(f"state-ok: confirmation {answer.action}")

    @mcp.tool(description="Conformance fixture: asks for three inputs at once (InputRequiredResult).")
    def test_input_required_result_multiple_inputs(ctx: Context) -> CallToolResult | InputRequiredResult:
        answers = _answers(ctx)
        wanted: dict[str, InputRequest] = {
            "user_name": _elicit("What is your name?", "name"),
            "greeting": _sample("Generate a greeting", 50),
            "client_roots": ListRootsRequest(),
        }
        missing = {key: request for key, request in wanted.items() if key not in answers}
        if missing:
            return InputRequiredResult(input_requests=missing, request_state="awaiting-three-inputs")
        return _text(f"Got all inputs: name={_elicited(answers['user_name'], 'name')}, "
                     f"greeting={_sampled(answers['greeting'])}")

    @mcp.tool(description="Conformance fixture: two rounds of questions, state evolving (InputRequiredResult).")
    def test_input_required_result_multi_round(ctx: Context) -> CallToolResult | InputRequiredResult:
        answers = _answers(ctx)
        second = InputRequiredResult(input_requests={"step2": _elicit("Step 2: What is your favorite color?", "color")},
                                     request_state="round-2")
        if ctx.request_state == "round-2":
            color = _elicited(answers.get("step2"), "color")
            return second if color is None else _text(f"Done: favourite color {color}")
        if ctx.request_state == "round-1" and _elicited(answers.get("step1"), "name") is not None:
            return second
        return InputRequiredResult(input_requests={"step1": _elicit("Step 1: What is your name?", "name")},
                                   request_state="round-1")

    @mcp.tool(description="Conformance fixture: its requestState is sealed; a tampered one is refused.")
    def test_input_required_result_tampered_state(ctx: Context) -> CallToolResult | InputRequiredResult:
        if ctx.request_state == "sealed-by-the-sdk" and "confirm" in _answers(ctx):
            return _text("state intact")
        return InputRequiredResult(input_requests={"confirm": _elicit("Please confirm", "ok", "boolean")},
                                   request_state="sealed-by-the-sdk")

    @mcp.tool(description="Conformance fixture: asks only for what the client declared it can answer.")
    def test_input_required_result_capabilities(ctx: Context) -> CallToolResult | InputRequiredResult:
        declared = _declared(ctx.client_capabilities)
        answers = _answers(ctx)
        offered: dict[str, InputRequest] = {}
        if declared["elicitation"]:
            offered["user_name"] = _elicit("What is your name?", "name")
        if declared["sampling"]:
            offered["greeting"] = _sample("Generate a greeting", 50)
        if declared["roots"]:
            offered["client_roots"] = ListRootsRequest()
        missing = {key: request for key, request in offered.items() if key not in answers}
        if missing:
            return InputRequiredResult(input_requests=missing)
        return _text("Capabilities respected: asked for " + (", ".join(offered) or "nothing"))

    # --- resources --------------------------------------------------------------------------------------------
    @mcp.resource("test://static-text", name="static_text", mime_type="text/plain",
                  description="Conformance fixture: a static text resource.")
    def static_text() -> str:
        return "This is the content of the static text resource."

    @mcp.resource("test://static-binary", name="static_binary", mime_type="image/png",
                  description="Conformance fixture: a static binary resource (PNG).")
    def static_binary() -> bytes:
        return base64.b64decode(RED_PIXEL)

    @mcp.resource("test://template/{id}/data", name="template_data", mime_type="application/json",
                  description="Conformance fixture: a resource template with one variable.")
    def template_data(id: str) -> str:
        return json.dumps({"id": id, "templateTest": True, "data": f"Data for ID: {id}"})

    # --- prompts ----------------------------------------------------------------------------------------------
    @mcp.prompt(description="Conformance fixture: a prompt without arguments.")
    def test_simple_prompt() -> str:
        return "This is a simple prompt for testing."

    @mcp.prompt(description="Conformance fixture: a prompt with two arguments.")
    def test_prompt_with_arguments(arg1: str, arg2: str) -> str:
        return f"Prompt with arguments: arg1='{arg1}', arg2='{arg2}'"

    @mcp.prompt(description="Conformance fixture: a prompt that embeds a resource.")
    def test_prompt_with_embedded_resource(resourceUri: str) -> list[Message]:
        return [
            UserMessage(content=EmbeddedResource(type="resource", resource=TextResourceContents(
                uri=resourceUri, mime_type="text/plain", text="Embedded resource content for testing."))),
            UserMessage(content=TextContent(type="text", text="Please process the embedded resource above.")),
        ]

    @mcp.prompt(description="Conformance fixture: a prompt with an image.")
    def test_prompt_with_image() -> list[Message]:
        return [
            UserMessage(content=ImageContent(type="image", data=RED_PIXEL, mime_type="image/png")),
            UserMessage(content=TextContent(type="text", text="Please analyze the image above.")),
        ]

    @mcp.prompt(description="Conformance fixture: a prompt that first asks for context (InputRequiredResult).")
    def test_input_required_result_prompt(ctx: Context) -> list[Message] | InputRequiredResult:
        context = _elicited(_answers(ctx).get("user_context"), "context")
        if context is None:
            return InputRequiredResult(input_requests={
                "user_context": _elicit("What context should the prompt use?", "context")})
        return [UserMessage(content=TextContent(type="text", text=f"Use this context: {context}"))]

    # --- completion and logging -------------------------------------------------------------------------------
    @mcp.completion()  # type: ignore[no-untyped-call, untyped-decorator]
    async def complete(ref: PromptReference | ResourceTemplateReference, argument: CompletionArgument,
                       context: CompletionContext | None) -> Completion:
        if isinstance(ref, PromptReference) and ref.name == "test_prompt_with_arguments":
            values = [city for city in CITIES if city.startswith(argument.value)]
            return Completion(values=values, total=len(values), has_more=False)
        return Completion(values=[], total=0, has_more=False)

    async def set_level(ctx: Any, params: SetLevelRequestParams) -> EmptyResult:
        # Accepted and not kept: every handshake-era POST to this stateless server is a session of its own, so a
        # level could not outlive this request; the fixtures log only at info.
        return EmptyResult()

    mcp._lowlevel_server.add_request_handler("logging/setLevel", SetLevelRequestParams, set_level)
