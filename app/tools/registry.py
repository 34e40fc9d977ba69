"""The toolset registry: which tools exist, read or write, and how OHIP errors become tool errors.

Each toolset module exposes `build(services) -> list[ToolDef]`; `register_tools` puts the enabled ones on the
MCPServer, honouring OPERA_TOOLSETS and OPERA_READ_ONLY. Handlers get their clients by injection (`services`).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from contextvars import ContextVar, Token
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any, Literal

from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations
from pydantic import Field

from app.opera.errors import (
    OperaAuthError,
    OperaBadRequestError,
    OperaError,
    OperaForbiddenError,
    OperaLimiterTimeoutError,
    OperaNotFoundError,
    OperaOutcomeUnknownError,
    OperaUnavailableError,
)
from app.opera.models import ExternalReference
from app.opera.reservations import Reservation, ReservationsAPI

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer

    from app.config import Settings
    from app.opera.http import OperaHTTP
    from app.telemetry.metrics import Metrics

#: read: looks only; write: changes reservations, guests, rooms; billing: moves money or checks out.
Access = Literal["read", "write", "billing"]

HOTEL_ID = re.compile(r"^[A-Za-z0-9_-]{1,20}$")

#: The parameter every write tool with exactly-once semantics declares in its own signature.
IdempotencyKey = Annotated[
    str | None,
    Field(min_length=8, max_length=128, pattern=r"^[A-Za-z0-9._:-]+$",
          description="a fresh UUID per action; the same key and arguments within 24 h return the first result"),
]

#: The reference the tool guard gives the write in progress (derived from its idempotency_key), for stamping into
#: OHIP so that the write can be found again; None when the call carries no key.
_write_reference: ContextVar[str | None] = ContextVar("opera_write_reference", default=None)

#: (validated arguments with hotel_id filled in, the write's reference) -> the first call's result when OPERA
#: shows the write happened, else None (then it is safe to perform).
Reconciler = Callable[[Mapping[str, Any], str], Awaitable[Any]]

#: (validated arguments with hotel_id filled in) -> the one-line text a human confirms; raises the handler's own
#: ToolError when the action would be refused (see app/tools/previews.py). Runs before anyone is asked.
Preview = Callable[[Mapping[str, Any]], Awaitable[str]]


def set_write_reference(reference: str | None) -> Token[str | None]:
    return _write_reference.set(reference)


def reset_write_reference(token: Token[str | None]) -> None:
    _write_reference.reset(token)


@dataclass(frozen=True)
class ExactlyOnce:
    """Declares that a write tool takes `idempotency_key` and how a repeat after an unknown outcome is reconciled:
    `reconcile` looks the write up in OPERA by its stamped reference before anything is redone."""

    reconcile: Reconciler
    #: How the write is found again, for the tool description (the agent reads it).
    found_by: str
    #: Look in OPERA even on a key's first use: the write carries its own reference there, so a record lost from
    #: the shared store (a Redis that restarted empty, a key past its 24 h) still cannot make it happen twice.
    check_first: bool = False


@dataclass
class ToolServices:
    """What tool handlers receive: the OHIP client and the app's long-lived objects."""

    settings: Settings
    http: OperaHTTP
    metrics: Metrics
    extras: dict[str, Any] = field(default_factory=dict)

    def offers(self, tool: str) -> bool:
        """Whether this server offers `tool` (OPERA_TOOLSETS, OPERA_READ_ONLY): a next step never names a tool the
        agent cannot call. True before the tool list is known."""
        names = self.extras.get("tool_names")
        return names is None or tool in names

    def offered(self, tool: str, step: str, otherwise: str = "") -> str:
        """`step` when this server offers `tool`, else `otherwise`."""
        return step if self.offers(tool) else otherwise

    def hotel(self, hotel_id: str | None) -> str:
        """The hotel a call is for: the argument, else OPERA_DEFAULT_HOTEL_ID; refused if malformed."""
        chosen = hotel_id or self.settings.default_hotel_id
        if not HOTEL_ID.fullmatch(chosen):
            raise ToolError(
                f"hotel_id {chosen[:40]!r} is not a valid OPERA hotel code (1-20 letters, digits, '_' or '-'); "
                f"leave it out to use the default hotel {self.settings.default_hotel_id}"
            )
        guard = self.extras.get("hotel_guard")
        if guard is not None:
            guard(chosen)
        return chosen

    def external_reference(self, reference: str) -> ExternalReference:
        """`reference` under our external system code, as OHIP holds it in `externalReferences`."""
        return ExternalReference(system=self.settings.external_system_code, id=reference)

    def stamp(self) -> ExternalReference | None:
        """The external reference to stamp the current write with in OHIP (the reference the tool guard derived
        from the call's idempotency_key); None when the call has no key."""
        chosen = _write_reference.get()
        return self.external_reference(chosen) if chosen is not None else None

    def stamped(self, text: str | None) -> str | None:
        """Free text OPERA keeps with a write (a posting reference, a request's remarks), with the write's own
        reference appended so a repeat after a lost answer can find it there; as it is for a call without a key."""
        stamp = self.stamp()
        if stamp is None:
            return text
        return f"{text} [{stamp.id}]" if text else f"[{stamp.id}]"


@dataclass(frozen=True)
class ToolDef:
    name: str
    toolset: str
    access: Access
    fn: Callable[..., Any]
    description: str
    title: str
    read_only: bool = False
    destructive: bool = False
    idempotent: bool = False
    exactly_once: ExactlyOnce | None = None
    #: For a tool that needs confirmation: the checks and the confirmation text, run before the human is asked.
    preview: Preview | None = None

    @property
    def annotations(self) -> ToolAnnotations:
        return ToolAnnotations(
            title=self.title,
            read_only_hint=self.read_only,
            destructive_hint=self.destructive,
            idempotent_hint=self.idempotent,
            open_world_hint=True,
        )


def switched_off(tool: ToolDef, settings: Settings) -> str | None:
    """Why OPERA_READ_ONLY or OPERA_TOOLSETS keeps `tool` off, or None when it is offered."""
    if settings.read_only and tool.access != "read":
        return "this server is read-only (OPERA_READ_ONLY=true)"
    if tool.toolset not in settings.toolsets:
        return f"its toolset '{tool.toolset}' is not enabled (OPERA_TOOLSETS={','.join(settings.toolsets)})"
    return None


def enabled(tools: list[ToolDef], settings: Settings) -> list[ToolDef]:
    """The tools OPERA_TOOLSETS and OPERA_READ_ONLY allow."""
    return [t for t in tools if switched_off(t, settings) is None]


def register_tools(mcp: MCPServer, tools: list[ToolDef], settings: Settings) -> list[ToolDef]:
    chosen = enabled(tools, settings)
    for t in chosen:
        mcp.add_tool(t.fn, name=t.name, title=t.title, description=t.description, annotations=t.annotations,
                     structured_output=True)
    return chosen


def tool_error(exc: OperaError, what: str, next_step: str) -> ToolError:
    """Turn an OHIP failure into a message an agent can act on: what failed, why, and what to do next."""
    why = exc.describe()
    if isinstance(exc, OperaOutcomeUnknownError):
        next_step = exc.next_step or next_step
    elif isinstance(exc, OperaUnavailableError):
        next_step = f"OHIP is failing; wait {exc.retry_after:.0f} s and try again, or check health_check"
    elif isinstance(exc, OperaLimiterTimeoutError):
        next_step = "the server is queueing too many OHIP calls; retry in a few seconds"
    elif isinstance(exc, OperaAuthError):
        next_step = "the server cannot authenticate to OHIP; ask an operator to check OPERA_CLIENT_ID/SECRET"
    elif isinstance(exc, OperaForbiddenError):
        next_step = "the integration user lacks rights for this hotel or operation; ask an operator"
    elif isinstance(exc, (OperaNotFoundError, OperaBadRequestError)):
        pass
    return ToolError(f"{what} failed: {why}. Next step: {next_step}")


async def read_reservation(
    reservations: ReservationsAPI, hotel: str, reservation_id: str, tool: str, *, find_with: str
) -> Reservation:
    """The reservation a write decides from, read fresh (never from the cache); an unknown id names where to find the
    right one (`find_with`), any other failure says to retry."""
    try:
        return await reservations.get(hotel, reservation_id, fresh=True)
    except OperaNotFoundError as exc:
        raise tool_error(exc, what=f"{tool}: reservation {reservation_id} in {hotel}",
                         next_step=f"find the reservation_id with {find_with}") from None
    except OperaError as exc:
        raise tool_error(exc, what=f"{tool}: reading reservation {reservation_id}", next_step="retry") from None
