"""Reading a test's sandbox the way the hotel sees it, and steering its faults: what exactly-once tests check."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import httpx2

BUSINESS_DATE = date(2026, 5, 1)
RAW_HEADERS = {"accept": "application/json, text/event-stream", "content-type": "application/json",
               "mcp-protocol-version": "2025-11-25"}


def stay(surname: str, *, days_ahead: int = 30, **overrides: Any) -> dict[str, Any]:
    """create_reservation arguments for a two-night stay of a guest named `surname`."""
    args: dict[str, Any] = {
        "arrival": str(BUSINESS_DATE + timedelta(days=days_ahead)),
        "departure": str(BUSINESS_DATE + timedelta(days=days_ahead + 2)),
        "room_type": "KNG", "rate_plan": "BAR", "adults": 1, "given_name": "Ada", "surname": surname,
    }
    args.update(overrides)
    return args


def bookings_of(sandbox: Any, surname: str, hotel_id: str = "SAND01") -> list[Any]:
    """The reservations the sandbox holds for guests with this surname."""
    hotel = sandbox.enterprise.hotels[hotel_id]
    profiles = sandbox.enterprise.profiles
    return [r for r in hotel.reservations.values()
            if r.profile_id in profiles and profiles[r.profile_id].surname == surname]


async def inject_fault(sandbox_url: str, **spec: Any) -> None:
    async with httpx2.AsyncClient() as http:
        answer = await http.post(f"{sandbox_url}/_sandbox/faults", json=spec)
        assert answer.status_code == 201, answer.text


def raw_call(name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    """A sessionless tools/call body, for tests that must control the HTTP request itself (timeouts, drains)."""
    return {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": name, "arguments": arguments}}
