"""Confirmation of destructive actions (cancel_reservation, check_out, post_payment, post_deposit): preview, then a
human's yes.

Before anyone is asked, the tool's preview (ToolDef.preview, see app/tools/previews.py) runs every check the action
needs: the caller's scope and hotel, the arguments, then the OHIP-side facts (status, balance, business date,
payment method and card on file, OHIP's own verification). An action that would be refused fails with its real
reason and no prompt. `dry_run=true` changes nothing and is never confirmed.

When the client can elicit (form elicitation: a standalone request on a handshake-era connection that has a back
channel, or an InputRequiredResult round on 2026-07-28), the human is asked with the preview's one-line summary
(guest, stay, room, amount with its currency, payment method by name or card type and last four, hotel). When it
cannot, the tool needs `confirm=true`; the refusal without it carries that same summary for the agent to show the
human, and with confirm=true the preview still runs before the write.

The yes holds only for the words the human read. On 2026-07-28 the answer round runs the preview again and the SDK
asks again when its words changed; on a handshake-era back channel (stdio) the question is a request in the middle
of the call, so after a yes the preview runs again here, and changed words (a charge posted at the desk meanwhile
changes the balance a check-out pays) are asked again, at most MAX_ASKS times.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from mcp.server.elicitation import (
    AcceptedElicitation,
    CancelledElicitation,
    DeclinedElicitation,
    ElicitationResult,
)
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.resolve import Elicit, Resolve
from mcp_types.version import is_version_at_least
from pydantic import BaseModel, Field

CONFIRMED_TOOLS = frozenset({"cancel_reservation", "check_out", "post_payment", "post_deposit", "refund_deposit"})
CONFIRMATION_PARAM = "human_confirmation"
CONFIRM_PARAM = "confirm"
_INPUT_REQUIRED_VERSION = "2026-07-28"
#: How often a handshake-era human is asked before a call whose preview keeps changing is refused.
MAX_ASKS = 3

CONFIRM_DESCRIPTION = (
    " Destructive: checks run first, then the human is asked to confirm (elicitation). If your client cannot ask, "
    "the refusal gives a summary: show it to the human and, on their explicit yes, repeat the call with "
    "confirm=true."
)
DRY_RUN_DESCRIPTION = " dry_run=true needs no confirmation."


class DestructiveActionConfirmation(BaseModel):
    """What the human is asked: a single yes/no."""

    confirm: bool = Field(title="Go ahead?", description="Tick to carry out the action described above")


@dataclass(frozen=True)
class NotAsked:
    """The human is not asked: the client cannot elicit (then `confirm` decides), or the call is a dry run."""

    why: str
    #: What the human must agree to, as the preview worded it (None for a dry run).
    summary: str | None = None
    dry_run: bool = False


@dataclass(frozen=True)
class PreviewRefused:
    """The preview found the action would be refused, but the call carries an idempotency_key: an earlier call
    with that key may already have done it, so the tool guard looks the key up before giving this refusal."""

    message: str


def answer_rounds(ctx: Context[Any, Any]) -> bool:
    """Whether this call asks by InputRequiredResult rounds (2026-07-28 on), which re-run the preview themselves."""
    version = ctx.protocol_version
    return version is not None and is_version_at_least(version, _INPUT_REQUIRED_VERSION)


def client_can_elicit(ctx: Context[Any, Any]) -> bool:
    capabilities = ctx.client_capabilities
    elicitation = capabilities.elicitation if capabilities is not None else None
    # A bare `elicitation: {}` means form support; a url-only client cannot show our yes/no form.
    if elicitation is None or (elicitation.form is None and elicitation.url is not None):
        return False
    if answer_rounds(ctx):
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
        if isinstance(data, PreviewRefused):
            return None  # decided by the tool guard once the idempotency_key is looked up
        if isinstance(data, DeclinedElicitation | CancelledElicitation):  # asked mid-call (handshake era)
            return "confirmation_declined", (
                f"the human answered '{data.action}' to the confirmation of {tool}; nothing was changed")
        if isinstance(data, NotAsked):
            if confirm or data.dry_run:
                return None
            shown = f' "{data.summary}"' if data.summary else " what will happen"
            return "confirmation_missing", (
                f"{tool} needs the human's explicit yes, and this client cannot ask them itself (no form "
                f"elicitation); nothing was changed. Next step: show the human exactly this:{shown}; only if they "
                f"say yes, call {tool} again with the same arguments plus confirm=true"
            )
    if outcome is None:
        return None if confirm else ("confirmation_missing", f"{tool} needs confirm=true")
    action = getattr(outcome, "action", "declined")
    return "confirmation_declined", f"the human answered '{action}' to the confirmation of {tool}; nothing was changed"


def deferred_refusal(outcome: Any) -> str | None:
    """The preview's refusal that waits for the idempotency_key lookup, if any."""
    if isinstance(outcome, AcceptedElicitation) and isinstance(outcome.data, PreviewRefused):
        return outcome.data.message
    return None


Preview = Callable[[Mapping[str, Any]], Awaitable[str]]
#: What a handshake-era human answered, once the preview stood still (or refused) after their yes.
MidCallAnswer = DestructiveActionConfirmation | DeclinedElicitation | CancelledElicitation | PreviewRefused
PreCheck = Callable[[Mapping[str, Any]], Awaitable[None]]
#: Records a refusal the preview found (audit, metrics) and returns the error to raise.
OnRefusal = Callable[[Mapping[str, Any], ToolError], ToolError]


def confirmation_parameter(
    tool: str, arg_names: list[str], precheck: PreCheck, preview: Preview, on_refusal: OnRefusal,
) -> tuple[inspect.Parameter, Any]:
    """A `Resolve` parameter that runs the caller checks and the tool's preview, then asks the human (or defers to
    `confirm`). It re-runs on every round of a 2026-07-28 call, so the preview is as fresh as the write."""

    async def previewed(args: Mapping[str, Any]) -> str | PreviewRefused:
        try:
            return await preview(args)
        except ToolError as exc:
            if args.get("idempotency_key"):
                return PreviewRefused(str(exc))
            raise on_refusal(args, exc) from None

    async def ask_mid_call(ctx: Context[Any, Any], args: Mapping[str, Any], text: str) -> MidCallAnswer:
        """Handshake era: ask, and after a yes preview again; changed words are asked again."""
        for _ in range(MAX_ASKS):
            try:
                outcome = await ctx.elicit(text, DestructiveActionConfirmation)
            except ValueError as exc:  # accepted with no content or content off the schema, as the SDK words it
                raise ToolError(f"the confirmation of {tool} received an invalid answer: {exc}") from None
            if not isinstance(outcome, AcceptedElicitation) or not outcome.data.confirm:
                return outcome.data if isinstance(outcome, AcceptedElicitation) else outcome
            fresh = await previewed(args)
            if isinstance(fresh, PreviewRefused):
                return fresh
            if fresh == text:
                return outcome.data
            text = fresh
        raise ToolError(
            f"what {tool} would do changed each of the {MAX_ASKS} times the human was asked (OPERA kept changing "
            f"the record meanwhile); nothing was changed. Next step: call {tool} again when the desk is done with it"
        )

    async def ask_human(**kwargs: Any) -> Elicit[DestructiveActionConfirmation] | NotAsked | MidCallAnswer:
        ctx: Context[Any, Any] = kwargs.pop("ctx_for_confirmation")
        # Refuse a caller without the scope or the hotel before showing anyone a prompt or reading OHIP.
        await precheck(kwargs)
        if kwargs.get("dry_run") is True:
            return NotAsked("dry run: nothing is changed", dry_run=True)
        text = await previewed(kwargs)
        if isinstance(text, PreviewRefused):
            return text
        if not client_can_elicit(ctx):
            return NotAsked("client cannot elicit", summary=text)
        if answer_rounds(ctx):
            return Elicit(text, DestructiveActionConfirmation)
        return await ask_mid_call(ctx, kwargs, text)

    params = [inspect.Parameter("ctx_for_confirmation", inspect.Parameter.KEYWORD_ONLY, annotation=Context)]
    params += [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY) for name in arg_names]
    ask_human.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    ask_human.__annotations__ = {"ctx_for_confirmation": Context}
    ask_human.__qualname__ = f"confirm_{tool}"
    annotation = Annotated[ElicitationResult[DestructiveActionConfirmation], Resolve(ask_human)]
    parameter = inspect.Parameter(CONFIRMATION_PARAM, inspect.Parameter.KEYWORD_ONLY, annotation=annotation)
    return parameter, annotation
