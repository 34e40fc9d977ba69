"""MCP prompts for routine front-desk work: each says which tools to call, in what order, and what to report.

A prompt names only tools the caller is offered (OPERA_TOOLSETS, OPERA_READ_ONLY and the caller's scopes); where a
step's tool is not offered, it says what to ask a person for instead. Arguments are checked before rendering: an
unknown name, a missing or malformed value is refused with -32602 (invalid params) and the reason, never an
internal error.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.shared.exceptions import MCPError

from app.security.authz import Unavailability
from app.tools.registry import HOTEL_ID

INVALID_PARAMS = -32602
_CODE = re.compile(r"^[A-Za-z0-9_-]{1,40}$")


def _everything(name: str) -> str | None:
    return None


def _refuse(message: str) -> MCPError:
    return MCPError(code=INVALID_PARAMS, message=message)


def _hotel_clause(hotel_id: str) -> tuple[str, str]:
    """(how to name the hotel in prose, the hotel_id argument to pass), checked like a tool would."""
    hotel_id = hotel_id.strip()
    if not hotel_id:
        return "the default hotel", ""
    if not HOTEL_ID.fullmatch(hotel_id):
        raise _refuse(f"hotel_id {hotel_id[:40]!r} is not an OPERA hotel code (1-20 letters, digits, '_' or '-')")
    return f"hotel {hotel_id}", f', hotel_id="{hotel_id}"'


def _step(why_not: Unavailability, tool: str, call: str, instead: str) -> str:
    """`call` when the caller is offered `tool`, else why not and what to ask a person for (without naming the
    tool: a prompt names only tools the caller can call)."""
    why = why_not(tool)
    if why is None:
        return call
    return f"You cannot do this step yourself here ({why}): {instead}"


def arrivals_briefing_text(hotel_id: str = "", day: str = "", why_not: Unavailability = _everything) -> str:
    hotel, hotel_arg = _hotel_clause(hotel_id)
    if day.strip():
        try:
            when = date.fromisoformat(day.strip()).isoformat()
        except ValueError:
            raise _refuse(f"date {day[:20]!r} is not a date; use YYYY-MM-DD, e.g. 2026-05-01") from None
        date_arg = f'date="{when}"'
    else:
        when, date_arg = "today", ""
    args = ", ".join(a for a in (date_arg, hotel_arg.lstrip(", ")) if a)
    arrivals = _step(why_not, "list_arrivals",
                     f"Call list_arrivals({args}{', ' if args else ''}all_pages=true) to get every arriving "
                     "reservation.",
                     "ask the front desk for the day's arrivals (guest, confirmation number, room type, nights, "
                     "room).")
    overview = _step(why_not, "get_housekeeping_overview",
                     f"Call get_housekeeping_overview({hotel_arg.lstrip(', ')}) for the room status counts.",
                     "ask housekeeping for the room status counts.")
    ready = _step(why_not, "find_available_rooms",
                  f'Call find_available_rooms(room_type="..."{hotel_arg}) for each booked room type to see which '
                  "rooms can be assigned now (vacant, Clean or Inspected, not held for another arrival).",
                  "ask the front desk which vacant clean rooms of each booked type are ready.")
    details = _step(why_not, "get_reservation",
                    f'For VIPs, long stays or notes, call get_reservation(reservation_id="..."{hotel_arg}) for the '
                    "details.",
                    "for VIPs, long stays or notes, ask the front desk for the details.")
    hands_off = ("do not call update_room_status yourself" if why_not("update_room_status") is None
                 else "do not change room status")
    return f"""Prepare the arrivals briefing for {hotel}, {when}.

1. {arrivals}
2. {overview}
   {ready}
3. For reservations without a room, say whether a ready room of the booked type exists; where none does, list the
   dirty vacant rooms of that type so housekeeping can prioritise them ({hands_off}).
4. {details}

Report: number of arrivals; a table (guest, confirmation number, room type, nights, assigned room or "none",
ready room available yes/no); room types short of clean rooms; anything needing a manager. Do not check anyone in
and do not change reservations: this is a briefing only."""


def checkout_assistant_text(reservation: str = "", room: str = "", hotel_id: str = "",
                            why_not: Unavailability = _everything) -> str:
    hotel, hotel_arg = _hotel_clause(hotel_id)
    reservation, room = reservation.strip(), room.strip()
    if not reservation and not room:
        raise _refuse("checkout_assistant needs a reservation (reservation id or confirmation number) or a room number")
    for name, value in (("reservation", reservation), ("room", room)):
        if value and not _CODE.fullmatch(value):
            raise _refuse(f"{name} {value[:40]!r} should be letters and digits only")
    if reservation:
        find = _step(
            why_not, "get_reservation",
            f'Find the stay: get_reservation(reservation_id="{reservation}"{hotel_arg}), or with '
            f'confirmation_number="{reservation}" if that is what the guest gave; note reservation_id, guest, room '
            "and status (it must be InHouse or DueOut).",
            f"ask the front desk for stay {reservation}: guest, room and status.")
    else:
        find = _step(
            why_not, "list_in_house",
            f'Find the stay: list_in_house(room_id="{room}"{hotel_arg}) and take the guest in room {room}; if '
            "there are several, ask which guest is leaving.",
            f"ask the front desk who is staying in room {room}.")
    folio = _step(
        why_not, "get_folio",
        f'Call get_folio(reservation_id="...", detail=true{hotel_arg}) and read the bill to the guest: each '
        "charge, payments made and the balance.",
        "ask the front desk to print the guest's bill and go through it with the guest.")
    pays = ("If the balance is above 0, ask how the guest pays (a payment method code such as CA for cash, VA or MC "
            "for cards; never ask for or repeat a card number). A card pays from the reservation's card on file of "
            "that method (get_reservation shows the payment method); another card must first be added in OPERA or "
            "taken at the terminal.")
    settle = _step(
        why_not, "check_out",
        f'Call check_out(reservation_id="...", payment_method="..."{hotel_arg}) once the guest confirms. It pays '
        "the balance, generates the final folio and checks out; it cannot be undone here. With a balance of 0, "
        "leave payment_method out.",
        "tell the guest the balance and the way they chose to pay, and hand the check-out to a front-desk "
        "colleague, who settles and checks out in OPERA. Do not tell the guest they are checked out.")
    done = ("Confirm to the guest: room, amount settled, and that the room is released to housekeeping."
            if why_not("check_out") is None else
            "Tell the guest who will complete the check-out, and report the room and balance to that colleague.")
    return f"""Help check out a guest at {hotel}.

1. {find}
2. {folio}
3. If the guest disputes a charge, stop and hand over to a person; this assistant does not adjust postings.
4. {pays}
5. {settle}
6. {done}"""


def housekeeping_report_text(hotel_id: str = "", why_not: Unavailability = _everything) -> str:
    hotel, hotel_arg = _hotel_clause(hotel_id)
    args = hotel_arg.lstrip(", ")
    sep = ", " if args else ""
    overview = _step(why_not, "get_housekeeping_overview",
                     f"Call get_housekeeping_overview({args}{sep}all_pages=true) for the counts by status and every "
                     "room.",
                     "ask housekeeping for the room status list.")
    arrivals = _step(why_not, "list_arrivals", f"Call list_arrivals({args}) for today's arrivals.",
                     "ask the front desk for today's arrivals.")
    departures = _step(why_not, "list_departures", f"Call list_departures({args}) for today's departures.",
                       "ask the front desk for today's departures.")
    requests = _step(why_not, "get_housekeeping_overview",
                     f'Call get_housekeeping_overview({args}{sep}service_request="DoNotDisturb") and '
                     f'get_housekeeping_overview({args}{sep}service_request="MakeUpRoom") for guest requests.',
                     "ask housekeeping for Do Not Disturb and Make Up Room requests.")
    closing = ("Only call update_room_status when a person confirms that a room is done."
               if why_not("update_room_status") is None else
               "Room status changes are made by housekeeping in OPERA, not by you.")
    return f"""Write the housekeeping report for {hotel}.

1. {overview}
2. {arrivals} {departures} Together they say which rooms are needed first.
3. {requests}

Report: counts (Clean, Dirty, Pickup, Inspected, Out of Order, Out of Service; Vacant vs Occupied); a priority list
of vacant dirty rooms whose room type is needed by today's arrivals; departures whose rooms will turn dirty; rooms
with Do Not Disturb (do not send staff) and Make Up Room (send staff); rooms out of order or out of service.
{closing}"""


class PromptArgumentGate:
    """MCP server middleware: prompts/get with an unknown prompt, an argument the prompt does not take, or a value
    that is not a string is refused with -32602 naming what is valid, before the SDK renders anything."""

    def __init__(self, mcp: MCPServer) -> None:
        self.mcp = mcp
        self._arguments: dict[str, list[str]] | None = None

    async def arguments(self) -> dict[str, list[str]]:
        if self._arguments is None:
            self._arguments = {p.name: [a.name for a in p.arguments or []] for p in await self.mcp.list_prompts()}
        return self._arguments

    async def __call__(self, ctx: Any, call_next: Callable[[Any], Awaitable[Any]]) -> Any:
        if ctx.method == "prompts/get" and isinstance(ctx.params, dict):
            self.check(await self.arguments(), ctx.params.get("name"), ctx.params.get("arguments"))
        return await call_next(ctx)

    @staticmethod
    def check(prompts: dict[str, list[str]], name: Any, given: Any) -> None:
        if not isinstance(name, str) or name not in prompts:
            shown = repr(name[:60]) if isinstance(name, str) else "missing"
            raise _refuse(f"unknown prompt {shown}; the prompts are: {', '.join(sorted(prompts))}")
        if given is None:
            return
        valid = prompts[name]
        takes = f"{name} takes {', '.join(valid)}" if valid else f"{name} takes no arguments"
        if not isinstance(given, dict):
            raise _refuse(f"{name}: arguments must be an object of strings; {takes}")
        for key, value in given.items():
            if key not in valid:
                close = difflib.get_close_matches(str(key), valid, n=1, cutoff=0.5)
                hint = f" (did you mean {close[0]}?)" if close else ""
                raise _refuse(f"{name} has no argument {str(key)[:40]!r}{hint}; {takes}")
            if not isinstance(value, str):
                raise _refuse(f"{name}: {key} must be a string, not {type(value).__name__}; {takes}")


def register_prompts(mcp: MCPServer, why_not: Unavailability = _everything) -> None:
    """Register the prompts; `why_not(tool)` says why the current caller is not offered a tool (None: it is)."""

    @mcp.prompt(
        name="arrivals_briefing",
        title="Arrivals briefing",
        description="Brief the front desk on a day's arrivals and whether clean rooms are ready for them.",
    )
    async def arrivals_briefing(hotel_id: str = "", date: str = "") -> str:
        return arrivals_briefing_text(hotel_id, date, why_not)

    @mcp.prompt(
        name="checkout_assistant",
        title="Check-out assistant",
        description="Walk through a guest's check-out: find the stay, review the bill, settle it and check out.",
    )
    async def checkout_assistant(reservation: str = "", room: str = "", hotel_id: str = "") -> str:
        return checkout_assistant_text(reservation, room, hotel_id, why_not)

    @mcp.prompt(
        name="housekeeping_report",
        title="Housekeeping report",
        description="Summarise room status, priorities for today's arrivals, and guest service requests.",
    )
    async def housekeeping_report(hotel_id: str = "") -> str:
        return housekeeping_report_text(hotel_id, why_not)

    mcp.middleware.append(PromptArgumentGate(mcp))
