"""OPERA guest messages (rsv): a message taken for a guest ("Kate phoned, please call her back"), as Oracle's workflow
"Guest Messages for an In House Guest" sends it, read back with getGuestMessages and marked received when handed over.

A message is a POST whose repeat the guest would receive twice, and OPERA does not say it refuses a second message of
the same text: it is never repeated blindly. The caller reads the stay's messages before the POST and, after a lost
answer, looks for a new one of the same text.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from app.opera.http import OperaHTTP, Operation
from app.opera.models import OperaWarning, warnings_from
from app.opera.reservations import as_dict

_MESSAGES_PATH = "/hotels/{hotelId}/reservations/{reservationId}/guestMessages"
GET_GUEST_MESSAGES = Operation("rsv", "getGuestMessages", "GET", "/hotels/{hotelId}/guestMessages")
POST_GUEST_MESSAGES = Operation("rsv", "postGuestMessages", "POST", _MESSAGES_PATH)
PUT_GUEST_MESSAGE = Operation("rsv", "putGuestMessages", "PUT", _MESSAGES_PATH + "/{guestMessageId}")

#: Who the messages this server leaves are from (messageType.operator, "User who created the Message").
OPERATOR = "opera-cloud-mcp"
#: getGuestMessages: "The maximum allowable limit for this API is 100".
MAX_MESSAGES = 100


class GuestMessage(BaseModel):
    """One message for a guest (rsv `resvGuestMessageType`)."""

    message_id: str = Field(description="OPERA's id of the message")
    text: str = Field(description="the message")
    recipient: str | None = Field(default=None, description="who it is for")
    operator: str | None = Field(default=None, description="who took it")
    created: str | None = Field(default=None, description="when it was taken, as OPERA states it")
    delivered: bool = Field(description="true once the guest has received it (OPERA's Mr); false: Nr")
    delivered_at: str | None = None


def _message(raw: dict[str, Any]) -> GuestMessage | None:
    message, delivery = as_dict(raw.get("message")), as_dict(raw.get("delivery"))
    identifier = raw.get("id")
    if identifier is None or message.get("messageText") is None:
        return None
    return GuestMessage(
        message_id=str(identifier), text=str(message["messageText"]), recipient=message.get("recipient") or None,
        operator=message.get("operator") or None, created=message.get("messageDate") or raw.get("createDateTime"),
        delivered=delivery.get("deliveryStatus") == "Mr", delivered_at=delivery.get("deliveryDate"),
    )


def _messages(body: Any) -> list[GuestMessage]:
    raw = as_dict(body).get("guestMessages")
    return [m for entry in raw if isinstance(entry, dict) and (m := _message(entry))] if isinstance(raw, list) else []


class GuestMessagesAPI:
    """rsv guest messages: read, leave, mark received."""

    def __init__(self, http: OperaHTTP) -> None:
        self._http = http

    async def messages(self, hotel_id: str, reservation_id: str, *, delivered: bool = True) -> list[GuestMessage]:
        """getGuestMessages of one reservation: the undelivered ones and, with `delivered`, the received ones too;
        [] on 204. Never from a cache: the desk hands messages over all day."""
        params: dict[str, str | int | bool] = {"reservationId": reservation_id, "retrieveUndeliveredMessages": True,
                  "retrieveDeliveredMessages": delivered, "limit": MAX_MESSAGES}
        response = await self._http.call(GET_GUEST_MESSAGES, hotel_id=hotel_id, params=params, cache="none")
        if response.status == 204:
            return []
        return _messages(response.body)

    async def leave(
        self, hotel_id: str, reservation_id: str, *, text: str, recipient: str | None
    ) -> tuple[GuestMessage | None, list[OperaWarning]]:
        """postGuestMessages: one text message (typeOfMessage Tm), not yet received (Nr), from this server. OPERA
        stamps the time it was taken. Returns the message OPERA answers with, when it does."""
        message: dict[str, Any] = {"messageText": text, "typeOfMessage": "Tm", "operator": OPERATOR}
        if recipient:
            message["recipient"] = recipient
        body = {
            "reservationIdList": [{"id": reservation_id, "type": "Reservation"}],
            "hotelId": hotel_id,
            "guestMessages": [{"message": message, "delivery": {"deliveryStatus": "Nr"}}],
        }
        response = await self._http.call(
            POST_GUEST_MESSAGES, hotel_id=hotel_id, path_params={"reservationId": reservation_id}, json=body
        )
        made = _messages(response.body)
        return (made[0] if made else None), warnings_from(response.body)

    async def mark_delivered(self, hotel_id: str, reservation_id: str, message: GuestMessage) -> list[OperaWarning]:
        """putGuestMessages: the message received (Mr), delivered by this server, its text as OPERA holds it. A set
        state: a repeat changes nothing more."""
        text: dict[str, Any] = {"messageText": message.text, "typeOfMessage": "Tm"}
        if message.recipient:
            text["recipient"] = message.recipient
        body = {
            "hotelId": hotel_id,
            "guestMessages": [{"message": text, "delivery": {"deliveryStatus": "Mr", "deliveredBy": OPERATOR}}],
        }
        response = await self._http.call(
            PUT_GUEST_MESSAGE, hotel_id=hotel_id,
            path_params={"reservationId": reservation_id, "guestMessageId": message.message_id}, json=body,
        )
        return warnings_from(response.body)
