"""A simulated front desk: other OPERA users changing reservations, rooms and folios behind the server's back.

Real OPERA is written all day by the front desk, housekeeping and other interfaces (REAL-OPERA.md S12); this makes
the sandbox do the same, so tests can prove that nothing stale is served or written. Every change goes through the
Enterprise's domain methods, so OPERA's rules hold and business events are emitted (app/sandbox/events.py), with
no `x-externalsystem`: like a clerk at a screen.

Controls (under /_sandbox/, not OHIP):
- `POST /_sandbox/front-desk` `{"on": true, "interval": 2.0, "hotelId": "SAND01"}`: a clerk acts every interval;
  `{"on": false}` or `DELETE /_sandbox/front-desk` stops; `GET` tells the state and the last changes.
- `POST /_sandbox/front-desk/act` `{"hotelId": "SAND01", "count": 3, "actions": ["room_status"],
  "reservationId": "...", "roomId": "..."}`: makes up to `count` changes now and answers what each one was
  (action, record, old and new value), so a test knows exactly what changed.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from app.sandbox.routes.common import ohip_json
from app.sandbox.state import Hotel, Reservation, ReservationChange, SandboxError, currency_digits

if TYPE_CHECKING:
    from app.sandbox.app import Sandbox

log = logging.getLogger("app.sandbox.desk")

ACTIONS = ("extend_stay", "add_comment", "room_status", "post_charge")
MAX_ACTS = 100


@dataclass(frozen=True)
class Change:
    action: str
    hotel_id: str
    record: str  # reservation id or room number
    old: str | None
    new: str

    def describe(self) -> dict[str, Any]:
        return {"action": self.action, "hotelId": self.hotel_id, "record": self.record, "old": self.old,
                "new": self.new}


class FrontDesk:
    """The clerk: picks a change OPERA allows and makes it. Seeded, so a run is reproducible."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.random = random.Random(sandbox.config.seed)
        self.history: deque[Change] = deque(maxlen=50)
        self._task: asyncio.Task[None] | None = None
        self.interval = 0.0
        self.hotel_id: str | None = None

    # -- one change --------------------------------------------------------------------------------------

    def act(
        self,
        hotel_id: str,
        count: int = 1,
        actions: Sequence[str] = ACTIONS,
        *,
        reservation_id: str | None = None,
        room_id: str | None = None,
        status: str | None = None,
    ) -> list[Change]:
        hotel = self.sandbox.enterprise.hotel(hotel_id)
        made: list[Change] = []
        for _ in range(count):
            order = list(actions)
            self.random.shuffle(order)
            for action in order:  # the first action that finds something to change
                change = self._try(hotel, action, reservation_id, room_id, status)
                if change is not None:
                    made.append(change)
                    self.history.append(change)
                    break
        return made

    def _try(self, hotel: Hotel, action: str, reservation_id: str | None, room_id: str | None,
             status: str | None) -> Change | None:
        makers: dict[str, Callable[[], Change | None]] = {
            "extend_stay": lambda: self._extend_stay(hotel, reservation_id),
            "add_comment": lambda: self._add_comment(hotel, reservation_id),
            "room_status": lambda: self._room_status(hotel, room_id, status),
            "post_charge": lambda: self._post_charge(hotel, reservation_id),
        }
        try:
            return makers[action]()
        except SandboxError as exc:  # OPERA refused this one (no room left, say): the clerk tries something else
            log.debug("front desk %s refused: %s", action, exc.detail)
            return None

    def _reservations(self, hotel: Hotel, reservation_id: str | None, statuses: set[str]) -> list[Reservation]:
        if reservation_id is not None:
            found = hotel.reservations.get(reservation_id)
            return [found] if found is not None and found.status in statuses else []
        return sorted((r for r in hotel.reservations.values() if r.status in statuses),
                      key=lambda r: r.reservation_id)

    def _extend_stay(self, hotel: Hotel, reservation_id: str | None) -> Change | None:
        candidates = self._reservations(hotel, reservation_id, {"Reserved", "InHouse"})
        self.random.shuffle(candidates)
        for res in candidates[:10]:
            old = res.departure
            try:
                self.sandbox.enterprise.modify_reservation(
                    hotel.code, res.reservation_id, ReservationChange(departure=old + timedelta(days=1)))
            except SandboxError:
                continue
            return Change("extend_stay", hotel.code, res.reservation_id, old.isoformat(), res.departure.isoformat())
        return None

    def _add_comment(self, hotel: Hotel, reservation_id: str | None) -> Change | None:
        candidates = self._reservations(hotel, reservation_id, {"Reserved", "InHouse"})
        if not candidates:
            return None
        res = self.random.choice(candidates)
        text = self.random.choice(("Guest called: late arrival", "Requests a quiet room", "Extra towels please"))
        before = len(res.comments)
        self.sandbox.enterprise.modify_reservation(hotel.code, res.reservation_id,
                                                   ReservationChange(comments=[(None, text)]))
        return Change("add_comment", hotel.code, res.reservation_id, str(before), text)

    def _room_status(self, hotel: Hotel, room_id: str | None, status: str | None) -> Change | None:
        day = hotel.business_date
        rooms = [hotel.room(room_id)] if room_id is not None else [
            r for r in hotel.rooms.values() if r.repair_on(day) is None]
        if not rooms:
            return None
        room = self.random.choice(rooms)
        old = room.room_status
        new = status or ("Clean" if old == "Dirty" else "Dirty")
        self.sandbox.enterprise.update_room_status(hotel.code, [room.room_id], new)
        return Change("room_status", hotel.code, room.room_id, old, room.room_status)

    def _post_charge(self, hotel: Hotel, reservation_id: str | None) -> Change | None:
        candidates = self._reservations(hotel, reservation_id, {"InHouse"})
        codes = [c for c in hotel.transaction_codes.values()
                 if c.transaction_type == "Revenue" and c.default_price and c.manual_post_allowed]
        if not candidates or not codes:
            return None
        res = self.random.choice(candidates)
        code = self.random.choice(codes)
        before = res.balance
        self.sandbox.enterprise.post_charge(hotel.code, res.reservation_id, code.code, code.default_price,
                                            remark="Posted at the front desk")
        digits = currency_digits(hotel.currency)
        return Change("post_charge", hotel.code, res.reservation_id, f"{before:.{digits}f}",
                      f"{res.balance:.{digits}f}")

    # -- the clerk's shift -------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self, hotel_id: str, interval: float) -> None:
        self.sandbox.enterprise.hotel(hotel_id)  # 404 for an unknown hotel, before anything starts
        self.stop()
        self.hotel_id, self.interval = hotel_id, interval
        self._task = asyncio.get_running_loop().create_task(self._shift(hotel_id, interval), name="sandbox-desk")

    def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()

    async def _shift(self, hotel_id: str, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                self.act(hotel_id)
            except Exception:  # the clerk keeps working; a bug shows in the log, not as a dead task
                log.exception("simulated front desk failed")

    def describe(self) -> dict[str, Any]:
        return {"on": self.running, "interval": self.interval if self.running else None,
                "hotelId": self.hotel_id if self.running else None,
                "recent": [c.describe() for c in self.history]}


# ----------------------------------------------------------------------------------------------- controls


def _number(spec: dict[str, Any], name: str, default: float, low: float, high: float) -> float:
    value = spec.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise ValueError(f"{name} must be a number from {low:g} to {high:g}")
    return float(value)


def desk_routes(sandbox: Sandbox, prefix: str) -> list[BaseRoute]:
    async def body(request: Request) -> dict[str, Any]:
        try:
            spec = json.loads(await request.body() or b"{}")
        except (ValueError, UnicodeDecodeError) as exc:
            raise ValueError(f"the body is not valid JSON: {exc}") from None
        if not isinstance(spec, dict):
            raise ValueError("the body must be a JSON object")
        return spec

    def hotel_of(spec: dict[str, Any]) -> str:
        hotel_id = spec.get("hotelId") or next(iter(sandbox.enterprise.hotels))
        if str(hotel_id) not in sandbox.enterprise.hotels:
            raise ValueError(f"unknown hotelId {hotel_id!r}; known: {', '.join(sandbox.enterprise.hotels)}")
        return str(hotel_id)

    async def switch(request: Request) -> Response:
        try:
            spec = await body(request)
            unknown = set(spec) - {"on", "interval", "hotelId"}
            if unknown:
                raise ValueError(f"unknown fields {sorted(unknown)}; allowed: on, interval, hotelId")
            if spec.get("on", True):
                sandbox.desk.start(hotel_of(spec), _number(spec, "interval", 2.0, 0.05, 3600))
            else:
                sandbox.desk.stop()
        except ValueError as exc:
            return ohip_json({"error": str(exc)}, 400)
        return ohip_json(sandbox.desk.describe())

    async def stop(request: Request) -> Response:
        sandbox.desk.stop()
        return ohip_json(sandbox.desk.describe())

    async def state(request: Request) -> Response:
        return ohip_json(sandbox.desk.describe())

    async def act(request: Request) -> Response:
        try:
            spec = await body(request)
            unknown = set(spec) - {"hotelId", "count", "actions", "reservationId", "roomId", "status"}
            if unknown:
                raise ValueError(f"unknown fields {sorted(unknown)}; allowed: hotelId, count, actions, "
                                 "reservationId, roomId, status")
            actions = spec.get("actions", list(ACTIONS))
            if not isinstance(actions, list) or not actions or any(a not in ACTIONS for a in actions):
                raise ValueError(f"actions must be a non-empty list of {', '.join(ACTIONS)}")
            count = int(_number(spec, "count", 1, 1, MAX_ACTS))
            made = sandbox.desk.act(
                hotel_of(spec), count, actions, reservation_id=spec.get("reservationId"),
                room_id=spec.get("roomId"), status=spec.get("status"),
            )
        except ValueError as exc:
            return ohip_json({"error": str(exc)}, 400)
        except SandboxError as exc:
            return ohip_json({"error": exc.detail}, exc.status)
        return ohip_json({"changes": [c.describe() for c in made], "count": len(made)})

    return [
        Route(prefix + "/front-desk", switch, methods=["POST"]),
        Route(prefix + "/front-desk", stop, methods=["DELETE"]),
        Route(prefix + "/front-desk", state, methods=["GET"]),
        Route(prefix + "/front-desk/act", act, methods=["POST"]),
    ]

