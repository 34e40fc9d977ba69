"""MCP prompts for routine front-desk work: each says which tools to call, in what order, and what to report."""

import re
from datetime import date

from mcp.server.mcpserver import MCPServer
from mcp.shared.exceptions import MCPError

from app.tools.registry import HOTEL_ID

INVALID_PARAMS = -32602
_CODE = re.compile(r"^[A-Za-z0-9_-]{1,40}$")


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


def arrivals_briefing_text(hotel_id: str = "", day: str = "") -> str:
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
    return f"""Prepare the arrivals briefing for {hotel}, {when}.

1. Call list_arrivals({args}{", " if args else ""}all_pages=true) to get every arriving reservation.
2. Call get_housekeeping_overview({hotel_arg.lstrip(", ")}) for the room status counts, and
   find_available_rooms(room_type=...) for each booked room type to see how many Vacant Clean/Inspected rooms are
   ready.
3. For reservations without a room, say whether a ready room of the booked type exists; where none does, list the
   dirty vacant rooms of that type so housekeeping can prioritise them (do not call update_room_status yourself).
4. For VIPs, long stays or notes, call get_reservation for the details.

Report: number of arrivals; a table (guest, confirmation number, room type, nights, assigned room or "none",
ready room available yes/no); room types short of clean rooms; anything needing a manager. Do not check anyone in
and do not change reservations: this is a briefing only."""


def checkout_assistant_text(reservation: str = "", room: str = "", hotel_id: str = "") -> str:
    hotel, hotel_arg = _hotel_clause(hotel_id)
    reservation, room = reservation.strip(), room.strip()
    if not reservation and not room:
        raise _refuse("checkout_assistant needs a reservation (reservation id or confirmation number) or a room number")
    for name, value in (("reservation", reservation), ("room", room)):
        if value and not _CODE.fullmatch(value):
            raise _refuse(f"{name} {value[:40]!r} should be letters and digits only")
    if reservation:
        find = (
            f'1. Find the stay: get_reservation(reservation_id="{reservation}"{hotel_arg}), or with '
            f'confirmation_number="{reservation}" if that is what the guest gave; note reservation_id, guest, room '
            "and status (it must be InHouse or DueOut)."
        )
    else:
        find = (
            f'1. Find the stay: list_in_house(room_id="{room}"{hotel_arg}) and take the guest in room {room}; '
            "if there are several, ask which guest is leaving."
        )
    return f"""Help check out a guest at {hotel}.

{find}
2. Call get_folio(reservation_id=..., detail=true{hotel_arg}) and read the bill to the guest: each charge, payments
   made and the balance.
3. If the guest disputes a charge, stop and hand over to a person; this assistant does not adjust postings.
4. If the balance is above 0, ask how the guest pays (a payment method code such as CA for cash, VA or MC for
   cards; never ask for or repeat a card number). A card pays from the reservation's card on file of that method
   (get_reservation shows the payment method); another card must first be added in OPERA or taken at the terminal.
5. Call check_out(reservation_id=..., payment_method=...{hotel_arg}) once the guest confirms. It pays the balance,
   generates the final folio and checks out; it cannot be undone here. With a balance of 0, leave payment_method
   out.
6. Confirm to the guest: room, amount settled, and that the room is released to housekeeping."""


def housekeeping_report_text(hotel_id: str = "") -> str:
    hotel, hotel_arg = _hotel_clause(hotel_id)
    args = hotel_arg.lstrip(", ")
    sep = ", " if args else ""
    return f"""Write the housekeeping report for {hotel}.

1. Call get_housekeeping_overview({args}{sep}all_pages=true) for the counts by status and every room.
2. Call list_arrivals({args}) and list_departures({args}) for today, to know which rooms are needed first.
3. Call get_housekeeping_overview({args}{sep}service_request="DoNotDisturb") and
   get_housekeeping_overview({args}{sep}service_request="MakeUpRoom") for guest requests.

Report: counts (Clean, Dirty, Pickup, Inspected, Out of Order, Out of Service; Vacant vs Occupied); a priority list
of vacant dirty rooms whose room type is needed by today's arrivals; departures whose rooms will turn dirty; rooms
with Do Not Disturb (do not send staff) and Make Up Room (send staff); rooms out of order or out of service. Only
call update_room_status when a person confirms that a room is done."""


def register_prompts(mcp: MCPServer) -> None:
    @mcp.prompt(
        name="arrivals_briefing",
        title="Arrivals briefing",
        description="Brief the front desk on a day's arrivals and whether clean rooms are ready for them.",
    )
    def arrivals_briefing(hotel_id: str = "", date: str = "") -> str:
        return arrivals_briefing_text(hotel_id, date)

    @mcp.prompt(
        name="checkout_assistant",
        title="Check-out assistant",
        description="Walk through a guest's check-out: find the stay, review the bill, settle it and check out.",
    )
    def checkout_assistant(reservation: str = "", room: str = "", hotel_id: str = "") -> str:
        return checkout_assistant_text(reservation, room, hotel_id)

    @mcp.prompt(
        name="housekeeping_report",
        title="Housekeeping report",
        description="Summarise room status, priorities for today's arrivals, and guest service requests.",
    )
    def housekeeping_report(hotel_id: str = "") -> str:
        return housekeeping_report_text(hotel_id)
