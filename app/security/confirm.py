"""Confirmation of destructive actions (cancel_reservation, check_out, post_payment): a human says yes first.

When the client can elicit (form elicitation: a standalone request on a handshake-era connection that has a back
channel, or an InputRequiredResult round on 2026-07-28), the human is asked with a one-line summary (guest, dates,
amount). When it cannot, the tool needs `confirm=true`, and its description says so.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from mcp.server.elicitation import AcceptedElicitation, ElicitationResult
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.resolve import Elicit, Resolve
from mcp_types.version import is_version_at_least
from pydantic import BaseModel, Field

CONFIRMED_TOOLS = frozenset({"cancel_reservation", "check_out", "post_payment"})
CONFIRMATION_PARAM = "human_confirmation"
CONFIRM_PARAM = "confirm"
_INPUT_REQUIRED_VERSION = "2026-07-28"

CONFIRM_DESCRIPTION = (
    " Destructive: the server asks the human to confirm through the MCP client (elicitation). If your client "
    "cannot show such a prompt, first get the human's explicit agreement yourself, then call again with "
    "confirm=true; without one of the two the call is refused."
)


class DestructiveActionConfirmation(BaseModel):
    """What the human is asked: a single yes/no."""

    confirm: bool = Field(title="Go ahead?", description="Tick to carry out the action described above")


@dataclass(frozen=True)
class NotAsked:
    """The client cannot elicit (or confirmation is off), so the `confirm` argument decides."""

    why: str


def client_can_elicit(ctx: Context[Any, Any]) -> bool:
    capabilities = ctx.client_capabilities
    elicitation = capabilities.elicitation if capabilities is not None else None
    # A bare `elicitation: {}` means form support; a url-only client cannot show our yes/no form.
    if elicitation is None or (elicitation.form is None and elicitation.url is not None):
        return False
    version = ctx.protocol_version
    if version is not None and is_version_at_least(version, _INPUT_REQUIRED_VERSION):
        return True
    # Handshake era: the question is a server-to-client request, which needs a back channel (not stateless POSTs).
    return bool(getattr(ctx.session, "can_send_request", False))


def refusal(tool: str, outcome: Any, confirm: bool) -> tuple[str, str] | None:
    """(reason, message) when the call must not go ahead, else None."""
    if isinstance(outcome, AcceptedElicitation):
        data = outcome.data
        if isinstance(data, DestructiveActionConfirmation):
            if data.confirm:
                return None
            return "confirmation_declined", f"the human did not tick 'go ahead' for {tool}; nothing was changed"
        if isinstance(data, NotAsked):
            if confirm:
                return None
            return "confirmation_missing", (
                f"{tool} is destructive and needs confirmation, and this client cannot ask the human directly; "
                f"tell the human what will happen, get their explicit yes, then call {tool} again with confirm=true"
            )
    if outcome is None:
        return None if confirm else ("confirmation_missing", f"{tool} needs confirm=true")
    action = getattr(outcome, "action", "declined")
    return "confirmation_declined", f"the human answered '{action}' to the confirmation of {tool}; nothing was changed"


Summary = Callable[[str, Mapping[str, Any]], Awaitable[str]]
PreCheck = Callable[[Mapping[str, Any]], Awaitable[None]]


def confirmation_parameter(
    tool: str, arg_names: list[str], precheck: PreCheck, summary: Summary,
) -> tuple[inspect.Parameter, Any]:
    """A `Resolve` parameter that runs the caller checks, then asks the human (or defers to `confirm`)."""

    async def ask_human(**kwargs: Any) -> Elicit[DestructiveActionConfirmation] | NotAsked:
        ctx: Context[Any, Any] = kwargs.pop("ctx_for_confirmation")
        # Refuse a caller without the scope or the hotel before showing anyone a prompt or reading OHIP.
        await precheck(kwargs)
        if not client_can_elicit(ctx):
            return NotAsked("client cannot elicit")
        text = await summary(tool, kwargs)
        return Elicit(text, DestructiveActionConfirmation)

    params = [inspect.Parameter("ctx_for_confirmation", inspect.Parameter.KEYWORD_ONLY, annotation=Context)]
    params += [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY) for name in arg_names]
    ask_human.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    ask_human.__annotations__ = {"ctx_for_confirmation": Context}
    ask_human.__qualname__ = f"confirm_{tool}"
    annotation = Annotated[ElicitationResult[DestructiveActionConfirmation], Resolve(ask_human)]
    parameter = inspect.Parameter(CONFIRMATION_PARAM, inspect.Parameter.KEYWORD_ONLY, annotation=annotation)
    return parameter, annotation
