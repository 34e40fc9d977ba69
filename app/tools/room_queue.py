"""The queue for rooms at the front desk: a guest who has arrived before the room is ready waits in OPERA's queue,
which housekeeping reads to clean those rooms first; check-in takes the guest off it.

Both writes are set states read first: a guest already queued keeps the place, one not queued is not removed again.
"""

from __future__ import annotations

from contextlib import suppress

from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, Field

from app.opera.errors import OperaError
from app.opera.models import OperaWarning
from app.opera.reservations import Reservation, ReservationsAPI, ReservationSummary
from app.opera.room_queue import RoomQueueAPI
from app.security.untrusted import guest_label
from app.tools.billing import HotelId, ReservationId
from app.tools.registry import ToolDef, ToolServices, read_reservation, tool_error


class QueuedGuest(BaseModel):
    place: int = Field(description="place in the queue, 1 first")
    reservation_id: str
    guest_name: str | None = None
    room_type: str | None = None
    room_id: str | None = Field(default=None, description="the room assigned, which housekeeping readies first")


class RoomQueue(BaseModel):
    hotel_id: str
    reservation_id: str | None = Field(default=None, description="the reservation this call queued or took off")
    changed: bool = Field(default=False, description="true when this call changed the queue")
    place: int | None = Field(default=None, description="the reservation's place in the queue now (null: not in it)")
    queue: list[QueuedGuest] = Field(description="the queue now, in OPERA's order")
    warnings: list[OperaWarning] = Field(default_factory=list)
    next_step: str


def build(services: ToolServices) -> list[ToolDef]:
    api = RoomQueueAPI(services.http)
    reservations = ReservationsAPI(services.http)

    async def read(hotel: str, tool: str) -> list[ReservationSummary]:
        try:
            return await api.queue(hotel)
        except OperaError as exc:
            raise tool_error(exc, what=f"{tool}: reading the queue of {hotel}", next_step="retry") from None

    async def stay(hotel: str, reservation_id: str, tool: str) -> Reservation:
        return await read_reservation(reservations, hotel, reservation_id, tool, find_with="list_arrivals")

    def place_of(queue: list[ReservationSummary], reservation_id: str) -> int | None:
        return next((i + 1 for i, r in enumerate(queue) if r.reservation_id == reservation_id), None)

    def result(hotel: str, queue: list[ReservationSummary], next_step: str, *, reservation_id: str | None = None,
               changed: bool = False, warnings: list[OperaWarning] | None = None) -> RoomQueue:
        return RoomQueue(
            hotel_id=hotel, reservation_id=reservation_id, changed=changed,
            place=place_of(queue, reservation_id) if reservation_id else None,
            queue=[QueuedGuest(place=i + 1, reservation_id=r.reservation_id, guest_name=r.guest_name,
                               room_type=r.room_type, room_id=r.room_id) for i, r in enumerate(queue)],
            warnings=warnings or [], next_step=next_step,
        )

    async def queue_for_room(reservation_id: ReservationId, hotel_id: HotelId = None) -> RoomQueue:
        hotel = services.hotel(hotel_id)
        record = await stay(hotel, reservation_id, "queue_for_room")
        if record.status != "DueIn":
            raise ToolError(
                f"queue_for_room refused: reservation {reservation_id} ({guest_label(record.guest_name)}) is "
                f"{record.status or 'not due in'}; OPERA queues a reservation before check-in on its arrival day, "
                "and nothing was changed"
            )
        queue = await read(hotel, "queue_for_room")
        step = ("housekeeping sees the queue (list_room_queue) and readies these rooms first; check_in when the room "
                "is ready takes the guest off the queue")
        if place_of(queue, reservation_id) is not None:
            return result(hotel, queue, "the guest is already in the queue: " + step, reservation_id=reservation_id)
        try:
            _, warnings = await api.add(hotel, reservation_id)
        except OperaError as exc:
            # A lost answer after OPERA queued it: the queue decides.
            try:
                queue = await api.queue(hotel)
            except OperaError:
                queue = []
            if place_of(queue, reservation_id) is None:
                raise tool_error(exc, what=f"queue_for_room {reservation_id} in {hotel}",
                                 next_step="list_room_queue shows whether it is queued") from None
            return result(hotel, queue, step, reservation_id=reservation_id, changed=True)
        queue = await read(hotel, "queue_for_room")
        return result(hotel, queue, step, reservation_id=reservation_id, changed=True, warnings=warnings)

    async def list_room_queue(hotel_id: HotelId = None) -> RoomQueue:
        hotel = services.hotel(hotel_id)
        queue = await read(hotel, "list_room_queue")
        return result(hotel, queue, (
            "ready these guests' rooms first (update_room_status), then check_in them" if queue else
            "no guest is waiting for a room"))

    async def remove_from_queue(reservation_id: ReservationId, hotel_id: HotelId = None) -> RoomQueue:
        hotel = services.hotel(hotel_id)
        queue = await read(hotel, "remove_from_queue")
        if place_of(queue, reservation_id) is None:
            return result(hotel, queue, "the reservation is not in the queue: nothing was changed",
                          reservation_id=reservation_id)
        try:
            warnings = await api.remove(hotel, reservation_id)
        except OperaError as exc:
            # A lost answer after OPERA took it off: the queue decides.
            with suppress(OperaError):  # unread: the queue read before holds the reservation, so the failure stands
                queue = await api.queue(hotel)
            if place_of(queue, reservation_id) is not None:
                raise tool_error(exc, what=f"remove_from_queue {reservation_id} in {hotel}",
                                 next_step="list_room_queue shows whether it is still queued") from None
            warnings = []
        else:
            queue = await read(hotel, "remove_from_queue")
        return result(hotel, queue, "the reservation is off the queue", reservation_id=reservation_id,
                      changed=True, warnings=warnings)

    return [
        ToolDef(
            name="queue_for_room", toolset="front_desk", access="write", fn=queue_for_room,
            title="Queue an arrived guest for a room",
            description=(
                "Put a guest due in today whose room is not ready into OPERA's queue for rooms, so housekeeping "
                "readies it first; check-in takes the guest off the queue. A guest already queued keeps the place: "
                "repeating it is harmless. Returns the queue."
            ),
            idempotent=True,
        ),
        ToolDef(
            name="list_room_queue", toolset="front_desk", access="read", fn=list_room_queue,
            title="Guests waiting for a room",
            description=(
                "OPERA's queue for rooms: the arrived guests waiting for their room, in order, with the room assigned "
                "to each. Housekeeping readies these first."
            ),
            read_only=True, idempotent=True,
        ),
        ToolDef(
            name="remove_from_queue", toolset="front_desk", access="write", fn=remove_from_queue,
            title="Take a guest off the queue for rooms",
            description=(
                "Take a reservation off OPERA's queue for rooms (the guest left, or was given another room); "
                "check_in does it by itself. Repeating it is harmless. Returns the queue."
            ),
            idempotent=True,
        ),
    ]
