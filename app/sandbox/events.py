"""OPERA's business events in the sandbox: every change, by anyone, queued per hotel for each external system.

OPERA places a business event in a queue for every configured external system when a user or an interface changes
a reservation, a room, a folio or a profile; `int getBusinessEvents` dequeues them ("Number of messages web service
should dequeue from the BE queue", int.json). A change made by a request that carries `x-externalsystem` is not
queued back to that same system, so an interface does not read its own writes as news.

One hook point: `attach(enterprise, queues)` wraps the Enterprise's domain methods (the table `EMITTERS`) once,
at class level, so a change made through the API and one made by the simulated front desk (app/sandbox/desk.py)
emit the same events and the domain rules hold for both. A refused change (SandboxError) emits nothing; a change
made inside another (the room charge of a check-in) names the outer one as `parentActionId`.
"""

from __future__ import annotations

import functools
import inspect
import itertools
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from app.sandbox.state import Enterprise, Posting, Profile, Reservation, Room, currency_digits

Scope = MutableMapping[str, Any]

#: OPERA keeps a bounded queue; the sandbox keeps this many events per hotel and external system, oldest dropped.
QUEUE_MAX = 2000
#: int.json: `limit` "maximum": 20.
MAX_PER_CALL = 20


@dataclass(frozen=True)
class Origin:
    """Who is making the current change: the `x-externalsystem` and `x-hotelid` of the request (None: a user at
    the desk)."""

    external_system: str | None
    hotel_id: str | None


_ORIGIN: ContextVar[Origin | None] = ContextVar("sandbox_event_origin", default=None)
_PARENT: ContextVar[int | None] = ContextVar("sandbox_event_parent", default=None)


@dataclass
class BusinessEvent:
    action_id: int
    module: str  # businessEventModuleType
    action_type: str
    primary_key: str
    hotel_id: str
    created: datetime
    details: list[dict[str, str]] = field(default_factory=list)
    parent_action_id: int | None = None
    origin: str | None = None

    def body(self) -> dict[str, Any]:
        """One `businessEventDataType` as int.json shapes it."""
        header: dict[str, Any] = {
            "moduleName": self.module,
            "actionType": self.action_type,
            "actionId": self.action_id,
            "primaryKey": self.primary_key,
            "publisherId": 1 if self.origin is None else 2,
            "createdDateTime": self.created.isoformat(timespec="seconds"),
            "hotelId": self.hotel_id,
        }
        if self.parent_action_id is not None:
            header["parentActionId"] = self.parent_action_id
        return {"businessEvent": {"header": header, "details": list(self.details)},
                "businessEventId": {"id": str(self.action_id)}}


class EventQueues:
    """The business event queues: one per (hotel, external system), bounded."""

    def __init__(self, max_per_queue: int = QUEUE_MAX) -> None:
        self.max_per_queue = max_per_queue
        self._queues: dict[tuple[str, str], deque[BusinessEvent]] = {}
        self._ids = itertools.count(1)
        self.published = 0

    def next_id(self) -> int:
        return next(self._ids)

    def publish(self, event: BusinessEvent, systems: Iterable[str]) -> None:
        """Queue `event` for every external system of its hotel except the one whose request made the change."""
        self.published += 1
        for system in systems:
            if event.origin is not None and system.upper() == event.origin.upper():
                continue
            queue = self._queues.setdefault((event.hotel_id, system.upper()), deque(maxlen=self.max_per_queue))
            queue.append(event)

    def dequeue(self, system: str, hotel_id: str | None, limit: int) -> list[BusinessEvent]:
        """Up to `limit` events, oldest first, removed from the queue(s); `hotel_id` None: every hotel."""
        keys = [k for k in self._queues if k[1] == system.upper() and (hotel_id is None or k[0] == hotel_id)]
        merged = sorted((e for k in keys for e in self._queues[k]), key=lambda e: e.action_id)[:limit]
        taken = {id(e) for e in merged}
        for key in keys:
            queue = self._queues[key]
            kept = [e for e in queue if id(e) not in taken]
            queue.clear()
            queue.extend(kept)
        return merged

    def pending(self, system: str, hotel_id: str | None = None) -> int:
        return sum(len(q) for (h, s), q in self._queues.items()
                   if s == system.upper() and (hotel_id is None or h == hotel_id))

    def clear(self) -> None:
        self._queues.clear()


class OriginMiddleware:
    """Pure ASGI: remembers the request's `x-externalsystem` and `x-hotelid` while its route runs."""

    def __init__(self, app: Callable[..., Any]) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        token = _ORIGIN.set(Origin(headers.get("x-externalsystem") or None, headers.get("x-hotelid") or None))
        try:
            await self.app(scope, receive, send)
        finally:
            _ORIGIN.reset(token)


# --------------------------------------------------------------------------------------------- what is emitted


@dataclass(frozen=True)
class _Emits:
    module: str
    action: str
    #: Skip the event when this argument is true (a dry run changes nothing).
    unless: str | None = None


#: Enterprise method -> the event it emits. Action types as OPERA names them (Oracle's CRS integration guide lists
#: NEW RESERVATION, UPDATE RESERVATION, CHECK IN, CHECK OUT, REVERSE CHECK IN, REVERSE CHECK OUT, CANCEL, ROLLBACK
#: CANCEL, NEW OUT OF ORDER, UPDATE OUT OF ORDER; int.json's examples NEW/UPDATE PROFILE). Methods not present are
#: skipped.
EMITTERS: Mapping[str, _Emits] = {
    "create_profile": _Emits("Profile", "NEW PROFILE"),
    "update_profile": _Emits("Profile", "UPDATE PROFILE"),
    "modify_profile": _Emits("Profile", "UPDATE PROFILE"),
    "create_reservation": _Emits("Reservation", "NEW RESERVATION"),
    "modify_reservation": _Emits("Reservation", "UPDATE RESERVATION"),
    "cancel_reservation": _Emits("Reservation", "CANCEL", unless="verification_only"),
    "reinstate_reservation": _Emits("Reservation", "ROLLBACK CANCEL"),
    "split_reservation": _Emits("Reservation", "UPDATE RESERVATION"),
    "assign_room": _Emits("Reservation", "UPDATE RESERVATION"),
    "unassign_room": _Emits("Reservation", "UPDATE RESERVATION"),
    "check_in": _Emits("Reservation", "CHECK IN"),
    "undo_check_in": _Emits("Reservation", "REVERSE CHECK IN"),
    "move_room": _Emits("Reservation", "UPDATE RESERVATION"),
    "check_out": _Emits("Reservation", "CHECK OUT"),
    "reinstate_check_out": _Emits("Reservation", "REVERSE CHECK OUT"),
    "update_room_status": _Emits("Housekeeping", "UPDATE ROOM STATUS"),
    "set_service_request": _Emits("Housekeeping", "UPDATE ROOM STATUS"),
    "set_room_condition": _Emits("Housekeeping", "UPDATE ROOM STATUS"),
    "start_repair": _Emits("Housekeeping", "NEW OUT OF ORDER"),
    "complete_repair": _Emits("Housekeeping", "UPDATE OUT OF ORDER"),
    "post_room_charge": _Emits("Cashiering", "NEW FINANCIAL TRANSACTION"),
    "post_charge": _Emits("Cashiering", "NEW FINANCIAL TRANSACTION"),
    "post_payment": _Emits("Cashiering", "NEW FINANCIAL TRANSACTION"),
    "post_deposit": _Emits("Cashiering", "NEW FINANCIAL TRANSACTION"),
    "night_audit": _Emits("NightAudit", "END OF DAY"),
    "run_night_audit": _Emits("NightAudit", "END OF DAY"),
}


def _reservation_view(res: Reservation) -> dict[str, str]:
    return {
        "RESERVATION STATUS": res.status,
        "ARRIVAL DATE": res.arrival.isoformat(),
        "DEPARTURE DATE": res.departure.isoformat(),
        "ROOM TYPE": res.room_type,
        "ROOM": res.room_id or "",
        "ADULTS": str(res.adults),
        "RATE CODE": res.rate_plan,
        "CONFIRMATION NO": res.confirmation_number,
        "COMMENTS": str(len(res.comments)),
    }


def _room_view(room: Room) -> dict[str, str]:
    return {"ROOM STATUS": room.room_status, "SERVICE STATUS": room.service_request,
            "OUT OF ORDER": str(bool(room.repairs)).upper(),
            "ROOM CONDITION": room.condition.code.code if room.condition is not None else ""}


def _profile_view(profile: Profile) -> dict[str, str]:
    view = {"NAME": profile.surname, "FIRST NAME": profile.given_name}
    for element, attribute in (("EMAIL", "email"), ("PHONE NUMBER", "phone"), ("CITY", "city")):
        view[element] = str(getattr(profile, attribute, None) or "")
    return view


def _details(before: Mapping[str, str] | None, after: Mapping[str, str]) -> list[dict[str, str]]:
    rows = []
    for element, new in after.items():
        old = (before or {}).get(element)
        if before is not None and old == new:
            continue  # only what changed, as OPERA's update events carry the subscribed elements that changed
        row = {"dataElement": element, "newValue": new}
        if old is not None:
            row["oldValue"] = old
        rows.append(row)
    return rows


def _subjects(enterprise: Enterprise, args: Mapping[str, Any], result: Any) -> Iterator[tuple[str, str, Any]]:
    """(hotel, primary key, the object) of each record the change touched."""
    hotel_id = args.get("hotel_id")
    if hotel_id is None and args.get("hotel") is not None:
        hotel_id = args["hotel"].code
    if isinstance(result, Reservation):
        yield result.hotel_id, result.reservation_id, result
    elif isinstance(getattr(result, "reservation", None), Reservation):
        res = result.reservation
        yield res.hotel_id, res.reservation_id, res
    elif isinstance(result, list) and result and all(isinstance(r, Reservation) for r in result):
        # a split: the reservation split, then each one it made
        split = enterprise.hotels[str(hotel_id)].reservations.get(str(args.get("reservation_id")))
        yield str(hotel_id), str(args.get("reservation_id")), split
        for res in result:
            yield res.hotel_id, res.reservation_id, res
    elif isinstance(result, list) and all(isinstance(r, Room) for r in result) and hotel_id is not None:
        for room in result:
            yield str(hotel_id), room.room_id, room
    elif isinstance(result, Posting):
        res = args.get("reservation")
        reservation_id = res.reservation_id if isinstance(res, Reservation) else args.get("reservation_id")
        yield str(hotel_id), str(reservation_id), result
    elif isinstance(result, Profile):
        yield "", result.profile_id, result
    elif "profile_id" in args and args["profile_id"] in enterprise.profiles:
        yield "", str(args["profile_id"]), enterprise.profiles[str(args["profile_id"])]
    elif hotel_id is not None:
        yield str(hotel_id), str(args.get("reservation_id") or hotel_id), None


def _view(obj: Any) -> dict[str, str] | None:
    if isinstance(obj, Reservation):
        return _reservation_view(obj)
    if isinstance(obj, Room):
        return _room_view(obj)
    if isinstance(obj, Profile):
        return _profile_view(obj)
    if isinstance(obj, Posting):
        return {"TRANSACTION CODE": obj.transaction_code, "AMOUNT": f"{obj.amount:.{currency_digits(obj.currency)}f}",
                "TRANSACTION NO": str(obj.transaction_no)}
    return None


def _before(enterprise: Enterprise, args: Mapping[str, Any]) -> dict[str, dict[str, str]]:
    """Views of the records the change is about to touch, by primary key (for old values)."""
    views: dict[str, dict[str, str]] = {}
    hotel = enterprise.hotels.get(str(args.get("hotel_id")))
    if hotel is not None:
        res = hotel.reservations.get(str(args.get("reservation_id")))
        if res is not None:
            views[res.reservation_id] = _reservation_view(res)
        for room_id in args.get("room_ids") or ():
            room = hotel.rooms.get(str(room_id))
            if room is not None:
                views[room.room_id] = _room_view(room)
    profile = enterprise.profiles.get(str(args.get("profile_id")))
    if profile is not None:
        views[profile.profile_id] = _profile_view(profile)
    return views


def _wrap(original: Callable[..., Any], emits: _Emits) -> Callable[..., Any]:
    signature = inspect.signature(original)

    @functools.wraps(original)
    def emitting(self: Enterprise, *args: Any, **kwargs: Any) -> Any:
        queues = self.events
        if not isinstance(queues, EventQueues):
            return original(self, *args, **kwargs)
        bound = signature.bind(self, *args, **kwargs)
        bound.apply_defaults()
        arguments = dict(bound.arguments)
        before = _before(self, arguments)
        action_id = queues.next_id()
        parent = _PARENT.get()
        token = _PARENT.set(action_id)
        try:
            result = original(self, *args, **kwargs)
        finally:
            _PARENT.reset(token)
        if emits.unless is not None and arguments.get(emits.unless):
            return result
        origin = _ORIGIN.get()
        for index, (hotel_id, key, obj) in enumerate(_subjects(self, arguments, result)):
            view = _view(obj)
            hotels = [hotel_id] if hotel_id else (
                [origin.hotel_id] if origin is not None and origin.hotel_id in self.hotels else list(self.hotels)
            )
            for hotel_code in hotels:
                hotel = self.hotels.get(hotel_code)
                if hotel is None:
                    continue
                event = BusinessEvent(
                    action_id=action_id if index == 0 and hotel_code == hotels[0] else queues.next_id(),
                    module=emits.module, action_type=emits.action, primary_key=key, hotel_id=hotel_code,
                    created=self.now(hotel),
                    details=_details(before.get(key), view) if view is not None else [],
                    parent_action_id=parent, origin=origin.external_system if origin is not None else None,
                )
                queues.publish(event, hotel.external_systems)
        return result

    emitting._emits_business_events = True  # type: ignore[attr-defined]
    return emitting


def _instrument() -> None:
    for name, emits in EMITTERS.items():
        original = getattr(Enterprise, name, None)
        if original is None or getattr(original, "_emits_business_events", False):
            continue
        setattr(Enterprise, name, _wrap(original, emits))


def attach(enterprise: Enterprise, queues: EventQueues) -> None:
    """From now on every change to `enterprise` is queued in `queues`."""
    _instrument()
    enterprise.events = queues
