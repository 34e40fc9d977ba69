"""Logging: one JSON object per line (or plain text), trace ids on every record, redaction before output."""

from __future__ import annotations

import logging
import sys
from typing import IO, Any

from opentelemetry import trace
from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonEncoder, JsonFormatter

from app.telemetry.redaction import Redactor

_STANDARD = frozenset(RESERVED_ATTRS) | {"color_message", "message", "asctime", "trace_id", "span_id", "taskName",
                                         "environment"}
_NOISY = ("mcp.server.streamable_http_manager", "mcp.server.streamable_http", "mcp.server.lowlevel.server",
          "mcp.server.mcpserver", "httpx2", "httpcore2", "sse_starlette")


class ContextFilter(logging.Filter):
    """Adds trace_id/span_id and scrubs the message and every extra field."""

    def __init__(self, redactor: Redactor, environment: str) -> None:
        super().__init__()
        self.redactor = redactor
        self.environment = environment

    def filter(self, record: logging.LogRecord) -> bool:
        ctx = trace.get_current_span().get_span_context()
        record.trace_id = format(ctx.trace_id, "032x") if ctx.is_valid else None
        record.span_id = format(ctx.span_id, "016x") if ctx.is_valid else None
        record.environment = self.environment
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not lose the record
            message = str(record.msg)
        record.msg = self.redactor.text(message)
        record.args = None
        fields = record.__dict__
        for key in fields.keys() - _STANDARD:  # only the extra fields: the standard ones are ours or the library's
            fields[key] = self.redactor.value(fields[key])
        if record.exc_info and record.exc_info[1] is not None:
            # Tracebacks can quote values; keep the type and a scrubbed message only.
            exc = record.exc_info[1]
            record.exc_text = self.redactor.text(f"{type(exc).__name__}: {exc}")
            record.exc_info = None
        return True


#: The formatter's encoder, built once: json.dumps given an encoder class builds a new encoder for every record.
_ENCODER = JsonEncoder(ensure_ascii=True)


def _serialize(record: dict[str, Any], **_: Any) -> str:
    """json.dumps as JsonFormatter calls it (its default encoder, ASCII, one line), with the encoder built once."""
    return _ENCODER.encode(record)


def build_formatter(structured: bool) -> logging.Formatter:
    if structured:
        return JsonFormatter(
            "%(levelname)s %(name)s %(message)s %(trace_id)s %(span_id)s",
            rename_fields={"levelname": "level", "name": "logger", "exc_text": "error"},
            timestamp=True,
            reserved_attrs=[*RESERVED_ATTRS, "color_message", "taskName"],
            json_serializer=_serialize,
        )
    return logging.Formatter("%(asctime)s %(levelname)-7s %(name)s %(message)s [trace=%(trace_id)s]")


def configure_logging(
    *, level: str = "INFO", structured: bool = True, redactor: Redactor | None = None,
    environment: str = "development", stream: IO[str] | None = None,
) -> logging.Handler:
    """Replace the root handlers with one scrubbing handler; returns it (tests attach their own stream)."""
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.setFormatter(build_formatter(structured))
    handler.addFilter(ContextFilter(redactor or Redactor(), environment))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # Record attributes that no handler here prints are not gathered (the logging HOWTO's "Optimization"): the
    # caller's file, line and function (a walk up the stack for every record), the thread, the process and the
    # multiprocessing names.
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    quiet = logging.DEBUG if level == "DEBUG" else logging.WARNING
    for name in _NOISY:
        logging.getLogger(name).setLevel(quiet)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        lg = logging.getLogger(name)
        lg.handlers.clear()
        lg.propagate = True
    return handler


def log_extra(**fields: Any) -> dict[str, Any]:
    """`extra=` for a structured record, dropping None values."""
    return {k: v for k, v in fields.items() if v is not None}
