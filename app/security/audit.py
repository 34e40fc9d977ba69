"""The audit trail: one JSON event per write-tool call and per refused call, written before the answer is sent.

Events name the caller, the tool, the hotel, the ids touched, the outcome, OHIP's x-request-ids and the trace id;
never contact or card data (ids come from an allow-list of keys, and every event is redacted once more).
Sink: JSON lines appended to OPERA_AUDIT_LOG (flushed per event, reopened when rotated), or the `audit` logger.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol, TextIO

from opentelemetry import trace

from app.telemetry.redaction import Redactor

#: Argument and result keys whose values identify what a call touched. Nothing else is copied into events.
ID_KEYS = (
    "reservation_id", "confirmation_number", "cancellation_number", "profile_id", "folio_window",
    "folio_id", "room_id", "posting_id", "payment_id",
)


class AuditSink(Protocol):
    def write(self, event: Mapping[str, Any]) -> None: ...

    def close(self) -> None: ...


class FileAuditSink:
    """JSON lines appended to a file (mode 0600), flushed after every event; safe from several threads.

    Rotation-safe without copytruncate: before each event the path's inode is compared with the open file's (one
    stat, about a microsecond), so after logrotate renames the file the next event goes to a new one; SIGHUP
    (`request_reopen`) reopens at once. A line is written whole by one append, so none is split or lost.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._reopen_requested = False
        self.reopened = 0
        self._file, self._identity = self._open()

    def _open(self) -> tuple[TextIO, tuple[int, int]]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        status = os.fstat(fd)
        return os.fdopen(fd, "a", encoding="utf-8"), (status.st_dev, status.st_ino)

    def _moved(self) -> bool:
        try:
            status = os.stat(self.path)
        except FileNotFoundError:
            return True
        return (status.st_dev, status.st_ino) != self._identity

    def _reopen(self) -> None:
        """Under the lock: close the file (flushed, so its last line stays whole in the rotated file) and open
        the path again, creating it when logrotate has moved it away."""
        self._reopen_requested = False
        self._file.close()
        self._file, self._identity = self._open()
        self.reopened += 1

    def write(self, event: Mapping[str, Any]) -> None:
        line = json.dumps(event, separators=(",", ":"), default=str, ensure_ascii=False)
        with self._lock:
            if self._reopen_requested or self._moved():
                self._reopen()
            self._file.write(line + "\n")
            self._file.flush()

    def request_reopen(self) -> None:
        """Reopen the file (SIGHUP after logrotate). Safe in a signal handler: when a write holds the lock (in
        this thread or another) it only marks the file, and that write's successor reopens it."""
        self._reopen_requested = True
        if self._lock.acquire(blocking=False):
            try:
                if not self._file.closed:
                    self._reopen()
            finally:
                self._lock.release()

    def close(self) -> None:
        with self._lock:
            self._file.close()


def reopen_on_sighup(sink: AuditSink) -> None:
    """SIGHUP (logrotate's postrotate, `systemctl reload`) reopens the audit file; without a file it is ignored,
    so a stray SIGHUP never stops the server. Call from the main thread, before serving."""
    if not hasattr(signal, "SIGHUP"):
        return
    if isinstance(sink, FileAuditSink):
        signal.signal(signal.SIGHUP, lambda signum, frame: sink.request_reopen())
    else:
        signal.signal(signal.SIGHUP, signal.SIG_IGN)


class LoggerAuditSink:
    """Events on the dedicated `audit` logger (the app's JSON handler puts them on stdout)."""

    def __init__(self, logger: logging.Logger | None = None) -> None:
        self.logger = logger or logging.getLogger("audit")
        if self.logger.level == logging.NOTSET or self.logger.level > logging.INFO:
            self.logger.setLevel(logging.INFO)  # audit events are not subject to the app's log level

    def write(self, event: Mapping[str, Any]) -> None:
        self.logger.info("audit %s %s", event.get("event"), event.get("outcome"), extra={"audit": dict(event)})

    def close(self) -> None:
        return None


def touched_ids(*sources: Any) -> dict[str, str]:
    """The allow-listed ids found in tool arguments and results (top level and one level down)."""
    found: dict[str, str] = {}

    def visit(value: Any, depth: int) -> None:
        if hasattr(value, "model_dump"):
            value = value.model_dump(mode="json")
        if not isinstance(value, Mapping) or depth > 1:
            return
        for key in ID_KEYS:
            item = value.get(key)
            if isinstance(item, (str, int)) and not isinstance(item, bool) and str(item) and key not in found:
                found[key] = str(item)[:64]
        for item in value.values():
            if isinstance(item, Mapping) or hasattr(item, "model_dump"):
                visit(item, depth + 1)

    for source in sources:
        visit(source, 0)
    return found


def current_trace_id() -> str | None:
    ctx = trace.get_current_span().get_span_context()
    return format(ctx.trace_id, "032x") if ctx.is_valid else None


class AuditLog:
    """Builds, scrubs and writes audit events."""

    def __init__(self, sink: AuditSink, redactor: Redactor | None = None) -> None:
        self.sink = sink
        self.redactor = redactor or Redactor()
        self.failures = 0

    def record(
        self, *, event: str, outcome: str, caller: Mapping[str, Any] | None, tool: str | None = None,
        hotel_id: str | None = None, ids: Mapping[str, str] | None = None, reason: str | None = None,
        detail: str | None = None, ohip_request_ids: list[str] | None = None, http: Mapping[str, Any] | None = None,
    ) -> None:
        entry: dict[str, Any] = {
            "time": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "event": event,
            "outcome": outcome,
            "reason": reason,
            "caller": dict(caller) if caller else None,
            "tool": tool,
            "hotel_id": hotel_id,
            "ids": dict(ids or {}),
            "ohip_request_ids": list(ohip_request_ids or []),
            "trace_id": current_trace_id(),
        }
        if detail:
            entry["detail"] = detail[:500]
        if http:
            entry["http"] = dict(http)
        try:
            self.sink.write(self.redactor.value(entry))
        except Exception as exc:
            # Loud, but not fatal: the action it records has already happened at OHIP and must be reported.
            self.failures += 1
            logging.getLogger(__name__).error("could not write an audit event: %s", type(exc).__name__)

    def close(self) -> None:
        self.sink.close()
