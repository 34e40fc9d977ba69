"""Wraps every tool handler with the call-level rules: scope and hotel checks, idempotency, confirmation, audit.

The wrapper is applied at registration, so toolset modules stay unaware of it: it adds `idempotency_key` to
create_reservation, create_guest, post_charge and post_payment, and `confirm` (plus a human prompt through
elicitation) to cancel_reservation, check_out, post_payment and post_deposit, and tells the agent so in their
descriptions.
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import json
import logging
import time
import typing
import weakref
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

import httpx2
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.utilities.context_injection import find_context_parameter
from pydantic import BaseModel, Field

from app.opera.auth import TOKEN_OPERATION
from app.opera.errors import OperaBadRequestError, OperaError, OperaSharedStateError
from app.security.audit import touched_ids
from app.security.authz import hotel_refusal, required_scope, scope_refusal
from app.security.confirm import (
    CONFIRM_DESCRIPTION,
    CONFIRM_PARAM,
    CONFIRMATION_PARAM,
    CONFIRMED_TOOLS,
    DRY_RUN_DESCRIPTION,
    confirmation_parameter,
    deferred_refusal,
    refusal,
)
from app.security.idempotency import (
    Claim,
    Fresh,
    IdempotencyStore,
    Mismatch,
    Reconcile,
    Replay,
    StillInFlight,
    fingerprint,
    store_key,
    write_reference,
)
from app.security.minimisation import scrub_card_numbers
from app.security.narrowing import current_narrowing
from app.security.principal import Principal
from app.security.untrusted import mark_guest_text, unmark
from app.tools.previews import close_memo, forget_plans, open_memo
from app.tools.registry import (
    ExactlyOnce,
    ToolDef,
    ToolServices,
    reset_write_reference,
    set_write_reference,
)

if TYPE_CHECKING:
    from app.security.layer import SecurityLayer

log = logging.getLogger(__name__)

IDEMPOTENCY_PARAM = "idempotency_key"
CONTEXT_PARAM = "security_context"

IDEMPOTENCY_DESCRIPTION = (
    " Pass idempotency_key (a fresh UUID per action): a repeat after a timeout or lost answer returns the first "
    "result instead of acting twice; the same key with other arguments is refused."
)
ConfirmFlag = Annotated[
    bool,
    Field(description="set true only after the human explicitly agreed, when the client cannot ask them itself"),
]


#: Results already presented (see `present`), by the identity of the result object.
_PRESENTED: dict[int, tuple[weakref.ref[Any], Any]] = {}
_SAME = object()


def present(result: Any) -> Any:
    """A tool's result as it leaves: card numbers masked in watched fields (app/security/minimisation.py) and guest
    text marked (app/security/untrusted.py). Both are pure functions of the result, so a model object seen before,
    such as the reservation every cache hit of one entry shares (OperaResponse.derived), gets the answer it got
    then without being walked again; the entry goes with the object."""
    if not isinstance(result, BaseModel):
        return mark_guest_text(scrub_card_numbers(result))
    key = id(result)
    kept = _PRESENTED.get(key)
    if kept is not None and kept[0]() is result:
        return result if kept[1] is _SAME else kept[1]
    out = mark_guest_text(scrub_card_numbers(result))

    def forget(ref: weakref.ref[Any], key: int = key) -> None:
        if (held := _PRESENTED.get(key)) is not None and held[0] is ref:
            del _PRESENTED[key]

    # Never the result itself as the value: it would keep its own entry alive.
    _PRESENTED[key] = (weakref.ref(result, forget), _SAME if out is result else out)
    return out


@dataclass
class ToolCall:
    """The tool call in progress (per task), for the hotel guard and for OHIP request-id collection."""

    tool: str
    principal: Principal
    hotel_id: str | None = None
    ohip_request_ids: list[str] = field(default_factory=list)
    refused: tuple[str, str] | None = None
    #: OHIP writes (non-GET business requests) sent, answered 2xx, and answered "not processed" (4xx, 429, 503).
    writes_sent: int = 0
    writes_done: int = 0
    writes_refused: int = 0

    @property
    def may_have_written(self) -> bool:
        """Whether anything may have changed in OPERA: a write succeeded, or one was sent and not refused."""
        return self.writes_done > 0 or self.writes_sent > self.writes_done + self.writes_refused


_current_call: ContextVar[ToolCall | None] = ContextVar("opera_tool_call", default=None)


@dataclass
class CallMarker:
    """Set by ArgumentRefusalAudit around each tools/call; the wrapper marks it when its body runs."""

    entered: bool = False


_call_marker: ContextVar[CallMarker | None] = ContextVar("opera_call_marker", default=None)


class ToolGuard:
    def __init__(self, layer: SecurityLayer, services: ToolServices) -> None:
        self.layer = layer
        self.services = services
        self.settings = services.settings
        self._hooked_client: httpx2.AsyncClient | None = None
        #: Write calls still running, whether or not their caller still waits (the drain waits for them).
        self._in_flight: set[asyncio.Future[Any]] = set()

    # --- checks ------------------------------------------------------------------------------------------------
    def refuse(self, tool: str, principal: Principal | None, reason: str, message: str, *,
               hotel_id: str | None = None, ids: Mapping[str, str] | None = None) -> ToolError:
        self.layer.metrics.refused_calls.labels(reason).inc()
        self.layer.audit.record(
            event="tool_call", outcome="refused", reason=reason, detail=message, tool=tool, hotel_id=hotel_id,
            caller=principal.audit_view() if principal else None, ids=ids,
        )
        return ToolError(f"{tool} refused: {message}")

    def refuse_prompt(self, prompt: str, principal: Principal | None, hotel_id: str, why: str) -> None:
        """A prompts/get refused for its hotel (authz.PromptHotelCheck): counted and audited like a tool's."""
        self.layer.metrics.refused_calls.labels("hotel").inc()
        self.layer.audit.record(event="prompt", outcome="refused", reason="hotel", detail=why, tool=prompt,
                                hotel_id=hotel_id, caller=principal.audit_view() if principal else None)

    def hotel_of(self, args: Mapping[str, Any]) -> str:
        """The hotel a call is for: its argument, else the connection's hotel (X-MCP-Hotel, /mcp/hotels/...), else
        OPERA_DEFAULT_HOTEL_ID."""
        narrowing = current_narrowing()
        default = narrowing.hotel if narrowing is not None and narrowing.hotel else self.settings.default_hotel_id
        return str(args.get("hotel_id") or default)[:40]

    def precheck(self, tool: ToolDef, args: Mapping[str, Any]) -> Principal:
        principal = self.layer.caller()
        hotel = self.hotel_of(args)
        if principal is None:
            raise self.refuse(tool.name, None, "unauthenticated", "no authenticated caller", hotel_id=hotel)
        why = scope_refusal(principal, tool.name, required_scope(tool))
        if why:
            raise self.refuse(tool.name, principal, "scope", why, hotel_id=hotel, ids=touched_ids(args))
        why = hotel_refusal(principal, hotel)
        if why:
            raise self.refuse(tool.name, principal, "hotel", why, hotel_id=hotel, ids=touched_ids(args))
        return principal

    def hotel_guard(self, hotel_id: str) -> None:
        """Called by ToolServices.hotel(): the last word on a hotel, whatever argument it came from."""
        call = _current_call.get()
        principal = call.principal if call else self.layer.caller()
        if principal is None:
            raise ToolError("refused: no authenticated caller")
        why = hotel_refusal(principal, hotel_id)
        if why:
            if call is not None:
                call.refused = ("hotel", why)
            elif _call_marker.get() is None:
                # Not a tool call (a resource read): counted and audited here, as the tool guard does for tools.
                self.layer.metrics.refused_calls.labels("hotel").inc()
                self.layer.audit.record(event="resource", outcome="refused", reason="hotel", detail=why,
                                        hotel_id=hotel_id[:40], caller=principal.audit_view())
            raise ToolError(f"refused: {why}")

    # --- OHIP request ids for the audit trail --------------------------------------------------------------------
    def _hook_ohip_client(self) -> None:
        client = getattr(self.services.http, "client", None) or getattr(self.services.http, "_client", None)
        if isinstance(client, httpx2.AsyncClient) and client is not self._hooked_client:
            client.event_hooks["request"].append(_note_request_id)
            client.event_hooks["response"].append(_note_write_answer)
            self._hooked_client = client

    # --- preview, then confirmation ------------------------------------------------------------------------------
    async def preview(self, tool: ToolDef, args: Mapping[str, Any]) -> str:
        """The tool's checks and the text the human confirms (see app/tools/previews.py); the handler's own
        ToolError when the action would be refused."""
        hotel = self.hotel_of(args)
        if tool.preview is not None:
            return await tool.preview({**args, "hotel_id": hotel})
        reservation_id = args.get("reservation_id")
        booking = f"reservation {reservation_id}" if reservation_id else "the reservation"
        return f"Go ahead with {tool.name} on {booking} at hotel {hotel}?"

    def preview_refused(self, tool: ToolDef, args: Mapping[str, Any], exc: ToolError) -> ToolError:
        """A refusal the preview found, before anyone was asked: counted and audited like the handler's would be."""
        marker = _call_marker.get()
        if marker is not None:
            marker.entered = True  # audited here, not again as an argument refusal
        principal = self.layer.caller()
        self.layer.metrics.refused_calls.labels("precondition").inc()
        self.layer.audit.record(
            event="tool_call", outcome="refused", reason="precondition", detail=str(exc)[:300], tool=tool.name,
            hotel_id=self.hotel_of(args), caller=principal.audit_view() if principal else None,
            ids=touched_ids(args),
        )
        return exc

    # --- the wrapper ----------------------------------------------------------------------------------------------
    def wrap(self, tool: ToolDef) -> ToolDef:
        original = tool.fn
        hints = typing.get_type_hints(original, include_extras=True)
        signature = inspect.signature(original, eval_str=True)
        ctx_name = find_context_parameter(original)
        params = [
            p.replace(kind=inspect.Parameter.KEYWORD_ONLY, annotation=hints.get(p.name, p.annotation))
            for p in signature.parameters.values()
        ]
        names = {p.name for p in params}
        annotations: dict[str, Any] = {p.name: p.annotation for p in params}
        description = tool.description
        exactly_once = tool.exactly_once
        if exactly_once is not None:
            if IDEMPOTENCY_PARAM not in names:
                raise TypeError(f"{tool.name} declares exactly_once but its handler has no {IDEMPOTENCY_PARAM}")
            description += IDEMPOTENCY_DESCRIPTION

        adds_ctx = ctx_name is None
        if adds_ctx:
            ctx_name = CONTEXT_PARAM
            params.append(inspect.Parameter(CONTEXT_PARAM, inspect.Parameter.KEYWORD_ONLY, default=None,
                                            annotation=Context | None))
            annotations[CONTEXT_PARAM] = Context | None
        confirmed = tool.name in CONFIRMED_TOOLS and self.settings.confirm_destructive
        adds_confirm = confirmed and CONFIRM_PARAM not in names
        if adds_confirm:
            params.append(inspect.Parameter(CONFIRM_PARAM, inspect.Parameter.KEYWORD_ONLY, default=False,
                                            annotation=ConfirmFlag))
            annotations[CONFIRM_PARAM] = ConfirmFlag
        if confirmed:
            description += CONFIRM_DESCRIPTION + (DRY_RUN_DESCRIPTION if "dry_run" in names else "")
            arg_names = [p.name for p in params if p.name != ctx_name]

            async def precheck(args: Mapping[str, Any]) -> None:
                marker = _call_marker.get()
                if marker is not None:
                    marker.entered = True  # a refusal here is audited by precheck, not again as "not_served"
                self.precheck(tool, args)

            async def preview(args: Mapping[str, Any]) -> str:
                forget_plans()  # a preview run again after the human's answer reads OPERA again
                return await self.preview(tool, args)

            def on_refusal(args: Mapping[str, Any], exc: ToolError) -> ToolError:
                return self.preview_refused(tool, args, exc)

            parameter, annotation = confirmation_parameter(tool.name, arg_names, precheck, preview, on_refusal)
            params.append(parameter)
            annotations[CONFIRMATION_PARAM] = annotation
        annotations["return"] = hints.get("return", signature.return_annotation)
        return_type = annotations["return"]
        writes = tool.access != "read"
        guard = self

        async def guarded(**kwargs: Any) -> Any:
            if adds_ctx:
                kwargs.pop(CONTEXT_PARAM, None)
            confirm = bool(kwargs.pop(CONFIRM_PARAM, False)) if adds_confirm else bool(kwargs.get(CONFIRM_PARAM))
            outcome = kwargs.pop(CONFIRMATION_PARAM, None) if confirmed else None
            deferred = deferred_refusal(outcome)
            args = {k: v for k, v in kwargs.items() if k != ctx_name}
            marker = _call_marker.get()
            if marker is not None:
                marker.entered = True
            principal = guard.precheck(tool, args)
            hotel = guard.hotel_of(args)
            if writes:
                guard.check_writes_allowed(tool, principal, hotel, args)
            if confirmed:
                refused = refusal(tool.name, outcome, confirm)
                if refused:
                    raise guard.refuse(tool.name, principal, refused[0], refused[1], hotel_id=hotel,
                                       ids=touched_ids(args))
            guard._hook_ohip_client()
            # Card numbers never get this far (app/security/arguments.py refuses them); guest-text delimiters an
            # agent copied from an answer are taken off.
            kwargs = unmark(kwargs)
            args = {k: v for k, v in kwargs.items() if k != ctx_name}
            call = ToolCall(tool=tool.name, principal=principal, hotel_id=hotel)
            token = _current_call.set(call)
            try:
                if not writes:
                    try:
                        return present(await original(**kwargs))
                    except BaseException as exc:
                        guard._audit_failure(tool, call, args, exc, False)
                        raise
                idempotency_key = kwargs.get(IDEMPOTENCY_PARAM) if exactly_once is not None else None
                claim: Claim | None = None
                key = fp = None
                if idempotency_key is not None and exactly_once is not None:
                    key = store_key(principal.identity, tool.name, str(idempotency_key))
                    fp = fingerprint({**_plain(_action_args(args)), "hotel_id": hotel})
                    claim = await guard._claim(tool.name, principal, key, fp, hotel, args)
                    if isinstance(claim, Replay):
                        guard.layer.metrics.idempotent_replays.labels(tool.name).inc()
                        guard.layer.audit.record(
                            event="tool_call", outcome="replayed", tool=tool.name, hotel_id=hotel,
                            caller=principal.audit_view(), ids=touched_ids(args, claim.result),
                            detail="answered from the idempotency store; OHIP was not called",
                        )
                        return _rebuild(return_type, claim.result)
                write = WriteInFlight(guard, tool, call, args, key, fp, return_type)
                if exactly_once is not None and key is not None and (
                        isinstance(claim, Reconcile) or deferred is not None
                        or (isinstance(claim, Fresh) and exactly_once.check_first)):
                    since = claim.since if isinstance(claim, Reconcile) else None
                    found = await write.reconcile(exactly_once, {**args, "hotel_id": hotel}, since=since)
                    if found is not None:
                        return found
                if deferred is not None:
                    # The preview refused and no earlier call with this key did it: nothing is written.
                    if key is not None:
                        await guard.layer.idempotency.release(key)
                    raise guard.preview_refused(tool, args, ToolError(deferred))
                stamp = set_write_reference(write_reference(key) if key is not None else None)
                try:
                    task = asyncio.ensure_future(write.run(original, kwargs))
                finally:
                    reset_write_reference(stamp)
                guard._in_flight.add(task)
                task.add_done_callback(guard._in_flight.discard)
                return await write.answer(task)
            finally:
                _current_call.reset(token)

        guarded.__signature__ = inspect.Signature(params, return_annotation=return_type)  # type: ignore[attr-defined]
        guarded.__annotations__ = annotations
        guarded.__name__ = getattr(original, "__name__", tool.name)
        guarded.__qualname__ = guarded.__name__
        guarded.__doc__ = original.__doc__
        return dataclasses.replace(tool, fn=guarded, description=description)

    def check_writes_allowed(self, tool: ToolDef, principal: Principal, hotel: str,
                             args: Mapping[str, Any]) -> None:
        """No write starts while the server drains or while exactly-once cannot be promised (shared store down)."""
        lifecycle = self.layer.lifecycle
        if lifecycle is not None and lifecycle.draining:
            raise self.refuse(tool.name, principal, "draining",
                              "this server is shutting down and starts no new writes; nothing was changed. "
                              "Repeat the same call (with the same idempotency_key): another replica will take it",
                              hotel_id=hotel, ids=touched_ids(args))
        why = self.layer.write_gate()
        if why:
            raise self.refuse(tool.name, principal, "shared_state_down",
                              f"{why}; nothing was changed. Reads still work; repeat the write in a minute",
                              hotel_id=hotel, ids=touched_ids(args))

    async def drain(self, bound_s: float) -> int:
        """Wait up to `bound_s` for writes still running (their clients may have gone); cancel the rest, whose
        keys are then recorded as outcome unknown. Returns how many were cut."""
        pending = set(self._in_flight)
        if not pending:
            return 0
        _done, still = await asyncio.wait(pending, timeout=max(bound_s, 0.0))
        for task in still:
            task.cancel()
        if still:
            await asyncio.wait(still, timeout=5.0)
        return len(still)

    async def _claim(self, tool: str, principal: Principal, key: str, fp: str, hotel: str,
                     args: Mapping[str, Any]) -> Replay | Fresh | Reconcile:
        try:
            claim = await self.layer.idempotency.begin(key, fp, lease_s=self.lease_s)
        except StillInFlight:
            raise self.refuse(tool, principal, "idempotency_busy",
                              "an earlier call with this idempotency_key is still running; nothing new was started. "
                              "Wait a few seconds, then repeat the same call to get its result",
                              hotel_id=hotel, ids=touched_ids(args)) from None
        except OperaSharedStateError as exc:
            raise self.refuse(tool, principal, "shared_state_down",
                              f"{exc.message}; exactly-once cannot be promised, so nothing was changed. "
                              "Repeat the write in a minute", hotel_id=hotel, ids=touched_ids(args)) from None
        if isinstance(claim, Mismatch):
            first = datetime.fromtimestamp(claim.first_used_at, UTC).isoformat(timespec="seconds")
            raise self.refuse(
                tool, principal, "idempotency_mismatch",
                f"this idempotency_key was first used at {first} with different arguments; use a new key for a "
                "new action, or repeat the first call's exact arguments to get its result",
                hotel_id=hotel, ids=touched_ids(args),
            )
        return claim

    @property
    def lease_s(self) -> float:
        """How long a claim holds without its process: longer than any single write can run."""
        return self.settings.drain_timeout + 15.0

    def _audit_failure(self, tool: ToolDef, call: ToolCall, args: Mapping[str, Any], exc: BaseException,
                       audit_always: bool, *, unknown: bool = False) -> None:
        caller = call.principal.audit_view()
        if call.refused is not None:
            reason, why = call.refused
            self.layer.metrics.refused_calls.labels(reason).inc()
            self.layer.audit.record(event="tool_call", outcome="refused", reason=reason, detail=why, tool=tool.name,
                                    hotel_id=call.hotel_id, caller=caller, ids=touched_ids(args))
            return
        cause = exc.__cause__ or exc.__context__
        if isinstance(cause, OperaBadRequestError) and cause.status is None:
            # Refused by the OHIP client's input checks before any request left this server.
            self.layer.metrics.refused_calls.labels("invalid_input").inc()
            self.layer.audit.record(event="tool_call", outcome="refused", reason="invalid_input",
                                    detail=cause.describe(), tool=tool.name, hotel_id=call.hotel_id, caller=caller,
                                    ohip_request_ids=call.ohip_request_ids)
            return
        if audit_always:
            detail = str(exc) if isinstance(exc, ToolError) else type(exc).__name__
            if unknown:
                detail = f"outcome unknown: an OHIP write was sent and may have happened ({detail})"
            self.layer.audit.record(event="tool_call", outcome="unknown" if unknown else "error", detail=detail,
                                    tool=tool.name,
                                    hotel_id=call.hotel_id, caller=caller, ids=touched_ids(args),
                                    ohip_request_ids=call.ohip_request_ids)


class WriteInFlight:
    """One write call after its key is claimed: it runs to the end whatever happens to its caller (an agent's
    timeout or a closed connection does not cut an OHIP write half-way), then settles the key (done, released or
    outcome unknown) and audits the outcome; the caller gets the answer unless shutdown cuts the wait first."""

    def __init__(self, guard: ToolGuard, tool: ToolDef, call: ToolCall, args: Mapping[str, Any], key: str | None,
                 fp: str | None, return_type: Any) -> None:
        self.guard = guard
        self.tool = tool
        self.call = call
        self.args = args
        self.key = key
        self.fp = fp
        self.return_type = return_type

    @property
    def store(self) -> IdempotencyStore:
        return self.guard.layer.idempotency

    async def run(self, original: Callable[..., Any], kwargs: dict[str, Any]) -> Any:
        try:
            result = present(await original(**kwargs))
        except BaseException as exc:
            await self._settle_failure(exc)
            raise
        if self.key is not None and self.fp is not None:
            try:
                await self.store.complete(self.key, self.fp, _dump(result))
            except OperaSharedStateError:
                # The claim's lease runs out and the next repeat reconciles with OPERA, where this write is.
                log.error("%s done, but its result could not be recorded in the shared store", self.tool.name)
        self.guard.layer.audit.record(
            event="tool_call", outcome="ok", tool=self.tool.name, hotel_id=self.call.hotel_id,
            caller=self.call.principal.audit_view(), ids=touched_ids(self.args, result),
            ohip_request_ids=self.call.ohip_request_ids,
        )
        return result

    async def _settle_failure(self, exc: BaseException) -> None:
        unknown = self.call.may_have_written
        if self.key is not None and self.fp is not None:
            try:
                if unknown:
                    await self.store.mark_unknown(self.key, self.fp)
                else:
                    await self.store.release(self.key)
            except OperaSharedStateError:
                log.warning("%s failed and its idempotency record could not be updated; its lease will run out",
                            self.tool.name)
        self.guard._audit_failure(self.tool, self.call, self.args, exc, True, unknown=unknown)

    async def answer(self, task: asyncio.Future[Any]) -> Any:
        task.add_done_callback(_retrieve)
        lifecycle = self.guard.layer.lifecycle
        cut = asyncio.ensure_future(lifecycle.cut.wait()) if lifecycle is not None else None
        try:
            # asyncio.wait, unlike awaiting the task, leaves it running when this caller is cancelled.
            done, _ = await asyncio.wait({task, *([cut] if cut else [])}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            if cut is not None:
                cut.cancel()
        if task in done:
            return task.result()
        assert lifecycle is not None
        lifecycle.calls_cut += 1
        check = CHECK_BEFORE_RETRY_BY_TOOL.get(self.tool.name, "read the record it changes before trying again")
        repeat = ("repeat the same call with the same idempotency_key: the server then checks OPERA and returns the "
                  "first result instead of doing it twice" if self.key else check)
        raise ToolError(f"{self.tool.name} was still running when this server had to stop, so its outcome is "
                        f"unknown. Next step: {repeat}")

    async def reconcile(self, exactly_once: ExactlyOnce, args: Mapping[str, Any], *, since: float | None) -> Any:
        """The key's earlier call may have written: look the write up in OPERA before anything is redone. `since`
        is when its outcome became unknown; None for a first use checked in OPERA (see ExactlyOnce.check_first)."""
        assert self.key is not None and self.fp is not None
        metrics = self.guard.layer.metrics
        reference = write_reference(self.key)
        try:
            found = await exactly_once.reconcile(args, reference)
        except (OperaError, ToolError) as exc:
            if since is None:
                await self.store.release(self.key)  # nothing was attempted under this key yet
            else:
                await self.store.mark_unknown(self.key, self.fp)
            metrics.idempotent_reconciliations.labels(self.tool.name, "lookup_failed").inc()
            why = exc.describe() if isinstance(exc, OperaError) else str(exc)
            earlier = ("OPERA could not be checked for an earlier write with this idempotency_key" if since is None
                       else "an earlier call with this idempotency_key has an unknown outcome and OPERA could not "
                            "be asked whether it happened")
            raise ToolError(f"{self.tool.name}: {earlier} ({why}); nothing was done. Next step: repeat the same "
                            "call in a minute") from None
        if found is None and since is None:
            metrics.idempotent_reconciliations.labels(self.tool.name, "first_use_clean").inc()
            return None
        if found is None:
            assert since is not None
            settle = self.guard.settings.reconcile_settle
            waited = time.time() - since
            if waited < settle:
                # A 504 or a timeout can come while OPERA is still processing the write: give it time to show.
                await self.store.mark_unknown(self.key, self.fp)
                metrics.idempotent_reconciliations.labels(self.tool.name, "settling").inc()
                raise ToolError(
                    f"{self.tool.name}: an earlier call with this idempotency_key ended {waited:.0f} s ago with an "
                    f"unknown outcome and OPERA shows no trace of it yet, but may still be processing it; nothing "
                    f"was done. Next step: repeat the same call in {max(settle - waited, 1.0):.0f} s"
                )
            metrics.idempotent_reconciliations.labels(self.tool.name, "not_found").inc()
            return None
        result = present(found)
        await self.store.complete(self.key, self.fp, _dump(result))
        metrics.idempotent_reconciliations.labels(self.tool.name, "found").inc()
        self.guard.layer.audit.record(
            event="tool_call", outcome="reconciled", tool=self.tool.name, hotel_id=self.call.hotel_id,
            caller=self.call.principal.audit_view(), ids=touched_ids(self.args, result),
            detail="an earlier call with this idempotency_key had an unknown outcome; OPERA shows it happened, so "
                   "its result is returned and nothing was redone",
            ohip_request_ids=self.call.ohip_request_ids,
        )
        return _rebuild(self.return_type, _dump(result))


def _retrieve(task: asyncio.Future[Any]) -> None:
    if not task.cancelled():
        task.exception()  # retrieved, so a write whose caller left is not reported as an unhandled error


#: What an agent should check before repeating a write whose outcome is unknown and which carried no key.
CHECK_BEFORE_RETRY_BY_TOOL = {
    "create_reservation": "search_reservations for the guest and dates before booking again",
    "create_guest": "search_guests for the guest before creating the profile again",
    "post_charge": "get_folio to see whether the charge was posted before posting it again",
    "post_payment": "get_folio to see whether the payment was posted before taking it again",
    "post_deposit": "list_deposits to see whether the deposit was taken before taking it again",
    "refund_deposit": "list_deposits to see whether the refund was made before refunding again",
    "check_in": "get_reservation to see whether the guest is checked in",
    "check_out": "get_reservation to see whether the guest is checked out",
    "cancel_reservation": "get_reservation to see whether it is cancelled",
    "modify_reservation": "get_reservation to see whether the change was made",
    "reinstate_reservation": "get_reservation to see whether it is reserved again",
    "split_reservation": "get_reservation to see whether it was split (its linked reservations)",
    "assign_room": "get_reservation to see which room it holds",
    "move_room": "get_reservation to see which room the guest is in",
    "undo_check_in": "get_reservation to see whether the guest is due in again",
    "undo_check_out": "get_reservation to see whether the guest is in house again",
    "set_wake_up_call": "set_wake_up_call again: it reads the pending calls and sets only the mornings missing",
    "cancel_wake_up_call": "cancel_wake_up_call again: a call already cancelled is left as it is",
    "correct_charge": "get_folio to see whether the correction was posted before correcting again",
    "leave_guest_message": "list_guest_messages to see whether the message was left before leaving it again",
    "open_guest_request": "list_guest_requests to see whether the request was opened before opening it again",
    "report_maintenance": "list_maintenance to see whether the request was reported before reporting it again",
}


class ArgumentRefusalAudit:
    """MCP server middleware: a tools/call refused before its handler ran (arguments failing the schema, such as
    an id shaped like `../../oauth/v1/tokens`, or a switched-off tool) is counted and audited like any refusal."""

    def __init__(self, layer: SecurityLayer, tool_names: Callable[[], set[str]]) -> None:
        self.layer = layer
        self.tool_names = tool_names

    async def __call__(self, ctx: Any, call_next: Callable[[Any], Any]) -> Any:
        if ctx.method != "tools/call":
            return await call_next(ctx)
        marker = CallMarker()
        reset = _call_marker.set(marker)
        memo = open_memo()  # the preview's reads, handed to the handler of the same call
        try:
            result = await call_next(ctx)
        finally:
            close_memo(memo)
            _call_marker.reset(reset)
        if marker.entered or not is_error_result(result):
            return result
        params = ctx.params if isinstance(ctx.params, dict) else {}
        name = params.get("name")
        tool = name if isinstance(name, str) and name in self.tool_names() else "unknown"
        text = _error_text(result)
        reason = "invalid_arguments" if "validation error" in text else "not_served"
        principal = self.layer.caller()
        arguments = params.get("arguments")
        self.layer.metrics.refused_calls.labels(reason).inc()
        self.layer.audit.record(
            event="tool_call", outcome="refused", reason=reason, tool=tool,
            # The validator's own text can quote the value sent: the audit keeps only what kind of refusal it was.
            detail="the arguments failed the tool's input schema" if reason == "invalid_arguments" else text[:300],
            caller=principal.audit_view() if principal else None,
            hotel_id=str(arguments.get("hotel_id"))[:40] if isinstance(arguments, dict) and arguments.get("hotel_id")
            else None,
        )
        return result


def is_error_result(result: Any) -> bool:
    """Whether a tools/call answer (a result model, or its JSON form) reports a tool error."""
    if isinstance(result, BaseModel):
        return bool(getattr(result, "is_error", False))
    return isinstance(result, dict) and bool(result.get("isError"))


def _error_text(result: Any) -> str:
    content = getattr(result, "content", None) if isinstance(result, BaseModel) else (
        result.get("content") if isinstance(result, dict) else None)
    texts = []
    for block in content or []:
        text = getattr(block, "text", None) if not isinstance(block, dict) else block.get("text")
        if isinstance(text, str):
            texts.append(text)
    return " ".join(texts)


def _is_business_write(request: httpx2.Request) -> bool:
    """A request that may change OPERA: not a read, not the token, not a verification (`verificationOnly: true`,
    e.g. a cancellation's dry run or a confirmation preview, which OHIP answers without changing anything)."""
    operation = request.extensions.get("ohip_operation")
    if request.method == "GET" or not isinstance(operation, str) or operation == TOKEN_OPERATION:
        return False
    return not _is_verification_only(request)


def _is_verification_only(request: httpx2.Request) -> bool:
    try:
        content = request.content
    except httpx2.RequestNotRead:
        return False  # a streamed body: not one of ours, count it as a write
    if b'"verificationOnly"' not in content:
        return False
    try:
        body = json.loads(content)
    except ValueError:
        return False
    return isinstance(body, dict) and body.get("verificationOnly") is True


async def _note_request_id(request: httpx2.Request) -> None:
    call = _current_call.get()
    request_id = request.headers.get("x-request-id")
    if call is not None and request_id:
        call.ohip_request_ids.append(request_id[:64])
    if call is not None and _is_business_write(request):
        call.writes_sent += 1


async def _note_write_answer(response: httpx2.Response) -> None:
    call = _current_call.get()
    if call is None or not _is_business_write(response.request):
        return
    status = response.status_code
    if 200 <= status < 300:
        call.writes_done += 1
    elif 400 <= status < 500 or status == 503:
        call.writes_refused += 1  # OHIP decided, or its gateway did not forward: nothing happened


def _action_args(args: Mapping[str, Any]) -> dict[str, Any]:
    """What the action is, for the fingerprint: the arguments without the key and the confirmation flag."""
    return {k: v for k, v in args.items() if k not in (IDEMPOTENCY_PARAM, CONFIRM_PARAM)}


def _plain(args: Mapping[str, Any]) -> dict[str, Any]:
    return {k: (v.model_dump(mode="json") if isinstance(v, BaseModel) else v) for k, v in args.items()}


def _dump(result: Any) -> dict[str, Any]:
    if isinstance(result, BaseModel):
        return result.model_dump(mode="json")
    return {"result": result}


def _rebuild(return_type: Any, stored: dict[str, Any]) -> Any:
    if isinstance(return_type, type) and issubclass(return_type, BaseModel):
        return return_type.model_validate(stored)
    return stored.get("result", stored)

