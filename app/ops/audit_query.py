"""`opera-cloud-mcp audit`: the audit trail (OPERA_AUDIT_LOG and its rotated siblings .1, .2.gz, ... or -YYYYMMDD)
filtered by time, caller, hotel, tool, reservation, room and outcome, as a table or as the JSON lines themselves.

Times given without an offset, and the words today / yesterday / a weekday, are the host's local time; the table
shows local time too. The JSON lines are the events unchanged (their `time` is UTC).
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any

from app.config import ConfigError, Settings
from app.ops import with_env_file

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_RELATIVE = re.compile(r"(\d+(?:\.\d+)?)\s*(m|min|h|d|w)")
_DAY_WORD = re.compile(r"(today|yesterday|" + "|".join(WEEKDAYS) + r")(?:[ T](\d{1,2}):(\d{2}))?")
_UNITS = {"m": "minutes", "min": "minutes", "h": "hours", "d": "days", "w": "weeks"}
#: How the table names the allow-listed ids of app/security/audit.py.
_ID_LABELS = {"reservation_id": "reservation", "confirmation_number": "confirmation", "room_id": "room",
              "profile_id": "profile", "folio_window": "window", "folio_id": "folio", "posting_id": "posting",
              "payment_id": "payment", "cancellation_number": "cancellation"}


class AuditQueryError(Exception):
    """A problem with the command line or the files, phrased as one line."""


def parse_when(text: str, now: datetime) -> datetime:
    """An instant from ISO 8601 (2026-05-01, 2026-05-01T18:00, ...Z or +02:00), a span back from now (90m, 12h,
    2d, 1w), or today / yesterday / a weekday (its most recent midnight, today included), optionally with a time
    ("yesterday 18:00"). Without an offset it is local time (the timezone of `now`)."""
    value = text.strip().lower()
    if value == "now":
        return now
    if match := _RELATIVE.fullmatch(value):
        return now - timedelta(**{_UNITS[match.group(2)]: float(match.group(1))})
    if match := _DAY_WORD.fullmatch(value):
        word, hour, minute = match.groups()
        midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
        if word == "yesterday":
            back = 1
        elif word == "today":
            back = 0
        else:
            back = (now.weekday() - WEEKDAYS.index(word)) % 7
        day = midnight - timedelta(days=back)
        if hour is not None:
            if int(hour) > 23 or int(minute) > 59:
                raise AuditQueryError(f"{text!r}: the time must be HH:MM between 00:00 and 23:59")
            day = day.replace(hour=int(hour), minute=int(minute))
        return day
    try:
        instant = datetime.fromisoformat(text.strip())
    except ValueError:
        raise AuditQueryError(
            f"{text!r} is not a time: use ISO 8601 (2026-05-01T18:00, with Z or +02:00 for a zone), a span back "
            "from now (90m, 12h, 2d, 1w), or today / yesterday / a weekday, optionally with HH:MM") from None
    return instant if instant.tzinfo is not None else instant.replace(tzinfo=now.tzinfo)


def _csv(value: str | None) -> frozenset[str]:
    return frozenset(part.strip().lower() for part in (value or "").split(",") if part.strip())


@dataclass(frozen=True)
class AuditFilter:
    """What an event must match; each set is "any of these" (case-insensitive), an empty set matches all."""

    since: datetime | None = None
    until: datetime | None = None
    callers: frozenset[str] = field(default_factory=frozenset)
    hotels: frozenset[str] = field(default_factory=frozenset)
    tools: frozenset[str] = field(default_factory=frozenset)
    reservations: frozenset[str] = field(default_factory=frozenset)
    rooms: frozenset[str] = field(default_factory=frozenset)
    outcomes: frozenset[str] = field(default_factory=frozenset)
    #: Reservations the trail places in one of `rooms` (a check-in, an assignment): their other events, a charge
    #: or a payment that does not name the room, belong to the room too.
    room_reservations: frozenset[str] = field(default_factory=frozenset)

    def with_room_reservations(self, events: Iterable[Mapping[str, Any]]) -> AuditFilter:
        if not self.rooms:
            return self
        linked = {str(ids["reservation_id"]).lower() for e in events
                  if str((ids := _part(e, "ids")).get("room_id", "")).lower() in self.rooms
                  and ids.get("reservation_id") is not None}
        return replace(self, room_reservations=frozenset(linked))

    def matches(self, event: Mapping[str, Any]) -> bool:
        if self.since is not None or self.until is not None:
            when = event_time(event)
            if when is None or (self.since is not None and when < self.since) or (
                    self.until is not None and when >= self.until):
                return False
        ids, caller = _part(event, "ids"), _part(event, "caller")
        checks = (
            (self.callers, {caller.get("name"), caller.get("client_id"), caller.get("subject")}),
            (self.hotels, {event.get("hotel_id")}),
            (self.tools, {event.get("tool"), event.get("event")}),
            (self.reservations, {ids.get("reservation_id"), ids.get("confirmation_number")}),
            (self.outcomes, {event.get("outcome")}),
        )
        for wanted, have in checks:
            if wanted and not wanted & {str(v).lower() for v in have if v is not None}:
                return False
        if self.rooms:
            room, reservation = (str(ids.get(k, "")).lower() for k in ("room_id", "reservation_id"))
            return room in self.rooms or reservation in self.room_reservations
        return True


def event_time(event: Mapping[str, Any]) -> datetime | None:
    try:
        when = datetime.fromisoformat(str(event.get("time")))
    except ValueError:
        return None
    return when if when.tzinfo is not None else None


def _rotation_key(path: Path, base: str) -> tuple[int, str] | None:
    """Sort key of a rotated sibling, oldest first: numbered (.1 newest) or dated (-20260501, oldest first)."""
    rest = path.name[len(base):].removesuffix(".gz")
    if match := re.fullmatch(r"\.(\d+)", rest):
        return (0, f"{10**9 - int(match.group(1)):010d}")
    if re.fullmatch(r"[-.]\d{8}(?:\d{2})?", rest):
        return (0, "~" + rest[1:])  # after every numbered one: dateext and numbering are not mixed in practice
    return None


def trail_files(path: Path) -> list[Path]:
    """The audit file and its rotated siblings, oldest first, the live file last."""
    siblings = [(key, p) for p in path.parent.glob(path.name + "*")
                if p != path and (key := _rotation_key(p, path.name)) is not None]
    files = [p for _, p in sorted(siblings)]
    if path.exists():
        files.append(path)
    return files


def _open(path: Path) -> IO[str]:
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8", errors="replace")
    return path.open(encoding="utf-8", errors="replace")


@dataclass
class TrailReading:
    """Counts of one pass over the trail."""

    files: list[Path]
    events: int = 0
    unreadable: int = 0


def read_trail(reading: TrailReading) -> Iterator[dict[str, Any]]:
    """Every event of the files in order; a line that is not a JSON object is counted, not fatal."""
    for path in reading.files:
        try:
            handle = _open(path)
        except OSError as exc:
            raise AuditQueryError(f"cannot read {path}: {exc.strerror or exc}") from None
        with handle:
            try:
                for line in handle:
                    if not line.strip():
                        continue
                    try:
                        event = json.loads(line)
                    except json.JSONDecodeError:
                        reading.unreadable += 1
                        continue
                    if not isinstance(event, dict):
                        reading.unreadable += 1
                        continue
                    reading.events += 1
                    yield event
            except (OSError, EOFError) as exc:  # a truncated .gz
                raise AuditQueryError(f"cannot read {path}: {exc}") from None


def _part(event: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    """A nested object of an event (`ids`, `caller`), or an empty one when absent or not an object."""
    value = event.get(key)
    return value if isinstance(value, Mapping) else {}


def _what(event: Mapping[str, Any]) -> str:
    ids = _part(event, "ids")
    return " ".join(f"{_ID_LABELS.get(k, k)}={v}" for k, v in ids.items())


def _why(event: Mapping[str, Any]) -> str:
    parts = [str(event[k]) for k in ("reason", "detail") if event.get(k)]
    text = ": ".join(parts)
    return text if len(text) <= 80 else text[:79] + "…"


def table_rows(events: Iterable[Mapping[str, Any]], tz: Any) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    for event in events:
        when = event_time(event)
        caller = _part(event, "caller")
        rows.append((
            when.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S") if when else str(event.get("time")),
            str(event.get("outcome") or ""),
            str(event.get("tool") or event.get("event") or ""),
            str(event.get("hotel_id") or ""),
            str(caller.get("name") or ""),
            _what(event),
            _why(event),
        ))
    return rows


def format_table(rows: list[tuple[str, ...]], zone: str) -> str:
    header = (f"TIME ({zone})", "OUTCOME", "TOOL", "HOTEL", "CALLER", "WHAT", "WHY")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in [header, *rows]]
    return "\n".join(lines)


def add_audit_command(sub: Any) -> None:
    """The `audit` subcommand's arguments (registered by app/cli.py)."""
    audit = sub.add_parser(
        "audit", help="show audit events (OPERA_AUDIT_LOG and its rotated files) filtered by time, caller, hotel, "
                      "tool, reservation, room, outcome",
        description="Each filter takes one value or several separated by commas (any of them matches). Times: "
                    "ISO 8601, a span back from now (12h, 2d, 1w), or today / yesterday / a weekday with an "
                    "optional HH:MM; local time unless an offset is given.")
    audit.add_argument("--file", type=Path, default=None, help="the audit file (default: OPERA_AUDIT_LOG)")
    audit.add_argument("--env-file", type=Path, default=None,
                       help="read OPERA_* settings from this file too, e.g. /etc/opera-cloud-mcp/opera-cloud-mcp.env")
    audit.add_argument("--since", default=None, help="from this time on (inclusive)")
    audit.add_argument("--until", default=None, help="before this time")
    audit.add_argument("--caller", default=None, help="API key name, OAuth client id or subject")
    audit.add_argument("--hotel", default=None, help="hotel code, e.g. SAND01")
    audit.add_argument("--tool", default=None, help="tool name (post_payment) or event (http_refused, prompt)")
    audit.add_argument("--reservation", default=None, help="reservation id or confirmation number")
    audit.add_argument("--room", default=None,
                       help="room number: events naming the room, and every event of a reservation the trail "
                            "places in it (its charges and payments)")
    audit.add_argument("--outcome", default=None, help="ok, refused, error or unknown")
    audit.add_argument("--json", action="store_true", help="print the matching events as JSON lines")
    audit.add_argument("--limit", type=int, default=None, help="only the last N matching events")


def run_audit(args: argparse.Namespace, settings: Settings, now: datetime | None = None) -> int:
    """The `audit` command; returns the exit status (2: a bad argument or no trail to read)."""
    now = now or datetime.now().astimezone()
    try:
        settings = with_env_file(settings, args.env_file)
        path: Path | None = args.file or settings.audit_log
        if path is None:
            raise AuditQueryError("no audit file: OPERA_AUDIT_LOG is not set (the trail then goes to the `audit` "
                                  "logger, e.g. the journal); pass --file PATH")
        query = AuditFilter(
            since=parse_when(args.since, now) if args.since else None,
            until=parse_when(args.until, now) if args.until else None,
            callers=_csv(args.caller), hotels=_csv(args.hotel), tools=_csv(args.tool),
            reservations=_csv(args.reservation), rooms=_csv(args.room), outcomes=_csv(args.outcome),
        )
        reading = TrailReading(files=trail_files(path))
        if not reading.files:
            raise AuditQueryError(f"no audit file at {path} (nor rotated ones beside it)")
        trail = list(read_trail(reading))
        query = query.with_room_reservations(trail)
        matched = [event for event in trail if query.matches(event)]
    except (AuditQueryError, ConfigError) as exc:
        print(f"audit: {exc}", file=sys.stderr)
        return 2
    if args.limit is not None and args.limit >= 0:
        matched = matched[len(matched) - args.limit:] if args.limit else []
    if args.json:
        for event in matched:
            print(json.dumps(event, separators=(",", ":"), ensure_ascii=False))
    elif matched:
        print(format_table(table_rows(matched, now.tzinfo), now.strftime("%z") or "UTC"))
    unreadable = f", {reading.unreadable} unreadable lines skipped" if reading.unreadable else ""
    files = f"{len(reading.files)} file" + ("s" if len(reading.files) != 1 else "")
    print(f"{len(matched)} of {reading.events} events matched ({files}: "
          f"{', '.join(p.name for p in reading.files)}{unreadable})", file=sys.stderr)
    return 0
