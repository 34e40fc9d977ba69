"""`opera-cloud-mcp audit` answers a duty manager's questions, exactly as docs/operations.md writes them, against a
trail that real tool calls over HTTP wrote: what the assistant did in room 204 last night (its check-in, and the
charge on that stay, which does not name the room), which payments were refused today (by scope, by hotel, by
OPERA's state; not the one that was posted), and everything one key did for one hotel this week."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from app.ops.audit_query import AuditQueryError, parse_when
from app.security.api_keys import new_api_key
from tests.support.apps import embedded_settings, running_app
from tests.support.fleet import CLEAN_ENV
from tests.support.mcp_client import call_error, call_ok

ROOM = "204"
#: The stay the embedded sandbox seeds due in today with room 204 already assigned.
STAY_IN_204 = "100208"


@asynccontextmanager
async def as_key(url: str, key: str) -> AsyncIterator[Client]:
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {key}"}, timeout=httpx2.Timeout(30.0))
    async with http, Client(streamable_http_client(f"{url}/mcp", http_client=http)) as client:
        yield client


@dataclass
class Trail:
    path: Path
    events: list[dict[str, Any]]


def midday_zone() -> str:
    """A POSIX TZ in which it is now about midday, so today / yesterday 18:00 / this week hold the events of this
    test whenever it runs (its local midnight is hours away)."""
    shift = 12 - datetime.now(UTC).hour  # hours east of UTC
    return f"LOC{-shift:+d}"  # POSIX counts hours west


def audit(trail: Trail, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "app", "audit", "--file", str(trail.path), *args],
                          capture_output=True, text=True, check=False, env={**CLEAN_ENV, "TZ": midday_zone()},
                          timeout=60)


def answered(trail: Trail, *args: str) -> list[dict[str, Any]]:
    done = audit(trail, *args, "--json")
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


def keyed(events: list[dict[str, Any]]) -> list[tuple[str, str, str, str | None]]:
    return sorted((e["caller"]["name"], e["tool"], e["outcome"], e.get("reason")) for e in events)


@pytest.fixture(scope="module")
def trail(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Trail]:
    path = tmp_path_factory.mktemp("audit") / "audit.jsonl"
    night = new_api_key("night-bot", "opera:read,opera:write,opera:billing", "SAND01")
    desk = new_api_key("frontdesk-bot", "opera:read,opera:write,opera:billing", "SAND01")
    reader = new_api_key("reader", "opera:read", "*")
    settings, port = embedded_settings(audit_log=str(path), mcp_auth="api_key",
                                       mcp_api_keys=";".join(k.line for k in (night, desk, reader)))
    with running_app(settings, port) as srv:
        hotel = srv.app.state.sandbox.enterprise.hotels["SAND01"]
        assert hotel.reservations[STAY_IN_204].room_id == ROOM
        owing = [r for r in hotel.reservations.values() if r.status == "InHouse" and r.balance > 0]
        no_card = next(r for r in owing if not r.cards).reservation_id
        payer, other = owing[0].reservation_id, owing[1].reservation_id
        arriving = next(r for r in hotel.reservations.values()
                        if hotel.computed_status(r) == "DueIn" and r.room_id is None).reservation_id

        async def calls() -> None:
            async with as_key(srv.url, night.key) as client:
                checked_in = await call_ok(client, "check_in", {"reservation_id": STAY_IN_204})
                assert checked_in["room_id"] == ROOM
                await call_ok(client, "post_charge", {"reservation_id": STAY_IN_204, "transaction_code": "2010",
                                                      "amount": 9.5, "remark": "Minibar"})
                await call_error(client, "post_payment", {"reservation_id": no_card, "payment_method": "VA",
                                                          "amount": 10, "confirm": True})
            async with as_key(srv.url, desk.key) as client:
                picked = await call_ok(client, "check_in", {"reservation_id": arriving})
                assert picked["room_id"] != ROOM
                await call_ok(client, "post_payment", {"reservation_id": payer, "payment_method": "CA",
                                                       "amount": 10, "confirm": True})
                await call_ok(client, "post_charge", {"reservation_id": other, "transaction_code": "2010",
                                                      "amount": 4})
                await call_error(client, "post_payment", {"hotel_id": "SAND02", "reservation_id": payer,
                                                          "payment_method": "CA", "amount": 5, "confirm": True})
            async with as_key(srv.url, reader.key) as client:
                await call_error(client, "post_payment", {"reservation_id": payer, "payment_method": "CA",
                                                          "amount": 5, "confirm": True})

        asyncio.run(calls())
    events = [json.loads(line) for line in path.read_text().splitlines()]
    yield Trail(path=path, events=[e for e in events if e.get("event") == "tool_call"])


def test_what_did_the_assistant_do_in_room_204_last_night(trail: Trail) -> None:
    events = answered(trail, "--room", "204", "--since", "yesterday 18:00")
    assert keyed(events) == [("night-bot", "check_in", "ok", None), ("night-bot", "post_charge", "ok", None)]
    assert {e["ids"]["reservation_id"] for e in events} == {STAY_IN_204}

    table = audit(trail, "--room", "204", "--since", "yesterday 18:00")
    assert table.returncode == 0, table.stderr
    header, *rows = table.stdout.splitlines()
    assert header.split()[2:] == ["OUTCOME", "TOOL", "HOTEL", "CALLER", "WHAT", "WHY"]
    assert [r for r in rows if "check_in" in r and "night-bot" in r and f"room={ROOM}" in r]
    assert len(rows) == 2 and "2 of" in table.stderr


def test_which_payments_were_refused_today(trail: Trail) -> None:
    events = answered(trail, "--tool", "post_payment", "--outcome", "refused", "--since", "today")
    assert keyed(events) == [("frontdesk-bot", "post_payment", "refused", "hotel"),
                             ("night-bot", "post_payment", "refused", "precondition"),
                             ("reader", "post_payment", "refused", "scope")]
    posted = [e for e in trail.events if e["tool"] == "post_payment" and e["outcome"] == "ok"]
    assert len(posted) == 1 and posted[0] not in events


def test_everything_key_frontdesk_bot_did_for_hotel_sand01_this_week(trail: Trail) -> None:
    events = answered(trail, "--caller", "frontdesk-bot", "--hotel", "SAND01", "--since", "monday")
    expected = [e for e in trail.events if e["caller"]["name"] == "frontdesk-bot" and e["hotel_id"] == "SAND01"]
    assert events == expected
    assert keyed(events) == [("frontdesk-bot", "check_in", "ok", None), ("frontdesk-bot", "post_charge", "ok", None),
                             ("frontdesk-bot", "post_payment", "ok", None)]


def test_time_bounds_and_a_reservation_narrow_the_answer(trail: Trail) -> None:
    assert answered(trail, "--until", "1h") == []
    assert len(answered(trail, "--since", "1h", "--tool", "post_payment")) == 4
    by_stay = answered(trail, "--reservation", STAY_IN_204)
    assert {e["tool"] for e in by_stay} == {"check_in", "post_charge"}
    assert len(answered(trail, "--limit", "2")) == 2


def test_a_time_that_is_no_time_is_refused_with_the_forms_accepted(trail: Trail) -> None:
    done = audit(trail, "--since", "last tuesday-ish")
    assert done.returncode == 2 and "is not a time" in done.stderr and "12h" in done.stderr


def test_no_audit_file_says_how_to_get_one(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "app", "audit"], capture_output=True, text=True, check=False,
                          env=CLEAN_ENV, timeout=60)
    assert done.returncode == 2 and "OPERA_AUDIT_LOG is not set" in done.stderr and "--file" in done.stderr


# Thursday 2026-05-07 09:30 at +02:00, a fixed "now" for the forms the questions use.
NOW = datetime(2026, 5, 7, 9, 30, tzinfo=timezone(timedelta(hours=2)))


@pytest.mark.parametrize(("text", "meant"), [
    ("12h", NOW - timedelta(hours=12)),
    ("90m", NOW - timedelta(minutes=90)),
    ("2d", NOW - timedelta(days=2)),
    ("1w", NOW - timedelta(weeks=1)),
    ("today", NOW.replace(hour=0, minute=0)),
    ("yesterday 18:00", datetime(2026, 5, 6, 18, 0, tzinfo=NOW.tzinfo)),
    ("monday", datetime(2026, 5, 4, tzinfo=NOW.tzinfo)),
    ("thursday", datetime(2026, 5, 7, tzinfo=NOW.tzinfo)),
    ("friday 08:00", datetime(2026, 5, 1, 8, 0, tzinfo=NOW.tzinfo)),
    ("2026-05-01T18:00", datetime(2026, 5, 1, 18, 0, tzinfo=NOW.tzinfo)),
    ("2026-05-01T18:00Z", datetime(2026, 5, 1, 18, 0, tzinfo=UTC)),
    ("2026-05-01", datetime(2026, 5, 1, tzinfo=NOW.tzinfo)),
])
def test_times_are_iso_spans_back_or_day_words_in_local_time(text: str, meant: datetime) -> None:
    assert parse_when(text, NOW) == meant


@pytest.mark.parametrize("text", ["soon", "25:00", "yesterday 25:00", "12 parsecs"])
def test_what_is_not_a_time_is_refused(text: str) -> None:
    with pytest.raises(AuditQueryError):
        parse_when(text, NOW)
