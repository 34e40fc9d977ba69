"""The hotel's OPERA business date (bof getBusinessDate).

OPERA's "today" is not the calendar: the business date of a property moves only when its night audit runs, which
can be hours after midnight, and a property keeps its own time zone. Arrivals, departures, check-in and check-out
all follow it, so the tools ask OPERA rather than the server's clock. The answer is cached briefly (the
"business" kind's TTL) and per hotel; a write that depends on it reads it fresh.
"""

from __future__ import annotations

from datetime import date

from app.opera.errors import OperaError
from app.opera.http import OperaHTTP, Operation

GET_BUSINESS_DATE = Operation("bof", "getBusinessDate", "GET", "/hotels/{hotelId}/businessDate")


class BusinessDateAPI:
    """bof: the business date of a hotel."""

    def __init__(self, http: OperaHTTP) -> None:
        self._http = http

    async def today(self, hotel_id: str, *, fresh: bool = False) -> date:
        """The hotel's current business date; OperaError when OHIP gives none for the hotel."""
        response = await self._http.call(
            GET_BUSINESS_DATE, hotel_id=hotel_id, cache="none" if fresh else "business"
        )
        hotels = (response.body or {}).get("hotels")
        for entry in hotels if isinstance(hotels, list) else []:
            if not isinstance(entry, dict) or entry.get("hotelId") not in (hotel_id, None):
                continue
            try:
                return date.fromisoformat(str(entry.get("businessDate")))
            except ValueError:
                break
        raise OperaError(
            f"OHIP gave no business date for hotel {hotel_id} (bof.getBusinessDate); check the hotel code",
            operation=GET_BUSINESS_DATE.name, status=response.status, hotel_id=hotel_id,
        )
