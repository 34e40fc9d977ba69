"""Guest messages at the front desk: leave one for a guest, list a stay's messages, mark one received.

A message is a write the guest sees twice if it is made twice, and OPERA is not documented to refuse a second one of
the same text: `leave_guest_message` reads the stay's messages before it posts and, when the answer is lost, settles
it by finding the new message of that text instead of posting again.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, Field

from app.opera.errors import OperaError
from app.opera.guest_messages import OPERATOR, GuestMessage, GuestMessagesAPI
from app.opera.models import OperaWarning
from app.opera.reservations import CLOSED_STATUSES, Reservation, ReservationsAPI
from app.security.untrusted import guest_label
from app.tools.billing import GuardedText, HotelId, ReservationId, refuse_card_numbers
from app.tools.registry import ExactlyOnce, IdempotencyKey, ToolDef, ToolServices, read_reservation, tool_error

MessageId = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_-]+$",
                                 description="the message's id (message_id from list_guest_messages)")]
#: What a message may hold: OPERA takes 2000 characters; a desk message is a few lines.
MAX_TEXT = 500


class GuestMessages(BaseModel):
    hotel_id: str
    reservation_id: str
    guest_name: str | None = None
    status: str | None = Field(default=None, description="the reservation's status")
    left: GuestMessage | None = Field(default=None, description="the message this call left")
    received: GuestMessage | None = Field(default=None, description="the message this call marked received")
    messages: list[GuestMessage] = Field(description="the stay's messages, oldest first")
    warnings: list[OperaWarning] = Field(default_factory=list)
    next_step: str


def build(services: ToolServices) -> list[ToolDef]:
    api = GuestMessagesAPI(services.http)
    reservations = ReservationsAPI(services.http)
    metrics = services.metrics

    offered = services.offered

    async def stay(hotel: str, reservation_id: str, tool: str) -> Reservation:
        return await read_reservation(reservations, hotel, reservation_id, tool,
                                      find_with="list_in_house or list_arrivals")

    async def read(hotel: str, reservation_id: str, tool: str, *, received: bool = True) -> list[GuestMessage]:
        try:
            return await api.messages(hotel, reservation_id, delivered=received)
        except OperaError as exc:
            raise tool_error(exc, what=f"{tool}: reading the messages of reservation {reservation_id}",
                             next_step="retry") from None

    def result(hotel: str, record: Reservation, messages: list[GuestMessage], next_step: str, *,
               left: GuestMessage | None = None, received: GuestMessage | None = None,
               warnings: list[OperaWarning] | None = None) -> GuestMessages:
        return GuestMessages(
            hotel_id=hotel, reservation_id=record.reservation_id, guest_name=record.guest_name, status=record.status,
            left=left, received=received, messages=messages, warnings=warnings or [], next_step=next_step,
        )

    def ours(messages: list[GuestMessage], text: str, before: set[str] | None = None) -> GuestMessage | None:
        """The newest message of this text this server left (and, with `before`, not there before the POST)."""
        found = [m for m in messages if m.text.strip() == text.strip() and m.operator == OPERATOR
                 and (before is None or m.message_id not in before)]
        return found[-1] if found else None

    async def leave_guest_message(
        reservation_id: ReservationId,
        text: Annotated[GuardedText, Field(min_length=1, max_length=MAX_TEXT,
                                           description="the message, e.g. 'Kate Oracle phoned, please call her back'")],
        recipient: Annotated[GuardedText | None, Field(max_length=80, description=(
            "who it is for, when not the guest the reservation is in the name of"))] = None,
        hotel_id: HotelId = None,
        idempotency_key: IdempotencyKey = None,
    ) -> GuestMessages:
        hotel = services.hotel(hotel_id)
        body = refuse_card_numbers("text", text, MAX_TEXT) or ""
        if not body:
            raise ToolError("leave_guest_message: text is empty; nothing was left")
        to = refuse_card_numbers("recipient", recipient, 80)
        record = await stay(hotel, reservation_id, "leave_guest_message")
        if record.status in CLOSED_STATUSES:
            raise ToolError(
                f"leave_guest_message refused: reservation {reservation_id} ({guest_label(record.guest_name)}) is "
                f"{record.status}, so there is no guest to hand a message to; nothing was left"
            )
        before = {m.message_id for m in await read(hotel, reservation_id, "leave_guest_message")}
        messages: list[GuestMessage] | None = None
        try:
            made, warnings = await api.leave(hotel, reservation_id, text=body, recipient=to)
        except OperaError as exc:
            # A lost answer after OPERA took it: the new message of this text decides (never a blind repeat).
            try:
                messages = await api.messages(hotel, reservation_id)
            except OperaError:
                messages = []
            made = ours(messages, body, before)
            if made is None:
                raise tool_error(exc, what=f"leave_guest_message for reservation {reservation_id}",
                                 next_step="list_guest_messages shows whether it was left before leaving it again"
                                 ) from None
            warnings = []
        metrics.front_desk_events.labels("guest_message").inc()
        if messages is None:
            messages = await read(hotel, reservation_id, "leave_guest_message")
        left = ours(messages, body, before) or made
        return result(hotel, record, messages, "tell the guest, or let the desk hand it over; "
                      + offered("mark_message_received", "mark_message_received once the guest has it",
                                "the desk marks it received in OPERA"), left=left, warnings=warnings)

    async def find_left(args: Mapping[str, Any], reference: str) -> GuestMessages | None:
        hotel, reservation_id = str(args["hotel_id"]), str(args["reservation_id"])
        messages = await api.messages(hotel, reservation_id)
        left = ours(messages, str(args["text"]))
        if left is None:
            return None  # not there: the message is left
        record = await reservations.get(hotel, reservation_id, fresh=True)
        return result(hotel, record, messages, "the message was left by the first call with this key", left=left)

    async def list_guest_messages(
        reservation_id: ReservationId,
        include_received: Annotated[bool, Field(description="true lists the messages already received too")] = False,
        hotel_id: HotelId = None,
    ) -> GuestMessages:
        hotel = services.hotel(hotel_id)
        record = await stay(hotel, reservation_id, "list_guest_messages")
        messages = await read(hotel, reservation_id, "list_guest_messages", received=include_received)
        waiting = sum(1 for m in messages if not m.delivered)
        return result(hotel, record, messages, (
            f"{waiting} message(s) wait for the guest; "
            + offered("mark_message_received", "mark_message_received once one is handed over",
                      "the desk marks them received in OPERA") if waiting else "no message waits for the guest"))

    async def mark_message_received(
        reservation_id: ReservationId,
        message_id: MessageId,
        hotel_id: HotelId = None,
    ) -> GuestMessages:
        hotel = services.hotel(hotel_id)
        record = await stay(hotel, reservation_id, "mark_message_received")
        messages = await read(hotel, reservation_id, "mark_message_received")
        message = next((m for m in messages if m.message_id == message_id), None)
        if message is None:
            listed = ", ".join(m.message_id for m in messages) or "none"
            raise ToolError(
                f"mark_message_received refused: reservation {reservation_id} has no message {message_id} (its "
                f"messages: {listed}); nothing was changed. Next step: list_guest_messages with include_received=true"
            )
        warnings: list[OperaWarning] = []
        if not message.delivered:
            try:
                warnings = await api.mark_delivered(hotel, reservation_id, message)
            except OperaError as exc:
                raise tool_error(exc, what=f"mark_message_received {message_id} on reservation {reservation_id}",
                                 next_step="retry: marking it again changes nothing more") from None
            messages = await read(hotel, reservation_id, "mark_message_received")
        received = next((m for m in messages if m.message_id == message_id), message)
        return result(hotel, record, messages, "the message is marked received", received=received,
                      warnings=warnings)

    return [
        ToolDef(
            name="leave_guest_message", toolset="front_desk", access="write", fn=leave_guest_message,
            title="Leave a message for a guest",
            description=(
                "Take a message for a guest (e.g. a caller asking to be phoned back) on a reservation due to arrive "
                "or in house; OPERA holds it until it is marked received. The stay's messages are read first and a "
                "lost answer is settled by reading them, so a message is never left twice; idempotency_key makes a "
                "repeat return the first result. Returns the stay's messages."
            ),
            exactly_once=ExactlyOnce(find_left, found_by="a message of the same text this server left on the stay"),
        ),
        ToolDef(
            name="list_guest_messages", toolset="front_desk", access="read", fn=list_guest_messages,
            title="A guest's messages",
            description=(
                "The messages waiting for a guest (include_received=true: the received ones too), with who they are "
                "for and when they were taken. Next: hand them over, then mark_message_received."
            ),
            read_only=True, idempotent=True,
        ),
        ToolDef(
            name="mark_message_received", toolset="front_desk", access="write", fn=mark_message_received,
            title="Mark a guest message received",
            description=(
                "Mark one of a stay's messages received by the guest (OPERA's delivered), by its message_id from "
                "list_guest_messages. Repeating it is harmless."
            ),
            idempotent=True,
        ),
    ]
