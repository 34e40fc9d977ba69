"""MCP resources about a hotel's set-up: room types, rate plans, transaction codes, payment methods and booking codes.

Read through the reference cache, so an agent may read them as often as it likes. (Health resources live beside
the app factory.)
"""

import asyncio
import json
import re
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError, ToolError
from mcp.shared.exceptions import MCPError
from pydantic import BaseModel, Field

from app.opera.availability import RatePlansAPI
from app.opera.cashiering import CashieringAPI
from app.opera.errors import OperaError, OperaForbiddenError
from app.opera.lov import ListsOfValuesAPI
from app.tools.registry import ToolServices

CONFIGURATION_URI = "opera://hotels/{hotel_id}/configuration"


class HotelConfiguration(BaseModel):
    hotel_id: str
    room_types: list[dict[str, Any]] = Field(description="code, name, description")
    rate_plans: list[dict[str, Any]] = Field(description="rate plan code, description, room types it sells")
    transaction_codes: list[dict[str, Any]] = Field(description="codes for post_charge")
    payment_methods: list[dict[str, Any]] = Field(description="codes for post_payment, check_out, bookings")
    guarantee_codes: list[dict[str, Any]] = Field(description="guarantee codes for create_reservation")
    market_codes: list[dict[str, Any]] = Field(description="market codes for create_reservation")
    source_codes: list[dict[str, Any]] = Field(description="source codes for create_reservation")
    unavailable: dict[str, str] = Field(
        default_factory=dict, description="sections OHIP could not provide now, with the reason"
    )


def _no_hint(hotel_id: str) -> str:
    return ""


async def hotel_configuration(services: ToolServices, hotel_id: str,
                              hotel_hint: Callable[[str], str] = _no_hint) -> HotelConfiguration:
    """Read the sections concurrently; a section that fails is reported, not fatal. When OHIP refuses every
    section for the hotel (403: unknown to OPERA or not granted), the hotel is the caller's mistake: -32602 with
    the hotels it may use (`hotel_hint`)."""
    lov = ListsOfValuesAPI(services.http)
    sections: dict[str, Awaitable[Sequence[BaseModel]]] = {
        "room_types": lov.room_types(hotel_id),
        "rate_plans": RatePlansAPI(services.http).list(hotel_id),
        "transaction_codes": CashieringAPI(services.http).transaction_codes(hotel_id),
        "payment_methods": lov.payment_methods(hotel_id),
        "guarantee_codes": lov.values(hotel_id, "GuaranteeCodes"),
        "market_codes": lov.values(hotel_id, "MarketCodes"),
        "source_codes": lov.values(hotel_id, "SourceCodes"),
    }
    results = await asyncio.gather(*sections.values(), return_exceptions=True)
    found: dict[str, list[dict[str, Any]]] = {}
    unavailable: dict[str, str] = {}
    for name, result in zip(sections, results, strict=True):
        if isinstance(result, OperaError):
            unavailable[name] = result.describe()
            found[name] = []
        elif isinstance(result, BaseException):
            raise result
        else:
            found[name] = [item.model_dump(exclude_none=True) for item in result]
    if len(unavailable) == len(sections):
        if all(isinstance(r, OperaForbiddenError) for r in results):
            raise ResourceNotFoundError(
                f"OHIP refuses every configuration section of hotel {hotel_id} (403): the hotel is unknown to OPERA "
                f"or not granted to this server.{hotel_hint(hotel_id)}")
        first = next(iter(unavailable.values()))
        raise ResourceError(f"the configuration of {hotel_id} could not be read from OHIP: {first}")
    return HotelConfiguration(hotel_id=hotel_id, unavailable=unavailable, **found)


class ResourceUriGate:
    """MCP server middleware: resources/read of a URI that is no resource and fits no template is refused with -32602
    listing what can be read, instead of the SDK's bare 'Unknown resource'."""

    def __init__(self, mcp: MCPServer) -> None:
        self.mcp = mcp
        self._known: tuple[set[str], list[tuple[str, re.Pattern[str]]]] | None = None

    async def known(self) -> tuple[set[str], list[tuple[str, re.Pattern[str]]]]:
        if self._known is None:
            fixed = {str(r.uri) for r in await self.mcp.list_resources()}
            templates = []
            for t in await self.mcp.list_resource_templates():
                parts = re.split(r"(\{[^}]+\})", t.uri_template)
                pattern = "".join("[^/]*" if p.startswith("{") else re.escape(p) for p in parts)
                templates.append((t.uri_template, re.compile(pattern)))
            self._known = (fixed, templates)
        return self._known

    async def __call__(self, ctx: Any, call_next: Callable[[Any], Awaitable[Any]]) -> Any:
        if ctx.method == "resources/read" and isinstance(ctx.params, dict):
            uri = ctx.params.get("uri")
            fixed, templates = await self.known()
            if not isinstance(uri, str) or (uri not in fixed and not any(p.fullmatch(uri) for _, p in templates)):
                shown = repr(uri[:100]) if isinstance(uri, str) else "missing"
                readable = ", ".join([*sorted(fixed), *(t for t, _ in templates)])
                raise MCPError(code=-32602, message=f"unknown resource {shown}; this server offers: {readable}",
                               data={"uri": uri[:2048]} if isinstance(uri, str) else None)
        return await call_next(ctx)


def register_resources(mcp: MCPServer, services: ToolServices, hotel_hint: Callable[[str], str] = _no_hint) -> None:
    """`hotel_hint(hotel_id)` is a sentence naming the hotels the current caller may use instead."""
    @mcp.resource(
        CONFIGURATION_URI,
        name="hotel_configuration",
        title="Hotel configuration",
        mime_type="application/json",
        description=(
            "A hotel's room types, rate plans, transaction codes, payment methods, and guarantee, market and "
            "source codes: the codes that create_reservation, post_charge, post_payment and check_out accept."
        ),
    )
    async def configuration(hotel_id: str) -> str:
        try:
            hotel = services.hotel(hotel_id)
        except ToolError as exc:
            raise ResourceNotFoundError(str(exc)) from None
        config = await hotel_configuration(services, hotel, hotel_hint)
        return json.dumps(config.model_dump(mode="json"), indent=1)

    mcp.middleware.append(ResourceUriGate(mcp))
