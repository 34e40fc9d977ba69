"""OPERA's queue for rooms (fof): guests who "have arrived at the hotel, but their room isn't ready, so they're sitting
in a queue", which housekeeping reads to know which rooms to clean first. Oracle's workflow "Queue Rooms": PUT adds a
reservation, GET lists the queue, DELETE takes one off; check-in takes it off too.
"""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field

from app.opera.http import OperaHTTP, Operation
from app.opera.models import OperaWarning, warnings_from
from app.opera.reservations import ReservationSummary, as_date, as_dict, as_int, as_list, summary_from_row

_QUEUE_PATH = "/hotels/{hotelId}/queuedReservations"
GET_QUEUE = Operation("fof", "getReservationsInQueue", "GET", _QUEUE_PATH)
ADD_TO_QUEUE = Operation("fof", "addReservationToQueue", "PUT", _QUEUE_PATH + "/{reservationId}")
REMOVE_FROM_QUEUE = Operation("fof", "deleteReservationFromQueue", "DELETE", _QUEUE_PATH + "/{reservationId}")


class QueuePlace(BaseModel):
    """addReservationToQueue's answer (`reservationQueueInformationType`)."""

    priority: int | None = Field(default=None, description="the stay's place in OPERA's queue (1 comes first)")
    queue_date: date | None = Field(default=None, description="the business date it is queued for")
    average_wait_s: int | None = Field(default=None, description="how long queued guests have waited, on average")


class RoomQueueAPI:
    """fof queued reservations."""

    def __init__(self, http: OperaHTTP) -> None:
        self._http = http

    async def queue(self, hotel_id: str) -> list[ReservationSummary]:
        """getReservationsInQueue: the reservations in the queue, in OPERA's order; [] on 204. Never from a cache:
        the queue moves with every room cleaned and every check-in."""
        response = await self._http.call(GET_QUEUE, hotel_id=hotel_id, cache="none")
        if response.status == 204:
            return []
        rows = as_list(as_dict(as_dict(response.body).get("reservations")).get("reservationInfo"))
        return [s for row in rows if isinstance(row, dict) and (s := summary_from_row(row, hotel_id))]

    async def add(self, hotel_id: str, reservation_id: str) -> tuple[QueuePlace, list[OperaWarning]]:
        """addReservationToQueue, in the body of Oracle's workflow. "A reservation can be added to the queue prior to
        Check-In on the day of arrival"."""
        body = {"reservationId": {"type": "Reservation", "idContext": "OPERA", "id": reservation_id},
                "hotelId": hotel_id}
        response = await self._http.call(
            ADD_TO_QUEUE, hotel_id=hotel_id, path_params={"reservationId": reservation_id}, json=body
        )
        info = as_dict(as_dict(response.body).get("queueInfo"))
        place = QueuePlace(priority=as_int(info.get("priority")), queue_date=as_date(info.get("queueDate")),
                           average_wait_s=as_int(info.get("averageQueueTimeCurrentReservations")))
        return place, warnings_from(response.body)

    async def remove(self, hotel_id: str, reservation_id: str) -> list[OperaWarning]:
        """deleteReservationFromQueue."""
        response = await self._http.call(
            REMOVE_FROM_QUEUE, hotel_id=hotel_id, path_params={"reservationId": reservation_id}
        )
        return warnings_from(response.body)
